//! Tests of the Python index rig: the pages speak PEP 503/658/691 as pip
//! and uv read them, files come whole or by range, and the wheels it builds
//! are ones pip installs.

use std::env;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::support::{
    BuiltFile, LoggedRequest, PyIndex, WheelSpec, build_sdist, build_sdist_for, build_wheel,
    uv_binary,
};

const JSON: &str = "application/vnd.pypi.simple.v1+json";
/// What pip 23 sends.
const PIP_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

struct Fetched {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// `method url` with `headers`, redirects not followed.
fn fetch(method: &str, url: &str, headers: &[(&str, &str)]) -> Fetched {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .build()
        .into();
    let request = ureq::http::Request::builder().method(method).uri(url);
    let request = headers
        .iter()
        .fold(request, |r, (name, value)| r.header(*name, *value))
        .body(())
        .expect("request");
    let mut response = agent
        .run(request)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    Fetched {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: response.body_mut().read_to_vec().expect("read body"),
    }
}

fn get(url: &str) -> Fetched {
    fetch("GET", url, &[])
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("mlr-pyindex-rig-")
        .tempdir()
        .expect("create tempdir")
}

/// A pure package `name` whose module prints its version.
fn demo(name: &str, version: &str) -> WheelSpec {
    let module = name.replace('-', "_");
    WheelSpec::new(name, version).file(
        &format!("{module}/__init__.py"),
        &format!("VERSION = {version:?}\n"),
    )
}

#[test]
fn json_page_lists_wheel_with_hashes_and_core_metadata() {
    let index = PyIndex::start();
    let spec = demo("mlr-rig-demo", "1.0")
        .requires("mlr-rig-dep>=2")
        .requires_python(">=3.8");
    let wheel = index.add_wheel(&spec);
    assert_eq!(wheel.filename, "mlr_rig_demo-1.0-py3-none-any.whl");

    let page = fetch(
        "GET",
        &format!("{}/mlr-rig-demo/", index.url()),
        &[("Accept", JSON)],
    );
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some(JSON));
    let page = page.json();
    assert_eq!(page["meta"]["api-version"], "1.1");
    assert_eq!(page["name"], "mlr-rig-demo");
    assert_eq!(page["versions"], serde_json::json!(["1.0"]));
    let file = &page["files"][0];
    assert_eq!(file["filename"], wheel.filename.as_str());
    assert_eq!(file["hashes"]["sha256"], wheel.sha256.as_str());
    assert_eq!(file["size"], wheel.size);
    assert_eq!(file["requires-python"], ">=3.8");
    assert_eq!(file["yanked"], false);
    assert_eq!(file["core-metadata"], file["dist-info-metadata"]);

    // The relative URL resolves to the file, whose bytes have that hash.
    let url = file["url"].as_str().unwrap();
    assert_eq!(url, "../../files/mlr_rig_demo-1.0-py3-none-any.whl");
    assert_eq!(
        index.file_url(&wheel.filename),
        format!("http://{}/files/{}", index.addr(), wheel.filename)
    );
    let bytes = get(&index.file_url(&wheel.filename)).body;
    assert_eq!(sha256(&bytes), wheel.sha256);
    assert_eq!(bytes, fs::read(&wheel.path).unwrap());

    let metadata = get(&format!("{}.metadata", index.file_url(&wheel.filename)));
    assert_eq!(metadata.status, 200);
    assert_eq!(
        file["core-metadata"]["sha256"],
        sha256(&metadata.body).as_str()
    );
    assert_eq!(
        metadata.text(),
        "Metadata-Version: 2.1\nName: mlr-rig-demo\nVersion: 1.0\n\
         Requires-Python: >=3.8\nRequires-Dist: mlr-rig-dep>=2\n"
    );
}

