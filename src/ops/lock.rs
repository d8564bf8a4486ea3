//! `mlr lock`: keep every pin that still satisfies `ml.toml`, resolve the
//! rest, and write `ml.lock` only when its canonical text changes.

use std::collections::BTreeSet;

use anyhow::Context;
use serde::Serialize;

use super::{Format, Workspace, drift, stale_lock};
use crate::config::Config;
use crate::error::{ErrorKind, HintExt, hinted, or_kind};
use crate::lock::diff::{Change, diff};
use crate::lock::read::ReadLock;
use crate::lock::satisfies::{Kind, satisfies_requests, torch_dependencies};
use crate::lock::{Finding, Lockfile, render};
use crate::manifest::Manifest;
use crate::requests::{GitRequest, ImageRequest, Requests};
use crate::resolve::Source;
use crate::resolve::git::GitResolver;
use crate::resolve::image::ImageResolver;
use crate::resolve::interpreter::Planned;

use super::lock_apt::ImplicitPython;

/// Read the base image (unless the old lock's interpreter still fits the
/// same base) and choose the interpreter.
fn plan_interpreter(
    config: &Config,
    manifest: &Manifest,
    new: &Lockfile,
    old: Option<&Lockfile>,
) -> anyhow::Result<Planned> {
    let base = new
        .image("base")
        .ok_or_else(|| anyhow::anyhow!("pip packages need a base image"))?;
    let same_base = old
        .and_then(|l| l.image("base"))
        .is_some_and(|b| b.digest == base.digest);
    let previous = old.and_then(|l| l.python.as_ref()).filter(|_| same_base);
    crate::resolve::interpreter::plan(manifest, previous, || {
        crate::resolve::pip::plan::inspect_base(config, base)
    })
}

/// How `mlr lock` may treat `ml.lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Resolve and write.
    Write,
    /// Resolve, write nothing, exit 1 if the lock would change.
    Check,
    /// Fail with exit 1 instead of changing the lock (no resolution).
    Locked,
    /// `Locked`, offline (`--frozen`).
    Frozen,
}

#[derive(Debug, Clone)]
pub struct LockOptions {
    pub mode: LockMode,
    /// `None`: minimal change. `Some(empty)`: re-resolve everything.
    /// `Some(names)`: re-resolve those entries only.
    pub update: Option<Vec<String>>,
    pub format: Format,
}

