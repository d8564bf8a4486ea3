//! A Dockerfile reader that follows BuildKit's frontend, so a test can ask
//! what an engine will see: how many instructions, which keywords, and
//! each argument after BuildKit's own quote and escape processing. Plus a
//! small POSIX `sh` word splitter for the bodies of shell-form `RUN`s, to
//! check that a value is one intact word and started no substitution.
//!
//! The rules are BuildKit's (`moby/buildkit`, `frontend/dockerfile/`),
//! cited where they are not obvious:
//!
//! - `parser/parser.go` `Parse`: the file is read with a `bufio.Scanner`
//!   (lines split at `\n` only; a trailing `\r` is dropped, a `\r`
//!   elsewhere stays). An instruction's first line has its leading
//!   whitespace (`unicode.IsSpace`, so U+2028 too) trimmed; a line whose
//!   first non-space is `#` is a comment. A line ending in the escape
//!   character plus optional spaces or tabs (`lineContinuationRegex`,
//!   `\\[ \t]*$`) continues: the escape is cut and the next line appended
//!   with no separator. Inside a continuation, comment lines and
//!   whitespace-only lines are skipped (the latter with a warning).
//! - `parser/split_command.go`: the keyword is the first
//!   `[\t\v\f\r ]+`-separated word, case-insensitive; `--name=value` words
//!   right after it are flags, with their own quote handling.
//! - `parser/line_parsers.go`: per keyword, the rest is a JSON array of
//!   strings when it parses as one (`RUN`, `CMD`, `ENTRYPOINT`, `SHELL`,
//!   `COPY`, `ADD`, `VOLUME`), else shell form: one string (`RUN`, `CMD`,
//!   `ENTRYPOINT`, `WORKDIR`, `USER`, ...), words split at
//!   `[\t\v\f\r ]+` with no regard for quotes (`FROM`, `COPY`, `ADD`,
//!   `EXPOSE`), or `name=value` words with quotes kept (`ENV`, `LABEL`,
//!   `parseWords`). `HEALTHCHECK` is a type word then `CMD`'s rules.
//! - `shell/lex.go`: the words of `FROM`, `COPY`, `ADD`, `ENV`, `LABEL`,
//!   `WORKDIR`, `USER`, ... and flag values are then processed like a
//!   shell word: `'...'` literal, `"..."` with `\` escaping only `"`, `$`
//!   and `\`, `\` escaping anything outside quotes, and `$NAME`,
//!   `${NAME}`, `${NAME:-word}`... expanded from the build's variables.
//!   [`lex_word`] does that processing and records every expansion
//!   instead of performing it.
//! - Heredocs (`parser.go` `heredocsFromLine`, `reHeredoc`
//!   `^(\d*)<<(-?)\s*([^<]*)$`): in `RUN`, `COPY` and `ADD`, a word of the
//!   line that matches starts a here-document whose body is the following
//!   lines up to the terminator; so a value that puts `<<EOF` in such a
//!   line swallows later instructions. Recorded in [`Instruction::heredocs`].
//!
//! Parser directives other than the default (`# escape=`) are not
//! supported: mlr never writes one, and a test would see it as a comment.

use std::fmt;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub instructions: Vec<Instruction>,
    /// BuildKit's warnings (empty continuation lines).
    pub warnings: Vec<String>,
}

/// One instruction, as BuildKit's parser splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper case: `FROM`, `RUN`, ...
    pub keyword: String,
    /// `--name=value` options as BuildKit keeps them (quotes processed).
    pub flags: Vec<String>,
    pub args: Args,
    /// Here-documents the line starts: (terminator, body).
    pub heredocs: Vec<(String, String)>,
    /// 1-based lines of the file the instruction spans.
    pub lines: (usize, usize),
    /// The logical line (continuations joined) the instruction was read from.
    pub original: String,
}

