//! Building images: the build context (git sources exported at their locked
//! commits, pip files, `[image] copy` files), the build secrets (extra CA
//! certificates), the container-engine backends (docker, buildah, podman)
//! and how one is chosen, and what a failed build reports.

pub mod buildah;
pub mod context;
pub mod detect;
pub mod docker;
pub mod failure;
pub mod podman;
pub mod secrets;

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
    /// Secret files (`id`, path outside the context) mounted into `RUN`
    /// steps, never into a layer.
    pub secrets: Vec<(String, std::path::PathBuf)>,
    /// SOURCE_DATE_EPOCH for every date the image records (creation time,
    /// history, file mtimes in new layers), where the backend can clamp them.
    pub timestamp: Option<u64>,
    /// The locked platform to build (`linux/arm64`): the engine pulls that
    /// platform's manifest of the locked base.
    pub platform: &'a str,
    /// Each git source with `build` steps and its steps, as in `ml.toml`:
    /// a failed step's marker names the source and the step's number.
    pub git_builds: Vec<(String, Vec<String>)>,
    /// The lock's apt snapshot, if its packages come from one.
    pub apt_snapshot: Option<String>,
}

impl BuildRequest<'_> {
    /// The error for a failed build whose output has a step's failure
    /// marker; `None` when no step mlr rendered reported its failure.
    pub(crate) fn step_failure(
        &self,
        output: &[(failure::Stream, String)],
    ) -> Option<anyhow::Error> {
        failure::StepFailure::from_output(output, &self.git_builds, self.apt_snapshot.as_deref())
            .map(failure::StepFailure::into_error)
    }
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
            BackendKind::Buildah => Box::new(buildah::BUILDAH),
            BackendKind::Podman => Box::new(podman::PODMAN),
        }
    }
}

/// A container engine that turns a context into an image.
pub trait Backend {
    fn name(&self) -> &'static str;
    /// `Some` when the engine can clamp every date the image records
    /// (buildah and podman: one lock gives one digest); the build then
    /// clamps to the lock's SOURCE_DATE_EPOCH instead of this default.
    fn clamped_timestamp(&self) -> Option<u64> {
        None
    }
    /// Build and return the image ID.
    fn build(&self, request: &BuildRequest<'_>, shell: &Shell) -> anyhow::Result<String>;
    /// Push the image `target` names to its registry and return the
    /// manifest digest the registry now serves for it (`sha256:…`).
    fn push(&self, target: &PushTarget, shell: &Shell) -> anyhow::Result<String>;
}

/// A tag that names its registry (`host[:port]/repo:tag`), which `--push`
/// needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    /// The tag as given.
    pub tag: String,
    /// The tag without its `:tag` part, as given: `host:5000/team/app`.
    pub repository: String,
    /// The registry host (and port) the tag names.
    pub registry: String,
}

impl PushTarget {
    /// The push target `tag` names, or why it cannot be pushed.
    pub fn parse(tag: &str) -> anyhow::Result<PushTarget> {
        let hint = "give --tag a reference that names the registry to push to, \
                    for example --tag registry.example.com/team/app:1.0 or --tag 127.0.0.1:5000/app:dev";
        let image = crate::manifest::ImageRef::parse(tag).map_err(|e| {
            crate::error::hinted(
                crate::error::ErrorKind::Usage,
                format!("cannot push `{tag}`: {e}"),
                hint,
            )
        })?;
        if image.digest.is_some() {
            return Err(crate::error::hinted(
                crate::error::ErrorKind::Usage,
                format!("cannot push `{tag}`: a digest is not a tag"),
                hint,
            ));
        }
        if !tag.starts_with(&format!("{}/", image.registry)) {
            return Err(crate::error::hinted(
                crate::error::ErrorKind::Usage,
                format!("--push needs a tag that names a registry, and `{tag}` names none"),
                hint,
            ));
        }
        let repository = image
            .tag
            .as_deref()
            .and_then(|t| tag.strip_suffix(&format!(":{t}")))
            .unwrap_or(tag)
            .to_string();
        Ok(PushTarget {
            tag: tag.to_string(),
            repository,
            registry: image.registry,
        })
    }
}

/// A failed push's output that says the registry wants credentials, as an
/// error with the command that logs in.
pub(crate) fn push_unauthorized(
    program: &str,
    target: &PushTarget,
    detail: &str,
) -> Option<anyhow::Error> {
    let lower = detail.to_ascii_lowercase();
    let denied = [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "requested access to the resource is denied",
    ]
    .iter()
    .any(|w| lower.contains(w));
    denied.then(|| {
        crate::error::hinted(
            crate::error::ErrorKind::Network,
            format!(
                "{} refused the push of {}:\n{detail}",
                target.registry, target.tag
            ),
            format!("log in first: `{program} login {}`", target.registry),
        )
    })
}

