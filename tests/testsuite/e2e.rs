//! The walking skeleton end to end: lock, build with Docker, run, verify,
//! then drift in every direction.

use predicates::prelude::*;

use crate::support::{
    GitRepo, ImageCleanup, Project, Registry, Service, Storage, TestCa, Tool, docker, docker_run,
    require,
};

#[test]
fn lock_build_run_verify_and_drift() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);

    let registry = Registry::start();
    let base_ref = registry.reference("e2e/base", "v1");
    let pushed = registry.push_image("e2e/base", "v1", "linux/amd64");
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = GitRepo::init(repo_dir.path());
    let first_commit = repo.commit_file("MARKER", "built from the first commit\n", "first");

    let manifest = format!(
        r#"[project]
name = "e2e"

[base]
image = "{base_ref}"

[git.kernels]
url = "{url}"
rev = "main"
build = ["cat MARKER > /opt/built-from", "echo \"commit $MLR_GIT_COMMIT\" >> /opt/built-from"]

[env]
GREETING = "hello from mlr"

[image]
user = "trainer"
workdir = "/work"
entrypoint = ["/bin/sh", "-c"]
copy = [{{ src = "app", dst = "/work/app" }}]
healthcheck = {{ cmd = ["true"], interval = "30s", retries = 3 }}
"#,
        url = repo.url()
    );
    let project = Project::new();
    project.file("ml.toml", &manifest);
    project.file("app/run.sh", "echo app says hi\n");

    // Lock pins the digest and the commit.
    project.mlr().arg("lock").assert().success();
    let lock = project.read("ml.lock");
    assert!(
        lock.contains(&format!("digest = \"{}\"", pushed.digest)),
        "{lock}"
    );
    assert!(
        lock.contains(&format!("commit = \"{first_commit}\"")),
        "{lock}"
    );

    // Build with Docker.
    let tag = format!("mlr-e2e-test:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone()]);
    project
        .mlr()
        .args(["build", "--tag", &tag])
        .assert()
        .success()
        .stderr(predicate::str::contains("Built"));

    // The image shows the locked commit, the env value and a non-root user.
    let out = docker_run(
        &tag,
        &["cat /opt/built-from; echo \"$GREETING\"; id -un; id -u; pwd; sh /work/app/run.sh"],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "built from the first commit",
            &format!("commit {first_commit}"),
            "hello from mlr",
            "trainer",
            "1000",
            "/work",
            "app says hi",
        ],
        "{out}"
    );

    // Labels carry the lock's identity; the healthcheck is configured.
    let inspect = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Labels}} {{json .Config.Healthcheck}}",
        &tag,
    ]);
    let inspect = String::from_utf8_lossy(&inspect.stdout).to_string();
    assert!(
        inspect.contains("dev.mlr.manifest-fingerprint"),
        "{inspect}"
    );
    assert!(
        inspect.contains(&format!(
            "\"org.opencontainers.image.base.digest\":\"{}\"",
            pushed.digest
        )),
        "{inspect}"
    );
    assert!(inspect.contains("\"Retries\":3"), "{inspect}");

    // Verify passes.
    project.mlr().arg("verify").assert().success();

    // Edit the manifest: verify exits 1, --locked exits 1 and writes nothing.
    project.file("ml.toml", manifest.replace("hello from mlr", "changed"));
    project
        .mlr()
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "stale: ml.toml changed since the lock was written",
        ))
        .stderr(predicate::str::contains("hint: run `mlr lock`"));
    project
        .mlr()
        .args(["lock", "--locked"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--locked"));
    assert_eq!(project.read("ml.lock"), lock);
    // A stale lock is refused by build.
    project
        .mlr()
        .args(["build", "--tag", &tag])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not satisfy"))
        .stderr(predicate::str::contains("hint: run `mlr lock`"));
    project.file("ml.toml", &manifest);

    // Upstream moves: the branch gets a new commit and the tag a new image.
    repo.commit_file("MARKER", "built from a later commit\n", "second");
    let moved = registry.push_image_with("e2e/base", "v1", "linux/amd64", "moved-upstream");
    assert_ne!(moved.digest, pushed.digest);
    // Forget the engine's copy of the base so the build must pull by digest.
    docker(&[
        "image",
        "rm",
        "-f",
        &format!("{}/e2e/base@{}", registry.addr(), pushed.digest),
    ]);

    // The build from the existing lock still uses the locked commit and digest.
    let tag2 = format!("{tag}-again");
    let _cleanup2 = ImageCleanup::new([tag2.clone()]);
    project
        .mlr()
        .args(["build", "--tag", &tag2])
        .assert()
        .success();
    let out = docker_run(
        &tag2,
        &["cat /opt/built-from; cat /etc/mlr-marker 2>/dev/null || echo no-marker"],
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "built from the first commit",
            &format!("commit {first_commit}"),
            "no-marker"
        ],
        "{out}"
    );
    assert_eq!(project.read("ml.lock"), lock);
    project.mlr().arg("verify").assert().success();
}

