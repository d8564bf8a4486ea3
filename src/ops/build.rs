//! `mlr build`: refuse a stale lock, render, prepare the context, build.

use super::Workspace;
use super::dockerfile::fresh_inputs;
use crate::build::{BackendKind, BuildRequest, PushTarget, detect};
use crate::config::Config;
use crate::error::{ErrorKind, hinted, print_stdout};

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub tag: Option<String>,
    /// `None`: detect what the host offers.
    pub backend: Option<BackendKind>,
    pub no_cache: bool,
    /// `None` (or `prod`): the prod image; else a `[profile.NAME]`.
    pub profile: Option<String>,
    /// Extra CA certificates the build trusts (never in a layer).
    pub ca_certs: Vec<std::path::PathBuf>,
    /// A locked platform (`linux/arm64`); `None`: the host's when locked.
    pub platform: Option<String>,
    /// Push the tag to the registry it names after the build.
    pub push: bool,
}

pub fn run(ws: &Workspace, config: &Config, options: &BuildOptions) -> anyhow::Result<()> {
    let (manifest, lock) = fresh_inputs(ws)?;
    // What the user asked for is checked before any engine is probed.
    let platform = build_platform(&lock.lock, options.platform.as_deref())?;
    if let Some(p) = options.profile.as_deref() {
        if !manifest.profiles.contains_key(p) {
            let known: Vec<&str> = manifest.profiles.keys().map(String::as_str).collect();
            return Err(hinted(
                ErrorKind::Usage,
                format!("ml.toml has no [profile.{p}]"),
                if known.is_empty() {
                    "the default profile is prod; add a [profile.dev] table for extra tools"
                        .to_string()
                } else {
                    format!("profiles: prod, {}", known.join(", "))
                },
            ));
        }
    }
    let tag = match &options.tag {
        Some(t) => t.clone(),
        None => match options.profile.as_deref() {
            Some(p) => format!("{}-{p}", default_tag(ws, &manifest, &lock.lock)),
            None => default_tag(ws, &manifest, &lock.lock),
        },
    };
    let push = options.push.then(|| PushTarget::parse(&tag)).transpose()?;
    let ca = crate::build::secrets::CaSecrets::prepare(&options.ca_certs)?;
    let kind = match options.backend {
        Some(kind) => kind,
        None => detect::choose(&detect::probe())?,
    };
    let backend = kind.backend();

    let dockerfile = crate::render::dockerfile_for(
        &manifest,
        &lock.lock,
        &crate::render::Target {
            profile: options.profile.clone(),
            mirrors: config.mirrors.clone(),
            ca: ca.as_ref().map(|c| c.mounts()),
        },
    )?;
    let context = tempfile::Builder::new()
        .prefix("mlr-build-")
        .tempdir()
        .map_err(|e| anyhow::anyhow!("creating the build context: {e}"))?;
    crate::build::context::prepare(
        context.path(),
        &crate::build::context::ContextInputs {
            project_dir: &ws.root,
            manifest: &manifest,
            lock: &lock.lock,
            dockerfile: &dockerfile,
            platform: &platform,
            profile: options.profile.as_deref(),
        },
        config,
    )?;
    config
        .shell
        .status("Building", format!("{tag} with {}", backend.name()));
    let id = backend.build(
        &BuildRequest {
            context: context.path(),
            tag: &tag,
            labels: provenance_labels(ws),
            host_network: needs_host_network(&lock.lock, config),
            no_cache: options.no_cache,
            secrets: ca.as_ref().map(|c| c.files()).unwrap_or_default(),
            // Backends that clamp dates use the lock's SOURCE_DATE_EPOCH.
            timestamp: backend
                .clamped_timestamp()
                .map(|_| lock.lock.source_date_epoch()),
            platform: &platform,
            git_builds: manifest
                .git
                .iter()
                .filter(|(_, source)| !source.build.is_empty())
                .map(|(name, source)| (name.clone(), source.build.clone()))
                .collect(),
            apt_snapshot: lock.lock.apt_snapshot().map(str::to_string),
        },
        &config.shell,
    )?;
    config.shell.status("Built", format!("{tag} ({id})"));
    if let Some(target) = push {
        config.shell.status("Pushing", &target.tag);
        let digest = backend.push(&target, &config.shell)?;
        config
            .shell
            .status("Pushed", format!("{}@{digest}", target.tag));
        // `repo@digest`, not `repo:tag@digest`: tools built on
        // containers/image (skopeo, buildah, podman) refuse a reference
        // with both.
        print_stdout(&format!("{}@{digest}\n", target.repository))?;
    }
    Ok(())
}

