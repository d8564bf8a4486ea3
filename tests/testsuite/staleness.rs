//! One staleness check: `verify`, `lock --locked`, `lock --check`, `build`
//! and `dockerfile` give the same reasons for the same stale project, and
//! the lock's internal consistency is checked offline (a hand-edited pin is
//! found at `ml.lock:LINE:COL`), against a real registry, Python index, apt
//! archive and git repository.

use crate::support::{
    AptRepo, DebSpec, GitRepo, Layer, Project, PyIndex, Registry, Service, WheelSpec, require,
    shared_uv,
};

/// A Debian 12 marker image whose only apt source is `repo` and whose dpkg
/// already has Python (so pip needs no implicit apt request).
const STATUS: &str = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n\n\
Package: python3-venv\nStatus: install ok installed\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n";

struct Stack {
    project: Project,
    _registry: Registry,
    _index: PyIndex,
    _apt: AptRepo,
    repo: GitRepo,
    _git_dir: tempfile::TempDir,
    manifest: String,
}

/// A project locked with an image, a git source, apt packages and pip
/// packages (numpy direct, tqdm through trainer).
fn locked_stack() -> Stack {
    let registry = Registry::start();
    let apt = AptRepo::start("bookworm", &["main"]);
    apt.add(&DebSpec::new("libfoo", "2.0-1").arch("amd64"));
    apt.add(
        &DebSpec::new("tool", "1:1.5-2")
            .arch("amd64")
            .depends("libfoo"),
    );
    apt.publish();
    registry.push_layers(
        "stale/base",
        "12",
        "linux/amd64",
        &[Layer::new()
            .file(
                "etc/os-release",
                "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
            )
            .file("etc/apt/sources.list", &format!("{}\n", apt.sources_line()))
            .file("var/lib/dpkg/status", STATUS)
            // The distribution's Python 3.11 with venv, as files: what mlr
            // reads the interpreter from.
            .file("usr/bin/python3.11", "#!stand-in interpreter\n")
            .file("usr/lib/python3.11/os.py", "")
            .file("usr/lib/python3.11/venv/__init__.py", "")
            .file("usr/lib/python3.11/ensurepip/__init__.py", "")],
    );
    let index = PyIndex::start();
    index.add_wheel(&WheelSpec::new("numpy", "1.26.4"));
    index.add_wheel(&WheelSpec::new("numpy", "2.0.0"));
    index.add_wheel(&WheelSpec::new("trainer", "1.0").requires("tqdm>=4"));
    index.add_wheel(&WheelSpec::new("tqdm", "4.66.0"));
    let git_dir = tempfile::tempdir().unwrap();
    let repo = GitRepo::init(git_dir.path());
    repo.commit_file("README", "x\n", "init");
    repo.tag("v1");
    repo.commit_file("README", "y\n", "second");
    let manifest = format!(
        "[base]\nimage = \"{}\"\n\n[apt]\npackages = [\"tool\"]\n\n\
         [pip]\nindex-url = \"{}\"\npackages = [\"numpy<2\", \"trainer\"]\n\n\
         [git.src]\nurl = \"{}\"\nrev = \"main\"\n\n[env]\nA = \"1\"\n",
        registry.reference("stale/base", "12"),
        index.url(),
        repo.url()
    );
    let project = Project::new();
    project.file("ml.toml", &manifest);
    let stack = Stack {
        project,
        _registry: registry,
        _index: index,
        _apt: apt,
        repo,
        _git_dir: git_dir,
        manifest,
    };
    stack.mlr().arg("lock").assert().success();
    stack.mlr().arg("verify").assert().success();
    stack
}

impl Stack {
    fn mlr(&self) -> assert_cmd::Command {
        let mut cmd = self.project.mlr();
        cmd.env("MLR_UV", shared_uv());
        cmd
    }

    /// Runs `args` with `engine` as the docker program and returns (exit
    /// code, the `stale:`/`inconsistent:` lines it printed on either
    /// stream, trimmed, and everything it printed).
    fn reasons(&self, args: &[&str], engine: &std::path::Path) -> (i32, Vec<String>, String) {
        let out = self
            .mlr()
            .args(args)
            .env("MLR_DOCKER", engine)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("stale: ") || l.starts_with("inconsistent: "))
            .map(str::to_string)
            .collect();
        (out.status.code().unwrap_or(-1), lines, text)
    }
}

/// Every command's reasons for the project as it stands: all five exit 1
/// with the same non-empty list.
fn assert_same_reasons(s: &Stack, case: &str) -> Vec<String> {
    let engine = s.project.tripwire_engine();
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for args in [
        &["verify"][..],
        &["lock", "--locked"],
        &["lock", "--check"],
        &["dockerfile"],
        &["build", "--backend", "docker"],
    ] {
        let (code, lines, text) = s.reasons(args, &engine);
        assert_eq!(
            code,
            1,
            "{case}: `mlr {}` must exit 1:\n{text}",
            args.join(" ")
        );
        assert!(
            !lines.is_empty(),
            "{case}: `mlr {}` gave no reason:\n{text}",
            args.join(" ")
        );
        seen.push((args.join(" "), lines));
    }
    assert!(
        !s.project.exists("engine-ran"),
        "{case}: build ran the engine for a stale lock"
    );
    let (first, reasons) = &seen[0];
    for (cmd, lines) in &seen[1..] {
        assert_eq!(
            lines, reasons,
            "{case}: `mlr {cmd}` and `mlr {first}` disagree"
        );
    }
    reasons.clone()
}

