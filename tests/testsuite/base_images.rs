//! Real base images and interpreters (issue #11): what mlr reads from a
//! base image's layers (its Python environments, glibc, distribution) and
//! how it chooses the interpreter, against the local registry, index, apt
//! archive and engine. Each stand-in image is built here; each test says
//! what it stands in for.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{
    ImageCleanup, Layer, Project, PyIndex, PythonDownloads, Registry, Service, UPSTREAM_RELEASES,
    WheelSpec, debian_rootfs, docker, docker_build_with, docker_run, require, shared_uv,
    standalone_python,
};

/// The `[[TABLE]]` blocks of a lock whose first key is `name = "NAME"`.
fn blocks<'a>(lock: &'a str, table: &str, name: &str) -> Vec<&'a str> {
    let head = format!("{table}]]\nname = \"{name}\"\n");
    lock.split("\n[[")
        .filter(|b| b.starts_with(&head))
        .collect()
}

/// The `[python]` table of a lock.
fn python_table(lock: &str) -> &str {
    let start = lock.find("\n[python]\n").expect("a [python] table");
    let rest = &lock[start + 1..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

/// Stands in for `nvcr.io/nvidia/pytorch:25.01-py3`: Debian bookworm with
/// the distribution's Python 3.11 (and `venv`), and a torch distribution
/// that NVIDIA built, at `2.6.0a0+nv25.01`, in
/// `/usr/local/lib/python3.11/dist-packages`, where NGC images keep
/// theirs (next to the distribution's `/usr/bin/python3.X`). The stand-in
/// torch is a small package whose metadata names one dependency the base
/// also has (`filelock`), as the real one does.
fn push_ngc_like_base(registry: &Registry, rootfs: &Path, cleanup: &mut ImageCleanup) -> String {
    registry.push_rootfs("debian", "bookworm", rootfs, "linux/amd64");
    let context = tempfile::tempdir().expect("tempdir");
    let site = context.path().join("site");
    let dist = |name: &str, version: &str, requires: &[&str], module: &str| {
        let info = site.join(format!("{name}-{version}.dist-info"));
        std::fs::create_dir_all(&info).unwrap();
        let mut metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
        for r in requires {
            metadata.push_str(&format!("Requires-Dist: {r}\n"));
        }
        std::fs::write(info.join("METADATA"), metadata).unwrap();
        std::fs::write(info.join("INSTALLER"), "pip\n").unwrap();
        std::fs::write(info.join("RECORD"), "").unwrap();
        let package = site.join(name);
        std::fs::create_dir_all(&package).unwrap();
        std::fs::write(package.join("__init__.py"), module).unwrap();
    };
    dist(
        "torch",
        "2.6.0a0+nv25.01",
        &["filelock"],
        "__version__ = '2.6.0a0+nv25.01'\n",
    );
    dist("filelock", "3.16.1", &[], "__version__ = '3.16.1'\n");
    let tag = registry.reference("nvidia/pytorch", "25.01-py3");
    cleanup.add(tag.clone());
    // The engine pulled the Debian base by tag for this build.
    cleanup.add(registry.reference("debian", "bookworm"));
    docker_build_with(
        context.path(),
        &format!(
            "FROM {}\n\
             RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/*\n\
             COPY site/ /usr/local/lib/python3.11/dist-packages/\n",
            registry.reference("debian", "bookworm")
        ),
        &tag,
        &["--network", "host"],
    );
    let out = docker(&["push", &tag]);
    assert!(
        out.status.success(),
        "docker push {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tag
}

#[test]
fn an_ngc_like_base_keeps_its_torch_and_the_image_imports_it() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::PyPI);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    let mut cleanup = ImageCleanup::new(Vec::<String>::new());
    let base = push_ngc_like_base(&registry, &rootfs, &mut cleanup);

    // Stands in for `lightning`: it needs `torch>=2`. The index also has a
    // torch 2.5.1 that a resolution ignoring the base would install.
    let index = PyIndex::start();
    index.add_wheel(
        &WheelSpec::new("lightning-stand-in", "1.0")
            .requires("torch>=2")
            .file(
                "lightning_stand_in/__init__.py",
                "import torch\nTORCH = torch.__version__\n",
            ),
    );
    index.add_wheel(&WheelSpec::new("torch", "2.5.1").file("torch/__init__.py", "BAD = 1\n"));
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[project]\nname = \"ngc\"\n\n[base]\nimage = \"{base}\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"lightning-stand-in\"]\n",
            index.url()
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();
    let lock = project.read("ml.lock");
    // The base's interpreter, its torch recorded, no torch pinned.
    let python = python_table(&lock);
    assert!(python.contains("interpreter = \"base\"\n"), "{python}");
    assert!(
        python.contains("path = \"/usr/bin/python3.11\"\n"),
        "{python}"
    );
    assert!(python.contains("version = \"3.11\"\n"), "{python}");
    assert!(python.contains("glibc = \"2.36\"\n"), "{python}");
    assert_eq!(blocks(&lock, "pip", "torch"), Vec::<&str>::new(), "{lock}");
    assert_eq!(
        blocks(&lock, "base-python", "torch"),
        ["base-python]]\nname = \"torch\"\nversion = \"2.6.0a0+nv25.01\"\n"],
        "{lock}"
    );
    assert_eq!(
        blocks(&lock, "pip", "lightning-stand-in").len(),
        1,
        "{lock}"
    );
    // The base has venv and ensurepip: no apt package is pinned for Python.
    assert!(!lock.contains("[[apt]]"), "{lock}");
    project.mlr().arg("verify").assert().success();

    let tag = format!("mlr-ngc-like:{}", std::process::id());
    let _built = ImageCleanup::for_build(&tag, &project);
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
            "import torch, lightning_stand_in; print(torch.__version__, torch.__file__, lightning_stand_in.TORCH)",
        ],
    );
    assert_eq!(
        out.trim(),
        "2.6.0a0+nv25.01 /usr/local/lib/python3.11/dist-packages/torch/__init__.py 2.6.0a0+nv25.01"
    );
    let check = docker_run(&tag, &["python", "-m", "pip", "check"]);
    assert!(check.contains("No broken requirements found"), "{check}");
}

