//! `mlr build`: refuse a stale lock, render, prepare the context, build.

use super::Workspace;
use super::dockerfile::fresh_inputs;
use crate::build::docker::Docker;
use crate::build::{Backend, BuildRequest};
use crate::config::Config;
use crate::error::hinted;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub tag: Option<String>,
    pub backend: Option<String>,
}

pub fn run(ws: &Workspace, config: &Config, options: &BuildOptions) -> anyhow::Result<()> {
    let (manifest, lock) = fresh_inputs(ws)?;
    let backend: Box<dyn Backend> = match options.backend.as_deref() {
        None | Some("docker") => Box::new(Docker),
        Some(other) => {
            return Err(hinted(
                format!("backend `{other}` is not supported by this version of mlr"),
                "use --backend docker",
            ));
        }
    };
    let dockerfile = crate::render::dockerfile(&manifest, &lock.lock)?;
    let dockerfile = crate::render::through_mirrors(&dockerfile, &lock.lock, &config.mirrors);
    let context = tempfile::Builder::new()
        .prefix("mlr-build-")
        .tempdir()
        .map_err(|e| anyhow::anyhow!("creating the build context: {e}"))?;
    let platform = build_platform(&lock.lock);
    crate::build::context::prepare(
        context.path(),
        &ws.root,
        &manifest,
        &lock.lock,
        &dockerfile,
        &platform,
        config,
    )?;
    let tag = match &options.tag {
        Some(t) => t.clone(),
        None => default_tag(ws, &manifest, &lock.lock),
    };
    config
        .shell
        .status("Building", format!("{tag} with {}", backend.name()));
    let id = backend.build(
        &BuildRequest {
            context: context.path(),
            tag: &tag,
            labels: Vec::new(),
        },
        &config.shell,
    )?;
    config.shell.status("Built", format!("{tag} ({id})"));
    Ok(())
}

/// The locked platform this host builds: its own architecture when locked,
/// else the first locked platform.
fn build_platform(lock: &crate::lock::Lockfile) -> String {
    let host = match std::env::consts::ARCH {
        "aarch64" => "linux/arm64",
        _ => "linux/amd64",
    };
    let locked: Vec<&str> = lock
        .images
        .iter()
        .flat_map(|i| i.platforms.iter().map(|p| p.platform.as_str()))
        .collect();
    if locked.contains(&host) || locked.is_empty() {
        host.to_string()
    } else {
        locked[0].to_string()
    }
}

/// `<project name>:<first 12 hex of the lock's sha256>`.
fn default_tag(
    ws: &Workspace,
    manifest: &crate::manifest::Manifest,
    lock: &crate::lock::Lockfile,
) -> String {
    let name = manifest.project.name.clone().unwrap_or_else(|| {
        ws.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "mlr-image".into())
    });
    let mut name: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if name.is_empty() {
        name = "mlr-image".into();
    }
    let sha = crate::render::lock_sha256(lock);
    format!("{name}:{}", &sha[..12])
}
