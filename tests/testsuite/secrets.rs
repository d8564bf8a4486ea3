//! Extra CA certificates and index tokens reach the build and leave no
//! trace: not in the image history, not in any layer's files, not in the
//! Dockerfile, not in mlr's output.
//!
//! The archive is a real HTTPS server (`openssl s_server`) whose
//! certificate only a test CA signs, standing for a corporate proxy; the
//! private index is the test index with a Basic-auth token.

use crate::support::{
    AptRepo, DebSpec, HttpsServer, ImageCleanup, Project, PyIndex, Registry, Service, Storage,
    TestCa, Tool, WheelSpec, debian_rootfs, docker, docker_run, require, shared_uv,
};

const TOKEN: &str = "tok-7f3e9a1c5b2d4e6f8a0b";

/// A docker CLI with BuildKit built in: the secret mounts need it. The
/// engine package's own CLI (`/usr/bin/docker`, docker.io 20.10) has it;
/// a newer CLI without the buildx plugin does not.
pub(crate) fn buildkit_docker() -> String {
    std::env::var("MLR_TEST_BUILDKIT_DOCKER").unwrap_or_else(|_| "/usr/bin/docker".into())
}

/// The needles (each at least 8 bytes) that occur in `data`, in one pass:
/// each position's first 8 bytes are looked up among the needles' prefixes
/// (a naive search per needle takes minutes over a whole image).
fn contained<'a>(data: &[u8], needles: &[&'a str]) -> Vec<&'a str> {
    let prefix = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let mut prefixes: Vec<(u64, &str)> = needles
        .iter()
        .map(|n| {
            assert!(n.len() >= 8, "needle {n:?} is too short");
            (prefix(n.as_bytes()), *n)
        })
        .collect();
    prefixes.sort();
    let mut found = Vec::new();
    for i in 0..data.len().saturating_sub(7) {
        let p = prefix(&data[i..]);
        let start = prefixes.partition_point(|(q, _)| *q < p);
        for (_, needle) in prefixes[start..].iter().take_while(|(q, _)| *q == p) {
            if data[i..].starts_with(needle.as_bytes()) && !found.contains(needle) {
                found.push(*needle);
            }
        }
    }
    found
}

