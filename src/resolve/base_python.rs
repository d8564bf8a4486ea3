//! The Python a base image already has, read from its merged file tree
//! ([`ImageTree`]) without running it: the interpreters in the order the
//! image finds them, the distributions each can import, and the
//! distribution and glibc underneath. Pure: [`capture`] says which files the
//! tree reader keeps, [`discover`] reads the facts out of the tree.
//!
//! Python's own rules decide, not a table of images. An interpreter is a
//! `python3.X` whose prefix holds the stdlib landmark `lib/python3.X/os.py`,
//! searched upwards from its real location as CPython's `getpath` does; a
//! `pyvenv.cfg` beside its bin directory makes it a virtual environment
//! whose stdlib is its `home` interpreter's. Its site directories are the
//! ones its own `site.py` adds: upstream's `site-packages`, or, when the
//! `site.py` is Debian's (it names `dist-packages`), Debian's three
//! `dist-packages` directories.
//!
//! Not followed: `.pth` files and `.egg-link`s (paths they add), the user
//! site directory, and `PYTHONPATH`.

use std::collections::{BTreeSet, HashSet};

use anyhow::{Context, anyhow};

use crate::package_name;
use crate::resolve::apt::status::{Installed, parse_status};
use crate::resolve::image_files::{ImageTree, OsRelease, TreeKind, parse_os_release};

/// What mlr reads from a base image for Python: the distribution, glibc,
/// and the Python interpreters with their installed distributions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaseFacts {
    /// From `/etc/os-release`, else `/usr/lib/os-release`, else the
    /// defaults (`ID=linux`).
    pub os: OsRelease,
    /// glibc's (major, minor): the installed `libc6` of dpkg's status, else
    /// the names older glibc gives its files (`libc-2.23.so`).
    pub glibc: Option<(u32, u32)>,
    /// No glibc was found, but musl's loader (`ld-musl-*`) was.
    pub musl: bool,
    /// In the order the image finds them: `PATH`, then `/opt/conda/bin`,
    /// `/usr/local/bin` and `/usr/bin`; in a directory, the one `python3`
    /// leads to first.
    pub interpreters: Vec<BaseInterpreter>,
    /// `.dist-info` and `.egg-info` entries of the site directories whose
    /// metadata could not be read (absent, without `Name` or `Version`, or
    /// too large to keep), sorted.
    pub unreadable: Vec<String>,
}

/// One Python interpreter of the image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaseInterpreter {
    /// As found, with its versioned name: `/opt/conda/bin/python3.10`.
    pub path: String,
    pub version: (u32, u32),
    /// `sys.prefix`: `/usr`, `/usr/local`, `/opt/conda`, a venv's directory.
    pub prefix: String,
    /// `sys.base_prefix`: the prefix of a venv's home interpreter; the
    /// prefix itself outside a venv.
    pub base_prefix: String,
    /// The stdlib directory, `<base_prefix>/lib/python3.X`.
    pub stdlib: String,
    /// `<stdlib>/venv/__init__.py` exists.
    pub has_venv: bool,
    /// `<stdlib>/ensurepip/__init__.py` exists. Debian moves `ensurepip` out
    /// of the stdlib: bookworm's libpython3.11-stdlib 3.11.2-6+deb12u9 ships
    /// `/usr/lib/python3.11/venv/__init__.py` but no `ensurepip`, which only
    /// python3.11-venv ships (`/usr/lib/python3.11/ensurepip/__init__.py`),
    /// as `dpkg -c` of both `.deb`s shows. So `python3 -m venv` works there
    /// only with `--without-pip` unless python3.X-venv is installed.
    pub has_ensurepip: bool,
    /// `<stdlib>/EXTERNALLY-MANAGED` exists outside a venv (PEP 668: pip
    /// refuses to install into it without `--break-system-packages`).
    /// Debian's libpython3.11-stdlib ships the marker.
    pub externally_managed: bool,
    /// The interpreter is dpkg's: prefix `/usr` and `python3.X` or
    /// `python3.X-minimal` (which holds `/usr/bin/python3.X`) installed.
    pub dpkg_managed: bool,
    /// The site directories that exist, in `sys.path` order.
    pub site_dirs: Vec<String>,
    /// What it can import from its site directories; a name in two of
    /// them is the first one's.
    pub distributions: Vec<BaseDistribution>,
}

/// An installed distribution.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaseDistribution {
    /// PEP 503-normalized.
    pub name: String,
    /// As its metadata's `Version:` says.
    pub version: String,
    /// The core metadata fields a resolver needs, one `Field: value` line
    /// each: `Metadata-Version`, `Name`, `Version`, `Requires-Python`,
    /// `Requires-Dist`, `Provides-Extra`. An egg-info's `requires.txt` is
    /// converted to `Requires-Dist` lines.
    pub metadata: String,
    /// The site directory it was found in.
    pub site: String,
}

/// Which files [`discover`] reads, for [`read_image_tree`]: os-release,
/// dpkg's status, `pyvenv.cfg`, the stdlib's `site.py`, and the metadata of
/// the distributions in `site-packages` and `dist-packages` directories.
///
/// [`read_image_tree`]: crate::resolve::image_files::read_image_tree
pub fn capture(path: &str) -> bool {
    if matches!(
        path,
        "/etc/os-release" | "/usr/lib/os-release" | "/var/lib/dpkg/status"
    ) {
        return true;
    }
    let mut up = path.rsplit('/');
    let (Some(file), Some(parent)) = (up.next(), up.next()) else {
        return false;
    };
    let grandparent = up.next();
    let in_site = |dir: Option<&str>| matches!(dir, Some("site-packages" | "dist-packages"));
    match file {
        "pyvenv.cfg" => true,
        "site.py" => python_minor(parent).is_some() && matches!(grandparent, Some("lib" | "lib64")),
        "METADATA" => parent.ends_with(".dist-info") && in_site(grandparent),
        "PKG-INFO" | "requires.txt" => parent.ends_with(".egg-info") && in_site(grandparent),
        _ => file.ends_with(".egg-info") && in_site(Some(parent)),
    }
}

