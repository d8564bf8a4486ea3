//! `mlr lock` for Python packages, with uv against real indexes on
//! 127.0.0.1 (and one live PyPI smoke test).

use predicates::prelude::*;

use crate::support::{
    Project, PyIndex, Registry, Service, SetuptoolsProject, TwoPlatformPip, WheelSpec,
    push_debian_marker, push_debian_marker_index, pypi_wheel, require, shared_uv, two_platform_pip,
};

/// A registry with a Debian-12-looking base, a local index, a project.
struct Env {
    registry: Registry,
    index: PyIndex,
    project: Project,
    base: String,
}

fn env() -> Env {
    let registry = Registry::start();
    push_debian_marker(&registry, "py/base", "12", "linux/amd64");
    let base = registry.reference("py/base", "12");
    Env {
        registry,
        index: PyIndex::start(),
        project: Project::new(),
        base,
    }
}

impl Env {
    fn manifest(&self, body: &str) {
        self.project.file(
            "ml.toml",
            format!(
                "[base]\nimage = \"{}\"\n\n[pip]\nindex-url = \"{}\"\n{body}",
                self.base,
                self.index.url()
            ),
        );
    }

    fn mlr(&self) -> assert_cmd::Command {
        let mut cmd = self.project.mlr();
        cmd.env("MLR_UV", shared_uv());
        cmd
    }

    fn lock(&self) -> String {
        self.project.read("ml.lock")
    }
}

/// The `[[pip]]` block of `name` in a lock.
fn block<'a>(lock: &'a str, name: &str) -> &'a str {
    let start = lock
        .find(&format!("[[pip]]\nname = \"{name}\"\n"))
        .unwrap_or_else(|| panic!("no [[pip]] {name} in:\n{lock}"));
    let rest = &lock[start + 1..];
    let end = rest.find("\n[[").map_or(rest.len(), |e| e + 1);
    &lock[start..start + 1 + end]
}

#[test]
fn exact_pins_closure_extras_and_markers() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    let app = e.index.add_wheel(
        &WheelSpec::new("app", "1.0")
            .requires("lib>=1")
            .requires("fancy[extra1]==2.0")
            .requires("oldonly; python_version < '3.0'"),
    );
    e.index.add_wheel(&WheelSpec::new("lib", "1.0"));
    let lib2 = e.index.add_wheel(&WheelSpec::new("lib", "2.0"));
    e.index.add_wheel(
        &WheelSpec::new("fancy", "2.0")
            .extra("extra1")
            .requires("helper==0.5; extra == 'extra1'"),
    );
    e.index.add_wheel(&WheelSpec::new("helper", "0.5"));
    e.index.add_wheel(&WheelSpec::new("oldonly", "1.0"));
    e.manifest("packages = [\"app==1.0\"]\n");
    e.mlr()
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains("Added pip lib 2.0"));
    let lock = e.lock();
    assert!(
        lock.contains("[python]\nversion = \"3.11\"\nglibc = \"2.36\"\nos = \"debian 12\"\n"),
        "{lock}"
    );
    let a = block(&lock, "app");
    assert!(
        a.contains("version = \"1.0\"") && a.contains("requested = \"app==1.0\""),
        "{a}"
    );
    assert!(a.contains(&format!("sha256 = \"{}\"", app.sha256)), "{a}");
    assert!(
        a.contains(&format!("url = \"{}\"", e.index.file_url(&app.filename))),
        "{a}"
    );
    assert!(a.contains("index = \"default\""), "{a}");
    let l = block(&lock, "lib");
    assert!(
        l.contains("version = \"2.0\"") && l.contains("via = [\"app\"]"),
        "{l}"
    );
    assert!(l.contains(&lib2.sha256), "{l}");
    assert!(!l.contains("requested"), "lib is not direct: {l}");
    assert!(
        block(&lock, "helper").contains("via = [\"fancy\"]"),
        "the extra's dependency is locked"
    );
    assert!(
        !lock.contains("name = \"oldonly\""),
        "a false marker adds nothing:\n{lock}"
    );
    // Twice: byte-identical and no rewrite.
    e.mlr().arg("lock").assert().success();
    assert_eq!(e.lock(), lock);
    e.mlr().arg("verify").assert().success();
}

