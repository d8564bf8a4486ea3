//! Tests of the standalone CPython rig: the downloads site speaks uv's
//! `download-metadata.json` with canonical GitHub URLs, serves the tarball
//! under the mirror path, and the tarball is a relocatable CPython in
//! python-build-standalone's `install_only` layout.

use std::fs;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::support::{PythonDownloads, Service, UPSTREAM_RELEASES, require, standalone_python};

struct Fetched {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `method url` with `headers`, redirects not followed, bodies of any size.
fn fetch(method: &str, url: &str, headers: &[(&str, &str)]) -> Fetched {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .build()
        .into();
    let request = ureq::http::Request::builder().method(method).uri(url);
    let request = headers
        .iter()
        .fold(request, |r, (name, value)| r.header(*name, *value))
        .body(())
        .expect("request");
    let mut response = agent
        .run(request)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    Fetched {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .expect("read body"),
    }
}

fn get(url: &str) -> Fetched {
    fetch("GET", url, &[])
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("mlr-cpython-rig-")
        .tempdir()
        .expect("create tempdir")
}

/// The site serving `.ci/run`'s tarball; `None` (the test returns) when the
/// service is missing.
fn downloads() -> Option<PythonDownloads> {
    if !require(Service::StandalonePython) {
        return None;
    }
    Some(PythonDownloads::start(
        &standalone_python().expect("checked by require"),
    ))
}

/// uv's name for this machine's architecture.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        other => panic!("no python-build-standalone triple for {other}"),
    }
}

#[test]
fn metadata_lists_the_host_tarball_under_its_canonical_github_url() {
    let Some(site) = downloads() else { return };
    let arch = host_arch();
    assert_eq!(site.version(), "3.13.5");
    assert_eq!(
        site.filename(),
        format!("cpython-3.13.5+mlrtest-{arch}-unknown-linux-gnu-install_only.tar.gz")
    );
    let canonical = format!(
        "https://github.com/astral-sh/python-build-standalone/releases/download/mlrtest/\
         cpython-3.13.5%2Bmlrtest-{arch}-unknown-linux-gnu-install_only.tar.gz"
    );
    assert_eq!(site.canonical_url(), canonical);

    let page = get(&site.metadata_url());
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("application/json"));
    let metadata: serde_json::Value = serde_json::from_slice(&page.body).expect("JSON");
    assert_eq!(metadata, site.metadata());
    // One entry, for this machine's platform only: no other is invented.
    let key = format!("cpython-3.13.5-linux-{arch}-gnu");
    assert_eq!(site.key(), key);
    assert_eq!(
        metadata,
        serde_json::json!({
            key: {
                "name": "cpython",
                "arch": { "family": arch, "variant": null },
                "os": "linux",
                "libc": "gnu",
                "major": 3,
                "minor": 13,
                "patch": 5,
                "prerelease": "",
                "url": canonical,
                "sha256": site.sha256(),
                "variant": null,
                "build": "mlrtest",
            }
        })
    );
    // uv's field order, as its own file has it.
    let text = String::from_utf8(page.body).unwrap();
    let order = [
        "\"name\"",
        "\"arch\"",
        "\"os\"",
        "\"libc\"",
        "\"major\"",
        "\"minor\"",
        "\"patch\"",
        "\"prerelease\"",
        "\"url\"",
        "\"sha256\"",
        "\"variant\": null,\n    \"build\"",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|field| {
            text.find(field)
                .unwrap_or_else(|| panic!("{field} in {text}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert_eq!(site.requests(), ["/download-metadata.json"]);
}

#[test]
fn mirror_path_serves_a_relocatable_cpython_in_the_install_only_layout() {
    let Some(site) = downloads() else { return };
    let metadata = get(&site.metadata_url());
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.body).unwrap();
    let entry = &metadata[site.key()];

    // What a client with a mirror setting does: swap the upstream prefix.
    let url = entry["url"].as_str().unwrap();
    let tail = url
        .strip_prefix(UPSTREAM_RELEASES)
        .expect("a canonical upstream URL");
    let mirrored = format!("{}{tail}", site.mirror_base());
    assert_eq!(mirrored, site.mirror_url());
    assert!(mirrored.starts_with(&format!(
        "http://{}/astral-sh/python-build-standalone/releases/download/mlrtest/",
        site.addr()
    )));

    let tarball = get(&mirrored);
    assert_eq!(tarball.status, 200);
    assert_eq!(tarball.body.len() as u64, site.size());
    assert_eq!(sha256(&tarball.body), entry["sha256"].as_str().unwrap());
    assert_eq!(sha256(&tarball.body), site.sha256());
    let file = standalone_python().unwrap();
    assert_eq!(tarball.body, fs::read(&file).unwrap());
    // The `+` unencoded reaches the same file.
    let plain = mirrored.replace("%2B", "+");
    assert_eq!(get(&plain).body.len() as u64, site.size());
    assert_eq!(site.tarball_downloads(), 2);
    assert_eq!(
        site.requests(),
        [
            "/download-metadata.json".to_owned(),
            format!(
                "/astral-sh/python-build-standalone/releases/download/mlrtest/{}",
                site.filename()
            ),
            format!(
                "/astral-sh/python-build-standalone/releases/download/mlrtest/{}",
                site.filename()
            ),
        ]
    );

    // Unpacked somewhere the build never was, it runs.
    let dir = tempdir();
    let archive = dir.path().join(site.filename());
    fs::write(&archive, &tarball.body).unwrap();
    let unpacked = dir.path().join("elsewhere");
    fs::create_dir(&unpacked).unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked));
    let top: Vec<_> = fs::read_dir(&unpacked)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(top, ["python"]);
    let python = unpacked.join("python/bin/python3");
    for path in [
        "bin/python3.13",
        "lib/python3.13/os.py",
        "include/python3.13/Python.h",
    ] {
        assert!(unpacked.join("python").join(path).exists(), "python/{path}");
    }
    let version = run(Command::new(&python).arg("--version"));
    assert_eq!(version.trim(), "Python 3.13.5");
    let report = run(Command::new(&python).args([
        "-c",
        "import ssl, zlib, ctypes, venv, ensurepip, sys; \
         print(sys.prefix); print(ensurepip.version())",
    ]));
    let mut lines = report.lines();
    assert_eq!(
        Path::new(lines.next().unwrap()).canonicalize().unwrap(),
        unpacked.join("python").canonicalize().unwrap(),
        "sys.prefix follows the unpacked tree"
    );
    assert!(!lines.next().unwrap().is_empty(), "a bundled pip wheel");
}

