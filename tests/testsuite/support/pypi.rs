//! Real wheels from pypi.org (a build backend such as setuptools, to build
//! sdists offline with), downloaded once, checked against the sha256 PyPI
//! publishes, and cached across test runs.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::wheel::{normalize_name, sha256_hex};

/// Where downloaded wheels are kept, if it is writable.
const CACHE_DIR: &str = "/var/cache/mlr-test/pypi";

/// The pure-Python (`py3-none-any`, or `py2.py3-none-any`) wheel of
/// `name` `version` from pypi.org, whose sha256 matched the one PyPI's
/// simple API (PEP 691 JSON) gives. Downloaded with `curl` into `/var/cache/mlr-test/pypi/` (or
/// `$CARGO_TARGET_TMPDIR/pypi/` where that is not writable) the first time,
/// read from there afterwards. Callers `require!(Service::PyPI)` first.
pub fn pypi_wheel(name: &str, version: &str) -> PathBuf {
    // One download at a time in this process; concurrent test processes
    // each write their own temporary file and rename it into place.
    static DOWNLOADING: Mutex<()> = Mutex::new(());
    let _guard = DOWNLOADING.lock().unwrap_or_else(|e| e.into_inner());
    let cache = cache_dir();
    if let Some(cached) = cached_wheel(&cache, name, version) {
        return cached;
    }

    let page_url = format!("https://pypi.org/simple/{}/", normalize_name(name));
    let page: serde_json::Value = serde_json::from_slice(&curl(&page_url, None))
        .unwrap_or_else(|e| panic!("{page_url}: not JSON: {e}"));
    let (filename, url, sha256) = page["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|file| {
            let filename = file["filename"].as_str()?;
            is_wheel_of(filename, name, version).then_some(())?;
            Some((
                filename.to_owned(),
                file["url"].as_str()?.to_owned(),
                file["hashes"]["sha256"].as_str()?.to_owned(),
            ))
        })
        .unwrap_or_else(|| panic!("{page_url} lists no py3-none-any wheel of {version}"));
    assert!(
        !filename.contains('/') && url.starts_with("https://"),
        "{page_url}: odd file {filename:?} at {url:?}"
    );

    let partial = tempfile::Builder::new()
        .prefix(&format!(".{filename}."))
        .tempfile_in(&cache)
        .unwrap_or_else(|e| panic!("create a file in {}: {e}", cache.display()));
    curl(&url, Some(partial.path()));
    // Readable by every user sharing the cache, as a download would be.
    partial
        .as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", partial.path().display()));
    let bytes = fs::read(partial.path())
        .unwrap_or_else(|e| panic!("read {}: {e}", partial.path().display()));
    let actual = sha256_hex(&bytes);
    assert_eq!(
        actual, sha256,
        "{url}: sha256 {actual}, but PyPI publishes {sha256}"
    );
    let path = cache.join(&filename);
    partial
        .persist(&path)
        .unwrap_or_else(|e| panic!("rename into {}: {e}", path.display()));
    let mut sidecar = tempfile::NamedTempFile::new_in(&cache)
        .unwrap_or_else(|e| panic!("create a file in {}: {e}", cache.display()));
    sidecar
        .as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", sidecar.path().display()));
    writeln!(sidecar, "{sha256}").unwrap_or_else(|e| panic!("write the sha256 of {filename}: {e}"));
    let sidecar_path = sha256_path(&path);
    sidecar
        .persist(&sidecar_path)
        .unwrap_or_else(|e| panic!("rename into {}: {e}", sidecar_path.display()));
    path
}

/// [`CACHE_DIR`], or `$CARGO_TARGET_TMPDIR/pypi` when it cannot be created
/// or written.
fn cache_dir() -> PathBuf {
    let preferred = PathBuf::from(CACHE_DIR);
    let writable =
        fs::create_dir_all(&preferred).is_ok() && tempfile::tempfile_in(&preferred).is_ok();
    if writable {
        return preferred;
    }
    let fallback = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pypi");
    fs::create_dir_all(&fallback).unwrap_or_else(|e| panic!("create {}: {e}", fallback.display()));
    fallback
}

/// A wheel of `name` `version` downloaded before whose bytes still have
/// the sha256 recorded beside it.
fn cached_wheel(cache: &Path, name: &str, version: &str) -> Option<PathBuf> {
    fs::read_dir(cache).ok()?.flatten().find_map(|entry| {
        let filename = entry.file_name().into_string().ok()?;
        if !is_wheel_of(&filename, name, version) {
            return None;
        }
        let path = entry.path();
        let recorded = fs::read_to_string(sha256_path(&path)).ok()?;
        let bytes = fs::read(&path).ok()?;
        (sha256_hex(&bytes) == recorded.trim()).then_some(path)
    })
}

/// `filename` is `{name}-{version}(-{build})?-{python}-none-any.whl`
/// with `py3` among the python tags (names compared normalized).
fn is_wheel_of(filename: &str, name: &str, version: &str) -> bool {
    let Some(stem) = filename.strip_suffix("-none-any.whl") else {
        return false;
    };
    let mut parts = stem.split('-');
    let python = stem.rsplit('-').next().unwrap_or_default();
    parts
        .next()
        .is_some_and(|n| normalize_name(n) == normalize_name(name))
        && parts.next() == Some(version)
        && python.split('.').any(|tag| tag == "py3")
}

fn sha256_path(wheel: &Path) -> PathBuf {
    let mut name = wheel.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// `curl` of `url` (asking for PEP 691 JSON, which only the simple API
/// heeds): into `output`, or returned.
fn curl(url: &str, output: Option<&Path>) -> Vec<u8> {
    let mut cmd = Command::new("curl");
    cmd.args(["-fsSL", "--retry", "3", "--max-time", "300"])
        .args(["-H", "Accept: application/vnd.pypi.simple.v1+json"]);
    if let Some(output) = output {
        cmd.arg("-o").arg(output);
    }
    let out = cmd
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run curl {url}: {e}"));
    assert!(
        out.status.success(),
        "curl {url} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out.stdout
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_py3_wheel_names() {
        let setuptools = |filename| is_wheel_of(filename, "setuptools", "80.9.0");
        assert!(setuptools("setuptools-80.9.0-py3-none-any.whl"));
        assert!(setuptools("SetupTools-80.9.0-1-py2.py3-none-any.whl"));
        assert!(!setuptools("setuptools-80.9.0-py2-none-any.whl"));
        assert!(!setuptools("setuptools-80.9.01-py3-none-any.whl"));
        assert!(!setuptools(
            "setuptools-80.9.0-cp311-cp311-manylinux_2_17_x86_64.whl"
        ));
        assert!(!setuptools("setuptools-80.9.0.tar.gz"));
        assert!(is_wheel_of(
            "six-1.16.0-py2.py3-none-any.whl",
            "Six",
            "1.16.0"
        ));
    }
}
