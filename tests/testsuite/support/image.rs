//! Deterministic OCI images built in memory: a busybox root filesystem for
//! the host platform (runnable by the engine) or a one-file layer for any
//! other platform, a real root filesystem directory (the Debian base), or
//! layers a test writes itself ([`Layer`]), with their config, manifest and
//! index blobs.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;
use sha2::{Digest, Sha256};

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub(crate) const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";

/// Where the marker of `push_image_with` lands in the layer.
pub(crate) const MARKER_PATH: &str = "etc/mlr-marker";

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Content-addressed bytes with their media type.
pub(crate) struct Blob {
    pub media_type: &'static str,
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl Blob {
    fn new(media_type: &'static str, bytes: Vec<u8>) -> Blob {
        Blob {
            media_type,
            digest: sha256_digest(&bytes),
            bytes,
        }
    }

    fn descriptor(&self) -> serde_json::Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len() })
    }
}

/// `os/architecture[/variant]`, as in `--platform`.
#[derive(Clone, Debug)]
pub(crate) struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn parse(platform: &str) -> Platform {
        let mut parts = platform.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(os), Some(arch), variant, None) if !os.is_empty() && !arch.is_empty() => {
                Platform {
                    os: os.to_owned(),
                    architecture: arch.to_owned(),
                    variant: variant.map(str::to_owned),
                }
            }
            _ => panic!("platform {platform:?} is not os/arch[/variant]"),
        }
    }

    /// Whether this machine's engine can run images of this platform.
    pub fn is_host(&self) -> bool {
        let host = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        self.os == "linux" && self.architecture == host
    }

    fn json(&self) -> serde_json::Value {
        let mut value = json!({ "os": self.os, "architecture": self.architecture });
        if let Some(variant) = &self.variant {
            value["variant"] = json!(variant);
        }
        value
    }
}

/// A single-platform image: what must be uploaded, in order.
pub(crate) struct Image {
    /// Bottom layer first.
    pub layers: Vec<Blob>,
    pub config: Blob,
    pub manifest: Blob,
}

/// A layer as the registry stores it, and the digest of its uncompressed
/// tar (the config's diff ID).
struct LayerBlob {
    blob: Blob,
    diff_id: String,
}

impl LayerBlob {
    fn tar(tar: Vec<u8>) -> LayerBlob {
        let blob = Blob::new(OCI_LAYER_TAR, tar);
        LayerBlob {
            diff_id: blob.digest.clone(),
            blob,
        }
    }

    fn gzip(tar: &[u8]) -> LayerBlob {
        // Level and header are fixed, so equal tars give equal blobs.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(tar).expect("gzip a layer");
        LayerBlob {
            blob: Blob::new(OCI_LAYER_TAR_GZIP, encoder.finish().expect("gzip a layer")),
            diff_id: sha256_digest(tar),
        }
    }
}

/// A layer a test writes entry by entry, e.g. to put whiteouts over a lower
/// layer. Parent directories are added as `0755`; names sort in the tar.
#[derive(Clone, Default)]
pub struct Layer {
    tree: Tree,
    gzip: bool,
}

impl Layer {
    pub fn new() -> Layer {
        Layer::default()
    }

    /// A regular file (`0644`) at `path` (relative, e.g. `etc/hostname`).
    pub fn file(mut self, path: &str, contents: &str) -> Layer {
        self.tree.file(path, 0o644, contents.as_bytes().to_vec());
        self
    }

    pub fn dir(mut self, path: &str) -> Layer {
        self.tree.parents(path);
        self.tree.dir(path, 0o755);
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Layer {
        self.tree.symlink(path, target);
        self
    }

    /// `dir/.wh.name`: deletes `path` of the layers below.
    pub fn whiteout(self, path: &str) -> Layer {
        let marker = match path.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/.wh.{name}"),
            None => format!(".wh.{path}"),
        };
        self.file(&marker, "")
    }

    /// `dir/.wh..wh..opq`: hides everything the layers below have in `dir`.
    pub fn opaque(self, dir: &str) -> Layer {
        self.dir(dir).file(&format!("{dir}/.wh..wh..opq"), "")
    }

    /// Store the layer as `tar+gzip` instead of a plain tar.
    pub fn gzip(mut self) -> Layer {
        self.gzip = true;
        self
    }

    fn blob(&self) -> LayerBlob {
        let tar = self.tree.to_tar();
        if self.gzip {
            LayerBlob::gzip(&tar)
        } else {
            LayerBlob::tar(tar)
        }
    }
}

/// An image of `layers` (bottom first) for `platform`.
pub(crate) fn layered_image(platform: &Platform, layers: &[Layer]) -> Image {
    layered_image_with_env(platform, layers, &[PATH_ENV])
}

