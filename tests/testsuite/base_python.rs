//! What a base image already has for Python (`mlr::resolve::base_python`),
//! read through the local registry with `read_image_tree`: layered
//! stand-ins for the images ML environments start from, and the real
//! Debian base.

use std::path::Path;
use std::time::Instant;

use mlr::config::Config;
use mlr::manifest::ImageRef;
use mlr::resolve::base_python::{BaseFacts, BaseInterpreter, capture, discover};
use mlr::resolve::image_files::{TreeKind, read_image_tree};
use mlr::shell::{ColorChoice, Shell, Verbosity};
use tempfile::TempDir;

use crate::support::{Layer, Registry, Service, debian_rootfs, require};

fn config(cache: &Path) -> Config {
    let mut config = Config::new(false, Shell::new(Verbosity::Quiet, ColorChoice::Never));
    config.cache_dir = cache.to_path_buf();
    config
}

/// Reads the pushed image `repo` at `digest` and discovers its Python.
fn facts_of(registry: &Registry, repo: &str, digest: &str) -> BaseFacts {
    let cache = TempDir::new().unwrap();
    let image = ImageRef::parse(&format!("{}/{repo}", registry.addr())).unwrap();
    let tree = read_image_tree(&config(cache.path()), &image, digest, &capture)
        .expect("read the image tree");
    discover(&tree).expect("discover the base's Python")
}

/// `name version` of each distribution.
fn listed(interpreter: &BaseInterpreter) -> Vec<String> {
    interpreter
        .distributions
        .iter()
        .map(|d| format!("{} {}", d.name, d.version))
        .collect()
}

fn metadata(name: &str, version: &str, fields: &[&str]) -> String {
    let mut text = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for field in fields {
        text.push_str(field);
        text.push('\n');
    }
    text.push_str("\nA long description.\n");
    text
}

fn status(packages: &[(&str, &str)]) -> String {
    packages
        .iter()
        .map(|(name, version)| {
            format!(
                "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
            )
        })
        .collect()
}

/// A Python 3.`minor` stdlib under `prefix`; `debian` gives it Debian's
/// `site.py`, which adds `dist-packages` directories.
fn with_stdlib(layer: Layer, prefix: &str, minor: u32, debian: bool) -> Layer {
    let dir = format!("{prefix}/lib/python3.{minor}");
    let site = if debian {
        "sitepackages.append(os.path.join(prefix, \"lib\", \"python3\", \"dist-packages\"))\n"
    } else {
        "sitepackages.append(os.path.join(prefix, libdir, \"site-packages\"))\n"
    };
    layer
        .file(&format!("{dir}/os.py"), "import abc\n")
        .file(&format!("{dir}/site.py"), site)
        .file(&format!("{dir}/venv/__init__.py"), "")
}

