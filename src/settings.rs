//! User settings that are not part of a project: registry and index
//! mirrors, and how long network requests wait and how often they are
//! retried. They change where bytes come from and how patiently, never
//! what is pinned.
//!
//! Read from `$MLR_CONFIG` (else `$XDG_CONFIG_HOME/mlr/config.toml`, else
//! `~/.config/mlr/config.toml`), then the environment:
//! `MLR_REGISTRY_MIRRORS="docker.io=127.0.0.1:5000,nvcr.io=mirror.example"`,
//! `MLR_INDEX_MIRRORS="https://pypi.org/simple=http://127.0.0.1:8080/simple"`,
//! `MLR_HTTP_RETRIES=3` and `MLR_HTTP_TIMEOUT=15`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::error::{Error, ErrorKind, FileError};

/// `config.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    #[serde(default)]
    pub mirrors: MirrorsFile,
    #[serde(default)]
    pub net: NetFile,
}

/// `[net]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetFile {
    /// Retries after a failed attempt.
    pub retries: Option<u32>,
    /// Seconds without a byte after which an attempt has failed.
    #[serde(default, deserialize_with = "timeout_seconds")]
    pub timeout: Option<Duration>,
}

/// How patiently every request waits: an attempt fails when no byte
/// arrives for `timeout` (connecting, waiting for the answer, or in the
/// middle of a body), and is retried at most `retries` times, never past
/// [`Net::budget`] since the first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub retries: u32,
    pub timeout: Duration,
    /// `GIT_HTTP_LOW_SPEED_TIME` for git, unless the user set
    /// `GIT_HTTP_LOW_SPEED_LIMIT` or `GIT_HTTP_LOW_SPEED_TIME` themselves
    /// (then `None`: git keeps theirs).
    pub git_low_speed: bool,
}

impl Default for Net {
    fn default() -> Net {
        Net {
            retries: 3,
            timeout: Duration::from_secs(15),
            git_low_speed: true,
        }
    }
}

impl Net {
    /// No attempt starts that could end later than this after the first
    /// began: with the defaults, a server that stops answering fails the
    /// request within 60 s.
    pub fn budget(&self) -> Duration {
        self.timeout * (self.retries + 1)
    }
}

/// Everything in the settings file and the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub mirrors: Mirrors,
    pub net: Net,
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
pub fn load() -> anyhow::Result<Settings> {
    let mut registries = Vec::new();
    let mut urls = Vec::new();
    let mut net = Net::default();
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
            .with_hint(
                "the file has two tables: [mirrors], with `registry` and `index` maps, \
                 and [net], with `retries` and `timeout` (seconds)",
            )
        })?;
        registries.extend(file.mirrors.registry);
        urls.extend(file.mirrors.index);
        if let Some(r) = file.net.retries {
            net.retries = r;
        }
        if let Some(t) = file.net.timeout {
            net.timeout = t;
        }
    }
    registries.extend(env_pairs("MLR_REGISTRY_MIRRORS")?);
    urls.extend(env_pairs("MLR_INDEX_MIRRORS")?);
    if let Some(r) = env_number("MLR_HTTP_RETRIES")? {
        net.retries = u32::try_from(r).map_err(|_| {
            Error::new(
                ErrorKind::Usage,
                format!("MLR_HTTP_RETRIES: {r} is too many"),
            )
        })?;
    }
    if let Some(t) = env_number("MLR_HTTP_TIMEOUT")? {
        net.timeout = positive_seconds(t)
            .map_err(|e| Error::new(ErrorKind::Usage, format!("MLR_HTTP_TIMEOUT: {e}")))?;
    }
    net.git_low_speed = ["GIT_HTTP_LOW_SPEED_LIMIT", "GIT_HTTP_LOW_SPEED_TIME"]
        .iter()
        .all(|v| std::env::var_os(v).is_none_or(|v| v.is_empty()));
    Ok(Settings {
        mirrors: Mirrors::new(registries, urls),
        net,
    })
}

fn timeout_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let seconds = u64::deserialize(d)?;
    positive_seconds(seconds)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn positive_seconds(seconds: u64) -> Result<Duration, String> {
    if seconds == 0 {
        return Err(
            "a timeout of 0 s would fail every request; give whole seconds, at least 1".into(),
        );
    }
    Ok(Duration::from_secs(seconds))
}

/// A whole number from an environment variable, if set.
fn env_number(var: &str) -> anyhow::Result<Option<u64>> {
    let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let value = value.to_string_lossy();
    value.trim().parse().map(Some).map_err(|_| {
        anyhow::Error::new(Error::new(
            ErrorKind::Usage,
            format!("{var}: `{value}` is not a whole number"),
        ))
    })
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
    fn net_settings_parse_and_refuse_a_zero_timeout() {
        let file: SettingsFile =
            toml_edit::de::from_str("[net]\nretries = 5\ntimeout = 30\n").unwrap();
        assert_eq!(file.net.retries, Some(5));
        assert_eq!(file.net.timeout, Some(Duration::from_secs(30)));
        let file: SettingsFile = toml_edit::de::from_str("").unwrap();
        assert_eq!((file.net.retries, file.net.timeout), (None, None));
        let zero = toml_edit::de::from_str::<SettingsFile>("[net]\ntimeout = 0\n").unwrap_err();
        assert!(zero.message().contains("at least 1"), "{zero}");
        assert!(zero.span().is_some(), "located: {zero}");
        assert!(toml_edit::de::from_str::<SettingsFile>("[net]\nretry = 1\n").is_err());
        let net = Net::default();
        assert_eq!((net.retries, net.timeout.as_secs()), (3, 15));
    }

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
