//! A Python package index on 127.0.0.1 that speaks what pip and uv speak:
//! the simple API as PEP 503 HTML and PEP 691 JSON (by `Accept`), PEP 658 /
//! PEP 714 `.metadata` files, PEP 592 yanks, PEP 700 `versions`, ranged
//! and `HEAD` reads of files, and optional HTTP Basic auth. It serves the
//! wheels and sdists it builds and real files it is given (`add_file`),
//! and logs every request so tests can say which index served which
//! package.
//!
//! One server can hold several indexes under different paths (`simple`
//! by default; `whl/cu124` for a PyTorch-style layout); they share one
//! `/files/` store, as download.pytorch.org's variant indexes share files.

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::json;
use tempfile::TempDir;

use super::http::Request;
use super::sdist::SetuptoolsProject;
use super::wheel::{
    self, BuiltFile, STANDARD, WheelSpec, build_sdist_for, build_wheel, normalize_name,
};

/// The index [`PyIndex::url`] points at.
pub const DEFAULT_INDEX: &str = "simple";

const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";
const HTML_TYPE: &str = "application/vnd.pypi.simple.v1+html";

/// A client that stalls this long mid-request loses its connection.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A running index with its files in its own tempdir. Stopped on drop.
pub struct PyIndex {
    addr: SocketAddr,
    credentials: Option<(String, String)>,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    _dir: TempDir,
}

/// One request as the index saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// Percent-decoded, without the query.
    pub path: String,
    pub accept: Option<String>,
    pub range: Option<String>,
    pub status: u16,
}

struct Shared {
    files_dir: PathBuf,
    /// The whole `Authorization` value the index accepts, if it wants one.
    authorization: Option<String>,
    stop: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Every file the index serves, by filename.
    files: BTreeMap<String, Listed>,
    /// Index path → normalized project → filenames. A project stays listed
    /// (with no files) once every file of it is removed, as on PyPI.
    indexes: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    log: Vec<LoggedRequest>,
    uploads: u32,
    /// No `core-metadata` in pages and 404 for `.metadata`, as behind a
    /// proxy that strips PEP 658 (clients fall back to ranged reads).
    hide_core_metadata: bool,
}

/// What a project page says of the release a file belongs to.
struct Release<'a> {
    name: &'a str,
    version: &'a str,
    requires_python: Option<&'a str>,
}

impl Release<'_> {
    fn of(spec: &WheelSpec) -> Release<'_> {
        Release {
            name: &spec.name,
            version: &spec.version,
            requires_python: spec.requires_python.as_deref(),
        }
    }
}

struct Listed {
    version: String,
    sha256: String,
    size: u64,
    requires_python: Option<String>,
    /// sha256 of the `.metadata` file, for wheels.
    metadata_sha256: Option<String>,
    /// Upload order; also gives a distinct `upload-time`.
    upload: u32,
    /// `None`: not yanked; `Some("")`: yanked without a reason.
    yanked: Option<String>,
}

impl PyIndex {
    /// An anonymous index with an empty [`DEFAULT_INDEX`].
    pub fn start() -> PyIndex {
        PyIndex::spawn(None)
    }

