//! What `[image] copy` leaves out: the `exclude` patterns of a copy entry
//! (gitignore syntax, relative to the copy source) and the project's
//! `.dockerignore` (Docker's syntax, relative to the project directory).
//! Both compile to one small glob language and are matched here, pure:
//! the build context asks, path by path, and walks the tree itself.
//!
//! The two syntaxes differ where their tools differ, and each follows its
//! tool: gitignore matches a pattern without a slash at any depth, knows
//! directory-only patterns (`data/`) and cannot re-include a file whose
//! directory is excluded; Docker matches every pattern from the top,
//! excludes everything under a matched directory and lets `!` bring back
//! a file from inside one.

use serde::Serialize;

use super::syntax::{Check, Invalid, Shown};

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any run of characters other than `/`.
    Star,
    /// `?`: one character other than `/`.
    One,
    /// `[...]`: one character in the ranges (not in them, when negated).
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
        /// Whether it may match `/` (Docker's classes are regular
        /// expression classes, which do; gitignore's never do).
        slash: bool,
    },
    /// Any run of characters, `/` included.
    Anything,
    /// Zero or more whole directories: nothing, or any text ending in `/`.
    Dirs,
}

impl Token {
    fn one_char(&self, c: char) -> bool {
        match self {
            Token::Char(x) => *x == c,
            Token::One => c != '/',
            Token::Class {
                negated,
                ranges,
                slash,
            } => {
                (c != '/' || *slash)
                    && ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
            _ => false,
        }
    }
}

/// Whether `tokens` match all of `text`: the set of positions reachable
/// after each token, so no pattern takes more than tokens × length².
fn glob_match(tokens: &[Token], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let n = text.len();
    let mut at = vec![false; n + 1];
    at[0] = true;
    for token in tokens {
        let mut next = vec![false; n + 1];
        match token {
            Token::Star => {
                for i in 0..=n {
                    if !at[i] {
                        continue;
                    }
                    next[i] = true;
                    for j in i..n {
                        if text[j] == '/' {
                            break;
                        }
                        next[j + 1] = true;
                    }
                }
            }
            Token::Anything => {
                if let Some(first) = at.iter().position(|a| *a) {
                    next[first..].fill(true);
                }
            }
            Token::Dirs => {
                for i in 0..=n {
                    if !at[i] {
                        continue;
                    }
                    next[i] = true;
                    for j in i..n {
                        if text[j] == '/' {
                            next[j + 1] = true;
                        }
                    }
                }
            }
            single => {
                for i in 0..n {
                    if at[i] && single.one_char(text[i]) {
                        next[i + 1] = true;
                    }
                }
            }
        }
        at = next;
        if !at.contains(&true) {
            return false;
        }
    }
    at[n]
}

/// The `[...]` at the start of `chars` (just after the `[`): its token and
/// how many characters it took, closing `]` included.
fn class(chars: &[char], syntax: Syntax) -> Result<(Token, usize), &'static str> {
    let unclosed = "has a `[` that is never closed";
    let mut i = 0;
    let negated = match chars.first() {
        Some('^') => true,
        Some('!') => syntax == Syntax::Gitignore,
        _ => false,
    };
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(unclosed);
        };
        // gitignore takes a `]` right after the `[` as a member; Go's
        // filepath.Match (what Docker checks patterns with) refuses it.
        if c == ']' && (!ranges.is_empty() || syntax == Syntax::Dockerignore) {
            if ranges.is_empty() {
                return Err("has an empty character class `[]`");
            }
            i += 1;
            break;
        }
        if syntax == Syntax::Gitignore && c == '[' && chars.get(i + 1) == Some(&':') {
            return Err(
                "uses a named character class such as `[:alpha:]`, which mlr does not read",
            );
        }
        let member = |i: &mut usize| -> Result<char, &'static str> {
            let c = *chars.get(*i).ok_or(unclosed)?;
            if syntax == Syntax::Dockerignore && c == '-' {
                return Err("has a character class with a `-` that starts no range");
            }
            *i += 1;
            if c == '\\' {
                let escaped = *chars.get(*i).ok_or(unclosed)?;
                *i += 1;
                return Ok(escaped);
            }
            Ok(c)
        };
        let lo = member(&mut i)?;
        let hi = if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
            i += 1;
            member(&mut i)?
        } else {
            lo
        };
        ranges.push((lo, hi));
    }
    Ok((
        Token::Class {
            negated,
            ranges,
            slash: syntax == Syntax::Dockerignore,
        },
        i,
    ))
}

