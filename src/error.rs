//! mlr's error type and its one renderer.
//!
//! Every failure carries an [`ErrorKind`]: the kind decides the exit code
//! and how a caller reacts (no decision is made by matching message
//! text); the text only describes. Every failure reaches the user as
//! `error:` then `caused by:` lines then an optional `hint:`; errors in
//! `ml.toml` and `ml.lock` name `file:line:col` and show the offending line
//! with a caret.

use std::fmt;
use std::io::Write;

use serde::Serialize;

use crate::redact::redact_text;

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// A flag, an argument or a file the command was pointed at is wrong.
    Usage,
    /// `ml.toml` (or mlr's own settings file) is invalid.
    Manifest,
    /// `ml.lock` cannot be read.
    Lock,
    /// `ml.lock` holds merge-conflict markers; `mlr lock` re-resolves it.
    LockConflict,
    /// A value of `ml.lock` breaks its grammar (a hand edit, or a forged
    /// lock); `mlr lock` re-resolves it from `ml.toml`.
    LockInvalid,
    /// The check ran and found drift or a stale lock (exit 1).
    Drift,
    /// A request cannot be satisfied by its source, or breaks a rule.
    Resolution,
    /// A server could not be reached, or answered with an error.
    Network,
    /// The container engine is missing, down, or refused.
    Engine,
    /// A step of the image build failed.
    BuildStep,
    /// Local files and processes.
    Io,
    /// mlr produced something its own checks refuse: a bug in mlr.
    Internal,
}

impl ErrorKind {
    /// 1 for drift, 2 for every error.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Drift => 1,
            _ => 2,
        }
    }
}

/// An error of a known kind, with a suggestion of what to run or change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The kind of an error chain: that of its outermost typed error
/// ([`Error`], [`FileError`]); an untyped chain (a file or process
/// failure with context) is [`ErrorKind::Io`].
pub fn kind_of(err: &anyhow::Error) -> ErrorKind {
    // anyhow finds a context type anywhere in the chain, outermost first
    // (chain items themselves do not downcast to their context type).
    err.downcast_ref::<Error>()
        .map(|e| e.kind)
        .or_else(|| err.downcast_ref::<FileError>().map(|e| e.kind))
        .unwrap_or(ErrorKind::Io)
}

/// An error at a place in a text file (`ml.toml`, `ml.lock`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// [`ErrorKind::Manifest`] unless the reader says otherwise.
    pub kind: ErrorKind,
    /// The path as the user should see it (for example `ml.toml`).
    pub path: String,
    /// 1-based line, when the error has a location.
    pub line: Option<usize>,
    /// 1-based column (in characters), when the error has a location.
    pub column: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
    /// The text of the offending line, for the caret display.
    pub snippet: Option<String>,
}

impl FileError {
    /// An error without a location in the file.
    pub fn whole_file(path: impl Into<String>, message: impl Into<String>) -> Self {
        FileError {
            kind: ErrorKind::Manifest,
            path: path.into(),
            line: None,
            column: None,
            message: message.into(),
            hint: None,
            snippet: None,
        }
    }

    /// An error at a byte offset of `source`.
    pub fn at_offset(
        path: impl Into<String>,
        source: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let (line, column, snippet) = locate(source, offset);
        FileError {
            kind: ErrorKind::Manifest,
            path: path.into(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
            hint: None,
            snippet: Some(snippet),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// `path:line:col` (or just `path`).
    pub fn location(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.path),
            (Some(l), None) => format!("{}:{l}", self.path),
            _ => self.path.clone(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)
    }
}

impl std::error::Error for FileError {}

/// 1-based line and column (in chars) of a byte offset, and that line's text.
pub fn locate(source: &str, offset: usize) -> (usize, usize, String) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    let line_end = source[offset..]
        .find('\n')
        .map_or(source.len(), |i| offset + i);
    let text = source[line_start..line_end].trim_end_matches('\r');
    // Keep the caret display readable for huge lines.
    let text: String = text.chars().take(200).collect();
    (line, column, text)
}

/// Attach a hint to an error: `.hint("run `mlr lock`")`. The error keeps
/// its kind.
pub trait HintExt<T> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> HintExt<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| {
            let e: anyhow::Error = e.into();
            // The renderer drops the repeated line, so the chain reads once.
            let context = Error {
                kind: kind_of(&e),
                message: e.to_string(),
                hint: Some(hint.into()),
            };
            e.context(context)
        })
    }
}