/// An instruction's arguments, by the form BuildKit parsed them in.
/// Strings in `Words`, `Text` and `Pairs` are raw: pass them through
/// [`lex_word`] for what BuildKit makes of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    None,
    /// JSON exec form: the strings as decoded.
    Exec(Vec<String>),
    /// Shell form of `RUN`, `CMD`, `ENTRYPOINT`, `SHELL`: the text given to
    /// `sh -c`. Split it with [`sh_words`].
    Shell(String),
    /// Whitespace-delimited words (`FROM`, `COPY` and `ADD` in shell form,
    /// `EXPOSE`, `VOLUME`), unprocessed.
    Words(Vec<String>),
    /// The whole rest of the line (`WORKDIR`, `USER`, `STOPSIGNAL`,
    /// `MAINTAINER`), unprocessed.
    Text(String),
    /// `ENV`/`LABEL` `key=value` pairs, unprocessed (quotes kept).
    Pairs(Vec<(String, String)>),
    /// `ARG` words.
    NameVals(Vec<String>),
    /// `HEALTHCHECK TYPE ...`: the type (`CMD`, `NONE`) and its command.
    Healthcheck(String, Box<Args>),
    /// An unknown keyword (BuildKit ignores its arguments).
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dockerfile line {}: {}", self.line, self.message)
    }
}

const ESCAPE: char = '\\';

/// `[\t\v\f\r ]` (`reWhitespace` in `parser.go`).
fn is_token_space(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// Go's `unicode.IsSpace`: what `parseWords`, `extractBuilderFlags` and
/// the trimming of lines treat as space.
fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// `#` as the first non-space character (`isComment`).
fn is_comment(line: &str) -> bool {
    line.trim_start_matches(is_go_space).starts_with('#')
}

/// `(line without continuation, ends the instruction)`
/// (`trimContinuationCharacter`).
fn trim_continuation(line: &str) -> (String, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(ESCAPE) {
        Some(rest) => (rest.to_string(), false),
        None => (line.to_string(), true),
    }
}

/// Split into lines the way `bufio.ScanLines` does: at `\n`, dropping one
/// `\r` before it; no empty last line after a final `\n`.
fn scan_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// Parse Dockerfile text as BuildKit's frontend does.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = scan_lines(text);
    let mut instructions = Vec::new();
    let mut warnings = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i + 1;
        let first = lines[i];
        i += 1;
        if is_comment(first) {
            continue;
        }
        let first = first.trim_start_matches(is_go_space);
        let (mut line, mut end) = trim_continuation(first);
        if end && line.is_empty() {
            continue;
        }
        let mut empty_continuation = false;
        while !end && i < lines.len() {
            let next = lines[i];
            i += 1;
            if is_comment(next) {
                continue;
            }
            if next.chars().all(is_go_space) {
                empty_continuation = true;
                continue;
            }
            let (rest, e) = trim_continuation(next);
            line.push_str(&rest);
            end = e;
        }
        if empty_continuation {
            warnings.push(format!("empty continuation line in: {line}"));
        }
        let mut instruction = instruction(&line).map_err(|message| ParseError {
            line: start,
            message,
        })?;
        // Here-documents take the lines after the instruction.
        if matches!(instruction.keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (name, chomp) in heredoc_words(&line) {
                let mut body = String::new();
                loop {
                    let Some(l) = lines.get(i) else {
                        return Err(ParseError {
                            line: start,
                            message: format!("unterminated here-document `{name}`"),
                        });
                    };
                    i += 1;
                    let l = if chomp { l.trim_start_matches('\t') } else { l };
                    if l == name {
                        break;
                    }
                    body.push_str(l);
                    body.push('\n');
                }
                instruction.heredocs.push((name, body));
            }
        }
        instruction.lines = (start, i);
        instructions.push(instruction);
    }
    if instructions.is_empty() {
        return Err(ParseError {
            line: lines.len(),
            message: "file with no instructions".into(),
        });
    }
    Ok(Dockerfile {
        instructions,
        warnings,
    })
}