    /// An index that answers 401 to every request without these Basic
    /// credentials.
    pub fn start_with_auth(user: &str, password: &str) -> PyIndex {
        PyIndex::spawn(Some((user.to_owned(), password.to_owned())))
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT/simple`, an `--index-url`.
    pub fn url(&self) -> String {
        self.url_of(DEFAULT_INDEX)
    }

    /// `http://127.0.0.1:PORT/<index>`, e.g. `url_of("whl/cu124")`.
    pub fn url_of(&self, index: &str) -> String {
        format!("http://{}/{}", self.addr, index_path(index))
    }

    /// [`PyIndex::url`] with the credentials of an auth index in it:
    /// `http://user:pass@127.0.0.1:PORT/simple`.
    pub fn url_with_credentials(&self) -> String {
        let (user, password) = self
            .credentials
            .as_ref()
            .expect("url_with_credentials: this index has no credentials");
        format!(
            "http://{}:{}@{}/{DEFAULT_INDEX}",
            percent_encode(user),
            percent_encode(password),
            self.addr
        )
    }

    /// The `Authorization` header value of an auth index.
    pub fn basic_auth(&self) -> Option<String> {
        self.credentials
            .as_ref()
            .map(|(user, password)| basic_auth(user, password))
    }

    /// The absolute URL the project pages link `filename` at (a `+` in it
    /// is sent as `%2B`, as download.pytorch.org does). Pages link it
    /// relatively, so a client sees the host it used to reach the index.
    pub fn file_url(&self, filename: &str) -> String {
        format!("http://{}/files/{}", self.addr, percent_encode(filename))
    }

    /// Builds `spec` into the store and lists it in [`DEFAULT_INDEX`], with
    /// its METADATA as a PEP 658 `.metadata` file. A file of the same name
    /// is replaced (a re-upload: same name, new hash).
    pub fn add_wheel(&self, spec: &WheelSpec) -> BuiltFile {
        self.add_wheel_to(DEFAULT_INDEX, spec)
    }

    /// [`PyIndex::add_wheel`] into the index at path `index`.
    pub fn add_wheel_to(&self, index: &str, spec: &WheelSpec) -> BuiltFile {
        self.add_wheel_in(&[index], spec)
    }

    fn add_wheel_in(&self, indexes: &[&str], spec: &WheelSpec) -> BuiltFile {
        let built = build_wheel(&self.shared.files_dir, spec);
        let metadata = spec.metadata();
        let metadata_path = self
            .shared
            .files_dir
            .join(format!("{}.metadata", built.filename));
        fs::write(&metadata_path, &metadata)
            .unwrap_or_else(|e| panic!("write {}: {e}", metadata_path.display()));
        self.list(
            indexes,
            &Release::of(spec),
            &built,
            Some(wheel::sha256_hex(metadata.as_bytes())),
        );
        built
    }

    /// Adds `{name}-{version}.tar.gz` (no dependencies) to [`DEFAULT_INDEX`].
    pub fn add_sdist(&self, name: &str, version: &str) -> BuiltFile {
        self.add_sdist_for(&WheelSpec::new(name, version))
    }

    /// Adds the sdist of `spec` (see `build_sdist_for`) to
    /// [`DEFAULT_INDEX`]. Sdists have no `.metadata` file.
    pub fn add_sdist_for(&self, spec: &WheelSpec) -> BuiltFile {
        self.add_sdist_to(DEFAULT_INDEX, spec)
    }

    pub fn add_sdist_to(&self, index: &str, spec: &WheelSpec) -> BuiltFile {
        let built = build_sdist_for(&self.shared.files_dir, spec);
        self.list(&[index], &Release::of(spec), &built, None);
        built
    }

    /// Builds the sdist of `project` (see `SetuptoolsProject::build_sdist`)
    /// into the store and lists it in [`DEFAULT_INDEX`].
    pub fn add_setuptools_sdist(&self, project: &SetuptoolsProject) -> BuiltFile {
        let built = project.build_sdist(&self.shared.files_dir);
        self.add_file(&built.path)
    }

    /// Copies an existing wheel or sdist (`.tar.gz`), e.g. a real one from
    /// `pypi_wheel`, into the store and lists it in [`DEFAULT_INDEX`] under
    /// the name, version and `Requires-Python` of its core metadata: a
    /// wheel's `*.dist-info/METADATA`, also served byte for byte as its
    /// PEP 658 `.metadata` file, or an sdist's `PKG-INFO` (which it must
    /// have). A file of the same name is replaced.
    pub fn add_file(&self, path: &Path) -> BuiltFile {
        self.add_file_to(DEFAULT_INDEX, path)
    }

    /// [`PyIndex::add_file`] into the index at path `index`.
    pub fn add_file_to(&self, index: &str, path: &Path) -> BuiltFile {
        let filename = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_else(|| panic!("add_file: {} has no file name", path.display()))
            .to_owned();
        let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let is_wheel = filename.ends_with(".whl");
        let metadata = if is_wheel {
            wheel_metadata(path, &bytes)
        } else if filename.ends_with(".tar.gz") {
            sdist_pkg_info(path, &bytes)
        } else {
            panic!("add_file: {filename} is neither a wheel nor a .tar.gz sdist")
        };
        let text = String::from_utf8(metadata.clone())
            .unwrap_or_else(|e| panic!("{filename}: core metadata is not UTF-8: {e}"));
        let field = |key: &str| metadata_field(&text, key);
        let name = field("Name").unwrap_or_else(|| panic!("{filename}: no Name: in its metadata"));
        let version =
            field("Version").unwrap_or_else(|| panic!("{filename}: no Version: in its metadata"));
        let built = BuiltFile::write(&self.shared.files_dir, filename, &bytes);
        let metadata_sha256 = is_wheel.then(|| {
            let metadata_path = self
                .shared
                .files_dir
                .join(format!("{}.metadata", built.filename));
            fs::write(&metadata_path, &metadata)
                .unwrap_or_else(|e| panic!("write {}: {e}", metadata_path.display()));
            wheel::sha256_hex(&metadata)
        });
        let release = Release {
            name,
            version,
            requires_python: field("Requires-Python"),
        };
        self.list(&[index], &release, &built, metadata_sha256);
        built
    }

    /// PyTorch-style local-version builds: for each variant (`"cu118"`,
    /// `"cu124"`, `"cpu"`) a wheel `{name}-{version}+{variant}-{tag}.whl`
    /// whose module `{name}` has `__version__ = "{version}+{variant}"`.
    /// Each is listed in [`DEFAULT_INDEX`] (like `download.pytorch.org/whl`)
    /// and in `whl/{variant}` (like `download.pytorch.org/whl/cu124`).
    pub fn add_local_variants(
        &self,
        name: &str,
        version: &str,
        variants: &[&str],
        tag: &str,
    ) -> Vec<BuiltFile> {
        let module = wheel::dist_name(name);
        let spec = WheelSpec::new(name, version).tag(tag);
        variants
            .iter()
            .map(|variant| {
                let local = format!("{version}+{variant}");
                let spec = spec.clone().file(
                    &format!("{module}/__init__.py"),
                    &format!("__version__ = {local:?}\nVERSION = __version__\n"),
                );
                self.add_variant(&spec, variant)
            })
            .collect()
    }

    /// Like [`PyIndex::add_local_variants`] with the requirements, files
    /// and tag of `spec` (whose version gets `+{variant}`).
    pub fn add_variants_of(&self, spec: &WheelSpec, variants: &[&str]) -> Vec<BuiltFile> {
        variants
            .iter()
            .map(|variant| self.add_variant(spec, variant))
            .collect()
    }

    fn add_variant(&self, spec: &WheelSpec, variant: &str) -> BuiltFile {
        let mut spec = spec.clone();
        spec.version = format!("{}+{variant}", spec.version);
        self.add_wheel_in(&[DEFAULT_INDEX, &format!("whl/{variant}")], &spec)
    }

    /// Removes `filename` (and its `.metadata`) from every index and from
    /// the store; its project stays, possibly with no files.
    pub fn remove(&self, filename: &str) {
        let mut state = self.shared.lock();
        assert!(
            state.files.remove(filename).is_some(),
            "remove: the index has no {filename}"
        );
        for projects in state.indexes.values_mut() {
            for files in projects.values_mut() {
                files.remove(filename);
            }
        }
        for path in [filename.to_owned(), format!("{filename}.metadata")] {
            let _ = fs::remove_file(self.shared.files_dir.join(path));
        }
    }

    /// Marks `filename` yanked (PEP 592), with an optional reason. It stays
    /// downloadable; resolvers skip it unless pinned exactly.
    pub fn yank(&self, filename: &str, reason: Option<&str>) {
        let mut state = self.shared.lock();
        let listed = state
            .files
            .get_mut(filename)
            .unwrap_or_else(|| panic!("yank: the index has no {filename}"));
        listed.yanked = Some(reason.unwrap_or_default().to_owned());
    }

    /// Whether pages advertise, and the store serves, PEP 658 `.metadata`
    /// files (on by default).
    pub fn serve_core_metadata(&self, on: bool) {
        self.shared.lock().hide_core_metadata = !on;
    }

    /// The paths requested so far, in order (percent-decoded, no query).
    pub fn requests(&self) -> Vec<String> {
        self.request_log().into_iter().map(|r| r.path).collect()
    }

    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.clone()
    }

