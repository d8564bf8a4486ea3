//! `[framework]` + `[cuda]`: the right torch build from the right index,
//! against a PyTorch-style index on 127.0.0.1 that mirrors
//! download.pytorch.org (whose name the lock keeps).

use mlr::compat::Compat;
use predicates::prelude::*;

use crate::support::{
    Project, PyIndex, Registry, Service, WheelSpec, push_debian_marker, require, shared_uv,
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