/// `(terminator, chomp)` of each here-document a logical line starts:
/// its words (quotes kept, as `heredocsFromLine` lexes with `RawQuotes`)
/// that match `^(\d*)<<(-?)\s*([^<]*)$`.
fn heredoc_words(line: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for word in raw_words(line) {
        let digits = word.trim_start_matches(|c: char| c.is_ascii_digit());
        let Some(rest) = digits.strip_prefix("<<") else {
            continue;
        };
        let (chomp, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let rest = rest.trim_start();
        if rest.is_empty() || rest.contains('<') {
            continue;
        }
        // A quoted terminator is the word without its quotes.
        let name: String = rest.chars().filter(|c| *c != '\'' && *c != '"').collect();
        out.push((name, chomp));
    }
    out
}

/// Words of a line split at unquoted space, quotes and escapes kept.
fn raw_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                word.push(c);
                if c == q {
                    quote = None;
                } else if c == ESCAPE && q == '"' {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                }
            }
            None if is_go_space(c) => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None => {
                word.push(c);
                if c == '\'' || c == '"' {
                    quote = Some(c);
                } else if c == ESCAPE {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                }
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// One logical line → keyword, flags and arguments (`newNodeFromLine`).
fn instruction(line: &str) -> Result<Instruction, String> {
    let trimmed = line.trim_matches(is_go_space);
    let (keyword, rest) = match trimmed.find(is_token_space) {
        Some(at) => (
            &trimmed[..at],
            trimmed[at..].trim_start_matches(is_token_space),
        ),
        None => (trimmed, ""),
    };
    let keyword = keyword.to_ascii_uppercase();
    let (rest, flags) = builder_flags(rest);
    let rest = rest.trim_matches(is_go_space);
    let args = match keyword.as_str() {
        "RUN" | "CMD" | "ENTRYPOINT" | "SHELL" => maybe_json(rest)?,
        "COPY" | "ADD" | "VOLUME" => match json(rest) {
            Some(r) => Args::Exec(r?),
            None => whitespace_words(rest),
        },
        "FROM" | "EXPOSE" => whitespace_words(rest),
        "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER" => {
            if rest.is_empty() {
                Args::None
            } else {
                Args::Text(rest.to_string())
            }
        }
        "ENV" | "LABEL" => name_values(rest, &keyword)?,
        "ARG" => Args::NameVals(parse_words(rest)),
        "HEALTHCHECK" => {
            // `parseHealthConfig`: the type is the first word (split at an
            // ASCII space, byte by byte), the rest is `CMD`'s.
            let sep = rest
                .bytes()
                .position(|b| (b as char).is_ascii_whitespace())
                .unwrap_or(rest.len());
            if sep == 0 {
                Args::None
            } else {
                let kind = rest[..sep].to_string();
                let cmd = rest[sep..].trim_start_matches(|c: char| c.is_ascii_whitespace());
                Args::Healthcheck(kind, Box::new(maybe_json(cmd)?))
            }
        }
        _ => Args::Unknown(rest.to_string()),
    };
    Ok(Instruction {
        keyword,
        flags,
        args,
        heredocs: Vec::new(),
        lines: (0, 0),
        original: line.to_string(),
    })
}

/// `extractBuilderFlags`: leading words starting with `--` (a word `--`
/// alone ends them), with quotes and `\` processed; returns the rest of
/// the line and the flags.
fn builder_flags(line: &str) -> (&str, Vec<String>) {
    let mut flags = Vec::new();
    let bytes = line.as_bytes();
    let mut pos = 0;
    loop {
        while pos < bytes.len() && (bytes[pos] as char).is_ascii_whitespace() {
            pos += 1;
        }
        if pos + 1 >= bytes.len() || bytes[pos] != b'-' || bytes[pos + 1] != b'-' {
            return (&line[pos.min(line.len())..], flags);
        }
        let mut word = Vec::new();
        let mut quote: Option<u8> = None;
        while pos < bytes.len() {
            let b = bytes[pos];
            match quote {
                Some(q) if b == q => quote = None,
                None if (b as char).is_ascii_whitespace() => break,
                None if b == b'\'' || b == b'"' => quote = Some(b),
                _ if b == b'\\' => {
                    if pos + 1 < bytes.len() {
                        pos += 1;
                        word.push(bytes[pos]);
                    }
                }
                _ => word.push(b),
            }
            pos += 1;
        }
        let word = String::from_utf8_lossy(&word).into_owned();
        if word == "--" {
            return (&line[pos.min(line.len())..], flags);
        }
        flags.push(word);
    }
}

/// `parseJSON`: `None` when the text is not a JSON array (shell form);
/// an error for an array of non-strings.
fn json(rest: &str) -> Option<Result<Vec<String>, String>> {
    if !rest.starts_with('[') {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(rest).ok()?;
    let items = value.as_array()?;
    Some(
        items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "JSON arrays must be comprised of strings only".to_string())
            })
            .collect(),
    )
}