/// [`layered_image`] whose config sets `env` (`KEY=value` entries).
pub(crate) fn layered_image_with_env(platform: &Platform, layers: &[Layer], env: &[&str]) -> Image {
    assemble_with_env(platform, layers.iter().map(Layer::blob).collect(), env)
}

/// A single-layer image of the directory `rootfs`, as the system `tar`
/// writes it: numeric owners, modes, symlinks and hard links kept, names
/// sorted, mtimes 0. Device nodes, downloaded `.deb`s and apt lists are left
/// out, as in Docker's official Debian images. The tar is built once per
/// directory and platform in a test binary.
pub(crate) fn rootfs_image(rootfs: &Path, platform: &Platform) -> Arc<Image> {
    type Cache = Mutex<HashMap<(PathBuf, String), Arc<Image>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (rootfs.to_path_buf(), format!("{platform:?}"));
    let cache = CACHE.get_or_init(Cache::default);
    // Held while building, so parallel tests build the 200 MB tar once.
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(key)
        .or_insert_with(|| {
            let tar = rootfs_tar(rootfs);
            Arc::new(assemble(platform, vec![LayerBlob::tar(tar)]))
        })
        .clone()
}

/// The rootfs of [`rootfs_image`] with `extra` layers on top (for example
/// apt sources pointing at a local archive).
pub(crate) fn rootfs_image_with(rootfs: &Path, platform: &Platform, extra: &[Layer]) -> Image {
    let tar = cached_rootfs_tar(rootfs);
    let mut layers = vec![LayerBlob::tar(tar)];
    layers.extend(extra.iter().map(Layer::blob));
    assemble(platform, layers)
}

fn cached_rootfs_tar(rootfs: &Path) -> Vec<u8> {
    type Cache = Mutex<HashMap<PathBuf, Vec<u8>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(rootfs.to_path_buf())
        .or_insert_with(|| rootfs_tar(rootfs))
        .clone()
}

fn rootfs_tar(rootfs: &Path) -> Vec<u8> {
    let out = Command::new("tar")
        .args([
            "--numeric-owner",
            "--sort=name",
            "--mtime=@0",
            "--exclude=./dev/*",
            "--exclude=./proc/*",
            "--exclude=./sys/*",
            "--exclude=./var/cache/apt/archives/*.deb",
            "--exclude=./var/lib/apt/lists/*_*",
            "-C",
        ])
        .arg(rootfs)
        .args(["-cf", "-", "."])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("run tar on {}: {e}", rootfs.display()));
    assert!(
        out.status.success(),
        "tar -C {} failed: {}",
        rootfs.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Builds the image for `platform`; a `marker` adds `/etc/mlr-marker`, so a
/// different marker gives a different digest.
pub(crate) fn image(platform: &Platform, marker: Option<&str>) -> Image {
    let mut tree = if platform.is_host() {
        busybox_rootfs().clone()
    } else {
        let mut tree = Tree::default();
        tree.dir("etc", 0o755);
        tree.file(
            "etc/mlr-platform",
            0o644,
            format!("{}/{}\n", platform.os, platform.architecture).into_bytes(),
        );
        tree
    };
    if let Some(marker) = marker {
        tree.file(MARKER_PATH, 0o644, marker.as_bytes().to_vec());
    }
    assemble(platform, vec![LayerBlob::tar(tree.to_tar())])
}

/// The config and manifest over `layers` (bottom first).
fn assemble(platform: &Platform, layers: Vec<LayerBlob>) -> Image {
    assemble_with_env(platform, layers, &[PATH_ENV])
}

fn assemble_with_env(platform: &Platform, layers: Vec<LayerBlob>, env: &[&str]) -> Image {
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
    let history: Vec<_> = layers
        .iter()
        .map(|_| json!({ "created": "1970-01-01T00:00:00Z", "created_by": "mlr testsuite" }))
        .collect();
    let mut config = json!({
        "created": "1970-01-01T00:00:00Z",
        "architecture": platform.architecture,
        "os": platform.os,
        "config": { "Env": env, "Cmd": ["/bin/sh"] },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": history,
    });
    if let Some(variant) = &platform.variant {
        config["variant"] = json!(variant);
    }
    let config = Blob::new(OCI_CONFIG, to_json(&config));

    let layers: Vec<Blob> = layers.into_iter().map(|l| l.blob).collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
    });
    let manifest = Blob::new(OCI_MANIFEST, to_json(&manifest));
    Image {
        layers,
        config,
        manifest,
    }
}

