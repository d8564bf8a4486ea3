//! Debian `Packages` indexes: the deb822 paragraphs of an archive's binary
//! index, parsed into [`BinaryPackage`]s and gathered into an [`Index`] that
//! answers "which packages can satisfy this name" (real or through
//! `Provides`). Also the Debian version ordering the solver needs, exactly as
//! dpkg defines it.
//!
//! The paragraph reader is our own rather than a deb822 crate: it borrows the
//! input, looks at the dozen fields mlr needs and skips the rest without
//! allocating, which keeps a whole distribution's index well under a second
//! (see the benchmarks chapter of the book).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::Arc;

/// One binary package as an archive's `Packages` index describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryPackage {
    pub name: String,
    /// Debian version string, `[epoch:]upstream[-revision]`.
    pub version: String,
    /// `amd64`, `arm64`, ... or `all`.
    pub architecture: String,
    /// `same`, `foreign`, `allowed` or `no`; absent means `no`.
    pub multi_arch: Option<String>,
    /// `Depends`: an AND of OR-groups.
    pub depends: Vec<Vec<Dep>>,
    /// `Pre-Depends`, kept apart from `depends`; both are installed.
    pub pre_depends: Vec<Vec<Dep>>,
    pub provides: Vec<Provided>,
    /// `Conflicts` and `Breaks` together: either keeps two packages from
    /// being installed side by side at the end of an `apt-get install`.
    pub conflicts: Vec<Dep>,
    /// Path of the `.deb` below the archive root (`pool/main/g/git/...`).
    pub filename: String,
    /// Lower-case hex SHA-256 of the `.deb`.
    pub sha256: String,
    pub size: u64,
    pub essential: bool,
    pub priority: Option<String>,
    /// Source package name, when it differs from `name`.
    pub source: Option<String>,
    /// Source version, when it differs from `version` (binNMUs).
    pub source_version: Option<String>,
}

impl BinaryPackage {
    /// Pre-Depends then Depends, each group flagged with its kind.
    pub fn relations(&self) -> impl Iterator<Item = (DepKind, &[Dep])> {
        let pre = self
            .pre_depends
            .iter()
            .map(|g| (DepKind::PreDepends, &g[..]));
        let dep = self.depends.iter().map(|g| (DepKind::Depends, &g[..]));
        pre.chain(dep)
    }

    /// Whether this package provides `name` at a version that meets `constraint`.
    /// An unversioned provide only satisfies an unversioned dependency.
    pub fn provides_matching(&self, name: &str, constraint: Option<&Constraint>) -> bool {
        provides_match(&self.provides, name, constraint)
    }
}

pub(crate) fn provides_match(
    provides: &[Provided],
    name: &str,
    constraint: Option<&Constraint>,
) -> bool {
    provides.iter().any(|p| {
        p.name == name
            && match (constraint, &p.version) {
                (None, _) => true,
                (Some(c), Some(v)) => c.matches(v),
                (Some(_), None) => false,
            }
    })
}

/// Which field a dependency group came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DepKind {
    PreDepends,
    Depends,
}

/// One alternative of a dependency: `name[:arch] [(op version)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub name: String,
    /// `any`, `native` or an architecture, from `name:any`.
    pub arch_qualifier: Option<String>,
    pub constraint: Option<Constraint>,
}

/// A version constraint `(op version)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub relation: Relation,
    pub version: String,
}

impl Constraint {
    /// Whether `version` meets this constraint (dpkg ordering).
    pub fn matches(&self, version: &str) -> bool {
        self.relation
            .holds(compare_versions(version, &self.version))
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.relation, self.version)
    }
}

impl fmt::Display for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(q) = &self.arch_qualifier {
            write!(f, ":{q}")?;
        }
        if let Some(c) = &self.constraint {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

/// Renders an OR-group as Debian writes it: `a (>= 1) | b`.
pub fn display_group(group: &[Dep]) -> String {
    group
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A version relation. The obsolete `<` and `>` mean `<=` and `>=`, as in dpkg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// `<<`
    Lt,
    /// `<=`
    Le,
    /// `=`
    Eq,
    /// `>=`
    Ge,
    /// `>>`
    Gt,
}

impl Relation {
    fn parse(op: &str) -> Option<Relation> {
        Some(match op {
            "<<" => Relation::Lt,
            "<=" | "<" => Relation::Le,
            "=" => Relation::Eq,
            ">=" | ">" => Relation::Ge,
            ">>" => Relation::Gt,
            _ => return None,
        })
    }

    /// Whether `candidate.cmp(bound)` being `ordering` satisfies the relation.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Lt => ordering == Ordering::Less,
            Relation::Le => ordering != Ordering::Greater,
            Relation::Eq => ordering == Ordering::Equal,
            Relation::Ge => ordering != Ordering::Less,
            Relation::Gt => ordering == Ordering::Greater,
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Relation::Lt => "<<",
            Relation::Le => "<=",
            Relation::Eq => "=",
            Relation::Ge => ">=",
            Relation::Gt => ">>",
        })
    }
}

