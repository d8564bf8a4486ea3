//! The archive side of apt locking: which archive, suite and components the
//! base image uses (read from the image through the registry), its
//! `Packages` indexes (through mirrors, or a snapshot), and the base's
//! installed packages. Pure parsing and solving live beside this module.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

use super::index::{Index, Origin, gunzip, parse_packages};
use super::status::{Installed, parse_status};
use crate::config::Config;
use crate::http::Http;
use crate::lock::ImagePin;
use crate::manifest::ImageRef;
use crate::redact::redact_url;
use crate::resolve::image_files::{cached_by_digest, parse_os_release, read_image_files};

pub use crate::requests::{SourceEntry, parse_one_line_sources};

/// What the base image says about apt, for one platform. `sources` is
/// empty when the image configures none (then `[apt] sources` must).
#[derive(Debug, Clone)]
pub struct BaseApt {
    pub os_id: String,
    pub codename: Option<String>,
    pub architecture: String,
    pub sources: Vec<SourceEntry>,
    pub installed: Vec<Installed>,
}

/// The files mlr reads from the base image for apt.
pub const SOURCE_FILES: &[&str] = &[
    "/etc/os-release",
    "/etc/apt/sources.list",
    "/etc/apt/sources.list.d/debian.sources",
    "/etc/apt/sources.list.d/ubuntu.sources",
    "/etc/apt/sources.list.d/cuda.list",
    "/var/lib/dpkg/status",
];

/// Read the base image's distribution, apt sources and dpkg status for the
/// platform manifest `manifest_digest`.
pub fn base_apt(config: &Config, base: &ImagePin, platform: &str) -> anyhow::Result<BaseApt> {
    let digest = &base
        .platforms
        .iter()
        .find(|p| p.platform == platform)
        .with_context(|| format!("the base image is not locked for {platform}"))?
        .digest;
    let reference = ImageRef {
        registry: base.registry.clone(),
        repository: base.repository.clone(),
        tag: None,
        digest: Some(base.digest.clone()),
    };
    // The files as the image holds them, kept by its manifest digest.
    let (files, read) = cached_by_digest(config, "base-apt", 1, digest, || {
        config.shell.status(
            "Inspecting",
            format!("{} ({platform}) for apt", base.requested),
        );
        let files = read_image_files(config, &reference, digest, SOURCE_FILES)?;
        Ok(SOURCE_FILES
            .iter()
            .filter_map(|p| Some((p.to_string(), files.text(p)?)))
            .collect::<std::collections::BTreeMap<String, String>>())
    })?;
    if !read {
        config.shell.verbose(
            "Fresh",
            format!("{} ({platform}) for apt, read before", base.requested),
        );
    }
    let text = |path: &str| -> Option<String> { files.get(path).cloned() };
    let os = text("/etc/os-release")
        .map(|t| parse_os_release(&t))
        .unwrap_or_default();
    let mut sources = Vec::new();
    if let Some(t) = text("/etc/apt/sources.list") {
        sources.extend(parse_one_line_sources(&t));
    }
    for path in &SOURCE_FILES[2..4] {
        if let Some(t) = text(path) {
            sources.extend(parse_deb822_sources(&t));
        }
    }
    if let Some(t) = text("/etc/apt/sources.list.d/cuda.list") {
        sources.extend(parse_one_line_sources(&t));
    }
    let status = text("/var/lib/dpkg/status").unwrap_or_default();
    let architecture = platform.split('/').nth(1).unwrap_or("amd64").to_string();
    Ok(BaseApt {
        os_id: os.id,
        codename: os.codename,
        architecture,
        sources,
        installed: parse_status(&status)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("reading /var/lib/dpkg/status of the base image")?,
    })
}

/// deb822 `.sources` stanzas (`Types: deb`, `URIs`, `Suites`, `Components`).
pub fn parse_deb822_sources(text: &str) -> Vec<SourceEntry> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields: BTreeMap<String, String> = BTreeMap::new();
        for line in stanza.lines() {
            if line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                if !k.starts_with(' ') {
                    fields.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
        }
        if !fields
            .get("types")
            .is_some_and(|t| t.split_whitespace().any(|t| t == "deb"))
        {
            continue;
        }
        if fields.get("enabled").is_some_and(|e| e == "no") {
            continue;
        }
        let comps: Vec<String> = fields
            .get("components")
            .map(|c| c.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        for uri in fields
            .get("uris")
            .map(|u| u.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            for suite in fields
                .get("suites")
                .map(|s| s.split_whitespace().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                out.push(SourceEntry {
                    uri: uri.trim_end_matches('/').to_string(),
                    suite: suite.to_string(),
                    components: comps.clone(),
                });
            }
        }
    }
    out
}

