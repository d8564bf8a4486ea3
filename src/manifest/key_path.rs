//! Paths into a TOML document (`pip.index[0].url`) and the byte spans they
//! name, so that problems found after deserializing still point at
//! `LINE:COL`, and serde's spans can be named in messages.

use std::fmt;
use std::ops::Range;

use toml_edit::{Item, Key, Table, TableLike, Value};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Which part of a `key = value` pair a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

impl KeyPath {
    pub fn root() -> Self {
        KeyPath::default()
    }

    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Each key, `None` for an array index: `pip.index[0]` is
    /// `[Some("pip"), Some("index"), None]`.
    pub fn keys(&self) -> Vec<Option<&str>> {
        self.0
            .iter()
            .map(|s| match s {
                Segment::Key(k) => Some(k.as_str()),
                Segment::Index(_) => None,
            })
            .collect()
    }

    /// `a`, `a.b`, `a.b[0]` for `a.b[0]`.
    pub fn prefixes(&self) -> impl Iterator<Item = KeyPath> + '_ {
        (1..=self.0.len()).map(|n| KeyPath(self.0[..n].to_vec()))
    }

    pub fn last_key(&self) -> Option<&str> {
        match self.0.last()? {
            Segment::Key(k) => Some(k),
            Segment::Index(_) => None,
        }
    }

    pub fn parent(&self) -> KeyPath {
        let mut p = self.clone();
        p.0.pop();
        p
    }

    /// The path without array indexes, as a table header names it:
    /// `pip.index`, `git.flash-attention`.
    pub fn header(&self) -> String {
        let keys: Vec<String> = self
            .0
            .iter()
            .filter_map(|s| match s {
                Segment::Key(k) => Some(quote_key(k)),
                Segment::Index(_) => None,
            })
            .collect();
        keys.join(".")
    }

    /// The byte span of the key or the value at this path in `root`; the
    /// nearest enclosing span that exists when the path does not.
    pub fn span_in(&self, root: &Table, target: Target) -> Option<Range<usize>> {
        let mut node = Node::Table(root);
        let mut best = None;
        for (i, segment) in self.0.iter().enumerate() {
            let last = i + 1 == self.0.len();
            let (key, child) = match segment {
                Segment::Key(k) => match node.child(k) {
                    Some((key, child)) => (Some(key), child),
                    None => break,
                },
                Segment::Index(n) => match node.element(*n) {
                    Some(child) => (None, child),
                    None => break,
                },
            };
            let key_span = key.and_then(Key::span);
            best = match (last, target) {
                (true, Target::Key) => key_span.or(child.span()).or(best),
                _ => child.span().or(key_span).or(best),
            };
            node = child;
        }
        best
    }

    /// The node at this path in `root`.
    pub fn node<'a>(&self, root: &'a Table) -> Option<Node<'a>> {
        let mut node = Node::Table(root);
        for segment in &self.0 {
            node = match segment {
                Segment::Key(k) => node.child(k)?.1,
                Segment::Index(n) => node.element(*n)?,
            };
        }
        Some(node)
    }

    /// The node whose key or value has exactly `span`, with its path.
    pub fn find<'a>(root: &'a Table, span: &Range<usize>) -> Option<(KeyPath, Node<'a>)> {
        fn walk<'a>(
            node: Node<'a>,
            path: &KeyPath,
            span: &Range<usize>,
        ) -> Option<(KeyPath, Node<'a>)> {
            for (seg, key, child) in node.children() {
                let child_path = match seg {
                    Segment::Key(k) => path.key(&k),
                    Segment::Index(i) => path.index(i),
                };
                let same = child.span().as_ref() == Some(span)
                    || key.and_then(Key::span).as_ref() == Some(span);
                let contains = child
                    .span()
                    .is_none_or(|s| s.start <= span.start && span.end <= s.end);
                // Tables' spans cover only their headers, so always descend
                // into them; and prefer the deepest node with the span (the
                // `[[pip.index]]` table over the array holding it).
                if same || contains || child.is_header_table() {
                    if let Some(found) = walk(child, &child_path, span) {
                        return Some(found);
                    }
                }
                if same {
                    return Some((child_path, child));
                }
            }
            None
        }
        walk(Node::Table(root), &KeyPath::root(), span)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) if i == 0 => f.write_str(&quote_key(k))?,
                Segment::Key(k) => write!(f, ".{}", quote_key(k))?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A key as TOML would need it written: bare when it can be.
fn quote_key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.len() <= 64
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        k.to_string()
    } else {
        let short: String = k.chars().take(64).collect();
        format!("{short:?}")
    }
}