/// A name in `Provides`, optionally versioned (`Provides: foo (= 1.2)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provided {
    pub name: String,
    pub version: Option<String>,
}

/// A malformed index or status file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IndexError {
    pub line: usize,
    pub message: String,
}

/// Where a package was listed, so the lock can record it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// Archive root URL (mirror or snapshot), as the lock records it.
    pub source: String,
    pub suite: String,
    pub component: String,
}

/// A package offered by an index, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub package: BinaryPackage,
    pub origin: Arc<Origin>,
}

/// All packages of one or more `Packages` files, by name and by what they
/// provide. A name, version and architecture seen twice keeps the first
/// listing, so the order of [`Index::merge`] calls decides ties.
#[derive(Debug, Clone, Default)]
pub struct Index {
    packages: Vec<Candidate>,
    by_name: HashMap<String, Vec<usize>>,
    /// Virtual name -> (package, position in its `provides`).
    providers: HashMap<String, Vec<(usize, usize)>>,
}

impl Index {
    pub fn new(packages: Vec<BinaryPackage>, origin: Origin) -> Index {
        let mut index = Index::default();
        let origin = Arc::new(origin);
        index.packages.reserve(packages.len());
        for package in packages {
            index.push(Candidate {
                package,
                origin: Arc::clone(&origin),
            });
        }
        index
    }

    /// Adds another index's packages after this one's.
    pub fn merge(&mut self, other: Index) {
        if self.packages.is_empty() {
            *self = other;
            return;
        }
        self.packages.reserve(other.packages.len());
        for candidate in other.packages {
            self.push(candidate);
        }
    }

    fn push(&mut self, candidate: Candidate) {
        let id = self.packages.len();
        let p = &candidate.package;
        if let Some(ids) = self.by_name.get_mut(&p.name) {
            let packages = &self.packages;
            let duplicate = ids.iter().any(|&i| {
                let q = &packages[i].package;
                q.version == p.version && q.architecture == p.architecture
            });
            if duplicate {
                return;
            }
            ids.push(id);
        } else {
            self.by_name.insert(p.name.clone(), vec![id]);
        }
        for (k, provided) in p.provides.iter().enumerate() {
            self.providers
                .entry(provided.name.clone())
                .or_default()
                .push((id, k));
        }
        self.packages.push(candidate);
    }

    /// Every package named `name`, in index order.
    pub fn packages(&self, name: &str) -> impl Iterator<Item = &Candidate> {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.packages[i])
    }

    /// Every package that provides `name`, with the matching `Provides` entry.
    pub fn providers(&self, name: &str) -> impl Iterator<Item = (&Candidate, &Provided)> {
        self.providers
            .get(name)
            .into_iter()
            .flatten()
            .map(|&(i, k)| {
                let c = &self.packages[i];
                (c, &c.package.provides[k])
            })
    }

    /// Real packages named `name`, then the packages providing it.
    pub fn candidates(&self, name: &str) -> Vec<&Candidate> {
        let mut out: Vec<&Candidate> = self.packages(name).collect();
        for (c, _) in self.providers(name) {
            if !out.iter().any(|o| std::ptr::eq(*o, c)) {
                out.push(c);
            }
        }
        out
    }

    /// Whether any package is named `name` (not counting providers).
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Candidate> {
        self.packages.iter()
    }
}