#[test]
fn submodules_are_pinned_and_exported_at_their_commits() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);
    let registry = Registry::start();
    registry.push_image("sub/base", "v1", "linux/amd64");
    let dirs = tempfile::tempdir().unwrap();
    let lib = GitRepo::init(&dirs.path().join("lib"));
    let lib_commit = lib.commit_file("lib.txt", "lib at first commit\n", "lib");
    let main = GitRepo::init(&dirs.path().join("main"));
    main.commit_file("main.txt", "main\n", "main");
    main.add_submodule(&lib.url(), "third_party/lib");
    // The submodule's upstream moves on; the pin must not.
    lib.commit_file("lib.txt", "lib moved\n", "moved");

    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[git.main]\nurl = \"{}\"\nrev = \"main\"\nsubmodules = true\nbuild = [\"cp third_party/lib/lib.txt /opt/lib.txt\"]\n\n[image]\nuser = \"root\"\n",
            registry.reference("sub/base", "v1"),
            main.url()
        ),
    );
    project.mlr().arg("lock").assert().success();
    let lock = project.read("ml.lock");
    assert!(
        lock.contains(&format!(
            "{{ path = \"third_party/lib\", commit = \"{lib_commit}\" }}"
        )),
        "{lock}"
    );
    let tag = format!("mlr-submodule-test:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone()]);
    project
        .mlr()
        .args(["build", "--tag", &tag])
        .assert()
        .success();
    let out = docker_run(&tag, &["cat", "/opt/lib.txt"]);
    assert_eq!(out, "lib at first commit\n");
    // root was asked for explicitly.
    assert_eq!(docker_run(&tag, &["id", "-u"]), "0\n");
}

#[test]
fn images_are_labelled_with_the_project_commit() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);
    let registry = Registry::start();
    registry.push_image("label/base", "v1", "linux/amd64");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n",
            registry.reference("label/base", "v1")
        ),
    );
    let repo = GitRepo::init(project.root());
    project.mlr().arg("lock").assert().success();
    repo.git(&["add", "ml.toml", "ml.lock"]);
    let head = repo.commit("lock");
    let tag = format!("mlr-label-test:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone()]);
    project
        .mlr()
        .args(["build", "--tag", &tag])
        .assert()
        .success();
    let labels = |tag: &str| {
        let out = docker(&[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Labels}}",
            tag,
        ]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let l = labels(&tag);
    assert_eq!(l["org.opencontainers.image.revision"], head.as_str(), "{l}");
    assert_eq!(l["dev.mlr.git-dirty"], "false", "{l}");
    assert_eq!(l["dev.mlr.manifest"], "ml.toml", "{l}");
    assert_eq!(l["dev.mlr.version"], env!("CARGO_PKG_VERSION"), "{l}");
    assert!(
        l["dev.mlr.lock-sha256"]
            .as_str()
            .is_some_and(|s| s.len() == 64),
        "{l}"
    );
    // A local edit to a tracked file marks the image dirty.
    project.file("ml.toml", format!("{}# edited\n", project.read("ml.toml")));
    project
        .mlr()
        .args(["build", "--tag", &tag])
        .assert()
        .success();
    assert_eq!(labels(&tag)["dev.mlr.git-dirty"], "true");
}

