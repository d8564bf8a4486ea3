//! Files out of a locked image, read through the registry without pulling or
//! running it: the Python and apt resolvers need the base image's
//! `/etc/os-release`, glibc, apt sources, `/var/lib/dpkg/status` and the
//! Python environments it already has.
//!
//! Layers are applied as an engine would (upper layers shadow lower ones,
//! `.wh.<name>` deletes, `.wh..wh..opq` hides a directory's lower contents)
//! and symlinks are followed inside the image root. Two readers share that
//! machinery: [`read_image_files`] walks the layers from the top down and
//! stops once every requested path is decided, so the large bottom layers
//! are skipped when the answers sit higher up; [`read_image_tree`] reads
//! every layer once and keeps the merged tree (entry kinds and link targets
//! only) with the contents of the files its caller selects.
//!
//! Every blob (manifest, config, layer) is checked against its sha256 before
//! it is read, and kept under `<cache>/blobs/sha256/<hex>`. A cached blob is
//! hashed again on every use: one whose bytes no longer match (a tampered or
//! truncated cache) is deleted with a warning and downloaded again, or is an
//! error under `--offline`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use anyhow::{Context, anyhow, bail};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::image::{
    DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, client_for, registry_attempt,
    registry_auth, registry_get, runtime,
};
use crate::config::Config;
use crate::error::{ErrorKind, hinted};
use crate::http::{Attempt, retrying};
use crate::manifest::ImageRef;

/// How many symlinks one lookup may follow (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// Requested files read out of one image manifest, by absolute path.
#[derive(Debug, Clone, Default)]
pub struct ImageFiles {
    files: BTreeMap<String, Vec<u8>>,
    platform: Option<ImagePlatform>,
}

/// The platform an image's config declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlatform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl ImageFiles {
    /// The contents of `path` as requested (e.g. `/etc/os-release`), after
    /// following symlinks; `None` if the image has no such regular file.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// [`ImageFiles::get`] as text (lossy UTF-8).
    pub fn text(&self, path: &str) -> Option<String> {
        self.get(path)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    }

    /// The os/architecture/variant from the image config.
    pub fn platform(&self) -> Option<&ImagePlatform> {
        self.platform.as_ref()
    }
}

/// A value read from an image's layers, kept in mlr's cache under the
/// digest of the image manifest it was read from (content-addressed, so
/// never stale) as `<cache>/<area>/v<format>-<hex>.json`; `read` runs only
/// when the cache has none. Returns the value and whether it was read now.
/// A cache that cannot be written only costs the next run a scan.
pub fn cached_by_digest<T: serde::Serialize + serde::de::DeserializeOwned>(
    config: &Config,
    area: &str,
    format: u32,
    digest: &str,
    read: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, bool)> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    let cached = config
        .cache_dir
        .join(area)
        .join(format!("v{format}-{hex}.json"));
    if let Some(value) = std::fs::read(&cached)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<T>(&bytes).ok())
    {
        return Ok((value, false));
    }
    let value = read()?;
    if let (Ok(json), Some(dir)) = (serde_json::to_vec(&value), cached.parent()) {
        let _ = std::fs::create_dir_all(dir).map(|()| crate::atomic_file::write(&cached, json));
    }
    Ok((value, true))
}

/// Reads `paths` (absolute, e.g. `/etc/os-release`) from the image manifest
/// `manifest_digest` in `image`'s repository. A path that does not exist,
/// is a directory, or is deleted by a whiteout is simply absent from the
/// result. Registry mirrors in `config` decide where the bytes come from.
pub fn read_image_files(
    config: &Config,
    image: &ImageRef,
    manifest_digest: &str,
    paths: &[&str],
) -> anyhow::Result<ImageFiles> {
    read(config, image, manifest_digest, paths).with_context(|| {
        format!(
            "reading {} from image {}@{manifest_digest}",
            paths.join(", "),
            image.name()
        )
    })
}

fn read(
    config: &Config,
    image: &ImageRef,
    manifest_digest: &str,
    paths: &[&str],
) -> anyhow::Result<ImageFiles> {
    let wanted: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            if !p.starts_with('/') {
                bail!("`{p}` is not an absolute path");
            }
            Ok((p.to_string(), normalize(p)))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut source = RegistryLayers::open(config, image, manifest_digest)?;
    let (files, _) = read_files(&mut source, &wanted)?;
    Ok(ImageFiles {
        files,
        platform: Some(source.platform()),
    })
}

/// The largest file [`read_image_tree`] keeps the contents of; bigger ones
/// read as absent. Far above any `METADATA` or dpkg status file (a few MB
/// on a full Ubuntu), far below what would strain memory.
pub const MAX_CAPTURED: u64 = 16 << 20;

/// An image's file system as a container would see it, merged from every
/// layer, with the contents of the files the reader was asked to keep.
/// Paths are absolute (`/usr/bin/python3`); symlinks resolve inside the
/// image root, as in a container, with at most 40 links per lookup.
pub struct ImageTree {
    /// Top layer first.
    layers: Vec<LayerIndex>,
    env: Vec<String>,
    platform: ImagePlatform,
}

/// A summary: a large image has hundreds of thousands of entries.
impl std::fmt::Debug for ImageTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageTree")
            .field("layers", &self.layers.len())
            .field(
                "entries",
                &self.layers.iter().map(|l| l.entries.len()).sum::<usize>(),
            )
            .field(
                "captured",
                &self.layers.iter().map(|l| l.contents.len()).sum::<usize>(),
            )
            .field("env", &self.env)
            .field("platform", &self.platform)
            .finish()
    }
}

/// What a path is in an [`ImageTree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    Dir,
    /// A regular file, or a hard link to one.
    File,
    Symlink,
    /// A device or a fifo.
    Other,
}

impl TreeKind {
    fn of(kind: &EntryKind) -> TreeKind {
        match kind {
            EntryKind::Dir => TreeKind::Dir,
            EntryKind::File | EntryKind::Hardlink(_) => TreeKind::File,
            EntryKind::Symlink(_) => TreeKind::Symlink,
            EntryKind::Other => TreeKind::Other,
        }
    }
}

impl ImageTree {
    fn view(&self) -> Layers<'_> {
        Layers {
            layers: &self.layers,
            complete: true,
        }
    }

    /// The entry `path` leads to; a symlink loop is as good as missing.
    fn entry(&self, path: &str, follow_last: bool) -> Option<(String, &EntryKind)> {
        match self.view().walk(path, follow_last) {
            Ok(Walk::Found { path, kind, .. }) => Some((path, kind)),
            Ok(Walk::Missing | Walk::Undecided { .. }) | Err(_) => None,
        }
    }

    /// What `path` is after following every symlink (as `stat(2)`): never
    /// [`TreeKind::Symlink`]; `None` if missing or dangling.
    pub fn kind(&self, path: &str) -> Option<TreeKind> {
        self.entry(path, true).map(|(_, kind)| TreeKind::of(kind))
    }

    /// What `path` is, following symlinks in its parents but not in its
    /// last component (as `lstat(2)`).
    pub fn kind_no_follow(&self, path: &str) -> Option<TreeKind> {
        self.entry(path, false).map(|(_, kind)| TreeKind::of(kind))
    }

    /// The target of the symlink `path` (as `readlink(2)`).
    pub fn read_link(&self, path: &str) -> Option<&str> {
        match self.entry(path, false)? {
            (_, EntryKind::Symlink(target)) => Some(target),
            _ => None,
        }
    }

    /// The canonical path of `path`, every symlink followed (as
    /// `realpath(3)`): `/bin/python3` → `/usr/bin/python3.11`. `None` if
    /// missing or dangling.
    pub fn resolve(&self, path: &str) -> Option<String> {
        self.entry(path, true).map(|(path, _)| format!("/{path}"))
    }

    /// The contents of the regular file `path` leads to, if the reader kept
    /// them (the file was selected and not over [`MAX_CAPTURED`]).
    pub fn read(&self, path: &str) -> Option<&[u8]> {
        match self.view().resolve(path) {
            Ok(Outcome::File { layer, path }) => {
                self.layers[layer].contents.get(&path).map(Vec::as_slice)
            }
            _ => None,
        }
    }

    /// [`ImageTree::read`] as text (lossy UTF-8).
    pub fn text(&self, path: &str) -> Option<String> {
        self.read(path)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    }

    /// The names in directory `dir` (after following symlinks), merged
    /// across layers, sorted; empty if `dir` is not a directory.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let Some((dir, EntryKind::Dir)) = self.entry(dir, true) else {
            return Vec::new();
        };
        let names: BTreeSet<&str> = self
            .layers
            .iter()
            .flat_map(|layer| children(&layer.entries, &dir))
            .collect();
        let view = self.view();
        names
            .into_iter()
            .filter(|name| matches!(view.lookup(&join(&dir, name)), Lookup::Found(..)))
            .map(str::to_string)
            .collect()
    }

    /// The image config's environment (`config.Env`), e.g.
    /// `PATH=/opt/conda/bin:/usr/local/sbin:…`.
    pub fn env(&self) -> &[String] {
        &self.env
    }

    /// The os/architecture/variant from the image config.
    pub fn platform(&self) -> &ImagePlatform {
        &self.platform
    }
}

