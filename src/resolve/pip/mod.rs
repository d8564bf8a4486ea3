//! Python packages: the direct requirements (framework, `[pip]`, profiles)
//! and their whole closure are resolved with uv for the image's interpreter,
//! once per locked platform, and each package is pinned to the exact
//! artifact (wheel, or a flagged sdist) that platform installs.
//!
//! Index routing: a package matched by a `[[pip.index]]` pattern is only
//! ever taken from that index (uv "explicit" indexes with sources); every
//! other package only from the default index.

pub mod backend;
pub mod plan;
pub mod sources;
pub mod tags;
pub mod uv;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::config::Config;
use crate::error::{ErrorKind, hinted};
use crate::lock::{PipArtifact, PipPin};
use crate::manifest::Platform;
use crate::redact::{redact_text, redact_url};
use tags::Target;

/// PyPI's simple index, the default.
pub const PYPI: &str = "https://pypi.org/simple";

/// The name of the root project uv sees; never a real package.
const ROOT: &str = "mlr-environment-root";

/// A named index and the package-name globs routed to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    /// Canonical URL (mirrors are applied when fetching).
    pub url: String,
    pub patterns: Vec<String>,
}

/// Everything one pip resolution needs.
#[derive(Debug, Clone)]
pub struct PipRequest {
    /// Direct requirements: (as `ml.lock` records it, as uv is asked).
    pub requirements: Vec<(String, String)>,
    pub default_index: IndexSpec,
    pub indexes: Vec<IndexSpec>,
    /// CPython `(3, 11)`.
    pub python: (u32, u32),
    /// glibc of the base image, `(2, 36)`.
    pub glibc: (u32, u32),
    pub platforms: Vec<Platform>,
    /// Existing pins, kept where they still fit (minimal change).
    pub preferences: Vec<PipPin>,
    /// `None`: keep preferences. `Some(empty)`: upgrade all. Else these names.
    pub upgrade: Option<BTreeSet<String>>,
    /// Distributions the base image's interpreter already has: fixed, so
    /// the resolution takes them as they are and never installs them.
    pub base: Vec<BaseDistribution>,
    /// Constraints from the requirement files' `-c` files (PEP 508).
    pub constraints: Vec<String>,
    /// The direct `name @ git+URL` requirements, each already pinned to a
    /// commit (uv is asked for `git+URL@COMMIT`), by normalized name.
    pub git: BTreeMap<String, crate::lock::PipGitSource>,
    /// The direct `name @ ./dir` requirements (uv is asked for the
    /// directory's `file://` URL), by normalized name.
    pub paths: BTreeMap<String, crate::lock::PipPathSource>,
}

/// A distribution installed in the base image, with its core metadata
/// (`Requires-Dist` included), as uv is shown it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseDistribution {
    /// PEP 503 normalized.
    pub name: String,
    pub version: String,
    /// The `METADATA` text found in the image.
    pub metadata: String,
}

/// What one resolution pinned: the files to install, and the base
/// image's distributions the pins rely on.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    pub pins: Vec<PipPin>,
    pub base: Vec<crate::lock::BaseDistributionPin>,
}

pub use crate::package_name::normalize;
use crate::package_name::requirement_name;

/// Whether `name` matches a glob (`*` and `?`), both normalized.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(normalize(pattern).as_bytes(), normalize(name).as_bytes())
}

impl PipRequest {
    /// The index a package is routed to.
    pub fn index_for(&self, name: &str) -> &IndexSpec {
        self.indexes
            .iter()
            .find(|i| i.patterns.iter().any(|p| glob_matches(p, name)))
            .unwrap_or(&self.default_index)
    }
}

/// One package as uv resolved it for one platform.
#[derive(Debug, Clone)]
struct Resolved {
    /// Empty for a direct URL until the artifacts say it.
    version: String,
    via: Vec<String>,
    direct: bool,
    /// A direct URL requirement's URL (`#sha256=` fragment kept).
    url: Option<String>,
}

