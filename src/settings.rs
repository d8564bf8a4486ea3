//! User settings that are not part of a project: registry and index
//! mirrors. They change where bytes come from, never what is pinned.
//!
//! Read from `$MLR_CONFIG` (else `$XDG_CONFIG_HOME/mlr/config.toml`, else
//! `~/.config/mlr/config.toml`), then the environment:
//! `MLR_REGISTRY_MIRRORS="docker.io=127.0.0.1:5000,nvcr.io=mirror.example"`
//! and `MLR_INDEX_MIRRORS="https://pypi.org/simple=http://127.0.0.1:8080/simple"`.

use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;

use crate::error::FileError;

/// `config.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    #[serde(default)]
    pub mirrors: MirrorsFile,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorsFile {
    /// Registry host (`docker.io`) → mirror host, optionally with a path
    /// prefix for repositories (`127.0.0.1:5000/dockerhub`).
    #[serde(default)]
    pub registry: std::collections::BTreeMap<String, String>,
    /// URL prefix → mirror URL prefix.
    #[serde(default)]
    pub index: std::collections::BTreeMap<String, String>,
}

/// Where bytes really come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    /// (canonical registry, mirror registry, mirror repository prefix).
    registries: Vec<(String, String, String)>,
    /// (canonical URL prefix, mirror URL prefix), longest canonical first.
    urls: Vec<(String, String)>,
}

impl Mirrors {
    pub fn new(
        registries: impl IntoIterator<Item = (String, String)>,
        urls: impl IntoIterator<Item = (String, String)>,
    ) -> Mirrors {
        let registries = registries
            .into_iter()
            .map(|(canonical, mirror)| {
                let (host, prefix) = match mirror.split_once('/') {
                    Some((h, p)) => (h.to_string(), p.trim_matches('/').to_string()),
                    None => (mirror, String::new()),
                };
                (canonical, host, prefix)
            })
            .collect();
        let mut urls: Vec<(String, String)> = urls
            .into_iter()
            .map(|(c, m)| {
                (
                    c.trim_end_matches('/').to_string(),
                    m.trim_end_matches('/').to_string(),
                )
            })
            .collect();
        urls.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        Mirrors { registries, urls }
    }

    /// The registry and repository to contact for a canonical one.
    pub fn registry(&self, registry: &str, repository: &str) -> (String, String) {
        for (canonical, host, prefix) in &self.registries {
            if canonical == registry {
                let repo = if prefix.is_empty() {
                    repository.to_string()
                } else {
                    format!("{prefix}/{repository}")
                };
                return (host.clone(), repo);
            }
        }
        (registry.to_string(), repository.to_string())
    }

    /// The URL to fetch for a canonical URL.
    pub fn url(&self, canonical: &str) -> String {
        for (c, m) in &self.urls {
            if let Some(rest) = strip_url_prefix(canonical, c) {
                return format!("{m}{rest}");
            }
        }
        canonical.to_string()
    }

    /// The canonical URL for a URL fetched from a mirror (or itself).
    pub fn canonical_url(&self, fetched: &str) -> String {
        let mut by_mirror: Vec<&(String, String)> = self.urls.iter().collect();
        by_mirror.sort_by_key(|m| std::cmp::Reverse(m.1.len()));
        for (c, m) in by_mirror {
            if let Some(rest) = strip_url_prefix(fetched, m) {
                return format!("{c}{rest}");
            }
        }
        fetched.to_string()
    }

    pub fn is_empty(&self) -> bool {
        self.registries.is_empty() && self.urls.is_empty()
    }
}

/// `url` without `prefix` when `prefix` ends at a path boundary.
fn strip_url_prefix<'a>(url: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = url.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with(['/', '?', '#'])).then_some(rest)
}

/// Load the settings file (if any) and the environment.
pub fn load() -> anyhow::Result<Mirrors> {
    let mut registries = Vec::new();
    let mut urls = Vec::new();
    if let Some(path) = settings_path().filter(|p| p.is_file()) {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let shown = path.display().to_string();
        let file: SettingsFile = toml_edit::de::from_str(&text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            FileError::at_offset(
                &shown,
                &text,
                offset,
                e.message().lines().next().unwrap_or("").to_string(),
            )
            .with_hint("the file has one table, [mirrors], with `registry` and `index` maps")
        })?;
        registries.extend(file.mirrors.registry);
        urls.extend(file.mirrors.index);
    }
    registries.extend(env_pairs("MLR_REGISTRY_MIRRORS")?);
    urls.extend(env_pairs("MLR_INDEX_MIRRORS")?);
    Ok(Mirrors::new(registries, urls))
}

fn settings_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MLR_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("XDG_CONFIG_HOME").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p).join("mlr").join("config.toml"));
    }
    std::env::var_os("HOME").filter(|p| !p.is_empty()).map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("mlr")
            .join("config.toml")
    })
}

/// `a=b,c=d` from an environment variable.
fn env_pairs(var: &str) -> anyhow::Result<Vec<(String, String)>> {
    let Some(value) = std::env::var_os(var) else {
        return Ok(Vec::new());
    };
    let value = value.to_string_lossy().into_owned();
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .ok_or_else(|| anyhow::anyhow!("{var}: `{pair}` is not `canonical=mirror`"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_and_url_mirrors_map_both_ways() {
        let m = Mirrors::new(
            [
                ("docker.io".to_string(), "127.0.0.1:5000/hub".to_string()),
                ("nvcr.io".to_string(), "127.0.0.1:5001".to_string()),
            ],
            [
                (
                    "https://download.pytorch.org/whl".to_string(),
                    "http://127.0.0.1:9/whl/".to_string(),
                ),
                (
                    "https://pypi.org/simple".to_string(),
                    "http://127.0.0.1:8/simple".to_string(),
                ),
            ],
        );
        assert_eq!(
            m.registry("docker.io", "nvidia/cuda"),
            ("127.0.0.1:5000".to_string(), "hub/nvidia/cuda".to_string())
        );
        assert_eq!(
            m.registry("nvcr.io", "x/y"),
            ("127.0.0.1:5001".to_string(), "x/y".to_string())
        );
        assert_eq!(
            m.registry("ghcr.io", "x"),
            ("ghcr.io".to_string(), "x".to_string())
        );
        let f = "https://download.pytorch.org/whl/cu124/torch-2.5.1%2Bcu124-cp311-cp311-linux_x86_64.whl";
        let mirrored = m.url(f);
        assert_eq!(
            mirrored,
            "http://127.0.0.1:9/whl/cu124/torch-2.5.1%2Bcu124-cp311-cp311-linux_x86_64.whl"
        );
        assert_eq!(m.canonical_url(&mirrored), f);
        // Prefixes match at path boundaries only.
        assert_eq!(
            m.url("https://pypi.org/simplex"),
            "https://pypi.org/simplex"
        );
        assert_eq!(m.url("https://elsewhere/x"), "https://elsewhere/x");
    }
}
