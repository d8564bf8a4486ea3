//! Conda `environment.yml`: `name` → the project name, `python=3.X` → the
//! `[python] version`, the `pip:` list → `[pip] packages` (read as a
//! requirements file), `variables` → `[env]`. Channels and conda packages
//! are comments: mlr does not install conda packages yet (issue #15).
//!
//! The file is read by a small reader of the YAML these files use (block
//! mappings and sequences, plain and quoted scalars, flow sequences), not
//! by a YAML library: mlr has no YAML dependency, and this subset is all
//! `conda env export` and hand-written environment files hold. Anything
//! else is an error with its line and column.

use super::requirements::Reader;
use super::{Draft, Files, ImportError, Item, Origin, Section};
use crate::manifest::syntax;

/// A YAML node of the subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Null,
    Scalar(String),
    /// Items and their 1-based lines.
    List(Vec<(usize, Node)>),
    /// Keys, their 1-based lines, and values.
    Map(Vec<(String, usize, Node)>),
}

/// One meaningful line: its number, indentation, content without comment,
/// and byte offset of the content.
#[derive(Debug, Clone)]
struct Line<'a> {
    number: usize,
    indent: usize,
    content: &'a str,
    offset: usize,
}

/// Parses the YAML subset.
pub fn parse(text: &str) -> Result<Node, ImportError> {
    let mut lines = Vec::new();
    let mut offset = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let line_offset = offset;
        offset += raw.len() + 1;
        let raw = raw.trim_end_matches('\r');
        let body = strip_comment(raw).trim_end();
        let trimmed = body.trim_start();
        if trimmed.is_empty() || (i == 0 || lines.is_empty()) && trimmed == "---" {
            continue;
        }
        let indent_text = &body[..body.len() - trimmed.len()];
        if let Some(tab) = indent_text.find('\t') {
            return Err(ImportError::at(
                line_offset + tab,
                "a tab in the indentation: YAML indents with spaces",
            ));
        }
        if trimmed == "---" || trimmed == "..." {
            return Err(ImportError::at(
                line_offset,
                "a second YAML document: an environment file has one",
            ));
        }
        lines.push(Line {
            number: i + 1,
            indent: indent_text.len(),
            content: trimmed,
            offset: line_offset + indent_text.len(),
        });
    }
    let mut p = Parser { lines, pos: 0 };
    if p.lines.is_empty() {
        return Ok(Node::Null);
    }
    let indent = p.lines[0].indent;
    let node = p.block(indent)?;
    if let Some(l) = p.lines.get(p.pos) {
        return Err(ImportError::at(l.offset, "unexpected indentation"));
    }
    Ok(node)
}

/// The text before a ` #` comment that is outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (None, b'\'' | b'"')
                if i == 0 || matches!(bytes[i - 1], b' ' | b'-' | b':' | b'[' | b',') =>
            {
                quote = Some(b)
            }
            (Some(q), b) if b == q => quote = None,
            (None, b'#') if i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t' => {
                return &line[..i];
            }
            _ => {}
        }
    }
    line
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

impl Parser<'_> {
    /// A block at `indent`: a sequence when it starts with `-`, else a mapping.
    fn block(&mut self, indent: usize) -> Result<Node, ImportError> {
        let first = &self.lines[self.pos];
        if is_item(first.content) {
            self.sequence(indent)
        } else {
            self.mapping(indent)
        }
    }

    fn sequence(&mut self, indent: usize) -> Result<Node, ImportError> {
        let mut items = Vec::new();
        while let Some(line) = self.lines.get(self.pos).cloned() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return Err(ImportError::at(line.offset, "unexpected indentation"));
            }
            if !is_item(line.content) {
                break;
            }
            self.pos += 1;
            let rest = line.content[1..].trim_start();
            let rest_offset = line.offset + (line.content.len() - rest.len());
            let node = if rest.is_empty() {
                self.nested(indent, false)?
            } else if let Some((key, value)) = split_key(rest) {
                // `- key: value`: a one-entry mapping (what `- pip:` is).
                let key = scalar(key, rest_offset)?;
                let value = if value.is_empty() {
                    self.nested(indent, false)?
                } else {
                    value_node(value, rest_offset + (rest.len() - value.len()))?
                };
                Node::Map(vec![(key, line.number, value)])
            } else {
                value_node(rest, rest_offset)?
            };
            items.push((line.number, node));
        }
        Ok(Node::List(items))
    }

    fn mapping(&mut self, indent: usize) -> Result<Node, ImportError> {
        let mut entries: Vec<(String, usize, Node)> = Vec::new();
        while let Some(line) = self.lines.get(self.pos).cloned() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return Err(ImportError::at(line.offset, "unexpected indentation"));
            }
            let Some((key, value)) = split_key(line.content) else {
                return Err(ImportError::at(line.offset, "expected `key: value`"));
            };
            self.pos += 1;
            let key = scalar(key, line.offset)?;
            if entries.iter().any(|(k, _, _)| *k == key) {
                return Err(ImportError::at(
                    line.offset,
                    format!("duplicate key `{key}`"),
                ));
            }
            let node = if value.is_empty() {
                self.nested(indent, true)?
            } else {
                value_node(value, line.offset + (line.content.len() - value.len()))?
            };
            entries.push((key, line.number, node));
        }
        Ok(Node::Map(entries))
    }

    /// The block under a `key:` or `-` with nothing after it: deeper
    /// lines, or (for a key) a sequence at the key's own indentation.
    fn nested(&mut self, indent: usize, same_level_list: bool) -> Result<Node, ImportError> {
        match self.lines.get(self.pos) {
            Some(l) if l.indent > indent => {
                let i = l.indent;
                self.block(i)
            }
            Some(l) if same_level_list && l.indent == indent && is_item(l.content) => {
                self.sequence(indent)
            }
            _ => Ok(Node::Null),
        }
    }
}

