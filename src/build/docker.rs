//! The docker CLI backend: the classic builder, or BuildKit when the build
//! has secrets to mount (the classic builder has no secret mounts).
//! `MLR_DOCKER` names the docker program (default `docker` on `PATH`).

use std::process::Command;

use anyhow::Context;

use super::{Backend, BuildRequest, PushTarget};
use crate::error::{Error, ErrorKind, hinted};
use crate::shell::Shell;

pub struct Docker;

/// The docker program: `MLR_DOCKER`, else `docker` on `PATH`.
pub(crate) fn docker() -> Command {
    Command::new(
        std::env::var_os("MLR_DOCKER")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "docker".into()),
    )
}

const INSTALL_HINT: &str = "install the docker CLI, or choose another backend with --backend";

impl Backend for Docker {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn build(&self, request: &BuildRequest<'_>, shell: &Shell) -> anyhow::Result<String> {
        let iidfile = tempfile::NamedTempFile::new().context("creating a temporary file")?;
        let buildkit = !request.secrets.is_empty();
        if buildkit && !has_buildkit() {
            return Err(hinted(
                ErrorKind::Engine,
                "extra CA certificates are mounted as build secrets, which need BuildKit, \
                 and this docker CLI has no BuildKit"
                    .to_string(),
                "install the docker buildx plugin (or set MLR_DOCKER to a docker CLI with \
                 BuildKit), or build with --backend buildah",
            ));
        }
        let mut cmd = docker();
        cmd.env("DOCKER_BUILDKIT", if buildkit { "1" } else { "0" })
            .arg("build")
            .arg("--tag")
            .arg(request.tag)
            .arg("--iidfile")
            .arg(iidfile.path())
            .arg("--file")
            .arg(request.context.join("Dockerfile"))
            .arg("--platform")
            .arg(request.platform);
        // The classic builder keeps a failed step's container (and with it
        // every layer below) unless told otherwise.
        cmd.arg("--force-rm");
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
        if let Err(failed) = super::run_streaming(cmd, "docker", INSTALL_HINT, shell)? {
            // A step mlr rendered says what failed; the engine's own
            // messages are read only when none did.
            if let Some(e) = request.step_failure(&failed.output) {
                return Err(e);
            }
            if let Some(e) = engine_down() {
                return Err(e);
            }
            return Err(anyhow::Error::new(Error::new(
                ErrorKind::Engine,
                format!(
                    "docker build failed ({}):
{}",
                    failed.status, failed.detail
                ),
            )));
        }
        let id = std::fs::read_to_string(iidfile.path()).context("reading the image ID")?;
        Ok(id.trim().to_string())
    }

    fn push(&self, target: &PushTarget, shell: &Shell) -> anyhow::Result<String> {
        let mut cmd = docker();
        cmd.arg("push").arg(&target.tag);
        let output = match super::run_streaming(cmd, "docker", INSTALL_HINT, shell)? {
            Ok(output) => output,
            Err(super::Failed { status, detail, .. }) => {
                if let Some(e) =
                    engine_down().or_else(|| super::push_unauthorized("docker", target, &detail))
                {
                    return Err(e);
                }
                return Err(anyhow::Error::new(Error::new(
                    ErrorKind::Engine,
                    format!("docker push failed ({status}):\n{detail}"),
                )));
            }
        };
        if let Some(digest) = pushed_digest(&output) {
            return Ok(digest);
        }
        // A client that does not print the digest: the engine recorded it.
        let inspect = docker()
            .args(["image", "inspect", "--format", "{{json .RepoDigests}}"])
            .arg(&target.tag)
            .stdin(std::process::Stdio::null())
            .output()
            .context("running docker image inspect")?;
        let repo_digests: Vec<String> = serde_json::from_slice(&inspect.stdout)
            .with_context(|| format!("reading the repository digests of {}", target.tag))?;
        repo_digest_for(&repo_digests, target).with_context(|| {
            format!(
                "docker pushed {} but reports no digest for it (repository digests: {})",
                target.tag,
                repo_digests.join(", ")
            )
        })
    }
}

/// After a failure: the engine down, if `docker info` says so (its exit
/// status, not its words).
fn engine_down() -> Option<anyhow::Error> {
    match super::detect::probe_docker() {
        super::detect::Docker::Answers => None,
        _ => Some(hinted(
            ErrorKind::Engine,
            "the Docker engine is not running".to_string(),
            "start dockerd, or choose another backend with --backend",
        )),
    }
}

/// Whether this docker CLI builds with BuildKit (secret mounts): through
/// the buildx plugin, or built in, as in clients before 23.0 (whose
/// default builder is the classic one without buildx).
fn has_buildkit() -> bool {
    let succeeds = |args: &[&str]| {
        docker()
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if succeeds(&["buildx", "version"]) {
        return true;
    }
    let version = docker()
        .args(["version", "--format", "{{.Client.Version}}"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let major = version
        .as_deref()
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    major.is_some_and(|m| (18..23).contains(&m))
}

/// The digest in `docker push`'s last report: `<tag>: digest: sha256:… size: N`.
fn pushed_digest(output: &[String]) -> Option<String> {
    output.iter().rev().find_map(|line| {
        let (_, rest) = line.split_once(": digest: ")?;
        let digest = rest.split_whitespace().next()?;
        is_digest(digest).then(|| digest.to_string())
    })
}

/// The one repository digest (`name@sha256:…`) of the target's repository;
/// docker shortens `docker.io/library/x` to `x`, so names are compared
/// parsed.
fn repo_digest_for(repo_digests: &[String], target: &PushTarget) -> Option<String> {
    let wanted = crate::manifest::ImageRef::parse(&target.repository).ok()?;
    let mut found = repo_digests.iter().filter_map(|entry| {
        let (name, digest) = entry.split_once('@')?;
        let image = crate::manifest::ImageRef::parse(name).ok()?;
        (image.registry == wanted.registry
            && image.repository == wanted.repository
            && is_digest(digest))
        .then(|| digest.to_string())
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(tag: &str) -> PushTarget {
        PushTarget::parse(tag).unwrap()
    }

    #[test]
    fn the_digest_comes_from_the_push_report() {
        let digest = format!("sha256:{}", "c".repeat(64));
        let output = vec![
            "The push refers to repository [127.0.0.1:5000/team/app]".to_string(),
            "5f70bf18a086: Pushed".to_string(),
            format!("v1: digest: {digest} size: 527"),
        ];
        assert_eq!(pushed_digest(&output), Some(digest));
        assert_eq!(pushed_digest(&output[..2]), None);
    }

    #[test]
    fn the_repository_digest_is_the_targets_own() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let digests = vec![
            format!("127.0.0.1:5000/other@{a}"),
            format!("127.0.0.1:5000/team/app@{b}"),
        ];
        assert_eq!(
            repo_digest_for(&digests, &target("127.0.0.1:5000/team/app:v1")),
            Some(b.clone())
        );
        // docker prints Docker Hub names short.
        assert_eq!(
            repo_digest_for(&[format!("app@{a}")], &target("docker.io/library/app:1")),
            Some(a.clone())
        );
        // Two digests for one repository: no way to tell which was pushed.
        let two = vec![
            format!("127.0.0.1:5000/team/app@{a}"),
            format!("127.0.0.1:5000/team/app@{b}"),
        ];
        assert_eq!(
            repo_digest_for(&two, &target("127.0.0.1:5000/team/app:v1")),
            None
        );
    }
}