#[test]
fn two_platforms_get_their_own_wheels() {
    require!(Service::Registry);
    require!(Service::PyPI);
    // Bound whole: the registry and the index live as long as the test.
    let fixture = two_platform_pip();
    let TwoPlatformPip {
        project,
        amd64: x86,
        arm64: arm,
        ..
    } = &fixture;
    let lock = project.read("ml.lock");
    let b = block(&lock, "native");
    let amd = format!(
        "{{ platform = \"linux/amd64\", filename = \"{}\"",
        x86.filename
    );
    let arm64 = format!(
        "{{ platform = \"linux/arm64\", filename = \"{}\"",
        arm.filename
    );
    assert!(b.contains(&amd) && b.contains(&arm64), "{b}");
    assert!(b.contains(&x86.sha256) && b.contains(&arm.sha256), "{b}");
    assert!(!b.contains("cp312"), "{b}");
}

#[test]
fn a_package_pinned_to_an_index_never_comes_from_another() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    let internal = PyIndex::start();
    // The same name on both indexes: the public one is the attacker's.
    let public_evil = e.index.add_wheel(&WheelSpec::new("mycorp-utils", "9.9"));
    let good = internal.add_wheel(&WheelSpec::new("mycorp-utils", "1.2").requires("mycorp-core"));
    internal.add_wheel(&WheelSpec::new("mycorp-core", "1.0"));
    e.index.add_wheel(&WheelSpec::new("mycorp-core", "6.6"));
    // A public package that also exists on the internal index.
    internal.add_wheel(&WheelSpec::new("six", "0.0.1"));
    let six = e.index.add_wheel(&WheelSpec::new("six", "1.16.0"));
    e.manifest(&format!(
        "packages = [\"mycorp-utils\", \"six\"]\n\n[[pip.index]]\nname = \"internal\"\nurl = \"{}\"\npackages = [\"mycorp-*\"]\n",
        internal.url()
    ));
    e.mlr().arg("lock").assert().success();
    let lock = e.lock();
    let u = block(&lock, "mycorp-utils");
    assert!(
        u.contains("index = \"internal\"") && u.contains(&good.sha256),
        "{u}"
    );
    assert!(!lock.contains(&public_evil.sha256), "{lock}");
    let c = block(&lock, "mycorp-core");
    assert!(
        c.contains("version = \"1.0\"") && c.contains("index = \"internal\""),
        "transitive routing: {c}"
    );
    let s = block(&lock, "six");
    assert!(
        s.contains(&six.sha256) && s.contains("index = \"default\""),
        "{s}"
    );
    // The direct requirement is never even asked of the public index. (A
    // transitive name is discovered there in a first pass, then routed;
    // its public files are never fetched or locked.)
    assert!(
        !e.index.requested_project("mycorp-utils"),
        "{:?}",
        e.index.requests()
    );
    assert!(
        !e.index
            .requests()
            .iter()
            .any(|r| r.starts_with("/files/mycorp_core-6.6") && !r.ends_with(".metadata")),
        "{:?}",
        e.index.requests()
    );
    assert!(
        !internal.requested_project("six"),
        "{:?}",
        internal.requests()
    );
}

