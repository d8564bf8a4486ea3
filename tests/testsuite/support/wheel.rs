//! Python distributions made by the tests: PEP 427 wheels and sdists with
//! chosen names, versions, tags and dependencies, byte for byte
//! deterministic so the same spec always has the same sha256.
//!
//! The archives are written by hand (stored zip entries, a gzip of stored
//! deflate blocks), as `image.rs` writes its tars: no compression library,
//! and nothing in them depends on the clock or the file system.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Every archive entry gets this DOS date, 1980-01-01 00:00:00 (the zip
/// epoch; `SOURCE_DATE_EPOCH`-style builds use the same).
const DOS_DATE: u16 = (1 << 5) | 1;
const DOS_TIME: u16 = 0;

/// `Generator:` of `WHEEL`.
const GENERATOR: &str = "mlr-testsuite";

/// The PEP 517 backend shipped inside every sdist (`requires = []`), so pip
/// and uv can build it offline: it zips `src/` into a pure wheel whose
/// METADATA is the sdist's PKG-INFO.
pub const SDIST_BACKEND: &str = r#""""PEP 517 backend of the mlr testsuite: src/ as a pure wheel, PKG-INFO as METADATA."""
import base64
import hashlib
import os
import re
import tarfile
import zipfile

_HERE = os.path.dirname(os.path.abspath(__file__))


def _pkg_info():
    with open(os.path.join(_HERE, "PKG-INFO"), encoding="utf-8") as f:
        return f.read()


def _field(text, key):
    for line in text.splitlines():
        if line.startswith(key + ": "):
            return line[len(key) + 2:]
    raise KeyError(key)


def _stem():
    text = _pkg_info()
    name = re.sub(r"[-_.]+", "_", _field(text, "Name")).lower()
    return name + "-" + _field(text, "Version").replace("-", "_")


def _payload():
    root = os.path.join(_HERE, "src")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            yield os.path.relpath(full, root).replace(os.sep, "/"), full


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist_info = _stem() + ".dist-info"
    filename = _stem() + "-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        def add(arcname, data):
            archive.writestr(arcname, data)
            digest = hashlib.sha256(data).digest()
            encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            records.append("%s,sha256=%s,%d" % (arcname, encoded, len(data)))

        for arcname, full in _payload():
            with open(full, "rb") as f:
                add(arcname, f.read())
        add(dist_info + "/METADATA", _pkg_info().encode())
        add(
            dist_info + "/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: mlr-testsuite\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        records.append(dist_info + "/RECORD,,")
        archive.writestr(dist_info + "/RECORD", "\n".join(records) + "\n")
    return filename


def build_sdist(sdist_directory, config_settings=None):
    filename = _stem() + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as archive:
        archive.add(_HERE, arcname=_stem())
    return filename
"#;

/// What goes into a wheel. Build one with [`WheelSpec::new`] and the
/// chained setters, then [`build_wheel`] or `PyIndex::add_wheel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelSpec {
    /// The project name as written in `Name:`; normalized for file names.
    pub name: String,
    /// A PEP 440 version, local part included (`2.5.1+cu124`).
    pub version: String,
    /// A (possibly compressed) tag triple: `py3-none-any`,
    /// `cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`.
    pub tag: String,
    /// PEP 508 requirements, one `Requires-Dist:` line each.
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
    /// `(path in the wheel, contents)`, e.g. `("pkg/__init__.py", "...")`.
    pub files: Vec<(String, String)>,
    /// The optional build tag (must start with a digit).
    pub build: Option<String>,
    /// `Provides-Extra:` names beyond those that `extra == "..."` markers
    /// in `requires_dist` already declare.
    pub extras: Vec<String>,
}

impl WheelSpec {
    /// A pure `py3-none-any` wheel with no dependencies and no files besides
    /// its `.dist-info`.
    pub fn new(name: &str, version: &str) -> WheelSpec {
        WheelSpec {
            name: name.to_owned(),
            version: version.to_owned(),
            tag: "py3-none-any".to_owned(),
            requires_dist: Vec::new(),
            requires_python: None,
            files: Vec::new(),
            build: None,
            extras: Vec::new(),
        }
    }

