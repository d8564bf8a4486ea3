//! A local source directory as mlr locks and ships it (a `name @ ./dir`
//! pip requirement): every file and directory under it except `.git` and
//! `__pycache__`, read without following links (a symlink is refused); its
//! digest, over the sorted paths, their kinds, executable bits and
//! contents; and a copy of exactly those entries.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// Directories never taken from a source tree.
const LEFT_OUT: [&str; 2] = [".git", "__pycache__"];

/// One entry: its path under the root (`/`-separated) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir(String),
    File { path: String, executable: bool },
}

fn entries(root: &Path) -> anyhow::Result<Vec<Entry>> {
    fn walk(root: &Path, rel: &Path, out: &mut Vec<Entry>) -> anyhow::Result<()> {
        let dir = root.join(rel);
        let mut children: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("reading {}", dir.display()))?;
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let name = child.file_name();
            let Some(name_str) = name.to_str() else {
                bail!(
                    "{}: a file name that is not UTF-8",
                    dir.join(&name).display()
                );
            };
            if LEFT_OUT.contains(&name_str) {
                continue;
            }
            let path = rel.join(&name);
            let shown = path.to_string_lossy().replace('\\', "/");
            let kind = child
                .file_type()
                .with_context(|| format!("reading {}", root.join(&path).display()))?;
            if kind.is_symlink() {
                bail!(
                    "{}: a symbolic link; mlr takes local source trees without links",
                    root.join(&path).display()
                );
            } else if kind.is_dir() {
                out.push(Entry::Dir(shown));
                walk(root, &path, out)?;
            } else if kind.is_file() {
                use std::os::unix::fs::PermissionsExt;
                let mode = child
                    .metadata()
                    .with_context(|| format!("reading {}", root.join(&path).display()))?
                    .permissions()
                    .mode();
                out.push(Entry::File {
                    path: shown,
                    executable: mode & 0o111 != 0,
                });
            } else {
                bail!("{}: not a file or a directory", root.join(&path).display());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, Path::new(""), &mut out)?;
    Ok(out)
}

/// The sha256 (hex) of the tree at `root`: its entries in order, each
/// kind, path, executable bit and content hash on a line of its own.
pub fn digest(root: &Path) -> anyhow::Result<String> {
    let mut all = Sha256::new();
    for entry in entries(root)? {
        match entry {
            Entry::Dir(path) => all.update(format!("d {path}\n")),
            Entry::File { path, executable } => {
                let bytes = std::fs::read(root.join(&path))
                    .with_context(|| format!("reading {}", root.join(&path).display()))?;
                all.update(format!(
                    "f {} {path} {}\n",
                    if executable { "x" } else { "-" },
                    hex::encode(Sha256::digest(&bytes))
                ));
            }
        }
    }
    Ok(hex::encode(all.finalize()))
}

/// Copy the tree at `root` to `dest` (created), entry by entry, and return
/// the digest of what was copied (read from the copy).
pub fn copy(root: &Path, dest: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    for entry in entries(root)? {
        match entry {
            Entry::Dir(path) => {
                let to: PathBuf = dest.join(&path);
                std::fs::create_dir_all(&to)
                    .with_context(|| format!("creating {}", to.display()))?;
            }
            Entry::File { path, .. } => {
                let (from, to) = (root.join(&path), dest.join(&path));
                std::fs::copy(&from, &to)
                    .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
            }
        }
    }
    digest(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_follows_content_names_and_modes_and_skips_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pkg");
        std::fs::create_dir_all(root.join("src/.git")).unwrap();
        std::fs::write(root.join("src/a.py"), "A = 1\n").unwrap();
        std::fs::write(root.join("src/.git/HEAD"), "x").unwrap();
        let first = digest(&root).unwrap();
        std::fs::write(root.join("src/.git/HEAD"), "y").unwrap();
        std::fs::create_dir_all(root.join("src/__pycache__")).unwrap();
        assert_eq!(
            digest(&root).unwrap(),
            first,
            ".git and bytecode do not count"
        );
        std::fs::write(root.join("src/a.py"), "A = 2\n").unwrap();
        let edited = digest(&root).unwrap();
        assert_ne!(edited, first);
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                root.join("src/a.py"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
        }
        assert_ne!(digest(&root).unwrap(), edited, "the executable bit counts");
        let copied = copy(&root, &dir.path().join("copy")).unwrap();
        assert_eq!(copied, digest(&root).unwrap());
        assert!(!dir.path().join("copy/src/.git").exists());
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
        let err = digest(&root).unwrap_err().to_string();
        assert!(err.contains("a symbolic link"), "{err}");
    }
}