#[test]
fn head_and_ranges_answer_like_a_release_asset_host() {
    let Some(site) = downloads() else { return };
    let url = site.mirror_url();
    let head = fetch("HEAD", &url, &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let size = site.size().to_string();
    assert_eq!(head.header("content-length"), Some(size.as_str()));
    assert_eq!(head.header("accept-ranges"), Some("bytes"));

    let whole = get(&url).body;
    let part = fetch("GET", &url, &[("Range", "bytes=10-19")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, whole[10..20]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 10-19/{size}").as_str())
    );
    let rest = fetch("GET", &url, &[("Range", "bytes=100-")]);
    assert_eq!(rest.status, 206);
    assert_eq!(rest.body, whole[100..]);
    let past = fetch("GET", &url, &[("Range", &format!("bytes={size}-"))]);
    assert_eq!(past.status, 416);

    for path in [
        "/astral-sh/python-build-standalone/releases/download/20250612/x.tar.gz".to_owned(),
        format!("/mlrtest/{}", site.filename()),
        "/".to_owned(),
    ] {
        let missing = get(&format!("http://{}{path}", site.addr()));
        assert_eq!(missing.status, 404, "{path}");
    }
    assert_eq!(fetch("POST", &site.metadata_url(), &[]).status, 405);
}

#[test]
fn tampered_tarball_keeps_its_length_but_not_its_sha256() {
    let Some(site) = downloads() else { return };
    let before = get(&site.mirror_url()).body;
    site.tamper();
    let after = get(&site.mirror_url()).body;
    assert_eq!(after.len(), before.len());
    assert_ne!(sha256(&after), site.sha256());
    // The metadata still vouches for the original.
    let metadata = site.metadata();
    assert_eq!(metadata[site.key()]["sha256"], site.sha256());
    assert_eq!(sha256(&before), site.sha256());
}

/// Runs `command`, panicking with its output unless it succeeds; its stdout.
fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}
