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
    unsupported(&manifest, &ws.manifest_display)?;

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
        check_update_names(&manifest, names)?;
    }
    let wants_update = |name: &str| {
        update
            .as_ref()
            .is_some_and(|u| u.is_empty() || u.contains(name))
    };

    // Decide what must be resolved before touching the network.
    let image_requests = image_requests(&manifest);
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

/// Kinds this mlr cannot lock yet: refuse before any network call, so a
/// partial lock is never written.
fn unsupported(manifest: &Manifest, display: &str) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    if manifest.base.is_none() && manifest.cuda.is_some() {
        missing.push("`[cuda]` without `[base] image` (choosing an nvidia/cuda base)");
    }
    if manifest.python.is_some() {
        missing.push("`[python]`");
    }
    if manifest.framework.is_some() {
        missing.push("`[framework]`");
    }
    if manifest
        .pip
        .as_ref()
        .is_some_and(|p| !p.packages.is_empty() || !p.indexes.is_empty() || p.index_url.is_some())
        || manifest.profiles.values().any(|p| !p.pip.is_empty())
    {
        missing.push("pip packages");
    }
    if manifest
        .apt
        .as_ref()
        .is_some_and(|a| !a.packages.is_empty() || a.snapshot.is_some())
        || manifest.profiles.values().any(|p| !p.apt.is_empty())
    {
        missing.push("apt packages");
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(hinted(
        format!(
            "{display} uses {}, which this version of mlr cannot lock yet",
            missing.join(", ")
        ),
        "this mlr locks `[base] image` and `[git.*]` sources; remove the other tables for now",
    ))
}

fn image_requests(manifest: &Manifest) -> Vec<ImageRequest> {
    manifest
        .base
        .iter()
        .map(|b| ImageRequest {
            name: "base".into(),
            reference: b.image.clone(),
            platforms: manifest.project.platforms.clone(),
        })
        .collect()
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

fn check_update_names(manifest: &Manifest, names: &BTreeSet<String>) -> anyhow::Result<()> {
    let known: Vec<String> = manifest
        .base
        .iter()
        .map(|_| "base".to_string())
        .chain(manifest.git.keys().cloned())
        .collect();
    for n in names {
        if !known.contains(n) {
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
