//! Tests of the apt archive rig: the `.deb` files are real, the indexes are
//! what Debian's tools write, and apt (on the host and in a container
//! built from the Debian base) reads and installs from them.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::support::{
    AptRepo, BuiltDeb, DebSpec, ImageCleanup, IndexTool, Registry, Service, debian_rootfs,
    docker_build_with, docker_run, native_arch, require,
};

type Stanza = BTreeMap<String, String>;

/// `GET url` without a proxy: (status, body).
fn get(url: &str) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .expect("read body");
    (response.status().as_u16(), body)
}

/// The body of a `GET url` that must answer 200.
fn get_ok(url: &str) -> Vec<u8> {
    let (status, body) = get(url);
    assert_eq!(status, 200, "GET {url}: {}", String::from_utf8_lossy(&body));
    body
}

fn get_text(url: &str) -> String {
    String::from_utf8(get_ok(url)).expect("UTF-8 index")
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Deb822 stanzas, crudely: continuation lines are joined to their field
/// with a newline.
fn stanzas(text: &str) -> Vec<Stanza> {
    let mut all = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut stanza = Stanza::new();
        let mut last = String::new();
        for line in block.lines() {
            if line.starts_with([' ', '\t']) {
                let value = stanza.get_mut(&last).expect("continuation after a field");
                value.push('\n');
                value.push_str(line.trim());
            } else {
                let (name, value) = line.split_once(':').expect("a field line");
                last = name.to_owned();
                stanza.insert(last.clone(), value.trim().to_owned());
            }
        }
        all.push(stanza);
    }
    all
}

fn stanza<'a>(stanzas: &'a [Stanza], package: &str, version: &str, arch: &str) -> &'a Stanza {
    stanzas
        .iter()
        .find(|s| s["Package"] == package && s["Version"] == version && s["Architecture"] == arch)
        .unwrap_or_else(|| panic!("no {package} {version} {arch} in {stanzas:#?}"))
}

/// `(Package, Version, Architecture)` of every stanza, sorted.
fn listed(stanzas: &[Stanza]) -> Vec<(String, String, String)> {
    let mut listed: Vec<_> = stanzas
        .iter()
        .map(|s| {
            (
                s["Package"].clone(),
                s["Version"].clone(),
                s["Architecture"].clone(),
            )
        })
        .collect();
    listed.sort();
    listed
}

fn triple(package: &str, version: &str, arch: &str) -> (String, String, String) {
    (package.to_owned(), version.to_owned(), arch.to_owned())
}

/// The pool serves `built` at its `Filename:`, with the listed bytes.
fn assert_served(repo: &AptRepo, built: &BuiltDeb) {
    let bytes = get_ok(&format!("{}/{}", repo.url(), built.filename));
    assert_eq!(sha256(&bytes), built.sha256, "{}", built.filename);
    assert_eq!(bytes.len() as u64, built.size, "{}", built.filename);
    assert_eq!(bytes, fs::read(&built.path).unwrap());
}

fn packages_url(repo: &AptRepo, component: &str, arch: &str) -> String {
    format!(
        "{}/dists/{}/{component}/binary-{arch}/Packages",
        repo.url(),
        repo.suite()
    )
}

