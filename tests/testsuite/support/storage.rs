//! Storage of its own for buildah or podman, so a test is a build host
//! with empty caches and leaves the machine's storage alone.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use predicates::prelude::*;

use super::Project;

/// A daemonless builder mlr drives: buildah, or podman (buildah's `bud`
/// inside podman).
#[derive(Clone, Copy, Debug)]
pub enum Tool {
    Buildah,
    Podman,
}

impl Tool {
    pub fn program(self) -> &'static str {
        match self {
            Tool::Buildah => "buildah",
            Tool::Podman => "podman",
        }
    }
}

/// Storage of its own for one tool, on the vfs driver: a fresh one is a
/// build host with empty caches.
pub struct Storage {
    pub tool: Tool,
    dir: tempfile::TempDir,
}

impl Storage {
    pub fn new(tool: Tool) -> Storage {
        Storage {
            tool,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("runroot")
    }

    /// The tool with this storage's global flags (the tools ignore
    /// `STORAGE_DRIVER` without a storage.conf, so the driver is a flag).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(self.tool.program());
        cmd.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .args(["--storage-driver", "vfs"])
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}",
            self.tool.program(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs `script` with `/bin/sh` in a container of `image` (chroot
    /// isolation, as the builds use); returns its trimmed stdout.
    pub fn sh(&self, image: &str, script: &str) -> String {
        let ctr = self.run(&["from", image]);
        self.run(&[
            "run",
            "--isolation",
            "chroot",
            &ctr,
            "--",
            "/bin/sh",
            "-c",
            script,
        ])
    }

    /// `mlr` in `project`, its buildah and podman storage set to this one.
    pub fn mlr(&self, project: &Project) -> assert_cmd::Command {
        let mut cmd = project.mlr();
        for prefix in ["MLR_BUILDAH", "MLR_PODMAN"] {
            cmd.env(format!("{prefix}_ROOT"), self.root())
                .env(format!("{prefix}_RUNROOT"), self.runroot());
        }
        cmd.env("STORAGE_DRIVER", "vfs");
        cmd
    }

    /// `mlr build --backend <tool> --tag <tag>` into this storage.
    pub fn build(&self, project: &Project, tag: &str) -> String {
        let program = self.tool.program();
        let out = self
            .mlr(project)
            .args(["build", "--backend", program, "--tag", tag])
            .assert()
            .success()
            .stderr(predicate::str::contains(format!("with {program}")))
            .stderr(predicate::str::contains("Built"));
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    }

    /// The manifest digest of the image `tag` names.
    pub fn digest(&self, tag: &str) -> String {
        let digest = match self.tool {
            Tool::Buildah => self.run(&[
                "inspect",
                "--type",
                "image",
                "--format",
                "{{.FromImageDigest}}",
                tag,
            ]),
            Tool::Podman => self.run(&["image", "inspect", "--format", "{{.Digest}}", tag]),
        };
        assert!(digest.starts_with("sha256:"), "{digest}");
        digest
    }

    /// The image ID: the digest of its config, without `sha256:`.
    pub fn image_id(&self, tag: &str) -> String {
        match self.tool {
            Tool::Buildah => self.run(&[
                "inspect",
                "--type",
                "image",
                "--format",
                "{{.FromImageID}}",
                tag,
            ]),
            Tool::Podman => self.run(&["image", "inspect", "--format", "{{.Id}}", tag]),
        }
    }

    /// The image's config, to show what differs when digests do.
    pub fn config(&self, tag: &str) -> String {
        match self.tool {
            Tool::Buildah => {
                self.run(&["inspect", "--type", "image", "--format", "{{.Config}}", tag])
            }
            Tool::Podman => self.run(&["image", "inspect", tag]),
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        // vfs layers hold root-owned files; let the tool remove what it made.
        let _ = self.command().args(["rm", "--all"]).output();
        let _ = self.command().args(["rmi", "--all", "--force"]).output();
    }
}
