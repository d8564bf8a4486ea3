//! Tests of the setuptools project rig with real tools: its sdists are
//! deterministic, a real setuptools (fetched from PyPI) builds them, C
//! extension included, with the host's pip; the index serves real wheels
//! with their own METADATA; git repositories hold project versions that
//! pip builds from a `git+file://` URL.

use std::env;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::support::{
    GitRepo, PyIndex, REQUIRES_PYTHON, SPEED_C, Service, SetuptoolsProject, pypi_wheel, require,
    shared_uv, uv_binary,
};

/// The real build backend the tests build with.
const SETUPTOOLS: (&str, &str) = ("setuptools", "80.9.0");

const JSON: &str = "application/vnd.pypi.simple.v1+json";

fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("mlr-sdist-rig-")
        .tempdir()
        .expect("create tempdir")
}

/// `tinyext` 1.0: a package whose `add` is the C function of [`SPEED_C`].
fn tinyext() -> SetuptoolsProject {
    SetuptoolsProject::new("tinyext", "1.0")
        .requires("mlr-rig-dep>=1")
        .file(
            "tinyext/__init__.py",
            "from ._speed import add\n\n__version__ = \"1.0\"\n",
        )
        .file("tinyext/pure.py", "def twice(x):\n    return 2 * x\n")
        .ext("tinyext._speed", "tinyext/_speed.c", SPEED_C)
}

/// `(path, contents)` of every regular file in a `.tar.gz`, in archive
/// order, and the directories.
fn untar(path: &Path) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    let bytes = fs::read(path).unwrap();
    let mut archive = tar::Archive::new(GzDecoder::new(bytes.as_slice()));
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_str().unwrap().to_owned();
        let header = entry.header();
        assert_eq!(header.mtime().unwrap(), 0, "{name}");
        if header.entry_type().is_dir() {
            assert_eq!(header.mode().unwrap(), 0o755, "{name}");
            dirs.push(name);
        } else {
            assert_eq!(header.mode().unwrap(), 0o644, "{name}");
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            files.push((name, data));
        }
    }
    (files, dirs)
}

#[test]
fn setuptools_sdists_are_deterministic_and_carry_pkg_info() {
    let (a, b) = (tempdir(), tempdir());
    let project = tinyext();
    let first = project.build_sdist(a.path());
    let second = project.build_sdist(b.path());
    assert_eq!(first.filename, "tinyext-1.0.tar.gz");
    assert_eq!((&first.sha256, first.size), (&second.sha256, second.size));
    assert_eq!(
        fs::read(&first.path).unwrap(),
        fs::read(&second.path).unwrap()
    );
    assert_eq!(
        hex::encode(Sha256::digest(fs::read(&first.path).unwrap())),
        first.sha256
    );
    let bumped = SetuptoolsProject {
        version: "1.1".to_owned(),
        ..project.clone()
    };
    assert_ne!(bumped.build_sdist(a.path()).sha256, first.sha256);

    let (files, dirs) = untar(&first.path);
    assert_eq!(dirs, ["tinyext-1.0/", "tinyext-1.0/tinyext/"]);
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "tinyext-1.0/PKG-INFO",
            "tinyext-1.0/pyproject.toml",
            "tinyext-1.0/setup.py",
            "tinyext-1.0/tinyext/__init__.py",
            "tinyext-1.0/tinyext/_speed.c",
            "tinyext-1.0/tinyext/pure.py",
        ]
    );
    assert_eq!(
        String::from_utf8_lossy(&files[0].1),
        "Metadata-Version: 2.2\nName: tinyext\nVersion: 1.0\n\
         Requires-Python: >=3.8\nRequires-Dist: mlr-rig-dep>=1\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&files[1].1),
        "[build-system]\nrequires = [\"setuptools>=61\"]\n\
         build-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"tinyext\"\nversion = \"1.0\"\nrequires-python = \">=3.8\"\n\
         dependencies = [\"mlr-rig-dep>=1\"]\n\n\
         [tool.setuptools]\npackages = [\"tinyext\"]\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&files[2].1),
        "from setuptools import Extension, setup\n\n\
         setup(ext_modules=[Extension(\"tinyext._speed\", sources=[\"tinyext/_speed.c\"])])\n"
    );

    // The tree holds what the sdist holds, but PKG-INFO.
    let tree = tempdir();
    project.write_tree(tree.path());
    for (name, data) in &files[1..] {
        let path = tree.path().join(name.strip_prefix("tinyext-1.0/").unwrap());
        assert_eq!(&fs::read(&path).unwrap(), data, "{}", path.display());
    }
    assert!(!tree.path().join("PKG-INFO").exists());
}

// ---- with a real setuptools and the host's pip ---------------------------

/// A venv of the host `python3` with the real setuptools from PyPI in it.
struct Venv {
    python: PathBuf,
    /// The venv's parent; also the directory commands run in, away from
    /// any source tree.
    dir: PathBuf,
}

