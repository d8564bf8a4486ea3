//! The build context stays inside the project: `[image] copy` follows
//! symlinks, takes what an inward one leads to (or keeps it as a link when
//! it leads into the copied tree) and refuses one that leads out. It leaves
//! out what the copy entry's `exclude` and the project's `.dockerignore`
//! match, and always `.git`, mlr's temporary files and its cache.

use std::collections::BTreeSet;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::support::{ImageCleanup, Project, Registry, Service, docker_run, require};

/// A project on a pushed base image, with files outside it to leak.
struct Fixture {
    project: Project,
    registry: Registry,
    /// A directory outside the project holding `secret.txt`.
    outside: tempfile::TempDir,
    /// Where the fake engine copies the context it is given.
    captured: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let registry = Registry::start();
    registry.push_image("ctx/base", "v1", "linux/amd64");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "host secret\n").unwrap();
    let project = Project::new();
    project.file("shared/config.txt", "shared config\n");
    project.file("shared/data/a.txt", "a\n");
    project.file("app/run.sh", "echo app\n");
    project.file("app/sub/deep.txt", "deep\n");
    Fixture {
        project,
        registry,
        outside,
        captured: tempfile::tempdir().unwrap(),
    }
}

impl Fixture {
    /// Writes ml.toml copying each `src` to `/srv/<n>`, and locks it.
    fn copies(&self, srcs: &[&str]) {
        let copy: Vec<String> = srcs
            .iter()
            .enumerate()
            .map(|(n, src)| format!("{{ src = \"{src}\", dst = \"/srv/{n}\" }}"))
            .collect();
        self.project.file(
            "ml.toml",
            format!(
                "[project]\nname = \"ctx\"\n\n[base]\nimage = \"{}\"\n\n[image]\n\
                 entrypoint = [\"/bin/sh\", \"-c\"]\ncopy = [{}]\n",
                self.registry.reference("ctx/base", "v1"),
                copy.join(", ")
            ),
        );
        self.project.mlr().arg("lock").assert().success();
    }