/// `err`, of `kind` unless it already has a kind (a typed error in its
/// chain): callers name the kind of the stage that failed.
pub fn or_kind(err: anyhow::Error, kind: ErrorKind) -> anyhow::Error {
    let typed = err.downcast_ref::<Error>().is_some() || err.downcast_ref::<FileError>().is_some();
    if typed {
        return err;
    }
    let message = err.to_string();
    err.context(Error::new(kind, message))
}

/// An error of `kind` that carries a hint.
pub fn hinted(
    kind: ErrorKind,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> anyhow::Error {
    anyhow::Error::new(Error::new(kind, message).with_hint(hint))
}

/// Render an error chain as `error:` / `caused by:` / `hint:` lines.
pub fn render(err: &anyhow::Error, color: bool) -> String {
    let (red, yellow, cyan, bold, reset) = if color {
        (
            "\x1b[1;31m",
            "\x1b[1;33m",
            "\x1b[1;36m",
            "\x1b[1m",
            "\x1b[0m",
        )
    } else {
        ("", "", "", "", "")
    };
    let mut out = String::new();
    // anyhow finds a context type anywhere in the chain; the outermost wins.
    let mut hint: Option<String> = err.downcast_ref::<Error>().and_then(|h| h.hint.clone());
    let mut first = true;
    let mut last_line = String::new();
    for cause in err.chain() {
        if let Some(h) = cause.downcast_ref::<Error>().and_then(|e| e.hint.as_ref()) {
            hint.get_or_insert_with(|| h.clone());
        }
        let text = if let Some(fe) = cause.downcast_ref::<FileError>() {
            if let Some(h) = &fe.hint {
                hint.get_or_insert_with(|| h.clone());
            }
            let mut t = fe.to_string();
            if let (Some(snippet), Some(line), Some(col)) = (&fe.snippet, fe.line, fe.column) {
                let gutter = line.to_string().len();
                let pad = " ".repeat(gutter);
                let caret_pad: String = snippet
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                t.push_str(&format!(
                    "\n{pad} |\n{line} | {snippet}\n{pad} | {caret_pad}^"
                ));
            }
            t
        } else {
            cause.to_string()
        };
        let text = redact_text(&text);
        if text.is_empty() || text == last_line {
            continue;
        }
        last_line = text.clone();
        if first {
            out.push_str(&format!("{red}error{reset}{bold}:{reset} {text}\n"));
            first = false;
        } else {
            out.push_str(&format!("{yellow}caused by{reset}: {text}\n"));
        }
    }
    if let Some(h) = hint {
        out.push_str(&format!("{cyan}hint{reset}: {}\n", redact_text(&h)));
    }
    out
}

/// Write to stdout, treating a closed pipe (`mlr … | head`) as success.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_decides_the_exit_code_whatever_the_words() {
        let drift = anyhow::Error::new(Error::new(ErrorKind::Drift, "error: 404 not found"));
        assert_eq!(kind_of(&drift).exit_code(), 1);
        // A hint keeps the kind of what it is attached to.
        let hinted = Err::<(), _>(drift).hint("run `mlr lock`").unwrap_err();
        assert_eq!(kind_of(&hinted), ErrorKind::Drift);
        assert_eq!(kind_of(&hinted).exit_code(), 1);
        let conflict = FileError::whole_file("ml.lock", "x").with_kind(ErrorKind::LockConflict);
        assert_eq!(
            kind_of(&anyhow::Error::new(conflict)),
            ErrorKind::LockConflict
        );
        // Untyped failures are local I/O until a stage names them.
        let untyped = anyhow::anyhow!("stale: drift");
        assert_eq!(kind_of(&untyped), ErrorKind::Io);
        assert_eq!(kind_of(&untyped).exit_code(), 2);
        let named = or_kind(untyped, ErrorKind::Resolution);
        assert_eq!(kind_of(&named), ErrorKind::Resolution);
        // A kind already in the chain is kept.
        let network = anyhow::Error::new(Error::new(ErrorKind::Network, "refused"))
            .context("resolving image x");
        assert_eq!(
            kind_of(&or_kind(network, ErrorKind::Resolution)),
            ErrorKind::Network
        );
        // The renderer shows a repeated line once.
        assert_eq!(render(&named, false), "error: stale: drift\n");
    }
}
