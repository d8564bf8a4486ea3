//! Bit-for-bit builds with buildah: one lock gives one image digest, whatever
//! the build host's clock and caches; a one-line manifest change gives
//! another.
//!
//! The image is a busybox base from the local registry plus a git source
//! with a build step, a non-root user, `[env]`, `[image] copy` and a
//! healthcheck. The backend writes OCI images (buildah 1.28's docker format
//! records a random container ID and hostname), and OCI has no HEALTHCHECK,
//! so the build warns that the healthcheck is dropped.
//!
//! The full case builds a Debian base with an apt package, Python from
//! Debian's mirror, pip wheels (one platform wheel with a native module)
//! and a git source built in the builder stage, twice, each time on fresh
//! storage with an empty mlr cache.

use std::path::Path;

use crate::support::{
    AptRepo, DebSpec, GitRepo, Project, PyIndex, Registry, Service, Storage, Tool, WheelSpec,
    debian_rootfs, require, shared_uv,
};

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

/// Builds `project` as `tag` (warning that OCI drops the healthcheck);
/// returns the image digest and config.
fn build_oci(storage: &Storage, project: &Project, tag: &str) -> (String, String) {
    let stderr = storage.build(project, tag);
    let warning = format!(
        "warning: the image has no HEALTHCHECK: {} writes OCI images",
        storage.tool.program()
    );
    assert!(stderr.contains(&warning), "{stderr}");
    (storage.digest(tag), storage.config(tag))
}

/// Builds `project` again as another host would (empty storage, empty mlr
/// cache, a later clock) and asserts the same digest as the `first` build
/// of `first_tag`. On a difference, names the files that differ, layer by
/// layer.
pub(crate) fn assert_rebuilt_bit_for_bit(
    project: &Project,
    first: Storage,
    first_tag: &str,
    (digest, config): (String, String),
) {
    let tool = first.tool;
    let archives = tempfile::tempdir().unwrap();
    let first_archive = archives.path().join("first.tar");
    first.run(&[
        "push",
        first_tag,
        &format!("docker-archive:{}", first_archive.display()),
    ]);
    drop(first);
    remove_dir(&project.cache_dir());
    let second = Storage::new(tool);
    let tag = "localhost/mlr-repro:rebuilt";
    second.build(project, tag);
    let rebuilt = second.digest(tag);
    eprintln!("reproducible with {tool:?}: first build {digest}, second build {rebuilt}");
    if digest != rebuilt {
        let second_archive = archives.path().join("second.tar");
        second.run(&[
            "push",
            tag,
            &format!("docker-archive:{}", second_archive.display()),
        ]);
        panic!(
            "not reproducible: {digest} then {rebuilt}\n{}\nconfigs:\n{config}\n{}",
            layer_differences(&first_archive, &second_archive),
            second.config(tag)
        );
    }
}

/// Each layer of a docker-archive as path -> (header fields, content hash).
fn archive_layers(archive: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut members = std::collections::HashMap::new();
    let mut outer = tar::Archive::new(std::fs::File::open(archive).unwrap());
    for entry in outer.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        members.insert(name, bytes);
    }
    let manifest: serde_json::Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| {
            let mut files = std::collections::BTreeMap::new();
            let bytes = &members[layer.as_str().unwrap()];
            for file in tar::Archive::new(bytes.as_slice()).entries().unwrap() {
                let mut file = file.unwrap();
                let path = file.path().unwrap().display().to_string();
                let header = file.header();
                let meta = format!(
                    "mode {:o} uid {} gid {} mtime {} link {:?}",
                    header.mode().unwrap_or(0),
                    header.uid().unwrap_or(0),
                    header.gid().unwrap_or(0),
                    header.mtime().unwrap_or(0),
                    header
                        .link_name()
                        .ok()
                        .flatten()
                        .map(|l| l.display().to_string())
                );
                let mut data = Vec::new();
                file.read_to_end(&mut data).unwrap();
                files.insert(
                    path,
                    format!("{meta} sha256 {}", hex::encode(Sha256::digest(&data))),
                );
            }
            files
        })
        .collect()
}

/// What differs between two images' layers: the first layers that differ
/// and up to 40 of their files.
fn layer_differences(first: &Path, second: &Path) -> String {
    let (a, b) = (archive_layers(first), archive_layers(second));
    let mut report = format!("{} and {} layers\n", a.len(), b.len());
    for (i, (la, lb)) in a.iter().zip(&b).enumerate() {
        if la == lb {
            continue;
        }
        report.push_str(&format!("layer {i} differs:\n"));
        let paths: std::collections::BTreeSet<&String> = la.keys().chain(lb.keys()).collect();
        for path in paths
            .into_iter()
            .filter(|p| la.get(*p) != lb.get(*p))
            .take(40)
        {
            report.push_str(&format!(
                "  {path}\n    {:?}\n    {:?}\n",
                la.get(path),
                lb.get(path)
            ));
        }
    }
    report
}

