#!/bin/sh
echo "training $MODEL_NAME as $(id -un)"
echo "kernels: $(cat /opt/kernels/VERSION)"
