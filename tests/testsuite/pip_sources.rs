//! pip packages the image builds from source, end to end on buildah: an
//! sdist from the local index whose backend (real setuptools, from the
//! index too) compiles a C extension, an sdist by direct URL, and `git+`
//! requirements at a branch, a tag and a commit of local repositories
//! (one built with an older setuptools, whose backend asks for `wheel`),
//! and a package in a directory of the project.
//!
//! The lock pins each git requirement to its commit and tree, locks the
//! build requirements (`[[pip-build]]`) and the compilers (apt, from
//! Debian's mirror, pinned, in the wheels stage only). The branch then
//! moves upstream: the image still has the locked commit, and a second
//! build on fresh storage with an empty mlr cache gives the same digest.

use predicates::prelude::*;

use crate::reproducible::assert_rebuilt_bit_for_bit;
use crate::support::{
    GitRepo, ImageCleanup, Project, PyIndex, Registry, SPEED_C, Service, SetuptoolsProject,
    Storage, Tool, debian_rootfs, docker_run, pypi_wheel, require, shared_uv,
};

/// A pure-Python setuptools project whose module `NAME` says `V`.
fn pure(name: &str, version: &str, says: &str) -> SetuptoolsProject {
    SetuptoolsProject::new(name, version)
        .file(&format!("{name}/__init__.py"), &format!("V = {says:?}\n"))
}

/// The `[[pip]]` (or `[[pip-build]]`) block of `name` in the lock text.
fn block<'a>(lock: &'a str, table: &str, name: &str) -> &'a str {
    let head = format!("[[{table}]]\nname = \"{name}\"\n");
    let start = lock
        .find(&head)
        .unwrap_or_else(|| panic!("no {table} {name}:\n{lock}"));
    let rest = &lock[start + head.len()..];
    &lock[start..start + head.len() + rest.find("\n[[").unwrap_or(rest.len())]
}