/// Resolve with uv at `uv_bin`, one platform after another; later
/// platforms prefer the versions earlier ones chose.
pub fn resolve(config: &Config, uv_bin: &Path, request: &PipRequest) -> anyhow::Result<Resolution> {
    let mut by_key: BTreeMap<(String, String), PipPin> = BTreeMap::new();
    let mut relied_on: BTreeSet<crate::lock::BaseDistributionPin> = BTreeSet::new();
    let base_names: BTreeMap<&str, &BaseDistribution> =
        request.base.iter().map(|b| (b.name.as_str(), b)).collect();
    let mut preferred: BTreeMap<String, String> = request
        .preferences
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    for platform in &request.platforms {
        let arch = tags::machine(&platform.architecture)
            .with_context(|| format!("no Python platform for {platform}"))?;
        let target = Target {
            python: request.python,
            arch: arch.to_string(),
            glibc: request.glibc,
        };
        config.shell.status(
            "Resolving",
            format!(
                "pip for {platform} (python {}.{}, manylinux_{}_{})",
                request.python.0, request.python.1, request.glibc.0, request.glibc.1
            ),
        );
        let work = tempfile::Builder::new()
            .prefix("mlr-pip-")
            .tempdir()
            .context("creating a temporary directory")?;
        write_base_stubs(&request.base, work.path())?;
        std::fs::write(
            work.path().join(USER_CONSTRAINTS),
            request
                .constraints
                .iter()
                .map(|c| format!("{c}\n"))
                .collect::<String>(),
        )
        .context("writing the requirement files' constraints for uv")?;
        let resolved = compile_versions(config, uv_bin, request, &target, &preferred, work.path())?;
        let artifacts =
            compile_artifacts(config, uv_bin, request, &target, &resolved, work.path())?;
        for (name, r) in &resolved {
            if let Some(b) = base_names.get(name.as_str()) {
                // The constraints hold it at the installed version.
                if !crate::lock::consistency::same_version(&b.version, &r.version) {
                    bail!(
                        "uv chose {name} {}, but the base image has {name} {} installed, which the resolution must keep",
                        r.version,
                        b.version
                    );
                }
                relied_on.insert(crate::lock::BaseDistributionPin {
                    name: b.name.clone(),
                    version: b.version.clone(),
                });
                continue;
            }
            let Some(pkg) = artifacts.get(name) else {
                bail!("uv did not report artifacts for {name} {}", r.version);
            };
            // A git or directory requirement carries the source mlr pinned;
            // only a direct requirement has one.
            let (mut git, mut path) = (None, None);
            let (version, artifact, index) = match &r.url {
                Some(url) if url.starts_with("git+") => {
                    let source = request.git.get(name).cloned();
                    git =
                        Some(source.ok_or_else(|| named_by_dependency(name, url, "git+URL@REV"))?);
                    let version = pkg
                        .version
                        .clone()
                        .with_context(|| format!("uv gave no version for {name} @ {url}"))?;
                    (version, None, GIT_INDEX.to_string())
                }
                // A directory's version is its metadata's: read when its
                // build environment is locked (`sources`).
                Some(url) if url.starts_with("file://") => {
                    let source = request.paths.get(name).cloned();
                    path = Some(source.ok_or_else(|| named_by_dependency(name, url, "./DIR"))?);
                    (
                        pkg.version.clone().unwrap_or_default(),
                        None,
                        PATH_INDEX.to_string(),
                    )
                }
                Some(url) => {
                    let version = pkg
                        .version
                        .clone()
                        .with_context(|| format!("uv gave no version for {name} @ {url}"))?;
                    let artifact = direct_artifact(config, name, url, pkg, &target, platform)?;
                    (version, Some(artifact), DIRECT_INDEX.to_string())
                }
                None => (
                    r.version.clone(),
                    Some(choose_artifact(
                        config, name, &r.version, pkg, &target, platform,
                    )?),
                    request.index_for(name).name.clone(),
                ),
            };
            let pin = by_key
                .entry((name.clone(), version.clone()))
                .or_insert_with(|| PipPin {
                    name: name.clone(),
                    version: version.clone(),
                    index,
                    requested: direct_request(&request.requirements, name),
                    via: Vec::new(),
                    git: git.clone(),
                    path: path.clone(),
                    build_requires: None,
                    artifacts: Vec::new(),
                });
            pin.via.extend(r.via.iter().filter(|v| *v != ROOT).cloned());
            if r.direct && pin.requested.is_none() {
                pin.requested = direct_request(&request.requirements, name);
            }
            pin.artifacts.extend(artifact);
            // A URL is its own pin: no version preference for it.
            if r.url.is_none() {
                preferred.insert(name.clone(), r.version.clone());
            }
        }
    }
    let mut pins: Vec<PipPin> = by_key.into_values().collect();
    for p in &mut pins {
        p.via.sort();
        p.via.dedup();
        p.artifacts.sort_by(|a, b| a.platform.cmp(&b.platform));
    }
    Ok(Resolution {
        pins,
        base: relied_on.into_iter().collect(),
    })
}

