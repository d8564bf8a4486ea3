//! `mlr lock` for apt packages against a real Debian-style archive built
//! with dpkg-deb on 127.0.0.1, and (live) against Debian's own mirror.

use predicates::prelude::*;

use crate::support::{
    AptRepo, DebSpec, ImageCleanup, Layer, Project, Registry, Service, debian_rootfs, docker_run,
    require,
};

const OS_RELEASE: &str = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";

/// A dpkg status with libc6 already installed in the base.
const STATUS: &str = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n\nPackage: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\nArchitecture: amd64\n";

/// A tiny base image that says it is Debian 12, uses `repo` as its only
/// apt source, and has libc6 installed: enough for lock-only tests.
fn marker_base(registry: &Registry, repo: &AptRepo) -> String {
    registry.push_layers(
        "apt/base",
        "12",
        "linux/amd64",
        &[Layer::new()
            .file("etc/os-release", OS_RELEASE)
            .file(
                "etc/apt/sources.list",
                &format!("{}\n", repo.sources_line()),
            )
            .file("var/lib/dpkg/status", STATUS)],
    );
    registry.reference("apt/base", "12")
}

fn manifest(base: &str, packages: &[&str]) -> String {
    let list: Vec<String> = packages.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        "[base]\nimage = \"{base}\"\n\n[apt]\npackages = [{}]\n",
        list.join(", ")
    )
}

fn block<'a>(lock: &'a str, name: &str) -> &'a str {
    let start = lock
        .find(&format!("[[apt]]\nname = \"{name}\"\n"))
        .unwrap_or_else(|| panic!("no [[apt]] {name} in:\n{lock}"));
    let rest = &lock[start + 1..];
    let end = rest.find("\n[[").map_or(rest.len(), |e| e + 1);
    &lock[start..start + 1 + end]
}

fn archive() -> AptRepo {
    let repo = AptRepo::start("bookworm", &["main"]);
    repo.add(
        &DebSpec::new("app", "1.0-1")
            .arch("amd64")
            .depends("libfoo (>= 2.0), mail-transport-agent, libc6 (>= 2.30)")
            .file("/usr/share/app/VERSION", "1.0-1\n"),
    );
    repo.add(&DebSpec::new("libfoo", "1.0-1").arch("amd64"));
    repo.add(
        &DebSpec::new("libfoo", "2.0-1")
            .arch("amd64")
            .depends("libbar | libbaz"),
    );
    repo.add(&DebSpec::new("libbaz", "1.0-1").arch("amd64"));
    repo.add(
        &DebSpec::new("exim-lite", "4.0-1")
            .arch("all")
            .provides("mail-transport-agent"),
    );
    repo.add(&DebSpec::new("libc6", "2.36-9+deb12u4").arch("amd64"));
    repo.publish();
    repo
}

#[test]
fn closure_with_alternatives_virtual_packages_and_versions() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let registry = Registry::start();
    let repo = archive();
    let project = Project::new();
    project.file(
        "ml.toml",
        manifest(&marker_base(&registry, &repo), &["app"]),
    );
    project
        .mlr()
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains("live archive"));
    let lock = project.read("ml.lock");
    let app = block(&lock, "app");
    assert!(
        app.contains("version = \"1.0-1\"") && app.contains("requested = \"app\""),
        "{app}"
    );
    assert!(
        app.contains(&format!("source = \"{}\"", repo.url())),
        "{app}"
    );
    assert!(
        app.contains("suite = \"bookworm\"\ncomponent = \"main\""),
        "{app}"
    );
    let foo = block(&lock, "libfoo");
    assert!(
        foo.contains("version = \"2.0-1\"") && foo.contains("via = [\"app\"]"),
        "{foo}"
    );
    assert!(
        block(&lock, "libbaz").contains("via = [\"app\"]"),
        "the alternative that exists"
    );
    let mta = block(&lock, "exim-lite");
    assert!(
        mta.contains("architecture = \"all\""),
        "virtual package through Provides: {mta}"
    );
    assert!(
        !lock.contains("name = \"libc6\""),
        "already in the base:\n{lock}"
    );
    assert!(!lock.contains("name = \"libbar\""), "{lock}");
    // Hashes and pool paths come from the index.
    let built = repo.add(
        &DebSpec::new("libfoo", "2.0-1")
            .arch("amd64")
            .depends("libbar | libbaz"),
    );
    assert!(
        foo.contains(&format!("filename = \"{}\"", built.filename)),
        "{foo}"
    );
    assert!(
        foo.contains(&format!("sha256 = \"{}\"", built.sha256)),
        "{foo}"
    );
    project.mlr().arg("verify").assert().success();
}

