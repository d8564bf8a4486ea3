//! `mlr dockerfile`: render the Dockerfile from a fresh `ml.lock` (no network).

use std::path::Path;

use anyhow::Context;

use super::{Workspace, stale_lock};
use crate::config::Config;
use crate::error::{ErrorKind, HintExt, hinted};
use crate::lock::read::ReadLock;
use crate::manifest::Manifest;

/// Read the manifest and a lock that satisfies it, or fail (exit 1 when stale).
pub fn fresh_inputs(ws: &Workspace) -> anyhow::Result<(Manifest, ReadLock)> {
    let manifest = ws.manifest()?;
    let Some((_, lock)) = ws.lock()? else {
        return Err(hinted(
            ErrorKind::Usage,
            format!("{} does not exist", ws.lock_display),
            "run `mlr lock` first",
        ));
    };
    let findings = crate::lock::satisfies(&manifest, &lock);
    if !findings.is_empty() {
        return Err(stale_lock(
            &format!(
                "{} does not satisfy {}:",
                ws.lock_display, ws.manifest_display
            ),
            &findings,
        ))
        .hint("run `mlr lock`");
    }
    Ok((manifest, lock))
}

pub fn run(ws: &Workspace, config: &Config, output: Option<&Path>) -> anyhow::Result<()> {
    let (manifest, lock) = fresh_inputs(ws)?;
    let text = crate::render::dockerfile(&manifest, &lock.lock)?;
    match output {
        Some(path) if path != Path::new("-") => {
            crate::atomic_file::write(path, &text)
                .with_context(|| format!("writing {}", path.display()))?;
            config.shell.status("Wrote", path.display().to_string());
        }
        _ => crate::error::print_stdout(&text)?,
    }
    Ok(())
}
