//! `mlr lock`: keep every pin that still satisfies `ml.toml`, resolve the
//! rest, and write `ml.lock` only when its canonical text changes.

use std::collections::BTreeSet;

use anyhow::Context;
use serde::Serialize;

use super::{Drift, Format, Workspace, write_atomic};
use crate::config::Config;
use crate::error::{HintExt, hinted};
use crate::lock::{Lockfile, render};
use crate::manifest::Manifest;
use crate::resolve::Source;
use crate::resolve::git::{GitRequest, GitResolver};
use crate::resolve::image::{ImageRequest, ImageResolver};

/// How `mlr lock` may treat `ml.lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Resolve and write.
    Write,
    /// Resolve, write nothing, exit 1 if the lock would change.
    Check,
    /// Fail with exit 1 instead of changing the lock (no resolution).
    Locked,
}

#[derive(Debug, Clone)]
pub struct LockOptions {
    pub mode: LockMode,
    /// `None`: minimal change. `Some(empty)`: re-resolve everything.
    /// `Some(names)`: re-resolve those entries only.
    pub update: Option<Vec<String>>,
    pub format: Format,
}

/// One line of the change summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: &'static str,
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        match (&self.from, &self.to) {
            (Some(a), Some(b)) => write!(f, " {a} → {b}"),
            (None, Some(b)) => write!(f, " {b}"),
            (Some(a), None) => write!(f, " {a}"),
            (None, None) => Ok(()),
        }
    }
}