    /// Whether any request so far asked for `project`: its page in any
    /// index, or one of its files or `.metadata` files.
    pub fn requested_project(&self, project: &str) -> bool {
        let project = normalize_name(project);
        self.requests().iter().any(|path| {
            if let Some(file) = path.strip_prefix("/files/") {
                let dist = file.split('-').next().unwrap_or_default();
                normalize_name(dist) == project
            } else {
                let page = path.trim_end_matches('/');
                let last = page.rsplit('/').next().unwrap_or_default();
                page.starts_with('/') && normalize_name(last) == project
            }
        })
    }

    /// The directory the files are served from.
    pub fn files_dir(&self) -> &Path {
        &self.shared.files_dir
    }

    fn list(
        &self,
        indexes: &[&str],
        release: &Release<'_>,
        built: &BuiltFile,
        metadata: Option<String>,
    ) {
        let mut state = self.shared.lock();
        state.uploads += 1;
        let upload = state.uploads;
        state.files.insert(
            built.filename.clone(),
            Listed {
                version: release.version.to_owned(),
                sha256: built.sha256.clone(),
                size: built.size,
                requires_python: release.requires_python.map(str::to_owned),
                metadata_sha256: metadata,
                upload,
                yanked: None,
            },
        );
        for index in indexes {
            state
                .indexes
                .entry(index_path(index).to_owned())
                .or_default()
                .entry(normalize_name(release.name))
                .or_default()
                .insert(built.filename.clone());
        }
    }