fn is_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// `key: value` (value may be empty); a `:` must be followed by a space or
/// end the line, so `python=3.10:x` or a URL is not a key.
fn split_key(content: &str) -> Option<(&str, &str)> {
    let mut quote = None;
    for (i, c) in content.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') if i == 0 => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ':') => {
                let after = &content[i + 1..];
                if after.is_empty() || after.starts_with(' ') {
                    return Some((content[..i].trim_end(), after.trim()));
                }
            }
            _ => {}
        }
    }
    None
}

/// A value on the same line: a flow sequence or a scalar.
fn value_node(text: &str, offset: usize) -> Result<Node, ImportError> {
    if let Some(inner) = text.strip_prefix('[') {
        let Some(inner) = inner.strip_suffix(']') else {
            return Err(ImportError::at(
                offset,
                "a flow sequence `[` without its `]`",
            ));
        };
        let items = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| scalar(s, offset).map(|v| (0, Node::Scalar(v))))
            .collect::<Result<_, _>>()?;
        return Ok(Node::List(items));
    }
    if text.starts_with('{') {
        return Err(ImportError::at(
            offset,
            "flow mappings `{...}` are not read here",
        ));
    }
    if matches!(text, "~" | "null") {
        return Ok(Node::Null);
    }
    Ok(Node::Scalar(scalar(text, offset)?))
}

/// A plain, `'single'` or `"double"` quoted scalar.
fn scalar(text: &str, offset: usize) -> Result<String, ImportError> {
    if let Some(inner) = text.strip_prefix('\'') {
        return inner
            .strip_suffix('\'')
            .map(|s| s.replace("''", "'"))
            .ok_or_else(|| ImportError::at(offset, "a quoted string without its closing `'`"));
    }
    if let Some(inner) = text.strip_prefix('"') {
        let Some(inner) = inner.strip_suffix('"') else {
            return Err(ImportError::at(
                offset,
                "a quoted string without its closing `\"`",
            ));
        };
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(c) => out.push(c),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        return Ok(out);
    }
    Ok(text.to_string())
}

