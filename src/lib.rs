//! mlr: reproducible machine-learning container environments.
//!
//! Data flows one way: `ml.toml` ([`manifest`]) is resolved ([`resolve`]) into
//! `ml.lock` ([`lock`]), which is rendered ([`render`]) into a Dockerfile and
//! built ([`build`]); [`verify`] checks that nothing drifted. [`ops`] sequences
//! these stages for each command; [`cli`] only parses arguments.

// File errors carry a location and a snippet; they are the cold path.
#![allow(clippy::result_large_err)]

pub mod archive;
pub mod atomic_file;
pub mod build;
pub mod cli;
pub mod compat;
pub mod config;
pub mod error;
pub mod http;
pub mod import;
pub mod lock;
pub mod manifest;
pub mod ops;
pub mod package_name;
pub mod redact;
pub mod render;
pub mod requests;
pub mod resolve;
pub mod schema;
pub mod settings;
pub mod shell;
pub mod source_tree;
pub mod verify;