#[test]
fn a_newer_version_does_not_move_the_lock_until_update() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let registry = Registry::start();
    let repo = archive();
    let project = Project::new();
    let base = marker_base(&registry, &repo);
    project.file("ml.toml", manifest(&base, &["app"]));
    project
        .mlr()
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains("Inspecting"));
    repo.add(
        &DebSpec::new("libfoo", "2.1-1")
            .arch("amd64")
            .depends("libbaz"),
    );
    repo.publish();
    // A new request elsewhere re-resolves, but libfoo stays; what the
    // base holds was read by the first lock and is kept by its digest:
    // no layer is read again.
    repo.add(&DebSpec::new("tool", "0.1-1").arch("amd64"));
    repo.publish();
    project.file("ml.toml", manifest(&base, &["app", "tool"]));
    project
        .mlr()
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains("Added apt tool"))
        .stderr(predicate::str::contains("Inspecting").not());
    assert!(block(&project.read("ml.lock"), "libfoo").contains("version = \"2.0-1\""));
    project
        .mlr()
        .args(["lock", "--update", "libfoo"])
        .assert()
        .success()
        .stderr(predicate::str::contains("Updated apt libfoo 2.0-1 → 2.1-1"));
    assert!(block(&project.read("ml.lock"), "libfoo").contains("version = \"2.1-1\""));
}

#[test]
fn unknown_packages_and_unmet_dependencies_are_clear_errors() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let registry = Registry::start();
    let repo = archive();
    repo.add(
        &DebSpec::new("broken", "1.0-1")
            .arch("amd64")
            .depends("libmissing (>= 9)"),
    );
    repo.publish();
    let project = Project::new();
    let base = marker_base(&registry, &repo);
    project.file("ml.toml", manifest(&base, &["broken"]));
    project
        .mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("libmissing"));
    project.file("ml.toml", manifest(&base, &["nosuchpackage"]));
    project
        .mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nosuchpackage"));
    assert!(!project.exists("ml.lock"));
}

