//! `mlr init`: write a commented `ml.toml` (and the JSON schema its
//! `#:schema` header points at, for editor completion); with `--from`,
//! translated from an existing project's file by [`crate::import`].

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::MANIFEST_FILE;
use crate::config::Config;
use crate::error::{Error, ErrorKind, FileError, hinted};
use crate::import::{self, Files, SourceKind};

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
    let (cwd, path) = target(force)?;
    let name = directory_name(&cwd);
    write(&cwd, &path, &template(&name))?;
    config
        .shell
        .status("Created", format!("{MANIFEST_FILE} (project `{name}`)"));
    Ok(())
}

/// `mlr init --from FILE`: `FILE` (of `kind`, or the kind its name or
/// content says) translated into a commented `ml.toml`.
pub fn run_from(
    config: &Config,
    force: bool,
    from: &Path,
    kind: Option<SourceKind>,
) -> anyhow::Result<()> {
    let (cwd, path) = target(force)?;
    let input = from.display().to_string();
    let bytes = std::fs::read(from).map_err(|e| {
        anyhow::Error::new(e).context(Error::new(
            ErrorKind::Usage,
            format!("cannot read `{input}`"),
        ))
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
        FileError::at_offset(&input, &valid, valid.len(), "the file is not valid UTF-8")
            .with_kind(ErrorKind::Usage)
    })?;
    let kind = match kind.or_else(|| SourceKind::detect(from, text)) {
        Some(k) => k,
        None => {
            return Err(hinted(
                ErrorKind::Usage,
                format!("cannot tell what kind of file `{input}` is"),
                "pass --from-kind dockerfile, requirements, pyproject or conda",
            ));
        }
    };
    let files = DirFiles {
        dir: from.parent().map(Path::to_path_buf).unwrap_or_default(),
        root: cwd.clone(),
    };
    let draft = import::import(kind, &input, text, &files).map_err(|e| {
        let err = match e.offset {
            Some(offset) => FileError::at_offset(&input, text, offset, e.message),
            None => FileError::whole_file(&input, e.message),
        };
        err.with_kind(ErrorKind::Usage)
    })?;
    let name = draft
        .name
        .as_ref()
        .map_or_else(|| directory_name(&cwd), |n| n.value.clone());
    let manifest = import::write::manifest(&draft, kind, &name);
    // What mlr writes, mlr must read: a refusal here is mlr's bug.
    if let Err(e) = crate::manifest::parse(&manifest, MANIFEST_FILE) {
        return Err(anyhow::Error::new(
            Error::new(
                ErrorKind::Internal,
                format!(
                    "internal error: the ml.toml translated from `{input}` does not pass mlr's own checks: {e}"
                ),
            )
            .with_hint("this is a bug in mlr: please report it with the file; nothing was written"),
        ));
    }
    write(&cwd, &path, &manifest)?;
    let summary = draft.summary();
    let summary = if summary.is_empty() {
        "nothing".to_string()
    } else {
        summary.join(", ")
    };
    config.shell.status(
        "Translated",
        format!("{input} ({}): {summary}", kind.describe()),
    );
    let left = match draft.untranslated_count() {
        0 => "nothing left untranslated".to_string(),
        1 => "1 line left as a comment to review".to_string(),
        n => format!("{n} lines left as comments to review"),
    };
    config.shell.status(
        "Created",
        format!("{MANIFEST_FILE} (project `{name}`); {left}"),
    );
    Ok(())
}

/// The current directory and its `ml.toml`, which must not exist unless `force`.
fn target(force: bool) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let path = cwd.join(MANIFEST_FILE);
    if path.exists() && !force {
        return Err(hinted(
            ErrorKind::Usage,
            format!("`{MANIFEST_FILE}` already exists in {}", cwd.display()),
            "edit it, or pass --force to overwrite it",
        ));
    }
    Ok((cwd, path))
}

/// The project name a directory suggests.
fn directory_name(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    super::image_name(&name, "my-env")
}

/// The schema, then `ml.toml`, each replaced whole.
fn write(cwd: &Path, path: &Path, manifest: &str) -> anyhow::Result<()> {
    let schema_path = cwd.join(SCHEMA_PATH);
    if let Some(dir) = schema_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::atomic_file::write(&schema_path, crate::schema::manifest_schema())?;
    crate::atomic_file::write(path, manifest)
}

/// The files an import reads besides its input: `-r` files beside it, and
/// (for `COPY` sources) the project directory.
struct DirFiles {
    /// The input's directory.
    dir: PathBuf,
    /// Where ml.toml is written.
    root: PathBuf,
}

impl Files for DirFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        let full = self.dir.join(path);
        let bytes = std::fs::read(&full).map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
    }

    fn is_dir(&self, path: &str) -> Option<bool> {
        std::fs::metadata(self.root.join(path))
            .ok()
            .map(|m| m.is_dir())
    }
}
