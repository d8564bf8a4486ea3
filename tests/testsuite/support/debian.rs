//! A real Debian base: the bookworm minbase root filesystem that `.ci/run`
//! debootstraps once (`ensure_debian_rootfs` in `scripts/services.sh`) and
//! names in `MLR_TEST_DEBIAN_ROOTFS`. Push it with
//! [`Registry::push_rootfs`](super::Registry::push_rootfs).

use std::env;
use std::path::PathBuf;

/// The variable naming the rootfs directory.
pub const DEBIAN_ROOTFS_ENV: &str = "MLR_TEST_DEBIAN_ROOTFS";

/// The debootstrapped bookworm rootfs, or `None` when the environment names
/// none (or a directory without `etc/os-release`). Tests call
/// `require!(Service::DebianRootfs)` first, which skips or fails with the
/// reason.
pub fn debian_rootfs() -> Option<PathBuf> {
    debian_rootfs_checked().ok()
}

/// [`debian_rootfs`], or why there is none.
pub(crate) fn debian_rootfs_checked() -> Result<PathBuf, String> {
    let dir = env::var_os(DEBIAN_ROOTFS_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            format!(
                "{DEBIAN_ROOTFS_ENV} is not set (`source scripts/services.sh && \
                 ensure_debian_rootfs /var/cache/mlr-test/bookworm-rootfs`, then export it)"
            )
        })?;
    // `etc/os-release` is a relative link into `usr/lib`, so this also
    // checks the tree is whole.
    if !dir.join("etc/os-release").is_file() {
        return Err(format!(
            "{DEBIAN_ROOTFS_ENV}={} has no etc/os-release; is the debootstrap complete?",
            dir.display()
        ));
    }
    Ok(dir)
}
