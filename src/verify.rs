//! `mlr verify`'s offline checks as typed findings: a stale lock, a lock not
//! in canonical form, a committed Dockerfile that differs from the render,
//! an entry without a hash. Pure: the caller reads the files.

use std::fmt;

use serde::Serialize;

use crate::lock::read::ReadLock;
use crate::lock::{Finding, Lockfile, satisfies};
use crate::manifest::Manifest;
use crate::render;

/// One reason verification fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "kebab-case")]
pub enum VerifyFinding {
    /// There is no `ml.lock` beside `ml.toml`.
    MissingLock,
    /// The lock does not satisfy the manifest.
    Stale { finding: Finding, message: String },
    /// The lock parses but is not what mlr writes (hand-edited).
    NotCanonical { line: usize },
    /// A committed mlr-generated Dockerfile differs from the render.
    DockerfileDiffers { path: String, line: usize },
    /// A pinned entry lacks its digest or hash.
    MissingHash { kind: String, name: String },
}

impl fmt::Display for VerifyFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyFinding::MissingLock => write!(f, "missing: ml.lock does not exist"),
            VerifyFinding::Stale { message, finding } => {
                write!(f, "{}: {message}", finding.label())
            }
            VerifyFinding::NotCanonical { line } => write!(
                f,
                "not canonical: ml.lock:{line} differs from what `mlr lock` writes (hand-edited?)"
            ),
            VerifyFinding::DockerfileDiffers { path, line } => write!(
                f,
                "dockerfile: {path}:{line} differs from what `mlr dockerfile` renders"
            ),
            VerifyFinding::MissingHash { kind, name } => {
                write!(f, "unhashed: {kind} `{name}` has no valid digest or hash")
            }
        }
    }
}

/// Verify a read lock against its manifest and, optionally, a committed
/// Dockerfile `(path, text)`.
pub fn verify(
    manifest: &Manifest,
    lock: &ReadLock,
    dockerfile: Option<(&str, &str)>,
) -> Vec<VerifyFinding> {
    let mut out: Vec<VerifyFinding> = satisfies(manifest, lock)
        .into_iter()
        .map(|finding| VerifyFinding::Stale {
            message: finding.to_string(),
            finding,
        })
        .collect();
    if let Some(line) = lock.non_canonical_line {
        out.push(VerifyFinding::NotCanonical { line });
    }
    out.extend(missing_hashes(&lock.lock));
    let fresh = out.is_empty();
    if let (true, Some((path, text))) = (fresh, dockerfile) {
        if text.contains(render::GENERATED) {
            if let Ok(rendered) = render::dockerfile(manifest, &lock.lock) {
                let text = text.replace("\r\n", "\n");
                if rendered != text {
                    out.push(VerifyFinding::DockerfileDiffers {
                        path: path.to_string(),
                        line: first_difference(&rendered, &text),
                    });
                }
            }
        }
    }
    out
}

fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(is_sha256_hex)
}

fn is_git_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn missing_hashes(lock: &Lockfile) -> Vec<VerifyFinding> {
    let mut out = Vec::new();
    let mut flag = |kind: &str, name: &str| {
        out.push(VerifyFinding::MissingHash {
            kind: kind.into(),
            name: name.into(),
        })
    };
    for i in &lock.images {
        if !is_digest(&i.digest)
            || i.platforms.is_empty()
            || !i.platforms.iter().all(|p| is_digest(&p.digest))
        {
            flag("image", &i.name);
        }
    }
    for a in &lock.apt {
        if !is_sha256_hex(&a.sha256) {
            flag("apt", &a.name);
        }
    }
    for p in &lock.pip {
        if p.artifacts.is_empty() || !p.artifacts.iter().all(|a| is_sha256_hex(&a.sha256)) {
            flag("pip", &p.name);
        }
    }
    for g in &lock.git {
        if !is_git_sha(&g.commit)
            || !is_git_sha(&g.tree)
            || !g.submodules.iter().all(|s| is_git_sha(&s.commit))
        {
            flag("git", &g.name);
        }
    }
    out
}
