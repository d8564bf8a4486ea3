//! `[framework]` + `[cuda]`: the right torch build from the right index,
//! against a PyTorch-style index on 127.0.0.1 that mirrors
//! download.pytorch.org (whose name the lock keeps), and whose default
//! index stands in for PyPI (PyPI's build when it is the CUDA asked for).

use mlr::compat::{Changes, Compat, TorchVariant};
use predicates::prelude::*;

use crate::support::{
    Layer, Project, PyIndex, Registry, Service, WheelSpec, push_debian_marker, require, shared_uv,
};

struct Torch {
    _registry: Registry,
    index: PyIndex,
    project: Project,
    base: String,
}

fn torch_env() -> Torch {
    let registry = Registry::start();
    push_debian_marker(&registry, "fw/base", "12", "linux/amd64");
    let index = PyIndex::start();
    let tag = "cp311-cp311-linux_x86_64";
    index.add_local_variants("torch", "2.5.1", &["cu118", "cu121", "cpu"], tag);
    index.add_local_variants("torchvision", "0.20.1", &["cu118", "cu121", "cpu"], tag);
    Torch {
        base: registry.reference("fw/base", "12"),
        _registry: registry,
        index,
        project: Project::new(),
    }
}

impl Torch {
    fn manifest(&self, torch: &str, cuda: &str) {
        self.project.file(
            "ml.toml",
            format!(
                "[base]\nimage = \"{}\"\n\n[cuda]\nversion = \"{cuda}\"\n\n[framework]\ntorch = \"{torch}\"\ntorchvision = \"0.20.1\"\n\n[pip]\nindex-url = \"{}\"\n",
                self.base,
                self.index.url()
            ),
        );
    }

    fn mlr(&self) -> assert_cmd::Command {
        let mut cmd = self.project.mlr();
        cmd.env("MLR_UV", shared_uv()).env(
            "MLR_INDEX_MIRRORS",
            format!(
                "https://download.pytorch.org/whl={}",
                self.index.url_of("whl")
            ),
        );
        cmd
    }
}

#[test]
fn each_cuda_version_locks_its_torch_build_with_canonical_urls() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let t = torch_env();
    // PyPI's torch 2.5.1 is the CUDA 12.4 build: 12.1 and 11.8 come from
    // the PyTorch index.
    for (cuda, local) in [("12.1", "cu121"), ("11.8", "cu118")] {
        t.manifest("2.5.1", cuda);
        t.mlr().arg("lock").assert().success();
        let lock = t.project.read("ml.lock");
        for name in ["torch", "torchvision"] {
            let block = lock
                .split("[[pip]]")
                .find(|b| b.contains(&format!("name = \"{name}\"")))
                .unwrap_or_else(|| panic!("{name} missing:\n{lock}"));
            let version = if name == "torch" { "2.5.1" } else { "0.20.1" };
            assert!(
                block.contains(&format!("version = \"{version}+{local}\"")),
                "{block}"
            );
            assert!(
                block.contains(&format!("index = \"pytorch-{local}\"")),
                "{block}"
            );
            assert!(
                block.contains(&format!("url = \"https://download.pytorch.org/whl/{local}/{name}-{version}%2B{local}-cp311-cp311-linux_x86_64.whl\"")),
                "the lock keeps the canonical URL, not the mirror: {block}"
            );
            assert!(
                block.contains(&format!("requested = \"{name}=={version}\"")),
                "{block}"
            );
        }
        let pip_part = &lock[lock.find("[[pip]]").unwrap()..];
        assert!(
            !pip_part.contains("127.0.0.1"),
            "no mirror address in the pins:\n{lock}"
        );
        t.mlr().arg("verify").assert().success();
    }
}

