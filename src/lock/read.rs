//! The strict `ml.lock` reader: conflict markers, unknown versions and broken
//! TOML are errors with `ml.lock:LINE:COL`; content that parses but differs
//! from what mlr writes is reported as non-canonical.

use super::{Lockfile, VERSION, render};
use crate::error::{ErrorKind, FileError};

/// A lockfile read from text.
#[derive(Debug, Clone)]
pub struct ReadLock {
    pub lock: Lockfile,
    /// `None` when the text is exactly what mlr writes; else the first line
    /// (1-based) that differs.
    pub non_canonical_line: Option<usize>,
    /// The text it was read from, and its path as shown to the user, to
    /// locate findings.
    pub source: String,
    pub path: String,
}

impl ReadLock {
    /// A lock as mlr would write it (for locks made in memory).
    pub fn canonical(lock: Lockfile, path: &str) -> ReadLock {
        let source = render(&lock);
        let mut lock = lock;
        lock.sort();
        ReadLock {
            lock,
            non_canonical_line: None,
            source,
            path: path.to_string(),
        }
    }

    /// `path:LINE:COL` of `key` in the `index`-th `[[table]]` of the text
    /// (just `path` when the text has no such key).
    pub fn locate(&self, table: &str, index: usize, key: &str) -> String {
        self.locator()(table, index, key)
    }

    /// [`ReadLock::locate`] for many keys: the text is parsed, and its
    /// line starts found, once (on the first call), not once per key.
    pub fn locator(&self) -> impl Fn(&str, usize, &str) -> String + '_ {
        let cache = std::cell::OnceCell::new();
        move |table, index, key| {
            let (doc, newlines) = cache.get_or_init(|| {
                let doc = toml_edit::Document::parse(self.source.as_str()).ok();
                let newlines: Vec<usize> =
                    self.source.match_indices('\n').map(|(i, _)| i).collect();
                (doc, newlines)
            });
            let offset = doc.as_ref().and_then(|doc| {
                let entry = doc.get(table)?.as_array_of_tables()?.get(index)?;
                let item = entry.get(key)?;
                item.span().map(|s| s.start)
            });
            match offset {
                // As `error::locate`: 1-based line, column in chars.
                Some(offset) if self.source.is_char_boundary(offset) => {
                    let before = newlines.partition_point(|&n| n < offset);
                    let line_start = before.checked_sub(1).map_or(0, |i| newlines[i] + 1);
                    let column = self.source[line_start..offset].chars().count() + 1;
                    format!("{}:{}:{column}", self.path, before + 1)
                }
                Some(offset) => {
                    let (line, column, _) = crate::error::locate(&self.source, offset);
                    format!("{}:{line}:{column}", self.path)
                }
                None => self.path.clone(),
            }
        }
    }
}

/// Parse `ml.lock` text. `path` is the path as shown to the user.
pub fn parse(source: &str, path: &str) -> Result<ReadLock, FileError> {
    // Every error of the reader is a lock error; conflicts say so.
    read(source, path).map_err(|e| match e.kind {
        ErrorKind::LockConflict | ErrorKind::LockInvalid => e,
        _ => e.with_kind(ErrorKind::Lock),
    })
}

fn read(source: &str, path: &str) -> Result<ReadLock, FileError> {
    if let Some((offset, marker)) = conflict_marker(source) {
        return Err(FileError::at_offset(
            path,
            source,
            offset,
            format!("merge conflict marker `{marker}` in the lockfile"),
        )
        .with_hint("run `mlr lock` to re-resolve from ml.toml; it replaces a conflicted lock")
        .with_kind(ErrorKind::LockConflict));
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
    super::grammar::check(&lock, source, path)?;
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
        source: source.to_string(),
        path: path.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locator_finds_keys_by_line_and_column() {
        // CRLF line ends, a non-ASCII value and indented keys.
        let source = "version = 1\r\nfingerprint = \"sha256:é\"\r\n\r\n[[pip]]\r\nname = \"ä\"\r\nversion = \"1\"\r\n\r\n[[pip]]\r\nname = \"b\"\r\n  version = \"2\"\r\n";
        let read = ReadLock {
            lock: super::super::Lockfile::default(),
            non_canonical_line: None,
            source: source.to_string(),
            path: "ml.lock".to_string(),
        };
        let locate = read.locator();
        assert_eq!(locate("pip", 0, "version"), "ml.lock:6:11");
        assert_eq!(locate("pip", 1, "version"), "ml.lock:10:13");
        assert_eq!(locate("pip", 1, "name"), "ml.lock:9:8");
        assert_eq!(locate("pip", 2, "version"), "ml.lock");
        assert_eq!(locate("apt", 0, "version"), "ml.lock");
        assert_eq!(read.locate("pip", 1, "version"), "ml.lock:10:13");
        // The same answers as the error renderer's locate.
        let doc = toml_edit::Document::parse(source).unwrap();
        for (index, key) in [(0, "name"), (0, "version"), (1, "name"), (1, "version")] {
            let entry = doc["pip"].as_array_of_tables().unwrap().get(index).unwrap();
            let start = entry.get(key).unwrap().span().unwrap().start;
            let (line, column, _) = crate::error::locate(source, start);
            assert_eq!(
                locate("pip", index, key),
                format!("ml.lock:{line}:{column}")
            );
        }
    }
}