/// Reads the facts out of a tree read with [`capture`]. Fails only on a
/// dpkg status that does not parse.
pub fn discover(tree: &ImageTree) -> anyhow::Result<BaseFacts> {
    let os = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|path| tree.text(path))
        .map(|text| parse_os_release(&text))
        .unwrap_or_default();
    let installed = match tree.text("/var/lib/dpkg/status") {
        Some(text) => parse_status(&text)
            .map_err(|e| anyhow!("{e}"))
            .context("reading /var/lib/dpkg/status")?,
        None => Vec::new(),
    };
    let (glibc, musl) = libc(tree, &installed);
    let mut search = Search {
        tree,
        installed: &installed,
        unreadable: BTreeSet::new(),
    };
    let interpreters = search.interpreters();
    Ok(BaseFacts {
        os,
        glibc,
        musl,
        interpreters,
        unreadable: search.unreadable.into_iter().collect(),
    })
}

// ---- interpreters --------------------------------------------------------

/// What an engine runs with when the image sets no `PATH`.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Searched after `PATH`, where images keep Python without putting it there.
const USUAL_DIRS: [&str; 3] = ["/opt/conda/bin", "/usr/local/bin", "/usr/bin"];

struct Search<'a> {
    tree: &'a ImageTree,
    installed: &'a [Installed],
    unreadable: BTreeSet<String>,
}

/// Where an interpreter's stdlib is.
struct Stdlib {
    /// `sys.base_prefix`.
    prefix: String,
    /// `lib`, or `lib64` where the platform library directory is that.
    libdir: &'static str,
    dir: String,
    /// Its `site.py` is Debian's.
    debian: bool,
}