    fn spawn(credentials: Option<(String, String)>) -> PyIndex {
        let dir = tempfile::Builder::new()
            .prefix("mlr-pyindex-")
            .tempdir()
            .expect("create index tempdir");
        let files_dir = dir.path().join("files");
        fs::create_dir(&files_dir).expect("create index files dir");
        // Binding port 0 here, and keeping the listener, leaves no window
        // for another process to take the port.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the index port");
        let addr = listener.local_addr().expect("index address");
        let mut state = State::default();
        state
            .indexes
            .insert(DEFAULT_INDEX.to_owned(), BTreeMap::new());
        let shared = Arc::new(Shared {
            files_dir,
            authorization: credentials
                .as_ref()
                .map(|(user, password)| basic_auth(user, password)),
            stop: AtomicBool::new(false),
            state: Mutex::new(state),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("pyindex-{}", addr.port()))
                .spawn(move || accept_loop(&listener, &shared))
                .expect("spawn index thread")
        };
        PyIndex {
            addr,
            credentials,
            shared,
            acceptor: Some(acceptor),
            _dir: dir,
        }
    }
}

impl Drop for PyIndex {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so the loop sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// The `*.dist-info/METADATA` bytes of the wheel `bytes` read from `path`.
fn wheel_metadata(path: &Path, bytes: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .unwrap_or_else(|e| panic!("{}: not a zip: {e}", path.display()));
    let name = archive
        .file_names()
        .find(|name| {
            name.strip_suffix(".dist-info/METADATA")
                .is_some_and(|dir| !dir.contains('/'))
        })
        .unwrap_or_else(|| panic!("{}: no *.dist-info/METADATA", path.display()))
        .to_owned();
    let mut metadata = Vec::new();
    archive
        .by_name(&name)
        .and_then(|mut entry| Ok(std::io::copy(&mut entry, &mut metadata)?))
        .unwrap_or_else(|e| panic!("{}: read {name}: {e}", path.display()));
    metadata
}

/// The `{top}/PKG-INFO` bytes of the sdist `bytes` read from `path`.
fn sdist_pkg_info(path: &Path, bytes: &[u8]) -> Vec<u8> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .unwrap_or_else(|e| panic!("{}: not a tar.gz: {e}", path.display()));
    for entry in entries {
        let mut entry = entry.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let is_pkg_info = entry.path().is_ok_and(|p| {
            let mut parts = p.components();
            parts.next().is_some()
                && parts.next().is_some_and(|c| c.as_os_str() == "PKG-INFO")
                && parts.next().is_none()
        });
        if is_pkg_info {
            let mut pkg_info = Vec::new();
            std::io::copy(&mut entry, &mut pkg_info)
                .unwrap_or_else(|e| panic!("{}: read PKG-INFO: {e}", path.display()));
            return pkg_info;
        }
    }
    panic!("{}: no PKG-INFO at its top", path.display())
}

/// The value of the first `key:` header of core metadata (the headers end
/// at the first empty line; the description follows).
fn metadata_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case(key).then(|| value.trim())
        })
}

