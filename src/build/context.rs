//! The build context: a fresh directory with the rendered Dockerfile, every
//! git source exported at its locked commit (checked against the locked
//! tree), and the `[image] copy` sources. Nothing else, so no stray file
//! reaches the engine.

use std::path::Path;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::error::{ErrorKind, hinted};
use crate::lock::{GitPin, Lockfile};
use crate::manifest::Manifest;
use crate::redact::redact_url;
use crate::render::{ContextItem, context_path};
use crate::resolve::git::{GitDb, fetch_location};

/// What a build context is made from.
pub struct ContextInputs<'a> {
    pub project_dir: &'a Path,
    pub manifest: &'a Manifest,
    pub lock: &'a Lockfile,
    pub dockerfile: &'a str,
    /// The locked platform whose pip files are placed.
    pub platform: &'a str,
    /// A non-prod profile (`dev`) whose packages are placed too.
    pub profile: Option<&'a str>,
}

/// Fill `dir` (empty) with the Dockerfile and what it copies.
pub fn prepare(dir: &Path, inputs: &ContextInputs<'_>, config: &Config) -> anyhow::Result<()> {
    let ContextInputs {
        project_dir,
        manifest,
        lock,
        dockerfile,
        platform,
        profile,
    } = *inputs;
    std::fs::write(dir.join("Dockerfile"), dockerfile)
        .with_context(|| format!("writing {}", dir.join("Dockerfile").display()))?;
    for pin in &lock.git {
        let dest = dir.join(context_path(ContextItem::Git(&pin.name)));
        export_git(pin, &dest, project_dir, config)
            .with_context(|| format!("preparing git source `{}`", pin.name))?;
    }
    if lock.python.is_some() && !lock.pip.is_empty() {
        place_pip_files(dir, manifest, lock, platform, profile.is_some(), config)?;
    }
    for (i, copy) in manifest.image.copy.iter().enumerate() {
        let src = project_dir.join(&copy.src);
        let dest = dir.join(context_path(ContextItem::Copy(i)));
        if !src.exists() {
            return Err(hinted(
                ErrorKind::Usage,
                format!("`[image] copy` source `{}` does not exist", copy.src),
                "paths in `copy` are relative to the directory holding ml.toml",
            ));
        }
        copy_tree(&src, &dest)
            .with_context(|| format!("copying `{}` into the build context", copy.src))?;
    }
    Ok(())
}

/// Download (or take from the cache) every locked pip file of `platform`,
/// check its sha256, and lay each group out with its requirements.txt.
fn place_pip_files(
    dir: &Path,
    manifest: &Manifest,
    lock: &Lockfile,
    platform: &str,
    with_profile: bool,
    config: &Config,
) -> anyhow::Result<()> {
    let requests = crate::requests::Requests::of(manifest);
    let (framework, profile_only) = (requests.framework_names(), requests.profile_only_pip());
    let mut http: Option<crate::http::Http> = None;
    let credentials = crate::resolve::pip::index_credentials(manifest);
    for group in crate::render::PIP_GROUPS {
        let files = crate::render::pip_requirements(
            lock,
            &framework,
            &profile_only,
            with_profile,
            group,
            platform,
        );
        if files.is_empty() {
            continue;
        }
        let group_dir = dir.join(context_path(ContextItem::Pip(group)));
        std::fs::create_dir_all(&group_dir)
            .with_context(|| format!("creating {}", group_dir.display()))?;
        let mut requirements = String::new();
        for (filename, url, sha256) in &files {
            if filename.contains('/') || filename.starts_with('.') {
                bail!("refusing the locked file name `{filename}`");
            }
            let cached = config.cache_dir.join("pip").join(sha256).join(filename);
            let fresh = cached.is_file() && crate::http::file_sha256(&cached)? == *sha256;
            if !fresh {
                if config.offline {
                    return Err(hinted(
                        ErrorKind::Usage,
                        format!("{filename} is not in the cache"),
                        "run `mlr build` once without --offline",
                    ));
                }
                config.shell.status("Downloading", filename);
                if http.is_none() {
                    http = Some(crate::http::Http::new(&config.net)?);
                }
                let client = http.as_ref().expect("just set");
                // An index's credentials go to its own origin only (not to
                // a mirror, nor to another index).
                let from = config.mirrors.url(url);
                let auth = crate::http::origin(&from).and_then(|o| {
                    (crate::http::origin(url).as_ref() == Some(&o))
                        .then(|| credentials.iter().find(|c| c.origin == o))
                        .flatten()
                });
                client
                    .download_verified(&from, sha256, &cached, auth)
                    .with_context(|| format!("downloading {filename}"))?;
            }
            let dest = group_dir.join(filename);
            if std::fs::hard_link(&cached, &dest).is_err() {
                std::fs::copy(&cached, &dest)
                    .with_context(|| format!("copying {filename} into the build context"))?;
            }
            requirements.push_str(&format!("/tmp/mlr-pip/{filename} --hash=sha256:{sha256}\n"));
        }
        std::fs::write(group_dir.join("requirements.txt"), requirements)
            .context("writing requirements.txt into the build context")?;
    }
    Ok(())
}

