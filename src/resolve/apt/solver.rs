//! The dependency closure of apt requests: which exact packages
//! `apt-get install --no-install-recommends` adds to a base image, decided
//! here, deterministically, so the lock can pin every one of them.
//!
//! The rules follow apt's own (`pkgDepCache::MarkInstall`), so the closure
//! is the one apt would pick; checked against `apt-get -s` on bookworm for
//! closures of up to 1,300 packages (see the benchmarks chapter of the book):
//! - Pre-Depends and Depends are followed; Recommends and Suggests are not.
//!   Requests are chosen first, then expanded depth first in request order.
//! - An OR-group is satisfied by its first alternative that the base or the
//!   closure already satisfies; else by an alternative whose pick matches an
//!   existing lock pin (minimal change); else by one that upgrades a base
//!   package; else by the first alternative that can be satisfied.
//! - A virtual name is satisfied through `Provides`; a versioned dependency
//!   only by a versioned provide. Among providers, a locked one wins, then
//!   the one with the highest `Priority`, then the first by name.
//! - Of a package's versions, an `=version` request pins exactly; else an
//!   existing lock pin that still fits is kept; else (for a request) the
//!   base's own version if an index serves it; else the highest version.
//!   Base packages are only ever upgraded, never downgraded.
//! - Base packages follow upgrades as in apt: installed binaries of the
//!   same source move to the same source version, and installed packages
//!   whose dependency an upgrade breaks are upgraded too.
//! - Conflicts and Breaks: of two chosen packages that conflict, the one
//!   chosen first is left out and the closure recomputed (then the other, if
//!   that fails); a base package in the way is upgraded, never removed.
//! - Architectures follow dpkg: `Multi-Arch: foreign` satisfies any
//!   architecture, `:any` needs `Multi-Arch: allowed`, `all` counts as the
//!   native architecture.
//! - One version per package name. When a later dependency needs another
//!   version of an already chosen package, the constraint is learned and
//!   the closure is recomputed from scratch, so no stale dependencies stay.
//!
//! Not modelled: co-installing a package for several architectures,
//! `Essential` ordering, and apt's pin priorities (every index counts alike).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

use super::index::{
    BinaryPackage, Candidate, Dep, Index, Origin, compare_versions, display_group, provides_match,
};
use super::status::Installed;

/// One requested package: `name` or `name=version`, as apt-get takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub name: String,
    pub version: Option<String>,
}

impl Request {
    pub fn parse(spec: &str) -> Request {
        match spec.split_once('=') {
            Some((name, version)) => Request {
                name: name.trim().to_string(),
                version: Some(version.trim().to_string()),
            },
            None => Request {
                name: spec.trim().to_string(),
                version: None,
            },
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}={v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// One package of the closure, to be pinned in the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub package: BinaryPackage,
    pub origin: Origin,
    /// The request, as written, when this package was asked for directly.
    pub requested: Option<String>,
    /// The direct requests whose closure includes this package, sorted.
    pub via: Vec<String>,
}

/// Why a set of requests cannot be installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SolveError {
    #[error("no apt package `{name}` in the indexes")]
    NotFound { name: String },
    #[error(
        "apt package `{name}` has no version {version} in the indexes (available: {})",
        list_or_none(available)
    )]
    VersionNotFound {
        name: String,
        version: String,
        available: Vec<String>,
    },
    #[error(
        "`{name}` is a virtual apt package provided by {}; request one of them",
        providers.join(", ")
    )]
    Ambiguous {
        name: String,
        providers: Vec<String>,
    },
    #[error(
        "cannot satisfy `{dependency}`, a dependency of {package} {version} (pulled in by {}): {}",
        chain.join(" -> "),
        reasons.join("; ")
    )]
    Unsatisfiable {
        package: String,
        version: String,
        dependency: String,
        /// One reason per alternative.
        reasons: Vec<String>,
        /// From the direct request down to `package`.
        chain: Vec<String>,
    },
    #[error("apt request `{request}` cannot be met: {reason}")]
    Conflict { request: String, reason: String },
    #[error(
        "apt packages {first} and {second} cannot be installed together ({relation}; pulled in by {})",
        chain.join(" -> ")
    )]
    Incompatible {
        first: String,
        second: String,
        relation: String,
        chain: Vec<String>,
    },
}

/// Whether a Conflicts/Breaks entry hits `p`, by name or through Provides.
fn hits(dep: &Dep, p: &BinaryPackage) -> bool {
    (dep.name == p.name
        && dep
            .constraint
            .as_ref()
            .is_none_or(|k| k.matches(&p.version)))
        || p.provides_matching(&dep.name, dep.constraint.as_ref())
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Resolves `requests` and their closure against `index` for `arch`,
/// leaving out what `installed` (the base image) already satisfies.
/// `preferences` are `(name, version)` pins of an existing lock, kept
/// where they still satisfy. The result is sorted by name.
pub fn resolve(
    index: &Index,
    installed: &[Installed],
    arch: &str,
    requests: &[Request],
    preferences: &[(String, String)],
) -> Result<Vec<Resolved>, SolveError> {
    let solver = Solver::new(index, installed, arch, preferences);
    // Each restart learns a new (name, dependency) pair or leaves a package
    // out, of which the index has finitely many; the budget only guards
    // against a bug, or a pathological pile of conflicts.
    let mut budget = 10_000;
    run(solver, requests, &mut budget)
}

fn run(
    mut solver: Solver<'_>,
    requests: &[Request],
    budget: &mut usize,
) -> Result<Vec<Resolved>, SolveError> {
    loop {
        if *budget == 0 {
            return Err(SolveError::Conflict {
                request: requests
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                reason: "the solver gave up after too many restarts".to_string(),
            });
        }
        *budget -= 1;
        match solver.attempt(requests) {
            Ok(closure) => return Ok(solver.finish(closure)),
            Err(Failure::Error(e)) => return Err(e),
            Err(Failure::Learn { name, dep, by }) => {
                solver.learned.entry(name).or_default().push((dep, by));
            }
            Err(Failure::LeaveOut { options, reason }) => {
                // As apt does, drop the package chosen first; if the closure
                // cannot do without it, try dropping the other one.
                let mut first_error = None;
                for name in options {
                    let mut next = solver.clone();
                    next.forbidden.insert(name, reason.clone());
                    match run(next, requests, budget) {
                        Ok(resolved) => return Ok(resolved),
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                return Err(first_error.expect("a conflict has two sides"));
            }
        }
    }
}

enum Failure {
    Error(SolveError),
    /// `name` must also satisfy `dep` (needed by `by`); start over.
    Learn {
        name: String,
        dep: Dep,
        by: String,
    },
    /// Two chosen packages conflict: start over without one of `options`.
    LeaveOut {
        options: Vec<String>,
        reason: String,
    },
}

impl From<SolveError> for Failure {
    fn from(e: SolveError) -> Failure {
        Failure::Error(e)
    }
}

#[derive(Clone)]
struct Solver<'a> {
    index: &'a Index,
    arch: &'a str,
    installed: HashMap<&'a str, Vec<&'a Installed>>,
    installed_providers: HashMap<&'a str, Vec<&'a Installed>>,
    /// Source package -> its installed binaries.
    by_source: HashMap<&'a str, Vec<&'a Installed>>,
    /// Package name -> installed packages depending on it, with the dependency.
    reverse: HashMap<&'a str, Vec<(&'a Installed, &'a Dep)>>,
    /// Conflicts/Breaks target -> installed packages declaring it.
    base_conflicts: HashMap<&'a str, Vec<(&'a Installed, &'a Dep)>>,
    preferences: HashMap<&'a str, &'a str>,
    /// Constraints a name must also meet, each with the package needing it.
    learned: HashMap<String, Vec<(Dep, String)>>,
    /// Packages left out because they conflict with others, and why.
    forbidden: HashMap<String, String>,
}

struct Choice<'a> {
    candidate: &'a Candidate,
    /// Choice order.
    seq: usize,
    parent: Option<String>,
    requested: Option<String>,
}

#[derive(Default)]
struct Closure<'a> {
    chosen: BTreeMap<String, Choice<'a>>,
    /// Virtual name -> chosen packages providing it, in choice order.
    provided: HashMap<String, Vec<String>>,
    /// Package -> the chosen packages that satisfied its dependencies.
    edges: HashMap<String, Vec<String>>,
    /// (request as written, package chosen for it).
    roots: Vec<(String, String)>,
    /// Chosen but not yet expanded, in choice order.
    pending: Vec<String>,
    /// Conflicts/Breaks target -> chosen packages declaring it.
    conflict_targets: HashMap<String, Vec<String>>,
}

