//! Reading files out of images through the registry
//! (`mlr::resolve::image_files`), against the local registry: the real
//! Debian base, layered images with whiteouts, and the blob cache.

use std::fs;
use std::path::Path;
use std::time::Instant;

use mlr::config::Config;
use mlr::manifest::ImageRef;
use mlr::resolve::image_files::{
    ImageFiles, TreeKind, parse_os_release, read_image_files, read_image_tree,
};
use mlr::shell::{ColorChoice, Shell, Verbosity};
use tempfile::TempDir;

use crate::support::{
    ImageCleanup, Layer, Registry, Service, debian_rootfs, docker, docker_run, require,
};

const DEBIAN_PATHS: [&str; 4] = [
    "/etc/os-release",
    "/var/lib/dpkg/status",
    "/etc/apt/sources.list.d/debian.sources",
    "/etc/apt/sources.list",
];

fn config(cache: &Path, offline: bool) -> Config {
    let mut config = Config::new(offline, Shell::new(Verbosity::Quiet, ColorChoice::Never));
    config.cache_dir = cache.to_path_buf();
    config
}

fn image_ref(registry: &Registry, repo: &str) -> ImageRef {
    ImageRef::parse(&format!("{}/{repo}", registry.addr())).expect("image reference")
}

fn blob_path(cache: &Path, digest: &str) -> std::path::PathBuf {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    cache.join("blobs").join("sha256").join(hex)
}

fn text(files: &ImageFiles, path: &str) -> String {
    files
        .text(path)
        .unwrap_or_else(|| panic!("{path} is missing from the image"))
}

fn assert_debian(files: &ImageFiles) {
    let os = parse_os_release(&text(files, "/etc/os-release"));
    assert_eq!(os.id, "debian");
    assert_eq!(os.version_id.as_deref(), Some("12"));
    assert_eq!(os.codename.as_deref(), Some("bookworm"));
    let status = text(files, "/var/lib/dpkg/status");
    assert!(
        status.contains("Package: libc6\n"),
        "no libc6 in dpkg status"
    );
    let sources = files
        .text("/etc/apt/sources.list.d/debian.sources")
        .or_else(|| files.text("/etc/apt/sources.list"))
        .expect("the image configures apt sources");
    assert!(sources.contains("bookworm"), "{sources}");
}

#[test]
fn debian_files_come_through_the_registry_then_from_the_cache() {
    require!(Service::Registry);
    require!(Service::DebianRootfs);
    let rootfs = debian_rootfs().expect("checked by require!");
    let registry = Registry::start();
    let started = Instant::now();
    let pushed = registry.push_rootfs("library/debian", "bookworm", &rootfs, "linux/amd64");
    let pushed_in = started.elapsed();
    let cache = TempDir::new().unwrap();
    let image = image_ref(&registry, "library/debian");

    let started = Instant::now();
    let files = read_image_files(
        &config(cache.path(), false),
        &image,
        &pushed.digest,
        &DEBIAN_PATHS,
    )
    .expect("read the Debian image");
    let cold = started.elapsed();
    assert_debian(&files);
    let platform = files.platform().expect("the config's platform");
    assert_eq!(
        (platform.os.as_str(), platform.architecture.as_str()),
        ("linux", "amd64")
    );
    assert!(blob_path(cache.path(), &pushed.layer_digest).is_file());

    // The registry is gone: everything comes from the verified cache.
    drop(registry);
    let started = Instant::now();
    let again = read_image_files(
        &config(cache.path(), true),
        &image,
        &pushed.digest,
        &DEBIAN_PATHS,
    )
    .expect("read again from the cache alone");
    let warm = started.elapsed();
    assert_debian(&again);
    for path in DEBIAN_PATHS {
        assert_eq!(files.get(path), again.get(path), "{path}");
    }
    eprintln!("debian image: push {pushed_in:.2?}, cold read {cold:.2?}, cached read {warm:.2?}");
}

#[test]
fn pushed_debian_image_runs_on_the_engine() {
    require!(Service::Registry);
    require!(Service::DebianRootfs);
    require!(Service::Docker);
    let rootfs = debian_rootfs().expect("checked by require!");
    let registry = Registry::start();
    let pushed = registry.push_rootfs("library/debian", "bookworm", &rootfs, "linux/amd64");
    let by_digest = format!("{}/library/debian@{}", registry.addr(), pushed.digest);
    let _cleanup = ImageCleanup::new([by_digest.clone()]);
    let pull = docker(&["pull", "-q", &by_digest]);
    assert!(
        pull.status.success(),
        "docker pull {by_digest}: {}",
        String::from_utf8_lossy(&pull.stderr)
    );
    let version = docker_run(&by_digest, &["cat", "/etc/debian_version"]);
    assert!(version.starts_with("12."), "{version:?}");
    // Owners and modes survived the tar: root owns /etc/shadow, mode 640.
    assert_eq!(
        docker_run(&by_digest, &["stat", "-c", "%u:%g %a", "/etc/shadow"]).trim(),
        "0:42 640"
    );
    assert_eq!(
        docker_run(
            &by_digest,
            &["dpkg-query", "-W", "-f", "${Status}", "libc6"]
        ),
        "install ok installed"
    );
}