    pub fn tag(mut self, tag: &str) -> WheelSpec {
        self.tag = tag.to_owned();
        self
    }

    /// Adds a `Requires-Dist:` requirement, markers included
    /// (`"colorama; sys_platform == 'win32'"`, `"rich; extra == \"cli\""`).
    pub fn requires(mut self, requirement: &str) -> WheelSpec {
        self.requires_dist.push(requirement.to_owned());
        self
    }

    pub fn requires_python(mut self, specifier: &str) -> WheelSpec {
        self.requires_python = Some(specifier.to_owned());
        self
    }

    /// Adds a file at `path` inside the wheel (or under `src/` of an sdist).
    pub fn file(mut self, path: &str, contents: &str) -> WheelSpec {
        self.files.push((path.to_owned(), contents.to_owned()));
        self
    }

    pub fn build(mut self, build: &str) -> WheelSpec {
        self.build = Some(build.to_owned());
        self
    }

    /// Declares an extra that no requirement uses.
    pub fn extra(mut self, name: &str) -> WheelSpec {
        self.extras.push(name.to_owned());
        self
    }

    /// `{dist}-{version}(-{build})?-{tag}.whl`.
    pub fn filename(&self) -> String {
        self.validate();
        let build = self
            .build
            .as_deref()
            .map(|b| format!("-{b}"))
            .unwrap_or_default();
        format!("{}{build}-{}.whl", self.stem(), self.tag)
    }

    /// The `.dist-info/METADATA` text (Metadata-Version 2.1).
    pub fn metadata(&self) -> String {
        self.core_metadata("2.1")
    }

    /// `{dist}-{version}`, the filename stem shared by the wheel, its
    /// `.dist-info` directory and the sdist.
    pub(crate) fn stem(&self) -> String {
        format!(
            "{}-{}",
            dist_name(&self.name),
            self.version.replace('-', "_")
        )
    }

    /// The core metadata fields of the spec under `Metadata-Version:
    /// {metadata_version}`.
    pub(crate) fn core_metadata(&self, metadata_version: &str) -> String {
        let mut text = format!(
            "Metadata-Version: {metadata_version}\nName: {}\nVersion: {}\n",
            self.name, self.version
        );
        if let Some(specifier) = &self.requires_python {
            writeln!(text, "Requires-Python: {specifier}").unwrap();
        }
        for extra in self.provided_extras() {
            writeln!(text, "Provides-Extra: {extra}").unwrap();
        }
        for requirement in &self.requires_dist {
            writeln!(text, "Requires-Dist: {requirement}").unwrap();
        }
        text
    }

    fn provided_extras(&self) -> Vec<String> {
        let mut extras: Vec<String> = Vec::new();
        let used = self
            .requires_dist
            .iter()
            .filter_map(|r| r.split_once(';').map(|(_, marker)| marker))
            .flat_map(marker_extras);
        for extra in self.extras.iter().cloned().chain(used) {
            if !extras.contains(&extra) {
                extras.push(extra);
            }
        }
        extras
    }

    fn wheel_file(&self) -> String {
        let pure = self.tag.ends_with("-any");
        let mut text =
            format!("Wheel-Version: 1.0\nGenerator: {GENERATOR}\nRoot-Is-Purelib: {pure}\n");
        for tag in expand_tag(&self.tag) {
            writeln!(text, "Tag: {tag}").unwrap();
        }
        if let Some(build) = &self.build {
            writeln!(text, "Build: {build}").unwrap();
        }
        text
    }

