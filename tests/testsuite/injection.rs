//! No value of `ml.lock` (untrusted: it comes with pull requests) or of
//! `ml.toml` changes the structure of the Dockerfile mlr renders.
//!
//! Every field that can reach the Dockerfile is set to hostile values
//! (quotes, `$(...)`, backticks, a newline and an instruction, a trailing
//! backslash, `\r`, NUL, U+2028/U+2029, `${HOME}`, a leading `-`, ...).
//! The oracle, for each case: either mlr refuses it (the manifest reader,
//! the lock reader or the renderer returns an error), or the Dockerfile,
//! parsed back the way BuildKit parses it (`support::dockerfile`), has
//! the same instructions as the baseline's and every argument equal to
//! the baseline's with the value replaced: after BuildKit's quote and
//! variable processing for `ENV`, `LABEL`, `WORKDIR`, `COPY`, `FROM`...,
//! and word by word, substitutions included, as `sh` splits the bodies
//! of shell-form `RUN`s. A `build` step and a shell-form healthcheck are
//! shell code by design: there the body must hold the step verbatim.
//!
//! The table test runs a fixed list of payloads in every field; the
//! property test runs random strings of a hostile alphabet (bounded:
//! `PROPTEST_CASES`, default 256). The CLI tests run the issue's payloads
//! through `mlr verify`, `mlr dockerfile` and `mlr build`, which must
//! refuse them at `ml.lock:LINE:COL` before anything runs.

use std::collections::BTreeMap;

use mlr::lock::{
    AptPin, BaseDistributionPin, GitPin, ImagePin, Lockfile, PipArtifact, PipPin, PlatformDigest,
    PythonPin, RequirementFilePin, SubmodulePin,
};
use mlr::manifest::PythonSource;
use proptest::prelude::*;

use crate::support::Project;
use crate::support::dockerfile::{self, Args, Lexed, ShToken};

/// Every value the baseline project is made of, by key.
type Values = BTreeMap<&'static str, String>;

/// How a field's value is read by mlr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Data: it must reach the Dockerfile as one intact argument or word.
    Data,
    /// Shell code written by the user (`build` steps, a shell-form
    /// healthcheck): it must reach its `RUN`/`CMD` body verbatim, and
    /// change no instruction.
    Code,
}

/// A renderable field: its key in [`Values`], the valid value it has in
/// the baseline, and the forms the renderer derives from it.
struct Field {
    key: &'static str,
    /// The field's baseline value (unique in the rendered Dockerfile).
    baseline: &'static str,
    kind: Kind,
    /// Other spellings of the value the renderer writes (an apt version
    /// in a `.deb` file name, a Python version as a tuple).
    derived: fn(&str) -> Vec<String>,
    /// The manifest reader trims the value (Unicode white space) before
    /// it validates and keeps it: what must arrive intact is the trimmed
    /// value.
    trimmed: bool,
}

fn none(_: &str) -> Vec<String> {
    Vec::new()
}

fn apt_file_version(v: &str) -> Vec<String> {
    vec![v.replace(':', "%3a")]
}

fn python_tuple(v: &str) -> Vec<String> {
    vec![v.replace('.', ", ")]
}

const fn data(key: &'static str, baseline: &'static str) -> Field {
    Field {
        key,
        baseline,
        kind: Kind::Data,
        derived: none,
        trimmed: false,
    }
}

/// A manifest field the reader trims.
const fn trimmed(key: &'static str, baseline: &'static str) -> Field {
    Field {
        trimmed: true,
        ..data(key, baseline)
    }
}

const SHA_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const SHA_E: &str = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const FINGERPRINT: &str = "sha256:9999999999999999999999999999999999999999999999999999999999999999";
const HEX_C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
const HEX_5: &str = "5555555555555555555555555555555555555555555555555555555555555555";
const COMMIT: &str = "3333333333333333333333333333333333333333";
const TREE: &str = "4444444444444444444444444444444444444444";
const SUBMODULE_COMMIT: &str = "6666666666666666666666666666666666666666";
const SNAPSHOT: &str = "https://snapshot.debian.org/archive/debian/20250520T000000Z";

