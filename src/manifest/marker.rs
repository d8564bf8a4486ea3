//! PEP 508 environment markers evaluated for a locked interpreter, as far
//! as the lock knows it: `python_version`, the Linux/CPython constants and
//! the machine. What the lock cannot know (`python_full_version`'s patch,
//! `platform_release`, an `extra`) is unknown, and so is any marker that
//! depends on it: three-valued, so only a marker that is false whatever the
//! unknowns are counts as false.

use std::cmp::Ordering;

use crate::compat::version::cmp_versions;

/// The Python machine name (`platform_machine`, the wheel tag's) for a
/// container platform architecture.
pub fn python_machine(architecture: &str) -> Option<&'static str> {
    Some(match architecture {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        "386" => "i686",
        "riscv64" => "riscv64",
        "arm" => "armv7l",
        _ => return None,
    })
}

/// What is known of the environment a requirement is installed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerEnv {
    /// `3.11`.
    pub python_version: String,
    /// `x86_64` when every locked platform has that machine.
    pub machine: Option<String>,
}

impl MarkerEnv {
    fn value(&self, variable: &str) -> Option<String> {
        Some(match variable {
            "python_version" => self.python_version.clone(),
            "os_name" => "posix".into(),
            "sys_platform" => "linux".into(),
            "platform_system" => "Linux".into(),
            "platform_python_implementation" => "CPython".into(),
            "implementation_name" => "cpython".into(),
            "platform_machine" => self.machine.clone()?,
            _ => return None,
        })
    }
}

/// `Some(false)` when `marker` (as the manifest normalizes it) is false in
/// `env`, `Some(true)` when true, `None` when it depends on what is not
/// known (or does not parse).
pub fn evaluate(marker: &str, env: &MarkerEnv) -> Option<bool> {
    let tokens = tokenize(marker)?;
    let mut p = Eval {
        tokens: &tokens,
        pos: 0,
        env,
    };
    let value = p.or()?;
    (p.pos == tokens.len()).then_some(value)?
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
    Str(String),
    Op(String),
}

fn tokenize(s: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '"' | '\'' => {
                let end = chars[i + 1..].iter().position(|x| *x == c)? + i + 1;
                out.push(Token::Str(chars[i + 1..end].iter().collect()));
                i = end + 1;
            }
            '<' | '>' | '=' | '!' | '~' => {
                let mut op = String::new();
                while i < chars.len() && "<>=!~".contains(chars[i]) {
                    op.push(chars[i]);
                    i += 1;
                }
                out.push(Token::Op(op));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || "_.".contains(chars[i]))
                {
                    i += 1;
                }
                if start == i {
                    return None;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Some(out)
}

struct Eval<'a> {
    tokens: &'a [Token],
    pos: usize,
    env: &'a MarkerEnv,
}

/// Three-valued `and` / `or`: `None` is unknown.
fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

impl Eval<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn word(&mut self, w: &str) -> bool {
        if self.peek() == Some(&Token::Word(w.to_string())) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `Some(value)` parses; the value is itself three-valued.
    fn or(&mut self) -> Option<Option<bool>> {
        let mut v = self.and()?;
        while self.word("or") {
            v = or(v, self.and()?);
        }
        Some(v)
    }

    fn and(&mut self) -> Option<Option<bool>> {
        let mut v = self.atom()?;
        while self.word("and") {
            v = and(v, self.atom()?);
        }
        Some(v)
    }

    fn atom(&mut self) -> Option<Option<bool>> {
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let v = self.or()?;
            (self.peek() == Some(&Token::Close)).then_some(())?;
            self.pos += 1;
            return Some(v);
        }
        let left = self.operand()?;
        let op = match self.peek()?.clone() {
            Token::Op(op) => {
                self.pos += 1;
                op
            }
            Token::Word(w) if w == "in" => {
                self.pos += 1;
                "in".to_string()
            }
            Token::Word(w) if w == "not" => {
                self.pos += 1;
                self.word("in").then_some(())?;
                "not in".to_string()
            }
            _ => return None,
        };
        let right = self.operand()?;
        let (Some(l), Some(r)) = (left, right) else {
            return Some(None);
        };
        Some(compare(&l, &op, &r))
    }

    /// A variable's value (`None` when unknown) or a string.
    fn operand(&mut self) -> Option<Option<String>> {
        let t = self.peek()?.clone();
        self.pos += 1;
        match t {
            Token::Str(s) => Some(Some(s)),
            Token::Word(w) => Some(self.env.value(&w)),
            _ => None,
        }
    }
}

fn compare(l: &str, op: &str, r: &str) -> Option<bool> {
    let version = |a: &str| a.chars().next().is_some_and(|c| c.is_ascii_digit());
    Some(match op {
        "in" => r.contains(l),
        "not in" => !r.contains(l),
        "==" if version(l) && version(r) => cmp_versions(l, r) == Ordering::Equal,
        "!=" if version(l) && version(r) => cmp_versions(l, r) != Ordering::Equal,
        "==" | "===" => l == r,
        "!=" => l != r,
        _ if !(version(l) && version(r)) => return None,
        "<" => cmp_versions(l, r) == Ordering::Less,
        "<=" => cmp_versions(l, r) != Ordering::Greater,
        ">" => cmp_versions(l, r) == Ordering::Greater,
        ">=" => cmp_versions(l, r) != Ordering::Less,
        "~=" => {
            // `~=3.8` is `>=3.8, ==3.*`.
            let prefix: Vec<&str> = r.split('.').collect();
            let head = prefix[..prefix.len().saturating_sub(1).max(1)].join(".");
            cmp_versions(l, r) != Ordering::Less
                && (l == head || l.starts_with(&format!("{head}.")))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> MarkerEnv {
        MarkerEnv {
            python_version: "3.11".into(),
            machine: Some("x86_64".into()),
        }
    }

    #[test]
    fn markers_for_the_locked_interpreter() {
        let e = env();
        let t = |m: &str| evaluate(m, &e);
        assert_eq!(t("python_version < \"3.0\""), Some(false));
        assert_eq!(t("python_version >= \"3.10\""), Some(true));
        assert_eq!(
            t("python_version < \"3.12\" and sys_platform == \"linux\""),
            Some(true)
        );
        assert_eq!(t("platform_system == \"Windows\""), Some(false));
        assert_eq!(t("platform_system != \"Darwin\""), Some(true));
        assert_eq!(
            t("platform_system != \"Windows\" and platform_system != \"Darwin\""),
            Some(true)
        );
        assert_eq!(t("platform_machine == \"aarch64\""), Some(false));
        assert_eq!(t("python_version in \"3.10 3.11\""), Some(true));
        assert_eq!(t("python_version ~= \"3.8\""), Some(true));
        // Unknown: a patch version, an extra; but `or` with a truth is true.
        assert_eq!(t("python_full_version >= \"3.11.4\""), None);
        assert_eq!(t("extra == \"test\""), None);
        assert_eq!(t("extra == \"test\" or python_version > \"3\""), Some(true));
        assert_eq!(
            t("extra == \"test\" and python_version < \"3\""),
            Some(false)
        );
        assert_eq!(t("(python_version < \"3.8\")"), Some(false));
        let unknown_machine = MarkerEnv {
            machine: None,
            ..env()
        };
        assert_eq!(
            evaluate("platform_machine == \"x86_64\"", &unknown_machine),
            None
        );
    }
}