/// The snapshot URL for an archive URI at `timestamp`, when the archive
/// has a snapshot service (Debian, Ubuntu); `None` otherwise.
pub fn snapshot_uri(uri: &str, timestamp: &str) -> Option<String> {
    let path = uri.split_once("://").map(|(_, rest)| rest)?;
    let (host, archive) = path.split_once('/').unwrap_or((path, ""));
    let archive = archive.trim_matches('/');
    if host.ends_with("debian.org") && !archive.is_empty() {
        let name = archive.rsplit('/').next().unwrap_or(archive);
        return Some(format!(
            "https://snapshot.debian.org/archive/{name}/{timestamp}"
        ));
    }
    if host.ends_with("ubuntu.com") {
        return Some(format!("https://snapshot.ubuntu.com/ubuntu/{timestamp}"));
    }
    None
}

/// One component's `Packages` index, as `Packages.gz` or `Packages.xz`
/// (Debian's -updates and -security suites publish only xz). `None` when
/// the archive has neither (a suite without that component or arch).
fn fetch_packages_file(
    config: &Config,
    http: &Http,
    s: &SourceEntry,
    component: &str,
    arch: &str,
    release: &Release,
) -> anyhow::Result<Option<(String, String)>> {
    // A flat repository (`deb URI /`, as NVIDIA's CUDA one) has its index
    // beside its Release file; a normal one under dists/.
    let (dir, rel_dir) = if s.suite.ends_with('/') {
        (
            format!("{}/{}", s.uri, s.suite.trim_end_matches('/')),
            String::new(),
        )
    } else {
        let rel = format!("{component}/binary-{arch}");
        (
            format!("{}/dists/{}/{rel}", s.uri, s.suite),
            format!("{rel}/"),
        )
    };
    for (name, xz) in [("Packages.gz", false), ("Packages.xz", true)] {
        let canonical = format!("{}/{name}", dir.trim_end_matches('/'));
        let url = config.mirrors.url(&canonical);
        match http.get(&url, None) {
            Ok(bytes) => {
                // The index must be the one the suite's Release lists.
                release
                    .check(&format!("{rel_dir}{name}"), &bytes)
                    .with_context(|| format!("checking {}", redact_url(&canonical)))?;
                config.shell.status("Fetched", redact_url(&canonical));
                let text = if xz { unxz(&bytes) } else { gunzip(&bytes) }
                    .with_context(|| format!("decompressing {}", redact_url(&canonical)))?;
                return Ok(Some((canonical, text)));
            }
            Err(e) if crate::http::HttpStatus::of(&e) == Some(404) => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("fetching {}", redact_url(&canonical)));
            }
        }
    }
    Ok(None)
}

/// The `SHA256:` section of a suite's `Release` file: path → (sha256, size).
#[derive(Debug, Default)]
pub struct Release {
    sums: BTreeMap<String, (String, u64)>,
}

impl Release {
    pub fn parse(text: &str) -> Release {
        let mut sums = BTreeMap::new();
        let mut in_sha256 = false;
        for line in text.lines() {
            if !line.starts_with(' ') {
                in_sha256 = line.trim_end() == "SHA256:";
                continue;
            }
            if in_sha256 {
                let mut parts = line.split_whitespace();
                if let (Some(sha), Some(size), Some(path)) =
                    (parts.next(), parts.next(), parts.next())
                {
                    sums.insert(
                        path.to_string(),
                        (sha.to_ascii_lowercase(), size.parse().unwrap_or(0)),
                    );
                }
            }
        }
        Release { sums }
    }

    /// Fail unless `bytes` are what Release lists for `path`.
    pub fn check(&self, path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        use sha2::{Digest, Sha256};
        let Some((want, _)) = self.sums.get(path) else {
            bail!("the suite's Release file does not list {path}");
        };
        let got = hex::encode(Sha256::digest(bytes));
        if *want != got {
            bail!("{path} has sha256 {got}, but the suite's Release file lists {want}");
        }
        Ok(())
    }
}