/// `uv` to compare against: `MLR_TEST_UV` if set, else the first on
/// `PATH`. Never downloads one.
pub fn uv_binary() -> Option<PathBuf> {
    if let Some(path) = env::var_os("MLR_TEST_UV") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join("uv"))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take the server down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(shared);
        let _ = thread::Builder::new()
            .name("pyindex-conn".to_owned())
            .spawn(move || {
                let _ = serve(stream, &shared);
            });
    }
}

/// Answers one request, then closes the connection.
fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let Some(request) = Request::read(&mut reader)? else {
        return Ok(());
    };
    let response = route(&request, shared);
    shared.lock().log.push(LoggedRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        accept: request.header("accept").map(str::to_owned),
        range: request.header("range").map(str::to_owned),
        status: response.status,
    });
    response.write(stream, request.method == "HEAD")
}

impl Request {
    /// The HTML type to answer with: PEP 691's if the client named it.
    fn html_type(&self) -> &'static str {
        match self.header("accept") {
            Some(accept) if accept.contains(HTML_TYPE) => HTML_TYPE,
            _ => "text/html; charset=utf-8",
        }
    }

    /// PEP 691 negotiation: JSON when the client ranks it above HTML.
    fn wants_json(&self) -> bool {
        let Some(accept) = self.header("accept") else {
            return false;
        };
        let (mut json, mut html) = (0.0f32, 0.0f32);
        for range in accept.split(',') {
            let mut params = range.split(';');
            let media_type = params
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let q = params
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media_type.as_str() {
                JSON_TYPE | "application/vnd.pypi.simple.latest+json" => json = json.max(q),
                HTML_TYPE | "application/vnd.pypi.simple.latest+html" | "text/html" | "*/*" => {
                    html = html.max(q)
                }
                _ => {}
            }
        }
        json > 0.0 && json >= html
    }
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    /// Left out of a `HEAD` answer, but still its `Content-Length`.
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            body: body.into(),
        }
    }

    fn text(status: u16, body: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", format!("{body}\n"))
    }

    fn redirect(location: String) -> Response {
        let mut response = Response::text(301, &format!("see {location}"));
        response.headers.push(("Location", location));
        response
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    fn write(self, mut stream: TcpStream, head_only: bool) -> std::io::Result<()> {
        let reason = match self.status {
            200 => "OK",
            206 => "Partial Content",
            301 => "Moved Permanently",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Method Not Allowed",
            416 => "Range Not Satisfiable",
            _ => "Internal Server Error",
        };
        let length = self.body.len();
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", self.status);
        for (name, value) in &self.headers {
            write!(head, "{name}: {value}\r\n").unwrap();
        }
        write!(
            head,
            "Content-Length: {length}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        stream.write_all(head.as_bytes())?;
        if !head_only {
            stream.write_all(&self.body)?;
        }
        stream.flush()?;
        // Lets the client read everything before the close.
        let _ = stream.shutdown(std::net::Shutdown::Write);
        Ok(())
    }
}

fn route(request: &Request, shared: &Shared) -> Response {
    if let Some(expected) = &shared.authorization {
        if request.header("authorization") != Some(expected.as_str()) {
            return Response::text(401, "Unauthorized")
                .header("WWW-Authenticate", "Basic realm=\"pyindex\"");
        }
    }
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return Response::text(405, "only GET and HEAD").header("Allow", "GET, HEAD");
    }
    let path = request.path.as_str();
    if let Some(filename) = path.strip_prefix("/files/") {
        return file(request, shared, filename);
    }
    // PyTorch-style indexes serve their files beside the project pages:
    // `/whl/cu124/torch-2.5.1+cu124-...whl`, as download.pytorch.org does.
    if let Some((prefix, last)) = path.rsplit_once('/') {
        let is_file = [".whl", ".tar.gz", ".whl.metadata"]
            .iter()
            .any(|e| last.ends_with(e));
        if prefix != "/files" && prefix != format!("/{DEFAULT_INDEX}") && is_file {
            return file(request, shared, last);
        }
    }
    let state = shared.lock();
    // The longest index path that `path` is in.
    let found = state
        .indexes
        .keys()
        .filter_map(|index| {
            let rest = path.strip_prefix('/')?.strip_prefix(index.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some((index, rest))
        })
        .max_by_key(|(index, _)| index.len());
    let Some((index, rest)) = found else {
        return Response::text(404, "no such index");
    };
    let projects = &state.indexes[index];
    match rest {
        "" => Response::redirect(format!("/{index}/")),
        "/" => project_list(request, index, projects),
        _ => {
            let name = rest[1..].strip_suffix('/').unwrap_or(&rest[1..]);
            if name.contains('/') {
                return Response::text(404, "not found");
            }
            let normalized = normalize_name(name);
            let Some(files) = projects.get(&normalized) else {
                return Response::text(404, &format!("no project {normalized}"));
            };
            if !rest.ends_with('/') || name != normalized {
                return Response::redirect(format!("/{index}/{normalized}/"));
            }
            let file_prefix = if index == DEFAULT_INDEX {
                format!("{}files/", "../".repeat(index.split('/').count() + 1))
            } else {
                "../".to_string()
            };
            project_page(request, &state, &normalized, files, &file_prefix)
        }
    }
}

fn project_list(
    request: &Request,
    index: &str,
    projects: &BTreeMap<String, BTreeSet<String>>,
) -> Response {
    if request.wants_json() {
        let projects: Vec<_> = projects
            .keys()
            .map(|name| json!({ "name": name }))
            .collect();
        let body = json!({ "meta": { "api-version": "1.1" }, "projects": projects });
        return Response::new(200, JSON_TYPE, body.to_string()).header("Vary", "Accept");
    }
    let mut html = html_head(&format!("Simple index: {index}"));
    for name in projects.keys() {
        writeln!(html, "    <a href=\"{name}/\">{name}</a><br/>").unwrap();
    }
    html.push_str("  </body>\n</html>\n");
    Response::new(200, request.html_type(), html).header("Vary", "Accept")
}

/// `file_prefix` is the relative path from the page to its files.
fn project_page(
    request: &Request,
    state: &State,
    project: &str,
    filenames: &BTreeSet<String>,
    file_prefix: &str,
) -> Response {
    let files: Vec<(&String, &Listed)> = filenames
        .iter()
        .map(|name| (name, &state.files[name]))
        .collect();
    let hide = state.hide_core_metadata;
    let core_metadata =
        |listed: &'_ Listed| -> Option<String> { listed.metadata_sha256.clone().filter(|_| !hide) };
    let href = |filename: &str| format!("{file_prefix}{}", percent_encode(filename));
    if request.wants_json() {
        let mut versions: Vec<(u32, &str)> = Vec::new();
        for (_, listed) in &files {
            match versions.iter_mut().find(|(_, v)| *v == listed.version) {
                Some(first) => first.0 = first.0.min(listed.upload),
                None => versions.push((listed.upload, &listed.version)),
            }
        }
        versions.sort();
        let files: Vec<_> = files
            .iter()
            .map(|(filename, listed)| {
                let metadata = match core_metadata(listed) {
                    Some(sha256) => json!({ "sha256": sha256 }),
                    None => json!(false),
                };
                let mut file = json!({
                    "filename": filename,
                    "url": href(filename),
                    "hashes": { "sha256": listed.sha256 },
                    "core-metadata": metadata,
                    "dist-info-metadata": metadata,
                    "size": listed.size,
                    "upload-time": upload_time(listed.upload),
                    "yanked": match listed.yanked.as_deref() {
                        None => json!(false),
                        Some("") => json!(true),
                        Some(reason) => json!(reason),
                    },
                });
                if let Some(specifier) = &listed.requires_python {
                    file["requires-python"] = json!(specifier);
                }
                file
            })
            .collect();
        let versions: Vec<&str> = versions.into_iter().map(|(_, v)| v).collect();
        let body = json!({
            "meta": { "api-version": "1.1" },
            "name": project,
            "files": files,
            "versions": versions,
        });
        return Response::new(200, JSON_TYPE, body.to_string()).header("Vary", "Accept");
    }
    let mut html = html_head(&format!("Links for {project}"));
    for (filename, listed) in &files {
        write!(
            html,
            "    <a href=\"{}#sha256={}\"",
            href(filename),
            listed.sha256
        )
        .unwrap();
        if let Some(specifier) = &listed.requires_python {
            write!(html, " data-requires-python=\"{}\"", html_escape(specifier)).unwrap();
        }
        if let Some(sha256) = core_metadata(listed) {
            write!(
                html,
                " data-dist-info-metadata=\"sha256={sha256}\" data-core-metadata=\"sha256={sha256}\""
            )
            .unwrap();
        }
        if let Some(reason) = &listed.yanked {
            write!(html, " data-yanked=\"{}\"", html_escape(reason)).unwrap();
        }
        writeln!(html, ">{}</a><br/>", html_escape(filename)).unwrap();
    }
    html.push_str("  </body>\n</html>\n");
    Response::new(200, request.html_type(), html).header("Vary", "Accept")
}

fn html_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    \
         <meta name=\"pypi:repository-version\" content=\"1.1\">\n    \
         <title>{title}</title>\n  </head>\n  <body>\n    <h1>{title}</h1>\n"
    )
}

