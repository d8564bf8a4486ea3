//! `mlr verify`: offline consistency of ml.toml, ml.lock and a committed
//! Dockerfile. Exit 0 when consistent, 1 with one line per finding.

use serde::Serialize;

use super::{Format, Workspace, drift};
use crate::config::Config;
use crate::error::{HintExt, print_stdout};
use crate::verify::{VerifyFinding, verify};

pub fn run(ws: &Workspace, config: &Config, format: Format) -> anyhow::Result<()> {
    let manifest = ws.manifest()?;
    let findings = match ws.lock()? {
        None => vec![VerifyFinding::MissingLock],
        Some((_, lock)) => {
            let dockerfile_path = ws.root.join("Dockerfile");
            let committed = std::fs::read_to_string(&dockerfile_path).ok();
            let shown = dockerfile_path
                .strip_prefix(std::env::current_dir().unwrap_or_default())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| dockerfile_path.display().to_string());
            verify(
                &manifest,
                &lock,
                committed.as_deref().map(|t| (shown.as_str(), t)),
            )
        }
    };
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Report<'a> {
                ok: bool,
                findings: &'a [VerifyFinding],
            }
            let json = serde_json::to_string_pretty(&Report {
                ok: findings.is_empty(),
                findings: &findings,
            })?;
            print_stdout(&format!("{json}\n"))?;
        }
        Format::Text => {
            let text: String = findings.iter().map(|f| format!("{f}\n")).collect();
            print_stdout(&text)?;
        }
    }
    if findings.is_empty() {
        config.shell.status(
            "Verified",
            format!("{} satisfies {}", ws.lock_display, ws.manifest_display),
        );
        return Ok(());
    }
    Err(drift(format!(
        "verification failed: {} finding{}",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    )))
    .hint(
        if findings
            .iter()
            .any(|f| matches!(f, VerifyFinding::DockerfileDiffers { .. }))
        {
            "run `mlr lock`, then `mlr dockerfile -o Dockerfile`, and commit the result"
        } else {
            "run `mlr lock` and commit the result"
        },
    )
}
