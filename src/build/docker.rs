//! The docker CLI backend (classic builder: no BuildKit on this engine).

use std::process::Command;

use anyhow::{Context, bail};

use super::{Backend, BuildRequest};
use crate::error::hinted;
use crate::shell::Shell;

pub struct Docker;

impl Backend for Docker {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn build(&self, request: &BuildRequest<'_>, shell: &Shell) -> anyhow::Result<String> {
        let iidfile = tempfile::NamedTempFile::new().context("creating a temporary file")?;
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_BUILDKIT", "0")
            .arg("build")
            .arg("--tag")
            .arg(request.tag)
            .arg("--iidfile")
            .arg(iidfile.path())
            .arg("--file")
            .arg(request.context.join("Dockerfile"))
            .arg("--platform")
            .arg(request.platform);
        if request.no_cache {
            cmd.arg("--no-cache");
        }
        if request.host_network {
            cmd.arg("--network").arg("host");
        }
        for (k, v) in &request.labels {
            cmd.arg("--label").arg(format!("{k}={v}"));
        }
        cmd.arg(request.context);
        if let Err((status, detail)) = super::run_streaming(
            cmd,
            "docker",
            "install the docker CLI, or choose another backend with --backend",
            shell,
        )? {
            if detail.contains("Cannot connect to the Docker daemon") {
                return Err(hinted(
                    "the Docker engine is not running".to_string(),
                    "start dockerd, or choose another backend with --backend",
                ));
            }
            if let Some(e) = super::expired_apt_pin(&detail) {
                return Err(e);
            }
            bail!("docker build failed ({status}):\n{detail}");
        }
        let id = std::fs::read_to_string(iidfile.path()).context("reading the image ID")?;
        Ok(id.trim().to_string())
    }
}