#[test]
fn an_old_distribution_gets_wheels_for_the_glibc_its_dpkg_status_names() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let registry = Registry::start();
    // Stands in for `nvidia/cuda:9.0-cudnn7-devel-ubuntu16.04` with a
    // Python 3.6 of its own (seed 001 builds one with pyenv): Ubuntu 16.04's
    // os-release, libc6 2.23-0ubuntu11 in the dpkg status, and a Python 3.6
    // layout under /usr/local. mlr has no table row for Ubuntu 16.04.
    registry.push_layers(
        "nvidia/cuda",
        "9.0-cudnn7-devel-ubuntu16.04",
        "linux/amd64",
        &[Layer::new()
            .file(
                "etc/os-release",
                "NAME=\"Ubuntu\"\nVERSION=\"16.04.7 LTS (Xenial Xerus)\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"16.04\"\nVERSION_CODENAME=xenial\nUBUNTU_CODENAME=xenial\n",
            )
            .file(
                "var/lib/dpkg/status",
                "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nSource: glibc\nVersion: 2.23-0ubuntu11\nDescription: GNU C Library\n",
            )
            .file("usr/local/bin/python3.6", "#!stand-in interpreter\n")
            .symlink("usr/local/bin/python3", "python3.6")
            .file("usr/local/lib/python3.6/os.py", "")
            .file("usr/local/lib/python3.6/venv/__init__.py", "")
            .file("usr/local/lib/python3.6/ensurepip/__init__.py", "")],
    );
    // A package that ships both manylinux_2_17 and manylinux_2_28 wheels:
    // glibc 2.23 runs only the first.
    let index = PyIndex::start();
    index.add_wheel(&WheelSpec::new("dualwheel", "1.0").tag("py3-none-manylinux_2_17_x86_64"));
    index.add_wheel(&WheelSpec::new("dualwheel", "1.0").tag("py3-none-manylinux_2_28_x86_64"));
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[python]\nversion = \"3.6\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"dualwheel\"]\n",
            registry.reference("nvidia/cuda", "9.0-cudnn7-devel-ubuntu16.04"),
            index.url()
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();
    let lock = project.read("ml.lock");
    let python = python_table(&lock);
    assert!(python.contains("version = \"3.6\"\n"), "{python}");
    assert!(python.contains("glibc = \"2.23\"\n"), "{python}");
    assert!(python.contains("os = \"ubuntu 16.04\"\n"), "{python}");
    assert!(
        python.contains("path = \"/usr/local/bin/python3.6\"\n"),
        "{python}"
    );
    let pin = blocks(&lock, "pip", "dualwheel");
    assert_eq!(pin.len(), 1, "{lock}");
    assert!(
        pin[0].contains("dualwheel-1.0-py3-none-manylinux_2_17_x86_64.whl"),
        "{}",
        pin[0]
    );
    assert!(!pin[0].contains("manylinux_2_28"), "{}", pin[0]);

    // What the base holds is kept by manifest digest: a new resolution
    // for another package reads none of its layers again.
    index.add_wheel(&WheelSpec::new("otherpkg", "1.0"));
    let manifest = project
        .read("ml.toml")
        .replace("[\"dualwheel\"]", "[\"dualwheel\", \"otherpkg\"]");
    project.file("ml.toml", manifest);
    let out = project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("for its Python and glibc"), "{stderr}");
    assert_eq!(blocks(&project.read("ml.lock"), "pip", "otherpkg").len(), 1);
}