/// One place in a parsed document.
#[derive(Clone, Copy)]
pub enum Node<'a> {
    Item(&'a Item),
    Value(&'a Value),
    Table(&'a Table),
}

impl<'a> Node<'a> {
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Item(i) => i.span(),
            Node::Value(v) => v.span(),
            Node::Table(t) => t.span(),
        }
    }

    fn table_like(&self) -> Option<&'a dyn TableLike> {
        match *self {
            Node::Item(i) => i.as_table_like(),
            Node::Value(v) => v.as_inline_table().map(|t| t as &dyn TableLike),
            Node::Table(t) => Some(t),
        }
    }

    fn child(&self, key: &str) -> Option<(&'a Key, Node<'a>)> {
        let (k, item) = self.table_like()?.get_key_value(key)?;
        Some((k, Node::Item(item)))
    }

    fn element(&self, n: usize) -> Option<Node<'a>> {
        match *self {
            Node::Item(Item::ArrayOfTables(a)) => a.get(n).map(Node::Table),
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                a.get(n).map(Node::Value)
            }
            _ => None,
        }
    }

    fn children(&self) -> Vec<(Segment, Option<&'a Key>, Node<'a>)> {
        if let Some(t) = self.table_like() {
            return t
                .iter()
                .filter_map(|(k, _)| {
                    let (key, item) = t.get_key_value(k)?;
                    Some((Segment::Key(k.to_string()), Some(key), Node::Item(item)))
                })
                .collect();
        }
        (0..)
            .map_while(|n| self.element(n).map(|c| (Segment::Index(n), None, c)))
            .collect()
    }

    /// What the user wrote, for "found an integer".
    pub fn describe(&self) -> &'static str {
        let value = match *self {
            Node::Item(Item::Value(v)) | Node::Value(v) => v,
            Node::Item(Item::ArrayOfTables(_)) => return "an array of tables",
            Node::Item(_) | Node::Table(_) => return "a table",
        };
        match value {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Array(_) => "an array",
            Value::InlineTable(_) => "a table",
        }
    }

    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Node::Item(Item::Value(Value::String(s))) | Node::Value(Value::String(s)) => {
                Some(s.value())
            }
            _ => None,
        }
    }

    pub fn is_array(&self) -> bool {
        matches!(
            self,
            Node::Item(Item::ArrayOfTables(_) | Item::Value(Value::Array(_)))
                | Node::Value(Value::Array(_))
        )
    }

    /// Whether this is a `[header]` or `[[header]]` table (not an inline one).
    pub fn is_header_table(&self) -> bool {
        matches!(
            self,
            Node::Table(_) | Node::Item(Item::Table(_) | Item::ArrayOfTables(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "[pip]\npackages = [\"a\", \"b\"]\n[[pip.index]]\nname = \"x\"\n[git.\"my repo\"]\nurl = 1\n[image]\nhealthcheck = { cmd = \"x\" }\n";

    fn span_text(path: &KeyPath, target: Target) -> &'static str {
        let doc = toml_edit::Document::parse(DOC).unwrap();
        let span = path.span_in(doc.as_table(), target).unwrap();
        &DOC[span]
    }

    #[test]
    fn spans_of_paths() {
        let root = KeyPath::root();
        assert_eq!(
            span_text(&root.key("pip").key("packages").index(1), Target::Value),
            "\"b\""
        );
        assert_eq!(
            span_text(&root.key("pip").key("packages"), Target::Key),
            "packages"
        );
        assert_eq!(
            span_text(
                &root.key("pip").key("index").index(0).key("name"),
                Target::Value
            ),
            "\"x\""
        );
        assert_eq!(
            span_text(&root.key("git").key("my repo"), Target::Key),
            "\"my repo\""
        );
        // Missing keys fall back to the enclosing table.
        assert_eq!(
            span_text(
                &root.key("pip").key("index").index(0).key("url"),
                Target::Value
            ),
            "[[pip.index]]"
        );
        assert_eq!(
            span_text(
                &root.key("image").key("healthcheck").key("cmd"),
                Target::Value
            ),
            "\"x\""
        );
    }

    #[test]
    fn paths_of_spans() {
        let doc = toml_edit::Document::parse(DOC).unwrap();
        let at = |needle: &str| {
            let start = DOC.find(needle).unwrap();
            let (path, _) = KeyPath::find(doc.as_table(), &(start..start + needle.len())).unwrap();
            path.to_string()
        };
        assert_eq!(at("\"b\""), "pip.packages[1]");
        assert_eq!(at("1"), "git.\"my repo\".url");
        assert_eq!(at("\"x\""), "pip.index[0].name");
    }
}
