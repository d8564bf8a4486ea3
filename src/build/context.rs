//! The build context: a fresh directory with the rendered Dockerfile, every
//! git source exported at its locked commit (checked against the locked
//! tree), and the `[image] copy` sources. Nothing else, so no stray file
//! reaches the engine: copy sources are read with their symlinks followed,
//! and a link that leads out of the project is refused.
//!
//! A copy source leaves out what its `exclude` patterns and the project's
//! `.dockerignore` match, and always `.git`, mlr's temporary files and
//! mlr's cache directory.

use std::cell::Cell;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::Config;
use crate::error::{ErrorKind, hinted};
use crate::lock::Lockfile;
use crate::manifest::exclude::{Dockerignore, Exclude};
use crate::manifest::{CopySpec, Manifest};
use crate::redact::redact_url;
use crate::render::{ContextItem, context_path};

/// What a build context is made from.
pub struct ContextInputs<'a> {
    pub project_dir: &'a Path,
    pub manifest: &'a Manifest,
    pub lock: &'a Lockfile,
    pub dockerfile: &'a str,
    /// The locked platform whose pip files are placed.
    pub platform: &'a str,
    /// A non-prod profile (`dev`) whose packages are placed too.
    pub profile: Option<&'a str>,
}

/// Fill `dir` (empty) with the Dockerfile and what it copies.
pub fn prepare(dir: &Path, inputs: &ContextInputs<'_>, config: &Config) -> anyhow::Result<()> {
    let ContextInputs {
        project_dir,
        manifest,
        lock,
        dockerfile,
        platform,
        profile,
    } = *inputs;
    std::fs::write(dir.join("Dockerfile"), dockerfile)
        .with_context(|| format!("writing {}", dir.join("Dockerfile").display()))?;
    for pin in &lock.git {
        let dest = dir.join(context_path(ContextItem::Git(&pin.name)));
        crate::resolve::git::export_pin(pin, &dest, project_dir, config)
            .with_context(|| format!("preparing git source `{}`", pin.name))?;
    }
    if lock.python.is_some() && !lock.pip.is_empty() {
        if let Some(python) = lock
            .python
            .as_ref()
            .filter(|p| p.interpreter == crate::manifest::PythonSource::Standalone)
        {
            place_standalone_python(dir, python, platform, config)?;
        }
        place_pip_files(dir, manifest, lock, platform, profile.is_some(), config)?;
        if lock.pip.iter().any(|p| p.built()) {
            place_build_sources(
                dir,
                project_dir,
                manifest,
                lock,
                platform,
                profile.is_some(),
                config,
            )?;
        }
    }
    if !manifest.image.copy.is_empty() {
        let project = std::fs::canonicalize(project_dir)
            .with_context(|| format!("reading {}", project_dir.display()))?;
        // The cache may sit inside the project (`MLR_CACHE_DIR=.cache`).
        let cache = std::fs::canonicalize(&config.cache_dir)
            .ok()
            .filter(|c| c.starts_with(&project));
        let dockerignore = manifest.image.dockerignore.as_ref().map(|d| &d.rules);
        if dockerignore.is_some() {
            config.shell.status(
                "Excluding",
                "what .dockerignore lists from the `[image] copy` sources",
            );
        }
        for (i, copy) in manifest.image.copy.iter().enumerate() {
            let root = copy_source(&project, &copy.src)?;
            let tree = CopyTree {
                project: &project,
                src: &copy.src,
                root: &root,
                logical: logical_path(&copy.src),
                exclude: &copy.exclude,
                dockerignore,
                cache: cache.as_deref(),
                bytes: Cell::new(0),
            };
            tree.check_top(copy, config)?;
            let dest = dir.join(context_path(ContextItem::Copy(i)));
            tree.copy(&root, &dest, Path::new(""), &mut Vec::new())?;
            let bytes = tree.bytes.get();
            if bytes > LARGE_COPY {
                config.shell.warn(format!(
                    "`[image] copy` source `{}` puts {} into the image\n\
                     hint: leave out what the image does not need with `exclude = [...]` \
                     on the copy entry, or a .dockerignore beside ml.toml",
                    copy.src,
                    megabytes(bytes)
                ));
            }
        }
    }
    Ok(())
}

