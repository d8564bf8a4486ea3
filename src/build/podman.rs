//! The podman backend: `podman build`, which is buildah's `bud` inside
//! podman, driven exactly as the buildah backend drives buildah (OCI format,
//! `--timestamp`, chroot isolation); see [`super::buildah`].

use super::buildah::BudTool;
use super::{Backend, BuildRequest, PushTarget};
use crate::shell::Shell;

pub struct Podman;

const PODMAN: BudTool = BudTool {
    program: "podman",
    build_subcommand: "build",
    root_var: "MLR_PODMAN_ROOT",
    runroot_var: "MLR_PODMAN_RUNROOT",
    install_hint: "install podman (apt-get install podman), or choose another backend with --backend",
};

impl Backend for Podman {
    fn name(&self) -> &'static str {
        PODMAN.program
    }

    fn clamped_timestamp(&self) -> Option<u64> {
        Some(0)
    }

    fn build(&self, request: &BuildRequest<'_>, shell: &Shell) -> anyhow::Result<String> {
        PODMAN.build(request, shell)
    }

    fn push(&self, target: &PushTarget, shell: &Shell) -> anyhow::Result<String> {
        PODMAN.push(target, shell)
    }
}
