//! Network faults: a [`FaultProxy`] in front of the real registry, Python
//! index and apt archive makes single requests fail (an error status, a
//! 429, a hang, a body cut in the middle, wrong bytes), and `mlr lock` and
//! `mlr build` must retry what another try can fix, fail within a minute
//! on what it cannot, say how many attempts were made, and never cache a
//! wrong byte.
//!
//! Most tests shorten the stall timeout (`MLR_HTTP_TIMEOUT`) to keep the
//! suite fast; one hang runs on the defaults to prove the 60 s bound.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{
    AptRepo, DebSpec, Fault, FaultProxy, Layer, Project, PyIndex, Registry, Service, WheelSpec,
    push_debian_marker, require, shared_uv,
};

const OS_RELEASE: &str = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
const STATUS: &str =
    "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n";

/// A registry and an apt archive, each behind its own fault proxy, and a
/// project whose base image (named through the registry's proxy) lists the
/// archive (through its proxy) as its apt source.
struct AptEnv {
    _registry: Registry,
    _repo: AptRepo,
    registry_proxy: FaultProxy,
    apt_proxy: FaultProxy,
    /// The archive's URL through its proxy.
    apt_url: String,
    project: Project,
    /// The base's only layer.
    layer: String,
}

fn apt_env() -> AptEnv {
    let registry = Registry::start();
    let repo = AptRepo::start("bookworm", &["main"]);
    repo.add(&DebSpec::new("app", "1.0-1").arch("amd64").depends("libfoo"));
    repo.add(&DebSpec::new("libfoo", "2.0-1").arch("amd64"));
    repo.publish();
    let registry_proxy = FaultProxy::start(&registry.addr());
    let apt_proxy = FaultProxy::start(&repo.addr());
    let sources = repo.sources_line().replace(&repo.addr(), apt_proxy.addr());
    let apt_url = repo.url().replace(&repo.addr(), apt_proxy.addr());
    let pushed = registry.push_layers(
        "faults/base",
        "12",
        "linux/amd64",
        &[Layer::new()
            .file("etc/os-release", OS_RELEASE)
            .file("etc/apt/sources.list", &format!("{sources}\n"))
            .file("var/lib/dpkg/status", STATUS)],
    );
    let base = registry
        .reference("faults/base", "12")
        .replace(&registry.addr(), registry_proxy.addr());
    let project = Project::new();
    project.file(
        "ml.toml",
        format!("[base]\nimage = \"{base}\"\n\n[apt]\npackages = [\"app\"]\n"),
    );
    AptEnv {
        _registry: registry,
        _repo: repo,
        registry_proxy,
        apt_proxy,
        apt_url,
        project,
        layer: pushed.layer_digest,
    }
}

/// The attempt count `… failed after N attempts` names.
fn attempts_in(stderr: &str) -> usize {
    let at = stderr
        .find(" failed after ")
        .unwrap_or_else(|| panic!("no attempt count in:\n{stderr}"));
    stderr[at + " failed after ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no attempt count in:\n{stderr}"))
}

/// Runs `cmd`, which must fail with exit code 2 within `limit`; its stderr.
fn fails_within(mut cmd: assert_cmd::Command, limit: Duration) -> String {
    let start = Instant::now();
    let out = cmd.timeout(limit * 2).output().expect("run mlr");
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(elapsed < limit, "took {elapsed:?}:\n{stderr}");
    stderr
}

/// Every file in the blob cache hashes to its name; no temporary file is
/// left beside them.
fn blob_cache_is_clean(cache: &Path) {
    let dir = cache.join("blobs").join("sha256");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let actual = sha256_hex(&bytes);
        assert_eq!(actual, name, "{} holds wrong bytes", path.display());
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_hang_on_the_apt_release_fails_within_a_minute_on_the_defaults() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let e = apt_env();
    e.apt_proxy.always("/Release", Fault::Hang);
    let mut cmd = e.project.mlr();
    cmd.arg("lock");
    let stderr = fails_within(cmd, Duration::from_secs(60));
    assert!(
        stderr.contains(&format!(
            "GET {}/dists/bookworm/Release failed after 3 attempts",
            e.apt_url
        )),
        "{stderr}"
    );
    assert!(stderr.contains("no answer within 15 s"), "{stderr}");
    assert!(
        stderr.contains("[mirrors]") && stderr.contains("--offline"),
        "the hint names mirrors and --offline:\n{stderr}"
    );
    // The count is what the server saw.
    assert_eq!(e.apt_proxy.hits("/Release"), 3, "{:?}", e.apt_proxy.log());
    assert!(!e.project.exists("ml.lock"));
}