/// Which tool's rules a pattern follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// `[image] copy` `exclude`: `.gitignore` lines.
    Gitignore,
    /// `.dockerignore` lines, as Docker reads them.
    Dockerignore,
}

/// One gitignore pattern, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GitPattern {
    /// `!`: a match includes instead.
    negated: bool,
    /// A trailing `/`: only directories match.
    dir_only: bool,
    /// A `/` at the start or in the middle: matched against the whole path
    /// from the copy source; else against each entry's name.
    anchored: bool,
    tokens: Vec<Token>,
}

impl GitPattern {
    /// The rules of gitignore(5), minus what the manifest cannot mean: a
    /// blank pattern or a comment is a mistake here, not a no-op.
    fn parse(text: &str) -> Check<GitPattern> {
        let shown = Shown(text);
        let bad = |why: &str| Invalid::new(format!("exclude pattern {shown} {why}"));
        if text.chars().any(char::is_control) {
            return Err(bad("contains a control character")
                .hint("write the pattern on one line, without tabs or escapes"));
        }
        if text.trim().is_empty() {
            return Err(bad("is empty").hint("remove it, or write a pattern such as `*.log`"));
        }
        if text.starts_with('#') {
            return Err(
                bad("starts with `#`, which makes it a comment in gitignore syntax")
                    .hint("to match a name that starts with `#`, escape it: `'\\#name'`"),
            );
        }
        // Trailing spaces are dropped unless escaped with `\`.
        let mut p = text;
        while p.ends_with(' ') && !p.ends_with("\\ ") {
            p = &p[..p.len() - 1];
        }
        let negated = p.starts_with('!');
        if negated {
            p = &p[1..];
        }
        if p.is_empty() {
            return Err(bad("excludes nothing").hint(
                "write a pattern after `!`, such as `!keep.log`, to include what an earlier one left out",
            ));
        }
        let dir_only = p.ends_with('/') && !p.ends_with("\\/");
        if dir_only {
            p = &p[..p.len() - 1];
        }
        let anchored = p.contains('/');
        p = p.strip_prefix('/').unwrap_or(p);
        if p.is_empty() {
            return Err(bad("matches nothing")
                .hint("write what to leave out, relative to the copy source, such as `/build/`"));
        }
        for part in p.split('/') {
            let why = match part {
                "" => "has an empty path segment (`//`)",
                "." | ".." => "has a `.` or `..` segment, which never matches",
                _ => continue,
            };
            return Err(bad(why).hint(
                "patterns are relative to the copy source, for example `data/raw/` or `/build`",
            ));
        }
        let tokens = tokenize(p, Syntax::Gitignore).map_err(|why| {
            bad(why).hint("see gitignore(5); escape a special character with a backslash: `'\\['`")
        })?;
        Ok(GitPattern {
            negated,
            dir_only,
            anchored,
            tokens,
        })
    }

    /// Whether the pattern matches the entry at `path` (relative to the
    /// copy source, `/`-separated).
    fn matches(&self, path: &str, is_dir: bool) -> bool {
        if self.dir_only && !is_dir {
            return false;
        }
        let subject = if self.anchored {
            path
        } else {
            path.rsplit('/').next().unwrap_or(path)
        };
        glob_match(&self.tokens, subject)
    }
}

/// A gitignore pattern (leading `/` and trailing `/` removed) as tokens:
/// `**` is special only as a whole segment.
fn tokenize(p: &str, syntax: Syntax) -> Result<Vec<Token>, &'static str> {
    let chars: Vec<char> = p.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\\' => {
                let escaped = *chars
                    .get(i)
                    .ok_or("ends with `\\`, which escapes nothing")?;
                tokens.push(Token::Char(escaped));
                i += 1;
            }
            '*' => {
                let start = i - 1;
                while chars.get(i) == Some(&'*') {
                    i += 1;
                }
                let double = i - start >= 2;
                let segment_start = start == 0 || chars[start - 1] == '/';
                let segment_end = i == chars.len() || chars[i] == '/';
                if double && segment_start && segment_end {
                    if i == chars.len() {
                        // `a/**` (everything inside) or a lone `**`.
                        tokens.push(Token::Anything);
                    } else {
                        // `**/a` or `a/**/b`: zero or more directories.
                        i += 1;
                        tokens.push(Token::Dirs);
                    }
                } else {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::One),
            '[' => {
                let (token, used) = class(&chars[i..], syntax)?;
                tokens.push(token);
                i += used;
            }
            c => tokens.push(Token::Char(c)),
        }
    }
    Ok(tokens)
}

