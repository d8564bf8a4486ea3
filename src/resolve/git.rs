//! Git sources: a rev (branch, tag, annotated tag, full or short SHA) is
//! resolved to a commit and tree with the git CLI, through a bare cache
//! repository per URL, which also feeds build contexts.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::Source;
use crate::config::Config;
use crate::error::{Error, ErrorKind, hinted};
use crate::lock::satisfies::is_hex_sha;
use crate::lock::{GitPin, SubmodulePin};
use crate::redact::redact_url;

pub use crate::requests::GitRequest;

/// Resolves git requests through the cache.
pub struct GitResolver<'a> {
    pub config: &'a Config,
    /// The directory of `ml.toml`: relative local paths are relative to it.
    pub root: &'a Path,
}

/// Where to fetch `url` from: relative local paths (`./vendor/x`, `../x`)
/// are taken relative to the project root; everything else as written.
pub fn fetch_location(url: &str, root: &Path) -> String {
    let scp_like = url.contains('@') && url.contains(':');
    let absolute = url.contains("://") || url.starts_with('/') || scp_like;
    if !absolute {
        root.join(url).display().to_string()
    } else {
        url.to_string()
    }
}

impl Source for GitResolver<'_> {
    type Request = GitRequest;
    type Pin = GitPin;

    fn name(request: &GitRequest) -> &str {
        &request.name
    }

    fn resolve(&self, request: &GitRequest) -> anyhow::Result<GitPin> {
        let url = &request.source.url;
        reject_password(url)?;
        let db = GitDb::open(self.config, &fetch_location(url, self.root))?;
        self.config.shell.status(
            "Fetching",
            format!("git {} ({})", request.name, redact_url(url)),
        );
        db.fetch_all()?;
        if request.source.rev == crate::manifest::syntax::DEFAULT_GIT_REV {
            db.fetch_default_branch()?;
        }
        let commit = db.resolve_rev(&request.source.rev).map_err(|e| {
            let known = db.known_refs();
            let hint = if known.is_empty() {
                "check the rev in ml.toml".to_string()
            } else {
                format!("branches and tags there include: {}", known.join(", "))
            };
            e.context(
                Error::new(
                    ErrorKind::Resolution,
                    format!(
                        "git source `{}`: rev `{}` not found in {}",
                        request.name,
                        request.source.rev,
                        redact_url(url)
                    ),
                )
                .with_hint(hint),
            )
        })?;
        let tree = db.tree_of(&commit)?;
        let submodules = if request.source.submodules {
            db.gitlinks(&commit)?
        } else {
            Vec::new()
        };
        Ok(GitPin {
            name: request.name.clone(),
            url: url.clone(),
            requested: request.source.rev.clone(),
            commit,
            tree,
            submodules,
        })
    }
}

/// A URL with a password would put the credential into the lock.
fn reject_password(url: &str) -> anyhow::Result<()> {
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split('/').next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if userinfo.contains(':') {
                return Err(hinted(
                    ErrorKind::Manifest,
                    format!("git URL {} carries a password", redact_url(url)),
                    "remove the credential from the URL and use a git credential helper or ~/.netrc; mlr never writes credentials into ml.lock",
                ));
            }
        }
    }
    Ok(())
}

/// A bare repository in the cache that mirrors one remote URL.
pub struct GitDb {
    path: PathBuf,
    url: String,
    /// `GIT_HTTP_LOW_SPEED_TIME` for fetches (`None`: the user's own
    /// `GIT_HTTP_LOW_SPEED_*` apply).
    low_speed_time: Option<u64>,
}

