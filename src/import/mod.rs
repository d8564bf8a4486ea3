//! `mlr init --from FILE`: an existing project's file (a Dockerfile, a
//! requirements file, `pyproject.toml`, a conda `environment.yml`) read
//! into a [`Draft`] of `ml.toml`, which [`write`] renders as commented TOML.
//!
//! Pure: each importer takes the file's text (and, through [`Files`], the
//! files it names) and returns values. What an importer cannot translate
//! becomes a [`Note`], a comment that quotes the input's line, so nothing
//! is dropped without the user seeing it.

pub mod dockerfile;
pub mod environment;
pub mod pyproject;
pub mod requirements;
mod shell;
pub mod write;

use std::path::Path;

use crate::manifest::pep508::{Requirement, VersionOrUrl};
use crate::manifest::syntax;

/// The image plain `mlr init` writes, used when the input names none.
pub const DEFAULT_BASE: &str = "debian:bookworm-slim";

/// Which kind of file is imported (`--from-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Dockerfile,
    Requirements,
    Pyproject,
    Conda,
}

impl SourceKind {
    /// How the summary names the kind.
    pub fn describe(self) -> &'static str {
        match self {
            SourceKind::Dockerfile => "a Dockerfile",
            SourceKind::Requirements => "a pip requirements file",
            SourceKind::Pyproject => "a pyproject.toml",
            SourceKind::Conda => "a conda environment file",
        }
    }

    /// The kind a file's name says, or, when the name says nothing, its
    /// content; `None` when neither does.
    pub fn detect(path: &Path, text: &str) -> Option<SourceKind> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let by_name = if name == "dockerfile"
            || name == "containerfile"
            || name.starts_with("dockerfile.")
            || name.ends_with(".dockerfile")
            || name.starts_with("containerfile.")
        {
            Some(SourceKind::Dockerfile)
        } else if name.ends_with(".toml") {
            Some(SourceKind::Pyproject)
        } else if name.ends_with(".yml") || name.ends_with(".yaml") {
            Some(SourceKind::Conda)
        } else if name.ends_with(".txt") || name.ends_with(".in") {
            Some(SourceKind::Requirements)
        } else {
            None
        };
        by_name.or_else(|| Self::sniff(text))
    }

    /// The kind the content says: the first instruction of a Dockerfile,
    /// the tables of a pyproject.toml, the keys of an environment.yml.
    fn sniff(text: &str) -> Option<SourceKind> {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let first = lines.first()?;
        let word = first
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if word == "FROM" || word == "ARG" {
            return Some(SourceKind::Dockerfile);
        }
        if lines
            .iter()
            .any(|l| *l == "[project]" || *l == "[build-system]" || l.starts_with("[tool."))
        {
            return Some(SourceKind::Pyproject);
        }
        if lines
            .iter()
            .any(|l| l.starts_with("dependencies:") || l.starts_with("channels:"))
        {
            return Some(SourceKind::Conda);
        }
        None
    }
}

/// Where a value or a note comes from: a file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl Origin {
    pub fn new(file: &str, line: usize) -> Origin {
        Origin {
            file: file.to_string(),
            line,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A value of the draft and the line it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<T> {
    pub value: T,
    pub origin: Option<Origin>,
}

impl<T> Item<T> {
    pub fn new(value: T, origin: Option<Origin>) -> Item<T> {
        Item { value, origin }
    }
}

/// The part of `ml.toml` a comment is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Project,
    Base,
    Cuda,
    Python,
    Framework,
    Apt,
    Pip,
    Git,
    Env,
    Image,
    Profile,
    /// The closing list of what was not translated.
    Untranslated,
}

/// A comment: `# FILE:LINE: text`, or `# text` without an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub section: Section,
    pub origin: Option<Origin>,
    pub text: String,
}

/// A `[[pip.index]]` the input implies, written as a commented sketch: pip
/// takes any package from any index, mlr routes named packages to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSketch {
    pub name: String,
    pub url: String,
    pub packages: Vec<String>,
    pub origin: Option<Origin>,
}