#[test]
fn minimal_updates_and_the_change_summary() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    e.index.add_wheel(&WheelSpec::new("numpy", "1.26.3"));
    e.index
        .add_wheel(&WheelSpec::new("pandas", "2.0").requires("numpy>=1.20"));
    e.index.add_wheel(&WheelSpec::new("tqdm", "4.0"));
    e.manifest("packages = [\"pandas\"]\n");
    e.mlr().arg("lock").assert().success();
    // Upstream publishes a newer numpy; adding an unrelated package keeps it.
    e.index.add_wheel(&WheelSpec::new("numpy", "1.26.4"));
    e.manifest("packages = [\"pandas\", \"tqdm\"]\n");
    e.mlr()
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains("Added pip tqdm 4.0"))
        .stderr(predicate::str::contains("numpy").not());
    assert!(block(&e.lock(), "numpy").contains("version = \"1.26.3\""));
    // --update numpy moves numpy only.
    e.mlr()
        .args(["lock", "--update", "numpy"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Updated pip numpy 1.26.3 → 1.26.4",
        ))
        .stderr(predicate::str::contains("pandas").not());
    // Removing a requirement removes its pin.
    e.manifest("packages = [\"pandas\"]\n");
    e.mlr()
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains("Removed pip tqdm"));
    assert!(!e.lock().contains("name = \"tqdm\""));
}

#[test]
fn index_credentials_never_reach_the_lock_or_the_output() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    let password = "idx-s3cret-PW";
    let private = PyIndex::start_with_auth("reader", password);
    let wheel = private.add_wheel(&WheelSpec::new("secret-sauce", "1.0"));
    e.manifest(&format!(
        "packages = [\"secret-sauce\"]\n\n[[pip.index]]\nname = \"private\"\nurl = \"{}\"\npackages = [\"secret-*\"]\n",
        private.url()
    ));
    // Without credentials: a clear failure.
    e.mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error:"));
    let out = e
        .mlr()
        .env("UV_INDEX_PRIVATE_USERNAME", "reader")
        .env("UV_INDEX_PRIVATE_PASSWORD", password)
        .args(["lock", "--verbose"])
        .assert()
        .success();
    let lock = e.lock();
    assert!(
        block(&lock, "secret-sauce").contains(&wheel.sha256),
        "{lock}"
    );
    let output = out.get_output();
    for text in [
        lock.as_str(),
        &String::from_utf8_lossy(&output.stdout),
        &String::from_utf8_lossy(&output.stderr),
    ] {
        assert!(!text.contains(password), "{text}");
        assert!(!text.contains("reader@"), "{text}");
    }
}

/// Live PyPI: requests and numpy for Python 3.11 on amd64 and arm64; every
/// locked sha256 equals the one PyPI lists for that file.
#[test]
fn live_pypi_smoke() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let registry = Registry::start();
    push_debian_marker_index(&registry, "py/live", "12", &["linux/amd64", "linux/arm64"]);
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[project]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n\n[base]\nimage = \"{}\"\n\n[python]\nversion = \"3.11\"\n\n[pip]\npackages = [\"requests\", \"numpy\"]\n",
            registry.reference("py/live", "12")
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();
    let lock: mlr::lock::Lockfile = mlr::lock::parse(&project.read("ml.lock"), "ml.lock")
        .unwrap()
        .lock;
    let names: Vec<&str> = lock.pip.iter().map(|p| p.name.as_str()).collect();
    for want in [
        "requests",
        "numpy",
        "urllib3",
        "idna",
        "certifi",
        "charset-normalizer",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    let numpy = lock.pip.iter().find(|p| p.name == "numpy").unwrap();
    let amd = numpy
        .artifacts
        .iter()
        .find(|a| a.platform == "linux/amd64")
        .unwrap();
    let arm = numpy
        .artifacts
        .iter()
        .find(|a| a.platform == "linux/arm64")
        .unwrap();
    assert!(
        amd.filename.contains("x86_64") && amd.filename.contains("cp311"),
        "{amd:?}"
    );
    assert!(
        arm.filename.contains("aarch64") && arm.filename.contains("cp311"),
        "{arm:?}"
    );
    for pin in &lock.pip {
        let listed = pypi_hashes(&pin.name);
        for a in &pin.artifacts {
            assert_eq!(
                listed.get(&a.filename),
                Some(&a.sha256),
                "{} {}: PyPI lists another hash",
                pin.name,
                a.filename
            );
            assert!(
                a.url.starts_with("https://files.pythonhosted.org/"),
                "{}",
                a.url
            );
            assert!(a.size > 0);
        }
    }
}

