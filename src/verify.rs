//! `mlr verify`'s offline checks as typed findings: a stale lock, a lock not
//! in canonical form, a committed Dockerfile that differs from the render.
//! (A lock without its hashes, digests or commits never gets here: the
//! lock's grammar refuses it when it is read.) Pure: the caller reads the
//! files.

use std::fmt;

use serde::Serialize;

use crate::lock::read::ReadLock;
use crate::lock::{Finding, satisfies};
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