/// A `[git.NAME]` the input implies (a `git clone` and the commands run in
/// the checkout), written as a commented sketch to review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSketch {
    pub name: String,
    pub url: String,
    pub rev: String,
    pub build: Vec<Item<String>>,
    pub submodules: bool,
    pub origin: Option<Origin>,
}

/// What `pip install` added, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipAdded {
    Added,
    /// The same requirement is there already.
    Duplicate,
    /// It cannot be a `[pip] packages` entry; the reason.
    Refused(String),
}

/// An `ml.toml` in the making: every value checked against the manifest's
/// grammar as it is added, every comment in its section.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// The input as the user named it (`Dockerfile`, `req/base.txt`).
    pub input: String,
    pub name: Option<Item<String>>,
    pub platforms: Vec<Item<String>>,
    /// `None`: [`DEFAULT_BASE`].
    pub base: Option<Item<String>>,
    pub cuda: Option<Item<String>>,
    pub python: Option<Item<String>>,
    /// `[framework]`, in the order found.
    pub framework: Vec<(String, Item<String>)>,
    pub apt: Vec<Item<String>>,
    pub pip: Vec<Item<String>>,
    /// `[pip] requirements`: the requirement files the input installs.
    pub requirements: Vec<Item<String>>,
    pub index_url: Option<Item<String>>,
    pub indexes: Vec<IndexSketch>,
    pub git: Vec<GitSketch>,
    pub env: Vec<(String, Item<String>)>,
    pub workdir: Option<Item<String>>,
    pub user: Option<Item<String>>,
    pub entrypoint: Option<Item<Vec<String>>>,
    pub cmd: Option<Item<Vec<String>>>,
    pub copy: Vec<Item<(String, String)>>,
    /// `[profile.NAME] pip`, in the order found.
    pub profiles: Vec<(String, Vec<Item<String>>)>,
    pub notes: Vec<Note>,
}

impl Draft {
    pub fn new(input: &str) -> Draft {
        Draft {
            input: input.to_string(),
            ..Draft::default()
        }
    }

    /// A comment in `section`.
    pub fn note(&mut self, section: Section, origin: Option<Origin>, text: impl Into<String>) {
        self.notes.push(Note {
            section,
            origin,
            text: text.into(),
        });
    }

    /// A line of the input that was not translated, quoted, with why.
    pub fn untranslated(&mut self, origin: Option<Origin>, text: impl Into<String>) {
        self.note(Section::Untranslated, origin, text);
    }

    /// The comments of the closing "not translated" list.
    pub fn untranslated_count(&self) -> usize {
        self.notes
            .iter()
            .filter(|n| n.section == Section::Untranslated)
            .count()
    }

    /// Sets the project name from free text (made a valid image name).
    pub fn set_name(&mut self, text: &str, origin: Option<Origin>) {
        let name = crate::ops::image_name(text, "");
        if !name.is_empty() && syntax::project_name(&name).is_ok() {
            self.name = Some(Item::new(name, origin));
        }
    }

    /// Adds `name` or `name=version` to `[apt] packages`; `Err` says why it
    /// cannot be one. A package already listed is not added twice.
    pub fn add_apt(&mut self, request: &str, origin: Option<Origin>) -> Result<(), String> {
        let name = syntax::apt_request(request).map_err(|e| e.message)?;
        let same = |r: &Item<String>| r.value.split('=').next() == Some(name);
        match self.apt.iter().find(|r| same(r)) {
            Some(existing) if existing.value == request || !request.contains('=') => Ok(()),
            Some(existing) if !existing.value.contains('=') => {
                let i = self.apt.iter().position(same).unwrap_or(0);
                self.apt[i] = Item::new(request.to_string(), origin);
                Ok(())
            }
            Some(existing) => Err(format!(
                "`{name}` is already pinned as `{}`",
                existing.value
            )),
            None => {
                self.apt.push(Item::new(request.to_string(), origin));
                Ok(())
            }
        }
    }