#[test]
fn sdists_and_git_requirements_are_locked_built_from_locked_inputs_and_rebuild_bit_for_bit() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Buildah);
    require!(Service::DebianRootfs);
    require!(Service::PyPI);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    registry.push_rootfs("debian", "bookworm", &rootfs, "linux/amd64");
    let index = PyIndex::start();
    // The build backend comes from the index, like any locked file.
    index.add_file(&pypi_wheel("setuptools", "80.9.0"));
    // An older setuptools, whose backend asks for `wheel` on top of what
    // the project's `requires` says (its get_requires_for_build_wheel).
    index.add_file(&pypi_wheel("setuptools", "69.5.1"));
    index.add_file(&pypi_wheel("wheel", "0.45.1"));
    index.add_setuptools_sdist(
        &SetuptoolsProject::new("tinyext", "1.0")
            .file("tinyext/__init__.py", "from . import _speed\n")
            .ext("tinyext._speed", "tinyext/_speed.c", SPEED_C),
    );
    let by_url = index.add_setuptools_sdist(&pure("urlsrc", "0.1", "from a URL"));

    let repos = tempfile::tempdir().unwrap();
    let repo = |name: &str| GitRepo::init(&repos.path().join(name));
    let branch = repo("gbranch");
    branch.commit_project(&pure("gbranch", "1.0", "branch v1"), "v1");
    let tag = repo("gtag");
    tag.commit_project(&pure("gtag", "1.0", "tag v1"), "v1");
    tag.tag("v1.0");
    tag.commit_project(&pure("gtag", "2.0", "after the tag"), "v2");
    let old = repo("gold");
    old.commit_project(
        &pure("gold", "1.0", "old setuptools").build_requires(&["setuptools<70"]),
        "v1",
    );
    let commit = repo("gcommit");
    let pinned = commit.commit_project(&pure("gcommit", "1.0", "commit one"), "one");
    commit.commit_project(&pure("gcommit", "2.0", "commit two"), "two");

    let project = Project::new();
    // A package in a directory of the project.
    pure("pathpkg", "0.4", "from the project").write_tree(&project.path("pkgs/pathpkg"));
    project.file(
        "ml.toml",
        format!(
            r#"[project]
name = "pip-sources"

[base]
image = "{base}"

[python]
version = "3.11"

[pip]
index-url = "{index}"
packages = [
  "tinyext==1.0",
  "urlsrc @ {url}",
  "gbranch @ git+{branch}@main",
  "gtag @ git+{tag}@v1.0",
  "gcommit @ git+{commit}@{pinned}",
  "gold @ git+{old}",
  "pathpkg @ ./pkgs/pathpkg",
]

[image]
user = "trainer"
"#,
            base = registry.reference("debian", "bookworm"),
            index = index.url(),
            url = index.file_url(&by_url.filename),
            branch = branch.url(),
            tag = tag.url(),
            commit = commit.url(),
            old = old.url(),
        ),
    );
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Adding wheel to the build requirements of gold 1.0 (its backend asks for them)",
        ));
    let lock = project.read("ml.lock");
    let tinyext = block(&lock, "pip", "tinyext");
    assert!(tinyext.contains("sdist = true"), "{tinyext}");
    assert!(
        tinyext.contains("build-requires = [\"setuptools==80.9.0\"]"),
        "{tinyext}"
    );
    // Two setuptools: each build environment resolved apart.
    let setuptools = block(&lock, "pip-build", "setuptools");
    assert!(
        setuptools.contains("version = \"69.5.1\"\nindex = \"default\"\nvia = [\"gold\"]\n"),
        "{setuptools}"
    );
    let newer = &lock[lock.find(setuptools).unwrap() + setuptools.len()..];
    assert!(
        block(newer, "pip-build", "setuptools").contains(
            "version = \"80.9.0\"\nindex = \"default\"\nvia = [\"gbranch\", \"gcommit\", \"gtag\", \"pathpkg\", \"tinyext\", \"urlsrc\"]\n"
        ),
        "{lock}"
    );
    let gold = block(&lock, "pip", "gold");
    assert!(
        gold.contains("build-requires = [\"setuptools==69.5.1\", \"wheel==0.45.1\"]"),
        "{gold}"
    );
    // The directory is pinned by its tree; its version is its metadata's.
    let pathpkg = block(&lock, "pip", "pathpkg");
    assert!(
        pathpkg.contains(
            "version = \"0.4\"\nindex = \"path\"\nrequested = \"pathpkg @ ./pkgs/pathpkg\"\npath = { path = \"pkgs/pathpkg\", sha256 = \""
        ),
        "{pathpkg}"
    );
    assert!(
        !project.exists("pkgs/pathpkg/pathpkg.egg-info"),
        "the project's tree is left as it was"
    );
    assert!(!lock.contains("[[pip]]\nname = \"setuptools\""), "{lock}");
    for (name, repo, rev) in [
        ("gbranch", &branch, "main"),
        ("gtag", &tag, "v1.0"),
        ("gcommit", &commit, pinned.as_str()),
    ] {
        let pin = block(&lock, "pip", name);
        let commit = repo.rev_parse(rev);
        assert!(
            pin.contains(&format!(
                "index = \"git\"\nrequested = \"{name} @ git+{}@{rev}\"",
                repo.url()
            )),
            "{pin}"
        );
        assert!(
            pin.contains(&format!(
                "git = {{ url = \"{}\", commit = \"{commit}\", tree = \"{}\" }}",
                repo.url(),
                repo.tree(&commit)
            )),
            "{pin}"
        );
        assert!(!pin.contains("artifacts"), "{pin}");
    }
    // The compilers are pinned, for the build only: no request of ml.toml.
    let gcc = block(&lock, "apt", "build-essential");
    assert!(gcc.contains("via = [\"build-essential\"]"), "{gcc}");
    assert!(!gcc.contains("requested"), "{gcc}");
    project.mlr().arg("verify").assert().success();

    // Upstream moves on: the build takes the locked commit all the same.
    branch.commit_project(&pure("gbranch", "2.0", "branch v2"), "v2");

    let first = Storage::new(Tool::Buildah);
    let image = "localhost/mlr-pip-sources:a";
    first.build(&project, image);
    let out = first.sh(
        image,
        "/opt/mlr/venv/bin/python -c 'import tinyext, urlsrc, gbranch, gtag, gcommit, gold, pathpkg; \
         print(tinyext._speed.add(2, 3), urlsrc.V, gbranch.V, gtag.V, gcommit.V, gold.V, pathpkg.V, sep=\"|\")'; \
         command -v gcc cc || echo no compiler; ls /tmp/mlr-build /opt/mlr/wheels 2>&1 | wc -l",
    );
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("5|from a URL|branch v1|tag v1|commit one|old setuptools|from the project"),
        "{out}"
    );
    // Only the built wheels reached the image: no compiler, no sources.
    assert_eq!(lines.next(), Some("no compiler"), "{out}");
    assert_eq!(lines.next(), Some("2"), "two `No such file` lines: {out}");
    let built = (first.digest(image), first.config(image));
    assert_rebuilt_bit_for_bit(&project, first, image, built);

    // An edit to the directory makes the lock stale.
    project.file("pkgs/pathpkg/pathpkg/__init__.py", "V = 'edited'\n");
    project
        .mlr()
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "stale: pip `pathpkg`: requirement `./pkgs/pathpkg as it is now",
        ));
}

