//! Which backend `mlr build` uses when `--backend` is not given: docker when
//! its engine answers, else buildah, else podman. [`choose`] decides from
//! what the host offers ([`Host`]); [`probe`] finds that out.

use std::process::{Command, Stdio};

use super::BackendKind;
use crate::error::{ErrorKind, hinted};

/// The state of the docker CLI and its engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Docker {
    /// `docker info` succeeds.
    Answers,
    /// The CLI runs but `docker info` fails (no engine, no permission).
    NoEngine(String),
    /// No `docker` program.
    Missing,
}

/// What the host offers to build with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub docker: Docker,
    /// `buildah --version` runs.
    pub buildah: bool,
    /// `podman --version` runs.
    pub podman: bool,
}

/// The backend to use on `host`, or an error naming what to install.
pub fn choose(host: &Host) -> anyhow::Result<BackendKind> {
    if host.docker == Docker::Answers {
        return Ok(BackendKind::Docker);
    }
    if host.buildah {
        return Ok(BackendKind::Buildah);
    }
    if host.podman {
        return Ok(BackendKind::Podman);
    }
    let (docker, hint) = match &host.docker {
        Docker::NoEngine(why) => (
            format!("the docker engine does not answer ({why})"),
            "start dockerd, or install buildah or podman (apt-get install buildah)",
        ),
        _ => (
            "docker is not installed".to_string(),
            "install a container engine: buildah (apt-get install buildah), podman, or docker with a running dockerd",
        ),
    };
    Err(hinted(
        ErrorKind::Engine,
        format!(
            "no container engine to build with: {docker}, and neither buildah nor podman is installed"
        ),
        hint,
    ))
}

/// Find out what this host offers.
pub fn probe() -> Host {
    Host {
        docker: probe_docker(),
        buildah: runs(Command::new("buildah"), &["--version"]).is_some_and(|ok| ok.is_ok()),
        podman: runs(Command::new("podman"), &["--version"]).is_some_and(|ok| ok.is_ok()),
    }
}

pub(crate) fn probe_docker() -> Docker {
    match runs(
        super::docker::docker(),
        &["info", "--format", "{{.ServerVersion}}"],
    ) {
        None => Docker::Missing,
        Some(Ok(())) => Docker::Answers,
        Some(Err(why)) => Docker::NoEngine(why),
    }
}

/// `None` when `program` cannot be started; else whether it succeeded, with
/// the last line of its error output when it did not.
fn runs(mut program: Command, args: &[&str]) -> Option<Result<(), String>> {
    let out = program.args(args).stdin(Stdio::null()).output().ok()?;
    if out.status.success() {
        return Some(Ok(()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let why = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no error output")
        .to_string();
    Some(Err(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(docker: Docker, buildah: bool, podman: bool) -> Host {
        Host {
            docker,
            buildah,
            podman,
        }
    }

    #[test]
    fn docker_wins_when_its_engine_answers() {
        for (buildah, podman) in [(false, false), (true, true), (true, false), (false, true)] {
            assert_eq!(
                choose(&host(Docker::Answers, buildah, podman)).unwrap(),
                BackendKind::Docker
            );
        }
    }

    #[test]
    fn buildah_then_podman_when_docker_cannot_build() {
        let down = || Docker::NoEngine("Cannot connect to the Docker daemon".into());
        assert_eq!(
            choose(&host(down(), true, true)).unwrap(),
            BackendKind::Buildah
        );
        assert_eq!(
            choose(&host(Docker::Missing, true, false)).unwrap(),
            BackendKind::Buildah
        );
        assert_eq!(
            choose(&host(down(), false, true)).unwrap(),
            BackendKind::Podman
        );
        assert_eq!(
            choose(&host(Docker::Missing, false, true)).unwrap(),
            BackendKind::Podman
        );
    }

    #[test]
    fn nothing_to_build_with_names_what_to_install() {
        let err = choose(&host(Docker::Missing, false, false)).unwrap_err();
        let text = crate::error::render(&err, false);
        assert!(text.contains("docker is not installed"), "{text}");
        assert!(
            text.contains("hint: install a container engine: buildah (apt-get install buildah)"),
            "{text}"
        );

        let err = choose(&host(
            Docker::NoEngine("permission denied".into()),
            false,
            false,
        ))
        .unwrap_err();
        let text = crate::error::render(&err, false);
        assert!(
            text.contains("the docker engine does not answer (permission denied)"),
            "{text}"
        );
        assert!(text.contains("hint: start dockerd"), "{text}");
    }
}