impl Search<'_> {
    fn interpreters(&mut self) -> Vec<BaseInterpreter> {
        let path = self
            .tree
            .env()
            .iter()
            .find_map(|var| var.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        let mut dirs: Vec<&str> = Vec::new();
        for dir in path.split(':').chain(USUAL_DIRS) {
            if dir.starts_with('/') && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        let mut seen: HashSet<(String, (u32, u32))> = HashSet::new();
        let mut found = Vec::new();
        for dir in dirs {
            for (path, version) in self.candidates(dir) {
                let Some((identity, interpreter)) = self.interpreter(&path, version) else {
                    continue;
                };
                if seen.insert((identity, interpreter.version)) {
                    found.push(interpreter);
                }
            }
        }
        found
    }

    /// The `python3.X` files in `dir` by version, the one `python3` leads
    /// to first (added when it lies elsewhere).
    fn candidates(&self, dir: &str) -> Vec<(String, (u32, u32))> {
        let tree = self.tree;
        let mut found: Vec<(String, (u32, u32))> = tree
            .list(dir)
            .iter()
            .filter_map(|name| Some((join(dir, name), (3, python_minor(name)?))))
            .filter(|(path, _)| tree.kind(path) == Some(TreeKind::File))
            .collect();
        found.sort_by_key(|(_, version)| *version);
        let python3 = join(dir, "python3");
        if tree.kind(&python3) == Some(TreeKind::File) {
            let target = tree.resolve(&python3);
            if let Some(i) = found.iter().position(|(p, _)| tree.resolve(p) == target) {
                let first = found.remove(i);
                found.insert(0, first);
            } else if let Some(target) = target {
                if let Some(minor) = python_minor(base_name(&target)) {
                    found.insert(0, (target, (3, minor)));
                }
            }
        }
        found
    }

    /// The interpreter at `path`, with what identifies it (its real file,
    /// or a venv's directory); `None` without a stdlib.
    fn interpreter(
        &mut self,
        path: &str,
        version: (u32, u32),
    ) -> Option<(String, BaseInterpreter)> {
        let tree = self.tree;
        // As CPython's getpath: `pyvenv.cfg` beside the executable as
        // invoked (symlinks not followed), or in its parent directory.
        let bin = parent(path);
        let venv = parent(bin);
        let cfg = [join(bin, "pyvenv.cfg"), join(venv, "pyvenv.cfg")]
            .iter()
            .find_map(|cfg| tree.text(cfg));
        if let Some(cfg) = cfg {
            let cfg = PyvenvCfg::parse(&cfg);
            let stdlib = self.stdlib(cfg.home.as_deref()?, version.1)?;
            let mut site_dirs = site_dirs(venv, &stdlib, version.1, true);
            if cfg.system_site_packages {
                site_dirs.extend(site_dirs_of(&stdlib, version.1, true));
            }
            let interpreter = self.assemble(path, version, venv, &stdlib, false, &site_dirs);
            let identity = tree.resolve(venv).unwrap_or_else(|| venv.to_string());
            return Some((identity, interpreter));
        }
        let real = tree.resolve(path)?;
        let version = python_minor(base_name(&real)).map_or(version, |minor| (3, minor));
        let stdlib = self.stdlib(parent(&real), version.1)?;
        let dpkg_managed = stdlib.prefix == "/usr"
            && self.installed.iter().any(|p| {
                p.name == format!("python3.{}", version.1)
                    || p.name == format!("python3.{}-minimal", version.1)
            });
        let site_dirs = site_dirs_of(&stdlib, version.1, false);
        let interpreter = self.assemble(
            path,
            version,
            &stdlib.prefix,
            &stdlib,
            dpkg_managed,
            &site_dirs,
        );
        Some((real, interpreter))
    }

    /// The stdlib of Python 3.`minor` run from `exe_dir`: the first
    /// directory from there upwards holding `lib/python3.X/os.py` (or
    /// `os.pyc`) is the prefix.
    fn stdlib(&self, exe_dir: &str, minor: u32) -> Option<Stdlib> {
        let mut prefix = exe_dir.trim_end_matches('/');
        loop {
            for libdir in ["lib", "lib64"] {
                let dir = format!("{prefix}/{libdir}/python3.{minor}");
                let landmark = ["os.py", "os.pyc"]
                    .iter()
                    .any(|name| self.tree.kind(&join(&dir, name)) == Some(TreeKind::File));
                if landmark {
                    let debian = self
                        .tree
                        .text(&join(&dir, "site.py"))
                        .is_some_and(|site| site.contains("dist-packages"));
                    return Some(Stdlib {
                        prefix: if prefix.is_empty() { "/" } else { prefix }.to_string(),
                        libdir,
                        dir,
                        debian,
                    });
                }
            }
            if prefix.is_empty() {
                return None;
            }
            prefix = parent(prefix).trim_end_matches('/');
        }
    }

    fn assemble(
        &mut self,
        path: &str,
        version: (u32, u32),
        prefix: &str,
        stdlib: &Stdlib,
        dpkg_managed: bool,
        site_dirs: &[String],
    ) -> BaseInterpreter {
        let tree = self.tree;
        let is_file = |name: &str| tree.kind(&join(&stdlib.dir, name)) == Some(TreeKind::File);
        let in_venv = prefix != stdlib.prefix;
        let mut existing: Vec<String> = Vec::new();
        let mut real_dirs: HashSet<String> = HashSet::new();
        for dir in site_dirs {
            if tree.kind(dir) != Some(TreeKind::Dir) {
                continue;
            }
            if real_dirs.insert(tree.resolve(dir).unwrap_or_else(|| dir.clone())) {
                existing.push(dir.clone());
            }
        }
        let distributions = self.distributions(&existing);
        BaseInterpreter {
            path: path.to_string(),
            version,
            prefix: prefix.to_string(),
            base_prefix: stdlib.prefix.clone(),
            stdlib: stdlib.dir.clone(),
            has_venv: is_file("venv/__init__.py"),
            has_ensurepip: is_file("ensurepip/__init__.py"),
            externally_managed: !in_venv && is_file("EXTERNALLY-MANAGED"),
            dpkg_managed,
            site_dirs: existing,
            distributions,
        }
    }
}

/// The site directories `site.py` adds for `prefix`: upstream's
/// `<prefix>/lib/python3.X/site-packages`, or Debian's three
/// `dist-packages` (its `site.py`'s `getsitepackages`, which in a venv also
/// adds `site-packages` first).
fn site_dirs(prefix: &str, stdlib: &Stdlib, minor: u32, in_venv: bool) -> Vec<String> {
    let version = format!("python3.{minor}");
    let mut libdirs = vec![stdlib.libdir];
    if stdlib.libdir != "lib" {
        libdirs.push("lib");
    }
    let mut dirs = Vec::new();
    if !stdlib.debian {
        for libdir in libdirs {
            dirs.push(join(prefix, &format!("{libdir}/{version}/site-packages")));
        }
        return dirs;
    }
    if in_venv {
        dirs.push(join(prefix, &format!("lib/{version}/site-packages")));
    }
    dirs.push(join(prefix, &format!("local/lib/{version}/dist-packages")));
    dirs.push(join(prefix, "lib/python3/dist-packages"));
    for libdir in libdirs {
        dirs.push(join(prefix, &format!("{libdir}/{version}/dist-packages")));
    }
    dirs
}

/// [`site_dirs`] of the stdlib's own prefix.
fn site_dirs_of(stdlib: &Stdlib, minor: u32, in_venv: bool) -> Vec<String> {
    site_dirs(&stdlib.prefix, stdlib, minor, in_venv)
}

/// `pyvenv.cfg`, read as `site.py` reads it.
struct PyvenvCfg {
    home: Option<String>,
    system_site_packages: bool,
}

impl PyvenvCfg {
    fn parse(text: &str) -> PyvenvCfg {
        let mut cfg = PyvenvCfg {
            home: None,
            // site.py's default when the key is absent.
            system_site_packages: true,
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "home" => cfg.home = Some(value.to_string()),
                "include-system-site-packages" => {
                    cfg.system_site_packages = value.eq_ignore_ascii_case("true")
                }
                _ => {}
            }
        }
        cfg
    }
}

/// `X` of `python3.X`.
fn python_minor(name: &str) -> Option<u32> {
    let minor = name.strip_prefix("python3.")?;
    if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    minor.parse().ok()
}

// ---- distributions -------------------------------------------------------

impl Search<'_> {
    /// The distributions of `sites` (in `sys.path` order), the first of a
    /// name winning; in one directory, the first by file name.
    fn distributions(&mut self, sites: &[String]) -> Vec<BaseDistribution> {
        let tree = self.tree;
        let mut names: HashSet<String> = HashSet::new();
        let mut found = Vec::new();
        for site in sites {
            for name in tree.list(site) {
                let entry = join(site, &name);
                let metadata = if name.ends_with(".dist-info") {
                    if tree.kind(&entry) != Some(TreeKind::Dir) {
                        continue;
                    }
                    tree.text(&join(&entry, "METADATA"))
                        .map(|text| header_fields(&text))
                } else if name.ends_with(".egg-info") {
                    match tree.kind(&entry) {
                        Some(TreeKind::Dir) => tree.text(&join(&entry, "PKG-INFO")).map(|text| {
                            egg_info_fields(&text, tree.text(&join(&entry, "requires.txt")))
                        }),
                        Some(TreeKind::File) => tree.text(&entry).map(|text| header_fields(&text)),
                        _ => continue,
                    }
                } else {
                    continue;
                };
                let Some(distribution) = metadata.and_then(|fields| distribution(&fields, site))
                else {
                    self.unreadable.insert(entry);
                    continue;
                };
                if names.insert(distribution.name.clone()) {
                    found.push(distribution);
                }
            }
        }
        found
    }
}