pub fn run(ws: &Workspace, config: &Config, options: &LockOptions) -> anyhow::Result<()> {
    if options.mode == LockMode::Write {
        // A run killed while writing left its temporary file; this run may
        // write nothing, so it is removed here rather than on the next write.
        crate::atomic_file::remove_stale(&ws.lock_path);
    }
    let manifest = ws.manifest()?;
    let requests = Requests::of(&manifest);
    crate::resolve::pip::plan::check_framework(&manifest, &manifest.compat())?;

    let existing = match ws.lock() {
        Ok(l) => l,
        Err(e)
            if crate::error::kind_of(&e) == ErrorKind::LockConflict
                && options.mode == LockMode::Write =>
        {
            config.shell.warn(format!(
                "{} has merge conflicts; re-resolving it from {}",
                ws.lock_display, ws.manifest_display
            ));
            None
        }
        // A lock mlr would never write (a value outside its grammar):
        // nothing in it is trusted, so everything is resolved again.
        Err(e)
            if crate::error::kind_of(&e) == ErrorKind::LockInvalid
                && options.mode == LockMode::Write =>
        {
            config.shell.warn(format!(
                "{e}; re-resolving {} from {}",
                ws.lock_display, ws.manifest_display
            ));
            None
        }
        Err(e) => return Err(e),
    };
    let read: Option<&ReadLock> = existing.as_ref().map(|(_, r)| r);
    let old: Option<&Lockfile> = read.map(|r| &r.lock);
    let old_text = existing.as_ref().map(|(t, _)| t.replace("\r\n", "\n"));
    // The one staleness check: what it names is resolved again.
    let findings: Vec<Finding> = read
        .map(|r| satisfies_requests(&manifest, &requests, r))
        .unwrap_or_default();
    let stale = |kind: Kind, name: Option<&str>| {
        findings
            .iter()
            .any(|f| f.kind() == Some(kind) && name.is_none_or(|n| f.name() == Some(n)))
    };

    let update: Option<BTreeSet<String>> = options
        .update
        .as_ref()
        .map(|names| names.iter().cloned().collect());
    if let Some(names) = &update {
        check_update_names(&requests, names, old)?;
    }
    let wants_update = |name: &str| {
        update
            .as_ref()
            .is_some_and(|u| u.is_empty() || u.contains(name))
    };

    // Decide what must be resolved before touching the network.
    let image_requests: &[ImageRequest] = match &requests.images {
        Ok(images) => images,
        Err(e) => return Err(hinted(ErrorKind::Manifest, e.to_string(), e.hint())),
    };
    let keep_image = |r: &ImageRequest| {
        old.and_then(|l| l.image(&r.name))
            .filter(|_| !wants_update(&r.name) && !stale(Kind::Image, Some(&r.name)))
            .cloned()
    };
    let keep_git = |r: &GitRequest| {
        old.and_then(|l| l.git_pin(&r.name))
            .filter(|_| !wants_update(&r.name) && !stale(Kind::Git, Some(&r.name)))
            .cloned()
    };
    let base_kept = image_requests.iter().all(|r| keep_image(r).is_some());
    let pip_update = named_update(update.as_ref(), |n| {
        let n = crate::package_name::normalize(n);
        old.is_some_and(|l| l.pip.iter().any(|p| p.name == n))
            .then_some(n)
    });
    let pip_wanted = requests.wants_python();
    let keep_pip = pip_wanted
        && base_kept
        && pip_update.is_none()
        && old.is_some_and(|l| l.python.is_some())
        && !stale(Kind::Pip, None)
        && !stale(Kind::Python, None);
    // pip packages may need the distribution's Python pinned through apt.
    let apt_wanted = requests.wants_apt() || pip_wanted;
    let apt_update = named_update(update.as_ref(), |n| {
        old.is_some_and(|l| l.apt.iter().any(|p| p.name == n))
            .then(|| n.to_string())
    });
    // A new pip resolution decides the interpreter again, and with it any
    // Python apt pins for it: apt is resolved again too (minimal change).
    let keep_apt = apt_wanted
        && base_kept
        && apt_update.is_none()
        && old.is_some()
        && !stale(Kind::Apt, None)
        && (keep_pip || !pip_wanted);
    let to_resolve: Vec<String> = image_requests
        .iter()
        .filter(|r| keep_image(r).is_none())
        .map(|r| format!("image `{}`", r.name))
        .chain(
            requests
                .git
                .iter()
                .filter(|r| keep_git(r).is_none())
                .map(|r| format!("git `{}`", r.name)),
        )
        .chain((pip_wanted && !keep_pip).then(|| "pip packages".to_string()))
        .chain((apt_wanted && !keep_apt).then(|| "apt packages".to_string()))
        .collect();

    if let LockMode::Locked | LockMode::Frozen = options.mode {
        let flag = match options.mode {
            LockMode::Frozen => "--frozen",
            _ => "--locked",
        };
        let hint = format!("run `mlr lock` without {flag} and commit the result");
        let Some(read) = read else {
            return Err(drift(format!(
                "{0} needs to be updated, but {flag} was passed to prevent this ({0} does not exist)",
                ws.lock_display
            )))
            .hint(hint);
        };
        if !findings.is_empty() || read.non_canonical_line.is_some() || update.is_some() {
            let mut headline = format!(
                "{} needs to be updated, but {flag} was passed to prevent this",
                ws.lock_display
            );
            if let Some(line) = read.non_canonical_line {
                headline.push_str(&format!(
                    "\n  not canonical: {}:{line} differs from what `mlr lock` writes",
                    ws.lock_display
                ));
            }
            if findings.is_empty() && update.is_some() {
                headline.push_str(&format!(
                    "\n  --update asks to resolve {}",
                    to_resolve.join(", ")
                ));
            }
            return Err(stale_lock(&headline, &findings)).hint(hint);
        }
        config
            .shell
            .status("Checked", format!("{} is up to date", ws.lock_display));
        return Ok(());
    }

    if config.offline && !to_resolve.is_empty() {
        return Err(hinted(
            ErrorKind::Usage,
            format!("cannot resolve {} in offline mode", to_resolve.join(", ")),
            "run `mlr lock` without --offline",
        ));
    }

    let mut new = Lockfile::new(manifest.fingerprint());
    new.dockerignore = manifest
        .image
        .dockerignore
        .as_ref()
        .map(|d| d.sha256.clone());
    let mut phases = Phases::start();
    let images = ImageResolver { config };
    for r in image_requests {
        let pin = match keep_image(r) {
            Some(p) => p,
            None => images
                .resolve(r)
                .map_err(|e| or_kind(e, ErrorKind::Resolution))?,
        };
        new.images.push(pin);
    }
    phases.done("images");
    let git = GitResolver {
        config,
        root: &ws.root,
    };
    for r in &requests.git {
        let pin = match keep_git(r) {
            Some(p) => p,
            None => git
                .resolve(r)
                .map_err(|e| or_kind(e, ErrorKind::Resolution))?,
        };
        new.git.push(pin);
    }
    // The interpreter is decided before apt, which may pin the
    // distribution's Python for it.
    phases.done("git");
    let interpreter = if pip_wanted && !keep_pip {
        Some(
            plan_interpreter(config, &manifest, &new, old)
                .map_err(|e| or_kind(e, ErrorKind::Resolution))?,
        )
    } else {
        None
    };
    phases.done("interpreter");
    let mut distro_python = None;
    let implicit = interpreter
        .as_ref()
        .map_or(ImplicitPython::None, |i| i.implicit_apt());
    if apt_wanted {
        match old.filter(|_| keep_apt) {
            Some(l) => new.apt = l.apt.clone(),
            None => {
                // Kept pip pins keep their build tools; new ones are only
                // known once pip is resolved (below).
                let build_tools = old
                    .filter(|_| keep_pip)
                    .map(Lockfile::build_apt_requests)
                    .unwrap_or_default();
                distro_python = super::lock_apt::lock_apt(
                    config,
                    &manifest,
                    &requests,
                    old,
                    &mut new,
                    apt_update.as_ref(),
                    super::lock_apt::Implicit {
                        python: &implicit,
                        build_tools: &build_tools,
                    },
                )
                .map_err(|e| or_kind(e, ErrorKind::Resolution))?
            }
        }
    }
    phases.done("apt");
    if pip_wanted {
        match old.filter(|_| keep_pip) {
            Some(l) => {
                new.python = l.python.clone();
                new.pip = l.pip.clone();
                new.pip_build = l.pip_build.clone();
                new.build_constraints = l.build_constraints.clone();
                new.base_python = l.base_python.clone();
            }
            None => {
                let interpreter = interpreter.expect("planned when pip is resolved");
                let (python, base) = interpreter
                    .settle(config, &manifest, distro_python)
                    .map_err(|e| or_kind(e, ErrorKind::Resolution))?;
                // A pin whose values disagree is no preference.
                let inconsistent: Vec<&str> = findings
                    .iter()
                    .filter(|f| {
                        matches!(
                            f,
                            Finding::Inconsistent {
                                kind: Kind::Pip,
                                ..
                            }
                        )
                    })
                    .filter_map(Finding::name)
                    .collect();
                let preferences: Vec<crate::lock::PipPin> = old
                    .map(|l| {
                        l.pip
                            .iter()
                            .filter(|p| !inconsistent.contains(&p.name.as_str()))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                lock_pip(
                    config,
                    &manifest,
                    &ws.root,
                    old,
                    python,
                    base,
                    preferences,
                    &mut new,
                    pip_update,
                )
                .map_err(|e| or_kind(e, ErrorKind::Resolution))?;
                phases.done("pip");
                // Packages built from source: apt again, with the compilers
                // (pinned) for the stage that builds them.
                let build_tools = new.build_apt_requests();
                if !build_tools.is_empty() {
                    super::lock_apt::lock_apt(
                        config,
                        &manifest,
                        &requests,
                        old,
                        &mut new,
                        apt_update.as_ref(),
                        super::lock_apt::Implicit {
                            python: &implicit,
                            build_tools: &build_tools,
                        },
                    )
                    .map_err(|e| or_kind(e, ErrorKind::Resolution))?;
                    phases.done("compilers");
                }
            }
        }
    }
    phases.report(config);
    // Not resolved: what the requirement files were when the pins were.
    new.requirement_file = manifest
        .pip
        .iter()
        .flat_map(|p| &p.files)
        .map(|f| crate::lock::RequirementFilePin {
            path: f.path.clone(),
            sha256: f.sha256.clone(),
        })
        .collect();
    new.sort();
    let text = render(&new);
    let changes = diff(old, &new);
    let changed = old_text.as_deref() != Some(text.as_str());

    match options.mode {
        LockMode::Check => {
            report(config, options.format, &changes, changed)?;
            if changed || !findings.is_empty() {
                return Err(stale_lock(
                    &format!("{} is out of date", ws.lock_display),
                    &findings,
                ))
                .hint("run `mlr lock` and commit the result");
            }
            config
                .shell
                .status("Checked", format!("{} is up to date", ws.lock_display));
            Ok(())
        }
        _ => {
            // Nothing is said to be done before it is: the changes are
            // reported once the new lock is in place.
            if changed {
                crate::atomic_file::write(&ws.lock_path, &text)
                    .with_context(|| format!("writing {}", ws.lock_display))?;
            }
            for c in &changes {
                config.shell.status(c.action.done(), c.to_string());
            }
            if changed {
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

/// How long each phase of one `mlr lock` took, reported under `-v`
/// (`Timing images 0.41s, git 0.00s, …`): where a slow lock spends it.
struct Phases {
    last: std::time::Instant,
    start: std::time::Instant,
    took: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    fn start() -> Phases {
        let now = std::time::Instant::now();
        Phases {
            last: now,
            start: now,
            took: Vec::new(),
        }
    }

    /// Phase `name` ended now.
    fn done(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.took.push((name, now - self.last));
        self.last = now;
    }

    fn report(&self, config: &Config) {
        let phases: Vec<String> = self
            .took
            .iter()
            .map(|(name, d)| format!("{name} {:.2}s", d.as_secs_f64()))
            .collect();
        config.shell.verbose(
            "Timing",
            format!(
                "{} (resolving {:.2}s)",
                phases.join(", "),
                self.start.elapsed().as_secs_f64()
            ),
        );
    }
}

/// The names `--update` gives for one kind: `None` when it names none of
/// them; `Some(empty)` for a bare `--update` (everything).
fn named_update(
    update: Option<&BTreeSet<String>>,
    of_kind: impl Fn(&str) -> Option<String>,
) -> Option<BTreeSet<String>> {
    let u = update?;
    if u.is_empty() {
        return Some(BTreeSet::new());
    }
    let names: BTreeSet<String> = u.iter().filter_map(|n| of_kind(n)).collect();
    (!names.is_empty()).then_some(names)
}

/// Resolve `[framework]` and pip requirements for the settled
/// interpreter into `new`.
#[allow(clippy::too_many_arguments)]
fn lock_pip(
    config: &Config,
    manifest: &Manifest,
    root: &std::path::Path,
    old: Option<&Lockfile>,
    python: crate::lock::PythonPin,
    base: Vec<crate::resolve::pip::BaseDistribution>,
    preferences: Vec<crate::lock::PipPin>,
    new: &mut Lockfile,
    upgrade: Option<BTreeSet<String>>,
) -> anyhow::Result<()> {
    use crate::resolve::pip::{self, PipRequest, plan};
    let compat = manifest.compat();
    let the_plan = plan::plan(manifest, &compat, &python.version)?;
    let index_url = the_plan.default_index.url.clone();
    let uv_bin = pip::uv::locate(config, &index_url)?;
    let mut requirements = the_plan.requirements.clone();
    let sources =
        pip::sources::pin_sources(config, root, &mut requirements, old, upgrade.as_ref())?;
    let request = PipRequest {
        requirements,
        default_index: the_plan.default_index.clone(),
        indexes: the_plan.indexes.clone(),
        python: plan::parse_pair(&python.version)?,
        glibc: plan::parse_pair(&python.glibc)?,
        platforms: manifest.project.platforms.clone(),
        preferences,
        upgrade,
        base,
        constraints: manifest
            .pip
            .as_ref()
            .map(|p| p.constraints.clone())
            .unwrap_or_default(),
        git: sources.git,
        paths: sources.paths,
    };
    // uv reads the copies while it resolves; they go once it is done.
    let _copies = sources.copies;
    let resolution = pip::resolve(config, &uv_bin, &request)?;
    let mut pins = resolution.pins;
    let build_constraints: Vec<String> = manifest
        .pip
        .as_ref()
        .map(|p| p.build_constraints.clone())
        .unwrap_or_default();
    new.pip_build = pip::sources::lock_build_requirements(
        config,
        root,
        &uv_bin,
        &request,
        &mut pins,
        old.map_or(&[][..], |l| l.pip_build.as_slice()),
        &build_constraints,
        &pip::index_credentials(manifest),
    )?;
    new.build_constraints = build_constraints;
    new.python = Some(python);
    new.pip = pins;
    new.base_python = resolution.base;
    if let Some(variant) = &the_plan.torch {
        let deps = torch_dependencies(new);
        for t in new.pip.iter().filter(|p| p.name == "torch") {
            crate::compat::check_torch_locked(variant, &t.version, &deps).map_err(|e| {
                hinted(ErrorKind::Resolution,
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
                config.shell.status(c.action.would(), c.to_string());
            }
        }
    }
    Ok(())
}

/// Every name in `--update` must name an entry of ml.toml or the lock.
fn check_update_names(
    requests: &Requests,
    names: &BTreeSet<String>,
    old: Option<&Lockfile>,
) -> anyhow::Result<()> {
    let mut known: Vec<String> = Vec::new();
    let locked = old.iter().flat_map(|l| {
        l.pip
            .iter()
            .map(|p| p.name.clone())
            .chain(l.apt.iter().map(|p| p.name.clone()))
    });
    for name in requests.entry_names().into_iter().chain(locked) {
        if !known.contains(&name) {
            known.push(name);
        }
    }
    for n in names {
        if !known.contains(n) && !known.contains(&crate::package_name::normalize(n)) {
            return Err(hinted(
                ErrorKind::Usage,
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