/// filename → sha256 from PyPI's simple API (PEP 691 JSON). PyPI's
/// `/pypi/<name>/json` API answers 404 through this machine's proxy; the
/// simple API lists the same hashes.
fn pypi_hashes(name: &str) -> std::collections::BTreeMap<String, String> {
    let out = std::process::Command::new("curl")
        .args(["-fsSL", "-H", "Accept: application/vnd.pypi.simple.v1+json"])
        .arg(format!("https://pypi.org/simple/{name}/"))
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            Some((
                f["filename"].as_str()?.to_string(),
                f["hashes"]["sha256"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// `from = "distro"` asks for the distribution's Python, which must then
/// be the version written (without `from`, mlr would install a standalone
/// CPython 3.10 instead: `base_images.rs`).
#[test]
fn python_version_must_match_the_distribution() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    e.index.add_wheel(&WheelSpec::new("x", "1.0"));
    e.project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[python]\nversion = \"3.10\"\nfrom = \"distro\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"x\"]\n",
            e.base,
            e.index.url()
        ),
    );
    e.mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("provides Python 3.11"))
        .stderr(predicate::str::contains(
            "hint: set [python] version = \"3.11\"",
        ));
    assert!(!e.project.exists("ml.lock"));
    let _ = &e.registry;
}

#[test]
fn a_package_without_a_wheel_is_locked_as_its_flagged_sdist() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    let sdist = e.index.add_sdist("sourceonly", "0.3");
    let wheel = e.index.add_wheel(&WheelSpec::new("haswheel", "1.0"));
    e.manifest("packages = [\"sourceonly\", \"haswheel\"]\n");
    e.mlr()
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "sourceonly 0.3 has no wheel for linux/amd64",
        ));
    let lock = e.lock();
    let s = block(&lock, "sourceonly");
    assert!(
        s.contains(&format!("filename = \"{}\"", sdist.filename)),
        "{s}"
    );
    assert!(
        s.contains(&sdist.sha256) && s.contains("sdist = true"),
        "{s}"
    );
    let w = block(&lock, "haswheel");
    assert!(w.contains(&wheel.sha256) && !w.contains("sdist"), "{w}");
    // Its build environment is locked: the rig's in-tree backend needs
    // nothing (`requires = []`).
    assert!(s.contains("build-requires = []\n"), "{s}");
    assert!(!w.contains("build-requires"), "{w}");
    // The build makes its wheel in a stage of its own, from locked inputs
    // only; no compiler is installed by name.
    let dockerfile = e.mlr().arg("dockerfile").assert().success();
    let dockerfile = String::from_utf8_lossy(&dockerfile.get_output().stdout).to_string();
    assert!(dockerfile.contains("AS mlr-wheels\n"), "{dockerfile}");
    assert!(
        dockerfile.contains("wheel --no-index --no-deps --no-build-isolation"),
        "{dockerfile}"
    );
    assert!(
        !dockerfile.contains("build-essential python3-dev"),
        "{dockerfile}"
    );
    e.mlr().arg("verify").assert().success();
}