/// Reads every layer of the image manifest `manifest_digest` in `image`'s
/// repository into an [`ImageTree`], keeping the contents of the regular
/// files `capture` selects by absolute path (e.g.
/// `/usr/lib/python3/dist-packages/numpy-1.26.4.dist-info/METADATA`) up to
/// [`MAX_CAPTURED`] bytes each. A selected symlink or hard link has the file
/// it leads to kept as well. Each layer is streamed once (a second time only
/// for a file reached through a selected link that the first pass passed).
pub fn read_image_tree(
    config: &Config,
    image: &ImageRef,
    manifest_digest: &str,
    capture: &dyn Fn(&str) -> bool,
) -> anyhow::Result<ImageTree> {
    let context = || {
        format!(
            "reading the files of image {}@{manifest_digest}",
            image.name()
        )
    };
    let mut source = RegistryLayers::open(config, image, manifest_digest).with_context(context)?;
    let size: u64 = source.layers.iter().filter_map(|l| l.size).sum();
    config.shell.status(
        "Reading",
        format!(
            "{} layer{} ({:.1} MB) of {}@{}",
            source.layers.len(),
            if source.layers.len() == 1 { "" } else { "s" },
            size as f64 / 1e6,
            image.name(),
            short_digest(manifest_digest),
        ),
    );
    let layers = read_tree(&mut source, capture).with_context(context)?;
    for (path, size) in layers.iter().flat_map(|layer| &layer.skipped) {
        config.shell.verbose(
            "Skipping",
            format!(
                "/{path} ({:.1} MB, over the {} MB limit)",
                *size as f64 / 1e6,
                MAX_CAPTURED >> 20
            ),
        );
    }
    Ok(ImageTree {
        layers,
        env: source.image_config.env(),
        platform: source.platform(),
    })
}

fn short_digest(digest: &str) -> &str {
    let end = digest.find(':').map_or(0, |i| i + 1) + 12;
    digest.get(..end).unwrap_or(digest)
}

/// The layer tars of one image, top first.
trait LayerSource {
    fn count(&self) -> usize;
    /// Layer `i` (0 is the top), uncompressed.
    fn open(&mut self, i: usize) -> anyhow::Result<Box<dyn Read + '_>>;
    /// Layer `i` as errors name it.
    fn describe(&self, i: usize) -> String;
}

/// An image manifest's layers, out of the verified blob store.
struct RegistryLayers<'a> {
    store: BlobStore<'a>,
    /// Top first.
    layers: Vec<BlobDescriptor>,
    /// The verified blobs of the layers opened so far, by index.
    files: HashMap<usize, PathBuf>,
    image_config: ImageConfigDoc,
}

impl<'a> RegistryLayers<'a> {
    /// Fetches (or finds in the cache) the manifest and config.
    fn open(
        config: &'a Config,
        image: &'a ImageRef,
        manifest_digest: &str,
    ) -> anyhow::Result<RegistryLayers<'a>> {
        let mut store = BlobStore::new(config, image, manifest_digest);
        let manifest_path = store.manifest(manifest_digest)?;
        let manifest: ManifestDoc = serde_json::from_slice(
            &fs::read(&manifest_path)
                .with_context(|| format!("reading {}", manifest_path.display()))?,
        )
        .context("parsing the image manifest")?;
        if manifest.manifests.is_some() {
            return Err(hinted(
                ErrorKind::Resolution,
                format!("{manifest_digest} is an image index, not an image manifest"),
                "pass the digest of one platform's manifest (the lock's per-platform digest)",
            ));
        }
        let config_descriptor = manifest
            .config
            .as_ref()
            .ok_or_else(|| anyhow!("the manifest has no `config`"))?;
        let config_path = store.blob(config_descriptor, "config")?;
        let image_config: ImageConfigDoc = serde_json::from_slice(
            &fs::read(&config_path)
                .with_context(|| format!("reading {}", config_path.display()))?,
        )
        .context("parsing the image config")?;
        let mut layers = manifest.layers;
        layers.reverse();
        Ok(RegistryLayers {
            store,
            layers,
            files: HashMap::new(),
            image_config,
        })
    }

    fn platform(&self) -> ImagePlatform {
        ImagePlatform {
            os: self.image_config.os.clone(),
            architecture: self.image_config.architecture.clone(),
            variant: self.image_config.variant.clone(),
        }
    }
}

impl LayerSource for RegistryLayers<'_> {
    fn count(&self) -> usize {
        self.layers.len()
    }

    fn open(&mut self, i: usize) -> anyhow::Result<Box<dyn Read + '_>> {
        let descriptor = &self.layers[i];
        // Refuses media types that are no layer; the bytes say how the
        // layer is compressed.
        Compression::for_media_type(&descriptor.media_type)?;
        let file = match self.files.get(&i) {
            Some(file) => file.clone(),
            None => self.store.blob(descriptor, "layer")?,
        };
        self.files.insert(i, file.clone());
        self.store.config.shell.verbose(
            "Scanning",
            format!(
                "layer {}/{} {}",
                i + 1,
                self.layers.len(),
                descriptor.digest
            ),
        );
        layer_reader(&file)
    }

    fn describe(&self, i: usize) -> String {
        format!("layer {}", self.layers[i].digest)
    }
}

/// Reads the `wanted` paths (as requested, normalized) through the layers
/// from the top, stopping once every path is decided. Also returns how
/// many layers were scanned.
fn read_files(
    source: &mut dyn LayerSource,
    wanted: &[(String, String)],
) -> anyhow::Result<(BTreeMap<String, Vec<u8>>, usize)> {
    let mut layers: Vec<LayerIndex> = Vec::new();
    for i in 0..source.count() {
        let view = Layers {
            layers: &layers,
            complete: false,
        };
        let mut paths: BTreeSet<String> = BTreeSet::new();
        for (_, path) in wanted {
            if let Outcome::Undecided { pending } = view.resolve(path)? {
                paths.insert(pending);
            }
        }
        if paths.is_empty() {
            break;
        }
        let mut capture = Capture::paths(paths, u64::MAX);
        layers.push(scan(source, i, &mut capture, true)?);
    }
    let scanned = layers.len();

    let view = Layers {
        layers: &layers,
        complete: scanned == source.count(),
    };
    let mut located: Vec<(String, usize, String)> = Vec::new();
    let mut missing: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for (requested, path) in wanted {
        match view.resolve(path)? {
            Outcome::File { layer, path } => {
                if !layers[layer].contents.contains_key(&path) {
                    missing.entry(layer).or_default().insert(path.clone());
                }
                located.push((requested.clone(), layer, path));
            }
            Outcome::Missing => {}
            Outcome::Undecided { .. } => unreachable!("every layer was read"),
        }
    }
    refetch(source, &mut layers, missing, u64::MAX)?;

    let mut files = BTreeMap::new();
    for (requested, layer, path) in located {
        let bytes = layers[layer]
            .contents
            .get(&path)
            .ok_or_else(|| anyhow!("`{path}` vanished from layer {layer} on a second read"))?;
        files.insert(requested, bytes.clone());
    }
    Ok((files, scanned))
}