impl GitDb {
    /// Open (creating if needed) the cache repository for `url` under
    /// `config`'s cache; fetches stall out as its other requests do.
    pub fn open(config: &Config, url: &str) -> anyhow::Result<GitDb> {
        let cache_dir = &config.cache_dir;
        let digest = hex::encode(Sha256::digest(url.as_bytes()));
        let stem: String = url
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .rsplit(['/', ':'])
            .next()
            .unwrap_or("repo")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
            .take(40)
            .collect();
        let path = cache_dir
            .join("git")
            .join(format!("{stem}-{}", &digest[..16]));
        if !path.join("HEAD").exists() {
            std::fs::create_dir_all(&path)
                .with_context(|| format!("creating git cache {}", path.display()))?;
            run_git(&path, &["init", "--bare", "--quiet"])?;
        }
        Ok(GitDb {
            path,
            url: url.to_string(),
            low_speed_time: config
                .net
                .git_low_speed
                .then_some(config.net.timeout.as_secs()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fetch every branch and tag from the remote, moving refs as upstream did.
    pub fn fetch_all(&self) -> anyhow::Result<()> {
        self.fetch(&[
            "fetch",
            "--quiet",
            "--force",
            "--prune",
            "--no-write-fetch-head",
            "--",
            &self.url,
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/tags/*:refs/tags/*",
        ])
        .with_context(|| format!("fetching {}", redact_url(&self.url)))?;
        Ok(())
    }

    /// Fetch the remote's default branch as `origin/HEAD`, for the rev
    /// `HEAD` (a `git+URL` requirement without `@REV`).
    pub fn fetch_default_branch(&self) -> anyhow::Result<()> {
        self.fetch(&[
            "fetch",
            "--quiet",
            "--force",
            "--no-write-fetch-head",
            "--",
            &self.url,
            "+HEAD:refs/remotes/origin/HEAD",
        ])
        .with_context(|| format!("fetching the default branch of {}", redact_url(&self.url)))
    }

    /// Fetch one commit by SHA (for commits no longer on any branch).
    pub fn fetch_commit(&self, commit: &str) -> anyhow::Result<()> {
        self.fetch(&[
            "fetch",
            "--quiet",
            "--no-write-fetch-head",
            "--",
            &self.url,
            commit,
        ])
        .with_context(|| format!("fetching commit {commit} from {}", redact_url(&self.url)))?;
        Ok(())
    }

    /// `git fetch ARGS`: over HTTP, a transfer slower than one byte a
    /// second for the stall timeout fails, as mlr's own requests do. git
    /// is not retried: its exit status does not tell a dropped connection
    /// from a missing repository.
    fn fetch(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut cmd = git_command(&self.path);
        if let Some(seconds) = self.low_speed_time {
            cmd.env("GIT_HTTP_LOW_SPEED_LIMIT", "1")
                .env("GIT_HTTP_LOW_SPEED_TIME", seconds.to_string());
        }
        let out = cmd
            .args(args)
            .output()
            .context("running git (is it installed and on PATH?)")?;
        check(&out, "git fetch")
    }

    /// Whether the cache holds `commit` as a commit object.
    pub fn has_commit(&self, commit: &str) -> bool {
        git_output(&self.path, &["cat-file", "-t", commit]).is_ok_and(|t| t == "commit")
    }

    /// Resolve a branch, tag (peeled) or SHA to a full commit SHA.
    pub fn resolve_rev(&self, rev: &str) -> anyhow::Result<String> {
        if rev.starts_with('-') {
            bail!("a rev cannot start with `-`");
        }
        let mut candidates = vec![
            format!("refs/remotes/origin/{rev}"),
            format!("refs/tags/{rev}"),
        ];
        if let Some(branch) = rev.strip_prefix("refs/heads/") {
            candidates.push(format!("refs/remotes/origin/{branch}"));
        }
        if rev.starts_with("refs/tags/") {
            candidates.push(rev.to_string());
        }
        for c in &candidates {
            if let Ok(sha) = git_output(
                &self.path,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{c}^{{commit}}"),
                ],
            ) {
                return Ok(sha);
            }
        }
        if is_hex_sha(rev) {
            let rev = rev.to_ascii_lowercase();
            if rev.len() == 40 && !self.has_commit(&rev) {
                // Not reachable from any ref: ask for it by SHA.
                let _ = self.fetch_commit(&rev);
            }
            if let Ok(sha) = git_output(
                &self.path,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{rev}^{{commit}}"),
                ],
            ) {
                return Ok(sha);
            }
        }
        bail!("no branch, tag or commit named `{rev}`")
    }

    pub fn tree_of(&self, commit: &str) -> anyhow::Result<String> {
        git_output(
            &self.path,
            &["rev-parse", "--verify", &format!("{commit}^{{tree}}")],
        )
    }

    /// Branch and tag names, for hints (at most 10).
    pub fn known_refs(&self) -> Vec<String> {
        git_output(
            &self.path,
            &[
                "for-each-ref",
                "--format=%(refname)",
                "refs/remotes/origin",
                "refs/tags",
            ],
        )
        .map(|out| {
            out.lines()
                .map(|l| {
                    l.trim_start_matches("refs/remotes/origin/")
                        .trim_start_matches("refs/tags/")
                        .to_string()
                })
                .filter(|n| n != "HEAD")
                .take(10)
                .collect()
        })
        .unwrap_or_default()
    }

    /// Submodule commits recorded in `commit`'s tree (gitlinks).
    pub fn gitlinks(&self, commit: &str) -> anyhow::Result<Vec<SubmodulePin>> {
        let out = git_output(&self.path, &["ls-tree", "-r", "--full-tree", commit])?;
        Ok(out
            .lines()
            .filter_map(|l| {
                let (meta, path) = l.split_once('\t')?;
                let mut parts = meta.split_whitespace();
                let mode = parts.next()?;
                let _kind = parts.next()?;
                let sha = parts.next()?;
                (mode == "160000").then(|| SubmodulePin {
                    path: path.to_string(),
                    commit: sha.to_string(),
                })
            })
            .collect())
    }

    /// `.gitmodules` of `commit`: (path, url) pairs.
    pub fn submodule_urls(&self, commit: &str) -> anyhow::Result<Vec<(String, String)>> {
        let blob = match git_output(
            &self.path,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{commit}:.gitmodules"),
            ],
        ) {
            Ok(b) => b,
            Err(_) => return Ok(Vec::new()),
        };
        let out = git_output(
            &self.path,
            &[
                "config",
                "--blob",
                &blob,
                "--get-regexp",
                r"^submodule\..*\.(path|url)$",
            ],
        )
        .unwrap_or_default();
        let mut paths = std::collections::BTreeMap::new();
        let mut urls = std::collections::BTreeMap::new();
        for line in out.lines() {
            let Some((key, value)) = line.split_once(' ') else {
                continue;
            };
            let key = key.trim_start_matches("submodule.");
            if let Some(name) = key.strip_suffix(".path") {
                paths.insert(name.to_string(), value.to_string());
            } else if let Some(name) = key.strip_suffix(".url") {
                urls.insert(name.to_string(), value.to_string());
            }
        }
        Ok(paths
            .into_iter()
            .filter_map(|(name, path)| {
                let url = urls.get(&name)?;
                Some((path, join_submodule_url(&self.url, url)))
            })
            .collect())
    }

    /// Write the files of `commit` into `dest` (no `.git`), after checking
    /// that the commit is a commit and its tree is `tree`.
    pub fn export(&self, commit: &str, tree: &str, dest: &Path) -> anyhow::Result<()> {
        if !self.has_commit(commit) {
            bail!("commit {commit} is not in the cache");
        }
        let actual = self.tree_of(commit)?;
        if actual != tree {
            bail!("commit {commit} has tree {actual}, but the lock pins tree {tree}");
        }
        std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
        let index = tempfile::NamedTempFile::new().context("creating a temporary git index")?;
        let index_path = index.path().to_owned();
        drop(index);
        let status = git_command(&self.path)
            .env("GIT_INDEX_FILE", &index_path)
            .arg("--work-tree")
            .arg(dest)
            .args(["read-tree", commit])
            .output()
            .context("running git read-tree")?;
        check(&status, "git read-tree")?;
        let status = git_command(&self.path)
            .env("GIT_INDEX_FILE", &index_path)
            .arg("--work-tree")
            .arg(dest)
            .args(["checkout-index", "--all", "--force"])
            .output()
            .context("running git checkout-index")?;
        let _ = std::fs::remove_file(&index_path);
        check(&status, "git checkout-index")
    }
}

/// Export a git pin (and its submodules) at the locked commit, fetching it
/// into the cache first if needed.
pub fn export_pin(
    pin: &GitPin,
    dest: &Path,
    project_dir: &Path,
    config: &Config,
) -> anyhow::Result<()> {
    let location = fetch_location(&pin.url, project_dir);
    let db = GitDb::open(config, &location)?;
    ensure_commit(&db, &pin.commit, &location, config)?;
    config.shell.status(
        "Checking out",
        format!(
            "git {} at {}",
            pin.name,
            &pin.commit[..pin.commit.len().min(12)]
        ),
    );
    db.export(&pin.commit, &pin.tree, dest)?;
    if pin.submodules.is_empty() {
        return Ok(());
    }
    let urls = db.submodule_urls(&pin.commit)?;
    for sub in &pin.submodules {
        let Some((_, url)) = urls.iter().find(|(p, _)| *p == sub.path) else {
            bail!("submodule `{}` has no URL in .gitmodules", sub.path);
        };
        let sub_db = GitDb::open(config, url)?;
        ensure_commit(&sub_db, &sub.commit, url, config)?;
        let tree = sub_db.tree_of(&sub.commit)?;
        let sub_dest = dest.join(&sub.path);
        // The gitlink leaves an empty directory; fill it.
        sub_db.export(&sub.commit, &tree, &sub_dest)?;
    }
    Ok(())
}

fn ensure_commit(db: &GitDb, commit: &str, url: &str, config: &Config) -> anyhow::Result<()> {
    if db.has_commit(commit) {
        return Ok(());
    }
    if config.offline {
        return Err(hinted(
            ErrorKind::Usage,
            format!("commit {commit} of {} is not in the cache", redact_url(url)),
            "run without --offline once to fetch it",
        ));
    }
    config.shell.status("Fetching", redact_url(url));
    db.fetch_all()?;
    if !db.has_commit(commit) {
        let _ = db.fetch_commit(commit);
    }
    if !db.has_commit(commit) {
        return Err(hinted(
            ErrorKind::Resolution,
            format!(
                "the locked commit {commit} is no longer available from {}",
                redact_url(url)
            ),
            "upstream rewrote its history; run `mlr lock --update` to pin a commit that exists",
        ));
    }
    Ok(())
}

/// Resolve a relative submodule URL (`../x.git`) against its superproject.
fn join_submodule_url(base: &str, url: &str) -> String {
    if !(url.starts_with("./") || url.starts_with("../")) {
        return url.to_string();
    }
    let mut base = base.trim_end_matches('/').to_string();
    let mut rest = url;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("../") {
            if let Some(i) = base.rfind('/') {
                base.truncate(i);
            }
            rest = r;
        } else {
            break;
        }
    }
    format!("{base}/{rest}")
}

fn git_command(git_dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir").arg(git_dir);
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd.stdin(std::process::Stdio::null());
    cmd
}

fn run_git(git_dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = git_command(git_dir)
        .args(args)
        .output()
        .context("running git (is it installed and on PATH?)")?;
    check(&out, &format!("git {}", args.first().unwrap_or(&"")))
}

fn git_output(git_dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = git_command(git_dir)
        .args(args)
        .output()
        .context("running git (is it installed and on PATH?)")?;
    check(&out, &format!("git {}", args.first().unwrap_or(&"")))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn check(out: &std::process::Output, what: &str) -> anyhow::Result<()> {
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let detail = stderr.trim();
    bail!(
        "{what} failed ({}){}{}",
        out.status,
        if detail.is_empty() { "" } else { ": " },
        redact_url(detail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_submodule_urls() {
        assert_eq!(
            join_submodule_url("file:///r/a.git", "../b.git"),
            "file:///r/b.git"
        );
        assert_eq!(
            join_submodule_url("https://h/o/a", "./c"),
            "https://h/o/a/c"
        );
        assert_eq!(
            join_submodule_url("https://h/o/a", "https://x/y"),
            "https://x/y"
        );
    }

    #[test]
    fn passwords_are_refused() {
        assert!(reject_password("https://u:p@h/x.git").is_err());
        assert!(reject_password("https://u@h/x.git").is_ok());
        assert!(reject_password("git@h:o/x.git").is_ok());
    }
}