    /// A docker that records the context it was given (in `captured/ctx`)
    /// and reports an image it never built.
    fn engine(&self) -> PathBuf {
        let script = self.captured.path().join("docker");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nwhile [ $# -gt 1 ]; do\n  \
                 if [ \"$1\" = --iidfile ]; then echo sha256:0 > \"$2\"; fi\n  shift\ndone\n\
                 cp -a \"$1\" '{}'\n",
                self.context().display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    fn context(&self) -> PathBuf {
        self.captured.path().join("ctx")
    }

    /// `mlr build` with the recording engine: (exit code, stderr).
    fn build(&self) -> (i32, String) {
        self.build_with(&self.project.cache_dir())
    }

    /// [`Fixture::build`] with `cache` as mlr's cache directory.
    fn build_with(&self, cache: &Path) -> (i32, String) {
        let _ = std::fs::remove_dir_all(self.context());
        let out = self
            .project
            .mlr()
            .args(["build", "--backend", "docker", "--tag", "ctx:test"])
            .env("MLR_DOCKER", self.engine())
            .env("MLR_CACHE_DIR", cache)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The build is refused before the engine runs, naming `expected`.
    fn refused(&self, srcs: &[&str], expected: &[&str]) {
        self.copies(srcs);
        let (code, stderr) = self.build();
        assert_eq!(code, 2, "{srcs:?}:\n{stderr}");
        for e in expected {
            assert!(stderr.contains(e), "{srcs:?}: expected `{e}` in:\n{stderr}");
        }
        assert!(!self.context().exists(), "{srcs:?}: the engine ran");
    }
}

fn link_target(path: &Path) -> String {
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "{} is a link",
        path.display()
    );
    std::fs::read_link(path).unwrap().display().to_string()
}

fn read(path: &Path) -> String {
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(
        !meta.file_type().is_symlink(),
        "{} is no link",
        path.display()
    );
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn copy_sources_that_lead_out_of_the_project_are_refused() {
    require!(Service::Registry);
    let f = fixture();
    let outside = f.outside.path().display().to_string();
    let secret = f.outside.path().join("secret.txt");

    // A symlinked directory on the way (the case).
    symlink(f.outside.path(), f.project.path("link-dir")).unwrap();
    f.refused(
        &["link-dir/secret.txt"],
        &[
            "error: `[image] copy` source `link-dir/secret.txt`: `link-dir` is a symlink to",
            &outside,
            "outside the project",
            "hint:",
        ],
    );
    // The source itself a link out.
    symlink(&secret, f.project.path("leak.txt")).unwrap();
    f.refused(
        &["leak.txt"],
        &["`leak.txt` is a symlink to", "outside the project"],
    );
    // A relative link out, named with where it leads.
    let up = "../".repeat(f.project.root().components().count());
    let relative = format!("{up}{}", secret.strip_prefix("/").unwrap().display());
    symlink(relative, f.project.path("rel.txt")).unwrap();
    f.refused(
        &["rel.txt"],
        &[
            "`rel.txt` is a symlink to `../",
            &format!("which is {}, outside the project", secret.display()),
        ],
    );
    // A link out inside a copied directory, even after a good source.
    f.project.file("tree/ok.txt", "ok\n");
    symlink(&secret, f.project.path("tree/leak")).unwrap();
    f.refused(
        &["app", "tree"],
        &[
            "`[image] copy` source `tree`: `tree/leak` is a symlink to",
            &outside,
        ],
    );
    std::fs::remove_file(f.project.path("tree/leak")).unwrap();
    // A link to nothing.
    symlink("missing.txt", f.project.path("tree/dangling")).unwrap();
    f.refused(
        &["tree"],
        &["`tree/dangling` is a symlink to `missing.txt`, which does not exist"],
    );
    std::fs::remove_file(f.project.path("tree/dangling")).unwrap();
    // A link to a directory around it would be copied forever.
    symlink("..", f.project.path("tree/loop")).unwrap();
    f.refused(&["tree"], &["`tree/loop` is a symlink to", "holds it"]);
    std::fs::remove_file(f.project.path("tree/loop")).unwrap();

    // With the links gone the same sources build.
    f.copies(&["tree"]);
    let (code, stderr) = f.build();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(read(&f.context().join("copy/0/ok.txt")), "ok\n");
}

/// Inward links: a source that is a link, a path through a linked
/// directory, and links inside a copied directory (into the tree: kept as
/// relative links; elsewhere in the project: copied as what they lead to).
fn inward_links(f: &Fixture) {
    let p = &f.project;
    symlink("shared/config.txt", p.path("config.txt")).unwrap();
    symlink("shared/data", p.path("data")).unwrap();
    symlink("shared", p.path("via")).unwrap();
    symlink("run.sh", p.path("app/alias.sh")).unwrap();
    symlink(p.path("app/run.sh"), p.path("app/sub/absolute.sh")).unwrap();
    symlink("../sub", p.path("app/sub/self")).unwrap();
    symlink("../shared/config.txt", p.path("app/conf")).unwrap();
    symlink("../shared/data", p.path("app/lib")).unwrap();
    f.copies(&["config.txt", "data", "via/config.txt", "app"]);
}

#[test]
fn inward_symlinks_are_copied_as_what_they_lead_to() {
    require!(Service::Registry);
    let f = fixture();
    inward_links(&f);
    let (code, stderr) = f.build();
    assert_eq!(code, 0, "{stderr}");
    let ctx = f.context().join("copy");
    assert_eq!(read(&ctx.join("0")), "shared config\n");
    assert_eq!(read(&ctx.join("1/a.txt")), "a\n");
    assert_eq!(read(&ctx.join("2")), "shared config\n");
    assert_eq!(read(&ctx.join("3/run.sh")), "echo app\n");
    assert_eq!(link_target(&ctx.join("3/alias.sh")), "run.sh");
    assert_eq!(link_target(&ctx.join("3/sub/absolute.sh")), "../run.sh");
    assert_eq!(link_target(&ctx.join("3/sub/self")), "../sub");
    assert_eq!(read(&ctx.join("3/conf")), "shared config\n");
    assert_eq!(read(&ctx.join("3/lib/a.txt")), "a\n");
}

#[test]
fn inward_symlinks_land_in_the_image() {
    require!(Service::Registry);
    require!(Service::Docker);
    let f = fixture();
    inward_links(&f);
    let tag = format!("mlr-context-test:{}", std::process::id());
    // The base the engine pulls by digest for the build goes too.
    let _cleanup = ImageCleanup::for_build(&tag, &f.project);
    f.project
        .mlr()
        .args(["build", "--backend", "docker", "--tag", &tag])
        .assert()
        .success();
    let out = docker_run(
        &tag,
        &[
            "cat /srv/0 /srv/1/a.txt /srv/2 /srv/3/alias.sh /srv/3/sub/absolute.sh \
           /srv/3/sub/self/deep.txt /srv/3/conf /srv/3/lib/a.txt; readlink /srv/3/alias.sh",
        ],
    );
    assert_eq!(
        out,
        "shared config\na\nshared config\necho app\necho app\ndeep\nshared config\na\nrun.sh\n"
    );
}

/// A project copied whole (`src = "."`) with a source tree and what must
/// not reach the image: files the entry's `exclude` matches, files the
/// project's `.dockerignore` matches (one brought back by a `!` line), git
/// data at the top and in nested checkouts, a link into `.git`, a
/// half-written lock of a running mlr and mlr's cache inside the project.
/// Locked with that cache; returns the cache directory.
fn ignoring_project(f: &Fixture) -> PathBuf {
    let p = &f.project;
    p.file(
        "ml.toml",
        format!(
            "[project]\nname = \"ctx\"\n\n[base]\nimage = \"{}\"\n\n[image]\n\
             entrypoint = [\"/bin/sh\", \"-c\"]\n\
             copy = [{{ src = \".\", dst = \"/app\", exclude = [\"__pycache__/\", \"/build/\", \
             \"*.tmp\", \"!src/debug.log\"] }}]\n",
            f.registry.reference("ctx/base", "v1"),
        ),
    );
    p.file(
        ".dockerignore",
        "# not for the image\n**/*.log\ndata\n!data/keep.csv\n",
    );
    p.file(".git/HEAD", "ref: refs/heads/main\n");
    p.file(".git/hooks/pre-commit", "#!/bin/sh\n");
    symlink(".git/hooks", p.path("git-hooks")).unwrap();
    p.file("app.log", "log\n");
    p.file("scratch.tmp", "tmp\n");
    p.file("build/out.bin", "bin\n");
    p.file("data/raw/a.csv", "1,2\n");
    p.file("data/keep.csv", "3,4\n");
    p.file("src/main.py", "print('hi')\n");
    // `!src/debug.log` in `exclude` cannot bring back what
    // .dockerignore leaves out.
    p.file("src/debug.log", "debug\n");
    p.file("src/build/gen.py", "gen\n");
    p.file("src/pkg/__init__.py", "");
    p.file("src/pkg/__pycache__/mod.cpython-311.pyc", "pyc\n");
    p.file("vendor/lib/.git", "gitdir: ../../.git/modules/lib\n");
    p.file("vendor/lib/lib.py", "lib\n");
    p.file("vendor/other/.git/HEAD", "ref: refs/heads/main\n");
    p.file("vendor/other/x.py", "x\n");
    let cache = p.path(".mlr-cache");
    p.file(".mlr-cache/marker", "cache\n");
    p.mlr()
        .arg("lock")
        .env("MLR_CACHE_DIR", &cache)
        .assert()
        .success();
    // A lock being written by a running mlr (this test's PID is running).
    p.file(
        &format!(".ml.lock.mlr-tmp-{}-AbCd1234", std::process::id()),
        "half a lock\n",
    );
    cache
}

/// What `ignoring_project` puts in the image under the copy's top:
/// directories end in `/`.
const KEPT: &[&str] = &[
    ".dockerignore",
    "data/",
    "data/keep.csv",
    "ml.lock",
    "ml.toml",
    "src/",
    "src/build/",
    "src/build/gen.py",
    "src/main.py",
    "src/pkg/",
    "src/pkg/__init__.py",
    "vendor/",
    "vendor/lib/",
    "vendor/lib/lib.py",
    "vendor/other/",
    "vendor/other/x.py",
];

/// Every path under `top`, relative, directories ending in `/`.
fn tree(top: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![top.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(top).unwrap().display().to_string();
            if std::fs::symlink_metadata(&path).unwrap().is_dir() {
                out.insert(format!("{rel}/"));
                stack.push(path);
            } else {
                out.insert(rel);
            }
        }
    }
    out
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

#[test]
fn copy_leaves_out_excluded_ignored_and_private_files() {
    require!(Service::Registry);
    let f = Fixture {
        project: Project::new(),
        ..fixture()
    };
    let cache = ignoring_project(&f);
    let (code, stderr) = f.build_with(&cache);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Excluding what .dockerignore lists"),
        "{stderr}"
    );
    assert_eq!(tree(&f.context().join("copy/0")), set(KEPT));
    // The lock records the .dockerignore it was made with.
    let lock = f.project.read("ml.lock");
    assert!(
        lock.lines()
            .any(|l| l.starts_with("dockerignore = \"sha256:")),
        "{lock}"
    );
}

#[test]
fn excluded_files_never_reach_the_image() {
    require!(Service::Registry);
    require!(Service::Docker);
    let f = Fixture {
        project: Project::new(),
        ..fixture()
    };
    let cache = ignoring_project(&f);
    let tag = format!("mlr-context-ignore-test:{}", std::process::id());
    let _cleanup = ImageCleanup::for_build(&tag, &f.project);
    f.project
        .mlr()
        .args(["build", "--backend", "docker", "--tag", &tag])
        .env("MLR_CACHE_DIR", &cache)
        .assert()
        .success();
    let listed: BTreeSet<String> =
        docker_run(&tag, &["find /app -type d -exec echo {}/ ';' -o -print"])
            .lines()
            .filter_map(|l| l.strip_prefix("/app/"))
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
    assert_eq!(listed, set(KEPT));
}

#[test]
fn editing_exclude_or_dockerignore_makes_the_lock_stale() {
    require!(Service::Registry);
    let f = Fixture {
        project: Project::new(),
        ..fixture()
    };
    let p = &f.project;
    p.file("src/a.py", "a\n");
    p.file(".dockerignore", "*.log\n");
    f.copies(&["src"]);
    let lock = p.read("ml.lock");
    let verify = || {
        let out = p.mlr().arg("verify").output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    assert_eq!(verify().0, 0, "{}", verify().1);

    // Comments, blank lines, spacing and line endings are not patterns.
    p.file(".dockerignore", "# logs\r\n\r\n  *.log  \r\n");
    assert_eq!(verify().0, 0, "{}", verify().1);

    // Another pattern: every command that reads the lock says so.
    p.file(".dockerignore", "*.log\n*.tmp\n");
    let (code, out) = verify();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("stale: .dockerignore changed since the lock was written (patterns sha256:"),
        "{out}"
    );
    let (code, stderr) = f.build();
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("stale: .dockerignore changed"), "{stderr}");
    assert!(!f.context().exists(), "the engine ran");
    p.mlr().args(["lock", "--locked"]).assert().code(1);
    // `mlr lock` records it without resolving anything again.
    p.mlr().arg("lock").assert().success();
    assert_eq!(verify().0, 0, "{}", verify().1);
    let relocked = p.read("ml.lock");
    let changed: Vec<(&str, &str)> = lock
        .lines()
        .zip(relocked.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.starts_with("dockerignore = "));

    // Removed.
    std::fs::remove_file(p.path(".dockerignore")).unwrap();
    let (code, out) = verify();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("that no longer applies"), "{out}");
    p.mlr().arg("lock").assert().success();
    assert!(!p.read("ml.lock").contains("dockerignore"));
    // Added again.
    p.file(".dockerignore", "*.log\n");
    let (code, out) = verify();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("but the lock was written without it"), "{out}");
    p.mlr().arg("lock").assert().success();