#[test]
fn a_hang_on_a_registry_blob_fails_with_the_attempt_count() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let e = apt_env();
    e.registry_proxy.always(&e.layer, Fault::Hang);
    let mut cmd = e.project.mlr();
    cmd.env("MLR_HTTP_TIMEOUT", "3").arg("lock");
    let stderr = fails_within(cmd, Duration::from_secs(60));
    assert!(
        stderr.contains(&format!(
            "GET {}/v2/faults/base/blobs/{} failed after",
            e.registry_proxy.url(),
            e.layer
        )),
        "{stderr}"
    );
    assert!(stderr.contains("read stalled for 3 s"), "{stderr}");
    let attempts = attempts_in(&stderr);
    assert!(attempts >= 2, "{stderr}");
    assert_eq!(e.registry_proxy.hits(&e.layer), attempts);
    blob_cache_is_clean(&e.project.cache_dir());
}

#[test]
fn one_500_one_429_and_one_cut_body_are_each_retried() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let e = apt_env();
    e.apt_proxy
        .fail("/Release", Fault::Status(500), 1)
        .fail("/Packages", Fault::TooManyRequests { retry_after: 1 }, 1)
        .fail("/Packages", Fault::CloseMidBody, 1);
    e.registry_proxy
        .fail("/manifests/", Fault::Status(503), 1)
        .fail(&e.layer, Fault::CloseMidBody, 1)
        .fail(&e.layer, Fault::TooManyRequests { retry_after: 1 }, 1);
    let start = Instant::now();
    e.project
        .mlr()
        .env("MLR_HTTP_TIMEOUT", "5")
        .arg("lock")
        .assert()
        .success();
    assert!(start.elapsed() < Duration::from_secs(60));
    let lock = e.project.read("ml.lock");
    assert!(
        lock.contains("name = \"app\"") && lock.contains("name = \"libfoo\""),
        "{lock}"
    );
    assert_eq!(e.apt_proxy.hits("/Release"), 2, "{:?}", e.apt_proxy.log());
    let packages = e.apt_proxy.hits("/Packages");
    assert!(packages >= 3, "{:?}", e.apt_proxy.log());
    assert_eq!(
        e.registry_proxy.hits(&e.layer),
        3,
        "{:?}",
        e.registry_proxy.log()
    );
    blob_cache_is_clean(&e.project.cache_dir());
    // What was locked through the faults is what a clean run locks.
    e.project.mlr().arg("verify").assert().success();
    e.project.mlr().args(["lock", "--check"]).assert().success();
}

#[test]
fn credentials_refused_say_so_and_are_not_retried() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let e = apt_env();
    e.apt_proxy.always("/Release", Fault::Status(401));
    let out = e.project.mlr().arg("lock").assert().failure().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("answered 401 Unauthorized: credentials are missing or were refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("not found"), "{stderr}");
    assert_eq!(e.apt_proxy.hits("/Release"), 1);
}

#[test]
fn wrong_bytes_from_the_registry_are_never_cached() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let e = apt_env();
    e.registry_proxy.always(&e.layer, Fault::WrongBytes);
    let mut cmd = e.project.mlr();
    cmd.env("MLR_HTTP_TIMEOUT", "3").arg("lock");
    let stderr = fails_within(cmd, Duration::from_secs(60));
    // The client checks the digest as the bytes arrive, mlr again before
    // the cache; either way no byte of it is kept.
    assert!(stderr.contains("Invalid digest"), "{stderr}");
    assert_eq!(e.registry_proxy.hits(&e.layer), attempts_in(&stderr));
    blob_cache_is_clean(&e.project.cache_dir());
    assert!(
        !e.project
            .cache_dir()
            .join("blobs/sha256")
            .join(e.layer.trim_start_matches("sha256:"))
            .exists()
    );
}

/// A project locked against a local index with one wheel, whose build
/// fetches that wheel through a fault proxy (an index mirror).
struct PipEnv {
    _registry: Registry,
    index: PyIndex,
    proxy: FaultProxy,
    project: Project,
    wheel: String,
}

fn pip_env() -> PipEnv {
    let registry = Registry::start();
    push_debian_marker(&registry, "faults/py", "12", "linux/amd64");
    let index = PyIndex::start();
    let built = index.add_wheel(
        &WheelSpec::new("hello-faults", "1.0").file("hello_faults/__init__.py", "X = 1\n"),
    );
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"hello-faults==1.0\"]\n",
            registry.reference("faults/py", "12"),
            index.url()
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();
    let proxy = FaultProxy::start(&index.addr());
    PipEnv {
        _registry: registry,
        index,
        proxy,
        project,
        wheel: built.filename,
    }
}

