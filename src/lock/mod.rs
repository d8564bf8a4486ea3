//! `ml.lock`: the pinned model ([`Lockfile`]), its canonical writer
//! ([`write`]), its strict reader ([`read`]) with the [`grammar`] of every
//! field, the offline staleness check
//! ([`satisfies`], with the lock's internal [`consistency`]) and the
//! changes between two locks ([`diff`]).

pub mod consistency;
pub mod diff;
pub mod grammar;
pub mod read;
pub mod satisfies;
pub mod write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use read::parse;
pub use satisfies::{Finding, satisfies};
pub use write::render;

/// The lockfile format version this mlr reads and writes.
pub const VERSION: i64 = 1;

/// Everything `mlr lock` pinned. Each list is kept sorted by [`Lockfile::sort`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(
    title = "ml.lock",
    description = "mlr lockfile, version 1. Written by `mlr lock`; do not edit."
)]
pub struct Lockfile {
    /// Lockfile format version; always 1.
    pub version: i64,
    /// `sha256:` over the normalized `ml.toml` the lock was made from.
    pub fingerprint: String,
    /// `sha256:` over the patterns of the `.dockerignore` beside ml.toml
    /// that `[image] copy` applied; absent when there is none (or no copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerignore: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<PythonPin>,
    /// Container images: `base`, and `builder` for CUDA source builds.
    #[serde(default, rename = "image", skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImagePin>,
    /// Debian packages: the closure of the apt requests, per architecture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apt: Vec<AptPin>,
    /// `[pip] build-constraints` the `[[pip-build]]` pins were resolved
    /// with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_constraints: Vec<String>,
    /// Python distributions: the closure of the pip requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pip: Vec<PipPin>,
    /// What the pip packages built from source (sdists, git requirements)
    /// are built with: the closure of their PEP 517 build requirements,
    /// each pin's `via` naming the packages whose build installs it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pip_build: Vec<PipPin>,
    /// Git sources, each at a commit and tree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub git: Vec<GitPin>,
    /// Distributions the base image's Python already has that the pip pins
    /// rely on (`[python] interpreter = "base"`): fixed, never installed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_python: Vec<BaseDistributionPin>,
    /// The pip requirement files `[pip] requirements` read (with those they
    /// pull in), each with the sha256 the pins were resolved from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirement_file: Vec<RequirementFilePin>,
}

/// A pip requirement file as it was when the pins were resolved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RequirementFilePin {
    /// Relative to the project, `/`-separated.
    pub path: String,
    pub sha256: String,
}

/// A distribution installed in the base image's Python environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BaseDistributionPin {
    /// The PEP 503 normalized name.
    pub name: String,
    /// The version its metadata declares, as written there.
    pub version: String,
}

/// Where a standalone CPython is installed in the image (owned by root).
pub const STANDALONE_PREFIX: &str = "/opt/mlr/python";

/// A standalone CPython build for one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PythonDownload {
    pub platform: String,
    /// Canonical URL of the `install_only` archive (never a mirror's).
    pub url: String,
    pub sha256: String,
    pub size: u64,
}

/// A container image pinned by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImagePin {
    /// Role of the image: `base`.
    pub name: String,
    /// The reference as written in `ml.toml`.
    pub requested: String,
    /// The registry host the reference names (never a mirror's).
    pub registry: String,
    /// The repository within that registry.
    pub repository: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Digest the reference resolved to: the image index when there is one,
    /// else the single manifest.
    pub digest: String,
    /// Media type of the manifest behind `digest`.
    pub media_type: String,
    /// Per-platform manifest digests, sorted by platform.
    pub platforms: Vec<PlatformDigest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PlatformDigest {
    /// `linux/amd64`, ...
    pub platform: String,
    pub digest: String,
}

/// A Debian package pinned to a version and `.deb` hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AptPin {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// Mirror or snapshot URL (canonical, never a credential).
    pub source: String,
    pub suite: String,
    pub component: String,
    pub filename: String,
    pub sha256: String,
    /// The request from `ml.toml` as written, for direct requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// The direct requests that pulled this package in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