pub fn run(ws: &Workspace, config: &Config, options: &LockOptions) -> anyhow::Result<()> {
    let manifest = ws.manifest()?;

    let existing = match ws.lock() {
        Ok(l) => l,
        Err(e) if is_conflict(&e) && options.mode == LockMode::Write => {
            config.shell.warn(format!(
                "{} has merge conflicts; re-resolving it from {}",
                ws.lock_display, ws.manifest_display
            ));
            None
        }
        Err(e) => return Err(e),
    };
    let old: Option<&Lockfile> = existing.as_ref().map(|(_, r)| &r.lock);
    let old_text = existing.as_ref().map(|(t, _)| t.replace("\r\n", "\n"));

    let update: Option<BTreeSet<String>> = options
        .update
        .as_ref()
        .map(|names| names.iter().cloned().collect());
    if let Some(names) = &update {
        let old_pip: Vec<String> = old
            .map(|l| {
                l.pip
                    .iter()
                    .map(|p| p.name.clone())
                    .chain(l.apt.iter().map(|p| p.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        check_update_names(&manifest, names, &old_pip)?;
    }
    let wants_update = |name: &str| {
        update
            .as_ref()
            .is_some_and(|u| u.is_empty() || u.contains(name))
    };

    // Decide what must be resolved before touching the network.
    let image_requests = image_requests(&manifest)?;
    let git_requests = git_requests(&manifest);
    let keep_image = |r: &ImageRequest| {
        old.and_then(|l| l.image(&r.name))
            .filter(|p| !wants_update(&r.name) && ImageResolver::satisfied_by(r, p))
            .cloned()
    };
    let keep_git = |r: &GitRequest| {
        old.and_then(|l| l.git_pin(&r.name))
            .filter(|p| !wants_update(&r.name) && GitResolver::satisfied_by(r, p))
            .cloned()
    };
    let base_kept = image_requests.iter().all(|r| keep_image(r).is_some());
    let pip_update: Option<BTreeSet<String>> = update.as_ref().and_then(|u| {
        if u.is_empty() {
            Some(BTreeSet::new())
        } else {
            let names: BTreeSet<String> = u
                .iter()
                .map(|n| crate::resolve::pip::normalize(n))
                .filter(|n| old.is_some_and(|l| l.pip.iter().any(|p| p.name == *n)))
                .collect();
            (!names.is_empty()).then_some(names)
        }
    });
    let pip_wanted = crate::resolve::pip::plan::wants_python(&manifest);
    let keep_pip = pip_wanted
        && base_kept
        && pip_update.is_none()
        && old.is_some_and(|l| pip_still_fits(&manifest, l));
    // pip packages may need the distribution's Python pinned through apt.
    let apt_wanted = super::lock_apt::wants_apt(&manifest) || pip_wanted;
    let apt_update: Option<BTreeSet<String>> = update.as_ref().and_then(|u| {
        if u.is_empty() {
            Some(BTreeSet::new())
        } else {
            let names: BTreeSet<String> = u
                .iter()
                .filter(|n| old.is_some_and(|l| l.apt.iter().any(|p| p.name == **n)))
                .cloned()
                .collect();
            (!names.is_empty()).then_some(names)
        }
    });
    let keep_apt = apt_wanted
        && base_kept
        && apt_update.is_none()
        && old.is_some_and(|l| super::lock_apt::apt_still_fits(&manifest, l));
    let to_resolve: Vec<String> = image_requests
        .iter()
        .filter(|r| keep_image(r).is_none())
        .map(|r| format!("image `{}`", r.name))
        .chain(
            git_requests
                .iter()
                .filter(|r| keep_git(r).is_none())
                .map(|r| format!("git `{}`", r.name)),
        )
        .chain((pip_wanted && !keep_pip).then(|| "pip packages".to_string()))
        .chain((apt_wanted && !keep_apt).then(|| "apt packages".to_string()))
        .collect();

    if options.mode == LockMode::Locked {
        let fingerprint_changed = old.is_none_or(|l| l.fingerprint != manifest.fingerprint());
        let non_canonical = existing
            .as_ref()
            .is_some_and(|(_, r)| r.non_canonical_line.is_some());
        // The fingerprint covers every entry, so a removed one shows there.
        if existing.is_none() || !to_resolve.is_empty() || fingerprint_changed || non_canonical {
            let why = if existing.is_none() {
                format!("{} does not exist", ws.lock_display)
            } else if !to_resolve.is_empty() {
                format!("{} must be resolved again", to_resolve.join(", "))
            } else if non_canonical {
                format!("{} is not in canonical form", ws.lock_display)
            } else {
                format!("{} changed since the lock was written", ws.manifest_display)
            };
            return Err(anyhow::Error::new(Drift {
                message: format!(
                    "{} needs to be updated, but --locked was passed to prevent this ({why})",
                    ws.lock_display
                ),
            }))
            .hint("run `mlr lock` without --locked and commit the result");
        }
        config
            .shell
            .status("Checked", format!("{} is up to date", ws.lock_display));
        return Ok(());
    }

    if config.offline && !to_resolve.is_empty() {
        return Err(hinted(
            format!("cannot resolve {} in offline mode", to_resolve.join(", ")),
            "run `mlr lock` without --offline",
        ));
    }

    let mut new = Lockfile::new(manifest.fingerprint());
    let images = ImageResolver { config };
    for r in &image_requests {
        let pin = match keep_image(r) {
            Some(p) => p,
            None => images.resolve(r)?,
        };
        new.images.push(pin);
    }
    let git = GitResolver {
        config,
        root: &ws.root,
    };
    for r in &git_requests {
        let pin = match keep_git(r) {
            Some(p) => p,
            None => git.resolve(r)?,
        };
        new.git.push(pin);
    }
    if apt_wanted {
        match old.filter(|_| keep_apt) {
            Some(l) => new.apt = l.apt.clone(),
            None => {
                super::lock_apt::lock_apt(config, &manifest, old, &mut new, apt_update.as_ref())?
            }
        }
    }
    if pip_wanted {
        match old.filter(|_| keep_pip) {
            Some(l) => {
                new.python = l.python.clone();
                new.pip = l.pip.clone();
            }
            None => lock_pip(config, &manifest, old, &mut new, pip_update)?,
        }
    }
    new.sort();
    let text = render(&new);
    let changes = changes(old, &new);
    let changed = old_text.as_deref() != Some(text.as_str());

    match options.mode {
        LockMode::Check => {
            report(config, options.format, &changes, changed)?;
            if changed {
                return Err(anyhow::Error::new(Drift {
                    message: format!("{} is out of date", ws.lock_display),
                }))
                .hint("run `mlr lock` and commit the result");
            }
            config
                .shell
                .status("Checked", format!("{} is up to date", ws.lock_display));
            Ok(())
        }
        _ => {
            for c in &changes {
                config.shell.status(c.action, c.to_string());
            }
            if changed {
                write_atomic(&ws.lock_path, &text)
                    .with_context(|| format!("writing {}", ws.lock_display))?;
                config.shell.status("Wrote", &ws.lock_display);
            } else {
                config
                    .shell
                    .verbose("Fresh", format!("{} is up to date", ws.lock_display));
            }
            Ok(())
        }
    }
}

/// Whether the locked Python packages still fit the manifest: the same
/// direct requests, interpreter, platforms and framework variant.
fn pip_still_fits(manifest: &Manifest, lock: &Lockfile) -> bool {
    use crate::resolve::pip::plan;
    let Some(py) = &lock.python else { return false };
    if manifest
        .python
        .as_ref()
        .is_some_and(|p| plan::major_minor(&p.version) != py.version)
    {
        return false;
    }
    let mut wanted = plan::manifest_requests(manifest);
    let mut locked: Vec<String> = lock
        .pip
        .iter()
        .filter_map(|p| p.requested.clone())
        .collect();
    wanted.sort();
    locked.sort();
    if wanted != locked {
        return false;
    }
    for platform in &manifest.project.platforms {
        let platform = platform.to_string();
        if lock.pip.iter().filter(|p| p.requested.is_some()).any(|p| {
            !lock
                .pip
                .iter()
                .any(|q| q.name == p.name && q.artifacts.iter().any(|a| a.platform == platform))
        }) {
            return false;
        }
    }
    // The framework variant follows [cuda]: a changed CUDA needs new wheels.
    let compat = manifest.compat();
    match plan::plan(manifest, &compat, &py.version) {
        Ok(p) => match &p.torch {
            Some(variant) => lock.pip.iter().filter(|q| q.name == "torch").all(|q| {
                crate::compat::check_torch_locked(variant, &q.version, &torch_deps(lock)).is_ok()
            }),
            None => true,
        },
        Err(_) => false,
    }
}

/// Names of the packages torch pulls in, for the variant check.
fn torch_deps(lock: &Lockfile) -> Vec<String> {
    lock.pip
        .iter()
        .filter(|p| p.via.iter().any(|v| v == "torch"))
        .map(|p| p.name.clone())
        .collect()
}

/// Resolve `[python]`, `[framework]` and pip requirements into `new`.
fn lock_pip(
    config: &Config,
    manifest: &Manifest,
    old: Option<&Lockfile>,
    new: &mut Lockfile,
    upgrade: Option<BTreeSet<String>>,
) -> anyhow::Result<()> {
    use crate::resolve::pip::{self, PipRequest, plan};
    let compat = manifest.compat();
    let base = new
        .image("base")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("pip packages need a base image"))?;
    // The base's distribution decides the interpreter and the glibc level;
    // an unchanged base keeps the recorded answer (no registry reads).
    let python = match old.filter(|l| l.image("base").is_some_and(|b| b.digest == base.digest)) {
        Some(l)
            if l.python.as_ref().is_some_and(|p| {
                manifest
                    .python
                    .as_ref()
                    .is_none_or(|m| plan::major_minor(&m.version) == p.version)
            }) =>
        {
            l.python.clone().expect("checked above")
        }
        _ => plan::python_environment(config, manifest, &base, &compat)?,
    };
    let the_plan = plan::plan(manifest, &compat, &python.version)?;
    let index_url = the_plan.default_index.url.clone();
    let uv_bin = pip::uv::locate(config, &index_url)?;
    let request = PipRequest {
        requirements: the_plan.requirements.clone(),
        default_index: the_plan.default_index.clone(),
        indexes: the_plan.indexes.clone(),
        python: plan::parse_pair(&python.version)?,
        glibc: plan::parse_pair(&python.glibc)?,
        platforms: manifest.project.platforms.clone(),
        preferences: old.map(|l| l.pip.clone()).unwrap_or_default(),
        upgrade,
    };
    let pins = pip::resolve(config, &uv_bin, &request)?;
    new.python = Some(python);
    new.pip = pins;
    if let Some(variant) = &the_plan.torch {
        let deps = torch_deps(new);
        for t in new.pip.iter().filter(|p| p.name == "torch") {
            crate::compat::check_torch_locked(variant, &t.version, &deps).map_err(|e| {
                hinted(
                    format!("the resolution locked torch {}, which is not the intended build: {e}", t.version),
                    "check [cuda] version and the index mirrors; mlr never accepts a silent CPU or wrong-CUDA torch",
                )
            })?;
        }
    }
    Ok(())
}

fn report(
    config: &Config,
    format: Format,
    changes: &[Change],
    changed: bool,
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Report<'a> {
                changed: bool,
                changes: &'a [Change],
            }
            let json = serde_json::to_string_pretty(&Report { changed, changes })?;
            crate::error::print_stdout(&format!("{json}\n"))?;
        }
        Format::Text => {
            for c in changes {
                let verb = match c.action {
                    "Added" => "Would add",
                    "Removed" => "Would remove",
                    _ => "Would update",
                };
                config.shell.status(verb, c.to_string());
            }
        }
    }
    Ok(())
}