/// `parseMaybeJSON`.
fn maybe_json(rest: &str) -> Result<Args, String> {
    if rest.is_empty() {
        return Ok(Args::None);
    }
    match json(rest) {
        Some(r) => Ok(Args::Exec(r?)),
        None => Ok(Args::Shell(rest.to_string())),
    }
}

/// `parseStringsWhitespaceDelimited`: quotes mean nothing here.
fn whitespace_words(rest: &str) -> Args {
    if rest.is_empty() {
        return Args::None;
    }
    Args::Words(
        rest.split(is_token_space)
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// `parseWords`: split at unquoted `unicode.IsSpace`, quotes and escapes
/// kept in the words.
fn parse_words(rest: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    let mut in_word = false;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            None if !in_word && is_go_space(c) => {}
            None if is_go_space(c) => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                in_word = false;
            }
            None => {
                in_word = true;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    blank_ok = true;
                }
                if c == ESCAPE {
                    if i + 1 == chars.len() {
                        i += 1;
                        continue; // an escape at the end is dropped
                    }
                    word.push(c);
                    i += 1;
                }
                word.push(chars[i]);
            }
            Some(q) => {
                if c == q {
                    quote = None;
                }
                if c == ESCAPE && q != '\'' {
                    if i + 1 == chars.len() {
                        quote = None;
                        i += 1;
                        continue;
                    }
                    word.push(c);
                    i += 1;
                }
                word.push(chars[i]);
            }
        }
        i += 1;
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// `parseNameVal`: `key=value` words, or the legacy `KEY value` form.
fn name_values(rest: &str, keyword: &str) -> Result<Args, String> {
    let words = parse_words(rest);
    if words.is_empty() {
        return Ok(Args::None);
    }
    if !words[0].contains('=') {
        let mut parts = rest.splitn(2, is_token_space);
        let key = parts.next().unwrap_or("");
        return match parts.next() {
            Some(value) => Ok(Args::Pairs(vec![(key.to_string(), value.to_string())])),
            None => Err(format!("{keyword} must have two arguments")),
        };
    }
    words
        .iter()
        .map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("can't find = in {w:?}; must be of the form name=value"))
        })
        .collect::<Result<_, _>>()
        .map(Args::Pairs)
}

/// A word after BuildKit's shell-like processing (`shell/lex.go`), with
/// the variables it would expand listed instead of expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexed {
    /// The literal text, each expansion shown as `${NAME}`.
    pub value: String,
    /// Names of the variables expanded, in order.
    pub expansions: Vec<String>,
}