/// A git build step that fails after printing what looks like apt's
/// words ("Unable to locate package", `.deb`, "was not found": the text
/// mlr once took for an expired apt pin).
const APT_LOOKALIKE: &str = "E: Unable to locate package foo (libfoo.deb was not found by apt)";

/// A locked project on a busybox base whose git source's second build
/// step prints [`APT_LOOKALIKE`] and exits 1. Returns the project, and the
/// repository to keep alive.
fn failing_build_step(registry: &Registry) -> (Project, tempfile::TempDir) {
    registry.push_image("fail/base", "v1", "linux/amd64");
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = GitRepo::init(repo_dir.path());
    repo.commit_file("Makefile", "all:\n", "first");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            r#"[base]
image = "{base}"

[git.kernels]
url = "{url}"
rev = "main"
build = ["echo compiling", "echo \"{APT_LOOKALIKE}\"; exit 1", "echo never"]

[image]
user = "root"
"#,
            base = registry.reference("fail/base", "v1"),
            url = repo.url()
        ),
    );
    project.mlr().arg("lock").assert().success();
    (project, repo_dir)
}

/// The failure is reported as the git source's step, with its command,
/// status and last lines, and never as an apt problem.
fn assert_reported_as_the_step(output: &std::process::Output) {
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = &stderr[stderr
        .find("error: ")
        .unwrap_or_else(|| panic!("no error in:\n{stderr}"))..];
    let headline = format!(
        "error: git source `kernels`: build step 2 (`echo \"{APT_LOOKALIKE}\"; exit 1`) \
         exited with status 1; its last lines of output:\n"
    );
    assert!(error.starts_with(&headline), "{stderr}");
    let tail: Vec<&str> = error.lines().skip(1).map(str::trim).collect();
    assert_eq!(tail, ["compiling", APT_LOOKALIKE], "{stderr}");
    for word in ["apt package", "snapshot"] {
        assert!(!stderr.contains(word), "`{word}` in:\n{stderr}");
    }
}

#[test]
fn a_failing_build_step_is_reported_as_that_step_by_docker() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);
    let registry = Registry::start();
    let (project, _repo) = failing_build_step(&registry);
    let tag = format!("mlr-failing-step:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone()]);
    let output = project
        .mlr()
        .args(["build", "--tag", &tag])
        .output()
        .unwrap();
    assert_reported_as_the_step(&output);
    // The failed step's container is gone (it would hold the layers).
    let containers =
        crate::support::docker(&["ps", "--all", "--no-trunc", "--format", "{{.Command}}"]);
    let containers = String::from_utf8_lossy(&containers.stdout);
    assert!(
        !containers.contains("Unable to locate package foo"),
        "a failed build left its container:\n{containers}"
    );
}

/// With a CA certificate the docker backend builds on BuildKit, whose
/// output tags each line with its step.
#[test]
fn a_failing_build_step_is_reported_as_that_step_by_buildkit() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);
    require!(Service::OpenSsl);
    let registry = Registry::start();
    let (project, _repo) = failing_build_step(&registry);
    let ca = TestCa::new();
    let tag = format!("mlr-failing-step-buildkit:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone()]);
    let output = project
        .mlr()
        .env("MLR_DOCKER", crate::secrets::buildkit_docker())
        .args(["build", "--tag", &tag, "--ca-cert"])
        .arg(ca.ca_pem())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("#1 [internal] load build definition"),
        "built with BuildKit"
    );
    assert_reported_as_the_step(&output);
}

#[test]
fn a_failing_build_step_is_reported_as_that_step_by_buildah() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Buildah);
    let registry = Registry::start();
    let (project, _repo) = failing_build_step(&registry);
    let storage = Storage::new(Tool::Buildah);
    let output = storage
        .mlr(&project)
        .args([
            "build",
            "--backend",
            "buildah",
            "--tag",
            "localhost/mlr-failing-step:1",
        ])
        .output()
        .unwrap();
    assert_reported_as_the_step(&output);
}
