//! A [`Draft`] rendered as `ml.toml`: the header `mlr init` writes, then
//! each table with its comments. Every key and value is built with
//! `toml_edit` (so quoting is TOML's, whatever the input held); comments
//! are one line each, control characters replaced and credentials in URLs
//! masked.

use std::fmt::Write as _;

use super::{DEFAULT_BASE, Draft, GitSketch, IndexSketch, Item, Note, Origin, Section, SourceKind};
use crate::ops::init::SCHEMA_PATH;

/// The commented `ml.toml` for `draft`, named `name`.
pub fn manifest(draft: &Draft, kind: SourceKind, name: &str) -> String {
    let mut w = Writer::default();
    let _ = writeln!(w.out, "#:schema ./{SCHEMA_PATH}");
    w.comment("ml.toml: what this environment needs. `mlr lock` pins every moving part");
    w.comment("into ml.lock; `mlr build` builds the image from the lock alone.");
    w.comment("");
    w.wrapped(&format!(
        "Translated from {} ({}) by `mlr init --from`. Each value names the line \
         it comes from; what could not be translated is listed as comments. Review \
         them, then run `mlr lock`.",
        draft.input,
        kind.describe()
    ));

    w.table("project");
    w.notes(draft, Section::Project);
    w.key_value(
        "name",
        name,
        draft.name.as_ref().and_then(|n| n.origin.as_ref()),
    );
    let platforms: Vec<&str> = if draft.platforms.is_empty() {
        vec!["linux/amd64"]
    } else {
        draft.platforms.iter().map(|p| p.value.as_str()).collect()
    };
    let origin = draft.platforms.first().and_then(|p| p.origin.as_ref());
    w.key_value("platforms", array(&platforms), origin);

    w.table("base");
    w.notes(draft, Section::Base);
    match &draft.base {
        Some(base) => w.item("image", base),
        None => {
            w.wrapped(&format!(
                "{} names no base image: this is the one `mlr init` writes.",
                draft.input
            ));
            if draft.cuda.is_some() {
                w.wrapped("Without [base], the [cuda] version picks an nvidia/cuda image.");
            }
            w.key_value("image", DEFAULT_BASE, None);
        }
    }

    w.scalar_table("cuda", "version", draft.cuda.as_ref(), draft, Section::Cuda);
    w.scalar_table(
        "python",
        "version",
        draft.python.as_ref(),
        draft,
        Section::Python,
    );

    if !draft.framework.is_empty() || w.has_notes(draft, Section::Framework) {
        w.table_or_comment("framework", !draft.framework.is_empty());
        w.notes(draft, Section::Framework);
        for (name, version) in &draft.framework {
            w.item(name, version);
        }
    }

    if !draft.apt.is_empty() || w.has_notes(draft, Section::Apt) {
        w.table_or_comment("apt", !draft.apt.is_empty());
        w.notes(draft, Section::Apt);
        w.list("packages", &draft.apt);
    }

    let pip = !draft.pip.is_empty() || draft.index_url.is_some() || !draft.requirements.is_empty();
    if pip || w.has_notes(draft, Section::Pip) || !draft.indexes.is_empty() {
        w.table_or_comment("pip", pip);
        w.notes(draft, Section::Pip);
        if let Some(url) = &draft.index_url {
            w.item("index-url", url);
        }
        w.list("requirements", &draft.requirements);
        w.list("packages", &draft.pip);
        if !draft.indexes.is_empty() {
            w.blank();
            w.wrapped(
                "pip takes any package from any index; mlr takes each package from one \
                 index. Name the packages each index below serves, and uncomment it.",
            );
        }
        for (i, index) in draft.indexes.iter().enumerate() {
            if i > 0 {
                w.blank();
            }
            w.index_sketch(index);
        }
    }

    if !draft.git.is_empty() || w.has_notes(draft, Section::Git) {
        w.blank();
        w.notes(draft, Section::Git);
        for git in &draft.git {
            w.git_sketch(git);
        }
    }

    if !draft.env.is_empty() || w.has_notes(draft, Section::Env) {
        w.table_or_comment("env", !draft.env.is_empty());
        w.notes(draft, Section::Env);
        for (key, value) in &draft.env {
            w.item(key, value);
        }
    }

    let image = draft.user.is_some()
        || draft.workdir.is_some()
        || draft.entrypoint.is_some()
        || draft.cmd.is_some()
        || !draft.copy.is_empty();
    if image || w.has_notes(draft, Section::Image) {
        w.table_or_comment("image", image);
    }
    w.notes(draft, Section::Image);
    if let Some(user) = &draft.user {
        w.item("user", user);
    }
    if let Some(workdir) = &draft.workdir {
        w.item("workdir", workdir);
    }
    for (key, args) in [("entrypoint", &draft.entrypoint), ("cmd", &draft.cmd)] {
        if let Some(args) = args {
            let list: Vec<&str> = args.value.iter().map(String::as_str).collect();
            w.key_value(key, array(&list), args.origin.as_ref());
        }
    }
    if !draft.copy.is_empty() {
        let items: Vec<(toml_edit::Value, Option<&Origin>)> = draft
            .copy
            .iter()
            .map(|c| {
                let mut t = toml_edit::InlineTable::new();
                t.insert("src", c.value.0.as_str().into());
                t.insert("dst", c.value.1.as_str().into());
                (toml_edit::Value::InlineTable(t), c.origin.as_ref())
            })
            .collect();
        w.multiline("copy", &items);
    }

    for (profile, packages) in &draft.profiles {
        w.table(&format!("profile.{}", key(profile)));
        w.list("pip", packages);
    }
    if w.has_notes(draft, Section::Profile) {
        w.blank();
        w.notes(draft, Section::Profile);
    }

    if w.has_notes(draft, Section::Untranslated) {
        w.blank();
        w.wrapped(&format!(
            "Not translated: the lines of {} below have no ml.toml equivalent yet, \
             or need a decision. Review each.",
            draft.input
        ));
        w.notes(draft, Section::Untranslated);
    }
    w.out
}

