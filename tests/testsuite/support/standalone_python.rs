//! A standalone CPython to install into images, and the downloads site it
//! comes from.
//!
//! `.ci/run` builds a real, relocatable CPython of another minor version
//! than bookworm's 3.11 (`ensure_standalone_cpython` in
//! `scripts/services.sh`: upstream 3.13.5 from the Debian mirror, packed in
//! python-build-standalone's `install_only` layout) and names the tarball in
//! `MLR_TEST_STANDALONE_PYTHON`. [`PythonDownloads`] serves it on 127.0.0.1
//! the way GitHub serves upstream's releases, with a uv-style
//! `download-metadata.json` that lists it under its canonical GitHub URL:
//! mlr reaches the rig through its `[mirrors]` settings, as it would reach
//! a company mirror of GitHub.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use serde::Serialize;

use super::http::{KeptAlive, Request, accept_loop};
use super::pyindex::LoggedRequest;
use super::wheel::sha256_hex;

/// The variable naming the tarball.
pub const STANDALONE_PYTHON_ENV: &str = "MLR_TEST_STANDALONE_PYTHON";

/// Where upstream's release assets live; [`PythonDownloads::mirror_base`]
/// stands in for it.
pub const UPSTREAM_RELEASES: &str =
    "https://github.com/astral-sh/python-build-standalone/releases/download";

/// The URL path of [`UPSTREAM_RELEASES`], which the rig serves the release
/// assets under too.
const RELEASES_PATH: &str = "/astral-sh/python-build-standalone/releases/download";

/// The URL path of the metadata file.
const METADATA_PATH: &str = "/download-metadata.json";

/// The tarball `.ci/run` built, or `None` when the environment names none
/// (or a file that is missing or not named like an `install_only`
/// tarball). Tests call `require!(Service::StandalonePython)` first, which
/// skips or fails with the reason.
pub fn standalone_python() -> Option<PathBuf> {
    standalone_python_checked().ok()
}

/// [`standalone_python`], or why there is none.
pub(crate) fn standalone_python_checked() -> Result<PathBuf, String> {
    let path = env::var_os(STANDALONE_PYTHON_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            format!(
                "{STANDALONE_PYTHON_ENV} is not set (`source scripts/services.sh && \
                 ensure_standalone_cpython /var/cache/mlr-test/$(standalone_cpython_name)`, \
                 then export it)"
            )
        })?;
    if !path.is_file() {
        return Err(format!(
            "{STANDALONE_PYTHON_ENV}={} is not a file; has ensure_standalone_cpython run?",
            path.display()
        ));
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    Release::parse(name).map_err(|e| format!("{STANDALONE_PYTHON_ENV}={}: {e}", path.display()))?;
    Ok(path)
}

/// What an upstream file name says:
/// `cpython-3.13.5+20250612-x86_64-unknown-linux-gnu-install_only.tar.gz`.
#[derive(Clone, Debug)]
struct Release {
    filename: String,
    /// `3.13.5`, or `3.14.0rc1`.
    version: String,
    major: u64,
    minor: u64,
    patch: u64,
    prerelease: String,
    /// The release tag (upstream's build date; `mlrtest` for the rig's).
    tag: String,
    /// `x86_64-unknown-linux-gnu`.
    triple: String,
    /// uv's names: `x86_64`, `linux`, `gnu`.
    arch: String,
    os: String,
    libc: String,
}

impl Release {
    fn parse(filename: &str) -> Result<Release, String> {
        let bad = |why: &str| {
            format!(
                "`{filename}` is not named like python-build-standalone's install_only \
                 tarballs (cpython-<version>+<tag>-<triple>-install_only.tar.gz): {why}"
            )
        };
        let rest = filename
            .strip_prefix("cpython-")
            .and_then(|r| r.strip_suffix("-install_only.tar.gz"))
            .ok_or_else(|| bad("prefix or suffix"))?;
        let (version, rest) = rest.split_once('+').ok_or_else(|| bad("no `+<tag>`"))?;
        let (tag, triple) = rest.split_once('-').ok_or_else(|| bad("no triple"))?;
        let mut numbers = version.splitn(3, '.');
        let number = |part: Option<&str>| part.and_then(|p| p.parse::<u64>().ok());
        let major = number(numbers.next()).ok_or_else(|| bad("major version"))?;
        let minor = number(numbers.next()).ok_or_else(|| bad("minor version"))?;
        let last = numbers.next().ok_or_else(|| bad("patch version"))?;
        let digits = last
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(last.len());
        let patch = number(Some(&last[..digits])).ok_or_else(|| bad("patch version"))?;
        let parts: Vec<&str> = triple.split('-').collect();
        let [arch, _vendor, os, libc] = parts[..] else {
            return Err(bad("the triple is not <arch>-<vendor>-<os>-<libc>"));
        };
        if tag.is_empty() {
            return Err(bad("empty tag"));
        }
        Ok(Release {
            filename: filename.to_owned(),
            version: version.to_owned(),
            major,
            minor,
            patch,
            prerelease: last[digits..].to_owned(),
            tag: tag.to_owned(),
            triple: triple.to_owned(),
            arch: arch.to_owned(),
            os: os.to_owned(),
            libc: libc.to_owned(),
        })
    }

