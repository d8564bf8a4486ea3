//! Local git repositories standing in for upstream hosts (none is
//! reachable): commit files or whole Python projects, tag, branch, and
//! move refs to simulate drift.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::sdist::SetuptoolsProject;

/// Commit dates start here and advance one second per commit, so equal
/// histories have equal SHAs and `git log` order is well defined.
const EPOCH: u64 = 1_700_000_000;

/// A repository with a work tree, driven by the `git` CLI with no system or
/// global config.
pub struct GitRepo {
    dir: PathBuf,
    clock: Cell<u64>,
}

impl GitRepo {
    /// `git init -b main` in `dir` (created if missing), with a local
    /// identity and signing off.
    pub fn init(dir: &Path) -> GitRepo {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let repo = GitRepo {
            dir: dir.to_owned(),
            clock: Cell::new(EPOCH),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        for (key, value) in [
            ("user.name", "mlr tests"),
            ("user.email", "tests@mlr.invalid"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("core.autocrlf", "false"),
        ] {
            repo.git(&["config", key, value]);
        }
        repo
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `file://` URL of the repository.
    pub fn url(&self) -> String {
        let dir = self.dir.canonicalize().expect("canonicalize repo dir");
        format!("file://{}", dir.display())
    }

    /// Writes `rel` (creating parents), stages it and commits; returns the
    /// new commit's SHA.
    pub fn commit_file(&self, rel: &str, contents: &str, msg: &str) -> String {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent dir");
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.git(&["add", "--", rel]);
        self.commit(msg)
    }

    /// Makes the work tree the source tree of `project` (every tracked file
    /// removed first, then `SetuptoolsProject::write_tree`), stages it and
    /// commits; returns the new commit's SHA. Its tree is exactly the
    /// project's, so a later commit of a changed project (another
    /// version, a file less) drops what the project no longer has.
    pub fn commit_project(&self, project: &SetuptoolsProject, msg: &str) -> String {
        self.git(&["rm", "-r", "-q", "--ignore-unmatch", "--", "."]);
        project.write_tree(&self.dir);
        self.git(&["add", "-A", "--", "."]);
        self.commit(msg)
    }

    /// Commits whatever is staged (allowing an empty commit); returns the SHA.
    pub fn commit(&self, msg: &str) -> String {
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.head()
    }

    /// Creates or moves the lightweight tag `name` to HEAD.
    pub fn tag(&self, name: &str) -> String {
        self.git(&["tag", "-f", name]);
        self.rev_parse(&format!("refs/tags/{name}"))
    }

    /// Creates or moves the annotated tag `name` to HEAD; returns the SHA of
    /// the tag object (not of the commit).
    pub fn annotated_tag(&self, name: &str, msg: &str) -> String {
        self.git(&["tag", "-f", "-a", name, "-m", msg]);
        self.rev_parse(&format!("refs/tags/{name}"))
    }

    /// Creates or moves branch `name` to HEAD (without checking it out).
    pub fn branch(&self, name: &str) -> String {
        self.git(&["branch", "-f", name]);
        self.rev_parse(&format!("refs/heads/{name}"))
    }

    pub fn checkout(&self, name: &str) {
        self.git(&["checkout", "-q", name]);
    }

    /// Adds `url` as a submodule at `path` and commits; returns the SHA.
    pub fn add_submodule(&self, url: &str, path: &str) -> String {
        // Git refuses file:// submodules unless told otherwise (CVE-2022-39253).
        self.git(&[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            url,
            path,
        ]);
        self.commit(&format!("add submodule {path}"))
    }

    /// SHA of the commit HEAD points to.
    pub fn head(&self) -> String {
        self.rev_parse("HEAD")
    }

    /// SHA of the tree of `rev`.
    pub fn tree(&self, rev: &str) -> String {
        self.rev_parse(&format!("{rev}^{{tree}}"))
    }

    pub fn rev_parse(&self, rev: &str) -> String {
        self.git(&["rev-parse", "--verify", "-q", rev])
    }

    /// Runs `git <args>` in the repository; returns trimmed stdout, panics
    /// with stderr on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let tick = self.clock.get();
        self.clock.set(tick + 1);
        let date = format!("@{tick} +0000");
        let out = git_command()
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap_or_else(|e| panic!("run git {}: {e}", args.join(" ")));
        assert!(
            out.status.success(),
            "git {} failed in {}:\n{}",
            args.join(" "),
            self.dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("git printed UTF-8")
            .trim_end()
            .to_owned()
    }
}

/// `git` that reads neither the system nor the user's config.
fn git_command() -> Command {
    let mut cmd = Command::new("git");
    for key in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
    ] {
        cmd.env_remove(key);
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    cmd
}
