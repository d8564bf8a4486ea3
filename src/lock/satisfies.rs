//! Is a lock still good for a manifest? The one staleness check, answered
//! offline and pure, source kind by source kind, from the requested values
//! stored beside each pin, plus the lock's internal consistency
//! ([`super::consistency`]) and the manifest fingerprint.
//!
//! `mlr lock` keeps exactly the pins no finding names and uses the findings
//! as its `--locked`/`--check` reasons; `verify`, `build` and `dockerfile`
//! report the same findings.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use super::read::ReadLock;
use super::{GitPin, ImagePin, Lockfile, PackagePin};
use crate::manifest::{GitSource, ImageRef, Manifest, Platform};
use crate::requests::{ImageRequest, PYTHON_APT_REQUEST, Requests};

/// The kind of a pinned thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Image,
    Python,
    Apt,
    Pip,
    /// A `[[pip-build]]` pin (a build requirement).
    #[serde(rename = "pip-build")]
    PipBuild,
    Git,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Image => "image",
            Kind::Python => "python",
            Kind::Apt => "apt",
            Kind::Pip => "pip",
            Kind::PipBuild => "pip-build",
            Kind::Git => "git",
        })
    }
}

/// One reason a lock does not satisfy a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum Finding {
    /// `ml.toml` asks for something the lock has no pin for.
    NewRequirement {
        kind: Kind,
        name: String,
        requested: String,
    },
    /// The lock pins something `ml.toml` no longer asks for.
    RemovedRequirement {
        kind: Kind,
        name: String,
        locked: String,
    },
    /// The requirement changed and its pin no longer satisfies it.
    NotSatisfied {
        kind: Kind,
        name: String,
        requested: String,
        locked: String,
    },
    /// Two values of one entry disagree (a hand edit): `ml.lock:LINE:COL`
    /// of the value that disagrees.
    Inconsistent {
        kind: Kind,
        name: String,
        location: String,
        detail: String,
    },
    /// A file the manifest reads (a pip requirement file) is not the one
    /// the pins were resolved from: `None` when it was not read then, or is
    /// no longer read now.
    FileChanged {
        kind: Kind,
        path: String,
        locked: Option<String>,
        current: Option<String>,
    },
    /// The `.dockerignore` that `[image] copy` applies differs from the
    /// one the lock was made with (`None`: there was, or is, none).
    DockerignoreChanged {
        locked: Option<String>,
        current: Option<String>,
    },
    /// The normalized manifest differs from the one the lock was made from.
    FingerprintChanged { locked: String, current: String },
}

impl Finding {
    /// The source kind whose pins this finding invalidates (`None`: only
    /// the fingerprint, which `mlr lock` fixes without resolving).
    pub fn kind(&self) -> Option<Kind> {
        match self {
            Finding::NewRequirement { kind, .. }
            | Finding::RemovedRequirement { kind, .. }
            | Finding::NotSatisfied { kind, .. }
            | Finding::FileChanged { kind, .. }
            | Finding::Inconsistent { kind, .. } => Some(*kind),
            Finding::DockerignoreChanged { .. } | Finding::FingerprintChanged { .. } => None,
        }
    }

    /// The entry's name, for findings about one entry.
    pub fn name(&self) -> Option<&str> {
        match self {
            Finding::NewRequirement { name, .. }
            | Finding::RemovedRequirement { name, .. }
            | Finding::NotSatisfied { name, .. }
            | Finding::FileChanged { path: name, .. }
            | Finding::Inconsistent { name, .. } => Some(name),
            Finding::DockerignoreChanged { .. } | Finding::FingerprintChanged { .. } => None,
        }
    }