enum Satisfier {
    Base,
    Chosen(String),
}

/// dpkg's rule for whether a package of `arch`/`multi_arch` satisfies a
/// dependency with `qualifier` from a package of `depender_arch`.
fn arch_ok(
    native: &str,
    arch: &str,
    multi_arch: Option<&str>,
    qualifier: Option<&str>,
    depender_arch: &str,
) -> bool {
    if multi_arch == Some("foreign") {
        return true;
    }
    let norm = |a: &str| -> String {
        if a == "all" || a == "native" {
            native.to_string()
        } else {
            a.to_string()
        }
    };
    match qualifier {
        Some("any") => multi_arch == Some("allowed"),
        Some(q) => norm(q) == norm(arch),
        None => norm(depender_arch) == norm(arch),
    }
}

fn priority_rank(priority: Option<&str>) -> u8 {
    match priority {
        Some("required") => 0,
        Some("important") => 1,
        Some("standard") => 2,
        Some("optional") => 3,
        Some("extra") => 4,
        _ => 5,
    }
}

/// The highest version, the first listed among equals.
fn highest<'a>(candidates: impl IntoIterator<Item = &'a Candidate>) -> Option<&'a Candidate> {
    candidates.into_iter().fold(None, |best, c| match best {
        Some(b)
            if compare_versions(&c.package.version, &b.package.version) != Ordering::Greater =>
        {
            Some(b)
        }
        _ => Some(c),
    })
}

fn versions_desc(candidates: &[&Candidate]) -> Vec<String> {
    let mut versions: Vec<&str> = candidates
        .iter()
        .map(|c| c.package.version.as_str())
        .collect();
    versions.sort_by(|a, b| compare_versions(b, a));
    versions.dedup();
    versions.into_iter().map(str::to_string).collect()
}

fn label(p: &BinaryPackage) -> String {
    format!("{} {}", p.name, p.version)
}

