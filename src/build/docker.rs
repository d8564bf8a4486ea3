//! The docker CLI backend: the classic builder, or BuildKit when the build
//! has secrets to mount (the classic builder has no secret mounts).
//! `MLR_DOCKER` names the docker program (default `docker` on `PATH`).

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
        let program = std::env::var_os("MLR_DOCKER")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "docker".into());
        let buildkit = !request.secrets.is_empty();
        let mut cmd = Command::new(&program);
        cmd.env("DOCKER_BUILDKIT", if buildkit { "1" } else { "0" })
            .arg("build")
            .arg("--tag")
            .arg(request.tag)
            .arg("--iidfile")
            .arg(iidfile.path())
            .arg("--file")
            .arg(request.context.join("Dockerfile"));
        if request.no_cache {
            cmd.arg("--no-cache");
        }
        if buildkit {
            cmd.arg("--progress").arg("plain");
            for (id, path) in &request.secrets {
                let mut spec = std::ffi::OsString::from(format!("id={id},src="));
                spec.push(path);
                cmd.arg("--secret").arg(spec);
            }
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
            if buildkit && (detail.contains("buildx") || detail.contains("requires BuildKit")) {
                return Err(hinted(
                    "extra CA certificates are mounted as build secrets, which need BuildKit, \
                     and this docker CLI has no BuildKit"
                        .to_string(),
                    "install the docker buildx plugin (or set MLR_DOCKER to a docker CLI with \
                     BuildKit), or build with --backend buildah",
                ));
            }
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
