//! PEP 508 requirements and PEP 440 versions, as far as `ml.toml` needs them:
//! checking what the user wrote and writing it back without insignificant
//! whitespace, so `numpy < 2` and `numpy<2` are one requirement.

use std::fmt;

/// A parsed PEP 508 requirement such as `transformers[torch]>=4.40; python_version < "3.12"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The distribution name as written.
    pub name: String,
    pub extras: Vec<String>,
    pub version: VersionOrUrl,
    /// The environment marker, whitespace-normalized, strings double-quoted.
    pub marker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionOrUrl {
    /// Comma-separated clauses in the order written; empty for a bare name.
    Specifiers(Vec<Specifier>),
    Url(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specifier {
    /// `==`, `!=`, `<=`, `>=`, `<`, `>`, `~=` or `===`.
    pub op: String,
    pub version: String,
}

impl Requirement {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser {
            s: text,
            pos: 0,
            depth: 0,
        };
        let req = p.requirement()?;
        p.ws();
        if p.pos < p.s.len() {
            return Err(p.unexpected());
        }
        Ok(req)
    }

    /// The PEP 503 normalized name, used to compare requirements.
    pub fn normalized_name(&self) -> String {
        normalize_name(&self.name)
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.extras.is_empty() {
            write!(f, "[{}]", self.extras.join(","))?;
        }
        match &self.version {
            VersionOrUrl::Specifiers(specs) => {
                let clauses: Vec<String> = specs
                    .iter()
                    .map(|s| format!("{}{}", s.op, s.version))
                    .collect();
                f.write_str(&clauses.join(","))?;
                if let Some(m) = &self.marker {
                    write!(f, "; {m}")?;
                }
            }
            // A URL must be followed by whitespace before `;`.
            VersionOrUrl::Url(url) => {
                write!(f, " @ {url}")?;
                if let Some(m) = &self.marker {
                    write!(f, " ; {m}")?;
                }
            }
        }
        Ok(())
    }
}

/// Whether `s` is a valid distribution name (PEP 508 `identifier`).
pub fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

pub use crate::package_name::normalize as normalize_name;

/// Whether `s` is a PEP 440 version (any spelling PEP 440 normalizes, such
/// as `2.0.1`, `1.0rc1`, `2.1.0.post1`, `1!2.0`, `2.0.1+cu118`).
pub fn is_version(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    let mut c = Parser {
        s: &s,
        pos: 0,
        depth: 0,
    };
    c.eat("v");
    // Epoch or first release segment.
    if !c.digits() {
        return false;
    }
    if c.eat("!") && !c.digits() {
        return false;
    }
    while c.s[c.pos..].starts_with('.') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.pos += 1;
        c.digits();
    }
    // Pre-release.
    let save = c.pos;
    c.separator();
    if ["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"]
        .iter()
        .any(|w| c.eat(w))
    {
        c.separator();
        c.digits();
    } else {
        c.pos = save;
    }
    // Post-release: `-N` or `[sep]post[sep]N`.
    let save = c.pos;
    let dash_number = c.eat("-") && c.digits();
    if !dash_number {
        c.pos = save;
        c.separator();
        if ["post", "rev", "r"].iter().any(|w| c.eat(w)) {
            c.separator();
            c.digits();
        } else {
            c.pos = save;
        }
    }
    // Dev release.
    let save = c.pos;
    c.separator();
    if c.eat("dev") {
        c.separator();
        c.digits();
    } else {
        c.pos = save;
    }
    // Local version label.
    if c.eat("+") {
        let local = &c.s[c.pos..];
        return !local.is_empty()
            && local
                .split(['.', '-', '_'])
                .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
    c.pos == c.s.len()
}

const MARKER_VARIABLES: &[&str] = &[
    "python_version",
    "python_full_version",
    "os_name",
    "sys_platform",
    "platform_release",
    "platform_system",
    "platform_version",
    "platform_machine",
    "platform_python_implementation",
    "implementation_name",
    "implementation_version",
    "extra",
];

/// Version comparison operators, longest first so `===` wins over `==`.
const VERSION_OPS: &[&str] = &["===", "==", "!=", "<=", ">=", "~=", "<", ">"];

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    /// Parentheses open in the marker, bounded so input cannot exhaust the stack.
    depth: usize,
}

