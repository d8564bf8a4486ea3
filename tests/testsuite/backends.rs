//! `mlr build` across engines: which backend builds when `--backend` is not
//! given, `--push` to a real registry, and `--platform`.

use predicates::prelude::*;

use crate::support::{Project, Registry, Service, Storage, Tool, require};

/// A locked project on a busybox base from `registry`: no git, apt or pip,
/// so any engine builds it in seconds.
fn busybox_project(registry: &Registry) -> Project {
    registry.push_image("backends/base", "v1", "linux/amd64");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[project]\nname = \"backends\"\n\n[base]\nimage = \"{}\"\n\n[env]\nGREETING = \"hello\"\n",
            registry.reference("backends/base", "v1")
        ),
    );
    project.mlr().arg("lock").assert().success();
    project
}

#[test]
fn without_backend_a_host_whose_docker_engine_is_down_builds_with_buildah() {
    require!(Service::Registry);
    require!(Service::Buildah);
    let registry = Registry::start();
    let project = busybox_project(&registry);
    let storage = Storage::new(Tool::Buildah);
    storage
        .mlr(&project)
        .args(["build", "--tag", "localhost/mlr-detect:1"])
        // The docker CLI is there, its engine is not.
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Building localhost/mlr-detect:1 with buildah",
        ));
    storage.digest("localhost/mlr-detect:1");
}

#[test]
fn without_backend_and_without_any_engine_the_error_names_what_to_install() {
    require!(Service::Registry);
    let registry = Registry::start();
    let project = busybox_project(&registry);
    let empty_path = tempfile::tempdir().unwrap();
    project
        .mlr()
        .arg("build")
        .env("PATH", empty_path.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: no container engine to build with: docker is not installed, \
             and neither buildah nor podman is installed",
        ))
        .stderr(predicate::str::contains(
            "hint: install a container engine: buildah (apt-get install buildah)",
        ));
}

#[test]
fn backend_overrides_detection() {
    require!(Service::Registry);
    require!(Service::Podman);
    let registry = Registry::start();
    let project = busybox_project(&registry);
    let storage = Storage::new(Tool::Podman);
    storage
        .mlr(&project)
        .args([
            "build",
            "--backend",
            "podman",
            "--tag",
            "localhost/mlr-detect:2",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Building localhost/mlr-detect:2 with podman",
        ));
    storage.digest("localhost/mlr-detect:2");
}
