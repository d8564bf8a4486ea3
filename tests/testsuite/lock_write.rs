//! How `mlr lock` puts `ml.lock` in place: whole or not at all under
//! SIGKILL, no temporary file outliving the next run, through a symlink,
//! and nothing reported as done before it is.

use std::path::Path;
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::{Project, Registry, Service, require};

/// A project locked to `kill/base:v1`, whose tag then moved: `mlr lock
/// --update` turns `old` into `new`. Only the registry is asked anything,
/// so a run is short and writes no other file.
struct Moved {
    project: Project,
    _registry: Registry,
    old: String,
    new: String,
}

fn moved_tag() -> Moved {
    let registry = Registry::start();
    registry.push_image("kill/base", "v1", "linux/amd64");
    let project = Project::new();
    project.file(
        "ml.toml",
        format!(
            "[project]\nname = \"kill\"\n\n[base]\nimage = \"{}\"\n",
            registry.reference("kill/base", "v1")
        ),
    );
    project.mlr().arg("lock").assert().success();
    let old = project.read("ml.lock");
    registry.push_image_with("kill/base", "v1", "linux/amd64", "moved");
    project.mlr().args(["lock", "--update"]).assert().success();
    let new = project.read("ml.lock");
    assert_ne!(old, new, "the moved tag changes the lock");
    project.file("ml.lock", &old);
    Moved {
        project,
        _registry: registry,
        old,
        new,
    }
}

/// The names of mlr's temporary files anywhere in `dir`.
fn temporary_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            found.extend(temporary_files(&entry.path()));
        } else if name.contains("mlr-tmp") {
            found.push(name);
        }
    }
    found
}

#[test]
fn a_killed_lock_leaves_the_old_or_the_new_bytes_and_the_next_run_cleans_up() {
    require!(Service::Registry);
    let m = moved_tag();
    let lock = m.project.path("ml.lock");

    // How long a whole run takes here, to spread the kills over it.
    let mut runs = Vec::new();
    for _ in 0..3 {
        std::fs::write(&lock, &m.old).unwrap();
        let start = Instant::now();
        let status = m
            .project
            .command(Project::mlr_bin())
            .args(["lock", "--update"])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        runs.push(start.elapsed());
        assert!(status.success());
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), m.new);
    }
    let run = runs.into_iter().min().unwrap();

    // 30 kills from the start to a little past the end, then 30 between
    // the last that left the old lock and the first that left the new
    // one, where the lock is written.
    let mut outcomes = Outcomes::default();
    for i in 0..30u32 {
        kill_once(&m, run * 6 * i / (5 * 30), &mut outcomes);
    }
    let (before, after) = outcomes.transition(run);
    let window = after.saturating_sub(before);
    for i in 0..30u32 {
        kill_once(&m, before + window * i / 29, &mut outcomes);
    }
    eprintln!(
        "{} kills over a {run:?} run (the write between {before:?} and {after:?}): \
         {} left the old lock, {} the new one, {} a temporary file",
        outcomes.at.len(),
        outcomes.old,
        outcomes.new,
        outcomes.with_temporary_file
    );
    assert!(outcomes.old > 0, "no kill landed before the write");
}

#[derive(Default)]
struct Outcomes {
    old: u32,
    new: u32,
    with_temporary_file: u32,
    /// (delay, whether the lock was new).
    at: Vec<(Duration, bool)>,
}

impl Outcomes {
    /// The last delay that left the old lock before the first that left
    /// the new one (the whole run when the kills never crossed over).
    fn transition(&self, run: Duration) -> (Duration, Duration) {
        let first_new = self
            .at
            .iter()
            .filter(|(_, new)| *new)
            .map(|(t, _)| *t)
            .min()
            .unwrap_or(run * 6 / 5);
        let last_old = self
            .at
            .iter()
            .filter(|(t, new)| !*new && *t < first_new)
            .map(|(t, _)| *t)
            .max()
            .unwrap_or_default();
        (last_old, first_new)
    }
}