    /// `stale` or `inconsistent`: the word every command prints first.
    pub fn label(&self) -> &'static str {
        match self {
            Finding::Inconsistent { .. } => "inconsistent",
            _ => "stale",
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::NewRequirement {
                kind,
                name,
                requested,
            } => write!(
                f,
                "{kind} `{name}`: new requirement `{requested}` is not in the lock"
            ),
            Finding::RemovedRequirement { kind, name, locked } => write!(
                f,
                "{kind} `{name}`: locked as `{locked}` but no longer in ml.toml"
            ),
            Finding::NotSatisfied {
                kind,
                name,
                requested,
                locked,
            } => write!(
                f,
                "{kind} `{name}`: requirement `{requested}` is not satisfied by the lock (`{locked}`)"
            ),
            Finding::Inconsistent {
                kind,
                name,
                location,
                detail,
            } => write!(f, "{location}: {kind} `{name}`: {detail}"),
            Finding::FileChanged {
                kind,
                path,
                locked,
                current,
            } => {
                let hash = |h: &Option<String>| {
                    h.as_deref()
                        .map_or(String::new(), |h| h.chars().take(12).collect())
                };
                match (locked, current) {
                    (Some(_), Some(_)) => write!(
                        f,
                        "{kind} requirement file `{path}` changed since the lock was written (sha256 {} → {})",
                        hash(locked),
                        hash(current)
                    ),
                    (None, _) => write!(
                        f,
                        "{kind} requirement file `{path}` is new since the lock was written"
                    ),
                    (_, None) => write!(f, "{kind} requirement file `{path}` is no longer read"),
                }
            }
            Finding::DockerignoreChanged { locked, current } => match (locked, current) {
                (Some(locked), Some(current)) => write!(
                    f,
                    ".dockerignore changed since the lock was written (patterns {} → {})",
                    short(locked),
                    short(current)
                ),
                (None, _) => write!(
                    f,
                    ".dockerignore applies to `[image] copy` but the lock was written without it"
                ),
                (Some(locked), None) => write!(
                    f,
                    "the lock was written with a .dockerignore (patterns {}) that no longer applies",
                    short(locked)
                ),
            },
            Finding::FingerprintChanged { locked, current } => write!(
                f,
                "ml.toml changed since the lock was written (fingerprint {} → {})",
                short(locked),
                short(current)
            ),
        }
    }
}

/// The first characters of a fingerprint, cut on a character boundary.
fn short(fp: &str) -> String {
    fp.chars().take("sha256:".len() + 12).collect()
}

/// Every reason `lock` does not satisfy `manifest`; empty when it does.
/// Requirement findings come first, sorted by kind and name; a changed
/// `.dockerignore`, then a changed fingerprint, are reported last.
pub fn satisfies(manifest: &Manifest, lock: &ReadLock) -> Vec<Finding> {
    satisfies_requests(manifest, &Requests::of(manifest), lock)
}

/// [`satisfies`] for requests already derived from `manifest`.
pub fn satisfies_requests(
    manifest: &Manifest,
    requests: &Requests,
    read: &ReadLock,
) -> Vec<Finding> {
    let lock = &read.lock;
    let mut findings = Vec::new();
    images(requests, lock, &mut findings);
    git(requests, lock, &mut findings);
    apt(manifest, requests, lock, &mut findings);
    pip(manifest, requests, lock, &mut findings);
    findings.extend(super::consistency::check(read));
    findings.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    findings.dedup();
    let dockerignore = manifest.image.dockerignore.as_ref().map(|d| &d.sha256);
    if dockerignore != lock.dockerignore.as_ref() {
        findings.push(Finding::DockerignoreChanged {
            locked: lock.dockerignore.clone(),
            current: dockerignore.cloned(),
        });
    }
    let current = manifest.fingerprint();
    if current != lock.fingerprint {
        findings.push(Finding::FingerprintChanged {
            locked: lock.fingerprint.clone(),
            current,
        });
    }
    findings
}

fn sort_key(f: &Finding) -> (Option<Kind>, &str) {
    (f.kind(), f.name().unwrap_or(""))
}

/// The base image (`[base] image`, or the tag `[cuda]` picks) and the
/// CUDA builder image source builds need.
fn images(requests: &Requests, lock: &Lockfile, out: &mut Vec<Finding>) {
    let wanted = match &requests.images {
        Err(e) => {
            out.push(Finding::NotSatisfied {
                kind: Kind::Image,
                name: "base".into(),
                requested: e.to_string(),
                locked: lock
                    .image("base")
                    .map_or_else(|| "nothing".to_string(), |p| p.requested.clone()),
            });
            return;
        }
        Ok(wanted) => wanted,
    };
    for request in wanted {
        match lock.image(&request.name) {
            Some(pin) => {
                if let Err((requested, locked)) = image_satisfies(request, pin) {
                    out.push(Finding::NotSatisfied {
                        kind: Kind::Image,
                        name: request.name.clone(),
                        requested,
                        locked,
                    });
                }
            }
            None => out.push(Finding::NewRequirement {
                kind: Kind::Image,
                name: request.name.clone(),
                requested: request.reference.to_string(),
            }),
        }
    }
    for pin in &lock.images {
        if !wanted.iter().any(|r| r.name == pin.name) {
            out.push(Finding::RemovedRequirement {
                kind: Kind::Image,
                name: pin.name.clone(),
                locked: format!("{}@{}", pin.requested, pin.digest),
            });
        }
    }
}

