//! The test rig: real local peers for `mlr` (an OCI registry, a container
//! engine, git repositories) and an isolated project directory to run the
//! real binary in.
//!
//! Tests that need a service start with `require!(Service::Docker);`. On a
//! machine without it the test prints `SKIP` and passes; with
//! `MLR_TEST_SERVICES=1` (set by `.ci/run`) a missing service fails the test
//! instead, so CI can never go green by skipping.

#![allow(dead_code)] // Not every test module uses every helper.

mod docker;
mod git;
mod image;
mod project;
mod registry;
mod service;

pub use docker::{ImageCleanup, docker, docker_build, docker_run};
pub use git::GitRepo;
pub use project::Project;
pub use registry::{PushedImage, PushedIndex, Registry};
pub use service::{Service, require};

/// `require!(Service::Docker);` returns from the calling test when the
/// service is missing (see [`require`]). `use crate::support::require`
/// imports both this macro and the function.
macro_rules! require_service {
    ($service:expr) => {
        if !$crate::support::require($service) {
            return;
        }
    };
}
pub(crate) use require_service as require;