/// Layer 1 (gzip) is the base; layer 2 deletes, hides and replaces.
fn layered(registry: &Registry) -> LayeredImage {
    let lower = Layer::new()
        .file("etc/os-release", "ID=lower\n")
        .file("etc/gone", "deleted above\n")
        .file("etc/kept", "kept\n")
        .file("etc/apt/sources.list", "deb http://old bookworm main\n")
        .file("etc/apt/sources.list.d/old.list", "old\n")
        .file("usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        .file("opt/tool/bin/tool", "tool\n")
        .gzip();
    let upper = Layer::new()
        .whiteout("etc/gone")
        .whiteout("opt/tool")
        .opaque("etc/apt")
        .file("etc/apt/sources.list.d/new.sources", "new\n")
        .symlink("etc/os-release", "../usr/lib/os-release")
        .file("etc/top", "top only\n");
    let pushed = registry.push_layers("layered/app", "v1", "linux/amd64", &[lower, upper]);
    LayeredImage {
        image: image_ref(registry, "layered/app"),
        digest: pushed.digest,
        lower: pushed.layer_digests[0].clone(),
        upper: pushed.layer_digests[1].clone(),
    }
}

struct LayeredImage {
    image: ImageRef,
    digest: String,
    lower: String,
    upper: String,
}

#[test]
fn whiteouts_and_opaque_directories_across_pushed_layers() {
    require!(Service::Registry);
    let registry = Registry::start();
    let pushed = layered(&registry);
    let cache = TempDir::new().unwrap();
    let files = read_image_files(
        &config(cache.path(), false),
        &pushed.image,
        &pushed.digest,
        &[
            "/etc/os-release",
            "/etc/gone",
            "/etc/kept",
            "/etc/apt/sources.list",
            "/etc/apt/sources.list.d/old.list",
            "/etc/apt/sources.list.d/new.sources",
            "/opt/tool/bin/tool",
            "/etc/top",
        ],
    )
    .expect("read the layered image");
    let got: Vec<(&str, String)> = [
        "/etc/os-release",
        "/etc/gone",
        "/etc/kept",
        "/etc/apt/sources.list",
        "/etc/apt/sources.list.d/old.list",
        "/etc/apt/sources.list.d/new.sources",
        "/opt/tool/bin/tool",
        "/etc/top",
    ]
    .into_iter()
    .filter_map(|p| files.text(p).map(|t| (p, t)))
    .collect();
    assert_eq!(
        got,
        [
            (
                "/etc/os-release",
                "ID=debian\nVERSION_ID=\"12\"\n".to_owned()
            ),
            ("/etc/kept", "kept\n".to_owned()),
            ("/etc/apt/sources.list.d/new.sources", "new\n".to_owned()),
            ("/etc/top", "top only\n".to_owned()),
        ]
    );
}

/// The whole tree of the same image: listings merge the layers, honour the
/// whiteouts and the opaque directory, and selected files are kept.
#[test]
fn the_merged_tree_of_pushed_layers() {
    require!(Service::Registry);
    let registry = Registry::start();
    let pushed = layered(&registry);
    let cache = TempDir::new().unwrap();
    let tree = read_image_tree(
        &config(cache.path(), false),
        &pushed.image,
        &pushed.digest,
        &|path| path.starts_with("/etc/") && !path.ends_with("/kept"),
    )
    .expect("read the layered image's tree");
    assert_eq!(tree.list("/"), ["etc", "opt", "usr"]);
    assert_eq!(tree.list("/etc"), ["apt", "kept", "os-release", "top"]);
    assert_eq!(tree.list("/etc/apt"), ["sources.list.d"]);
    assert_eq!(tree.list("/etc/apt/sources.list.d"), ["new.sources"]);
    assert!(tree.list("/opt").is_empty(), "{:?}", tree.list("/opt"));
    assert_eq!(tree.kind("/etc/kept"), Some(TreeKind::File));
    assert_eq!(tree.read("/etc/kept"), None, "not selected");
    assert_eq!(tree.kind("/etc/gone"), None);
    assert_eq!(
        tree.kind_no_follow("/etc/os-release"),
        Some(TreeKind::Symlink)
    );
    assert_eq!(
        tree.resolve("/etc/os-release").as_deref(),
        Some("/usr/lib/os-release")
    );
    // The selected link brings the file it leads to.
    assert_eq!(
        tree.text("/etc/os-release").as_deref(),
        Some("ID=debian\nVERSION_ID=\"12\"\n")
    );
    assert_eq!(tree.text("/etc/top").as_deref(), Some("top only\n"));
    assert_eq!(
        tree.env(),
        ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    );
    assert_eq!(tree.platform().architecture, "amd64");
    // Every layer was read, unlike `read_image_files`.
    assert!(blob_path(cache.path(), &pushed.lower).is_file());
}

#[test]
fn the_walk_stops_before_layers_it_does_not_need() {
    require!(Service::Registry);
    let registry = Registry::start();
    let pushed = layered(&registry);
    let cache = TempDir::new().unwrap();
    let files = read_image_files(
        &config(cache.path(), false),
        &pushed.image,
        &pushed.digest,
        &["/etc/top", "/etc/gone"],
    )
    .expect("read the top layer");
    assert_eq!(files.text("/etc/top").as_deref(), Some("top only\n"));
    assert_eq!(files.get("/etc/gone"), None);
    assert!(blob_path(cache.path(), &pushed.upper).is_file());
    assert!(
        !blob_path(cache.path(), &pushed.lower).exists(),
        "the lower layer was downloaded though the top one decided everything"
    );
}

/// A cached blob whose bytes changed is discarded and downloaded again (with
/// a warning); under `--offline` it cannot be replaced, so the read fails.
#[test]
fn a_tampered_cache_blob_is_detected() {
    require!(Service::Registry);
    let registry = Registry::start();
    let pushed = layered(&registry);
    let cache = TempDir::new().unwrap();
    let read = |offline: bool| {
        read_image_files(
            &config(cache.path(), offline),
            &pushed.image,
            &pushed.digest,
            &["/etc/kept"],
        )
    };
    let files = read(false).expect("first read");
    assert_eq!(files.text("/etc/kept").as_deref(), Some("kept\n"));

    let lower = blob_path(cache.path(), &pushed.lower);
    let good = fs::read(&lower).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    fs::write(&lower, &bad).unwrap();
    let err = read(true).expect_err("a tampered blob must not be used offline");
    let chain = format!("{err:#}");
    assert!(chain.contains("--offline"), "{chain}");
    assert!(!lower.exists(), "the tampered blob was not discarded");

    fs::write(&lower, &bad).unwrap();
    let files = read(false).expect("re-download over a tampered blob");
    assert_eq!(files.text("/etc/kept").as_deref(), Some("kept\n"));
    assert_eq!(
        fs::read(&lower).unwrap(),
        good,
        "the cache holds the real blob"
    );

    // The manifest is cached and checked the same way.
    let manifest = blob_path(cache.path(), &pushed.digest);
    fs::write(&manifest, b"{}").unwrap();
    drop(registry);
    let err = read(false).expect_err("the registry is gone");
    assert!(!manifest.exists());
    let chain = format!("{err:#}");
    assert!(chain.contains("manifest"), "{chain}");
}

#[test]
fn an_index_digest_is_refused_with_a_hint() {
    require!(Service::Registry);
    let registry = Registry::start();
    let index = registry.push_index("multi/app", "v1", &["linux/amd64", "linux/arm64"]);
    let cache = TempDir::new().unwrap();
    let image = image_ref(&registry, "multi/app");
    let err = read_image_files(
        &config(cache.path(), false),
        &image,
        &index.digest,
        &["/etc/os-release"],
    )
    .expect_err("an index is not a manifest");
    assert!(format!("{err:#}").contains("is an image index"), "{err:#}");

    // A platform manifest from that index reads fine.
    let files = read_image_files(
        &config(cache.path(), false),
        &image,
        index.manifest_for("linux/arm64"),
        &["/etc/mlr-platform"],
    )
    .expect("read the arm64 manifest");
    assert_eq!(
        files.text("/etc/mlr-platform").as_deref(),
        Some("linux/arm64\n")
    );
    assert_eq!(files.platform().unwrap().architecture, "arm64");
}

#[test]
fn offline_with_an_empty_cache_says_so() {
    let cache = TempDir::new().unwrap();
    let image = ImageRef::parse("127.0.0.1:9/none/such").unwrap();
    let digest = format!("sha256:{}", "0".repeat(64));
    let err = read_image_files(&config(cache.path(), true), &image, &digest, &["/etc/x"])
        .expect_err("nothing cached");
    let chain = format!("{err:#}");
    assert!(chain.contains("--offline"), "{chain}");
}
