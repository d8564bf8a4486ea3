//! The docker CLI backend (classic builder: no BuildKit on this engine).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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
            .arg(request.context.join("Dockerfile"));
        if request.no_cache {
            cmd.arg("--no-cache");
        }
        if request.host_network {
            cmd.arg("--network").arg("host");
        }
        for (k, v) in &request.labels {
            cmd.arg("--label").arg(format!("{k}={v}"));
        }
        cmd.arg(request.context)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            hinted(
                format!("could not run `docker`: {e}"),
                "install the docker CLI, or choose another backend with --backend",
            )
        })?;
        // Stream stdout as progress; keep the tail of both streams for errors.
        let stderr = child.stderr.take().expect("piped stderr");
        let err_thread = std::thread::spawn(move || {
            BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        let mut tail: Vec<String> = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                shell.passthrough(&line);
                tail.push(line);
                if tail.len() > 20 {
                    tail.remove(0);
                }
            }
        }
        let status = child.wait().context("waiting for docker build")?;
        let err_lines = err_thread.join().unwrap_or_default();
        if !status.success() {
            let mut detail: Vec<String> = tail.into_iter().rev().take(8).collect();
            detail.reverse();
            detail.extend(
                err_lines
                    .into_iter()
                    .filter(|l| !l.trim().is_empty())
                    .take(10),
            );
            let detail = detail.join("\n");
            if detail.contains("Cannot connect to the Docker daemon") {
                return Err(hinted(
                    "the Docker engine is not running".to_string(),
                    "start dockerd, or choose another backend with --backend",
                ));
            }
            if let Some(line) = detail.lines().find(|l| {
                l.contains("Can't find a source to download version") || l.contains("was not found")
            }) {
                return Err(hinted(
                    format!(
                        "a locked apt package is no longer served by its archive: {}",
                        line.trim()
                    ),
                    "exact apt versions expire on a live mirror; set [apt] snapshot = \"auto\" in ml.toml and run `mlr lock --update`",
                ));
            }
            bail!("docker build failed ({status}):\n{detail}");
        }
        let id = std::fs::read_to_string(iidfile.path()).context("reading the image ID")?;
        Ok(id.trim().to_string())
    }
}
