//! The apt part of `mlr lock`: the base image's sources and installed
//! packages, the archive's indexes (live, through mirrors, or a snapshot),
//! and the closure of `[apt]` requests, per locked platform.
//!
//! With pip packages on a base without Python, the distribution's Python
//! (`python3-venv` and its closure) is pinned too, as an implicit request:
//! its pins have no `requested`, and `via = ["python3-venv"]`.

use std::collections::BTreeSet;

use crate::config::Config;
use crate::lock::{AptPin, Lockfile, PYTHON_APT_REQUEST as PYTHON_REQUEST};
use crate::manifest::Manifest;
use crate::resolve::apt::archive::{self, SourceEntry, snapshot_uri};
use crate::resolve::apt::solver::{self, Request};

/// The apt requests of `ml.toml`, as written (prod and profiles).
pub fn apt_requests(manifest: &Manifest) -> Vec<String> {
    manifest
        .apt
        .iter()
        .flat_map(|a| a.packages.iter().cloned())
        .chain(
            manifest
                .profiles
                .values()
                .flat_map(|p| p.apt.iter().cloned()),
        )
        .collect()
}

/// Whether `base` needs the distribution's Python pinned for `manifest`:
/// pip packages are wanted, the image has no Python of its own outside
/// dpkg, dpkg has no `python3-venv` (or `python3.X-venv`), and the manifest
/// does not ask for it itself.
fn needs_python(manifest: &Manifest, base: &archive::BaseApt) -> bool {
    crate::resolve::pip::plan::wants_python(manifest)
        && !base.local_python
        && !base.installed.iter().any(|i| {
            i.name == PYTHON_REQUEST
                || (i.name.starts_with("python3.") && i.name.ends_with("-venv"))
        })
        && !apt_requests(manifest)
            .iter()
            .any(|r| r.split('=').next() == Some(PYTHON_REQUEST))
}

/// Whether the lock's Python pins still fit: a lock that resolved Python
/// for pip packages keeps its decision; with no pip packages left, no
/// implicit Python pin may stay.
fn python_pins_fit(manifest: &Manifest, lock: &Lockfile) -> bool {
    let implicit = lock
        .apt
        .iter()
        .any(|p| p.requested.is_none() && p.via.iter().any(|v| v == PYTHON_REQUEST))
        && !apt_requests(manifest)
            .iter()
            .any(|r| r.split('=').next() == Some(PYTHON_REQUEST));
    if crate::resolve::pip::plan::wants_python(manifest) {
        lock.python.is_some()
    } else {
        !implicit
    }
}

/// Whether the manifest asks for apt packages.
pub fn wants_apt(manifest: &Manifest) -> bool {
    !apt_requests(manifest).is_empty()
}

/// The snapshot timestamp the lock uses: as written, or for `auto` the one
/// an existing lock already recorded, else now (UTC). The snapshot archives
/// serve the newest state at or before any timestamp.
pub fn snapshot(manifest: &Manifest, old: Option<&Lockfile>) -> Option<String> {
    let written = manifest.apt.as_ref()?.snapshot.clone()?;
    if written != "auto" {
        return Some(written);
    }
    if let Some(ts) = old.and_then(locked_snapshot) {
        return Some(ts);
    }
    Some(now_timestamp())
}

/// The snapshot timestamp recorded in a lock's apt sources, if any.
pub fn locked_snapshot(lock: &Lockfile) -> Option<String> {
    lock.apt_snapshot().map(str::to_string)
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

/// Whether the locked apt pins still fit: same requests, same snapshot,
/// every platform's architecture covered.
pub fn apt_still_fits(manifest: &Manifest, lock: &Lockfile) -> bool {
    let mut wanted = apt_requests(manifest);
    let mut locked: Vec<String> = lock
        .apt
        .iter()
        .filter_map(|p| p.requested.clone())
        .collect();
    wanted.sort();
    wanted.dedup();
    locked.sort();
    locked.dedup();
    if wanted != locked || !python_pins_fit(manifest, lock) {
        return false;
    }
    // Sources written in ml.toml: every live pin must come from one of them.
    let overridden: Vec<String> = manifest
        .apt
        .as_ref()
        .map(|a| archive::parse_one_line_sources(&a.sources.join("\n")))
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.uri)
        .collect();
    if !overridden.is_empty()
        && locked_snapshot(lock).is_none()
        && lock.apt.iter().any(|p| !overridden.contains(&p.source))
    {
        return false;
    }
    let written = manifest.apt.as_ref().and_then(|a| a.snapshot.clone());
    match (written.as_deref(), locked_snapshot(lock)) {
        (None, None) | (Some("auto"), Some(_)) => {}
        (Some(ts), Some(locked)) if ts == locked => {}
        _ => return false,
    }
    wanted.is_empty()
        || manifest.project.platforms.iter().all(|p| {
            lock.apt
                .iter()
                .any(|a| a.architecture == p.architecture && a.requested.is_some())
                || lock.apt.iter().all(|a| a.architecture == "all")
        })
}

