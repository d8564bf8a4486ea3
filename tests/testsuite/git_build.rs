//! What `[git.NAME] build` steps see and leave, built with docker on a
//! busybox base: each step starts in the checkout, whatever the one before
//! it did, and a file the steps write under a home directory is refused
//! (caches mlr leaves out of the outputs excepted).

use crate::support::{GitRepo, ImageCleanup, Project, Registry, Service, docker, require};

/// Where the git source of [`locked_build`] is checked out in the image.
const CHECKOUT: &str = "/opt/mlr/git/steps";

/// A locked project on a busybox base (image user: the default `ml`) whose
/// git source `steps` runs `build`. Returns the project and the
/// repository's directory, to keep alive.
fn locked_build(registry: &Registry, build: &[&str]) -> (Project, tempfile::TempDir) {
    registry.push_image("steps/base", "v1", "linux/amd64");
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = GitRepo::init(repo_dir.path());
    repo.commit_file("README", "a checkout\n", "first");
    // Rust's debug form of an ASCII string is a TOML basic string.
    let build: Vec<String> = build.iter().map(|step| format!("{step:?}")).collect();
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{base}\"\n\n[git.steps]\nurl = \"{url}\"\nrev = \"main\"\nbuild = [{build}]\n",
            base = registry.reference("steps/base", "v1"),
            url = repo.url(),
            build = build.join(", "),
        ),
    );
    project.mlr().arg("lock").assert().success();
    (project, repo_dir)
}

/// `mlr build --tag <tag>`, with the tag removed afterwards.
fn build(project: &Project, tag: &str) -> (std::process::Output, ImageCleanup) {
    let cleanup = ImageCleanup::for_build(tag, project);
    let output = project
        .mlr()
        .args(["build", "--tag", tag])
        .output()
        .unwrap();
    (output, cleanup)
}

/// `sh -c script` in the image, as root; its stdout.
fn run_as_root(tag: &str, script: &str) -> String {
    let out = docker(&["run", "--rm", "--user", "0", tag, "sh", "-c", script]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_build_step_starts_in_the_checkout_and_nothing_carries_over() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);
    let registry = Registry::start();
    let (project, _repo) = locked_build(
        &registry,
        &[
            "mkdir -p sub && cd sub && export MLR_CARRIED=yes",
            "echo \"$(pwd) ${MLR_CARRIED:-unset}\" > at-start",
        ],
    );
    let tag = format!("mlr-git-build-steps:{}", std::process::id());
    let (output, _cleanup) = build(&project, &tag);
    assert!(output.status.success(), "{output:?}");
    // The second step ran in the checkout, without the first one's
    // variable; its file is at the checkout's root, not under `sub/`.
    let shown = run_as_root(
        &tag,
        &format!("cat {CHECKOUT}/at-start; test -e {CHECKOUT}/sub/at-start || echo not-in-sub"),
    );
    assert_eq!(shown, format!("{CHECKOUT} unset\nnot-in-sub\n"));
}

#[test]
fn a_build_step_writing_under_root_s_home_fails_the_build() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);
    let registry = Registry::start();
    // What `python setup.py install --user` does as root, without Python.
    let (project, _repo) = locked_build(
        &registry,
        &[
            "echo compiling",
            "mkdir -p /root/.local/lib && echo x > /root/.local/lib/mod.py",
        ],
    );
    let tag = format!("mlr-git-build-home:{}", std::process::id());
    let (output, _cleanup) = build(&project, &tag);
    // A build step's failure: exit 2, the source, the path and the remedy.
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = &stderr[stderr
        .find("error: ")
        .unwrap_or_else(|| panic!("no error in:\n{stderr}"))..];
    assert_eq!(
        error,
        "error: git source `steps`: a build step wrote `/root/.local/lib/mod.py`, under a home \
         directory; build steps run as root, not as the image's user, so mlr refuses outputs \
         under /root and /home\n\
         hint: install into the environment: `pip install .` instead of `--user`, or \
         `python setup.py install` without `--user`\n",
        "{stderr}"
    );
    let images = docker(&["image", "ls", "--quiet", &tag]);
    assert!(images.stdout.is_empty(), "the image was tagged: {images:?}");
}

#[test]
fn a_build_step_writing_only_to_root_s_cache_builds() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);
    let registry = Registry::start();
    // pip's cache as root: left out of the outputs, so no user install.
    let (project, _repo) = locked_build(
        &registry,
        &["mkdir -p /root/.cache/pip && echo x > /root/.cache/pip/wheel && touch built"],
    );
    let tag = format!("mlr-git-build-cache:{}", std::process::id());
    let (output, _cleanup) = build(&project, &tag);
    assert!(output.status.success(), "{output:?}");
    let shown = run_as_root(
        &tag,
        &format!("ls {CHECKOUT}/built; test -e /root/.cache/pip/wheel || echo not-cached"),
    );
    assert_eq!(shown, format!("{CHECKOUT}/built\nnot-cached\n"));
}