/// Every needle found in an image archive: layers are uncompressed tars
/// inside it, so a file's bytes are contiguous in the archive.
fn scan_archive(archive: &std::path::Path, needles: &[&str]) -> Vec<String> {
    let bytes = std::fs::read(archive).expect("read the image archive");
    // The scan sees the files of the image's layers: corp_lib's source is
    // found.
    assert_eq!(
        contained(&bytes, &["VERSION = '2.0'"]),
        ["VERSION = '2.0'"],
        "the archive holds the image's files uncompressed"
    );
    contained(&bytes, needles)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// A Debian base whose apt sources include an HTTPS archive signed by a
/// test CA, a token-protected index, and a project using both, locked.
struct Corp {
    ca: TestCa,
    https: HttpsServer,
    _repo: AptRepo,
    _registry: Registry,
    _index: PyIndex,
    project: Project,
    _home: tempfile::TempDir,
    host_store: std::path::PathBuf,
}

impl Corp {
    fn new() -> Corp {
        let ca = TestCa::new();
        let repo = AptRepo::start("bookworm", &["main"]);
        repo.add(
            &DebSpec::new("corp-tool", "3.1-1")
                .arch("all")
                .file("/usr/share/corp-tool/VERSION", "3.1-1\n"),
        );
        repo.publish();
        let https = ca.serve(repo.root());
        let registry = Registry::start();
        let rootfs = debian_rootfs().expect("checked by require!");
        // The Debian base with the HTTPS archive added to its sources
        // (Python still comes from Debian's mirror).
        registry.push_debian_with_source(
            "corp/debian",
            "bookworm",
            &rootfs,
            &format!("deb [trusted=yes] {} bookworm main", https.url()),
        );
        let index = PyIndex::start_with_auth("reader", TOKEN);
        index.add_wheel(
            &WheelSpec::new("corp-lib", "2.0").file("corp_lib/__init__.py", "VERSION = '2.0'\n"),
        );
        // mlr itself trusts the CA through the host's store (SSL_CERT_FILE).
        let home = tempfile::tempdir().unwrap();
        let host_store = home.path().join("host-store.pem");
        let mut store =
            std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
        store.push_str(&std::fs::read_to_string(ca.ca_pem()).unwrap());
        std::fs::write(&host_store, store).unwrap();
        let project = Project::new();
        project.file(
            "ml.toml",
            format!(
                r#"[project]
name = "corp"

[base]
image = "{base}"

[python]
version = "3.11"

[apt]
packages = ["corp-tool"]

[pip]
packages = ["corp-lib==2.0"]

[[pip.index]]
name = "corp"
url = "{index}"
packages = ["corp-*"]
"#,
                base = registry.reference("corp/debian", "bookworm"),
                index = index.url(),
            ),
        );
        Corp {
            ca,
            https,
            _repo: repo,
            _registry: registry,
            _index: index,
            project,
            _home: home,
            host_store,
        }
    }

    /// The settings a user behind the proxy has: the CA in the host's
    /// store, the index token in uv's variables.
    fn env(&self, cmd: &mut assert_cmd::Command) {
        cmd.env("SSL_CERT_FILE", &self.host_store)
            .env("MLR_UV", shared_uv())
            .env("MLR_DOCKER", buildkit_docker())
            .env("UV_INDEX_CORP_USERNAME", "reader")
            .env("UV_INDEX_CORP_PASSWORD", TOKEN);
    }

    fn mlr(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.project.mlr();
        self.env(&mut cmd);
        cmd.args(args);
        cmd
    }

    /// `mlr lock`, checking corp-tool comes from the HTTPS archive; returns
    /// the output.
    fn lock(&self) -> std::process::Output {
        let locked = self.mlr(&["lock"]).assert().success();
        let lock = self.project.read("ml.lock");
        assert!(
            lock.contains(&format!(
                "source = \"{}\"",
                self.https.url().trim_end_matches('/')
            )),
            "corp-tool is locked from the HTTPS archive:\n{lock}"
        );
        locked.get_output().clone()
    }

    /// What must not leak: the token, and any line of the CA certificate.
    fn needles(&self) -> Vec<String> {
        let mut needles = self.ca.ca_lines();
        needles.push(TOKEN.to_string());
        needles
    }

    /// Neither the Dockerfile nor mlr's output holds a needle.
    fn assert_no_leak_in_dockerfile_or_logs(&self, outputs: &[&std::process::Output]) {
        let needles = self.needles();
        let dockerfile = self.mlr(&["dockerfile"]).assert().success();
        let dockerfile = String::from_utf8_lossy(&dockerfile.get_output().stdout).to_string();
        for output in outputs {
            let log = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            for needle in &needles {
                assert!(!dockerfile.contains(needle), "Dockerfile leaks {needle}");
                assert!(!log.contains(needle), "the log leaks {needle}:\n{log}");
            }
        }
    }
}

fn failed_build_tail(output: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&output.stderr).to_string();
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("RUN --mount") && !l.contains("executor failed"))
        .collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn a_ca_certificate_and_an_index_token_leave_no_trace() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::AptTools);
    require!(Service::OpenSsl);
    require!(Service::PyPI);
    let corp = Corp::new();
    let locked = corp.lock();

    let tag = format!("mlr-secrets:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone(), format!("{tag}-noca")]);
    // Without the CA, apt in the build cannot trust the archive.
    corp.mlr(&["build", "--tag", &format!("{tag}-noca")])
        .assert()
        .failure();
    let ca_pem = corp.ca.ca_pem();
    let built = corp
        .mlr(&[
            "build",
            "--tag",
            &tag,
            "--ca-cert",
            ca_pem.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "build failed:\n{}",
        failed_build_tail(&built)
    );

    // The build used both: the apt package from the HTTPS archive and the
    // wheel from the token-protected index are installed.
    let out = docker_run(
        &tag,
        &[
            "sh",
            "-c",
            "cat /usr/share/corp-tool/VERSION; python -c 'import corp_lib; print(corp_lib.VERSION)'",
        ],
    );
    assert_eq!(out, "3.1-1\n2.0\n");

    let needles = corp.needles();
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    let history = docker(&["history", "--no-trunc", &tag]);
    let history = String::from_utf8_lossy(&history.stdout).to_string();
    assert!(
        history.contains("SSL_CERT_FILE=/run/secrets/mlr-ca"),
        "the steps used the CA through its secret mount:\n{history}"
    );
    for needle in &needles {
        assert!(
            !history.contains(needle),
            "history leaks {needle}:\n{history}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    let out = docker(&["save", "-o", archive.to_str().unwrap(), &tag]);
    assert!(out.status.success(), "docker save failed");
    let hits = scan_archive(&archive, &needles);
    assert!(hits.is_empty(), "found in the image's layers: {hits:?}");
    corp.assert_no_leak_in_dockerfile_or_logs(&[&locked, &built]);
}

/// The same with buildah, whose `RUN --mount=type=secret` is its own.
#[test]
fn buildah_mounts_the_ca_as_a_secret_and_keeps_it_out_of_the_image() {
    require!(Service::Registry);
    require!(Service::Buildah);
    require!(Service::DebianRootfs);
    require!(Service::AptTools);
    require!(Service::OpenSsl);
    require!(Service::PyPI);
    let corp = Corp::new();
    let locked = corp.lock();
    let storage = Storage::new(Tool::Buildah);
    let tag = "localhost/mlr-secrets:buildah";
    let ca_pem = corp.ca.ca_pem();
    let mut cmd = storage.mlr(&corp.project);
    corp.env(&mut cmd);
    let built = cmd
        .args(["build", "--backend", "buildah", "--tag", tag])
        .args(["--ca-cert", ca_pem.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "build failed:\n{}",
        failed_build_tail(&built)
    );
    let out = storage.sh(
        tag,
        "cat /usr/share/corp-tool/VERSION; /opt/mlr/venv/bin/python -c 'import corp_lib; print(corp_lib.VERSION)'; ls /run/secrets 2>/dev/null | wc -l",
    );
    assert_eq!(out, "3.1-1\n2.0\n0");

    let needles = corp.needles();
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    let inspect = storage.run(&["inspect", "--type", "image", tag]);
    let inspect: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let history = inspect["OCIv1"]["history"].to_string();
    assert!(
        history.contains("/run/secrets/mlr-ca"),
        "the steps used the CA through its secret mount:\n{history}"
    );
    for needle in &needles {
        assert!(
            !history.contains(needle),
            "history leaks {needle}:\n{history}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    storage.run(&[
        "push",
        "--disable-compression",
        tag,
        &format!("docker-archive:{}", archive.display()),
    ]);
    let hits = scan_archive(&archive, &needles);
    assert!(hits.is_empty(), "found in the image's layers: {hits:?}");
    corp.assert_no_leak_in_dockerfile_or_logs(&[&locked, &built]);
}
