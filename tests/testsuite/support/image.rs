//! Deterministic OCI images built in memory: a busybox root filesystem for
//! the host platform (runnable by the engine) or a one-file layer for any
//! other platform, with their config, manifest and index blobs.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;
use sha2::{Digest, Sha256};

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
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
    pub layer: Blob,
    pub config: Blob,
    pub manifest: Blob,
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
    let layer = Blob::new(OCI_LAYER_TAR, tree.to_tar());

    let mut config = json!({
        "created": "1970-01-01T00:00:00Z",
        "architecture": platform.architecture,
        "os": platform.os,
        "config": { "Env": [PATH_ENV], "Cmd": ["/bin/sh"] },
        // The layer is uncompressed, so its diff ID is its digest.
        "rootfs": { "type": "layers", "diff_ids": [layer.digest] },
        "history": [{ "created": "1970-01-01T00:00:00Z", "created_by": "mlr testsuite" }],
    });
    if let Some(variant) = &platform.variant {
        config["variant"] = json!(variant);
    }
    let config = Blob::new(OCI_CONFIG, to_json(&config));

    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    });
    let manifest = Blob::new(OCI_MANIFEST, to_json(&manifest));
    Image {
        layer,
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
