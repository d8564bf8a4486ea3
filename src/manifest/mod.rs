//! `ml.toml`: wire types (serde + JSON schema) in [`wire`], and the validated
//! domain model below, which every later stage consumes.
//!
//! [`parse`] turns text into a [`Manifest`] or a [`FileError`] with
//! `ml.toml:LINE:COL` and a hint; [`Manifest::fingerprint`] hashes the
//! normalized model so comments, key order and line endings never matter.

pub mod exclude;
pub mod image_ref;
mod key_path;
pub mod marker;
pub mod pep508;
pub mod requirements_file;
mod suggest;
pub(crate) mod syntax;
mod validate;
pub mod wire;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::FileError;
pub use image_ref::ImageRef;

/// A validated `ml.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub project: Project,
    pub base: Option<Base>,
    pub cuda: Option<Cuda>,
    pub python: Option<Python>,
    pub framework: Option<Framework>,
    pub apt: Option<Apt>,
    pub pip: Option<Pip>,
    /// `[git.NAME]`, keyed by NAME.
    pub git: BTreeMap<String, GitSource>,
    pub env: BTreeMap<String, String>,
    pub image: ImageConfig,
    /// `[profile.NAME]`, keyed by NAME (for example `dev`).
    pub profiles: BTreeMap<String, Profile>,
    /// `[compat]`: rows that extend or replace mlr's compatibility data.
    pub compat: Option<crate::compat::CompatOverrides>,
    /// The project directories `name @ ./dir` requirements name, each with
    /// its tree's digest as read with the manifest (the lock records what
    /// it was). Not part of the fingerprint: checked by digest.
    #[serde(skip)]
    pub source_trees: Vec<SourceTree>,
}

/// A project directory a pip requirement builds from, and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTree {
    /// Relative to the project, `/`-separated.
    pub path: String,
    /// [`crate::source_tree::digest`]; `None` when it cannot be read.
    pub sha256: Option<String>,
}