#[test]
fn html_page_links_wheel_with_hashes_and_core_metadata() {
    let index = PyIndex::start();
    let wheel = index.add_wheel(&demo("mlr-rig-demo", "1.0").requires_python(">=3.8,<4"));
    let sdist = index.add_sdist("mlr-rig-demo", "1.0");

    let page = get(&format!("{}/mlr-rig-demo/", index.url()));
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text();
    let metadata = sha256(&get(&format!("{}.metadata", index.file_url(&wheel.filename))).body);
    let wheel_link = format!(
        "<a href=\"../../files/{0}#sha256={1}\" data-requires-python=\"&gt;=3.8,&lt;4\" \
         data-dist-info-metadata=\"sha256={metadata}\" data-core-metadata=\"sha256={metadata}\">{0}</a>",
        wheel.filename, wheel.sha256
    );
    assert!(html.contains(&wheel_link), "{html}");
    let sdist_link = format!(
        "<a href=\"../../files/{0}#sha256={1}\">{0}</a>",
        sdist.filename, sdist.sha256
    );
    assert!(html.contains(&sdist_link), "{html}");
    assert_eq!(sdist.filename, "mlr_rig_demo-1.0.tar.gz");
    assert_eq!(
        get(&format!("{}.metadata", index.file_url(&sdist.filename))).status,
        404
    );

    // pip's Accept, with HTML ranked lower, gets JSON.
    let page = fetch(
        "GET",
        &format!("{}/mlr-rig-demo/", index.url()),
        &[("Accept", PIP_ACCEPT)],
    );
    assert_eq!(page.header("content-type"), Some(JSON));
}

#[test]
fn names_are_normalized_and_unknown_projects_are_404() {
    let index = PyIndex::start();
    index.add_wheel(&demo("My_Pkg.Name", "1.0"));

    let list = fetch("GET", &format!("{}/", index.url()), &[("Accept", JSON)]).json();
    assert_eq!(
        list["projects"],
        serde_json::json!([{ "name": "my-pkg-name" }])
    );
    assert!(
        get(&format!("{}/", index.url()))
            .text()
            .contains("<a href=\"my-pkg-name/\">")
    );

    let redirect = get(&format!("{}/My_Pkg.Name/", index.url()));
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.header("location"), Some("/simple/my-pkg-name/"));
    assert_eq!(get(&format!("{}/my-pkg-name", index.url())).status, 301);
    assert_eq!(get(&format!("{}/my-pkg-name/", index.url())).status, 200);
    assert_eq!(get(&format!("{}/nothing-here/", index.url())).status, 404);
    assert_eq!(
        get(&index.file_url("nothing-1.0-py3-none-any.whl")).status,
        404
    );
    assert_eq!(
        index.requests(),
        [
            "/simple/",
            "/simple/",
            "/simple/My_Pkg.Name/",
            "/simple/my-pkg-name",
            "/simple/my-pkg-name/",
            "/simple/nothing-here/",
            "/files/nothing-1.0-py3-none-any.whl",
        ]
    );
    assert!(index.requested_project("my.pkg.name"));
    assert!(index.requested_project("nothing"));
    assert!(!index.requested_project("other"));
}

#[test]
fn files_answer_head_and_ranges() {
    let index = PyIndex::start();
    let wheel = index.add_wheel(&demo("mlr-rig-demo", "1.0"));
    let url = index.file_url(&wheel.filename);
    let bytes = fs::read(&wheel.path).unwrap();
    let total = bytes.len();

    let head = fetch("HEAD", &url, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(total.to_string().as_str())
    );
    assert_eq!(head.header("accept-ranges"), Some("bytes"));
    assert!(head.body.is_empty());

    let part = fetch("GET", &url, &[("Range", "bytes=10-29")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, bytes[10..30]);
    assert_eq!(part.header("content-length"), Some("20"));
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 10-29/{total}").as_str())
    );

    // The tail, as a zip reader asks for the central directory.
    let tail = fetch("GET", &url, &[("Range", "bytes=-22")]);
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, bytes[total - 22..]);
    assert_eq!(&tail.body[..4], b"PK\x05\x06");

    let from = fetch("GET", &url, &[("Range", &format!("bytes={}-", total - 5))]);
    assert_eq!(from.body, bytes[total - 5..]);
    let past_end = fetch(
        "GET",
        &url,
        &[("Range", &format!("bytes={}-{}", total - 2, total + 100))],
    );
    assert_eq!(past_end.body, bytes[total - 2..]);

    let beyond = fetch("GET", &url, &[("Range", &format!("bytes={total}-"))]);
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{total}").as_str())
    );
    // Several ranges at once: the whole file, which RFC 9110 allows.
    let several = fetch("GET", &url, &[("Range", "bytes=0-1,5-6")]);
    assert_eq!((several.status, several.body.len()), (200, total));

    let log: Vec<LoggedRequest> = index.request_log();
    assert_eq!(log[0].method, "HEAD");
    assert_eq!(log[1].range.as_deref(), Some("bytes=10-29"));
    assert_eq!(log[1].status, 206);
}

