//! Settings shared by every operation: flags merged with the environment.

use std::path::PathBuf;

use crate::settings::{Mirrors, Net};
use crate::shell::Shell;

/// What every operation may consult besides its own arguments.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where fetched git repositories and registry data are cached.
    pub cache_dir: PathBuf,
    /// No network: work from the lock and the cache only.
    pub offline: bool,
    pub shell: Shell,
    /// Where registry and index bytes really come from.
    pub mirrors: Mirrors,
    /// Timeouts and retries of every request.
    pub net: Net,
}

impl Config {
    pub fn new(offline: bool, shell: Shell) -> Self {
        Config {
            cache_dir: default_cache_dir(),
            offline,
            shell,
            mirrors: Mirrors::default(),
            net: Net::default(),
        }
    }
}

/// `$MLR_CACHE_DIR`, else `$XDG_CACHE_HOME/mlr`, else `~/.cache/mlr`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MLR_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("mlr");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("mlr"),
        None => std::env::temp_dir().join("mlr-cache"),
    }
}
