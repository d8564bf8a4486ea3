//! Wire types to the validated [`Manifest`]: every value checked, defaults
//! filled, insignificant differences normalized away, and the rules that span
//! tables (base or cuda, duplicates) enforced.
//!
//! Problems are collected, not returned at the first, so that the caller can
//! report the one that comes first in the file.

use std::collections::{BTreeMap, BTreeSet};

use super::exclude::Exclude;
use super::key_path::{KeyPath, Target};
use super::pep508::{self, Requirement};
use super::syntax::{self, Check, Invalid, Shown};
use super::wire::{
    TomlApt, TomlCommand, TomlCuda, TomlGit, TomlHealthcheck, TomlImage, TomlManifest, TomlPip,
    TomlProfile, TomlProject, TomlPython,
};
use super::{
    Apt, Base, CopySpec, Cuda, DEFAULT_USER, Framework, GitSource, Healthcheck, ImageConfig,
    ImageRef, Manifest, Pip, PipIndex, Platform, Profile, Project, Python, PythonSource,
};

/// One thing wrong with a manifest, at a key or value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: KeyPath,
    pub target: Target,
    pub message: String,
    pub hint: Option<String>,
}

/// The profile `mlr build` uses when none is named: the manifest itself.
const DEFAULT_PROFILE: &str = "prod";

pub fn manifest(w: &TomlManifest) -> Result<Manifest, Vec<Problem>> {
    let mut v = Validator::default();
    let project = v.project(w.project.as_ref());
    let base = w.base.as_ref().and_then(|b| v.base(&b.image));
    let cuda = w.cuda.as_ref().map(|c| v.cuda(c));
    let python = w.python.as_ref().map(|p| v.python(p));
    let framework = w.framework.as_ref().and_then(|f| v.framework(f));
    let apt = w.apt.as_ref().and_then(|a| v.apt(a));
    let pip = w.pip.as_ref().and_then(|p| v.pip(p, framework.as_ref()));
    let git = w
        .git
        .iter()
        .map(|(name, g)| (name.clone(), v.git(name, g)))
        .collect();
    let env = v.env(&w.env);
    let image = w.image.as_ref().map_or_else(default_image, |i| v.image(i));
    let profiles = w
        .profile
        .iter()
        .map(|(name, p)| {
            let profile = v.profile(name, p, framework.as_ref());
            v.profile_overlap(name, &profile, apt.as_ref(), pip.as_ref());
            (name.clone(), profile)
        })
        .collect();
    v.base_or_cuda(w);
    let compat = w.compat.as_ref().filter(|c| !c.is_empty()).cloned();
    if let Some(c) = &compat {
        for problem in c.problems() {
            v.push(
                KeyPath::root().key("compat"),
                Target::Key,
                Invalid::new(problem).hint(
                    "each row needs every key of the built-in table it extends (see the book)",
                ),
            );
        }
    }

    if !v.problems.is_empty() {
        return Err(v.problems);
    }
    Ok(Manifest {
        project,
        base,
        cuda,
        python,
        framework,
        apt,
        pip,
        git,
        env,
        image,
        profiles,
        compat,
        source_trees: Vec::new(),
    })
}

