//! Python-side helpers for pip tests: the uv binary mlr drives (fetched
//! once per test run through mlr's own pinned, hash-checked download), and
//! small base images that carry an `/etc/os-release`.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::image::Layer;
use super::registry::{PushedImage, Registry};

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

/// A one-layer image that only says it is Debian 12, for lock-only tests.
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
            (root, *platform)
        })
        .collect();
    let images: Vec<(&std::path::Path, &str)> =
        roots.iter().map(|(r, p)| (r.as_path(), *p)).collect();
    registry.push_rootfs_index(repo, tag, &images);
}
