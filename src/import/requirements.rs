//! pip requirements files: each requirement becomes a `[pip] packages`
//! entry (markers kept), `-r` files are read in place, `-c` constraints
//! narrow the requirements they name, index options become `[pip]
//! index-url` or `[[pip.index]]` sketches. An exact torch, tensorflow or
//! jax pin moves to `[framework]`, with the `[cuda] version` its build
//! names. What mlr cannot lock yet (editable installs, direct URLs, VCS
//! lines) is left as a comment.

use std::collections::BTreeSet;

use super::{Draft, Files, IndexSketch, Item, Origin, PipAdded, Section};
use crate::manifest::pep508::{Requirement, VersionOrUrl};
use crate::manifest::syntax;

/// Where PyTorch's variant indexes live (`.../whl/cu121`).
const PYTORCH_INDEX: &str = "https://download.pytorch.org/whl/";

/// Reads a requirements file into a draft.
pub fn import(input: &str, text: &str, files: &dyn Files) -> Draft {
    let mut draft = Draft::new(input);
    let mut reader = Reader::new(files);
    reader.file(&mut draft, input, "", text);
    reader.finish(&mut draft);
    draft
}

/// Requirement lines, from one file or several (`-r`), and what they
/// imply once all are read.
pub struct Reader<'a> {
    files: &'a dyn Files,
    /// Files read so far, so `-r` cycles end.
    read: BTreeSet<String>,
    constraints: Vec<(Requirement, Origin)>,
    /// A PyTorch variant index named by an index option (`cu121`, `cpu`).
    pytorch: Option<(String, Origin)>,
    hashes_dropped: usize,
}