#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn blank(&mut self) {
        if !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn table(&mut self, header: &str) {
        self.blank();
        let _ = writeln!(self.out, "[{header}]");
    }

    /// A table header, or, when it would hold no key, the same as a comment.
    fn table_or_comment(&mut self, header: &str, has_values: bool) {
        if has_values {
            self.table(header);
        } else {
            self.blank();
            let _ = writeln!(self.out, "# [{header}]");
        }
    }

    /// `[name] key = value` with its notes; only the notes when there is no value.
    fn scalar_table(
        &mut self,
        header: &str,
        key: &str,
        value: Option<&Item<String>>,
        draft: &Draft,
        section: Section,
    ) {
        if value.is_none() && !self.has_notes(draft, section) {
            return;
        }
        self.table_or_comment(header, value.is_some());
        self.notes(draft, section);
        if let Some(v) = value {
            self.item(key, v);
        }
    }

    fn comment(&mut self, text: &str) {
        let text = comment_text(text);
        if text.is_empty() {
            self.out.push_str("#\n");
        } else {
            let _ = writeln!(self.out, "# {text}");
        }
    }

    /// A comment wrapped at 76 columns.
    fn wrapped(&mut self, text: &str) {
        let text = comment_text(text);
        let mut line = String::new();
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            if !line.is_empty() && line.len() + 1 + word.len() > 76 {
                self.comment(&line);
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            self.comment(&line);
        }
    }

    fn has_notes(&self, draft: &Draft, section: Section) -> bool {
        draft.notes.iter().any(|n| n.section == section)
    }

    fn notes(&mut self, draft: &Draft, section: Section) {
        for note in draft.notes.iter().filter(|n| n.section == section) {
            self.note(note);
        }
    }

    /// A note that quotes a line keeps it whole; an explanation is wrapped.
    fn note(&mut self, note: &Note) {
        match &note.origin {
            Some(origin) => self.comment(&format!("{origin}: {}", note.text)),
            None => self.wrapped(&note.text),
        }
    }

    fn key_value(&mut self, k: &str, v: impl Into<toml_edit::Value>, origin: Option<&Origin>) {
        let _ = write!(self.out, "{} = {}", key(k), value(v));
        self.origin(origin);
    }

    fn item(&mut self, k: &str, item: &Item<String>) {
        self.key_value(k, item.value.as_str(), item.origin.as_ref());
    }

    fn origin(&mut self, origin: Option<&Origin>) {
        match origin {
            Some(o) => {
                let _ = writeln!(self.out, "  # {}", comment_text(&o.to_string()));
            }
            None => self.out.push('\n'),
        }
    }

    fn list(&mut self, k: &str, items: &[Item<String>]) {
        let items: Vec<(toml_edit::Value, Option<&Origin>)> = items
            .iter()
            .map(|i| (i.value.as_str().into(), i.origin.as_ref()))
            .collect();
        self.multiline(k, &items);
    }

    /// `key = [` one value a line, each with the line it comes from `]`.
    fn multiline(&mut self, k: &str, items: &[(toml_edit::Value, Option<&Origin>)]) {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(self.out, "{} = [", key(k));
        for (v, origin) in items {
            let _ = write!(self.out, "    {},", value(v.clone()));
            self.origin(*origin);
        }
        self.out.push_str("]\n");
    }

    /// `lines` (TOML written by another [`Writer`]) as comments.
    fn commented(&mut self, lines: &str) {
        for line in lines.lines() {
            if line.is_empty() {
                self.out.push_str("#\n");
            } else if line.starts_with('#') {
                let _ = writeln!(self.out, "{line}");
            } else {
                let _ = writeln!(self.out, "# {line}");
            }
        }
    }

    fn index_sketch(&mut self, index: &IndexSketch) {
        let mut t = Writer::default();
        t.out.push_str("[[pip.index]]\n");
        t.key_value("name", index.name.as_str(), None);
        t.key_value("url", index.url.as_str(), index.origin.as_ref());
        let packages: Vec<&str> = index.packages.iter().map(String::as_str).collect();
        t.key_value("packages", array(&packages), None);
        self.commented(&t.out);
    }

    fn git_sketch(&mut self, git: &GitSketch) {
        let mut t = Writer::default();
        let _ = writeln!(t.out, "[git.{}]", key(&git.name));
        t.key_value("url", git.url.as_str(), git.origin.as_ref());
        t.key_value("rev", git.rev.as_str(), None);
        if git.submodules {
            t.key_value("submodules", true, None);
        }
        let steps: Vec<(toml_edit::Value, Option<&Origin>)> = git
            .build
            .iter()
            .map(|s| (s.value.as_str().into(), s.origin.as_ref()))
            .collect();
        t.multiline("build", &steps);
        self.blank();
        self.commented(&t.out);
    }
}