/// Decompresses a `Packages.gz` (any number of gzip members). Invalid UTF-8,
/// which some third-party archives have in free-text fields, is replaced
/// rather than refused: the fields mlr reads are ASCII.
pub fn gunzip(bytes: &[u8]) -> std::io::Result<String> {
    // The gzip trailer holds the uncompressed size mod 2^32: a good guess.
    let hint = bytes
        .len()
        .checked_sub(4)
        .map(|at| u32::from_le_bytes(bytes[at..].try_into().unwrap_or([0; 4])) as usize)
        .unwrap_or(0);
    let mut out = Vec::with_capacity(hint.clamp(bytes.len(), 1 << 30));
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Parses a `Packages` file: one paragraph per package.
pub fn parse_packages(text: &str) -> Result<Vec<BinaryPackage>, IndexError> {
    let mut out = Vec::new();
    for_each_paragraph(text, |line, fields| {
        out.push(package_from(line, fields)?);
        Ok(())
    })?;
    Ok(out)
}

pub(crate) const PACKAGE: usize = 0;
pub(crate) const VERSION: usize = 1;
pub(crate) const ARCHITECTURE: usize = 2;
pub(crate) const MULTI_ARCH: usize = 3;
pub(crate) const DEPENDS: usize = 4;
pub(crate) const PRE_DEPENDS: usize = 5;
pub(crate) const PROVIDES: usize = 6;
pub(crate) const FILENAME: usize = 7;
pub(crate) const SHA256: usize = 8;
pub(crate) const SIZE: usize = 9;
pub(crate) const ESSENTIAL: usize = 10;
pub(crate) const PRIORITY: usize = 11;
pub(crate) const SOURCE: usize = 12;
pub(crate) const STATUS: usize = 13;
pub(crate) const CONFLICTS: usize = 14;
pub(crate) const BREAKS: usize = 15;
const FIELDS: [&str; 16] = [
    "Package",
    "Version",
    "Architecture",
    "Multi-Arch",
    "Depends",
    "Pre-Depends",
    "Provides",
    "Filename",
    "SHA256",
    "Size",
    "Essential",
    "Priority",
    "Source",
    "Status",
    "Conflicts",
    "Breaks",
];

/// The fields of one paragraph that mlr reads, by the indexes above; each
/// with the line it starts on.
pub(crate) type Fields<'a> = [Option<(usize, &'a str)>; FIELDS.len()];

pub(crate) fn field<'a>(fields: &Fields<'a>, id: usize) -> Option<&'a str> {
    fields[id].map(|(_, v)| v)
}

fn field_id(name: &str) -> Option<usize> {
    // Exact spelling first (the common case), then deb822's case-insensitivity.
    FIELDS.iter().position(|f| *f == name).or_else(|| {
        FIELDS
            .iter()
            .position(|f| f.len() == name.len() && f.eq_ignore_ascii_case(name))
    })
}

/// Calls `each(first_line, fields)` for every paragraph of a deb822 text.
/// Values are trimmed; continuation lines stay in the value with their
/// newlines (relation fields treat them as white space).
pub(crate) fn for_each_paragraph<'a>(
    text: &'a str,
    mut each: impl FnMut(usize, &Fields<'a>) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let mut fields: Fields<'a> = [None; FIELDS.len()];
    let mut start_line = 0;
    // The field being read: its id (None when mlr ignores it), value start.
    let mut current: Option<(Option<usize>, usize)> = None;
    let mut offset = 0;
    let mut finish = |fields: &mut Fields<'a>, start_line: usize| -> Result<(), IndexError> {
        if start_line > 0 {
            each(start_line, fields)?;
            *fields = [None; FIELDS.len()];
        }
        Ok(())
    };
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = n + 1;
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let first = line.as_bytes().first().copied();
        if line.trim_start().is_empty() {
            finish(&mut fields, start_line)?;
            start_line = 0;
            current = None;
            continue;
        }
        if matches!(first, Some(b' ' | b'\t')) {
            let Some((id, value_start)) = current else {
                return Err(IndexError {
                    line: line_no,
                    message: "continuation line outside a field".to_string(),
                });
            };
            if let Some(id) = id {
                if let Some((field_line, _)) = fields[id] {
                    let value = text[value_start..line_start + line.len()].trim();
                    fields[id] = Some((field_line, value));
                }
            }
            continue;
        }
        if first == Some(b'#') {
            continue;
        }
        let Some(colon) = line.find(':') else {
            return Err(IndexError {
                line: line_no,
                message: format!("expected `Field: value`, found `{}`", truncate(line)),
            });
        };
        if start_line == 0 {
            start_line = line_no;
        }
        let id = field_id(&line[..colon]);
        let value_start = line_start + colon + 1;
        if let Some(id) = id {
            if fields[id].is_some() {
                return Err(IndexError {
                    line: line_no,
                    message: format!("duplicate field `{}`", FIELDS[id]),
                });
            }
            fields[id] = Some((line_no, line[colon + 1..].trim()));
        }
        current = Some((id, value_start));
    }
    finish(&mut fields, start_line)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

