//! `ml.toml` wire types: what serde reads and schemars describes, key for
//! key. [`parse`] reads text into them, turning TOML and shape errors into
//! `path:LINE:COL` errors, and hands them to `validate` for the domain model.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::Manifest;
use super::key_path::{KeyPath, Node, Target};
use super::suggest;
use super::syntax::Shown;
use super::validate;
use crate::error::FileError;

/// `ml.toml`, version 1: what a machine-learning container environment needs.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "ml.toml",
    description = "mlr manifest, version 1. `mlr lock` pins it into ml.lock."
)]
pub struct TomlManifest {
    pub project: Option<TomlProject>,
    pub base: Option<TomlBase>,
    pub cuda: Option<TomlCuda>,
    pub python: Option<TomlPython>,
    /// Framework packages (torch, torchvision, torchaudio, tensorflow, jax,
    /// jaxlib, ...) to an exact version; picks the CUDA wheel variant.
    pub framework: Option<BTreeMap<String, String>>,
    pub apt: Option<TomlApt>,
    pub pip: Option<TomlPip>,
    /// Sources built from git, keyed by a name that becomes a directory name.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[A-Za-z0-9._-]+$" }))]
    pub git: BTreeMap<String, TomlGit>,
    /// Environment variables set in the image.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" }))]
    pub env: BTreeMap<String, String>,
    pub image: Option<TomlImage>,
    /// Extra packages for a profile such as `dev` that never reach the
    /// default `prod` image.
    #[serde(default)]
    pub profile: BTreeMap<String, TomlProfile>,
    /// Extra compatibility rows (`[[compat.torch]]`, `[[compat.tensorflow]]`,
    /// `[[compat.jax]]`, `[[compat.cuda_image]]`, `[[compat.os]]`) for releases newer
    /// than this mlr; a row with the same key replaces the built-in one.
    pub compat: Option<crate::compat::CompatOverrides>,
}

/// `[project]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Project")]
pub struct TomlProject {
    /// The default image name.
    pub name: Option<String>,
    /// Platforms to lock, `linux/<arch>[/<variant>]`; default `["linux/amd64"]`.
    pub platforms: Option<Vec<String>>,
}

/// `[base]`: the image to build on; optional when `[cuda]` is given.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Base")]
pub struct TomlBase {
    /// An image reference with a tag or a `@sha256:` digest.
    pub image: String,
}

/// `[cuda]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Cuda")]
pub struct TomlCuda {
    /// `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`; picks the base image when
    /// `[base]` is absent.
    #[schemars(pattern(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$"))]
    pub version: String,
    /// cuDNN major version.
    #[schemars(pattern(r"^[0-9]+$"))]
    pub cudnn: Option<String>,
    /// Which CUDA image: `base`, `runtime`, or `devel` (has nvcc). Default
    /// `devel` when a git source has build steps, else `runtime`.
    pub flavor: Option<crate::compat::Flavor>,
    /// Compute capabilities for source builds, `X.Y` or `X.Y+PTX`.
    #[serde(default)]
    #[schemars(inner(pattern(r"^[0-9]+\.[0-9]+(\+PTX)?$")))]
    pub arch: Vec<String>,
}

/// `[python]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Python")]
pub struct TomlPython {
    /// The interpreter in the image, `3.X` or `3.X.Y`; wheels are resolved for it.
    #[schemars(pattern(r"^3\.[0-9]+(\.[0-9]+)?$"))]
    pub version: Option<String>,
    /// Where the interpreter comes from: `base` (the base image's, with its
    /// installed packages), `distro` (the distribution's `python3`, pinned
    /// through apt) or `standalone` (a pinned CPython build). Without it:
    /// the base's when it has a matching one, else the distribution's when
    /// it is the version asked for, else a standalone build.
    #[serde(rename = "from")]
    pub source: Option<crate::manifest::PythonSource>,
}