impl<'a> Reader<'a> {
    pub fn new(files: &'a dyn Files) -> Reader<'a> {
        Reader {
            files,
            read: BTreeSet::new(),
            constraints: Vec::new(),
            pytorch: None,
            hashes_dropped: 0,
        }
    }

    /// Every logical line of `text`, the file `name` (`path` relative to
    /// the input's directory; empty for the input itself).
    pub fn file(&mut self, draft: &mut Draft, name: &str, path: &str, text: &str) {
        self.read.insert(path.to_string());
        for (line, content) in logical_lines(text) {
            self.line(draft, &content, Origin::new(name, line), path);
        }
    }

    /// One requirement line, from the file at `path`.
    pub fn line(&mut self, draft: &mut Draft, content: &str, origin: Origin, path: &str) {
        let content = content.trim();
        if content.is_empty() {
            return;
        }
        if content.starts_with('-') {
            self.option(draft, content, origin, path);
            return;
        }
        self.requirement(draft, content, origin);
    }

    fn option(&mut self, draft: &mut Draft, content: &str, origin: Origin, path: &str) {
        let (flag, value) = split_option(content);
        match flag {
            "-r" | "--requirement" => self.include(draft, value, origin, path, false),
            "-c" | "--constraint" => self.include(draft, value, origin, path, true),
            "-e" | "--editable" => draft.untranslated(
                Some(origin),
                format!("{content}  (an editable install: write `NAME @ ./DIR` in [pip] packages; mlr installs it, not editable)"),
            ),
            "-i" | "--index-url" => self.index(draft, value, origin, true),
            "-f" | "--find-links" if pytorch_variant(value).is_some() => {
                self.index(draft, value, origin, false)
            }
            "--extra-index-url" => self.index(draft, value, origin, false),
            "--hash" => self.hashes_dropped += 1,
            _ => draft.untranslated(
                Some(origin),
                format!("{content}  (a pip option mlr has no equivalent for)"),
            ),
        }
    }

    /// `-r FILE` read in place, or `-c FILE` read as constraints.
    fn include(
        &mut self,
        draft: &mut Draft,
        target: &str,
        origin: Origin,
        path: &str,
        constraints: bool,
    ) {
        let flag = if constraints { "-c" } else { "-r" };
        if target.is_empty() || target.contains("://") {
            draft.untranslated(
                Some(origin),
                format!("{flag} {target}  (only local files are read)"),
            );
            return;
        }
        let rel = relative_to(path, target);
        if self.read.contains(&rel) {
            return;
        }
        let text = match self.files.read(&rel) {
            Ok(t) => t,
            Err(why) => {
                draft.untranslated(
                    Some(origin),
                    format!("{flag} {target}  (could not be read: {why})"),
                );
                return;
            }
        };
        if constraints {
            draft.note(
                Section::Pip,
                Some(origin),
                format!("-c {target}: its constraints narrow the requirements they name"),
            );
            self.read.insert(rel.clone());
            for (line, content) in logical_lines(&text) {
                let origin = Origin::new(&rel, line);
                let content = strip_options(&content, &mut self.hashes_dropped);
                if content.is_empty() {
                    continue;
                }
                match Requirement::parse(&content) {
                    Ok(req) => self.constraints.push((req, origin)),
                    Err(_) => draft.untranslated(
                        Some(origin),
                        format!("{content}  (not a constraint mlr can read)"),
                    ),
                }
            }
        } else {
            draft.note(
                Section::Pip,
                Some(origin),
                format!("-r {target}: its requirements are included, each naming {rel}"),
            );
            self.file(draft, &rel, &rel, &text);
        }
    }

    fn index(&mut self, draft: &mut Draft, url: &str, origin: Origin, primary: bool) {
        let flag = if primary {
            "--index-url"
        } else {
            "--extra-index-url"
        };
        if let Some(local) = pytorch_variant(url) {
            self.pytorch = Some((local.to_string(), origin));
            return;
        }
        if let Err(e) = syntax::http_url(url) {
            draft.untranslated(
                Some(origin),
                format!(
                    "{flag} {url}  ({}; give credentials through ~/.netrc or UV_INDEX_* variables)",
                    e.message
                ),
            );
            return;
        }
        if primary {
            draft.index_url = Some(Item::new(url.to_string(), Some(origin)));
            return;
        }
        let name = index_name(url, draft.indexes.len());
        draft.indexes.push(IndexSketch {
            name,
            url: url.to_string(),
            packages: Vec::new(),
            origin: Some(origin),
        });
    }

    fn requirement(&mut self, draft: &mut Draft, content: &str, origin: Origin) {
        let req = strip_options(content, &mut self.hashes_dropped);
        if req.contains("${") {
            draft.untranslated(
                Some(origin),
                format!("{content}  (names an environment variable)"),
            );
            return;
        }
        let req = match lockable_url(&req) {
            Some(named) => named,
            None if is_url_or_path(&req) => {
                let why = if req.starts_with("git+") && !req.contains("#egg=") {
                    "a git URL without a package name: write `NAME @ git+URL@REV` in [pip] packages"
                } else if req.starts_with('.') {
                    "a directory without a package name: write `NAME @ ./DIR` in [pip] packages"
                } else {
                    "a local path or a URL mlr cannot lock"
                };
                draft.untranslated(Some(origin), format!("{content}  ({why})"));
                return;
            }
            None => req,
        };
        match draft.add_pip(&req, Some(origin.clone())) {
            PipAdded::Added | PipAdded::Duplicate => {}
            PipAdded::Refused(why) => {
                draft.untranslated(Some(origin), format!("{content}  ({why})"))
            }
        }
    }

    /// What needs every line read: constraints applied, frameworks moved,
    /// the PyTorch index used.
    pub fn finish(mut self, draft: &mut Draft) {
        for (constraint, origin) in std::mem::take(&mut self.constraints) {
            apply_constraint(draft, &constraint, origin);
        }
        if self.hashes_dropped > 0 {
            draft.note(
                Section::Pip,
                None,
                match self.hashes_dropped {
                    1 => "1 `--hash` option was dropped: ml.lock records the hash of every file it pins.".to_string(),
                    n => format!("{n} `--hash` options were dropped: ml.lock records the hash of every file it pins."),
                },
            );
        }
        frameworks(draft, self.pytorch, true);
    }
}

/// Logical lines: `\` at the end continues a line; `#` starts a comment at
/// the start of a line or after white space. Each with its first line number.
pub fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        let (start, mut acc) = current.take().unwrap_or((i + 1, String::new()));
        match line.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                current = Some((start, acc));
            }
            None => {
                acc.push_str(line);
                out.push((start, acc));
            }
        }
    }
    if let Some(last) = current {
        out.push(last);
    }
    out
}

fn strip_comment(line: &str) -> &str {
    let line = line.trim_end_matches('\r');
    if line.trim_start().starts_with('#') {
        return "";
    }
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return line[..i].trim_end();
        }
    }
    line.trim_end()
}