/// Labels that say where the image came from, known only at build time:
/// the project's git commit (and whether the tree was dirty), the manifest
/// path within the project, and the mlr version. Never a credential.
fn provenance_labels(ws: &Workspace) -> Vec<(String, String)> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(&ws.root)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let mut labels = vec![(
        "dev.mlr.version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    )];
    if let Some(commit) = git(&["rev-parse", "--verify", "-q", "HEAD"]) {
        labels.push(("org.opencontainers.image.revision".into(), commit));
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        labels.push(("dev.mlr.git-dirty".into(), dirty.to_string()));
        if let Some(top) = git(&["rev-parse", "--show-toplevel"]) {
            if let Ok(rel) = ws.manifest_path.strip_prefix(&top) {
                labels.push(("dev.mlr.manifest".into(), rel.display().to_string()));
            }
        }
    }
    labels
}

/// Whether the build must reach a loopback archive or mirror (apt runs in
/// the build; only the host network sees the host's 127.0.0.1).
fn needs_host_network(lock: &crate::lock::Lockfile, config: &Config) -> bool {
    let loopback = |url: &str| {
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("");
        host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
    };
    lock.apt
        .iter()
        .any(|p| loopback(&p.source) || loopback(&config.mirrors.url(&p.source)))
}

/// The locked platform to build: the requested one, which the lock must
/// have; without a request, the host's own architecture when locked, else
/// the first locked platform.
fn build_platform(lock: &crate::lock::Lockfile, requested: Option<&str>) -> anyhow::Result<String> {
    let mut locked: Vec<&str> = lock
        .images
        .iter()
        .flat_map(|i| i.platforms.iter().map(|p| p.platform.as_str()))
        .collect();
    locked.sort_unstable();
    locked.dedup();
    if let Some(wanted) = requested {
        if locked.contains(&wanted) {
            return Ok(wanted.to_string());
        }
        return Err(hinted(
            ErrorKind::Usage,
            format!("ml.lock has no platform `{wanted}`"),
            format!(
                "locked platforms: {}; to build another, add it to `[project] platforms` in ml.toml and run `mlr lock`",
                locked.join(", ")
            ),
        ));
    }
    let host = match std::env::consts::ARCH {
        "aarch64" => "linux/arm64",
        _ => "linux/amd64",
    };
    if locked.contains(&host) || locked.is_empty() {
        Ok(host.to_string())
    } else {
        Ok(locked[0].to_string())
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
    let name = super::image_name(&name, "mlr-image");
    let sha = crate::render::lock_sha256(lock);
    format!("{name}:{}", &sha[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{ImagePin, Lockfile, PlatformDigest};

    fn lock_for(platforms: &[&str]) -> Lockfile {
        Lockfile {
            images: vec![ImagePin {
                name: "base".into(),
                requested: "127.0.0.1:5000/base:1".into(),
                registry: "127.0.0.1:5000".into(),
                repository: "base".into(),
                tag: Some("1".into()),
                digest: format!("sha256:{}", "a".repeat(64)),
                media_type: "application/vnd.oci.image.index.v1+json".into(),
                platforms: platforms
                    .iter()
                    .map(|p| PlatformDigest {
                        platform: p.to_string(),
                        digest: format!("sha256:{}", "b".repeat(64)),
                    })
                    .collect(),
            }],
            ..Lockfile::default()
        }
    }

    #[test]
    fn a_requested_platform_must_be_locked() {
        let lock = lock_for(&["linux/amd64", "linux/arm64"]);
        assert_eq!(
            build_platform(&lock, Some("linux/arm64")).unwrap(),
            "linux/arm64"
        );
        let lock = lock_for(&["linux/amd64"]);
        let err = build_platform(&lock, Some("linux/arm64")).unwrap_err();
        let text = crate::error::render(&err, false);
        assert_eq!(
            text,
            "error: ml.lock has no platform `linux/arm64`\n\
             hint: locked platforms: linux/amd64; to build another, add it to \
             `[project] platforms` in ml.toml and run `mlr lock`\n"
        );
    }

    #[test]
    fn without_a_request_the_host_platform_when_locked_else_the_first() {
        let host = if cfg!(target_arch = "aarch64") {
            "linux/arm64"
        } else {
            "linux/amd64"
        };
        let both = lock_for(&["linux/amd64", "linux/arm64"]);
        assert_eq!(build_platform(&both, None).unwrap(), host);
        let other = if host == "linux/amd64" {
            "linux/arm64"
        } else {
            "linux/amd64"
        };
        assert_eq!(build_platform(&lock_for(&[other]), None).unwrap(), other);
    }
}