/// A TCP port that counts the connections made to it.
struct Tripwire {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Tripwire {
    fn start() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut stream = stream;
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                // No answer: the connection just closes.
            }
        });
        Tripwire { port, hits }
    }
}

#[test]
fn an_apt_source_no_request_needs_is_never_contacted() {
    require!(Service::Registry);
    require!(Service::DebianRootfs);
    require!(Service::PyPI);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    // Stands in for an ESMFold-style base that lists NVIDIA's CUDA
    // repository (a flat repository, suite `/`): here a port that counts
    // connections and never answers.
    let nvidia = Tripwire::start();
    registry.push_debian_with_source(
        "esmfold/base",
        "1",
        &rootfs,
        &format!(
            "deb http://127.0.0.1:{}/compute/cuda/repos/ubuntu2004/x86_64 /",
            nvidia.port
        ),
    );
    let index = PyIndex::start();
    index.add_wheel(&WheelSpec::new("tinypkg", "1.0"));
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"tinypkg\"]\n",
            registry.reference("esmfold/base", "1"),
            index.url()
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();
    let lock = project.read("ml.lock");
    // The distribution's Python came from Debian's own sources alone.
    assert_eq!(blocks(&lock, "apt", "python3-venv").len(), 1, "{lock}");
    assert!(
        !lock.contains(&format!("127.0.0.1:{}", nvidia.port)),
        "{lock}"
    );
    assert_eq!(
        nvidia.hits.load(Ordering::SeqCst),
        0,
        "the unused NVIDIA source was contacted"
    );
}