/// Reads an `environment.yml` into a draft.
pub fn import(input: &str, text: &str, files: &dyn Files) -> Result<Draft, ImportError> {
    let Node::Map(entries) = parse(text)? else {
        return Err(ImportError::whole(
            "expected a mapping with `name`, `channels` and `dependencies`",
        ));
    };
    let mut draft = Draft::new(input);
    let mut reader = Reader::new(files);
    let origin = |line: usize| Origin::new(input, line);
    for (key, line, node) in entries {
        match (key.as_str(), node) {
            ("name", Node::Scalar(name)) => draft.set_name(&name, Some(origin(line))),
            ("channels", Node::List(items)) => {
                let names: Vec<String> = items
                    .into_iter()
                    .filter_map(|(_, n)| match n {
                        Node::Scalar(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                draft.untranslated(
                    Some(origin(line)),
                    format!(
                        "channels: {}  (conda is not supported yet: issue #15)",
                        names.join(", ")
                    ),
                );
            }
            ("dependencies", Node::List(items)) => {
                for (item_line, node) in items {
                    dependency(&mut draft, &mut reader, input, item_line, node);
                }
            }
            ("variables", Node::Map(vars)) => {
                for (k, l, v) in vars {
                    let value = match v {
                        Node::Scalar(s) => s,
                        _ => String::new(),
                    };
                    let ok = syntax::env_key(&k).is_ok() && !value.chars().any(|c| c.is_control());
                    if ok {
                        draft.env.push((k, Item::new(value, Some(origin(l)))));
                    } else {
                        draft.untranslated(Some(origin(l)), format!("{k}: {value}"));
                    }
                }
            }
            ("prefix", _) => draft.note(
                Section::Project,
                Some(origin(line)),
                "prefix: dropped; mlr installs into its own venv",
            ),
            (key, _) => draft.untranslated(Some(origin(line)), format!("{key}:  (not read)")),
        }
    }
    reader.finish(&mut draft);
    Ok(draft)
}

fn dependency(draft: &mut Draft, reader: &mut Reader, input: &str, line: usize, node: Node) {
    let origin = Origin::new(input, line);
    match node {
        Node::Scalar(spec) => conda_package(draft, &spec, origin),
        Node::Map(entries) if entries.len() == 1 && entries[0].0 == "pip" => {
            let Node::List(items) = &entries[0].2 else {
                return;
            };
            for (l, n) in items {
                match n {
                    Node::Scalar(req) => reader.line(draft, req, Origin::new(input, *l), ""),
                    _ => {
                        draft.untranslated(Some(Origin::new(input, *l)), "(not a pip requirement)")
                    }
                }
            }
        }
        _ => draft.untranslated(Some(origin), "(not a conda package)"),
    }
}

/// A conda package spec: `python=3.10` sets the Python; `pip` is implied;
/// the rest are comments.
fn conda_package(draft: &mut Draft, spec: &str, origin: Origin) {
    let spec_name = spec.rsplit("::").next().unwrap_or(spec);
    let end = spec_name
        .find(|c: char| "=<>!~ ".contains(c))
        .unwrap_or(spec_name.len());
    let (name, version) = spec_name.split_at(end);
    let version = version.trim();
    match name {
        "pip" => {}
        "python" => {
            let exact = version
                .strip_prefix("==")
                .or_else(|| version.strip_prefix('='))
                .map(|v| v.trim_end_matches(".*").split('=').next().unwrap_or(""));
            match exact {
                Some(v) if draft.set_python(v, Some(origin.clone())).is_ok() => {}
                _ => draft.note(
                    Section::Python,
                    Some(origin),
                    format!("{spec}: pins no minor version; mlr uses the base image's Python"),
                ),
            }
        }
        "cudatoolkit" | "cuda-version" | "pytorch-cuda" | "cuda" => draft.untranslated(
            Some(origin),
            format!(
                "{spec}  (conda is not supported yet: issue #15; with torch pinned in \
                 [framework], a [cuda] version picks its CUDA build)"
            ),
        ),
        "pytorch" | "torchvision" | "torchaudio" => {
            let pip_name = if name == "pytorch" { "torch" } else { name };
            let exact = version
                .trim_start_matches('=')
                .split('=')
                .next()
                .unwrap_or("");
            let hint = if crate::manifest::pep508::is_version(exact) {
                format!("; from pip: [framework] {pip_name} = \"{exact}\"")
            } else {
                String::new()
            };
            draft.untranslated(
                Some(origin),
                format!("{spec}  (a conda package; conda is not supported yet: issue #15{hint})"),
            );
        }
        _ => draft.untranslated(
            Some(origin),
            format!("{spec}  (a conda package; conda is not supported yet: issue #15)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{MemFiles, NoFiles};

    #[test]
    fn reads_the_environment_subset() {
        let text = "name: esm # a comment\nchannels:\n  - pytorch\n  - conda-forge\ndependencies:\n\
                    - python=3.9\n- 'pytorch::pytorch=1.12'\n- pip\n- pip:\n  - \"numpy<2\"\n  - -r extra.txt\n\
                    variables: {}\n";
        assert!(parse(text).is_err(), "flow mappings are refused");
        let text = text.replace("variables: {}\n", "flags: [a, 'b c']\n");
        let node = parse(&text).unwrap();
        let Node::Map(entries) = node else { panic!() };
        assert_eq!(entries[0], ("name".into(), 1, Node::Scalar("esm".into())));
        assert_eq!(
            entries[3].2,
            Node::List(vec![
                (0, Node::Scalar("a".into())),
                (0, Node::Scalar("b c".into()))
            ])
        );
        let Node::List(deps) = &entries[2].2 else {
            panic!()
        };
        assert_eq!(deps.len(), 4);
        assert_eq!(deps[1].1, Node::Scalar("pytorch::pytorch=1.12".into()));
    }

    #[test]
    fn errors_have_a_place() {
        let e = parse("name: x\n  bad: 1\n").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (Some(10), "unexpected indentation")
        );
        let e = parse("name: x\n\tdeps: 1\n").unwrap_err();
        assert_eq!(e.offset, Some(8));
        let e = parse("name: 'x\n").unwrap_err();
        assert!(e.message.contains("closing"));
        let e = parse("name: x\njust text\n").unwrap_err();
        assert_eq!(e.message, "expected `key: value`");
    }

    #[test]
    fn translates_python_pip_and_variables() {
        let files = MemFiles(vec![("extra.txt", "rich\n")]);
        let text = "name: My Env\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.10.*\n  - cudatoolkit=11.8\n  - numpy\n  - pip\n  - pip:\n    - torch==2.0.1\n    - -r extra.txt\nvariables:\n  HF_HOME: /data/hf\n";
        let d = import("environment.yml", text, &files).unwrap();
        assert_eq!(d.name.as_ref().unwrap().value, "my-env");
        assert_eq!(d.python.as_ref().unwrap().value, "3.10");
        assert_eq!(d.framework[0].1.value, "2.0.1");
        assert_eq!(d.cuda.as_ref().unwrap().value, "11.7");
        assert_eq!(d.pip[0].value, "rich");
        assert_eq!(d.env[0].0, "HF_HOME");
        assert_eq!(d.untranslated_count(), 3);
        let _ = import("e.yml", "- a\n", &NoFiles).unwrap_err();
    }
}