/// Reads every layer, keeping the files `select` chooses (those over
/// [`MAX_CAPTURED`] are listed in each layer's `skipped`).
fn read_tree(
    source: &mut dyn LayerSource,
    select: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Vec<LayerIndex>> {
    let mut layers: Vec<LayerIndex> = Vec::with_capacity(source.count());
    for i in 0..source.count() {
        let mut capture = Capture::matching(select, MAX_CAPTURED);
        layers.push(scan(source, i, &mut capture, true)?);
    }
    // A selected link leads to a file the scan did not select, or to one
    // stored earlier in the tar than a hard link to it.
    let view = Layers {
        layers: &layers,
        complete: true,
    };
    let mut missing: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for layer in &layers {
        for (path, kind) in &layer.entries {
            if !matches!(kind, EntryKind::Symlink(_) | EntryKind::Hardlink(_))
                || !select(&format!("/{path}"))
            {
                continue;
            }
            if let Ok(Outcome::File { layer, path }) = view.resolve(path) {
                let held = &layers[layer];
                if !held.contents.contains_key(&path) && !held.skipped.contains_key(&path) {
                    missing.entry(layer).or_default().insert(path);
                }
            }
        }
    }
    refetch(source, &mut layers, missing, MAX_CAPTURED)?;
    Ok(layers)
}

/// Reads again the files a first pass did not keep: reached through a link
/// seen after them in the tar, or through a hard link.
fn refetch(
    source: &mut dyn LayerSource,
    layers: &mut [LayerIndex],
    missing: BTreeMap<usize, BTreeSet<String>>,
    max_size: u64,
) -> anyhow::Result<()> {
    for (layer, paths) in missing {
        let mut capture = Capture::paths(paths, max_size);
        let again = scan(source, layer, &mut capture, false)?;
        layers[layer].contents.extend(again.contents);
        layers[layer].skipped.extend(again.skipped);
    }
    Ok(())
}

fn scan(
    source: &mut dyn LayerSource,
    i: usize,
    capture: &mut Capture<'_>,
    index: bool,
) -> anyhow::Result<LayerIndex> {
    let what = source.describe(i);
    let reader = source.open(i)?;
    scan_tar(reader, capture, index).with_context(|| format!("reading {what}"))
}

/// Parsed `/etc/os-release` (os-release(5)).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OsRelease {
    /// `ID`, `linux` when absent as the spec says.
    pub id: String,
    pub version_id: Option<String>,
    /// `VERSION_CODENAME`, else `UBUNTU_CODENAME`.
    pub codename: Option<String>,
    pub id_like: Vec<String>,
    pub pretty_name: Option<String>,
}

/// Parses os-release text: `KEY=value` lines, values optionally in single
/// or double quotes with shell-style backslash escapes; comments and blank
/// lines ignored.
pub fn parse_os_release(text: &str) -> OsRelease {
    let mut values: HashMap<&str, String> = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        values.insert(key.trim(), unquote(value.trim()));
    }
    let nonempty = |key: &str| values.get(key).filter(|v| !v.is_empty()).cloned();
    OsRelease {
        id: nonempty("ID").unwrap_or_else(|| "linux".to_string()),
        version_id: nonempty("VERSION_ID"),
        codename: nonempty("VERSION_CODENAME").or_else(|| nonempty("UBUNTU_CODENAME")),
        id_like: values
            .get("ID_LIKE")
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        pretty_name: nonempty("PRETTY_NAME"),
    }
}

/// A shell-quoted value: `"..."` with `\"`, `\\`, `\$`, `` \` `` escapes,
/// `'...'` literal, or bare with backslash escapes.
fn unquote(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => match chars.next() {
                Some(next @ ('"' | '\\' | '$' | '`' | '\'')) => out.push(next),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            // A comment only where the shell would see one.
            (None, '#') if out.is_empty() || out.ends_with(char::is_whitespace) => break,
            (_, c) => out.push(c),
        }
    }
    out.trim_end().to_string()
}

// ---- the manifest and config documents -------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    config: Option<BlobDescriptor>,
    #[serde(default)]
    layers: Vec<BlobDescriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlobDescriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    size: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ImageConfigDoc {
    os: String,
    architecture: String,
    variant: Option<String>,
    /// What a container runs with; `null` in some images.
    #[serde(default)]
    config: Option<RunConfigDoc>,
}

#[derive(Debug, Deserialize)]
struct RunConfigDoc {
    #[serde(rename = "Env", default)]
    env: Option<Vec<String>>,
}

impl ImageConfigDoc {
    fn env(&self) -> Vec<String> {
        self.config
            .as_ref()
            .and_then(|c| c.env.clone())
            .unwrap_or_default()
    }
}

// ---- layers: what each one holds, and the merged view ------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
}