/// Process one word as `ProcessWord` does; an unterminated quote or a bad
/// substitution is an error (BuildKit fails the build).
pub fn lex_word(word: &str) -> Result<Lexed, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = Lexed {
        value: String::new(),
        expansions: Vec::new(),
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == '\'')
                    .ok_or("unexpected end of statement while looking for matching single-quote")?;
                out.value.extend(&chars[i + 1..i + 1 + end]);
                i += end + 2;
            }
            '"' => {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err("unexpected end of statement while looking for \
                                        matching double-quote"
                                .into());
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('$') => i = dollar(&chars, i, &mut out)?,
                        Some(&ESCAPE) => {
                            match chars.get(i + 1) {
                                // `\` at the end of the word is ignored.
                                None => {}
                                Some(&n) if n == '"' || n == '$' || n == ESCAPE => {
                                    out.value.push(n);
                                    i += 1;
                                }
                                Some(_) => out.value.push(ESCAPE),
                            }
                            i += 1;
                        }
                        Some(&x) => {
                            out.value.push(x);
                            i += 1;
                        }
                    }
                }
            }
            '$' => i = dollar(&chars, i, &mut out)?,
            ESCAPE => {
                // Escapes anything; at the end of the word it is dropped.
                if let Some(&n) = chars.get(i + 1) {
                    out.value.push(n);
                }
                i += 2;
            }
            _ => {
                out.value.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `processDollar` at `chars[i] == '$'`; returns the index after it.
fn dollar(chars: &[char], i: usize, out: &mut Lexed) -> Result<usize, String> {
    let mut j = i + 1;
    if chars.get(j) != Some(&'{') {
        let name = name_at(chars, j);
        if name.is_empty() {
            out.value.push('$');
            return Ok(j);
        }
        j += name.chars().count();
        out.value.push_str(&format!("${{{name}}}"));
        out.expansions.push(name);
        return Ok(j);
    }
    j += 1;
    match chars.get(j) {
        None => return Err("syntax error: missing '}'".into()),
        Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
        _ => {}
    }
    let name = name_at(chars, j);
    j += name.chars().count();
    // `${NAME}` or `${NAME<modifier>word}`: the whole is an expansion.
    let mut depth = 1;
    let start = j;
    while depth > 0 {
        match chars.get(j) {
            None => return Err("syntax error: missing '}'".into()),
            Some('{') => depth += 1,
            Some('}') => depth -= 1,
            Some(&ESCAPE) => j += 1,
            _ => {}
        }
        j += 1;
    }
    let modifier: String = chars[start..j - 1].iter().collect();
    out.value.push_str(&format!("${{{name}{modifier}}}"));
    out.expansions.push(name);
    Ok(j)
}

/// `processName`: letters, digits and `_`; or digits; or one special
/// parameter character.
fn name_at(chars: &[char], j: usize) -> String {
    let Some(&first) = chars.get(j) else {
        return String::new();
    };
    if first.is_ascii_digit() {
        return chars[j..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
    }
    if "@*#?-$!0".contains(first) {
        return first.to_string();
    }
    chars[j..]
        .iter()
        .take_while(|c| c.is_alphanumeric() || **c == '_')
        .collect()
}

/// One token of a POSIX `sh` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShToken {
    Word(ShWord),
    /// An operator: `;`, `&&`, `||`, `|`, `&`, `;;`, `(`, `)`, `<`, `>`,
    /// `>>`, `<<`, `>&`, `<&` or a newline.
    Op(String),
}

/// A shell word: its text after quote removal (substitutions kept as
/// written), and the substitutions the shell performs in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShWord {
    pub text: String,
    pub substitutions: Vec<Substitution>,
}

/// What the shell replaces in a word before running the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Substitution {
    /// `$(...)` or `` `...` ``: runs a command.
    Command(String),
    /// `$((...))`.
    Arithmetic(String),
    /// `$NAME`, `${...}`, `$1`, `$?`...
    Parameter(String),
}

