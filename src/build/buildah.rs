//! The buildah backend: daemonless builds whose image digest is a function of
//! the context alone (`--timestamp` clamps every date the image records).
//!
//! `podman build` is buildah's `bud` linked into podman, so `BudTool`
//! drives both: the same flags, storage options and error handling, with
//! only the program, its build subcommand and the storage variables
//! differing.
//!
//! Images are written in the OCI format: buildah 1.28 (Debian bookworm) puts
//! a random container ID and hostname into every docker-format config, so
//! only OCI images are bit-for-bit reproducible. The OCI format has no
//! HEALTHCHECK; a build that renders one warns that the image lacks it.
//! `BUILDAH_FORMAT=docker` keeps the healthcheck and gives up the digest.
//!
//! Storage is the tool's own (`/var/lib/containers/storage` for root) unless
//! `MLR_BUILDAH_ROOT` / `MLR_BUILDAH_RUNROOT` (`MLR_PODMAN_*` for podman)
//! name other directories. `STORAGE_DRIVER` (for example `vfs`) is passed on
//! as `--storage-driver`: without a `storage.conf` (Debian installs none) the
//! tools ignore the variable themselves. `BUILDAH_ISOLATION` and
//! `BUILDAH_FORMAT` are the user's to set.

use std::process::Command;

use anyhow::Context;

use super::{Backend, BuildRequest, PushTarget};
use crate::error::{Error, ErrorKind, hinted};
use crate::shell::Shell;

/// A containers/storage tool that builds with buildah's `bud`.
pub(super) struct BudTool {
    pub program: &'static str,
    /// `bud` for buildah, `build` for podman.
    pub build_subcommand: &'static str,
    /// Environment variables naming `--root` and `--runroot`.
    pub root_var: &'static str,
    pub runroot_var: &'static str,
    pub install_hint: &'static str,
}

pub(super) const BUILDAH: BudTool = BudTool {
    program: "buildah",
    build_subcommand: "bud",
    root_var: "MLR_BUILDAH_ROOT",
    runroot_var: "MLR_BUILDAH_RUNROOT",
    install_hint: "install buildah (apt-get install buildah), or choose another backend with --backend",
};

impl BudTool {
    /// The program with the global storage flags mlr's environment asks for.
    fn command(&self) -> Command {
        let mut cmd = Command::new(self.program);
        for (var, flag) in [
            (self.root_var, "--root"),
            (self.runroot_var, "--runroot"),
            ("STORAGE_DRIVER", "--storage-driver"),
        ] {
            if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
                cmd.arg(flag).arg(value);
            }
        }
        cmd
    }
}

