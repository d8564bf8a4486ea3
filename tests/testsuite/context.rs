//! The build context stays inside the project: `[image] copy` follows
//! symlinks, takes what an inward one leads to (or keeps it as a link when
//! it leads into the copied tree) and refuses one that leads out.

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
        let _ = std::fs::remove_dir_all(self.context());
        let out = self
            .project
            .mlr()
            .args(["build", "--backend", "docker", "--tag", "ctx:test"])
            .env("MLR_DOCKER", self.engine())
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
    let mut cleanup = ImageCleanup::new([tag.clone()]);
    // The base the engine pulls by digest for the build goes too.
    let lock = f.project.read("ml.lock");
    let digest = lock
        .lines()
        .find_map(|l| l.strip_prefix("digest = \""))
        .and_then(|d| d.strip_suffix('"'))
        .unwrap();
    let base = f.registry.reference("ctx/base", "v1");
    let repo = base.rsplit_once(':').unwrap().0;
    cleanup.add(format!("{repo}@{digest}"));
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