/// The `exclude` list of one `[image] copy` entry: gitignore patterns,
/// relative to the copy source, the last that matches deciding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exclude {
    /// As written, for the fingerprint.
    written: Vec<String>,
    patterns: Vec<GitPattern>,
}

impl Exclude {
    /// Compile each pattern; `Err` holds the index of each bad one and why.
    pub fn parse(list: &[String]) -> Result<Exclude, Vec<(usize, Invalid)>> {
        let mut patterns = Vec::new();
        let mut problems = Vec::new();
        for (i, text) in list.iter().enumerate() {
            match GitPattern::parse(text) {
                Ok(p) => patterns.push(p),
                Err(e) => problems.push((i, e)),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Exclude {
            written: list.to_vec(),
            patterns,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the entry at `path` (relative to the copy source,
    /// `/`-separated, never empty) is left out. Its directories are
    /// asked first by the walk, which never enters an excluded one: as in
    /// git, a file under an excluded directory cannot be re-included.
    pub fn excludes(&self, path: &str, is_dir: bool) -> bool {
        self.patterns
            .iter()
            .rev()
            .find(|p| p.matches(path, is_dir))
            .is_some_and(|p| !p.negated)
    }
}

impl Serialize for Exclude {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.written.serialize(s)
    }
}

/// How one `.dockerignore` pattern matches, as Docker's pattern matcher
/// (moby/patternmatcher) classifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DockerMatch {
    /// No wildcard: the path itself.
    Exact(String),
    /// `dir/**`: every path starting with `dir/`.
    Prefix(String),
    /// `**/name` without other wildcards: every path ending in `/name`,
    /// and `name` itself.
    Suffix(String),
    Glob(Vec<Token>),
}

/// One `.dockerignore` line, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DockerPattern {
    exception: bool,
    how: DockerMatch,
    /// As Docker keeps it: `!` and the cleaned pattern.
    normalized: String,
}

impl DockerPattern {
    /// A line as Docker reads it (already trimmed, not a comment):
    /// `!` then the pattern, cleaned like Go's `filepath.Clean`, a leading
    /// `/` dropped. `Err` is why Docker would refuse it and where in
    /// `line` (a byte offset).
    fn parse(line: &str) -> Result<DockerPattern, (usize, &'static str)> {
        let (exception, rest, at) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim(), line.len() - rest.trim_start().len()),
            None => (false, line, 0),
        };
        if exception && rest.is_empty() {
            return Err((0, "`!` alone is not a pattern"));
        }
        let mut cleaned = go_clean(rest);
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
        go_match_check(&cleaned).map_err(|why| (at, why))?;
        Ok(DockerPattern {
            exception,
            how: docker_compile(&cleaned),
            normalized: format!("{}{cleaned}", if exception { "!" } else { "" }),
        })
    }

    fn matches(&self, path: &str) -> bool {
        match &self.how {
            DockerMatch::Exact(p) => path == p,
            DockerMatch::Prefix(p) => path.starts_with(p.as_str()),
            DockerMatch::Suffix(s) => {
                path.ends_with(s.as_str()) || s.strip_prefix('/').is_some_and(|name| path == name)
            }
            DockerMatch::Glob(tokens) => glob_match(tokens, path),
        }
    }
}