#[test]
fn an_impossible_combination_names_both_sides_and_alternatives() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let t = torch_env();
    t.manifest("2.1.0", "12.4");
    t.mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("torch"))
        .stderr(predicate::str::contains("2.1.0"))
        .stderr(predicate::str::contains("12.4"))
        .stderr(predicate::str::contains("hint: these would work:"));
    assert!(!t.project.exists("ml.lock"));
}

#[test]
fn a_resolution_that_lands_on_the_wrong_build_fails() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let registry = Registry::start();
    push_debian_marker(&registry, "fw/base", "12", "linux/amd64");
    // A broken mirror: its cu121 index serves only the CPU build.
    let index = PyIndex::start();
    let cpu = WheelSpec::new("torch", "2.5.1").tag("cp311-cp311-linux_x86_64");
    index.add_wheel_to(
        "whl/cu121",
        &WheelSpec {
            version: "2.5.1+cpu".into(),
            ..cpu
        },
    );
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[cuda]\nversion = \"12.1\"\n\n[framework]\ntorch = \"2.5.1\"\n\n[pip]\nindex-url = \"{}\"\n",
            registry.reference("fw/base", "12"),
            index.url()
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .env(
            "MLR_INDEX_MIRRORS",
            format!("https://download.pytorch.org/whl={}", index.url_of("whl")),
        )
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("2.5.1+cpu"))
        .stderr(predicate::str::contains("not the intended build"));
    assert!(!project.exists("ml.lock"), "a wrong build is never locked");
}

#[test]
fn a_compat_row_in_the_manifest_admits_a_release_newer_than_mlr() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let t = torch_env();
    t.index
        .add_local_variants("torch", "9.0.0", &["cu130"], "cp311-cp311-linux_x86_64");
    let manifest = format!(
        "[base]\nimage = \"{}\"\n\n[cuda]\nversion = \"13.0\"\n\n[framework]\ntorch = \"9.0.0\"\n\n[pip]\nindex-url = \"{}\"\n",
        t.base,
        t.index.url()
    );
    t.project.file("ml.toml", &manifest);
    t.mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("9.0.0"));
    t.project.file(
        "ml.toml",
        format!(
            "{manifest}\n[[compat.torch]]\nversion = \"9.0.0\"\npython = [\"3.11\"]\nvariants = [\"cu130\"]\n"
        ),
    );
    t.mlr().arg("lock").assert().success();
    let lock = t.project.read("ml.lock");
    assert!(lock.contains("version = \"9.0.0+cu130\""), "{lock}");
    assert!(lock.contains("index = \"pytorch-cu130\""), "{lock}");
}

/// The `hint:` line of an error.
fn hint_of(stderr: &str) -> &str {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("no hint:\n{stderr}"))
}

/// The pin of `name` in a lock's text.
fn pin<'a>(lock: &'a str, name: &str) -> &'a str {
    lock.split("[[pip]]")
        .find(|b| b.contains(&format!("name = \"{name}\"")))
        .unwrap_or_else(|| panic!("{name} missing:\n{lock}"))
}

/// A combination the tables refuse is refused from the manifest alone,
/// before a registry or an index is asked: the same error online and
/// `--offline` (everything the manifest names is at an address where
/// nothing listens), and the hint names only what the tables accept.
#[test]
fn a_refused_combination_is_the_same_error_online_and_offline() {
    let project = Project::new();
    project.file(
        "ml.toml",
        "[base]\nimage = \"127.0.0.1:9/fw/base:12\"\n\n[cuda]\nversion = \"11.8\"\n\n\
         [framework]\ntorch = \"1.12.1\"\n\n[pip]\nindex-url = \"http://127.0.0.1:9/simple\"\n",
    );
    let stderr = |offline: bool| {
        let mut cmd = project.mlr();
        cmd.env(
            "MLR_INDEX_MIRRORS",
            "https://download.pytorch.org/whl=http://127.0.0.1:9/whl",
        );
        if offline {
            cmd.arg("--offline");
        }
        let out = cmd.arg("lock").assert().code(2);
        String::from_utf8(out.get_output().stderr.clone()).unwrap()
    };
    let online = stderr(false);
    assert_eq!(online, stderr(true));
    assert!(
        online.contains("[framework] torch = \"1.12.1\": torch 1.12.1 has no build for CUDA 11.8"),
        "{online}"
    );
    let compat = Compat::builtin();
    let refused = compat.torch("1.12.1", Some("11.8"), None).unwrap_err();
    assert_eq!(
        hint_of(&online),
        format!("these would work: {}", refused.alternatives.join("; "))
    );
    assert_eq!(refused.suggestions.len(), refused.alternatives.len());
    for s in &refused.suggestions {
        for (v, cuda, python) in s.combinations(Some("11.8"), None, &[]) {
            assert!(
                compat.torch(&v, cuda.as_deref(), python.as_deref()).is_ok(),
                "the hint names torch {v} with CUDA {cuda:?}, which is refused"
            );
        }
    }
    assert!(!project.exists("ml.lock"));
}

