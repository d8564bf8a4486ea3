//! Resolution: turning a requirement from `ml.toml` into a pin for `ml.lock`.
//!
//! Each source kind (image, git; later pip and apt) lives in its own module
//! behind the [`Source`] trait, so the lock operation treats them alike:
//! keep a pin that still satisfies its request, resolve the rest.

pub mod apt;
pub mod git;
pub mod image;
pub mod image_files;
pub mod pip;

/// One kind of pinnable thing.
pub trait Source {
    /// What `ml.toml` asks for.
    type Request;
    /// What `ml.lock` records.
    type Pin;

    /// The entry's name in the lock (`base`, a git source name, ...).
    fn name(request: &Self::Request) -> &str;

    /// Whether an existing pin still satisfies the request (offline).
    fn satisfied_by(request: &Self::Request, pin: &Self::Pin) -> bool;

    /// Resolve the request against its upstream (network).
    fn resolve(&self, request: &Self::Request) -> anyhow::Result<Self::Pin>;
}
