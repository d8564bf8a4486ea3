//! A source tree's PEP 517 build backend, run on this host at lock time in
//! a venv that holds nothing but the tree's locked build requirements
//! (installed from the hash-checked files, offline): what its
//! `get_requires_for_build_wheel` hook asks for beyond
//! `build-system.requires`, and, for a package whose version only its
//! metadata says (a local path), that version.
//!
//! The host's `python3` runs it; when there is none, or the locked files do
//! not install on it, the probe is skipped with a warning and the build's
//! `--check-build-dependencies` is the check that remains.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use serde::Deserialize;

use crate::config::Config;

/// How a source tree is built (PEP 517/518).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSystem {
    /// `build-system.requires`, as written.
    pub requires: Vec<String>,
    /// `build-system.build-backend` (`module:object`).
    pub backend: String,
    /// `build-system.backend-path`: in-tree directories the backend is
    /// imported from.
    pub backend_path: Vec<String>,
}

/// The backend of a project without one: setuptools' legacy backend, as
/// pip runs it.
pub const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// What the backend said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Probe {
    /// `get_requires_for_build_wheel()`.
    pub requires: Vec<String>,
    /// The `Version` of the metadata, when asked for.
    pub version: Option<String>,
}

/// The line the probe script prints its answer on (backends print to
/// stdout too).
const ANSWER: &str = "MLR-PROBE ";

const SCRIPT: &str = r#"
import importlib, json, os, sys, tempfile
backend, backend_path, want_version = json.loads(sys.argv[1])
sys.path[:0] = [os.path.abspath(p) for p in backend_path]
module, _, attrs = backend.partition(":")
hooks = importlib.import_module(module)
for a in filter(None, attrs.split(".")):
    hooks = getattr(hooks, a)
get_requires = getattr(hooks, "get_requires_for_build_wheel", None)
requires = list(get_requires({})) if get_requires else []
version = None
if want_version:
    out = tempfile.mkdtemp()
    prepare = getattr(hooks, "prepare_metadata_for_build_wheel", None)
    if prepare:
        info = prepare(out, {})
        with open(os.path.join(out, info, "METADATA"), encoding="utf-8") as f:
            metadata = f.read()
    else:
        import zipfile
        wheel = zipfile.ZipFile(os.path.join(out, hooks.build_wheel(out, {})))
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(name).decode("utf-8")
    for line in metadata.splitlines():
        if line.startswith("Version:"):
            version = line.split(":", 1)[1].strip()
            break
print("MLR-PROBE " + json.dumps({"requires": requires, "version": version}))
"#;

/// Run the backend of the tree at `src` (a copy the backend may write
/// into) in a host venv holding `wheels`. `Ok(None)`: the host cannot run
/// it (no `python3`, or the wheels do not install there); said as a
/// warning naming `what`.
pub fn probe(
    config: &Config,
    uv_bin: &Path,
    what: &str,
    src: &Path,
    system: &BuildSystem,
    wheels: &[PathBuf],
    want_version: bool,
) -> anyhow::Result<Option<Probe>> {
    let skip = |why: String| {
        config.shell.warn(format!(
            "could not run the build backend of {what} on this host ({why}); what its get_requires_for_build_wheel adds is not locked, and the build checks its build requirements"
        ));
        Ok(None)
    };
    let work = tempfile::Builder::new()
        .prefix("mlr-backend-")
        .tempdir()
        .context("creating a temporary directory")?;
    let venv = work.path().join("venv");
    let uv = |args: &[&std::ffi::OsStr]| {
        let mut cmd = Command::new(uv_bin);
        cmd.args(args)
            .env("UV_CACHE_DIR", config.cache_dir.join("uv"))
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_NO_PROGRESS", "1")
            .stdin(Stdio::null());
        cmd.output()
    };
    let made = uv(&[
        "venv".as_ref(),
        "--no-config".as_ref(),
        "--quiet".as_ref(),
        "--python".as_ref(),
        "python3".as_ref(),
        venv.as_os_str(),
    ])
    .context("running uv venv")?;
    if !made.status.success() {
        return skip(format!(
            "no python3: {}",
            String::from_utf8_lossy(&made.stderr).trim()
        ));
    }
    let python = venv.join("bin").join("python");
    if !wheels.is_empty() {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "pip".as_ref(),
            "install".as_ref(),
            "--no-config".as_ref(),
            "--quiet".as_ref(),
            "--no-deps".as_ref(),
            "--no-index".as_ref(),
            "--python".as_ref(),
            python.as_os_str(),
        ];
        args.extend(wheels.iter().map(|w| w.as_os_str()));
        let installed = uv(&args).context("running uv pip install")?;
        if !installed.status.success() {
            return skip(format!(
                "its locked build requirements do not install here: {}",
                String::from_utf8_lossy(&installed.stderr).trim()
            ));
        }
    }
    let request = serde_json::json!([system.backend, system.backend_path, want_version]);
    let out = Command::new(&python)
        .arg("-I")
        .arg("-c")
        .arg(SCRIPT)
        .arg(request.to_string())
        .current_dir(src)
        .env("SOURCE_DATE_EPOCH", "315532800")
        .env_remove("PYTHONPATH")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running the build backend of {what}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer = stdout.lines().find_map(|l| l.strip_prefix(ANSWER));
    match (out.status.success(), answer) {
        (true, Some(json)) => {
            let probe: Probe = serde_json::from_str(json)
                .with_context(|| format!("reading what the build backend of {what} said"))?;
            Ok(Some(probe))
        }
        _ => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
            Err(crate::error::hinted(
                crate::error::ErrorKind::Resolution,
                format!(
                    "the build backend `{}` of {what} failed with only its locked build requirements; its last lines of output:\n    {}",
                    system.backend,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n    ")
                ),
                "the project's [build-system] requires may be missing something its backend imports",
            ))
        }
    }
}