const MAX_MARKER_DEPTH: usize = 32;

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.s.as_bytes().get(self.pos + n).copied()
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn ws(&mut self) -> bool {
        let start = self.pos;
        self.take_while(|c| c == ' ' || c == '\t');
        self.pos > start
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !f(c))
            .unwrap_or(self.rest().len());
        self.pos += len;
        &self.s[start..self.pos]
    }

    fn digits(&mut self) -> bool {
        !self.take_while(|c| c.is_ascii_digit()).is_empty()
    }

    fn separator(&mut self) {
        let _ = self.eat(".") || self.eat("-") || self.eat("_");
    }

    fn unexpected(&self) -> String {
        match self.peek() {
            Some(c) => format!(
                "unexpected `{}` at character {}",
                c.escape_debug(),
                self.pos + 1
            ),
            None => "unexpected end".to_string(),
        }
    }

    fn identifier(&mut self, what: &str) -> Result<String, String> {
        let word = self.take_while(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if is_name(word) {
            Ok(word.to_string())
        } else if word.is_empty() {
            Err(format!("expected {what}, {}", self.unexpected()))
        } else {
            Err(format!("`{word}` is not a valid {what}"))
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        self.ws();
        let name = self.identifier("package name")?;
        self.ws();
        let mut extras = Vec::new();
        if self.eat("[") {
            self.ws();
            if !self.eat("]") {
                loop {
                    self.ws();
                    extras.push(self.identifier("extra name")?);
                    self.ws();
                    if self.eat("]") {
                        break;
                    }
                    if !self.eat(",") {
                        return Err(format!(
                            "expected `,` or `]` in extras, {}",
                            self.unexpected()
                        ));
                    }
                }
            }
            self.ws();
        }
        let version = if self.eat("@") {
            self.ws();
            let url = self.take_while(|c| !c.is_whitespace());
            // A URL, or a path relative to the file that names it.
            let relative = url.starts_with("./") || url.starts_with("../");
            if !url.contains(':') && !relative {
                return Err(format!("expected a URL after `@`, found `{url}`"));
            }
            let url = url.to_string();
            if !self.ws() && self.pos < self.s.len() {
                return Err(self.unexpected());
            }
            VersionOrUrl::Url(url)
        } else if self.eat("(") {
            let specs = self.specifiers()?;
            self.ws();
            if !self.eat(")") {
                return Err(format!("expected `)`, {}", self.unexpected()));
            }
            VersionOrUrl::Specifiers(specs)
        } else if self.peek().is_some_and(|c| "<>=!~".contains(c)) {
            VersionOrUrl::Specifiers(self.specifiers()?)
        } else {
            VersionOrUrl::Specifiers(Vec::new())
        };
        self.ws();
        let marker = if self.eat(";") {
            let m = self.marker_or()?;
            self.ws();
            if self.pos < self.s.len() {
                return Err(self.unexpected());
            }
            Some(m)
        } else {
            None
        };
        Ok(Requirement {
            name,
            extras,
            version,
            marker,
        })
    }

    fn specifiers(&mut self) -> Result<Vec<Specifier>, String> {
        let mut specs = Vec::new();
        loop {
            self.ws();
            let Some(op) = VERSION_OPS.iter().find(|op| self.rest().starts_with(*op)) else {
                return Err(format!(
                    "expected a version operator such as `>=` or `==`, {}",
                    self.unexpected()
                ));
            };
            self.pos += op.len();
            self.ws();
            let version = if *op == "===" {
                self.take_while(|c| !c.is_whitespace() && !",;)".contains(c))
            } else {
                self.take_while(|c| c.is_ascii_alphanumeric() || "._*+!-".contains(c))
            };
            check_clause(op, version)?;
            specs.push(Specifier {
                op: (*op).to_string(),
                version: version.to_string(),
            });
            self.ws();
            if !self.eat(",") {
                return Ok(specs);
            }
        }
    }

    fn marker_or(&mut self) -> Result<String, String> {
        let mut out = self.marker_and()?;
        while self.keyword("or") {
            out.push_str(" or ");
            out.push_str(&self.marker_and()?);
        }
        Ok(out)
    }

    fn marker_and(&mut self) -> Result<String, String> {
        let mut out = self.marker_atom()?;
        while self.keyword("and") {
            out.push_str(" and ");
            out.push_str(&self.marker_atom()?);
        }
        Ok(out)
    }

    /// Eat `word` (after whitespace) only when it is a whole word.
    fn keyword(&mut self, word: &str) -> bool {
        let save = self.pos;
        self.ws();
        if self.eat(word)
            && !self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn marker_atom(&mut self) -> Result<String, String> {
        self.ws();
        if self.eat("(") {
            self.depth += 1;
            if self.depth > MAX_MARKER_DEPTH {
                return Err("the marker is nested too deeply".to_string());
            }
            let inner = self.marker_or()?;
            self.depth -= 1;
            self.ws();
            if !self.eat(")") {
                return Err(format!("expected `)` in marker, {}", self.unexpected()));
            }
            return Ok(format!("({inner})"));
        }
        let left = self.marker_value()?;
        self.ws();
        let op = if let Some(op) = VERSION_OPS.iter().find(|op| self.rest().starts_with(*op)) {
            self.pos += op.len();
            (*op).to_string()
        } else if self.keyword("in") {
            "in".to_string()
        } else if self.keyword("not") {
            if !self.keyword("in") {
                return Err(format!("expected `in` after `not`, {}", self.unexpected()));
            }
            "not in".to_string()
        } else {
            return Err(format!("expected a marker operator, {}", self.unexpected()));
        };
        let right = self.marker_value()?;
        Ok(format!("{left} {op} {right}"))
    }

    fn marker_value(&mut self) -> Result<String, String> {
        self.ws();
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                self.pos += 1;
                let value = self.take_while(|c| c != q).to_string();
                if !self.eat(&q.to_string()) {
                    return Err("unterminated string in marker".to_string());
                }
                let quote = if value.contains('"') { '\'' } else { '"' };
                Ok(format!("{quote}{value}{quote}"))
            }
            _ => {
                let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
                if MARKER_VARIABLES.contains(&word) {
                    Ok(word.to_string())
                } else if word.is_empty() {
                    Err(format!(
                        "expected a marker variable or a quoted string, {}",
                        self.unexpected()
                    ))
                } else {
                    Err(format!("`{word}` is not a marker variable"))
                }
            }
        }
    }
}