    /// Adds a PEP 508 requirement to `[pip] packages`. A requirement on a
    /// name already listed (with the same marker) replaces a bare name and
    /// is refused beside another version.
    pub fn add_pip(&mut self, text: &str, origin: Option<Origin>) -> PipAdded {
        let req = match checked_requirement(text) {
            Ok(r) => r,
            Err(why) => return PipAdded::Refused(why),
        };
        add_requirement(&mut self.pip, &req, origin)
    }

    /// Adds a requirement to `[profile.NAME] pip`.
    pub fn add_profile_pip(
        &mut self,
        profile: &str,
        text: &str,
        origin: Option<Origin>,
    ) -> PipAdded {
        let req = match checked_requirement(text) {
            Ok(r) => r,
            Err(why) => return PipAdded::Refused(why),
        };
        let name = req.normalized_name();
        if self.pip.iter().any(|i| requirement_name(&i.value) == name) {
            return PipAdded::Refused(format!("`{name}` is already in [pip] packages"));
        }
        let i = match self.profiles.iter().position(|(p, _)| p == profile) {
            Some(i) => i,
            None => {
                self.profiles.push((profile.to_string(), Vec::new()));
                self.profiles.len() - 1
            }
        };
        add_requirement(&mut self.profiles[i].1, &req, origin)
    }

    /// Sets `[python] version`; `Err` when it is not `3.X` or `3.X.Y`.
    pub fn set_python(&mut self, version: &str, origin: Option<Origin>) -> Result<(), String> {
        syntax::python_version(version).map_err(|e| e.message)?;
        self.python = Some(Item::new(version.to_string(), origin));
        Ok(())
    }

    /// What was translated, for the summary line: `base image, 3 pip packages`.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        let count = |n: usize, one: &str, many: &str| match n {
            1 => format!("1 {one}"),
            n => format!("{n} {many}"),
        };
        if self.base.is_some() {
            out.push("base image".to_string());
        }
        if self.python.is_some() {
            out.push("Python version".to_string());
        }
        if self.cuda.is_some() {
            out.push("CUDA version".to_string());
        }
        if !self.framework.is_empty() {
            out.push(count(self.framework.len(), "framework", "frameworks"));
        }
        if !self.apt.is_empty() {
            out.push(count(self.apt.len(), "apt package", "apt packages"));
        }
        if !self.pip.is_empty() {
            out.push(count(self.pip.len(), "pip package", "pip packages"));
        }
        if !self.requirements.is_empty() {
            out.push(count(
                self.requirements.len(),
                "requirement file",
                "requirement files",
            ));
        }
        if self.index_url.is_some() {
            out.push("pip index".to_string());
        }
        if !self.profiles.is_empty() {
            out.push(count(self.profiles.len(), "profile", "profiles"));
        }
        if !self.git.is_empty() {
            out.push(count(
                self.git.len(),
                "git source sketch",
                "git source sketches",
            ));
        }
        if !self.env.is_empty() {
            out.push(count(
                self.env.len(),
                "environment variable",
                "environment variables",
            ));
        }
        let image = [
            self.workdir.is_some(),
            self.user.is_some(),
            self.entrypoint.is_some(),
            self.cmd.is_some(),
        ]
        .into_iter()
        .filter(|b| *b)
        .count();
        if image > 0 {
            out.push(count(image, "image setting", "image settings"));
        }
        if !self.copy.is_empty() {
            out.push(count(self.copy.len(), "copy", "copies"));
        }
        out
    }
}

/// `text` as a requirement `[pip] packages` can hold, or why not.
fn checked_requirement(text: &str) -> Result<Requirement, String> {
    let req = Requirement::parse(text.trim()).map_err(|e| format!("not a requirement: {e}"))?;
    if let VersionOrUrl::Url(url) = &req.version {
        if let Err(e) = crate::manifest::syntax::direct_url(url) {
            return Err(e.message);
        }
    }
    Ok(req)
}