pub(crate) fn required<'a>(
    fields: &Fields<'a>,
    id: usize,
    paragraph_line: usize,
    what: &str,
) -> Result<&'a str, IndexError> {
    match field(fields, id) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(IndexError {
            line: paragraph_line,
            message: format!("{what} has no `{}` field", FIELDS[id]),
        }),
    }
}

fn package_from(line: usize, fields: &Fields<'_>) -> Result<BinaryPackage, IndexError> {
    let name = required(fields, PACKAGE, line, "package")?;
    let what = format!("package `{name}`");
    let at = |id: usize| fields[id].map_or(line, |(l, _)| l);
    let bad = |id: usize, message: String| IndexError {
        line: at(id),
        message: format!("{what}: {message}"),
    };
    let version = required(fields, VERSION, line, &what)?;
    check_version(version).map_err(|m| bad(VERSION, m))?;
    let architecture = required(fields, ARCHITECTURE, line, &what)?;
    let filename = required(fields, FILENAME, line, &what)?;
    let sha256 = required(fields, SHA256, line, &what)?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(SHA256, format!("`{sha256}` is not a SHA-256")));
    }
    let size = required(fields, SIZE, line, &what)?;
    let size = size
        .parse::<u64>()
        .map_err(|_| bad(SIZE, format!("`{size}` is not a size")))?;
    let relations = |id: usize| match field(fields, id) {
        Some(v) => parse_relations(v).map_err(|m| bad(id, format!("{}: {m}", FIELDS[id]))),
        None => Ok(Vec::new()),
    };
    let (source, source_version) = match field(fields, SOURCE) {
        Some(s) => {
            let (source, v) = parse_source(s).map_err(|m| bad(SOURCE, m))?;
            (
                (source != name).then(|| source.to_string()),
                v.filter(|v| *v != version).map(str::to_string),
            )
        }
        None => (None, None),
    };
    Ok(BinaryPackage {
        name: name.to_string(),
        version: version.to_string(),
        architecture: architecture.to_string(),
        multi_arch: field(fields, MULTI_ARCH).map(str::to_ascii_lowercase),
        depends: relations(DEPENDS)?,
        pre_depends: relations(PRE_DEPENDS)?,
        provides: match field(fields, PROVIDES) {
            Some(v) => parse_provides(v).map_err(|m| bad(PROVIDES, format!("Provides: {m}")))?,
            None => Vec::new(),
        },
        conflicts: parse_conflicts(fields).map_err(|(id, m)| bad(id, m))?,
        filename: filename.to_string(),
        sha256: sha256.to_ascii_lowercase(),
        size,
        essential: field(fields, ESSENTIAL).is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        priority: field(fields, PRIORITY).map(str::to_string),
        source,
        source_version,
    })
}

/// `Conflicts` and `Breaks` of a paragraph, as one list.
pub(crate) fn parse_conflicts(fields: &Fields<'_>) -> Result<Vec<Dep>, (usize, String)> {
    let mut out = Vec::new();
    for id in [CONFLICTS, BREAKS] {
        if let Some(v) = field(fields, id) {
            let groups = parse_relations(v).map_err(|m| (id, format!("{}: {m}", FIELDS[id])))?;
            out.extend(groups.into_iter().flatten());
        }
    }
    Ok(out)
}

/// `Source: name` or `Source: name (version)`.
fn parse_source(value: &str) -> Result<(&str, Option<&str>), String> {
    match value.split_once('(') {
        None => Ok((value, None)),
        Some((name, rest)) => {
            let version = rest
                .strip_suffix(')')
                .ok_or_else(|| format!("Source: `{value}` lacks a closing `)`"))?
                .trim();
            Ok((name.trim(), Some(version)))
        }
    }
}

pub(crate) fn check_version(version: &str) -> Result<(), String> {
    if version.is_empty() || version.contains(char::is_whitespace) {
        return Err(format!("`{version}` is not a Debian version"));
    }
    Ok(())
}

