//! Python-side helpers for pip tests: the uv binary mlr drives (fetched
//! once per test run through mlr's own pinned, hash-checked download), and
//! small base images that carry an `/etc/os-release`.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::image::Layer;
use super::project::Project;
use super::pyindex::PyIndex;
use super::registry::{PushedImage, Registry};
use super::wheel::{BuiltFile, WheelSpec};

/// uv as mlr would fetch it: downloaded once from PyPI into the test
/// target directory, checked against the sha256 pinned in mlr.
pub fn shared_uv() -> PathBuf {
    static UV: OnceLock<PathBuf> = OnceLock::new();
    UV.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config = mlr::config::Config::new(
            false,
            mlr::shell::Shell::new(mlr::shell::Verbosity::Quiet, mlr::shell::ColorChoice::Never),
        );
        config.cache_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mlr-uv-cache");
        mlr::resolve::pip::uv::locate(&config, mlr::resolve::pip::PYPI)
            .unwrap_or_else(|e| panic!("fetching uv for the tests: {e:#}"))
    })
    .clone()
}

/// `/etc/os-release` of Debian 12.
pub const DEBIAN_12: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// The dpkg status of a Debian 12 image, reduced to its C library: where
/// mlr reads the image's glibc from.
pub const DEBIAN_12_DPKG_STATUS: &str = "Package: libc6\nStatus: install ok installed\nPriority: optional\nSection: libs\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\nArchitecture: amd64\nMulti-Arch: same\nSource: glibc\nVersion: 2.36-9+deb12u7\nDescription: GNU C Library: Shared libraries\n";

/// A one-layer image that only says it is Debian 12 (its os-release and
/// the libc6 entry of its dpkg status), for lock-only tests.
pub fn push_debian_marker(
    registry: &Registry,
    repo: &str,
    tag: &str,
    platform: &str,
) -> PushedImage {
    registry.push_layers(
        repo,
        tag,
        platform,
        &[Layer::new()
            .file("usr/lib/os-release", DEBIAN_12)
            .file("var/lib/dpkg/status", DEBIAN_12_DPKG_STATUS)
            .symlink("etc/os-release", "../usr/lib/os-release")],
    )
}

/// An index of one-file images, one per platform, that only say they are
/// Debian 12.
pub fn push_debian_marker_index(registry: &Registry, repo: &str, tag: &str, platforms: &[&str]) {
    let dirs = tempfile::tempdir().expect("tempdir");
    let roots: Vec<(PathBuf, &str)> = platforms
        .iter()
        .map(|platform| {
            let root = dirs.path().join(platform.replace('/', "-"));
            std::fs::create_dir_all(root.join("etc")).expect("mkdir");
            std::fs::write(root.join("etc/os-release"), DEBIAN_12).expect("write os-release");
            std::fs::create_dir_all(root.join("var/lib/dpkg")).expect("mkdir");
            std::fs::write(root.join("var/lib/dpkg/status"), DEBIAN_12_DPKG_STATUS)
                .expect("write dpkg status");
            (root, *platform)
        })
        .collect();
    let images: Vec<(&std::path::Path, &str)> =
        roots.iter().map(|(r, p)| (r.as_path(), *p)).collect();
    registry.push_rootfs_index(repo, tag, &images);
}

/// A project locked for linux/amd64 and linux/arm64 whose one pip package,
/// `native` 1.0, has a wheel for each (and a cp312 wheel that Python 3.11
/// must not take).
pub struct TwoPlatformPip {
    pub registry: Registry,
    pub index: PyIndex,
    pub project: Project,
    pub amd64: BuiltFile,
    pub arm64: BuiltFile,
}

pub fn two_platform_pip() -> TwoPlatformPip {
    let registry = Registry::start();
    push_debian_marker_index(&registry, "py/multi", "12", &["linux/amd64", "linux/arm64"]);
    let index = PyIndex::start();
    let amd64 =
        index.add_wheel(&WheelSpec::new("native", "1.0").tag("cp311-cp311-manylinux_2_17_x86_64"));
    let arm64 =
        index.add_wheel(&WheelSpec::new("native", "1.0").tag("cp311-cp311-manylinux_2_17_aarch64"));
    index.add_wheel(&WheelSpec::new("native", "1.0").tag("cp312-cp312-manylinux_2_17_x86_64"));
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[project]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n\n[base]\nimage = \"{}\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"native\"]\n",
            registry.reference("py/multi", "12"),
            index.url()
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();
    TwoPlatformPip {
        registry,
        index,
        project,
        amd64,
        arm64,
    }
}
