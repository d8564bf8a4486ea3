//! Building images: the build context (git sources exported at their locked
//! commits, `[image] copy` files) and the container-engine backends.

pub mod buildah;
pub mod context;
pub mod detect;
pub mod docker;
pub mod podman;

use std::path::Path;

use crate::shell::Shell;

/// What a backend is asked to build.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// Directory holding the `Dockerfile` and everything it copies.
    pub context: &'a Path,
    pub tag: &'a str,
    /// Extra labels known only at build time (never credentials).
    pub labels: Vec<(String, String)>,
    /// Build on the host network: the build reaches an archive or mirror
    /// on a loopback address, which only the host network can see.
    pub host_network: bool,
    /// Use no cached layer.
    pub no_cache: bool,
    /// SOURCE_DATE_EPOCH for every date the image records (creation time,
    /// history, file mtimes in new layers), where the backend can clamp them.
    pub timestamp: Option<u64>,
    /// The locked platform to build (`linux/arm64`): the engine pulls that
    /// platform's manifest of the locked base.
    pub platform: &'a str,
}

/// The container engines mlr builds with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Docker,
    Buildah,
    Podman,
}

impl BackendKind {
    pub fn backend(self) -> Box<dyn Backend> {
        match self {
            BackendKind::Docker => Box::new(docker::Docker),
            BackendKind::Buildah => Box::new(buildah::Buildah),
            BackendKind::Podman => Box::new(podman::Podman),
        }
    }
}

/// A container engine that turns a context into an image.
pub trait Backend {
    fn name(&self) -> &'static str;
    /// The SOURCE_DATE_EPOCH the engine clamps every date to, when it can
    /// (buildah and podman: one lock gives one digest).
    fn clamped_timestamp(&self) -> Option<u64> {
        None
    }
    /// Build and return the image ID.
    fn build(&self, request: &BuildRequest<'_>, shell: &Shell) -> anyhow::Result<String>;
}

/// Run a build command, streaming its stdout as progress. On failure,
/// returns the status and the last lines of both streams (for the error).
pub(crate) fn run_streaming(
    mut cmd: std::process::Command,
    program: &str,
    install_hint: &str,
    shell: &Shell,
) -> anyhow::Result<Result<(), (std::process::ExitStatus, String)>> {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    use anyhow::Context;

    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        crate::error::hinted(format!("could not run `{program}`: {e}"), install_hint)
    })?;
    let stderr = child.stderr.take().expect("piped stderr");
    let err_thread = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let mut tail: std::collections::VecDeque<String> = Default::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            shell.passthrough(&line);
            tail.push_back(line);
            if tail.len() > 8 {
                tail.pop_front();
            }
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {program}"))?;
    let err_lines = err_thread.join().unwrap_or_default();
    if status.success() {
        return Ok(Ok(()));
    }
    let err_lines: Vec<String> = err_lines
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut detail: Vec<String> = tail.into_iter().collect();
    detail.extend(
        err_lines
            .iter()
            .skip(err_lines.len().saturating_sub(10))
            .cloned(),
    );
    Ok(Err((status, detail.join("\n"))))
}

/// A failed build's output that says a locked apt version is gone from its
/// archive, as an error with the remedy.
pub(crate) fn expired_apt_pin(detail: &str) -> Option<anyhow::Error> {
    let line = detail.lines().find(|l| {
        l.contains("Can't find a source to download version") || l.contains("was not found")
    })?;
    Some(crate::error::hinted(
        format!(
            "a locked apt package is no longer served by its archive: {}",
            line.trim()
        ),
        "exact apt versions expire on a live mirror; set [apt] snapshot = \"auto\" in ml.toml and run `mlr lock --update`",
    ))
}