/// Go's `filepath.Clean` on a `/`-separated path: no empty or `.`
/// segments, `..` folded into what precedes it.
fn go_clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// What Go's `filepath.Match` calls a bad pattern (Docker refuses the
/// `.dockerignore` then): an unclosed or malformed `[...]`, a trailing `\`.
fn go_match_check(p: &str) -> Result<(), &'static str> {
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 == chars.len() {
                    return Err("ends with `\\`, which escapes nothing");
                }
                i += 2;
            }
            '[' => {
                let (_, used) = class(&chars[i + 1..], Syntax::Dockerignore)?;
                i += 1 + used;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// The pattern as Docker's matcher compiles it: `*` and `?` stop at `/`,
/// `**` (its `/` eaten) is any number of directories, or anything at the
/// end; a pattern without wildcards is compared whole.
fn docker_compile(p: &str) -> DockerMatch {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Glob,
    }
    let chars: Vec<char> = p.chars().collect();
    let mut kind = Kind::Exact;
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut step = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        tokens.push(Token::Anything);
                        kind = Kind::Glob;
                    }
                } else {
                    tokens.push(Token::Dirs);
                    kind = Kind::Glob;
                }
                if step == 0 {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                tokens.push(Token::Star);
                kind = Kind::Glob;
            }
            '?' => {
                tokens.push(Token::One);
                kind = Kind::Glob;
            }
            '\\' => {
                // Checked: something follows.
                tokens.push(Token::Char(chars[i]));
                i += 1;
                kind = Kind::Glob;
            }
            '[' => {
                let (token, used) =
                    class(&chars[i..], Syntax::Dockerignore).expect("checked by go_match_check");
                tokens.push(token);
                i += used;
                kind = Kind::Glob;
            }
            ']' => {
                tokens.push(Token::Char(']'));
                kind = Kind::Glob;
            }
            c => tokens.push(Token::Char(c)),
        }
        step += 1;
    }
    match kind {
        Kind::Exact => DockerMatch::Exact(p.to_string()),
        Kind::Prefix => DockerMatch::Prefix(p[..p.len() - 2].to_string()),
        Kind::Suffix => DockerMatch::Suffix(p[2..].to_string()),
        Kind::Glob => DockerMatch::Glob(tokens),
    }
}

/// A `.dockerignore`: its lines compiled, the last that matches a path or
/// one of its directories deciding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dockerignore {
    patterns: Vec<DockerPattern>,
}

/// Why a `.dockerignore` line is refused, at a byte offset of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerignoreError {
    pub offset: usize,
    pub invalid: Invalid,
}

impl Dockerignore {
    /// Read a `.dockerignore` as Docker does: a UTF-8 byte order mark
    /// dropped, each line trimmed, lines starting with `#` (before
    /// trimming) and blank lines skipped.
    pub fn parse(text: &str) -> Result<Dockerignore, DockerignoreError> {
        let mut patterns = Vec::new();
        let mut offset = 0;
        for (n, raw) in text.split('\n').enumerate() {
            let start = offset;
            offset += raw.len() + 1;
            let line = if n == 0 {
                raw.strip_prefix('\u{feff}').unwrap_or(raw)
            } else {
                raw
            };
            if line.starts_with('#') {
                continue;
            }
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let lead = start + (raw.len() - raw.trim_start().len());
            let pattern = DockerPattern::parse(trimmed).map_err(|(at, why)| DockerignoreError {
                offset: lead + at,
                invalid: Invalid::new(format!("pattern {} {why}", Shown(trimmed))).hint(
                    "Docker refuses this pattern too; patterns follow Go's filepath.Match, \
                     plus `**` and `!`",
                ),
            })?;
            patterns.push(pattern);
        }
        Ok(Dockerignore { patterns })
    }

    /// No pattern at all (an empty file, or only comments).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns as Docker keeps them, one per line: what the lock's
    /// hash is taken over, so comments, blank lines, spacing and line
    /// endings never matter.
    pub fn normalized(&self) -> String {
        self.patterns
            .iter()
            .map(|p| format!("{}\n", p.normalized))
            .collect()
    }

