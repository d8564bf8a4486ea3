//! The apt part of `mlr lock`: the base image's sources and installed
//! packages, the archive's indexes (live, through mirrors, or a snapshot),
//! and the closure of `[apt]` requests, per locked platform.
//!
//! With pip packages on a base without Python, the distribution's Python
//! (`python3-venv` and its closure) is pinned too, as an implicit request:
//! its pins have no `requested`, and `via = ["python3-venv"]`.

use std::collections::BTreeSet;

use crate::config::Config;
use crate::lock::{AptPin, Lockfile};
use crate::manifest::Manifest;
use crate::requests::{PYTHON_APT_REQUEST as PYTHON_REQUEST, Requests};
use crate::resolve::apt::archive::{self, SourceEntry, snapshot_uri};
use crate::resolve::apt::solver::{self, Request};
pub use crate::resolve::interpreter::ImplicitPython;

/// The package the implicit Python request names, unless `[apt]` asks
/// for it itself.
fn implicit_name_of(python: &ImplicitPython, requests: &Requests) -> Option<String> {
    match python {
        ImplicitPython::None => None,
        ImplicitPython::Package(name) => Some(name.clone()),
        ImplicitPython::IfVersion(_) => Some(PYTHON_REQUEST.to_string()),
    }
    .filter(|name| !requests.asks_apt(name))
}

/// The distribution's Python version found while resolving, per platform
/// in `project.platforms` order (`None` where none was pinned).
pub type DistroPython = Option<(u32, u32)>;

/// `python3` `3.11.2-1+b1` → `(3, 11)`.
fn python3_version<'a>(pins: impl IntoIterator<Item = (&'a str, &'a str)>) -> DistroPython {
    let (_, version) = pins.into_iter().find(|(name, _)| *name == "python3")?;
    let upstream = version.split_once(':').map_or(version, |(_, v)| v);
    crate::resolve::interpreter::minor_of(upstream.split(['-', '+', '~']).next()?)
}

/// The sources of the distribution itself (suites named after its
/// codename: `bookworm`, `bookworm-updates`, `bookworm-security`), which
/// are the ones that carry its Python; all of them when none is.
fn distribution_sources<'a>(
    sources: &'a [SourceEntry],
    codename: Option<&str>,
) -> Vec<&'a SourceEntry> {
    let own: Vec<&SourceEntry> = sources
        .iter()
        .filter(|s| codename.is_some_and(|c| s.suite == c || s.suite.starts_with(&format!("{c}-"))))
        .collect();
    if own.is_empty() {
        sources.iter().collect()
    } else {
        own
    }
}

/// The snapshot timestamp the lock uses: as written, or for `auto` the one
/// an existing lock already recorded, else now (UTC). The snapshot archives
/// serve the newest state at or before any timestamp.
pub fn snapshot(manifest: &Manifest, old: Option<&Lockfile>) -> Option<String> {
    let written = manifest.apt.as_ref()?.snapshot.clone()?;
    if written != "auto" {
        return Some(written);
    }
    if let Some(ts) = old.and_then(Lockfile::apt_snapshot) {
        return Some(ts.to_string());
    }
    Some(now_timestamp())
}

fn now_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What apt pins that `ml.toml` does not ask for: the distribution's
/// Python for pip packages, and the compilers for those built from source.
#[derive(Clone, Copy)]
pub struct Implicit<'a> {
    pub python: &'a ImplicitPython,
    pub build_tools: &'a [String],
}