#[test]
fn many_clients_are_served_at_once() {
    let index = PyIndex::start();
    let wheel = index.add_wheel(&demo("mlr-rig-demo", "1.0"));
    let page = format!("{}/mlr-rig-demo/", index.url());
    let file = index.file_url(&wheel.filename);
    std::thread::scope(|scope| {
        for _ in 0..32 {
            scope.spawn(|| {
                for _ in 0..5 {
                    assert_eq!(fetch("GET", &page, &[("Accept", JSON)]).status, 200);
                    assert_eq!(sha256(&get(&file).body), wheel.sha256);
                }
            });
        }
    });
    assert_eq!(index.requests().len(), 32 * 5 * 2);
}

#[test]
fn wheels_are_deterministic_and_keep_local_versions() {
    let (a, b) = (tempdir(), tempdir());
    let spec = demo("mlr-rig-demo", "2.5.1+cu124")
        .tag("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
        .requires("numpy>=1")
        .file("mlr_rig_demo/z.py", "")
        .file("mlr_rig_demo/a.py", "");
    let first: BuiltFile = build_wheel(a.path(), &spec);
    let second = build_wheel(b.path(), &spec);
    assert_eq!(
        first.filename,
        "mlr_rig_demo-2.5.1+cu124-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    );
    assert_eq!(
        (first.sha256.clone(), first.size),
        (second.sha256, second.size)
    );
    assert_eq!(
        fs::read(&first.path).unwrap(),
        fs::read(&second.path).unwrap()
    );
    assert_ne!(
        build_wheel(a.path(), &spec.clone().requires("six")).sha256,
        first.sha256
    );

    let built = build_wheel(a.path(), &demo("mlr-rig-demo", "1.0").build("1"));
    assert_eq!(built.filename, "mlr_rig_demo-1.0-1-py3-none-any.whl");

    let sdist = build_sdist(a.path(), "Mlr.Rig-Demo", "1.0");
    assert_eq!(sdist.filename, "mlr_rig_demo-1.0.tar.gz");
    assert_eq!(
        build_sdist(b.path(), "Mlr.Rig-Demo", "1.0").sha256,
        sdist.sha256
    );
    let with_files = build_sdist_for(b.path(), &demo("Mlr.Rig-Demo", "1.0"));
    assert_ne!(with_files.sha256, sdist.sha256);
}

#[test]
fn local_variants_are_listed_pytorch_style() {
    let index = PyIndex::start();
    let tag = "cp311-cp311-manylinux_2_28_x86_64";
    let built = index.add_local_variants("mlr-rig-torch", "2.5.1", &["cu118", "cu124", "cpu"], tag);
    let names: Vec<&str> = built.iter().map(|b| b.filename.as_str()).collect();
    assert_eq!(
        names,
        [
            "mlr_rig_torch-2.5.1+cu118-cp311-cp311-manylinux_2_28_x86_64.whl",
            "mlr_rig_torch-2.5.1+cu124-cp311-cp311-manylinux_2_28_x86_64.whl",
            "mlr_rig_torch-2.5.1+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        ]
    );

    let all = fetch(
        "GET",
        &format!("{}/mlr-rig-torch/", index.url()),
        &[("Accept", JSON)],
    )
    .json();
    assert_eq!(
        all["versions"],
        serde_json::json!(["2.5.1+cu118", "2.5.1+cu124", "2.5.1+cpu"])
    );
    assert_eq!(all["files"].as_array().unwrap().len(), 3);

    assert_eq!(
        index.url_of("whl/cu124"),
        format!("http://{}/whl/cu124", index.addr())
    );
    let cu124 = fetch(
        "GET",
        &format!("{}/mlr-rig-torch/", index.url_of("whl/cu124")),
        &[("Accept", JSON)],
    )
    .json();
    let files = cu124["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["filename"], built[1].filename.as_str());
    // Like download.pytorch.org, the `+` travels as %2B.
    let url = files[0]["url"].as_str().unwrap();
    // ...and the files sit beside the project pages: `/whl/cu124/<file>`.
    assert_eq!(
        url,
        "../mlr_rig_torch-2.5.1%2Bcu124-cp311-cp311-manylinux_2_28_x86_64.whl"
    );
    assert_eq!(
        sha256(
            &get(&format!(
                "{}/{}",
                index.url_of("whl/cu124"),
                url.trim_start_matches("../")
            ))
            .body
        ),
        built[1].sha256
    );
    assert_eq!(
        sha256(&get(&index.file_url(&built[1].filename)).body),
        built[1].sha256
    );
    assert_eq!(
        get(&format!("{}/mlr-rig-torch/", index.url_of("whl/rocm"))).status,
        404
    );
}

#[test]
fn removed_files_disappear_and_yanked_ones_are_marked() {
    let index = PyIndex::start();
    let old = index.add_wheel(&demo("mlr-rig-demo", "1.0"));
    let new = index.add_wheel(&demo("mlr-rig-demo", "2.0"));
    index.yank(&new.filename, Some("broken <build>"));
    let page_url = format!("{}/mlr-rig-demo/", index.url());
    let page = fetch("GET", &page_url, &[("Accept", JSON)]).json();
    assert_eq!(page["files"][0]["yanked"], false);
    assert_eq!(page["files"][1]["yanked"], "broken <build>");
    assert!(
        get(&page_url)
            .text()
            .contains("data-yanked=\"broken &lt;build&gt;\"")
    );

    index.remove(&old.filename);
    let page = fetch("GET", &page_url, &[("Accept", JSON)]).json();
    assert_eq!(page["versions"], serde_json::json!(["2.0"]));
    assert_eq!(get(&index.file_url(&old.filename)).status, 404);
    index.remove(&new.filename);
    let page = fetch("GET", &page_url, &[("Accept", JSON)]);
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["files"], serde_json::json!([]));
}

#[test]
fn auth_index_refuses_requests_without_credentials() {
    let index = PyIndex::start_with_auth("alice", "s3cret");
    let wheel = index.add_wheel(&demo("mlr-rig-demo", "1.0"));
    let page_url = format!("{}/mlr-rig-demo/", index.url());
    let refused = get(&page_url);
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Basic realm=\"pyindex\"")
    );
    assert_eq!(
        fetch(
            "GET",
            &page_url,
            &[("Authorization", "Basic YWxpY2U6d3Jvbmc=")]
        )
        .status,
        401
    );
    assert_eq!(get(&index.file_url(&wheel.filename)).status, 401);
    let auth = index.basic_auth().unwrap();
    assert_eq!(auth, "Basic YWxpY2U6czNjcmV0");
    assert_eq!(
        fetch("GET", &page_url, &[("Authorization", &auth)]).status,
        200
    );
    assert_eq!(
        index.url_with_credentials(),
        format!("http://alice:s3cret@{}/simple", index.addr())
    );
}

// ---- with a real pip ----------------------------------------------------

/// True when `python3 -m pip` works; otherwise prints `SKIP` (or panics
/// under `MLR_TEST_SERVICES=1`), as `require!` does for services.
fn require_pip() -> bool {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-m", "pip", "--version"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err("`python3 -m pip` does not work".to_owned())
        }
    });
    let Err(reason) = check else {
        return true;
    };
    if env::var_os("MLR_TEST_SERVICES").is_some_and(|v| v == "1") {
        panic!("MLR_TEST_SERVICES=1 but {reason}");
    }
    let thread = std::thread::current();
    let _ = writeln!(
        std::io::stderr(),
        "SKIP {}: {reason}",
        thread.name().unwrap_or("<test>")
    );
    false
}