/// A source URL only a dependency names: mlr pins a git commit or a
/// directory's tree only for a direct requirement (`form` is how to write
/// one).
fn named_by_dependency(name: &str, url: &str, form: &str) -> anyhow::Error {
    hinted(
        ErrorKind::Resolution,
        format!(
            "the resolution needs {name} @ {}, which a dependency names",
            redact_url(url)
        ),
        format!("require it yourself in [pip] packages, as `{name} @ {form}`, so mlr pins it"),
    )
}

/// The `-c` constraints of the requirement files, as uv reads them.
const USER_CONSTRAINTS: &str = "constraints.txt";

/// The directory of stub wheels that stand for the base's distributions.
const BASE_STUBS: &str = "base-distributions";

/// One stub wheel per base distribution, carrying its real metadata (so uv
/// sees its dependencies), in a flat directory uv reads with
/// `--find-links`; and `base-constraints.txt`, which fixes each at its
/// installed version. A version a wheel file name cannot carry is left
/// out of the stubs but still constrained, so uv fails rather than
/// replaces it.
fn write_base_stubs(base: &[BaseDistribution], dir: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let stubs = dir.join(BASE_STUBS);
    std::fs::create_dir_all(&stubs).context("creating the base distribution stubs")?;
    let mut constraints = String::new();
    for b in base {
        constraints.push_str(&format!("{}=={}\n", b.name, b.version));
        if b.version.contains(['-', '_', '/', ' ']) {
            continue;
        }
        let dist = b.name.replace('-', "_");
        let file = stubs.join(format!("{dist}-{}-py3-none-any.whl", b.version));
        let info = format!("{dist}-{}.dist-info", b.version);
        // Requires-Python is left out: the base runs it already.
        let metadata: String = b
            .metadata
            .lines()
            .filter(|l| !l.starts_with("Requires-Python:"))
            .take_while(|l| !l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        let mut zip = zip::ZipWriter::new(
            std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?,
        );
        let options = zip::write::SimpleFileOptions::default();
        for (name, body) in [
            ("METADATA", metadata.as_str()),
            (
                "WHEEL",
                "Wheel-Version: 1.0\nGenerator: mlr\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            ),
            ("RECORD", ""),
        ] {
            zip.start_file(format!("{info}/{name}"), options)?;
            zip.write_all(body.as_bytes())?;
        }
        zip.finish()?;
    }
    std::fs::write(dir.join("base-constraints.txt"), constraints)
        .context("writing the base distribution constraints")?;
    Ok(())
}

fn direct_request(requirements: &[(String, String)], name: &str) -> Option<String> {
    requirements
        .iter()
        .find(|(r, _)| requirement_name(r) == name)
        .map(|(r, _)| r.clone())
}

impl PipRequest {
    fn is_direct(&self, name: &str) -> bool {
        self.requirements
            .iter()
            .any(|(r, _)| requirement_name(r) == name)
    }
}

/// The `pyproject.toml` uv compiles: the direct requirements, plus the
/// explicit indexes and the packages routed to them.
fn pyproject(request: &PipRequest, extra_routed: &BTreeSet<String>, config: &Config) -> String {
    use crate::lock::write::quote;
    let mut deps: Vec<String> = request
        .requirements
        .iter()
        .map(|(_, uv)| uv.clone())
        .collect();
    for name in extra_routed {
        if !request.is_direct(name) {
            deps.push(name.clone());
        }
    }
    let mut s = format!(
        "[project]\nname = \"{ROOT}\"\nversion = \"0\"\nrequires-python = \"=={}.{}.*\"\ndependencies = [\n",
        request.python.0, request.python.1
    );
    for d in &deps {
        s.push_str(&format!("    {},\n", quote(d)));
    }
    s.push_str("]\n");
    for index in &request.indexes {
        s.push_str(&format!(
            "\n[[tool.uv.index]]\nname = {}\nurl = {}\nexplicit = true\n",
            quote(&index.name),
            quote(&config.mirrors.url(&index.url))
        ));
    }
    let routed: Vec<(String, &str)> = deps
        .iter()
        .map(|d| requirement_name(d).to_string())
        .filter_map(|n| {
            let idx = request.index_for(&n);
            (idx.name != request.default_index.name).then_some((n, idx.name.as_str()))
        })
        .collect();
    if !routed.is_empty() {
        s.push_str("\n[tool.uv.sources]\n");
        let mut seen = BTreeSet::new();
        for (n, idx) in routed {
            if seen.insert(n.clone()) {
                s.push_str(&format!("{} = {{ index = {} }}\n", quote(&n), quote(idx)));
            }
        }
    }
    s
}

fn uv_command(
    config: &Config,
    uv_bin: &Path,
    request: &PipRequest,
    target: &Target,
    dir: &Path,
) -> Command {
    let mut cmd = Command::new(uv_bin);
    // Only credentials and the proxy reach uv from the environment; no
    // user uv configuration may change a resolution.
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("UV_")
            && !(k.starts_with("UV_INDEX_")
                && (k.ends_with("_USERNAME") || k.ends_with("_PASSWORD")))
        {
            cmd.env_remove(&key);
        }
    }
    cmd.current_dir(dir)
        .env("UV_CACHE_DIR", config.cache_dir.join("uv"))
        .env("UV_NO_PROGRESS", "1")
        // The target interpreter is never on this host: uv must not try to
        // download one to build with (GitHub may be unreachable; ~5 s each).
        .env("UV_PYTHON_DOWNLOADS", "never")
        // uv retries on its own; it gets mlr's stall timeout and retries.
        .env("UV_HTTP_TIMEOUT", config.net.timeout.as_secs().to_string())
        .env("UV_HTTP_RETRIES", config.net.retries.to_string())
        .stdin(std::process::Stdio::null())
        .args([
            "pip",
            "compile",
            "pyproject.toml",
            "--no-config",
            "--no-header",
            "--quiet",
        ])
        .arg("--python-version")
        .arg(format!("{}.{}", target.python.0, target.python.1))
        .arg("--python-platform")
        .arg(
            target
                .uv_platform()
                .unwrap_or_else(|| format!("{}-manylinux_2_17", target.arch)),
        )
        .arg("--default-index")
        .arg(config.mirrors.url(&request.default_index.url))
        .arg("--index-strategy")
        .arg("first-index");
    if config.offline {
        cmd.arg("--offline");
    }
    if !request.constraints.is_empty() {
        cmd.args(["-c", USER_CONSTRAINTS]);
    }
    if !request.base.is_empty() {
        cmd.arg("--find-links")
            .arg(dir.join(BASE_STUBS))
            .args(["-c", "base-constraints.txt"]);
    }
    cmd
}

fn run_uv(mut cmd: Command, request: &PipRequest) -> anyhow::Result<()> {
    let out = cmd.output().context("running uv")?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = redact_text(String::from_utf8_lossy(&out.stderr).trim());
    Err(hinted(
        ErrorKind::Resolution,
        format!("pip resolution failed:\n{stderr}"),
        if request.base.is_empty() {
            "check the requirements in ml.toml and that the indexes are reachable"
        } else {
            "the base image's Python packages are fixed at their installed versions (listed by `--verbose`); require versions they satisfy, or set [python] from = \"standalone\" for an interpreter of your own"
        },
    ))
}

/// First uv run: versions and "via" annotations, with preferences.
fn compile_versions(
    config: &Config,
    uv_bin: &Path,
    request: &PipRequest,
    target: &Target,
    preferred: &BTreeMap<String, String>,
    dir: &Path,
) -> anyhow::Result<BTreeMap<String, Resolved>> {
    let mut routed: BTreeSet<String> = BTreeSet::new();
    let mut first_vias: Option<BTreeMap<String, Resolved>> = None;
    for _round in 0..3 {
        std::fs::write(
            dir.join("pyproject.toml"),
            pyproject(request, &routed, config),
        )
        .context("writing pyproject.toml for uv")?;
        // Existing pins act as preferences: uv keeps what it can.
        let seed: String = preferred
            .iter()
            .map(|(n, v)| format!("{n}=={v}\n"))
            .collect();
        std::fs::write(dir.join("requirements.txt"), seed).context("writing preferences for uv")?;
        let mut cmd = uv_command(config, uv_bin, request, target, dir);
        cmd.args(["--annotation-style", "line", "-o", "requirements.txt"]);
        match &request.upgrade {
            Some(names) if names.is_empty() => {
                cmd.arg("--upgrade");
            }
            Some(names) => {
                for n in names {
                    cmd.arg("--upgrade-package").arg(n);
                }
            }
            None => {}
        }
        run_uv(cmd, request)?;
        let text =
            std::fs::read_to_string(dir.join("requirements.txt")).context("reading uv's output")?;
        let resolved = parse_requirements(&text)?;
        // Transitive packages matched by an index pattern must come from
        // that index: route them explicitly and resolve again.
        let missing: Vec<String> = resolved
            .keys()
            .filter(|n| {
                request.index_for(n).name != request.default_index.name
                    && !routed.contains(*n)
                    && !request.is_direct(n)
            })
            .cloned()
            .collect();
        let vias = first_vias.get_or_insert_with(|| resolved.clone());
        if missing.is_empty() {
            // Keep the "via" of the first round: routing adds no real edge.
            let mut out = resolved;
            for (name, r) in &mut out {
                if routed.contains(name) {
                    if let Some(orig) = vias.get(name) {
                        r.via = orig.via.clone();
                        r.direct = orig.direct;
                    }
                }
            }
            return Ok(out);
        }
        routed.extend(missing);
    }
    bail!("index routing did not settle after three resolutions")
}

/// `name==version  # via a, b` lines. Any other requirement line (`name @
/// URL` from a dependency's metadata) is an error: ml.lock could not
/// record it, and it must never be dropped from the lock silently.
fn parse_requirements(text: &str) -> anyhow::Result<BTreeMap<String, Resolved>> {
    let mut out = BTreeMap::new();
    let mut unpinned: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with(' ') || line.starts_with('#') || line.is_empty() {
            continue;
        }
        // The annotation starts at ` #`; a URL's `#sha256=` has no space.
        let (spec, comment) = match line.find(" #") {
            Some(i) => (line[..i].trim(), line[i + 2..].trim()),
            None => (line.trim(), ""),
        };
        let (name, version, url) = match (spec.split_once("=="), spec.split_once(" @ ")) {
            (_, Some((name, url)))
                if ["https://", "http://", "git+", "file://"]
                    .iter()
                    .any(|p| url.starts_with(p)) =>
            {
                (name, "", Some(url.trim().to_string()))
            }
            (Some((name, version)), None) => (name, version, None),
            _ => {
                unpinned.push(spec.to_string());
                continue;
            }
        };
        let via: Vec<String> = comment
            .strip_prefix("via ")
            .map(|v| {
                v.split(',')
                    .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
                    // `-c constraints.txt`, `-r file`: where uv read a
                    // constraint, not a package that needs this one.
                    .filter(|s| !s.is_empty() && !s.starts_with('-'))
                    .map(|s| if s == ROOT { s } else { normalize(&s) })
                    .collect()
            })
            .unwrap_or_default();
        let direct = via.iter().any(|v| v == ROOT);
        out.insert(
            normalize(name.trim()),
            Resolved {
                version: version.trim().to_string(),
                via,
                direct,
                url,
            },
        );
    }
    if !unpinned.is_empty() {
        return Err(hinted(
            ErrorKind::Resolution,
            format!(
                "the resolution needs requirements mlr cannot lock yet (VCS or a local path): {}",
                unpinned.join(", ")
            ),
            "a dependency names a URL instead of a version; pin a version of it from an index in [pip] packages, or use a [git] source",
        ));
    }
    Ok(out)
}