/// Stands in for nvcr.io/nvidia/pytorch:25.01-py3: Ubuntu 24.04 (merged
/// /usr) with its dpkg python3.12, NVIDIA's torch 2.6.0a0+nv25.01 and numpy
/// pip-installed into /usr/local/lib/python3.12/dist-packages, the
/// EXTERNALLY-MANAGED marker removed, and numpy upgraded in a later layer.
#[test]
fn an_ngc_like_image_has_torch_beside_ubuntus_python() {
    require!(Service::Registry);
    let registry = Registry::start();
    let site = "usr/local/lib/python3.12/dist-packages";
    let ubuntu = Layer::new()
        .symlink("bin", "usr/bin")
        .symlink("lib", "usr/lib")
        .symlink("etc/os-release", "../usr/lib/os-release")
        .file(
            "usr/lib/os-release",
            "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\n",
        )
        .file("usr/lib/x86_64-linux-gnu/libc.so.6", "ELF")
        .file(
            "var/lib/dpkg/status",
            &status(&[("libc6", "2.39-0ubuntu8.4")]),
        )
        .gzip();
    let python = with_stdlib(
        Layer::new()
            .file("usr/bin/python3.12", "ELF")
            .symlink("usr/bin/python3", "python3.12")
            .file(
                "usr/lib/python3.12/EXTERNALLY-MANAGED",
                "[externally-managed]\n",
            )
            .file(
                "var/lib/dpkg/status",
                &status(&[
                    ("libc6", "2.39-0ubuntu8.4"),
                    ("python3.12-minimal", "3.12.3-1ubuntu0.4"),
                ]),
            ),
        "usr",
        12,
        true,
    )
    .gzip();
    let frameworks = Layer::new()
        .whiteout("usr/lib/python3.12/EXTERNALLY-MANAGED")
        .file(
            &format!("{site}/torch-2.6.0a0+nv25.01.dist-info/METADATA"),
            &metadata(
                "torch",
                "2.6.0a0+nv25.01",
                &[
                    "Requires-Python: >=3.9.0",
                    "Requires-Dist: filelock",
                    "Requires-Dist: typing-extensions>=4.10.0",
                    "Requires-Dist: sympy==1.13.1; python_version >= \"3.9\"",
                ],
            ),
        )
        .file(
            &format!("{site}/numpy-1.26.4.dist-info/METADATA"),
            &metadata("numpy", "1.26.4", &[]),
        );
    let upgrade = Layer::new()
        .whiteout(&format!("{site}/numpy-1.26.4.dist-info"))
        .file(
            &format!("{site}/numpy-2.2.1.dist-info/METADATA"),
            &metadata("numpy", "2.2.1", &["Requires-Python: >=3.10"]),
        );
    let env = [
        "PATH=/usr/local/lib/python3.12/dist-packages/torch_tensorrt/bin:/usr/local/mpi/bin:/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/ucx/bin:/opt/tensorrt/bin",
        "NVIDIA_PYTORCH_VERSION=25.01",
    ];
    let pushed = registry.push_layers_with_env(
        "nvidia/pytorch",
        "25.01-py3",
        "linux/amd64",
        &[ubuntu, python, frameworks, upgrade],
        &env,
    );

    let facts = facts_of(&registry, "nvidia/pytorch", &pushed.digest);
    assert_eq!(facts.os.id, "ubuntu");
    assert_eq!(facts.os.codename.as_deref(), Some("noble"));
    assert_eq!((facts.glibc, facts.musl), (Some((2, 39)), false));
    let paths: Vec<&str> = facts.interpreters.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["/usr/bin/python3.12"]);
    let python = &facts.interpreters[0];
    assert_eq!(python.version, (3, 12));
    assert_eq!(python.prefix, "/usr");
    assert!(python.dpkg_managed);
    assert!(python.has_venv && !python.has_ensurepip);
    assert!(!python.externally_managed, "the marker was deleted");
    assert_eq!(
        python.site_dirs,
        ["/usr/local/lib/python3.12/dist-packages"]
    );
    assert_eq!(listed(python), ["numpy 2.2.1", "torch 2.6.0a0+nv25.01"]);
    assert_eq!(
        python.distributions[1].metadata,
        "Metadata-Version: 2.1\n\
         Name: torch\n\
         Version: 2.6.0a0+nv25.01\n\
         Requires-Python: >=3.9.0\n\
         Requires-Dist: filelock\n\
         Requires-Dist: typing-extensions>=4.10.0\n\
         Requires-Dist: sympy==1.13.1; python_version >= \"3.9\"\n"
    );
    assert_eq!(
        python.distributions[1].site,
        "/usr/local/lib/python3.12/dist-packages"
    );
}

/// Stands in for a conda image with a venv on top: conda's Python 3.11 at
/// /opt/conda, and /opt/venv made from it with system site packages, both
/// on the `PATH` the image config sets.
#[test]
fn a_venv_over_conda_in_the_order_of_the_config_path() {
    require!(Service::Registry);
    let registry = Registry::start();
    let conda = with_stdlib(
        Layer::new()
            .file("opt/conda/bin/python3.11", "ELF")
            .symlink("opt/conda/bin/python3", "python3.11")
            .symlink("opt/conda/bin/python", "python3.11")
            .file("opt/conda/lib/python3.11/ensurepip/__init__.py", "")
            .file(
                "opt/conda/lib/python3.11/site-packages/conda-24.11.3.dist-info/METADATA",
                &metadata("conda", "24.11.3", &["Requires-Dist: requests<3,>=2.28.0"]),
            )
            .file(
                "opt/conda/lib/python3.11/site-packages/PyYAML-6.0.2.egg-info/PKG-INFO",
                "Metadata-Version: 1.1\nName: PyYAML\nVersion: 6.0.2\n",
            ),
        "opt/conda",
        11,
        false,
    )
    .gzip();
    let venv = Layer::new()
        .file(
            "opt/venv/pyvenv.cfg",
            "home = /opt/conda/bin\ninclude-system-site-packages = true\nversion = 3.11.11\n",
        )
        .symlink("opt/venv/bin/python", "/opt/conda/bin/python3.11")
        .symlink("opt/venv/bin/python3", "python")
        .symlink("opt/venv/bin/python3.11", "python")
        .file(
            "opt/venv/lib/python3.11/site-packages/requests-2.32.3.dist-info/METADATA",
            &metadata("requests", "2.32.3", &["Requires-Dist: urllib3<3,>=1.21.1"]),
        );
    let env = [
        "PATH=/opt/venv/bin:/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ];
    let pushed =
        registry.push_layers_with_env("conda/venv", "v1", "linux/amd64", &[conda, venv], &env);

    let facts = facts_of(&registry, "conda/venv", &pushed.digest);
    let paths: Vec<&str> = facts.interpreters.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/opt/venv/bin/python3.11", "/opt/conda/bin/python3.11"]
    );
    let venv = &facts.interpreters[0];
    assert_eq!(
        (venv.prefix.as_str(), venv.base_prefix.as_str()),
        ("/opt/venv", "/opt/conda")
    );
    assert!(venv.has_ensurepip && !venv.externally_managed && !venv.dpkg_managed);
    // Site directories in sys.path order; in one, by file name
    // (`PyYAML-…` sorts before `conda-…`).
    assert_eq!(
        listed(venv),
        ["requests 2.32.3", "pyyaml 6.0.2", "conda 24.11.3"]
    );
    let conda = &facts.interpreters[1];
    assert_eq!(conda.prefix, "/opt/conda");
    assert_eq!(listed(conda), ["pyyaml 6.0.2", "conda 24.11.3"]);
    assert_eq!((facts.glibc, facts.musl), (None, false), "no libc at all");
}

