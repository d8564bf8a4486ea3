//! The command line itself: help, usage errors, `mlr init`, closed pipes.

use predicates::prelude::*;

use crate::support::Project;

#[test]
fn help_explains_every_command() {
    let p = Project::new();
    let out = p.mlr().arg("--help").assert().success();
    let help = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for cmd in ["init", "lock", "dockerfile", "build", "verify"] {
        assert!(help.contains(cmd), "{help}");
    }
    assert!(help.contains("Exit codes: 0 success, 1 drift"), "{help}");
    p.mlr()
        .args(["lock", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--locked"))
        .stdout(predicate::str::contains("--update"));
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new();
    p.mlr().arg("frobnicate").assert().code(2);
    p.mlr()
        .args(["lock", "--check", "--locked"])
        .assert()
        .code(2);
}

#[test]
fn missing_manifest_is_a_clear_error() {
    let p = Project::new();
    p.mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: could not find `ml.toml`"))
        .stderr(predicate::str::contains("hint: run `mlr init`"));
}

#[test]
fn init_writes_a_manifest_that_parses() {
    let p = Project::new();
    p.mlr().arg("init").assert().success();
    let manifest = p.read("ml.toml");
    assert!(
        manifest.starts_with("#:schema ./.mlr/ml.toml.schema.json\n"),
        "{manifest}"
    );
    let schema = p.read(".mlr/ml.toml.schema.json");
    assert_eq!(schema, mlr::schema::manifest_schema());
    mlr::manifest::parse(&manifest, "ml.toml").expect("the template parses");
    // A second init refuses to overwrite.
    p.mlr()
        .arg("init")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    p.mlr().args(["init", "--force"]).assert().success();
}

#[test]
fn manifest_found_from_a_subdirectory_and_by_path() {
    let p = Project::new();
    p.file(
        "ml.toml",
        "[base]\nimage = \"127.0.0.1:1/x:y\"\n\n[apt]\npackages = [\"git\"]\n",
    );
    p.file("sub/dir/.keep", "");
    // Nothing listens on port 1; one attempt is enough to show it.
    p.mlr()
        .current_dir(p.path("sub/dir"))
        .env("MLR_HTTP_RETRIES", "0")
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("resolving image 127.0.0.1:1/x:y"));
    let elsewhere = Project::new();
    elsewhere
        .mlr()
        .env("MLR_HTTP_RETRIES", "0")
        .args(["lock", "--manifest-path"])
        .arg(p.path("ml.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("resolving image 127.0.0.1:1/x:y"));
}

#[test]
fn init_cleans_an_awkward_directory_name() {
    let p = Project::new();
    p.file("-My Project+1_/.keep", "");
    p.mlr()
        .current_dir(p.path("-My Project+1_"))
        .arg("init")
        .assert()
        .success();
    let manifest = p.read("-My Project+1_/ml.toml");
    assert!(manifest.contains("name = \"my-project-1\""), "{manifest}");
    mlr::manifest::parse(&manifest, "ml.toml").expect("the template parses");
}