/// pylock.toml (PEP 751), the parts mlr reads.
#[derive(Debug, Deserialize)]
struct Pylock {
    #[serde(default)]
    packages: Vec<PylockPackage>,
}

#[derive(Debug, Clone, Deserialize)]
struct PylockPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    wheels: Vec<PylockFile>,
    sdist: Option<PylockFile>,
    /// A direct URL requirement's file.
    archive: Option<PylockFile>,
}

#[derive(Debug, Clone, Deserialize)]
struct PylockFile {
    url: Option<String>,
    name: Option<String>,
    size: Option<u64>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

/// Second uv run: the same versions (as constraints), as pylock.toml, for
/// the artifacts (URLs, hashes, sizes).
fn compile_artifacts(
    config: &Config,
    uv_bin: &Path,
    request: &PipRequest,
    target: &Target,
    resolved: &BTreeMap<String, Resolved>,
    dir: &Path,
) -> anyhow::Result<BTreeMap<String, PylockPackage>> {
    let pins: String = resolved
        .iter()
        .map(|(n, r)| match &r.url {
            Some(url) => format!("{n} @ {url}\n"),
            None => format!("{n}=={}\n", r.version),
        })
        .collect();
    std::fs::write(dir.join("pins.txt"), pins).context("writing pins for uv")?;
    let _ = std::fs::remove_file(dir.join("pylock.toml"));
    let mut cmd = uv_command(config, uv_bin, request, target, dir);
    cmd.args(["-c", "pins.txt", "-o", "pylock.toml"]);
    run_uv(cmd, request)?;
    let text =
        std::fs::read_to_string(dir.join("pylock.toml")).context("reading uv's pylock.toml")?;
    let lock: Pylock = toml_edit::de::from_str(&text).context("parsing uv's pylock.toml")?;
    let mut out = BTreeMap::new();
    for p in lock.packages {
        let name = normalize(&p.name);
        if let (Some(v), Some(r)) = (&p.version, resolved.get(&name)) {
            if r.url.is_none() && *v != r.version {
                bail!("uv changed {name} from {} to {v} between runs", r.version);
            }
        }
        out.insert(name, p);
    }
    Ok(out)
}

/// The lock's `index` for a direct URL requirement.
pub const DIRECT_INDEX: &str = "direct";

/// The lock's `index` for a `name @ git+URL` requirement.
pub const GIT_INDEX: &str = "git";

/// The lock's `index` for a `name @ ./dir` requirement.
pub const PATH_INDEX: &str = "path";

/// The file of a direct URL requirement: the archive uv fetched, checked
/// against a `#sha256=` fragment when the URL has one, and downloaded into
/// the cache (hash-checked), which gives its size.
fn direct_artifact(
    config: &Config,
    name: &str,
    url: &str,
    pkg: &PylockPackage,
    target: &Target,
    platform: &Platform,
) -> anyhow::Result<PipArtifact> {
    let file = pkg
        .archive
        .as_ref()
        .with_context(|| format!("uv gave no archive for {name} @ {url}"))?;
    let sha256 = file
        .hashes
        .get("sha256")
        .cloned()
        .with_context(|| format!("uv gave no sha256 for {name} @ {url}"))?;
    let (without_fragment, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, f.strip_prefix("sha256=")),
        None => (url, None),
    };
    if let Some(expected) = fragment {
        if !expected.eq_ignore_ascii_case(&sha256) {
            return Err(hinted(
                ErrorKind::Resolution,
                format!(
                    "{name} @ {}: the file's sha256 is {sha256}, not the {expected} its URL names",
                    redact_url(without_fragment)
                ),
                "the file changed since the URL was written: check it, then correct the #sha256= fragment",
            ));
        }
    }
    let canonical = config.mirrors.canonical_url(without_fragment);
    if canonical.contains('@') && canonical.contains("://") {
        bail!(
            "refusing to lock a URL with credentials: {}",
            redact_url(&canonical)
        );
    }
    let filename = crate::lock::consistency::url_file_name(&canonical);
    let sdist = !filename.ends_with(".whl");
    if !sdist && tags::rank(&filename, target).is_none() {
        return Err(hinted(
            ErrorKind::Resolution,
            format!(
                "{name} @ {}: {filename} does not install on {platform} (python {}.{}, manylinux_{}_{})",
                redact_url(&canonical),
                target.python.0,
                target.python.1,
                target.glibc.0,
                target.glibc.1
            ),
            "use a wheel built for this platform, an sdist, or remove the platform from project.platforms",
        ));
    }
    let cached = crate::http::cached_file(
        config, "pip", &canonical, &sha256, &filename, None, &mut None,
    )?;
    let size = std::fs::metadata(&cached)
        .with_context(|| format!("reading {}", cached.display()))?
        .len();
    Ok(PipArtifact {
        platform: platform.to_string(),
        filename,
        url: canonical,
        sha256,
        size,
        sdist,
    })
}