/// Resolve the apt closure for every platform into `new`.
pub fn lock_apt(
    config: &Config,
    manifest: &Manifest,
    old: Option<&Lockfile>,
    new: &mut Lockfile,
    update: Option<&BTreeSet<String>>,
) -> anyhow::Result<()> {
    let base = new
        .image("base")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("apt packages need a base image"))?;
    let snapshot = snapshot(manifest, old);
    if snapshot.is_none() && wants_apt(manifest) {
        config.shell.warn(
            "apt packages are pinned against the live archive; exact versions stop installing once it drops them. Set [apt] snapshot = \"auto\" to pin against a snapshot",
        );
    }
    let explicit: Vec<Request> = apt_requests(manifest)
        .iter()
        .map(|r| match r.split_once('=') {
            Some((n, v)) => Request {
                name: n.to_string(),
                version: Some(v.to_string()),
            },
            None => Request {
                name: r.clone(),
                version: None,
            },
        })
        .collect();
    let mut pins: Vec<AptPin> = Vec::new();
    for platform in &manifest.project.platforms {
        let platform_s = platform.to_string();
        let base_apt = archive::base_apt(config, &base, &platform_s)?;
        let mut requests = explicit.clone();
        let implicit_python = needs_python(manifest, &base_apt);
        if implicit_python {
            requests.push(Request {
                name: PYTHON_REQUEST.to_string(),
                version: None,
            });
        }
        // `[apt] sources` replaces what the image configures (the odd image).
        let overridden = manifest
            .apt
            .as_ref()
            .map(|a| archive::parse_one_line_sources(&a.sources.join("\n")))
            .unwrap_or_default();
        let image_sources = if overridden.is_empty() {
            &base_apt.sources
        } else {
            &overridden
        };
        // Nothing to resolve; or only the implicit Python on an image that
        // names no archive (it then comes unpinned at build time, if at all).
        if requests.is_empty() || (image_sources.is_empty() && explicit.is_empty()) {
            continue;
        }
        if image_sources.is_empty() {
            return Err(crate::error::hinted(
                format!(
                    "the base image {} configures no apt sources",
                    base.requested
                ),
                "add `[apt] sources = [\"deb http://deb.debian.org/debian bookworm main\"]` to ml.toml",
            ));
        }
        let sources: Vec<SourceEntry> = image_sources
            .iter()
            .map(|s| SourceEntry {
                uri: snapshot
                    .as_deref()
                    .and_then(|ts| snapshot_uri(&s.uri, ts))
                    .unwrap_or_else(|| s.uri.clone()),
                ..s.clone()
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
        let resolved = solver::resolve(
            &index,
            &base_apt.installed,
            &platform.architecture,
            &requests,
            &preferences,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
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
                    .filter(|q| !(implicit_python && q.as_str() == PYTHON_REQUEST)),
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(extra: &str) -> Manifest {
        crate::manifest::parse(
            &format!("[base]\nimage = \"debian:12\"\n{extra}"),
            "ml.toml",
        )
        .expect("a valid manifest")
    }

    fn python_pin(name: &str) -> AptPin {
        AptPin {
            name: name.into(),
            version: "3.11.2-1+b1".into(),
            architecture: "amd64".into(),
            source: "http://deb.debian.org/debian".into(),
            suite: "bookworm".into(),
            component: "main".into(),
            filename: format!("pool/main/p/{name}.deb"),
            sha256: "0".repeat(64),
            requested: None,
            via: vec![PYTHON_REQUEST.into()],
        }
    }

    #[test]
    fn the_implicit_python_follows_the_pip_packages() {
        let pip = manifest("[pip]\npackages = [\"numpy\"]\n");
        let none = manifest("");
        let mut lock = Lockfile::new("sha256:x".into());
        lock.apt.push(python_pin("python3-venv"));
        lock.python = Some(crate::lock::PythonPin {
            version: "3.11".into(),
            glibc: "2.36".into(),
            os: "debian-12".into(),
        });
        // pip packages and a lock that resolved Python for them: kept.
        assert!(apt_still_fits(&pip, &lock));
        // No pip packages left: the Python pins must go.
        assert!(!apt_still_fits(&none, &lock));
        // pip packages newly wanted by a lock without Python: resolve again.
        let mut bare = Lockfile::new("sha256:x".into());
        assert!(apt_still_fits(&none, &bare));
        assert!(!apt_still_fits(&pip, &bare));
        // Asked for in ml.toml, python3-venv is an ordinary request.
        let asked = manifest("[apt]\npackages = [\"python3-venv\"]\n");
        bare.apt.push(AptPin {
            requested: Some(PYTHON_REQUEST.into()),
            ..python_pin("python3-venv")
        });
        assert!(apt_still_fits(&asked, &bare));
    }

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