    /// Whether any line is a `!` exception, which may bring back a path
    /// inside an excluded directory (the walk must then enter it).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `path` (relative to the project, `/`-separated, never
    /// empty) is left out: the last pattern that matches it, or one of its
    /// directories, decides.
    pub fn excludes(&self, path: &str) -> bool {
        let mut dirs = Vec::new();
        let mut at = 0;
        while let Some(slash) = path[at..].find('/') {
            dirs.push(&path[..at + slash]);
            at += slash + 1;
        }
        let mut excluded = false;
        for p in &self.patterns {
            // An exception only matters for a path excluded so far, and
            // an exclusion only for one not yet excluded.
            if p.exception != excluded {
                continue;
            }
            if p.matches(path) || dirs.iter().any(|d| p.matches(d)) {
                excluded = !p.exception;
            }
        }
        excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exclude(patterns: &[&str]) -> Exclude {
        let list: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        Exclude::parse(&list).unwrap_or_else(|e| panic!("{patterns:?}: {e:?}"))
    }

    /// The paths of `tree` (directories end in `/`) a walk keeps: it asks
    /// for each entry and never enters an excluded directory.
    fn kept_by_git(patterns: &[&str], tree: &[&str]) -> Vec<String> {
        let e = exclude(patterns);
        let mut kept: Vec<String> = Vec::new();
        for entry in tree {
            let is_dir = entry.ends_with('/');
            let path = entry.trim_end_matches('/');
            let parent_gone = path
                .rmatch_indices('/')
                .any(|(i, _)| !kept.iter().any(|k| k.trim_end_matches('/') == &path[..i]));
            if !parent_gone && !e.excludes(path, is_dir) {
                kept.push(entry.to_string());
            }
        }
        kept
    }

    const TREE: &[&str] = &[
        "README.md",
        "app.log",
        "build/",
        "build/out.bin",
        "data/",
        "data/raw/",
        "data/raw/a.csv",
        "data/keep.csv",
        "src/",
        "src/build/",
        "src/build/gen.py",
        "src/debug.log",
        "src/main.py",
        "src/data",
    ];

    #[test]
    fn gitignore_patterns_without_a_slash_match_at_any_depth() {
        assert_eq!(
            kept_by_git(&["*.log"], TREE),
            [
                "README.md",
                "build/",
                "build/out.bin",
                "data/",
                "data/raw/",
                "data/raw/a.csv",
                "data/keep.csv",
                "src/",
                "src/build/",
                "src/build/gen.py",
                "src/main.py",
                "src/data"
            ]
        );
        // `build` at the top and in src/.
        let kept = kept_by_git(&["build"], TREE);
        assert!(!kept.iter().any(|k| k.contains("build")), "{kept:?}");
    }

    #[test]
    fn gitignore_leading_slash_anchors_and_trailing_slash_wants_a_directory() {
        let kept = kept_by_git(&["/build"], TREE);
        assert!(!kept.contains(&"build/".to_string()));
        assert!(kept.contains(&"src/build/gen.py".to_string()));
        // `data/` is the directory at any depth, never the file src/data.
        let kept = kept_by_git(&["data/"], TREE);
        assert!(!kept.iter().any(|k| k.starts_with("data")), "{kept:?}");
        assert!(kept.contains(&"src/data".to_string()));
        // A slash in the middle anchors too.
        let kept = kept_by_git(&["data/raw/"], TREE);
        assert!(kept.contains(&"data/keep.csv".to_string()));
        assert!(!kept.iter().any(|k| k.starts_with("data/raw")));
        assert!(exclude(&["raw/"]).excludes("data/raw", true));
        assert!(!exclude(&["/raw/"]).excludes("data/raw", true));
        assert!(!exclude(&["a/raw"]).excludes("data/a/raw", false));
    }

    #[test]
    fn gitignore_double_star() {
        let e = exclude(&["**/raw"]);
        assert!(e.excludes("raw", true) && e.excludes("data/raw", true));
        assert!(e.excludes("x/y/raw", false) && !e.excludes("xraw", false));
        let e = exclude(&["data/**"]);
        assert!(!e.excludes("data", true));
        assert!(e.excludes("data/raw", true) && e.excludes("data/raw/a.csv", false));
        let e = exclude(&["src/**/gen.py"]);
        assert!(e.excludes("src/gen.py", false));
        assert!(e.excludes("src/build/gen.py", false));
        assert!(e.excludes("src/a/b/gen.py", false));
        assert!(!e.excludes("other/gen.py", false));
        // Not a whole segment: an ordinary `*`.
        let e = exclude(&["a**b"]);
        assert!(e.excludes("axxb", false) && !e.excludes("ax/xb", false));
        let e = exclude(&["**"]);
        assert!(e.excludes("a", false) && e.excludes("a/b/c", false));
    }

    #[test]
    fn gitignore_negation_re_includes_but_not_under_an_excluded_directory() {
        let kept = kept_by_git(&["*.log", "!src/debug.log"], TREE);
        assert!(kept.contains(&"src/debug.log".to_string()));
        assert!(!kept.contains(&"app.log".to_string()));
        // Later patterns win.
        let kept = kept_by_git(&["!src/debug.log", "*.log"], TREE);
        assert!(!kept.contains(&"src/debug.log".to_string()));
        // The directory is gone, so nothing inside can come back.
        let kept = kept_by_git(&["data/", "!data/keep.csv"], TREE);
        assert!(!kept.iter().any(|k| k.starts_with("data")), "{kept:?}");
        // Excluding the contents instead of the directory allows it.
        let kept = kept_by_git(&["data/*", "!data/keep.csv"], TREE);
        assert!(kept.contains(&"data/keep.csv".to_string()), "{kept:?}");
        assert!(!kept.contains(&"data/raw/".to_string()));
    }

    #[test]
    fn gitignore_wildcards_classes_and_escapes() {
        let e = exclude(&[
            "file?.txt",
            "[abc].md",
            "[!x-z]y",
            "\\!important",
            "\\#x",
            "sp\\ ",
        ]);
        assert!(e.excludes("file1.txt", false) && !e.excludes("file10.txt", false));
        assert!(e.excludes("b.md", false) && !e.excludes("d.md", false));
        assert!(e.excludes("ay", false) && !e.excludes("zy", false));
        assert!(e.excludes("!important", false));
        assert!(e.excludes("#x", false));
        assert!(e.excludes("sp ", false) && !e.excludes("sp", false));
        // `?` and `*` never cross a `/`.
        assert!(!exclude(&["a?b"]).excludes("a/b", false));
        assert!(!exclude(&["/a*b"]).excludes("a/b", false));
        // `]` first in a class is a member; trailing spaces are dropped.
        assert!(exclude(&["[]x]"]).excludes("]", false));
        assert!(exclude(&["tmp  "]).excludes("tmp", true));
    }

    #[test]
    fn gitignore_mistakes_are_refused_with_a_reason() {
        for (pattern, why) in [
            ("", "is empty"),
            ("  ", "is empty"),
            ("!", "excludes nothing"),
            ("/", "matches nothing"),
            ("# note", "comment"),
            ("data[", "never closed"),
            ("[a-", "never closed"),
            ("x\\", "escapes nothing"),
            ("../secret", "`..`"),
            ("./build", "`.`"),
            ("a//b", "empty path segment"),
            ("[[:digit:]]", "named character class"),
            ("a\tb", "control character"),
        ] {
            let err = Exclude::parse(&[pattern.to_string()]).unwrap_err();
            assert_eq!(err.len(), 1);
            assert!(
                err[0].1.message.contains(why),
                "{pattern:?}: {}",
                err[0].1.message
            );
            assert!(err[0].1.hint.is_some(), "{pattern:?}");
        }
        let err = Exclude::parse(&["ok".into(), "[".into(), "!".into()]).unwrap_err();
        assert_eq!(err.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn excludes_serialize_as_written() {
        let e = exclude(&["*.log ", "!keep.log"]);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"["*.log ","!keep.log"]"#
        );
    }

    fn docker(text: &str) -> Dockerignore {
        Dockerignore::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
    }

    #[test]
    fn dockerignore_patterns_match_from_the_top_and_cover_what_is_inside() {
        let d = docker("*.log\ndata\n");
        assert!(d.excludes("app.log"));
        // No `**`: `*.log` is not matched below the top.
        assert!(!d.excludes("src/debug.log"));
        // Everything under an excluded directory.
        assert!(d.excludes("data") && d.excludes("data/raw/a.csv"));
        assert!(!d.excludes("src/data"));
        let d = docker("**/*.log\n");
        assert!(d.excludes("app.log") && d.excludes("src/a/debug.log"));
        // A trailing slash means nothing special: files match too.
        let d = docker("build/\n");
        assert!(d.excludes("build") && d.excludes("build/x"));
        // A leading slash is dropped, `.` and `..` are cleaned away.
        let d = docker("/src/./gen/../tmp\n");
        assert!(d.excludes("src/tmp/x") && !d.excludes("src/gen"));
    }

    #[test]
    fn dockerignore_double_star() {
        let d = docker("**/raw\n");
        assert!(d.excludes("raw") && d.excludes("data/raw") && d.excludes("a/b/raw/c"));
        assert!(!d.excludes("xraw/a"));
        let d = docker("data/**\n");
        assert!(d.excludes("data/raw/a.csv"));
        let d = docker("src/**/gen.py\n");
        assert!(d.excludes("src/gen.py") && d.excludes("src/a/b/gen.py"));
        assert!(!d.excludes("other/gen.py"));
        let d = docker("**\n!keep\n");
        assert!(d.excludes("a/b") && !d.excludes("keep") && !d.excludes("keep/x"));
    }

    #[test]
    fn dockerignore_exceptions_reach_inside_excluded_directories() {
        let d = docker("data\n!data/keep.csv\n");
        assert!(d.has_exceptions());
        assert!(d.excludes("data") && d.excludes("data/raw/a.csv"));
        assert!(!d.excludes("data/keep.csv"));
        // Later lines win.
        let d = docker("!data/keep.csv\ndata\n");
        assert!(d.excludes("data/keep.csv"));
        // The allow-list style.
        let d = docker("*\n!src\n!ml.toml\n");
        assert!(d.excludes("README.md") && d.excludes("data/a"));
        assert!(!d.excludes("src/main.py") && !d.excludes("ml.toml"));
        assert!(!docker("*.log\n").has_exceptions());
    }

    #[test]
    fn dockerignore_lines_comments_and_classes() {
        let d =
            docker("\u{feff}# a comment\r\n  \n  *.tmp  \r\n # not a comment\n! keep.tmp\n[^a]x\n");
        assert!(d.excludes("a.tmp") && !d.excludes("keep.tmp"));
        assert!(d.excludes("# not a comment"));
        assert!(d.excludes("bx") && !d.excludes("ax"));
        // `!` inside a class is a member for Go, not a negation.
        let d = docker("[!a]x\n");
        assert!(d.excludes("!x") && d.excludes("ax") && !d.excludes("bx"));
        let d = docker("a\\*?\n\\#lit\n");
        assert!(d.excludes("a*x") && !d.excludes("abx"));
        assert!(d.excludes("#lit") && !d.excludes("\\#lit"));
        // Docker's `**` quirks (checked against docker 28): at the start
        // of a pattern without other wildcards it matches any ending, at
        // the end of one any beginning.
        let d = docker("**.tmp\nfoo**\n");
        assert!(d.excludes("a.tmp") && d.excludes("d/e/b.tmp"));
        assert!(d.excludes("foox") && d.excludes("foobar/z/f") && !d.excludes("xfoo"));
    }

    #[test]
    fn dockerignore_normalized_is_what_docker_keeps() {
        let d = docker("# comment\r\n\n  /data/./raw/ \r\n!  keep\n*.log\n");
        assert_eq!(d.normalized(), "data/raw\n!keep\n*.log\n");
        assert!(docker("# only a comment\n\n").is_empty());
    }

    #[test]
    fn dockerignore_bad_patterns_are_located() {
        for (text, offset, why) in [
            ("ok\n  data[\n", 5, "never closed"),
            ("!\n", 0, "`!` alone"),
            ("a\\", 0, "escapes nothing"),
            ("x\n!  [z\n", 5, "never closed"),
            ("[]\n", 0, "empty character class"),
            ("[-a]\n", 0, "`-`"),
        ] {
            let e = Dockerignore::parse(text).unwrap_err();
            assert_eq!(e.offset, offset, "{text:?}");
            assert!(
                e.invalid.message.contains(why),
                "{text:?}: {}",
                e.invalid.message
            );
        }
    }

    #[test]
    fn go_clean_folds_like_go() {
        for (input, want) in [
            ("a//b/./c/..", "a/b"),
            ("/../a", "/a"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("", "."),
            ("./", "."),
            ("/", "/"),
        ] {
            assert_eq!(go_clean(input), want, "{input:?}");
        }
    }
}