impl Venv {
    fn with_setuptools(dir: &Path) -> Venv {
        let setuptools = pypi_wheel(SETUPTOOLS.0, SETUPTOOLS.1);
        let venv = dir.join("venv");
        let out = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .stdin(Stdio::null())
            .output()
            .expect("run python3 -m venv");
        assert_success("python3 -m venv", &out);
        let venv = Venv {
            python: venv.join("bin/python"),
            dir: dir.to_owned(),
        };
        venv.pip(&[
            "install",
            "--no-index",
            "--no-deps",
            setuptools.to_str().unwrap(),
        ]);
        assert_eq!(
            venv.run("import setuptools; print(setuptools.__version__)"),
            format!("{}\n", SETUPTOOLS.1)
        );
        venv
    }

    /// `python -m pip ARGS` offline, with no user config, cache or proxy.
    fn pip(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.python);
        cmd.args(["-m", "pip"])
            .args(args)
            .args(["--no-cache-dir", "--no-input"])
            .current_dir(&self.dir);
        for (key, _) in env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("PIP_")) {
                cmd.env_remove(&key);
            }
        }
        let out = cmd
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run pip");
        assert_success(&format!("pip {}", args.join(" ")), &out);
        out
    }

    /// `python -c code`; its stdout.
    fn run(&self, code: &str) -> String {
        let out = Command::new(&self.python)
            .args(["-c", code])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("run python");
        assert_success(code, &out);
        String::from_utf8(out.stdout).unwrap()
    }
}

fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn only_file(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
}

#[test]
fn setuptools_builds_the_c_extension_sdist_offline() {
    require!(Service::PyPI);
    require!(Service::PythonDev);
    let dir = tempdir();
    let venv = Venv::with_setuptools(dir.path());
    let sdist = tinyext().build_sdist(&dir.path().join("dist"));
    let wheels = dir.path().join("wheels");
    venv.pip(&[
        "wheel",
        "--no-index",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        wheels.to_str().unwrap(),
        sdist.path.to_str().unwrap(),
    ]);
    let wheel = only_file(&wheels);
    let wheel_name = wheel.file_name().unwrap().to_str().unwrap();
    assert!(
        wheel_name.starts_with("tinyext-1.0-cp3") && !wheel_name.ends_with("-none-any.whl"),
        "{wheel_name} is not a CPython platform wheel"
    );

    venv.pip(&[
        "install",
        "--no-index",
        "--no-deps",
        wheel.to_str().unwrap(),
    ]);
    assert_eq!(
        venv.run(
            "import importlib.metadata as m, tinyext, tinyext._speed as s, tinyext.pure as p\n\
             print(tinyext.add(2, 3), p.twice(4), s.__file__.endswith('.so'))\n\
             print(m.version('tinyext'), m.requires('tinyext'))"
        ),
        "5 8 True\n1.0 ['mlr-rig-dep>=1']\n"
    );
}

#[test]
fn pip_builds_a_project_from_a_git_tag() {
    require!(Service::Git);
    require!(Service::PyPI);
    require!(Service::PythonDev);
    let dir = tempdir();
    let repo = GitRepo::init(&dir.path().join("repo"));
    let v1 = SetuptoolsProject::new("mlr-rig-gitpkg", "1.0")
        .file("mlr_rig_gitpkg/__init__.py", "VERSION = \"1.0\"\n")
        .file("mlr_rig_gitpkg/old.py", "");
    let first = repo.commit_project(&v1, "1.0");
    repo.tag("v1.0");
    repo.branch("release-1");
    let v2 = SetuptoolsProject::new("mlr-rig-gitpkg", "2.0")
        .file("mlr_rig_gitpkg/__init__.py", "VERSION = \"2.0\"\n");
    let second = repo.commit_project(&v2, "2.0");
    assert_ne!(first, second);
    assert_eq!(repo.rev_parse("v1.0"), first);
    assert_eq!(repo.rev_parse("release-1"), first);
    // Each commit holds exactly its project: 2.0 dropped old.py.
    let listing = |rev: &str| repo.git(&["ls-tree", "-r", "--name-only", rev]);
    assert_eq!(
        listing(&first),
        "mlr_rig_gitpkg/__init__.py\nmlr_rig_gitpkg/old.py\npyproject.toml"
    );
    assert_eq!(
        listing(&second),
        "mlr_rig_gitpkg/__init__.py\npyproject.toml"
    );
    assert_eq!(
        repo.git(&["show", "HEAD:pyproject.toml"]),
        v2.pyproject_toml().trim_end()
    );

    let venv = Venv::with_setuptools(dir.path());
    venv.pip(&[
        "install",
        "--no-index",
        "--no-deps",
        "--no-build-isolation",
        // A bare URL: pip 23's packaging refuses `name @ git+file:///…`.
        &format!("git+{}@v1.0", repo.url()),
    ]);
    assert_eq!(
        venv.run("import mlr_rig_gitpkg.old, mlr_rig_gitpkg as p; print(p.VERSION)"),
        "1.0\n"
    );
}

