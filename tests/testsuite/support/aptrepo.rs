//! A Debian-style apt archive on 127.0.0.1, made with Debian's own tools:
//! `dpkg-deb --build` writes real `.deb` files into `pool/`, and
//! `dpkg-scanpackages` (or `apt-ftparchive packages`) writes the
//! `Packages` indexes under `dists/`. The `Release` file beside them lists
//! every index with its size and sha256, unsigned: clients add the source
//! with `[trusted=yes]`.
//!
//! The archive changes only when a test says so: [`AptRepo::add`] and
//! [`AptRepo::remove`] touch the pool, and [`AptRepo::publish`] rewrites
//! the indexes from it. Between the two, the index still lists a removed
//! `.deb` that the pool answers 404 for, which is how a mirror looks once
//! it has dropped a superseded version.
//!
//! The archive is served at `http://127.0.0.1:PORT/debian`. An image built
//! with `docker build --network host` (classic builder) reaches it at that
//! same address, because 127.0.0.1 inside a host-network build is the host.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use flate2::Compression;
use flate2::write::GzEncoder;
use tempfile::TempDir;

use super::http::{KeptAlive, Request, accept_loop};
use super::pyindex::LoggedRequest;
use super::wheel::sha256_hex;

/// The URL path of the archive root (`dists/` and `pool/` are under it).
const ARCHIVE_PATH: &str = "debian";

/// The index architectures every publish writes, even when empty, so a
/// client on either platform finds its `Packages` file.
const DEFAULT_ARCHITECTURES: [&str; 2] = ["amd64", "arm64"];

/// `SOURCE_DATE_EPOCH` for `dpkg-deb` (file times are clamped to it) and
/// the `Date:` of `Release`: 2024-01-01T00:00:00Z.
const SOURCE_DATE_EPOCH: &str = "1704067200";
const RELEASE_DATE: &str = "Mon, 01 Jan 2024 00:00:00 UTC";

const MAINTAINER: &str = "mlr test rig <rig@mlr.invalid>";

/// A binary package to build: its control fields and its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebSpec {
    pub name: String,
    /// A Debian version, epoch included (`"1:2.0-1"`); the `.deb` filename
    /// leaves the epoch out, as Debian's do.
    pub version: String,
    /// `"amd64"`, `"arm64"` or `"all"` (the default).
    pub architecture: String,
    pub depends: Option<String>,
    pub pre_depends: Option<String>,
    pub recommends: Option<String>,
    pub provides: Option<String>,
    /// `"same"`, `"foreign"` or `"allowed"`.
    pub multi_arch: Option<String>,
    /// The archive component to put it in; the repository's first when
    /// `None`.
    pub component: Option<String>,
    /// Further control fields (`Breaks`, `Conflicts`, `Essential`, ...); a
    /// field named like one the spec writes (`Section`) replaces it.
    pub fields: Vec<(String, String)>,
    /// Absolute path in the installed system → contents.
    pub files: Vec<(String, String)>,
}

impl DebSpec {
    /// An `Architecture: all` package with no relations and no files.
    pub fn new(name: &str, version: &str) -> DebSpec {
        DebSpec {
            name: name.to_owned(),
            version: version.to_owned(),
            architecture: "all".to_owned(),
            depends: None,
            pre_depends: None,
            recommends: None,
            provides: None,
            multi_arch: None,
            component: None,
            fields: Vec::new(),
            files: Vec::new(),
        }
    }

    pub fn arch(mut self, architecture: &str) -> DebSpec {
        self.architecture = architecture.to_owned();
        self
    }

    /// The whole `Depends:` value, e.g. `"libbar (>= 2), libbaz | libqux"`.
    pub fn depends(mut self, relations: &str) -> DebSpec {
        self.depends = Some(relations.to_owned());
        self
    }

    pub fn pre_depends(mut self, relations: &str) -> DebSpec {
        self.pre_depends = Some(relations.to_owned());
        self
    }

    pub fn recommends(mut self, relations: &str) -> DebSpec {
        self.recommends = Some(relations.to_owned());
        self
    }

    /// The whole `Provides:` value, e.g. `"foo-virtual (= 1.0)"`.
    pub fn provides(mut self, names: &str) -> DebSpec {
        self.provides = Some(names.to_owned());
        self
    }

    pub fn multi_arch(mut self, value: &str) -> DebSpec {
        self.multi_arch = Some(value.to_owned());
        self
    }