/// `[image]` left out.
fn default_image() -> ImageConfig {
    ImageConfig {
        workdir: None,
        user: DEFAULT_USER.to_string(),
        entrypoint: None,
        cmd: None,
        healthcheck: None,
        copy: Vec::new(),
        dockerignore: None,
    }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    /// Record a problem with the value at `at`; `Some` when there is none.
    fn value<T>(&mut self, at: KeyPath, check: Check<T>) -> Option<T> {
        check.map_err(|e| self.reject(at, e)).ok()
    }

    /// Record a problem with the key at `at` (a table name, an env name).
    fn key<T>(&mut self, at: KeyPath, check: Check<T>) -> Option<T> {
        check.map_err(|e| self.reject_key(at, e)).ok()
    }

    fn reject(&mut self, at: KeyPath, invalid: Invalid) {
        self.push(at, Target::Value, invalid);
    }

    fn reject_key(&mut self, at: KeyPath, invalid: Invalid) {
        self.push(at, Target::Key, invalid);
    }

    fn push(&mut self, at: KeyPath, target: Target, invalid: Invalid) {
        self.problems.push(Problem {
            at,
            target,
            message: invalid.message,
            hint: invalid.hint,
        });
    }

    fn project(&mut self, p: Option<&TomlProject>) -> Project {
        let at = KeyPath::root().key("project");
        let name = p.and_then(|p| p.name.as_deref()).map(str::trim);
        if let Some(name) = name {
            self.value(at.key("name"), syntax::project_name(name));
        }
        let platforms = match p.and_then(|p| p.platforms.as_ref()) {
            None => vec![Platform::linux_amd64()],
            Some(list) => self.platforms(&at.key("platforms"), list),
        };
        Project {
            name: name.map(str::to_string),
            platforms,
        }
    }

    /// Sorted, so that their order in the file does not matter.
    fn platforms(&mut self, at: &KeyPath, list: &[String]) -> Vec<Platform> {
        if list.is_empty() {
            self.reject(
                at.clone(),
                Invalid::new("`project.platforms` is empty")
                    .hint("list at least one platform, or remove the key to lock `linux/amd64`"),
            );
        }
        let mut platforms = BTreeSet::new();
        for (i, text) in list.iter().enumerate() {
            let parsed = text.trim().parse::<Platform>().map_err(|e| {
                Invalid::new(format!("invalid platform: {e}"))
                    .hint("for example `linux/amd64` or `linux/arm64`")
            });
            let Some(platform) = self.value(at.index(i), parsed) else {
                continue;
            };
            let shown = platform.to_string();
            if !platforms.insert(platform) {
                self.reject(at.index(i), twice(&shown, "project.platforms"));
            }
        }
        platforms.into_iter().collect()
    }

    fn base(&mut self, image: &str) -> Option<Base> {
        let image = ImageRef::parse(image.trim()).map_err(|e| {
            Invalid::new(format!("invalid image reference: {e}")).hint(
                "write `repository:tag` or `repository@sha256:<digest>`, \
                 for example `nvidia/cuda:12.4.1-runtime-ubuntu22.04`",
            )
        });
        let image = self.value(KeyPath::root().key("base").key("image"), image)?;
        Some(Base { image })
    }

    fn cuda(&mut self, c: &TomlCuda) -> Cuda {
        let at = KeyPath::root().key("cuda");
        let version = c.version.trim();
        self.value(at.key("version"), syntax::cuda_version(version));
        let cudnn = c.cudnn.as_deref().map(str::trim);
        if let Some(cudnn) = cudnn {
            self.value(at.key("cudnn"), syntax::cudnn_version(cudnn));
        }
        let arch: Vec<String> = c.arch.iter().map(|a| a.trim().to_string()).collect();
        let mut seen = BTreeSet::new();
        for (i, a) in arch.iter().enumerate() {
            let at = at.key("arch").index(i);
            if self.value(at.clone(), syntax::cuda_arch(a)).is_some() && !seen.insert(a) {
                self.reject(at, twice(a, "cuda.arch"));
            }
        }
        Cuda {
            version: version.to_string(),
            cudnn: cudnn.map(str::to_string),
            flavor: c.flavor,
            arch,
        }
    }

    fn python(&mut self, p: &TomlPython) -> Python {
        let version = p.version.as_deref().map(str::trim);
        if let Some(version) = version {
            let at = KeyPath::root().key("python").key("version");
            self.value(at, syntax::python_version(version));
        }
        if p.source == Some(PythonSource::Standalone) && version.is_none() {
            self.reject(
                KeyPath::root().key("python").key("from"),
                Invalid::new("`from = \"standalone\"` needs a version")
                    .hint("add `version = \"3.12\"` (or the version you want) to [python]"),
            );
        }
        Python {
            version: version.map(str::to_string),
            source: p.source,
        }
    }

    /// Keyed by the PEP 503 normalized name, so `Torch` and `torch` are one.
    fn framework(&mut self, f: &BTreeMap<String, String>) -> Option<Framework> {
        let mut packages = BTreeMap::new();
        for (name, version) in f {
            let at = KeyPath::root().key("framework").key(name);
            if !pep508::is_name(name) {
                self.reject_key(
                    at,
                    Invalid::new(format!("{} is not a Python package name", Shown(name)))
                        .hint("for example `torch`, `tensorflow` or `jax`"),
                );
                continue;
            }
            let version = version.trim();
            if !pep508::is_version(version) {
                let hint = if version.starts_with(['<', '>', '=', '!', '~']) {
                    "`[framework]` takes an exact version such as `2.0.1`; put ranges in `[pip] packages`"
                } else {
                    "write an exact version such as `2.0.1`"
                };
                let message = format!("{} is not a version for `{name}`", Shown(version));
                self.reject(at.clone(), Invalid::new(message).hint(hint));
            }
            let normalized = pep508::normalize_name(name);
            if packages
                .insert(normalized.clone(), version.to_string())
                .is_some()
            {
                self.reject_key(at, twice(&normalized, "[framework]"));
            }
        }
        (!packages.is_empty()).then_some(Framework { packages })
    }

    fn apt(&mut self, a: &TomlApt) -> Option<Apt> {
        let at = KeyPath::root().key("apt");
        let packages = self.apt_requests(&at.key("packages"), &a.packages);
        let snapshot = a.snapshot.as_deref().map(str::trim);
        if let Some(s) = snapshot {
            self.value(at.key("snapshot"), syntax::apt_snapshot(s));
        }
        let mut sources = Vec::new();
        for (i, line) in a.sources.iter().enumerate() {
            let line = line.trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            let uri_ok = words.get(1).is_some_and(|u| {
                u.starts_with("http://") || u.starts_with("https://") || u.starts_with('[')
            });
            if words.first() != Some(&"deb") || words.len() < 3 || !uri_ok {
                self.reject(
                    at.key("sources").index(i),
                    Invalid::new(format!("`{line}` is not an apt source line"))
                        .hint("write `deb http://deb.debian.org/debian bookworm main`"),
                );
            } else if line.contains('@')
                && line.contains("://")
                && line
                    .split("://")
                    .nth(1)
                    .is_some_and(|r| r.split('/').next().unwrap_or("").contains('@'))
            {
                self.reject(
                    at.key("sources").index(i),
                    Invalid::new("apt source URLs may not carry credentials")
                        .hint("use an apt auth.conf on the build host instead"),
                );
            }
            sources.push(line.to_string());
        }
        // An empty `[apt]` is no `[apt]`.
        (!packages.is_empty() || snapshot.is_some() || !sources.is_empty()).then(|| Apt {
            packages,
            snapshot: snapshot.map(str::to_string),
            sources,
        })
    }

    /// `name` / `name=version` requests, trimmed, each name once.
    fn apt_requests(&mut self, at: &KeyPath, list: &[String]) -> Vec<String> {
        let mut names = BTreeSet::new();
        let mut out = Vec::new();
        for (i, request) in list.iter().enumerate() {
            let request = request.trim();
            if let Some(name) = self.value(at.index(i), syntax::apt_request(request)) {
                if !names.insert(name) {
                    self.reject(at.index(i), twice(name, &at.to_string()));
                }
            }
            out.push(request.to_string());
        }
        out
    }

    /// PEP 508 requirements, whitespace-normalized; a name appears once per
    /// marker, and never beside `[framework]`.
    fn requirements(
        &mut self,
        at: &KeyPath,
        list: &[String],
        framework: Option<&Framework>,
    ) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, text) in list.iter().enumerate() {
            let req = Requirement::parse(text).map_err(|e| {
                Invalid::new(format!("invalid requirement {}: {e}", Shown(text.trim())))
                    .hint(requirement_hint(text))
            });
            let Some(req) = self.value(at.index(i), req) else {
                out.push(text.trim().to_string());
                continue;
            };
            let name = req.normalized_name();
            if let super::pep508::VersionOrUrl::Url(url) = &req.version {
                // An archive (locked by its sha256) or a git repository
                // (locked to a commit); anything else is refused here
                // rather than dropped from the lock.
                if let Some(syntax::DirectUrl::Path { path }) =
                    self.value(at.index(i), syntax::direct_url(url))
                {
                    if syntax::join_project_path("", &path).is_none() {
                        self.reject(
                            at.index(i),
                            Invalid::new(format!("`{path}` leaves the project directory")).hint(
                                "keep the package's directory inside the project, or put it in a git repository",
                            ),
                        );
                    }
                }
                out.push(req.to_string());
                continue;
            }
            if framework.is_some_and(|f| f.packages.contains_key(&name)) {
                self.reject(
                    at.index(i),
                    Invalid::new(format!(
                        "`{name}` is pinned in `[framework]` and also listed in `{at}`"
                    ))
                    .hint("remove it here; `[framework]` picks its version and CUDA build"),
                );
            } else if !seen.insert((name.clone(), req.marker.clone())) {
                self.reject(
                    at.index(i),
                    twice(&name, &at.to_string()).hint(format!(
                        "write one requirement that combines both, for example `{name}>=1.0,<2`"
                    )),
                );
            }
            out.push(req.to_string());
        }
        out
    }

    fn pip(&mut self, p: &TomlPip, framework: Option<&Framework>) -> Option<Pip> {
        let at = KeyPath::root().key("pip");
        let packages = self.requirements(&at.key("packages"), &p.packages, framework);
        let index_url = p.index_url.as_deref().map(str::trim);
        if let Some(url) = index_url {
            self.value(at.key("index-url"), syntax::http_url(url));
        }
        // Which index each package pattern is routed to.
        let mut routes: BTreeMap<&str, &str> = BTreeMap::new();
        let mut names = BTreeSet::new();
        let mut indexes = Vec::new();
        for (i, index) in p.index.iter().enumerate() {
            let at = at.key("index").index(i);
            let name = index.name.trim();
            let valid = self.value(at.key("name"), syntax::dir_name(name, "index name"));
            if valid.is_some() && !names.insert(name) {
                self.reject(
                    at.key("name"),
                    Invalid::new(format!("two `[[pip.index]]` tables are named `{name}`"))
                        .hint("give each index a unique name"),
                );
            }
            let url = index.url.trim();
            self.value(at.key("url"), syntax::http_url(url));
            let mut globs = Vec::new();
            for (j, glob) in index.packages.iter().enumerate() {
                let glob = glob.trim();
                let at = at.key("packages").index(j);
                if self.value(at.clone(), syntax::package_glob(glob)).is_none() {
                    continue;
                }
                match routes.insert(glob, name) {
                    Some(other) if other == name => {
                        self.reject(at, twice(glob, "pip.index.packages"))
                    }
                    Some(other) => self.reject(
                        at,
                        Invalid::new(format!(
                            "`{glob}` is routed to both index `{other}` and index `{name}`"
                        ))
                        .hint("each package comes from exactly one index; keep it in one"),
                    ),
                    None => {}
                }
                globs.push(glob.to_string());
            }
            indexes.push(PipIndex {
                name: name.to_string(),
                url: url.to_string(),
                packages: globs,
            });
        }
        let mut requirements = Vec::new();
        for (i, path) in p.requirements.iter().enumerate() {
            let path = path.trim();
            if self
                .value(at.key("requirements").index(i), syntax::project_path(path))
                .is_some()
            {
                requirements.push(path.trim_start_matches("./").to_string());
            }
        }
        let mut build_constraints = Vec::new();
        for (i, text) in p.build_constraints.iter().enumerate() {
            let at = at.key("build-constraints").index(i);
            let parsed = Requirement::parse(text).map_err(|e| {
                Invalid::new(format!("invalid constraint {}: {e}", Shown(text.trim())))
                    .hint("write a PEP 508 requirement, for example `cython<3`")
            });
            let Some(req) = self.value(at.clone(), parsed) else {
                continue;
            };
            if let super::pep508::VersionOrUrl::Url(_) = req.version {
                self.reject(
                    at,
                    Invalid::new(format!(
                        "a constraint cannot name a URL: {}",
                        Shown(text.trim())
                    ))
                    .hint("constrain the version, for example `cython<3`"),
                );
                continue;
            }
            build_constraints.push(req.to_string());
        }
        // An empty `[pip]` is no `[pip]`.
        let empty = packages.is_empty()
            && index_url.is_none()
            && indexes.is_empty()
            && requirements.is_empty()
            && build_constraints.is_empty();
        (!empty).then(|| Pip {
            packages,
            index_url: index_url.map(str::to_string),
            indexes,
            requirements,
            build_constraints,
            constraints: Vec::new(),
            files: Vec::new(),
            written: None,
        })
    }

    fn git(&mut self, name: &str, g: &TomlGit) -> GitSource {
        let at = KeyPath::root().key("git").key(name);
        self.key(at.clone(), syntax::dir_name(name, "git source name"));
        let url = g.url.trim();
        self.value(at.key("url"), syntax::git_url(url));
        let rev = g.rev.trim();
        self.value(at.key("rev"), syntax::git_rev(rev));
        for (i, step) in g.build.iter().enumerate() {
            self.value(at.key("build").index(i), syntax::build_step(step));
        }
        GitSource {
            url: url.to_string(),
            rev: rev.to_string(),
            build: g.build.clone(),
            submodules: g.submodules,
        }
    }

    fn env(&mut self, env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        for (key, value) in env {
            let at = KeyPath::root().key("env").key(key);
            self.key(at.clone(), syntax::env_key(key));
            self.value(at, one_line(value));
        }
        env.clone()
    }

    fn image(&mut self, i: &TomlImage) -> ImageConfig {
        let at = KeyPath::root().key("image");
        if let Some(w) = &i.workdir {
            self.value(at.key("workdir"), syntax::image_path(w));
        }
        let user = i.user.as_deref().map_or(DEFAULT_USER, str::trim);
        if i.user.is_some() {
            self.value(at.key("user"), syntax::user(user));
        }
        for (key, args) in [("entrypoint", &i.entrypoint), ("cmd", &i.cmd)] {
            for (n, arg) in args.iter().flatten().enumerate() {
                self.value(at.key(key).index(n), no_nul(arg));
            }
        }
        let healthcheck = i
            .healthcheck
            .as_ref()
            .map(|h| self.healthcheck(&at.key("healthcheck"), h));
        let copy = i
            .copy
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let at = at.key("copy").index(n);
                self.value(at.key("src"), syntax::project_path(&c.src));
                self.value(at.key("dst"), syntax::image_path(&c.dst));
                let exclude = Exclude::parse(&c.exclude).unwrap_or_else(|problems| {
                    for (i, invalid) in problems {
                        self.reject(at.key("exclude").index(i), invalid);
                    }
                    Exclude::default()
                });
                CopySpec {
                    src: c.src.clone(),
                    dst: c.dst.clone(),
                    exclude,
                }
            })
            .collect();
        ImageConfig {
            workdir: i.workdir.clone(),
            user: user.to_string(),
            entrypoint: i.entrypoint.clone(),
            cmd: i.cmd.clone(),
            healthcheck,
            copy,
            dockerignore: None,
        }
    }

    fn healthcheck(&mut self, at: &KeyPath, h: &TomlHealthcheck) -> Healthcheck {
        let (cmd, shell) = match &h.cmd {
            TomlCommand::Shell(s) => (vec![s.clone()], true),
            TomlCommand::Exec(args) => (args.clone(), false),
        };
        let example = "for example `cmd = \"nvidia-smi\"` or `cmd = [\"curl\", \"-f\", \"http://localhost/\"]`";
        let check = match cmd.first() {
            None => Err(Invalid::new("the healthcheck command is empty").hint(example)),
            Some(first) if first.trim().is_empty() => {
                Err(Invalid::new("the healthcheck command is empty").hint(example))
            }
            // The shell form is one Dockerfile line.
            Some(first) if shell && first.chars().any(char::is_control) => Err(Invalid::new(
                "the healthcheck command contains a line break",
            )
            .hint("write it on one line, or as an array")),
            // The Dockerfile parser trims Unicode white space around a line.
            Some(first)
                if shell
                    && first
                        .chars()
                        .any(|c| c.is_whitespace() && !matches!(c, ' ' | '\t')) =>
            {
                Err(Invalid::new(
                    "the healthcheck command holds white space other than spaces and tabs",
                )
                .hint("write the command with plain spaces"))
            }
            // A trailing `\` would continue the Dockerfile line into the next instruction.
            Some(first) if shell && first.trim_end().ends_with('\\') => {
                Err(Invalid::new("the healthcheck command ends with `\\`")
                    .hint("remove the trailing `\\`, or write the command as an array"))
            }
            Some(_) => cmd.iter().try_for_each(|a| no_nul(a)),
        };
        self.value(at.key("cmd"), check);
        let mut duration = |key: &str, d: &Option<String>| {
            let d = d.as_deref().map(str::trim)?;
            self.value(at.key(key), syntax::duration(d));
            Some(d.to_string())
        };
        let interval = duration("interval", &h.interval);
        let timeout = duration("timeout", &h.timeout);
        let start_period = duration("start-period", &h.start_period);
        let retries = h.retries.and_then(|r| {
            let checked = u32::try_from(r).ok().filter(|r| *r <= 1000).ok_or_else(|| {
                Invalid::new(format!("`retries = {r}` is out of range"))
                    .hint("use a whole number from 0 to 1000")
            });
            self.value(at.key("retries"), checked)
        });
        Healthcheck {
            cmd,
            shell,
            interval,
            timeout,
            start_period,
            retries,
        }
    }

    fn profile(&mut self, name: &str, p: &TomlProfile, framework: Option<&Framework>) -> Profile {
        let at = KeyPath::root().key("profile").key(name);
        if name == DEFAULT_PROFILE {
            self.reject_key(
                at.clone(),
                Invalid::new("`prod` is the default profile and cannot be configured").hint(
                    "put its packages in `[pip] packages` and `[apt] packages`, or choose another profile name",
                ),
            );
        } else {
            self.key(at.clone(), syntax::dir_name(name, "profile name"));
        }
        Profile {
            pip: self.requirements(&at.key("pip"), &p.pip, framework),
            apt: self.apt_requests(&at.key("apt"), &p.apt),
        }
    }

    /// A profile only adds to the image: a package the base lists already
    /// have is a mistake (and two pins of one package could disagree).
    fn profile_overlap(&mut self, name: &str, p: &Profile, apt: Option<&Apt>, pip: Option<&Pip>) {
        let at = KeyPath::root().key("profile").key(name);
        let base_apt: BTreeSet<&str> = apt
            .iter()
            .flat_map(|a| &a.packages)
            .map(|r| apt_name(r))
            .collect();
        for (i, request) in p.apt.iter().enumerate() {
            let n = apt_name(request);
            if base_apt.contains(n) {
                self.reject(
                    at.key("apt").index(i),
                    in_both(n, "[apt] packages", name, "apt"),
                );
            }
        }
        let pip_name = |r: &String| Requirement::parse(r).ok().map(|r| r.normalized_name());
        let base_pip: BTreeSet<String> = pip
            .iter()
            .flat_map(|p| &p.packages)
            .filter_map(pip_name)
            .collect();
        for (i, request) in p.pip.iter().enumerate() {
            if let Some(n) = pip_name(request).filter(|n| base_pip.contains(n)) {
                self.reject(
                    at.key("pip").index(i),
                    in_both(&n, "[pip] packages", name, "pip"),
                );
            }
        }
    }

    fn base_or_cuda(&mut self, w: &TomlManifest) {
        if w.base.is_none() && w.cuda.is_none() {
            self.reject(
                KeyPath::root(),
                Invalid::new("no base image: neither `[base] image` nor `[cuda] version` is set")
                    .hint("add `[base] image = \"...\"` or `[cuda] version = \"...\"`"),
            );
        }
    }
}