// ---- the index with real files ------------------------------------------

#[test]
fn index_serves_a_real_wheel_with_its_own_metadata() {
    require!(Service::PyPI);
    let setuptools = pypi_wheel(SETUPTOOLS.0, SETUPTOOLS.1);
    assert_eq!(
        setuptools.file_name().unwrap(),
        "setuptools-80.9.0-py3-none-any.whl"
    );
    // Cached: a second call finds the checked file where the first left it.
    assert_eq!(pypi_wheel("SetupTools", SETUPTOOLS.1), setuptools);

    let index = PyIndex::start();
    let listed = index.add_file(&setuptools);
    assert_eq!(listed.filename, "setuptools-80.9.0-py3-none-any.whl");
    assert_eq!(
        listed.sha256,
        hex::encode(Sha256::digest(fs::read(&setuptools).unwrap()))
    );

    let mut archive = zip::ZipArchive::new(fs::File::open(&setuptools).unwrap()).unwrap();
    let mut metadata = String::new();
    archive
        .by_name("setuptools-80.9.0.dist-info/METADATA")
        .unwrap()
        .read_to_string(&mut metadata)
        .unwrap();
    assert!(metadata.contains("\nName: setuptools\n"), "{metadata}");

    let page = http_get(&format!("{}/setuptools/", index.url()), Some(JSON));
    let page: serde_json::Value = serde_json::from_slice(&page).unwrap();
    assert_eq!(page["versions"], serde_json::json!(["80.9.0"]));
    let file = &page["files"][0];
    assert_eq!(file["filename"], listed.filename.as_str());
    assert_eq!(file["hashes"]["sha256"], listed.sha256.as_str());
    assert_eq!(file["size"], listed.size);
    assert_eq!(file["requires-python"], ">=3.9");
    let served = http_get(
        &format!("{}.metadata", index.file_url(&listed.filename)),
        None,
    );
    assert_eq!(String::from_utf8(served.clone()).unwrap(), metadata);
    assert_eq!(
        file["core-metadata"]["sha256"],
        hex::encode(Sha256::digest(&served)).as_str()
    );

    // An sdist of the rig and the real wheel, resolved together by uv.
    let project = SetuptoolsProject::new("mlr-rig-tinyext", "1.0")
        .requires("setuptools>=70")
        .file("mlr_rig_tinyext/__init__.py", "");
    let sdist = index.add_setuptools_sdist(&project);
    assert_eq!(sdist.filename, "mlr_rig_tinyext-1.0.tar.gz");
    let page = http_get(&format!("{}/mlr-rig-tinyext/", index.url()), Some(JSON));
    let page: serde_json::Value = serde_json::from_slice(&page).unwrap();
    let file = &page["files"][0];
    assert_eq!(file["hashes"]["sha256"], sdist.sha256.as_str());
    assert_eq!(file["requires-python"], REQUIRES_PYTHON);
    assert_eq!(file["core-metadata"], false);

    let uv = uv_binary().unwrap_or_else(shared_uv);
    let dir = tempdir();
    let requirements = dir.path().join("requirements.in");
    fs::write(&requirements, "mlr-rig-tinyext==1.0\n").unwrap();
    let out = Command::new(&uv)
        .args([
            "pip",
            "compile",
            "--quiet",
            "--no-config",
            "--generate-hashes",
        ])
        .args(["--no-header", "--no-annotate", "--python-version", "3.11"])
        .args(["--default-index", &index.url()])
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .arg(&requirements)
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX")
        .env_remove("UV_EXTRA_INDEX_URL")
        .env_remove("UV_FIND_LINKS")
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .output()
        .expect("run uv");
    assert_success("uv pip compile", &out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (pin, hash) in [
        ("mlr-rig-tinyext==1.0", &sdist.sha256),
        ("setuptools==80.9.0", &listed.sha256),
    ] {
        assert!(stdout.contains(pin), "{pin} not in:\n{stdout}");
        assert!(
            stdout.contains(&format!("--hash=sha256:{hash}")),
            "{pin}'s hash not in:\n{stdout}"
        );
    }
    // uv read the sdist's metadata without building it: it never fetched
    // the whole setuptools wheel a build would have installed.
    let requests = index.requests();
    assert!(
        !requests.contains(&format!("/files/{}", listed.filename)),
        "{requests:?}"
    );
}

/// The body of a GET, optionally with `Accept`.
fn http_get(url: &str, accept: Option<&str>) -> Vec<u8> {
    let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
    let mut request = agent.get(url);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    response.body_mut().read_to_vec().expect("read body")
}