/// Split a shell-form body as POSIX `sh` (dash) tokenizes it. A NUL byte
/// is an error: it cannot be part of `sh -c`'s argument.
pub fn sh_words(body: &str) -> Result<Vec<ShToken>, String> {
    if body.contains('\0') {
        return Err("a NUL byte cannot reach `sh -c`".into());
    }
    let chars: Vec<char> = body.chars().collect();
    let mut tokens = Vec::new();
    let mut word: Option<ShWord> = None;
    let mut i = 0;
    let push_word = |word: &mut Option<ShWord>, tokens: &mut Vec<ShToken>| {
        if let Some(w) = word.take() {
            tokens.push(ShToken::Word(w));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => {
                push_word(&mut word, &mut tokens);
                i += 1;
            }
            '\n' => {
                push_word(&mut word, &mut tokens);
                tokens.push(ShToken::Op("\n".into()));
                i += 1;
            }
            '#' if word.is_none() => {
                // A comment to the end of the line.
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ';' | '&' | '|' | '(' | ')' | '<' | '>' => {
                push_word(&mut word, &mut tokens);
                let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
                let op = if ["&&", "||", ";;", ">>", "<<", ">&", "<&"].contains(&two.as_str()) {
                    two
                } else {
                    c.to_string()
                };
                i += op.chars().count();
                tokens.push(ShToken::Op(op));
            }
            '\\' => {
                match chars.get(i + 1) {
                    Some('\n') => {} // line continuation
                    Some(&n) => {
                        current(&mut word).text.push(n);
                    }
                    None => {
                        current(&mut word).text.push('\\');
                    }
                }
                i += 2;
            }
            '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == '\'')
                    .ok_or("unterminated single quote")?;
                let w = current(&mut word);
                w.text.extend(&chars[i + 1..i + 1 + end]);
                i += end + 2;
            }
            '"' => {
                let w = current(&mut word);
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated double quote".into()),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some('\n') => {}
                                Some(&n) if "$`\"\\".contains(n) => w.text.push(n),
                                Some(&n) => {
                                    w.text.push('\\');
                                    w.text.push(n);
                                }
                                None => return Err("unterminated double quote".into()),
                            }
                            i += 2;
                        }
                        Some('$') | Some('`') => i = substitution(&chars, i, w)?,
                        Some(&x) => {
                            w.text.push(x);
                            i += 1;
                        }
                    }
                }
            }
            '$' | '`' => {
                let w = current(&mut word);
                i = substitution(&chars, i, w)?;
            }
            _ => {
                let w = current(&mut word);
                w.text.push(c);
                i += 1;
            }
        }
    }
    push_word(&mut word, &mut tokens);
    Ok(tokens)
}

/// The word being read, started if need be.
fn current(word: &mut Option<ShWord>) -> &mut ShWord {
    word.get_or_insert_with(|| ShWord {
        text: String::new(),
        substitutions: Vec::new(),
    })
}

/// A `$...` or `` `...` `` at `chars[i]`: appended to the word as written
/// and recorded; returns the index after it.
fn substitution(chars: &[char], i: usize, w: &mut ShWord) -> Result<usize, String> {
    let (end, sub) = if chars[i] == '`' {
        let mut j = i + 1;
        loop {
            match chars.get(j) {
                None => return Err("unterminated backquote".into()),
                Some('\\') => j += 2,
                Some('`') => break,
                Some(_) => j += 1,
            }
        }
        let inner: String = chars[i + 1..j].iter().collect();
        (j + 1, Some(Substitution::Command(inner)))
    } else {
        match chars.get(i + 1) {
            Some('(') => {
                let arithmetic = chars.get(i + 2) == Some(&'(');
                let close = matching(chars, i + 1, '(', ')')?;
                let inner: String = chars[i + 2..close].iter().collect();
                let sub = if arithmetic {
                    Substitution::Arithmetic(inner)
                } else {
                    Substitution::Command(inner)
                };
                (close + 1, Some(sub))
            }
            Some('{') => {
                let close = matching(chars, i + 1, '{', '}')?;
                let inner: String = chars[i + 2..close].iter().collect();
                (close + 1, Some(Substitution::Parameter(inner)))
            }
            Some(&c) if c.is_ascii_digit() || "@*#?-$!".contains(c) => {
                (i + 2, Some(Substitution::Parameter(c.to_string())))
            }
            Some(&c) if c.is_ascii_alphabetic() || c == '_' => {
                let name: String = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                let end = i + 1 + name.chars().count();
                (end, Some(Substitution::Parameter(name)))
            }
            // A `$` that starts nothing is literal.
            _ => (i + 1, None),
        }
    };
    w.text.extend(&chars[i..end]);
    if let Some(sub) = sub {
        w.substitutions.push(sub);
    }
    Ok(end)
}