fn is_conflict(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<crate::error::FileError>()
            .is_some_and(|f| f.message.contains("merge conflict marker"))
    })
}

fn image_requests(manifest: &Manifest) -> anyhow::Result<Vec<ImageRequest>> {
    Ok(crate::resolve::image::wanted_images(manifest)?
        .into_iter()
        .map(|(name, reference, confirm_tag)| ImageRequest {
            name: name.into(),
            reference,
            platforms: manifest.project.platforms.clone(),
            confirm_tag,
        })
        .collect())
}

fn git_requests(manifest: &Manifest) -> Vec<GitRequest> {
    manifest
        .git
        .iter()
        .map(|(name, source)| GitRequest {
            name: name.clone(),
            source: source.clone(),
        })
        .collect()
}

fn check_update_names(
    manifest: &Manifest,
    names: &BTreeSet<String>,
    old_pip_names: &[String],
) -> anyhow::Result<()> {
    let known: Vec<String> = crate::resolve::image::wanted_images(manifest)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, _, _)| name.to_string())
        .chain(manifest.git.keys().cloned())
        .chain(
            crate::resolve::pip::plan::manifest_requests(manifest)
                .iter()
                .map(|r| crate::resolve::pip::requirement_name(r)),
        )
        .chain(old_pip_names.iter().cloned())
        .chain(
            super::lock_apt::apt_requests(manifest)
                .iter()
                .map(|r| r.split('=').next().unwrap_or(r).to_string()),
        )
        .collect();
    for n in names {
        if !known.contains(n) && !known.contains(&crate::resolve::pip::normalize(n)) {
            return Err(hinted(
                format!("`--update {n}`: ml.toml has no entry named `{n}`"),
                if known.is_empty() {
                    "there is nothing to update".to_string()
                } else {
                    format!("entries: {}", known.join(", "))
                },
            ));
        }
    }
    Ok(())
}