impl Compression {
    fn for_media_type(media_type: &str) -> anyhow::Result<Compression> {
        // Non-distributable variants compress the same way.
        let base = media_type.replace(".nondistributable", "");
        match base.as_str() {
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar" => Ok(Compression::None),
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Ok(Compression::Gzip),
            "application/vnd.oci.image.layer.v1.tar+zstd" => Err(hinted(
                ErrorKind::Resolution,
                "the image has a zstd-compressed layer, which mlr cannot read yet",
                "use an image with gzip layers, or set the distro in ml.toml",
            )),
            other => bail!("unsupported layer media type `{other}`"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum EntryKind {
    Dir,
    File,
    Symlink(String),
    /// A hard link to another path of the same layer (normalized).
    Hardlink(String),
    /// Devices, fifos: never file contents.
    Other,
}

/// One layer's entries (normalized paths without a leading `/`, sorted so
/// a directory's entries can be listed), its whiteouts, and the contents of
/// the files that were asked for.
#[derive(Debug, Default)]
struct LayerIndex {
    entries: BTreeMap<String, EntryKind>,
    /// Paths deleted (with everything under them) from lower layers.
    whiteouts: HashSet<String>,
    /// Directories whose lower-layer contents are hidden.
    opaque: HashSet<String>,
    contents: HashMap<String, Vec<u8>>,
    /// Files that were asked for but over the size limit, with their size.
    skipped: HashMap<String, u64>,
}

impl LayerIndex {
    fn add(&mut self, path: String, kind: EntryKind) {
        self.add_parents(&path);
        self.entries.insert(path, kind);
    }

    /// Parents a tar leaves implicit (also those of whiteout markers) are
    /// still directories of this layer.
    fn add_parents(&mut self, path: &str) {
        for parent in ancestors(path) {
            self.entries
                .entry(parent.to_string())
                .or_insert(EntryKind::Dir);
        }
    }

    /// Whether this layer hides `path` in the layers below it.
    fn hides(&self, path: &str) -> bool {
        if self.whiteouts.contains(path) {
            return true;
        }
        ancestors(path).any(|dir| {
            self.whiteouts.contains(dir)
                || self.opaque.contains(dir)
                || self
                    .entries
                    .get(dir)
                    .is_some_and(|kind| *kind != EntryKind::Dir)
        })
    }
}

/// The merged view of the layers read so far, top first. `complete` when
/// they are all of the image's layers, so a path in none of them is absent.
struct Layers<'a> {
    layers: &'a [LayerIndex],
    complete: bool,
}

enum Lookup<'a> {
    Found(usize, &'a EntryKind),
    Absent,
    Unknown,
}

/// Where a path leads in the merged view.
enum Walk<'a> {
    /// An entry: its canonical path (normalized) and the layer holding it.
    Found {
        layer: usize,
        path: String,
        kind: &'a EntryKind,
    },
    /// No such entry (absent, deleted, under a file, a dangling link).
    Missing,
    /// Decided by a lower layer: `pending` is the path being looked up.
    Undecided { pending: String },
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// A regular file, at `path` of layer `layer`.
    File { layer: usize, path: String },
    /// No such file (absent, a directory, deleted, a dangling link).
    Missing,
    /// Decided by a lower layer: `pending` is the path being looked up.
    Undecided { pending: String },
}

impl<'a> Layers<'a> {
    fn lookup(&self, path: &str) -> Lookup<'a> {
        for (i, layer) in self.layers.iter().enumerate() {
            if let Some(kind) = layer.entries.get(path) {
                return Lookup::Found(i, kind);
            }
            if layer.hides(path) {
                return Lookup::Absent;
            }
        }
        if self.complete {
            Lookup::Absent
        } else {
            Lookup::Unknown
        }
    }

    /// Follows `path` component by component through the merged layers,
    /// resolving symlinks against the image root (the last component's
    /// only when `follow_last`).
    fn walk(&self, path: &str, follow_last: bool) -> anyhow::Result<Walk<'a>> {
        static ROOT: EntryKind = EntryKind::Dir;
        let at_end = |todo: &[String]| todo.iter().all(|c| c.is_empty() || c == ".");
        // Components still to walk, next on top.
        let mut todo: Vec<String> = path.split('/').rev().map(str::to_string).collect();
        let mut at: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(name) = todo.pop() {
            match name.as_str() {
                "" | "." => continue,
                ".." => {
                    at.pop();
                    continue;
                }
                _ => {}
            }
            at.push(name);
            let here = at.join("/");
            match self.lookup(&here) {
                Lookup::Unknown => {
                    let rest: Vec<&str> = todo.iter().rev().map(String::as_str).collect();
                    let pending = if rest.is_empty() {
                        here
                    } else {
                        normalize_lexically(&format!("{here}/{}", rest.join("/")))
                    };
                    return Ok(Walk::Undecided { pending });
                }
                Lookup::Absent => return Ok(Walk::Missing),
                Lookup::Found(_, EntryKind::Dir) => {}
                Lookup::Found(layer, kind @ EntryKind::Symlink(target)) => {
                    if !follow_last && at_end(&todo) {
                        return Ok(Walk::Found {
                            layer,
                            path: here,
                            kind,
                        });
                    }
                    links += 1;
                    if links > MAX_SYMLINKS {
                        bail!("too many levels of symbolic links resolving /{path}");
                    }
                    at.pop();
                    if target.starts_with('/') {
                        at.clear();
                    }
                    todo.extend(target.split('/').rev().map(str::to_string));
                }
                // Nothing is under a file, a hard link or a device.
                Lookup::Found(layer, kind) => {
                    return Ok(if at_end(&todo) {
                        Walk::Found {
                            layer,
                            path: here,
                            kind,
                        }
                    } else {
                        Walk::Missing
                    });
                }
            }
        }
        // Every component was a directory.
        let here = at.join("/");
        Ok(match self.lookup(&here) {
            Lookup::Found(layer, kind) => Walk::Found {
                layer,
                path: here,
                kind,
            },
            _ => Walk::Found {
                layer: 0,
                path: here,
                kind: &ROOT,
            },
        })
    }

    /// Where the regular file `path` (normalized) is, if that is what it
    /// leads to.
    fn resolve(&self, path: &str) -> anyhow::Result<Outcome> {
        Ok(match self.walk(path, true)? {
            Walk::Found {
                layer,
                path,
                kind: EntryKind::File,
            } => Outcome::File { layer, path },
            Walk::Found {
                layer,
                kind: EntryKind::Hardlink(target),
                ..
            } if self.layers[layer].entries.get(target) == Some(&EntryKind::File) => {
                Outcome::File {
                    layer,
                    path: target.clone(),
                }
            }
            Walk::Found { .. } | Walk::Missing => Outcome::Missing,
            Walk::Undecided { pending } => Outcome::Undecided { pending },
        })
    }
}

/// The names directly in `dir` (normalized) among one layer's entries.
/// Each subtree is skipped in one step: `a/` sorts before `a0`.
fn children<'a>(entries: &'a BTreeMap<String, EntryKind>, dir: &str) -> Vec<&'a str> {
    use std::ops::Bound;
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut names = Vec::new();
    let mut from = Bound::Included(prefix.clone());
    while let Some((key, _)) = entries
        .range::<str, _>((from.as_ref().map(String::as_str), Bound::Unbounded))
        .next()
    {
        let Some(rest) = key.strip_prefix(&prefix) else {
            break;
        };
        match rest.split_once('/') {
            None => {
                names.push(rest);
                from = Bound::Excluded(key.clone());
            }
            Some((name, _)) => {
                names.push(name);
                from = Bound::Included(format!("{prefix}{name}0"));
            }
        }
    }
    names
}

/// Which regular files' contents a layer scan keeps.
struct Capture<'a> {
    /// These (normalized) paths. A symlink on the way to one adds the path
    /// it leads to, so `/etc/os-release -> ../usr/lib/os-release` is
    /// captured in the same pass when the target comes later in the tar.
    paths: BTreeSet<String>,
    /// Also the files this selects, by absolute path.
    select: Option<&'a dyn Fn(&str) -> bool>,
    /// Larger files are skipped.
    max_size: u64,
    /// How many paths links may add, against link cycles.
    limit: usize,
}

impl<'a> Capture<'a> {
    fn paths(paths: BTreeSet<String>, max_size: u64) -> Capture<'a> {
        Capture {
            limit: paths.len() * MAX_SYMLINKS + MAX_SYMLINKS,
            paths,
            select: None,
            max_size,
        }
    }

    fn matching(select: &'a dyn Fn(&str) -> bool, max_size: u64) -> Capture<'a> {
        Capture {
            paths: BTreeSet::new(),
            select: Some(select),
            max_size,
            limit: 0,
        }
    }

    fn wants(&self, path: &str) -> bool {
        self.paths.contains(path)
            || self
                .select
                .is_some_and(|select| select(&format!("/{path}")))
    }

    /// The symlink `path -> target` in directory `dir` leads captured paths
    /// under it to new ones.
    fn follow(&mut self, path: &str, dir: &str, target: &str) {
        if self.paths.len() >= self.limit {
            return;
        }
        let prefix = format!("{path}/");
        let through: Vec<String> = self
            .paths
            .iter()
            .filter(|w| **w == path || w.starts_with(&prefix))
            .map(|w| {
                let base = if target.starts_with('/') { "" } else { dir };
                normalize_lexically(&format!("{base}/{target}/{}", &w[path.len()..]))
            })
            .collect();
        self.paths.extend(through);
    }
}

/// A layer blob's tar stream. The compression is read from the blob's
/// first bytes, as engines do, not from the declared media type: docker
/// pushes a layer it pulled uncompressed by mounting that very blob under
/// a `tar.gzip` media type.
fn layer_reader(file: &Path) -> anyhow::Result<Box<dyn Read>> {
    use std::io::BufRead;
    let opened = File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut buffered = BufReader::with_capacity(1 << 20, opened);
    let head = buffered
        .fill_buf()
        .with_context(|| format!("reading {}", file.display()))?;
    let found = if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(hinted(
            ErrorKind::Resolution,
            "the image has a zstd-compressed layer, which mlr cannot read yet",
            "use an image with gzip layers, or set the distro in ml.toml",
        ));
    } else {
        Compression::None
    };
    Ok(match found {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
    })
}