fn run(command: &mut Command) -> Output {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// The closure the install tests use: `libfoo` needs `libbar (>= 2)`
/// (1.0-1 is also there), `libbaz | libqux` (only `libqux` exists) and the
/// virtual `foo-virtual` (provided by `foo-impl`); it pre-depends on
/// `foo-base` and recommends `foo-extra`. The `libbar` and `libqux` are
/// `Multi-Arch: same`, `libfoo` is not.
fn add_closure(repo: &AptRepo, arch: &str) {
    let libfoo = |version: &str| {
        DebSpec::new("libfoo", version)
            .arch(arch)
            .file(&format!("/usr/share/libfoo/{arch}/VERSION"), version)
    };
    let lib = |name: &str, version: &str| {
        DebSpec::new(name, version)
            .arch(arch)
            .multi_arch("same")
            .file(&format!("/usr/share/{name}/{arch}/VERSION"), version)
    };
    repo.add(
        &libfoo("1.0-1")
            .pre_depends("foo-base")
            .depends("libbar (>= 2), libbaz | libqux, foo-virtual")
            .recommends("foo-extra"),
    );
    repo.add(&libfoo("1.1-1").depends("libbar (>= 2)"));
    repo.add(&lib("libbar", "1.0-1"));
    repo.add(&lib("libbar", "2.0-1"));
    repo.add(&lib("libqux", "0.5-3"));
    repo.add(
        &DebSpec::new("foo-impl", "3.1-1")
            .provides("foo-virtual")
            .file("/usr/share/foo-impl/VERSION", "3.1-1"),
    );
    repo.add(&DebSpec::new("foo-base", "1:0.1-1").multi_arch("foreign"));
    repo.add(&DebSpec::new("foo-extra", "1.0-1"));
    repo.publish();
}

#[test]
fn packages_index_lists_relations_provides_and_multi_arch() {
    require!(Service::AptTools);
    let repo = AptRepo::start("bookworm", &["main"]);
    let libfoo = |arch: &str| {
        DebSpec::new("libfoo", "1.0-1")
            .arch(arch)
            .multi_arch("same")
            .pre_depends("libc6 (>= 2.36)")
            .depends("libbar (>= 2), libbaz | libqux")
            .recommends("foo-extra")
            .provides("foo-virtual (= 1.0)")
            .file("/usr/share/libfoo/VERSION", "1.0-1")
    };
    let foo_amd64 = repo.add(&libfoo("amd64"));
    let foo_arm64 = repo.add(&libfoo("arm64"));
    let data = repo.add(
        &DebSpec::new("foo-data", "1:2.0-1")
            .multi_arch("foreign")
            .field("Section", "libs")
            .field("Breaks", "libfoo (<< 1.0)"),
    );
    let tool = repo.add(&DebSpec::new("footool", "0.9-2").arch("arm64"));
    assert_eq!(
        foo_amd64.filename,
        "pool/main/libf/libfoo/libfoo_1.0-1_amd64.deb"
    );
    assert_eq!(data.filename, "pool/main/f/foo-data/foo-data_2.0-1_all.deb");
    repo.publish();

    let amd64 = stanzas(&get_text(&packages_url(&repo, "main", "amd64")));
    let arm64 = stanzas(&get_text(&packages_url(&repo, "main", "arm64")));
    assert_eq!(
        listed(&amd64),
        [
            triple("foo-data", "1:2.0-1", "all"),
            triple("libfoo", "1.0-1", "amd64"),
        ]
    );
    assert_eq!(
        listed(&arm64),
        [
            triple("foo-data", "1:2.0-1", "all"),
            triple("footool", "0.9-2", "arm64"),
            triple("libfoo", "1.0-1", "arm64"),
        ]
    );
    for (index, arch, built) in [(&amd64, "amd64", &foo_amd64), (&arm64, "arm64", &foo_arm64)] {
        let s = stanza(index, "libfoo", "1.0-1", arch);
        assert_eq!(s["Multi-Arch"], "same");
        assert_eq!(s["Pre-Depends"], "libc6 (>= 2.36)");
        assert_eq!(s["Depends"], "libbar (>= 2), libbaz | libqux");
        assert_eq!(s["Recommends"], "foo-extra");
        assert_eq!(s["Provides"], "foo-virtual (= 1.0)");
        assert_eq!(s["Filename"], built.filename);
        assert_eq!(s["SHA256"], built.sha256);
        assert_eq!(s["Size"], built.size.to_string());
    }
    assert_ne!(foo_amd64.sha256, foo_arm64.sha256);
    let s = stanza(&amd64, "foo-data", "1:2.0-1", "all");
    assert_eq!(
        (
            s["Multi-Arch"].as_str(),
            s["Section"].as_str(),
            s["Breaks"].as_str()
        ),
        ("foreign", "libs", "libfoo (<< 1.0)")
    );
    assert_eq!(s["SHA256"], data.sha256);
    assert_eq!(
        stanza(&arm64, "footool", "0.9-2", "arm64")["SHA256"],
        tool.sha256
    );

    for built in [&foo_amd64, &foo_arm64, &data, &tool] {
        assert_served(&repo, built);
    }
    assert!(
        repo.requests()
            .contains(&format!("/debian/{}", foo_amd64.filename)),
        "{:?}",
        repo.requests()
    );
}

#[test]
fn release_lists_every_index_with_its_sha256() {
    require!(Service::AptTools);
    let repo = AptRepo::start("bookworm", &["main", "contrib"]);
    repo.add(&DebSpec::new("foo", "1.0-1").arch("amd64"));
    repo.add(&DebSpec::new("bar", "2.0-1").component("contrib"));
    repo.publish();

    let release = get_text(&format!("{}/dists/bookworm/Release", repo.url()));
    let fields = &stanzas(&release)[0];
    assert_eq!(fields["Suite"], "bookworm");
    assert_eq!(fields["Codename"], "bookworm");
    assert_eq!(fields["Architectures"], "amd64 arm64");
    assert_eq!(fields["Components"], "main contrib");
    assert!(fields.contains_key("Date"), "{release}");
    let sums: Vec<(String, u64, String)> = fields["SHA256"]
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(parts.len(), 3, "{line:?}");
            (
                parts[2].to_owned(),
                parts[1].parse().expect("a size"),
                parts[0].to_owned(),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for component in ["main", "contrib"] {
        for arch in ["amd64", "arm64"] {
            for file in ["Packages", "Packages.gz"] {
                expected.push(format!("{component}/binary-{arch}/{file}"));
            }
        }
    }
    assert_eq!(
        sums.iter()
            .map(|(path, ..)| path.clone())
            .collect::<Vec<_>>(),
        expected
    );
    for (path, size, sum) in &sums {
        let bytes = get_ok(&format!("{}/dists/bookworm/{path}", repo.url()));
        assert_eq!(
            (bytes.len() as u64, &sha256(&bytes)),
            (*size, sum),
            "{path}"
        );
    }

    let contrib = stanzas(&get_text(&packages_url(&repo, "contrib", "arm64")));
    assert_eq!(listed(&contrib), [triple("bar", "2.0-1", "all")]);
    assert_eq!(
        stanza(&contrib, "bar", "2.0-1", "all")["Filename"],
        "pool/contrib/b/bar/bar_2.0-1_all.deb"
    );
    let main_arm64 = stanzas(&get_text(&packages_url(&repo, "main", "arm64")));
    assert!(main_arm64.is_empty(), "{main_arm64:?}");
    // Unsigned: there is no InRelease, and clients say `[trusted=yes]`.
    let (status, _) = get(&format!("{}/dists/bookworm/InRelease", repo.url()));
    assert_eq!(status, 404);
    assert_eq!(
        repo.sources_line(),
        format!("deb [trusted=yes] {} bookworm main contrib", repo.url())
    );

    let addr = repo.addr();
    drop(repo);
    assert!(TcpStream::connect(&addr).is_err(), "{addr} still answers");
}

#[test]
fn packages_gz_gunzips_to_packages() {
    require!(Service::AptTools);
    let repo = AptRepo::start("bookworm", &["main"]);
    repo.add(
        &DebSpec::new("libfoo", "1.0-1")
            .arch("amd64")
            .depends("libbar"),
    );
    repo.add(&DebSpec::new("libbar", "1.0-1"));
    repo.publish();
    for arch in ["amd64", "arm64"] {
        let url = packages_url(&repo, "main", arch);
        let plain = get_ok(&url);
        let mut unzipped = Vec::new();
        GzDecoder::new(get_ok(&format!("{url}.gz")).as_slice())
            .read_to_end(&mut unzipped)
            .expect("gunzip Packages.gz");
        assert_eq!(
            String::from_utf8_lossy(&unzipped),
            String::from_utf8_lossy(&plain)
        );
        assert_eq!(String::from_utf8_lossy(&plain), repo.packages("main", arch));
    }
}

#[test]
fn a_removed_version_disappears_after_publish() {
    require!(Service::AptTools);
    let repo = AptRepo::start("bookworm", &["main"]);
    let old = repo.add(&DebSpec::new("libfoo", "1.0-1").arch("amd64"));
    let new = repo.add(&DebSpec::new("libfoo", "2.0-1").arch("amd64"));
    repo.publish();
    let url = packages_url(&repo, "main", "amd64");
    assert_eq!(
        listed(&stanzas(&get_text(&url))),
        [
            triple("libfoo", "1.0-1", "amd64"),
            triple("libfoo", "2.0-1", "amd64")
        ]
    );

    // Between removal and publish the index still lists the old version,
    // but the pool no longer serves it: a mirror that moved on.
    repo.remove("libfoo", "1.0-1");
    assert!(!old.path.exists());
    let old_url = format!("{}/{}", repo.url(), old.filename);
    assert_eq!(get(&old_url).0, 404);
    assert_eq!(listed(&stanzas(&get_text(&url))).len(), 2);
    let missed = format!("/debian/{}", old.filename);
    assert!(
        repo.request_log()
            .iter()
            .any(|r| r.path == missed && r.status == 404),
        "{:?}",
        repo.request_log()
    );

    repo.publish();
    let index = stanzas(&get_text(&url));
    assert_eq!(listed(&index), [triple("libfoo", "2.0-1", "amd64")]);
    assert_eq!(index[0]["SHA256"], new.sha256);
}

#[test]
fn dpkg_deb_shows_the_control_fields() {
    require!(Service::AptTools);
    let spec = DebSpec::new("libfoo", "1:1.0-1")
        .arch("amd64")
        .multi_arch("same")
        .pre_depends("libc6 (>= 2.36)")
        .depends("libbar (>= 2), libbaz | libqux")
        .provides("foo-virtual")
        .file("/usr/share/foo/VERSION", "1.0-1\n");
    let repo = AptRepo::start("bookworm", &["main"]);
    let built = repo.add(&spec);
    assert!(built.path.ends_with("libfoo_1.0-1_amd64.deb"), "{built:?}");

    let info = stdout(&run(Command::new("dpkg-deb").arg("-I").arg(&built.path)));
    for line in [
        " Package: libfoo",
        " Version: 1:1.0-1",
        " Architecture: amd64",
        " Multi-Arch: same",
        " Pre-Depends: libc6 (>= 2.36)",
        " Depends: libbar (>= 2), libbaz | libqux",
        " Provides: foo-virtual",
        " Installed-Size: 4",
    ] {
        assert!(info.lines().any(|l| l == line), "no {line:?} in:\n{info}");
    }
    let contents = stdout(&run(Command::new("dpkg-deb")
        .arg("-c")
        .arg(&built.path)
        .env("TZ", "UTC")));
    let file = contents
        .lines()
        .find(|l| l.ends_with(" ./usr/share/foo/VERSION"))
        .unwrap_or_else(|| panic!("no VERSION in:\n{contents}"));
    assert!(
        file.starts_with("-rw-r--r-- root/root") && file.contains(" 2024-01-01 00:00 "),
        "{file}"
    );

    // The same spec gives the same bytes, in another archive and later.
    let again = AptRepo::start("bookworm", &["main"]).add(&spec);
    assert_eq!((again.sha256, again.size), (built.sha256, built.size));
}

#[test]
fn dpkg_scanpackages_and_apt_ftparchive_list_the_same_packages() {
    require!(Service::AptTools);
    let have = |program: &str| {
        Command::new(program)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !have("dpkg-scanpackages") || !have("apt-ftparchive") {
        assert!(
            std::env::var_os("MLR_TEST_SERVICES").is_none_or(|v| v != "1"),
            "MLR_TEST_SERVICES=1 but dpkg-scanpackages or apt-ftparchive is missing"
        );
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("<test>");
        eprintln!("SKIP {test}: needs both dpkg-scanpackages and apt-ftparchive");
        return;
    }
    let repo = AptRepo::start("bookworm", &["main"]);
    add_closure(&repo, "amd64");
    let keys = [
        "Package",
        "Version",
        "Architecture",
        "Filename",
        "SHA256",
        "Size",
    ];
    let view = |text: &str| -> Vec<Vec<String>> {
        let mut rows: Vec<_> = stanzas(text)
            .iter()
            .map(|s| keys.iter().map(|k| s[*k].clone()).collect())
            .collect();
        rows.sort();
        rows
    };
    repo.publish_with(IndexTool::DpkgScanpackages);
    let scanpackages = repo.packages("main", "amd64");
    repo.publish_with(IndexTool::AptFtparchive);
    let ftparchive = repo.packages("main", "amd64");
    assert!(ftparchive.contains("\nSHA512: "), "{ftparchive}");
    assert_eq!(view(&scanpackages), view(&ftparchive));
    assert_eq!(view(&scanpackages).len(), 8);
}

/// An apt configuration of its own under `dir`: this archive as the only
/// source, an empty dpkg status, no hooks from the host's `apt.conf.d`.
/// Returns the file to name in `APT_CONFIG`.
fn isolated_apt(dir: &Path, repo: &AptRepo, architectures: &[&str]) -> PathBuf {
    for sub in [
        "etc/apt.conf.d",
        "etc/preferences.d",
        "etc/sources.list.d",
        "etc/trusted.gpg.d",
        "state/lists/partial",
        "cache/archives/partial",
        "log",
        "download",
    ] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    fs::write(dir.join("status"), "").unwrap();
    // The deb822 form here; the container test uses the one-line form.
    fs::write(
        dir.join("etc/sources.list.d/local.sources"),
        repo.sources_deb822(),
    )
    .unwrap();
    let d = dir.display();
    let archs: String = architectures.iter().map(|a| format!("\"{a}\"; ")).collect();
    let config = format!(
        "Dir::Etc \"{d}/etc/\";\n\
         Dir::Etc::main \"apt.conf\";\n\
         Dir::Etc::sourcelist \"sources.list\";\n\
         Dir::State \"{d}/state/\";\n\
         Dir::State::status \"{d}/status\";\n\
         Dir::Cache \"{d}/cache/\";\n\
         Dir::Log \"{d}/log/\";\n\
         APT::Architecture \"{}\";\n\
         APT::Architectures {{ {archs}}};\n\
         APT::Sandbox::User \"root\";\n\
         Acquire::Languages \"none\";\n\
         Acquire::http::Proxy \"DIRECT\";\n\
         Debug::NoLocking \"true\";\n",
        architectures[0]
    );
    let path = dir.join("apt.conf");
    fs::write(&path, config).unwrap();
    path
}

#[test]
fn apt_get_resolves_and_downloads_from_the_repository() {
    require!(Service::AptTools);
    let repo = AptRepo::start("bookworm", &["main"]);
    let native = native_arch();
    let foreign = if native == "arm64" { "amd64" } else { "arm64" };
    add_closure(&repo, native);
    let arm = repo.add(&DebSpec::new("libfoo", "1.0-1").arch(foreign));
    repo.publish();
    let dir = TempDir::new().unwrap();
    let apt_config = isolated_apt(dir.path(), &repo, &[native, foreign]);
    let apt = |program: &str, args: &[&str]| {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("APT_CONFIG", &apt_config)
            .env("LC_ALL", "C")
            .current_dir(dir.path().join("download"));
        stdout(&run(&mut command))
    };

    let started = Instant::now();
    apt("apt-get", &["update"]);
    let requests = repo.requests();
    for arch in [native, foreign] {
        assert!(
            requests.iter().any(|p| p.starts_with(&format!(
                "/debian/dists/bookworm/main/binary-{arch}/Packages"
            ))),
            "{requests:?}"
        );
    }
    assert!(requests.contains(&"/debian/dists/bookworm/Release".to_owned()));

    // apt's own resolver walks the closure: the versioned dependency, the
    // existing alternative, the virtual package, the pre-dependency.
    let simulated = apt(
        "apt-get",
        &[
            "install",
            "--simulate",
            "--no-install-recommends",
            "libfoo=1.0-1",
        ],
    );
    let installs: Vec<&str> = simulated
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    let mut names = installs.clone();
    names.sort_unstable();
    assert_eq!(
        names,
        ["foo-base", "foo-impl", "libbar", "libfoo", "libqux"],
        "{simulated}"
    );
    assert!(
        simulated.contains("Inst libbar (2.0-1 "),
        "libbar (>= 2) picks 2.0-1:\n{simulated}"
    );

    apt("apt-get", &["download", &format!("libfoo:{foreign}=1.0-1")]);
    let downloaded = dir
        .path()
        .join(format!("download/libfoo_1.0-1_{foreign}.deb"));
    assert_eq!(sha256(&fs::read(&downloaded).unwrap()), arm.sha256);
    let policy = apt("apt-cache", &["policy", "libfoo"]);
    assert!(policy.contains("Candidate: 1.1-1"), "{policy}");
    eprintln!(
        "host apt: update, simulate and download in {:.2?}",
        started.elapsed()
    );
}

#[test]
fn apt_in_a_debian_container_installs_from_the_repository() {
    require!(Service::AptTools);
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    let rootfs = debian_rootfs().expect("checked by require!");
    let started = Instant::now();
    let repo = AptRepo::start("bookworm", &["main"]);
    add_closure(&repo, native_arch());
    let registry = Registry::start();
    let pushed = registry.push_rootfs(
        "debian",
        "bookworm",
        &rootfs,
        &format!("linux/{}", native_arch()),
    );
    let base = format!("{}/debian@{}", registry.addr(), pushed.digest);
    let tag = format!("mlr-aptrepo-rig:{}", repo.addr().replace(['.', ':'], "-"));
    let _cleanup = ImageCleanup::new([tag.clone(), base.clone()]);
    let pushed_in = started.elapsed();

    // Only the local archive is a source, so nothing comes from Debian.
    let context = TempDir::new().unwrap();
    let dockerfile = format!(
        "FROM {base}\n\
         RUN rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* \\\n \
         && echo '{}' > /etc/apt/sources.list.d/local.list \\\n \
         && apt-get update \\\n \
         && apt-get install -y --no-install-recommends libfoo=1.0-1 \\\n \
         && rm -rf /var/lib/apt/lists/*\n",
        repo.sources_line()
    );
    let started = Instant::now();
    let log = docker_build_with(context.path(), &dockerfile, &tag, &["--network", "host"]);
    let built_in = started.elapsed();

    let arch = native_arch();
    let fetched = format!("{} bookworm/main {arch} libfoo {arch} 1.0-1", repo.url());
    assert!(log.contains(&fetched), "no {fetched:?} in:\n{log}");
    assert_eq!(
        docker_run(&tag, &["dpkg-query", "-W", "libfoo"]),
        "libfoo\t1.0-1\n"
    );
    // dpkg names a `Multi-Arch: same` package with its architecture.
    assert_eq!(
        docker_run(&tag, &["dpkg-query", "-W", "libbar"]),
        format!("libbar:{arch}\t2.0-1\n")
    );
    let installed = docker_run(
        &tag,
        &[
            "dpkg-query",
            "-W",
            "-f",
            "${Package} ${Version} ${Architecture}\\n",
            "libfoo",
            "libbar",
            "libqux",
            "foo-impl",
            "foo-base",
        ],
    );
    assert_eq!(
        installed,
        format!(
            "foo-base 1:0.1-1 all\nfoo-impl 3.1-1 all\nlibbar 2.0-1 {arch}\n\
             libfoo 1.0-1 {arch}\nlibqux 0.5-3 {arch}\n"
        )
    );
    assert_eq!(
        docker_run(&tag, &["cat", &format!("/usr/share/libfoo/{arch}/VERSION")]),
        "1.0-1"
    );
    // Recommends stay out with --no-install-recommends.
    let requests = repo.requests();
    assert!(
        !requests.iter().any(|p| p.contains("foo-extra")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|p| p.ends_with(&format!("libfoo_1.0-1_{arch}.deb"))),
        "{requests:?}"
    );
    eprintln!("apt in a container: base pushed in {pushed_in:.2?}, image built in {built_in:.2?}");
}
