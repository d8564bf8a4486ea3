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
pub(crate) fn extension_repo(dir: &std::path::Path, name: &str, version: &str) -> GitRepo {
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

/// The image's layer diff IDs.
fn layers(image: &str) -> Vec<String> {
    let out = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}}",
        image,
    ]);
    assert!(out.status.success(), "docker image inspect {image}");
    serde_json::from_slice(&out.stdout).expect("layer list")
}

/// "PyTorch + OpenCV": a CUDA torch build from the PyTorch index (a
/// stand-in with the cu121 variant's local version: PyPI's torch 2.5.1 is
/// the CUDA 12.4 build, so CUDA 12.1 comes from the index), opencv and requirements from the index, an
/// apt library from Debian's mirror, and a custom extension built from git.
/// Then one pip package changes: the rebuild reuses the base, apt, Python
/// and framework layers.
#[test]
fn pytorch_opencv_seed_and_a_pip_change_reuses_the_layers_below_it() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::PyPI);
    require!(Service::Git);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    let pushed = registry.push_rootfs("seed/debian", "bookworm", &rootfs, "linux/amd64");
    let index = PyIndex::start();
    let tag311 = "cp311-cp311-linux_x86_64";
    index.add_local_variants("torch", "2.5.1", &["cu121", "cpu"], tag311);
    for (name, version) in [
        ("opencv-python-headless", "4.10.0.84"),
        ("tqdm", "4.66.4"),
        ("tqdm", "4.66.5"),
    ] {
        let module = name.replace('-', "_");
        index.add_wheel(&WheelSpec::new(name, version).file(
            &format!("{module}/__init__.py"),
            &format!("__version__ = '{version}'\n"),
        ));
    }
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = extension_repo(repo_dir.path(), "roi-align", "0.3.0");

    let project = Project::new();
    let manifest = |tqdm: &str| {
        format!(
            r#"[project]
name = "vision"

[base]
image = "{base}"

[cuda]
version = "12.1"
arch = ["8.6"]

[python]
version = "3.11"

[framework]
torch = "2.5.1"

[apt]
packages = ["libgomp1"]

[pip]
index-url = "{index}"
packages = ["opencv-python-headless==4.10.0.84", "tqdm=={tqdm}"]

[git.roi-align]
url = "{repo}"
rev = "v0.3.0"
build = [
  "echo \"sm=$TORCH_CUDA_ARCH_LIST force_cuda=$FORCE_CUDA\" > src/roi_align/kernel.txt",
  "pip install --no-build-isolation --no-deps --no-index .",
]

[env]
OMP_NUM_THREADS = "4"

[image]
user = "ml"
workdir = "/app"
healthcheck = {{ cmd = ["python", "-c", "import roi_align"], interval = "60s" }}
"#,
            base = registry.reference("seed/debian", "bookworm"),
            index = index.url(),
            repo = repo.url(),
        )
    };
    let mlr = || {
        let mut cmd = project.mlr();
        cmd.env("MLR_UV", shared_uv()).env(
            "MLR_INDEX_MIRRORS",
            format!("https://download.pytorch.org/whl={}", index.url_of("whl")),
        );
        cmd
    };
    project.file("ml.toml", manifest("4.66.4"));
    mlr().arg("lock").assert().success();
    let tag = format!("mlr-seed-vision:{}", std::process::id());
    let tag2 = format!("{tag}-tqdm");
    let _cleanup = ImageCleanup::new([tag.clone(), tag2.clone()]);
    mlr().args(["build", "--tag", &tag]).assert().success();

    let out = docker_run(
        &tag,
        &[
            "sh",
            "-c",
            "python -c 'import torch, opencv_python_headless as cv, tqdm, roi_align; print(torch.__version__, cv.__version__, tqdm.__version__, roi_align.__version__); print(roi_align.KERNEL)'; \
             dpkg-query -W -f '${Package} ${Status}\\n' libgomp1; id -un; pwd; echo $OMP_NUM_THREADS",
        ],
    );
    assert_eq!(
        out,
        "2.5.1+cu121 4.10.0.84 4.66.4 0.3.0\nsm=8.6 force_cuda=1\nlibgomp1 install ok installed\nml\n/app\n4\n"
    );
    let inspect = docker(&["image", "inspect", &tag]);
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        inspect[0]["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "python", "-c", "import roi_align"])
    );
    assert_eq!(label(&inspect, "org.opencontainers.image.title"), "vision");
    assert_eq!(
        label(&inspect, "dev.mlr.version"),
        env!("CARGO_PKG_VERSION")
    );

    // One pip package moves: only the layers from the packages group on
    // are rebuilt.
    project.file("ml.toml", manifest("4.66.5"));
    mlr().arg("lock").assert().success();
    mlr().args(["build", "--tag", &tag2]).assert().success();
    let out = docker_run(
        &tag2,
        &["python", "-c", "import tqdm; print(tqdm.__version__)"],
    );
    assert_eq!(out, "4.66.5\n");
    let base = layers(&format!(
        "{}/seed/debian@{}",
        registry.addr(),
        pushed.digest
    ));
    let (a, b) = (layers(&tag), layers(&tag2));
    let reused = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    // base + the user + apt + Python + the framework's venv layer.
    assert_eq!(
        reused,
        base.len() + 4,
        "reused {reused} of {} layers (base has {})",
        b.len(),
        base.len()
    );
    assert!(
        b.len() > reused,
        "the packages layer and those after it are new"
    );
}