/// `-r file`, `-rfile`, `--requirement=file` → (`-r`/`--requirement`, `file`).
fn split_option(content: &str) -> (&str, &str) {
    if let Some(rest) = content.strip_prefix("--") {
        let end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let flag = &content[..end + 2];
        let value = content[end + 2..].trim_start_matches('=').trim();
        return (flag, value);
    }
    let flag = content.get(..2).unwrap_or(content);
    (flag, content.get(2..).unwrap_or("").trim())
}

/// The requirement of a line without its per-requirement options
/// (`--hash=...`, counted as dropped).
fn strip_options(content: &str, hashes: &mut usize) -> String {
    let mut words = Vec::new();
    let mut it = content.split_whitespace().peekable();
    while let Some(w) = it.next() {
        if w.starts_with("--hash") {
            *hashes += 1;
            if w == "--hash" {
                it.next();
            }
            continue;
        }
        words.push(w);
    }
    words.join(" ")
}

/// A requirement by URL that mlr locks (an archive, or a git repository),
/// as `name @ URL`: written so already, or pip's bare
/// `git+URL@REV#egg=name`, named by its `#egg=`.
pub fn lockable_url(req: &str) -> Option<String> {
    use crate::manifest::syntax::direct_url;
    if let Ok(parsed) = Requirement::parse(req) {
        return match &parsed.version {
            VersionOrUrl::Url(url) if direct_url(url).is_ok() => Some(parsed.to_string()),
            _ => None,
        };
    }
    let (url, marker) = match req.split_once(';') {
        Some((u, m)) => (u.trim(), Some(m.trim())),
        None => (req.trim(), None),
    };
    let (repo, fragment) = url.strip_prefix("git+").map(|_| url)?.split_once('#')?;
    let name = fragment.split('&').find_map(|f| f.strip_prefix("egg="))?;
    let named = match marker {
        Some(m) => format!("{name} @ {repo} ; {m}"),
        None => format!("{name} @ {repo}"),
    };
    let parsed = Requirement::parse(&named).ok()?;
    match &parsed.version {
        VersionOrUrl::Url(url) if direct_url(url).is_ok() => Some(parsed.to_string()),
        _ => None,
    }
}

pub fn is_url_or_path(req: &str) -> bool {
    let first = req.split([' ', ';']).next().unwrap_or("");
    first.contains("://")
        || first.starts_with("git+")
        || first.starts_with('.')
        || first.starts_with('/')
        || first.starts_with('~')
        || first.ends_with(".whl")
        || first.ends_with(".tar.gz")
        || first.ends_with(".zip")
}

/// Whether requirement `text` is on the distribution `name`.
pub fn requirement_name_is(text: &str, name: &str) -> bool {
    Requirement::parse(text).is_ok_and(|r| r.normalized_name() == name)
}

/// `target` of a `-r` in the file at `from` (both relative to the input's
/// directory), with `.` and `..` resolved where possible.
fn relative_to(from: &str, target: &str) -> String {
    if target.starts_with('/') {
        return target.to_string();
    }
    let mut parts: Vec<&str> = from.split('/').filter(|p| !p.is_empty()).collect();
    parts.pop();
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// `cu121` for `https://download.pytorch.org/whl/cu121` (an index) or
/// `.../whl/cu121/torch_stable.html` (the find-links page older
/// instructions use).
pub fn pytorch_variant(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix(PYTORCH_INDEX)
        .or_else(|| url.strip_prefix("http://download.pytorch.org/whl/"))?;
    let rest = rest.strip_suffix("/torch_stable.html").unwrap_or(rest);
    let local = rest.trim_end_matches('/');
    let cuda = local.starts_with("cu") && crate::compat::cuda_of_local(local).is_some();
    (cuda || local == "cpu").then_some(local)
}

/// A `[[pip.index]]` name from a URL's host: `pypi.example.com` → `pypi-example-com`.
pub fn index_name(url: &str, n: usize) -> String {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split(['/', ':', '@']).next())
        .unwrap_or("");
    let name: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_ascii_lowercase();
    if name.is_empty() || syntax::dir_name(&name, "index name").is_err() {
        format!("extra-{}", n + 1)
    } else {
        name
    }
}

