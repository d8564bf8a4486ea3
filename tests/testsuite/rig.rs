//! Tests of the test rig itself: each service starts and behaves like the
//! real thing the later tests rely on.

use std::collections::BTreeSet;

use crate::support::{
    GitRepo, ImageCleanup, Project, PushedImage, PushedIndex, Registry, Service, docker,
    docker_build, docker_run, require,
};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

fn get_status(url: &str, authorization: Option<&str>) -> u16 {
    let mut request = agent().get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    request.call().expect("GET").status().as_u16()
}

#[test]
fn registry_answers_v2() {
    require!(Service::Registry);
    let registry = Registry::start();
    assert!(registry.addr().starts_with("127.0.0.1:"));
    assert_eq!(get_status(&format!("{}/v2/", registry.url()), None), 200);
}

#[test]
fn registries_run_side_by_side_on_distinct_ports() {
    require!(Service::Registry);
    let registries: Vec<Registry> = (0..3).map(|_| Registry::start()).collect();
    let addrs: BTreeSet<String> = registries.iter().map(Registry::addr).collect();
    assert_eq!(addrs.len(), 3);
}

#[test]
fn auth_registry_refuses_anonymous_and_accepts_basic() {
    require!(Service::Registry);
    require!(Service::Htpasswd);
    let registry = Registry::start_with_auth("alice", "s3cret");
    let url = format!("{}/v2/", registry.url());
    assert_eq!(get_status(&url, None), 401);
    assert_eq!(get_status(&url, Some("Basic YWxpY2U6d3Jvbmc=")), 401); // alice:wrong
    let auth = registry.basic_auth().expect("credentials");
    assert_eq!(auth, "Basic YWxpY2U6czNjcmV0");
    assert_eq!(get_status(&url, Some(&auth)), 200);

    let pushed = registry.push_image("private/app", "v1", "linux/amd64");
    assert_eq!(registry.resolve("private/app", "v1"), pushed.digest);
    let manifest_url = format!("{}/v2/private/app/manifests/v1", registry.url());
    assert_eq!(get_status(&manifest_url, None), 401);
}

#[test]
fn pushed_image_is_deterministic_and_resolvable() {
    require!(Service::Registry);
    let registry = Registry::start();
    let first: PushedImage = registry.push_image("base/busybox", "1", "linux/amd64");
    assert!(is_digest(&first.digest), "{first:?}");
    assert_eq!(registry.resolve("base/busybox", "1"), first.digest);
    assert_eq!(
        registry.resolve("base/busybox", &first.digest),
        first.digest
    );

    let (media_type, bytes) = registry.manifest("base/busybox", "1");
    assert_eq!(media_type, "application/vnd.oci.image.manifest.v1+json");
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(manifest["config"]["digest"], first.config_digest.as_str());
    assert_eq!(manifest["layers"][0]["digest"], first.layer_digest.as_str());

    // The same push, even to another registry, gives the same digest.
    let again = Registry::start().push_image("other/name", "x", "linux/amd64");
    assert_eq!(again.digest, first.digest);
}

#[test]
fn push_image_with_another_marker_moves_the_tag() {
    require!(Service::Registry);
    let registry = Registry::start();
    let original = registry.push_image("base/busybox", "stable", "linux/amd64");
    let retagged = registry.push_image_with("base/busybox", "stable", "linux/amd64", "v2");
    assert_ne!(original.digest, retagged.digest);
    assert_eq!(registry.resolve("base/busybox", "stable"), retagged.digest);
    // The old manifest is still there by digest, as upstream registries keep it.
    assert_eq!(
        registry.resolve("base/busybox", &original.digest),
        original.digest
    );
    let same = registry.push_image_with("base/busybox", "again", "linux/amd64", "v2");
    assert_eq!(same.digest, retagged.digest);
}