/// The fields a resolver needs, in the order [`BaseDistribution::metadata`]
/// keeps them.
const KEPT_FIELDS: [&str; 6] = [
    "Metadata-Version",
    "Name",
    "Version",
    "Requires-Python",
    "Requires-Dist",
    "Provides-Extra",
];

fn distribution(fields: &[(String, String)], site: &str) -> Option<BaseDistribution> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.is_empty())
            .map(|(_, value)| value.clone())
    };
    let name = get("Name")?;
    let version = get("Version")?;
    let mut metadata = String::new();
    for kept in KEPT_FIELDS {
        for (key, value) in fields {
            if key.eq_ignore_ascii_case(kept) {
                metadata.push_str(&format!("{kept}: {value}\n"));
            }
        }
    }
    Some(BaseDistribution {
        name: package_name::normalize(&name),
        version,
        metadata,
        site: site.to_string(),
    })
}

/// The header fields of a core metadata file (RFC 822 style): up to the
/// first blank line, continuation lines folded into one line.
fn header_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// An egg-info directory's `PKG-INFO` fields, with `requires.txt` as
/// `Requires-Dist` and `Provides-Extra` when `PKG-INFO` lists no
/// requirements (as `importlib.metadata` falls back to it). Adding them
/// raises `Metadata-Version` to 2.1, the first to know `Provides-Extra`.
fn egg_info_fields(pkg_info: &str, requires: Option<String>) -> Vec<(String, String)> {
    let mut fields = header_fields(pkg_info);
    let has = |fields: &[(String, String)], name: &str| {
        fields.iter().any(|(key, _)| key.eq_ignore_ascii_case(name))
    };
    let Some(requires) = requires.filter(|_| !has(&fields, "Requires-Dist")) else {
        return fields;
    };
    let (requirements, extras) = convert_requires_txt(&requires);
    if requirements.is_empty() && extras.is_empty() {
        return fields;
    }
    for requirement in requirements {
        fields.push(("Requires-Dist".into(), requirement));
    }
    if !has(&fields, "Provides-Extra") {
        for extra in extras {
            fields.push(("Provides-Extra".into(), extra));
        }
    }
    match fields
        .iter_mut()
        .find(|(key, _)| key.eq_ignore_ascii_case("Metadata-Version"))
    {
        Some((_, version)) if metadata_version(version) < (2, 1) => *version = "2.1".into(),
        Some(_) => {}
        None => fields.insert(0, ("Metadata-Version".into(), "2.1".into())),
    }
    fields
}

fn metadata_version(version: &str) -> (u32, u32) {
    let (major, minor) = version.split_once('.').unwrap_or((version, "0"));
    (
        major.trim().parse().unwrap_or(0),
        minor.trim().parse().unwrap_or(0),
    )
}

/// `requires.txt` as `Requires-Dist` values, and the extras its sections
/// name, as `importlib.metadata` converts them: unsectioned lines as they
/// are, `[extra]` adds `; extra == "extra"`, `[:marker]` adds `; marker`,
/// `[extra:marker]` adds `; (marker) and extra == "extra"`.
fn convert_requires_txt(text: &str) -> (Vec<String>, Vec<String>) {
    let mut requirements = Vec::new();
    let mut extras: Vec<String> = Vec::new();
    let mut section = "";
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = line.trim_matches(|c| c == '[' || c == ']');
            let extra = section.split(':').next().unwrap_or_default();
            if !extra.is_empty() && !extras.iter().any(|e| e == extra) {
                extras.push(extra.to_string());
            }
            continue;
        }
        let (extra, marker) = section.split_once(':').unwrap_or((section, ""));
        let mut conditions = Vec::new();
        if !marker.is_empty() {
            conditions.push(if extra.is_empty() {
                marker.to_string()
            } else {
                format!("({marker})")
            });
        }
        if !extra.is_empty() {
            conditions.push(format!("extra == \"{extra}\""));
        }
        // A URL requirement needs a space before its marker.
        let space = if line.contains('@') { " " } else { "" };
        requirements.push(if conditions.is_empty() {
            line.to_string()
        } else {
            format!("{line}{space}; {}", conditions.join(" and "))
        });
    }
    (requirements, extras)
}

// ---- glibc ---------------------------------------------------------------

/// Where glibc's loader and library are, merged-usr or not.
const LIBC_DIRS: [&str; 7] = [
    "/lib",
    "/lib64",
    "/usr/lib",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
];

/// glibc's version, and whether the image is musl's instead.
fn libc(tree: &ImageTree, installed: &[Installed]) -> (Option<(u32, u32)>, bool) {
    let arch = &tree.platform().architecture;
    let libc6 = installed
        .iter()
        .filter(|p| p.name == "libc6" || p.name.starts_with("libc6:"))
        .max_by_key(|p| &p.architecture == arch);
    if let Some(version) = libc6.and_then(|p| glibc_of_dpkg(&p.version)) {
        return (Some(version), false);
    }
    let mut glibc = None;
    let mut musl = false;
    for dir in LIBC_DIRS {
        for name in tree.list(dir) {
            let versioned = name
                .strip_prefix("libc-")
                .or_else(|| name.strip_prefix("ld-"))
                .and_then(|rest| rest.strip_suffix(".so"))
                .and_then(major_minor);
            glibc = glibc.max(versioned);
            musl |= name.starts_with("ld-musl-");
        }
    }
    (glibc, glibc.is_none() && musl)
}

