//! Bit-for-bit builds with buildah: one lock gives one image digest, whatever
//! the build host's clock and caches; a one-line manifest change gives
//! another.
//!
//! The image is a busybox base from the local registry plus a git source
//! with a build step, a non-root user, `[env]`, `[image] copy` and a
//! healthcheck. The backend writes OCI images (buildah 1.28's docker format
//! records a random container ID and hostname), and OCI has no HEALTHCHECK,
//! so the build warns that the healthcheck is dropped. No apt or pip: those
//! need a Debian base and are covered by the docker tests; this file proves
//! the backend's clamping.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use predicates::prelude::*;

use crate::support::{GitRepo, Project, Registry, Service, require};

/// buildah storage of its own: a fresh one is a build host with empty caches.
struct Storage {
    dir: tempfile::TempDir,
}

impl Storage {
    fn new() -> Storage {
        Storage {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn runroot(&self) -> PathBuf {
        self.dir.path().join("runroot")
    }

    fn buildah(&self, args: &[&str]) -> String {
        let out = Command::new("buildah")
            .arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .args(args)
            .env("STORAGE_DRIVER", "vfs")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "buildah {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `mlr build --backend buildah --tag <tag>` into this storage.
    fn build(&self, project: &Project, tag: &str) -> String {
        let out = project
            .mlr()
            .args(["build", "--backend", "buildah", "--tag", tag])
            .env("MLR_BUILDAH_ROOT", self.root())
            .env("MLR_BUILDAH_RUNROOT", self.runroot())
            .env("STORAGE_DRIVER", "vfs")
            .assert()
            .success()
            .stderr(predicate::str::contains("with buildah"))
            .stderr(predicate::str::contains("Built"));
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    }

    /// The manifest digest of the image `tag` names.
    fn digest(&self, tag: &str) -> String {
        let digest = self.buildah(&[
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.FromImageDigest}}",
            tag,
        ]);
        assert!(digest.starts_with("sha256:"), "{digest}");
        digest
    }

    /// The image's config blob, to show what differs when digests do.
    fn config(&self, tag: &str) -> String {
        self.buildah(&["inspect", "--type", "image", "--format", "{{.Config}}", tag])
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        // vfs layers hold root-owned files; let buildah remove what it made.
        let _ = Command::new("buildah")
            .arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .args(["rm", "--all"])
            .env("STORAGE_DRIVER", "vfs")
            .stdin(Stdio::null())
            .output();
        let _ = Command::new("buildah")
            .arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .args(["rmi", "--all", "--force"])
            .env("STORAGE_DRIVER", "vfs")
            .stdin(Stdio::null())
            .output();
    }
}

/// A locked project: busybox base, a git source built in the image, a user,
/// env, copied files and a healthcheck.
fn locked_project(registry: &Registry, repo: &GitRepo, greeting: &str) -> Project {
    let base_ref = registry.reference("repro/base", "v1");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            r#"[project]
name = "repro"

[base]
image = "{base_ref}"

[git.kernels]
url = "{url}"
rev = "main"
build = ["cat MARKER > /opt/built-from", "echo \"commit $MLR_GIT_COMMIT\" >> /opt/built-from"]

[env]
GREETING = "{greeting}"

[image]
user = "trainer"
workdir = "/work"
copy = [{{ src = "app", dst = "/work/app" }}]
healthcheck = {{ cmd = ["true"], interval = "30s", retries = 3 }}
"#,
            url = repo.url()
        ),
    );
    project.file("app/run.sh", "echo app says hi\n");
    project.mlr().arg("lock").assert().success();
    project
}

fn fixtures() -> (Registry, GitRepo, tempfile::TempDir) {
    let registry = Registry::start();
    registry.push_image("repro/base", "v1", "linux/amd64");
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = GitRepo::init(repo_dir.path());
    repo.commit_file("MARKER", "built by buildah\n", "first");
    (registry, repo, repo_dir)
}

fn remove_dir(path: &Path) {
    if path.exists() {
        std::fs::remove_dir_all(path).unwrap();
    }
}

#[test]
fn one_lock_builds_to_one_digest_on_fresh_storage() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Buildah);
    let (registry, repo, _repo_dir) = fixtures();
    let project = locked_project(&registry, &repo, "hello from buildah");

    let first = Storage::new();
    let stderr = first.build(&project, "localhost/mlr-repro:a");
    assert!(
        stderr.contains("warning: the image has no HEALTHCHECK"),
        "{stderr}"
    );
    let digest_a = first.digest("localhost/mlr-repro:a");
    let config_a = first.config("localhost/mlr-repro:a");

    // The config keeps the user and env, and its dates are the epoch.
    let inspect = first.buildah(&["inspect", "--type", "image", "localhost/mlr-repro:a"]);
    let inspect: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let oci = &inspect["OCIv1"];
    assert_eq!(oci["config"]["User"], "trainer", "{oci:#}");
    assert!(
        oci["config"]["Env"]
            .as_array()
            .unwrap()
            .contains(&"GREETING=hello from buildah".into()),
        "{oci:#}"
    );
    assert_eq!(oci["created"], "1970-01-01T00:00:00Z", "{oci:#}");

    // The user exists in /etc/passwd, the build step ran, COPY --chown gave
    // the user the app files.
    let ctr = first.buildah(&["from", "localhost/mlr-repro:a"]);
    let out = first.buildah(&[
        "run",
        "--isolation",
        "chroot",
        &ctr,
        "--",
        "/bin/sh",
        "-c",
        "id -un; head -1 /opt/built-from; stat -c %U /work/app/run.sh; sh /work/app/run.sh",
    ]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["trainer", "built by buildah", "trainer", "app says hi"],
        "{out}"
    );

    // Another host: empty buildah storage, empty mlr cache, a later clock.
    drop(first);
    remove_dir(&project.cache_dir());
    let second = Storage::new();
    second.build(&project, "localhost/mlr-repro:b");
    let digest_b = second.digest("localhost/mlr-repro:b");
    eprintln!("reproducible: first build {digest_a}, second build {digest_b}");
    let config_b = second.config("localhost/mlr-repro:b");
    assert_eq!(digest_a, digest_b, "configs:\n{config_a}\n{config_b}");
}

#[test]
fn a_one_line_manifest_change_changes_the_digest() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Buildah);
    let (registry, repo, _repo_dir) = fixtures();
    let project = locked_project(&registry, &repo, "hello from buildah");
    let storage = Storage::new();
    storage.build(&project, "localhost/mlr-repro:before");
    let before = storage.digest("localhost/mlr-repro:before");

    let manifest = project.read("ml.toml");
    project.file(
        "ml.toml",
        manifest.replace("hello from buildah", "hello, changed"),
    );
    project.mlr().arg("lock").assert().success();
    storage.build(&project, "localhost/mlr-repro:after");
    let after = storage.digest("localhost/mlr-repro:after");
    eprintln!("reproducible: before {before}, after {after}");
    assert_ne!(before, after);
}
