//! Python packages the image builds from source: direct `name @
//! git+URL@REV` requirements pinned to a commit and tree (as `[git]`
//! sources are), and the PEP 517 build environment of every package built
//! from source (an sdist, or a git requirement): the `build-system.requires`
//! of its `pyproject.toml` (pip's setuptools fallback without one),
//! resolved for the image's Python and locked with hashes like any pin.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use super::{PipRequest, Resolution};
use crate::config::Config;
use crate::error::{ErrorKind, hinted};
use crate::lock::{Lockfile, PipGitSource, PipPin};
use crate::manifest::pep508::{Requirement, VersionOrUrl};
use crate::manifest::syntax::{DEFAULT_GIT_REV, DirectUrl, direct_url};
use crate::redact::redact_url;
use crate::resolve::Source;
use crate::resolve::git::{GitDb, GitRequest, GitResolver};

/// Pin each direct `git+` requirement to a commit (the locked one while
/// its requirement is unchanged and not `--update`d) and ask uv for
/// `git+URL@COMMIT`, so the resolution sees exactly the locked tree.
pub fn pin_git_requirements(
    config: &Config,
    root: &Path,
    requirements: &mut [(String, String)],
    old: Option<&Lockfile>,
    upgrade: Option<&BTreeSet<String>>,
) -> anyhow::Result<BTreeMap<String, PipGitSource>> {
    let mut pinned = BTreeMap::new();
    for (written, uv) in requirements.iter_mut() {
        let Ok(mut req) = Requirement::parse(uv) else {
            continue;
        };
        let VersionOrUrl::Url(url) = &req.version else {
            continue;
        };
        let Ok(DirectUrl::Git { url, rev }) = direct_url(url) else {
            continue;
        };
        let name = req.normalized_name();
        let kept = old
            .and_then(|l| {
                l.pip
                    .iter()
                    .find(|p| p.name == name && p.requested.as_deref() == Some(written.as_str()))
            })
            .and_then(|p| p.git.clone())
            .filter(|_| !upgrade.is_some_and(|u| u.is_empty() || u.contains(&name)));
        let source = match kept {
            Some(s) => s,
            None => {
                let git = GitResolver { config, root };
                let request = GitRequest {
                    name: name.clone(),
                    source: crate::manifest::GitSource {
                        url: url.clone(),
                        rev: rev.unwrap_or_else(|| DEFAULT_GIT_REV.to_string()),
                        build: Vec::new(),
                        submodules: false,
                    },
                };
                let pin = git.resolve(&request)?;
                PipGitSource {
                    url: pin.url,
                    commit: pin.commit,
                    tree: pin.tree,
                }
            }
        };
        req.version = VersionOrUrl::Url(format!("git+{}@{}", source.url, source.commit));
        *uv = req.to_string();
        pinned.insert(name, source);
    }
    Ok(pinned)
}

/// How a source tree is built (PEP 517/518).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSystem {
    /// `build-system.requires`, as written.
    pub requires: Vec<String>,
}

/// pip's fallback for a project without `[build-system]`: the legacy
/// setuptools backend, which asks for `wheel` too.
const LEGACY_REQUIRES: [&str; 2] = ["setuptools>=40.8.0", "wheel"];

#[derive(Deserialize)]
struct Pyproject {
    #[serde(rename = "build-system")]
    build_system: Option<BuildSystemTable>,
}

#[derive(Deserialize)]
struct BuildSystemTable {
    requires: Option<Vec<String>>,
}

/// The build system a `pyproject.toml` (or its absence) declares.
pub fn build_system(pyproject: Option<&str>, what: &str) -> anyhow::Result<BuildSystem> {
    let declared = match pyproject {
        Some(text) => {
            let p: Pyproject = toml_edit::de::from_str(text)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("reading the pyproject.toml of {what}"))?;
            p.build_system.and_then(|b| b.requires)
        }
        None => None,
    };
    let requires = declared.unwrap_or_else(|| LEGACY_REQUIRES.map(String::from).to_vec());
    for r in &requires {
        let parsed = Requirement::parse(r).map_err(|e| {
            hinted(
                ErrorKind::Resolution,
                format!("{what}: the build requirement `{r}` is not valid PEP 508: {e}"),
                "fix the project's [build-system] requires",
            )
        })?;
        if let VersionOrUrl::Url(url) = &parsed.version {
            return Err(hinted(
                ErrorKind::Resolution,
                format!(
                    "{what}: the build requirement `{} @ {}` names a URL, which mlr cannot lock",
                    parsed.name,
                    redact_url(url)
                ),
                "build a wheel of the project elsewhere and require it by URL or from an index",
            ));
        }
    }
    Ok(BuildSystem { requires })
}

