//! System packages: the exact `.deb`s apt installs on top of the base image.
//!
//! Pure stages only: [`index`] parses an archive's `Packages` files,
//! [`status`] the base image's dpkg status, and [`solver`] computes the
//! dependency closure of the requested packages against both.

pub mod archive;
pub mod index;
pub mod solver;
pub mod status;