    pub(crate) fn validate(&self) {
        assert!(
            is_valid_name(&self.name),
            "{:?} is not a valid Python project name",
            self.name
        );
        assert!(
            !self.version.is_empty() && !self.version.contains(char::is_whitespace),
            "{:?} is not a version",
            self.version
        );
        assert!(
            self.tag.split('-').count() == 3 && !self.tag.split('-').any(str::is_empty),
            "{:?} is not a python-abi-platform tag",
            self.tag
        );
        if let Some(build) = &self.build {
            assert!(
                build.starts_with(|c: char| c.is_ascii_digit())
                    && build.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "build tag {build:?} must start with a digit"
            );
        }
    }
}

/// A distribution file written to disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltFile {
    pub path: PathBuf,
    pub filename: String,
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
}

impl BuiltFile {
    /// Writes `bytes` to `dir/filename` (creating `dir`).
    pub(crate) fn write(dir: &Path, filename: String, bytes: &[u8]) -> BuiltFile {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let path = dir.join(&filename);
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        BuiltFile {
            path,
            filename,
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
        }
    }
}

/// Writes the wheel of `spec` into `dir`: the payload files in name order,
/// then `METADATA`, `WHEEL` and, last, `RECORD` (PEP 427's order).
pub fn build_wheel(dir: &Path, spec: &WheelSpec) -> BuiltFile {
    let filename = spec.filename();
    let dist_info = format!("{}.dist-info", spec.stem());
    let mut payload: Vec<(&str, &[u8])> = spec
        .files
        .iter()
        .map(|(path, contents)| (path.as_str(), contents.as_bytes()))
        .collect();
    payload.sort_by_key(|(path, _)| *path);
    for pair in payload.windows(2) {
        assert_ne!(pair[0].0, pair[1].0, "{filename}: file listed twice");
    }
    for (path, _) in &payload {
        assert!(
            !path.starts_with('/') && !path.starts_with(&dist_info),
            "{filename}: {path:?} is not a payload path"
        );
    }

    let metadata = spec.metadata();
    let wheel = spec.wheel_file();
    let metadata_path = format!("{dist_info}/METADATA");
    let wheel_path = format!("{dist_info}/WHEEL");
    let record_path = format!("{dist_info}/RECORD");
    let mut entries = payload;
    entries.push((&metadata_path, metadata.as_bytes()));
    entries.push((&wheel_path, wheel.as_bytes()));

    let mut record = String::new();
    for (path, data) in &entries {
        let hash = base64(&Sha256::digest(data), URL_SAFE);
        writeln!(record, "{},sha256={hash},{}", csv_field(path), data.len()).unwrap();
    }
    writeln!(record, "{},,", csv_field(&record_path)).unwrap();
    entries.push((&record_path, record.as_bytes()));

    BuiltFile::write(dir, filename, &zip(&entries))
}

/// Writes `{dist}-{version}.tar.gz`, a PEP 625 sdist with no dependencies.
pub fn build_sdist(dir: &Path, name: &str, version: &str) -> BuiltFile {
    build_sdist_for(dir, &WheelSpec::new(name, version))
}

/// The sdist of the project `spec` describes: its `PKG-INFO` (Metadata 2.2
/// with nothing dynamic, so resolvers can read it without building), a
/// `pyproject.toml` naming an in-tree backend, and `spec.files` under
/// `src/`. pip and uv can build it into a pure wheel offline. The tag and
/// build tag are ignored.
pub fn build_sdist_for(dir: &Path, spec: &WheelSpec) -> BuiltFile {
    spec.validate();
    let stem = spec.stem();
    let filename = format!("{stem}.tar.gz");
    let pyproject = "[build-system]\nrequires = []\n\
        build-backend = \"mlr_testsuite_backend\"\nbackend-path = [\".\"]\n";
    let pkg_info = spec.core_metadata("2.2");
    let mut members: Vec<(String, &[u8])> = vec![
        ("PKG-INFO".to_owned(), pkg_info.as_bytes()),
        (
            "mlr_testsuite_backend.py".to_owned(),
            SDIST_BACKEND.as_bytes(),
        ),
        ("pyproject.toml".to_owned(), pyproject.as_bytes()),
    ];
    for (path, contents) in &spec.files {
        members.push((format!("src/{path}"), contents.as_bytes()));
    }
    BuiltFile::write(dir, filename, &sdist_tar_gz(&stem, members))
}