fn add_requirement(
    list: &mut Vec<Item<String>>,
    req: &Requirement,
    origin: Option<Origin>,
) -> PipAdded {
    let shown = req.to_string();
    let name = req.normalized_name();
    let same = |i: &Item<String>| {
        Requirement::parse(&i.value)
            .is_ok_and(|r| r.normalized_name() == name && r.marker == req.marker)
    };
    let Some(at) = list.iter().position(same) else {
        list.push(Item::new(shown, origin));
        return PipAdded::Added;
    };
    let bare = |r: &Requirement| {
        r.extras.is_empty() && matches!(&r.version, VersionOrUrl::Specifiers(s) if s.is_empty())
    };
    let existing = Requirement::parse(&list[at].value).expect("checked when added");
    if list[at].value == shown || bare(req) {
        PipAdded::Duplicate
    } else if bare(&existing) {
        list[at] = Item::new(shown, origin);
        PipAdded::Added
    } else {
        PipAdded::Refused(format!(
            "`{name}` is already required as `{}`",
            list[at].value
        ))
    }
}

/// The PEP 503 name of a requirement the draft holds.
fn requirement_name(text: &str) -> String {
    Requirement::parse(text)
        .map(|r| r.normalized_name())
        .unwrap_or_default()
}

/// The files an importer may read besides its input (`-r other.txt`),
/// relative to the input's directory.
pub trait Files {
    /// The text of `path`, or why it cannot be read.
    fn read(&self, path: &str) -> Result<String, String>;
    /// Whether `path` is a directory; `None` when it does not exist.
    fn is_dir(&self, path: &str) -> Option<bool>;
}

/// No files besides the input.
pub struct NoFiles;

impl Files for NoFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        Err(format!("{path}: not available"))
    }

    fn is_dir(&self, _path: &str) -> Option<bool> {
        None
    }
}

/// Files in memory, for tests.
#[cfg(test)]
pub struct MemFiles(pub Vec<(&'static str, &'static str)>);

#[cfg(test)]
impl Files for MemFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, t)| t.to_string())
            .ok_or_else(|| format!("{path}: no such file"))
    }

    fn is_dir(&self, path: &str) -> Option<bool> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        if self.0.iter().any(|(p, _)| p.starts_with(&prefix)) {
            Some(true)
        } else {
            self.0.iter().any(|(p, _)| *p == path).then_some(false)
        }
    }
}

/// Why a file could not be imported: a place in it where the parser gives
/// one, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// Byte offset into the input, when known.
    pub offset: Option<usize>,
    pub message: String,
}

impl ImportError {
    pub fn at(offset: usize, message: impl Into<String>) -> ImportError {
        ImportError {
            offset: Some(offset),
            message: message.into(),
        }
    }

    pub fn whole(message: impl Into<String>) -> ImportError {
        ImportError {
            offset: None,
            message: message.into(),
        }
    }
}

/// Reads `text` as `kind` into a draft; `input` is the name shown in notes.
pub fn import(
    kind: SourceKind,
    input: &str,
    text: &str,
    files: &dyn Files,
) -> Result<Draft, ImportError> {
    let mut draft = match kind {
        SourceKind::Dockerfile => dockerfile::import(input, text, files)?,
        SourceKind::Requirements => requirements::import(input, text, files),
        SourceKind::Pyproject => pyproject::import(input, text)?,
        SourceKind::Conda => environment::import(input, text, files)?,
    };
    draft.reconcile();
    Ok(draft)
}