/// `python -m pip ARGS` with no user config, cache, find-links or proxy.
fn pip(python: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip"])
        .args(args)
        .args(["--no-cache-dir", "--no-input"]);
    for (key, _) in env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("PIP_")) {
            cmd.env_remove(&key);
        }
    }
    cmd.env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null());
    cmd.output().expect("run pip")
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
fn pip_downloads_from_the_index() {
    if !require_pip() {
        return;
    }
    let index = PyIndex::start();
    index.add_wheel(&demo("mlr-rig-demo", "0.9"));
    let wheel = index.add_wheel(&demo("mlr-rig-demo", "1.0"));
    let dest = tempdir();
    let out = pip(
        Path::new("python3"),
        &[
            "download",
            "--no-deps",
            "--index-url",
            &index.url(),
            "mlr_rig.demo==1.0",
            "-d",
            dest.path().to_str().unwrap(),
        ],
    );
    assert_success("pip download", &out);
    let downloaded = only_file(dest.path());
    assert_eq!(
        downloaded.file_name().unwrap().to_str(),
        Some(wheel.filename.as_str())
    );
    assert_eq!(sha256(&fs::read(&downloaded).unwrap()), wheel.sha256);
    // pip normalizes the name itself and reads the page as JSON.
    let log = index.request_log();
    assert_eq!(log[0].path, "/simple/mlr-rig-demo/");
    assert!(
        log[0]
            .accept
            .as_deref()
            .unwrap_or_default()
            .starts_with(JSON),
        "{log:?}"
    );
    assert_eq!(
        log.last().unwrap().path,
        format!("/files/{}", wheel.filename)
    );
}

