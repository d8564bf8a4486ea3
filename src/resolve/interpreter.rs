//! Which Python the image runs: the base image's own interpreter (with its
//! installed packages), the distribution's `python3` pinned through apt, or
//! a pinned standalone CPython build. The choice is a pure function of
//! `[python]` and what the base image holds ([`BaseFacts`]); the standalone
//! builds are looked up in a python-build-standalone download list.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Deserialize;

use super::base_python::{BaseFacts, BaseInterpreter};
use crate::config::Config;
use crate::error::{ErrorKind, hinted};
use crate::lock::PythonDownload;
use crate::manifest::{Platform, Python, PythonSource};

/// The list of python-build-standalone downloads mlr reads by default (the
/// one uv ships); `[mirrors.index]` maps it, `MLR_PYTHON_DOWNLOADS_URL`
/// replaces it.
pub const DOWNLOADS_LIST: &str =
    "https://raw.githubusercontent.com/astral-sh/uv/main/crates/uv-python/download-metadata.json";

pub use crate::lock::STANDALONE_PREFIX;

/// The interpreter `[python]` and the base image lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The base image's interpreter (index into [`BaseFacts::interpreters`]).
    Base(usize),
    /// The distribution's `python3` through apt; with a version, only if the
    /// distribution's is that version, else a standalone build.
    Distro { or_standalone: Option<(u32, u32)> },
    /// A standalone build of `3.X` or `3.X.Y`.
    Standalone(String),
}