/// A CPython 3.10 wheel tag: torch 1.12 has no wheels for 3.11.
const TAG310: &str = "cp310-cp310-linux_x86_64";
const TAG311: &str = "cp311-cp311-linux_x86_64";

/// `/etc/os-release` of Ubuntu 22.04, whose Python is 3.10.
const UBUNTU_2204: &str = "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n";

/// A stand-in torch wheel whose module knows its version.
fn torch_wheel(version: &str, tag: &str) -> WheelSpec {
    WheelSpec::new("torch", version)
        .tag(tag)
        .file("torch/__init__.py", &format!("__version__ = {version:?}\n"))
}

/// The stand-ins of an nvidia-*-`suffix` dependency set.
fn nvidia_wheels(suffix: &str) -> [WheelSpec; 2] {
    let cublas = format!("nvidia-cublas-{suffix}");
    [
        WheelSpec::new(&cublas, "12.4.5.8").tag("py3-none-manylinux2014_x86_64"),
        WheelSpec::new(&format!("nvidia-cudnn-{suffix}"), "9.1.0.70")
            .tag("py3-none-manylinux2014_x86_64")
            .requires(&cublas),
    ]
}

/// An Ubuntu 22.04 base and one index server standing in for both PyPI
/// (its default index, `simple`) and https://download.pytorch.org/whl
/// (its `whl/cuXYZ` indexes, through `MLR_INDEX_MIRRORS`). Unlike the real
/// download.pytorch.org/whl, the PyPI stand-in lists no local versions.
struct Jammy {
    _registry: Registry,
    index: PyIndex,
    project: Project,
    base: String,
}

impl Jammy {
    fn start() -> Jammy {
        let registry = Registry::start();
        registry.push_layers(
            "fw/jammy",
            "22.04",
            "linux/amd64",
            // Ubuntu 22.04's os-release and its libc6 (glibc 2.35), what
            // mlr reads the platform level from.
            &[Layer::new().file("etc/os-release", UBUNTU_2204).file(
                "var/lib/dpkg/status",
                "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.35-0ubuntu3.8\n",
            )],
        );
        Jammy {
            base: registry.reference("fw/jammy", "22.04"),
            _registry: registry,
            index: PyIndex::start(),
            project: Project::new(),
        }
    }

    fn manifest(&self, torch: &str, cuda: &str) {
        self.project.file(
            "ml.toml",
            format!(
                "[base]\nimage = \"{}\"\n\n[cuda]\nversion = \"{cuda}\"\n\n[framework]\ntorch = \"{torch}\"\n\n[pip]\nindex-url = \"{}\"\n",
                self.base,
                self.index.url()
            ),
        );
    }

    fn mlr(&self) -> assert_cmd::Command {
        let mut cmd = self.project.mlr();
        cmd.env("MLR_UV", shared_uv()).env(
            "MLR_INDEX_MIRRORS",
            format!(
                "https://download.pytorch.org/whl={}",
                self.index.url_of("whl")
            ),
        );
        cmd
    }

