//! Python packages the image builds from source: direct `name @
//! git+URL@REV` requirements pinned to a commit and tree (as `[git]`
//! sources are), and the PEP 517 build environment of every package built
//! from source (an sdist, or a git requirement): the `build-system.requires`
//! of its `pyproject.toml` (pip's setuptools fallback without one),
//! resolved for the image's Python and locked with hashes like any pin.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use super::PipRequest;
use crate::config::Config;
use crate::error::{ErrorKind, hinted};
use crate::lock::{Lockfile, PipGitSource, PipPathSource, PipPin};
use crate::manifest::pep508::{Requirement, VersionOrUrl};
use crate::manifest::syntax::{DEFAULT_GIT_REV, DirectUrl, direct_url};
use crate::redact::redact_url;
use crate::resolve::Source;
use crate::resolve::git::{GitRequest, GitResolver};

pub use super::backend::{BuildSystem, LEGACY_BACKEND};

/// The direct requirements built from a source mlr pins itself.
#[derive(Debug, Default)]
pub struct PinnedSources {
    pub git: BTreeMap<String, PipGitSource>,
    pub paths: BTreeMap<String, PipPathSource>,
    /// Copies of the project directories uv reads (a backend writes into
    /// the tree it prepares, `*.egg-info`); removed when dropped.
    pub copies: Option<tempfile::TempDir>,
}

/// Pin each direct `git+` requirement to a commit (the locked one while
/// its requirement is unchanged and not `--update`d) and ask uv for
/// `git+URL@COMMIT`, so the resolution sees exactly the locked tree; and
/// each `name @ ./dir` to its tree's digest, asking uv for the directory
/// (its `file://` URL under `root`).
pub fn pin_sources(
    config: &Config,
    root: &Path,
    requirements: &mut [(String, String)],
    old: Option<&Lockfile>,
    upgrade: Option<&BTreeSet<String>>,
) -> anyhow::Result<PinnedSources> {
    let mut pinned = PinnedSources::default();
    for (written, uv) in requirements.iter_mut() {
        let Ok(mut req) = Requirement::parse(uv) else {
            continue;
        };
        let VersionOrUrl::Url(url) = &req.version else {
            continue;
        };
        let name = req.normalized_name();
        let (url, rev) = match direct_url(url) {
            Ok(DirectUrl::Git { url, rev }) => (url, rev),
            Ok(DirectUrl::Path { path }) => {
                let relative = crate::manifest::syntax::join_project_path("", &path).ok_or_else(|| {
                    hinted(
                        ErrorKind::Manifest,
                        format!("`{written}` leaves the project"),
                        "keep the package's directory inside the project, or put it in a git repository",
                    )
                })?;
                let dir = root.join(&relative);
                if !dir.is_dir() {
                    return Err(hinted(
                        ErrorKind::Manifest,
                        format!("`{written}`: {} is not a directory", dir.display()),
                        "name the directory of the package (the one with its pyproject.toml or setup.py)",
                    ));
                }
                if pinned.copies.is_none() {
                    pinned.copies = Some(
                        tempfile::Builder::new()
                            .prefix("mlr-trees-")
                            .tempdir()
                            .context("creating a temporary directory")?,
                    );
                }
                let copies = pinned.copies.as_ref().expect("made above").path();
                let copy = copies.join(&name);
                let sha256 = crate::source_tree::copy(&dir, &copy)
                    .with_context(|| format!("reading the source tree of `{written}`"))?;
                req.version = VersionOrUrl::Url(format!("file://{}", copy.display()));
                *uv = req.to_string();
                pinned.paths.insert(
                    name,
                    PipPathSource {
                        path: relative,
                        sha256,
                    },
                );
                continue;
            }
            _ => continue,
        };
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
                        // pip checks submodules out too.
                        submodules: true,
                    },
                };
                let pin = git.resolve(&request)?;
                PipGitSource {
                    url: pin.url,
                    commit: pin.commit,
                    tree: pin.tree,
                    submodules: pin.submodules,
                }
            }
        };
        req.version = VersionOrUrl::Url(format!("git+{}@{}", source.url, source.commit));
        *uv = req.to_string();
        pinned.git.insert(name, source);
    }
    Ok(pinned)
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
#[serde(rename_all = "kebab-case")]
struct BuildSystemTable {
    requires: Option<Vec<String>>,
    build_backend: Option<String>,
    #[serde(default)]
    backend_path: Vec<String>,
}

