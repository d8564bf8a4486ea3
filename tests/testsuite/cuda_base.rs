//! `[cuda]` without `[base]`: mlr picks the `nvidia/cuda` tag, confirms it
//! in the registry's tag list and pins it by digest. A local registry
//! mirrors docker.io (which is out of reach); the lock keeps the canonical
//! name.

use predicates::prelude::*;

use crate::support::{Project, Registry, Service, require};

fn mirror_env(project: &Project, registry: &Registry) -> Vec<(String, String)> {
    let _ = project;
    vec![(
        "MLR_REGISTRY_MIRRORS".into(),
        format!("docker.io={}", registry.addr()),
    )]
}

#[test]
fn cuda_picks_and_pins_the_expected_nvidia_cuda_tag() {
    require!(Service::Registry);
    let registry = Registry::start();
    let devel118 = registry.push_image(
        "nvidia/cuda",
        "11.8.0-cudnn8-devel-ubuntu22.04",
        "linux/amd64",
    );
    registry.push_image(
        "nvidia/cuda",
        "11.8.0-cudnn8-runtime-ubuntu22.04",
        "linux/amd64",
    );
    let devel124 = registry.push_image(
        "nvidia/cuda",
        "12.4.1-cudnn-devel-ubuntu22.04",
        "linux/amd64",
    );
    let project = Project::new();
    for (version, cudnn, tag, digest) in [
        (
            "11.8",
            "8",
            "11.8.0-cudnn8-devel-ubuntu22.04",
            &devel118.digest,
        ),
        (
            "12.4",
            "9",
            "12.4.1-cudnn-devel-ubuntu22.04",
            &devel124.digest,
        ),
    ] {
        project.file(
            "ml.toml",
            format!("[cuda]\nversion = \"{version}\"\ncudnn = \"{cudnn}\"\nflavor = \"devel\"\n"),
        );
        let mut cmd = project.mlr();
        cmd.envs(mirror_env(&project, &registry));
        cmd.arg("lock").assert().success();
        let lock = project.read("ml.lock");
        assert!(
            lock.contains(&format!("requested = \"docker.io/nvidia/cuda:{tag}\"")),
            "{lock}"
        );
        assert!(
            lock.contains("registry = \"docker.io\"\nrepository = \"nvidia/cuda\""),
            "{lock}"
        );
        assert!(lock.contains(&format!("digest = \"{digest}\"")), "{lock}");
        assert!(
            !lock.contains("127.0.0.1"),
            "the mirror is not pinned:\n{lock}"
        );
        let mut cmd = project.mlr();
        cmd.arg("verify").assert().success();
    }
}

#[test]
fn a_tag_missing_from_the_registry_is_a_clear_error() {
    require!(Service::Registry);
    let registry = Registry::start();
    registry.push_image(
        "nvidia/cuda",
        "11.8.0-cudnn8-runtime-ubuntu22.04",
        "linux/amd64",
    );
    let project = Project::new();
    project.file(
        "ml.toml",
        "[cuda]\nversion = \"11.8\"\ncudnn = \"8\"\nflavor = \"devel\"\n",
    );
    let mut cmd = project.mlr();
    cmd.envs(mirror_env(&project, &registry));
    cmd.arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "has no tag `11.8.0-cudnn8-devel-ubuntu22.04`",
        ))
        .stderr(predicate::str::contains(
            "11.8.0-cudnn8-runtime-ubuntu22.04",
        ));
    assert!(!project.exists("ml.lock"));
}