#[test]
fn every_command_gives_the_same_staleness_reasons() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::AptTools);
    require!(Service::PyPI);
    let s = locked_stack();
    let lock = s.project.read("ml.lock");
    let cases: [(&str, String); 5] = [
        (
            "a pip requirement changed",
            s.manifest.replace("\"numpy<2\"", "\"numpy>=2\""),
        ),
        (
            "a git rev changed",
            s.manifest.replace("rev = \"main\"", "rev = \"v1\""),
        ),
        (
            "an apt package added and one pip package removed",
            s.manifest
                .replace("[\"tool\"]", "[\"tool\", \"libfoo\"]")
                .replace(", \"trainer\"", ""),
        ),
        (
            "only an unpinned setting changed",
            s.manifest.replace("A = \"1\"", "A = \"2\""),
        ),
        ("a hand-edited pin", s.manifest.clone()),
    ];
    for (case, manifest) in &cases {
        s.project.file("ml.toml", manifest);
        let edited = if *case == "a hand-edited pin" {
            lock.replace("version = \"1.26.4\"", "version = \"1.26.3\"")
        } else {
            lock.clone()
        };
        s.project.file("ml.lock", &edited);
        let reasons = assert_same_reasons(&s, case);
        match *case {
            "a pip requirement changed" => assert!(
                reasons
                    .iter()
                    .any(|r| r.contains("pip `numpy`: new requirement `numpy>=2`")),
                "{reasons:?}"
            ),
            "a git rev changed" => assert!(
                reasons
                    .iter()
                    .any(|r| r.starts_with("stale: git `src`: requirement")),
                "{reasons:?}"
            ),
            "an apt package added and one pip package removed" => {
                assert!(
                    reasons
                        .iter()
                        .any(|r| r.contains("apt `libfoo`: new requirement")),
                    "{reasons:?}"
                );
                assert!(
                    reasons
                        .iter()
                        .any(|r| r.contains("pip `trainer`: locked as `trainer`")),
                    "{reasons:?}"
                );
            }
            "only an unpinned setting changed" => assert_eq!(reasons.len(), 1, "{reasons:?}"),
            _ => assert!(
                reasons[0].starts_with("inconsistent: ml.lock:"),
                "{reasons:?}"
            ),
        }
        // Nothing above wrote the lock.
        assert_eq!(s.project.read("ml.lock"), edited, "{case}");
    }
    // `mlr lock` fixes each kind of staleness; then all agree it is fresh.
    s.project.file("ml.toml", &s.manifest);
    s.project.file("ml.lock", &lock);
    s.mlr().arg("verify").assert().success();
    s.repo.commit_file("README", "z\n", "upstream moved");
    s.mlr().args(["lock", "--locked"]).assert().success();
}

#[test]
fn a_hand_edited_lock_is_inconsistent_offline() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::AptTools);
    require!(Service::PyPI);
    let s = locked_stack();
    let lock = s.project.read("ml.lock");
    let line_of = |text: &str, needle: &str| {
        text.lines()
            .position(|l| l == needle)
            .unwrap_or_else(|| panic!("no line `{needle}` in:\n{text}"))
            + 1
    };
    let engine = s.project.tripwire_engine();
    for (what, from, to, expected) in [
        (
            "a direct pip pin",
            "version = \"1.26.4\"",
            "version = \"1.26.3\"",
            "pip `numpy`: version `1.26.3` disagrees with its file `numpy-1.26.4-py3-none-any.whl` (version `1.26.4`)",
        ),
        (
            "a transitive pip pin",
            "version = \"4.66.0\"",
            "version = \"4.67.0\"",
            "pip `tqdm`: version `4.67.0` disagrees with its file `tqdm-4.66.0-py3-none-any.whl` (version `4.66.0`)",
        ),
        (
            "an apt pin",
            "version = \"1:1.5-2\"",
            "version = \"1:1.5-3\"",
            "apt `tool`: version `1:1.5-3` (amd64) disagrees with its file",
        ),
    ] {
        let edited = lock.replacen(from, to, 1);
        assert_ne!(edited, lock, "{what}: `{from}` is in the lock");
        s.project.file("ml.lock", &edited);
        let line = line_of(&edited, to);
        let (code, reasons, text) = s.reasons(&["verify"], &engine);
        assert_eq!(code, 1, "{what}:\n{text}");
        let location = format!("inconsistent: ml.lock:{line}:11: ");
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with(&location) && r.contains(expected)),
            "{what}: expected `{location}…{expected}` in:\n{text}"
        );
        let (code, _, text) = s.reasons(&["lock", "--locked"], &engine);
        assert_eq!(code, 1, "{what}:\n{text}");
        let out = s
            .mlr()
            .args(["build", "--backend", "docker"])
            .env("MLR_DOCKER", &engine)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}: build must refuse");
        assert!(!s.project.exists("engine-ran"), "{what}: the engine ran");
        // `mlr lock` re-resolves what disagrees, and the lock is whole again.
        s.mlr().arg("lock").assert().success();
        assert_eq!(
            s.project.read("ml.lock"),
            lock,
            "{what}: lock restores the pin"
        );
    }
}
