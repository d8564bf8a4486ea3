//! A throwaway project directory and the `mlr` binary isolated from the
//! developer's machine (home, caches, registry credentials, colours).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

/// Variables that would make the binary's behaviour depend on who runs the
/// tests; cleared for every `mlr` invocation.
const SCRUBBED_ENV: &[&str] = &[
    "RUST_LOG",
    "RUST_BACKTRACE",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "COLUMNS",
    "TERM",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "NETRC",
    "REGISTRY_AUTH_FILE",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_CONFIG_FILE",
    "UV_INDEX_URL",
    "SOURCE_DATE_EPOCH",
    "DOCKER_BUILDKIT",
];

/// A fresh project directory plus a separate sandbox holding the home
/// directory, the mlr cache and an empty Docker config.
pub struct Project {
    root: TempDir,
    sandbox: TempDir,
}

impl Project {
    pub fn new() -> Project {
        let root = tempfile::Builder::new()
            .prefix("mlr-project-")
            .tempdir()
            .expect("create project tempdir");
        let sandbox = tempfile::Builder::new()
            .prefix("mlr-sandbox-")
            .tempdir()
            .expect("create sandbox tempdir");
        for dir in ["home", "cache", "docker-config"] {
            fs::create_dir(sandbox.path().join(dir)).expect("create sandbox dir");
        }
        Project { root, sandbox }
    }

    /// The project directory, the current directory of [`Project::mlr`].
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `rel` inside the project.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// `HOME` of the binary (empty: no `.gitconfig`, `.netrc`, `.docker`).
    pub fn home(&self) -> PathBuf {
        self.sandbox.path().join("home")
    }

    /// `MLR_CACHE_DIR` of the binary, outside the project.
    pub fn cache_dir(&self) -> PathBuf {
        self.sandbox.path().join("cache")
    }

    /// `DOCKER_CONFIG` of the binary; write a `config.json` here to give it
    /// registry credentials.
    pub fn docker_config_dir(&self) -> PathBuf {
        self.sandbox.path().join("docker-config")
    }

    /// Writes `contents` to `rel`, creating parent directories.
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    /// The contents of `rel`, which must exist and be UTF-8.
    pub fn read(&self, rel: &str) -> String {
        let path = self.path(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// A `docker` for `MLR_DOCKER` that only records that it ran (its
    /// arguments, in `engine-ran`) and fails: for commands that must
    /// refuse before any engine is asked anything.
    pub fn tripwire_engine(&self) -> PathBuf {
        let ran = self.path("engine-ran");
        let script = self.path("fake-docker");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 1\n", ran.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    /// The real `mlr` binary, run in [`Project::root`] with an isolated
    /// environment. Stdin is empty and not a TTY; stdout/stderr are captured.
    /// A run that takes over ten minutes is killed (override with `.timeout`).
    pub fn mlr(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.command(Project::mlr_bin()));
        cmd.timeout(Duration::from_secs(600));
        cmd
    }

    /// The path of the `mlr` binary under test.
    pub fn mlr_bin() -> &'static Path {
        assert_cmd::cargo::cargo_bin!("mlr")
    }

    /// `program` run as [`Project::mlr`] runs `mlr` (directory and
    /// environment), for a run the test spawns itself or wraps in a shell.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.current_dir(self.root());
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("MLR_")) {
                cmd.env_remove(&key);
            }
        }
        for key in SCRUBBED_ENV {
            cmd.env_remove(key);
        }
        cmd.env("HOME", self.home())
            .env("MLR_CACHE_DIR", self.cache_dir())
            .env("DOCKER_CONFIG", self.docker_config_dir())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1");
        cmd
    }
}

impl Default for Project {
    fn default() -> Self {
        Project::new()
    }
}