#[test]
fn pushed_index_lists_each_platform() {
    require!(Service::Registry);
    let registry = Registry::start();
    let index: PushedIndex =
        registry.push_index("multi/app", "latest", &["linux/amd64", "linux/arm64"]);
    assert_eq!(registry.resolve("multi/app", "latest"), index.digest);

    let (media_type, bytes) = registry.manifest("multi/app", "latest");
    assert_eq!(media_type, "application/vnd.oci.image.index.v1+json");
    let listed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let listed: Vec<(String, String)> = listed["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let p = &m["platform"];
            (
                format!(
                    "{}/{}",
                    p["os"].as_str().unwrap(),
                    p["architecture"].as_str().unwrap()
                ),
                m["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(listed, index.manifests);
    assert_ne!(
        index.manifest_for("linux/amd64"),
        index.manifest_for("linux/arm64")
    );
    for (_, digest) in &index.manifests {
        assert_eq!(registry.resolve("multi/app", digest), *digest);
    }
    // A single-platform push of the host platform is the index's entry.
    let amd64 = registry.push_image("multi/app", "amd64", "linux/amd64");
    assert_eq!(amd64.digest, index.manifest_for("linux/amd64"));

    let moved =
        registry.push_index_with("multi/app", "latest", &["linux/amd64", "linux/arm64"], "2");
    assert_ne!(moved.digest, index.digest);
    assert_eq!(registry.resolve("multi/app", "latest"), moved.digest);
}

#[test]
fn engine_pulls_and_runs_a_pushed_image() {
    require!(Service::Registry);
    require!(Service::Docker);
    let registry = Registry::start();
    let pushed = registry.push_image_with("rig/busybox", "1", "linux/amd64", "rig-marker");
    let by_tag = registry.reference("rig/busybox", "1");
    let by_digest = format!("{}/rig/busybox@{}", registry.addr(), pushed.digest);
    let _cleanup = ImageCleanup::new([by_tag.clone(), by_digest.clone()]);

    let pull = docker(&["pull", &by_tag]);
    assert!(
        pull.status.success(),
        "docker pull {by_tag}: {}",
        String::from_utf8_lossy(&pull.stderr)
    );
    let stdout = String::from_utf8_lossy(&pull.stdout);
    assert!(stdout.contains(&pushed.digest), "pull output: {stdout}");

    assert_eq!(docker_run(&by_tag, &["echo", "hi"]), "hi\n");
    assert_eq!(
        docker_run(&by_digest, &["cat", "/etc/mlr-marker"]),
        "rig-marker"
    );
    assert_eq!(docker_run(&by_tag, &["id", "-un"]), "root\n");
    assert_eq!(
        docker_run(&by_tag, &["sh", "-c", "test -d /tmp && echo $PATH"]).trim(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
}

#[test]
fn engine_builds_from_a_pushed_image_by_digest() {
    require!(Service::Registry);
    require!(Service::Docker);
    let registry = Registry::start();
    let pushed = registry.push_image("rig/base", "1", "linux/amd64");
    let base = format!("{}/rig/base@{}", registry.addr(), pushed.digest);
    let project = Project::new();
    project.file("hello.txt", "from the context\n");
    let tag = format!("mlr-rig-build:{}", registry.addr().replace(['.', ':'], "-"));
    let _cleanup = ImageCleanup::new([tag.clone(), base.clone()]);

    docker_build(
        project.root(),
        &format!(
            "FROM {base}\n\
             RUN mkdir -p /app && echo built > /app/built && chown -R nobody /app\n\
             COPY hello.txt /app/\n\
             USER nobody\n"
        ),
        &tag,
    );
    assert_eq!(
        docker_run(&tag, &["cat", "/app/built", "/app/hello.txt"]),
        "built\nfrom the context\n"
    );
    assert_eq!(docker_run(&tag, &["whoami"]), "nobody\n");
}

#[test]
fn engine_picks_the_host_platform_from_an_index() {
    require!(Service::Registry);
    require!(Service::Docker);
    let registry = Registry::start();
    let index = registry.push_index("rig/multi", "1", &["linux/amd64", "linux/arm64"]);
    let reference = registry.reference("rig/multi", "1");
    let _cleanup = ImageCleanup::new([reference.clone()]);
    assert_eq!(docker_run(&reference, &["echo", "multi"]), "multi\n");
    let inspect = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &reference,
    ]);
    assert!(
        String::from_utf8_lossy(&inspect.stdout).contains(&index.digest),
        "{}",
        String::from_utf8_lossy(&inspect.stdout)
    );
}

#[test]
fn engine_pulls_from_an_auth_registry_with_a_docker_config() {
    require!(Service::Registry);
    require!(Service::Htpasswd);
    require!(Service::Docker);
    let registry = Registry::start_with_auth("bob", "hunter2");
    registry.push_image("private/base", "1", "linux/amd64");
    let reference = registry.reference("private/base", "1");
    let _cleanup = ImageCleanup::new([reference.clone()]);
    let project = Project::new();
    let anonymous = project.docker_config_dir();
    let logged_in = project.home().join(".docker");
    std::fs::create_dir_all(&logged_in).unwrap();
    std::fs::write(logged_in.join("config.json"), registry.docker_config_json()).unwrap();

    let refused = docker(&["--config", anonymous.to_str().unwrap(), "pull", &reference]);
    assert!(!refused.status.success(), "anonymous pull succeeded");
    let pulled = docker(&["--config", logged_in.to_str().unwrap(), "pull", &reference]);
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
}

#[test]
fn git_repo_commits_tags_and_moves_branches() {
    require!(Service::Git);
    let project = Project::new();
    let repo = GitRepo::init(&project.path("upstream"));
    let first = repo.commit_file("src/lib.txt", "one\n", "first");
    assert!(is_sha(&first), "{first}");
    assert_eq!(repo.head(), first);
    assert!(is_sha(&repo.tree("HEAD")));

    assert_eq!(repo.tag("v1"), first);
    let tag_object = repo.annotated_tag("v1-annotated", "release 1");
    assert!(is_sha(&tag_object));
    assert_ne!(tag_object, first);
    assert_eq!(repo.rev_parse("v1-annotated^{commit}"), first);

    assert_eq!(repo.branch("release"), first);
    repo.checkout("release");
    let second = repo.commit_file("src/lib.txt", "two\n", "second");
    assert_ne!(second, first);
    assert_eq!(repo.rev_parse("release"), second);
    assert_eq!(repo.rev_parse("main"), first);
    assert_ne!(repo.tree(&second), repo.tree(&first));

    // Re-pointing a tag simulates upstream drift.
    assert_eq!(repo.tag("v1"), second);

    assert!(repo.url().starts_with("file:///"));
    let clone = project.path("clone");
    let out = std::process::Command::new("git")
        .args(["clone", "-q", "--branch", "release", &repo.url()])
        .arg(&clone)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("src/lib.txt")).unwrap(),
        "two\n"
    );
}

#[test]
fn git_repos_with_equal_histories_have_equal_shas() {
    require!(Service::Git);
    let project = Project::new();
    let shas: Vec<String> = ["a", "b"]
        .iter()
        .map(|dir| {
            let repo = GitRepo::init(&project.path(dir));
            repo.commit_file("f", "x\n", "one");
            repo.commit_file("f", "y\n", "two")
        })
        .collect();
    assert_eq!(shas[0], shas[1]);
}

#[test]
fn git_repo_adds_a_file_submodule() {
    require!(Service::Git);
    let project = Project::new();
    let inner = GitRepo::init(&project.path("inner"));
    let inner_head = inner.commit_file("README", "inner\n", "inner");
    let outer = GitRepo::init(&project.path("outer"));
    outer.commit_file("README", "outer\n", "outer");
    outer.add_submodule(&inner.url(), "third_party/inner");
    let listed = outer.git(&["ls-tree", "HEAD", "third_party/inner"]);
    assert!(listed.starts_with("160000 commit "), "{listed}");
    assert!(listed.contains(&inner_head), "{listed}");
}

#[test]
fn project_writes_reads_and_isolates_mlr() {
    let project = Project::new();
    project
        .file("ml.toml", "[project]\nname = \"rig\"\n")
        .file("nested/dir/file.txt", "x");
    assert_eq!(project.read("nested/dir/file.txt"), "x");
    assert!(project.exists("ml.toml"));
    assert!(!project.cache_dir().starts_with(project.root()));
    assert!(!project.home().starts_with(project.root()));

    // The preconfigured command finds and starts the real binary.
    project.mlr().arg("--version").output().expect("spawn mlr");
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