/// Whether an image pin satisfies a request on its platforms.
/// On failure: (what is requested, what is locked).
fn image_satisfies(request: &ImageRequest, pin: &ImagePin) -> Result<(), (String, String)> {
    let wanted = &request.reference;
    let locked_ref = ImageRef::parse(&pin.requested).ok();
    let same_ref = locked_ref.as_ref() == Some(wanted)
        && wanted.registry == pin.registry
        && wanted.repository == pin.repository;
    let digest_ok = wanted.digest.as_ref().is_none_or(|d| *d == pin.digest);
    if !same_ref || !digest_ok {
        return Err((
            wanted.to_string(),
            format!("{}@{}", pin.requested, pin.digest),
        ));
    }
    let mut want: Vec<String> = request.platforms.iter().map(Platform::to_string).collect();
    want.sort();
    let have: Vec<String> = pin.platforms.iter().map(|p| p.platform.clone()).collect();
    if want != have {
        return Err((
            format!("{wanted} for {}", want.join(", ")),
            format!("{} for {}", pin.requested, have.join(", ")),
        ));
    }
    Ok(())
}

/// Git sources: the same URL and rev.
fn git(requests: &Requests, lock: &Lockfile, out: &mut Vec<Finding>) {
    for request in &requests.git {
        let source = &request.source;
        match lock.git_pin(&request.name) {
            None => out.push(Finding::NewRequirement {
                kind: Kind::Git,
                name: request.name.clone(),
                requested: format!("{}#{}", source.url, source.rev),
            }),
            Some(pin) if !git_satisfies(source, pin) => out.push(Finding::NotSatisfied {
                kind: Kind::Git,
                name: request.name.clone(),
                requested: format!("{}#{}", source.url, source.rev),
                locked: format!("{}#{} ({})", pin.url, pin.requested, pin.commit),
            }),
            Some(_) => {}
        }
    }
    for pin in &lock.git {
        if !requests.git.iter().any(|r| r.name == pin.name) {
            out.push(Finding::RemovedRequirement {
                kind: Kind::Git,
                name: pin.name.clone(),
                locked: format!("{}#{}", pin.url, pin.commit),
            });
        }
    }
}

/// Whether a git pin satisfies a source: same URL and rev (a SHA rev must
/// prefix the pinned commit).
fn git_satisfies(source: &GitSource, pin: &GitPin) -> bool {
    if source.url != pin.url || source.rev != pin.requested {
        return false;
    }
    !is_hex_sha(&source.rev) || pin.commit.starts_with(&source.rev.to_ascii_lowercase())
}