#[test]
fn pip_downloads_from_the_auth_index_with_credentials_only() {
    if !require_pip() {
        return;
    }
    let index = PyIndex::start_with_auth("alice", "s3cret");
    let wheel = index.add_wheel(&demo("mlr-rig-demo", "1.0"));
    let dest = tempdir();
    let download = |url: &str| {
        pip(
            Path::new("python3"),
            &[
                "download",
                "--no-deps",
                "--index-url",
                url,
                "mlr-rig-demo==1.0",
                "-d",
                dest.path().to_str().unwrap(),
            ],
        )
    };
    let refused = download(&index.url());
    assert!(!refused.status.success());
    assert!(fs::read_dir(dest.path()).unwrap().next().is_none());
    assert!(index.request_log().iter().all(|r| r.status == 401));

    assert_success(
        "pip download with credentials",
        &download(&index.url_with_credentials()),
    );
    let downloaded = only_file(dest.path());
    assert_eq!(sha256(&fs::read(downloaded).unwrap()), wheel.sha256);
    let last = index.request_log().pop().unwrap();
    assert_eq!(
        (last.path, last.status),
        (format!("/files/{}", wheel.filename), 200)
    );
}

#[test]
fn built_wheels_and_sdists_install_with_pip() {
    if !require_pip() {
        return;
    }
    let index = PyIndex::start();
    let wheel = index.add_wheel(&demo("mlr-rig-demo", "1.0").file("mlr_rig_demo/data/x.txt", "x"));
    index.add_sdist_for(&demo("mlr-rig-source", "3.1").requires("mlr-rig-demo>=1"));
    let dir = tempdir();
    let venv = dir.path().join("venv");
    let out = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .stdin(Stdio::null())
        .output()
        .expect("run python3 -m venv");
    assert_success("python3 -m venv", &out);
    let python = venv.join("bin/python");

    // Every RECORD line matches its file, as `wheel`'s checker would say.
    let check = r#"
import base64, csv, hashlib, io, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
record = [n for n in names if n.endswith(".dist-info/RECORD")]
assert names[-1] == record[0], names
rows = list(csv.reader(io.StringIO(z.read(record[0]).decode())))
assert sorted(r[0] for r in rows) == sorted(names), (rows, names)
for path, digest, size in rows:
    if path == record[0]:
        assert digest == size == "", (path, digest, size)
        continue
    data = z.read(path)
    expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert digest == "sha256=" + expected and int(size) == len(data), path
print(z.read("mlr_rig_demo-1.0.dist-info/WHEEL").decode(), end="")
"#;
    let out = Command::new(&python)
        .args(["-c", check])
        .arg(&wheel.path)
        .output()
        .expect("run python");
    assert_success("RECORD check", &out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Wheel-Version: 1.0\nGenerator: mlr-testsuite\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    );

    let wheel_path = wheel.path.to_str().unwrap();
    assert_success(
        "pip install",
        &pip(&python, &["install", "--no-deps", wheel_path]),
    );
    let out = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m, mlr_rig_demo; \
             print(mlr_rig_demo.VERSION, m.version('mlr-rig-demo'))",
        ])
        .output()
        .expect("run python");
    assert_success("import mlr_rig_demo", &out);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1.0 1.0\n");

    // An sdist-only project, built by its in-tree backend with nothing
    // fetched, its dependency resolved from the index.
    let out = pip(
        &python,
        &[
            "install",
            "--index-url",
            &index.url(),
            "mlr-rig-source==3.1",
        ],
    );
    assert_success("pip install from sdist", &out);
    let out = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m, mlr_rig_source; \
             print(mlr_rig_source.VERSION, m.requires('mlr-rig-source'))",
        ])
        .output()
        .expect("run python");
    assert_success("import mlr_rig_source", &out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3.1 ['mlr-rig-demo>=1']\n"
    );
}

// ---- with a real uv, when there is one ----------------------------------

