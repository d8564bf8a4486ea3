//! The strict `ml.lock` reader: conflict markers, unknown versions and broken
//! TOML are errors with `ml.lock:LINE:COL`; content that parses but differs
//! from what mlr writes is reported as non-canonical.

use super::{Lockfile, VERSION, render};
use crate::error::FileError;

/// A lockfile read from text.
#[derive(Debug, Clone)]
pub struct ReadLock {
    pub lock: Lockfile,
    /// `None` when the text is exactly what mlr writes; else the first line
    /// (1-based) that differs.
    pub non_canonical_line: Option<usize>,
}

/// Parse `ml.lock` text. `path` is the path as shown to the user.
pub fn parse(source: &str, path: &str) -> Result<ReadLock, FileError> {
    if let Some((offset, marker)) = conflict_marker(source) {
        return Err(FileError::at_offset(
            path,
            source,
            offset,
            format!("merge conflict marker `{marker}` in the lockfile"),
        )
        .with_hint("run `mlr lock` to re-resolve from ml.toml; it replaces a conflicted lock"));
    }
    let doc = toml_edit::Document::parse(source).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        FileError::at_offset(
            path,
            source,
            offset,
            format!("invalid TOML: {}", first_line(e.message())),
        )
        .with_hint("the lockfile is written by mlr; run `mlr lock` to regenerate it")
    })?;
    match doc.get("version") {
        None => {
            return Err(FileError::whole_file(path, "the lockfile has no `version`")
                .with_hint("run `mlr lock` to regenerate it"));
        }
        Some(item) => {
            let offset = item.span().map_or(0, |s| s.start);
            match item.as_integer() {
                Some(VERSION) => {}
                Some(v) if v > VERSION => {
                    return Err(FileError::at_offset(
                        path,
                        source,
                        offset,
                        format!(
                            "lockfile version {v} is newer than this mlr reads (version {VERSION})"
                        ),
                    )
                    .with_hint("upgrade mlr, or run `mlr lock` to rewrite the lock in version 1"));
                }
                Some(v) => {
                    return Err(FileError::at_offset(
                        path,
                        source,
                        offset,
                        format!(
                            "unsupported lockfile version {v}; this mlr reads version {VERSION}"
                        ),
                    )
                    .with_hint("run `mlr lock` to regenerate it"));
                }
                None => {
                    return Err(FileError::at_offset(
                        path,
                        source,
                        offset,
                        "`version` must be an integer",
                    )
                    .with_hint("run `mlr lock` to regenerate it"));
                }
            }
        }
    }
    drop(doc);
    let lock: Lockfile = toml_edit::de::from_str(source).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        FileError::at_offset(path, source, offset, first_line(e.message()).to_string())
            .with_hint("the lockfile is written by mlr; run `mlr lock` to regenerate it")
    })?;
    let canonical = render(&lock);
    let normalized = source.replace("\r\n", "\n");
    let non_canonical_line = if canonical == normalized {
        None
    } else {
        Some(first_differing_line(&canonical, &normalized))
    };
    Ok(ReadLock {
        lock,
        non_canonical_line,
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

fn conflict_marker(source: &str) -> Option<(usize, &'static str)> {
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let l = line.trim_end_matches(['\n', '\r']);
        for marker in ["<<<<<<<", "=======", ">>>>>>>", "|||||||"] {
            if l.starts_with(marker)
                && (l.len() == marker.len() || l.as_bytes()[marker.len()] == b' ')
            {
                return Some((offset, marker));
            }
        }
        offset += line.len();
    }
    None
}

fn first_differing_line(a: &str, b: &str) -> usize {
    let mut al = a.lines();
    let mut bl = b.lines();
    let mut n = 1;
    loop {
        match (al.next(), bl.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return n,
            _ => return n,
        }
    }
}