/// A full or abbreviated (7+ hex digits) commit SHA.
pub fn is_hex_sha(rev: &str) -> bool {
    (7..=40).contains(&rev.len()) && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

/// apt: the direct requests as written, the implicit Python, the archive
/// (`[apt] sources`, `[apt] snapshot`) and every locked architecture.
fn apt(manifest: &Manifest, requests: &Requests, lock: &Lockfile, out: &mut Vec<Finding>) {
    let wanted: Vec<(&str, &str)> = requests
        .apt
        .iter()
        .map(|r| (r.name.as_str(), r.written.as_str()))
        .collect();
    let locked = direct_requests(Kind::Apt, &wanted, &lock.apt, out);

    // The distribution's Python: decided (against the base image) when
    // pip packages were locked; no implicit pin may outlive them.
    let implicit = lock
        .apt
        .iter()
        .any(|p| p.requested.is_none() && p.via.iter().any(|v| v == PYTHON_APT_REQUEST))
        && !requests.asks_apt(PYTHON_APT_REQUEST);
    if requests.wants_python() && lock.python.is_none() {
        out.push(Finding::NewRequirement {
            kind: Kind::Apt,
            name: PYTHON_APT_REQUEST.into(),
            requested: format!(
                "{PYTHON_APT_REQUEST} (for pip packages, unless the base has Python)"
            ),
        });
    } else if !requests.wants_python() && implicit {
        out.push(Finding::RemovedRequirement {
            kind: Kind::Apt,
            name: PYTHON_APT_REQUEST.into(),
            locked: format!("{PYTHON_APT_REQUEST} (for pip packages)"),
        });
    }

    // The compilers for packages built from source: none may outlive them.
    if lock.apt.iter().any(crate::lock::AptPin::build_only) && lock.build_apt_requests().is_empty()
    {
        out.push(Finding::RemovedRequirement {
            kind: Kind::Apt,
            name: crate::lock::BUILD_APT_REQUESTS[0].into(),
            locked: "the compilers for pip packages built from source".into(),
        });
    }

    let snapshot = lock.apt_snapshot();
    // Sources written in ml.toml: every live pin must come from one of them.
    let overridden: Vec<&str> = requests
        .apt_sources
        .iter()
        .map(|s| s.uri.as_str())
        .collect();
    if let (false, None) = (overridden.is_empty(), snapshot) {
        if let Some(p) = lock
            .apt
            .iter()
            .find(|p| !overridden.contains(&p.source.as_str()))
        {
            out.push(Finding::NotSatisfied {
                kind: Kind::Apt,
                name: p.name.clone(),
                requested: format!("from [apt] sources ({})", overridden.join(", ")),
                locked: p.source.clone(),
            });
        }
    }
    let written = manifest.apt.as_ref().and_then(|a| a.snapshot.as_deref());
    match (written, snapshot) {
        (None, None) | (Some("auto"), Some(_)) => {}
        (Some(ts), Some(locked)) if ts == locked => {}
        (written, locked) if !lock.apt.is_empty() || requests.wants_apt() => {
            out.push(Finding::NotSatisfied {
                kind: Kind::Apt,
                name: "snapshot".into(),
                requested: written.unwrap_or("the live archive").to_string(),
                locked: locked.unwrap_or("the live archive").to_string(),
            })
        }
        _ => {}
    }
    // Every platform has each request pinned for its architecture (or
    // for all of them).
    let pinned_for: HashSet<(&str, &str)> = lock
        .apt
        .iter()
        .filter_map(|a| Some((a.requested.as_deref()?, a.architecture.as_str())))
        .collect();
    for platform in &requests.platforms {
        for r in &requests.apt {
            let pinned = [platform.architecture.as_str(), "all"]
                .iter()
                .any(|arch| pinned_for.contains(&(r.written.as_str(), *arch)));
            if !pinned && locked.contains(r.written.as_str()) {
                out.push(Finding::NotSatisfied {
                    kind: Kind::Apt,
                    name: r.name.clone(),
                    requested: format!("{} for {platform}", r.written),
                    locked: format!("no {} pin", platform.architecture),
                });
            }
        }
    }
}

/// pip: the direct requirements as written, the interpreter, every
/// platform's artifact, and the framework's CUDA build.
fn pip(manifest: &Manifest, requests: &Requests, lock: &Lockfile, out: &mut Vec<Finding>) {
    // A requirement whose marker is false for the locked interpreter has
    // no pin, and needs none (`oldpy; python_version < "3.0"`).
    let env = lock.python.as_ref().map(|p| {
        let machines: std::collections::BTreeSet<&str> = requests
            .platforms
            .iter()
            .filter_map(|p| crate::manifest::marker::python_machine(&p.architecture))
            .collect();
        crate::manifest::marker::MarkerEnv {
            python_version: p.version.clone(),
            machine: match machines.len() {
                1 => machines.first().map(|m| m.to_string()),
                _ => None,
            },
        }
    });
    let applies = |written: &str| {
        let marker = crate::manifest::pep508::Requirement::parse(written)
            .ok()
            .and_then(|r| r.marker);
        match (marker, &env) {
            (Some(m), Some(env)) => crate::manifest::marker::evaluate(&m, env) != Some(false),
            _ => true,
        }
    };
    let wanted: Vec<(&str, &str)> = requests
        .pip
        .iter()
        .filter(|r| applies(&r.written))
        .map(|r| (r.name.as_str(), r.written.as_str()))
        .collect();
    direct_requests(Kind::Pip, &wanted, &lock.pip, out);
    // Each requirement file as the pins were resolved from it.
    let files: &[crate::manifest::RequirementFile] =
        manifest.pip.as_ref().map_or(&[], |p| p.files.as_slice());
    for f in files {
        let locked = lock.requirement_file.iter().find(|l| l.path == f.path);
        if locked.is_none_or(|l| l.sha256 != f.sha256) {
            out.push(Finding::FileChanged {
                kind: Kind::Pip,
                path: f.path.clone(),
                locked: locked.map(|l| l.sha256.clone()),
                current: Some(f.sha256.clone()),
            });
        }
    }
    for l in &lock.requirement_file {
        if !files.iter().any(|f| f.path == l.path) {
            out.push(Finding::FileChanged {
                kind: Kind::Pip,
                path: l.path.clone(),
                locked: Some(l.sha256.clone()),
                current: None,
            });
        }
    }
    let Some(python) = lock.python.as_ref().filter(|_| requests.wants_python()) else {
        return;
    };
    if let Some(wanted) = manifest.python.as_ref().and_then(|p| p.version.as_deref()) {
        let wanted = major_minor(wanted);
        if wanted != python.version {
            out.push(Finding::NotSatisfied {
                kind: Kind::Python,
                name: "python".into(),
                requested: wanted,
                locked: python.version.clone(),
            });
        }
    }
    if python.interpreter == crate::manifest::PythonSource::Standalone {
        for platform in &requests.platforms {
            let platform = platform.to_string();
            if !python.downloads.iter().any(|d| d.platform == platform) {
                out.push(Finding::NotSatisfied {
                    kind: Kind::Python,
                    name: "python".into(),
                    requested: format!("a standalone CPython for {platform}"),
                    locked: "none".into(),
                });
            }
        }
    }
    if let Some(from) = manifest.python.as_ref().and_then(|p| p.source) {
        if from != python.interpreter {
            out.push(Finding::NotSatisfied {
                kind: Kind::Python,
                name: "python".into(),
                requested: format!("from = \"{}\"", from.as_str()),
                locked: format!("interpreter = \"{}\"", python.interpreter.as_str()),
            });
        }
    }
    for platform in &requests.platforms {
        let platform = platform.to_string();
        let covered: HashSet<&str> = lock
            .pip
            .iter()
            .filter(|q| {
                q.built() && q.artifacts.is_empty()
                    || q.artifacts.iter().any(|a| a.platform == platform)
            })
            .map(|q| q.name.as_str())
            .collect();
        for p in lock.pip.iter().filter(|p| p.requested.is_some()) {
            if !covered.contains(p.name.as_str()) {
                out.push(Finding::NotSatisfied {
                    kind: Kind::Pip,
                    name: p.name.clone(),
                    requested: format!("{} for {platform}", p.requested.as_deref().unwrap_or("")),
                    locked: format!("{} without a {platform} file", p.version),
                });
            }
        }
    }
    // The build environments follow `[pip] build-constraints`.
    let wanted: &[String] = manifest
        .pip
        .as_ref()
        .map_or(&[], |p| p.build_constraints.as_slice());
    if wanted != lock.build_constraints.as_slice() {
        let shown = |c: &[String]| match c {
            [] => "none".to_string(),
            c => c.join(", "),
        };
        out.push(Finding::NotSatisfied {
            kind: Kind::Pip,
            name: "build-constraints".into(),
            requested: shown(wanted),
            locked: shown(&lock.build_constraints),
        });
    }
    // A project directory as its tree was when locked.
    for p in &lock.pip {
        let Some(dir) = &p.path else { continue };
        let now = manifest
            .source_trees
            .iter()
            .find(|t| t.path == dir.path)
            .and_then(|t| t.sha256.as_deref());
        if now != Some(dir.sha256.as_str()) {
            let short = |h: &str| h.chars().take(12).collect::<String>();
            out.push(Finding::NotSatisfied {
                kind: Kind::Pip,
                name: p.name.clone(),
                requested: match now {
                    Some(h) => format!("./{} as it is now (tree {})", dir.path, short(h)),
                    None => format!("./{} (unreadable or no longer required)", dir.path),
                },
                locked: format!("tree {}", short(&dir.sha256)),
            });
        }
    }
    // What the image builds from source has its build environment locked
    // (locks made before mlr locked them have none).
    for p in lock.pip.iter().filter(|p| p.built()) {
        let missing = match &p.build_requires {
            None => Some("no locked build requirements".to_string()),
            Some(reqs) => reqs
                .iter()
                .find(|r| {
                    !lock
                        .pip_build
                        .iter()
                        .any(|b| format!("{}=={}", b.name, b.version) == **r)
                })
                .map(|r| format!("build requirement {r} without a [[pip-build]] pin")),
        };
        if let Some(locked) = missing {
            out.push(Finding::NotSatisfied {
                kind: Kind::Pip,
                name: p.name.clone(),
                requested: format!("{} {} built from source", p.name, p.version),
                locked,
            });
        }
    }
    // The framework's build follows [cuda]: a changed CUDA needs new wheels.
    let Some(torch) = manifest
        .framework
        .as_ref()
        .and_then(|f| f.packages.get("torch"))
    else {
        return;
    };
    let cuda = manifest.cuda.as_ref().map(|c| c.version.as_str());
    let variant = match manifest.compat().torch(torch, cuda, Some(&python.version)) {
        Ok(v) => v,
        Err(e) => {
            out.push(Finding::NotSatisfied {
                kind: Kind::Pip,
                name: "torch".into(),
                requested: format!("torch=={torch}: {}", e.message),
                locked: lock_versions(lock, "torch"),
            });
            return;
        }
    };
    let deps = torch_dependencies(lock);
    for t in lock.pip.iter().filter(|q| q.name == "torch") {
        if let Err(why) = crate::compat::check_torch_locked(&variant, &t.version, &deps) {
            out.push(Finding::NotSatisfied {
                kind: Kind::Pip,
                name: "torch".into(),
                requested: format!("torch=={torch} for {}", cuda.unwrap_or("the CPU")),
                locked: format!("{}: {why}", t.version),
            });
        }
    }
}

/// Names of the packages torch pulls in, for the build-variant check.
pub fn torch_dependencies(lock: &Lockfile) -> Vec<String> {
    lock.pip
        .iter()
        .filter(|p| p.via.iter().any(|v| v == "torch"))
        .map(|p| p.name.clone())
        .collect()
}

fn lock_versions(lock: &Lockfile, name: &str) -> String {
    let versions: Vec<&str> = lock
        .pip
        .iter()
        .filter(|p| p.name == name)
        .map(|p| p.version.as_str())
        .collect();
    if versions.is_empty() {
        "nothing".into()
    } else {
        versions.join(", ")
    }
}

/// `3.11.4` → `3.11`.
pub fn major_minor(v: &str) -> String {
    v.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// Direct requests compared as written: `(name, written)` wanted against
/// the `requested` values the pins record. Returns those values.
fn direct_requests<'a, P: PackagePin>(
    kind: Kind,
    wanted: &[(&str, &str)],
    pins: &'a [P],
    out: &mut Vec<Finding>,
) -> HashSet<&'a str> {
    let locked: HashSet<&str> = pins.iter().filter_map(P::requested).collect();
    let asked: HashSet<&str> = wanted.iter().map(|(_, w)| *w).collect();
    // One name asked for under several markers (`numpy<2; python_version <
    // "3.12"` beside `numpy>=2; python_version >= "3.12"`) has one pin,
    // which records one of them: any of them locked covers the others.
    let variant_locked = |name: &str| {
        let variants: Vec<&str> = wanted
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, w)| *w)
            .collect();
        variants.len() > 1 && variants.iter().any(|w| locked.contains(w))
    };
    for (name, written) in wanted {
        if !locked.contains(written) && !variant_locked(name) {
            out.push(Finding::NewRequirement {
                kind,
                name: (*name).to_string(),
                requested: (*written).to_string(),
            });
        }
    }
    for p in pins {
        match p.requested() {
            Some(l) if !asked.contains(l) => out.push(Finding::RemovedRequirement {
                kind,
                name: p.name().to_string(),
                locked: l.to_string(),
            }),
            _ => {}
        }
    }
    locked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{AptPin, PythonPin};

    fn manifest(extra: &str) -> Manifest {
        crate::manifest::parse(
            &format!("[base]\nimage = \"debian:12\"\n{extra}"),
            "ml.toml",
        )
        .expect("a valid manifest")
    }

    fn python_pin(name: &str, requested: Option<&str>) -> AptPin {
        AptPin {
            name: name.into(),
            version: "3.11.2-1+b1".into(),
            architecture: "amd64".into(),
            source: "http://deb.debian.org/debian".into(),
            suite: "bookworm".into(),
            component: "main".into(),
            filename: format!("pool/main/p/{name}/{name}_3.11.2-1+b1_amd64.deb"),
            sha256: "0".repeat(64),
            requested: requested.map(Into::into),
            via: vec![PYTHON_APT_REQUEST.into()],
        }
    }

    fn apt_findings(m: &Manifest, lock: &Lockfile) -> Vec<Finding> {
        let mut out = Vec::new();
        apt(m, &Requests::of(m), lock, &mut out);
        out
    }

    #[test]
    fn the_implicit_python_follows_the_pip_packages() {
        let pip = manifest("[pip]\npackages = [\"numpy\"]\n");
        let none = manifest("");
        let mut lock = Lockfile::new("sha256:x".into());
        lock.apt.push(python_pin("python3-venv", None));
        lock.python = Some(PythonPin::distro(
            "3.11".into(),
            "2.36".into(),
            "debian-12".into(),
        ));
        // pip packages and a lock that resolved Python for them: kept.
        assert_eq!(apt_findings(&pip, &lock), []);
        // No pip packages left: the Python pins must go.
        assert!(matches!(
            apt_findings(&none, &lock).as_slice(),
            [Finding::RemovedRequirement { kind: Kind::Apt, name, .. }] if name == PYTHON_APT_REQUEST
        ));
        // pip packages newly wanted by a lock without Python: resolve again.
        let mut bare = Lockfile::new("sha256:x".into());
        assert_eq!(apt_findings(&none, &bare), []);
        assert_eq!(apt_findings(&pip, &bare).len(), 1);
        // Asked for in ml.toml, python3-venv is an ordinary request.
        let asked = manifest("[apt]\npackages = [\"python3-venv\"]\n");
        bare.apt
            .push(python_pin("python3-venv", Some(PYTHON_APT_REQUEST)));
        assert_eq!(apt_findings(&asked, &bare), []);
    }

    #[test]
    fn a_dockerignore_is_compared_by_its_patterns_beside_the_fingerprint() {
        let mut m = manifest("[image]\ncopy = [{ src = \".\", dst = \"/app\" }]\n");
        let findings = |m: &Manifest, lock: &Lockfile| {
            let read = crate::lock::parse(&crate::lock::render(lock), "ml.lock").unwrap();
            // The base image is not locked here; that is beside the point.
            satisfies(m, &read)
                .into_iter()
                .filter(|f| f.kind() != Some(Kind::Image))
                .collect::<Vec<_>>()
        };
        let mut lock = Lockfile::new(m.fingerprint());
        assert_eq!(findings(&m, &lock), []);
        m.apply_dockerignore("*.log\n", ".dockerignore").unwrap();
        let recorded = m.image.dockerignore.as_ref().unwrap().sha256.clone();
        assert!(matches!(
            findings(&m, &lock).as_slice(),
            [Finding::DockerignoreChanged { locked: None, current: Some(c) }] if *c == recorded
        ));
        lock.dockerignore = Some(recorded.clone());
        assert_eq!(findings(&m, &lock), []);
        // Only patterns count; the fingerprint stays that of ml.toml.
        m.apply_dockerignore("# logs\r\n\r\n *.log \r\n", ".dockerignore")
            .unwrap();
        assert_eq!(findings(&m, &lock), []);
        m.apply_dockerignore("*.log\n!keep.log\n", ".dockerignore")
            .unwrap();
        let found = findings(&m, &lock);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .to_string()
                .starts_with(".dockerignore changed since the lock was written (patterns sha256:"),
            "{}",
            found[0]
        );
        assert_eq!(found[0].kind(), None, "nothing to resolve again");
        // A file without patterns is no .dockerignore.
        m.apply_dockerignore("# nothing yet\n", ".dockerignore")
            .unwrap();
        assert!(matches!(
            findings(&m, &lock).as_slice(),
            [Finding::DockerignoreChanged { current: None, .. }]
        ));
    }

    #[test]
    fn a_cut_fingerprint_never_splits_a_character() {
        assert_eq!(short("sha256:0123456789aé"), "sha256:0123456789aé");
        assert_eq!(short("sha256:0123456789abcdef"), "sha256:0123456789ab");
    }
}