/// A Python distribution pinned to a version and artifact hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PipPin {
    /// The PEP 503 normalized name.
    pub name: String,
    /// The exact version, which each artifact's file name carries too.
    pub version: String,
    /// Index name (never its URL with credentials).
    pub index: String,
    /// The requirement from `ml.toml` as written, for direct requirements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// The packages that pulled this one in (for `[[pip-build]]`, the
    /// packages whose build environment has it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// A `name @ git+URL@REV` requirement: its repository at a commit.
    /// Such a pin has no artifacts; the build makes its wheel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<PipGitSource>,
    /// A `name @ ./dir` requirement: the project directory and its tree's
    /// digest. Such a pin has no artifacts; the build makes its wheel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PipPathSource>,
    /// For a package built from source: its build environment, as the
    /// `name==version` of `[[pip-build]]` pins (possibly none). Absent on
    /// a package installed from a wheel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_requires: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<PipArtifact>,
}

/// The repository of a `name @ git+URL@REV` requirement, pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PipGitSource {
    /// The repository URL, without `git+` (never a credential).
    pub url: String,
    pub commit: String,
    pub tree: String,
    /// Each gitlink's path and commit: pip checks submodules out too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub submodules: Vec<SubmodulePin>,
}

impl PipGitSource {
    /// The same repository as a git source pin named `name`, for export.
    pub fn as_git_pin(&self, name: &str) -> GitPin {
        GitPin {
            name: name.to_string(),
            url: self.url.clone(),
            requested: self.commit.clone(),
            commit: self.commit.clone(),
            tree: self.tree.clone(),
            submodules: self.submodules.clone(),
        }
    }
}

/// The directory of a `name @ ./dir` requirement, pinned by content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PipPathSource {
    /// Relative to the project, `/`-separated.
    pub path: String,
    /// sha256 of the tree ([`crate::source_tree::digest`]).
    pub sha256: String,
}

impl PipPin {
    /// Whether the image builds this package from source (an sdist, a git
    /// repository or a project directory) rather than installing a wheel.
    pub fn built(&self) -> bool {
        self.git.is_some() || self.path.is_some() || self.artifacts.iter().any(|a| a.sdist)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PipArtifact {
    pub platform: String,
    pub filename: String,
    pub url: String,
    pub sha256: String,
    pub size: u64,
    /// A source distribution, built at image build time (no wheel fits).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sdist: bool,
}

/// The interpreter and platform level pip packages were resolved for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PythonPin {
    /// `3.11`.
    pub version: String,
    /// glibc of the base image; wheels up to `manylinux_<glibc>` were allowed.
    pub glibc: String,
    /// The base image's distribution, from its `/etc/os-release` (`debian 12`).
    pub os: String,
    /// Where the interpreter comes from; `distro` when absent (locks
    /// written before mlr read base images).
    #[serde(default = "distro", skip_serializing_if = "is_distro")]
    pub interpreter: crate::manifest::PythonSource,
    /// The base image's interpreter (`interpreter = "base"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The full CPython version of a standalone build, `3.13.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The standalone build per platform (`interpreter = "standalone"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub downloads: Vec<PythonDownload>,
}

fn distro() -> crate::manifest::PythonSource {
    crate::manifest::PythonSource::Distro
}

fn is_distro(s: &crate::manifest::PythonSource) -> bool {
    *s == crate::manifest::PythonSource::Distro
}

impl PythonPin {
    /// The distribution's Python, as locks before interpreters were read.
    pub fn distro(version: String, glibc: String, os: String) -> PythonPin {
        PythonPin {
            version,
            glibc,
            os,
            interpreter: crate::manifest::PythonSource::Distro,
            path: None,
            release: None,
            downloads: Vec::new(),
        }
    }
}

/// A git source pinned to a commit and tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GitPin {
    pub name: String,
    pub url: String,
    /// The rev as written in `ml.toml`.
    pub requested: String,
    pub commit: String,
    pub tree: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub submodules: Vec<SubmodulePin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SubmodulePin {
    pub path: String,
    pub commit: String,
}

/// What apt and pip pins share: a name, a version, and the request of
/// `ml.toml` that asked for it (none for what a request pulled in).
pub trait PackagePin {
    fn name(&self) -> &str;
    fn version(&self) -> &str;
    fn requested(&self) -> Option<&str>;
    /// The version as a change shows it: with the commit or tree of a
    /// package built from a source mlr pins itself.
    fn shown_version(&self) -> String {
        self.version().to_string()
    }
}

impl PackagePin for AptPin {
    fn name(&self) -> &str {
        &self.name
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn requested(&self) -> Option<&str> {
        self.requested.as_deref()
    }
}

impl PackagePin for PipPin {
    fn name(&self) -> &str {
        &self.name
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn requested(&self) -> Option<&str> {
        self.requested.as_deref()
    }
    fn shown_version(&self) -> String {
        match (&self.git, &self.path) {
            (Some(g), _) => format!("{} ({})", self.version, &g.commit[..g.commit.len().min(12)]),
            (_, Some(d)) => format!(
                "{} (tree {})",
                self.version,
                &d.sha256[..d.sha256.len().min(12)]
            ),
            _ => self.version.clone(),
        }
    }
}

impl Lockfile {
    pub fn new(fingerprint: String) -> Self {
        Lockfile {
            version: VERSION,
            fingerprint,
            ..Default::default()
        }
    }

