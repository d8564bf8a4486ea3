//! The seed projects as tests: manifests equivalent to hand-written ML
//! Dockerfiles lock and build against the local registry, index and git
//! repositories, and the image runs with the versions, user, healthcheck,
//! env and labels the manifest asks for.
//!
//! Stand-ins (this machine has no Docker Hub, no GPU, no CUDA toolkit):
//! - `nvidia/cuda:*` images are the debootstrapped Debian bookworm rootfs,
//!   served through a registry mirror of docker.io; the `devel` one adds a
//!   stand-in `nvcc` (a shell script that records the arch flags it saw).
//! - flash-attention is a small git repository with an in-tree PEP 517
//!   backend whose build step calls that `nvcc`.
//! - PyPI packages (einops, ...) are wheels built into a local index.

use crate::support::{
    GitRepo, ImageCleanup, Layer, Project, PyIndex, Registry, SDIST_BACKEND, Service, WheelSpec,
    debian_rootfs, docker, docker_run, require, shared_uv,
};

/// The stand-in `nvcc`: writes what a CUDA build would bake in (the arch
/// list and FORCE_CUDA it was given) to its `-o` file.
const NVCC: &str = r#"#!/bin/sh
set -eu
out=""
while [ $# -gt 0 ]; do
  case "$1" in -o) out="$2"; shift ;; esac
  shift
done
echo "sm=${TORCH_CUDA_ARCH_LIST:-unset} force_cuda=${FORCE_CUDA:-unset} max_jobs_set=${MAX_JOBS:+yes}" > "$out"
"#;

/// A git repository shaped like a CUDA-extension project: `pyproject.toml`
/// with an in-tree backend, and a package that reads the kernel its build
/// step compiled.
fn extension_repo(dir: &std::path::Path, name: &str, version: &str) -> GitRepo {
    let repo = GitRepo::init(dir);
    let module = name.replace('-', "_");
    std::fs::write(
        dir.join("PKG-INFO"),
        format!("Metadata-Version: 2.2\nName: {name}\nVersion: {version}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("mlr_testsuite_backend.py"), SDIST_BACKEND).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        "[build-system]\nrequires = []\nbuild-backend = \"mlr_testsuite_backend\"\nbackend-path = [\".\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join(format!("src/{module}"))).unwrap();
    repo.git(&["add", "-A"]);
    repo.commit_file(
        &format!("src/{module}/__init__.py"),
        &format!(
            "import os\n__version__ = '{version}'\nwith open(os.path.join(os.path.dirname(__file__), 'kernel.txt')) as f:\n    KERNEL = f.read().strip()\n"
        ),
        "initial",
    );
    repo.tag(&format!("v{version}"));
    repo
}

fn mirror(registry: &Registry) -> (&'static str, String) {
    (
        "MLR_REGISTRY_MIRRORS",
        format!("docker.io={}", registry.addr()),
    )
}

fn label<'a>(inspect: &'a serde_json::Value, key: &str) -> &'a str {
    inspect[0]["Config"]["Labels"][key].as_str().unwrap_or("")
}

#[test]
fn flash_attention_style_builds_in_a_devel_stage_and_ships_only_outputs() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::PyPI);
    require!(Service::Git);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    let runtime = registry.push_rootfs(
        "nvidia/cuda",
        "12.4.1-cudnn-runtime-ubuntu22.04",
        &rootfs,
        "linux/amd64",
    );
    let devel = registry.push_rootfs_with(
        "nvidia/cuda",
        "12.4.1-cudnn-devel-ubuntu22.04",
        &rootfs,
        "linux/amd64",
        &[Layer::new().file("usr/local/cuda/bin/nvcc", NVCC)],
    );
    let index = PyIndex::start();
    index.add_wheel(
        &WheelSpec::new("einops", "0.8.0").file("einops/__init__.py", "__version__ = '0.8.0'\n"),
    );
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = extension_repo(repo_dir.path(), "flash-attn", "2.7.4");

    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            r#"[project]
