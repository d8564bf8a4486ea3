//! End to end on the engine: a Debian bookworm base from the local
//! registry, Python 3.11 from apt, locked pip packages from a local index.

use crate::support::{
    ImageCleanup, Project, PyIndex, Registry, Service, WheelSpec, debian_rootfs, docker,
    docker_run, require, shared_uv,
};

#[test]
fn the_image_runs_exactly_the_locked_versions() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::PyPI);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    registry.push_rootfs("debian", "bookworm", &rootfs, "linux/amd64");
    let index = PyIndex::start();
    // Built into the local index by the test: a package and its dependency,
    // with a newer dependency that the pin must not pick up later.
    index.add_wheel(
        &WheelSpec::new("hello-mlr", "1.0")
            .requires("tinydep>=1")
            .file("hello_mlr/__init__.py", "VERSION = '1.0'\n"),
    );
    index.add_wheel(
        &WheelSpec::new("tinydep", "1.1").file("tinydep/__init__.py", "VERSION = '1.1'\n"),
    );
    index.add_wheel(
        &WheelSpec::new("devtool", "0.1").file("devtool/__init__.py", "VERSION = '0.1'\n"),
    );
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[project]\nname = \"pyimage\"\n\n[base]\nimage = \"{}\"\n\n[python]\nversion = \"3.11\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"hello-mlr==1.0\"]\n\n[image]\nuser = \"ml\"\n\n[profile.dev]\npip = [\"devtool\"]\n",
            registry.reference("debian", "bookworm"),
            index.url()
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();
    index.add_wheel(
        &WheelSpec::new("tinydep", "9.9").file("tinydep/__init__.py", "VERSION = '9.9'\n"),
    );
    // The base has no Python: the distribution's is pinned through apt, as
    // an implicit request (no `requested`; `via` names it).
    let lock = project.read("ml.lock");
    let venv_pin = lock
        .split("\n[[")
        .find(|b| b.starts_with("apt]]\nname = \"python3-venv\"\n"))
        .unwrap_or_else(|| panic!("no python3-venv pin:\n{lock}"));
    assert!(venv_pin.contains("via = [\"python3-venv\"]"), "{venv_pin}");
    assert!(!venv_pin.contains("requested ="), "{venv_pin}");
    let venv_version = venv_pin
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("a version")
        .to_string();
    assert!(
        lock.contains("name = \"python3.11-minimal\""),
        "the interpreter is pinned:\n{lock}"
    );
    project.mlr().arg("verify").assert().success();

    let tag = format!("mlr-pip-e2e:{}", std::process::id());
    let _cleanup = ImageCleanup::for_build(&tag, &project);
    project
        .mlr()
        .args(["build", "--tag", &tag])
        .assert()
        .success();
    let out = docker_run(
        &tag,
        &[
            "python",
            "-c",
            "import sys, hello_mlr, tinydep; print(sys.version_info[:2], hello_mlr.VERSION, tinydep.VERSION)",
        ],
    );
    assert_eq!(out, "(3, 11) 1.0 1.1\n");
    let out = docker_run(
        &tag,
        &["dpkg-query", "-W", "-f", "${Version}", "python3-venv"],
    );
    assert_eq!(out, venv_version, "the image has the locked Python");
    // No locked wheel stayed in the image; pip left no compiled bytecode.
    let out = docker_run(
        &tag,
        &[
            "sh",
            "-c",
            "find / -xdev \\( -name 'hello_mlr*.whl' -o -name 'tinydep*.whl' -o -path '/tmp/mlr-pip*' \\) 2>/dev/null | wc -l; find /opt/mlr/venv -name '*.pyc' -path '*hello_mlr*' | wc -l; id -un",
        ],
    );
    assert_eq!(out, "0\n0\nml\n");
    let history = docker(&["history", "--no-trunc", &tag]);
    let history = String::from_utf8_lossy(&history.stdout);
    // The prod image lacks the dev profile's package; the dev image has it.
    let out = docker(&["run", "--rm", &tag, "python", "-c", "import devtool"]);
    assert!(
        !out.status.success(),
        "devtool must not be in the prod image"
    );
    let dev = format!("{tag}-dev");
    let _cleanup_dev = ImageCleanup::for_build(&dev, &project);
    project
        .mlr()
        .args(["build", "--profile", "dev", "--tag", &dev])
        .assert()
        .success();
    let out = docker_run(
        &dev,
        &[
            "python",
            "-c",
            "import devtool, hello_mlr; print(devtool.VERSION, hello_mlr.VERSION)",
        ],
    );
    assert_eq!(out, "0.1 1.0\n");
    assert!(
        !history.contains(&index.addr()),
        "no index address in the image history:\n{history}"
    );
}

/// A wheel required by URL (`name @ https://…whl`): locked by its sha256
/// and size, fetched on the host at build time from that URL, installed
/// like any locked wheel.
#[test]
fn a_wheel_by_url_is_locked_and_installed() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::PyPI);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    registry.push_rootfs("debian", "bookworm", &rootfs, "linux/amd64");
    // The default index has no urlpkg (another index lists it): it comes
    // from its URL on the rig's file host alone.
    let index = PyIndex::start();
    let built = index.add_wheel_to(
        "elsewhere",
        &WheelSpec::new("urlpkg", "3.0").file("urlpkg/__init__.py", "VERSION = 'by-url'\n"),
    );
    let url = index.file_url(&built.filename);
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[project]\nname = \"byurl\"\n\n[base]\nimage = \"{}\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"urlpkg @ {url}#sha256={}\"]\n",
            registry.reference("debian", "bookworm"),
            index.url(),
            built.sha256
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();
    let lock = project.read("ml.lock");
    assert!(lock.contains(&format!(
        "{{ platform = \"linux/amd64\", filename = \"urlpkg-3.0-py3-none-any.whl\", url = \"{url}\", sha256 = \"{}\", size = {} }}",
        built.sha256, built.size
    )), "{lock}");
    let tag = format!("mlr-pip-byurl:{}", std::process::id());
    let _cleanup = ImageCleanup::for_build(&tag, &project);
    // A fresh cache: the build fetches the file from its URL again.
    let fresh = tempfile::tempdir().unwrap();
    project
        .mlr()
        .env("MLR_CACHE_DIR", fresh.path())
        .args(["build", "--tag", &tag])
        .assert()
        .success();
    let out = docker_run(
        &tag,
        &["python", "-c", "import urlpkg; print(urlpkg.VERSION)"],
    );
    assert_eq!(out.trim(), "by-url");
}