impl Manifest {
    /// The compatibility data for this manifest: built-in plus `[compat]`.
    pub fn compat(&self) -> std::borrow::Cow<'static, crate::compat::Compat> {
        let builtin = crate::compat::Compat::builtin();
        match &self.compat {
            Some(extra) => std::borrow::Cow::Owned(builtin.with_overrides(extra)),
            None => std::borrow::Cow::Borrowed(builtin),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub name: Option<String>,
    /// Default `[Platform::linux_amd64()]`. Sorted, without duplicates.
    pub platforms: Vec<Platform>,
}

/// `os/arch[/variant]`, for example `linux/amd64` or `linux/arm64`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn linux_amd64() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Platform {
    type Err = String;
    /// Accepts `linux/amd64`, `linux/arm64`, `linux/arm64/v8`, `linux/arm/v7`,
    /// `linux/ppc64le`, `linux/s390x`, `linux/386`, `linux/riscv64`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let known_arch = [
            "amd64", "arm64", "arm", "ppc64le", "s390x", "386", "riscv64",
        ];
        match parts.as_slice() {
            [os, arch] | [os, arch, _] if *os == "linux" && known_arch.contains(arch) => {
                Ok(Platform {
                    os: (*os).to_string(),
                    architecture: (*arch).to_string(),
                    variant: parts.get(2).map(|v| (*v).to_string()),
                })
            }
            _ => Err(format!(
                "`{s}` is not a platform; expected `linux/<arch>[/<variant>]` with arch one of {}",
                known_arch.join(", ")
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Base {
    pub image: ImageRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cuda {
    /// `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, as written.
    pub version: String,
    pub cudnn: Option<String>,
    /// Default `devel` when git sources have build steps, else `runtime`.
    pub flavor: Option<crate::compat::Flavor>,
    /// Compute capabilities such as `8.0` or `8.6+PTX`, in the order written.
    pub arch: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Python {
    /// `3.X` or `3.X.Y`.
    pub version: Option<String>,
    /// `[python] from`; `None` chooses (see [`PythonSource`]).
    pub source: Option<PythonSource>,
}

/// Where the image's interpreter comes from (`[python] from`, and the
/// lock's `[python] interpreter`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PythonSource {
    /// The base image's own interpreter and its installed packages.
    Base,
    /// The distribution's `python3`, installed with apt.
    Distro,
    /// A pinned standalone CPython build (python-build-standalone).
    Standalone,
}

impl PythonSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PythonSource::Base => "base",
            PythonSource::Distro => "distro",
            PythonSource::Standalone => "standalone",
        }
    }
}

/// `[framework]`: package name (torch, torchvision, torchaudio, tensorflow,
/// jax, ...) to the version written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Framework {
    pub packages: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Apt {
    /// Requests as written: `name` or `name=version`.
    pub packages: Vec<String>,
    /// `YYYYMMDDTHHMMSSZ` or `auto`.
    pub snapshot: Option<String>,
    /// One-line `deb` sources replacing the base image's own (trimmed).
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pip {
    /// PEP 508 requirements, as written (whitespace-normalized); with
    /// those of the requirement files once they are read.
    pub packages: Vec<String>,
    pub index_url: Option<String>,
    pub indexes: Vec<PipIndex>,
    /// `[pip] requirements`: the files as written.
    pub requirements: Vec<String>,
    /// `[pip] build-constraints`, whitespace-normalized.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub build_constraints: Vec<String>,
    /// Constraints from the requirement files' `-c` files.
    pub constraints: Vec<String>,
    /// Every requirement file read (with those `-r` and `-c` pull in) and
    /// its sha256; the lock records them, so an edit to any is a finding.
    pub files: Vec<RequirementFile>,
    /// `[pip]` as ml.toml wrote it, before the files were read: what the
    /// fingerprint covers (the files are checked by their own hashes).
    #[serde(skip)]
    pub written: Option<Box<Pip>>,
}

/// A pip requirement file and the sha256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementFile {
    /// Relative to the project, `/`-separated.
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipIndex {
    pub name: String,
    pub url: String,
    /// Glob patterns of package names served only by this index.
    pub packages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitSource {
    pub url: String,
    /// Tag, branch, or full/short commit SHA, as written.
    pub rev: String,
    /// Shell commands run inside the checkout at build time.
    pub build: Vec<String>,
    pub submodules: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageConfig {
    pub workdir: Option<String>,
    /// Default `"ml"` (non-root).
    pub user: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub healthcheck: Option<Healthcheck>,
    pub copy: Vec<CopySpec>,
    /// The project's `.dockerignore`, applied to every copy source. Not
    /// from ml.toml, so not in the fingerprint: [`Manifest::apply_dockerignore`]
    /// sets it (`ops` reads the file beside ml.toml when `copy` is not
    /// empty), and the lock records its hash beside the fingerprint.
    #[serde(skip)]
    pub dockerignore: Option<DockerignoreFile>,
}

/// A `.dockerignore` with at least one pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerignoreFile {
    /// `sha256:<hex>` over its patterns as Docker reads them (see
    /// [`exclude::Dockerignore::normalized`]).
    pub sha256: String,
    pub rules: exclude::Dockerignore,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// Exec form when written as an array, shell form (one element, `shell = true`) when a string.
    pub cmd: Vec<String>,
    pub shell: bool,
    /// Docker durations such as `30s`, `1m30s`, as written.
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub retries: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopySpec {
    /// Relative to the directory holding `ml.toml`; never escapes it.
    pub src: String,
    /// Absolute path in the image.
    pub dst: String,
    /// What to leave out of `src` (gitignore patterns, as written). Left
    /// out of the fingerprint's JSON when empty, so a manifest written
    /// before `exclude` existed keeps its fingerprint.
    #[serde(skip_serializing_if = "exclude::Exclude::is_empty")]
    pub exclude: exclude::Exclude,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Profile {
    pub pip: Vec<String>,
    pub apt: Vec<String>,
}

/// The default non-root user of built images.
pub const DEFAULT_USER: &str = "ml";

/// Parse and validate `ml.toml` text. `path` is the path as shown to the user.
pub fn parse(source: &str, path: &str) -> Result<Manifest, FileError> {
    wire::parse(source, path)
}

impl Manifest {
    /// Read the project's `.dockerignore` (`text`, shown as `path` in
    /// errors) as the rules every `[image] copy` source follows. A file
    /// without patterns changes nothing and is not recorded.
    pub fn apply_dockerignore(&mut self, text: &str, path: &str) -> Result<(), FileError> {
        use sha2::{Digest, Sha256};
        let rules = exclude::Dockerignore::parse(text).map_err(|e| {
            let mut err = FileError::at_offset(path, text, e.offset, e.invalid.message);
            err.hint = e.invalid.hint;
            err
        })?;
        self.image.dockerignore = (!rules.is_empty()).then(|| DockerignoreFile {
            sha256: format!(
                "sha256:{}",
                hex::encode(Sha256::digest(rules.normalized().as_bytes()))
            ),
            rules,
        });
        Ok(())
    }

    /// `sha256:<hex>` over the canonical JSON of the validated model.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut written = self.clone();
        if let Some(pip) = written.pip.as_mut() {
            if let Some(as_written) = pip.written.take() {
                *pip = *as_written;
            }
        }
        let json = serde_json::to_value(&written).expect("manifest model serializes");
        let canonical = serde_json::to_string(&json).expect("json value serializes");
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        )
    }
}