/// Export a git pin (and its submodules) at the locked commit, fetching it
/// into the cache first if needed.
fn export_git(
    pin: &GitPin,
    dest: &Path,
    project_dir: &Path,
    config: &Config,
) -> anyhow::Result<()> {
    let location = fetch_location(&pin.url, project_dir);
    let db = GitDb::open(config, &location)?;
    ensure_commit(&db, &pin.commit, &location, config)?;
    config.shell.status(
        "Checking out",
        format!(
            "git {} at {}",
            pin.name,
            &pin.commit[..pin.commit.len().min(12)]
        ),
    );
    db.export(&pin.commit, &pin.tree, dest)?;
    if pin.submodules.is_empty() {
        return Ok(());
    }
    let urls = db.submodule_urls(&pin.commit)?;
    for sub in &pin.submodules {
        let Some((_, url)) = urls.iter().find(|(p, _)| *p == sub.path) else {
            bail!("submodule `{}` has no URL in .gitmodules", sub.path);
        };
        let sub_db = GitDb::open(config, url)?;
        ensure_commit(&sub_db, &sub.commit, url, config)?;
        let tree = sub_db.tree_of(&sub.commit)?;
        let sub_dest = dest.join(&sub.path);
        // The gitlink leaves an empty directory; fill it.
        sub_db.export(&sub.commit, &tree, &sub_dest)?;
    }
    Ok(())
}

fn ensure_commit(db: &GitDb, commit: &str, url: &str, config: &Config) -> anyhow::Result<()> {
    if db.has_commit(commit) {
        return Ok(());
    }
    if config.offline {
        return Err(hinted(
            ErrorKind::Usage,
            format!("commit {commit} of {} is not in the cache", redact_url(url)),
            "run without --offline once to fetch it",
        ));
    }
    config.shell.status("Fetching", redact_url(url));
    db.fetch_all()?;
    if !db.has_commit(commit) {
        let _ = db.fetch_commit(commit);
    }
    if !db.has_commit(commit) {
        return Err(hinted(
            ErrorKind::Resolution,
            format!(
                "the locked commit {commit} is no longer available from {}",
                redact_url(url)
            ),
            "upstream rewrote its history; run `mlr lock --update` to pin a commit that exists",
        ));
    }
    Ok(())
}

/// Copy a file or directory tree; symlinks are copied as links.
fn copy_tree(src: &Path, dest: &Path) -> anyhow::Result<()> {
    let meta =
        std::fs::symlink_metadata(src).with_context(|| format!("reading {}", src.display()))?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(src)?;
        std::os::unix::fs::symlink(&target, dest)
            .with_context(|| format!("creating link {}", dest.display()))?;
    } else if meta.is_dir() {
        std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
        let mut entries: Vec<_> = std::fs::read_dir(src)
            .with_context(|| format!("reading {}", src.display()))?
            .collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy_tree(&e.path(), &dest.join(e.file_name()))?;
        }
    } else {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(src, dest)
            .with_context(|| format!("copying {} to {}", src.display(), dest.display()))?;
    }
    Ok(())
}