/// glibc's (major, minor) of a dpkg version: `2.36-9+deb12u7` → (2, 36).
fn glibc_of_dpkg(version: &str) -> Option<(u32, u32)> {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    let upstream = version.rsplit_once('-').map_or(version, |(u, _)| u);
    let (major, rest) = upstream.split_once('.')?;
    let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// `2.23` → (2, 23); nothing else.
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

// ---- paths ---------------------------------------------------------------

fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// `/usr/bin/python3` → `/usr/bin`; `/bin` → `/`.
fn parent(path: &str) -> &str {
    let path = path.trim_end_matches('/');
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::image_files::testing::layer;

    const DEFAULT_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// The line of Debian's `site.py` that tells it from upstream's.
    const DEBIAN_SITE_PY: &str =
        "sitepackages.append(os.path.join(prefix, \"lib\", \"python3\", \"dist-packages\"))\n";
    const UPSTREAM_SITE_PY: &str =
        "sitepackages.append(os.path.join(prefix, libdir, \"site-packages\"))\n";

    /// A stdlib for Python 3.`minor` under `prefix` (relative): the
    /// landmark, `site.py` and `venv`.
    fn stdlib(prefix: &str, minor: u32, debian: bool) -> Vec<String> {
        let dir = format!("{prefix}/lib/python3.{minor}");
        let site = if debian {
            DEBIAN_SITE_PY
        } else {
            UPSTREAM_SITE_PY
        };
        vec![
            format!("{dir}/os.py: import abc"),
            format!("{dir}/site.py: {site}"),
            format!("{dir}/venv/__init__.py: import sys"),
        ]
    }

    /// A `.dist-info` in `site` (relative), its METADATA with a body that
    /// is not metadata.
    fn dist_info(site: &str, name: &str, version: &str, fields: &[&str]) -> String {
        let mut text = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
        text.push_str("Summary: something\nClassifier: Programming Language :: Python\n");
        for field in fields {
            text.push_str(field);
            text.push('\n');
        }
        text.push_str("\nThe description.\nRequires-Dist: not-a-field\n");
        format!("{site}/{name}-{version}.dist-info/METADATA: {text}")
    }

    /// dpkg's status with `packages` (name, version) installed.
    fn status(packages: &[(&str, &str)]) -> String {
        let mut text = String::from("var/lib/dpkg/status: ");
        for (name, version) in packages {
            text.push_str(&format!(
                "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
            ));
        }
        text
    }

    /// Debian bookworm, merged-usr, with its Python 3.11.
    fn bookworm_python() -> Vec<String> {
        let mut entries: Vec<String> = [
            "bin -> usr/bin",
            "lib -> usr/lib",
            "lib64 -> usr/lib64",
            "etc/os-release -> ../usr/lib/os-release",
            "usr/lib/os-release: ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
            "usr/bin/python3.11: ELF",
            "usr/bin/python3 -> python3.11",
            "usr/lib/python3.11/EXTERNALLY-MANAGED: [externally-managed]",
        ]
        .map(String::from)
        .to_vec();
        entries.extend(stdlib("usr", 11, true));
        entries.push(status(&[
            ("libc6", "2.36-9+deb12u7"),
            ("python3.11-minimal", "3.11.2-6+deb12u5"),
        ]));
        entries
    }

    fn tree(layers: &[Vec<String>], env: &[&str]) -> ImageTree {
        let tars: Vec<Vec<u8>> = layers
            .iter()
            .map(|entries| layer(&entries.iter().map(String::as_str).collect::<Vec<_>>()))
            .collect();
        ImageTree::from_layers(&tars, env, &capture)
    }

    fn facts(layers: &[Vec<String>], env: &[&str]) -> BaseFacts {
        discover(&tree(layers, env)).unwrap()
    }

    /// `name version site` of each distribution.
    fn listed(interpreter: &BaseInterpreter) -> Vec<String> {
        interpreter
            .distributions
            .iter()
            .map(|d| format!("{} {} {}", d.name, d.version, d.site))
            .collect()
    }

    fn paths(facts: &BaseFacts) -> Vec<&str> {
        facts.interpreters.iter().map(|i| i.path.as_str()).collect()
    }

    #[test]
    fn debian_system_python_reads_dist_packages() {
        let mut image = bookworm_python();
        image.extend([
            dist_info("usr/lib/python3/dist-packages", "numpy", "1.24.2", &[]),
            dist_info("usr/lib/python3/dist-packages", "six", "1.16.0", &[]),
            // `pip install --break-system-packages` puts it first on sys.path.
            dist_info(
                "usr/local/lib/python3.11/dist-packages",
                "numpy",
                "1.26.4",
                &[],
            ),
            // Not on the sys.path of Debian's Python.
            dist_info("usr/lib/python3.11/site-packages", "ignored", "1.0", &[]),
        ]);
        let facts = facts(&[image], &[DEFAULT_ENV]);
        assert_eq!(facts.os.id, "debian");
        assert_eq!(facts.os.codename.as_deref(), Some("bookworm"));
        assert_eq!(facts.glibc, Some((2, 36)));
        assert!(!facts.musl);
        assert_eq!(paths(&facts), ["/usr/bin/python3.11"], "/bin is /usr/bin");
        let python = &facts.interpreters[0];
        assert_eq!(python.version, (3, 11));
        assert_eq!(python.prefix, "/usr");
        assert_eq!(python.base_prefix, "/usr");
        assert_eq!(python.stdlib, "/usr/lib/python3.11");
        assert!(python.has_venv);
        assert!(!python.has_ensurepip, "Debian ships it in python3.11-venv");
        assert!(python.externally_managed);
        assert!(python.dpkg_managed);
        assert_eq!(
            python.site_dirs,
            [
                "/usr/local/lib/python3.11/dist-packages",
                "/usr/lib/python3/dist-packages"
            ]
        );
        assert_eq!(
            listed(python),
            [
                "numpy 1.26.4 /usr/local/lib/python3.11/dist-packages",
                "six 1.16.0 /usr/lib/python3/dist-packages",
            ]
        );
        assert_eq!(
            python.distributions[0].metadata,
            "Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n"
        );
        assert!(facts.unreadable.is_empty(), "{:?}", facts.unreadable);
    }

    #[test]
    fn merged_usr_aliases_are_one_interpreter() {
        let image = bookworm_python();
        // Found first through /bin, which is /usr/bin.
        let facts = facts(
            std::slice::from_ref(&image),
            &["PATH=/bin:/usr/bin:/usr/local/bin"],
        );
        assert_eq!(paths(&facts), ["/bin/python3.11"]);
        assert_eq!(facts.interpreters[0].prefix, "/usr");
        // A python3.11 in /usr/local/bin that is a link to the same file.
        let mut linked = image;
        linked.push("usr/local/bin/python3.11 -> /usr/bin/python3.11".into());
        let facts = self::facts(&[linked], &[DEFAULT_ENV]);
        assert_eq!(paths(&facts), ["/usr/local/bin/python3.11"]);
        assert_eq!(facts.interpreters[0].prefix, "/usr");
    }

    /// nvcr.io/nvidia/pytorch: Ubuntu's /usr/bin/python3.12, and NVIDIA's
    /// torch build in /usr/local/lib/python3.12/dist-packages.
    #[test]
    fn ngc_torch_in_usr_local_dist_packages() {
        let mut base: Vec<String> = [
            "bin -> usr/bin",
            "lib -> usr/lib",
            "etc/os-release -> ../usr/lib/os-release",
            "usr/lib/os-release: ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\n",
            "usr/bin/python3.12: ELF",
            "usr/bin/python3 -> python3.12",
        ]
        .map(String::from)
        .to_vec();
        base.extend(stdlib("usr", 12, true));
        base.push(status(&[
            ("libc6", "2.39-0ubuntu8.4"),
            ("python3.12", "3.12.3-1ubuntu0.4"),
        ]));
        let site = "usr/local/lib/python3.12/dist-packages";
        let torch = dist_info(
            site,
            "torch",
            "2.6.0a0+nv25.01",
            &[
                "Requires-Python: >=3.9.0",
                "Requires-Dist: filelock",
                "Requires-Dist: typing-extensions>=4.10.0",
                "Requires-Dist: sympy==1.13.1; python_version >= \"3.9\"",
                "Provides-Extra: optree",
                "Requires-Dist: optree>=0.13.0; extra == \"optree\"",
            ],
        );
        let frameworks = vec![torch, dist_info(site, "numpy", "1.26.4", &[])];
        let env = "PATH=/usr/local/lib/python3.12/dist-packages/torch_tensorrt/bin:/usr/local/mpi/bin:/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/ucx/bin:/opt/tensorrt/bin";
        let facts = facts(&[base, frameworks], &[env]);
        assert_eq!(facts.os.id, "ubuntu");
        assert_eq!(facts.glibc, Some((2, 39)));
        assert_eq!(paths(&facts), ["/usr/bin/python3.12"]);
        let python = &facts.interpreters[0];
        assert_eq!(python.version, (3, 12));
        assert!(python.dpkg_managed);
        assert!(!python.externally_managed);
        assert_eq!(
            listed(python),
            [
                "numpy 1.26.4 /usr/local/lib/python3.12/dist-packages",
                "torch 2.6.0a0+nv25.01 /usr/local/lib/python3.12/dist-packages",
            ]
        );
        assert_eq!(
            python.distributions[1].metadata,
            "Metadata-Version: 2.1\n\
             Name: torch\n\
             Version: 2.6.0a0+nv25.01\n\
             Requires-Python: >=3.9.0\n\
             Requires-Dist: filelock\n\
             Requires-Dist: typing-extensions>=4.10.0\n\
             Requires-Dist: sympy==1.13.1; python_version >= \"3.9\"\n\
             Requires-Dist: optree>=0.13.0; extra == \"optree\"\n\
             Provides-Extra: optree\n"
        );
    }

    /// continuumio/miniconda3: conda's Python first on PATH, Ubuntu's
    /// Python (dpkg's) after it.
    #[test]
    fn conda_first_on_path_then_the_system_python() {
        let mut image: Vec<String> = [
            "opt/conda/bin/python3.10: ELF",
            "opt/conda/bin/python3 -> python3.10",
            "opt/conda/bin/python -> python3.10",
            "opt/conda/lib/python3.10/ensurepip/__init__.py: ",
            "usr/bin/python3.10: ELF",
        ]
        .map(String::from)
        .to_vec();
        image.extend(stdlib("opt/conda", 10, false));
        image.extend(stdlib("usr", 10, true));
        image.push(status(&[
            ("libc6", "2.35-0ubuntu3.8"),
            ("python3.10-minimal", "3.10.12-1"),
        ]));
        image.push(dist_info(
            "opt/conda/lib/python3.10/site-packages",
            "conda",
            "24.11.3",
            &["Requires-Dist: requests<3,>=2.28.0"],
        ));
        image.push(dist_info(
            "usr/lib/python3/dist-packages",
            "distro",
            "1.7.0",
            &[],
        ));
        let facts = facts(
            &[image],
            &["PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        );
        assert_eq!(facts.glibc, Some((2, 35)));
        assert_eq!(
            paths(&facts),
            ["/opt/conda/bin/python3.10", "/usr/bin/python3.10"]
        );
        let conda = &facts.interpreters[0];
        assert_eq!(conda.prefix, "/opt/conda");
        assert!(conda.has_ensurepip && conda.has_venv);
        assert!(!conda.dpkg_managed && !conda.externally_managed);
        assert_eq!(conda.site_dirs, ["/opt/conda/lib/python3.10/site-packages"]);
        assert_eq!(
            listed(conda),
            ["conda 24.11.3 /opt/conda/lib/python3.10/site-packages"]
        );
        let system = &facts.interpreters[1];
        assert!(system.dpkg_managed);
        assert_eq!(
            listed(system),
            ["distro 1.7.0 /usr/lib/python3/dist-packages"]
        );
    }

    /// A `python3` on PATH leading out of it comes first, before what
    /// the fixed directories would find later.
    #[test]
    fn python3_leading_elsewhere_is_found_where_it_leads() {
        let mut image: Vec<String> = [
            "usr/local/bin/python3 -> /opt/conda/bin/python3.11",
            "opt/conda/bin/python3.11: ELF",
            "usr/bin/python3.11: ELF",
        ]
        .map(String::from)
        .to_vec();
        image.extend(stdlib("opt/conda", 11, false));
        image.extend(stdlib("usr", 11, true));
        let facts = facts(&[image], &["PATH=/usr/local/bin:/usr/bin"]);
        assert_eq!(
            paths(&facts),
            ["/opt/conda/bin/python3.11", "/usr/bin/python3.11"]
        );
    }

    /// python:3.12 with a venv at /opt/venv first on PATH.
    fn python_image_with_venv(system_site: bool) -> Vec<String> {
        let mut image: Vec<String> = [
            "usr/local/bin/python3.12: ELF",
            "usr/local/bin/python3 -> python3.12",
            "usr/local/lib/python3.12/ensurepip/__init__.py: ",
            "opt/venv/bin/python -> /usr/local/bin/python3",
            "opt/venv/bin/python3 -> python",
            "opt/venv/bin/python3.12 -> python",
        ]
        .map(String::from)
        .to_vec();
        image.push(format!(
            "opt/venv/pyvenv.cfg: home = /usr/local/bin\ninclude-system-site-packages = {system_site}\nversion = 3.12.8\n"
        ));
        image.extend(stdlib("usr/local", 12, false));
        image.extend([
            dist_info(
                "usr/local/lib/python3.12/site-packages",
                "pip",
                "24.3.1",
                &[],
            ),
            // Upstream Python's site.py never adds dist-packages.
            dist_info(
                "usr/local/lib/python3.12/dist-packages",
                "stray",
                "1.0",
                &[],
            ),
            dist_info(
                "opt/venv/lib/python3.12/site-packages",
                "requests",
                "2.32.3",
                &["Requires-Dist: urllib3<3,>=1.21.1"],
            ),
        ]);
        image
    }

    #[test]
    fn a_venv_on_path_uses_its_home_stdlib() {
        let env = "PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        let facts = facts(&[python_image_with_venv(false)], &[env]);
        assert_eq!(
            paths(&facts),
            ["/opt/venv/bin/python3.12", "/usr/local/bin/python3.12"]
        );
        let venv = &facts.interpreters[0];
        assert_eq!(venv.version, (3, 12));
        assert_eq!(venv.prefix, "/opt/venv");
        assert_eq!(venv.base_prefix, "/usr/local");
        assert_eq!(venv.stdlib, "/usr/local/lib/python3.12");
        assert!(venv.has_venv && venv.has_ensurepip);
        assert!(!venv.dpkg_managed && !venv.externally_managed);
        assert_eq!(
            listed(venv),
            ["requests 2.32.3 /opt/venv/lib/python3.12/site-packages"]
        );
        let base = &facts.interpreters[1];
        assert_eq!(base.prefix, "/usr/local");
        assert_eq!(
            listed(base),
            ["pip 24.3.1 /usr/local/lib/python3.12/site-packages"]
        );

        let facts = self::facts(&[python_image_with_venv(true)], &[env]);
        let venv = &facts.interpreters[0];
        assert_eq!(
            venv.site_dirs,
            [
                "/opt/venv/lib/python3.12/site-packages",
                "/usr/local/lib/python3.12/site-packages"
            ]
        );
        assert_eq!(
            listed(venv),
            [
                "requests 2.32.3 /opt/venv/lib/python3.12/site-packages",
                "pip 24.3.1 /usr/local/lib/python3.12/site-packages",
            ]
        );
    }

    #[test]
    fn egg_info_directories_and_files() {
        let mut image = bookworm_python();
        let site = "usr/lib/python3/dist-packages";
        image.extend([
            format!(
                "{site}/PyYAML-6.0.egg-info/PKG-INFO: Metadata-Version: 1.1\nName: PyYAML\nVersion: 6.0\nSummary: YAML parser\n"
            ),
            format!(
                "{site}/PyYAML-6.0.egg-info/requires.txt: requests\n\n[security]\ncryptography>=1.3\n\n\
                 [:python_version < \"3.8\"]\nimportlib-metadata\n\n\
                 [socks:sys_platform == \"win32\"]\nwin-inet-pton\n\n\
                 [url]\nfoo @ https://example.com/foo.whl\n\n[empty]\n"
            ),
            // Debian's python3-apt installs a single-file egg-info.
            format!("{site}/python_apt-2.6.0.egg-info: Metadata-Version: 1.1\nName: python-apt\nVersion: 2.6.0\n"),
            // A broken install: a directory without PKG-INFO.
            format!("{site}/broken-1.0.egg-info/top_level.txt: broken"),
        ]);
        let facts = facts(&[image], &[DEFAULT_ENV]);
        let python = &facts.interpreters[0];
        assert_eq!(
            listed(python),
            [
                "pyyaml 6.0 /usr/lib/python3/dist-packages",
                "python-apt 2.6.0 /usr/lib/python3/dist-packages",
            ]
        );
        assert_eq!(
            python.distributions[0].metadata,
            "Metadata-Version: 2.1\n\
             Name: PyYAML\n\
             Version: 6.0\n\
             Requires-Dist: requests\n\
             Requires-Dist: cryptography>=1.3; extra == \"security\"\n\
             Requires-Dist: importlib-metadata; python_version < \"3.8\"\n\
             Requires-Dist: win-inet-pton; (sys_platform == \"win32\") and extra == \"socks\"\n\
             Requires-Dist: foo @ https://example.com/foo.whl ; extra == \"url\"\n\
             Provides-Extra: security\n\
             Provides-Extra: socks\n\
             Provides-Extra: url\n\
             Provides-Extra: empty\n"
        );
        assert_eq!(
            python.distributions[1].metadata,
            "Metadata-Version: 1.1\nName: python-apt\nVersion: 2.6.0\n"
        );
        assert_eq!(
            facts.unreadable,
            ["/usr/lib/python3/dist-packages/broken-1.0.egg-info"]
        );
    }

    #[test]
    fn an_upper_layer_uninstalls_a_distribution() {
        let mut lower = bookworm_python();
        lower.extend([
            dist_info("usr/lib/python3/dist-packages", "numpy", "1.24.2", &[]),
            dist_info(
                "usr/local/lib/python3.11/dist-packages",
                "numpy",
                "1.26.4",
                &[],
            ),
            dist_info(
                "usr/local/lib/python3.11/dist-packages",
                "scipy",
                "1.15.0",
                &[],
            ),
        ]);
        // `pip uninstall numpy` in a later RUN, and a new scipy.
        let upper = vec![
            "usr/local/lib/python3.11/dist-packages/.wh.numpy-1.26.4.dist-info".to_string(),
            "usr/local/lib/python3.11/dist-packages/.wh.scipy-1.15.0.dist-info".to_string(),
            dist_info(
                "usr/local/lib/python3.11/dist-packages",
                "scipy",
                "1.15.1",
                &[],
            ),
        ];
        let facts = facts(&[lower, upper], &[DEFAULT_ENV]);
        assert_eq!(
            listed(&facts.interpreters[0]),
            [
                "scipy 1.15.1 /usr/local/lib/python3.11/dist-packages",
                "numpy 1.24.2 /usr/lib/python3/dist-packages",
            ]
        );
    }

    #[test]
    fn interpreters_without_a_stdlib_are_skipped() {
        let mut image = bookworm_python();
        image.extend([
            // A stray binary, and a venv whose home is gone.
            "usr/local/bin/python3.9: ELF".to_string(),
            "opt/venv/bin/python3.10: ELF".to_string(),
            "opt/venv/pyvenv.cfg: home = /opt/python/bin\n".to_string(),
        ]);
        let facts = facts(&[image], &["PATH=/opt/venv/bin:/usr/local/bin:/usr/bin"]);
        assert_eq!(paths(&facts), ["/usr/bin/python3.11"]);
    }

    #[test]
    fn glibc_from_dpkg_then_file_names_then_musl() {
        assert_eq!(glibc_of_dpkg("2.36-9+deb12u7"), Some((2, 36)));
        assert_eq!(glibc_of_dpkg("2.23-0ubuntu11"), Some((2, 23)));
        assert_eq!(glibc_of_dpkg("1:2.17-326.el7"), Some((2, 17)));
        assert_eq!(glibc_of_dpkg("garbage"), None);

        // Ubuntu 16.04's glibc names its files by version; no dpkg status.
        let xenial = vec![
            "lib/x86_64-linux-gnu/libc-2.23.so: ELF".to_string(),
            "lib/x86_64-linux-gnu/libc.so.6 -> libc-2.23.so".to_string(),
            "lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-2.23.so".to_string(),
            "lib/x86_64-linux-gnu/ld-2.23.so: ELF".to_string(),
        ];
        let facts = facts(&[xenial], &[DEFAULT_ENV]);
        assert_eq!((facts.glibc, facts.musl), (Some((2, 23)), false));
        assert!(facts.interpreters.is_empty());

        // dpkg's status wins over file names.
        let both = vec![
            "usr/lib/aarch64-linux-gnu/libc-2.31.so: ELF".to_string(),
            status(&[("libc6", "2.36-9+deb12u7")]),
        ];
        assert_eq!(self::facts(&[both], &[]).glibc, Some((2, 36)));

        let alpine = vec![
            "lib/ld-musl-x86_64.so.1: ELF".to_string(),
            "lib/libc.musl-x86_64.so.1 -> ld-musl-x86_64.so.1".to_string(),
            "etc/os-release: ID=alpine\nVERSION_ID=3.21.2\n".to_string(),
        ];
        let facts = self::facts(&[alpine], &[]);
        assert_eq!((facts.glibc, facts.musl), (None, true));
        assert_eq!(facts.os.id, "alpine");

        // glibc 2.34 and later name no file by version.
        let modern = vec!["usr/lib/x86_64-linux-gnu/libc.so.6: ELF".to_string()];
        let facts = self::facts(&[modern], &[]);
        assert_eq!((facts.glibc, facts.musl), (None, false));
    }

    #[test]
    fn a_broken_dpkg_status_is_an_error() {
        let image =
            vec!["var/lib/dpkg/status: Package: x\nStatus: install ok installed\n".to_string()];
        let err = discover(&tree(&[image], &[])).unwrap_err();
        assert!(
            format!("{err:#}").contains("/var/lib/dpkg/status"),
            "{err:#}"
        );
    }

    #[test]
    fn what_is_captured() {
        for path in [
            "/etc/os-release",
            "/usr/lib/os-release",
            "/var/lib/dpkg/status",
            "/opt/venv/pyvenv.cfg",
            "/usr/lib/python3.11/site.py",
            "/usr/lib64/python3.12/site.py",
            "/usr/lib/python3/dist-packages/numpy-1.24.2.dist-info/METADATA",
            "/opt/conda/lib/python3.10/site-packages/conda-24.11.3.dist-info/METADATA",
            "/usr/lib/python3/dist-packages/PyYAML-6.0.egg-info/PKG-INFO",
            "/usr/lib/python3/dist-packages/PyYAML-6.0.egg-info/requires.txt",
            "/usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info",
        ] {
            assert!(capture(path), "{path}");
        }
        for path in [
            "/etc/passwd",
            "/usr/lib/python3/dist-packages/numpy-1.24.2.dist-info/RECORD",
            "/usr/lib/python3/dist-packages/numpy/core/METADATA",
            "/usr/share/doc/x.dist-info/METADATA",
            "/usr/lib/python3.11/json/site.py",
            "/usr/lib/python3/dist-packages/PyYAML-6.0.egg-info/SOURCES.txt",
            "/var/lib/dpkg/status-old",
        ] {
            assert!(!capture(path), "{path}");
        }
    }
}