impl Draft {
    /// A profile only adds packages: an entry `[framework]` or `[pip]
    /// packages` came to hold after it was added is a comment instead.
    fn reconcile(&mut self) {
        let taken: Vec<String> = self
            .framework
            .iter()
            .map(|(n, _)| crate::package_name::normalize(n))
            .chain(self.pip.iter().map(|i| requirement_name(&i.value)))
            .collect();
        let mut dropped = Vec::new();
        for (profile, list) in &mut self.profiles {
            list.retain(|i| {
                let keep = !taken.contains(&requirement_name(&i.value));
                if !keep {
                    dropped.push((profile.clone(), i.clone()));
                }
                keep
            });
        }
        for (profile, item) in dropped {
            self.untranslated(
                item.origin,
                format!(
                    "{}  (in profile `{profile}`; its package is in every image already)",
                    item.value
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lines made of the pieces real files are made of, in any order.
    fn lines(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::collection::vec(prop::sample::select(pieces), 1..6).prop_map(|w| w.join("")),
            0..12,
        )
        .prop_map(|l| l.join("\n"))
    }

    const DOCKERFILE: &[&str] = &[
        "FROM ",
        "RUN ",
        "ENV ",
        "ARG ",
        "COPY ",
        "ADD ",
        "WORKDIR ",
        "USER ",
        "CMD ",
        "ENTRYPOINT ",
        "apt-get install -y ",
        "pip install ",
        "git clone ",
        "cd ",
        " && ",
        "python3.1",
        "x",
        "=",
        "$X",
        "${Y:-2}",
        "\"",
        "'",
        "\\",
        "[\"a\", \"b\"]",
        "/",
        "..",
        " AS b",
        "b",
        "-e ",
        "--from=b ",
        "<<EOF",
        "EOF",
        "#",
        "\u{e9}",
        "\t",
        ":",
        "torch==1.5.1",
        "-f https://download.pytorch.org/whl/cu111/torch_stable.html ",
    ];

    const REQUIREMENTS: &[&str] = &[
        "numpy",
        ">=1",
        ",<2",
        "; python_version < '3.8'",
        "-r ",
        "-c ",
        "-e ",
        "--hash=x",
        " ",
        "\\",
        "#",
        "git+https://h/r",
        "torch==2.5.1",
        "+cu121",
        "[a]",
        "@ https://h/p",
        "--extra-index-url https://download.pytorch.org/whl/cu118",
        "-i http://u:p@h/",
        "${V}",
    ];

    const YAML: &[&str] = &[
        "name: ",
        "channels:",
        "dependencies:",
        "variables:",
        "  ",
        "- ",
        "pip:",
        "python=3.9",
        "numpy==1",
        "'q'",
        "\"d\"",
        "[a, b]",
        "{}",
        "#",
        ":",
        "\t",
        "A: b",
        "---",
    ];

    const PYPROJECT: &[&str] = &[
        "[project]",
        "[project.optional-dependencies]",
        "[dependency-groups]",
        "name = \"p\"",
        "dependencies = [\"numpy\", \"torch==2.4.1\"]",
        "dev = [\"ruff\", \"p[all]\"]",
        "all = [\"p[dev]\", \"numpy\"]",
        "requires-python = \">=3.10,<3.11\"",
        "prod = [\"x\"]",
        "[[tool.uv.index]]",
        "url = \"https://h/simple\"",
        "[tool.uv.sources]",
        "x = { index = \"h\" }",
        "test = [{ include-group = \"dev\" }]",
        "=",
        "\"",
    ];

    /// Whatever the input, no panic, and what would be written parses.
    fn writes_what_mlr_reads(kind: SourceKind, text: &str) -> Result<(), TestCaseError> {
        let files = MemFiles(vec![("other.txt", "scipy\n-r other.txt\n")]);
        if let Ok(draft) = import(kind, "input", text, &files) {
            let written = write::manifest(&draft, kind, "demo");
            let parsed = crate::manifest::parse(&written, "ml.toml");
            prop_assert!(
                parsed.is_ok(),
                "{:?}\n{}\nfrom:\n{}",
                parsed.err(),
                written,
                text
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_dockerfile(text in lines(DOCKERFILE)) {
            writes_what_mlr_reads(SourceKind::Dockerfile, &text)?;
        }

        #[test]
        fn any_requirements(text in lines(REQUIREMENTS)) {
            writes_what_mlr_reads(SourceKind::Requirements, &text)?;
        }

        #[test]
        fn any_environment(text in lines(YAML)) {
            writes_what_mlr_reads(SourceKind::Conda, &text)?;
        }

        #[test]
        fn any_pyproject(text in lines(PYPROJECT)) {
            writes_what_mlr_reads(SourceKind::Pyproject, &text)?;
        }

        #[test]
        fn any_text(text in ".{0,200}") {
            for kind in [SourceKind::Dockerfile, SourceKind::Requirements, SourceKind::Conda, SourceKind::Pyproject] {
                writes_what_mlr_reads(kind, &text)?;
            }
        }
    }

    #[test]
    fn detects_the_kind_by_name_then_by_content() {
        let kind = |name: &str, text: &str| SourceKind::detect(Path::new(name), text);
        assert_eq!(kind("Dockerfile", ""), Some(SourceKind::Dockerfile));
        assert_eq!(
            kind("docker/gpu.Dockerfile", ""),
            Some(SourceKind::Dockerfile)
        );
        assert_eq!(kind("Dockerfile.cuda", ""), Some(SourceKind::Dockerfile));
        assert_eq!(
            kind("requirements-dev.txt", ""),
            Some(SourceKind::Requirements)
        );
        assert_eq!(kind("pyproject.toml", ""), Some(SourceKind::Pyproject));
        assert_eq!(kind("environment.yaml", ""), Some(SourceKind::Conda));
        assert_eq!(
            kind(
                "build-me",
                "# syntax=docker/dockerfile:1\nARG X=1\nFROM a\n"
            ),
            Some(SourceKind::Dockerfile)
        );
        assert_eq!(
            kind("deps", "[project]\nname = \"x\"\n"),
            Some(SourceKind::Pyproject)
        );
        assert_eq!(
            kind("env", "name: x\ndependencies:\n  - python=3.10\n"),
            Some(SourceKind::Conda)
        );
        assert_eq!(kind("deps", "numpy\n"), None);
    }

    #[test]
    fn pip_requirements_merge_by_name_and_marker() {
        let mut d = Draft::new("x");
        assert_eq!(d.add_pip("numpy", None), PipAdded::Added);
        assert_eq!(d.add_pip("numpy < 2", None), PipAdded::Added);
        assert_eq!(d.pip[0].value, "numpy<2");
        assert_eq!(d.add_pip("NumPy", None), PipAdded::Duplicate);
        assert!(matches!(
            d.add_pip("numpy==1.26", None),
            PipAdded::Refused(_)
        ));
        assert_eq!(
            d.add_pip("numpy; python_version < '3.8'", None),
            PipAdded::Added
        );
        assert!(matches!(
            d.add_pip("pkg @ file:///srv/pkg", None),
            PipAdded::Refused(_)
        ));
        assert_eq!(
            d.add_pip("tool @ git+https://git.example/tool.git@v1", None),
            PipAdded::Added
        );
        assert!(matches!(d.add_pip("-e .", None), PipAdded::Refused(_)));
        assert!(matches!(
            d.add_profile_pip("dev", "numpy", None),
            PipAdded::Refused(_)
        ));
        assert_eq!(d.add_profile_pip("dev", "ruff", None), PipAdded::Added);
    }

    #[test]
    fn apt_requests_keep_one_pin_per_name() {
        let mut d = Draft::new("x");
        d.add_apt("git", None).unwrap();
        d.add_apt("git=1:2.34.1-1ubuntu1", None).unwrap();
        d.add_apt("git", None).unwrap();
        assert_eq!(d.apt.len(), 1);
        assert_eq!(d.apt[0].value, "git=1:2.34.1-1ubuntu1");
        assert!(d.add_apt("git=1:2.30", None).is_err());
        assert!(d.add_apt("libfoo:amd64", None).is_err());
        assert!(d.add_apt("$PKG", None).is_err());
    }
}