/// What changed between two locks, for the summary.
pub fn changes(old: Option<&Lockfile>, new: &Lockfile) -> Vec<Change> {
    let empty = Lockfile::default();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    let short = |s: &str| {
        s.trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect::<String>()
    };
    for n in &new.images {
        match old.image(&n.name) {
            None => out.push(Change {
                action: "Added",
                kind: "image",
                name: n.name.clone(),
                from: None,
                to: Some(format!("{} @ {}", n.requested, short(&n.digest))),
            }),
            Some(o)
                if o.digest != n.digest
                    || o.requested != n.requested
                    || o.platforms != n.platforms =>
            {
                out.push(Change {
                    action: "Updated",
                    kind: "image",
                    name: n.name.clone(),
                    from: Some(format!("{} @ {}", o.requested, short(&o.digest))),
                    to: Some(format!("{} @ {}", n.requested, short(&n.digest))),
                })
            }
            _ => {}
        }
    }
    for o in &old.images {
        if new.image(&o.name).is_none() {
            out.push(Change {
                action: "Removed",
                kind: "image",
                name: o.name.clone(),
                from: Some(o.requested.clone()),
                to: None,
            });
        }
    }
    for n in &new.git {
        match old.git_pin(&n.name) {
            None => out.push(Change {
                action: "Added",
                kind: "git",
                name: n.name.clone(),
                from: None,
                to: Some(format!("{} ({})", short(&n.commit), n.requested)),
            }),
            Some(o) if o.commit != n.commit || o.url != n.url || o.requested != n.requested => out
                .push(Change {
                    action: "Updated",
                    kind: "git",
                    name: n.name.clone(),
                    from: Some(format!("{} ({})", short(&o.commit), o.requested)),
                    to: Some(format!("{} ({})", short(&n.commit), n.requested)),
                }),
            _ => {}
        }
    }
    package_changes(
        "pip",
        old.pip
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str())),
        new.pip
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str())),
        &mut out,
    );
    package_changes(
        "apt",
        old.apt
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str())),
        new.apt
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str())),
        &mut out,
    );
    for o in &old.git {
        if new.git_pin(&o.name).is_none() {
            out.push(Change {
                action: "Removed",
                kind: "git",
                name: o.name.clone(),
                from: Some(short(&o.commit)),
                to: None,
            });
        }
    }
    out
}

/// Each name's versions, in the order first seen.
fn versions_by_name<'a>(
    pins: impl Iterator<Item = (&'a str, &'a str)>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut m: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (name, version) in pins {
        let v = m.entry(name.to_string()).or_default();
        if !v.iter().any(|x| x == version) {
            v.push(version.to_string());
        }
    }
    m
}

/// `Updated pip numpy 1.26.3 → 1.26.4`, `Added …`, `Removed …` for one
/// kind of package pin, given each lock's `(name, version)` pairs (several
/// versions of one name, one per platform or architecture, are joined).
fn package_changes<'a>(
    kind: &'static str,
    old: impl Iterator<Item = (&'a str, &'a str)>,
    new: impl Iterator<Item = (&'a str, &'a str)>,
    out: &mut Vec<Change>,
) {
    let (o, n) = (versions_by_name(old), versions_by_name(new));
    for (name, nv) in &n {
        match o.get(name) {
            None => out.push(Change {
                action: "Added",
                kind,
                name: name.clone(),
                from: None,
                to: Some(nv.join(", ")),
            }),
            Some(ov) if ov != nv => out.push(Change {
                action: "Updated",
                kind,
                name: name.clone(),
                from: Some(ov.join(", ")),
                to: Some(nv.join(", ")),
            }),
            _ => {}
        }
    }
    for (name, ov) in &o {
        if !n.contains_key(name) {
            out.push(Change {
                action: "Removed",
                kind,
                name: name.clone(),
                from: Some(ov.join(", ")),
                to: None,
            });
        }
    }
}
