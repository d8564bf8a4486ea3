//! Replacing a file whole: the one way mlr writes a file that may be read
//! at any moment (`ml.lock`, `ml.toml`, a Dockerfile, cache entries).
//!
//! The new bytes go to a temporary file beside the target, named
//! `.NAME.mlr-tmp-PID-RANDOM`, are synced to disk and renamed over the
//! target, so a reader (or a crash, or a kill) sees the old bytes or the
//! new ones, never a mix. A target that is a symlink is written through:
//! the file the link leads to is replaced, and the link stays a link.
//!
//! A process killed between creating its temporary file and renaming it
//! leaves the file behind. [`remove_stale`] removes, beside a target,
//! every such file whose PID is not a running process (a second mlr that
//! is writing right now keeps its own), and the `.mlr-tmp-XXXXXX` files
//! earlier versions named without a PID once they are an hour old. Every
//! write calls it first, and so does `mlr lock`, which may write nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};

/// What marks a temporary file as mlr's, between the target's name and
/// the owner's PID.
const MARK: &str = ".mlr-tmp-";

/// A file being written beside `target`; [`AtomicFile::commit`] puts it in
/// place, and dropping it uncommitted removes it.
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    /// The real file (symlinks followed), which the rename replaces.
    target: PathBuf,
}

impl AtomicFile {
    /// A new temporary file beside `path` (beside the file it leads to, when
    /// `path` is a symlink). It gets the mode of the file it replaces; a
    /// new file gets 0644.
    pub fn create(path: &Path) -> anyhow::Result<AtomicFile> {
        let target = through_links(path)?;
        let dir = parent(&target);
        // A missing directory is said plainly (the temporary file's name
        // would mean nothing to anyone).
        std::fs::metadata(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        remove_stale(&target);
        let temp = tempfile::Builder::new()
            .prefix(&temp_prefix(&target))
            .rand_bytes(8)
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        let mode = std::fs::metadata(&target)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::Permissions::from_mode(0o644)
            });
        temp.as_file()
            .set_permissions(mode)
            .with_context(|| format!("setting permissions of {}", temp.path().display()))?;
        Ok(AtomicFile { temp, target })
    }

    /// The temporary file, for its permissions.
    pub fn as_file(&self) -> &std::fs::File {
        self.temp.as_file()
    }

    /// Sync the bytes, rename them over the target, and sync the directory
    /// so the rename itself survives a crash.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let target = self.target.clone();
        self.temp
            .flush()
            .and_then(|_| self.temp.as_file().sync_all())
            .with_context(|| format!("writing {}", target.display()))?;
        self.temp
            .persist(&target)
            .map_err(|e| e.error)
            .with_context(|| format!("replacing {}", target.display()))?;
        // Some file systems cannot sync a directory; the rename is done.
        if let Ok(dir) = std::fs::File::open(parent(&target)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.temp.flush()
    }
}

/// Replace `path` with `contents` (see the module documentation).
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(contents.as_ref())
        .with_context(|| format!("writing {}", path.display()))?;
    file.commit()
}

/// The file `path` leads to: each symlink of the chain followed (a
/// relative link from its own directory), until a path that is not a link
/// (which need not exist yet).
pub fn through_links(path: &Path) -> anyhow::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&at)
                    .with_context(|| format!("reading the link {}", at.display()))?;
                at = parent(&at).join(link);
            }
            _ => return Ok(at),
        }
    }
    bail!("{} is a loop of symlinks", path.display())
}

/// Remove the temporary files left beside `target` by processes that no
/// longer run (see the module documentation). Best effort: a file that
/// cannot be removed now is tried again next time.
pub fn remove_stale(target: &Path) {
    let Ok(target) = through_links(target) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(parent(&target)) else {
        return;
    };
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stale = match owner(name) {
            Some(Owner::Pid(pid)) => !running(pid),
            Some(Owner::Unknown) => entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago),
            None => false,
        };
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether `name` is one of mlr's temporary files (`.NAME.mlr-tmp-PID-RANDOM`,
/// or the older `.mlr-tmp-RANDOM`), which no build context takes.
pub fn is_temporary(name: &str) -> bool {
    owner(name).is_some()
}

/// Who wrote a temporary file, read from its name.
#[derive(Debug, PartialEq, Eq)]
enum Owner {
    /// `.NAME.mlr-tmp-PID-RANDOM`.
    Pid(u32),
    /// `.mlr-tmp-RANDOM`, named before the PID was.
    Unknown,
}

fn owner(name: &str) -> Option<Owner> {
    let at = name.find(MARK)?;
    if !name.starts_with('.') {
        return None;
    }
    let tail = &name[at + MARK.len()..];
    let alnum = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if let Some((pid, random)) = tail.split_once('-') {
        if alnum(random) && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
            return pid.parse().ok().map(Owner::Pid);
        }
    }
    (at == 0 && alnum(tail)).then_some(Owner::Unknown)
}

/// Whether `pid` is a process on this machine (in this PID namespace).
fn running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists, and belongs to someone else.
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// `.NAME.mlr-tmp-PID-`: the target's name (cut short, so that the whole
/// name stays within the 255 bytes file systems allow) and this process.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cut = name.len().min(100);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}{MARK}{}-", &name[..cut], std::process::id())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_say_whose_they_are() {
        let prefix = temp_prefix(Path::new("/p/ml.lock"));
        assert_eq!(prefix, format!(".ml.lock.mlr-tmp-{}-", std::process::id()));
        assert_eq!(
            owner(&format!("{prefix}AbC12345")),
            Some(Owner::Pid(std::process::id()))
        );
        assert_eq!(owner(".mlr-tmp-Xy12Ab"), Some(Owner::Unknown));
        for not_ours in [
            "ml.lock",
            "ml.mlr-tmp-12-ab",
            ".ml.lock.mlr-tmp-",
            ".ml.lock.mlr-tmp-12-",
            ".ml.lock.mlr-tmp-x2-ab",
            ".ml.lock.mlr-tmp-Xy12Ab",
        ] {
            assert_eq!(owner(not_ours), None, "{not_ours}");
        }
        let long = "é".repeat(200);
        assert!(temp_prefix(Path::new(&long)).len() < 140);
    }

    #[test]
    fn a_write_goes_through_symlinks_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("locks")).unwrap();
        std::fs::write(dir.path().join("locks/real.lock"), "old").unwrap();
        std::os::unix::fs::symlink("locks/real.lock", dir.path().join("ml.lock")).unwrap();
        write(&dir.path().join("ml.lock"), "new").unwrap();
        let link = std::fs::symlink_metadata(dir.path().join("ml.lock")).unwrap();
        assert!(link.file_type().is_symlink());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("locks/real.lock")).unwrap(),
            "new"
        );
        let names = |d: &Path| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(dir.path()), ["locks", "ml.lock"]);
        assert_eq!(names(&dir.path().join("locks")), ["real.lock"]);
    }

    #[test]
    fn stale_temporary_files_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let theirs = format!(".ml.lock.mlr-tmp-{dead}-AbCd1234");
        let ours = format!(".ml.lock.mlr-tmp-{}-AbCd1234", std::process::id());
        for name in [&theirs, &ours, "other"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        remove_stale(&dir.path().join("ml.lock"));
        assert!(!dir.path().join(&theirs).exists());
        assert!(dir.path().join(&ours).exists());
        assert!(dir.path().join("other").exists());
    }
}
