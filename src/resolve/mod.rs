//! Resolution: turning a requirement from `ml.toml` into a pin for `ml.lock`.
//!
//! Each source kind lives in its own module. Image and git sources resolve
//! one request at a time behind the [`Source`] trait; pip and apt resolve
//! a whole closure at once. Whether a pin is still good is not decided
//! here: that is [`crate::lock::satisfies`], pure and offline, which the
//! lock operation asks before it resolves anything.

pub mod apt;
pub mod base_python;
pub mod git;
pub mod image;
pub mod image_files;
pub mod interpreter;
pub mod pip;

/// One kind of pinnable thing.
pub trait Source {
    /// What `ml.toml` asks for.
    type Request;
    /// What `ml.lock` records.
    type Pin;

    /// The entry's name in the lock (`base`, a git source name, ...).
    fn name(request: &Self::Request) -> &str;

    /// Resolve the request against its upstream (network).
    fn resolve(&self, request: &Self::Request) -> anyhow::Result<Self::Pin>;
}
