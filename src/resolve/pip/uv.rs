//! The uv binary mlr drives as its Python resolver: a version pinned here,
//! taken from `MLR_UV`, from `PATH` when the version matches, or downloaded
//! once from the configured index into the cache and checked against a
//! sha256 held in this file.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::error::{ErrorKind, hinted};
use crate::http::Http;
use crate::redact::redact_url;

/// The uv release mlr resolves with. Changing it is a reviewed change.
pub const UV_VERSION: &str = "0.13.9";

/// The uv wheels mlr may install, per host architecture, with their hashes
/// (from PyPI's simple API for uv 0.13.9).
const UV_WHEELS: &[(&str, &str, &str)] = &[
    (
        "x86_64",
        "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19",
    ),
    (
        "aarch64",
        "uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
        "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe",
    ),
];

/// Find or fetch uv. `index_url` is the canonical simple index to fetch
/// its wheel from (mirrors applied).
pub fn locate(config: &Config, index_url: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("MLR_UV").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        let version =
            version_of(&path).with_context(|| format!("MLR_UV={} does not run", path.display()))?;
        if version != UV_VERSION {
            config.shell.warn(format!(
                "MLR_UV is uv {version}; mlr is tested with uv {UV_VERSION}"
            ));
        }
        return Ok(path);
    }
    if let Some(path) = on_path("uv") {
        if version_of(&path).is_ok_and(|v| v == UV_VERSION) {
            return Ok(path);
        }
    }
    let cached = config
        .cache_dir
        .join("tools")
        .join(format!("uv-{UV_VERSION}"))
        .join("uv");
    if cached.is_file() {
        return Ok(cached);
    }
    if config.offline {
        return Err(hinted(
            ErrorKind::Usage,
            format!("uv {UV_VERSION} is not in the cache and --offline forbids downloading it"),
            "run once without --offline, or point MLR_UV at a uv binary",
        ));
    }
    // The project's index first (a PyPI mirror usually has uv), then PyPI.
    let mut failure = None;
    for index in [index_url, super::PYPI] {
        match download(config, index, &cached) {
            Ok(()) => return Ok(cached),
            Err(e) => {
                config
                    .shell
                    .verbose("Skipping", format!("{}: {e:#}", redact_url(index)));
                failure.get_or_insert(e);
            }
        }
        if index_url == super::PYPI {
            break;
        }
    }
    Err(failure.expect("at least one attempt"))
}

fn download(config: &Config, index_url: &str, dest: &Path) -> anyhow::Result<()> {
    let arch = std::env::consts::ARCH;
    let Some((_, filename, sha256)) = UV_WHEELS.iter().find(|(a, _, _)| *a == arch) else {
        bail!("mlr has no pinned uv wheel for this host architecture ({arch}); set MLR_UV");
    };
    config
        .shell
        .status("Downloading", format!("uv {UV_VERSION} ({filename})"));
    let http = Http::new(&config.net)?;
    let page_url = format!(
        "{}/uv/",
        config.mirrors.url(index_url).trim_end_matches('/')
    );
    let page = http
        .get(&page_url, Some("application/vnd.pypi.simple.v1+json"))
        .with_context(|| format!("looking up uv on {}", redact_url(&page_url)))?;
    let page: serde_json::Value =
        serde_json::from_slice(&page).context("parsing the index's JSON page for uv")?;
    let url = page["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["filename"] == *filename)
        .and_then(|f| f["url"].as_str())
        .with_context(|| format!("{} does not list {filename}", redact_url(&page_url)))?;
    let url = join_url(&page_url, url);
    let wheel = tempfile::NamedTempFile::new().context("creating a temporary file")?;
    http.download_verified(&url, sha256, wheel.path(), None)?;
    let file = std::fs::File::open(wheel.path())?;
    let mut archive = zip::ZipArchive::new(file).context("opening the uv wheel")?;
    let member = format!("uv-{UV_VERSION}.data/scripts/uv");
    let mut entry = archive
        .by_name(&member)
        .with_context(|| format!("the uv wheel has no {member}"))?;
    let dir = dest.parent().expect("cache path has a parent");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = crate::atomic_file::AtomicFile::create(dest)?;
    std::io::copy(&mut entry, &mut tmp).context("extracting uv")?;
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o755))?;
    }
    tmp.commit().context("installing uv into the cache")
}

/// Resolve a possibly relative URL from an index page against the page.
pub fn join_url(base: &str, url: &str) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    let origin_end = base
        .find("://")
        .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(base.len());
    if url.starts_with('/') {
        return format!("{}{url}", &base[..origin_end]);
    }
    let dir_end = base.rfind('/').map_or(base.len(), |i| i + 1);
    let mut path: Vec<&str> = base[origin_end..dir_end].split('/').collect();
    path.pop();
    for part in url.split('/') {
        match part {
            ".." => {
                if path.len() > 1 {
                    path.pop();
                }
            }
            "." => {}
            p => path.push(p),
        }
    }
    format!("{}{}", &base[..origin_end], path.join("/"))
}

fn version_of(path: &Path) -> anyhow::Result<String> {
    let out = Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running {} --version", path.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .map(str::to_string)
        .with_context(|| format!("unexpected `uv --version` output: {text}"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_index_urls() {
        let page = "http://127.0.0.1:9/simple/uv/";
        assert_eq!(
            join_url(page, "../../files/uv.whl"),
            "http://127.0.0.1:9/files/uv.whl"
        );
        assert_eq!(
            join_url(page, "/files/x.whl"),
            "http://127.0.0.1:9/files/x.whl"
        );
        assert_eq!(
            join_url(page, "https://files.example/x.whl"),
            "https://files.example/x.whl"
        );
        assert_eq!(
            join_url(page, "x.whl"),
            "http://127.0.0.1:9/simple/uv/x.whl"
        );
    }
}