/// Run `mlr lock --update` on the old lock, SIGKILL it after `delay`,
/// check `ml.lock` is whole, then check the next run removes whatever
/// temporary file the killed one left.
fn kill_once(m: &Moved, delay: Duration, outcomes: &mut Outcomes) {
    let lock = m.project.path("ml.lock");
    std::fs::write(&lock, &m.old).unwrap();
    let mut child = m
        .project
        .command(Project::mlr_bin())
        .args(["lock", "--update"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    // SIGKILL (nothing, when the run already ended).
    let _ = child.kill();
    child.wait().unwrap();
    let after = std::fs::read_to_string(&lock).unwrap();
    let new = if after == m.old {
        outcomes.old += 1;
        false
    } else if after == m.new {
        outcomes.new += 1;
        true
    } else {
        panic!("killed after {delay:?}, ml.lock is neither the old nor the new lock:\n{after}");
    };
    outcomes.at.push((delay, new));
    if !temporary_files(m.project.root()).is_empty() {
        outcomes.with_temporary_file += 1;
    }
    // The next run (which has nothing to resolve) removes what the killed
    // one left.
    m.project.mlr().arg("lock").assert().success();
    assert_eq!(
        temporary_files(m.project.root()),
        Vec::<String>::new(),
        "killed after {delay:?}"
    );
}

#[test]
fn temporary_files_of_dead_processes_are_removed_and_a_running_ones_kept() {
    require!(Service::Registry);
    let m = moved_tag();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    // As a run killed between creating its temporary file and renaming it
    // leaves it; as a second mlr writing right now has it; as mlr before
    // PIDs were in the name left it, an hour or more ago.
    let killed = format!(".ml.lock.mlr-tmp-{dead}-AbCd1234");
    let running = format!(".ml.lock.mlr-tmp-{}-AbCd1234", std::process::id());
    let unnamed_old = ".mlr-tmp-Xy12Ab";
    let unnamed_new = ".mlr-tmp-Zz98Yx";
    for name in [&killed, &running, unnamed_old, unnamed_new] {
        m.project.file(name, "partial");
    }
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(m.project.path(unnamed_old))
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    // Nothing to resolve and nothing to write: the run still cleans up.
    m.project
        .mlr()
        .arg("lock")
        .assert()
        .success()
        .stderr(predicate::str::contains("Wrote").not());
    assert!(!m.project.exists(&killed));
    assert!(!m.project.exists(unnamed_old));
    assert!(m.project.exists(&running));
    assert!(m.project.exists(unnamed_new));
}

#[test]
fn a_symlinked_lock_is_written_through_to_its_target() {
    require!(Service::Registry);
    let m = moved_tag();
    m.project.file("locks/real.lock", &m.old);
    std::fs::remove_file(m.project.path("ml.lock")).unwrap();
    std::os::unix::fs::symlink("locks/real.lock", m.project.path("ml.lock")).unwrap();
    m.project
        .mlr()
        .args(["lock", "--update"])
        .assert()
        .success();
    let link = std::fs::symlink_metadata(m.project.path("ml.lock")).unwrap();
    assert!(link.file_type().is_symlink(), "ml.lock is still a link");
    assert_eq!(
        std::fs::read_link(m.project.path("ml.lock")).unwrap(),
        Path::new("locks/real.lock")
    );
    assert_eq!(m.project.read("locks/real.lock"), m.new);
    assert_eq!(temporary_files(m.project.root()), Vec::<String>::new());

    // A link into a directory that does not exist: the error names the
    // directory, and no change is reported.
    std::fs::remove_file(m.project.path("ml.lock")).unwrap();
    std::os::unix::fs::symlink("gone/real.lock", m.project.path("ml.lock")).unwrap();
    m.project
        .mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gone"))
        .stderr(predicate::str::contains("Added").not())
        .stderr(predicate::str::contains("Wrote").not());
}

#[test]
fn a_lock_that_cannot_be_written_reports_no_change() {
    require!(Service::Registry);
    let m = moved_tag();
    // A file system that lets files be created but not grow (a full disk,
    // a quota): `ulimit -f 0` holds for root too, and with SIGXFSZ ignored
    // a write fails with EFBIG instead of killing the process.
    let out = m
        .project
        .command("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\""])
        .arg(Project::mlr_bin())
        .args(["lock", "--update"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: writing ml.lock"), "{stderr}");
    for claim in ["Updated", "Added", "Removed", "Wrote"] {
        assert!(
            !stderr.contains(claim),
            "`{claim}` before the write:\n{stderr}"
        );
    }
    assert_eq!(
        m.project.read("ml.lock"),
        m.old,
        "the old lock is untouched"
    );
    assert_eq!(temporary_files(m.project.root()), Vec::<String>::new());
}