fn check_clause(op: &str, version: &str) -> Result<(), String> {
    if version.is_empty() {
        return Err(format!("expected a version after `{op}`"));
    }
    if op == "===" {
        return Ok(());
    }
    let (base, wildcard) = match version.strip_suffix(".*") {
        Some(base) => (base, true),
        None => (version, false),
    };
    if wildcard && op != "==" && op != "!=" {
        return Err(format!(
            "`{op}{version}`: a `.*` suffix is only allowed with `==` and `!=`"
        ));
    }
    if !is_version(base) || (wildcard && base.contains('+')) {
        return Err(format!("`{version}` is not a valid version"));
    }
    if op == "~=" && !base.contains('.') {
        return Err(format!(
            "`~={version}` needs at least two version parts, like `~={version}.0`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Requirement::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalizes_whitespace() {
        assert_eq!(norm("numpy < 2"), "numpy<2");
        assert_eq!(norm("  numpy<2 "), "numpy<2");
        assert_eq!(norm("numpy (>=1.0 , <2)"), "numpy>=1.0,<2");
        assert_eq!(
            norm("Transformers [ torch , sentencepiece ] >= 4.40"),
            "Transformers[torch,sentencepiece]>=4.40"
        );
        assert_eq!(
            norm(
                "numpy<2 ;python_version<'3.12'  and (sys_platform == \"linux\" or os_name=='posix')"
            ),
            "numpy<2; python_version < \"3.12\" and (sys_platform == \"linux\" or os_name == \"posix\")"
        );
        assert_eq!(
            norm("pkg @ https://example.com/pkg-1.0.tar.gz ; extra=='x'"),
            "pkg @ https://example.com/pkg-1.0.tar.gz ; extra == \"x\""
        );
        assert_eq!(norm("lightning"), "lightning");
        assert_eq!(norm("a==1.*"), "a==1.*");
        assert_eq!(norm("a===foo-bar"), "a===foo-bar");
        assert_eq!(
            norm("pkg; python_version not  in '3.8 3.9'"),
            "pkg; python_version not in \"3.8 3.9\""
        );
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "",
            "numpy<<2",
            "-e .",
            "--index-url x",
            "git+https://x/y.git",
            "numpy>=abc",
            "numpy 2",
            "numpy[",
            "numpy[a b]",
            "a>=1.*",
            "a~=1",
            "a; foo == '1'",
            "a; python_version",
            "a @",
            "a @ x",
            "a; (python_version < '3'",
            "a; python_version < '3",
            "numpy>=1,",
            "_numpy",
            "a==1.0+local.*",
        ] {
            assert!(
                Requirement::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn deep_markers_are_rejected_not_overflowed() {
        let deep = format!(
            "a; {}python_version < '3'{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(
            Requirement::parse(&deep)
                .unwrap_err()
                .contains("nested too deeply")
        );
        let ok = format!(
            "a; {}python_version < '3'{}",
            "(".repeat(10),
            ")".repeat(10)
        );
        assert!(Requirement::parse(&ok).is_ok());
    }

    #[test]
    fn versions() {
        for good in [
            "2.0.1",
            "1.0rc1",
            "1.0.post1",
            "1.0.dev0",
            "1!2.0",
            "2.0.1+cu118",
            "v1.0",
            "1.0-1",
            "1.0a",
            "2024.1",
        ] {
            assert!(is_version(good), "{good}");
        }
        for bad in [
            "", "x", "1.", ".1", "1..2", "1.0+", "1.0+a..b", ">=1", "1.0 ", "1,0", "1.0-", "1.0.x",
        ] {
            assert!(!is_version(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(is_name("torch") && is_name("jax.lib") && is_name("A1"));
        assert!(!is_name("-torch") && !is_name("torch_") && !is_name("") && !is_name("tor ch"));
        assert_eq!(normalize_name("Foo__Bar.baz"), "foo-bar-baz");
    }
}