/// Reads one layer tar: its index (when `index`) and the contents of the
/// regular files `capture` wants.
fn scan_tar(
    reader: impl Read,
    capture: &mut Capture<'_>,
    index: bool,
) -> anyhow::Result<LayerIndex> {
    let mut layer = LayerIndex::default();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().context("reading the layer tar")? {
        let mut entry = entry.context("reading the layer tar")?;
        let path = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
        if path.is_empty() {
            continue;
        }
        let (dir, base) = match path.rsplit_once('/') {
            Some((dir, base)) => (dir, base),
            None => ("", path.as_str()),
        };
        if let Some(hidden) = base.strip_prefix(".wh.") {
            if index {
                layer.add_parents(&path);
                if hidden == ".wh..opq" {
                    layer.opaque.insert(dir.to_string());
                } else if !hidden.starts_with(".wh.") {
                    layer.whiteouts.insert(join(dir, hidden));
                }
            }
            continue;
        }
        let link = || {
            entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default()
        };
        let kind = match entry.header().entry_type() {
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Symlink => EntryKind::Symlink(link()),
            tar::EntryType::Link => EntryKind::Hardlink(normalize(&link())),
            _ => EntryKind::Other,
        };
        match &kind {
            EntryKind::File if capture.wants(&path) => {
                let size = entry.size();
                if size > capture.max_size {
                    layer.skipped.insert(path.clone(), size);
                } else {
                    let mut bytes = Vec::with_capacity(size.min(1 << 24) as usize);
                    entry
                        .read_to_end(&mut bytes)
                        .with_context(|| format!("reading /{path} from the layer"))?;
                    layer.contents.insert(path.clone(), bytes);
                }
            }
            EntryKind::Symlink(target) => capture.follow(&path, dir, target),
            _ => {}
        }
        if index {
            layer.add(path, kind);
        }
    }
    Ok(layer)
}

/// `/./etc//os-release/` → `etc/os-release`; `..` is kept for the resolver.
fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Like [`normalize`], also folding `a/..`: only a guess of where a path
/// leads, for choosing what to capture; the resolver decides for real.
fn normalize_lexically(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// `a/b/c` → `a/b`, `a` (nearest first).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices()
        .rev()
        .filter(|&(_, c)| c == '/')
        .map(move |(i, _)| &path[..i])
}

// ---- blobs: verified downloads and the cache ---------------------------------

/// Content-addressed blobs of one repository, cached and verified.
struct BlobStore<'a> {
    config: &'a Config,
    /// The repository as named in the lock, for messages.
    canonical: &'a ImageRef,
    /// Where the bytes come from (a mirror, or the repository itself).
    source: ImageRef,
    dir: PathBuf,
    net: Option<Net>,
}

/// The registry connection, made on the first cache miss.
struct Net {
    runtime: tokio::runtime::Runtime,
    client: Client,
    auth: RegistryAuth,
    reference: Reference,
}

impl<'a> BlobStore<'a> {
    fn new(config: &'a Config, canonical: &'a ImageRef, manifest_digest: &str) -> Self {
        let (registry, repository) = config
            .mirrors
            .registry(&canonical.registry, &canonical.repository);
        let source = ImageRef {
            registry,
            repository,
            tag: None,
            digest: Some(manifest_digest.to_string()),
        };
        let dir = config.cache_dir.join("blobs").join("sha256");
        BlobStore {
            config,
            canonical,
            source,
            dir,
            net: None,
        }
    }

    fn net(&mut self) -> anyhow::Result<&mut Net> {
        if self.config.offline {
            return Err(hinted(
                ErrorKind::Usage,
                format!(
                    "image {} is not in the cache and --offline forbids downloading it",
                    self.canonical.name()
                ),
                "run once without --offline",
            ));
        }
        if self.net.is_none() {
            // `main` installs it; library callers (tests, other tools) may not.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let runtime = runtime()?;
            let client = client_for(&self.source, &self.config.net);
            let auth = registry_auth(&self.source.registry)?;
            let reference = Reference::with_digest(
                self.source.registry.clone(),
                self.source.repository.clone(),
                self.source.digest.clone().unwrap_or_default(),
            );
            runtime.block_on(client.store_auth_if_needed(reference.resolve_registry(), &auth));
            self.net = Some(Net {
                runtime,
                client,
                auth,
                reference,
            });
        }
        Ok(self.net.as_mut().expect("just set"))
    }

    /// The verified manifest `digest`, fetched from `/manifests/`.
    fn manifest(&mut self, digest: &str) -> anyhow::Result<PathBuf> {
        let hex = sha256_hex(digest)?;
        if let Some(path) = self.cached(hex)? {
            return Ok(path);
        }
        self.config.shell.verbose(
            "Fetching",
            format!("manifest {digest} of {}", self.canonical.name()),
        );
        let what = registry_get(&self.source, &format!("manifests/{digest}"));
        self.download_to(&what, hex, None, "manifest", |net, mut writer| async move {
            let pulled = net
                .client
                .pull_manifest_raw(
                    &net.reference,
                    &net.auth,
                    &[OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST],
                )
                .await;
            let written = match pulled {
                Ok((bytes, _)) => writer.write_all(&bytes).map_err(Into::into),
                Err(e) => Err(e),
            };
            (writer, written)
        })
        .context("fetching the image manifest")
    }

    /// The verified blob of `descriptor`, from the cache or the registry.
    fn blob(&mut self, descriptor: &BlobDescriptor, what: &str) -> anyhow::Result<PathBuf> {
        let hex = sha256_hex(&descriptor.digest)?;
        if let Some(path) = self.cached(hex)? {
            return Ok(path);
        }
        let size = descriptor
            .size
            .map(|s| format!(" ({:.1} MB)", s as f64 / 1e6))
            .unwrap_or_default();
        self.config.shell.verbose(
            "Downloading",
            format!(
                "{what} {} of {}{size}",
                descriptor.digest,
                self.canonical.name()
            ),
        );
        let get = registry_get(&self.source, &format!("blobs/{}", descriptor.digest));
        let digest = descriptor.digest.as_str();
        self.download_to(
            &get,
            hex,
            descriptor.size,
            what,
            |net, mut writer| async move {
                let pulled = net
                    .client
                    .pull_blob(&net.reference, digest, &mut writer)
                    .await;
                (writer, pulled)
            },
        )
        .with_context(|| format!("downloading {what} {digest}"))
    }

    /// Run `fetch` into a fresh temporary file until its bytes hash to
    /// `hex` (a stalled, cut or mangled download is an attempt that failed,
    /// retried as [`retrying`] decides), then move it into the cache.
    /// Nothing but verified bytes ever reaches the cache.
    fn download_to<'n, F, Fut>(
        &'n mut self,
        get: &str,
        hex: &str,
        size: Option<u64>,
        what: &str,
        fetch: F,
    ) -> anyhow::Result<PathBuf>
    where
        F: Fn(&'n Net, HashingWriter) -> Fut,
        Fut: std::future::Future<
                Output = (
                    HashingWriter,
                    Result<(), oci_client::errors::OciDistributionError>,
                ),
            >,
    {
        let settings = self.config.net;
        let dir = self.dir.clone();
        let canonical = self.canonical;
        let net: &'n Net = self.net()?;
        let file = net.runtime.block_on(retrying(&settings, get, || async {
            let writer = writer_in(&dir, hex).map_err(Attempt::Fatal)?;
            let (writer, filled) = fetch(net, writer).await;
            filled.map_err(|e| registry_attempt(e, canonical, &settings))?;
            verified(writer, hex, size, what).map_err(Attempt::retry)
        }))?;
        file.commit()?;
        Ok(dir.join(hex))
    }

    /// The cached blob if its bytes still hash to `hex`; a mismatching one
    /// is removed (and will be downloaded again).
    fn cached(&self, hex: &str) -> anyhow::Result<Option<PathBuf>> {
        let path = self.dir.join(hex);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
        };
        let actual = hash_reader(file).with_context(|| format!("reading {}", path.display()))?;
        if actual == hex {
            return Ok(Some(path));
        }
        self.config.shell.warn(format!(
            "cached blob sha256:{hex} hashes to sha256:{actual}; discarding it ({})",
            path.display()
        ));
        fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        Ok(None)
    }
}

