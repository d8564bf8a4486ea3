//! Extra CA certificates and index tokens reach the build and leave no
//! trace: not in the image history, not in any layer's files, not in the
//! Dockerfile, not in mlr's output.
//!
//! The archive is a real HTTPS server (`openssl s_server`) whose
//! certificate only a test CA signs, standing for a corporate proxy; the
//! private index is the test index with a Basic-auth token.

use std::io::Read;

use crate::support::{
    AptRepo, DebSpec, ImageCleanup, Layer, Project, PyIndex, Registry, Service, TestCa, WheelSpec,
    debian_rootfs, docker, docker_run, require, shared_uv,
};

const TOKEN: &str = "tok-7f3e9a1c5b2d4e6f8a0b";

/// A docker CLI with BuildKit built in: the secret mounts need it. The
/// engine package's own CLI (`/usr/bin/docker`, docker.io 20.10) has it;
/// a newer CLI without the buildx plugin does not.
fn buildkit_docker() -> String {
    std::env::var("MLR_TEST_BUILDKIT_DOCKER").unwrap_or_else(|_| "/usr/bin/docker".into())
}

/// Every file of every layer of `image` (from `docker save`), searched for
/// each needle; returns `(needle, layer, path)` for each hit.
fn scan_layers(image: &str, needles: &[&str]) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    let out = docker(&["save", "-o", archive.to_str().unwrap(), image]);
    assert!(out.status.success(), "docker save failed");
    let mut hits = Vec::new();
    let mut outer = tar::Archive::new(std::fs::File::open(&archive).unwrap());
    let mut layers = 0;
    for entry in outer.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let mut check = |path: &str, data: &[u8]| {
            for needle in contained(data, needles) {
                hits.push((needle.to_string(), name.clone(), path.to_string()));
            }
        };
        check("(archive member)", &bytes);
        if name.ends_with("layer.tar") {
            layers += 1;
            let mut layer = tar::Archive::new(bytes.as_slice());
            for file in layer.entries().unwrap() {
                let mut file = file.unwrap();
                let path = file.path().unwrap().display().to_string();
                let mut data = Vec::new();
                file.read_to_end(&mut data).unwrap();
                check(&path, &data);
            }
        }
    }
    assert!(layers > 3, "docker save gave {layers} layers");
    hits
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

#[test]
fn a_ca_certificate_and_an_index_token_leave_no_trace() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::AptTools);
    require!(Service::OpenSsl);
    require!(Service::PyPI);
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
    // The Debian base with the HTTPS archive added to its sources (Python
    // still comes from Debian's mirror).
    registry.push_rootfs_with(
        "corp/debian",
        "bookworm",
        &rootfs,
        "linux/amd64",
        &[Layer::new().file(
            "etc/apt/sources.list",
            &format!(
                "{}deb [trusted=yes] {} bookworm main\n",
                std::fs::read_to_string(rootfs.join("etc/apt/sources.list")).unwrap_or_default(),
                https.url()
            ),
        )],
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
    let mlr = |args: &[&str]| {
        let mut cmd = project.mlr();
        cmd.env("SSL_CERT_FILE", &host_store)
            .env("MLR_UV", shared_uv())
            .env("MLR_DOCKER", buildkit_docker())
            .env("UV_INDEX_CORP_USERNAME", "reader")
            .env("UV_INDEX_CORP_PASSWORD", TOKEN)
            .args(args);
        cmd
    };
    let locked = mlr(&["lock"]).assert().success();
    assert!(
        project.read("ml.lock").contains(&format!(
            "source = \"{}\"",
            https.url().trim_end_matches('/')
        )),
        "corp-tool is locked from the HTTPS archive:\n{}",
        project.read("ml.lock")
    );

    let tag = format!("mlr-secrets:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone(), format!("{tag}-noca")]);
    // Without the CA, apt in the build cannot trust the archive.
    mlr(&["build", "--tag", &format!("{tag}-noca")])
        .assert()
        .failure();
    let ca_pem = ca.ca_pem();
    let built = mlr(&[
        "build",
        "--tag",
        &tag,
        "--ca-cert",
        ca_pem.to_str().unwrap(),
    ])
    .assert();
    if !built.get_output().status.success() {
        let err = String::from_utf8_lossy(&built.get_output().stderr).to_string();
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| !l.contains("RUN --mount") && !l.contains("executor failed"))
            .collect();
        panic!(
            "build failed:\n{}",
            lines[lines.len().saturating_sub(40)..].join("\n")
        );
    }

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

    // What must not leak: the token, and any line of the CA certificate.
    let ca_lines = ca.ca_lines();
    let mut needles: Vec<&str> = ca_lines.iter().map(String::as_str).collect();
    needles.push(TOKEN);

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

    let hits = scan_layers(&tag, &needles);
    assert!(hits.is_empty(), "found in the image's layers: {hits:?}");

    let dockerfile = mlr(&["dockerfile"]).assert().success();
    let dockerfile = String::from_utf8_lossy(&dockerfile.get_output().stdout).to_string();
    for needle in &needles {
        assert!(!dockerfile.contains(needle), "Dockerfile leaks {needle}");
    }

    for output in [locked.get_output(), built.get_output()] {
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for needle in &needles {
            assert!(!log.contains(needle), "the log leaks {needle}:\n{log}");
        }
    }
}