    pub fn component(mut self, component: &str) -> DebSpec {
        self.component = Some(component.to_owned());
        self
    }

    /// Sets a control field; a later call for the same name wins.
    pub fn field(mut self, name: &str, value: &str) -> DebSpec {
        self.fields
            .retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Installs `contents` at the absolute `path` (mode 0644).
    pub fn file(mut self, path: &str, contents: &str) -> DebSpec {
        self.files.push((path.to_owned(), contents.to_owned()));
        self
    }

    /// `{name}_{version without epoch}_{architecture}.deb`.
    pub fn filename(&self) -> String {
        self.validate();
        let version = self
            .version
            .split_once(':')
            .map_or(self.version.as_str(), |(_, v)| v);
        format!("{}_{version}_{}.deb", self.name, self.architecture)
    }

    /// Where Debian's layout puts it: `pool/main/libf/libfoo/libfoo_…deb`.
    pub fn pool_path(&self, component: &str) -> String {
        let prefix = if self.name.starts_with("lib") && self.name.len() > 3 {
            &self.name[..4]
        } else {
            &self.name[..1]
        };
        format!(
            "pool/{component}/{prefix}/{}/{}",
            self.name,
            self.filename()
        )
    }

    /// The `DEBIAN/control` text.
    pub fn control(&self) -> String {
        let relations = [
            ("Multi-Arch", &self.multi_arch),
            ("Pre-Depends", &self.pre_depends),
            ("Depends", &self.depends),
            ("Recommends", &self.recommends),
            ("Provides", &self.provides),
        ];
        let mut fields: Vec<(String, String)> = vec![
            ("Package".into(), self.name.clone()),
            ("Version".into(), self.version.clone()),
            ("Architecture".into(), self.architecture.clone()),
            ("Maintainer".into(), MAINTAINER.into()),
            ("Installed-Size".into(), self.installed_size().to_string()),
        ];
        for (name, value) in relations {
            if let Some(value) = value {
                fields.push((name.into(), value.clone()));
            }
        }
        fields.push(("Section".into(), "misc".into()));
        fields.push(("Priority".into(), "optional".into()));
        fields.push((
            "Description".into(),
            format!(
                "{} for mlr's tests\n Built by the apt repository rig.",
                self.name
            ),
        ));
        for (name, value) in &self.fields {
            match fields
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                Some(field) => field.1 = value.clone(),
                None => fields.push((name.clone(), value.clone())),
            }
        }
        let mut text = String::new();
        for (name, value) in fields {
            writeln!(text, "{name}: {value}").unwrap();
        }
        text
    }

    /// KiB as `dpkg-gencontrol` counts them: each file rounded up, plus one
    /// per directory.
    fn installed_size(&self) -> u64 {
        let mut dirs = BTreeSet::new();
        let mut kib = 0;
        for (path, contents) in &self.files {
            kib += (contents.len() as u64).div_ceil(1024);
            let mut parent = Path::new(path).parent();
            while let Some(dir) = parent.filter(|d| *d != Path::new("/")) {
                dirs.insert(dir.to_owned());
                parent = dir.parent();
            }
        }
        kib + dirs.len() as u64
    }

    fn validate(&self) {
        assert!(
            self.name.len() >= 2
                && self
                    .name
                    .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && self
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c)),
            "{:?} is not a Debian package name",
            self.name
        );
        assert!(
            !self.version.is_empty()
                && self.version.starts_with(|c: char| c.is_ascii_digit())
                && !self
                    .version
                    .contains(|c: char| c.is_whitespace() || c == '_'),
            "{:?} is not a Debian version",
            self.version
        );
        assert!(
            !self.architecture.is_empty()
                && self
                    .architecture
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{:?} is not a Debian architecture",
            self.architecture
        );
    }
}

/// A `.deb` in the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltDeb {
    pub path: PathBuf,
    /// The path from the archive root, as in the index's `Filename:`:
    /// `pool/main/libf/libfoo/libfoo_1.0-1_amd64.deb`.
    pub filename: String,
    /// Lowercase hex, as in the index's `SHA256:`.
    pub sha256: String,
    pub size: u64,
}

/// The tool that writes the `Packages` indexes. Both are Debian's; they
/// order fields differently and `apt-ftparchive` adds `SHA512:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexTool {
    /// `dpkg-scanpackages --multiversion` (dpkg-dev): stanzas sorted.
    DpkgScanpackages,
    /// `apt-ftparchive packages` (apt-utils): stanzas in directory order.
    AptFtparchive,
}