/// A git requirement's submodules are checked out as pip checks them
/// out: pinned to their commits in the lock, exported at build. The
/// submodule's upstream moves after the lock; the image has the pinned one.
#[test]
fn a_git_requirement_brings_its_submodules_at_their_pinned_commits() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);
    require!(Service::DebianRootfs);
    require!(Service::PyPI);
    let registry = Registry::start();
    let rootfs = debian_rootfs().expect("checked by require!");
    registry.push_rootfs("debian", "bookworm", &rootfs, "linux/amd64");
    let index = PyIndex::start();
    index.add_file(&pypi_wheel("setuptools", "80.9.0"));
    let repos = tempfile::tempdir().unwrap();
    let lib = GitRepo::init(&repos.path().join("lib"));
    let pinned = lib.commit_file("__init__.py", "V = 'submodule v1'\n", "v1");
    let main = GitRepo::init(&repos.path().join("gsub"));
    main.commit_file(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"gsub\"\nversion = \"1.0\"\n\n\
         [tool.setuptools]\npackages = [\"gsub\", \"gsub.vendored\"]\n",
        "project",
    );
    main.commit_file("gsub/__init__.py", "", "package");
    main.add_submodule(&lib.url(), "gsub/vendored");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[python]\nversion = \"3.11\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"gsub @ git+{}@main\"]\n\n[image]\nuser = \"root\"\n",
            registry.reference("debian", "bookworm"),
            index.url(),
            main.url()
        ),
    );
    // uv checks the submodule out with `git submodule update`, which git
    // refuses for `file://` URLs unless allowed (CVE-2022-39253), as a user
    // with local repositories would allow it.
    project
        .mlr()
        .env("MLR_UV", shared_uv())
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "protocol.file.allow")
        .env("GIT_CONFIG_VALUE_0", "always")
        .arg("lock")
        .assert()
        .success();
    let lock = project.read("ml.lock");
    assert!(
        block(&lock, "pip", "gsub").contains(&format!(
            ", submodules = [{{ path = \"gsub/vendored\", commit = \"{pinned}\" }}] }}"
        )),
        "{lock}"
    );
    lib.commit_file("__init__.py", "V = 'submodule v2'\n", "v2");

    let tag = format!("mlr-pip-submodule:{}", std::process::id());
    let _cleanup = ImageCleanup::for_build(&tag, &project);
    project
        .mlr()
        .args(["build", "--tag", &tag])
        .assert()
        .success();
    let out = docker_run(
        &tag,
        &[
            "/opt/mlr/venv/bin/python",
            "-c",
            "import gsub.vendored as v; print(v.V)",
        ],
    );
    assert_eq!(out.trim(), "submodule v1", "{out}");
}