    /// uv's key: `cpython-3.13.5-linux-x86_64-gnu`.
    fn key(&self) -> String {
        format!(
            "cpython-{}-{}-{}-{}",
            self.version, self.os, self.arch, self.libc
        )
    }

    /// `<tag>/<file name with + as %2B>`, as GitHub's release URLs have it.
    fn url_path(&self) -> String {
        format!("{}/{}", self.tag, self.filename.replace('+', "%2B"))
    }
}

/// A python-build-standalone downloads site on 127.0.0.1 for one tarball.
/// Stopped on drop.
///
/// - `GET /download-metadata.json`: uv's format, one entry (the tarball's
///   own platform; no other is invented) whose `url` is the canonical
///   GitHub URL [`PythonDownloads::canonical_url`].
/// - `GET /astral-sh/python-build-standalone/releases/download/<tag>/<file>`:
///   the tarball (`HEAD` and one `Range` too), the path of the canonical
///   URL, so [`PythonDownloads::mirror_base`] stands in for
///   [`UPSTREAM_RELEASES`] exactly.
///
/// Everything else is 404. Every request is logged.
pub struct PythonDownloads {
    addr: SocketAddr,
    release: Release,
    sha256: String,
    size: u64,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    /// The release asset's URL path, percent-decoded as requests are.
    asset_path: String,
    metadata: Arc<Vec<u8>>,
    stop: AtomicBool,
    state: Mutex<State>,
}

struct State {
    /// What the asset path serves (the tarball, unless tampered with).
    tarball: Arc<Vec<u8>>,
    log: Vec<LoggedRequest>,
}