/// The `.tar.gz` of an sdist: every directory (`{stem}/` and the parents
/// of `members`, mode 0755), then `members` (paths under `{stem}/`, mode
/// 0644) in name order; owner root and mtime 0 throughout.
pub(crate) fn sdist_tar_gz(stem: &str, mut members: Vec<(String, &[u8])>) -> Vec<u8> {
    members.sort_by(|a, b| a.0.cmp(&b.0));
    for pair in members.windows(2) {
        assert_ne!(pair[0].0, pair[1].0, "{stem}: file listed twice");
    }
    let mut tar = Vec::new();
    let mut dirs: Vec<String> = vec![stem.to_owned()];
    for (path, _) in &members {
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            dirs.push(format!("{stem}/{}", &path[..end]));
            end += 1;
        }
    }
    dirs.sort();
    dirs.dedup();
    for dir in &dirs {
        tar.extend_from_slice(&tar_header(&format!("{dir}/"), 0o755, 0, b'5'));
    }
    for (path, data) in &members {
        tar.extend_from_slice(&tar_header(
            &format!("{stem}/{path}"),
            0o644,
            data.len(),
            b'0',
        ));
        tar.extend_from_slice(data);
        tar.resize(tar.len().next_multiple_of(512), 0);
    }
    tar.resize(tar.len() + 1024, 0);
    gzip(&tar)
}

/// PEP 503 normalization: lowercase, runs of `-_.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    collapse_separators(name, '-')
}

/// The name as it appears in wheel and sdist file names: PEP 503
/// normalized, with `_` for `-`.
pub fn dist_name(name: &str) -> String {
    collapse_separators(name, '_')
}

fn collapse_separators(name: &str, separator: char) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push(separator);
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

/// `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, case-insensitively.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    alnum(name.chars().next())
        && alnum(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `py2.py3-none-any` → `py2-none-any`, `py3-none-any`.
fn expand_tag(tag: &str) -> Vec<String> {
    let mut parts = tag.splitn(3, '-');
    let (python, abi, platform) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut tags = Vec::new();
    for python in python.split('.') {
        for abi in abi.split('.') {
            for platform in platform.split('.') {
                tags.push(format!("{python}-{abi}-{platform}"));
            }
        }
    }
    tags
}

/// The extras named by `extra == "name"` comparisons in a marker.
fn marker_extras(marker: &str) -> Vec<String> {
    let mut extras = Vec::new();
    let mut rest = marker;
    while let Some(at) = rest.find("extra") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "extra".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let Some(value) = rest.trim_start().strip_prefix("==") else {
            continue;
        };
        let value = value.trim_start();
        let Some(quote) = value.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
            continue;
        };
        if let Some(end) = value[1..].find(quote) {
            extras.push(value[1..=end].to_owned());
        }
    }
    extras
}

