//! `mlr build` across engines: which backend builds when `--backend` is not
//! given, `--push` to a real registry, and `--platform`.

use predicates::prelude::*;

use std::path::{Path, PathBuf};

use crate::support::{
    ImageCleanup, Project, Registry, Service, Storage, Tool, TwoPlatformPip, require,
    two_platform_pip,
};

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

#[test]
fn a_platform_the_lock_lacks_is_refused_with_the_locked_ones() {
    require!(Service::Registry);
    let registry = Registry::start();
    let project = busybox_project(&registry);
    project
        .mlr()
        .args(["build", "--platform", "linux/arm64"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: ml.lock has no platform `linux/arm64`",
        ))
        .stderr(predicate::str::contains(
            "hint: locked platforms: linux/amd64; to build another, add it to `[project] platforms`",
        ));
}

/// A `docker` on PATH that answers `docker info` and, for `docker build`,
/// keeps the arguments and a copy of the context in `out`: building arm64
/// for real needs qemu (binfmt_misc), which this machine lacks, so the test
/// looks at what mlr hands the engine instead.
fn docker_recorder(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("docker");
    std::fs::write(
        &script,
        r#"#!/bin/sh
out="$RECORDER_OUT"
case "$1" in
info) echo 20.10.24; exit 0 ;;
build)
    shift
    printf '%s\n' "$@" > "$out/args"
    iid=; ctx=
    while [ $# -gt 0 ]; do
        case "$1" in
        --iidfile) iid=$2; shift 2 ;;
        *) ctx=$1; shift ;;
        esac
    done
    cp -r "$ctx" "$out/context"
    echo sha256:recorded > "$iid"
    exit 0 ;;
esac
echo "recorder: unexpected docker $*" >&2
exit 1
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// The files below `dir`, as paths relative to it.
fn files_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn the_chosen_platform_decides_the_pip_files_in_the_context_and_the_engine_platform() {
    require!(Service::Registry);
    require!(Service::PyPI);
    // Bound whole: the registry and the index live as long as the test.
    let fixture = two_platform_pip();
    let TwoPlatformPip {
        project,
        amd64: x86,
        arm64: arm,
        ..
    } = &fixture;
    let dockerfile = project.mlr().arg("dockerfile").assert().success();
    let dockerfile = String::from_utf8_lossy(&dockerfile.get_output().stdout).into_owned();

    let recorder = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        docker_recorder(recorder.path()).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Without --platform, the host's.
    let (host, host_wheel, other_wheel) = if cfg!(target_arch = "aarch64") {
        ("linux/arm64", arm, x86)
    } else {
        ("linux/amd64", x86, arm)
    };
    for (platform, wanted, unwanted) in [
        (Some("linux/arm64"), arm, x86),
        (Some("linux/amd64"), x86, arm),
        (None, host_wheel, other_wheel),
    ] {
        let out = tempfile::tempdir().unwrap();
        let mut cmd = project.mlr();
        cmd.args(["build", "--tag", "mlr-platform:test"])
            .env("PATH", &path)
            .env("RECORDER_OUT", out.path());
        if let Some(p) = platform {
            cmd.args(["--platform", p]);
        }
        cmd.assert()
            .success()
            .stderr(predicate::str::contains("with docker"));
        let context = out.path().join("context");
        let files = files_below(&context);
        let label = platform.unwrap_or("default");
        assert!(
            files.iter().any(|f| f.ends_with(&wanted.filename)),
            "{label}: {files:?}"
        );
        assert!(
            !files.iter().any(|f| f.ends_with(&unwanted.filename)),
            "{label}: {files:?}"
        );
        let requirements: String = files
            .iter()
            .filter(|f| f.ends_with("requirements.txt"))
            .map(|f| std::fs::read_to_string(context.join(f)).unwrap())
            .collect();
        assert!(
            requirements.contains(&wanted.sha256),
            "{label}: {requirements}"
        );
        assert!(
            !requirements.contains(&unwanted.sha256),
            "{label}: {requirements}"
        );
        // The Dockerfile is the same for every platform (apt picks its
        // locked packages by `dpkg --print-architecture` inside the build),
        // so the engine's --platform decides the rest.
        assert_eq!(
            std::fs::read_to_string(context.join("Dockerfile")).unwrap(),
            dockerfile
        );
        let args = std::fs::read_to_string(out.path().join("args")).unwrap();
        let expected = platform.unwrap_or(host);
        assert!(
            args.contains(&format!("--platform\n{expected}\n")),
            "{label}: {args}"
        );
    }
}