/// Every field of `ml.lock` and `ml.toml` the renderer reads (see
/// `src/render.rs`); fields it does not write are here too, so a later
/// renderer that starts writing them is covered.
const FIELDS: &[Field] = &[
    // ml.lock: the base image (FROM, labels) and the CUDA builder (FROM).
    data("fingerprint", FINGERPRINT),
    data("image.base.name", "base"),
    data("image.base.requested", "requested.example/req/img:v1"),
    data("image.base.registry", "registry.example:5000"),
    data("image.base.repository", "team/base"),
    data("image.base.tag", "v1tag"),
    data("image.base.digest", SHA_A),
    data(
        "image.base.media-type",
        "application/vnd.oci.image.index.v1+json",
    ),
    data("image.base.platform", "linux/amd64"),
    data("image.base.platform-digest", SHA_E),
    data("image.builder.requested", "requested.example/req/devel:v1"),
    data("image.builder.registry", "builder.example:5001"),
    data("image.builder.repository", "team/devel"),
    data("image.builder.digest", SHA_B),
    // ml.lock: an apt package (the apt layer's RUN).
    data("apt.name", "relpkg"),
    Field {
        key: "apt.version",
        baseline: "1:1.0-1",
        kind: Kind::Data,
        derived: apt_file_version,
        trimmed: false,
    },
    data("apt.architecture", "amd64"),
    data("apt.source", SNAPSHOT),
    data("apt.suite", "bookworm"),
    data("apt.component", "main"),
    data("apt.filename", "pool/main/r/relpkg/relpkg_1.0-1_amd64.deb"),
    data("apt.sha256", HEX_C),
    // ml.lock: pip (requirements.txt in the build context, not the Dockerfile).
    data("pip.name", "numpy"),
    data("pip.version", "1.26.4"),
    data("pip.index", "pypi"),
    data("pip.platform", "linux/amd64"),
    data("pip.filename", "numpy-1.26.4-py3-none-any.whl"),
    data(
        "pip.url",
        "https://files.example/numpy-1.26.4-py3-none-any.whl",
    ),
    data("pip.sha256", HEX_5),
    // ml.lock: git (the builder stage's RUN) and Python (the venv's RUN).
    data("git.url", "https://git.example/kernels.git"),
    data("git.requested", "gitrev-r"),
    data("git.commit", COMMIT),
    data("git.tree", TREE),
    data("git.submodule.path", "third_party/sub"),
    data("git.submodule.commit", SUBMODULE_COMMIT),
    Field {
        key: "python.version",
        baseline: "3.11",
        kind: Kind::Data,
        derived: python_tuple,
        trimmed: false,
    },
    data("python.glibc", "2.36"),
    data("python.os", "debian 12"),
    // No other baseline inside it: `3.11` (python.version) grows to `3.110`.
    data("python.path", "/opt/conda/bin/python"),
    data("base-python.name", "torch"),
    data("base-python.version", "2.6.0a0+nv25.1"),
    data("requirement-file.path", "reqs/base.txt"),
    // ml.toml.
    trimmed("project.name", "proj-n"),
    trimmed("cuda.arch", "8.6"),
    data("env.key", "ENV_KEY_K"),
    data("env.value", "env-value-v"),
    data("image.workdir", "/workdir-w"),
    trimmed("image.user", "appuser"),
    data("image.entrypoint", "entry-e"),
    data("image.cmd", "cmd-c"),
    data("image.healthcheck.exec", "http://health.example/"),
    // Shell code at the end of its line, whose ends BuildKit trims
    // (`splitCommand`, Go's `unicode.IsSpace`): white space around a
    // command means nothing to `sh`.
    Field {
        key: "image.healthcheck.shell",
        baseline: "curl -f http://health.example/shell",
        kind: Kind::Code,
        derived: none,
        trimmed: true,
    },
    trimmed("image.healthcheck.interval", "31s"),
    data("image.copy.src", "src-dir"),
    data("image.copy.dst", "/dst-d"),
    // The git source's name: the `[git.NAME]` key and the pin's name.
    data("git.name", "srcgit"),
    Field {
        key: "git.build",
        baseline: "make build-b",
        kind: Kind::Code,
        derived: none,
        trimmed: false,
    },
    // `[profile.NAME]`, rendered for `--profile NAME`.
    data("profile.name", "devprof"),
];

/// The baseline: every field at its baseline value; a shell-form
/// healthcheck only when that field is the one under test.
fn baseline_values() -> Values {
    let mut v: Values = FIELDS
        .iter()
        .map(|f| (f.key, f.baseline.to_string()))
        .collect();
    // Absent, not empty: an empty shell healthcheck is a value under test.
    v.remove("image.healthcheck.shell");
    v
}