/// On the engine: the image holds exactly the locked versions; a version
/// the archive later drops fails the build, naming the package.
#[test]
fn the_image_has_exactly_the_locked_versions_and_a_dropped_one_fails() {
    require!(Service::Registry);
    require!(Service::AptTools);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    let registry = Registry::start();
    let repo = AptRepo::start("bookworm", &["main"]);
    repo.add(
        &DebSpec::new("mlr-hello", "1.0-1")
            .arch("amd64")
            .depends("mlr-dep (>= 1)")
            .file("/usr/share/mlr-hello/VERSION", "1.0-1\n"),
    );
    repo.add(&DebSpec::new("mlr-dep", "1.2-1").arch("all"));
    repo.publish();
    let rootfs = debian_rootfs().expect("checked by require!");
    // The Debian base, with the local archive as its only source.
    registry.push_rootfs_with(
        "apt/debian",
        "bookworm",
        &rootfs,
        "linux/amd64",
        &[Layer::new()
            .file(
                "etc/apt/sources.list",
                &format!("{}\n", repo.sources_line()),
            )
            .file("etc/apt/sources.list.d/debian.sources", "")],
    );
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "{}\n[image]\nuser = \"root\"\n",
            manifest(
                &registry.reference("apt/debian", "bookworm"),
                &["mlr-hello"]
            )
        ),
    );
    project.mlr().arg("lock").assert().success();
    let tag = format!("mlr-apt-e2e:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone()]);
    project
        .mlr()
        .args(["build", "--tag", &tag])
        .assert()
        .success();
    let out = docker_run(&tag, &["dpkg-query", "-W", "mlr-hello", "mlr-dep"]);
    assert_eq!(out, "mlr-dep\t1.2-1\nmlr-hello\t1.0-1\n");
    // Each .deb was fetched once: the checked file is the installed one.
    let debs: Vec<String> = repo
        .requests()
        .into_iter()
        .filter(|p| p.ends_with(".deb"))
        .collect();
    let mut unique = debs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 2, "{debs:?}");
    assert_eq!(debs.len(), 2, "a .deb was fetched twice: {debs:?}");
    let out = docker_run(
        &tag,
        &[
            "sh",
            "-c",
            "ls /var/lib/apt/lists | grep -v -x -e lock -e partial | wc -l; ls /tmp/mlr-apt 2>&1 | wc -l",
        ],
    );
    assert_eq!(out.lines().next(), Some("0"), "apt lists removed: {out}");

    // The archive moves on and drops the locked version: the apt layer
    // reports its download failing, and the lock (no snapshot) is told
    // to use one.
    repo.add(&DebSpec::new("mlr-dep", "1.3-1").arch("all"));
    repo.remove("mlr-dep", "1.2-1");
    repo.publish();
    let output = project
        .mlr()
        .args(["build", "--no-cache", "--tag", &format!("{tag}-dropped")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = &stderr[stderr.find("error: ").expect("an error")..];
    assert!(
        error.starts_with(
            "error: a locked apt package could not be downloaded: \
             `apt-get download` exited with status 100; its last lines of output:\n"
        ),
        "{stderr}"
    );
    // apt's own words name the package, among the last lines.
    assert!(
        error
            .lines()
            .any(|l| l.starts_with("    E: ") && l.contains("mlr-dep")),
        "{error}"
    );
    assert!(
        error.contains("\nhint: exact apt versions expire on a live mirror; set [apt] snapshot"),
        "{error}"
    );
}

/// Live Debian: `git` and `libgl1` for bookworm on amd64 and arm64 against
/// the debootstrapped base; every sha256 equals the mirror's Packages file.
#[test]
fn live_debian_git_and_libgl1_hashes_match_the_mirror() {
    require!(Service::Registry);
    require!(Service::DebianRootfs);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    registry.push_rootfs_index(
        "live/debian",
        "bookworm",
        &[
            (rootfs.as_path(), "linux/amd64"),
            (rootfs.as_path(), "linux/arm64"),
        ],
    );
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[project]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n\n{}",
            manifest(
                &registry.reference("live/debian", "bookworm"),
                &["git", "libgl1"]
            )
        ),
    );
    project.mlr().arg("lock").assert().success();
    let lock: mlr::lock::Lockfile = mlr::lock::parse(&project.read("ml.lock"), "ml.lock")
        .unwrap()
        .lock;
    for arch in ["amd64", "arm64"] {
        assert!(
            lock.apt
                .iter()
                .any(|p| p.name == "git" && p.architecture == arch),
            "git for {arch}"
        );
        assert!(
            lock.apt
                .iter()
                .any(|p| p.name == "libgl1" && p.architecture == arch),
            "libgl1 for {arch}"
        );
    }
    let dri = lock
        .apt
        .iter()
        .find(|p| p.name == "libgl1-mesa-dri")
        .expect("libgl1 pulls in the DRI drivers");
    assert!(dri.via.contains(&"libgl1".to_string()), "{dri:?}");
    let mut checked = 0;
    for (pin_arch, url) in [("amd64", "binary-amd64"), ("arm64", "binary-arm64")] {
        // The base's only source is bookworm main (as debootstrap writes it).
        let sums = fetch_packages(&format!(
            "http://deb.debian.org/debian/dists/bookworm/main/{url}/Packages.gz"
        ));
        for p in lock
            .apt
            .iter()
            .filter(|p| p.architecture == pin_arch || p.architecture == "all")
        {
            assert_eq!(
                sums.get(&p.filename),
                Some(&p.sha256),
                "{} {} ({})",
                p.name,
                p.version,
                p.filename
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} hashes checked");
}

/// Filename → SHA256 from a Packages.gz (through the machine's mirror config).
fn fetch_packages(url: &str) -> std::collections::BTreeMap<String, String> {
    let mirror = std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("URIs:").map(|u| u.trim().to_string()))
        })
        .unwrap_or_else(|| "http://deb.debian.org/debian".into());
    let url = url.replace(
        "http://deb.debian.org/debian/",
        &format!("{}/", mirror.trim_end_matches('/')),
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("curl -fsSL '{url}' | gunzip"))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut map = std::collections::BTreeMap::new();
    for stanza in text.split("\n\n") {
        let field = |k: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
        };
        if let (Some(f), Some(s)) = (field("Filename:"), field("SHA256:")) {
            map.insert(f, s);
        }
    }
    map
}

/// `[apt] snapshot`: the lock pins against snapshot.debian.org (canonical,
/// served here through a mirror of that snapshot), with no "live archive"
/// warning, and the Dockerfile points apt at the snapshot.
#[test]
fn a_snapshot_is_pinned_by_its_canonical_url() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let registry = Registry::start();
    let repo = archive();
    registry.push_layers(
        "apt/debian-like",
        "12",
        "linux/amd64",
        &[Layer::new()
            .file("etc/os-release", OS_RELEASE)
            .file(
                "etc/apt/sources.list",
                "deb http://deb.debian.org/debian bookworm main\n",
            )
            .file("var/lib/dpkg/status", STATUS)],
    );
    let base = registry.reference("apt/debian-like", "12");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "{}snapshot = \"20250520T000000Z\"\n",
            manifest(&base, &["app"])
        ),
    );
    let snapshot = "https://snapshot.debian.org/archive/debian/20250520T000000Z";
    project
        .mlr()
        .env("MLR_INDEX_MIRRORS", format!("{snapshot}={}", repo.url()))
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains("live archive").not());
    let lock = project.read("ml.lock");
    assert!(
        block(&lock, "app").contains(&format!("source = \"{snapshot}\"")),
        "{lock}"
    );
    assert!(
        !lock.contains(&repo.url()),
        "the mirror is not pinned:\n{lock}"
    );
    let out = project.mlr().arg("dockerfile").assert().success();
    let dockerfile = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        dockerfile.contains(&format!(
            "deb [check-valid-until=no] {snapshot} bookworm main"
        )),
        "{dockerfile}"
    );
    // Changing the snapshot makes the lock stale.
    project.file(
        "ml.toml",
        format!(
            "{}snapshot = \"20250601T000000Z\"\n",
            manifest(&base, &["app"])
        ),
    );
    project.mlr().args(["lock", "--locked"]).assert().code(1);
}