impl PythonDownloads {
    /// Serves `tarball`, whose name must be upstream-shaped (see
    /// [`standalone_python`]).
    pub fn start(tarball: &Path) -> PythonDownloads {
        let name = tarball
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| panic!("{}: no file name", tarball.display()));
        let release = Release::parse(name).unwrap_or_else(|e| panic!("{e}"));
        let bytes = fs::read(tarball).unwrap_or_else(|e| panic!("read {}: {e}", tarball.display()));
        let sha256 = sha256_hex(&bytes);
        let size = bytes.len() as u64;
        let metadata = serde_json::to_vec_pretty(&metadata_json(&release, &sha256))
            .expect("serialize the metadata");
        // Binding port 0 here, and keeping the listener, leaves no window
        // for another process to take the port.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the downloads port");
        let addr = listener.local_addr().expect("downloads address");
        let shared = Arc::new(Shared {
            asset_path: format!("{RELEASES_PATH}/{}/{}", release.tag, release.filename),
            metadata: Arc::new(metadata),
            stop: AtomicBool::new(false),
            state: Mutex::new(State {
                tarball: Arc::new(bytes),
                log: Vec::new(),
            }),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("pbs-{}", addr.port()))
                .spawn(move || accept_loop(&listener, &shared, "pbs-conn"))
                .expect("spawn the downloads thread")
        };
        PythonDownloads {
            addr,
            release,
            sha256,
            size,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT/download-metadata.json`.
    pub fn metadata_url(&self) -> String {
        format!("http://{}{METADATA_PATH}", self.addr)
    }

    /// The served JSON, parsed.
    pub fn metadata(&self) -> serde_json::Value {
        serde_json::from_slice(&self.shared.metadata).expect("the metadata is JSON")
    }

    /// `http://127.0.0.1:PORT/astral-sh/python-build-standalone/releases/download`,
    /// which stands in for [`UPSTREAM_RELEASES`]: the rig serves
    /// `<mirror_base>/<tag>/<file>` for `<UPSTREAM_RELEASES>/<tag>/<file>`.
    pub fn mirror_base(&self) -> String {
        format!("http://{}{RELEASES_PATH}", self.addr)
    }

    /// The URL the metadata lists: `<UPSTREAM_RELEASES>/<tag>/<file>`, with
    /// `+` as `%2B`.
    pub fn canonical_url(&self) -> String {
        format!("{UPSTREAM_RELEASES}/{}", self.release.url_path())
    }

    /// Where the rig serves the tarball: [`PythonDownloads::canonical_url`]
    /// under [`PythonDownloads::mirror_base`].
    pub fn mirror_url(&self) -> String {
        format!("{}/{}", self.mirror_base(), self.release.url_path())
    }

    /// The tarball's sha256 (hex), as the metadata lists it. Stays the
    /// original's after [`PythonDownloads::tamper`].
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The tarball's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The CPython version: `3.13.5`.
    pub fn version(&self) -> &str {
        &self.release.version
    }

    /// The file name: `cpython-3.13.5+mlrtest-x86_64-unknown-linux-gnu-install_only.tar.gz`.
    pub fn filename(&self) -> &str {
        &self.release.filename
    }

    /// The release tag: `mlrtest`.
    pub fn tag(&self) -> &str {
        &self.release.tag
    }

    /// The metadata's key for the tarball: `cpython-3.13.5-linux-x86_64-gnu`.
    pub fn key(&self) -> String {
        self.release.key()
    }

    /// From now on the asset path serves other bytes of the same length
    /// (the middle 4 KiB inverted), while the metadata keeps the original
    /// sha256: a client that checks must refuse them.
    pub fn tamper(&self) {
        let mut state = self.shared.lock();
        let mut bytes = state.tarball.as_ref().clone();
        let middle = bytes.len() / 2;
        let end = (middle + 4096).min(bytes.len());
        for byte in &mut bytes[middle..end] {
            *byte = !*byte;
        }
        state.tarball = Arc::new(bytes);
    }

    /// The paths requested so far, in order (percent-decoded, no query).
    pub fn requests(&self) -> Vec<String> {
        self.request_log().into_iter().map(|r| r.path).collect()
    }

    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.clone()
    }

    /// How many times the tarball was requested with `GET`.
    pub fn tarball_downloads(&self) -> usize {
        self.request_log()
            .iter()
            .filter(|r| r.method == "GET" && r.path == self.shared.asset_path)
            .count()
    }
}

impl Drop for PythonDownloads {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so the loop sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// uv's `download-metadata.json` with the one entry: uv's field names, in
/// the order of its `crates/uv-python/download-metadata.json`.
fn metadata_json(release: &Release, sha256: &str) -> BTreeMap<String, Entry> {
    let entry = Entry {
        name: "cpython",
        arch: Arch {
            family: release.arch.clone(),
            variant: None,
        },
        os: release.os.clone(),
        libc: release.libc.clone(),
        major: release.major,
        minor: release.minor,
        patch: release.patch,
        prerelease: release.prerelease.clone(),
        url: format!("{UPSTREAM_RELEASES}/{}", release.url_path()),
        sha256: sha256.to_owned(),
        variant: None,
        build: release.tag.clone(),
    };
    BTreeMap::from([(release.key(), entry)])
}

/// One value of uv's `download-metadata.json`.
#[derive(Serialize)]
struct Entry {
    name: &'static str,
    arch: Arch,
    os: String,
    libc: String,
    major: u64,
    minor: u64,
    patch: u64,
    prerelease: String,
    url: String,
    sha256: String,
    /// `freethreaded`, `debug`: none for the rig's build.
    variant: Option<String>,
    build: String,
}

#[derive(Serialize)]
struct Arch {
    family: String,
    /// `v2`, `v3`... (x86-64 microarchitecture levels): none.
    variant: Option<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take the server down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl KeptAlive for Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn answer(
        &self,
        request: &Request,
        stream: &mut TcpStream,
        keep_alive: bool,
    ) -> io::Result<u16> {
        let response = route(request, self);
        let status = response.status;
        response.write(stream, request.method == "HEAD", keep_alive)?;
        Ok(status)
    }

    fn log(&self, entry: LoggedRequest) {
        self.lock().log.push(entry);
    }
}

fn route(request: &Request, shared: &Shared) -> Response {
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return Response::text(405, "only GET and HEAD");
    }
    if request.path == METADATA_PATH {
        return Response::whole("application/json", Arc::clone(&shared.metadata));
    }
    if request.path == shared.asset_path {
        let tarball = Arc::clone(&shared.lock().tarball);
        return match request.header("range") {
            None => Response::whole("application/octet-stream", tarball),
            Some(range) => Response::ranged(range, tarball),
        };
    }
    Response::text(404, "Not Found")
}

