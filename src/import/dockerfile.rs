//! Dockerfiles: read as BuildKit reads them (parser directives, line
//! continuations, comments, heredocs, JSON exec form, `ARG` defaults in
//! `FROM`, stages), then the final stage translated instruction by
//! instruction. `RUN` lines are split into simple commands: `apt-get
//! install`, `pip install`, `pyenv install`, `git clone` with the commands
//! run in the checkout are translated; everything else is quoted as a
//! comment with its line.

use std::collections::BTreeMap;

use super::shell::{self, Command, Word};
use super::{Draft, Files, GitSketch, ImportError, IndexSketch, Item, Origin, PipAdded, Section};
use crate::manifest::syntax;

/// One instruction, continuation lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The 1-based line it starts on.
    pub line: usize,
    /// Upper case: `RUN`.
    pub keyword: String,
    /// Everything after the keyword, trimmed.
    pub args: String,
    /// The body of a heredoc (`RUN <<EOF`), without its terminator.
    pub heredoc: Option<String>,
}

impl Instruction {
    /// The instruction on one line, white space runs collapsed, for comments.
    pub fn original(&self) -> String {
        let args = self.args.split_whitespace().collect::<Vec<_>>().join(" ");
        format!("{} {args}", self.keyword).trim_end().to_string()
    }

    /// Leading `--name=value` flags, and the rest.
    fn flags(&self) -> (Vec<(String, String)>, &str) {
        let mut rest = self.args.as_str();
        let mut flags = Vec::new();
        while let Some(after) = rest.strip_prefix("--") {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            let flag = &after[..end];
            let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
            flags.push((name.to_ascii_lowercase(), value.to_string()));
            rest = after[end..].trim_start();
        }
        (flags, rest)
    }
}