/// A build or push command that exited non-zero.
pub(crate) struct Failed {
    pub status: std::process::ExitStatus,
    /// The last lines of stdout and of stderr, for a generic error.
    pub detail: String,
    /// The lines of both streams in the order they came (the last
    /// [`OUTPUT_LINES`]), for failure markers.
    pub output: Vec<(failure::Stream, String)>,
}

/// How many lines of a failed command's output are kept for its markers:
/// a step's marker comes right before the engine stops.
const OUTPUT_LINES: usize = 20_000;

/// Run a build or push command, streaming its stdout as progress. Returns
/// the last lines of stdout on success; on failure, its status and output.
pub(crate) fn run_streaming(
    mut cmd: std::process::Command,
    program: &str,
    install_hint: &str,
    shell: &Shell,
) -> anyhow::Result<Result<Vec<String>, Failed>> {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    use anyhow::Context;

    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        // The program as run: `MLR_DOCKER` may name another than `docker`.
        let run = cmd.get_program().to_string_lossy();
        let shown = if run == program {
            format!("`{program}`")
        } else {
            format!("`{program}` ({run})")
        };
        crate::error::hinted(
            crate::error::ErrorKind::Engine,
            format!("could not run {shown}: {e}"),
            install_hint,
        )
    })?;
    // Engines write progress to either stream (BuildKit: stderr; buildah:
    // a step's stdout and stderr on its own); both are shown as they come,
    // and kept together in that order.
    type Output = std::sync::Mutex<std::collections::VecDeque<(failure::Stream, String)>>;
    let output = std::sync::Arc::new(Output::default());
    let keep = |output: &Output, stream: failure::Stream, line: &str| {
        let mut output = output.lock().unwrap_or_else(|e| e.into_inner());
        if output.len() == OUTPUT_LINES {
            output.pop_front();
        }
        output.push_back((stream, line.to_string()));
    };
    let stderr = child.stderr.take().expect("piped stderr");
    let err_shell = shell.clone();
    let err_output = output.clone();
    let err_thread = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .inspect(|line| {
                err_shell.passthrough(line);
                keep(&err_output, failure::Stream::Stderr, line);
            })
            .collect::<Vec<_>>()
    });
    let mut tail: std::collections::VecDeque<String> = Default::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            shell.passthrough(&line);
            keep(&output, failure::Stream::Stdout, &line);
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
        return Ok(Ok(tail.into_iter().collect()));
    }
    let err_lines: Vec<String> = err_lines
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut detail: Vec<String> = tail.into_iter().collect();
    detail.extend(
        err_lines
            .iter()
            .skip(err_lines.len().saturating_sub(20))
            .cloned(),
    );
    let output = std::mem::take(&mut *output.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Err(Failed {
        status,
        detail: detail.join("\n"),
        output: output.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_target_names_its_registry() {
        let t = PushTarget::parse("127.0.0.1:5000/team/app:v1").unwrap();
        assert_eq!(t.registry, "127.0.0.1:5000");
        assert_eq!(t.repository, "127.0.0.1:5000/team/app");
        let t = PushTarget::parse("registry.example.com/app").unwrap();
        assert_eq!(t.repository, "registry.example.com/app");
        let t = PushTarget::parse("localhost/app:dev").unwrap();
        assert_eq!(t.registry, "localhost");
        let t = PushTarget::parse("docker.io/team/app:1").unwrap();
        assert_eq!(t.repository, "docker.io/team/app");
    }

    #[test]
    fn a_tag_without_a_registry_cannot_be_pushed() {
        for tag in ["app:1", "team/app:1", "app"] {
            let text = crate::error::render(&PushTarget::parse(tag).unwrap_err(), false);
            assert!(
                text.starts_with(&format!(
                    "error: --push needs a tag that names a registry, and `{tag}` names none\n"
                )),
                "{text}"
            );
            assert!(
                text.contains("hint: give --tag a reference that names the registry"),
                "{text}"
            );
        }
        let digest = format!("127.0.0.1:5000/app@sha256:{}", "a".repeat(64));
        let text = crate::error::render(&PushTarget::parse(&digest).unwrap_err(), false);
        assert!(text.contains("a digest is not a tag"), "{text}");
        let text = crate::error::render(
            &PushTarget::parse("127.0.0.1:5000/App:1").unwrap_err(),
            false,
        );
        assert!(text.contains("is not a valid repository name"), "{text}");
    }
}