impl PipEnv {
    /// `mlr build` with the index mirrored through the proxy. The engine
    /// is deliberately missing (`MLR_DOCKER` names no program): the wheels
    /// are fetched into the build context before the engine is started,
    /// and that download is what these tests are about.
    fn build(&self) -> assert_cmd::Command {
        let mut cmd = self.project.mlr();
        cmd.env(
            "MLR_INDEX_MIRRORS",
            format!("http://{}={}", self.index.addr(), self.proxy.url()),
        )
        .env("MLR_DOCKER", "/nonexistent/docker")
        .env("MLR_HTTP_TIMEOUT", "3")
        .args(["build", "--backend", "docker"]);
        cmd
    }

    fn cached_wheels(&self) -> Vec<std::path::PathBuf> {
        files_under(&self.project.cache_dir().join("pip"))
    }
}

#[test]
fn a_hang_on_a_wheel_fails_the_build_with_the_attempt_count() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = pip_env();
    e.proxy.always(&e.wheel, Fault::Hang);
    let stderr = fails_within(e.build(), Duration::from_secs(60));
    assert!(
        stderr.contains(&format!("{} failed after", e.wheel)),
        "{stderr}"
    );
    assert!(stderr.contains("no answer within 3 s"), "{stderr}");
    assert_eq!(e.proxy.hits(&e.wheel), attempts_in(&stderr));
    assert_eq!(e.cached_wheels(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_wheel_cut_refused_and_throttled_is_fetched_again() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = pip_env();
    e.proxy
        .fail(&e.wheel, Fault::CloseMidBody, 1)
        .fail(&e.wheel, Fault::Status(500), 1)
        .fail(&e.wheel, Fault::TooManyRequests { retry_after: 1 }, 1);
    let out = e.build().assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    // The download succeeded on its fourth attempt; what failed is the
    // engine this test leaves out.
    assert!(!stderr.contains("failed after"), "{stderr}");
    assert!(stderr.contains("/nonexistent/docker"), "{stderr}");
    assert_eq!(e.proxy.hits(&e.wheel), 4, "{:?}", e.proxy.log());
    let cached = e.cached_wheels();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let sha = cached[0]
        .parent()
        .and_then(|d| d.file_name())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(sha256_hex(&std::fs::read(&cached[0]).unwrap()), sha);
}

#[test]
fn a_wheel_with_wrong_bytes_is_never_cached() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = pip_env();
    e.proxy.always(&e.wheel, Fault::WrongBytes);
    let stderr = fails_within(e.build(), Duration::from_secs(60));
    assert!(
        stderr.contains("was expected; refusing to use it"),
        "{stderr}"
    );
    assert_eq!(e.proxy.hits(&e.wheel), attempts_in(&stderr));
    assert_eq!(e.cached_wheels(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn network_settings_that_make_no_sense_are_refused_by_name() {
    use predicates::prelude::*;
    let project = Project::new();
    for (var, value, says) in [
        ("MLR_HTTP_TIMEOUT", "0", "at least 1"),
        ("MLR_HTTP_RETRIES", "many", "is not a whole number"),
    ] {
        project
            .mlr()
            .env(var, value)
            .arg("lock")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(var).and(predicate::str::contains(says)));
    }
    project.file("config.toml", "[net]\nretries = 2\ntimeout = 0\n");
    project
        .mlr()
        .env("MLR_CONFIG", project.path("config.toml"))
        .arg("lock")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("config.toml:3:11")
                .and(predicate::str::contains("at least 1")),
        );
}

/// git is driven through its CLI, so the proxy cannot count its attempts;
/// what mlr gives it is the stall timeout (`GIT_HTTP_LOW_SPEED_*`), which
/// turns a server that never answers into a failure instead of a wait
/// without end. (The proxy never forwards a hung request, so no git server
/// is needed behind it.)
#[test]
fn a_hang_on_a_git_server_fails_after_the_stall_timeout() {
    require!(Service::Registry);
    require!(Service::Git);
    let registry = Registry::start();
    push_debian_marker(&registry, "faults/git", "12", "linux/amd64");
    let proxy = FaultProxy::start("127.0.0.1:1");
    proxy.always("/", Fault::Hang);
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[git.src]\nurl = \"{}/src.git\"\nrev = \"main\"\n",
            registry.reference("faults/git", "12"),
            proxy.url()
        ),
    );
    let mut cmd = project.mlr();
    cmd.env("MLR_HTTP_TIMEOUT", "2").arg("lock");
    let stderr = fails_within(cmd, Duration::from_secs(30));
    assert!(stderr.contains("git fetch failed"), "{stderr}");
    assert!(proxy.hits("/src.git") >= 1, "{:?}", proxy.log());
}