/// The instructions of a Dockerfile.
pub fn parse(text: &str) -> Result<Vec<Instruction>, ImportError> {
    let mut escape = '\\';
    let mut out = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut offsets = Vec::with_capacity(lines.len());
    let mut at = 0;
    for l in &lines {
        offsets.push(at);
        at += l.len() + 1;
    }
    let mut directives = true;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end_matches('\r');
        let trimmed = line.trim_start();
        if let Some(comment) = trimmed.strip_prefix('#') {
            if directives {
                let body = comment.trim();
                match body.split_once('=') {
                    Some((k, v)) if k.trim().eq_ignore_ascii_case("escape") => {
                        escape = match v.trim() {
                            "\\" => '\\',
                            "`" => '`',
                            other => {
                                return Err(ImportError::at(
                                    offsets[i],
                                    format!(
                                        "invalid escape directive `{other}`: use `\\` or a backtick"
                                    ),
                                ));
                            }
                        };
                        i += 1;
                        continue;
                    }
                    Some((k, _)) if !k.trim().contains(' ') => {
                        i += 1;
                        continue;
                    }
                    _ => directives = false,
                }
            }
            i += 1;
            continue;
        }
        if trimmed.is_empty() {
            directives = false;
            i += 1;
            continue;
        }
        directives = false;
        let start = i;
        let mut joined = String::new();
        loop {
            let l = lines[i].trim_end_matches('\r');
            let body = l.trim_end();
            let continues = body.ends_with(escape);
            joined.push_str(if continues {
                &body[..body.len() - escape.len_utf8()]
            } else {
                l
            });
            i += 1;
            if !continues {
                break;
            }
            // Comment lines and empty lines inside a continuation are skipped.
            while i < lines.len() {
                let next = lines[i].trim();
                if next.starts_with('#') || next.is_empty() {
                    i += 1;
                } else {
                    break;
                }
            }
            if i >= lines.len() {
                break;
            }
        }
        let joined = joined.trim();
        let (keyword, args) = match joined.find(char::is_whitespace) {
            Some(n) => (&joined[..n], joined[n..].trim()),
            None => (joined, ""),
        };
        let keyword = keyword.to_ascii_uppercase();
        if !keyword.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ImportError::at(
                offsets[start] + (lines[start].len() - lines[start].trim_start().len()),
                format!("`{keyword}` is not a Dockerfile instruction"),
            ));
        }
        let mut heredoc = None;
        if let Some(word) = heredoc_word(args).filter(|_| keyword == "RUN" || keyword == "COPY") {
            let (word, strip) = word;
            let mut body = Vec::new();
            let mut closed = false;
            while i < lines.len() {
                let l = lines[i].trim_end_matches('\r');
                i += 1;
                let cmp = if strip { l.trim_start_matches('\t') } else { l };
                if cmp == word {
                    closed = true;
                    break;
                }
                body.push(l);
            }
            if !closed {
                return Err(ImportError::at(
                    offsets[start],
                    format!("the heredoc `{word}` is not closed"),
                ));
            }
            heredoc = Some(body.join("\n"));
        }
        out.push(Instruction {
            line: start + 1,
            keyword,
            args: args.to_string(),
            heredoc,
        });
    }
    Ok(out)
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"` in `args`: the word, and whether tabs are stripped.
fn heredoc_word(args: &str) -> Option<(String, bool)> {
    let at = args.find("<<")?;
    let rest = &args[at + 2..];
    let (rest, strip) = match rest.strip_prefix('-') {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let word: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace())
        .filter(|c| *c != '"' && *c != '\'')
        .collect();
    (!word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some((word, strip))
}

/// A JSON array of strings (exec form), if `args` is one.
fn json_form(args: &str) -> Option<Vec<String>> {
    args.trim_start()
        .starts_with('[')
        .then(|| serde_json::from_str::<Vec<String>>(args).ok())
        .flatten()
}

/// `$NAME`, `${NAME}`, `${NAME:-default}` expanded from `vars`; `None`
/// when a variable is not defined.
fn expand(text: &str, vars: &BTreeMap<String, String>) -> Option<String> {
    let var = |n: &str| vars.get(n).cloned();
    let words = shell::words(text, &var);
    if words.iter().any(|w| w.unknown) {
        return None;
    }
    Some(
        words
            .into_iter()
            .map(|w| w.text)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A build stage: its `FROM` and what follows it.
struct Stage {
    from: Instruction,
    /// The image or earlier stage it starts from, variables expanded where known.
    image: String,
    name: Option<String>,
    platform: Option<String>,
    body: Vec<Instruction>,
}

/// Reads a Dockerfile into a draft.
pub fn import(input: &str, text: &str, files: &dyn Files) -> Result<Draft, ImportError> {
    let instructions = parse(text)?;
    let mut draft = Draft::new(input);
    let mut global = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions {
        if ins.keyword == "FROM" {
            let (flags, rest) = ins.flags();
            let words: Vec<&str> = rest.split_whitespace().collect();
            let image = words.first().copied().unwrap_or("");
            let image = expand(image, &global).unwrap_or_else(|| image.to_string());
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
                _ => None,
            };
            let platform = flags
                .iter()
                .find(|(k, _)| k == "platform")
                .and_then(|(_, v)| expand(v, &global));
            stages.push(Stage {
                from: ins,
                image,
                name,
                platform,
                body: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.body.push(ins);
        } else if ins.keyword == "ARG" {
            for (k, v) in arg_pairs(&ins.args) {
                if let Some(v) = v.and_then(|v| expand(&v, &global)) {
                    global.insert(k, v);
                }
            }
        } else {
            draft.untranslated(
                Some(Origin::new(input, ins.line)),
                format!("{}  (before the first FROM)", ins.original()),
            );
        }
    }
    if stages.is_empty() {
        return Err(ImportError::whole(
            "no FROM instruction: there is no image to start from",
        ));
    }

    // The final stage, and the stages it is built on (`FROM builder`).
    let mut chain = vec![stages.len() - 1];
    loop {
        let current = &stages[*chain.last().expect("not empty")];
        let parent = stages[..*chain.last().expect("not empty")]
            .iter()
            .rposition(|s| s.name.as_deref() == Some(&current.image.to_ascii_lowercase()));
        match parent {
            Some(p) => chain.push(p),
            None => break,
        }
    }
    chain.reverse();

    let root = &stages[chain[0]];
    let base_cuda = base(&mut draft, input, root, &stages, &chain);

    let mut t = Translator {
        draft: &mut draft,
        input,
        files,
        vars: global.clone(),
        global,
        workdir: "/".to_string(),
        clones: Vec::new(),
        saw_user: false,
        pytorch: None,
    };
    for (i, stage) in stages.iter().enumerate() {
        if chain.contains(&i) {
            continue;
        }
        let name = stage
            .name
            .as_deref()
            .map_or_else(String::new, |n| format!(" `{n}`"));
        t.draft.untranslated(
            Some(Origin::new(input, stage.from.line)),
            format!(
                "{}  (build stage{name}: not part of the final image; its instructions follow)",
                stage.from.original()
            ),
        );
        for ins in &stage.body {
            t.draft
                .untranslated(Some(Origin::new(input, ins.line)), ins.original());
        }
    }
    for &i in &chain {
        if i != chain[0] {
            t.draft.note(
                Section::Base,
                Some(Origin::new(input, stages[i].from.line)),
                format!("{}: continues the stage above", stages[i].from.original()),
            );
        }
        for ins in &stages[i].body {
            t.instruction(ins);
        }
    }
    let pytorch = t.pytorch.take();
    let saw_user = t.saw_user;
    if !saw_user {
        draft.note(
            Section::Image,
            None,
            "The Dockerfile has no USER, so its image runs as root; mlr runs the image as \
             `ml` unless you write `user = \"root\"`.",
        );
    }
    if !draft.copy.is_empty() && input.contains('/') {
        draft.note(
            Section::Image,
            None,
            "`copy` sources are relative to the directory of ml.toml; check that they \
             match the Dockerfile's build context.",
        );
    }
    super::requirements::frameworks(&mut draft, pytorch, false);
    if let Some((version, cudnn)) = base_cuda {
        let text = match &draft.cuda {
            None => format!(
                "The base is CUDA {version}: without [base], `version = \"{version}\"`{cudnn} \
                 here would pick an nvidia/cuda image. It is not set, because [base] \
                 names the image."
            ),
            Some(c) if c.value == version => format!("The base is CUDA {version} too."),
            Some(c) => format!(
                "The base is CUDA {version}, but torch's build is CUDA {}: check that the \
                 base's driver requirements suit it.",
                c.value
            ),
        };
        draft.notes.insert(
            0,
            super::Note {
                section: Section::Cuda,
                origin: None,
                text,
            },
        );
    }
    Ok(draft)
}

/// `[base] image` from the root stage of the final one, with what the
/// image says about Python; an `nvidia/cuda` base's CUDA version (and
/// cuDNN, as a `with ...` phrase) is returned.
fn base(
    draft: &mut Draft,
    input: &str,
    root: &Stage,
    stages: &[Stage],
    chain: &[usize],
) -> Option<(String, String)> {
    let origin = Some(Origin::new(input, root.from.line));
    if chain.len() > 1 {
        draft.note(
            Section::Base,
            origin.clone(),
            format!("{}: the final stage is built on it", root.from.original()),
        );
    } else if stages.len() > 1 {
        draft.note(
            Section::Base,
            None,
            "The final stage's FROM; the other stages are listed at the end.",
        );
    }
    if let Some(p) = &root.platform {
        if p.parse::<crate::manifest::Platform>().is_ok() {
            draft.platforms.push(Item::new(p.clone(), origin.clone()));
        }
    }
    let image = root.image.as_str();
    let usable = !image.contains('$')
        && !image.eq_ignore_ascii_case("scratch")
        && crate::manifest::ImageRef::parse(image).is_ok();
    if !usable {
        draft.note(
            Section::Base,
            origin,
            format!(
                "{}: not an image mlr can pin, so the default base is written below",
                root.from.original()
            ),
        );
        return None;
    }
    draft.base = Some(Item::new(image.to_string(), origin));
    let (repo, tag) = image
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .unwrap_or((image, ""));
    let tag = tag.split('@').next().unwrap_or("");
    let repo = repo.trim_start_matches("docker.io/");
    if repo == "nvidia/cuda" || repo.ends_with("/nvidia/cuda") {
        let version = tag_minor(tag);
        if syntax::cuda_version(&version).is_ok() {
            let cudnn = tag
                .split('-')
                .find_map(|p| p.strip_prefix("cudnn"))
                .filter(|d| !d.is_empty())
                .map(|d| format!(" with `cudnn = \"{d}\"`"))
                .unwrap_or_default();
            return Some((version, cudnn));
        }
    } else if repo.starts_with("nvcr.io/nvidia/") {
        draft.note(
            Section::Base,
            None,
            "An NGC image: mlr uses its Python and its installed packages (torch among \
             them) as they are, and installs the rest beside them (see Base images in \
             the book).",
        );
    } else if repo == "python" || repo == "library/python" {
        let minor = tag_minor(tag);
        if syntax::python_version(&minor).is_ok() {
            draft.note(
                Section::Python,
                None,
                format!("The base image has Python {minor}; mlr uses it."),
            );
        }
    }
    None
}

/// `ARG A=1 B` → [(A, Some(1)), (B, None)].
fn arg_pairs(args: &str) -> Vec<(String, Option<String>)> {
    let var = |_: &str| None;
    shell::words(args, &var)
        .into_iter()
        .map(|w| match w.text.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (w.text, None),
        })
        .collect()
}

/// A `git clone` whose checkout later commands may build in.
struct Clone {
    /// The checkout's absolute path in the image.
    dir: String,
    /// Its sketch in `draft.git`.
    sketch: usize,
}

struct Translator<'a> {
    draft: &'a mut Draft,
    input: &'a str,
    files: &'a dyn Files,
    /// ARG defaults and ENV values defined so far.
    vars: BTreeMap<String, String>,
    /// ARG defaults before the first FROM (a stage's bare `ARG X` reads them).
    global: BTreeMap<String, String>,
    workdir: String,
    clones: Vec<Clone>,
    saw_user: bool,
    /// A PyTorch index an `--index-url` or `--extra-index-url` names.
    pytorch: Option<(String, Origin)>,
}

/// What became of one command of a `RUN` line.
enum Outcome {
    Translated,
    /// Nothing to translate: work mlr's own layers do (`apt-get update`).
    Housekeeping,
    /// Not translated (whole or in part), and why.
    Untranslated(Option<String>),
}

impl Translator<'_> {
    fn origin(&self, ins: &Instruction) -> Option<Origin> {
        Some(Origin::new(self.input, ins.line))
    }

    fn untranslated(&mut self, ins: &Instruction, why: Option<&str>) {
        let text = match why {
            Some(w) => format!("{}  ({w})", ins.original()),
            None => ins.original(),
        };
        let origin = self.origin(ins);
        self.draft.untranslated(origin, text);
    }

    fn instruction(&mut self, ins: &Instruction) {
        match ins.keyword.as_str() {
            "ARG" => self.arg(ins),
            "ENV" => self.env(ins),
            "WORKDIR" => self.workdir(ins),
            "USER" => self.user(ins),
            "ENTRYPOINT" | "CMD" => self.command(ins),
            "COPY" | "ADD" => self.copy(ins),
            "RUN" => self.run(ins),
            "EXPOSE" | "HEALTHCHECK" | "LABEL" | "VOLUME" | "MAINTAINER" | "STOPSIGNAL" => {
                self.untranslated(ins, None)
            }
            "SHELL" => self.untranslated(ins, Some("mlr runs its own steps with /bin/sh")),
            "ONBUILD" => self.untranslated(ins, Some("runs in images built on this one")),
            _ => self.untranslated(ins, Some("not a Dockerfile instruction mlr knows")),
        }
    }

    fn arg(&mut self, ins: &Instruction) {
        for (k, v) in arg_pairs(&ins.args) {
            let value = match v {
                Some(v) => expand(&v, &self.vars),
                None => self.global.get(&k).cloned(),
            };
            match value {
                Some(v) => {
                    self.vars.insert(k, v);
                }
                None => {
                    self.vars.remove(&k);
                    let origin = self.origin(ins);
                    self.draft.untranslated(
                        origin,
                        format!("ARG {k}  (a build argument without a default: where it is used, the Dockerfile's text is kept)"),
                    );
                }
            }
        }
    }

    fn env(&mut self, ins: &Instruction) {
        let vars = self.vars.clone();
        let var = |n: &str| vars.get(n).cloned();
        let words = shell::words(&ins.args, &var);
        let legacy = words.first().is_some_and(|w| !w.text.contains('='));
        let pairs: Vec<(String, Word)> = if legacy {
            let key = words[0].text.clone();
            let rest = &words[1..];
            let value = Word {
                text: rest
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                unknown: rest.iter().any(|w| w.unknown),
            };
            vec![(key, value)]
        } else {
            words
                .into_iter()
                .map(|w| {
                    let (k, v) = w.text.split_once('=').unwrap_or((&w.text, ""));
                    (
                        k.to_string(),
                        Word {
                            text: v.to_string(),
                            unknown: w.unknown,
                        },
                    )
                })
                .collect()
        };
        let mut refused = Vec::new();
        for (key, value) in pairs {
            let problem = if value.unknown {
                Some("refers to a variable the base image or the build sets; [env] values are literal".to_string())
            } else if let Err(e) = syntax::env_key(&key) {
                Some(e.message)
            } else if value.text.chars().any(|c| c.is_control() && c != '\t') {
                Some("holds a line break".to_string())
            } else {
                None
            };
            match problem {
                Some(why) => refused.push(format!("`{key}` {why}")),
                None => {
                    self.vars.insert(key.clone(), value.text.clone());
                    let item = Item::new(value.text, self.origin(ins));
                    match self.draft.env.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = item,
                        None => self.draft.env.push((key, item)),
                    }
                }
            }
        }
        if !refused.is_empty() {
            let why = refused.join("; ");
            self.untranslated(ins, Some(&why));
        }
    }

    /// `path` made absolute against the working directory, `.` and `..` resolved.
    fn absolute(&self, path: &str, cwd: &str) -> String {
        let joined = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("{cwd}/{path}")
        };
        let mut parts: Vec<&str> = Vec::new();
        for p in joined.split('/') {
            match p {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        format!("/{}", parts.join("/"))
    }

    fn workdir(&mut self, ins: &Instruction) {
        let Some(path) = expand(&ins.args, &self.vars) else {
            self.untranslated(ins, Some("names a variable this Dockerfile does not set"));
            return;
        };
        let path = self.absolute(&path, &self.workdir.clone());
        match syntax::image_path(&path) {
            Ok(()) => {
                self.workdir = path.clone();
                self.draft.workdir = Some(Item::new(path, self.origin(ins)));
            }
            Err(e) => self.untranslated(ins, Some(&e.message)),
        }
    }

    fn user(&mut self, ins: &Instruction) {
        self.saw_user = true;
        let Some(spec) = expand(&ins.args, &self.vars) else {
            self.untranslated(ins, Some("names a variable this Dockerfile does not set"));
            return;
        };
        let (user, group) = spec.split_once(':').unwrap_or((&spec, ""));
        match syntax::user(user) {
            Ok(()) => {
                self.draft.user = Some(Item::new(user.to_string(), self.origin(ins)));
                if !group.is_empty() {
                    let origin = self.origin(ins);
                    self.draft.note(
                        Section::Image,
                        origin,
                        format!(
                            "{}: the group `{group}` is dropped; mlr sets the user only",
                            ins.original()
                        ),
                    );
                }
            }
            Err(e) => self.untranslated(ins, Some(&e.message)),
        }
    }

    fn command(&mut self, ins: &Instruction) {
        let args = json_form(&ins.args)
            .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string(), ins.args.clone()]);
        if args.iter().any(|a| a.contains('\0')) || args.is_empty() {
            self.untranslated(ins, None);
            return;
        }
        let item = Some(Item::new(args, self.origin(ins)));
        if ins.keyword == "ENTRYPOINT" {
            self.draft.entrypoint = item;
        } else {
            self.draft.cmd = item;
        }
    }

    fn copy(&mut self, ins: &Instruction) {
        let (flags, rest) = ins.flags();
        if let Some((_, stage)) = flags.iter().find(|(k, _)| k == "from") {
            let why = format!(
                "copies from `{stage}`, which mlr does not build; a source built in a stage \
                 of its own is a [git.NAME] with `build` steps"
            );
            self.untranslated(ins, Some(&why));
            return;
        }
        if ins.heredoc.is_some() {
            self.untranslated(ins, Some("writes a file from a heredoc"));
            return;
        }
        let args: Vec<Word> = match json_form(rest) {
            Some(list) => list
                .into_iter()
                .map(|text| {
                    let unknown = expand(&text, &self.vars).is_none();
                    Word {
                        text: expand(&text, &self.vars).unwrap_or(text),
                        unknown,
                    }
                })
                .collect(),
            None => {
                let vars = self.vars.clone();
                let var = |n: &str| vars.get(n).cloned();
                shell::words(rest, &var)
            }
        };
        if args.len() < 2 {
            self.untranslated(ins, None);
            return;
        }
        let (srcs, dst) = args.split_at(args.len() - 1);
        let dst = &dst[0];
        if dst.unknown || srcs.iter().any(|s| s.unknown) {
            self.untranslated(ins, Some("names a variable this Dockerfile does not set"));
            return;
        }
        let mut refused = Vec::new();
        let into_dir = srcs.len() > 1 || dst.text.ends_with('/') || dst.text == ".";
        let dst_abs = self.absolute(&dst.text, &self.workdir.clone());
        for src in srcs {
            let s = src.text.as_str();
            let why = if s.contains("://") || s.starts_with("git@") {
                Some("a remote source".to_string())
            } else if ins.keyword == "ADD" && is_archive(s) {
                Some("ADD unpacks archives; mlr copies files as they are".to_string())
            } else if s.contains(['*', '?', '[']) {
                Some("a wildcard".to_string())
            } else {
                syntax::project_path(s).err().map(|e| e.message)
            };
            if let Some(why) = why {
                refused.push(format!("`{s}`: {why}"));
                continue;
            }
            let src_is_dir = self.files.is_dir(s).unwrap_or_else(|| {
                s == "." || s.ends_with('/') || !s.rsplit('/').next().unwrap_or(s).contains('.')
            });
            let target = if into_dir && !src_is_dir {
                let base = s.trim_end_matches('/').rsplit('/').next().unwrap_or(s);
                self.absolute(base, &dst_abs)
            } else {
                dst_abs.clone()
            };
            let src = s.trim_end_matches('/');
            let src = if src.is_empty() { "." } else { src };
            match syntax::image_path(&target) {
                Ok(()) => self
                    .draft
                    .copy
                    .push(Item::new((src.to_string(), target), self.origin(ins))),
                Err(e) => refused.push(format!("`{s}`: {}", e.message)),
            }
        }
        if !refused.is_empty() {
            let why = refused.join("; ");
            self.untranslated(ins, Some(&why));
        } else if flags.iter().any(|(k, _)| k == "chown" || k == "chmod") {
            let origin = self.origin(ins);
            self.draft.note(
                Section::Image,
                origin,
                format!(
                    "{}: `--chown`/`--chmod` dropped; mlr copies as the image's user",
                    ins.original()
                ),
            );
        }
    }

    fn run(&mut self, ins: &Instruction) {
        let (_flags, rest) = ins.flags();
        let vars = self.vars.clone();
        let var = |n: &str| vars.get(n).cloned();
        let commands: Vec<Command> = if let Some(body) = &ins.heredoc {
            shell::commands(body, &var)
        } else if let Some(list) = json_form(rest) {
            let words: Vec<Word> = list
                .iter()
                .map(|t| Word {
                    text: t.clone(),
                    unknown: false,
                })
                .collect();
            vec![Command {
                words,
                text: list.join(" "),
            }]
        } else {
            shell::commands(rest, &var)
        };
        let mut cwd = self.workdir.clone();
        let mut checkout = self.checkout_at(&cwd);
        let mut cds: Vec<String> = Vec::new();
        let mut untranslated: Vec<String> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        for cmd in &commands {
            let words = command_words(&cmd.words);
            let Some(first) = words.first() else { continue };
            let program = first.text.rsplit('/').next().unwrap_or(&first.text);
            if program == "cd" {
                let target = words.get(1).map_or("/root", |w| w.text.as_str());
                if words.get(1).is_some_and(|w| w.unknown) {
                    cds.push(cmd.text.clone());
                    checkout = None;
                    continue;
                }
                cwd = self.absolute(target, &cwd);
                checkout = self.checkout_at(&cwd);
                cds.push(cmd.text.clone());
                continue;
            }
            if let Some((sketch, sub)) = &checkout {
                self.in_checkout(*sketch, sub, cmd, words, ins);
                continue;
            }
            let outcome = match program {
                "apt-get" | "apt" => self.apt(words, ins),
                "git" => self.git(words, ins, &cwd),
                "pyenv" => self.pyenv(words, ins),
                "conda" | "mamba" | "micromamba" => self.conda(words, ins),
                "rm" if words
                    .iter()
                    .skip(1)
                    .all(|w| w.text.starts_with('-') || is_cache(&w.text)) =>
                {
                    Outcome::Housekeeping
                }
                "set" | "true" | ":" => Outcome::Housekeeping,
                _ => match pip_install(words) {
                    Some(Ok(args)) => self.pip(args, ins, &cwd),
                    Some(Err(())) => Outcome::Untranslated(None),
                    None => Outcome::Untranslated(None),
                },
            };
            match outcome {
                Outcome::Translated | Outcome::Housekeeping => {}
                Outcome::Untranslated(why) => {
                    untranslated.append(&mut cds);
                    untranslated.push(cmd.text.clone());
                    for part in why.iter().flat_map(|w| w.split("; ")) {
                        if !reasons.iter().any(|r| r == part) {
                            reasons.push(part.to_string());
                        }
                    }
                }
            }
            cds.clear();
        }
        if !untranslated.is_empty() {
            let mut text = untranslated.join(" && ");
            if !reasons.is_empty() {
                text.push_str(&format!("  ({})", reasons.join("; ")));
            }
            let origin = self.origin(ins);
            self.draft.untranslated(origin, text);
        }
    }

    /// The clone whose checkout `dir` is in, and the path below it.
    fn checkout_at(&self, dir: &str) -> Option<(usize, String)> {
        self.clones.iter().rev().find_map(|c| {
            if dir == c.dir {
                Some((c.sketch, String::new()))
            } else {
                dir.strip_prefix(&format!("{}/", c.dir))
                    .map(|sub| (c.sketch, sub.to_string()))
            }
        })
    }

    /// A command run inside a clone's checkout: a build step of its sketch.
    fn in_checkout(
        &mut self,
        sketch: usize,
        sub: &str,
        cmd: &Command,
        words: &[Word],
        ins: &Instruction,
    ) {
        let git = &mut self.draft.git[sketch];
        let text: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        match text.as_slice() {
            ["git", "checkout", rev, ..] if !rev.starts_with('-') => git.rev = rev.to_string(),
            ["git", "submodule", "update", ..] | ["git", "submodule", "init", ..] => {
                git.submodules = true
            }
            _ => {
                let step = if sub.is_empty() {
                    cmd.text.clone()
                } else {
                    format!("cd {sub} && {}", cmd.text)
                };
                git.build
                    .push(Item::new(step, Some(Origin::new(self.input, ins.line))));
            }
        }
    }

    fn apt(&mut self, words: &[Word], ins: &Instruction) -> Outcome {
        let mut i = 1;
        let mut sub = None;
        while i < words.len() {
            let w = words[i].text.as_str();
            if matches!(
                w,
                "-o" | "-t" | "-c" | "--option" | "--target-release" | "--config-file"
            ) {
                i += 2;
            } else if w.starts_with('-') {
                i += 1;
            } else {
                sub = Some(w);
                i += 1;
                break;
            }
        }
        match sub {
            Some("install") => {}
            Some("update" | "clean" | "autoclean" | "autoremove" | "upgrade" | "dist-upgrade") => {
                return Outcome::Housekeeping;
            }
            _ => return Outcome::Untranslated(None),
        }
        let mut refused = Vec::new();
        let mut skip_value = false;
        for w in &words[i..] {
            let t = w.text.as_str();
            if skip_value {
                skip_value = false;
                continue;
            }
            if t.starts_with('-') {
                skip_value = matches!(t, "-o" | "-t" | "-c" | "--option" | "--target-release");
                continue;
            }
            if w.unknown {
                refused.push(format!("`{t}`"));
                continue;
            }
            if let Some(minor) = python_minor_package(t) {
                if self.draft.python.is_none() {
                    let _ = self.draft.set_python(&minor, self.origin(ins).clone());
                }
                continue;
            }
            if let Err(why) = self.draft.add_apt(t, self.origin(ins)) {
                refused.push(format!("`{t}`: {why}"));
            }
        }
        if refused.is_empty() {
            Outcome::Translated
        } else {
            Outcome::Untranslated(Some(format!("not translated: {}", refused.join(", "))))
        }
    }

    fn pyenv(&mut self, words: &[Word], ins: &Instruction) -> Outcome {
        match words.get(1).map(|w| w.text.as_str()) {
            Some("install") => {
                let version = words[2..].iter().find(|w| !w.text.starts_with('-'));
                match version {
                    Some(v)
                        if !v.unknown
                            && self.draft.set_python(&v.text, self.origin(ins)).is_ok() =>
                    {
                        Outcome::Translated
                    }
                    _ => Outcome::Untranslated(None),
                }
            }
            Some("global" | "local" | "rehash" | "init") if self.draft.python.is_some() => {
                Outcome::Housekeeping
            }
            _ => Outcome::Untranslated(None),
        }
    }

    fn conda(&mut self, words: &[Word], ins: &Instruction) -> Outcome {
        let mut why = "conda is not supported yet: issue #15".to_string();
        for w in words {
            let spec = w
                .text
                .strip_prefix("python=")
                .or_else(|| w.text.strip_prefix("python=="));
            if let Some(v) = spec {
                let v = v.trim_end_matches(".*");
                if self.draft.python.is_none() && self.draft.set_python(v, self.origin(ins)).is_ok()
                {
                    why.push_str(&format!("; its Python {v} is [python] version"));
                }
            }
        }
        let files: Vec<&str> = words
            .windows(2)
            .filter(|p| p[0].text == "-f" || p[0].text == "--file")
            .map(|p| p[1].text.as_str())
            .collect();
        if let Some(f) = files.first() {
            why.push_str(&format!("; `mlr init --from {f}` reads its pip packages"));
        }
        Outcome::Untranslated(Some(why))
    }

    fn git(&mut self, words: &[Word], ins: &Instruction, cwd: &str) -> Outcome {
        let text: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        if let ["git", "-C", dir, "checkout", rev, ..] = text.as_slice() {
            let dir = self.absolute(dir, cwd);
            if let Some((sketch, _)) = self.checkout_at(&dir) {
                self.draft.git[sketch].rev = rev.to_string();
                return Outcome::Translated;
            }
        }
        if text.get(1) != Some(&"clone") {
            return Outcome::Untranslated(None);
        }
        let mut rev = None;
        let mut submodules = false;
        let mut positional = Vec::new();
        let mut i = 2;
        while i < words.len() {
            let w = &words[i];
            let t = w.text.as_str();
            match t {
                "-b" | "--branch" => {
                    rev = words.get(i + 1).map(|w| w.text.clone());
                    i += 2;
                    continue;
                }
                "--recursive" | "--recurse-submodules" => submodules = true,
                "--depth" | "-c" | "--config" | "-j" | "--jobs" | "-o" | "--origin"
                | "--reference" => {
                    i += 2;
                    continue;
                }
                _ if t.starts_with("--branch=") => rev = Some(t["--branch=".len()..].to_string()),
                _ if t.starts_with("--recurse-submodules") => submodules = true,
                _ if t.starts_with('-') => {}
                _ => positional.push(w),
            }
            i += 1;
        }
        let Some(url) = positional.first() else {
            return Outcome::Untranslated(None);
        };
        if url.unknown || positional.iter().any(|w| w.unknown) {
            return Outcome::Untranslated(Some(
                "names a variable this Dockerfile does not set".into(),
            ));
        }
        if url.text.contains("pyenv/pyenv") || url.text.contains("pyenv.git") {
            return Outcome::Housekeeping;
        }
        let url = url.text.clone();
        let base = url
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or("");
        let base = base.strip_suffix(".git").unwrap_or(base);
        let dir = positional
            .get(1)
            .map_or(base.to_string(), |w| w.text.clone());
        let leaf = dir
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        let name = if syntax::dir_name(&leaf, "name").is_ok() {
            leaf
        } else {
            format!("source-{}", self.draft.git.len() + 1)
        };
        let dir = self.absolute(&dir, cwd);
        self.draft.git.push(GitSketch {
            name,
            url,
            rev: rev.unwrap_or_else(|| "HEAD".to_string()),
            build: Vec::new(),
            submodules,
            origin: self.origin(ins),
        });
        self.clones.push(Clone {
            dir,
            sketch: self.draft.git.len() - 1,
        });
        if self.draft.git.len() == 1 {
            self.draft.note(
                Section::Git,
                None,
                "Built from git in the Dockerfile: mlr fetches each source on the host at a \
                 locked commit and runs its `build` steps in the checkout. Choose a tag or \
                 a commit for `rev`, check the steps, and uncomment.",
            );
        }
        Outcome::Translated
    }

    /// `pip install [-e] DIR` of a clone's checkout: the build step `step`
    /// of its sketch. `false` when `dir` is no checkout.
    fn builds_clone(&mut self, dir: &Word, cwd: &str, step: &str, ins: &Instruction) -> bool {
        if dir.unknown || dir.text.contains("://") {
            return false;
        }
        let path = self.absolute(&dir.text, cwd);
        match self.checkout_at(&path) {
            Some((sketch, sub)) if sub.is_empty() => {
                let origin = self.origin(ins);
                self.draft.git[sketch]
                    .build
                    .push(Item::new(step.to_string(), origin));
                true
            }
            _ => false,
        }
    }

    fn pip(&mut self, args: &[Word], ins: &Instruction, cwd: &str) -> Outcome {
        let mut refused: Vec<String> = Vec::new();
        let mut i = 0;
        let value = |i: usize, flag: &str| -> Option<Word> {
            match flag.split_once('=') {
                Some((_, v)) => Some(Word {
                    text: v.to_string(),
                    unknown: args[i].unknown,
                }),
                None => args.get(i + 1).cloned(),
            }
        };
        while i < args.len() {
            let w = &args[i];
            let t = w.text.as_str();
            let flag = t.split('=').next().unwrap_or(t);
            if t.starts_with('-') {
                let takes = matches!(
                    flag,
                    "-r" | "--requirement"
                        | "-c"
                        | "--constraint"
                        | "-e"
                        | "--editable"
                        | "-i"
                        | "--index-url"
                        | "--extra-index-url"
                        | "-f"
                        | "--find-links"
                        | "--trusted-host"
                        | "-t"
                        | "--target"
                        | "--prefix"
                        | "--root"
                        | "--src"
                        | "--global-option"
                        | "--install-option"
                        | "--config-settings"
                        | "-C"
                        | "--platform"
                        | "--python-version"
                        | "--implementation"
                        | "--abi"
                        | "--only-binary"
                        | "--no-binary"
                        | "--progress-bar"
                        | "--upgrade-strategy"
                        | "--cache-dir"
                        | "--log"
                        | "--proxy"
                        | "--retries"
                        | "--timeout"
                        | "--exists-action"
                        | "--cert"
                        | "--client-cert"
                        | "--report"
                        | "--python"
                );
                let v = if takes { value(i, t) } else { None };
                i += if takes && !t.contains('=') { 2 } else { 1 };
                let Some(v) = v else { continue };
                match flag {
                    "-r" | "--requirement" => {
                        // Read by `mlr lock` from the project, where a
                        // Dockerfile's build context usually keeps it.
                        let path = v.text.trim_start_matches("./").to_string();
                        if !self.draft.requirements.iter().any(|r| r.value == path) {
                            self.draft
                                .requirements
                                .push(Item::new(path, self.origin(ins)));
                        }
                    }
                    "-c" | "--constraint" => refused.push(format!("`-c {}`: constraints", v.text)),
                    "-e" | "--editable" if self.builds_clone(&v, cwd, "pip install -e .", ins) => {}
                    "-e" | "--editable" => refused.push(format!(
                        "`-e {}`: an editable install: write `NAME @ ./DIR` in [pip] packages (mlr installs it, not editable)",
                        v.text
                    )),
                    "-f" | "--find-links"
                        if super::requirements::pytorch_variant(&v.text).is_some() =>
                    {
                        if let Some(why) = self.index(&v, true, ins) {
                            refused.push(why);
                        }
                    }
                    "-f" | "--find-links" => refused.push(format!("`{flag} {}`", v.text)),
                    "-i" | "--index-url" | "--extra-index-url" => {
                        if let Some(why) = self.index(&v, flag == "--extra-index-url", ins) {
                            refused.push(why);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            i += 1;
            if w.unknown {
                refused.push(format!("`{t}`"));
            } else if self.builds_clone(w, cwd, "pip install .", ins) {
            } else if super::requirements::is_url_or_path(t) {
                refused.push(format!("`{t}`: a local path or a URL mlr cannot lock"));
            } else if super::requirements::requirement_name_is(t, "pip") {
                // The venv mlr makes has its own pip.
            } else {
                match self.draft.add_pip(t, self.origin(ins)) {
                    PipAdded::Added | PipAdded::Duplicate => {}
                    PipAdded::Refused(why) => refused.push(format!("`{t}`: {why}")),
                }
            }
        }
        if refused.is_empty() {
            Outcome::Translated
        } else {
            Outcome::Untranslated(Some(format!("not translated: {}", refused.join("; "))))
        }
    }

    /// An index option of `pip install`; `Some(why)` when it is not translated.
    fn index(&mut self, url: &Word, extra: bool, ins: &Instruction) -> Option<String> {
        let flag = if extra {
            "--extra-index-url"
        } else {
            "--index-url"
        };
        if url.unknown {
            return Some(format!("`{flag} {}`", url.text));
        }
        if let Some(local) = super::requirements::pytorch_variant(&url.text) {
            self.pytorch = Some((local.to_string(), Origin::new(self.input, ins.line)));
            return None;
        }
        if let Err(e) = syntax::http_url(&url.text) {
            return Some(format!("`{flag} {}`: {}", url.text, e.message));
        }
        if !extra {
            self.draft.index_url = Some(Item::new(url.text.clone(), self.origin(ins)));
            return None;
        }
        if self.draft.indexes.iter().any(|i| i.url == url.text) {
            return None;
        }
        let name = super::requirements::index_name(&url.text, self.draft.indexes.len());
        self.draft.indexes.push(IndexSketch {
            name,
            url: url.text.clone(),
            packages: Vec::new(),
            origin: self.origin(ins),
        });
        None
    }
}

/// The words of a command after `VAR=value` assignments and `sudo`/`env`.
fn command_words(words: &[Word]) -> &[Word] {
    let mut i = 0;
    while i < words.len() {
        let t = &words[i].text;
        let assignment = t.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if assignment || t == "sudo" || t == "env" || t == "-E" {
            i += 1;
        } else {
            break;
        }
    }
    &words[i..]
}

/// The arguments after `install` of `pip install`, `pip3 install`,
/// `python3 -m pip install`, `uv pip install`; `Err` for another pip
/// subcommand, `None` when it is not pip.
fn pip_install(words: &[Word]) -> Option<Result<&[Word], ()>> {
    let program = words.first()?.text.rsplit('/').next().unwrap_or("");
    let text = |i: usize| words.get(i).map(|w| w.text.as_str());
    let is_pip = program == "pip"
        || program
            .strip_prefix("pip")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    let is_python = program == "python"
        || program
            .strip_prefix("python")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    let mut i = if is_pip {
        1
    } else if is_python && text(1) == Some("-m") && text(2) == Some("pip") {
        3
    } else if program == "uv" && text(1) == Some("pip") {
        2
    } else {
        return None;
    };
    while text(i).is_some_and(|t| t.starts_with('-')) {
        i += 1;
    }
    match text(i) {
        Some("install") => Some(Ok(&words[i + 1..])),
        _ => Some(Err(())),
    }
}

/// `python3.10` → `3.10` (the interpreter package, not `python3.10-dev`).
fn python_minor_package(name: &str) -> Option<String> {
    let rest = name.strip_prefix("python3.")?;
    let (minor, _) = rest.split_once('=').unwrap_or((rest, ""));
    (!minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit())).then(|| format!("3.{minor}"))
}

/// Caches a `rm -rf` in a Dockerfile empties; mlr's layers leave none.
fn is_cache(path: &str) -> bool {
    [
        "/var/lib/apt/lists",
        "/var/cache/apt",
        "/root/.cache",
        "~/.cache",
        "/tmp/",
        "/var/tmp/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

fn is_archive(path: &str) -> bool {
    [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
    ]
    .iter()
    .any(|e| path.ends_with(e))
}

/// `12.4.1-cudnn-devel-ubuntu22.04` → `12.4`; `3.11-slim` → `3.11`.
fn tag_minor(tag: &str) -> String {
    tag.split('-')
        .next()
        .unwrap_or("")
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{MemFiles, NoFiles};

    fn untranslated(d: &Draft) -> Vec<String> {
        d.notes
            .iter()
            .filter(|n| n.section == Section::Untranslated)
            .map(|n| format!("{}: {}", n.origin.as_ref().map_or(0, |o| o.line), n.text))
            .collect()
    }

    #[test]
    fn parses_continuations_comments_heredocs_and_directives() {
        let text = "# escape=`\nFROM a\nRUN apt-get install `\n  # a comment\n  -y git\nRUN <<EOF\npip install x\nEOF\nCMD [\"a\"]\n";
        let ins = parse(text).unwrap();
        assert_eq!(ins.len(), 4);
        assert_eq!(ins[1].line, 3);
        assert_eq!(ins[1].args, "apt-get install   -y git");
        assert_eq!(ins[2].heredoc.as_deref(), Some("pip install x"));
        assert_eq!(ins[3].line, 9);
        assert!(parse("FROM a\nRUN <<EOF\nx\n").is_err());
        assert!(parse("FROM a\n1RUN x\n").is_err());
    }

    #[test]
    fn arg_defaults_reach_from_and_the_last_stage_is_the_image() {
        let text = "ARG CUDA=11.8.0\nFROM nvidia/cuda:${CUDA}-devel-ubuntu22.04 AS build\nRUN make\n\
                    FROM build AS final\nRUN pip install numpy\n";
        let d = import("Dockerfile", text, &NoFiles).unwrap();
        assert_eq!(
            d.base.as_ref().unwrap().value,
            "nvidia/cuda:11.8.0-devel-ubuntu22.04"
        );
        assert_eq!(d.pip[0].value, "numpy");
        assert_eq!(untranslated(&d), ["3: make"]);
        assert!(d.cuda.is_none(), "the base already gives CUDA");
        assert!(
            d.notes
                .iter()
                .any(|n| n.section == Section::Cuda && n.text.contains("11.8"))
        );

        let text = "FROM golang AS builder\nRUN go build\nFROM python:3.11-slim\nCOPY --from=builder /out /app\n";
        let d = import("Dockerfile", text, &NoFiles).unwrap();
        assert_eq!(d.base.as_ref().unwrap().value, "python:3.11-slim");
        let u = untranslated(&d);
        assert_eq!(u.len(), 3, "{u:#?}");
        assert!(u[0].starts_with("1: FROM golang AS builder  (build stage `builder`"));
        assert!(u[2].starts_with("4: COPY --from=builder /out /app  (copies from `builder`"));
    }

    #[test]
    fn translates_run_lines() {
        let text = "FROM ubuntu:22.04\n\
            ENV TORCH=1.5.1 PATH=/opt/bin:$PATH\n\
            RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\\n\
                  build-essential git=1:2.34.1-1ubuntu1 python3.10 $EXTRA && rm -rf /var/lib/apt/lists/*\n\
            RUN pip3 install --no-cache-dir -U pip \"numpy<2\" torch==${TORCH} -r req.txt --extra-index-url https://pypi.example.com/simple\n\
            RUN git clone -b v0.6 --recursive https://github.com/facebookresearch/detectron2.git d2 && cd d2 && pip install -e .\n\
            WORKDIR /src\n\
            RUN git clone https://github.com/me/kern\n\
            RUN cd kern && git checkout abc123 && python setup.py build develop\n\
            RUN wget https://x/y.sh && bash y.sh\n\
            RUN conda env create -f env.yml\n";
        let d = import("Dockerfile", text, &NoFiles).unwrap();
        let apt: Vec<&str> = d.apt.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(apt, ["build-essential", "git=1:2.34.1-1ubuntu1"]);
        assert_eq!(d.python.as_ref().unwrap().value, "3.10");
        let pip: Vec<&str> = d.pip.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(pip, ["numpy<2", "torch==1.5.1"]);
        assert_eq!(d.env.len(), 1);
        assert_eq!(d.git.len(), 2);
        assert_eq!(d.git[0].name, "d2");
        assert_eq!(d.git[0].rev, "v0.6");
        assert!(d.git[0].submodules);
        assert_eq!(d.git[0].build[0].value, "pip install -e .");
        assert_eq!(d.git[1].rev, "abc123");
        assert_eq!(d.git[1].build[0].value, "python setup.py build develop");
        assert_eq!(d.indexes.len(), 1);
        let u = untranslated(&d);
        // `-r req.txt` becomes `[pip] requirements`, which mlr lock reads.
        let requirements: Vec<&str> = d.requirements.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(requirements, ["req.txt"]);
        assert_eq!(u.len(), 4, "{u:#?}");
        assert!(
            u[0].starts_with("2: ENV TORCH=1.5.1 PATH=/opt/bin:$PATH  (`PATH` refers"),
            "{u:#?}"
        );
        assert!(u[1].contains("not translated: `$EXTRA`"), "{u:#?}");
        assert_eq!(u[2], "10: wget https://x/y.sh && bash y.sh");
        assert!(
            u[3].contains("issue #15") && u[3].contains("mlr init --from env.yml"),
            "{u:#?}"
        );
    }

    #[test]
    fn a_named_torch_build_and_an_installed_clone() {
        // detectron2's own Dockerfile: PyTorch's find-links page names the
        // CUDA build; `pip install -e DIR` of a clone is its build step.
        let text = "FROM nvidia/cuda:11.1.1-cudnn8-devel-ubuntu18.04\n\
            RUN pip install --user torch==1.10 torchvision==0.11.1 -f https://download.pytorch.org/whl/cu111/torch_stable.html\n\
            RUN git clone https://github.com/facebookresearch/detectron2 detectron2_repo\n\
            RUN pip install --user -e detectron2_repo\n";
        let d = import("Dockerfile", text, &NoFiles).unwrap();
        assert_eq!(d.cuda.as_ref().unwrap().value, "11.1");
        assert_eq!(d.framework.len(), 2);
        assert!(d.pip.is_empty());
        assert_eq!(d.git[0].build[0].value, "pip install -e .");
        assert!(untranslated(&d).is_empty(), "{:#?}", untranslated(&d));
        assert!(
            d.notes
                .iter()
                .any(|n| n.text == "The base is CUDA 11.1 too.")
        );
    }

    #[test]
    fn image_settings() {
        let files = MemFiles(vec![("src/main.py", ""), ("setup.py", "")]);
        let text = "FROM python:3.11-slim\nWORKDIR /app\nCOPY setup.py ./\nCOPY src src\n\
                    COPY --chown=ml:ml . /app/all\nADD data.tar.gz /data\nUSER ml:ml\n\
                    ENTRYPOINT python -m app\nCMD [\"--port\", \"80\"]\nEXPOSE 80\n";
        let d = import("Dockerfile", text, &files).unwrap();
        let copy: Vec<(&str, &str)> = d
            .copy
            .iter()
            .map(|c| (c.value.0.as_str(), c.value.1.as_str()))
            .collect();
        assert_eq!(
            copy,
            [
                ("setup.py", "/app/setup.py"),
                ("src", "/app/src"),
                (".", "/app/all")
            ]
        );
        assert_eq!(d.user.as_ref().unwrap().value, "ml");
        assert_eq!(d.workdir.as_ref().unwrap().value, "/app");
        assert_eq!(
            d.entrypoint.as_ref().unwrap().value,
            ["/bin/sh", "-c", "python -m app"]
        );
        assert_eq!(d.cmd.as_ref().unwrap().value, ["--port", "80"]);
        let u = untranslated(&d);
        assert_eq!(u.len(), 2, "{u:#?}");
    }
}