fn no_nul(s: &str) -> Check {
    if s.contains('\0') {
        Err(
            Invalid::new(format!("{} contains a NUL character", Shown(s)))
                .hint("NUL cannot be passed to a process; remove the `\\u0000`"),
        )
    } else {
        Ok(())
    }
}

/// An `ENV` value: one Dockerfile line, so no line break or other control
/// character (a tab is fine).
fn one_line(s: &str) -> Check {
    no_nul(s)?;
    match s.chars().find(|c| c.is_control() && *c != '\t') {
        Some(_) => Err(Invalid::new(format!(
            "{} contains a line break or control character",
            Shown(s)
        ))
        .hint("an `[env]` value is one line in the Dockerfile; set multi-line values at run time")),
        None => Ok(()),
    }
}

fn twice(name: &str, list: &str) -> Invalid {
    Invalid::new(format!("{} is listed twice in `{list}`", Shown(name))).hint("remove one of them")
}

fn in_both(name: &str, base_list: &str, profile: &str, key: &str) -> Invalid {
    Invalid::new(format!(
        "`{name}` is in both `{base_list}` and `[profile.{profile}] {key}`"
    ))
    .hint(format!(
        "remove it from `[profile.{profile}] {key}`; `{base_list}` are in every profile"
    ))
}

fn apt_name(request: &str) -> &str {
    request.split('=').next().unwrap_or(request)
}

/// What people carry over from requirements.txt that is not a requirement.
fn requirement_hint(text: &str) -> String {
    let t = text.trim();
    if t.starts_with("git+") || (t.contains("://") && !t.contains('@')) {
        "build sources from git with a `[git.NAME]` table".to_string()
    } else if t.starts_with('-') {
        "pip options are not allowed here; set `[pip] index-url` or add a `[[pip.index]]`"
            .to_string()
    } else {
        "write a PEP 508 requirement, for example `numpy<2` or `transformers[torch]>=4.40`"
            .to_string()
    }
}