/// Parses a relation field (`Depends`, `Pre-Depends`): comma-separated
/// groups of `|`-separated alternatives.
pub fn parse_relations(value: &str) -> Result<Vec<Vec<Dep>>, String> {
    let mut groups = Vec::new();
    for group in value.split(',') {
        if group.trim().is_empty() {
            // dpkg tolerates a trailing comma; so do we.
            continue;
        }
        let alternatives = group
            .split('|')
            .map(parse_dep)
            .collect::<Result<Vec<_>, _>>()?;
        groups.push(alternatives);
    }
    Ok(groups)
}

fn parse_dep(text: &str) -> Result<Dep, String> {
    let s = text.trim();
    let name_end = s
        .find(|c: char| c.is_whitespace() || matches!(c, '(' | ':' | '[' | '<'))
        .unwrap_or(s.len());
    let name = &s[..name_end];
    if name.is_empty() {
        return Err(format!("missing package name in `{}`", s));
    }
    let mut rest = &s[name_end..];
    let mut arch_qualifier = None;
    if let Some(q) = rest.strip_prefix(':') {
        let end = q
            .find(|c: char| c.is_whitespace() || c == '(')
            .unwrap_or(q.len());
        if end == 0 {
            return Err(format!("empty architecture qualifier in `{s}`"));
        }
        arch_qualifier = Some(q[..end].to_string());
        rest = &q[end..];
    }
    rest = rest.trim_start();
    let mut constraint = None;
    if let Some(inner) = rest.strip_prefix('(') {
        let close = inner
            .find(')')
            .ok_or_else(|| format!("unclosed `(` in `{s}`"))?;
        let inside = inner[..close].trim();
        let op_end = inside
            .find(|c: char| !matches!(c, '<' | '>' | '='))
            .unwrap_or(inside.len());
        let relation = Relation::parse(&inside[..op_end])
            .ok_or_else(|| format!("bad relation `{}` in `{s}`", &inside[..op_end]))?;
        let version = inside[op_end..].trim();
        check_version(version).map_err(|m| format!("{m} in `{s}`"))?;
        constraint = Some(Constraint {
            relation,
            version: version.to_string(),
        });
        rest = inner[close + 1..].trim_start();
    }
    if !rest.is_empty() {
        // Architecture lists and build profiles belong to source packages.
        return Err(format!("unexpected `{}` in `{s}`", truncate(rest)));
    }
    Ok(Dep {
        name: name.to_string(),
        arch_qualifier,
        constraint,
    })
}

/// Parses `Provides`: a comma-separated list of names, each optionally
/// `(= version)`.
pub fn parse_provides(value: &str) -> Result<Vec<Provided>, String> {
    let mut out = Vec::new();
    for group in parse_relations(value)? {
        let [dep] = <[Dep; 1]>::try_from(group)
            .map_err(|_| format!("alternatives are not allowed in `{value}`"))?;
        let version = match dep.constraint {
            None => None,
            Some(Constraint {
                relation: Relation::Eq,
                version,
            }) => Some(version),
            Some(c) => return Err(format!("`{} ({c})`: only `=` may be provided", dep.name)),
        };
        out.push(Provided {
            name: dep.name,
            version,
        });
    }
    Ok(out)
}

/// Orders two Debian version strings as `dpkg --compare-versions` does:
/// epoch numerically, then upstream version and revision with dpkg's
/// character ordering (`~` before everything, even the end of the string;
/// letters before other characters) and digit runs numerically. Never
/// panics, whatever the input.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split_version(a);
    let (eb, ub, rb) = split_version(b);
    compare_digits(ea.as_bytes(), eb.as_bytes())
        .then_with(|| verrevcmp(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| verrevcmp(ra.as_bytes(), rb.as_bytes()))
}

/// `(epoch, upstream, revision)`; a missing epoch is "0", a missing revision "".
fn split_version(v: &str) -> (&str, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if e.bytes().all(|b| b.is_ascii_digit()) => (e, rest),
        _ => ("0", v),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

fn compare_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = trim_zeros(a);
    let b = trim_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let zeros = s.iter().take_while(|&&c| c == b'0').count();
    &s[zeros..]
}