/// The Release file of a suite (`dists/SUITE/Release`, or beside a flat
/// repository's index).
fn fetch_release(config: &Config, http: &Http, s: &SourceEntry) -> anyhow::Result<Release> {
    let canonical = if s.suite.ends_with('/') {
        format!("{}/{}Release", s.uri, s.suite.trim_start_matches('/'))
    } else {
        format!("{}/dists/{}/Release", s.uri, s.suite)
    };
    let bytes = http
        .get(&config.mirrors.url(&canonical), None)
        .with_context(|| format!("fetching {}", redact_url(&canonical)))?;
    Ok(Release::parse(&String::from_utf8_lossy(&bytes)))
}

fn unxz(bytes: &[u8]) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    xz2::read::XzDecoder::new(bytes).read_to_string(&mut text)?;
    Ok(text)
}

/// Download and parse every `Packages` index of `sources` for `arch`
/// (through mirrors). The archive side of each package is kept canonical.
pub fn fetch_indexes(
    config: &Config,
    sources: &[SourceEntry],
    arch: &str,
) -> anyhow::Result<Index> {
    let http = Http::new(&config.net)?;
    let mut merged: Option<Index> = None;
    for s in sources {
        let release = fetch_release(config, &http, s)?;
        let flat = [String::new()];
        let components: &[String] = if s.suite.ends_with('/') {
            &flat
        } else {
            &s.components
        };
        for component in components {
            let Some((canonical, text)) =
                fetch_packages_file(config, &http, s, component, arch, &release)?
            else {
                config.shell.verbose(
                    "Skipping",
                    format!(
                        "{} {} {component}: no index for {arch}",
                        redact_url(&s.uri),
                        s.suite
                    ),
                );
                continue;
            };
            let packages = parse_packages(&text)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("parsing {}", redact_url(&canonical)))?;
            let index = Index::new(
                packages,
                Origin {
                    source: s.uri.clone(),
                    suite: s.suite.clone(),
                    component: component.clone(),
                },
            );
            match &mut merged {
                Some(m) => m.merge(index),
                None => merged = Some(index),
            }
        }
    }
    match merged {
        Some(m) => Ok(m),
        None => bail!("none of the apt sources has a Packages index for {arch}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_source_formats() {
        let one = "# comment\ndeb http://deb.debian.org/debian bookworm main contrib\ndeb [arch=amd64 signed-by=/x.gpg] https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2204/x86_64/ /\ndeb-src http://x/ y z\n";
        let e = parse_one_line_sources(one);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].components, ["main", "contrib"]);
        assert_eq!(
            e[1].uri,
            "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2204/x86_64"
        );
        let deb822 = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n";
        let e = parse_deb822_sources(deb822);
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].suite, "bookworm-updates");
        assert_eq!(e[2].uri, "http://deb.debian.org/debian-security");
    }

    #[test]
    fn release_files_vouch_for_indexes() {
        use sha2::{Digest, Sha256};
        let body = b"Package: x\n";
        let sha = hex::encode(Sha256::digest(body));
        let release = Release::parse(&format!(
            "Origin: Debian\nMD5Sum:\n 00 1 main/binary-amd64/Packages.gz\nSHA256:\n {sha} 11 main/binary-amd64/Packages.gz\n"
        ));
        assert!(release.check("main/binary-amd64/Packages.gz", body).is_ok());
        assert!(
            release
                .check("main/binary-amd64/Packages.gz", b"tampered")
                .is_err()
        );
        assert!(
            release
                .check("main/binary-arm64/Packages.gz", body)
                .is_err()
        );
    }

    #[test]
    fn snapshot_urls() {
        assert_eq!(
            snapshot_uri("http://deb.debian.org/debian", "20250520T000000Z").as_deref(),
            Some("https://snapshot.debian.org/archive/debian/20250520T000000Z")
        );
        assert_eq!(
            snapshot_uri("http://deb.debian.org/debian-security", "20250520T000000Z").as_deref(),
            Some("https://snapshot.debian.org/archive/debian-security/20250520T000000Z")
        );
        assert_eq!(
            snapshot_uri("http://archive.ubuntu.com/ubuntu", "20250520T000000Z").as_deref(),
            Some("https://snapshot.ubuntu.com/ubuntu/20250520T000000Z")
        );
        assert_eq!(snapshot_uri("http://127.0.0.1:9/debian", "x"), None);
    }
}