/// Every form of requirement a user writes is either locked or refused
/// with a located error naming it, never dropped from the lock (which
/// used to loop: `lock` said "Wrote", `verify` said stale).
#[test]
fn every_requirement_form_is_locked_or_refused() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    e.index
        .add_wheel(&WheelSpec::new("tinypkg", "1.0").extra("fast"));
    e.index.add_wheel(&WheelSpec::new("tinypkg", "2.0"));
    // A dependency that names a URL instead of a version.
    e.index.add_wheel(
        &WheelSpec::new("urldep", "1.0")
            .requires("tinypkg @ https://files.example/tinypkg-1.0-py3-none-any.whl"),
    );
    let locked = [
        ("tinypkg", "2.0", "tinypkg"),
        ("tinypkg==1.0", "1.0", "tinypkg==1.0"),
        ("tinypkg>=1,<2", "1.0", "tinypkg>=1,<2"),
        ("tinypkg[fast]==1.0", "1.0", "tinypkg[fast]==1.0"),
        (
            "tinypkg==1.0; python_version >= '3.8'",
            "1.0",
            "tinypkg==1.0; python_version >= \"3.8\"",
        ),
    ];
    for (written, version, requested) in locked {
        let _ = std::fs::remove_file(e.project.path("ml.lock"));
        e.manifest(&format!(
            "packages = [{}]\n",
            toml_edit::Value::from(written)
        ));
        e.mlr().arg("lock").assert().success();
        let lock = e.lock();
        assert!(
            lock.contains(&format!(
                "name = \"tinypkg\"\nversion = \"{version}\"\nindex = \"default\"\nrequested = \"{}\"\n",
                requested.replace('"', "\\\"")
            )),
            "{written}:\n{lock}"
        );
        e.mlr().arg("verify").assert().success();
    }
    // A wheel by URL: locked from the URL, by its sha256 (and the
    // `#sha256=` fragment, when the URL has one, is checked).
    let wheel = e.index.add_wheel(&WheelSpec::new("urlpkg", "3.0"));
    let url = e.index.file_url(&wheel.filename);
    for written in [
        format!("urlpkg @ {url}"),
        format!("urlpkg @ {url}#sha256={}", wheel.sha256),
    ] {
        let _ = std::fs::remove_file(e.project.path("ml.lock"));
        e.manifest(&format!(
            "packages = [{}]\n",
            toml_edit::Value::from(written.as_str())
        ));
        e.mlr().arg("lock").assert().success();
        let lock = e.lock();
        let pin = block(&lock, "urlpkg");
        assert!(
            pin.contains("version = \"3.0\"\nindex = \"direct\"\n"),
            "{pin}"
        );
        assert!(
            pin.contains(&format!("url = \"{url}\", sha256 = \"{}\"", wheel.sha256)),
            "{pin}"
        );
        e.mlr().arg("verify").assert().success();
        // A second package beside it: the URL pin is kept as it is.
        let pin = pin.to_string();
        e.manifest(&format!(
            "packages = [{}, \"tinypkg==1.0\"]\n",
            toml_edit::Value::from(written.as_str())
        ));
        e.mlr().arg("lock").assert().success();
        assert_eq!(block(&e.lock(), "urlpkg"), pin);
        e.mlr().arg("verify").assert().success();
    }
    let _ = std::fs::remove_file(e.project.path("ml.lock"));
    e.manifest(&format!(
        "packages = [{}]\n",
        toml_edit::Value::from(format!("urlpkg @ {url}#sha256={}", "0".repeat(64)).as_str())
    ));
    e.mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "has sha256 {}, but {} was expected; refusing to use it",
            wheel.sha256,
            "0".repeat(64)
        )));
    assert!(!e.project.exists("ml.lock"));

    let refused = [
        (
            "tinypkg @ https://files.example/tinypkg-1.0.exe",
            "is not a wheel or an sdist archive",
        ),
        (
            "tinypkg @ https://files.example/tinypkg-1.0-py3-none-any.whl#md5=abc",
            "is not `#sha256=<64 hex digits>`",
        ),
        (
            "tinypkg @ hg+https://hg.example/tinypkg@v1",
            "mlr locks git repositories only",
        ),
        (
            "tinypkg @ git+https://git.example/t.git@v1#subdirectory=py",
            "`#subdirectory=py` is not supported",
        ),
        (
            "tinypkg @ git+https://token@git.example/t.git@v1",
            "URL contains credentials",
        ),
        (
            "tinypkg @ file:///src/tinypkg",
            "an absolute path would not hold on another machine",
        ),
        ("tinypkg @ ../outside", "leaves the project directory"),
        ("./src/tinypkg", "invalid requirement"),
        ("-e .", "invalid requirement"),
        ("git+https://git.example/tinypkg.git", "invalid requirement"),
    ];
    for (written, says) in refused {
        let _ = std::fs::remove_file(e.project.path("ml.lock"));
        e.manifest(&format!(
            "packages = [{}]\n",
            toml_edit::Value::from(written)
        ));
        e.mlr()
            .arg("lock")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("ml.toml:"))
            .stderr(predicate::str::contains(says));
        assert!(!e.project.exists("ml.lock"), "{written}");
    }
    // A URL reached through a dependency: refused at resolution (by uv,
    // which takes URL dependencies only from direct requirements), naming it.
    e.manifest("packages = [\"urldep\"]\n");
    e.mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tinypkg @ https://files.example/tinypkg-1.0-py3-none-any.whl",
        ));
    assert!(!e.project.exists("ml.lock"));
}