/// A TOML string (basic, escaped as needed).
fn q(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

/// A TOML key (bare or quoted).
fn k(s: &str) -> String {
    toml_edit::Key::new(s).to_string().trim().to_string()
}

/// The manifest: a base image, `[cuda] arch`, snapshot apt, pip, a git
/// source with a build step, `[env]`, every `[image]` setting and a
/// profile: every part of the Dockerfile that reads ml.toml.
fn manifest_toml(v: &Values) -> String {
    let healthcheck = match v.get("image.healthcheck.shell") {
        None => format!("[\"curl\", \"-f\", {}]", q(&v["image.healthcheck.exec"])),
        Some(shell) => q(shell),
    };
    format!(
        r#"[project]
name = {name}

[base]
image = "registry.example:5000/team/base:v1"

[cuda]
version = "12.4"
arch = [{arch}]

[apt]
packages = ["hello"]
snapshot = "20250520T000000Z"

[pip]
packages = ["numpy"]

[git.{git}]
url = "https://git.example/kernels.git"
rev = "main"
build = [{build}]

[env]
{env_key} = {env_value}

[image]
workdir = {workdir}
user = {user}
entrypoint = [{entrypoint}, "-m", "app"]
cmd = [{cmd}]
copy = [{{ src = {src}, dst = {dst} }}]

[image.healthcheck]
cmd = {healthcheck}
interval = {interval}

[profile.{profile}]
apt = ["vim"]
"#,
        name = q(&v["project.name"]),
        arch = q(&v["cuda.arch"]),
        git = k(&v["git.name"]),
        build = q(&v["git.build"]),
        env_key = k(&v["env.key"]),
        env_value = q(&v["env.value"]),
        workdir = q(&v["image.workdir"]),
        user = q(&v["image.user"]),
        entrypoint = q(&v["image.entrypoint"]),
        cmd = q(&v["image.cmd"]),
        src = q(&v["image.copy.src"]),
        dst = q(&v["image.copy.dst"]),
        interval = q(&v["image.healthcheck.interval"]),
        profile = k(&v["profile.name"]),
    )
}

/// The lock: both images, one prod apt package (pulled in by `hello`), a
/// dev-only one, Python, one pip package and the git source.
fn lockfile(v: &Values) -> Lockfile {
    let s = |key: &str| v[key].clone();
    let apt_common = |name: String, version: String, via: &str, sha: String| AptPin {
        name,
        version,
        architecture: s("apt.architecture"),
        // Apart from relpkg's, so each value is in one place only.
        source: "https://snapshot.debian.org/archive/debian-security/20250520T000000Z".into(),
        suite: "trixie".into(),
        component: "contrib".into(),
        filename: "pool/contrib/v/vim/vim_9.0.1378-2_amd64.deb".into(),
        sha256: sha,
        requested: (via == "vim").then(|| via.to_string()),
        via: vec![via.to_string()],
    };
    let relpkg = AptPin {
        source: s("apt.source"),
        suite: s("apt.suite"),
        component: s("apt.component"),
        filename: s("apt.filename"),
        requested: None,
        ..apt_common(s("apt.name"), s("apt.version"), "hello", s("apt.sha256"))
    };
    let vim = apt_common("vim".into(), "2:9.0.1378-2".into(), "vim", "d".repeat(64));
    Lockfile {
        version: mlr::lock::VERSION,
        pip_build: Vec::new(),
        build_constraints: Vec::new(),
        fingerprint: s("fingerprint"),
        dockerignore: None,
        python: Some(PythonPin {
            interpreter: PythonSource::Base,
            path: Some(s("python.path")),
            ..PythonPin::distro(s("python.version"), s("python.glibc"), s("python.os"))
        }),
        base_python: vec![BaseDistributionPin {
            name: s("base-python.name"),
            version: s("base-python.version"),
        }],
        requirement_file: vec![RequirementFilePin {
            path: s("requirement-file.path"),
            sha256: HEX_C.into(),
        }],
        images: vec![
            ImagePin {
                name: s("image.base.name"),
                requested: s("image.base.requested"),
                registry: s("image.base.registry"),
                repository: s("image.base.repository"),
                tag: Some(s("image.base.tag")),
                digest: s("image.base.digest"),
                media_type: s("image.base.media-type"),
                platforms: vec![PlatformDigest {
                    platform: s("image.base.platform"),
                    digest: s("image.base.platform-digest"),
                }],
            },
            ImagePin {
                name: "builder".into(),
                requested: s("image.builder.requested"),
                registry: s("image.builder.registry"),
                repository: s("image.builder.repository"),
                tag: Some("devel-tag".into()),
                digest: s("image.builder.digest"),
                media_type: "application/vnd.oci.image.index.v1+json".into(),
                platforms: vec![PlatformDigest {
                    platform: "linux/amd64".into(),
                    digest: SHA_E.replace('e', "f"),
                }],
            },
        ],
        apt: vec![relpkg, vim],
        pip: vec![PipPin {
            git: None,
            path: None,
            build_requires: None,
            name: s("pip.name"),
            version: s("pip.version"),
            index: s("pip.index"),
            requested: Some("numpy".into()),
            via: Vec::new(),
            artifacts: vec![PipArtifact {
                platform: s("pip.platform"),
                filename: s("pip.filename"),
                url: s("pip.url"),
                sha256: s("pip.sha256"),
                size: 1,
                sdist: false,
            }],
        }],
        git: vec![GitPin {
            name: s("git.name"),
            url: s("git.url"),
            requested: s("git.requested"),
            commit: s("git.commit"),
            tree: s("git.tree"),
            submodules: vec![SubmodulePin {
                path: s("git.submodule.path"),
                commit: s("git.submodule.commit"),
            }],
        }],
    }
}

/// What mlr made of a project.
enum Rendered {
    /// A reader or the renderer returned an error.
    Refused(String),
    /// The Dockerfiles (`mlr dockerfile`'s, and the profile's), the lock's
    /// identity label and its `SOURCE_DATE_EPOCH`.
    Dockerfiles {
        targets: Vec<(&'static str, String)>,
        lock_sha: String,
        epoch: String,
    },
}

/// Manifest text through mlr's manifest reader, the lock through its
/// writer and reader, then the renderer, as `mlr dockerfile` and
/// `mlr build --profile` run them.
fn render(v: &Values) -> Rendered {
    let manifest = match mlr::manifest::parse(&manifest_toml(v), "ml.toml") {
        Ok(m) => m,
        Err(e) => return Rendered::Refused(format!("ml.toml: {}", e.message)),
    };
    let lock = lockfile(v);
    let text = mlr::lock::render(&lock);
    let read = match mlr::lock::parse(&text, "ml.lock") {
        Ok(r) => r.lock,
        Err(e) => return Rendered::Refused(format!("ml.lock: {}", e.message)),
    };
    let mut sorted = lock;
    sorted.sort();
    assert_eq!(
        read, sorted,
        "the lock did not survive its writer and reader"
    );
    let prod = match mlr::render::dockerfile(&manifest, &read) {
        Ok(d) => d,
        Err(e) => return Rendered::Refused(format!("render: {e}")),
    };
    let target = mlr::render::Target {
        profile: Some(v["profile.name"].clone()),
        ..Default::default()
    };
    let profile = match mlr::render::dockerfile_for(&manifest, &read, &target) {
        Ok(d) => d,
        Err(e) => return Rendered::Refused(format!("render --profile: {e}")),
    };
    Rendered::Dockerfiles {
        targets: vec![("prod", prod), ("profile", profile)],
        lock_sha: mlr::render::lock_sha256(&read),
        epoch: read.source_date_epoch().to_string(),
    }
}

/// One comparable piece of a parsed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Keyword(String),
    /// A flag, as BuildKit expands it.
    Flag(Lexed),
    /// An exec-form (JSON) element.
    Exec(String),
    /// A word, text or `ENV`/`LABEL` key or value after BuildKit's lexer.
    Word(Lexed),
    /// A shell-form body word or operator, as `sh` splits it.
    Sh(ShToken),
    /// A shell-form body as written (for fields that are shell code).
    Body(String),
    Heredoc(String, String),
}

fn lexed(raw: &str) -> Result<Atom, String> {
    dockerfile::lex_word(raw)
        .map(Atom::Word)
        .map_err(|e| format!("BuildKit cannot process `{raw}`: {e}"))
}

fn args_atoms(args: &Args, kind: Kind, out: &mut Vec<Atom>) -> Result<(), String> {
    match args {
        Args::None => {}
        Args::Exec(items) => out.extend(items.iter().cloned().map(Atom::Exec)),
        Args::Shell(body) if kind == Kind::Code => out.push(Atom::Body(body.clone())),
        Args::Shell(body) => {
            let tokens =
                dockerfile::sh_words(body).map_err(|e| format!("sh cannot run it: {e}"))?;
            out.extend(tokens.into_iter().map(Atom::Sh));
        }
        Args::Words(words) | Args::NameVals(words) => {
            for w in words {
                out.push(lexed(w)?);
            }
        }
        Args::Text(text) => out.push(lexed(text)?),
        Args::Pairs(pairs) => {
            for (key, value) in pairs {
                out.push(lexed(key)?);
                out.push(lexed(value)?);
            }
        }
        Args::Healthcheck(typ, cmd) => {
            out.push(Atom::Keyword(typ.clone()));
            args_atoms(cmd, kind, out)?;
        }
        Args::Unknown(rest) => out.push(Atom::Body(rest.clone())),
    }
    Ok(())
}

/// Every atom of one instruction.
fn atoms(i: &dockerfile::Instruction, kind: Kind) -> Result<Vec<Atom>, String> {
    let mut out = vec![Atom::Keyword(i.keyword.clone())];
    for flag in &i.flags {
        out.push(Atom::Flag(
            dockerfile::lex_word(flag).map_err(|e| format!("flag `{flag}`: {e}"))?,
        ));
    }
    args_atoms(&i.args, kind, &mut out)?;
    for (name, body) in &i.heredocs {
        out.push(Atom::Heredoc(name.clone(), body.clone()));
    }
    Ok(out)
}

/// Replaces every occurrence of each pair's first string by its second,
/// all at once (longest match first at each position).
struct Replace(Vec<(String, String)>);

impl Replace {
    fn apply(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        'outer: while !rest.is_empty() {
            for (from, to) in &self.0 {
                if !from.is_empty() && rest.starts_with(from.as_str()) {
                    out.push_str(to);
                    rest = &rest[from.len()..];
                    continue 'outer;
                }
            }
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    fn lexed(&self, l: &Lexed) -> Lexed {
        Lexed {
            value: self.apply(&l.value),
            expansions: l.expansions.clone(),
        }
    }

    fn atom(&self, a: &Atom) -> Atom {
        match a {
            Atom::Keyword(k) => Atom::Keyword(k.clone()),
            Atom::Flag(l) => Atom::Flag(self.lexed(l)),
            Atom::Word(l) => Atom::Word(self.lexed(l)),
            Atom::Exec(s) => Atom::Exec(self.apply(s)),
            Atom::Body(s) => Atom::Body(self.apply(s)),
            Atom::Heredoc(n, b) => Atom::Heredoc(self.apply(n), self.apply(b)),
            Atom::Sh(ShToken::Op(o)) => Atom::Sh(ShToken::Op(o.clone())),
            Atom::Sh(ShToken::Word(w)) => {
                use crate::support::dockerfile::Substitution as S;
                let mut w = w.clone();
                w.text = self.apply(&w.text);
                for s in &mut w.substitutions {
                    *s = match s {
                        S::Command(c) => S::Command(self.apply(c)),
                        S::Arithmetic(c) => S::Arithmetic(self.apply(c)),
                        S::Parameter(p) => S::Parameter(p.clone()),
                    };
                }
                Atom::Sh(ShToken::Word(w))
            }
        }
    }
}

/// What a hostile value did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// mlr refused it (the reason).
    Refused(String),
    /// The Dockerfile has the baseline's structure with the value intact;
    /// `false` when the field is not in the Dockerfile at all.
    Intact { rendered: bool },
    /// The structure changed or the value did not survive.
    Broken(String),
}

/// Shortened for a report line.
fn shown(s: &str) -> String {
    let escaped: String = s.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() > 160 {
        format!("{}…", escaped.chars().take(160).collect::<String>())
    } else {
        escaped
    }
}

/// The Dockerfile of the hostile render against the baseline's.
fn compare(base: &str, hostile: &str, kind: Kind, replace: &Replace) -> Result<(), String> {
    let b = dockerfile::parse(base).unwrap_or_else(|e| panic!("baseline: {e}\n{base}"));
    let h =
        dockerfile::parse(hostile).map_err(|e| format!("the Dockerfile does not parse: {e}"))?;
    let keywords = |d: &dockerfile::Dockerfile| -> Vec<String> {
        d.instructions.iter().map(|i| i.keyword.clone()).collect()
    };
    let (kb, kh) = (keywords(&b), keywords(&h));
    if kb != kh {
        let at = kb
            .iter()
            .zip(&kh)
            .position(|(x, y)| x != y)
            .unwrap_or(kb.len().min(kh.len()));
        let line = h.instructions.get(at).map_or(String::new(), |i| {
            format!(": line {}: `{}`", i.lines.0, shown(&i.original))
        });
        return Err(format!(
            "structure changed: {} instructions instead of {}; #{} is {} instead of {}{line}",
            kh.len(),
            kb.len(),
            at + 1,
            kh.get(at).map_or("nothing", String::as_str),
            kb.get(at).map_or("nothing", String::as_str),
        ));
    }
    for (n, (ib, ih)) in b.instructions.iter().zip(&h.instructions).enumerate() {
        let ab = atoms(ib, kind).unwrap_or_else(|e| panic!("baseline #{}: {e}", n + 1));
        let where_ = format!("#{} {} (line {})", n + 1, ih.keyword, ih.lines.0);
        let ah = atoms(ih, kind).map_err(|e| format!("{where_}: {e}"))?;
        let expected: Vec<Atom> = ab.iter().map(|a| replace.atom(a)).collect();
        if expected != ah {
            return Err(format!("{where_}: {}", difference(&expected, &ah)));
        }
    }
    Ok(())
}

/// What differs between the expected atoms of an instruction and the
/// hostile render's, in a few words.
fn difference(expected: &[Atom], got: &[Atom]) -> String {
    let text = |a: &Atom| match a {
        Atom::Word(l) | Atom::Flag(l) => l.value.clone(),
        Atom::Sh(ShToken::Word(w)) => w.text.clone(),
        Atom::Sh(ShToken::Op(o)) => format!("operator {o}"),
        Atom::Exec(s) | Atom::Body(s) | Atom::Keyword(s) => s.clone(),
        Atom::Heredoc(n, _) => format!("here-document {n}"),
    };
    let at = expected
        .iter()
        .zip(got)
        .position(|(x, y)| x != y)
        .unwrap_or(expected.len().min(got.len()));
    let (e, g) = (expected.get(at), got.get(at));
    let new_subst = match (e, g) {
        (Some(Atom::Sh(ShToken::Word(e))), Some(Atom::Sh(ShToken::Word(g)))) => g
            .substitutions
            .iter()
            .find(|s| !e.substitutions.contains(s))
            .map(|s| format!("sh performs {s:?} in it")),
        (Some(Atom::Word(e)), Some(Atom::Word(g))) => g
            .expansions
            .iter()
            .find(|x| !e.expansions.contains(x))
            .map(|x| format!("BuildKit expands ${x} in it")),
        (_, Some(Atom::Sh(ShToken::Word(g)))) => g
            .substitutions
            .first()
            .map(|s| format!("sh performs {s:?}")),
        _ => None,
    };
    let count = if expected.len() == got.len() {
        String::new()
    } else {
        format!("{} arguments instead of {}; ", got.len(), expected.len())
    };
    format!(
        "{count}argument {} is `{}` instead of `{}`{}",
        at + 1,
        g.map_or("nothing".into(), |a| shown(&text(a))),
        e.map_or("nothing".into(), |a| shown(&text(a))),
        new_subst.map_or(String::new(), |s| format!(" ({s})"))
    )
}

/// Sets `field` to `value` in the baseline and applies the oracle.
fn check(field: &Field, value: &str) -> Verdict {
    let mut base = baseline_values();
    base.insert(field.key, field.baseline.to_string());
    let mut hostile = base.clone();
    hostile.insert(field.key, value.to_string());
    let Rendered::Dockerfiles {
        targets: base_targets,
        lock_sha: base_sha,
        epoch: base_epoch,
    } = render(&base)
    else {
        panic!("the baseline for {} is refused", field.key)
    };
    let (targets, lock_sha, epoch) = match render(&hostile) {
        Rendered::Refused(why) => return Verdict::Refused(why),
        Rendered::Dockerfiles {
            targets,
            lock_sha,
            epoch,
        } => (targets, lock_sha, epoch),
    };
    let kept = if field.trimmed { value.trim() } else { value };
    let mut pairs: Vec<(String, String)> = (field.derived)(field.baseline)
        .into_iter()
        .zip((field.derived)(kept))
        .collect();
    pairs.push((field.baseline.to_string(), kept.to_string()));
    pairs.push((base_sha, lock_sha));
    if base_epoch != epoch {
        pairs.push((base_epoch, epoch));
    }
    // Longest first, so a derived spelling wins over its part.
    pairs.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    let replace = Replace(pairs);
    let mut rendered = false;
    for ((target, b), (_, h)) in base_targets.iter().zip(&targets) {
        rendered |= b.contains(field.baseline);
        if let Err(why) = compare(b, h, field.kind, &replace) {
            return Verdict::Broken(format!("{target} Dockerfile: {why}"));
        }
    }
    Verdict::Intact { rendered }
}

/// The issue's hostile values.
const PAYLOADS: &[(&str, &str)] = &[
    ("single quote", "'"),
    ("double quote", "\""),
    ("command substitution", "$(touch /x)"),
    ("backticks", "`touch /x`"),
    ("newline + instruction", "\nRUN touch /x"),
    ("backslash", "\\"),
    ("carriage return", "\r"),
    ("NUL", "\0"),
    ("U+2028", "\u{2028}"),
    ("U+2029", "\u{2029}"),
    ("variable", "${HOME}"),
    ("dash", "-"),
    ("space and word", " x"),
    ("heredoc", " <<EOF"),
    ("comment", " #"),
];

/// The table: every payload after (and before) every field's baseline.
#[test]
fn hostile_values_in_every_field_are_refused_or_change_nothing() {
    let mut broken = Vec::new();
    let (mut refused, mut intact, mut not_rendered) = (0, 0, 0);
    for field in FIELDS {
        for (name, payload) in PAYLOADS {
            for (placement, value) in [
                ("appended", format!("{}{payload}", field.baseline)),
                ("prepended", format!("{payload}{}", field.baseline)),
            ] {
                match check(field, &value) {
                    Verdict::Refused(_) => refused += 1,
                    Verdict::Intact { rendered: true } => intact += 1,
                    Verdict::Intact { rendered: false } => not_rendered += 1,
                    Verdict::Broken(why) => broken.push(format!(
                        "{} ← {name} {placement} ({}): {why}",
                        field.key,
                        shown(&value)
                    )),
                }
            }
        }
    }
    println!(
        "{refused} refused, {intact} rendered intact, {not_rendered} accepted but not in the Dockerfile, {} broken",
        broken.len()
    );
    assert!(
        broken.is_empty(),
        "{} hostile values change the Dockerfile:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// The oracle itself: plain letters appended to any field are either
/// refused or rendered intact (a collision of baseline values, or a
/// derived spelling the oracle misses, would show here).
#[test]
fn the_oracle_accepts_plain_values_in_every_field() {
    for field in FIELDS {
        let value = format!("{}zz", field.baseline);
        if let Verdict::Broken(why) = check(field, &value) {
            panic!("{} = {value:?}: {why}", field.key);
        }
    }
    // And it sees the issue's apt payload for what it is.
    let apt = FIELDS.iter().find(|f| f.key == "apt.version").unwrap();
    if let Verdict::Intact { .. } = check(apt, "1:1.0-1'\"$(echo pwned > /pwned-apt)\"'") {
        // Refused is fine (after the fix); intact is impossible.
        panic!("the oracle misses the apt version payload");
    }
}

/// Characters that mean something to the Dockerfile parser, BuildKit's
/// lexer, `sh`, TOML or a reader's grammar, and plain ones.
const ALPHABET: &[char] = &[
    '\'', '"', '$', '(', ')', '{', '}', '`', '\\', '\n', '\r', '\0', '\u{2028}', ' ', '\t', '#',
    '=', '[', ']', '<', ';', '&', '|', 'a', 'b', 'z', 'A', '0', '1', '9', '-', '.', ':', '/', '+',
    '~', '_', '@', '%',
];

fn hostile_string() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..24)
        .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    // 256 cases unless `PROPTEST_CASES` says otherwise; shrinking is
    // bounded so a failure reports quickly.
    #![proptest_config(ProptestConfig {
        max_shrink_iters: 2048,
        ..ProptestConfig::default()
    })]

    /// A random hostile string as a whole field, or before or after its
    /// baseline value: refused, or the Dockerfile is unchanged but for it.
    #[test]
    fn random_hostile_strings_are_refused_or_change_nothing(
        field in 0..FIELDS.len(),
        payload in hostile_string(),
        placement in 0..3usize,
    ) {
        let field = &FIELDS[field];
        let value = match placement {
            0 => payload.clone(),
            1 => format!("{}{payload}", field.baseline),
            _ => format!("{payload}{}", field.baseline),
        };
        if let Verdict::Broken(why) = check(field, &value) {
            prop_assert!(false, "{} = {:?}: {}", field.key, value, why);
        }
    }
}

