# Shared set-up of the real services mlr talks to, for .ci/run and the
# examples: a Docker engine, an OCI registry on 127.0.0.1, git.
# Source it; every function is idempotent.

# Install Debian packages that are missing (needs root and apt).
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${missing[*]}"
  local opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
  apt-get "${opts[@]}" update
  DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install "${missing[@]}"
}

# Start dockerd unless an engine already answers (or is starting); wait
# until it answers.
ensure_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    echo "== dockerd is starting (pid $(cat /var/run/docker.pid))"
  else
    echo "== starting dockerd (log: /tmp/dockerd.log)"
    setsid dockerd >/tmp/dockerd.log 2>&1 < /dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "dockerd did not start; its log:" >&2
  tail -n 50 /tmp/dockerd.log >&2
  return 1
}

# Start docker-registry on ADDR (127.0.0.1:PORT) with storage in DIR,
# unless something already answers /v2/ there.
ensure_registry() {
  local addr=$1 dir=$2
  if curl -fsS "http://$addr/v2/" >/dev/null 2>&1; then return 0; fi
  echo "== starting docker-registry on $addr"
  mkdir -p "$dir/data"
  cat > "$dir/config.yml" <<YML
version: 0.1
storage: { filesystem: { rootdirectory: $dir/data }, delete: { enabled: true } }
http: { addr: $addr }
YML
  setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 < /dev/null &
  for _ in $(seq 1 30); do
    curl -fsS "http://$addr/v2/" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "docker-registry did not start; its log:" >&2
  tail -n 50 "$dir/registry.log" >&2
  return 1
}

# Import a busybox root filesystem as REF and push it (no Docker Hub needed).
push_busybox_image() {
  local ref=$1 rootfs
  if docker manifest inspect --insecure "$ref" >/dev/null 2>&1; then return 0; fi
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\n' > "$rootfs/etc/group"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' - "$ref" >/dev/null
  docker push "$ref" >/dev/null
  rm -rf "$rootfs"
}

# A Debian bookworm minbase root filesystem in DIR (debootstrap), built once:
# skipped when DIR/etc/os-release exists. Built in DIR.partial and renamed,
# so an interrupted run never looks complete. The mirror is the machine's
# own (debian.sources `URIs:`), else deb.debian.org.
ensure_debian_rootfs() {
  local dir=$1 mirror
  if [ -e "$dir/etc/os-release" ]; then return 0; fi
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "== debootstrap bookworm minbase into $dir (mirror $mirror)"
  rm -rf "$dir.partial"
  mkdir -p "$(dirname "$dir")"
  if ! debootstrap --variant=minbase bookworm "$dir.partial" "$mirror" >"$dir.log" 2>&1; then
    echo "debootstrap failed; its log:" >&2
    tail -n 50 "$dir.log" >&2
    tail -n 50 "$dir.partial/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    return 1
  fi
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
}