    /// Serves a stand-in of `variant` where it comes from: its PyTorch
    /// index, or PyPI (with its nvidia-* dependencies, unless CUDA is
    /// inside the wheel).
    fn serve(&self, variant: &TorchVariant) {
        match &variant.local {
            Some(local) => {
                self.index.add_wheel_to(
                    &format!("whl/{local}"),
                    &torch_wheel(&format!("{}+{local}", variant.torch), TAG310),
                );
            }
            None => {
                let mut torch = torch_wheel(&variant.torch, TAG310);
                for dep in variant.nvidia_suffix.iter().flat_map(|s| nvidia_wheels(s)) {
                    torch = torch.requires(&dep.name);
                    self.index.add_wheel(&dep);
                }
                self.index.add_wheel(&torch);
            }
        }
    }
}

#[test]
fn torch_1_12_1_on_cuda_11_6_is_the_cu116_build_from_the_pytorch_index() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let rig = Jammy::start();
    // The rig's whl/cu116 stands in for https://download.pytorch.org/whl/cu116;
    // its default index (PyPI) has the plain 1.12.1, PyPI's CUDA 10.2 build.
    rig.index
        .add_wheel_to("whl/cu116", &torch_wheel("1.12.1+cu116", TAG310));
    rig.index.add_wheel(&torch_wheel("1.12.1", TAG310));
    rig.manifest("1.12.1", "11.6");
    rig.mlr().arg("lock").assert().success();
    let lock = rig.project.read("ml.lock");
    let torch = pin(&lock, "torch");
    assert!(torch.contains("version = \"1.12.1+cu116\""), "{torch}");
    assert!(torch.contains("index = \"pytorch-cu116\""), "{torch}");
    assert!(
        torch.contains("url = \"https://download.pytorch.org/whl/cu116/torch-1.12.1%2Bcu116-cp310-cp310-linux_x86_64.whl\""),
        "{torch}"
    );
    assert!(lock.contains("version = \"3.10\""), "{lock}");
    rig.mlr().arg("verify").assert().success();
}

/// torch 1.12.1 has no CUDA 11.8 build: refused before anything is
/// fetched, and what the hint names locks: every CUDA it suggests for
/// torch 1.12.1, and the first release it suggests for CUDA 11.8 (each
/// served by the rig where mlr takes it from).
#[test]
fn torch_1_12_1_on_cuda_11_8_is_refused_and_what_the_hint_names_locks() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let rig = Jammy::start();
    rig.manifest("1.12.1", "11.8");
    let out = rig.mlr().arg("lock").assert().code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("torch 1.12.1 has no build for CUDA 11.8"),
        "{stderr}"
    );
    assert!(
        rig.index.requests().is_empty(),
        "{:?}",
        rig.index.requests()
    );
    assert!(!rig.project.exists("ml.lock"));

    let compat = Compat::builtin();
    let refused = compat.torch("1.12.1", Some("11.8"), None).unwrap_err();
    assert_eq!(
        hint_of(&stderr),
        format!("these would work: {}", refused.alternatives.join("; "))
    );
    let mut combinations = Vec::new();
    for s in &refused.suggestions {
        let named = s.combinations(Some("11.8"), None, &[]);
        match s.changes {
            Changes::Cuda => combinations.extend(named),
            _ => combinations.extend(named.into_iter().take(1)),
        }
    }
    let tried: Vec<(String, Option<String>)> = combinations
        .iter()
        .map(|(v, c, _)| (v.clone(), c.clone()))
        .collect();
    assert_eq!(
        tried,
        [
            ("1.12.1".into(), Some("10.2".into())),
            ("1.12.1".into(), Some("11.3".into())),
            ("1.12.1".into(), Some("11.6".into())),
            ("2.0.0".into(), Some("11.8".into())),
        ]
    );
    for (version, cuda) in tried {
        let cuda = cuda.expect("a CUDA");
        let variant = compat.torch(&version, Some(&cuda), Some("3.10")).unwrap();
        rig.serve(&variant);
        rig.manifest(&version, &cuda);
        rig.mlr().arg("lock").assert().success();
        let lock = rig.project.read("ml.lock");
        let torch = pin(&lock, "torch");
        let expected = match &variant.local {
            Some(local) => format!("{version}+{local}"),
            None => version.clone(),
        };
        assert!(
            torch.contains(&format!("version = \"{expected}\"")),
            "torch {version} with CUDA {cuda}: {torch}"
        );
    }
}