/// A constraint narrows the requirement of the same name (and marker);
/// one on a package not required directly is listed as not translated.
fn apply_constraint(draft: &mut Draft, constraint: &Requirement, origin: Origin) {
    let name = constraint.normalized_name();
    let VersionOrUrl::Specifiers(extra) = &constraint.version else {
        draft.untranslated(
            Some(origin),
            format!("{constraint}  (a URL constraint, which mlr does not take: require the package by that URL instead)"),
        );
        return;
    };
    let target = draft.pip.iter().position(|i| {
        Requirement::parse(&i.value).is_ok_and(|r| {
            r.normalized_name() == name
                && (constraint.marker.is_none() || r.marker == constraint.marker)
        })
    });
    let Some(at) = target else {
        draft.untranslated(
            Some(origin),
            format!(
                "{constraint}  (constrains a package not required directly; ml.lock pins every \
                 dependency, so add it to [pip] packages if it must hold)"
            ),
        );
        return;
    };
    let mut req = Requirement::parse(&draft.pip[at].value).expect("checked when added");
    if let VersionOrUrl::Specifiers(specs) = &mut req.version {
        for s in extra {
            if !specs.contains(s) {
                specs.push(s.clone());
            }
        }
    }
    let merged = req.to_string();
    let from = draft.pip[at].origin.clone();
    draft.note(
        Section::Pip,
        Some(origin),
        format!("constraint {constraint} applied: `{merged}`"),
    );
    draft.pip[at] = Item::new(merged, from);
}

const TORCH_FAMILY: [&str; 3] = ["torch", "torchvision", "torchaudio"];

/// An exact `==VERSION` pin without extras or marker: (version, local).
fn exact_pin(req: &Requirement) -> Option<(String, Option<String>)> {
    if !req.extras.is_empty() || req.marker.is_some() {
        return None;
    }
    match &req.version {
        VersionOrUrl::Specifiers(s)
            if s.len() == 1 && s[0].op == "==" && !s[0].version.contains('*') =>
        {
            let v = &s[0].version;
            Some(match v.split_once('+') {
                Some((public, local)) => (public.to_string(), Some(local.to_ascii_lowercase())),
                None => (v.clone(), None),
            })
        }
        _ => None,
    }
}