/// An OCI image index over already built platform manifests.
pub(crate) fn index(entries: &[(&Platform, &Blob)]) -> Blob {
    let manifests: Vec<_> = entries
        .iter()
        .map(|(platform, manifest)| {
            let mut descriptor = manifest.descriptor();
            descriptor["platform"] = platform.json();
            descriptor
        })
        .collect();
    let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
    Blob::new(OCI_INDEX, to_json(&index))
}

pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn to_json(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("serialize JSON")
}

/// busybox at `/bin/busybox` with every applet linked where busybox would
/// install it, plus the files a container expects (`/etc/passwd`, `/tmp`).
fn busybox_rootfs() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let busybox = super::service::busybox()
            .expect("no /bin/busybox: call require!(Service::Registry) first");
        let binary = std::fs::read(&busybox).expect("read busybox");
        let out = Command::new(&busybox)
            .arg("--list-full")
            .output()
            .expect("run busybox --list-full");
        assert!(out.status.success(), "busybox --list-full failed");

        let mut tree = Tree::default();
        for dir in [
            "bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "home", "var",
        ] {
            tree.dir(dir, 0o755);
        }
        tree.dir("root", 0o700);
        tree.dir("tmp", 0o1777);
        tree.dir("var/tmp", 0o1777);
        tree.file("bin/busybox", 0o755, binary);
        for applet in String::from_utf8_lossy(&out.stdout).lines() {
            // `linuxrc` (no directory) is an init, not a command.
            if applet.contains('/') && applet != "bin/busybox" {
                tree.symlink(applet, "/bin/busybox");
            }
        }
        tree.file(
            "etc/passwd",
            0o644,
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                .to_vec(),
        );
        tree.file(
            "etc/group",
            0o644,
            b"root:x:0:\nnogroup:x:65534:\n".to_vec(),
        );
        tree.file(
            "etc/shadow",
            0o640,
            b"root:*:0:0:99999:7:::\nnobody:*:0:0:99999:7:::\n".to_vec(),
        );
        tree
    })
}

#[derive(Clone)]
enum Node {
    Dir { mode: u32 },
    File { mode: u32, data: Vec<u8> },
    Symlink { target: String },
}

/// A file tree written as a tar with sorted names, owner root and mtime 0,
/// so equal trees give equal bytes.
#[derive(Clone, Default)]
struct Tree {
    nodes: BTreeMap<String, Node>,
}

impl Tree {
    fn dir(&mut self, path: &str, mode: u32) {
        self.nodes.insert(path.to_owned(), Node::Dir { mode });
    }

    fn file(&mut self, path: &str, mode: u32, data: Vec<u8>) {
        self.parents(path);
        self.nodes
            .insert(path.to_owned(), Node::File { mode, data });
    }

    fn symlink(&mut self, path: &str, target: &str) {
        self.parents(path);
        self.nodes.insert(
            path.to_owned(),
            Node::Symlink {
                target: target.to_owned(),
            },
        );
    }

    fn parents(&mut self, path: &str) {
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            self.nodes
                .entry(path[..end].to_owned())
                .or_insert(Node::Dir { mode: 0o755 });
            end += 1;
        }
    }

    fn to_tar(&self) -> Vec<u8> {
        let mut tar = Vec::new();
        for (path, node) in &self.nodes {
            let header = match node {
                Node::Dir { mode } => header(&format!("{path}/"), *mode, 0, b'5', ""),
                Node::File { mode, data } => header(path, *mode, data.len(), b'0', ""),
                Node::Symlink { target } => header(path, 0o777, 0, b'2', target),
            };
            tar.extend_from_slice(&header);
            if let Node::File { data, .. } = node {
                tar.extend_from_slice(data);
                tar.resize(tar.len().next_multiple_of(512), 0);
            }
        }
        tar.resize(tar.len() + 1024, 0);
        tar
    }
}

/// A ustar header block.
fn header(name: &str, mode: u32, size: usize, kind: u8, link: &str) -> [u8; 512] {
    fn put(block: &mut [u8; 512], at: usize, len: usize, value: &[u8]) {
        assert!(value.len() <= len, "tar field too long: {value:?}");
        block[at..at + value.len()].copy_from_slice(value);
    }
    fn octal(block: &mut [u8; 512], at: usize, len: usize, value: u64) {
        put(
            block,
            at,
            len,
            format!("{value:0width$o}\0", width = len - 1).as_bytes(),
        );
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
    put(&mut block, 157, 100, link.as_bytes());
    put(&mut block, 257, 8, b"ustar\x0000");
    put(&mut block, 265, 32, b"root");
    put(&mut block, 297, 32, b"root");
    octal(&mut block, 329, 8, 0); // devmajor
    octal(&mut block, 337, 8, 0); // devminor
    let checksum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    put(&mut block, 148, 8, format!("{checksum:06o}\0 ").as_bytes());
    block
}
