//! The integration test suite: one binary running the real `mlr` against
//! real local services (see `support`).

mod support;

mod apt;
mod aptrepo_rig;
mod architecture;
mod backends;
mod base_images;
mod base_python;
mod cli;
mod context;
mod cuda_base;
mod e2e;
mod faults;
mod framework;
mod git_build;
mod image_files;
mod init_from;
mod injection;
mod lock;
mod lock_write;
mod manifest;
mod pip;
mod pip_build;
mod pip_sources;
mod pyindex_rig;
mod reproducible;
mod rig;
mod schema;
mod sdist_rig;
mod secrets;
mod seeds;
mod snapshots;
mod staleness;
mod standalone_python_rig;
mod verify;