/// Moves exact framework pins from `[pip] packages` to `[framework]`, with
/// the `[cuda] version` torch's build names: its local version (`+cu121`),
/// else the PyTorch index given (`.../whl/cu121`), else PyPI's own build.
/// Without `plain_pins`, only a pin whose build is named (a local version
/// or an index) moves: a Dockerfile's `pip install torch==X` got PyPI's
/// build on the Dockerfile's base, which `[pip] packages` keeps.
pub fn frameworks(draft: &mut Draft, pytorch: Option<(String, Origin)>, plain_pins: bool) {
    let compat = crate::compat::Compat::builtin();
    let parsed: Vec<Option<Requirement>> = draft
        .pip
        .iter()
        .map(|i| Requirement::parse(&i.value).ok())
        .collect();
    let find = |name: &str| {
        parsed
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| r.normalized_name() == name))
    };
    let mut moved: Vec<usize> = Vec::new();
    if let Some(at) = find("torch") {
        let req = parsed[at].clone().expect("found");
        match exact_pin(&req) {
            Some((version, None)) if pytorch.is_none() && !plain_pins => {
                let cuda = compat
                    .torch_pypi_cuda(&version)
                    .map_or_else(String::new, |c| format!(" (CUDA {c})"));
                draft.note(
                    Section::Framework,
                    None,
                    format!(
                        "{req} stays in [pip] packages: it is PyPI's build{cuda}, as the \
                         Dockerfile installed it. To choose its CUDA build, pin it in \
                         [framework] with a [cuda] version."
                    ),
                );
            }
            Some((version, local)) => {
                let local = local.or_else(|| pytorch.as_ref().map(|(l, _)| l.clone()));
                let from_index = exact_pin(&req).is_some_and(|(_, l)| l.is_none());
                let (cuda, why) = match local.as_deref() {
                    Some("cpu") => (None, String::new()),
                    Some(l) if from_index => (
                        crate::compat::cuda_of_local(l),
                        format!("{req} from the PyTorch index `{PYTORCH_INDEX}{l}`"),
                    ),
                    Some(l) => (crate::compat::cuda_of_local(l), format!("{req}")),
                    None => (compat.torch_pypi_cuda(&version), format!("{req} from PyPI")),
                };
                let unknown_local = local.as_deref().is_some_and(|l| l != "cpu") && cuda.is_none();
                match compat.torch(&version, cuda.as_deref(), None) {
                    Ok(_) if !unknown_local => {
                        let origin = draft.pip[at].origin.clone();
                        draft
                            .framework
                            .push(("torch".into(), Item::new(version.clone(), origin.clone())));
                        moved.push(at);
                        match cuda {
                            Some(cuda) => {
                                draft.note(
                                    Section::Cuda,
                                    None,
                                    format!(
                                        "{why} is torch's CUDA {cuda} build; with this version, \
                                         mlr locks that build."
                                    ),
                                );
                                draft.cuda = Some(Item::new(cuda, origin));
                            }
                            None => draft.note(
                                Section::Framework,
                                None,
                                format!("No [cuda]: {req} is the CPU build."),
                            ),
                        }
                        for companion in ["torchvision", "torchaudio"] {
                            if let Some(i) = find(companion) {
                                let r = parsed[i].as_ref().expect("found");
                                if let Some((v, _)) = exact_pin(r) {
                                    let origin = draft.pip[i].origin.clone();
                                    draft
                                        .framework
                                        .push((companion.into(), Item::new(v, origin)));
                                    moved.push(i);
                                }
                            }
                        }
                    }
                    Ok(_) => draft.note(
                        Section::Framework,
                        None,
                        format!(
                            "{req} stays in [pip] packages: mlr does not know the build `{}`.",
                            local.unwrap_or_default()
                        ),
                    ),
                    Err(e) => draft.note(
                        Section::Framework,
                        None,
                        format!("{req} stays in [pip] packages: {e}"),
                    ),
                }
            }
            None => draft.note(
                Section::Framework,
                None,
                format!(
                    "{req} stays in [pip] packages: pin it exactly (`torch==X.Y.Z`) in \
                     [framework] to choose its CUDA build."
                ),
            ),
        }
    }
    for (name, check) in [("tensorflow", 0), ("jax", 1)] {
        let Some(at) = find(name).filter(|_| plain_pins) else {
            continue;
        };
        let req = parsed[at].clone().expect("found");
        let Some((version, None)) = exact_pin(&req) else {
            draft.note(
                Section::Framework,
                None,
                format!(
                    "{req} stays in [pip] packages; an exact `{name}==X.Y.Z` in [framework] \
                     with a [cuda] version picks its CUDA build."
                ),
            );
            continue;
        };
        let known = if check == 0 {
            compat.tensorflow(&version, None, None).map(|_| ())
        } else {
            compat.jax(&version, None, None).map(|_| ())
        };
        match known {
            Ok(()) => {
                let origin = draft.pip[at].origin.clone();
                draft
                    .framework
                    .push((name.into(), Item::new(version, origin)));
                moved.push(at);
                draft.note(
                    Section::Framework,
                    None,
                    format!("{req} is PyPI's plain build; add a [cuda] version for a CUDA one."),
                );
            }
            Err(e) => draft.note(
                Section::Framework,
                None,
                format!("{req} stays in [pip] packages: {e}"),
            ),
        }
    }
    // The same package under another marker cannot stay beside its
    // [framework] pin (one version for the image): left as a comment.
    let pinned: Vec<String> = draft.framework.iter().map(|(n, _)| n.clone()).collect();
    for (i, r) in parsed.iter().enumerate() {
        let Some(r) = r else { continue };
        if !moved.contains(&i) && pinned.contains(&r.normalized_name()) {
            let item = &draft.pip[i];
            let (text, origin) = (item.value.clone(), item.origin.clone());
            draft.untranslated(
                origin,
                format!(
                    "{text}  (`{}` is pinned in [framework] from another line)",
                    r.name
                ),
            );
            moved.push(i);
        }
    }
    moved.sort_unstable();
    moved.dedup();
    for at in moved.into_iter().rev() {
        draft.pip.remove(at);
    }
    // A PyTorch index no framework took: keep it as a sketch.
    if let Some((local, origin)) = pytorch {
        if !draft
            .framework
            .iter()
            .any(|(n, _)| TORCH_FAMILY.contains(&n.as_str()))
        {
            draft.indexes.push(IndexSketch {
                name: format!("pytorch-{local}"),
                url: format!("{PYTORCH_INDEX}{local}"),
                packages: TORCH_FAMILY.iter().map(|s| s.to_string()).collect(),
                origin: Some(origin),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::MemFiles;

    fn values(items: &[Item<String>]) -> Vec<&str> {
        items.iter().map(|i| i.value.as_str()).collect()
    }

    #[test]
    fn requirements_markers_and_includes() {
        let files = MemFiles(vec![
            ("base.txt", "numpy>=1.24  # numbers\nrequests\n"),
            ("constraints.txt", "numpy<2\nurllib3<2\n"),
        ]);
        let text = "-r base.txt\n-c constraints.txt\n\
                    pandas==2.2.2 ; python_version >= \"3.9\"\n\
                    scipy \\\n  >=1.11\n\
                    -e .\n\
                    git+https://github.com/me/tool.git@v1#egg=tool\n\
                    tool2 @ https://example.com/tool2.whl\n\
                    --extra-index-url https://pypi.example.com/simple\n\
                    six==1.16.0 --hash=sha256:aaaa\n";
        let d = import("requirements.txt", text, &files);
        assert_eq!(
            values(&d.pip),
            [
                "numpy>=1.24,<2",
                "requests",
                "pandas==2.2.2; python_version >= \"3.9\"",
                "scipy>=1.11",
                "tool @ git+https://github.com/me/tool.git@v1",
                "tool2 @ https://example.com/tool2.whl",
                "six==1.16.0"
            ]
        );
        assert_eq!(d.pip[0].origin, Some(Origin::new("base.txt", 1)));
        assert_eq!(d.pip[3].origin, Some(Origin::new("requirements.txt", 4)));
        assert_eq!(d.indexes.len(), 1);
        assert_eq!(d.indexes[0].name, "pypi-example-com");
        let untranslated: Vec<String> = d
            .notes
            .iter()
            .filter(|n| n.section == Section::Untranslated)
            .map(|n| format!("{}: {}", n.origin.as_ref().unwrap(), n.text))
            .collect();
        assert_eq!(untranslated.len(), 2, "{untranslated:#?}");
        assert!(
            untranslated[0].starts_with("requirements.txt:6: -e ."),
            "{untranslated:#?}"
        );
        assert!(
            untranslated[1].starts_with("constraints.txt:2: urllib3<2"),
            "{untranslated:#?}"
        );
    }

    #[test]
    fn torch_pins_become_framework_and_cuda() {
        let d = import(
            "r.txt",
            "torch==2.5.1+cu121\ntorchvision==0.20.1+cu121\nnumpy\n",
            &crate::import::NoFiles,
        );
        assert_eq!(values(&d.pip), ["numpy"]);
        assert_eq!(d.framework.len(), 2);
        assert_eq!(d.framework[0].1.value, "2.5.1");
        assert_eq!(d.cuda.as_ref().unwrap().value, "12.1");

        let d = import(
            "r.txt",
            "--extra-index-url https://download.pytorch.org/whl/cu118\ntorch==2.1.0\n",
            &crate::import::NoFiles,
        );
        assert_eq!(d.cuda.as_ref().unwrap().value, "11.8");
        assert!(d.indexes.is_empty());

        // PyPI's own build of 2.5.1 is CUDA 12.4.
        let d = import("r.txt", "torch==2.5.1\n", &crate::import::NoFiles);
        assert_eq!(d.cuda.as_ref().unwrap().value, "12.4");

        let d = import("r.txt", "torch==2.5.1+cpu\n", &crate::import::NoFiles);
        assert!(d.cuda.is_none());
        assert_eq!(d.framework.len(), 1);

        // A range, or a release mlr does not know, stays a pip requirement.
        let d = import("r.txt", "torch>=2\n", &crate::import::NoFiles);
        assert_eq!(values(&d.pip), ["torch>=2"]);
        let d = import("r.txt", "torch==0.1.0\n", &crate::import::NoFiles);
        assert_eq!(values(&d.pip), ["torch==0.1.0"]);
        assert!(d.framework.is_empty());
    }

    #[test]
    fn logical_lines_join_continuations_and_drop_comments() {
        let lines = logical_lines("a \\\n  b # c\n# d\nurl#frag\n");
        assert_eq!(
            lines,
            [
                (1, "a   b".to_string()),
                (3, String::new()),
                (4, "url#frag".to_string())
            ]
        );
        assert_eq!(relative_to("req/base.txt", "../x.txt"), "x.txt");
        assert_eq!(relative_to("", "req/a.txt"), "req/a.txt");
    }
}