/// `[pip] requirements`: pip requirement files with `-r`, `-c`, markers
/// and an extra index mapped onto `[[pip.index]]`; the lock records each
/// file's sha256, so an edit to any of them makes the lock stale.
#[test]
fn requirement_files_are_read_and_their_edits_make_the_lock_stale() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    e.index.add_wheel(&WheelSpec::new("numpy", "1.26.4"));
    e.index.add_wheel(&WheelSpec::new("numpy", "2.0.0"));
    e.index.add_wheel(&WheelSpec::new("urllib3", "1.26.20"));
    e.index.add_wheel(&WheelSpec::new("urllib3", "2.2.3"));
    e.index.add_wheel(&WheelSpec::new("tqdm", "4.66.0"));
    e.index
        .add_wheel_to("corp", &WheelSpec::new("corp-utils", "1.0"));
    let corp = e.index.url_of("corp");
    e.project.file(
        "requirements.txt",
        format!(
            "# the training job\n--extra-index-url {corp}\n-r reqs/base.txt\n-c constraints.txt\nnumpy<2  # not 2 yet\ntqdm; python_version >= \"3.8\"\ncorp-utils\n"
        ),
    );
    e.project.file("reqs/base.txt", "urllib3\n");
    e.project.file("constraints.txt", "urllib3<2\n");
    e.manifest(&format!(
        "requirements = [\"requirements.txt\"]\n\n[[pip.index]]\nname = \"corp\"\nurl = \"{corp}\"\npackages = [\"corp-*\"]\n"
    ));
    e.mlr().arg("lock").assert().success();
    let lock = e.lock();
    assert!(
        block(&lock, "numpy").contains("version = \"1.26.4\""),
        "{lock}"
    );
    assert!(
        block(&lock, "urllib3").contains("version = \"1.26.20\""),
        "{lock}"
    );
    assert!(
        block(&lock, "corp-utils").contains("index = \"corp\""),
        "{lock}"
    );
    assert!(
        block(&lock, "tqdm").contains("requested = \"tqdm; python_version >= \\\"3.8\\\"\""),
        "{lock}"
    );
    for path in ["constraints.txt", "reqs/base.txt", "requirements.txt"] {
        assert!(
            lock.contains(&format!(
                "[[requirement-file]]\npath = \"{path}\"\nsha256 = \""
            )),
            "{path}:\n{lock}"
        );
    }
    e.mlr().arg("verify").assert().success();

    // An edit to a file the first one pulls in: stale, naming it.
    e.project.file("reqs/base.txt", "urllib3  # any\n");
    let out = e.mlr().arg("verify").output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "stale: pip requirement file `reqs/base.txt` changed since the lock was written"
        ),
        "{said}"
    );
    assert!(!said.contains("ml.toml changed"), "{said}");
    e.mlr().arg("lock").assert().success();
    e.mlr().arg("verify").assert().success();

    // A requirement file error points at its line and column.
    e.project.file("reqs/base.txt", "urllib3\n-e ./vendored\n");
    e.mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("reqs/base.txt:2:1"))
        .stderr(predicate::str::contains("`-e` is not supported"));
}

