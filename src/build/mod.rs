//! Building images: the build context (git sources exported at their locked
//! commits, `[image] copy` files) and the container-engine backends.

pub mod buildah;
pub mod context;
pub mod docker;

use std::path::Path;

use crate::shell::Shell;

/// What a backend is asked to build.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// Directory holding the `Dockerfile` and everything it copies.
    pub context: &'a Path,
    pub tag: &'a str,
    /// Extra labels known only at build time (never credentials).
    pub labels: Vec<(String, String)>,
    /// Build on the host network: the build reaches an archive or mirror
    /// on a loopback address, which only the host network can see.
    pub host_network: bool,
    /// Use no cached layer.
    pub no_cache: bool,
    /// SOURCE_DATE_EPOCH for every date the image records (creation time,
    /// history, file mtimes in new layers), where the backend can clamp them.
    pub timestamp: Option<u64>,
}

/// A container engine that turns a context into an image.
pub trait Backend {
    fn name(&self) -> &'static str;
    /// Build and return the image ID.
    fn build(&self, request: &BuildRequest<'_>, shell: &Shell) -> anyhow::Result<String>;
}