#[test]
fn one_lock_builds_to_one_digest_on_fresh_storage() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Buildah);
    let (registry, repo, _repo_dir) = fixtures();
    let project = locked_project(&registry, &repo, "hello from buildah");

    let first = Storage::new(Tool::Buildah);
    let built = build_oci(&first, &project, "localhost/mlr-repro:a");

    // The config keeps the user and env, and its dates are the epoch.
    let inspect = first.run(&["inspect", "--type", "image", "localhost/mlr-repro:a"]);
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
    let out = first.sh(
        "localhost/mlr-repro:a",
        "id -un; head -1 /opt/built-from; stat -c %U /work/app/run.sh; sh /work/app/run.sh",
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["trainer", "built by buildah", "trainer", "app says hi"],
        "{out}"
    );

    assert_rebuilt_bit_for_bit(&project, first, "localhost/mlr-repro:a", built);
}

#[test]
fn a_one_line_manifest_change_changes_the_digest() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Buildah);
    let (registry, repo, _repo_dir) = fixtures();
    let project = locked_project(&registry, &repo, "hello from buildah");
    let storage = Storage::new(Tool::Buildah);
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

/// `mlr build --backend podman`: the same flags as buildah (`podman build`
/// is buildah's `bud`), so the same bit-for-bit result, and the image
/// carries the lock's and the build's labels.
#[test]
fn podman_builds_one_lock_to_one_digest_with_its_labels() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Podman);
    let (registry, repo, _repo_dir) = fixtures();
    let project = locked_project(&registry, &repo, "hello from podman");

    let first = Storage::new(Tool::Podman);
    let built = build_oci(&first, &project, "localhost/mlr-podman:a");

    let inspect: serde_json::Value = serde_json::from_str(&built.1).unwrap();
    let image = &inspect[0];
    let labels = &image["Labels"];
    let lock = project.read("ml.lock");
    let fingerprint = lock
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("the lock has a fingerprint");
    assert_eq!(
        labels["dev.mlr.manifest-fingerprint"], fingerprint,
        "{image:#}"
    );
    assert_eq!(
        labels["dev.mlr.version"],
        env!("CARGO_PKG_VERSION"),
        "{image:#}"
    );
    assert_eq!(
        labels["org.opencontainers.image.base.digest"],
        registry.resolve("repro/base", "v1"),
        "{image:#}"
    );
    assert_eq!(
        labels["org.opencontainers.image.title"], "repro",
        "{image:#}"
    );
    assert_eq!(image["Config"]["User"], "trainer", "{image:#}");
    assert_eq!(image["Created"], "1970-01-01T00:00:00Z", "{image:#}");

    assert_rebuilt_bit_for_bit(&project, first, "localhost/mlr-podman:a", built);
}

#[test]
fn apt_pip_and_a_source_build_rebuild_bit_for_bit() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Buildah);
    require!(Service::DebianRootfs);
    require!(Service::AptTools);
    require!(Service::PyPI);
    let repo = AptRepo::start("bookworm", &["main"]);
    repo.add(
        &DebSpec::new("mlr-tool", "1.4-1")
            .arch("amd64")
            .file("/usr/share/mlr-tool/VERSION", "1.4-1\n"),
    );
    repo.publish();
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    registry.push_debian_with_source("repro/debian", "bookworm", &rootfs, &repo.sources_line());
    let index = PyIndex::start();
    // A platform wheel with a native module (stand-in bytes: installing it
    // is what the build does with a compiled extension) and a pure one.
    index.add_wheel(
        &WheelSpec::new("fastmath", "0.9.1")
            .tag("cp311-cp311-manylinux_2_17_x86_64")
            .file("fastmath/__init__.py", "from . import _core\n")
            .file(
                "fastmath/_core.cpython-311-x86_64-linux-gnu.so",
                "\u{7f}ELF stand-in for compiled code",
            ),
    );
    index.add_wheel(&WheelSpec::new("tinydep", "1.1").file("tinydep/__init__.py", "V = 1\n"));
    let git_dir = tempfile::tempdir().unwrap();
    let git = crate::seeds::extension_repo(git_dir.path(), "kernels", "0.2.0");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            r#"[project]
name = "repro-full"

[base]
image = "{base}"

[python]
version = "3.11"

[apt]
packages = ["mlr-tool"]

[pip]
index-url = "{index}"
packages = ["fastmath==0.9.1", "tinydep"]

[git.kernels]
url = "{git}"
rev = "v0.2.0"
build = [
  "echo built > src/kernels/kernel.txt",
  "pip install --no-build-isolation --no-deps --no-index .",
]

[image]
user = "trainer"
"#,
            base = registry.reference("repro/debian", "bookworm"),
            index = index.url(),
            git = git.url(),
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();

    let first = Storage::new(Tool::Buildah);
    let tag = "localhost/mlr-repro-full:a";
    first.build(&project, tag);
    let out = first.sh(
        tag,
        "cat /usr/share/mlr-tool/VERSION; ls /opt/mlr/venv/lib/python3.11/site-packages/fastmath; \
         /opt/mlr/venv/bin/python -c 'import kernels, tinydep; print(kernels.KERNEL, tinydep.V)'",
    );
    assert_eq!(
        out, "1.4-1\n__init__.py\n_core.cpython-311-x86_64-linux-gnu.so\nbuilt 1",
        "{out}"
    );
    let built = (first.digest(tag), first.config(tag));
    assert_rebuilt_bit_for_bit(&project, first, tag, built);
}