#[test]
fn push_needs_a_tag_that_names_a_registry() {
    require!(Service::Registry);
    let registry = Registry::start();
    let project = busybox_project(&registry);
    // The default tag (`backends:<lock hash>`) names no registry; the
    // refusal comes before any engine is asked.
    let empty_path = tempfile::tempdir().unwrap();
    for args in [
        &["build", "--push"][..],
        &["build", "--push", "--tag", "team/app:1"],
    ] {
        project
            .mlr()
            .args(args)
            .env("PATH", empty_path.path())
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(
                "error: --push needs a tag that names a registry",
            ))
            .stderr(predicate::str::contains(
                "hint: give --tag a reference that names the registry to push to",
            ));
    }
}

/// Checks a `--push` run's output: the status line and the bare
/// `repo@digest` on stdout, with the digest the registry serves for `tag`.
fn assert_pushed(out: &std::process::Output, registry: &Registry, repo: &str, tag: &str) -> String {
    let served = registry.resolve(repo, tag);
    let reference = registry.reference(repo, tag);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout,
        format!("{}/{repo}@{served}\n", registry.addr()),
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("Pushed {reference}@{served}")),
        "{stderr}"
    );
    served
}

#[test]
fn docker_push_prints_the_digest_the_registry_serves() {
    require!(Service::Registry);
    require!(Service::Docker);
    let registry = Registry::start();
    let project = busybox_project(&registry);
    let tag = registry.reference("pushed/docker", "v1");
    let _cleanup = ImageCleanup::new([tag.clone()]);
    let out = project
        .mlr()
        .args(["build", "--backend", "docker", "--push", "--tag", &tag])
        .assert()
        .success();
    assert_pushed(out.get_output(), &registry, "pushed/docker", "v1");
}

#[test]
fn buildah_push_prints_the_digest_the_registry_serves() {
    require!(Service::Registry);
    require!(Service::Buildah);
    push_with(Tool::Buildah);
}

#[test]
fn podman_push_prints_the_digest_the_registry_serves() {
    require!(Service::Registry);
    require!(Service::Podman);
    push_with(Tool::Podman);
}

/// `mlr build --backend <tool> --push` (`push --digestfile`).
fn push_with(tool: Tool) {
    let registry = Registry::start();
    let project = busybox_project(&registry);
    let storage = Storage::new(tool);
    let repo = format!("pushed/{}", tool.program());
    let tag = registry.reference(&repo, "v1");
    let out = storage
        .mlr(&project)
        .args([
            "build",
            "--backend",
            tool.program(),
            "--push",
            "--tag",
            &tag,
        ])
        .assert()
        .success();
    let served = assert_pushed(out.get_output(), &registry, &repo, "v1");
    // What was pushed is the image built: the registry's manifest lists the
    // config whose digest is the image ID.
    let (_, manifest) = registry.manifest(&repo, &served);
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let id = storage.image_id(&tag);
    assert_eq!(
        manifest["config"]["digest"],
        format!("sha256:{id}"),
        "{manifest:#}"
    );
}

