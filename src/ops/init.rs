//! `mlr init`: write a commented `ml.toml` (and the JSON schema its
//! `#:schema` header points at, for editor completion).

use anyhow::Context;

use super::MANIFEST_FILE;
use crate::config::Config;
use crate::error::{ErrorKind, hinted};

/// Where the schema for editors is written, relative to the project.
pub const SCHEMA_PATH: &str = ".mlr/ml.toml.schema.json";

/// The commented manifest `mlr init` writes for a project named `name`.
pub fn template(name: &str) -> String {
    format!(
        r#"#:schema ./{SCHEMA_PATH}
# ml.toml: what this environment needs. `mlr lock` pins every moving part
# into ml.lock; `mlr build` builds the image from the lock alone.

[project]
name = "{name}"
# Platforms to lock; each gets its own pinned manifest digest.
platforms = ["linux/amd64"]

[base]
# A tag or a digest. `mlr lock` pins it to the image's digest.
image = "debian:bookworm-slim"

# Git sources are fetched on the host at the locked commit and built in
# the image, inside the checkout.
# [git.my-kernels]
# url = "https://github.com/me/my-kernels.git"
# rev = "v1.0.0"                       # tag, branch or commit
# build = ["make install"]

[env]
# NCCL_DEBUG = "INFO"

[image]
# Images run as a non-root user by default.
user = "ml"
workdir = "/app"
# entrypoint = ["python", "train.py"]
# copy = [{{ src = "src", dst = "/app/src" }}]
"#
    )
}

pub fn run(config: &Config, force: bool) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let path = cwd.join(MANIFEST_FILE);
    if path.exists() && !force {
        return Err(hinted(
            ErrorKind::Usage,
            format!("`{MANIFEST_FILE}` already exists in {}", cwd.display()),
            "edit it, or pass --force to overwrite it",
        ));
    }
    let dir = cwd
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = super::image_name(&dir, "my-env");
    let schema_path = cwd.join(SCHEMA_PATH);
    if let Some(dir) = schema_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::atomic_file::write(&schema_path, crate::schema::manifest_schema())?;
    crate::atomic_file::write(&path, template(&name))?;
    config
        .shell
        .status("Created", format!("{MANIFEST_FILE} (project `{name}`)"));
    Ok(())
}