/// The `pyproject.toml` at the top of an sdist archive (`.tar.gz` or
/// `.zip`, one top directory), if it has one.
pub fn sdist_pyproject(archive: &Path, filename: &str) -> anyhow::Result<Option<String>> {
    let what = format!("reading the sdist {filename}");
    let file = std::fs::File::open(archive).with_context(|| what.clone())?;
    let is_top_pyproject = |path: &Path| {
        let parts: Vec<_> = path.components().collect();
        parts.len() == 2 && parts[1].as_os_str() == "pyproject.toml"
    };
    if filename.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file).with_context(|| what.clone())?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).with_context(|| what.clone())?;
            if is_top_pyproject(Path::new(entry.name())) {
                let mut text = String::new();
                entry
                    .read_to_string(&mut text)
                    .with_context(|| what.clone())?;
                return Ok(Some(text));
            }
        }
        return Ok(None);
    }
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    for entry in tar.entries().with_context(|| what.clone())? {
        let mut entry = entry.with_context(|| what.clone())?;
        let path = entry.path().with_context(|| what.clone())?.into_owned();
        if is_top_pyproject(&path) {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .with_context(|| what.clone())?;
            return Ok(Some(text));
        }
    }
    Ok(None)
}

/// The build system of a locked package built from source: its git
/// commit's `pyproject.toml`, or its sdist's (downloaded into the cache,
/// hash-checked).
fn build_system_of(
    config: &Config,
    pin: &PipPin,
    credentials: &[crate::http::BasicAuth],
) -> anyhow::Result<BuildSystem> {
    let what = format!("{} {}", pin.name, pin.version);
    if let Some(git) = &pin.git {
        let db = GitDb::open(config, &git.url)?;
        if !db.has_commit(&git.commit) {
            db.fetch_commit(&git.commit)?;
        }
        let text = db.read_file(&git.commit, "pyproject.toml")?;
        return build_system(text.as_deref(), &what);
    }
    let sdist = pin
        .artifacts
        .iter()
        .find(|a| a.sdist)
        .with_context(|| format!("{what} is built from no source"))?;
    let cached = super::locked_file(
        config,
        credentials,
        &mut None,
        &sdist.url,
        &sdist.sha256,
        &sdist.filename,
    )?;
    let text = sdist_pyproject(&cached, &sdist.filename)?;
    build_system(text.as_deref(), &what)
}

/// Lock the build environment of every package in `pins` built from
/// source: one resolution per distinct `build-system.requires` (the
/// packages' own pins play no part: builds are isolated, as pip's are),
/// each built package's `build-requires` set to its environment's pins.
/// Returns the `[[pip-build]]` pins. A build requirement that would itself
/// be built from source is refused: mlr builds one level only.
pub fn lock_build_requirements(
    config: &Config,
    uv_bin: &Path,
    request: &PipRequest,
    pins: &mut [PipPin],
    old_build: &[PipPin],
    credentials: &[crate::http::BasicAuth],
) -> anyhow::Result<Vec<PipPin>> {
    let mut groups: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for pin in pins.iter().filter(|p| p.built()) {
        let system = build_system_of(config, pin, credentials)?;
        let mut requires = system.requires;
        requires.sort();
        requires.dedup();
        groups.entry(requires).or_default().push(pin.name.clone());
    }
    let mut out: BTreeMap<(String, String), PipPin> = BTreeMap::new();
    let mut environments: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (requires, built) in groups {
        let resolution = if requires.is_empty() {
            Resolution::default()
        } else {
            config.shell.status(
                "Resolving",
                format!("the build requirements of {}", built.join(", ")),
            );
            let build_request = PipRequest {
                requirements: requires.iter().map(|r| (r.clone(), r.clone())).collect(),
                preferences: old_build.to_vec(),
                base: Vec::new(),
                constraints: Vec::new(),
                git: BTreeMap::new(),
                ..request.clone()
            };
            super::resolve(config, uv_bin, &build_request)?
        };
        let mut environment = Vec::new();
        for mut p in resolution.pins {
            if p.built() {
                return Err(hinted(
                    ErrorKind::Resolution,
                    format!(
                        "{} {} (a build requirement of {}) has no wheel for every platform",
                        p.name,
                        p.version,
                        built.join(", ")
                    ),
                    "mlr builds packages from source with build requirements installed from wheels; pin a build requirement version that has wheels",
                ));
            }
            environment.push(format!("{}=={}", p.name, p.version));
            p.requested = None;
            p.via = built.clone();
            out.entry((p.name.clone(), p.version.clone()))
                .and_modify(|e| e.via.extend(built.iter().cloned()))
                .or_insert(p);
        }
        for name in built {
            environments.insert(name, environment.clone());
        }
    }
    for pin in pins.iter_mut() {
        pin.build_requires = environments.remove(&pin.name);
    }
    Ok(out.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_without_a_build_system_gets_pips_setuptools_fallback() {
        let legacy = build_system(None, "x 1").unwrap();
        assert_eq!(legacy.requires, ["setuptools>=40.8.0", "wheel"]);
        let no_table = build_system(Some("[project]\nname = \"x\"\n"), "x 1").unwrap();
        assert_eq!(no_table, legacy);
        let declared = build_system(
            Some("[build-system]\nrequires = [\"hatchling>=1.20\"]\nbuild-backend = \"hatchling.build\"\n"),
            "x 1",
        )
        .unwrap();
        assert_eq!(declared.requires, ["hatchling>=1.20"]);
        let none = build_system(Some("[build-system]\nrequires = []\n"), "x 1").unwrap();
        assert!(none.requires.is_empty());
        let url = build_system(
            Some("[build-system]\nrequires = [\"b @ https://f.example/b.whl\"]\n"),
            "x 1",
        )
        .unwrap_err();
        assert!(url.to_string().contains("names a URL"), "{url}");
    }
}