/// PyPI's torch 2.5.1 is the CUDA 12.4 build: with only PyPI (the rig's
/// default index) it locks from there with its nvidia-*-cu12 wheels, and
/// those are in the framework's pip group (its own image layer). The
/// PyTorch index's cu124 build is there too and never asked for.
#[test]
fn torch_2_5_1_on_cuda_12_4_is_pypis_build_with_its_nvidia_wheels() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let registry = Registry::start();
    push_debian_marker(&registry, "fw/base", "12", "linux/amd64");
    let index = PyIndex::start();
    let mut torch = torch_wheel("2.5.1", TAG311);
    for dep in nvidia_wheels("cu12") {
        torch = torch.requires(&dep.name);
        index.add_wheel(&dep);
    }
    index.add_wheel(&torch);
    index.add_wheel(
        &WheelSpec::new("torchvision", "0.20.1")
            .tag(TAG311)
            .requires("torch==2.5.1"),
    );
    index.add_wheel(&WheelSpec::new("tqdm", "4.66.5"));
    index.add_wheel_to("whl/cu124", &torch_wheel("2.5.1+cu124", TAG311));
    let project = Project::new();
    let manifest = format!(
        "[base]\nimage = \"{}\"\n\n[cuda]\nversion = \"12.4\"\n\n[framework]\ntorch = \"2.5.1\"\ntorchvision = \"0.20.1\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"tqdm\"]\n",
        registry.reference("fw/base", "12"),
        index.url()
    );
    project.file("ml.toml", &manifest);
    let mlr = || {
        let mut cmd = project.mlr();
        cmd.env("MLR_UV", shared_uv()).env(
            "MLR_INDEX_MIRRORS",
            format!("https://download.pytorch.org/whl={}", index.url_of("whl")),
        );
        cmd
    };
    mlr().arg("lock").assert().success();
    let text = project.read("ml.lock");
    let torch = pin(&text, "torch");
    assert!(torch.contains("version = \"2.5.1\""), "{torch}");
    assert!(torch.contains("index = \"default\""), "{torch}");
    for name in ["nvidia-cublas-cu12", "nvidia-cudnn-cu12"] {
        let p = pin(&text, name);
        assert!(p.contains("index = \"default\""), "{p}");
    }
    assert!(
        !index.requests().iter().any(|p| p.starts_with("/whl/")),
        "the PyTorch index was asked: {:?}",
        index.requests()
    );

    let lock = mlr::lock::parse(&text, "ml.lock").unwrap().lock;
    let manifest = mlr::manifest::parse(&manifest, "ml.toml").unwrap();
    let requests = mlr::requests::Requests::of(&manifest);
    let groups = mlr::render::pip_groups(
        &lock,
        &requests.framework_names(),
        &requests.profile_only_pip(),
        false,
    );
    let group = |name: &str| {
        groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, g)| *g)
            .unwrap_or_else(|| panic!("{name} has no group: {groups:?}"))
    };
    for name in [
        "torch",
        "torchvision",
        "nvidia-cublas-cu12",
        "nvidia-cudnn-cu12",
    ] {
        assert_eq!(group(name), "framework", "{name}");
    }
    assert_eq!(group("tqdm"), "packages");
    mlr().arg("verify").assert().success();
}