    // `exclude` is part of ml.toml: the fingerprint moves.
    let toml = p.read("ml.toml");
    p.file(
        "ml.toml",
        toml.replace(
            "dst = \"/srv/0\" }",
            "dst = \"/srv/0\", exclude = [\"*.pyc\"] }",
        ),
    );
    let (code, out) = verify();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("stale: ml.toml changed since the lock was written (fingerprint"),
        "{out}"
    );
    p.mlr().arg("lock").assert().success();
    assert_eq!(verify().0, 0, "{}", verify().1);

    // A pattern Docker refuses is refused at its place, by every command.
    p.file(".dockerignore", "*.log\n  !data[\n");
    for args in [
        &["verify"][..],
        &["lock"],
        &["build", "--backend", "docker"],
    ] {
        let out = p.mlr().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(
                "error: .dockerignore:2:4: pattern `!data[` has a `[` that is never closed"
            ),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("hint:"), "{stderr}");
    }
}

#[test]
fn sources_mlr_never_copies_or_dockerignore_excludes_are_refused() {
    require!(Service::Registry);
    let f = fixture();
    let p = &f.project;
    p.file(".git/config", "[core]\n");
    // ml.toml cannot name `.git`; a link cannot lead there either.
    symlink(".git", p.path("repo")).unwrap();
    f.refused(
        &["repo"],
        &[
            "`[image] copy` source `repo` leads to",
            "never copies into an image",
        ],
    );
    std::fs::remove_file(p.path("repo")).unwrap();
    // Docker refuses a COPY of an ignored path; so does mlr.
    p.file(".dockerignore", "shared\napp/run.sh\n");
    f.refused(
        &["app", "shared"],
        &["`[image] copy` source `shared` is excluded by .dockerignore"],
    );
    f.refused(
        &["app/run.sh"],
        &["`[image] copy` source `app/run.sh` is excluded by .dockerignore"],
    );
    // Unless a `!` line brings something back from inside.
    p.file(".dockerignore", "shared\n!shared/data\n");
    f.copies(&["shared"]);
    let (code, stderr) = f.build();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        tree(&f.context().join("copy/0")),
        set(&["data/", "data/a.txt"])
    );
}

#[test]
fn a_large_copy_source_is_warned_about() {
    require!(Service::Registry);
    let f = fixture();
    let p = &f.project;
    // Sparse: 101 MB that take no disk.
    std::fs::create_dir(p.path("data")).unwrap();
    let big = std::fs::File::create(p.path("data/big.bin")).unwrap();
    big.set_len(101_000_000).unwrap();
    f.copies(&["data"]);
    let (code, stderr) = f.build();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: `[image] copy` source `data` puts 101.0 MB into the image\nhint: leave out what the image does not need with `exclude = [...]`"),
        "{stderr}"
    );
    // Excluded, it is no longer copied or warned about.
    let toml = p.read("ml.toml");
    p.file(
        "ml.toml",
        toml.replace(
            "dst = \"/srv/0\" }",
            "dst = \"/srv/0\", exclude = [\"*.bin\"] }",
        ),
    );
    p.mlr().arg("lock").assert().success();
    let (code, stderr) = f.build();
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning:"), "{stderr}");
    assert!(!f.context().join("copy/0/big.bin").exists());
}