/// The build system a `pyproject.toml` (or its absence) declares, as pip
/// reads it: without `requires`, the legacy setuptools backend and its
/// requirements; without `build-backend`, the legacy backend.
pub fn build_system(pyproject: Option<&str>, what: &str) -> anyhow::Result<BuildSystem> {
    let table = match pyproject {
        Some(text) => {
            let p: Pyproject = toml_edit::de::from_str(text)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("reading the pyproject.toml of {what}"))?;
            p.build_system
        }
        None => None,
    };
    let (requires, backend, backend_path) = match table {
        Some(BuildSystemTable {
            requires: Some(requires),
            build_backend,
            backend_path,
        }) => (requires, build_backend, backend_path),
        _ => (LEGACY_REQUIRES.map(String::from).to_vec(), None, Vec::new()),
    };
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
    Ok(BuildSystem {
        requires,
        backend: backend.unwrap_or_else(|| LEGACY_BACKEND.to_string()),
        backend_path,
    })
}

/// The source tree of a locked package built from source, placed at
/// `dest` (which must not exist): its git commit exported (checked against
/// its tree), or its sdist (downloaded into the cache, hash-checked)
/// unpacked.
fn place_source(
    config: &Config,
    root: &Path,
    pin: &PipPin,
    credentials: &[crate::http::BasicAuth],
    dest: &Path,
) -> anyhow::Result<()> {
    if let Some(git) = &pin.git {
        return crate::resolve::git::export_pin(&git.as_git_pin(&pin.name), dest, root, config);
    }
    if let Some(dir) = &pin.path {
        return copy_locked_tree(root, dir, dest);
    }
    let sdist = pin
        .artifacts
        .iter()
        .find(|a| a.sdist)
        .with_context(|| format!("{} {} is built from no source", pin.name, pin.version))?;
    let archive = super::locked_file(
        config,
        credentials,
        &mut None,
        &sdist.url,
        &sdist.sha256,
        &sdist.filename,
    )?;
    crate::archive::unpack_single_top(&archive, &sdist.filename, dest).map(drop)
}

/// Lock the build environment of every package in `pins` built from
/// source: its `build-system.requires`, plus what its backend's
/// `get_requires_for_build_wheel` asks for when run on this host with
/// those, resolved for the image's platforms apart from the packages' own
/// pins (builds are isolated, as pip's are); one resolution per distinct
/// set. Each built package's `build-requires` is set to its environment's
/// pins. Returns the `[[pip-build]]` pins. A build requirement that would
/// itself be built from source is refused: mlr builds one level only.
#[allow(clippy::too_many_arguments)]
pub fn lock_build_requirements(
    config: &Config,
    root: &Path,
    uv_bin: &Path,
    request: &PipRequest,
    pins: &mut [PipPin],
    old_build: &[PipPin],
    build_constraints: &[String],
    credentials: &[crate::http::BasicAuth],
) -> anyhow::Result<Vec<PipPin>> {
    let mut resolutions: BTreeMap<Vec<String>, Vec<PipPin>> = BTreeMap::new();
    let mut environment_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let work = tempfile::Builder::new()
        .prefix("mlr-sources-")
        .tempdir()
        .context("creating a temporary directory")?;
    for pin in pins.iter_mut().filter(|p| p.built()) {
        let what = match &pin.path {
            Some(dir) => format!("{} (./{})", pin.name, dir.path),
            None => format!("{} {}", pin.name, pin.version),
        };
        let src = work.path().join(&pin.name);
        place_source(config, root, pin, credentials, &src)?;
        let text = match std::fs::read_to_string(src.join("pyproject.toml")) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("reading the pyproject.toml of {what}"));
            }
        };
        let system = build_system(text.as_deref(), &what)?;
        let mut requires = system.requires.clone();
        requires.sort();
        requires.dedup();
        let resolve = |requires: &[String],
                       resolutions: &mut BTreeMap<Vec<String>, Vec<PipPin>>| {
            resolve_environment(
                config,
                uv_bin,
                request,
                old_build,
                build_constraints,
                requires,
                &what,
                resolutions,
            )
        };
        // What the backend asks for on top, run with exactly those.
        let environment = resolve(&requires, &mut resolutions)?;
        let wheels = environment_files(config, credentials, request, &environment)?;
        let asked = super::backend::probe(config, uv_bin, &what, &src, &system, &wheels, false)?
            .map(|p| p.requires)
            .unwrap_or_default();
        let have: Vec<&str> = environment.iter().map(|p| p.name.as_str()).collect();
        let extra: Vec<String> = asked
            .into_iter()
            .filter(|r| !have.contains(&crate::package_name::requirement_name(r).as_str()))
            .collect();
        if !extra.is_empty() {
            config.shell.status(
                "Adding",
                format!(
                    "{} to the build requirements of {what} (its backend asks for them)",
                    extra.join(", ")
                ),
            );
            requires.extend(extra);
            requires.sort();
            requires.dedup();
        }
        let environment = resolve(&requires, &mut resolutions)?;
        // A directory's version is what its metadata says, in that
        // environment.
        if pin.path.is_some() {
            let wheels = environment_files(config, credentials, request, &environment)?;
            let probed =
                super::backend::probe(config, uv_bin, &what, &src, &system, &wheels, true)?;
            pin.version = probed.and_then(|p| p.version).ok_or_else(|| {
                hinted(
                    ErrorKind::Resolution,
                    format!(
                        "could not read the version of {} from its metadata",
                        pin.name
                    ),
                    "mlr runs the project's build backend on this host for it: install python3",
                )
            })?;
        }
        environment_of.insert(pin.name.clone(), requires);
    }
    let mut out: BTreeMap<(String, String), PipPin> = BTreeMap::new();
    for pin in pins.iter_mut() {
        let Some(key) = environment_of.get(&pin.name) else {
            pin.build_requires = None;
            continue;
        };
        let environment = &resolutions[key];
        pin.build_requires = Some(
            environment
                .iter()
                .map(|p| format!("{}=={}", p.name, p.version))
                .collect(),
        );
        for p in environment {
            out.entry((p.name.clone(), p.version.clone()))
                .or_insert_with(|| PipPin {
                    requested: None,
                    via: Vec::new(),
                    ..p.clone()
                })
                .via
                .push(pin.name.clone());
        }
    }
    Ok(out.into_values().collect())
}