/// The odd image: no apt sources of its own, so `[apt] sources` says where
/// packages come from; without it, a clear error says what to add.
#[test]
fn sources_can_be_given_in_the_manifest() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let registry = Registry::start();
    let repo = archive();
    registry.push_layers(
        "apt/odd",
        "1",
        "linux/amd64",
        &[Layer::new()
            .file("etc/os-release", OS_RELEASE)
            .file("var/lib/dpkg/status", STATUS)],
    );
    let base = registry.reference("apt/odd", "1");
    let project = Project::new();
    project.file("ml.toml", manifest(&base, &["app"]));
    project
        .mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("configures no apt sources"))
        .stderr(predicate::str::contains("hint: add `[apt] sources"));
    project.file(
        "ml.toml",
        format!(
            "{}sources = [\"{}\"]\n",
            manifest(&base, &["app"]),
            repo.sources_line()
        ),
    );
    project.mlr().arg("lock").assert().success();
    let lock = project.read("ml.lock");
    assert!(
        block(&lock, "libfoo").contains(&format!("source = \"{}\"", repo.url())),
        "{lock}"
    );
    project.mlr().arg("verify").assert().success();
}

/// Live Debian on the engine: build the `git` + `libgl1` lock and check that
/// `dpkg-query -W` in the container lists exactly the locked version of
/// every locked package.
#[test]
fn live_debian_image_has_exactly_the_locked_versions() {
    require!(Service::Registry);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    registry.push_rootfs("live/debian", "bookworm", &rootfs, "linux/amd64");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "{}\n[image]\nuser = \"root\"\n",
            manifest(
                &registry.reference("live/debian", "bookworm"),
                &["git", "libgl1"]
            )
        ),
    );
    project.mlr().arg("lock").assert().success();
    let lock: mlr::lock::Lockfile = mlr::lock::parse(&project.read("ml.lock"), "ml.lock")
        .unwrap()
        .lock;
    let tag = format!("mlr-apt-live:{}", std::process::id());
    let _cleanup = ImageCleanup::new([tag.clone()]);
    project
        .mlr()
        .args(["build", "--tag", &tag])
        .assert()
        .success();
    let out = docker_run(
        &tag,
        &["dpkg-query", "-W", "-f", "${Package} ${Version}\\n"],
    );
    let installed: std::collections::BTreeMap<&str, &str> =
        out.lines().filter_map(|l| l.split_once(' ')).collect();
    assert!(lock.apt.len() > 20, "{} pins", lock.apt.len());
    for p in &lock.apt {
        assert_eq!(
            installed.get(p.name.as_str()),
            Some(&p.version.as_str()),
            "{}",
            p.name
        );
    }
}

/// `[profile.dev] apt` is locked (one lock serves every profile) but never
/// reaches the prod image's Dockerfile.
#[test]
fn dev_profile_packages_stay_out_of_the_prod_image() {
    require!(Service::Registry);
    require!(Service::AptTools);
    let registry = Registry::start();
    let repo = archive();
    repo.add(
        &DebSpec::new("devtool", "0.9-1")
            .arch("amd64")
            .depends("devlib"),
    );
    repo.add(&DebSpec::new("devlib", "0.9-1").arch("amd64"));
    repo.publish();
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "{}\n[profile.dev]\napt = [\"devtool\"]\n",
            manifest(&marker_base(&registry, &repo), &["app"])
        ),
    );
    project.mlr().arg("lock").assert().success();
    let lock = project.read("ml.lock");
    assert!(
        block(&lock, "devtool").contains("requested = \"devtool\""),
        "{lock}"
    );
    assert!(
        block(&lock, "devlib").contains("via = [\"devtool\"]"),
        "{lock}"
    );
    let out = project.mlr().arg("dockerfile").assert().success();
    let dockerfile = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        dockerfile.contains("app=1.0-1") && dockerfile.contains("libfoo=2.0-1"),
        "{dockerfile}"
    );
    assert!(
        !dockerfile.contains("devtool") && !dockerfile.contains("devlib"),
        "{dockerfile}"
    );
}