/// The bytes of the locked wheel, placed in mlr's cache so `mlr build`
/// needs no network.
const WHEEL: &[u8] = b"not really a wheel";

/// A project whose lock satisfies its manifest offline, with `edit`
/// applied to the lock; its `ml.lock` text.
fn cli_project(edit: impl FnOnce(&mut Lockfile)) -> (Project, String) {
    let manifest = "[base]\nimage = \"registry.example:5000/team/base:v1\"\n\n\
                    [apt]\npackages = [\"hello\"]\n\n[pip]\npackages = [\"numpy\"]\n";
    let fingerprint = mlr::manifest::parse(manifest, "ml.toml")
        .expect("the CLI manifest is valid")
        .fingerprint();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(WHEEL))
    };
    let apt = |name: &str, version: &str, requested: bool| AptPin {
        name: name.into(),
        version: version.into(),
        architecture: "amd64".into(),
        source: "http://deb.debian.org/debian".into(),
        suite: "bookworm".into(),
        component: "main".into(),
        filename: format!("pool/main/x/{name}/{name}_{version}_amd64.deb"),
        sha256: HEX_C.into(),
        requested: requested.then(|| "hello".into()),
        via: vec!["hello".into()],
    };
    let wheel = "numpy-1.26.4-py3-none-any.whl";
    let mut lock = Lockfile {
        version: mlr::lock::VERSION,
        pip_build: Vec::new(),
        build_constraints: Vec::new(),
        fingerprint,
        dockerignore: None,
        python: Some(PythonPin::distro(
            "3.11".into(),
            "2.36".into(),
            "debian 12".into(),
        )),
        images: vec![ImagePin {
            name: "base".into(),
            requested: "registry.example:5000/team/base:v1".into(),
            registry: "registry.example:5000".into(),
            repository: "team/base".into(),
            tag: Some("v1".into()),
            digest: SHA_A.into(),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            platforms: vec![PlatformDigest {
                platform: "linux/amd64".into(),
                digest: SHA_E.into(),
            }],
        }],
        apt: vec![apt("hello", "2.10-3", true), apt("relpkg", "1.0-1", false)],
        pip: vec![PipPin {
            git: None,
            path: None,
            build_requires: None,
            name: "numpy".into(),
            version: "1.26.4".into(),
            index: "pypi".into(),
            requested: Some("numpy".into()),
            via: Vec::new(),
            artifacts: vec![PipArtifact {
                platform: "linux/amd64".into(),
                filename: wheel.into(),
                url: format!("https://files.example/{wheel}"),
                sha256: sha.clone(),
                size: WHEEL.len() as u64,
                sdist: false,
            }],
        }],
        git: Vec::new(),
        base_python: Vec::new(),
        requirement_file: Vec::new(),
    };
    edit(&mut lock);
    let text = mlr::lock::render(&lock);
    let project = Project::new();
    project.file("ml.toml", manifest).file("ml.lock", &text);
    let cached = project.cache_dir().join("pip").join(&sha).join(wheel);
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::write(&cached, WHEEL).unwrap();
    (project, text)
}