/// A copy source larger than this (in bytes, after exclusions) is worth a
/// warning: usually data or build output that was not meant for the image.
const LARGE_COPY: u64 = 100_000_000;

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// `src` as a path from the project directory, `/`-separated, without `.`
/// or empty segments (`""` for the project itself): what `.dockerignore`
/// patterns are matched against.
fn logical_path(src: &str) -> String {
    src.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Download (or take from the cache) the locked standalone CPython of
/// `platform`, check its sha256, and unpack it as the context's `python/`
/// (the archive's one top directory). Entries that would land outside it
/// (absolute or `..` paths, links, devices) refuse the archive.
fn place_standalone_python(
    dir: &Path,
    python: &crate::lock::PythonPin,
    platform: &str,
    config: &Config,
) -> anyhow::Result<()> {
    let download = python
        .downloads
        .iter()
        .find(|d| d.platform == platform)
        .with_context(|| format!("ml.lock has no standalone Python for {platform}"))?;
    let archive = crate::resolve::interpreter::cached_archive(config, download)?;
    let what = format!("unpacking {}", archive.display());
    let root = dir.join(context_path(ContextItem::Python));
    let top = crate::archive::unpack_single_top(&archive, "python.tar.gz", &root)?;
    if top != "python" {
        bail!("{what}: the archive's top directory is `{top}`, not `python/`; refusing it");
    }
    if !root.join("bin").is_dir() {
        bail!("{what}: the archive has no python/bin");
    }
    Ok(())
}

/// Download (or take from the cache) every locked pip file of `platform`,
/// check its sha256, and lay each group out with its requirements.txt.
fn place_pip_files(
    dir: &Path,
    manifest: &Manifest,
    lock: &Lockfile,
    platform: &str,
    with_profile: bool,
    config: &Config,
) -> anyhow::Result<()> {
    let requests = crate::requests::Requests::of(manifest);
    let (framework, profile_only) = (requests.framework_names(), requests.profile_only_pip());
    let mut http: Option<crate::http::Http> = None;
    let credentials = crate::resolve::pip::index_credentials(manifest);
    let groups = crate::render::pip_groups(lock, &framework, &profile_only, with_profile);
    for group in crate::render::PIP_GROUPS {
        let files = crate::render::pip_requirements(
            lock,
            &framework,
            &profile_only,
            with_profile,
            group,
            platform,
        );
        if !groups.iter().any(|(_, g)| *g == group) {
            continue;
        }
        let group_dir = dir.join(context_path(ContextItem::Pip(group)));
        std::fs::create_dir_all(&group_dir)
            .with_context(|| format!("creating {}", group_dir.display()))?;
        let mut requirements = String::new();
        for (filename, url, sha256) in &files {
            let cached = crate::resolve::pip::locked_file(
                config,
                &credentials,
                &mut http,
                url,
                sha256,
                filename,
            )?;
            let dest = group_dir.join(filename);
            if std::fs::hard_link(&cached, &dest).is_err() {
                std::fs::copy(&cached, &dest)
                    .with_context(|| format!("copying {filename} into the build context"))?;
            }
            requirements.push_str(&format!("/tmp/mlr-pip/{filename} --hash=sha256:{sha256}\n"));
        }
        std::fs::write(group_dir.join("requirements.txt"), requirements)
            .context("writing requirements.txt into the build context")?;
    }
    Ok(())
}

/// Lay out every pip package built from source on `platform`, under
/// `build/GROUP/NAME/`: `src/` (the sdist unpacked, or the git commit
/// exported and checked against its tree), and its build requirements'
/// wheels (hash-checked) with the `requirements.txt` that installs them.
fn place_build_sources(
    dir: &Path,
    project_dir: &Path,
    manifest: &Manifest,
    lock: &Lockfile,
    platform: &str,
    with_profile: bool,
    config: &Config,
) -> anyhow::Result<()> {
    let requests = crate::requests::Requests::of(manifest);
    let groups = crate::render::pip_groups(
        lock,
        &requests.framework_names(),
        &requests.profile_only_pip(),
        with_profile,
    );
    let credentials = crate::resolve::pip::index_credentials(manifest);
    let mut http: Option<crate::http::Http> = None;
    let mut fetch = |url: &str, sha256: &str, filename: &str| {
        crate::resolve::pip::locked_file(config, &credentials, &mut http, url, sha256, filename)
    };
    let root = dir.join(context_path(ContextItem::Build));
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    for (name, group) in &groups {
        // One pin per version: the one this platform installs.
        let Some(pin) = lock.pip.iter().find(|p| {
            p.name == *name
                && (p.git.is_some()
                    || p.path.is_some()
                    || p.artifacts.iter().any(|a| a.platform == platform))
        }) else {
            continue;
        };
        let sdist = pin
            .artifacts
            .iter()
            .find(|a| a.platform == platform && a.sdist);
        if pin.git.is_none() && pin.path.is_none() && sdist.is_none() {
            continue;
        }
        let pkg = root.join(group).join(name);
        let src = pkg.join("src");
        if let Some(git) = &pin.git {
            crate::resolve::git::export_pin(&git.as_git_pin(name), &src, project_dir, config)
                .with_context(|| format!("exporting {name} @ {}", redact_url(&git.url)))?;
        } else if let Some(dir) = &pin.path {
            config
                .shell
                .status("Copying", format!("{name} from ./{}", dir.path));
            crate::resolve::pip::sources::copy_locked_tree(project_dir, dir, &src)?;
        } else if let Some(a) = sdist {
            let archive = fetch(&a.url, &a.sha256, &a.filename)?;
            crate::archive::unpack_single_top(&archive, &a.filename, &src)?;
        }
        let mut requirements = String::new();
        let environment = pin.build_requires.as_deref().with_context(|| {
            format!("ml.lock has no build requirements for {name}; run `mlr lock`")
        })?;
        for wanted in environment {
            let Some(b) = lock
                .pip_build
                .iter()
                .find(|b| format!("{}=={}", b.name, b.version) == *wanted)
            else {
                bail!("ml.lock has no [[pip-build]] pin {wanted} (for {name}); run `mlr lock`");
            };
            // A build requirement one platform's resolution did not take.
            let Some(a) = b.artifacts.iter().find(|a| a.platform == platform) else {
                continue;
            };
            let cached = fetch(&a.url, &a.sha256, &a.filename)?;
            let dest = pkg.join(&a.filename);
            if std::fs::hard_link(&cached, &dest).is_err() {
                std::fs::copy(&cached, &dest)
                    .with_context(|| format!("copying {} into the build context", a.filename))?;
            }
            requirements.push_str(&format!(
                "/tmp/mlr-build/{group}/{name}/{} --hash=sha256:{}\n",
                a.filename, a.sha256
            ));
        }
        std::fs::write(pkg.join("requirements.txt"), requirements)
            .context("writing a build's requirements.txt into the build context")?;
    }
    Ok(())
}

/// Where an `[image] copy` source leads, every symlink followed: a path
/// inside `project` (canonical), or an error naming the link that leads
/// out of it.
fn copy_source(project: &Path, src: &str) -> anyhow::Result<PathBuf> {
    let path = project.join(src);
    let outside = match std::fs::canonicalize(&path) {
        Ok(real) if real.starts_with(project) => return Ok(real),
        Ok(real) => Some(real),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("reading {}", path.display())));
        }
    };
    // Name the first link on the way that leads out (or nowhere).
    let mut at = project.to_path_buf();
    let mut shown = PathBuf::new();
    for part in Path::new(src).components() {
        at.push(part);
        shown.push(part);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            if let Some(e) = leaving_link(project, &at, &shown, src) {
                return Err(e);
            }
        }
    }
    Err(match outside {
        // The project moved under us; no link to name.
        Some(real) => hinted(
            ErrorKind::Usage,
            format!(
                "`[image] copy` source `{src}` leads to {}, outside the project",
                real.display()
            ),
            "a copy source may only lead to files under the directory holding ml.toml",
        ),
        None => hinted(
            ErrorKind::Usage,
            format!("`[image] copy` source `{src}` does not exist"),
            "paths in `copy` are relative to the directory holding ml.toml",
        ),
    })
}

