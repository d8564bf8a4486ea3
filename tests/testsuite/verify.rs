//! `mlr verify` and `mlr dockerfile`: offline checks and their exit codes.

use predicates::prelude::*;

use crate::support::{GitRepo, Project, Registry, Service, require};

struct Locked {
    project: Project,
    _registry: Registry,
    _repo: GitRepo,
    _dir: tempfile::TempDir,
}

fn locked_project() -> Locked {
    let registry = Registry::start();
    registry.push_image("v/base", "v1", "linux/amd64");
    let dir = tempfile::tempdir().unwrap();
    let repo = GitRepo::init(dir.path());
    repo.commit_file("README", "x\n", "init");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[git.src]\nurl = \"{}\"\nrev = \"main\"\nbuild = [\"make\"]\n\n[env]\nA = \"1\"\n",
            registry.reference("v/base", "v1"),
            repo.url()
        ),
    );
    project.mlr().arg("lock").assert().success();
    Locked {
        project,
        _registry: registry,
        _repo: repo,
        _dir: dir,
    }
}

#[test]
fn verify_reports_each_finding_with_exit_1() {
    require!(Service::Registry);
    require!(Service::Git);
    let l = locked_project();
    let p = &l.project;
    p.mlr()
        .arg("verify")
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("Verified"));
    p.mlr()
        .args(["verify", "--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"ok\": true"));

    // A committed Dockerfile that matches passes; an edited one fails.
    p.mlr()
        .args(["dockerfile", "-o", "Dockerfile"])
        .assert()
        .success();
    p.mlr().arg("verify").assert().success();
    let dockerfile = p.read("Dockerfile");
    p.file("Dockerfile", dockerfile.replace("A=\"1\"", "A=\"2\""));
    p.mlr()
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("dockerfile: Dockerfile:"))
        .stderr(predicate::str::contains("mlr dockerfile -o Dockerfile"));
    std::fs::remove_file(p.path("Dockerfile")).unwrap();

    // A hand-edited (but valid) lock is not canonical.
    let lock = p.read("ml.lock");
    p.file(
        "ml.lock",
        lock.replace("requested = \"main\"", "requested   =   \"main\""),
    );
    p.mlr()
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not canonical: ml.lock:"));
    p.file("ml.lock", &lock);

    // A removed entry and a new one, each on its own line, plus the fingerprint.
    let manifest = p.read("ml.toml");
    p.file("ml.toml", manifest.replace("[git.src]", "[git.renamed]"));
    let out = p.mlr().args(["verify"]).assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("stale: git `renamed`: new requirement"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("stale: git `src`: locked as"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("stale: ml.toml changed since the lock was written"),
        "{stdout}"
    );
    p.mlr()
        .args(["verify", "--format", "json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"finding\": \"new-requirement\""))
        .stdout(predicate::str::contains(
            "\"finding\": \"removed-requirement\"",
        ));

    // A hash that is not a hash.
    p.file("ml.toml", &manifest);
    let commit_line = lock.lines().find(|l| l.starts_with("commit = ")).unwrap();
    let edited = lock.replace(commit_line, "commit = \"main\"");
    let row = edited
        .lines()
        .position(|l| l == "commit = \"main\"")
        .unwrap()
        + 1;
    p.file("ml.lock", &edited);
    p.mlr()
        .arg("verify")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "ml.lock:{row}:10: commit `main` is not a full git object name"
        )));

    // No lock at all.
    std::fs::remove_file(p.path("ml.lock")).unwrap();
    p.mlr()
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("missing: ml.lock does not exist"));
}

#[test]
fn verify_ignores_formatting_only_manifest_changes() {
    require!(Service::Registry);
    require!(Service::Git);
    let l = locked_project();
    let p = &l.project;
    let manifest = p.read("ml.toml");
    // Comments, reordered tables and CRLF line endings.
    let mut tables: Vec<&str> = manifest.split("\n\n").collect();
    tables.reverse();
    let reordered =
        format!("# a comment\n{}\n", tables.join("\n\n# between tables\n\n")).replace('\n', "\r\n");
    p.file("ml.toml", reordered);
    p.mlr().arg("verify").assert().success();
}

#[test]
fn dockerfile_is_rendered_from_the_lock() {
    require!(Service::Registry);
    require!(Service::Git);
    let l = locked_project();
    let p = &l.project;
    let lock = p.read("ml.lock");
    let digest = lock
        .lines()
        .find(|l| l.starts_with("digest = "))
        .unwrap()
        .trim_start_matches("digest = ")
        .trim_matches('"')
        .to_string();
    let out = p.mlr().arg("dockerfile").assert().success();
    let dockerfile = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        dockerfile.starts_with("# This Dockerfile is @generated by mlr"),
        "{dockerfile}"
    );
    assert!(
        dockerfile.contains(&format!("/v/base@{digest}")),
        "{dockerfile}"
    );
    assert!(
        dockerfile.contains("COPY git/src /opt/mlr/git/src"),
        "{dockerfile}"
    );
    assert!(
        dockerfile.contains("USER ml\n"),
        "non-root by default: {dockerfile}"
    );
    // Pure: the same output offline, twice.
    let again = p.mlr().args(["dockerfile", "--offline"]).assert().success();
    assert_eq!(
        String::from_utf8_lossy(&again.get_output().stdout),
        dockerfile
    );
    // A reader that is already gone (`mlr dockerfile | head`): no panic, exit 0.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "(sleep 0.5; '{}' dockerfile; echo \"rc=$?\" >&2) | true",
            assert_cmd::cargo::cargo_bin!("mlr").display()
        ))
        .current_dir(p.root())
        .env("MLR_CACHE_DIR", p.cache_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rc=0"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