/// `mlr verify`, `mlr dockerfile -o Dockerfile` and `mlr build` on a lock
/// edited by `edit`: each exits 2 naming `ml.lock:LINE:` of the line that
/// holds `needle`; no Dockerfile is written and no engine runs.
fn assert_cli_refuses(what: &str, needle: &str, edit: impl FnOnce(&mut Lockfile)) {
    assert_cli_refuses_at(what, needle, 0, edit)
}

/// [`assert_cli_refuses`] at the `nth` (from 0) line holding `needle`.
fn assert_cli_refuses_at(what: &str, needle: &str, nth: usize, edit: impl FnOnce(&mut Lockfile)) {
    let (project, text) = cli_project(edit);
    let line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .unwrap_or_else(|| panic!("{what}: `{needle}` is not in the lock:\n{text}"))
        .0
        + 1;
    let engine = project.tripwire_engine();
    let mut problems = Vec::new();
    for args in [
        &["verify"][..],
        &["dockerfile", "-o", "Dockerfile"],
        &["build", "--backend", "docker"],
    ] {
        let out = project
            .mlr()
            .args(args)
            .env("MLR_DOCKER", &engine)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let location = format!("ml.lock:{line}:");
        if out.status.code() != Some(2) || !stderr.contains(&location) {
            problems.push(format!(
                "`mlr {}` exited {:?}, expected 2 with `{location}` in stderr:\n{stderr}{}",
                args.join(" "),
                out.status.code(),
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        if project.exists("Dockerfile") {
            problems.push(format!(
                "`mlr {}` wrote a Dockerfile:\n{}",
                args.join(" "),
                project.read("Dockerfile")
            ));
            std::fs::remove_file(project.path("Dockerfile")).unwrap();
        }
        if project.exists("engine-ran") {
            problems.push(format!(
                "`mlr {}` ran the engine: {}",
                args.join(" "),
                project.read("engine-ran").trim()
            ));
            std::fs::remove_file(project.path("engine-ran")).unwrap();
        }
    }
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
}

fn relpkg(lock: &mut Lockfile) -> &mut AptPin {
    lock.apt.iter_mut().find(|p| p.name == "relpkg").unwrap()
}

#[test]
fn cli_baseline_is_fresh() {
    let (project, _) = cli_project(|_| {});
    project.mlr().arg("verify").assert().success();
    let out = project.mlr().arg("dockerfile").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("relpkg=1.0-1"), "{text}");
    dockerfile::parse(&text).unwrap();
}

#[test]
fn cli_refuses_an_apt_version_that_breaks_its_quotes() {
    assert_cli_refuses("apt version", "pwned-apt", |lock| {
        let pin = relpkg(lock);
        // The issue's payload without its `/` (`> /pwned-apt` would make
        // the file name's last segment disagree: an `inconsistent:`
        // finding, exit 1, by accident), consistent with its file, as a
        // careful attacker writes it.
        pin.version = "1.0-1'\"$(echo pwned > pwned-apt)\"'".into();
        pin.filename = format!("pool/main/r/relpkg/relpkg_{}_amd64.deb", pin.version);
    });
}

#[test]
fn cli_refuses_an_apt_name_with_a_new_instruction() {
    assert_cli_refuses("apt name", "pwned-name", |lock| {
        let pin = relpkg(lock);
        pin.name = "relpkg\nRUN touch pwned-name".into();
        pin.filename = format!("pool/main/r/relpkg/{}_1.0-1_amd64.deb", pin.name);
    });
}

#[test]
fn cli_refuses_an_image_digest_with_a_new_instruction() {
    assert_cli_refuses("image digest", "pwned-digest", |lock| {
        lock.images[0].digest = format!("{SHA_A}\nRUN touch /pwned-digest");
    });
}

#[test]
fn cli_refuses_a_python_version_that_breaks_its_quotes() {
    assert_cli_refuses("python version", "pwned-py", |lock| {
        lock.python.as_mut().unwrap().version = "3.11'; touch /pwned-py; '".into();
    });
}

/// What the probe of issue #10 got past `mlr verify` (locks mlr never
/// writes) is refused by every command, where it stands.
#[test]
fn cli_refuses_locks_mlr_would_never_write() {
    // At the second entry's name.
    assert_cli_refuses_at(
        "a second numpy with another hash",
        "name = \"numpy\"",
        1,
        |lock| {
            let mut twin = lock.pip[0].clone();
            twin.artifacts[0].sha256 = "d".repeat(64);
            lock.pip.push(twin);
        },
    );
    assert_cli_refuses("a wheel URL with credentials", "user:secret@", |lock| {
        let artifact = &mut lock.pip[0].artifacts[0];
        artifact.url = format!("https://user:secret@files.example/{}", artifact.filename);
    });
    assert_cli_refuses("a .deb path out of the archive", "../../..", |lock| {
        relpkg(lock).filename = "../../../tmp/relpkg_1.0-1_amd64.deb".into();
    });
    assert_cli_refuses(
        "a wheel file name with a path",
        "filename = \"../../",
        |lock| {
            let artifact = &mut lock.pip[0].artifacts[0];
            artifact.filename = "../../numpy-1.26.4-py3-none-any.whl".into();
            artifact.url = format!("https://files.example/{}", artifact.filename);
        },
    );
    assert_cli_refuses("a multi-byte fingerprint", "fingerprint", |lock| {
        lock.fingerprint = "sha256:0123456789aé".into();
    });
    assert_cli_refuses(
        "a .dockerignore hash that is no digest",
        "dockerignore",
        |lock| {
            lock.dockerignore = Some("sha256:\"; rm -rf /".into());
        },
    );
}

/// `ml.toml` values the Dockerfile cannot carry are refused at
/// `ml.toml:LINE:COL` by every command, before a lock is read.
#[test]
fn cli_refuses_manifest_values_the_dockerfile_cannot_carry() {
    for (what, line) in [
        ("workdir = \"/app\\\\\"", "trailing `\\`"),
        ("workdir = \"/app $HOME\"", "a variable"),
        (
            "copy = [{ src = \"ml.toml\", dst = \"/a\\\"b\" }]",
            "a quote",
        ),
    ] {
        let (project, _) = cli_project(|_| {});
        let manifest = project.read("ml.toml");
        project.file("ml.toml", format!("{manifest}\n[image]\n{what}\n"));
        let row = project.read("ml.toml").lines().count();
        let engine = project.tripwire_engine();
        for args in [&["verify"][..], &["dockerfile"], &["build"]] {
            project
                .mlr()
                .args(args)
                .env("MLR_DOCKER", &engine)
                .assert()
                .code(2)
                .stderr(predicates::str::contains(format!("ml.toml:{row}:")));
            assert!(
                !project.exists("engine-ran"),
                "{line}: `mlr {args:?}` ran the engine"
            );
        }
    }
}