/// "ESMFold style": the CUDA `devel` image with CUDA `-dev` libraries from
/// NVIDIA's apt repository (a local archive listed where NVIDIA's images
/// list theirs, `sources.list.d/cuda.list`; the packages are stand-ins
/// with the real names), a pip package and a git source built in place.
#[test]
fn esmfold_style_installs_cuda_dev_libraries_from_apt() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::AptTools);
    require!(Service::PyPI);
    require!(Service::Git);
    let cuda_repo = crate::support::AptRepo::start("bookworm", &["main"]);
    cuda_repo.add(
        &crate::support::DebSpec::new("libcusparse-dev-12-4", "12.3.1.170-1")
            .arch("amd64")
            .depends("libcusparse-12-4 (= 12.3.1.170-1)")
            .file(
                "/usr/local/cuda-12.4/include/cusparse.h",
                "/* cusparse 12.3.1 */\n",
            ),
    );
    cuda_repo.add(
        &crate::support::DebSpec::new("libcusparse-12-4", "12.3.1.170-1")
            .arch("amd64")
            .file("/usr/local/cuda-12.4/lib64/libcusparse.so.12", "stand-in\n"),
    );
    cuda_repo.publish();
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    registry.push_rootfs_with(
        "nvidia/cuda",
        "12.4.1-cudnn-devel-ubuntu22.04",
        &rootfs,
        "linux/amd64",
        &[Layer::new()
            .file(
                "etc/apt/sources.list.d/cuda.list",
                &format!("{}\n", cuda_repo.sources_line()),
            )
            .file("usr/local/cuda/bin/nvcc", NVCC)],
    );
    let index = PyIndex::start();
    index.add_wheel(
        &WheelSpec::new("fair-esm", "2.0.0").file("esm/__init__.py", "__version__ = '2.0.0'\n"),
    );
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = extension_repo(repo_dir.path(), "openfold", "1.0.1");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            r#"[project]
name = "esmfold"

[cuda]
version = "12.4"
cudnn = "9"
flavor = "devel"
arch = ["7.0", "8.0"]

[python]
version = "3.11"

[apt]
packages = ["libcusparse-dev-12-4"]

[pip]
index-url = "{index}"
packages = ["fair-esm==2.0.0"]

[git.openfold]
url = "{repo}"
rev = "v1.0.1"
build = [
  "sh /usr/local/cuda/bin/nvcc -o src/openfold/kernel.txt csrc/attention.cu",
  "pip install --no-build-isolation --no-deps --no-index .",
]

[env]
NCCL_DEBUG = "WARN"

[image]
user = "esm"
healthcheck = {{ cmd = ["python", "-c", "import esm, openfold"], interval = "45s" }}
"#,
            index = index.url(),
            repo = repo.url(),
        ),
    );
    let mlr = || {
        let mut cmd = project.mlr();
        cmd.env("MLR_UV", shared_uv())
            .env(mirror(&registry).0, mirror(&registry).1);
        cmd
    };
    mlr().arg("lock").assert().success();
    let lock = project.read("ml.lock");
    assert!(lock.contains("name = \"libcusparse-12-4\""), "{lock}");
    assert!(
        !lock.contains("name = \"builder\""),
        "devel needs no builder image: {lock}"
    );
    let tag = format!("mlr-seed-esmfold:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone()]);
    mlr().args(["build", "--tag", &tag]).assert().success();
    let out = docker_run(
        &tag,
        &[
            "sh",
            "-c",
            "dpkg-query -W libcusparse-dev-12-4 libcusparse-12-4; cat /usr/local/cuda-12.4/include/cusparse.h; \
             python -c 'import esm, openfold; print(esm.__version__, openfold.__version__, openfold.KERNEL)'; \
             id -un; echo $NCCL_DEBUG",
        ],
    );
    assert_eq!(
        out,
        "libcusparse-12-4\t12.3.1.170-1\nlibcusparse-dev-12-4\t12.3.1.170-1\n/* cusparse 12.3.1 */\n\
         2.0.0 1.0.1 sm=7.0;8.0 force_cuda=1 max_jobs_set=yes\nesm\nWARN\n"
    );
    let inspect = docker(&["image", "inspect", &tag]);
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        inspect[0]["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "python", "-c", "import esm, openfold"])
    );
    assert_eq!(label(&inspect, "org.opencontainers.image.title"), "esmfold");
    assert!(label(&inspect, "dev.mlr.lock-sha256").len() == 64);
}