/// A file or its `.metadata`, whole or by `Range: bytes=…`.
fn file(request: &Request, shared: &Shared, name: &str) -> Response {
    let listed = {
        let state = shared.lock();
        let filename = name.strip_suffix(".metadata").unwrap_or(name);
        state.files.get(filename).is_some_and(|l| {
            filename == name || (l.metadata_sha256.is_some() && !state.hide_core_metadata)
        })
    };
    if !listed || name.contains('/') {
        return Response::text(404, "no such file");
    }
    let Ok(bytes) = fs::read(shared.files_dir.join(name)) else {
        return Response::text(404, "no such file");
    };
    let content_type = if name.ends_with(".metadata") {
        "text/plain; charset=utf-8"
    } else if name.ends_with(".tar.gz") {
        "application/x-tar"
    } else {
        "application/octet-stream"
    };
    let total = bytes.len() as u64;
    let response = match request.header("range").map(|r| byte_range(r, total)) {
        None | Some(RangeAnswer::Whole) => Response::new(200, content_type, bytes),
        Some(RangeAnswer::Unsatisfiable) => Response::text(416, "range not satisfiable")
            .header("Content-Range", format!("bytes */{total}")),
        Some(RangeAnswer::Part(first, last)) => {
            Response::new(206, content_type, &bytes[first as usize..=last as usize])
                .header("Content-Range", format!("bytes {first}-{last}/{total}"))
        }
    };
    response.header("Accept-Ranges", "bytes")
}