    /// Sort every list into canonical order: by name, then version/platform.
    pub fn sort(&mut self) {
        self.images.sort_by(|a, b| a.name.cmp(&b.name));
        for i in &mut self.images {
            i.platforms.sort_by(|a, b| a.platform.cmp(&b.platform));
        }
        self.apt.sort_by(|a, b| {
            (&a.name, &a.architecture, &a.version).cmp(&(&b.name, &b.architecture, &b.version))
        });
        for a in &mut self.apt {
            a.via.sort();
            a.via.dedup();
        }
        for pins in [&mut self.pip, &mut self.pip_build] {
            pins.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
            for p in pins.iter_mut() {
                p.via.sort();
                p.via.dedup();
                p.artifacts
                    .sort_by(|a, b| (&a.platform, &a.filename).cmp(&(&b.platform, &b.filename)));
                if let Some(b) = &mut p.build_requires {
                    b.sort();
                    b.dedup();
                }
            }
        }
        self.git.sort_by(|a, b| a.name.cmp(&b.name));
        for g in &mut self.git {
            g.submodules.sort_by(|a, b| a.path.cmp(&b.path));
        }
        self.base_python.sort();
        self.base_python.dedup();
        self.requirement_file.sort();
        self.requirement_file.dedup();
        if let Some(p) = &mut self.python {
            p.downloads.sort_by(|a, b| a.platform.cmp(&b.platform));
        }
    }

    pub fn image(&self, name: &str) -> Option<&ImagePin> {
        self.images.iter().find(|i| i.name == name)
    }

    pub fn git_pin(&self, name: &str) -> Option<&GitPin> {
        self.git.iter().find(|g| g.name == name)
    }

    /// The snapshot timestamp (`20250520T000000Z`) of the apt sources, if
    /// they come from a snapshot archive.
    pub fn apt_snapshot(&self) -> Option<&str> {
        self.apt.iter().find_map(|p| {
            let s = p.source.as_str();
            (s.contains("snapshot.debian.org/") || s.contains("snapshot.ubuntu.com/"))
                .then(|| s.rsplit('/').next().unwrap_or(""))
        })
    }

