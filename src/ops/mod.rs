//! One orchestrator per command. Operations sequence the I/O (files,
//! network, processes) around the pure stages: manifest → resolve → lock →
//! render → build, and verify.

pub mod build;
pub mod dockerfile;
pub mod init;
pub mod lock;
pub mod lock_apt;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::{ErrorKind, FileError, hinted};
use crate::lock::read::ReadLock;
use crate::manifest::Manifest;

pub const MANIFEST_FILE: &str = "ml.toml";
pub const LOCK_FILE: &str = "ml.lock";
/// What `[image] copy` sources leave out, beside ml.toml.
pub const DOCKERIGNORE_FILE: &str = ".dockerignore";

/// An outcome that exits with code 1: the check ran and found drift.
pub fn drift(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(crate::error::Error::new(
        crate::error::ErrorKind::Drift,
        message,
    ))
}

/// The staleness findings as every command prints them: one line each,
/// `stale: …` or `inconsistent: …`.
pub fn finding_lines(findings: &[crate::lock::Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{}: {f}", f.label()))
        .collect()
}

/// A lock that does not satisfy its manifest, as the error `build`,
/// `dockerfile` and `lock --locked`/`--check` give: `headline`, then each
/// finding on its own line (exit 1).
pub fn stale_lock(headline: &str, findings: &[crate::lock::Finding]) -> anyhow::Error {
    let mut message = headline.to_string();
    for line in finding_lines(findings) {
        message.push_str("\n  ");
        message.push_str(&line);
    }
    drift(message)
}

/// Output format for commands whose results machines read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// A project: `ml.toml`, its directory, and where `ml.lock` lives.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub manifest_path: PathBuf,
    pub lock_path: PathBuf,
    /// Paths as shown in messages (relative to the current directory when possible).
    pub manifest_display: String,
    pub lock_display: String,
}

impl Workspace {
    /// Locate `ml.toml`: the explicit path, or the nearest one upward from
    /// the current directory.
    pub fn locate(explicit: Option<&Path>) -> anyhow::Result<Workspace> {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let manifest_path = match explicit {
            Some(p) => {
                let p = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    cwd.join(p)
                };
                if p.is_dir() { p.join(MANIFEST_FILE) } else { p }
            }
            None => {
                let mut dir = Some(cwd.as_path());
                let mut found = None;
                while let Some(d) = dir {
                    if d.join(MANIFEST_FILE).is_file() {
                        found = Some(d.join(MANIFEST_FILE));
                        break;
                    }
                    dir = d.parent();
                }
                found.ok_or_else(|| {
                    hinted(
                        ErrorKind::Usage,
                        format!(
                            "could not find `{MANIFEST_FILE}` in {} or any parent directory",
                            cwd.display()
                        ),
                        "run `mlr init` to create one, or pass --manifest-path",
                    )
                })?
            }
        };
        let root = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.clone());
        let lock_path = root.join(LOCK_FILE);
        let display = |p: &Path| {
            p.strip_prefix(&cwd)
                .map(|r| r.display().to_string())
                .unwrap_or_else(|_| p.display().to_string())
        };
        Ok(Workspace {
            manifest_display: display(&manifest_path),
            lock_display: display(&lock_path),
            root,
            manifest_path,
            lock_path,
        })
    }

    /// Read and validate `ml.toml`.
    pub fn manifest(&self) -> anyhow::Result<Manifest> {
        let bytes = std::fs::read(&self.manifest_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                hinted(
                    ErrorKind::Usage,
                    format!("`{}` does not exist", self.manifest_display),
                    "run `mlr init` to create one",
                )
            } else {
                anyhow::Error::new(e).context(format!("reading {}", self.manifest_display))
            }
        })?;
        let text = utf8(&bytes, &self.manifest_display, ErrorKind::Manifest)?;
        let manifest = crate::manifest::parse(text, &self.manifest_display)?;
        // `[pip] requirements` are read next to ml.toml.
        let mut manifest = crate::manifest::requirements_file::expand(
            manifest,
            &self.manifest_display,
            &|path| std::fs::read(self.root.join(path)),
        )?;
        if !manifest.image.copy.is_empty() {
            self.read_dockerignore(&mut manifest)?;
        }
        // `name @ ./dir` requirements: their trees as they are now.
        let mut trees: Vec<crate::manifest::SourceTree> = Vec::new();
        for r in &crate::requests::Requests::of(&manifest).pip {
            let Ok(req) = crate::manifest::pep508::Requirement::parse(&r.written) else {
                continue;
            };
            let crate::manifest::pep508::VersionOrUrl::Url(url) = &req.version else {
                continue;
            };
            let Ok(crate::manifest::syntax::DirectUrl::Path { path }) =
                crate::manifest::syntax::direct_url(url)
            else {
                continue;
            };
            let Some(path) = crate::manifest::syntax::join_project_path("", &path) else {
                continue;
            };
            if !trees.iter().any(|t| t.path == path) {
                let sha256 = crate::source_tree::digest(&self.root.join(&path)).ok();
                trees.push(crate::manifest::SourceTree { path, sha256 });
            }
        }
        manifest.source_trees = trees;
        Ok(manifest)
    }

    /// The `.dockerignore` beside ml.toml, if there is one, applied to
    /// `manifest`'s copy sources.
    fn read_dockerignore(&self, manifest: &mut Manifest) -> anyhow::Result<()> {
        let path = self.root.join(DOCKERIGNORE_FILE);
        let shown = Path::new(&self.manifest_display)
            .with_file_name(DOCKERIGNORE_FILE)
            .display()
            .to_string();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {shown}"))),
        };
        let text = utf8(&bytes, &shown, ErrorKind::Manifest)?;
        Ok(manifest.apply_dockerignore(text, &shown)?)
    }

    /// Read `ml.lock` if it exists.
    pub fn lock(&self) -> anyhow::Result<Option<(String, ReadLock)>> {
        let bytes = match std::fs::read(&self.lock_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("reading {}", self.lock_display)));
            }
        };
        let text = utf8(&bytes, &self.lock_display, ErrorKind::Lock)?.to_string();
        let read = crate::lock::parse(&text, &self.lock_display)?;
        Ok(Some((text, read)))
    }
}

fn utf8<'a>(bytes: &'a [u8], display: &str, kind: ErrorKind) -> anyhow::Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let text = String::from_utf8_lossy(valid);
        anyhow::Error::new(
            FileError::at_offset(display, &text, text.len(), "the file is not valid UTF-8")
                .with_hint("ml.toml, ml.lock and .dockerignore are UTF-8 text files")
                .with_kind(kind),
        )
    })
}

/// An image name from free text (a directory name): lowercase, with
/// characters outside `[a-z0-9._-]` as `-`, starting and ending with an
/// alphanumeric character; `fallback` when nothing is left.
pub fn image_name(text: &str, fallback: &str) -> String {
    let name: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if name.is_empty() {
        fallback.to_string()
    } else {
        name.to_string()
    }
}
