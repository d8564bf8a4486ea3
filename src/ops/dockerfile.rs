//! `mlr dockerfile`: render the Dockerfile from a fresh `ml.lock` (no network).

use std::path::Path;

use anyhow::Context;

use super::{Drift, Workspace, write_atomic};
use crate::config::Config;
use crate::error::{HintExt, hinted};
use crate::lock::read::ReadLock;
use crate::manifest::Manifest;

/// Read the manifest and a lock that satisfies it, or fail (exit 1 when stale).
pub fn fresh_inputs(ws: &Workspace) -> anyhow::Result<(Manifest, ReadLock)> {
    let manifest = ws.manifest()?;
    let Some((_, lock)) = ws.lock()? else {
        return Err(hinted(
            format!("{} does not exist", ws.lock_display),
            "run `mlr lock` first",
        ));
    };
    let findings = crate::lock::satisfies(&manifest, &lock.lock);
    if !findings.is_empty() {
        let lines: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
        return Err(anyhow::Error::new(Drift {
            message: format!(
                "{} does not satisfy {}:\n{}",
                ws.lock_display,
                ws.manifest_display,
                lines.join("\n")
            ),
        }))
        .hint("run `mlr lock`");
    }
    Ok((manifest, lock))
}

pub fn run(ws: &Workspace, config: &Config, output: Option<&Path>) -> anyhow::Result<()> {
    let (manifest, lock) = fresh_inputs(ws)?;
    let text = crate::render::dockerfile(&manifest, &lock.lock)?;
    match output {
        Some(path) if path != Path::new("-") => {
            write_atomic(path, &text).with_context(|| format!("writing {}", path.display()))?;
            config.shell.status("Wrote", path.display().to_string());
        }
        _ => crate::error::print_stdout(&text)?,
    }
    Ok(())
}