/// `[apt]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Apt")]
pub struct TomlApt {
    /// Debian packages, `name` or `name=version`.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Snapshot archive timestamp `YYYYMMDDTHHMMSSZ`, or `auto`.
    pub snapshot: Option<String>,
    /// For the odd image: apt sources (`deb URI SUITE COMPONENT...`) used
    /// instead of those the base image configures.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// `[pip]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "Pip")]
pub struct TomlPip {
    /// PEP 508 requirements.
    #[serde(default)]
    pub packages: Vec<String>,
    /// pip requirement files, relative to the project (`-r`, `-c`,
    /// markers, `--index-url` and `--extra-index-url` are understood).
    #[serde(default)]
    pub requirements: Vec<String>,
    /// The default index; PyPI's simple index when absent.
    pub index_url: Option<String>,
    /// `[[pip.index]]`: extra indexes, each serving only the packages it names.
    #[serde(default)]
    pub index: Vec<TomlPipIndex>,
    /// Constraints (PEP 508, no URLs) on the build requirements of the
    /// packages built from source, as pip's `PIP_CONSTRAINT` applies them
    /// to build environments: `["cython<3"]`.
    #[serde(default)]
    pub build_constraints: Vec<String>,
}

/// `[[pip.index]]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PipIndex")]
pub struct TomlPipIndex {
    /// A unique name, recorded in ml.lock.
    pub name: String,
    /// The simple index URL.
    pub url: String,
    /// Package names or globs (`mycorp-*`) taken only from this index.
    #[serde(default)]
    pub packages: Vec<String>,
}

/// `[git.NAME]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Git")]
pub struct TomlGit {
    /// `https://`, `ssh://`, `git@host:path`, `file://` or a local path.
    pub url: String,
    /// A tag, branch or commit.
    pub rev: String,
    /// Shell commands run at build time, one line each, each in a subshell
    /// that starts in the checkout (no `cd` or `export` carries over to the
    /// next); no `#` comments, no writes under `/root` or `/home`.
    #[serde(default)]
    pub build: Vec<String>,
    /// Check out submodules too.
    #[serde(default)]
    pub submodules: bool,
}

/// `[image]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Image")]
pub struct TomlImage {
    /// Absolute working directory.
    pub workdir: Option<String>,
    /// User name or numeric uid; default `ml` (non-root).
    pub user: Option<String>,
    /// Exec-form entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Exec-form default command.
    pub cmd: Option<Vec<String>>,
    pub healthcheck: Option<TomlHealthcheck>,
    /// Files from the project directory copied into the image, in order.
    #[serde(default)]
    pub copy: Vec<TomlCopy>,
}

/// `healthcheck = { cmd = ..., interval = "30s", retries = 3 }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "Healthcheck")]
pub struct TomlHealthcheck {
    /// The check: a shell command string, or an exec-form array.
    pub cmd: TomlCommand,
    /// Time between checks, such as `30s`, `1m30s` or `500ms`.
    pub interval: Option<String>,
    /// How long one check may take, such as `5s`.
    pub timeout: Option<String>,
    /// Grace period after the container starts, such as `1m`.
    pub start_period: Option<String>,
    /// Consecutive failures before the container is unhealthy.
    #[schemars(range(min = 0, max = 1000))]
    pub retries: Option<i64>,
}

/// A shell command string, or an exec-form array.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(untagged, rename = "Command")]
pub enum TomlCommand {
    Shell(String),
    Exec(Vec<String>),
}

/// `{ src = "src", dst = "/app/src", exclude = ["*.log"] }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Copy")]
pub struct TomlCopy {
    /// Relative to the directory of ml.toml; may not leave it.
    pub src: String,
    /// Absolute path in the image.
    pub dst: String,
    /// What to leave out of a directory source: gitignore patterns relative
    /// to `src` (`*.log`, `/build/`, `data/raw/`, `**/cache`, `!keep.log`);
    /// the last pattern that matches decides.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// `[profile.NAME]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Profile")]
pub struct TomlProfile {
    /// Extra PEP 508 requirements.
    #[serde(default)]
    pub pip: Vec<String>,
    /// Extra Debian packages.
    #[serde(default)]
    pub apt: Vec<String>,
}

// Hand-written so a wrong type reads "expected a string or an array of
// strings" instead of serde's "did not match any variant".
impl<'de> Deserialize<'de> for TomlCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = TomlCommand;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TomlCommand, E> {
                Ok(TomlCommand::Shell(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TomlCommand, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(TomlCommand::Exec(items))
            }
        }
        d.deserialize_any(CommandVisitor)
    }
}

/// Parse and validate `ml.toml` text; `path` is the path shown to the user.
pub fn parse(source: &str, path: &str) -> Result<Manifest, FileError> {
    read(source, path).map_err(|mut e| {
        // A control character in the caret line would garble the terminal;
        // one replacement character per character keeps the caret aligned.
        e.snippet = e.snippet.map(|s| {
            s.chars()
                .map(|c| {
                    if c.is_control() && c != '\t' {
                        '\u{fffd}'
                    } else {
                        c
                    }
                })
                .collect()
        });
        e
    })
}

fn read(source: &str, path: &str) -> Result<Manifest, FileError> {
    if source.trim().is_empty() {
        return Err(FileError::whole_file(path, "the file is empty")
            .with_hint("run `mlr init` to write a commented ml.toml"));
    }
    if let Some((offset, c)) = source
        .char_indices()
        .find(|(i, c)| forbidden_control(source, *i, *c))
    {
        let message = format!("invalid TOML: control character `{}`", c.escape_debug());
        return Err(FileError::at_offset(path, source, offset, message).with_hint(
            "ml.toml must be a text file; write control characters in strings as escapes such as `\\u0000`",
        ));
    }
    let doc = toml_edit::Document::parse(source).map_err(|e| syntax_error(path, source, &e))?;
    let wire = TomlManifest::deserialize(toml_edit::de::Deserializer::from(doc.clone()))
        .map_err(|e| shape_error(path, source, doc.as_table(), &e))?;
    validate::manifest(&wire)
        .map_err(|problems| first_problem(path, source, doc.as_table(), problems))
}

/// The problem that comes first in the file; those without a place last.
fn first_problem(
    path: &str,
    source: &str,
    root: &toml_edit::Table,
    problems: Vec<validate::Problem>,
) -> FileError {
    let first = problems
        .into_iter()
        .map(|p| (p.at.span_in(root, p.target), p))
        .min_by_key(|(span, _)| span.as_ref().map_or(usize::MAX, |s| s.start));
    let Some((span, problem)) = first else {
        return FileError::whole_file(path, "invalid manifest");
    };
    let err = match span {
        Some(span) => FileError::at_offset(path, source, span.start, problem.message),
        None => FileError::whole_file(path, problem.message),
    };
    match problem.hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// TOML allows no control characters but tab and line endings anywhere
/// (comments and strings included). Checked up front because the parser
/// reports them late, as some other mistake.
fn forbidden_control(source: &str, offset: usize, c: char) -> bool {
    match c {
        '\t' | '\n' => false,
        '\r' => !source[offset..].starts_with("\r\n"),
        c => c.is_ascii_control(),
    }
}

/// A TOML syntax error.
fn syntax_error(path: &str, source: &str, e: &toml_edit::TomlError) -> FileError {
    let span = e.span().unwrap_or(0..0);
    let text = source.get(span.clone()).unwrap_or("");
    let (message, hint) = match e.message().trim() {
        "duplicate key" => (
            format!("duplicate key {}", Shown(text.trim_matches(['[', ']']))),
            Some("each key and table may appear only once; remove or merge the repeated one"),
        ),
        _ if ends_with_equals(source, span.start) => {
            ("invalid TOML: missing value after `=`".to_string(), None)
        }
        m if m.contains("recursion") => {
            ("arrays or tables are nested too deeply".to_string(), None)
        }
        m => (format!("invalid TOML: {}", first_line(m)), None),
    };
    let err = FileError::at_offset(path, source, span.start, message);
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// Whether the line up to `offset` ends with `=`: `key =` with no value.
fn ends_with_equals(source: &str, offset: usize) -> bool {
    let before = source.get(..offset).unwrap_or("");
    let line = before.rsplit('\n').next().unwrap_or("");
    line.trim_end().ends_with('=')
}

/// A document that is valid TOML but not shaped like `ml.toml`: an unknown
/// key, a wrong type, a missing key. serde's message is reworded using the
/// node at the error's span.
fn shape_error(
    path: &str,
    source: &str,
    root: &toml_edit::Table,
    e: &toml_edit::de::Error,
) -> FileError {
    let msg = e.message();
    let Some(span) = e.span() else {
        return FileError::whole_file(path, first_line(msg));
    };
    let found = KeyPath::find(root, &span);
    let at = |message: String| FileError::at_offset(path, source, span.start, message);
    let (key_path, node) = match found {
        Some(f) => f,
        None => return at(first_line(msg).to_string()),
    };
    let name = || format!("`{key_path}`");

    // serde fills a struct from an array too, field by field, and then
    // complains about the first field; name the real mistake instead.
    let array_for_table = key_path
        .prefixes()
        .find(|p| must_be_table(p) && p.node(root).is_some_and(|n| n.is_array()));
    if let Some(table) = array_for_table {
        let found = table.node(root).map_or("an array", |n| n.describe());
        let offset = table
            .span_in(root, Target::Value)
            .map_or(span.start, |s| s.start);
        return FileError::at_offset(
            path,
            source,
            offset,
            format!("expected a table for `{table}`, found {found}"),
        );
    }

    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or("");
        let expected = backticked(rest.split_once("expected").map_or("", |(_, e)| e));
        let parent = key_path.parent();
        let is_table = node.is_header_table();
        let message = match (parent.is_root(), is_table) {
            (true, true) => format!("unknown table `[{key_path}]`"),
            (true, false) => format!("unknown key {} at the top level", Shown(key)),
            (false, _) => format!(
                "unknown key {} in {}",
                Shown(key),
                table_name(root, &parent)
            ),
        };
        let hint = match (
            parent.is_root() && is_table,
            suggest::closest(key, &expected),
        ) {
            (true, Some(c)) => format!("did you mean `[{c}]`?"),
            (_, Some(c)) => format!("did you mean `{c}`?"),
            (_, None) => format!("expected one of {}", suggest::one_of(&expected)),
        };
        return at(message).with_hint(hint);
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let value = rest.split('`').next().unwrap_or("");
        let expected = backticked(rest.split_once("expected").map_or("", |(_, e)| e));
        return at(format!(
            "{} is not a valid value for {}",
            Shown(value),
            name()
        ))
        .with_hint(suggest::hint(value, &expected));
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or("");
        return at(format!(
            "missing key `{key}` in {}",
            table_name(root, &key_path)
        ))
        .with_hint(format!("add `{key} = ...`"));
    }
    let expected = if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        msg.rsplit_once(", expected ").map(|(_, e)| e)
    } else if msg.starts_with("wanted string") {
        Some("a string") // an enum given a non-string
    } else {
        None
    };
    let Some(expected) = expected else {
        return at(first_line(msg).to_string());
    };
    let expected = match expected {
        "a sequence" => "an array",
        "i64" => "an integer",
        e if e.starts_with("struct ") || e.ends_with(" map") || e == "a map" => "a table",
        e => e,
    };
    let raw = source.get(span.clone()).unwrap_or("");
    let err = at(format!(
        "expected {expected} for {}, found {}",
        name(),
        node.describe()
    ));
    match type_hint(&key_path, &node, expected, raw) {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// Whether the value at `p` is a table in `ml.toml` (a struct of the wire types).
fn must_be_table(p: &KeyPath) -> bool {
    matches!(
        p.keys().as_slice(),
        [Some(
            "project"
                | "base"
                | "cuda"
                | "python"
                | "framework"
                | "apt"
                | "pip"
                | "git"
                | "env"
                | "image"
                | "profile"
        )] | [Some("image"), Some("healthcheck")]
            | [Some("git" | "profile"), Some(_)]
            | [Some("pip"), Some("index"), None]
            | [Some("image"), Some("copy"), None]
    )
}

/// The fix for the commonest type mistakes.
fn type_hint(at: &KeyPath, node: &Node, expected: &str, raw: &str) -> Option<String> {
    let short = (raw.len() <= 60 && !raw.contains('\n')).then_some(raw);
    let parent = at.parent();
    match (expected, node.describe()) {
        // `version = 3.10` is the float 3.1, so quote what was written.
        ("a string", "an integer" | "a float" | "a boolean" | "a date-time") => {
            Some(short.map_or("quote it".to_string(), |r| format!("quote it: `\"{r}\"`")))
        }
        ("an array", "a string") if matches!(at.last_key(), Some("entrypoint" | "cmd")) => {
            let words: Vec<String> = node
                .as_str()?
                .split_whitespace()
                .map(|w| format!("{w:?}"))
                .collect();
            Some(format!(
                "write the exec form, one argument per string: `[{}]`",
                words.join(", ")
            ))
        }
        ("an array", _) if !node.is_header_table() => {
            short.map(|r| format!("write it as an array: `[{r}]`"))
        }
        ("a table", _) if parent.header() == "git" => {
            Some("each git source is a `[git.NAME]` table with `url` and `rev`".to_string())
        }
        ("a table", _) if parent.header() == "profile" => Some(
            "each profile is a `[profile.NAME]` table, for example `[profile.dev]`".to_string(),
        ),
        _ => None,
    }
}

/// How a table is named in a message: `` `[apt]` ``, `` `[[pip.index]]` ``,
/// or `` `image.healthcheck` `` for an inline table.
fn table_name(root: &toml_edit::Table, path: &KeyPath) -> String {
    match path.node(root) {
        Some(Node::Table(_)) if !path.is_root() => format!("`[[{}]]`", path.header()),
        Some(n) if n.is_header_table() => format!("`[{}]`", path.header()),
        _ => format!("`{path}`"),
    }
}

/// The `` `words` `` in serde's "expected one of `a`, `b`".
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
