//! What changed between two locks, as data: each entry added, updated or
//! removed, by kind and name, with its old and new version, digest or
//! commit. Pure; `mlr lock` prints it as its summary.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::satisfies::Kind;
use super::{Lockfile, PackagePin};

/// How an entry changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    Added,
    Updated,
    Removed,
}

impl ChangeKind {
    /// The verb of `mlr lock`'s summary (`Added`).
    pub fn done(self) -> &'static str {
        match self {
            ChangeKind::Added => "Added",
            ChangeKind::Updated => "Updated",
            ChangeKind::Removed => "Removed",
        }
    }

    /// The verb of `mlr lock --check`'s summary (`Would add`).
    pub fn would(self) -> &'static str {
        match self {
            ChangeKind::Added => "Would add",
            ChangeKind::Updated => "Would update",
            ChangeKind::Removed => "Would remove",
        }
    }
}

/// One entry's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: ChangeKind,
    pub kind: Kind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        match (&self.from, &self.to) {
            (Some(a), Some(b)) => write!(f, " {a} → {b}"),
            (None, Some(b)) | (Some(b), None) => write!(f, " {b}"),
            (None, None) => Ok(()),
        }
    }
}

/// Every change from `old` (none: an empty lock) to `new`: images, then
/// git, pip and apt additions and updates, then git removals.
pub fn diff(old: Option<&Lockfile>, new: &Lockfile) -> Vec<Change> {
    let empty = Lockfile::default();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    entries(
        Kind::Image,
        old.images.iter().map(image_entry),
        new.images.iter().map(image_entry),
        &mut out,
    );
    let mut git = Vec::new();
    entries(
        Kind::Git,
        old.git.iter().map(git_entry),
        new.git.iter().map(git_entry),
        &mut git,
    );
    // Git removals come last, after the packages.
    let (removed_git, git): (Vec<Change>, Vec<Change>) = git
        .into_iter()
        .partition(|c| c.action == ChangeKind::Removed);
    out.extend(git);
    packages(Kind::Pip, &old.pip, &new.pip, &mut out);
    packages(Kind::PipBuild, &old.pip_build, &new.pip_build, &mut out);
    packages(Kind::Apt, &old.apt, &new.apt, &mut out);
    out.extend(removed_git);
    out
}

/// An entry that is unique by name (an image, a git source).
struct Entry<'a> {
    name: &'a str,
    /// Compared for "updated".
    identity: String,
    shown: String,
    /// Shown when removed.
    removed: String,
}

fn image_entry(i: &super::ImagePin) -> Entry<'_> {
    Entry {
        name: &i.name,
        identity: format!("{} {} {:?}", i.digest, i.requested, i.platforms),
        shown: format!("{} @ {}", i.requested, short(&i.digest)),
        removed: i.requested.clone(),
    }
}

fn git_entry(g: &super::GitPin) -> Entry<'_> {
    Entry {
        name: &g.name,
        identity: format!("{} {} {}", g.commit, g.url, g.requested),
        shown: format!("{} ({})", short(&g.commit), g.requested),
        removed: short(&g.commit),
    }
}

/// Changes of entries that are unique by name.
fn entries<'a>(
    kind: Kind,
    old: impl Iterator<Item = Entry<'a>>,
    new: impl Iterator<Item = Entry<'a>>,
    out: &mut Vec<Change>,
) {
    let old: Vec<Entry> = old.collect();
    let new: Vec<Entry> = new.collect();
    for n in &new {
        match old.iter().find(|o| o.name == n.name) {
            None => out.push(change(
                ChangeKind::Added,
                kind,
                n.name,
                None,
                Some(&n.shown),
            )),
            Some(o) if o.identity != n.identity => out.push(change(
                ChangeKind::Updated,
                kind,
                n.name,
                Some(&o.shown),
                Some(&n.shown),
            )),
            Some(_) => {}
        }
    }
    for o in &old {
        if !new.iter().any(|n| n.name == o.name) {
            out.push(change(
                ChangeKind::Removed,
                kind,
                o.name,
                Some(&o.removed),
                None,
            ));
        }
    }
}

/// `Updated pip numpy 1.26.3 → 1.26.4`, `Added …`, `Removed …` for one
/// kind of package pin (several versions of one name, one per platform or
/// architecture, are joined).
fn packages<P: PackagePin>(kind: Kind, old: &[P], new: &[P], out: &mut Vec<Change>) {
    let (o, n) = (versions_by_name(old), versions_by_name(new));
    for (name, nv) in &n {
        let nv = nv.join(", ");
        match o.get(name).map(|ov| ov.join(", ")) {
            None => out.push(change(ChangeKind::Added, kind, name, None, Some(&nv))),
            Some(ov) if ov != nv => out.push(change(
                ChangeKind::Updated,
                kind,
                name,
                Some(&ov),
                Some(&nv),
            )),
            Some(_) => {}
        }
    }
    for (name, ov) in &o {
        if !n.contains_key(name) {
            let ov = ov.join(", ");
            out.push(change(ChangeKind::Removed, kind, name, Some(&ov), None));
        }
    }
}