/// A key as TOML writes it: bare when it can be, quoted otherwise.
fn key(k: &str) -> String {
    toml_edit::Key::new(k).display_repr().to_string()
}

fn value(v: impl Into<toml_edit::Value>) -> String {
    let mut v = v.into();
    v.decor_mut().clear();
    v.to_string()
}

fn array(items: &[&str]) -> toml_edit::Value {
    let mut a = toml_edit::Array::new();
    for i in items {
        a.push(*i);
    }
    toml_edit::Value::Array(a)
}

/// One line of comment text: control characters as spaces, credentials
/// in URLs masked, trailing white space cut.
fn comment_text(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::redact::redact_text(one_line.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_by_toml_and_comments_stay_comments() {
        let mut d = Draft::new("Dockerfile");
        d.env.push((
            "QUOTE".into(),
            Item::new(
                "say \"hi\"\\ 'there'".into(),
                Some(Origin::new("Dockerfile", 3)),
            ),
        ));
        d.env
            .push(("weird key".into(), Item::new("x".into(), None)));
        d.untranslated(
            Some(Origin::new("Dockerfile", 9)),
            "RUN echo evil\n[pip]\npackages = [\"x\"]",
        );
        d.untranslated(
            Some(Origin::new("Dockerfile", 10)),
            "pip install --extra-index-url https://bob:s3cret@pypi.example/simple x",
        );
        let text = manifest(&d, SourceKind::Dockerfile, "demo");
        let doc: toml_edit::DocumentMut = text.parse().expect(&text);
        assert_eq!(doc["env"]["QUOTE"].as_str(), Some("say \"hi\"\\ 'there'"));
        assert_eq!(doc["env"]["weird key"].as_str(), Some("x"));
        assert!(doc.get("pip").is_none(), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("# Dockerfile:3") || text.contains("  # Dockerfile:3"));
    }
}
