//! What a user sees: the exit code, stdout and stderr of the real binary,
//! snapshotted together for every command's success output and every kind
//! of error, so a change to any message is a reviewed diff.
//!
//! Snapshots are inline (`@r"…"`): the expected output sits next to its
//! case. Whatever varies between runs (temporary paths, digests, hashes,
//! commits, loopback ports, elapsed times) is replaced by a `[PLACEHOLDER]`
//! (see [`Filters`]); a build's streamed engine output is reduced to one
//! `[engine output]` line per run of it. Update on
//! purpose with `cargo insta test --review` (or `INSTA_UPDATE=always` and
//! `cargo insta review`), never blindly.

use std::path::Path;

use crate::support::{
    GitRepo, ImageCleanup, Project, PyIndex, Registry, Service, push_debian_marker, require,
    shared_uv,
};

/// Runs `cmd` and renders what the user sees as one text: the exit code,
/// then stdout, then stderr.
fn run(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().expect("running mlr");
    render(&out, str::to_string)
}

/// [`run`]'s text for `out`, with `stderr_view` applied to stderr. A
/// stream that does not end in a newline says so (a terminal shows it);
/// trailing spaces are cut from every line (a terminal does not show them,
/// and editors strip them from this file).
fn render(out: &std::process::Output, stderr_view: impl Fn(&str) -> String) -> String {
    let code = out
        .status
        .code()
        .map_or_else(|| "killed by a signal".to_string(), |c| c.to_string());
    let stream = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        let mut shown: String = text
            .lines()
            .map(|line| format!("{}\n", line.trim_end()))
            .collect();
        if !text.is_empty() && !text.ends_with('\n') {
            shown.push_str("[no newline at end]\n");
        }
        shown
    };
    let stderr = stderr_view(&stream(&out.stderr));
    format!(
        "exit: {code}\n--- stdout\n{}--- stderr\n{stderr}",
        stream(&out.stdout)
    )
}

/// Regex filters (applied in order) that turn run-specific text into
/// placeholders. Known paths come first so they get a telling name; any
/// other temporary path, digest, hash, commit, port or duration is caught
/// by the generic ones after them.
struct Filters {
    paths: Vec<(String, String)>,
}

impl Filters {
    fn new() -> Filters {
        Filters { paths: Vec::new() }
    }

    /// A project's directory as `[ROOT]`, its home and cache as `[SANDBOX]`.
    fn project(self, project: &Project) -> Filters {
        let sandbox = project.home();
        let sandbox = sandbox.parent().expect("home is inside the sandbox");
        self.path(project.root(), "[ROOT]")
            .path(sandbox, "[SANDBOX]")
    }

    /// `path` (and its canonical form) shown as `placeholder`.
    fn path(mut self, path: &Path, placeholder: &str) -> Filters {
        let mut forms = vec![path.to_path_buf()];
        if let Ok(canonical) = path.canonicalize() {
            if canonical != path {
                forms.push(canonical);
            }
        }
        for form in forms {
            self.paths
                .push((escape(&form.display().to_string()), placeholder.to_string()));
        }
        self
    }

    fn list(&self) -> Vec<(String, String)> {
        let tmp = escape(
            std::env::temp_dir()
                .display()
                .to_string()
                .trim_end_matches('/'),
        );
        let mut filters = self.paths.clone();
        filters.extend(
            [
                // Any other temporary directory of the tests (`tempfile`'s
                // `.tmpXXXXXX`) or of mlr (`mlr-build-XXXXXX`); not every
                // path under /tmp: the Dockerfile has container paths there.
                (
                    format!(r"{tmp}/(?:\.tmp|mlr-[a-z]+-)[A-Za-z0-9]{{6}}"),
                    "[TMP]",
                ),
                (r"sha256:[0-9a-f]{64}".into(), "sha256:[DIGEST]"),
                (r"\b[0-9a-f]{64}\b".into(), "[HASH]"),
                (r"\b[0-9a-f]{40}\b".into(), "[COMMIT]"),
                (r"\b[0-9a-f]{12}\b".into(), "[SHORT_HASH]"),
                (r"127\.0\.0\.1:\d+".into(), "127.0.0.1:[PORT]"),
                // Elapsed times (`0.52s`, `1.3ms`); not whole `30s`, which
                // are values from ml.toml.
                (r"\b\d+\.\d+m?s\b".into(), "[ELAPSED]"),
            ]
            .into_iter()
            .map(|(regex, placeholder)| (regex, placeholder.to_string())),
        );
        filters
    }
}

/// `text` as a regex matching itself (what `regex::escape` does).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `snapshot!(filters, text, @r"…")`: asserts the inline snapshot of
/// `text` with `filters` applied.
macro_rules! snapshot {
    ($filters:expr, $text:expr, @$snapshot:literal) => {{
        let filters = $filters.list();
        insta::with_settings!(
            {
                filters => filters.iter().map(|(r, p)| (r.as_str(), p.as_str())),
            },
            {
                insta::assert_snapshot!($text, @$snapshot);
            }
        );
    }};
}

/// A registry with a busybox base image and two git repositories
/// (`kernels` on `main` and a `stable` branch, `tools`), and a project
/// whose ml.toml uses them: the cheapest inputs `mlr lock` can pin.
struct Fixture {
    project: Project,
    registry: Registry,
    kernels: GitRepo,
    tools: GitRepo,
    repos: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let registry = Registry::start();
        registry.push_image("snap/base", "v1", "linux/amd64");
        let repos = tempfile::Builder::new()
            .prefix("mlr-git-")
            .tempdir()
            .expect("tempdir for git repositories");
        let kernels = GitRepo::init(&repos.path().join("kernels"));
        kernels.commit_file("MARKER", "first\n", "first");
        kernels.branch("stable");
        kernels.commit_file("MARKER", "second\n", "second");
        let tools = GitRepo::init(&repos.path().join("tools"));
        tools.commit_file("tool.sh", "echo tool\n", "tool");
        let f = Fixture {
            project: Project::new(),
            registry,
            kernels,
            tools,
            repos,
        };
        f.project.file("ml.toml", f.manifest());
        f
    }

    /// [`Fixture::new`] after a successful `mlr lock`.
    fn locked() -> Fixture {
        let f = Fixture::new();
        let out = f.mlr().arg("lock").output().expect("running mlr lock");
        assert!(out.status.success(), "mlr lock failed: {out:?}");
        f
    }

    /// The fixture's ml.toml: the base, both git sources and one variable.
    fn manifest(&self) -> String {
        format!(
            r#"[project]
name = "snap"

[base]
image = "{base}"

[git.kernels]
url = "{kernels}"
rev = "main"
build = ["cat MARKER"]

[git.tools]
url = "{tools}"
rev = "main"
build = ["sh tool.sh"]

[env]
GREETING = "hello"
"#,
            base = self.registry.reference("snap/base", "v1"),
            kernels = self.kernels.url(),
            tools = self.tools.url(),
        )
    }

    /// Edits ml.toml with `edit` applied to the current text.
    fn edit(&self, edit: impl FnOnce(String) -> String) {
        let manifest = self.project.read("ml.toml");
        self.project.file("ml.toml", edit(manifest));
    }

    fn filters(&self) -> Filters {
        Filters::new()
            .project(&self.project)
            .path(self.repos.path(), "[GIT]")
    }

    fn mlr(&self) -> assert_cmd::Command {
        self.project.mlr()
    }
}