/// A RECORD field, quoted as Python's `csv` module would.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) const STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 in `alphabet`; padded for [`STANDARD`], unpadded for the
/// URL-safe alphabet (as RECORD wants).
pub(crate) fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let pad = alphabet == STANDARD;
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// A zip of stored (uncompressed) entries with fixed dates and mode 0644.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    fn u16le(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32le(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let len32 = |n: usize| u32::try_from(n).expect("zip64 is not needed in tests");

    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = len32(out.len());
        let crc = crc32(data);
        // Bit 11: the name is UTF-8.
        let flags: u16 = if name.is_ascii() { 0 } else { 1 << 11 };
        let name_len = u16::try_from(name.len()).expect("zip entry name too long");

        u32le(&mut out, 0x0403_4b50);
        u16le(&mut out, 20); // version needed: 2.0
        u16le(&mut out, flags);
        u16le(&mut out, 0); // stored
        u16le(&mut out, DOS_TIME);
        u16le(&mut out, DOS_DATE);
        u32le(&mut out, crc);
        u32le(&mut out, len32(data.len()));
        u32le(&mut out, len32(data.len()));
        u16le(&mut out, name_len);
        u16le(&mut out, 0); // extra field length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        u32le(&mut central, 0x0201_4b50);
        u16le(&mut central, (3 << 8) | 20); // made by: Unix, 2.0
        u16le(&mut central, 20);
        u16le(&mut central, flags);
        u16le(&mut central, 0);
        u16le(&mut central, DOS_TIME);
        u16le(&mut central, DOS_DATE);
        u32le(&mut central, crc);
        u32le(&mut central, len32(data.len()));
        u32le(&mut central, len32(data.len()));
        u16le(&mut central, name_len);
        u16le(&mut central, 0); // extra field length
        u16le(&mut central, 0); // comment length
        u16le(&mut central, 0); // disk number
        u16le(&mut central, 0); // internal attributes
        u32le(&mut central, 0o100_644 << 16); // regular file, rw-r--r--
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = len32(out.len());
    let count = u16::try_from(entries.len()).expect("too many zip entries");
    out.extend_from_slice(&central);
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0); // this disk
    u16le(&mut out, 0); // disk with the central directory
    u16le(&mut out, count);
    u16le(&mut out, count);
    u32le(&mut out, len32(central.len()));
    u32le(&mut out, central_offset);
    u16le(&mut out, 0); // comment length
    out
}

/// A gzip member of stored deflate blocks, mtime 0.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut blocks = data.chunks(0xffff).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none())); // BFINAL, BTYPE = stored
        let len = u16::try_from(block.len()).expect("block fits u16");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// A ustar header block, owner root, mtime 0.
fn tar_header(name: &str, mode: u32, size: usize, kind: u8) -> [u8; 512] {
    fn put(block: &mut [u8; 512], at: usize, len: usize, value: &[u8]) {
        assert!(value.len() <= len, "tar field too long: {value:?}");
        block[at..at + value.len()].copy_from_slice(value);
    }
    fn octal(block: &mut [u8; 512], at: usize, len: usize, value: u64) {
        let text = format!("{value:0width$o}\0", width = len - 1);
        put(block, at, len, text.as_bytes());
    }
    let mut block = [0u8; 512];
    put(&mut block, 0, 100, name.as_bytes());
    octal(&mut block, 100, 8, mode.into());
    octal(&mut block, 108, 8, 0); // uid
    octal(&mut block, 116, 8, 0); // gid
    octal(&mut block, 124, 12, size as u64);
    octal(&mut block, 136, 12, 0); // mtime
    block[148..156].fill(b' ');
    block[156] = kind;
    put(&mut block, 257, 8, b"ustar\x0000");
    put(&mut block, 265, 32, b"root");
    put(&mut block, 297, 32, b"root");
    octal(&mut block, 329, 8, 0); // devmajor
    octal(&mut block, 337, 8, 0); // devminor
    let checksum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    put(&mut block, 148, 8, format!("{checksum:06o}\0 ").as_bytes());
    block
}

/// CRC-32 (IEEE 802.3), as zip and gzip use.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_check_string() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn names_normalize_per_pep_503() {
        assert_eq!(normalize_name("My__Pkg.Name"), "my-pkg-name");
        assert_eq!(dist_name("My-Pkg.name"), "my_pkg_name");
    }

    #[test]
    fn extras_come_from_markers() {
        assert_eq!(
            marker_extras(r#" python_version >= "3.8" and extra == "cli" or extra=='gpu'"#),
            ["cli", "gpu"]
        );
        assert!(marker_extras(" myextra == 'x'").is_empty());
    }

    #[test]
    fn base64_alphabets() {
        assert_eq!(base64(b"alice:s3cret", STANDARD), "YWxpY2U6czNjcmV0");
        assert_eq!(base64(b"\xfb\xff", STANDARD), "+/8=");
        assert_eq!(base64(b"\xfb\xff", URL_SAFE), "-_8");
    }
}