#[test]
fn docker_push_to_a_registry_with_credentials_never_prints_them() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::Htpasswd);
    let registry = Registry::start();
    let project = busybox_project(&registry);
    let password = "s3cret-push-password";
    let private = Registry::start_with_auth("pusher", password);
    let tag = private.reference("pushed/private", "v1");
    let _cleanup = ImageCleanup::new([tag.clone()]);

    // Without credentials: refused, with the command that logs in.
    project
        .mlr()
        .args(["build", "--backend", "docker", "--push", "--tag", &tag])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "hint: log in first: `docker login {}`",
            private.addr()
        )));

    // With them (as `docker login` leaves them): pushed, and neither the
    // password nor the encoded pair is printed.
    std::fs::write(
        project.docker_config_dir().join("config.json"),
        private.docker_config_json(),
    )
    .unwrap();
    let out = project
        .mlr()
        .args(["build", "--backend", "docker", "--push", "--tag", &tag])
        .assert()
        .success();
    let out = out.get_output();
    assert_pushed(out, &private, "pushed/private", "v1");
    let auth = private.basic_auth().unwrap();
    let encoded = auth.trim_start_matches("Basic ");
    for printed in [&out.stdout, &out.stderr] {
        let printed = String::from_utf8_lossy(printed);
        assert!(!printed.contains(password), "{printed}");
        assert!(!printed.contains(encoded), "{printed}");
    }
}

/// The build context holds exactly what the Dockerfile copies: the
/// Dockerfile, the exported git source and the `[image] copy` source, and
/// none of the project's other files (data, secrets, VCS metadata), so no
/// `.dockerignore` is needed. The engine is the recording `docker` script:
/// what is tested is what mlr hands to an engine.
#[test]
fn the_context_holds_only_what_the_dockerfile_copies() {
    require!(Service::Registry);
    require!(Service::Git);
    let registry = Registry::start();
    registry.push_image("ctx/base", "v1", "linux/amd64");
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = crate::support::GitRepo::init(repo_dir.path());
    repo.commit_file("kernel.c", "int main(void) { return 0; }\n", "first");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[git.kernels]\nurl = \"{}\"\nrev = \"main\"\n\n[image]\ncopy = [{{ src = \"app\", dst = \"/app\" }}]\n",
            registry.reference("ctx/base", "v1"),
            repo.url()
        ),
    );
    project.file("app/train.py", "print('train')\n");
    project.file("data/weights.bin", "big data");
    project.file(".env", "HF_TOKEN=hf_secret\n");
    project.file("notes.txt", "todo\n");
    project.mlr().arg("lock").assert().success();

    let recorder = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        docker_recorder(recorder.path()).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tempfile::tempdir().unwrap();
    project
        .mlr()
        .args(["build", "--backend", "docker", "--tag", "mlr-ctx:test"])
        .env("PATH", &path)
        .env("RECORDER_OUT", out.path())
        .assert()
        .success();
    let context = out.path().join("context");
    assert_eq!(
        files_below(&context),
        ["Dockerfile", "copy/0/train.py", "git/kernels/kernel.c"]
    );
    let dockerfile = std::fs::read_to_string(context.join("Dockerfile")).unwrap();
    for copied in ["COPY git/kernels ", " [\"copy/0\",\"/app\"]"] {
        assert!(dockerfile.contains(copied), "{dockerfile}");
    }
}

/// A CA certificate that cannot be read, or is not PEM, stops the build
/// before any engine runs, with the file named and a hint.
#[test]
fn a_bad_ca_certificate_is_a_clear_error() {
    require!(Service::Registry);
    let registry = Registry::start();
    let project = busybox_project(&registry);
    project.file("not-a-cert.pem", "hello\n");
    for (file, message) in [
        ("missing.pem", "cannot read the CA certificate"),
        ("not-a-cert.pem", "holds no PEM certificate"),
    ] {
        project
            .mlr()
            .args(["build", "--tag", "mlr-bad-ca:test", "--ca-cert", file])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains(file))
            .stderr(predicate::str::contains("hint:"))
            .stderr(predicate::str::contains("Building").not());
    }
}