#[test]
fn help_describes_mlr_and_every_subcommand() {
    let p = Project::new();
    let f = Filters::new().project(&p);
    snapshot!(f, run(p.mlr().arg("--help")), @"
    exit: 0
    --- stdout
    mlr pins every moving part of an ML container environment.

    Write ml.toml (base image, git sources, env, image settings), run `mlr lock` to pin digests and
    commits into ml.lock, `mlr build` to build the image from the lock alone, and `mlr verify` in CI to
    fail on drift.

    Usage: mlr [OPTIONS] <COMMAND>

    Commands:
      init        Write a commented ml.toml in the current directory
      lock        Resolve ml.toml and write ml.lock, keeping every pin that still satisfies it
      dockerfile  Render the Dockerfile from ml.lock (no network)
      build       Render the Dockerfile and build the image from ml.lock
      verify      Check offline that ml.lock satisfies ml.toml, is canonical, and matches a committed
                  Dockerfile
      help        Print this message or the help of the given subcommand(s)

    Options:
          --manifest-path <PATH>
              Path to ml.toml [default: the nearest ml.toml upward from the current directory]

          --color <WHEN>
              When to use colours

              [default: auto]
              [possible values: auto, always, never]

      -q, --quiet
              Print nothing but errors and requested output

      -v, --verbose
              Print more detail

          --offline
              Do not use the network; work from the lock and the cache

      -h, --help
              Print help (see a summary with '-h')

      -V, --version
              Print version

    Exit codes: 0 success, 1 drift or stale lock found, 2 error.
    --- stderr
    ");
    snapshot!(f, run(p.mlr().args(["init", "--help"])), @"
    exit: 0
    --- stdout
    Write a commented ml.toml in the current directory.

    With --from, translate an existing project's file: a Dockerfile, a pip requirements file, a
    pyproject.toml or a conda environment.yml. What has no ml.toml equivalent is kept as comments that
    quote the file's lines.

    Usage: mlr init [OPTIONS]

    Options:
          --force
              Overwrite an existing ml.toml

          --manifest-path <PATH>
              Path to ml.toml [default: the nearest ml.toml upward from the current directory]

          --color <WHEN>
              When to use colours

              [default: auto]
              [possible values: auto, always, never]

          --from <FILE>
              Translate this Dockerfile, requirements file, pyproject.toml or environment.yml

          --from-kind <KIND>
              What --from is, when its name does not say [default: from the name, then the content]

              [possible values: dockerfile, requirements, pyproject, conda]

      -q, --quiet
              Print nothing but errors and requested output

      -v, --verbose
              Print more detail

          --offline
              Do not use the network; work from the lock and the cache

      -h, --help
              Print help (see a summary with '-h')
    --- stderr
    ");
    snapshot!(f, run(p.mlr().args(["lock", "--help"])), @"
    exit: 0
    --- stdout
    Resolve ml.toml and write ml.lock.

    Existing pins that still satisfy ml.toml are kept (minimal change); only new or changed requirements
    are resolved. Nothing is written when the lock is unchanged.

    Usage: mlr lock [OPTIONS]

    Options:
          --manifest-path <PATH>
              Path to ml.toml [default: the nearest ml.toml upward from the current directory]

          --update [<NAME>...]
              Re-resolve only these entries (`base`, git source names), or everything when no name is
              given

          --check
              Resolve but write nothing; exit 1 if ml.lock would change

          --color <WHEN>
              When to use colours

              [default: auto]
              [possible values: auto, always, never]

          --locked
              Fail with exit 1 instead of changing ml.lock

      -q, --quiet
              Print nothing but errors and requested output

          --frozen
              --locked and --offline

      -v, --verbose
              Print more detail

          --format <FORMAT>
              Output format (with --check)

              [default: text]
              [possible values: text, json]

          --offline
              Do not use the network; work from the lock and the cache

      -h, --help
              Print help (see a summary with '-h')
    --- stderr
    ");
    snapshot!(f, run(p.mlr().args(["dockerfile", "--help"])), @"
    exit: 0
    --- stdout
    Render the Dockerfile from ml.lock (no network)

    Usage: mlr dockerfile [OPTIONS]

    Options:
          --manifest-path <PATH>  Path to ml.toml [default: the nearest ml.toml upward from the current
                                  directory]
      -o, --output <PATH>         Write to PATH instead of standard output
          --color <WHEN>          When to use colours [default: auto] [possible values: auto, always,
                                  never]
      -q, --quiet                 Print nothing but errors and requested output
      -v, --verbose               Print more detail
          --offline               Do not use the network; work from the lock and the cache
      -h, --help                  Print help
    --- stderr
    ");
    snapshot!(f, run(p.mlr().args(["build", "--help"])), @"
    exit: 0
    --- stdout
    Render the Dockerfile and build the image from ml.lock

    Usage: mlr build [OPTIONS]

    Options:
          --manifest-path <PATH>  Path to ml.toml [default: the nearest ml.toml upward from the current
                                  directory]
      -t, --tag <REF>             Image tag [default: <project name>:<lock hash>]
          --backend <BACKEND>     Container engine to build with [default: docker if its engine answers,
                                  else buildah, else podman] [possible values: docker, buildah, podman]
          --color <WHEN>          When to use colours [default: auto] [possible values: auto, always,
                                  never]
          --no-cache              Build every layer afresh (also re-fetches apt packages from their
                                  archive)
      -q, --quiet                 Print nothing but errors and requested output
          --profile <PROFILE>     Profile to build: prod (default) or a [profile.NAME] of ml.toml, whose
                                  packages come in layers after prod's [default: prod]
      -v, --verbose               Print more detail
          --ca-cert <FILE>        Extra CA certificate (PEM) the build must trust, e.g. a corporate
                                  proxy's; repeatable, added to those in MLR_CA_CERTS (a path list). It
                                  reaches every RUN step through a secret mount (BuildKit or buildah)
                                  and no layer of the image
          --offline               Do not use the network; work from the lock and the cache
          --push                  After the build, push the tag to the registry it names
                                  (host[:port]/repo:tag); prints `repo@sha256:…` of the pushed manifest
                                  on stdout
          --platform <PLATFORM>   Locked platform to build (linux/amd64, linux/arm64): its pip files and
                                  base manifest [default: the host's, when locked]
      -h, --help                  Print help
    --- stderr
    ");
    snapshot!(f, run(p.mlr().args(["verify", "--help"])), @"
    exit: 0
    --- stdout
    Check offline that ml.lock satisfies ml.toml, is canonical, and matches a committed Dockerfile

    Usage: mlr verify [OPTIONS]

    Options:
          --format <FORMAT>       Output format [default: text] [possible values: text, json]
          --manifest-path <PATH>  Path to ml.toml [default: the nearest ml.toml upward from the current
                                  directory]
          --color <WHEN>          When to use colours [default: auto] [possible values: auto, always,
                                  never]
      -q, --quiet                 Print nothing but errors and requested output
      -v, --verbose               Print more detail
          --offline               Do not use the network; work from the lock and the cache
      -h, --help                  Print help
    --- stderr
    ");
}

#[test]
fn init_writes_a_commented_manifest_and_refuses_to_overwrite_it() {
    let p = Project::new();
    p.file("demo/.keep", "");
    let f = Filters::new().project(&p);
    let init = || {
        let mut cmd = p.mlr();
        cmd.current_dir(p.path("demo")).arg("init");
        cmd
    };
    snapshot!(f, run(&mut init()), @"
    exit: 0
    --- stdout
    --- stderr
         Created ml.toml (project `demo`)
    ");
    snapshot!(f, p.read("demo/ml.toml"), @r#"
    #:schema ./.mlr/ml.toml.schema.json
    # ml.toml: what this environment needs. `mlr lock` pins every moving part
    # into ml.lock; `mlr build` builds the image from the lock alone.

    [project]
    name = "demo"
    # Platforms to lock; each gets its own pinned manifest digest.
    platforms = ["linux/amd64"]

    [base]
    # A tag or a digest. `mlr lock` pins it to the image's digest.
    image = "debian:bookworm-slim"

    # Git sources are fetched on the host at the locked commit and built in
    # the image, inside the checkout.
    # [git.my-kernels]
    # url = "https://github.com/me/my-kernels.git"
    # rev = "v1.0.0"                       # tag, branch or commit
    # build = ["make install"]

    [env]
    # NCCL_DEBUG = "INFO"

    [image]
    # Images run as a non-root user by default.
    user = "ml"
    workdir = "/app"
    # entrypoint = ["python", "train.py"]
    # copy = [{ src = "src", dst = "/app/src" }]
    "#);
    snapshot!(f, run(&mut init()), @"
    exit: 2
    --- stdout
    --- stderr
    error: `ml.toml` already exists in [ROOT]/demo
    hint: edit it, or pass --force to overwrite it
    ");
    snapshot!(f, run(init().arg("--force")), @"
    exit: 0
    --- stdout
    --- stderr
         Created ml.toml (project `demo`)
    ");
}

#[test]
fn usage_errors_exit_2_with_the_usage_line() {
    let p = Project::new();
    let f = Filters::new().project(&p);
    snapshot!(f, run(p.mlr().args(["lock", "--frobnicate"])), @"
    exit: 2
    --- stdout
    --- stderr
    error: unexpected argument '--frobnicate' found

      tip: a similar argument exists: '--format'

    Usage: mlr lock --format <FORMAT>

    For more information, try '--help'.
    ");
    snapshot!(f, run(p.mlr().arg("frobnicate")), @"
    exit: 2
    --- stdout
    --- stderr
    error: unrecognized subcommand 'frobnicate'

    Usage: mlr [OPTIONS] <COMMAND>

    For more information, try '--help'.
    ");
    snapshot!(f, run(p.mlr().args(["lock", "--check", "--locked"])), @"
    exit: 2
    --- stdout
    --- stderr
    error: the argument '--check' cannot be used with '--locked'

    Usage: mlr lock --check

    For more information, try '--help'.
    ");
    snapshot!(f, run(p.mlr().args(["verify", "--format", "yaml"])), @"
    exit: 2
    --- stdout
    --- stderr
    error: invalid value 'yaml' for '--format <FORMAT>'
      [possible values: text, json]

    For more information, try '--help'.
    ");
}

#[test]
fn manifest_errors_point_at_the_line_and_column_with_a_hint() {
    let p = Project::new();
    let f = Filters::new().project(&p);

    // No ml.toml anywhere up the tree.
    snapshot!(f, run(p.mlr().arg("lock")), @"
    exit: 2
    --- stdout
    --- stderr
    error: could not find `ml.toml` in [ROOT] or any parent directory
    hint: run `mlr init` to create one, or pass --manifest-path
    ");

    // A bad value: the caret display and a hint.
    p.file(
        "ml.toml",
        "[project]\nplatforms = [\"linux/amd64\", \"windows/amd64\"]\n\n[base]\nimage = \"debian:bookworm-slim\"\n",
    );
    snapshot!(f, run(p.mlr().arg("lock")), @r#"
    exit: 2
    --- stdout
    --- stderr
    error: ml.toml:2:29: invalid platform: `windows/amd64` is not a platform; expected `linux/<arch>[/<variant>]` with arch one of amd64, arm64, arm, ppc64le, s390x, 386, riscv64
      |
    2 | platforms = ["linux/amd64", "windows/amd64"]
      |                             ^
    hint: for example `linux/amd64` or `linux/arm64`
    "#);

    // An unknown key: did you mean.
    p.file(
        "ml.toml",
        "[base]\nimage = \"debian:bookworm-slim\"\n\n[image]\nentry_point = [\"python\"]\n",
    );
    snapshot!(f, run(p.mlr().arg("lock")), @r#"
    exit: 2
    --- stdout
    --- stderr
    error: ml.toml:5:1: unknown key `entry_point` in `[image]`
      |
    5 | entry_point = ["python"]
      | ^
    hint: did you mean `entrypoint`?
    "#);

    // A TOML syntax error, as verify sees it.
    p.file("ml.toml", "[base]\nimage = \n");
    snapshot!(f, run(p.mlr().arg("verify")), @"
    exit: 2
    --- stdout
    --- stderr
    error: ml.toml:2:9: invalid TOML: missing value after `=`
      |
    2 | image =
      |         ^
    ");
}

#[test]
fn lock_reports_added_updated_and_removed_pins() {
    require!(Service::Registry);
    require!(Service::Git);
    let f = Fixture::new();

    // A fresh project: every pin is added.
    snapshot!(f.filters(), run(f.mlr().arg("lock")), @"
    exit: 0
    --- stdout
    --- stderr
       Resolving image 127.0.0.1:[PORT]/snap/base:v1
        Fetching git kernels (file://[GIT]/kernels)
        Fetching git tools (file://[GIT]/tools)
           Added image base 127.0.0.1:[PORT]/snap/base:v1 @ [SHORT_HASH]
           Added git kernels [SHORT_HASH] (main)
           Added git tools [SHORT_HASH] (main)
           Wrote ml.lock
    ");
    // Nothing changed: nothing written.
    snapshot!(f.filters(), run(f.mlr().arg("lock")), @"
    exit: 0
    --- stdout
    --- stderr
    ");

    // A changed rev, a removed source, a new source, a new variable.
    f.edit(|m| {
        m.replacen("rev = \"main\"", "rev = \"stable\"", 1)
            .replace("[git.tools]", "[git.utils]")
            .replace("GREETING = \"hello\"", "GREETING = \"hi\"")
    });
    snapshot!(f.filters(), run(f.mlr().arg("lock")), @"
    exit: 0
    --- stdout
    --- stderr
        Fetching git kernels (file://[GIT]/kernels)
        Fetching git utils (file://[GIT]/tools)
         Updated git kernels [SHORT_HASH] (main) → [SHORT_HASH] (stable)
           Added git utils [SHORT_HASH] (main)
         Removed git tools [SHORT_HASH]
           Wrote ml.lock
    ");

    // Upstream moves: a plain lock keeps the pin, --update NAME moves it.
    f.registry
        .push_image_with("snap/base", "v1", "linux/amd64", "moved");
    snapshot!(f.filters(), run(f.mlr().arg("lock")), @"
    exit: 0
    --- stdout
    --- stderr
    ");
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--update", "base"])), @"
    exit: 0
    --- stdout
    --- stderr
       Resolving image 127.0.0.1:[PORT]/snap/base:v1
         Updated image base 127.0.0.1:[PORT]/snap/base:v1 @ [SHORT_HASH] → 127.0.0.1:[PORT]/snap/base:v1 @ [SHORT_HASH]
           Wrote ml.lock
    ");

    // An entry the lock does not have.
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--update", "nope"])), @"
    exit: 2
    --- stdout
    --- stderr
    error: `--update nope`: ml.toml has no entry named `nope`
    hint: entries: base, kernels, utils
    ");
}

#[test]
fn lock_check_and_locked_report_without_writing() {
    require!(Service::Registry);
    require!(Service::Git);
    let f = Fixture::locked();

    // Up to date.
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--check"])), @"
    exit: 0
    --- stdout
    --- stderr
         Checked ml.lock is up to date
    ");
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--check", "--format", "json"])), @r#"
    exit: 0
    --- stdout
    {
      "changed": false,
      "changes": []
    }
    --- stderr
         Checked ml.lock is up to date
    "#);
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--locked"])), @"
    exit: 0
    --- stdout
    --- stderr
         Checked ml.lock is up to date
    ");

    // Out of date.
    f.edit(|m| m.replacen("rev = \"main\"", "rev = \"stable\"", 1));
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--check"])), @"
    exit: 1
    --- stdout
    --- stderr
        Fetching git kernels (file://[GIT]/kernels)
    Would update git kernels [SHORT_HASH] (main) → [SHORT_HASH] (stable)
    error: ml.lock is out of date
      stale: git `kernels`: requirement `file://[GIT]/kernels#stable` is not satisfied by the lock (`file://[GIT]/kernels#main ([COMMIT])`)
      stale: ml.toml changed since the lock was written (fingerprint sha256:[SHORT_HASH] → sha256:[SHORT_HASH])
    hint: run `mlr lock` and commit the result
    ");
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--check", "--format", "json"])), @r#"
    exit: 1
    --- stdout
    {
      "changed": true,
      "changes": [
        {
          "action": "Updated",
          "kind": "git",
          "name": "kernels",
          "from": "[SHORT_HASH] (main)",
          "to": "[SHORT_HASH] (stable)"
        }
      ]
    }
    --- stderr
        Fetching git kernels (file://[GIT]/kernels)
    error: ml.lock is out of date
      stale: git `kernels`: requirement `file://[GIT]/kernels#stable` is not satisfied by the lock (`file://[GIT]/kernels#main ([COMMIT])`)
      stale: ml.toml changed since the lock was written (fingerprint sha256:[SHORT_HASH] → sha256:[SHORT_HASH])
    hint: run `mlr lock` and commit the result
    "#);
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--locked"])), @"
    exit: 1
    --- stdout
    --- stderr
    error: ml.lock needs to be updated, but --locked was passed to prevent this
      stale: git `kernels`: requirement `file://[GIT]/kernels#stable` is not satisfied by the lock (`file://[GIT]/kernels#main ([COMMIT])`)
      stale: ml.toml changed since the lock was written (fingerprint sha256:[SHORT_HASH] → sha256:[SHORT_HASH])
    hint: run `mlr lock` without --locked and commit the result
    ");
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--frozen"])), @"
    exit: 1
    --- stdout
    --- stderr
    error: ml.lock needs to be updated, but --frozen was passed to prevent this
      stale: git `kernels`: requirement `file://[GIT]/kernels#stable` is not satisfied by the lock (`file://[GIT]/kernels#main ([COMMIT])`)
      stale: ml.toml changed since the lock was written (fingerprint sha256:[SHORT_HASH] → sha256:[SHORT_HASH])
    hint: run `mlr lock` without --frozen and commit the result
    ");
}

#[test]
fn verify_reports_ok_drift_and_hand_edits() {
    require!(Service::Registry);
    require!(Service::Git);
    let f = Fixture::locked();

    snapshot!(f.filters(), run(f.mlr().arg("verify")), @"
    exit: 0
    --- stdout
    --- stderr
        Verified ml.lock satisfies ml.toml
    ");
    snapshot!(f.filters(), run(f.mlr().args(["verify", "--format", "json"])), @r#"
    exit: 0
    --- stdout
    {
      "ok": true,
      "findings": []
    }
    --- stderr
        Verified ml.lock satisfies ml.toml
    "#);

    // A hand-edited lock that still parses is not canonical.
    let lock = f.project.read("ml.lock");
    f.project.file(
        "ml.lock",
        lock.replacen("requested = \"main\"", "requested   =   \"main\"", 1),
    );
    snapshot!(f.filters(), run(f.mlr().arg("verify")), @"
    exit: 1
    --- stdout
    not canonical: ml.lock:21 differs from what `mlr lock` writes (hand-edited?)
    --- stderr
    error: verification failed: 1 finding
    hint: run `mlr lock` and commit the result
    ");
    f.project.file("ml.lock", &lock);

    // No lock: a finding, not an error.
    std::fs::remove_file(f.project.path("ml.lock")).unwrap();
    snapshot!(f.filters(), run(f.mlr().arg("verify")), @"
    exit: 1
    --- stdout
    missing: ml.lock does not exist
    --- stderr
    error: verification failed: 1 finding
    hint: run `mlr lock` and commit the result
    ");
    f.project.file("ml.lock", &lock);

    // A manifest edit: the lock is stale.
    f.edit(|m| {
        m.replacen("rev = \"main\"", "rev = \"stable\"", 1)
            .replace("[git.tools]", "[git.utils]")
    });
    snapshot!(f.filters(), run(f.mlr().arg("verify")), @"
    exit: 1
    --- stdout
    stale: git `kernels`: requirement `file://[GIT]/kernels#stable` is not satisfied by the lock (`file://[GIT]/kernels#main ([COMMIT])`)
    stale: git `tools`: locked as `file://[GIT]/tools#[COMMIT]` but no longer in ml.toml
    stale: git `utils`: new requirement `file://[GIT]/tools#main` is not in the lock
    stale: ml.toml changed since the lock was written (fingerprint sha256:[SHORT_HASH] → sha256:[SHORT_HASH])
    --- stderr
    error: verification failed: 4 findings
    hint: run `mlr lock` and commit the result
    ");
    snapshot!(f.filters(), run(f.mlr().args(["verify", "--format", "json"])), @r#"
    exit: 1
    --- stdout
    {
      "ok": false,
      "findings": [
        {
          "check": "stale",
          "finding": {
            "finding": "not-satisfied",
            "kind": "git",
            "name": "kernels",
            "requested": "file://[GIT]/kernels#stable",
            "locked": "file://[GIT]/kernels#main ([COMMIT])"
          },
          "message": "git `kernels`: requirement `file://[GIT]/kernels#stable` is not satisfied by the lock (`file://[GIT]/kernels#main ([COMMIT])`)"
        },
        {
          "check": "stale",
          "finding": {
            "finding": "removed-requirement",
            "kind": "git",
            "name": "tools",
            "locked": "file://[GIT]/tools#[COMMIT]"
          },
          "message": "git `tools`: locked as `file://[GIT]/tools#[COMMIT]` but no longer in ml.toml"
        },
        {
          "check": "stale",
          "finding": {
            "finding": "new-requirement",
            "kind": "git",
            "name": "utils",
            "requested": "file://[GIT]/tools#main"
          },
          "message": "git `utils`: new requirement `file://[GIT]/tools#main` is not in the lock"
        },
        {
          "check": "stale",
          "finding": {
            "finding": "fingerprint-changed",
            "locked": "sha256:[DIGEST]",
            "current": "sha256:[DIGEST]"
          },
          "message": "ml.toml changed since the lock was written (fingerprint sha256:[SHORT_HASH] → sha256:[SHORT_HASH])"
        }
      ]
    }
    --- stderr
    error: verification failed: 4 findings
    hint: run `mlr lock` and commit the result
    "#);
}

#[test]
fn broken_locks_are_read_errors_with_a_location() {
    require!(Service::Registry);
    require!(Service::Git);
    let f = Fixture::locked();
    let lock = f.project.read("ml.lock");

    f.project.file(
        "ml.lock",
        lock.replacen("[[git]]", "<<<<<<< ours\n[[git]]", 1),
    );
    snapshot!(f.filters(), run(f.mlr().arg("verify")), @"
    exit: 2
    --- stdout
    --- stderr
    error: ml.lock:18:1: merge conflict marker `<<<<<<<` in the lockfile
       |
    18 | <<<<<<< ours
       | ^
    hint: run `mlr lock` to re-resolve from ml.toml; it replaces a conflicted lock
    ");

    // `mlr lock` itself replaces a conflicted lock.
    snapshot!(f.filters(), run(f.mlr().arg("lock")), @"
    exit: 0
    --- stdout
    --- stderr
    warning: ml.lock has merge conflicts; re-resolving it from ml.toml
       Resolving image 127.0.0.1:[PORT]/snap/base:v1
        Fetching git kernels (file://[GIT]/kernels)
        Fetching git tools (file://[GIT]/tools)
           Added image base 127.0.0.1:[PORT]/snap/base:v1 @ [SHORT_HASH]
           Added git kernels [SHORT_HASH] (main)
           Added git tools [SHORT_HASH] (main)
           Wrote ml.lock
    ");

    f.project
        .file("ml.lock", lock.replace("version = 1", "version = 99"));
    snapshot!(f.filters(), run(f.mlr().arg("dockerfile")), @"
    exit: 2
    --- stdout
    --- stderr
    error: ml.lock:3:11: lockfile version 99 is newer than this mlr reads (version 1)
      |
    3 | version = 99
      |           ^
    hint: upgrade mlr, or run `mlr lock` to rewrite the lock in version 1
    ");

    f.project
        .file("ml.lock", lock.replacen("[[git]]", "[[git]\n", 1));
    snapshot!(f.filters(), run(f.mlr().args(["lock", "--locked"])), @"
    exit: 2
    --- stdout
    --- stderr
    error: ml.lock:18:7: invalid TOML: unclosed array table, expected `]`
       |
    18 | [[git]
       |       ^
    hint: the lockfile is written by mlr; run `mlr lock` to regenerate it
    ");
}

#[test]
fn dockerfile_renders_the_lock_and_refuses_a_stale_or_missing_one() {
    require!(Service::Registry);
    require!(Service::Git);
    let f = Fixture::locked();

    // A file mlr cannot write is a local I/O error.
    snapshot!(f.filters(), run(f.mlr().args(["dockerfile", "-o", "no-such-dir/Dockerfile"])), @r#"
    exit: 2
    --- stdout
    --- stderr
    error: writing no-such-dir/Dockerfile
    caused by: creating a temporary file in no-such-dir
    caused by: No such file or directory (os error 2)
    "#);

    snapshot!(f.filters(), run(f.mlr().arg("dockerfile")), @r#"
    exit: 0
    --- stdout
    # This Dockerfile is @generated by mlr from ml.lock; do not edit.
    # To regenerate it, run `mlr dockerfile`.
    FROM 127.0.0.1:[PORT]/snap/base@sha256:[DIGEST] AS mlr-base
    ENV \
        GREETING="hello"
    RUN set -eu; if ! grep -q "^ml:" /etc/passwd; then \
          uid=1000; while cut -d: -f3 /etc/passwd | grep -qx "$uid" || cut -d: -f3 /etc/group | grep -qx "$uid"; do uid=$((uid+1)); done; \
          echo "ml:x:$uid:$uid:ml:/home/ml:/bin/sh" >> /etc/passwd; \
          echo "ml:x:$uid:" >> /etc/group; \
          mkdir -p /home/ml; chown "$uid:$uid" /home/ml; \
        fi

    FROM mlr-base AS mlr-runtime

    FROM mlr-runtime AS mlr-builder
    ENV \
        PYTHONDONTWRITEBYTECODE="1" \
        SOURCE_DATE_EPOCH="0"
    COPY git/kernels /opt/mlr/git/kernels
    COPY git/tools /opt/mlr/git/tools
    RUN set -e; \
        mkdir -p $(dirname /opt/mlr/.build-start); touch /opt/mlr/.build-start; \
        if find / -maxdepth 0 -cnewer / >/dev/null 2>&1; then newer=-cnewer; \
          until touch /tmp/.mlr-probe && [ -n "$(find /tmp/.mlr-probe -newer /opt/mlr/.build-start)" ]; do sleep 0.01; done; \
        else newer=-newer; sleep 1; fi; \
        MLR_GIT_COMMIT='[COMMIT]'; MAX_JOBS="${MAX_JOBS:-$(nproc)}"; export MLR_GIT_COMMIT MAX_JOBS; \
        trap 'mlr_status=$?; trap - EXIT; if [ "$mlr_status" -ne 0 ]; then echo "mlr-failure: kind=build-step source=kernels step=$mlr_step status=$mlr_status" >&2; fi; exit "$mlr_status"' EXIT; \
        mlr_step=1; (cd /opt/mlr/git/kernels; cat MARKER); \
        trap - EXIT; \
        mkdir -p /opt/mlr/build-out; cd /; \
        find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /var/tmp -o -path /var/cache -o -path /var/log -o -path /var/lib/apt/lists -o -path /root/.cache -o -path /opt/mlr/build-out -o -path /opt/mlr/.build-start -o -path /etc/hosts -o -path /etc/hostname -o -path /etc/resolv.conf -o -name __pycache__ \) -prune -o \( -type f -o -type l \) "$newer" /opt/mlr/.build-start \
          -exec sh -c 'cp -a --parents "$@" /opt/mlr/build-out/' sh {} +; \
        mlr_home=$(find /opt/mlr/build-out/root /opt/mlr/build-out/home \( -type f -o -type l \) 2>/dev/null | sort | head -n 1); \
        if [ -n "$mlr_home" ]; then printf '%s\n' "mlr-failure: kind=user-install source=kernels path=${mlr_home#/opt/mlr/build-out}" >&2; exit 1; fi
    RUN set -e; \
        mkdir -p $(dirname /opt/mlr/.build-start); touch /opt/mlr/.build-start; \
        if find / -maxdepth 0 -cnewer / >/dev/null 2>&1; then newer=-cnewer; \
          until touch /tmp/.mlr-probe && [ -n "$(find /tmp/.mlr-probe -newer /opt/mlr/.build-start)" ]; do sleep 0.01; done; \
        else newer=-newer; sleep 1; fi; \
        MLR_GIT_COMMIT='[COMMIT]'; MAX_JOBS="${MAX_JOBS:-$(nproc)}"; export MLR_GIT_COMMIT MAX_JOBS; \
        trap 'mlr_status=$?; trap - EXIT; if [ "$mlr_status" -ne 0 ]; then echo "mlr-failure: kind=build-step source=tools step=$mlr_step status=$mlr_status" >&2; fi; exit "$mlr_status"' EXIT; \
        mlr_step=1; (cd /opt/mlr/git/tools; sh tool.sh); \
        trap - EXIT; \
        mkdir -p /opt/mlr/build-out; cd /; \
        find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /var/tmp -o -path /var/cache -o -path /var/log -o -path /var/lib/apt/lists -o -path /root/.cache -o -path /opt/mlr/build-out -o -path /opt/mlr/.build-start -o -path /etc/hosts -o -path /etc/hostname -o -path /etc/resolv.conf -o -name __pycache__ \) -prune -o \( -type f -o -type l \) "$newer" /opt/mlr/.build-start \
          -exec sh -c 'cp -a --parents "$@" /opt/mlr/build-out/' sh {} +; \
        mlr_home=$(find /opt/mlr/build-out/root /opt/mlr/build-out/home \( -type f -o -type l \) 2>/dev/null | sort | head -n 1); \
        if [ -n "$mlr_home" ]; then printf '%s\n' "mlr-failure: kind=user-install source=tools path=${mlr_home#/opt/mlr/build-out}" >&2; exit 1; fi

    FROM mlr-runtime
    COPY git/kernels /opt/mlr/git/kernels
    COPY git/tools /opt/mlr/git/tools
    COPY --from=mlr-builder /opt/mlr/build-out/ /
    WORKDIR /
    LABEL \
        org.opencontainers.image.base.name="127.0.0.1:[PORT]/snap/base:v1" \
        org.opencontainers.image.base.digest="sha256:[DIGEST]" \
        dev.mlr.manifest-fingerprint="sha256:[DIGEST]" \
        dev.mlr.lock-sha256="[HASH]" \
        org.opencontainers.image.title="snap"
    USER ml
    --- stderr
    "#);
    snapshot!(f.filters(), run(f.mlr().args(["dockerfile", "-o", "Dockerfile"])), @"
    exit: 0
    --- stdout
    --- stderr
           Wrote Dockerfile
    ");

    f.edit(|m| m.replace("GREETING = \"hello\"", "GREETING = \"hi\""));
    snapshot!(f.filters(), run(f.mlr().arg("dockerfile")), @"
    exit: 1
    --- stdout
    --- stderr
    error: ml.lock does not satisfy ml.toml:
      stale: ml.toml changed since the lock was written (fingerprint sha256:[SHORT_HASH] → sha256:[SHORT_HASH])
    hint: run `mlr lock`
    ");

    std::fs::remove_file(f.project.path("ml.lock")).unwrap();
    snapshot!(f.filters(), run(f.mlr().arg("dockerfile")), @"
    exit: 2
    --- stdout
    --- stderr
    error: ml.lock does not exist
    hint: run `mlr lock` first
    ");
}

#[test]
fn build_prints_status_lines_around_the_engine_output() {
    require!(Service::Registry);
    require!(Service::Git);
    require!(Service::Docker);
    let f = Fixture::locked();
    let out = f.mlr().arg("build").output().expect("running mlr build");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let _cleanup = ImageCleanup::new(built_tag(&stderr));
    let shown = render(&out, only_status_lines);
    snapshot!(f.filters(), shown, @"
    exit: 0
    --- stdout
    --- stderr
    Checking out git kernels at [SHORT_HASH]
    Checking out git tools at [SHORT_HASH]
        Building snap:[SHORT_HASH] with docker
    [engine output]
           Built snap:[SHORT_HASH] (sha256:[DIGEST])
    ");

    // Quiet: neither status lines nor the engine's output (a cached
    // rebuild of the same image).
    snapshot!(f.filters(), run(f.mlr().args(["build", "--quiet"])), @"
    exit: 0
    --- stdout
    --- stderr
    ");

    // A git source's build step fails after printing text about apt: the
    // error names the source, the step and its status (build-step kind),
    // never an apt archive.
    f.edit(|m| {
        m.replace(
            "build = [\"sh tool.sh\"]",
            "build = [\"sh tool.sh\", \"echo 'E: libfoo.deb was not found by apt' >&2; exit 3\"]",
        )
    });
    f.mlr().arg("lock").assert().success();
    let out = f.mlr().arg("build").output().expect("running mlr build");
    let shown = render(&out, only_status_lines);
    snapshot!(f.filters(), shown, @"
    exit: 2
    --- stdout
    --- stderr
    Checking out git kernels at [SHORT_HASH]
    Checking out git tools at [SHORT_HASH]
        Building snap:[SHORT_HASH] with docker
    [engine output]
    error: git source `tools`: build step 2 (`echo 'E: libfoo.deb was not found by apt' >&2; exit 3`) exited with status 3; its last lines of output:
    [engine output]
    ");
}

/// The tag of `Built <tag> (<id>)` in `mlr build`'s stderr.
fn built_tag(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("Built "))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_string)
        .collect()
}

/// mlr's own lines of a build's stderr (`    Building …`, `error:` …), each
/// run of the engine's streamed output replaced by one `[engine output]`
/// line: the engine's text is not mlr's to snapshot.
fn only_status_lines(stderr: &str) -> String {
    let mut out = String::new();
    let mut in_engine_output = false;
    for line in stderr.lines() {
        if is_mlr_line(line) {
            out.push_str(line);
            out.push('\n');
            in_engine_output = false;
        } else if !in_engine_output {
            out.push_str("[engine output]\n");
            in_engine_output = true;
        }
    }
    out
}

/// A status line (a capitalised verb right-aligned in 12 columns, then the
/// message: `    Building …`, `Checking out …`) or a diagnostic. Docker's
/// own `Successfully built …` has the same shape and is not ours.
fn is_mlr_line(line: &str) -> bool {
    let status = match (line.get(..12), line.get(12..)) {
        (Some(verb), Some(rest)) => {
            let verb = verb.trim_start();
            rest.starts_with(' ')
                && !rest.starts_with("  ")
                && verb.starts_with(|c: char| c.is_ascii_uppercase())
                && verb.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')
                && verb != "Successfully"
        }
        _ => false,
    };
    status
        || ["error:", "warning:", "hint:", "caused by:"]
            .iter()
            .any(|prefix| line.starts_with(prefix))
}

#[test]
fn build_refuses_what_it_cannot_build_before_starting_an_engine() {
    require!(Service::Registry);
    require!(Service::Git);
    let f = Fixture::locked();

    snapshot!(f.filters(), run(f.mlr().args(["build", "--platform", "linux/arm64"])), @"
    exit: 2
    --- stdout
    --- stderr
    error: ml.lock has no platform `linux/arm64`
    hint: locked platforms: linux/amd64; to build another, add it to `[project] platforms` in ml.toml and run `mlr lock`
    ");
    snapshot!(f.filters(), run(f.mlr().args(["build", "--profile", "dev"])), @"
    exit: 2
    --- stdout
    --- stderr
    error: ml.toml has no [profile.dev]
    hint: the default profile is prod; add a [profile.dev] table for extra tools
    ");
    snapshot!(
        f.filters(),
        run(f.mlr().args(["build", "--ca-cert", "no-such-ca.pem"])),
        @"
    exit: 2
    --- stdout
    --- stderr
    error: cannot read the CA certificate no-such-ca.pem: No such file or directory (os error 2)
    hint: pass a PEM file with --ca-cert or MLR_CA_CERTS
    "
    );
    snapshot!(
        f.filters(),
        run(f
            .mlr()
            .args(["build", "--backend", "docker"])
            .env("MLR_DOCKER", "/nonexistent/docker")),
        @"
    exit: 2
    --- stdout
    --- stderr
    Checking out git kernels at [SHORT_HASH]
    Checking out git tools at [SHORT_HASH]
        Building snap:[SHORT_HASH] with docker
    error: could not run `docker` (/nonexistent/docker): No such file or directory (os error 2)
    hint: install the docker CLI, or choose another backend with --backend
    "
    );

    // A CA certificate needs BuildKit's secret mounts; a docker CLI without
    // BuildKit is refused before it is asked to build. The machine's newer
    // CLI without the buildx plugin is such a CLI; where it is missing, a
    // stand-in that answers like it (and records any build) takes its place.
    let no_buildkit = no_buildkit_docker(&f.project);
    snapshot!(
        f.filters(),
        run(f
            .mlr()
            .args(["build", "--backend", "docker", "--ca-cert", "/etc/ssl/certs/ca-certificates.crt"])
            .env("MLR_DOCKER", &no_buildkit)),
        @"
    exit: 2
    --- stdout
    --- stderr
    Checking out git kernels at [SHORT_HASH]
    Checking out git tools at [SHORT_HASH]
        Building snap:[SHORT_HASH] with docker
    error: extra CA certificates are mounted as build secrets, which need BuildKit, and this docker CLI has no BuildKit
    hint: install the docker buildx plugin (or set MLR_DOCKER to a docker CLI with BuildKit), or build with --backend buildah
    "
    );
    assert!(
        !f.project.exists("docker-built"),
        "the stand-in docker was asked to build"
    );

    // A stale lock.
    let manifest = f.project.read("ml.toml");
    f.edit(|m| m.replace("GREETING = \"hello\"", "GREETING = \"hi\""));
    snapshot!(f.filters(), run(f.mlr().arg("build")), @"
    exit: 1
    --- stdout
    --- stderr
    error: ml.lock does not satisfy ml.toml:
      stale: ml.toml changed since the lock was written (fingerprint sha256:[SHORT_HASH] → sha256:[SHORT_HASH])
    hint: run `mlr lock`
    ");
    f.project.file("ml.toml", &manifest);

    // No lock at all.
    std::fs::remove_file(f.project.path("ml.lock")).unwrap();
    snapshot!(f.filters(), run(f.mlr().arg("build")), @"
    exit: 2
    --- stdout
    --- stderr
    error: ml.lock does not exist
    hint: run `mlr lock` first
    ");
}

#[test]
fn resolution_failures_name_what_could_not_be_resolved() {
    require!(Service::Registry);
    require!(Service::Git);
    let f = Fixture::new();

    // A git rev that does not exist.
    f.edit(|m| m.replacen("rev = \"main\"", "rev = \"no-such-branch\"", 1));
    snapshot!(f.filters(), run(f.mlr().arg("lock")), @"
    exit: 2
    --- stdout
    --- stderr
       Resolving image 127.0.0.1:[PORT]/snap/base:v1
        Fetching git kernels (file://[GIT]/kernels)
    error: git source `kernels`: rev `no-such-branch` not found in file://[GIT]/kernels
    caused by: no branch, tag or commit named `no-such-branch`
    hint: branches and tags there include: main, stable
    ");

    // A registry nobody listens on: refused connections are retried (1 s,
    // 2 s, 4 s apart) before mlr gives up.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    f.project.file(
        "ml.toml",
        format!("[base]\nimage = \"127.0.0.1:{port}/snap/base:v1\"\n"),
    );
    snapshot!(f.filters(), run(f.mlr().arg("lock")), @"
    exit: 2
    --- stdout
    --- stderr
       Resolving image 127.0.0.1:[PORT]/snap/base:v1
    error: resolving image 127.0.0.1:[PORT]/snap/base:v1
    caused by: GET http://127.0.0.1:[PORT]/v2/snap/base/manifests/v1 failed after 4 attempts
    caused by: error sending request for url (http://127.0.0.1:[PORT]/v2/snap/base/manifests/v1)
    caused by: client error (Connect)
    caused by: tcp connect error
    caused by: Connection refused (os error 111)
    hint: if the server is down or slow, point mlr at a mirror ([mirrors] in ~/.config/mlr/config.toml, or MLR_REGISTRY_MIRRORS / MLR_INDEX_MIRRORS), work from the cache with --offline, or wait longer with [net] retries and timeout (MLR_HTTP_RETRIES, MLR_HTTP_TIMEOUT)
    ");

    // A tag the registry does not have.
    f.project.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n",
            f.registry.reference("snap/base", "v404")
        ),
    );
    snapshot!(f.filters(), run(f.mlr().arg("lock")), @"
    exit: 2
    --- stdout
    --- stderr
       Resolving image 127.0.0.1:[PORT]/snap/base:v404
    error: resolving image 127.0.0.1:[PORT]/snap/base:v404
    caused by: Registry error: url http://127.0.0.1:[PORT]/v2/snap/base/manifests/v404, envelope: OCI API errors: [OCI API error: manifest unknown]
    ");
}

#[test]
fn a_pip_package_missing_from_the_index_is_a_resolution_error() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let registry = Registry::start();
    push_debian_marker(&registry, "py/base", "12", "linux/amd64");
    let index = PyIndex::start();
    let p = Project::new();
    p.file(
        "ml.toml",
        format!(
            "[base]\nimage = \"{}\"\n\n[pip]\nindex-url = \"{}\"\npackages = [\"no-such-package==1.0\"]\n",
            registry.reference("py/base", "12"),
            index.url()
        ),
    );
    let f = Filters::new().project(&p);
    snapshot!(f, run(p.mlr().arg("lock").env("MLR_UV", shared_uv())), @"
    exit: 2
    --- stdout
    --- stderr
       Resolving image 127.0.0.1:[PORT]/py/base:12
      Inspecting 127.0.0.1:[PORT]/py/base:12 for its Python and glibc
         Reading 1 layer (0.0 MB) of 127.0.0.1:[PORT]/py/base@sha256:[SHORT_HASH]
      Inspecting 127.0.0.1:[PORT]/py/base:12 (linux/amd64) for apt
       Resolving pip for linux/amd64 (python 3.11, manylinux_2_36)
    error: pip resolution failed:
    error: No solution found when resolving dependencies
      cause: Because no-such-package was not found in the package registry and mlr-environment-root depends on no-such-package==1.0, we can conclude that your requirements are unsatisfiable.
    hint: check the requirements in ml.toml and that the indexes are reachable
    ");
}

/// A docker CLI without BuildKit: the machine's own newer CLI when it lacks
/// the buildx plugin, else a stand-in script that says it is version 28
/// without buildx and records a `build` call in `docker-built`.
fn no_buildkit_docker(project: &Project) -> std::path::PathBuf {
    let real = std::path::Path::new("/usr/local/bin/docker");
    let has_buildx = |docker: &std::path::Path| {
        std::process::Command::new(docker)
            .args(["buildx", "version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if real.exists() && !has_buildx(real) {
        return real.to_path_buf();
    }
    let script = project.path("docker-without-buildkit");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  version) echo 28.2.2 ;;\n  buildx) exit 1 ;;\n  build) touch '{}'; exit 1 ;;\nesac\n",
            project.path("docker-built").display()
        ),
    )
    .expect("writing the stand-in docker");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("making the stand-in executable");
    script
}