impl Backend for BudTool {
    fn name(&self) -> &'static str {
        self.program
    }

    fn clamped_timestamp(&self) -> Option<u64> {
        Some(0)
    }

    fn build(&self, request: &BuildRequest<'_>, shell: &Shell) -> anyhow::Result<String> {
        let dockerfile_path = request.context.join("Dockerfile");
        let dockerfile = std::fs::read_to_string(&dockerfile_path)
            .with_context(|| format!("reading {}", dockerfile_path.display()))?;
        let iidfile = tempfile::NamedTempFile::new().context("creating a temporary file")?;
        let mut cmd = self.command();
        cmd.arg(self.build_subcommand)
            // Each instruction is a layer, so a rebuild reuses the unchanged
            // prefix as the docker backend does.
            .arg("--layers")
            .arg("--tag")
            .arg(request.tag)
            .arg("--iidfile")
            .arg(iidfile.path())
            .arg("--file")
            .arg(&dockerfile_path)
            .arg("--platform")
            .arg(request.platform);
        if std::env::var_os("BUILDAH_FORMAT").is_none() {
            cmd.arg("--format").arg("oci");
            if has_healthcheck(&dockerfile) {
                shell.warn(format!(
                    "the image has no HEALTHCHECK: {} writes OCI images, which cannot carry one \
                     (set BUILDAH_FORMAT=docker to keep it, at the cost of a reproducible digest)",
                    self.program
                ));
            }
        }
        // chroot isolation needs no runtime and works inside containers;
        // BUILDAH_ISOLATION, when set, is the user's choice.
        if std::env::var_os("BUILDAH_ISOLATION").is_none() {
            cmd.arg("--isolation").arg("chroot");
        }
        if let Some(t) = request.timestamp {
            cmd.arg("--timestamp").arg(t.to_string());
        }
        for (id, path) in &request.secrets {
            let mut spec = std::ffi::OsString::from(format!("id={id},src="));
            spec.push(path);
            cmd.arg("--secret").arg(spec);
        }
        if request.no_cache {
            cmd.arg("--no-cache");
        }
        if request.host_network {
            cmd.arg("--network").arg("host");
        }
        if pulls_only_from_loopback(&dockerfile) {
            // A registry on the host's loopback speaks plain HTTP (docker
            // treats 127.0.0.0/8 as insecure too); remote ones keep TLS.
            cmd.arg("--tls-verify=false");
        }
        for (k, v) in &request.labels {
            cmd.arg("--label").arg(format!("{k}={v}"));
        }
        cmd.arg(request.context);
        if let Err(failed) = super::run_streaming(cmd, self.program, self.install_hint, shell)? {
            // A step mlr rendered says what failed; the engine's own
            // messages are read only when none did.
            if let Some(e) = request.step_failure(&failed.output) {
                return Err(e);
            }
            let detail = failed.detail;
            if detail.contains("http: server gave HTTP response to HTTPS client") {
                return Err(hinted(
                    ErrorKind::Engine,
                    format!("{} could not pull over plain HTTP:\n{detail}", self.program),
                    "mlr turns TLS verification off only when every FROM registry is on 127.0.0.1; list other insecure registries in /etc/containers/registries.conf",
                ));
            }
            return Err(anyhow::Error::new(Error::new(
                ErrorKind::Engine,
                format!(
                    "{} {} failed ({}):\n{detail}",
                    self.program, self.build_subcommand, failed.status
                ),
            )));
        }
        let id = std::fs::read_to_string(iidfile.path()).context("reading the image ID")?;
        Ok(id.trim().to_string())
    }

    /// `push --digestfile`: the digest as pushed.
    fn push(&self, target: &PushTarget, shell: &Shell) -> anyhow::Result<String> {
        let digestfile = tempfile::NamedTempFile::new().context("creating a temporary file")?;
        let mut cmd = self.command();
        cmd.arg("push").arg("--digestfile").arg(digestfile.path());
        // With DOCKER_CONFIG set, the tools take `$DOCKER_CONFIG/config.json`
        // as their credentials file and fail when it is missing; a directory
        // without one holds no credentials, so fall back to their defaults.
        if std::env::var_os("DOCKER_CONFIG")
            .is_some_and(|dir| !std::path::Path::new(&dir).join("config.json").is_file())
        {
            cmd.env_remove("DOCKER_CONFIG");
        }
        if is_loopback(&target.registry) {
            cmd.arg("--tls-verify=false");
        }
        cmd.arg(&target.tag).arg(format!("docker://{}", target.tag));
        if let Err(super::Failed { status, detail, .. }) =
            super::run_streaming(cmd, self.program, self.install_hint, shell)?
        {
            if let Some(e) = super::push_unauthorized(self.program, target, &detail) {
                return Err(e);
            }
            return Err(anyhow::Error::new(Error::new(
                ErrorKind::Engine,
                format!("{} push failed ({status}):\n{detail}", self.program),
            )));
        }
        let digest =
            std::fs::read_to_string(digestfile.path()).context("reading the pushed digest")?;
        Ok(digest.trim().to_string())
    }
}

fn has_healthcheck(dockerfile: &str) -> bool {
    dockerfile.lines().any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("HEALTHCHECK"))
    })
}

/// Whether the Dockerfile pulls at least one image, and every image it pulls
/// comes from a loopback registry.
fn pulls_only_from_loopback(dockerfile: &str) -> bool {
    let mut stages: Vec<&str> = Vec::new();
    let mut registries: Vec<&str> = Vec::new();
    for line in dockerfile.lines() {
        let mut words = line.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
            continue;
        }
        let Some(image) = words.find(|w| !w.starts_with("--")) else {
            continue;
        };
        if !stages.contains(&image) && image != "scratch" {
            registries.push(registry_of(image));
        }
        if words.next().is_some_and(|w| w.eq_ignore_ascii_case("AS")) {
            stages.extend(words.next());
        }
    }
    !registries.is_empty() && registries.iter().all(|r| is_loopback(r))
}

/// The registry host of an image reference (`docker.io` when it names none).
fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

fn is_loopback(registry: &str) -> bool {
    let host = registry
        .strip_prefix('[')
        .and_then(|r| r.split_once(']').map(|(h, _)| h))
        .unwrap_or_else(|| registry.split(':').next().unwrap_or(""));
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_relaxed_only_for_loopback_pulls() {
        let local = "FROM 127.0.0.1:5000/base@sha256:ab AS mlr-python\nRUN x\nFROM mlr-python\n";
        assert!(pulls_only_from_loopback(local));
        assert!(pulls_only_from_loopback(
            "FROM --platform=linux/amd64 localhost:5000/x:1\n"
        ));
        assert!(pulls_only_from_loopback("FROM [::1]:5000/x:1\n"));
        assert!(!pulls_only_from_loopback(
            "FROM 127.0.0.1:5000/a:1 AS a\nFROM docker.io/nvidia/cuda:12 AS b\n"
        ));
        assert!(!pulls_only_from_loopback("FROM ubuntu:22.04\n"));
        assert!(!pulls_only_from_loopback(
            "FROM 127.0.0.2.example.com/x:1\n"
        ));
        assert!(!pulls_only_from_loopback("FROM scratch\n"));
    }
}