/// A fresh temporary file beside the cache entry `dir/hex`, hashed as
/// written.
fn writer_in(dir: &Path, hex: &str) -> anyhow::Result<HashingWriter> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = crate::atomic_file::AtomicFile::create(&dir.join(hex))?;
    Ok(HashingWriter {
        file,
        hasher: Sha256::new(),
        size: 0,
    })
}

/// The finished download if it hashes to `hex` (and has `size` bytes).
fn verified(
    mut writer: HashingWriter,
    hex: &str,
    size: Option<u64>,
    what: &str,
) -> anyhow::Result<crate::atomic_file::AtomicFile> {
    writer.file.flush()?;
    let actual = hex::encode(writer.hasher.finalize());
    if actual != hex {
        bail!("the registry's {what} sha256:{hex} hashes to sha256:{actual}; refusing to use it");
    }
    if let Some(size) = size {
        if size != writer.size {
            bail!(
                "the {what} sha256:{hex} is {} bytes, not {size}",
                writer.size
            );
        }
    }
    Ok(writer.file)
}

/// The `<hex>` of `sha256:<hex>`; other algorithms are refused.
fn sha256_hex(digest: &str) -> anyhow::Result<&str> {
    match digest.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(hex)
        }
        _ => bail!("`{digest}` is not a sha256 digest"),
    }
}