#[test]
fn uv_compiles_against_the_index() {
    // The uv mlr drives (MLR_TEST_UV or PATH first, else mlr's own pinned download).
    let uv = match uv_binary() {
        Some(uv) => uv,
        None => {
            crate::support::require!(crate::support::Service::PyPI);
            crate::support::shared_uv()
        }
    };
    let index = PyIndex::start();
    let tag = "cp311-cp311-manylinux_2_17_x86_64";
    let app = index.add_wheel(
        &demo("mlr-rig-app", "1.0")
            .requires("mlr-rig-lib>=1")
            .requires("mlr-rig-cli; extra == \"cli\"")
            .requires("mlr-rig-win; sys_platform == \"win32\""),
    );
    let lib = index.add_wheel(&demo("mlr-rig-lib", "1.5").tag(tag));
    index.add_wheel(
        &demo("mlr-rig-lib", "2.0")
            .tag(tag)
            .requires_python(">=3.12"),
    );
    index.add_wheel(&demo("mlr-rig-lib", "1.5").tag("cp311-cp311-manylinux_2_17_aarch64"));
    let cli = index.add_sdist_for(&demo("mlr-rig-cli", "0.3"));
    let torch = index.add_local_variants("mlr-rig-torch", "2.5.1", &["cu118", "cu124"], tag);

    let dir = tempdir();
    let requirements = dir.path().join("requirements.in");
    fs::write(
        &requirements,
        "mlr-rig-app[cli]==1.0\nmlr-rig-torch==2.5.1+cu124\n",
    )
    .unwrap();
    let compile = |index_url: &str| {
        Command::new(&uv)
            .args([
                "pip",
                "compile",
                "--quiet",
                "--no-config",
                "--generate-hashes",
            ])
            .args([
                "--python-version",
                "3.11",
                "--python-platform",
                "x86_64-manylinux_2_28",
            ])
            .args(["--no-header", "--no-annotate", "--index-url", index_url])
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg(&requirements)
            .env_remove("UV_INDEX_URL")
            .env_remove("UV_EXTRA_INDEX_URL")
            .env_remove("UV_FIND_LINKS")
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .stdin(Stdio::null())
            .output()
            .expect("run uv")
    };
    let out = compile(&index.url());
    assert_success("uv pip compile", &out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (pin, hash) in [
        ("mlr-rig-app==1.0", &app.sha256),
        ("mlr-rig-lib==1.5", &lib.sha256),
        ("mlr-rig-cli==0.3", &cli.sha256),
        ("mlr-rig-torch==2.5.1+cu124", &torch[1].sha256),
    ] {
        assert!(stdout.contains(pin), "{pin} not in:\n{stdout}");
        assert!(
            stdout.contains(&format!("--hash=sha256:{hash}")),
            "{pin}'s hash not in:\n{stdout}"
        );
    }
    assert!(!stdout.contains("mlr-rig-win"), "{stdout}");
    assert!(!stdout.contains(&torch[0].sha256), "{stdout}");
    // uv read the wheels' metadata from the `.metadata` files and never
    // downloaded a whole wheel.
    let requests = index.requests();
    assert!(
        requests.contains(&format!("/files/{}.metadata", app.filename)),
        "{requests:?}"
    );
    assert!(
        !requests.contains(&format!("/files/{}", app.filename)),
        "{requests:?}"
    );

    // Without PEP 658 files, uv reads METADATA out of the wheel by ranges.
    let bare = PyIndex::start();
    bare.serve_core_metadata(false);
    let app = bare.add_wheel(&demo("mlr-rig-app", "1.0").requires("mlr-rig-lib>=1"));
    bare.add_wheel(&demo("mlr-rig-lib", "1.5"));
    fs::write(&requirements, "mlr-rig-app==1.0\n").unwrap();
    let out = compile(&bare.url());
    assert_success("uv pip compile (no core metadata)", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("mlr-rig-lib==1.5"));
    let log = bare.request_log();
    let app_path = format!("/files/{}", app.filename);
    assert!(
        log.iter()
            .any(|r| r.path == app_path && r.method == "GET" && r.status == 206),
        "{log:#?}"
    );
    assert!(
        log.iter().all(|r| !r.path.ends_with(".metadata")),
        "{log:#?}"
    );

    // The same through an auth index, credentials in the URL.
    let private = PyIndex::start_with_auth("alice", "s3cret");
    private.add_wheel(&demo("mlr-rig-app", "1.0").requires("mlr-rig-lib>=1"));
    private.add_wheel(&demo("mlr-rig-lib", "1.5"));
    fs::write(&requirements, "mlr-rig-app==1.0\n").unwrap();
    let out = compile(&private.url_with_credentials());
    assert_success("uv pip compile (auth)", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("mlr-rig-lib==1.5"));
    assert!(!compile(&private.url()).status.success());
}