impl IndexTool {
    /// The one this machine has, `dpkg-scanpackages` first.
    pub fn available() -> Option<IndexTool> {
        if super::service::find_program("dpkg-scanpackages").is_some() {
            Some(IndexTool::DpkgScanpackages)
        } else if super::service::find_program("apt-ftparchive").is_some() {
            Some(IndexTool::AptFtparchive)
        } else {
            None
        }
    }

    /// The `Packages` text for the debs of `architecture` (and `all`) under
    /// `pool_dir`, which is relative to `root`.
    fn scan(self, root: &Path, pool_dir: &str, architecture: &str) -> Vec<u8> {
        let mut command = match self {
            IndexTool::DpkgScanpackages => {
                let mut c = Command::new("dpkg-scanpackages");
                c.args(["--multiversion", "--arch", architecture, pool_dir]);
                c
            }
            IndexTool::AptFtparchive => {
                let mut c = Command::new("apt-ftparchive");
                c.args(["--arch", architecture, "packages", pool_dir]);
                c
            }
        };
        let out = command
            .current_dir(root)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
        assert!(
            out.status.success(),
            "{command:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// A running archive for one suite, with its files in its own tempdir.
/// Stopped on drop.
pub struct AptRepo {
    addr: SocketAddr,
    suite: String,
    components: Vec<String>,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    dir: TempDir,
}

struct Shared {
    /// The archive root on disk: `<tempdir>/debian`.
    root: PathBuf,
    stop: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Pool path → what is there.
    pool: BTreeMap<String, Pooled>,
    log: Vec<LoggedRequest>,
}

struct Pooled {
    name: String,
    version: String,
    architecture: String,
}

impl AptRepo {
    /// An empty, already published archive with `suite` (`"bookworm"`)
    /// and `components` (`&["main"]`).
    pub fn start(suite: &str, components: &[&str]) -> AptRepo {
        assert!(!components.is_empty(), "an archive needs a component");
        let dir = tempfile::Builder::new()
            .prefix("mlr-aptrepo-")
            .tempdir()
            .expect("create apt repository tempdir");
        let root = dir.path().join(ARCHIVE_PATH);
        for component in components {
            let pool = root.join("pool").join(component);
            fs::create_dir_all(&pool).unwrap_or_else(|e| panic!("create {}: {e}", pool.display()));
        }
        // Binding port 0 here, and keeping the listener, leaves no window
        // for another process to take the port.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the apt repository port");
        let addr = listener.local_addr().expect("apt repository address");
        let shared = Arc::new(Shared {
            root,
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("aptrepo-{}", addr.port()))
                .spawn(move || accept_loop(&listener, &shared, "aptrepo-conn"))
                .expect("spawn apt repository thread")
        };
        let repo = AptRepo {
            addr,
            suite: suite.to_owned(),
            components: components.iter().map(|&c| c.to_owned()).collect(),
            shared,
            acceptor: Some(acceptor),
            dir,
        };
        repo.publish();
        repo
    }

    /// `http://127.0.0.1:PORT/debian`, the archive root (`dists/` and
    /// `pool/` are under it). Reachable from `docker build --network host`.
    pub fn url(&self) -> String {
        format!("http://{}/{ARCHIVE_PATH}", self.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn suite(&self) -> &str {
        &self.suite
    }

    pub fn components(&self) -> Vec<&str> {
        self.components.iter().map(String::as_str).collect()
    }

    /// `deb [trusted=yes] http://127.0.0.1:PORT/debian bookworm main`, a
    /// line for `/etc/apt/sources.list.d/*.list`.
    pub fn sources_line(&self) -> String {
        format!(
            "deb [trusted=yes] {} {} {}",
            self.url(),
            self.suite,
            self.components.join(" ")
        )
    }

    /// The same source in deb822 form, for `/etc/apt/sources.list.d/*.sources`
    /// (as Debian 12 images configure theirs).
    pub fn sources_deb822(&self) -> String {
        format!(
            "Types: deb\nURIs: {}\nSuites: {}\nComponents: {}\nTrusted: yes\n",
            self.url(),
            self.suite,
            self.components.join(" ")
        )
    }

    /// The archive root on disk (`dists/`, `pool/`), for tests that tamper
    /// with it.
    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    /// Builds `spec` with `dpkg-deb` into the pool (replacing a `.deb` of
    /// the same name, version and architecture). The same spec always
    /// gives the same bytes: owners are root, times are
    /// `SOURCE_DATE_EPOCH`. Listed after the next [`AptRepo::publish`].
    pub fn add(&self, spec: &DebSpec) -> BuiltDeb {
        let component = spec
            .component
            .clone()
            .unwrap_or_else(|| self.components[0].clone());
        assert!(
            self.components.contains(&component),
            "{}: the archive has no component {component:?}",
            spec.name
        );
        let filename = spec.pool_path(&component);
        let staging = self.dir.path().join("build").join(spec.filename());
        if staging.exists() {
            fs::remove_dir_all(&staging)
                .unwrap_or_else(|e| panic!("remove {}: {e}", staging.display()));
        }
        write_tree(&staging, spec);
        let path = self.shared.root.join(&filename);
        create_dir(path.parent().expect("pool path has a parent"));
        let mut command = Command::new("dpkg-deb");
        command
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&staging)
            .arg(&path)
            .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
        assert!(
            out.status.success(),
            "dpkg-deb --build {} failed ({}):\n{}",
            spec.filename(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = fs::remove_dir_all(&staging);
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        self.shared.lock().pool.insert(
            filename.clone(),
            Pooled {
                name: spec.name.clone(),
                version: spec.version.clone(),
                architecture: spec.architecture.clone(),
            },
        );
        BuiltDeb {
            path,
            filename,
            sha256: sha256_hex(&bytes),
            size: bytes.len() as u64,
        }
    }

    /// Deletes every `.deb` of `name` at `version` (any architecture) from
    /// the pool. The index keeps listing them until the next
    /// [`AptRepo::publish`].
    pub fn remove(&self, name: &str, version: &str) {
        let mut state = self.shared.lock();
        let gone: Vec<String> = state
            .pool
            .iter()
            .filter(|(_, p)| p.name == name && p.version == version)
            .map(|(filename, _)| filename.clone())
            .collect();
        assert!(!gone.is_empty(), "remove: the pool has no {name} {version}");
        for filename in gone {
            state.pool.remove(&filename);
            let path = self.shared.root.join(&filename);
            fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
        }
    }

    /// Rewrites the indexes from the pool with the tool this machine has
    /// (see [`IndexTool::available`]).
    pub fn publish(&self) {
        let tool = IndexTool::available()
            .expect("no dpkg-scanpackages or apt-ftparchive; require!(Service::AptTools) first");
        self.publish_with(tool);
    }

    /// Writes `dists/<suite>/<component>/binary-<arch>/Packages` and
    /// `Packages.gz` for amd64, arm64 and any other architecture in the
    /// pool (`all` packages are listed in each), then
    /// `dists/<suite>/Release` with their sizes and sha256. Each file is
    /// replaced whole, so a client never reads half of one.
    pub fn publish_with(&self, tool: IndexTool) {
        let architectures = self.architectures();
        let dists = self.shared.root.join("dists").join(&self.suite);
        let mut indexes: Vec<(String, Vec<u8>)> = Vec::new();
        for component in &self.components {
            for arch in &architectures {
                let packages = tool.scan(&self.shared.root, &format!("pool/{component}"), arch);
                let dir = format!("{component}/binary-{arch}");
                let gz = gzip(&packages);
                indexes.push((format!("{dir}/Packages"), packages));
                indexes.push((format!("{dir}/Packages.gz"), gz));
            }
        }
        for (path, bytes) in &indexes {
            write_atomic(&dists.join(path), bytes);
        }
        let release = self.release(&architectures, &indexes);
        write_atomic(&dists.join("Release"), release.as_bytes());
    }

    /// The published `Packages` text of `component` for `architecture`.
    pub fn packages(&self, component: &str, architecture: &str) -> String {
        let path = self
            .shared
            .root
            .join("dists")
            .join(&self.suite)
            .join(component)
            .join(format!("binary-{architecture}/Packages"));
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// The paths requested so far, in order (percent-decoded, no query),
    /// e.g. `/debian/dists/bookworm/Release`.
    pub fn requests(&self) -> Vec<String> {
        self.request_log().into_iter().map(|r| r.path).collect()
    }

    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.clone()
    }

    /// amd64, arm64 and every other binary architecture in the pool.
    fn architectures(&self) -> BTreeSet<String> {
        let state = self.shared.lock();
        DEFAULT_ARCHITECTURES
            .iter()
            .map(|&a| a.to_owned())
            .chain(
                state
                    .pool
                    .values()
                    .map(|p| p.architecture.clone())
                    .filter(|a| a != "all"),
            )
            .collect()
    }

    fn release(&self, architectures: &BTreeSet<String>, indexes: &[(String, Vec<u8>)]) -> String {
        let mut text = String::new();
        for (name, value) in [
            ("Origin", "mlr-test"),
            ("Label", "mlr-test"),
            ("Suite", &self.suite),
            ("Codename", &self.suite),
            ("Date", RELEASE_DATE),
            (
                "Architectures",
                &architectures.iter().cloned().collect::<Vec<_>>().join(" "),
            ),
            ("Components", &self.components.join(" ")),
            ("Description", "mlr test archive"),
        ] {
            writeln!(text, "{name}: {value}").unwrap();
        }
        text.push_str("SHA256:\n");
        for (path, bytes) in indexes {
            writeln!(text, " {} {:>16} {path}", sha256_hex(bytes), bytes.len()).unwrap();
        }
        text
    }
}

impl Drop for AptRepo {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so the loop sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// The Debian name of the host's architecture (`amd64` on x86_64,
/// `arm64` on aarch64): what the Debian base image and its apt run as.
pub fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "powerpc64" => "ppc64el",
        other => other,
    }
}

/// The package tree `dpkg-deb` builds from: `DEBIAN/control` and the
/// files, with fixed modes so the umask cannot change the bytes.
fn write_tree(staging: &Path, spec: &DebSpec) {
    let control_dir = staging.join("DEBIAN");
    create_dir(&control_dir);
    write_file(&control_dir.join("control"), spec.control().as_bytes());
    for (path, contents) in &spec.files {
        let relative = Path::new(path)
            .strip_prefix("/")
            .unwrap_or_else(|_| panic!("{}: file path {path:?} must be absolute", spec.name));
        assert!(
            relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
                && !relative.starts_with("DEBIAN"),
            "{}: bad file path {path:?}",
            spec.name
        );
        let target = staging.join(relative);
        create_dir(target.parent().expect("file has a parent"));
        write_file(&target, contents.as_bytes());
    }
    set_dir_modes(staging);
}

fn create_dir(dir: &Path) {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
}

fn write_file(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn set_dir_modes(dir: &Path) {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.display()));
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            set_dir_modes(&entry.path());
        }
    }
}

/// Writes beside `path`, then renames over it.
fn write_atomic(path: &Path, bytes: &[u8]) {
    create_dir(path.parent().expect("index path has a parent"));
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    fs::write(&partial, bytes).unwrap_or_else(|e| panic!("write {}: {e}", partial.display()));
    fs::rename(&partial, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

/// gzip with no name and time in the header, so the same text always
/// compresses to the same bytes.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
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

/// Files under the archive root, whole (a `Range` is ignored, which HTTP
/// allows; apt then takes the whole file).
fn route(request: &Request, shared: &Shared) -> Response {
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return Response::text(405, "only GET and HEAD");
    }
    let Some(relative) = request
        .path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(ARCHIVE_PATH))
        .and_then(|p| p.strip_prefix('/'))
    else {
        return Response::text(404, "not in the archive");
    };
    if relative
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Response::text(404, "not found");
    }
    // Reading a directory fails, so only files are served.
    match fs::read(shared.root.join(relative)) {
        Ok(bytes) => Response {
            status: 200,
            content_type: content_type(relative),
            body: bytes,
        },
        Err(_) => Response::text(404, "not found"),
    }
}

fn content_type(path: &str) -> &'static str {
    if path.ends_with(".deb") {
        "application/vnd.debian.binary-package"
    } else if path.ends_with(".gz") {
        "application/gzip"
    } else if path.ends_with("/Release") || path.ends_with("/Packages") {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

struct Response {
    status: u16,
    content_type: &'static str,
    /// Left out of a `HEAD` answer, but still its `Content-Length`.
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{body}\n").into_bytes(),
        }
    }

    fn write(self, stream: &mut TcpStream, head_only: bool, keep_alive: bool) -> io::Result<()> {
        let reason = match self.status {
            200 => "OK",
            404 => "Not Found",
            405 => "Method Not Allowed",
            _ => "Internal Server Error",
        };
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            self.status,
            self.content_type,
            self.body.len()
        );
        if self.status == 405 {
            head.push_str("Allow: GET, HEAD\r\n");
        }
        write!(head, "Connection: {connection}\r\n\r\n").unwrap();
        stream.write_all(head.as_bytes())?;
        if !head_only {
            stream.write_all(&self.body)?;
        }
        stream.flush()
    }
}
