//! The podman backend: `podman build`, which is buildah's `bud` inside
//! podman, driven exactly as the buildah backend drives buildah (OCI format,
//! `--timestamp`, chroot isolation); see [`super::buildah`].

use super::buildah::BudTool;

pub(super) const PODMAN: BudTool = BudTool {
    program: "podman",
    build_subcommand: "build",
    root_var: "MLR_PODMAN_ROOT",
    runroot_var: "MLR_PODMAN_RUNROOT",
    install_hint: "install podman (apt-get install podman), or choose another backend with --backend",
};