/// `"3.11"` / `"3.11.4"` → `(3, 11)`.
pub fn minor_of(version: &str) -> Option<(u32, u32)> {
    let mut it = version.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Decide the interpreter: `[python] from` when written; otherwise the
/// base's when it has one of the version asked for (or any, without a
/// version), else the distribution's, which must then be that version,
/// else a standalone build.
pub fn choose(python: Option<&Python>, facts: &BaseFacts) -> anyhow::Result<Choice> {
    let version = python.and_then(|p| p.version.as_deref());
    let wanted = version.and_then(minor_of);
    let matching = facts
        .interpreters
        .iter()
        .position(|i| wanted.is_none_or(|w| i.version == w));
    match python.and_then(|p| p.source) {
        Some(PythonSource::Base) => matching.map(Choice::Base).ok_or_else(|| {
            let found: Vec<String> = facts.interpreters.iter().map(describe).collect();
            let (message, hint) = match (version, found.is_empty()) {
                (_, true) => (
                    "[python] from = \"base\", but the base image has no Python interpreter"
                        .to_string(),
                    "remove `from = \"base\"` to install one, or choose a base image with Python"
                        .to_string(),
                ),
                (Some(v), false) => (
                    format!(
                        "[python] from = \"base\" and version = \"{v}\", but the base image has {}",
                        found.join(", ")
                    ),
                    "change [python] version to one of those, or remove `from = \"base\"`"
                        .to_string(),
                ),
                (None, false) => unreachable!("any interpreter matches without a version"),
            };
            hinted(ErrorKind::Resolution, message, hint)
        }),
        Some(PythonSource::Distro) => Ok(Choice::Distro {
            or_standalone: None,
        }),
        Some(PythonSource::Standalone) => Ok(Choice::Standalone(
            version
                .context("[python] from = \"standalone\" needs a version")?
                .to_string(),
        )),
        None => Ok(match (matching, version) {
            (Some(i), _) => Choice::Base(i),
            (None, None) => Choice::Distro {
                or_standalone: None,
            },
            (None, Some(_)) => Choice::Distro {
                or_standalone: wanted,
            },
        }),
    }
}

/// Whether two platforms of one base carry the same Python: the same glibc
/// level, interpreters and installed distributions. `Err` says the first
/// difference.
pub fn same_python(a: &BaseFacts, b: &BaseFacts) -> Result<(), String> {
    let level = |f: &BaseFacts| f.glibc.map(|g| format!("{}.{}", g.0, g.1));
    if level(a) != level(b) {
        return Err(format!(
            "glibc {} and {}",
            level(a).unwrap_or_else(|| "unknown".into()),
            level(b).unwrap_or_else(|| "unknown".into())
        ));
    }
    let shown = |f: &BaseFacts| f.interpreters.iter().map(describe).collect::<Vec<_>>();
    if shown(a) != shown(b) {
        return Err(format!(
            "interpreters {} and {}",
            shown(a).join(", "),
            shown(b).join(", ")
        ));
    }
    for (x, y) in a.interpreters.iter().zip(&b.interpreters) {
        let dists = |i: &BaseInterpreter| {
            i.distributions
                .iter()
                .map(|d| (d.name.clone(), d.version.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let (dx, dy) = (dists(x), dists(y));
        if let Some((name, version)) = dx.iter().find(|(n, v)| dy.get(*n) != Some(*v)) {
            return Err(format!(
                "{} has {name} {version} on one and {} on the other",
                x.path,
                dy.get(name).map_or("nothing", String::as_str)
            ));
        }
        if let Some(name) = dy.keys().find(|n| !dx.contains_key(*n)) {
            return Err(format!("{} has {name} on one only", x.path));
        }
    }
    Ok(())
}

/// `/usr/bin/python3.12 (3.12)`.
pub fn describe(i: &BaseInterpreter) -> String {
    format!("{} (Python {}.{})", i.path, i.version.0, i.version.1)
}

/// Whether `venv` can make an environment with pip from this interpreter.
pub fn makes_venvs(i: &BaseInterpreter) -> bool {
    i.has_venv && i.has_ensurepip
}

/// The glibc the wheels may need, `(2, 36)`, from the base's own files.
pub fn glibc(facts: &BaseFacts, image: &str) -> anyhow::Result<(u32, u32)> {
    if let Some(g) = facts.glibc.filter(|g| *g < (2, 17)) {
        return Err(hinted(
            ErrorKind::Resolution,
            format!(
                "the base image {image} has glibc {}.{}, older than any manylinux level mlr resolves wheels for (2.17)",
                g.0, g.1
            ),
            "choose a base image with glibc 2.17 or newer",
        ));
    }
    facts.glibc.ok_or_else(|| {
        hinted(
            ErrorKind::Resolution,
            format!(
                "mlr cannot tell the glibc of the base image {image}: it has no libc6 in its dpkg status and no libc-2.X.so or ld-2.X.so file"
            ),
            "pip wheels need a glibc-based image (musl images such as Alpine are not supported)",
        )
    })
}

/// `debian 12`, `ubuntu 16.04`, from the base's os-release.
pub fn os_name(facts: &BaseFacts) -> String {
    match &facts.os.version_id {
        Some(v) => format!("{} {v}", facts.os.id),
        None => facts.os.id.clone(),
    }
}

/// The Python apt is asked for beside `[apt]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImplicitPython {
    None,
    /// This package (`python3-venv`, `python3.12-venv`) and its closure.
    Package(String),
    /// `python3-venv`, but only where the distribution's `python3` is
    /// this version; otherwise nothing.
    IfVersion((u32, u32)),
}

/// The interpreter chosen for a lock, before apt has run.
#[derive(Debug, Clone)]
pub struct Planned {
    pub choice: Choice,
    /// What the base holds; `None` when a standalone pin was kept unread.
    facts: Option<BaseFacts>,
    /// The old lock's standalone pin, kept as it is.
    kept: Option<crate::lock::PythonPin>,
}

/// Choose the interpreter. A standalone pin of the same base that still
/// fits `[python]` is kept without reading the image; otherwise the base
/// is read (`inspect`) and [`choose`] decides.
pub fn plan(
    manifest: &crate::manifest::Manifest,
    previous: Option<&crate::lock::PythonPin>,
    inspect: impl FnOnce() -> anyhow::Result<BaseFacts>,
) -> anyhow::Result<Planned> {
    let python = manifest.python.as_ref();
    let fits = |p: &crate::lock::PythonPin| {
        p.interpreter == PythonSource::Standalone
            && python
                .and_then(|m| m.source)
                .is_none_or(|s| s == p.interpreter)
            && python
                .and_then(|m| m.version.as_deref())
                .is_some_and(|v| p.release.as_deref().is_some_and(|r| release_matches(r, v)))
    };
    if let Some(p) = previous.filter(|p| fits(p)) {
        return Ok(Planned {
            choice: Choice::Standalone(p.release.clone().unwrap_or_default()),
            facts: None,
            kept: Some(p.clone()),
        });
    }
    let facts = inspect()?;
    Ok(Planned {
        choice: choose(python, &facts)?,
        facts: Some(facts),
        kept: None,
    })
}

/// Whether the release `3.13.5` is what `3.13` or `3.13.5` asks for.
fn release_matches(release: &str, asked: &str) -> bool {
    let r: Vec<&str> = release.split('.').collect();
    asked.split('.').zip(&r).all(|(a, b)| a == *b) && asked.split('.').count() <= r.len()
}

impl Planned {
    fn interpreter(&self) -> Option<&BaseInterpreter> {
        match self.choice {
            Choice::Base(i) => self.facts.as_ref()?.interpreters.get(i),
            _ => None,
        }
    }

    /// What apt must pin for this interpreter.
    pub fn implicit_apt(&self) -> ImplicitPython {
        match &self.choice {
            Choice::Base(_) => match self.interpreter() {
                Some(i) if !makes_venvs(i) && i.dpkg_managed => {
                    ImplicitPython::Package(format!("python{}.{}-venv", i.version.0, i.version.1))
                }
                _ => ImplicitPython::None,
            },
            Choice::Distro {
                or_standalone: None,
            } => ImplicitPython::Package(crate::requests::PYTHON_APT_REQUEST.to_string()),
            Choice::Distro {
                or_standalone: Some(v),
            } => ImplicitPython::IfVersion(*v),
            Choice::Standalone(_) => ImplicitPython::None,
        }
    }

    /// The lock's `[python]` and the base distributions to hold fixed,
    /// once apt has said which Python the distribution has (`distro`).
    pub fn settle(
        self,
        config: &Config,
        manifest: &crate::manifest::Manifest,
        distro: Option<(u32, u32)>,
    ) -> anyhow::Result<(
        crate::lock::PythonPin,
        Vec<crate::resolve::pip::BaseDistribution>,
    )> {
        if let Some(kept) = self.kept {
            return Ok((kept, Vec::new()));
        }
        let facts = self.facts.as_ref().expect("read unless kept");
        let image = manifest
            .base
            .as_ref()
            .map(|b| b.image.to_string())
            .unwrap_or_default();
        let glibc = glibc(facts, &image)?;
        let os = os_name(facts);
        let pin = |version: (u32, u32), interpreter| crate::lock::PythonPin {
            interpreter,
            ..crate::lock::PythonPin::distro(
                format!("{}.{}", version.0, version.1),
                format!("{}.{}", glibc.0, glibc.1),
                os.clone(),
            )
        };
        let python = manifest.python.as_ref();
        let version = python.and_then(|p| p.version.clone());
        let standalone = |version: &str| -> anyhow::Result<_> {
            let s = resolve_standalone(config, version, &manifest.project.platforms)?;
            let minor =
                minor_of(&s.release).context("a standalone release is MAJOR.MINOR.PATCH")?;
            Ok((
                crate::lock::PythonPin {
                    release: Some(s.release),
                    downloads: s.downloads,
                    ..pin(minor, PythonSource::Standalone)
                },
                Vec::new(),
            ))
        };
        match &self.choice {
            Choice::Base(_) => {
                let i = self.interpreter().expect("chosen from the facts");
                if !facts.unreadable.is_empty() {
                    config.shell.warn(format!(
                        "mlr could not read the metadata of {} in the base image; the resolution does not see them",
                        facts.unreadable.join(", ")
                    ));
                }
                let has_pip = i.distributions.iter().any(|d| d.name == "pip");
                if !makes_venvs(i) && !i.dpkg_managed && !has_pip {
                    return Err(hinted(
                        ErrorKind::Resolution,
                        format!(
                            "the base image's {} has neither `venv` with `ensurepip` nor pip, so mlr cannot install packages for it",
                            describe(i)
                        ),
                        "set [python] from = \"standalone\" (with a version) to install a standalone CPython",
                    ));
                }
                let shown: Vec<String> = i
                    .distributions
                    .iter()
                    .map(|d| format!("{} {}", d.name, d.version))
                    .collect();
                config.shell.verbose(
                    "Fixed",
                    format!("the base's {}: {}", describe(i), shown.join(", ")),
                );
                let base = i
                    .distributions
                    .iter()
                    .filter(|d| crate::manifest::pep508::is_version(&d.version))
                    .map(|d| crate::resolve::pip::BaseDistribution {
                        name: d.name.clone(),
                        version: d.version.clone(),
                        metadata: d.metadata.clone(),
                    })
                    .collect();
                Ok((
                    crate::lock::PythonPin {
                        path: Some(i.path.clone()),
                        ..pin(i.version, PythonSource::Base)
                    },
                    base,
                ))
            }
            Choice::Standalone(v) => standalone(v),
            Choice::Distro { or_standalone } => {
                // What apt pinned; for an image that names no apt archive
                // (the build then installs python3 by name, unpinned), the
                // release table's answer.
                let found = distro.or_else(|| {
                    let id = facts.os.version_id.as_deref().unwrap_or_default();
                    manifest
                        .compat()
                        .os_python(&facts.os.id, id)
                        .and_then(minor_of)
                });
                let wanted = version.as_deref().and_then(minor_of);
                match (found, or_standalone) {
                    (Some(f), Some(w)) if f != *w => {
                        standalone(version.as_deref().unwrap_or_default())
                    }
                    (None, Some(_)) => standalone(version.as_deref().unwrap_or_default()),
                    (Some(f), None) if wanted.is_some_and(|w| w != f) => Err(hinted(
                        ErrorKind::Resolution,
                        format!(
                            "[python] version = \"{}\", but the distribution of the base image ({os}) provides Python {}.{}",
                            version.as_deref().unwrap_or_default(),
                            f.0,
                            f.1
                        ),
                        format!(
                            "set [python] version = \"{}.{}\", or remove `from = \"distro\"` to install a standalone CPython",
                            f.0, f.1
                        ),
                    )),
                    (Some(f), _) => Ok((pin(f, PythonSource::Distro), Vec::new())),
                    (None, None) => Err(hinted(
                        ErrorKind::Resolution,
                        format!(
                            "the base image {image} has no Python, and mlr found no `python3` for it in its apt sources"
                        ),
                        "set [python] version (a standalone CPython is then installed), or add `[apt] sources` for the distribution",
                    )),
                }
            }
        }
    }
}

// ---- standalone builds -----------------------------------------------------

/// One entry of the download list (uv's `download-metadata.json`).
#[derive(Debug, Clone, Deserialize)]
struct Listed {
    name: String,
    arch: ListedArch,
    os: String,
    libc: String,
    major: u32,
    minor: u32,
    patch: u32,
    #[serde(default)]
    prerelease: String,
    url: String,
    sha256: Option<String>,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ListedArch {
    Family { family: String },
    Name(String),
}

impl ListedArch {
    fn family(&self) -> &str {
        match self {
            ListedArch::Family { family } => family,
            ListedArch::Name(n) => n,
        }
    }
}

/// A standalone build chosen for every platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standalone {
    /// `3.13.5`.
    pub release: String,
    /// Per platform, without sizes yet (`size` 0 until downloaded).
    pub downloads: Vec<PythonDownload>,
}

/// The download list's URL (canonical).
pub fn downloads_list() -> String {
    std::env::var("MLR_PYTHON_DOWNLOADS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DOWNLOADS_LIST.to_string())
}

/// Pick, from the download list `json`, the newest CPython release
/// matching `version` (`3.13` or `3.13.5`) with a glibc `install_only`
/// build for every platform: the default variant, no pre-release.
pub fn pick_standalone(
    json: &[u8],
    version: &str,
    platforms: &[Platform],
) -> anyhow::Result<Standalone> {
    let listed: BTreeMap<String, Listed> =
        serde_json::from_slice(json).context("parsing the Python download list")?;
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()
        .with_context(|| format!("`{version}` is not a Python version"))?;
    let fits = |l: &Listed| {
        l.name == "cpython"
            && l.os == "linux"
            && l.libc == "gnu"
            && l.prerelease.is_empty()
            && l.variant.is_none()
            && l.sha256.is_some()
            && (l.url.ends_with("install_only.tar.gz")
                || l.url.ends_with("install_only_stripped.tar.gz"))
            && [l.major, l.minor, l.patch]
                .iter()
                .zip(&parts)
                .all(|(a, b)| a == b)
    };
    let family = |p: &Platform| match p.architecture.as_str() {
        "amd64" => Some("x86_64"),
        "arm64" => Some("aarch64"),
        _ => None,
    };
    // Newest release first; a release counts only if every platform has it.
    let mut releases: Vec<(u32, u32, u32)> = listed
        .values()
        .filter(|l| fits(l))
        .map(|l| (l.major, l.minor, l.patch))
        .collect();
    releases.sort();
    releases.dedup();
    for &(major, minor, patch) in releases.iter().rev() {
        let mut downloads = Vec::new();
        for p in platforms {
            // The unstripped build where both are listed (debug symbols
            // are not wanted, but some lists carry only one of them).
            let mut candidates: Vec<&Listed> = listed
                .values()
                .filter(|l| fits(l) && (l.major, l.minor, l.patch) == (major, minor, patch))
                .filter(|l| Some(l.arch.family()) == family(p))
                .collect();
            candidates.sort_by_key(|l| (l.url.ends_with("_stripped.tar.gz"), l.url.clone()));
            if let Some(l) = candidates.first() {
                downloads.push(PythonDownload {
                    platform: p.to_string(),
                    url: l.url.clone(),
                    sha256: l.sha256.clone().unwrap_or_default().to_ascii_lowercase(),
                    size: 0,
                });
            }
        }
        if downloads.len() == platforms.len() {
            return Ok(Standalone {
                release: format!("{major}.{minor}.{patch}"),
                downloads,
            });
        }
    }
    let shown: Vec<String> = platforms.iter().map(ToString::to_string).collect();
    Err(hinted(
        ErrorKind::Resolution,
        format!(
            "the Python download list has no standalone CPython {version} for {}",
            shown.join(" and ")
        ),
        "choose another [python] version, or a base image that has it",
    ))
}

/// Look the build up in the download list and fetch each platform's
/// archive into the cache (hash-checked), which gives its size.
pub fn resolve_standalone(
    config: &Config,
    version: &str,
    platforms: &[Platform],
) -> anyhow::Result<Standalone> {
    let http = crate::http::Http::new(&config.net)?;
    let list = downloads_list();
    config.shell.status(
        "Resolving",
        format!(
            "standalone CPython {version} ({})",
            crate::redact::redact_url(&list)
        ),
    );
    let json = http
        .get(&config.mirrors.url(&list), None)
        .with_context(|| format!("fetching {}", crate::redact::redact_url(&list)))?;
    let mut standalone = pick_standalone(&json, version, platforms)?;
    for d in &mut standalone.downloads {
        let path = cached_archive(config, d)?;
        d.size = std::fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
    }
    Ok(standalone)
}

/// The archive of `download` in the cache, downloaded and hash-checked if
/// it is not there (or no longer matches).
pub fn cached_archive(
    config: &Config,
    download: &PythonDownload,
) -> anyhow::Result<std::path::PathBuf> {
    let file = crate::lock::consistency::url_file_name(&download.url).replace("%2B", "+");
    crate::http::cached_file(
        config,
        "python",
        &download.url,
        &download.sha256,
        &file,
        None,
        &mut None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platforms(list: &[&str]) -> Vec<Platform> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    fn entry(key: &str, arch: &str, v: (u32, u32, u32), url: &str) -> String {
        format!(
            r#""{key}": {{"name": "cpython", "arch": {{"family": "{arch}", "variant": null}}, "os": "linux", "libc": "gnu", "major": {}, "minor": {}, "patch": {}, "prerelease": "", "url": "{url}", "sha256": "{}", "variant": null}}"#,
            v.0,
            v.1,
            v.2,
            "a".repeat(64)
        )
    }

    #[test]
    fn picks_the_newest_release_every_platform_has() {
        let json = format!(
            "{{{}, {}, {}, {}}}",
            entry(
                "a",
                "x86_64",
                (3, 13, 5),
                "https://x/cpython-3.13.5-x86_64-install_only.tar.gz"
            ),
            entry(
                "b",
                "aarch64",
                (3, 13, 5),
                "https://x/cpython-3.13.5-aarch64-install_only.tar.gz"
            ),
            entry(
                "c",
                "x86_64",
                (3, 13, 6),
                "https://x/cpython-3.13.6-x86_64-install_only.tar.gz"
            ),
            entry(
                "d",
                "x86_64",
                (3, 12, 9),
                "https://x/cpython-3.12.9-x86_64-install_only.tar.gz"
            ),
        );
        let one = pick_standalone(json.as_bytes(), "3.13", &platforms(&["linux/amd64"])).unwrap();
        assert_eq!(one.release, "3.13.6");
        let both = pick_standalone(
            json.as_bytes(),
            "3.13",
            &platforms(&["linux/amd64", "linux/arm64"]),
        )
        .unwrap();
        assert_eq!(both.release, "3.13.5");
        assert_eq!(both.downloads.len(), 2);
        let exact =
            pick_standalone(json.as_bytes(), "3.13.5", &platforms(&["linux/amd64"])).unwrap();
        assert_eq!(exact.release, "3.13.5");
        let err =
            pick_standalone(json.as_bytes(), "3.14", &platforms(&["linux/amd64"])).unwrap_err();
        assert!(
            err.to_string().contains("no standalone CPython 3.14"),
            "{err}"
        );
    }

    #[test]
    fn skips_variants_prereleases_and_full_archives() {
        let json = format!(
            r#"{{{}, "f": {{"name": "cpython", "arch": {{"family": "x86_64", "variant": null}}, "os": "linux", "libc": "gnu", "major": 3, "minor": 13, "patch": 9, "prerelease": "", "url": "https://x/ft-install_only.tar.gz", "sha256": "{h}", "variant": "freethreaded"}}, "m": {{"name": "cpython", "arch": {{"family": "x86_64", "variant": null}}, "os": "linux", "libc": "musl", "major": 3, "minor": 13, "patch": 9, "prerelease": "", "url": "https://x/musl-install_only.tar.gz", "sha256": "{h}", "variant": null}}}}"#,
            entry("a", "x86_64", (3, 13, 1), "https://x/a-install_only.tar.gz"),
            h = "b".repeat(64)
        );
        let s = pick_standalone(json.as_bytes(), "3.13", &platforms(&["linux/amd64"])).unwrap();
        assert_eq!(s.release, "3.13.1");
    }

    fn facts(torch: Option<&str>, glibc: (u32, u32)) -> BaseFacts {
        BaseFacts {
            os: Default::default(),
            glibc: Some(glibc),
            musl: false,
            interpreters: vec![BaseInterpreter {
                path: "/usr/bin/python3.12".into(),
                version: (3, 12),
                prefix: "/usr".into(),
                base_prefix: "/usr".into(),
                stdlib: "/usr/lib/python3.12".into(),
                has_venv: true,
                has_ensurepip: true,
                externally_managed: false,
                dpkg_managed: true,
                site_dirs: vec!["/usr/local/lib/python3.12/dist-packages".into()],
                distributions: torch
                    .map(|v| super::super::base_python::BaseDistribution {
                        name: "torch".into(),
                        version: v.into(),
                        metadata: String::new(),
                        site: "/usr/local/lib/python3.12/dist-packages".into(),
                    })
                    .into_iter()
                    .collect(),
            }],
            unreadable: Vec::new(),
        }
    }

    #[test]
    fn platforms_of_one_base_must_carry_the_same_python() {
        let amd64 = facts(Some("2.6.0a0+nv25.01"), (2, 39));
        assert_eq!(same_python(&amd64, &amd64.clone()), Ok(()));
        let err = same_python(&amd64, &facts(Some("2.6.0a0+nv25.02"), (2, 39))).unwrap_err();
        assert!(
            err.contains("torch 2.6.0a0+nv25.01 on one and 2.6.0a0+nv25.02"),
            "{err}"
        );
        let err = same_python(&amd64, &facts(None, (2, 39))).unwrap_err();
        assert!(
            err.contains("torch 2.6.0a0+nv25.01 on one and nothing"),
            "{err}"
        );
        let err = same_python(&facts(None, (2, 39)), &amd64).unwrap_err();
        assert!(err.contains("has torch on one only"), "{err}");
        let err = same_python(&amd64, &facts(Some("2.6.0a0+nv25.01"), (2, 35))).unwrap_err();
        assert_eq!(err, "glibc 2.39 and 2.35");
    }

    #[test]
    fn the_base_interpreter_wins_unless_another_version_is_asked_for() {
        let base = facts(None, (2, 39));
        let python = |version: Option<&str>, source| Python {
            version: version.map(str::to_string),
            source,
        };
        assert_eq!(choose(None, &base).unwrap(), Choice::Base(0));
        assert_eq!(
            choose(Some(&python(Some("3.12"), None)), &base).unwrap(),
            Choice::Base(0)
        );
        assert_eq!(
            choose(Some(&python(Some("3.13"), None)), &base).unwrap(),
            Choice::Distro {
                or_standalone: Some((3, 13))
            }
        );
        assert_eq!(
            choose(
                Some(&python(Some("3.12"), Some(PythonSource::Standalone))),
                &base
            )
            .unwrap(),
            Choice::Standalone("3.12".into())
        );
        assert_eq!(
            choose(Some(&python(None, Some(PythonSource::Distro))), &base).unwrap(),
            Choice::Distro {
                or_standalone: None
            }
        );
        let err = choose(Some(&python(Some("3.13"), Some(PythonSource::Base))), &base).unwrap_err();
        assert!(
            err.to_string()
                .contains("/usr/bin/python3.12 (Python 3.12)"),
            "{err}"
        );
        let none = BaseFacts {
            interpreters: Vec::new(),
            ..base
        };
        assert_eq!(
            choose(None, &none).unwrap(),
            Choice::Distro {
                or_standalone: None
            }
        );
        assert!(choose(Some(&python(None, Some(PythonSource::Base))), &none).is_err());
    }
}