/// dpkg's `order()`: the weight of a non-digit character (0 at the end).
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp()`.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        let da = a[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let db = b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        let ord = compare_digits(&a[i..i + da], &b[j..j + db]);
        if ord != Ordering::Equal {
            return ord;
        }
        i += da;
        j += db;
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn paragraph(extra: &str) -> String {
        format!(
            "Package: foo\nVersion: 1.0-1\nArchitecture: amd64\n{extra}Filename: pool/main/f/foo/foo_1.0-1_amd64.deb\nSize: 1234\nSHA256: {SHA}\n"
        )
    }

    #[test]
    fn versions_order_as_dpkg_does() {
        // Expectations from `dpkg --compare-versions` (dpkg 1.21, bookworm):
        // `a OP b`, one case a line.
        const CASES: &str = "
            1.0 = 1.0
            1.0 = 1.00
            1.0 = 1.
            1. > 1
            1.0 = 1.0-0
            1.0-1 > 1.0-1~bpo1
            1.0~rc1 < 1.0
            1.0~rc1 > 1.0~rc1~1
            1:0.1 > 2.0
            0:2.0 = 2.0
            2.0 < 10.0
            1.0a > 1.0
            1.0a < 1.0+
            1.0+ < 1.0.
            a < b
            1.2.3-1 < 1.2.3-1.1
            1.2.3-1+deb12u1 > 1.2.3-1
            2.36-9+deb12u10 > 2.36-9+deb12u4
            1:2.39.5-0+deb12u2 > 1:2.39.2-1.1
            007 = 7
            1.01 = 1.1
            1.0~ < 1.0
            ~~ < ~
            ~~a < ~
            1.0-a > 1.0-A
            1.0.0 > 1.0a
            1.0z < 1.0+
            3.0-1 < 3.0-1build1
            99999999999999999999999 > 99999999999999999999998
            1.2-3-4 > 1.2-3
        ";
        for case in CASES.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let [a, op, b] = case.split(' ').collect::<Vec<_>>()[..] else {
                panic!("a case is `a OP b`: {case}");
            };
            let expected = match op {
                "<" => Ordering::Less,
                "=" => Ordering::Equal,
                ">" => Ordering::Greater,
                _ => panic!("OP is <, = or >: {case}"),
            };
            assert_eq!(compare_versions(a, b), expected, "{a} vs {b}");
            assert_eq!(compare_versions(b, a), expected.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn version_comparison_never_panics() {
        let pieces = ["", ":", "-", "~", "0", "9", "a", ".", "+", "é", "1:", "-1"];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let v = format!("{a}{b}{c}");
                    let _ = compare_versions(&v, "1:2.0-1~x");
                    let _ = compare_versions("", &v);
                }
            }
        }
    }

    #[test]
    fn relations_parse() {
        let groups = parse_relations(
            "libc6 (>= 2.34), default-mta | mail-transport-agent, python3:any (<< 3.12~),\n libx (= 1:2.0-1), old (< 2), foo:amd64,",
        )
        .unwrap();
        assert_eq!(groups.len(), 6);
        assert_eq!(display_group(&groups[0]), "libc6 (>= 2.34)");
        assert_eq!(
            display_group(&groups[1]),
            "default-mta | mail-transport-agent"
        );
        assert_eq!(groups[2][0].arch_qualifier.as_deref(), Some("any"));
        assert_eq!(display_group(&groups[2]), "python3:any (<< 3.12~)");
        assert_eq!(display_group(&groups[3]), "libx (= 1:2.0-1)");
        assert_eq!(display_group(&groups[4]), "old (<= 2)");
        assert_eq!(display_group(&groups[5]), "foo:amd64");
        for bad in [
            "(>= 1)",
            "foo (>= 1",
            "foo (~ 1)",
            "foo (>=)",
            "foo [amd64]",
            "a, foo:",
        ] {
            assert!(parse_relations(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn packages_parse() {
        let text = format!(
            "{}\n{}",
            paragraph(
                "Source: foo-src (1.0-0)\nMulti-Arch: Foreign\nPre-Depends: dpkg (>= 1.17)\nDepends: libc6 (>= 2.34), a | b\nRecommends: ignored\nProvides: virt, virt2 (= 2.0)\nConflicts: old\nBreaks: older (<< 1)\nDescription: a thing\n multi-line\n .\n text\nPriority: optional\n"
            ),
            paragraph("Essential: yes\nSource: foo\n")
        );
        let packages = parse_packages(&text).unwrap();
        assert_eq!(packages.len(), 2);
        let p = &packages[0];
        assert_eq!(p.name, "foo");
        assert_eq!(p.version, "1.0-1");
        assert_eq!(p.multi_arch.as_deref(), Some("foreign"));
        assert_eq!(p.pre_depends.len(), 1);
        assert_eq!(p.depends.len(), 2);
        assert_eq!(p.depends[1].len(), 2);
        assert_eq!(
            p.provides,
            vec![
                Provided {
                    name: "virt".into(),
                    version: None
                },
                Provided {
                    name: "virt2".into(),
                    version: Some("2.0".into())
                }
            ]
        );
        assert_eq!(
            p.conflicts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["old", "older (<< 1)"]
        );
        assert_eq!(p.source.as_deref(), Some("foo-src"));
        assert_eq!(p.source_version.as_deref(), Some("1.0-0"));
        assert_eq!(p.size, 1234);
        assert_eq!(p.priority.as_deref(), Some("optional"));
        assert!(!p.essential);
        let kinds: Vec<DepKind> = p.relations().map(|(k, _)| k).collect();
        assert_eq!(
            kinds,
            [DepKind::PreDepends, DepKind::Depends, DepKind::Depends]
        );
        assert!(packages[1].essential);
        assert_eq!(packages[1].source, None);
    }

    #[test]
    fn folded_fields_and_crlf_and_case() {
        let text = "package: foo\r\nversion: 1\r\narchitecture: all\r\nDepends: a,\r\n b (>= 1)\r\nfilename: f.deb\r\nsize: 1\r\nsha256: ".to_string()
            + &SHA.to_uppercase()
            + "\r\n\r\n\r\n";
        let packages = parse_packages(&text).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(display_group(&packages[0].depends[1]), "b (>= 1)");
        assert_eq!(packages[0].sha256, SHA);
    }

    #[test]
    fn errors_name_the_line() {
        let text = format!("{}\n{}", paragraph(""), paragraph("Depends: a (>= )\n"));
        let err = parse_packages(&text).unwrap_err();
        assert_eq!(err.line, 11);
        assert!(err.to_string().contains("Depends"), "{err}");
        let err = parse_packages("Package: x\nVersion: 1\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("Architecture"), "{err}");
        let err = parse_packages(" continued\n").unwrap_err();
        assert_eq!(err.line, 1);
        let err = parse_packages("Package: x\nno colon here\n").unwrap_err();
        assert_eq!(err.line, 2);
        let bad_sha = paragraph("").replace(SHA, "abc");
        assert!(parse_packages(&bad_sha).is_err());
        // Truncated at every byte: an error or fewer packages, never a panic.
        let text = paragraph("Depends: a (>= 1) | b:any\nProvides: v (= 1)\n");
        for end in 0..text.len() {
            let _ = parse_packages(&text[..end]);
        }
    }

    #[test]
    fn gunzip_roundtrip() {
        use std::io::Write;
        let text = paragraph("");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        assert_eq!(gunzip(&bytes).unwrap(), text);
        assert!(gunzip(b"not gzip").is_err());
    }

    #[test]
    fn index_finds_real_and_virtual_and_keeps_first_duplicate() {
        let origin = |suite: &str| Origin {
            source: "http://deb.example/debian".into(),
            suite: suite.into(),
            component: "main".into(),
        };
        let packages = parse_packages(&format!(
            "{}\n{}",
            paragraph("Provides: virt\n"),
            paragraph("").replace("foo", "bar")
        ))
        .unwrap();
        let mut index = Index::new(packages.clone(), origin("bookworm"));
        index.merge(Index::new(packages, origin("bookworm-updates")));
        assert_eq!(index.len(), 2);
        assert_eq!(index.packages("foo").count(), 1);
        assert_eq!(
            index.packages("foo").next().unwrap().origin.suite,
            "bookworm"
        );
        let names = |n: &str| -> Vec<String> {
            index
                .candidates(n)
                .iter()
                .map(|c| c.package.name.clone())
                .collect()
        };
        assert_eq!(names("virt"), ["foo"]);
        assert_eq!(names("bar"), ["bar"]);
        assert!(names("nothing").is_empty());
        assert!(index.contains("foo") && !index.contains("virt"));
        let mut empty = Index::default();
        empty.merge(index);
        assert_eq!(empty.len(), 2);
        assert_eq!(empty.candidates("virt").len(), 1);
    }
}
