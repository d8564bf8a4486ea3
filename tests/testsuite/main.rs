//! The integration test suite: one binary running the real `mlr` against
//! real local services (see `support`).

mod support;

mod cli;
mod e2e;
mod lock;
mod manifest;
mod rig;
mod schema;
mod verify;