enum RangeAnswer {
    /// Serve the whole file (no usable single range: RFC 9110 lets a
    /// server ignore `Range`).
    Whole,
    Unsatisfiable,
    /// Inclusive byte positions.
    Part(u64, u64),
}

/// A single `bytes=first-last`, `bytes=first-` or `bytes=-suffix` range.
fn byte_range(header: &str, total: u64) -> RangeAnswer {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Whole;
    };
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let parse = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), parse(first), parse(last)) {
        (true, _, Some(0)) => RangeAnswer::Unsatisfiable,
        (true, _, Some(suffix)) if total > 0 => {
            RangeAnswer::Part(total.saturating_sub(suffix), total - 1)
        }
        (true, _, _) => RangeAnswer::Unsatisfiable,
        (false, Some(first), _) if first >= total => RangeAnswer::Unsatisfiable,
        (false, Some(first), None) if last.trim().is_empty() => RangeAnswer::Part(first, total - 1),
        (false, Some(first), Some(last)) if last >= first => {
            RangeAnswer::Part(first, last.min(total - 1))
        }
        _ => RangeAnswer::Whole,
    }
}

/// `2024-01-01T00:00:00.000000Z` plus one second per upload: distinct,
/// ordered and independent of the clock.
fn upload_time(upload: u32) -> String {
    let (h, m, s) = (upload / 3600 % 24, upload / 60 % 60, upload % 60);
    format!("2024-01-01T{h:02}:{m:02}:{s:02}.000000Z")
}

fn basic_auth(user: &str, password: &str) -> String {
    let token = wheel::base64(format!("{user}:{password}").as_bytes(), STANDARD);
    format!("Basic {token}")
}

/// `"whl/cu124"` from `"/whl/cu124/"`; an index path cannot shadow the file
/// store.
fn index_path(index: &str) -> &str {
    let index = index.trim_matches('/');
    assert!(
        !index.is_empty() && index != "files" && !index.starts_with("files/"),
        "{index:?} cannot be an index path"
    );
    index
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            write!(out, "%{byte:02X}").unwrap();
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
