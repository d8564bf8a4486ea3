//! The test rig: real local peers for `mlr` (an OCI registry, a container
//! engine, git repositories, a Python package index, a Debian archive, a
//! python-build-standalone downloads site for a real CPython) and an
//! isolated project directory to run the real binary in; a fault proxy to
//! put in front of any of the HTTP ones; Python distributions to serve
//! (made-up wheels and sdists, setuptools projects, real wheels from PyPI).
//!
//! Tests that need a service start with `require!(Service::Docker);`. On a
//! machine without it the test prints `SKIP` and passes; with
//! `MLR_TEST_SERVICES=1` (set by `.ci/run`) a missing service fails the test
//! instead, so CI can never go green by skipping.

#![allow(dead_code)] // Not every test module uses every helper.

mod aptrepo;
mod debian;
mod docker;
pub mod dockerfile;
mod faults;
mod git;
mod http;
mod image;
mod project;
mod pyindex;
mod pypi;
mod python;
mod registry;
mod sdist;
mod service;
mod standalone_python;
mod storage;
mod tls;
mod wheel;

pub use aptrepo::{AptRepo, BuiltDeb, DebSpec, IndexTool, native_arch};
pub use debian::debian_rootfs;
pub use docker::{ImageCleanup, docker, docker_build, docker_build_with, docker_run};
pub use faults::{Fault, FaultProxy};
pub use git::GitRepo;
pub use image::Layer;
pub use project::Project;
pub use pyindex::{LoggedRequest, PyIndex, uv_binary};
pub use pypi::pypi_wheel;
pub use python::{
    DEBIAN_12, DEBIAN_12_DPKG_STATUS, TwoPlatformPip, push_debian_marker, push_debian_marker_index,
    shared_uv, two_platform_pip,
};
pub use registry::{PushedImage, PushedIndex, Registry};
pub use sdist::{REQUIRES_PYTHON, SPEED_C, SetuptoolsProject};
pub use service::{Service, require};
pub use standalone_python::{PythonDownloads, UPSTREAM_RELEASES, standalone_python};
pub use storage::{Storage, Tool};
pub use tls::{HttpsServer, TestCa};
pub use wheel::{BuiltFile, SDIST_BACKEND, WheelSpec, build_sdist, build_sdist_for, build_wheel};

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