#[test]
fn a_standalone_python_the_base_lacks_is_locked_installed_and_hash_checked() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::PyPI);
    require!(Service::StandalonePython);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    registry.push_rootfs("debian", "bookworm", &rootfs, "linux/amd64");
    // Stands in for GitHub's python-build-standalone releases and uv's list
    // of them: a CPython 3.13.5 the rig built from the upstream source
    // Debian's mirror serves, in the `install_only` layout, listed under
    // its canonical GitHub URL and reached through `[mirrors.index]`.
    let tarball = standalone_python().expect("checked by require!");
    let downloads = PythonDownloads::start(&tarball);
    let mirrors = format!(
        "{}={},{}={}",
        mlr::resolve::interpreter::DOWNLOADS_LIST,
        downloads.metadata_url(),
        UPSTREAM_RELEASES,
        downloads.mirror_base()
    );
    // A package with a wheel per interpreter: 3.13 must get its own.
    let index = PyIndex::start();
    index.add_wheel(
        &WheelSpec::new("native", "1.0")
            .tag("cp313-cp313-manylinux_2_17_x86_64")
            .file("native/__init__.py", "BUILD = 'cp313'\n"),
    );
    index.add_wheel(
        &WheelSpec::new("native", "1.0")
            .tag("cp311-cp311-manylinux_2_17_x86_64")
            .file("native/__init__.py", "BUILD = 'cp311'\n"),
    );
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[project]\nname = \"standalone\"\n\n[base]\nimage = \"{}\"\n\n[python]\nversion = \"3.13\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"native\"]\n",
            registry.reference("debian", "bookworm"),
            index.url()
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .env("MLR_INDEX_MIRRORS", &mirrors)
        .arg("lock")
        .assert()
        .success();
    let lock = project.read("ml.lock");
    let python = python_table(&lock);
    assert!(python.contains("version = \"3.13\"\n"), "{python}");
    assert!(
        python.contains("interpreter = \"standalone\"\n"),
        "{python}"
    );
    assert!(python.contains("release = \"3.13.5\"\n"), "{python}");
    assert!(
        python.contains(&format!(
            "{{ platform = \"linux/amd64\", url = \"{}\", sha256 = \"{}\", size = {} }}",
            downloads.canonical_url(),
            downloads.sha256(),
            downloads.size()
        )),
        "{python}"
    );
    // The canonical URL only: the mirror never reaches the lock.
    assert!(!lock.contains(&downloads.addr()), "{lock}");
    let native = blocks(&lock, "pip", "native");
    assert!(
        native[0].contains("native-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"),
        "{}",
        native[0]
    );
    // No distribution Python is pinned for it.
    assert!(blocks(&lock, "apt", "python3-venv").is_empty(), "{lock}");
    project.mlr().arg("verify").assert().success();

    let tag = format!("mlr-standalone:{}", std::process::id());
    let _cleanup = ImageCleanup::for_build(&tag, &project);
    project
        .mlr()
        .env("MLR_INDEX_MIRRORS", &mirrors)
        .args(["build", "--tag", &tag])
        .assert()
        .success();
    let out = docker_run(
        &tag,
        &[
            "sh",
            "-c",
            "python --version; python -c 'import sys, native; print(sys.base_prefix, native.BUILD)'; stat -c '%u %a' /opt/mlr/python/bin/python3.13",
        ],
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["Python 3.13.5", "/opt/mlr/python cp313", "0 755"],
        "{out}"
    );

    // A tampered archive (same length, other bytes) is refused on the host
    // before the engine runs: a fresh cache downloads it again.
    downloads.tamper();
    let fresh = tempfile::tempdir().expect("tempdir");
    let refused = format!("mlr-standalone-tampered:{}", std::process::id());
    let out = project
        .mlr()
        .env("MLR_INDEX_MIRRORS", &mirrors)
        .env("MLR_CACHE_DIR", fresh.path())
        .args(["build", "--tag", &refused])
        .output()
        .expect("run mlr build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("sha256"), "{stderr}");
    assert!(stderr.contains(downloads.filename()), "{stderr}");
    let exists = docker(&["image", "inspect", &refused]);
    assert!(!exists.status.success(), "the refused build made an image");
}

/// Stands in for a `pytorch/pytorch`-style base with its own CPython 3.11
/// under /usr/local and torch in its site-packages (layers only: lock-only
/// tests).
fn push_python_base_with_torch(registry: &Registry) -> String {
    registry.push_layers(
        "pytorch/pytorch",
        "2.6.0",
        "linux/amd64",
        &[Layer::new()
            .file("etc/os-release", crate::support::DEBIAN_12)
            .file("var/lib/dpkg/status", crate::support::DEBIAN_12_DPKG_STATUS)
            .file("usr/local/bin/python3.11", "#!stand-in interpreter\n")
            .file("usr/local/lib/python3.11/os.py", "")
            .file("usr/local/lib/python3.11/venv/__init__.py", "")
            .file("usr/local/lib/python3.11/ensurepip/__init__.py", "")
            .file(
                "usr/local/lib/python3.11/site-packages/torch-2.6.0a0+nv25.01.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: torch\nVersion: 2.6.0a0+nv25.01\n",
            )],
    );
    registry.reference("pytorch/pytorch", "2.6.0")
}

#[test]
fn a_requirement_against_a_base_package_fails_naming_both_versions() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let registry = Registry::start();
    let base = push_python_base_with_torch(&registry);
    let index = PyIndex::start();
    index.add_wheel(&WheelSpec::new("torch", "2.5.1"));
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{base}\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"torch==2.5.1\"]\n",
            index.url()
        ),
    );
    let out = project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("torch==2.5.1"), "{stderr}");
    assert!(stderr.contains("2.6.0a0"), "{stderr}");
    assert!(!project.exists("ml.lock"));
}

#[test]
fn from_base_needs_the_base_to_have_that_python() {
    require!(Service::Registry);
    let registry = Registry::start();
    let base = push_python_base_with_torch(&registry);
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{base}\"\n\n[python]\nversion = \"3.12\"\nfrom = \"base\"\n\n[pip]\npackages = [\"x\"]\n"
        ),
    );
    project
        .mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "[python] from = \"base\" and version = \"3.12\", but the base image has /usr/local/bin/python3.11 (Python 3.11)",
        ))
        .stderr(predicates::str::contains("hint: change [python] version"));
}