struct Response {
    status: u16,
    content_type: &'static str,
    /// `Content-Range` of a 206 or 416.
    content_range: Option<String>,
    /// `body[range]` is sent (left out of a `HEAD` answer, but still its
    /// `Content-Length`).
    body: Arc<Vec<u8>>,
    range: std::ops::Range<usize>,
}

impl Response {
    fn whole(content_type: &'static str, body: Arc<Vec<u8>>) -> Response {
        Response {
            status: 200,
            content_type,
            content_range: None,
            range: 0..body.len(),
            body,
        }
    }

    fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            ..Response::whole(
                "text/plain; charset=utf-8",
                Arc::new(format!("{body}\n").into_bytes()),
            )
        }
    }

    /// One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; any other form is
    /// ignored (the whole file, as HTTP allows).
    fn ranged(header: &str, body: Arc<Vec<u8>>) -> Response {
        let len = body.len();
        let Some(spec) = header.trim().strip_prefix("bytes=") else {
            return Response::whole("application/octet-stream", body);
        };
        if spec.contains(',') {
            return Response::whole("application/octet-stream", body);
        }
        let Some((first, last)) = spec.split_once('-') else {
            return Response::whole("application/octet-stream", body);
        };
        let (first, last) = (first.trim(), last.trim());
        let bounds = match (first.parse::<usize>(), last.parse::<usize>()) {
            (Ok(a), Ok(b)) if a <= b => Some((a, b.min(len.saturating_sub(1)))),
            (Ok(a), Err(_)) if last.is_empty() => Some((a, len.saturating_sub(1))),
            (Err(_), Ok(n)) if first.is_empty() && n > 0 => {
                Some((len.saturating_sub(n), len.saturating_sub(1)))
            }
            _ => return Response::whole("application/octet-stream", body),
        };
        match bounds {
            Some((a, b)) if a < len => Response {
                status: 206,
                content_type: "application/octet-stream",
                content_range: Some(format!("bytes {a}-{b}/{len}")),
                body,
                range: a..b + 1,
            },
            _ => Response {
                content_range: Some(format!("bytes */{len}")),
                ..Response::text(416, "Range Not Satisfiable")
            },
        }
    }

    fn write(self, stream: &mut TcpStream, head_only: bool, keep_alive: bool) -> io::Result<()> {
        let reason = match self.status {
            200 => "OK",
            206 => "Partial Content",
            404 => "Not Found",
            405 => "Method Not Allowed",
            416 => "Range Not Satisfiable",
            _ => "Internal Server Error",
        };
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\n",
            self.status,
            self.content_type,
            self.range.len()
        );
        if let Some(range) = &self.content_range {
            write!(head, "Content-Range: {range}\r\n").unwrap();
        }
        if self.status == 405 {
            head.push_str("Allow: GET, HEAD\r\n");
        }
        write!(head, "Connection: {connection}\r\n\r\n").unwrap();
        stream.write_all(head.as_bytes())?;
        if !head_only {
            stream.write_all(&self.body[self.range])?;
        }
        stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::Release;

    #[test]
    fn upstream_names_parse() {
        let r =
            Release::parse("cpython-3.13.5+20250612-aarch64-unknown-linux-gnu-install_only.tar.gz")
                .unwrap();
        assert_eq!(
            (r.major, r.minor, r.patch, r.prerelease.as_str()),
            (3, 13, 5, "")
        );
        assert_eq!(r.tag, "20250612");
        assert_eq!(r.key(), "cpython-3.13.5-linux-aarch64-gnu");
        assert_eq!(
            r.url_path(),
            "20250612/cpython-3.13.5%2B20250612-aarch64-unknown-linux-gnu-install_only.tar.gz"
        );
        let rc = Release::parse(
            "cpython-3.14.0rc1+20250723-x86_64-unknown-linux-gnu-install_only.tar.gz",
        )
        .unwrap();
        assert_eq!((rc.patch, rc.prerelease.as_str()), (0, "rc1"));
        assert!(Release::parse("python-3.13.5.tar.gz").is_err());
        assert!(
            Release::parse("cpython-3.13.5-x86_64-unknown-linux-gnu-install_only.tar.gz").is_err()
        );
    }
}