/// The error for the symlink `link` (shown as `shown`, relative to the
/// project) when it leads outside `project` or to nothing; `None` when it
/// leads inside.
fn leaving_link(project: &Path, link: &Path, shown: &Path, src: &str) -> Option<anyhow::Error> {
    let target = std::fs::read_link(link)
        .map(|t| t.display().to_string())
        .unwrap_or_default();
    let (why, hint) = match std::fs::canonicalize(link) {
        Ok(real) if real.starts_with(project) => return None,
        Ok(real) => (
            if Path::new(&target) == real {
                "outside the project".to_string()
            } else {
                format!("which is {}, outside the project", real.display())
            },
            "a copy source may only lead to files under the directory holding ml.toml; \
             copy the files into the project instead of linking to them",
        ),
        Err(_) => ("which does not exist".to_string(), "fix or remove the link"),
    };
    Some(hinted(
        ErrorKind::Usage,
        format!(
            "`[image] copy` source `{src}`: `{}` is a symlink to `{target}`, {why}",
            shown.display()
        ),
        hint,
    ))
}

/// One `[image] copy` source being copied into the context.
struct CopyTree<'a> {
    /// The project directory, canonical.
    project: &'a Path,
    /// The source as ml.toml writes it, for messages.
    src: &'a str,
    /// Where the source leads, canonical: the top of the copied tree.
    root: &'a Path,
    /// The source as a path from the project (see [`logical_path`]).
    logical: String,
    /// The copy entry's own patterns, relative to its top.
    exclude: &'a Exclude,
    /// The project's `.dockerignore`, relative to the project.
    dockerignore: Option<&'a Dockerignore>,
    /// mlr's cache directory, canonical, when it is inside the project.
    cache: Option<&'a Path>,
    /// The bytes of the files copied so far.
    bytes: Cell<u64>,
}