fn choose_artifact(
    config: &Config,
    name: &str,
    version: &str,
    pkg: &PylockPackage,
    target: &Target,
    platform: &Platform,
) -> anyhow::Result<PipArtifact> {
    let filename_of = |f: &PylockFile| -> Option<String> {
        f.name.clone().or_else(|| {
            f.url
                .as_deref()
                .map(crate::lock::consistency::url_file_name)
        })
    };
    let best = pkg
        .wheels
        .iter()
        .filter_map(|w| {
            let f = filename_of(w)?;
            tags::rank(&f, target).map(|r| (r, f, w))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let (file, filename, sdist) = match best {
        Some((_, f, w)) => (w, f, false),
        None => match &pkg.sdist {
            Some(s) => {
                config.shell.warn(format!(
                    "{name} {version} has no wheel for {platform}; locking its sdist, which the build compiles"
                ));
                (s, filename_of(s).unwrap_or_default(), true)
            }
            None => {
                return Err(hinted(
                    ErrorKind::Resolution,
                    format!(
                        "{name} {version} has no wheel for {platform} (python {}.{}) and no sdist",
                        target.python.0, target.python.1
                    ),
                    "pick a version with a wheel for this platform, or remove the platform from project.platforms",
                ));
            }
        },
    };
    let sha256 = file
        .hashes
        .get("sha256")
        .cloned()
        .with_context(|| format!("the index gave no sha256 for {filename}"))?;
    let url = file
        .url
        .clone()
        .with_context(|| format!("the index gave no URL for {filename}"))?;
    let canonical = config.mirrors.canonical_url(&url);
    if canonical.contains('@') && canonical.contains("://") {
        bail!(
            "refusing to lock a URL with credentials: {}",
            redact_url(&canonical)
        );
    }
    Ok(PipArtifact {
        platform: platform.to_string(),
        filename,
        url: canonical,
        sha256,
        size: file.size.unwrap_or(0),
        sdist,
    })
}

/// A locked pip file from the cache, or downloaded (through the index
/// mirrors) and checked against its sha256. An index's credentials go to
/// its own origin only (not to a mirror, nor to another index).
pub fn locked_file(
    config: &Config,
    credentials: &[crate::http::BasicAuth],
    http: &mut Option<crate::http::Http>,
    url: &str,
    sha256: &str,
    filename: &str,
) -> anyhow::Result<std::path::PathBuf> {
    let from = config.mirrors.url(url);
    let auth = crate::http::origin(&from).and_then(|o| {
        (crate::http::origin(url).as_ref() == Some(&o))
            .then(|| credentials.iter().find(|c| c.origin == o))
            .flatten()
    });
    crate::http::cached_file(config, "pip", url, sha256, filename, auth, http)
}

/// Credentials for the manifest's named indexes, from the variables uv
/// reads (`UV_INDEX_<NAME>_USERNAME` / `_PASSWORD`, the name upper-cased
/// with every other character as `_`), so one setting serves `mlr lock`
/// (through uv) and the downloads of `mlr build`.
pub fn index_credentials(manifest: &crate::manifest::Manifest) -> Vec<crate::http::BasicAuth> {
    let Some(pip) = &manifest.pip else {
        return Vec::new();
    };
    pip.indexes
        .iter()
        .filter_map(|index| {
            let key: String = index
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            let var = |suffix: &str| {
                std::env::var(format!("UV_INDEX_{key}_{suffix}"))
                    .ok()
                    .filter(|v| !v.is_empty())
            };
            let password = var("PASSWORD")?;
            Some(crate::http::BasicAuth {
                origin: crate::http::origin(&index.url)?,
                username: var("USERNAME").unwrap_or_default(),
                password,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_globs() {
        assert!(glob_matches("mycorp-*", "MyCorp_Utils"));
        assert!(!glob_matches("mycorp-*", "mycorputils"));
        assert!(glob_matches("torch*", "torchvision"));
    }

    #[test]
    fn parses_annotated_requirements() {
        let text = "idna==3.10 # via requests, -c constraints.txt\ncertifi==2026.10.18       # via requests\n    # from https://pypi.org/simple\nnumpy==1.26.0             # via mlr-environment-root (pyproject.toml)\nurllib3==2.8.0 # via requests, Botocore\n";
        let r = parse_requirements(text).unwrap();
        assert_eq!(r["certifi"].version, "2026.10.18");
        assert_eq!(r["certifi"].via, ["requests"]);
        assert!(r["numpy"].direct);
        assert_eq!(r["urllib3"].via, ["requests", "botocore"]);
        assert_eq!(r["idna"].via, ["requests"]);
    }

    #[test]
    fn a_line_without_a_version_is_an_error_naming_it() {
        let text = "numpy==1.26.0 # via x\ntinypkg @ hg+https://h.example/t # via y\n";
        let err = parse_requirements(text).unwrap_err().to_string();
        assert!(
            err.contains("cannot lock yet (VCS or a local path): tinypkg @ hg+https://h.example/t"),
            "{err}"
        );
        // A git URL is read (and locked when it is a direct requirement).
        let text = "tinypkg @ git+https://g.example/t.git@0123abc # via y\n";
        let r = parse_requirements(text).unwrap();
        assert_eq!(
            r["tinypkg"].url.as_deref(),
            Some("git+https://g.example/t.git@0123abc")
        );
        // A direct archive URL keeps its fragment; the annotation starts at ` #`.
        let text = "t @ https://f.example/t-1.0-py3-none-any.whl#sha256=ab  # via mlr-environment-root (pyproject.toml)\n";
        let r = parse_requirements(text).unwrap();
        assert_eq!(
            r["t"].url.as_deref(),
            Some("https://f.example/t-1.0-py3-none-any.whl#sha256=ab")
        );
        assert!(r["t"].direct);
    }
}