/// Resolve the apt closure for every platform into `new`.
pub fn lock_apt(
    config: &Config,
    manifest: &Manifest,
    requests: &Requests,
    old: Option<&Lockfile>,
    new: &mut Lockfile,
    update: Option<&BTreeSet<String>>,
    implicit: Implicit<'_>,
) -> anyhow::Result<DistroPython> {
    let Implicit {
        python,
        build_tools,
    } = implicit;
    let base = new
        .image("base")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("apt packages need a base image"))?;
    let snapshot = snapshot(manifest, old);
    if snapshot.is_none() && requests.wants_apt() {
        config.shell.warn(
            "apt packages are pinned against the live archive; exact versions stop installing once it drops them. Set [apt] snapshot = \"auto\" to pin against a snapshot",
        );
    }
    let explicit: Vec<Request> = requests
        .apt
        .iter()
        .map(|r| Request {
            name: r.name.clone(),
            version: r.version.clone(),
        })
        .collect();
    // The build tools, unless `[apt]` asks for them itself.
    let build_tools: Vec<&String> = build_tools
        .iter()
        .filter(|t| !requests.asks_apt(t))
        .collect();
    if explicit.is_empty() && implicit_name_of(python, requests).is_none() && build_tools.is_empty()
    {
        // Nothing to pin: the image's apt sources are not even read.
        new.apt = Vec::new();
        return Ok(None);
    }
    let mut pins: Vec<AptPin> = Vec::new();
    let mut distro_python: DistroPython = None;
    let implicit_name = implicit_name_of(python, requests);
    for platform in &manifest.project.platforms {
        let platform_s = platform.to_string();
        let base_apt = archive::base_apt(config, &base, &platform_s)?;
        let mut wanted = explicit.clone();
        let implicit_python = implicit_name.is_some();
        if let Some(name) = &implicit_name {
            wanted.push(Request {
                name: name.clone(),
                version: None,
            });
        }
        wanted.extend(build_tools.iter().map(|t| Request {
            name: t.to_string(),
            version: None,
        }));
        // `[apt] sources` replaces what the image configures (the odd image).
        let image_sources = if requests.apt_sources.is_empty() {
            &base_apt.sources
        } else {
            &requests.apt_sources
        };
        // Nothing to resolve; or only the implicit Python on an image that
        // names no archive (it then comes unpinned at build time, if at all).
        if wanted.is_empty() || (image_sources.is_empty() && explicit.is_empty()) {
            if !build_tools.is_empty() {
                config.shell.warn(format!(
                    "the base image {} names no apt archive, so no compilers are pinned for the packages built from source; they build with what the image has",
                    base.requested
                ));
            }
            continue;
        }
        if image_sources.is_empty() {
            return Err(crate::error::hinted(
                crate::error::ErrorKind::Resolution,
                format!(
                    "the base image {} configures no apt sources",
                    base.requested
                ),
                "add `[apt] sources = [\"deb http://deb.debian.org/debian bookworm main\"]` to ml.toml",
            ));
        }
        // Only the implicit Python: only the sources that carry it are read.
        let image_sources: Vec<&SourceEntry> = if explicit.is_empty() {
            distribution_sources(image_sources, base_apt.codename.as_deref())
        } else {
            image_sources.iter().collect()
        };
        let sources: Vec<SourceEntry> = image_sources
            .iter()
            .map(|s| SourceEntry {
                uri: snapshot
                    .as_deref()
                    .and_then(|ts| snapshot_uri(&s.uri, ts))
                    .unwrap_or_else(|| s.uri.clone()),
                ..(*s).clone()
            })
            .collect();
        let index = archive::fetch_indexes(config, &sources, &platform.architecture)?;
        let preferences: Vec<(String, String)> = old
            .map(|l| {
                l.apt
                    .iter()
                    .filter(|p| p.architecture == platform.architecture || p.architecture == "all")
                    .filter(|p| !update.is_some_and(|u| u.is_empty() || u.contains(&p.name)))
                    .map(|p| (p.name.clone(), p.version.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let solve = |wanted: &[Request]| {
            solver::resolve(
                &index,
                &base_apt.installed,
                &platform.architecture,
                wanted,
                &preferences,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))
        };
        let mut resolved = solve(&wanted)?;
        let mut implicit_python = implicit_python;
        if implicit_python {
            let found = python3_version(
                resolved
                    .iter()
                    .map(|r| (r.package.name.as_str(), r.package.version.as_str())),
            );
            if let ImplicitPython::IfVersion(v) = python {
                if found != Some(*v) {
                    // Not the version asked for: the interpreter comes
                    // from elsewhere, and apt resolves `[apt]` alone.
                    implicit_python = false;
                    resolved = if explicit.is_empty() {
                        Vec::new()
                    } else {
                        solve(&explicit)?
                    };
                }
            }
            if implicit_python && distro_python.is_none() {
                distro_python = found;
            }
        }
        let implicit_name = implicit_name.as_deref().filter(|_| implicit_python);
        for r in resolved {
            let pin = AptPin {
                name: r.package.name.clone(),
                version: r.package.version.clone(),
                architecture: r.package.architecture.clone(),
                source: r.origin.source.clone(),
                suite: r.origin.suite.clone(),
                component: r.origin.component.clone(),
                filename: r.package.filename.clone(),
                sha256: r.package.sha256.clone(),
                // The implicit Python request is no request of ml.toml.
                requested: r
                    .requested
                    .clone()
                    .filter(|q| Some(q.as_str()) != implicit_name && !build_tools.contains(&q)),
                via: r.via.clone(),
            };
            match pins.iter_mut().find(|p| {
                p.name == pin.name && p.version == pin.version && p.architecture == pin.architecture
            }) {
                Some(existing) => existing.via.extend(pin.via),
                None => pins.push(pin),
            }
        }
    }
    new.apt = pins;
    Ok(distro_python)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_snapshot_shaped() {
        let ts = now_timestamp();
        assert_eq!(ts.len(), 16, "{ts}");
        assert!(
            ts.starts_with("20") && ts.ends_with('Z') && &ts[8..9] == "T",
            "{ts}"
        );
    }
}