    /// `SOURCE_DATE_EPOCH` for builds from this lock: the apt snapshot's
    /// time when there is one (nothing in the image is newer than its
    /// packages), else 0. A function of the lock alone, never of the clock.
    pub fn source_date_epoch(&self) -> u64 {
        self.apt_snapshot().and_then(snapshot_epoch).unwrap_or(0)
    }
}

pub use crate::requests::{BUILD_APT_REQUESTS, PYTHON_APT_REQUEST};

impl Lockfile {
    /// The build tools its packages built from source need: compilers
    /// always, and the distribution's Python headers when its Python is
    /// the distribution's (a standalone CPython carries its own; a base
    /// image's interpreter has what its image installed). None when
    /// nothing is built.
    pub fn build_apt_requests(&self) -> Vec<String> {
        if !self.pip.iter().any(PipPin::built) {
            return Vec::new();
        }
        let distro = self
            .python
            .as_ref()
            .is_some_and(|p| p.interpreter == crate::manifest::PythonSource::Distro);
        BUILD_APT_REQUESTS
            .iter()
            .take(if distro { 2 } else { 1 })
            .map(|s| s.to_string())
            .collect()
    }
}

impl AptPin {
    /// Whether the pin is there only for building from source: no request
    /// of `ml.toml` and nothing but the build tools pulled it in.
    pub fn build_only(&self) -> bool {
        self.requested.is_none()
            && !self.via.is_empty()
            && self
                .via
                .iter()
                .all(|v| BUILD_APT_REQUESTS.contains(&v.as_str()))
    }
}

/// Seconds since 1970 for a `YYYYMMDDTHHMMSSZ` timestamp.
fn snapshot_epoch(ts: &str) -> Option<u64> {
    let b = ts.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn snapshot_timestamps_are_epoch_seconds() {
        assert_eq!(super::snapshot_epoch("19700101T000000Z"), Some(0));
        assert_eq!(
            super::snapshot_epoch("20250520T000000Z"),
            Some(1_747_699_200)
        );
        assert_eq!(
            super::snapshot_epoch("20240229T123456Z"),
            Some(1_709_210_096)
        );
        assert_eq!(super::snapshot_epoch("2025052T000000Z"), None);
        assert_eq!(super::snapshot_epoch("20251320T000000Z"), None);
    }

    use super::*;

    fn sample() -> Lockfile {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        Lockfile {
            version: VERSION,
            fingerprint: d('f'),
            images: vec![ImagePin {
                name: "base".into(),
                requested: "127.0.0.1:5000/debian:bookworm".into(),
                registry: "127.0.0.1:5000".into(),
                repository: "debian".into(),
                tag: Some("bookworm".into()),
                digest: d('a'),
                media_type: "application/vnd.oci.image.index.v1+json".into(),
                platforms: vec![
                    PlatformDigest {
                        platform: "linux/arm64".into(),
                        digest: d('c'),
                    },
                    PlatformDigest {
                        platform: "linux/amd64".into(),
                        digest: d('b'),
                    },
                ],
            }],
            git: vec![
                GitPin {
                    name: "zeta".into(),
                    url: "file:///tmp/zeta".into(),
                    requested: "main".into(),
                    commit: "1".repeat(40),
                    tree: "2".repeat(40),
                    submodules: vec![],
                },
                GitPin {
                    name: "alpha".into(),
                    url: "https://example.com/a.git".into(),
                    requested: "v1".into(),
                    commit: "3".repeat(40),
                    tree: "4".repeat(40),
                    submodules: vec![SubmodulePin {
                        path: "third_party/x".into(),
                        commit: "5".repeat(40),
                    }],
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn writer_is_canonical_and_round_trips() {
        let text = render(&sample());
        assert!(text.starts_with("# This file is @generated by mlr."));
        assert!(text.contains("run `mlr lock`"));
        assert!(text.contains("\nversion = 1\n"));
        // Sorted: alpha before zeta, amd64 before arm64.
        assert!(text.find("name = \"alpha\"").unwrap() < text.find("name = \"zeta\"").unwrap());
        assert!(text.find("linux/amd64").unwrap() < text.find("linux/arm64").unwrap());
        let read = parse(&text, "ml.lock").unwrap();
        assert_eq!(read.non_canonical_line, None);
        let mut sorted = sample();
        sorted.sort();
        assert_eq!(read.lock, sorted);
        assert_eq!(render(&read.lock), text);
        // CRLF checkouts are still canonical.
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(parse(&crlf, "ml.lock").unwrap().non_canonical_line, None);
    }

    #[test]
    fn hand_edits_are_not_canonical() {
        let text = render(&sample());
        let edited = text.replace("requested = \"main\"", "requested    = \"main\"");
        let read = parse(&edited, "ml.lock").unwrap();
        let line = edited
            .lines()
            .position(|l| l.starts_with("requested    ="))
            .unwrap()
            + 1;
        assert_eq!(read.non_canonical_line, Some(line));
    }

    #[test]
    fn conflict_markers_and_future_versions_are_errors() {
        let text = render(&sample());
        let conflicted = text.replacen("[[git]]", "<<<<<<< HEAD\n[[git]]", 1);
        let e = parse(&conflicted, "ml.lock").unwrap_err();
        assert!(e.message.contains("merge conflict"), "{e}");
        let line = conflicted
            .lines()
            .position(|l| l.starts_with("<<<<<<<"))
            .unwrap()
            + 1;
        assert_eq!(e.line, Some(line));

        let future = text.replace("version = 1", "version = 99");
        let e = parse(&future, "ml.lock").unwrap_err();
        assert!(e.message.contains("version 99 is newer"), "{e}");
        assert_eq!((e.line, e.column), (Some(3), Some(11)));

        let e = parse("version = \"1\"\n", "ml.lock").unwrap_err();
        assert!(e.message.contains("integer"), "{e}");
        let e = parse("version = 1\nfingerprint = \"x\"\nbogus = 1\n", "ml.lock").unwrap_err();
        assert!(e.message.contains("bogus"), "{e}");
        assert_eq!(e.line, Some(3));
        let e = parse("version = [\n", "ml.lock").unwrap_err();
        assert!(e.message.contains("invalid TOML"), "{e}");
    }
}