fn change(
    action: ChangeKind,
    kind: Kind,
    name: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Change {
    Change {
        action,
        kind,
        name: name.to_string(),
        from: from.map(str::to_string),
        to: to.map(str::to_string),
    }
}

/// Each name's versions (as [`PackagePin::shown_version`]), in the order
/// first seen.
fn versions_by_name<P: PackagePin>(pins: &[P]) -> BTreeMap<&str, Vec<String>> {
    let mut m: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in pins {
        let v = m.entry(p.name()).or_default();
        let shown = p.shown_version();
        if !v.contains(&shown) {
            v.push(shown);
        }
    }
    m
}

/// The first 12 hex digits of a digest or commit.
fn short(s: &str) -> String {
    s.trim_start_matches("sha256:").chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{GitPin, PipArtifact, PipPin};

    fn pip(name: &str, version: &str) -> PipPin {
        PipPin {
            git: None,
            path: None,
            build_requires: None,
            name: name.into(),
            version: version.into(),
            index: "pypi".into(),
            requested: None,
            via: vec![],
            artifacts: vec![PipArtifact {
                platform: "linux/amd64".into(),
                filename: format!("{name}-{version}-py3-none-any.whl"),
                url: format!("https://files.example/{name}-{version}-py3-none-any.whl"),
                sha256: "0".repeat(64),
                size: 1,
                sdist: false,
            }],
        }
    }

    fn git(name: &str, commit: char) -> GitPin {
        GitPin {
            name: name.into(),
            url: "file:///r".into(),
            requested: "main".into(),
            commit: commit.to_string().repeat(40),
            tree: "f".repeat(40),
            submodules: vec![],
        }
    }

    #[test]
    fn a_moved_commit_and_a_new_build_requirement_show_though_versions_stay() {
        let source = |commit: char| PipPin {
            git: Some(crate::lock::PipGitSource {
                url: "file:///r".into(),
                commit: commit.to_string().repeat(40),
                tree: "f".repeat(40),
                submodules: vec![],
            }),
            artifacts: vec![],
            ..pip("tiny", "1.0")
        };
        let old = Lockfile {
            pip: vec![source('a')],
            pip_build: vec![pip("setuptools", "80.9.0")],
            ..Lockfile::new("sha256:x".into())
        };
        let new = Lockfile {
            pip: vec![source('b')],
            pip_build: vec![pip("setuptools", "80.9.0"), pip("wheel", "0.45.1")],
            ..Lockfile::new("sha256:x".into())
        };
        let shown: Vec<String> = diff(Some(&old), &new)
            .iter()
            .map(|c| format!("{} {c}", c.action.done()))
            .collect();
        assert_eq!(
            shown,
            [
                "Updated pip tiny 1.0 (aaaaaaaaaaaa) → 1.0 (bbbbbbbbbbbb)",
                "Added pip-build wheel 0.45.1",
            ]
        );
    }

    #[test]
    fn changes_are_typed_and_ordered() {
        let old = Lockfile {
            pip: vec![pip("numpy", "1.26.3"), pip("six", "1.16.0")],
            git: vec![git("gone", 'a'), git("kept", 'b')],
            ..Lockfile::new("sha256:x".into())
        };
        let new = Lockfile {
            pip: vec![pip("numpy", "1.26.4"), pip("tqdm", "4.66.0")],
            git: vec![git("kept", 'c')],
            ..Lockfile::new("sha256:y".into())
        };
        let changes = diff(Some(&old), &new);
        let shown: Vec<String> = changes
            .iter()
            .map(|c| format!("{} {c}", c.action.done()))
            .collect();
        assert_eq!(
            shown,
            [
                "Updated git kept bbbbbbbbbbbb (main) → cccccccccccc (main)",
                "Updated pip numpy 1.26.3 → 1.26.4",
                "Added pip tqdm 4.66.0",
                "Removed pip six 1.16.0",
                "Removed git gone aaaaaaaaaaaa",
            ]
        );
        assert_eq!(changes[3].action, ChangeKind::Removed);
        assert_eq!(changes[3].kind, Kind::Pip);
        assert_eq!(diff(Some(&new), &new), []);
        let json = serde_json::to_string(&changes[2]).unwrap();
        assert_eq!(
            json,
            r#"{"action":"Added","kind":"pip","name":"tqdm","to":"4.66.0"}"#
        );
    }
}