fn hash_reader(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(hex::encode(hasher.finalize())),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A temporary cache file that hashes what is written to it. Writes block:
/// the runtime is current-thread and has nothing else to do meanwhile.
struct HashingWriter {
    file: crate::atomic_file::AtomicFile,
    hasher: Sha256,
    size: u64,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl tokio::io::AsyncWrite for HashingWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.get_mut().write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.get_mut().flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Layers built in memory, for this module's tests and the modules that
/// read an [`ImageTree`].
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A tar built in memory with the `tar` crate.
    pub(crate) struct TarBuilder {
        builder: tar::Builder<Vec<u8>>,
    }

    impl Default for TarBuilder {
        fn default() -> Self {
            TarBuilder {
                builder: tar::Builder::new(Vec::new()),
            }
        }
    }

    impl TarBuilder {
        fn header(kind: tar::EntryType, size: u64) -> tar::Header {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_size(size);
            header.set_mode(if kind == tar::EntryType::Directory {
                0o755
            } else {
                0o644
            });
            header.set_mtime(0);
            header
        }

        fn dir(mut self, path: &str) -> Self {
            let mut header = Self::header(tar::EntryType::Directory, 0);
            self.builder
                .append_data(&mut header, path, io::empty())
                .unwrap();
            self
        }

        fn file(mut self, path: &str, data: &str) -> Self {
            let mut header = Self::header(tar::EntryType::Regular, data.len() as u64);
            self.builder
                .append_data(&mut header, path, data.as_bytes())
                .unwrap();
            self
        }

        fn link(mut self, kind: tar::EntryType, path: &str, target: &str) -> Self {
            let mut header = Self::header(kind, 0);
            self.builder.append_link(&mut header, path, target).unwrap();
            self
        }

        fn symlink(self, path: &str, target: &str) -> Self {
            self.link(tar::EntryType::Symlink, path, target)
        }

        fn hardlink(self, path: &str, target: &str) -> Self {
            self.link(tar::EntryType::Link, path, target)
        }

        fn finish(self) -> Vec<u8> {
            self.builder.into_inner().unwrap()
        }
    }

    /// A layer of `entries`, written as `tar -tv` lists them: `path: contents`
    /// for a file (`path` alone for an empty one, such as the whiteouts
    /// `etc/.wh.gone` and `etc/apt/.wh..wh..opq`), `path/` for a directory,
    /// `path -> target` for a symlink and `path link to target` for a hard link.
    pub(crate) fn layer(entries: &[&str]) -> Vec<u8> {
        let mut tar = TarBuilder::default();
        for entry in entries {
            tar = if let Some((path, target)) = entry.split_once(" -> ") {
                tar.symlink(path, target)
            } else if let Some((path, target)) = entry.split_once(" link to ") {
                tar.hardlink(path, target)
            } else if entry.ends_with('/') {
                tar.dir(entry)
            } else {
                let (path, contents) = entry.split_once(": ").unwrap_or((entry, ""));
                tar.file(path, contents)
            };
        }
        tar.finish()
    }

    /// Layer tars held in memory, top first.
    pub(crate) struct MemoryLayers(pub Vec<Vec<u8>>);

    impl MemoryLayers {
        /// From layers written bottom first, as an image lists them.
        pub(crate) fn bottom_first(layers: &[Vec<u8>]) -> MemoryLayers {
            MemoryLayers(layers.iter().rev().cloned().collect())
        }
    }

    impl LayerSource for MemoryLayers {
        fn count(&self) -> usize {
            self.0.len()
        }

        fn open(&mut self, i: usize) -> anyhow::Result<Box<dyn Read + '_>> {
            Ok(Box::new(&self.0[i][..]))
        }

        fn describe(&self, i: usize) -> String {
            format!("layer {i}")
        }
    }

    impl ImageTree {
        /// The tree of `layers` (bottom first, as [`layer`] writes them)
        /// with config `env`, read as [`read_image_tree`] reads an image.
        pub(crate) fn from_layers(
            layers: &[Vec<u8>],
            env: &[&str],
            capture: &dyn Fn(&str) -> bool,
        ) -> ImageTree {
            let mut source = MemoryLayers::bottom_first(layers);
            let layers = read_tree(&mut source, capture).expect("in-memory layers read");
            ImageTree {
                layers,
                env: env.iter().map(|e| e.to_string()).collect(),
                platform: ImagePlatform {
                    os: "linux".into(),
                    architecture: "amd64".into(),
                    variant: None,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{MemoryLayers, layer};
    use super::*;

    /// Reads `paths` from in-memory layers (bottom first) as `read` does;
    /// also returns how many layers (from the top) were scanned.
    fn read_layers_counted(
        layers: &[Vec<u8>],
        paths: &[&str],
    ) -> (BTreeMap<String, String>, usize) {
        let wanted: Vec<(String, String)> = paths
            .iter()
            .map(|p| (p.to_string(), normalize(p)))
            .collect();
        let (files, scanned) =
            read_files(&mut MemoryLayers::bottom_first(layers), &wanted).unwrap();
        let files = files
            .into_iter()
            .map(|(path, bytes)| (path, String::from_utf8(bytes).unwrap()))
            .collect();
        (files, scanned)
    }

    /// Cases of reading files through layers, one a string: a first line
    /// saying what the case shows, then `layer` lines (bottom first, entries
    /// as [`layer`] writes them, separated by `, `), the paths `read`, what
    /// is `found` (`path: contents`; no such line when nothing is), and,
    /// where the case is about the walk, how many layers from the top are
    /// `scanned`. `\n` in contents stands for a newline.
    const READS: &[&str] = &[
        r"directories and absent paths are skipped
          layer ./etc/, ./etc/hostname: box\n, var/lib/dpkg/status: Package: libc6\n
          read /etc/hostname, /var/lib/dpkg/status, /etc, /nope
          found /etc/hostname: box\n, /var/lib/dpkg/status: Package: libc6\n",
        r"an upper layer shadows a lower one, which is then not scanned
          layer etc/a: lower a\n, etc/b: lower b\n
          layer etc/a: upper a\n
          read /etc/a
          found /etc/a: upper a\n
          scanned 1",
        r"the walk goes down to the lower layer for what the upper one lacks
          layer etc/a: lower a\n, etc/b: lower b\n
          layer etc/a: upper a\n
          read /etc/a, /etc/b
          found /etc/a: upper a\n, /etc/b: lower b\n
          scanned 2",
        r"whiteouts delete lower files and directories
          layer etc/gone: x, etc/kept: kept, opt/tool/bin: tool
          layer etc/.wh.gone, opt/.wh.tool
          read /etc/gone, /etc/kept, /opt/tool/bin
          found /etc/kept: kept
          scanned 2",
        r"a whiteout alone decides without reading lower layers
          layer etc/gone: x
          layer etc/.wh.gone
          read /etc/gone
          scanned 1",
        r"a file recreated above its whiteout is found
          layer etc/conf: v1
          layer etc/.wh.conf
          layer etc/conf: v3
          read /etc/conf
          found /etc/conf: v3",
        r"opaque directories hide lower contents but keep their own
          layer etc/apt/sources.list: old, etc/apt/sources.list.d/x.list: x, etc/other: other
          layer etc/apt/, etc/apt/.wh..wh..opq, etc/apt/sources.list.d/new.sources: new
          read /etc/apt/sources.list, /etc/apt/sources.list.d/x.list, /etc/apt/sources.list.d/new.sources, /etc/other
          found /etc/apt/sources.list.d/new.sources: new, /etc/other: other",
        r"an upper file replacing a directory hides what was below
          layer opt/thing/file: x
          layer opt/thing: now a file
          read /opt/thing/file, /opt/thing
          found /opt/thing: now a file",
        r"relative symlinks resolve within the image (Debian's link sorts before its target)
          layer etc/os-release -> ../usr/lib/os-release, usr/lib/os-release: ID=debian\n
          read /etc/os-release
          found /etc/os-release: ID=debian\n
          scanned 1",
        r"symlink targets in other layers and absolute targets
          layer usr/lib/os-release: ID=ubuntu\n
          layer etc/os-release -> /usr/lib/os-release
          read /etc/os-release
          found /etc/os-release: ID=ubuntu\n",
        r"directory symlinks (merged /usr), the file earlier in the tar than the link
          layer usr/lib/x86_64-linux-gnu/libc.so.6: ELF, lib -> usr/lib, usr/lib/x86_64-linux-gnu/libc.so -> libc.so.6
          read /lib/x86_64-linux-gnu/libc.so.6, /lib/x86_64-linux-gnu/libc.so
          found /lib/x86_64-linux-gnu/libc.so.6: ELF, /lib/x86_64-linux-gnu/libc.so: ELF",
        r"`..` cannot escape the root
          layer etc/real: inside, etc/escape -> ../../../../etc/real
          read /etc/escape
          found /etc/escape: inside",
        r"a symlink shadowed by an upper file is not followed
          layer usr/lib/os-release: lower, etc/os-release -> ../usr/lib/os-release
          layer etc/os-release: upper
          read /etc/os-release
          found /etc/os-release: upper",
        r"hard links read their target
          layer usr/bin/perl5.36.0: perl, usr/bin/perl link to ./usr/bin/perl5.36.0
          read /usr/bin/perl
          found /usr/bin/perl: perl",
        r"files under a regular file do not exist
          layer etc/passwd: root
          read /etc/passwd/x",
        r"a dangling symlink is absent
          layer a -> b, b -> a, dangling -> /nowhere
          read /dangling",
    ];

    /// One of [`READS`], parsed.
    struct ReadCase {
        what: String,
        layers: Vec<Vec<u8>>,
        read: Vec<String>,
        found: BTreeMap<String, String>,
        scanned: Option<usize>,
    }

    impl ReadCase {
        fn parse(case: &str) -> ReadCase {
            let mut lines = case.lines().map(str::trim);
            let mut out = ReadCase {
                what: lines.next().unwrap_or_default().to_string(),
                layers: Vec::new(),
                read: Vec::new(),
                found: BTreeMap::new(),
                scanned: None,
            };
            for line in lines {
                let line = line.replace(r"\n", "\n");
                let (key, list) = line.split_once(' ').unwrap_or((&line, ""));
                let items = list.split(", ");
                match key {
                    "layer" => out.layers.push(layer(&items.collect::<Vec<_>>())),
                    "read" => out.read = items.map(str::to_string).collect(),
                    "found" => {
                        out.found = items
                            .map(|item| item.split_once(": ").unwrap_or((item, "")))
                            .map(|(path, contents)| (path.to_string(), contents.to_string()))
                            .collect()
                    }
                    "scanned" => out.scanned = Some(list.parse().unwrap()),
                    _ => panic!("{}: `{key}` is not a case line", out.what),
                }
            }
            out
        }
    }

    #[test]
    fn layers_read_as_the_container_sees_them() {
        for case in READS.iter().map(|c| ReadCase::parse(c)) {
            let read: Vec<&str> = case.read.iter().map(String::as_str).collect();
            let (got, scanned) = read_layers_counted(&case.layers, &read);
            assert_eq!(got, case.found, "{}", case.what);
            if let Some(expected) = case.scanned {
                assert_eq!(scanned, expected, "{}", case.what);
            }
        }
    }

    fn tree(layers: &[&[&str]], capture: &dyn Fn(&str) -> bool) -> ImageTree {
        let tars: Vec<Vec<u8>> = layers.iter().map(|entries| layer(entries)).collect();
        ImageTree::from_layers(&tars, &["PATH=/usr/bin:/bin"], capture)
    }

    #[test]
    fn tree_listings_merge_layers() {
        let tree = tree(
            &[
                &[
                    "etc/a: a",
                    "etc/b: b",
                    "etc/apt/x.list: x",
                    "etc/apt/y.list: y",
                    "opt/tool/bin: tool",
                    "opt/thing: a file",
                    "opt/d/x: x",
                    "usr/lib/libc.so.6: ELF",
                    "usr/lib/a.b/c: c",
                    "lib -> usr/lib",
                ],
                &[
                    "etc/.wh.b",
                    "etc/c: c",
                    "etc/apt/",
                    "etc/apt/.wh..wh..opq",
                    "etc/apt/z.list: z",
                    "opt/.wh.tool",
                    "opt/thing/new: now a directory",
                    "opt/d: now a file",
                ],
            ],
            &|_| false,
        );
        let list = |dir: &str| tree.list(dir);
        assert_eq!(list("/"), ["etc", "lib", "opt", "usr"]);
        assert_eq!(list("/etc"), ["a", "apt", "c"]);
        assert_eq!(list("/etc/apt"), ["z.list"]);
        assert_eq!(list("/opt"), ["d", "thing"]);
        assert_eq!(list("/opt/thing"), ["new"]);
        assert!(list("/opt/d").is_empty(), "a file lists nothing");
        assert!(list("/opt/tool").is_empty(), "deleted");
        assert_eq!(list("/lib"), ["a.b", "libc.so.6"], "through a symlink");
        assert_eq!(list("/usr/lib/"), list("/lib/."));
        assert!(list("/nowhere").is_empty());
    }

    #[test]
    fn tree_kinds_and_links() {
        let tree = tree(
            &[&[
                "bin -> usr/bin",
                "usr/bin/python3 -> python3.11",
                "usr/bin/python3.11: ELF",
                "usr/bin/perl5.36.0: perl",
                "usr/bin/perl link to ./usr/bin/perl5.36.0",
                "usr/bin/loop -> loop",
                "usr/bin/dangling -> /nowhere",
                "etc/",
            ]],
            &|_| false,
        );
        assert_eq!(tree.kind("/bin/python3"), Some(TreeKind::File));
        assert_eq!(tree.kind_no_follow("/bin/python3"), Some(TreeKind::Symlink));
        assert_eq!(tree.kind_no_follow("/bin"), Some(TreeKind::Symlink));
        assert_eq!(tree.kind("/bin"), Some(TreeKind::Dir));
        assert_eq!(tree.kind("/"), Some(TreeKind::Dir));
        assert_eq!(tree.kind("/etc"), Some(TreeKind::Dir));
        assert_eq!(tree.kind("/usr/bin/perl"), Some(TreeKind::File));
        assert_eq!(tree.read_link("/bin/python3"), Some("python3.11"));
        assert_eq!(tree.read_link("/usr/bin/python3.11"), None);
        assert_eq!(
            tree.resolve("/bin/python3").as_deref(),
            Some("/usr/bin/python3.11")
        );
        // `..` is physical, as in the kernel: the parent of /usr/bin.
        assert_eq!(tree.resolve("/bin/..").as_deref(), Some("/usr"));
        assert_eq!(tree.resolve("/bin/../etc"), None);
        assert_eq!(tree.resolve("/").as_deref(), Some("/"));
        assert_eq!(
            tree.resolve("/usr/bin/perl").as_deref(),
            Some("/usr/bin/perl")
        );
        for missing in [
            "/usr/bin/loop",
            "/usr/bin/dangling",
            "/usr/bin/python3.11/x",
            "/nope",
        ] {
            assert_eq!(tree.kind(missing), None, "{missing}");
            assert_eq!(tree.resolve(missing), None, "{missing}");
        }
        assert_eq!(
            tree.kind_no_follow("/usr/bin/dangling"),
            Some(TreeKind::Symlink)
        );
        assert_eq!(tree.env(), ["PATH=/usr/bin:/bin"]);
    }

    #[test]
    fn tree_keeps_selected_files() {
        let big = format!("usr/big: {}", "x".repeat(MAX_CAPTURED as usize + 1));
        let select = |path: &str| path.starts_with("/etc/") || path.starts_with("/usr/big");
        let tree = tree(
            &[
                &[
                    "etc/gone: lower",
                    "etc/shadowed: lower",
                    "usr/lib/os-release: ID=debian",
                    "usr/share/perl: perl",
                ],
                &[
                    "etc/.wh.gone",
                    "etc/shadowed: upper",
                    "etc/os-release -> ../usr/lib/os-release",
                    "etc/perl link to usr/share/perl",
                    "usr/share/perl: perl",
                    &big,
                ],
            ],
            &select,
        );
        assert_eq!(tree.read("/etc/shadowed"), Some(&b"upper"[..]));
        assert_eq!(tree.read("/etc/gone"), None);
        // The links are selected, the files they lead to are not.
        assert_eq!(tree.text("/etc/os-release").as_deref(), Some("ID=debian"));
        assert_eq!(tree.read("/etc/perl"), Some(&b"perl"[..]));
        assert_eq!(tree.read("/usr/share/perl"), Some(&b"perl"[..]));
        assert_eq!(tree.read("/usr/big"), None, "over the limit");
        assert_eq!(tree.kind("/usr/big"), Some(TreeKind::File));
    }

    #[test]
    fn symlink_loops_are_errors() {
        let layer = layer(&["a -> b", "b -> a", "dangling -> /nowhere"]);
        let mut capture = Capture::paths(BTreeSet::from(["a".to_string()]), u64::MAX);
        let index = scan_tar(&layer[..], &mut capture, true).unwrap();
        let view = Layers {
            layers: std::slice::from_ref(&index),
            complete: true,
        };
        let err = view.resolve("a").unwrap_err();
        assert!(err.to_string().contains("too many levels"), "{err}");
    }

    #[test]
    fn layer_media_types() {
        use Compression::*;
        let cases = [
            ("application/vnd.oci.image.layer.v1.tar", None),
            ("application/vnd.oci.image.layer.v1.tar+gzip", Gzip),
            ("application/vnd.docker.image.rootfs.diff.tar.gzip", Gzip),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                Gzip,
            ),
        ];
        for (media_type, want) in cases {
            assert_eq!(Compression::for_media_type(media_type).unwrap(), want);
        }
        let err =
            Compression::for_media_type("application/vnd.oci.image.layer.v1.tar+zstd").unwrap_err();
        assert!(err.to_string().contains("zstd"), "{err}");
        assert!(Compression::for_media_type("text/plain").is_err());
    }

    #[test]
    fn gzip_layers_are_read() {
        let tar = layer(&["etc/x: gz"]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer");
        fs::write(&path, gz).unwrap();
        let mut capture = Capture::paths(BTreeSet::from(["etc/x".to_string()]), u64::MAX);
        let reader = layer_reader(&path).unwrap();
        let index = scan_tar(reader, &mut capture, true).unwrap();
        assert_eq!(index.contents["etc/x"], b"gz");
    }

    #[test]
    fn a_layer_is_read_as_its_bytes_say_whatever_its_media_type() {
        // docker mounts a blob it pulled uncompressed under a gzip media type.
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::write(&plain, layer(&["etc/x: plain"])).unwrap();
        let mut capture = Capture::paths(BTreeSet::from(["etc/x".to_string()]), u64::MAX);
        let reader = layer_reader(&plain).unwrap();
        let index = scan_tar(reader, &mut capture, true).unwrap();
        assert_eq!(index.contents["etc/x"], b"plain");

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&layer(&["etc/x: gz"])).unwrap();
        let packed = dir.path().join("packed");
        fs::write(&packed, gz.finish().unwrap()).unwrap();
        let mut capture = Capture::paths(BTreeSet::from(["etc/x".to_string()]), u64::MAX);
        let reader = layer_reader(&packed).unwrap();
        let index = scan_tar(reader, &mut capture, true).unwrap();
        assert_eq!(index.contents["etc/x"], b"gz");

        let zstd = dir.path().join("zstd");
        fs::write(&zstd, [0x28, 0xb5, 0x2f, 0xfd, 0, 0]).unwrap();
        let err = layer_reader(&zstd).err().unwrap();
        assert!(err.to_string().contains("zstd"), "{err}");
    }

    #[test]
    fn os_release_debian() {
        let text = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"#;
        assert_eq!(
            parse_os_release(text),
            OsRelease {
                id: "debian".into(),
                version_id: Some("12".into()),
                codename: Some("bookworm".into()),
                id_like: vec![],
                pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            }
        );
    }

    #[test]
    fn os_release_ubuntu_with_id_like_and_ubuntu_codename() {
        let text = "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n\
                    UBUNTU_CODENAME=jammy\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n";
        let os = parse_os_release(text);
        assert_eq!(os.id, "ubuntu");
        assert_eq!(os.version_id.as_deref(), Some("22.04"));
        assert_eq!(os.codename.as_deref(), Some("jammy"));
        assert_eq!(os.id_like, vec!["debian"]);
    }

    #[test]
    fn os_release_quoting_rules() {
        let text = "# a comment\n\n\
                    ID='rhel'\n\
                    ID_LIKE=\"fedora  centos\"\n\
                    PRETTY_NAME=\"Say \\\"hi\\\" \\$HOME \\\\ ok\"\n\
                    VERSION_ID=9.4 # trailing comment\n\
                    VERSION_CODENAME=\n\
                    garbage line\n";
        let os = parse_os_release(text);
        assert_eq!(os.id, "rhel");
        assert_eq!(os.id_like, vec!["fedora", "centos"]);
        assert_eq!(os.pretty_name.as_deref(), Some("Say \"hi\" $HOME \\ ok"));
        assert_eq!(os.version_id.as_deref(), Some("9.4"));
        assert_eq!(os.codename, None);
        assert_eq!(parse_os_release("").id, "linux");
    }

    #[test]
    fn digests_must_be_sha256() {
        assert!(sha256_hex(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(sha256_hex(&format!("sha512:{}", "a".repeat(128))).is_err());
        assert!(sha256_hex("sha256:../../etc/passwd").is_err());
        assert!(sha256_hex(&format!("sha256:{}", "A".repeat(64))).is_err());
    }
}