name = "flashy"

[cuda]
version = "12.4"
cudnn = "9"
flavor = "runtime"
arch = ["8.0", "9.0+PTX"]

[python]
version = "3.11"

[pip]
index-url = "{index}"
packages = ["einops==0.8.0"]

[git.flash-attn]
url = "{repo}"
rev = "v2.7.4"
build = [
  "sh ${{CUDA_HOME:-/usr/local/cuda}}/bin/nvcc -o src/flash_attn/kernel.txt csrc/flash.cu",
  "pip install --no-build-isolation --no-deps --no-index .",
]

[env]
NCCL_SOCKET_IFNAME = "^docker0,lo"

[image]
user = "ml"
healthcheck = {{ cmd = ["python", "-c", "import flash_attn"], interval = "30s", retries = 3 }}
"#,
            index = index.url(),
            repo = repo.url(),
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .env(mirror(&registry).0, mirror(&registry).1)
        .arg("lock")
        .assert()
        .success();
    let lock = project.read("ml.lock");
    // Both flavors are pinned by digest under their canonical names.
    for (tag, digest) in [
        ("12.4.1-cudnn-runtime-ubuntu22.04", &runtime.digest),
        ("12.4.1-cudnn-devel-ubuntu22.04", &devel.digest),
    ] {
        assert!(
            lock.contains(&format!("docker.io/nvidia/cuda:{tag}\"")),
            "{lock}"
        );
        assert!(lock.contains(&format!("digest = \"{digest}\"")), "{lock}");
    }
    assert!(lock.contains("name = \"builder\""), "{lock}");

    let out = project.mlr().arg("dockerfile").assert().success();
    let dockerfile = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        dockerfile.contains(&format!(
            "FROM docker.io/nvidia/cuda@{} AS mlr-builder",
            devel.digest
        )),
        "{dockerfile}"
    );
    assert!(
        dockerfile.contains("TORCH_CUDA_ARCH_LIST=\"8.0;9.0+PTX\""),
        "{dockerfile}"
    );

    let tag = format!("mlr-seed-flash:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone()]);
    project
        .mlr()
        .env(mirror(&registry).0, mirror(&registry).1)
        .args(["build", "--tag", &tag])
        .assert()
        .success();

    // The extension was compiled with the arch flags from `[cuda] arch`,
    // installed into the venv without bytecode, and is importable in the
    // runtime image, which has no nvcc.
    let out = docker_run(
        &tag,
        &[
            "sh",
            "-c",
            "find /opt/mlr/venv -name '*.pyc' -path '*flash_attn*' | wc -l; \
             python -c 'import flash_attn, einops; print(flash_attn.__version__, einops.__version__); print(flash_attn.KERNEL)'; \
             test -e /usr/local/cuda/bin/nvcc && echo nvcc shipped || echo no nvcc; \
             id -un; echo \"$NCCL_SOCKET_IFNAME\"",
        ],
    );
    assert_eq!(
        out,
        "0\n2.7.4 0.8.0\nsm=8.0;9.0+PTX force_cuda=1 max_jobs_set=yes\nno nvcc\nml\n^docker0,lo\n"
    );
    let inspect = docker(&["image", "inspect", &tag]);
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        inspect[0]["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "python", "-c", "import flash_attn"]),
        "{inspect:#}"
    );
    assert_eq!(inspect[0]["Config"]["Healthcheck"]["Retries"], 3);
    assert_eq!(
        label(&inspect, "org.opencontainers.image.base.digest"),
        runtime.digest,
        "the runtime flavor is the image's base"
    );
    assert!(label(&inspect, "dev.mlr.manifest-fingerprint").starts_with("sha256:"));
    assert_eq!(
        label(&inspect, "dev.mlr.version"),
        env!("CARGO_PKG_VERSION")
    );
}