/// The index of the `close` matching `chars[open_at]`, skipping quoted
/// text and nested pairs.
fn matching(chars: &[char], open_at: usize, open: char, close: char) -> Result<usize, String> {
    let mut depth = 0;
    let mut j = open_at;
    while let Some(&c) = chars.get(j) {
        match c {
            '\\' => j += 1,
            '\'' => {
                j += 1;
                while chars.get(j).is_some_and(|c| *c != '\'') {
                    j += 1;
                }
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Ok(j);
                }
            }
            _ => {}
        }
        j += 1;
    }
    Err(format!("unterminated `{open}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(tokens: &[ShToken]) -> Vec<&str> {
        tokens
            .iter()
            .filter_map(|t| match t {
                ShToken::Word(w) => Some(w.text.as_str()),
                ShToken::Op(_) => None,
            })
            .collect()
    }

    #[test]
    fn continuation_comments_and_empty_continuation_lines() {
        let d = parse(
            "# a comment\n\
             \n\
             FROM   docker.io/library/debian@sha256:abc AS base\n\
             run echo one \\  \n\
             # a comment inside is skipped\n\
             \x20   && echo two \\\n\
             \n\
             \x20   && echo three\n\
             WORKDIR /app dir\n",
        )
        .unwrap();
        let keywords: Vec<&str> = d.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(keywords, ["FROM", "RUN", "WORKDIR"]);
        assert_eq!(
            d.instructions[0].args,
            Args::Words(vec![
                "docker.io/library/debian@sha256:abc".into(),
                "AS".into(),
                "base".into()
            ])
        );
        // The escape and the newline are cut; the next line is appended as is.
        assert_eq!(
            d.instructions[1].args,
            Args::Shell("echo one     && echo two     && echo three".into())
        );
        assert_eq!(d.instructions[1].lines, (4, 8));
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.instructions[2].args, Args::Text("/app dir".into()));
    }

    #[test]
    fn a_trailing_backslash_swallows_the_next_line() {
        let d = parse("WORKDIR /app\\\nUSER ml\n").unwrap();
        assert_eq!(d.instructions.len(), 1);
        assert_eq!(d.instructions[0].args, Args::Text("/appUSER ml".into()));
        // `\r\n` endings: the `\r` is dropped before the continuation check.
        let d = parse("WORKDIR /app\\\r\nUSER ml\r\n").unwrap();
        assert_eq!(d.instructions.len(), 1);
    }

    #[test]
    fn json_and_shell_forms_and_flags() {
        let d = parse(
            "ENTRYPOINT [\"python\", \"-c\", \"print('a b')\\n\"]\n\
             CMD [\"x\", 1]\n",
        );
        assert!(d.unwrap_err().message.contains("strings only"));
        let d = parse(
            "ENTRYPOINT [\"python\", \"-c\", \"print('a b')\\n\"]\n\
             CMD [not json\n\
             COPY --chown=ml --from=\"mlr builder\" src \"/a b\"\n\
             COPY [\"copy/0\", \"/a b\"]\n\
             RUN --mount=type=secret,id=x echo hi\n\
             HEALTHCHECK --interval=30s CMD [\"curl\", \"-f\"]\n\
             HEALTHCHECK CMD curl -f || exit 1\n",
        )
        .unwrap();
        let i = &d.instructions;
        assert_eq!(
            i[0].args,
            Args::Exec(vec!["python".into(), "-c".into(), "print('a b')\n".into()])
        );
        assert_eq!(i[1].args, Args::Shell("[not json".into()));
        assert_eq!(i[2].flags, ["--chown=ml", "--from=mlr builder"]);
        // Shell-form COPY splits at spaces whatever the quotes.
        assert_eq!(
            i[2].args,
            Args::Words(vec!["src".into(), "\"/a".into(), "b\"".into()])
        );
        assert_eq!(i[3].args, Args::Exec(vec!["copy/0".into(), "/a b".into()]));
        assert_eq!(i[4].flags, ["--mount=type=secret,id=x"]);
        assert_eq!(i[4].args, Args::Shell("echo hi".into()));
        assert_eq!(i[5].flags, ["--interval=30s"]);
        assert_eq!(
            i[5].args,
            Args::Healthcheck(
                "CMD".into(),
                Box::new(Args::Exec(vec!["curl".into(), "-f".into()]))
            )
        );
        assert_eq!(
            i[6].args,
            Args::Healthcheck(
                "CMD".into(),
                Box::new(Args::Shell("curl -f || exit 1".into()))
            )
        );
    }

    #[test]
    fn env_and_label_pairs_keep_quotes_until_lexed() {
        let d = parse(
            "ENV \\\n    A=\"x \\\" \\$HOME\" \\\n    B=plain C='s p'\n\
             LABEL k=\"$HOME/${USER:-me}\"\n\
             ENV OLD a value\n",
        )
        .unwrap();
        let Args::Pairs(pairs) = &d.instructions[0].args else {
            panic!("{:?}", d.instructions[0].args)
        };
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0].1, "\"x \\\" \\$HOME\"");
        let a = lex_word(&pairs[0].1).unwrap();
        assert_eq!(a.value, "x \" $HOME");
        assert!(a.expansions.is_empty());
        assert_eq!(lex_word(&pairs[2].1).unwrap().value, "s p");
        let Args::Pairs(label) = &d.instructions[1].args else {
            panic!()
        };
        let l = lex_word(&label[0].1).unwrap();
        assert_eq!(l.expansions, ["HOME", "USER"]);
        assert_eq!(
            d.instructions[2].args,
            Args::Pairs(vec![("OLD".into(), "a value".into())])
        );
        // Outside quotes `\` escapes anything; in double quotes only `"`, `$`, `\`.
        assert_eq!(lex_word(r#"a\ b"\n\\""#).unwrap().value, "a b\\n\\");
        assert!(lex_word("'open").is_err());
        assert!(lex_word("/a\"b").is_err());
        assert_eq!(lex_word("$(x)").unwrap().value, "$(x)");
    }

    #[test]
    fn heredocs_take_the_following_lines() {
        let d = parse("RUN cat <<EOF > /x\nFROM y\nEOF\nUSER me\n").unwrap();
        let keywords: Vec<&str> = d.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(keywords, ["RUN", "USER"]);
        assert_eq!(
            d.instructions[0].heredocs,
            [("EOF".to_string(), "FROM y\n".to_string())]
        );
        // Quoted, `<<` is a plain word.
        let d = parse("RUN echo '<<EOF'\nUSER me\n").unwrap();
        assert!(d.instructions[0].heredocs.is_empty());
    }

    #[test]
    fn sh_words_show_quotes_and_substitutions() {
        let t = sh_words("set -eu; pkgs='a=1 b=2'; echo \"x $y\" $(id -u) `date` \\$z 'it'\\''s'")
            .unwrap();
        assert_eq!(
            words(&t),
            [
                "set",
                "-eu",
                "pkgs=a=1 b=2",
                "echo",
                "x $y",
                "$(id -u)",
                "`date`",
                "$z",
                "it's"
            ]
        );
        let subs: Vec<&Substitution> = t
            .iter()
            .filter_map(|t| match t {
                ShToken::Word(w) => Some(&w.substitutions),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(
            subs,
            [
                &Substitution::Parameter("y".into()),
                &Substitution::Command("id -u".into()),
                &Substitution::Command("date".into()),
            ]
        );
        // The issue's payload: a single-quoted word broken open.
        let t = sh_words("pkgs='relpkg=1.0-1'\"$(echo pwned > /pwned-apt)\"''").unwrap();
        let ShToken::Word(w) = &t[0] else { panic!() };
        assert_eq!(
            w.substitutions,
            [Substitution::Command("echo pwned > /pwned-apt".into())]
        );
        assert!(sh_words("echo 'open").is_err());
        assert!(sh_words("echo a\0b").is_err());
        assert_eq!(
            sh_words("a && b || c; case x in x) y ;; esac")
                .unwrap()
                .iter()
                .filter(|t| matches!(t, ShToken::Op(_)))
                .count(),
            5
        );
    }
}