impl CopyTree<'_> {
    /// Refuse a source that mlr always leaves out (reached through a
    /// symlink: ml.toml cannot name one) or that `.dockerignore` excludes
    /// with nothing inside it brought back, as `docker build` refuses a
    /// `COPY` of an ignored path; warn when `exclude` cannot apply.
    fn check_top(&self, copy: &CopySpec, config: &Config) -> anyhow::Result<()> {
        if self.never_copied(self.root) {
            return Err(hinted(
                ErrorKind::Usage,
                format!(
                    "`[image] copy` source `{}` leads to {}, which mlr never copies into an image",
                    self.src,
                    self.root.display()
                ),
                "`.git` directories and mlr's cache directory are always left out",
            ));
        }
        let is_dir = self.root.is_dir();
        if let Some(d) = self.dockerignore {
            if !self.logical.is_empty()
                && d.excludes(&self.logical)
                && !(is_dir && d.has_exceptions())
            {
                return Err(hinted(
                    ErrorKind::Usage,
                    format!(
                        "`[image] copy` source `{}` is excluded by .dockerignore",
                        self.src
                    ),
                    "remove the pattern that matches it from .dockerignore, \
                     or add a `!` line for it",
                ));
            }
        }
        if !is_dir && !copy.exclude.is_empty() {
            config.shell.warn(format!(
                "`[image] copy` source `{}` is a file; its `exclude` patterns have nothing to leave out",
                self.src
            ));
        }
        Ok(())
    }

    /// Whether `real` (canonical) is in a `.git` directory of the project
    /// or in mlr's cache.
    fn never_copied(&self, real: &Path) -> bool {
        let inside = real.strip_prefix(self.project).unwrap_or(real);
        inside.components().any(|c| c.as_os_str() == ".git")
            || self.cache.is_some_and(|c| real.starts_with(c))
    }

    /// The entry at `at` (under the top) as the patterns see it: `None` to
    /// leave it out, else whether `.dockerignore` excludes it (a directory
    /// it excludes is still entered when a `!` line may bring something
    /// back from inside).
    fn wanted(&self, at: &Path, is_dir: bool) -> Option<bool> {
        if at.as_os_str().is_empty() {
            return Some(false);
        }
        let path = at.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/");
        if self.exclude.excludes(&path, is_dir) {
            return None;
        }
        let Some(d) = self.dockerignore else {
            return Some(false);
        };
        let from_project = if self.logical.is_empty() {
            path
        } else {
            format!("{}/{path}", self.logical)
        };
        match d.excludes(&from_project) {
            true if is_dir && d.has_exceptions() => Some(true),
            true => None,
            false => Some(false),
        }
    }

    /// Copy `from` (a path with no symlink in it) to `dest`, which sits at
    /// `at` under the copy's top in the context. A symlink inside is kept
    /// as a relative link when it leads into the copied tree, copied as
    /// what it leads to when that is elsewhere in the project, and refused
    /// when it leads out of the project or to nothing. `open` holds the
    /// directories being copied around `from`, so a link to one of them
    /// (a cycle) is refused rather than followed forever.
    fn copy(
        &self,
        from: &Path,
        dest: &Path,
        at: &Path,
        open: &mut Vec<PathBuf>,
    ) -> anyhow::Result<()> {
        // Always left out, by name: git's data (a directory, or the file
        // a submodule or worktree has) and mlr's half-written files.
        if at.file_name().is_some_and(|name| {
            name == ".git" || name.to_str().is_some_and(crate::atomic_file::is_temporary)
        }) {
            return Ok(());
        }
        let meta = std::fs::symlink_metadata(from)
            .with_context(|| format!("reading {}", from.display()))?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let shown = from.strip_prefix(self.project).unwrap_or(from);
            if let Some(e) = leaving_link(self.project, from, shown, self.src) {
                return Err(e);
            }
            let real = std::fs::canonicalize(from)
                .with_context(|| format!("reading {}", from.display()))?;
            if self.never_copied(&real) {
                return Ok(());
            }
            if let Ok(inside) = real.strip_prefix(self.root) {
                // Kept as a link: matched as one, never as a directory.
                if self.wanted(at, false) != Some(false) {
                    return Ok(());
                }
                // The same link in the image: up to the copy's top, then
                // down to what it leads to.
                let mut target: PathBuf = at
                    .parent()
                    .into_iter()
                    .flat_map(Path::components)
                    .map(|_| Component::ParentDir)
                    .collect();
                target.push(inside);
                if target.as_os_str().is_empty() {
                    target.push(".");
                }
                return std::os::unix::fs::symlink(&target, dest)
                    .with_context(|| format!("creating link {}", dest.display()));
            }
            if real.is_dir() && open.iter().any(|o| o.starts_with(&real)) {
                return Err(hinted(
                    ErrorKind::Usage,
                    format!(
                        "`[image] copy` source `{}`: `{}` is a symlink to `{}`, a directory \
                         that holds it (copying what it leads to would never end)",
                        self.src,
                        shown.display(),
                        real.strip_prefix(self.project).unwrap_or(&real).display(),
                    ),
                    "remove the link, or point it at a directory outside the one it is in",
                ));
            }
            return self.copy(&real, dest, at, open);
        }
        if self.never_copied(from) && !at.as_os_str().is_empty() {
            return Ok(());
        }
        let Some(ignored) = self.wanted(at, kind.is_dir()) else {
            return Ok(());
        };
        if kind.is_dir() {
            std::fs::create_dir_all(dest)
                .with_context(|| format!("creating {}", dest.display()))?;
            let mut entries: Vec<_> = std::fs::read_dir(from)
                .with_context(|| format!("reading {}", from.display()))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("reading {}", from.display()))?;
            entries.sort_by_key(|e| e.file_name());
            open.push(from.to_path_buf());
            for e in entries {
                let name = e.file_name();
                self.copy(&e.path(), &dest.join(&name), &at.join(&name), open)?;
            }
            open.pop();
            // Entered only for what a `!` line brings back: kept if it did.
            if ignored && std::fs::read_dir(dest).is_ok_and(|mut d| d.next().is_none()) {
                std::fs::remove_dir(dest)
                    .with_context(|| format!("removing {}", dest.display()))?;
            }
            return Ok(());
        }
        if !kind.is_file() {
            return Err(hinted(
                ErrorKind::Usage,
                format!(
                    "`[image] copy` source `{}`: `{}` is not a file, a directory or a symlink",
                    self.src,
                    from.strip_prefix(self.project).unwrap_or(from).display()
                ),
                "only files, directories and symlinks are copied into the image",
            ));
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(from, dest)
            .with_context(|| format!("copying {} to {}", from.display(), dest.display()))?;
        self.bytes.set(self.bytes.get() + meta.len());
        Ok(())
    }
}