/// Debian bookworm's minbase has no Python; its glibc is dpkg's libc6.
#[test]
fn the_debian_base_has_glibc_and_no_python() {
    require!(Service::Registry);
    require!(Service::DebianRootfs);
    let rootfs = debian_rootfs().expect("checked by require!");
    let registry = Registry::start();
    let pushed = registry.push_rootfs("library/debian", "bookworm", &rootfs, "linux/amd64");
    let cache = TempDir::new().unwrap();
    let image = ImageRef::parse(&format!("{}/library/debian", registry.addr())).unwrap();

    let started = Instant::now();
    let tree = read_image_tree(&config(cache.path()), &image, &pushed.digest, &capture)
        .expect("read the Debian tree");
    let cold = started.elapsed();
    let started = Instant::now();
    let facts = discover(&tree).expect("discover");
    let discovered = started.elapsed();
    let started = Instant::now();
    read_image_tree(&config(cache.path()), &image, &pushed.digest, &capture)
        .expect("read the Debian tree from the cache");
    let warm = started.elapsed();
    eprintln!(
        "debian tree: cold read {cold:.2?}, cached read {warm:.2?}, discover {discovered:.2?}"
    );

    assert_eq!(facts.os.id, "debian");
    assert_eq!(facts.os.codename.as_deref(), Some("bookworm"));
    assert_eq!((facts.glibc, facts.musl), (Some((2, 36)), false));
    assert!(facts.interpreters.is_empty(), "{:?}", facts.interpreters);
    assert!(facts.unreadable.is_empty());

    // The tree is the merged-/usr root a container sees.
    assert_eq!(tree.kind_no_follow("/bin"), Some(TreeKind::Symlink));
    assert_eq!(tree.resolve("/bin/sh").as_deref(), Some("/usr/bin/dash"));
    assert_eq!(
        tree.resolve("/lib64/ld-linux-x86-64.so.2").as_deref(),
        Some("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    );
    let root = tree.list("/");
    for dir in ["bin", "etc", "usr", "var"] {
        assert!(root.iter().any(|name| name == dir), "{dir} in {root:?}");
    }
    assert!(tree.read("/etc/passwd").is_none(), "not captured");
    assert!(tree.env().iter().any(|var| var.starts_with("PATH=")));
}

/// The same base with a stand-in Python layer on top: found on the real
/// merged-/usr layout, and not dpkg's since the status lacks it.
#[test]
fn a_python_layer_over_the_debian_base() {
    require!(Service::Registry);
    require!(Service::DebianRootfs);
    let rootfs = debian_rootfs().expect("checked by require!");
    let registry = Registry::start();
    let python = with_stdlib(
        Layer::new()
            .file("usr/bin/python3.11", "ELF")
            .symlink("usr/bin/python3", "python3.11")
            .file(
                "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                &metadata("six", "1.16.0", &[]),
            ),
        "usr",
        11,
        true,
    );
    let pushed =
        registry.push_rootfs_with("library/debian", "py", &rootfs, "linux/amd64", &[python]);
    let facts = facts_of(&registry, "library/debian", &pushed.digest);
    let paths: Vec<&str> = facts.interpreters.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["/usr/bin/python3.11"], "/bin is /usr/bin");
    let python = &facts.interpreters[0];
    assert!(!python.dpkg_managed, "dpkg's status has no python3.11");
    assert_eq!(listed(python), ["six 1.16.0"]);
    assert_eq!(facts.glibc, Some((2, 36)));
}