impl<'a> Solver<'a> {
    fn new(
        index: &'a Index,
        installed: &'a [Installed],
        arch: &'a str,
        preferences: &'a [(String, String)],
    ) -> Solver<'a> {
        let mut by_name: HashMap<&str, Vec<&Installed>> = HashMap::new();
        let mut providers: HashMap<&str, Vec<&Installed>> = HashMap::new();
        let mut by_source: HashMap<&str, Vec<&Installed>> = HashMap::new();
        let mut reverse: HashMap<&str, Vec<(&Installed, &Dep)>> = HashMap::new();
        let mut base_conflicts: HashMap<&str, Vec<(&Installed, &Dep)>> = HashMap::new();
        for i in installed {
            by_name.entry(i.name.as_str()).or_default().push(i);
            for p in &i.provides {
                providers.entry(p.name.as_str()).or_default().push(i);
            }
            let source = i.source.as_deref().unwrap_or(&i.name);
            by_source.entry(source).or_default().push(i);
            for dep in i.depends.iter().flatten() {
                reverse.entry(dep.name.as_str()).or_default().push((i, dep));
            }
            for dep in &i.conflicts {
                base_conflicts
                    .entry(dep.name.as_str())
                    .or_default()
                    .push((i, dep));
            }
        }
        Solver {
            index,
            arch,
            installed: by_name,
            installed_providers: providers,
            by_source,
            reverse,
            base_conflicts,
            preferences: preferences
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect(),
            learned: HashMap::new(),
            forbidden: HashMap::new(),
        }
    }

    fn attempt(&self, requests: &[Request]) -> Result<Closure<'a>, Failure> {
        let mut closure = Closure::default();
        for request in requests {
            self.request(&mut closure, request)?;
        }
        // Depth first from each request in turn, as apt's MarkInstall
        // recurses: a dependency's own dependencies are settled before the
        // next dependency of its parent, which decides which OR-alternative
        // is "already chosen" when apt meets it.
        let roots = std::mem::take(&mut closure.pending);
        for root in roots {
            let mut stack: Vec<(&'a BinaryPackage, Vec<&'a [Dep]>)> = Vec::new();
            self.expand(&mut closure, &mut stack, &root)?;
            while let Some((package, groups)) = stack.last_mut() {
                let package: &'a BinaryPackage = package;
                let Some(group) = groups.pop() else {
                    stack.pop();
                    continue;
                };
                self.satisfy(&mut closure, package, group)?;
                for name in std::mem::take(&mut closure.pending) {
                    self.expand(&mut closure, &mut stack, &name)?;
                }
            }
        }
        Ok(closure)
    }

    /// Starts on a newly chosen package: first what apt upgrades in the
    /// base along with it, then its dependency groups.
    fn expand(
        &self,
        closure: &mut Closure<'a>,
        stack: &mut Vec<(&'a BinaryPackage, Vec<&'a [Dep]>)>,
        name: &str,
    ) -> Result<(), Failure> {
        let package: &'a BinaryPackage = &closure.chosen[name].candidate.package;
        let mut groups: Vec<&'a [Dep]> = package.relations().map(|(_, g)| g).collect();
        groups.reverse();
        stack.push((package, groups));
        self.follow_base(closure, package)?;
        for upgraded in std::mem::take(&mut closure.pending) {
            self.expand(closure, stack, &upgraded)?;
        }
        Ok(())
    }

    /// Base packages apt-get upgrades when `package` is installed: the
    /// installed binaries of the same source whose newest version comes from
    /// the same source version (apt keeps them in step), and installed
    /// packages whose dependency the new version no longer meets.
    fn follow_base(
        &self,
        closure: &mut Closure<'a>,
        package: &'a BinaryPackage,
    ) -> Result<(), Failure> {
        let source = package.source.as_deref().unwrap_or(&package.name);
        let source_version = package
            .source_version
            .as_deref()
            .unwrap_or(&package.version);
        for sibling in self.by_source.get(source).into_iter().flatten() {
            if sibling.name == package.name || closure.chosen.contains_key(&sibling.name) {
                continue;
            }
            let Some(c) = self.upgrade_of(sibling) else {
                continue;
            };
            let p = &c.package;
            if p.source.as_deref().unwrap_or(&p.name) == source
                && p.source_version.as_deref().unwrap_or(&p.version) == source_version
            {
                self.choose(closure, c, Some(&package.name), None)?;
            }
        }
        // Conflicts between the new package and the base, either way round:
        // apt upgrades the base package when a newer one clears it. mlr
        // never removes a base package.
        for dep in &package.conflicts {
            let k = dep.constraint.as_ref();
            let real = self.installed.get(dep.name.as_str()).into_iter().flatten();
            let real = real.filter(|i| k.is_none_or(|k| k.matches(&i.version)));
            let providers = self.installed_providers.get(dep.name.as_str());
            let providers = providers
                .into_iter()
                .flatten()
                .filter(|i| provides_match(&i.provides, &dep.name, k));
            for i in real.chain(providers) {
                if i.name != package.name && !closure.chosen.contains_key(&i.name) {
                    let relation = format!("{} declares Conflicts/Breaks: {dep}", package.name);
                    self.replace_base(closure, package, i, relation)?;
                }
            }
        }
        let targets =
            std::iter::once(&package.name).chain(package.provides.iter().map(|p| &p.name));
        for target in targets {
            for (i, dep) in self
                .base_conflicts
                .get(target.as_str())
                .into_iter()
                .flatten()
            {
                if i.name != package.name
                    && !closure.chosen.contains_key(&i.name)
                    && hits(dep, package)
                {
                    let relation = format!("{} declares Conflicts/Breaks: {dep}", i.name);
                    self.replace_base(closure, package, i, relation)?;
                }
            }
        }
        let Some(old) = self.base_copy(package) else {
            return Ok(());
        };
        for (dependent, dep) in self
            .reverse
            .get(package.name.as_str())
            .into_iter()
            .flatten()
        {
            if closure.chosen.contains_key(&dependent.name) {
                continue;
            }
            let Some(k) = &dep.constraint else { continue };
            if !k.matches(&old.version) || k.matches(&package.version) {
                continue;
            }
            match self.upgrade_of(dependent) {
                Some(c) => self.choose(closure, c, Some(&package.name), None)?,
                None => {
                    return Err(SolveError::Unsatisfiable {
                        package: dependent.name.clone(),
                        version: dependent.version.clone(),
                        dependency: dep.to_string(),
                        reasons: vec![format!(
                            "{} is in the base image, and the closure upgrades {} to {}; no newer {} is in the indexes",
                            dependent.name, package.name, package.version, dependent.name
                        )],
                        chain: chain(closure, &package.name),
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Upgrades base package `installed`, which conflicts with `package`.
    fn replace_base(
        &self,
        closure: &mut Closure<'a>,
        package: &'a BinaryPackage,
        installed: &Installed,
        relation: String,
    ) -> Result<(), Failure> {
        match self.upgrade_of(installed) {
            Some(c) => self.choose(closure, c, Some(&package.name), None),
            None => Err(SolveError::Incompatible {
                first: format!(
                    "{} {} (in the base image)",
                    installed.name, installed.version
                ),
                second: label(package),
                relation,
                chain: chain(closure, &package.name),
            }
            .into()),
        }
    }

    /// The base's copy of a package of the native architecture (or `all`).
    fn base_copy(&self, p: &BinaryPackage) -> Option<&'a Installed> {
        self.installed.get(p.name.as_str()).and_then(|list| {
            list.iter()
                .copied()
                .find(|i| arch_ok(self.arch, &i.architecture, None, None, &p.architecture))
        })
    }

    /// The version apt would upgrade a base package to, if newer.
    fn upgrade_of(&self, installed: &Installed) -> Option<&'a Candidate> {
        let versions: Vec<&'a Candidate> = self
            .index
            .packages(&installed.name)
            .filter(|c| {
                arch_ok(
                    self.arch,
                    &c.package.architecture,
                    None,
                    None,
                    &installed.architecture,
                ) && self.allowed(c)
            })
            .collect();
        self.best(versions).filter(|c| {
            compare_versions(&c.package.version, &installed.version) == Ordering::Greater
        })
    }

    fn finish(&self, closure: Closure<'a>) -> Vec<Resolved> {
        let mut via: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for (spec, root) in &closure.roots {
            let mut queue = VecDeque::from([root.as_str()]);
            while let Some(name) = queue.pop_front() {
                if via.entry(name).or_default().insert(spec.as_str()) {
                    for next in closure.edges.get(name).into_iter().flatten() {
                        queue.push_back(next);
                    }
                }
            }
        }
        closure
            .chosen
            .iter()
            .map(|(name, choice)| Resolved {
                package: choice.candidate.package.clone(),
                origin: (*choice.candidate.origin).clone(),
                requested: choice.requested.clone(),
                via: via
                    .get(name.as_str())
                    .into_iter()
                    .flatten()
                    .map(|s| s.to_string())
                    .collect(),
            })
            .collect()
    }

    fn choose(
        &self,
        closure: &mut Closure<'a>,
        candidate: &'a Candidate,
        parent: Option<&str>,
        requested: Option<String>,
    ) -> Result<(), Failure> {
        let name = candidate.package.name.clone();
        for dep in &candidate.package.conflicts {
            closure
                .conflict_targets
                .entry(dep.name.clone())
                .or_default()
                .push(name.clone());
        }
        for p in &candidate.package.provides {
            closure
                .provided
                .entry(p.name.clone())
                .or_default()
                .push(name.clone());
        }
        if let Some(parent) = parent {
            closure
                .edges
                .entry(parent.to_string())
                .or_default()
                .push(name.clone());
        }
        closure.pending.push(name.clone());
        let seq = closure.chosen.len();
        closure.chosen.insert(
            name,
            Choice {
                candidate,
                seq,
                parent: parent.map(str::to_string),
                requested,
            },
        );
        self.check_conflicts(closure, &candidate.package)
    }

    /// Fails when `new` and a chosen package cannot be installed together.
    fn check_conflicts(
        &self,
        closure: &Closure<'a>,
        new: &'a BinaryPackage,
    ) -> Result<(), Failure> {
        for dep in &new.conflicts {
            let real = closure.chosen.get(&dep.name).map(|c| &c.candidate.package);
            let providers = closure
                .provided
                .get(&dep.name)
                .into_iter()
                .flatten()
                .map(|n| &closure.chosen[n].candidate.package);
            for other in real.into_iter().chain(providers) {
                if other.name != new.name && hits(dep, other) {
                    return Err(self.clash(closure, new, other, dep));
                }
            }
        }
        let targets = std::iter::once(&new.name).chain(new.provides.iter().map(|p| &p.name));
        for target in targets {
            for declarer in closure.conflict_targets.get(target).into_iter().flatten() {
                let other = &closure.chosen[declarer].candidate.package;
                if other.name == new.name {
                    continue;
                }
                for dep in other.conflicts.iter().filter(|d| &d.name == target) {
                    if hits(dep, new) {
                        return Err(self.clash(closure, other, new, dep));
                    }
                }
            }
        }
        Ok(())
    }

    /// Which of two conflicting packages to leave out: the one chosen
    /// first, then the other; never a direct request.
    fn clash(
        &self,
        closure: &Closure<'a>,
        declarer: &BinaryPackage,
        target: &BinaryPackage,
        dep: &Dep,
    ) -> Failure {
        let relation = format!("{} declares Conflicts/Breaks: {dep}", declarer.name);
        let mut sides = [declarer, target];
        sides.sort_by_key(|p| closure.chosen[&p.name].seq);
        let options: Vec<String> = sides
            .iter()
            .filter(|p| closure.chosen[&p.name].requested.is_none())
            .map(|p| p.name.clone())
            .collect();
        if options.is_empty() {
            return SolveError::Incompatible {
                first: label(sides[0]),
                second: label(sides[1]),
                relation,
                chain: chain(closure, &sides[1].name),
            }
            .into();
        }
        Failure::LeaveOut {
            options,
            reason: format!(
                "left out: {} and {} conflict ({relation})",
                label(sides[0]),
                label(sides[1])
            ),
        }
    }

    /// Whether a candidate meets what was learned about its name, and is
    /// not a downgrade of the base's copy.
    fn allowed(&self, c: &Candidate) -> bool {
        let p = &c.package;
        let learned = self.learned.get(&p.name).into_iter().flatten();
        learned.clone().all(|(dep, _)| {
            dep.constraint
                .as_ref()
                .is_none_or(|k| k.matches(&p.version))
        }) && !self.base_is_newer(p)
            && !self.forbidden.contains_key(&p.name)
    }

    fn base_is_newer(&self, p: &BinaryPackage) -> bool {
        self.base_copy(p)
            .is_some_and(|i| compare_versions(&i.version, &p.version) == Ordering::Greater)
    }

    fn is_preferred(&self, c: &Candidate) -> bool {
        self.preferences.get(c.package.name.as_str()) == Some(&c.package.version.as_str())
    }

    /// Among versions of one package: the locked one, else the highest.
    fn best(&self, candidates: Vec<&'a Candidate>) -> Option<&'a Candidate> {
        candidates
            .iter()
            .copied()
            .find(|c| self.is_preferred(c))
            .or_else(|| highest(candidates))
    }

    fn native_or_all(&self, c: &Candidate) -> bool {
        c.package.architecture == self.arch || c.package.architecture == "all"
    }

    fn request(&self, closure: &mut Closure<'a>, request: &Request) -> Result<(), Failure> {
        let spec = request.to_string();
        let name = request.name.as_str();
        if let Some(existing) = closure.chosen.get_mut(name) {
            let version = &existing.candidate.package.version;
            if request.version.as_ref().is_some_and(|v| v != version) {
                return Err(SolveError::Conflict {
                    request: spec,
                    reason: format!("{name} {version} is already chosen for another request"),
                }
                .into());
            }
            existing.requested.get_or_insert_with(|| spec.clone());
            closure.roots.push((spec, name.to_string()));
            return Ok(());
        }
        let real: Vec<&Candidate> = self
            .index
            .packages(name)
            .filter(|c| self.native_or_all(c))
            .collect();
        if real.is_empty() {
            return self.request_virtual(closure, request, spec);
        }
        let learned_reason = || {
            self.learned
                .get(name)
                .into_iter()
                .flatten()
                .map(|(dep, by)| format!("{by} needs {dep}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let chosen = if let Some(version) = &request.version {
            let Some(c) = real.iter().copied().find(|c| &c.package.version == version) else {
                return Err(SolveError::VersionNotFound {
                    name: name.to_string(),
                    version: version.clone(),
                    available: versions_desc(&real),
                }
                .into());
            };
            let learned = self.learned.get(name).into_iter().flatten();
            if !learned
                .clone()
                .all(|(dep, _)| dep.constraint.as_ref().is_none_or(|k| k.matches(version)))
            {
                return Err(SolveError::Conflict {
                    request: spec,
                    reason: learned_reason(),
                }
                .into());
            }
            c
        } else {
            let allowed: Vec<&Candidate> =
                real.iter().copied().filter(|c| self.allowed(c)).collect();
            let base = self.installed.get(name).into_iter().flatten();
            let base_version = allowed
                .iter()
                .copied()
                .find(|c| base.clone().any(|i| i.version == c.package.version));
            let pick = allowed
                .iter()
                .copied()
                .find(|c| self.is_preferred(c))
                .or(base_version)
                .or_else(|| highest(allowed.iter().copied()));
            match pick {
                Some(c) => c,
                // The base has it, newer than any index offers: nothing to do.
                None if self.installed.contains_key(name) && !self.learned.contains_key(name) => {
                    return Ok(());
                }
                None => {
                    return Err(SolveError::Conflict {
                        request: spec,
                        reason: format!(
                            "no version of {name} ({}) meets {}",
                            versions_desc(&real).join(", "),
                            learned_reason()
                        ),
                    }
                    .into());
                }
            }
        };
        closure.roots.push((spec.clone(), name.to_string()));
        self.choose(closure, chosen, None, Some(spec))?;
        Ok(())
    }

    /// A request naming only a virtual package: fine when one package
    /// provides it, as apt-get allows.
    fn request_virtual(
        &self,
        closure: &mut Closure<'a>,
        request: &Request,
        spec: String,
    ) -> Result<(), Failure> {
        let name = &request.name;
        let mut providers: Vec<&str> = self
            .index
            .providers(name)
            .filter(|(c, _)| self.native_or_all(c))
            .map(|(c, _)| c.package.name.as_str())
            .collect();
        providers.sort_unstable();
        providers.dedup();
        match providers[..] {
            [] => Err(SolveError::NotFound { name: name.clone() }.into()),
            [only] if request.version.is_none() => {
                let dep = Dep {
                    name: name.clone(),
                    arch_qualifier: None,
                    constraint: None,
                };
                if let Some(Satisfier::Chosen(n)) = self.satisfied(closure, &dep, self.arch) {
                    closure.roots.push((spec, n));
                    return Ok(());
                }
                let versions: Vec<&Candidate> = self
                    .index
                    .packages(only)
                    .filter(|c| {
                        self.native_or_all(c)
                            && self.allowed(c)
                            && c.package.provides_matching(name, None)
                    })
                    .collect();
                let Some(c) = self.best(versions) else {
                    return Err(SolveError::Conflict {
                        request: spec,
                        reason: format!("no allowed version of {only}, its only provider"),
                    }
                    .into());
                };
                closure.roots.push((spec.clone(), only.to_string()));
                self.choose(closure, c, None, Some(spec))?;
                Ok(())
            }
            [_] => Err(SolveError::VersionNotFound {
                name: name.clone(),
                version: request.version.clone().unwrap_or_default(),
                available: Vec::new(),
            }
            .into()),
            _ => Err(SolveError::Ambiguous {
                name: name.clone(),
                providers: providers.iter().map(|s| s.to_string()).collect(),
            }
            .into()),
        }
    }

    /// What already satisfies `dep` (from a package of `depender_arch`):
    /// the base image or a package of the closure.
    fn satisfied(
        &self,
        closure: &Closure<'a>,
        dep: &Dep,
        depender_arch: &str,
    ) -> Option<Satisfier> {
        let qualifier = dep.arch_qualifier.as_deref();
        let constraint = dep.constraint.as_ref();
        let fits = |arch: &str, ma: Option<&str>, version: &str| {
            arch_ok(self.arch, arch, ma, qualifier, depender_arch)
                && constraint.is_none_or(|k| k.matches(version))
        };
        if let Some(choice) = closure.chosen.get(&dep.name) {
            let p = &choice.candidate.package;
            if fits(&p.architecture, p.multi_arch.as_deref(), &p.version) {
                return Some(Satisfier::Chosen(p.name.clone()));
            }
        } else if let Some(list) = self.installed.get(dep.name.as_str()) {
            if list
                .iter()
                .any(|i| fits(&i.architecture, i.multi_arch.as_deref(), &i.version))
            {
                return Some(Satisfier::Base);
            }
        }
        for name in closure.provided.get(&dep.name).into_iter().flatten() {
            let p = &closure.chosen[name].candidate.package;
            if arch_ok(
                self.arch,
                &p.architecture,
                p.multi_arch.as_deref(),
                qualifier,
                depender_arch,
            ) && p.provides_matching(&dep.name, constraint)
            {
                return Some(Satisfier::Chosen(name.clone()));
            }
        }
        let base_provides = self.installed_providers.get(dep.name.as_str());
        let by_base = base_provides.into_iter().flatten().any(|i| {
            // A base package the closure upgrades provides what the new one does.
            !closure.chosen.contains_key(&i.name)
                && arch_ok(
                    self.arch,
                    &i.architecture,
                    i.multi_arch.as_deref(),
                    qualifier,
                    depender_arch,
                )
                && provides_match(&i.provides, &dep.name, constraint)
        });
        by_base.then_some(Satisfier::Base)
    }

    /// The package to add for `dep`, if one can be: a version of the real
    /// package, else a provider.
    fn pick(&self, closure: &Closure<'a>, dep: &Dep, depender_arch: &str) -> Option<&'a Candidate> {
        if closure.chosen.contains_key(&dep.name) {
            // Chosen at a version that does not fit: never two versions.
            return None;
        }
        let qualifier = dep.arch_qualifier.as_deref();
        let constraint = dep.constraint.as_ref();
        let arch_fits = |p: &BinaryPackage| {
            arch_ok(
                self.arch,
                &p.architecture,
                p.multi_arch.as_deref(),
                qualifier,
                depender_arch,
            )
        };
        let real: Vec<&Candidate> = self
            .index
            .packages(&dep.name)
            .filter(|c| {
                arch_fits(&c.package)
                    && constraint.is_none_or(|k| k.matches(&c.package.version))
                    && self.allowed(c)
            })
            .collect();
        if !real.is_empty() {
            return self.best(real);
        }
        let mut by_provider: BTreeMap<&str, Vec<&'a Candidate>> = BTreeMap::new();
        for (c, _) in self.index.providers(&dep.name) {
            let p = &c.package;
            if !closure.chosen.contains_key(&p.name)
                && arch_fits(p)
                && p.provides_matching(&dep.name, constraint)
                && self.allowed(c)
            {
                by_provider.entry(p.name.as_str()).or_default().push(c);
            }
        }
        let (_, versions) = by_provider.into_iter().min_by_key(|(name, versions)| {
            let locked = versions.iter().any(|c| self.is_preferred(c));
            let rank = versions
                .iter()
                .map(|c| priority_rank(c.package.priority.as_deref()))
                .min();
            (!locked, rank, *name)
        })?;
        self.best(versions)
    }

    fn satisfy(
        &self,
        closure: &mut Closure<'a>,
        package: &'a BinaryPackage,
        group: &'a [Dep],
    ) -> Result<(), Failure> {
        let arch = package.architecture.as_str();
        for dep in group {
            if let Some(by) = self.satisfied(closure, dep, arch) {
                if let Satisfier::Chosen(name) = by {
                    let edges = closure.edges.entry(package.name.clone()).or_default();
                    if !edges.contains(&name) {
                        edges.push(name);
                    }
                }
                return Ok(());
            }
        }
        let picks: Vec<&Candidate> = group
            .iter()
            .filter_map(|dep| self.pick(closure, dep, arch))
            .collect();
        // A locked pick first (minimal change), then, as apt does, one that
        // upgrades a base package, then the first alternative.
        let pick = picks
            .iter()
            .copied()
            .find(|c| self.is_preferred(c))
            .or_else(|| {
                picks
                    .iter()
                    .copied()
                    .find(|c| self.installed.contains_key(c.package.name.as_str()))
            })
            .or_else(|| picks.first().copied());
        if let Some(c) = pick {
            self.choose(closure, c, Some(&package.name), None)?;
            return Ok(());
        }
        // Nothing fits beside what is chosen. If another version of a chosen
        // package would, learn that constraint and start over.
        for dep in group {
            if !closure.chosen.contains_key(&dep.name) {
                continue;
            }
            let already = self
                .learned
                .get(&dep.name)
                .is_some_and(|l| l.iter().any(|(d, _)| d == dep));
            let fixable = self.index.packages(&dep.name).any(|c| {
                arch_ok(
                    self.arch,
                    &c.package.architecture,
                    c.package.multi_arch.as_deref(),
                    dep.arch_qualifier.as_deref(),
                    arch,
                ) && dep
                    .constraint
                    .as_ref()
                    .is_none_or(|k| k.matches(&c.package.version))
                    && self.allowed(c)
            });
            if fixable && !already {
                return Err(Failure::Learn {
                    name: dep.name.clone(),
                    dep: dep.clone(),
                    by: label(package),
                });
            }
        }
        Err(SolveError::Unsatisfiable {
            package: package.name.clone(),
            version: package.version.clone(),
            dependency: display_group(group),
            reasons: group
                .iter()
                .map(|dep| self.explain(closure, dep, arch))
                .collect(),
            chain: chain(closure, &package.name),
        }
        .into())
    }

    /// Why `dep` has no candidate, for the error message.
    fn explain(&self, closure: &Closure<'a>, dep: &Dep, depender_arch: &str) -> String {
        let name = &dep.name;
        if let Some(choice) = closure.chosen.get(name) {
            return format!(
                "{} is already chosen (for {})",
                label(&choice.candidate.package),
                chain(closure, name).join(" -> ")
            );
        }
        let all: Vec<&Candidate> = self.index.packages(name).collect();
        let providers: Vec<String> = self
            .index
            .providers(name)
            .map(|(c, p)| match &p.version {
                Some(v) => format!("{} (as {name} {v})", label(&c.package)),
                None => label(&c.package),
            })
            .collect();
        let mut reason = if all.is_empty() && providers.is_empty() {
            format!("no package {name}")
        } else if all.is_empty() {
            format!("{name} is virtual, provided by {}", providers.join(", "))
        } else {
            let fits: Vec<&Candidate> = all
                .iter()
                .copied()
                .filter(|c| {
                    arch_ok(
                        self.arch,
                        &c.package.architecture,
                        c.package.multi_arch.as_deref(),
                        dep.arch_qualifier.as_deref(),
                        depender_arch,
                    )
                })
                .collect();
            if fits.is_empty() {
                format!(
                    "{name} exists only for other architectures ({})",
                    all.iter()
                        .map(|c| c.package.architecture.as_str())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!("{name} has {}", versions_desc(&fits).join(", "))
            }
        };
        for i in self.installed.get(name.as_str()).into_iter().flatten() {
            reason.push_str(&format!(", the base has {} (no downgrades)", i.version));
        }
        for (d, by) in self.learned.get(name).into_iter().flatten() {
            reason.push_str(&format!(", {by} needs {d}"));
        }
        if let Some(why) = self.forbidden.get(name) {
            reason.push_str(&format!(", {why}"));
        }
        reason
    }
}

/// Package names from the direct request down to `name`.
fn chain(closure: &Closure<'_>, name: &str) -> Vec<String> {
    let mut out = vec![name.to_string()];
    let mut at = name;
    while let Some(parent) = closure.chosen.get(at).and_then(|c| c.parent.as_deref()) {
        if out.len() > closure.chosen.len() {
            break;
        }
        out.push(parent.to_string());
        at = parent;
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::super::index::parse_packages;
    use super::super::status::parse_status;
    use super::*;

    /// The paragraphs of `packages`, one a line: `name version`, then the
    /// paragraph's other fields, each after a `;`, as in
    /// `app 1; Depends: lib (>= 2); Provides: virt`.
    fn paragraphs(packages: &str, paragraph: fn(&str, &str, &str) -> String) -> String {
        packages
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let mut fields = line.split("; ");
                let head = fields.next().unwrap_or_default();
                let (name, version) = head.split_once(' ').unwrap_or((head, ""));
                let extra: String = fields.map(|f| format!("{f}\n")).collect();
                paragraph(name, version, &extra)
            })
            .collect()
    }

    /// A `Packages` paragraph; `extra` holds further fields, one a line.
    fn pkg(name: &str, version: &str, extra: &str) -> String {
        let arch = if extra.contains("Architecture:") {
            String::new()
        } else {
            "Architecture: amd64\n".to_string()
        };
        format!(
            "Package: {name}\nVersion: {version}\n{arch}{extra}Filename: pool/{name}_{version}.deb\nSize: 100\nSHA256: {}\n\n",
            "ab".repeat(32)
        )
    }

    /// A `status` paragraph of a package installed in the base image.
    fn base(name: &str, version: &str, extra: &str) -> String {
        format!(
            "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n{extra}\n"
        )
    }

    /// An index of `packages` (see [`paragraphs`]), from bookworm's main.
    fn index(packages: &str) -> Index {
        Index::new(
            parse_packages(&paragraphs(packages, pkg)).unwrap(),
            Origin {
                source: "http://deb.example/debian".into(),
                suite: "bookworm".into(),
                component: "main".into(),
            },
        )
    }

    /// The base image's installed `packages` (see [`paragraphs`]).
    fn installed(packages: &str) -> Vec<Installed> {
        parse_status(&paragraphs(packages, base)).unwrap()
    }

    fn requests(specs: &[&str]) -> Vec<Request> {
        specs.iter().map(|s| Request::parse(s)).collect()
    }

    fn solve(index: &Index, base: &[Installed], specs: &[&str]) -> Result<Vec<String>, SolveError> {
        solve_with(index, base, specs, &[])
    }

    fn solve_with(
        index: &Index,
        base: &[Installed],
        specs: &[&str],
        preferences: &[(&str, &str)],
    ) -> Result<Vec<String>, SolveError> {
        let preferences: Vec<(String, String)> = preferences
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let resolved = resolve(index, base, "amd64", &requests(specs), &preferences)?;
        Ok(resolved
            .iter()
            .map(|r| format!("{}={}", r.package.name, r.package.version))
            .collect())
    }

    #[test]
    fn follows_depends_and_pre_depends_not_recommends() {
        let index = index(
            "app 1; Pre-Depends: pre; Depends: lib; Recommends: extra; Suggests: more
             pre 1
             lib 1; Depends: libc
             libc 2
             extra 1
             more 1",
        );
        assert_eq!(
            solve(&index, &[], &["app"]).unwrap(),
            ["app=1", "lib=1", "libc=2", "pre=1"]
        );
    }

    #[test]
    fn alternatives_take_the_first_satisfiable_or_already_present() {
        let index = index(
            "app 1; Depends: missing | a | b
             a 1
             b 1",
        );
        assert_eq!(solve(&index, &[], &["app"]).unwrap(), ["a=1", "app=1"]);
        // b is requested too: it already satisfies the group.
        assert_eq!(solve(&index, &[], &["app", "b"]).unwrap(), ["app=1", "b=1"]);
        // b is in the base image.
        let base = installed("b 1");
        assert_eq!(solve(&index, &base, &["app"]).unwrap(), ["app=1"]);
        // A locked alternative is kept even though an earlier one is available.
        assert_eq!(
            solve_with(&index, &[], &["app"], &[("b", "1")]).unwrap(),
            ["app=1", "b=1"]
        );
    }

    #[test]
    fn virtual_packages_through_provides() {
        let index = index(
            "mailer 1; Depends: default-mta | mail-transport-agent
             postfix 3.7; Provides: mail-transport-agent; Priority: optional
             exim4-daemon-light 4.96; Provides: mail-transport-agent; Priority: standard",
        );
        // No default-mta: the provider with the highest priority.
        assert_eq!(
            solve(&index, &[], &["mailer"]).unwrap(),
            ["exim4-daemon-light=4.96", "mailer=1"]
        );
        // A locked provider stays.
        assert_eq!(
            solve_with(&index, &[], &["mailer"], &[("postfix", "3.7")]).unwrap(),
            ["mailer=1", "postfix=3.7"]
        );
        // The base provides it already.
        let base = installed("sendmail-bin 8; Provides: mail-transport-agent");
        assert_eq!(solve(&index, &base, &["mailer"]).unwrap(), ["mailer=1"]);
        // Requesting a virtual package with several providers is ambiguous.
        let err = solve(&index, &[], &["mail-transport-agent"]).unwrap_err();
        assert!(matches!(err, SolveError::Ambiguous { ref providers, .. } if providers.len() == 2));
        assert!(
            err.to_string().contains("exim4-daemon-light, postfix"),
            "{err}"
        );
    }

    #[test]
    fn a_virtual_request_with_one_provider_installs_it() {
        let index = index("mawk 1.3; Provides: awk");
        let resolved = resolve(&index, &[], "amd64", &requests(&["awk"]), &[]).unwrap();
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].package.name, "mawk");
        assert_eq!(resolved[0].requested.as_deref(), Some("awk"));
        assert_eq!(resolved[0].via, ["awk"]);
    }

    #[test]
    fn versioned_dependencies_pick_the_highest_fitting_version() {
        let index = index(
            "app 1; Depends: lib (>= 2.0), lib (<< 3)
             lib 1.0
             lib 2.0
             lib 2.5~rc1
             lib 3.0
             tool 1; Depends: lib (>= 2.0)",
        );
        assert_eq!(
            solve(&index, &[], &["app"]).unwrap(),
            ["app=1", "lib=2.5~rc1"]
        );
        assert_eq!(
            solve(&index, &[], &["tool"]).unwrap(),
            ["lib=3.0", "tool=1"]
        );
    }

    #[test]
    fn versioned_dependencies_need_versioned_provides() {
        let index = index(
            "app 1; Depends: virt (>= 2)
             plain 1; Provides: virt
             old 1; Provides: virt (= 1.5)
             new 1; Provides: virt (= 2.1)",
        );
        assert_eq!(solve(&index, &[], &["app"]).unwrap(), ["app=1", "new=1"]);
    }

    #[test]
    fn a_later_constraint_on_a_chosen_package_is_learned() {
        // app takes lib 3 first; tool then needs lib << 3: one lib, version 2.
        let index = index(
            "app 1; Depends: lib, tool
             tool 1; Depends: lib (<< 3)
             lib 2; Depends: lib2-only
             lib 3; Depends: lib3-only
             lib2-only 1
             lib3-only 1",
        );
        assert_eq!(
            solve(&index, &[], &["app"]).unwrap(),
            ["app=1", "lib=2", "lib2-only=1", "tool=1"]
        );
    }

    #[test]
    fn base_packages_are_excluded_or_upgraded_never_downgraded() {
        let index = index(
            "app 1; Depends: libc6 (>= 2.30)
             new-app 1; Depends: libc6 (>= 2.37)
             old-app 1; Depends: libc6 (<< 2.30)
             libc6 2.29
             libc6 2.38; Depends: libgcc-s1
             libgcc-s1 12",
        );
        let base = installed("libc6 2.36\nlibgcc-s1 12");
        assert_eq!(solve(&index, &base, &["app"]).unwrap(), ["app=1"]);
        assert_eq!(
            solve(&index, &base, &["new-app"]).unwrap(),
            ["libc6=2.38", "new-app=1"]
        );
        let err = solve(&index, &base, &["old-app"]).unwrap_err().to_string();
        assert!(err.contains("the base has 2.36 (no downgrades)"), "{err}");
    }

    #[test]
    fn a_direct_request_in_the_base_keeps_the_base_version_when_served() {
        let index = index("git 1:2.39.2-1\ngit 1:2.39.5-0");
        let base = installed("git 1:2.39.2-1");
        assert_eq!(solve(&index, &base, &["git"]).unwrap(), ["git=1:2.39.2-1"]);
        assert_eq!(solve(&index, &[], &["git"]).unwrap(), ["git=1:2.39.5-0"]);
    }

    #[test]
    fn multi_arch_foreign_all_and_any() {
        let mut idx = index(
            "app 1; Depends: helper, data, py:any
             data 1; Architecture: all; Depends: libfoo
             libfoo 1
             py 3; Multi-Arch: allowed
             strict 1; Depends: nope:any
             nope 1
             uses-i386 1; Depends: lib32",
        );
        idx.merge(index(
            "helper 1; Architecture: i386; Multi-Arch: foreign
             lib32 1; Architecture: i386",
        ));
        assert_eq!(
            solve(&idx, &[], &["app"]).unwrap(),
            ["app=1", "data=1", "helper=1", "libfoo=1", "py=3"]
        );
        let err = solve(&idx, &[], &["strict"]).unwrap_err();
        assert!(matches!(err, SolveError::Unsatisfiable { .. }), "{err}");
        let err = solve(&idx, &[], &["uses-i386"]).unwrap_err().to_string();
        assert!(err.contains("only for other architectures (i386)"), "{err}");
        // A direct request never takes a foreign architecture.
        assert!(matches!(
            solve(&idx, &[], &["lib32"]).unwrap_err(),
            SolveError::NotFound { .. }
        ));
    }

    #[test]
    fn name_equals_version_pins_exactly() {
        let index = index("git 1:2.39.2-1\ngit 1:2.39.5-0");
        assert_eq!(
            solve(&index, &[], &["git=1:2.39.2-1"]).unwrap(),
            ["git=1:2.39.2-1"]
        );
        // A pin beats a lock preference.
        assert_eq!(
            solve_with(&index, &[], &["git=1:2.39.2-1"], &[("git", "1:2.39.5-0")]).unwrap(),
            ["git=1:2.39.2-1"]
        );
        let err = solve(&index, &[], &["git=2.0"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "apt package `git` has no version 2.0 in the indexes (available: 1:2.39.5-0, 1:2.39.2-1)"
        );
    }

    #[test]
    fn preferences_kept_while_they_satisfy() {
        let mut old = index(
            "app 1; Depends: lib (>= 1)
             lib 1.0
             lib 1.5",
        );
        assert_eq!(
            solve_with(&old, &[], &["app"], &[("lib", "1.0")]).unwrap(),
            ["app=1", "lib=1.0"]
        );
        // app 2 needs a newer lib: the locked one is dropped.
        old.merge(index("app 2; Depends: lib (>= 1.5)"));
        assert_eq!(
            solve_with(&old, &[], &["app"], &[("lib", "1.0")]).unwrap(),
            ["app=2", "lib=1.5"]
        );
        // And the locked app stays at 1, keeping lib 1.0.
        assert_eq!(
            solve_with(&old, &[], &["app"], &[("lib", "1.0"), ("app", "1")]).unwrap(),
            ["app=1", "lib=1.0"]
        );
        // A preference for a version the index no longer has is ignored.
        assert_eq!(
            solve_with(&old, &[], &["app"], &[("lib", "0.9")]).unwrap(),
            ["app=2", "lib=1.5"]
        );
    }

    #[test]
    fn unsatisfiable_names_package_dependency_and_chain() {
        let index = index(
            "git 1; Depends: libcurl
             libcurl 7; Depends: libssl (>= 3) | libgnutls
             libssl 1.1",
        );
        let err = solve(&index, &[], &["git"]).unwrap_err();
        let SolveError::Unsatisfiable {
            package,
            dependency,
            chain,
            reasons,
            ..
        } = &err
        else {
            panic!("{err}");
        };
        assert_eq!(package, "libcurl");
        assert_eq!(dependency, "libssl (>= 3) | libgnutls");
        assert_eq!(chain, &["git", "libcurl"]);
        assert_eq!(reasons, &["libssl has 1.1", "no package libgnutls"]);
        assert_eq!(
            err.to_string(),
            "cannot satisfy `libssl (>= 3) | libgnutls`, a dependency of libcurl 7 (pulled in by git -> libcurl): libssl has 1.1; no package libgnutls"
        );
        assert!(matches!(
            solve(&index, &[], &["nonexistent"]).unwrap_err(),
            SolveError::NotFound { .. }
        ));
    }

    #[test]
    fn conflicting_requests_are_errors() {
        let index = index(
            "app 1; Depends: lib (>= 2)
             lib 1
             lib 2",
        );
        // Request order does not matter: the pin and app's need collide.
        for specs in [["lib=1", "app"], ["app", "lib=1"]] {
            let err = solve(&index, &[], &specs).unwrap_err();
            assert_eq!(
                err.to_string(),
                "apt request `lib=1` cannot be met: app 1 needs lib (>= 2)"
            );
        }
        let err = solve(&index, &[], &["lib=1", "lib=2"]).unwrap_err();
        assert!(err.to_string().contains("lib 1 is already chosen"), "{err}");
        assert_eq!(solve(&index, &[], &["lib", "lib"]).unwrap(), ["lib=2"]);
    }

    #[test]
    fn via_lists_the_requests_that_pull_a_package_in() {
        let index = index(
            "git 1; Depends: libcurl, perl
             libgl1 1; Depends: libgl1-mesa-dri
             libgl1-mesa-dri 1; Depends: libc
             libcurl 1; Depends: libc
             perl 1
             libc 1",
        );
        let resolved = resolve(&index, &[], "amd64", &requests(&["libgl1", "git"]), &[]).unwrap();
        let view: Vec<(String, Option<String>, Vec<String>)> = resolved
            .iter()
            .map(|r| (r.package.name.clone(), r.requested.clone(), r.via.clone()))
            .collect();
        let s = |v: &str| v.to_string();
        assert_eq!(
            view,
            [
                (s("git"), Some(s("git")), vec![s("git")]),
                (s("libc"), None, vec![s("git"), s("libgl1")]),
                (s("libcurl"), None, vec![s("git")]),
                (s("libgl1"), Some(s("libgl1")), vec![s("libgl1")]),
                (s("libgl1-mesa-dri"), None, vec![s("libgl1")]),
                (s("perl"), None, vec![s("git")]),
            ]
        );
        assert_eq!(resolved[0].origin.suite, "bookworm");
    }

    #[test]
    fn output_is_deterministic() {
        let packages = "app 1; Depends: a | b, virt, c (>= 1)
                        a 1; Depends: c
                        b 1
                        c 1
                        c 2
                        p1 1; Provides: virt
                        p2 1; Provides: virt
                        other 1; Depends: b";
        let index1 = index(packages);
        let reversed: Vec<&str> = packages.lines().rev().collect();
        let index2 = index(&reversed.join("\n"));
        let first = resolve(&index1, &[], "amd64", &requests(&["app", "other"]), &[]).unwrap();
        for _ in 0..3 {
            assert_eq!(
                resolve(&index1, &[], "amd64", &requests(&["app", "other"]), &[]).unwrap(),
                first
            );
        }
        let names = |r: &[Resolved]| -> Vec<String> {
            r.iter()
                .map(|r| format!("{}={}", r.package.name, r.package.version))
                .collect()
        };
        assert_eq!(
            names(&first),
            ["a=1", "app=1", "b=1", "c=2", "other=1", "p1=1"]
        );
        let again = resolve(&index2, &[], "amd64", &requests(&["app", "other"]), &[]).unwrap();
        assert_eq!(names(&again), names(&first));
    }

    #[test]
    fn base_binaries_of_the_same_source_are_upgraded_in_step() {
        // As apt does: installing xz-utils from source version u2 upgrades
        // the base's liblzma5 (same source) to u2, though xz-utils only
        // needs liblzma5 >= 5.4.
        let index = index(
            "xz-utils 5.4.1-1+u2; Depends: liblzma5 (>= 5.4)
             liblzma5 5.4.1-1+u1; Source: xz-utils
             liblzma5 5.4.1-1+u2; Source: xz-utils
             other 1; Source: unrelated
             other 2; Source: unrelated",
        );
        let base = installed(
            "liblzma5 5.4.1-1+u1; Source: xz-utils
             other 1; Source: unrelated",
        );
        assert_eq!(
            solve(&index, &base, &["xz-utils"]).unwrap(),
            ["liblzma5=5.4.1-1+u2", "xz-utils=5.4.1-1+u2"]
        );
    }

    #[test]
    fn base_packages_broken_by_an_upgrade_are_upgraded_too() {
        let index = index(
            "app 1; Depends: libc6 (>= 2.38)
             libc6 2.38
             libc6-dev 2.36; Depends: libc6 (= 2.36)
             libc6-dev 2.38; Depends: libc6 (= 2.38)",
        );
        let base = installed("libc6 2.36\nlibc6-dev 2.36; Depends: libc6 (= 2.36)");
        assert_eq!(
            solve(&index, &base, &["app"]).unwrap(),
            ["app=1", "libc6=2.38", "libc6-dev=2.38"]
        );
        // No newer libc6-dev: the upgrade would break the base.
        let stuck = self::index("app 1; Depends: libc6 (>= 2.38)\nlibc6 2.38");
        let err = solve(&stuck, &base, &["app"]).unwrap_err().to_string();
        assert!(err.contains("libc6-dev is in the base image"), "{err}");
    }

    #[test]
    fn conflicting_alternatives_give_way_as_in_apt() {
        // lib-base takes `core-nogui | core` first; office then needs core,
        // which conflicts with core-nogui: core-nogui is left out.
        let index = index(
            "office 1; Depends: lib-base, gtk
             lib-base 1; Depends: core-nogui | core
             gtk 1; Depends: core
             core 1; Conflicts: core-nogui
             core-nogui 1; Conflicts: core",
        );
        assert_eq!(
            solve(&index, &[], &["office"]).unwrap(),
            ["core=1", "gtk=1", "lib-base=1", "office=1"]
        );
        // Both requested: an error naming both.
        let err = solve(&index, &[], &["core", "core-nogui"]).unwrap_err();
        assert!(matches!(err, SolveError::Incompatible { .. }), "{err}");
        assert!(err.to_string().contains("core 1 and core-nogui 1"), "{err}");
    }

    #[test]
    fn breaks_and_virtual_conflicts_count() {
        let index = index(
            "mta-user 1; Depends: postfix, tool
             postfix 3; Provides: mail-transport-agent; Conflicts: mail-transport-agent
             tool 1; Depends: exim4 | other-tool
             exim4 4; Provides: mail-transport-agent; Conflicts: mail-transport-agent
             other-tool 1; Breaks: postfix (<< 2)",
        );
        // postfix does not conflict with itself, but with exim4: exim4 gives way.
        assert_eq!(
            solve(&index, &[], &["mta-user"]).unwrap(),
            ["mta-user=1", "other-tool=1", "postfix=3", "tool=1"]
        );
    }

    #[test]
    fn conflicts_with_the_base_upgrade_it_or_fail() {
        let index = index(
            "new 1; Breaks: old (<< 2)
             old 2
             mta 1; Provides: mail-transport-agent; Conflicts: mail-transport-agent",
        );
        let base = installed("old 1\nexim4 4; Provides: mail-transport-agent");
        assert_eq!(solve(&index, &base, &["new"]).unwrap(), ["new=1", "old=2"]);
        let err = solve(&index, &base, &["mta"]).unwrap_err().to_string();
        assert!(
            err.contains("exim4 4 (in the base image) and mta 1 cannot be installed together"),
            "{err}"
        );
    }

    #[test]
    fn dependencies_are_settled_depth_first_like_apt() {
        // a's dependency d is expanded (pulling in y) before a's next group
        // `x | y`, which y then already satisfies.
        let index = index(
            "a 1; Depends: d, x | y
             d 1; Depends: y
             x 1
             y 1",
        );
        assert_eq!(solve(&index, &[], &["a"]).unwrap(), ["a=1", "d=1", "y=1"]);
    }

    #[test]
    fn request_parse_and_display() {
        let r = Request::parse("git=1:2.39.2-1");
        assert_eq!(r.name, "git");
        assert_eq!(r.version.as_deref(), Some("1:2.39.2-1"));
        assert_eq!(r.to_string(), "git=1:2.39.2-1");
        assert_eq!(Request::parse("vim").to_string(), "vim");
    }
}