/// Copy the locked project directory `dir` (under `root`) to `dest`,
/// checking that its tree is still the one locked.
pub fn copy_locked_tree(root: &Path, dir: &PipPathSource, dest: &Path) -> anyhow::Result<()> {
    let copied = crate::source_tree::copy(&root.join(&dir.path), dest)
        .with_context(|| format!("copying {}", dir.path))?;
    if copied != dir.sha256 {
        return Err(hinted(
            ErrorKind::Lock,
            format!("{} changed since ml.lock was written", dir.path),
            "run `mlr lock` to lock its new contents",
        ));
    }
    Ok(())
}

/// The pins of one build environment (`requires`, sorted), resolved once.
#[allow(clippy::too_many_arguments)]
fn resolve_environment(
    config: &Config,
    uv_bin: &Path,
    request: &PipRequest,
    old_build: &[PipPin],
    build_constraints: &[String],
    requires: &[String],
    built: &str,
    resolutions: &mut BTreeMap<Vec<String>, Vec<PipPin>>,
) -> anyhow::Result<Vec<PipPin>> {
    if let Some(done) = resolutions.get(requires) {
        return Ok(done.clone());
    }
    let pins = if requires.is_empty() {
        Vec::new()
    } else {
        config
            .shell
            .status("Resolving", format!("the build requirements of {built}"));
        let build_request = PipRequest {
            requirements: requires.iter().map(|r| (r.clone(), r.clone())).collect(),
            preferences: old_build.to_vec(),
            base: Vec::new(),
            constraints: build_constraints.to_vec(),
            git: BTreeMap::new(),
            paths: BTreeMap::new(),
            ..request.clone()
        };
        super::resolve(config, uv_bin, &build_request)?.pins
    };
    if let Some(p) = pins.iter().find(|p| p.built()) {
        return Err(hinted(
            ErrorKind::Resolution,
            format!(
                "{} {} (a build requirement of {built}) has no wheel for every platform",
                p.name, p.version
            ),
            "mlr builds packages from source with build requirements installed from wheels; pin a build requirement version that has wheels",
        ));
    }
    resolutions.insert(requires.to_vec(), pins.clone());
    Ok(pins)
}

/// The files of a build environment for the first locked platform (the
/// backend runs on this host with them), from the cache, hash-checked.
fn environment_files(
    config: &Config,
    credentials: &[crate::http::BasicAuth],
    request: &PipRequest,
    environment: &[PipPin],
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let Some(platform) = request.platforms.first().map(ToString::to_string) else {
        return Ok(Vec::new());
    };
    let mut http = None;
    environment
        .iter()
        .filter_map(|p| p.artifacts.iter().find(|a| a.platform == platform))
        .map(|a| {
            super::locked_file(
                config,
                credentials,
                &mut http,
                &a.url,
                &a.sha256,
                &a.filename,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_without_a_build_system_gets_pips_setuptools_fallback() {
        let legacy = build_system(None, "x 1").unwrap();
        assert_eq!(legacy.requires, ["setuptools>=40.8.0", "wheel"]);
        assert_eq!(legacy.backend, LEGACY_BACKEND);
        let no_table = build_system(Some("[project]\nname = \"x\"\n"), "x 1").unwrap();
        assert_eq!(no_table, legacy);
        let declared = build_system(
            Some("[build-system]\nrequires = [\"hatchling>=1.20\"]\nbuild-backend = \"hatchling.build\"\n"),
            "x 1",
        )
        .unwrap();
        assert_eq!(declared.requires, ["hatchling>=1.20"]);
        assert_eq!(declared.backend, "hatchling.build");
        let in_tree = build_system(
            Some("[build-system]\nrequires = []\nbuild-backend = \"b\"\nbackend-path = [\".\"]\n"),
            "x 1",
        )
        .unwrap();
        assert_eq!(in_tree.backend_path, ["."]);
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