/// One package under two markers (as Lightning's test requirements pin
/// numpy per Python version): one pin, and the lock stays fresh.
#[test]
fn one_package_under_two_markers_is_one_fresh_pin() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    e.index.add_wheel(&WheelSpec::new("tinypkg", "1.0"));
    e.index.add_wheel(&WheelSpec::new("tinypkg", "2.0"));
    e.manifest(
        "packages = [\"tinypkg==1.0; python_version < '3.12'\", \"tinypkg==2.0; python_version >= '3.12'\"]\n",
    );
    e.mlr().arg("lock").assert().success();
    let lock = e.lock();
    assert!(
        block(&lock, "tinypkg").contains("version = \"1.0\""),
        "{lock}"
    );
    e.mlr().arg("verify").assert().success();
    e.mlr().args(["lock", "--locked"]).assert().success();
}

/// A requirement whose marker is false for the locked interpreter has no
/// pin and needs none: the lock stays fresh.
#[test]
fn a_requirement_with_a_false_marker_needs_no_pin() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    e.index.add_wheel(&WheelSpec::new("tinypkg", "1.0"));
    e.manifest(
        "packages = [\"tinypkg\", \"oldpy; python_version < '3.0'\", \"winonly; platform_system == 'Windows'\"]\n",
    );
    e.mlr().arg("lock").assert().success();
    let lock = e.lock();
    assert!(!lock.contains("name = \"oldpy\""), "{lock}");
    e.mlr().arg("verify").assert().success();
    e.mlr().args(["lock", "--locked"]).assert().success();
}

/// `[pip] build-constraints` steer the build environments, as pip's
/// `PIP_CONSTRAINT` does (the PyYAML 5.4.1 + Cython 3 fix), and a change to
/// them makes the lock stale.
#[test]
fn build_constraints_steer_the_build_environments() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let e = env();
    e.index.add_file(&pypi_wheel("setuptools", "80.9.0"));
    e.index.add_wheel(&WheelSpec::new("buildtool", "1.0"));
    e.index.add_wheel(&WheelSpec::new("buildtool", "2.0"));
    e.index.add_setuptools_sdist(
        &SetuptoolsProject::new("needsbt", "0.1")
            .file("needsbt/__init__.py", "V = 1\n")
            .build_requires(&["setuptools>=61", "buildtool"]),
    );
    e.manifest("packages = [\"needsbt\"]\n");
    e.mlr().arg("lock").assert().success();
    assert!(
        block(&e.lock(), "needsbt")
            .contains("build-requires = [\"buildtool==2.0\", \"setuptools==80.9.0\"]"),
        "{}",
        e.lock()
    );
    e.manifest("packages = [\"needsbt\"]\nbuild-constraints = [\"buildtool<2\"]\n");
    e.mlr()
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "stale: pip `build-constraints`: requirement `buildtool<2` is not satisfied by the lock (`none`)",
        ));
    e.mlr().arg("lock").assert().success();
    let lock = e.lock();
    assert!(
        lock.contains("\nbuild-constraints = [\"buildtool<2\"]\n"),
        "{lock}"
    );
    assert!(
        block(&lock, "needsbt")
            .contains("build-requires = [\"buildtool==1.0\", \"setuptools==80.9.0\"]"),
        "{lock}"
    );
    e.mlr().arg("verify").assert().success();
    // A constraint names no URL.
    e.manifest(
        "packages = [\"needsbt\"]\nbuild-constraints = [\"buildtool @ https://f.example/b.whl\"]\n",
    );
    e.mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a constraint cannot name a URL"));
}
