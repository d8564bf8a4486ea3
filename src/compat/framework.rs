//! What the torch, tensorflow and jax tables share: rows keyed by a release,
//! each naming the CPythons it has wheels for and the source it was checked
//! against. The row lookup, the Python check, the row checks and the hints
//! live here once; each table adds only what its builds need.
//!
//! A refused combination is answered in two steps. The table's own check
//! says why ([`Refused`]), cheaply and without hints. The hints are then
//! built by asking that same check about nearby combinations (other CUDA
//! versions, other releases, other Pythons) and keeping only those it
//! accepts, so a hint never proposes what the tables refuse.

use super::version::{CudaVersion, describe_subset, join_or, python_minor, same_release};
use super::{Incompatible, python_problems, source_problems};

/// A row of a framework table.
pub(crate) trait FrameworkRow: Sized {
    /// The package, as messages and `[[compat.NAME]]` spell it: `torch`.
    const NAME: &'static str;

    /// The fields every framework row has: `(version, python, source)`,
    /// that is the release (or series) that keys the row, the CPython `3.X`
    /// versions with wheels, and where the row comes from.
    fn fields(&self) -> (&str, &[String], &Option<String>);

    /// What is wrong with the row's release numbers; reported first.
    fn release_problems(&self, what: &str) -> Vec<String>;

    /// What is wrong with the builds the row lists; reported after Python.
    fn build_problems(&self, what: &str) -> Vec<String>;

    /// The key of the row that serves `asked`: `asked` itself, unless the
    /// table keys its rows otherwise.
    fn row_key(asked: &str) -> Result<String, Refused> {
        Ok(asked.to_owned())
    }

    /// The releases of the same series as `asked`, a release the table
    /// lacks (`2.5` without a patch, a typo'd patch); none by default.
    fn same_series<'a>(_rows: &'a [Self], _asked: &str) -> Vec<&'a str> {
        Vec::new()
    }

    fn version(&self) -> &str {
        self.fields().0
    }

    fn python(&self) -> &[String] {
        self.fields().1
    }

    fn same_key(a: &Self, b: &Self) -> bool {
        same_release(a.version(), b.version())
    }

    /// What is wrong with this row, one sentence each.
    fn problems(&self) -> Vec<String> {
        let what = format!("{} {}", Self::NAME, self.version());
        let mut out = self.release_problems(&what);
        out.extend(python_problems(&what, self.python()));
        out.extend(self.build_problems(&what));
        out.extend(source_problems(&what, self.fields().2));
        out
    }
}

/// Why a table refused a combination; the hints are built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub message: String,
    pub why: Why,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// Input that is not a version mlr can read: nothing to propose.
    Malformed,
    /// The release is not in the table.
    Unknown,
    /// The release (or the build its local version names) does not go
    /// with the asked CUDA, or has no CPU build.
    Build,
    /// The release has no wheels for the asked Python.
    Python,
}

impl Refused {
    pub(crate) fn new(why: Why, message: impl Into<String>) -> Refused {
        Refused {
            message: message.into(),
            why,
        }
    }
}

/// A `[cuda]` setting a suggestion names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CudaChoice {
    /// `[cuda]` as the manifest has it (none: the CPU build).
    AsAsked,
    /// No `[cuda]`: the CPU build.
    Without,
    /// Any of these `[cuda] version`s, `MAJOR.MINOR`.
    Versions(Vec<String>),
    /// Any `[cuda] version` of these majors (`12` reads `CUDA 12.x`).
    Majors(Vec<u32>),
}

/// Which part of the manifest a suggestion changes; its text names it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    Framework,
    Cuda,
    Python,
}

/// A combination of `[framework]`, `[cuda]` and `[python]` that a hint
/// proposes, as values: every release in `versions` with every CUDA of
/// `cuda` and every Python of `python` is accepted by the same table that
/// refused the manifest. The hint's text is rendered from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// `torch`, `tensorflow` or `jax`.
    pub framework: &'static str,
    /// `[framework]` values as the manifest would write them: `2.4.0`,
    /// `2.5.1+cu121`, a tensorflow series `2.17`.
    pub versions: Vec<String>,
    pub cuda: CudaChoice,
    /// `[python] version`s (`3.11`); empty: the Python asked about (any,
    /// when none was).
    pub python: Vec<String>,
    pub changes: Changes,
    /// Said in parentheses after the versions: ``without `+cpu` ``.
    pub aside: Option<String>,
}

impl Suggestion {
    /// The hint's text; `all` is the table's releases, oldest first, so
    /// neighbouring releases read `2.4.0 to 2.6.0`.
    pub(crate) fn text(&self, all: &[&str]) -> String {
        let selected: Vec<&str> = self.versions.iter().map(String::as_str).collect();
        let versions = if selected.iter().all(|v| all.contains(v)) {
            describe_subset(all, &selected)
        } else {
            join_or(&selected)
        };
        let mut framework = format!("{} {versions}", self.framework);
        if let Some(aside) = &self.aside {
            framework.push_str(&format!(" ({aside})"));
        }
        let cuda = match &self.cuda {
            CudaChoice::AsAsked | CudaChoice::Without => None,
            CudaChoice::Versions(v) => Some(format!("CUDA {}", join_or(v))),
            CudaChoice::Majors(m) => {
                let majors: Vec<String> = m.iter().map(|m| format!("{m}.x")).collect();
                Some(format!("CUDA {}", join_or(&majors)))
            }
        };
        let python = (!self.python.is_empty()).then(|| format!("Python {}", join_or(&self.python)));
        if self.cuda == CudaChoice::Without {
            framework.push_str(" without [cuda]");
        }
        let (lead, rest): (String, Vec<String>) = match (self.changes, cuda, python) {
            (Changes::Cuda, Some(cuda), python) => {
                (cuda, std::iter::once(framework).chain(python).collect())
            }
            (Changes::Python, cuda, Some(python)) => {
                (python, std::iter::once(framework).chain(cuda).collect())
            }
            (_, cuda, python) => (framework, cuda.into_iter().chain(python).collect()),
        };
        let mut out = lead;
        for (i, part) in rest.iter().enumerate() {
            out.push_str(if i == 0 { " with " } else { " and " });
            out.push_str(part);
        }
        out
    }

    /// Every `(version, cuda, python)` this suggestion names, given the
    /// CUDA and Python it was made for; a CUDA major stands for each of
    /// `minors` (`MAJOR.MINOR`) of that major.
    pub fn combinations(
        &self,
        cuda: Option<&str>,
        python: Option<&str>,
        minors: &[String],
    ) -> Vec<(String, Option<String>, Option<String>)> {
        let cudas: Vec<Option<String>> = match &self.cuda {
            CudaChoice::AsAsked => vec![cuda.map(str::to_owned)],
            CudaChoice::Without => vec![None],
            CudaChoice::Versions(v) => v.iter().cloned().map(Some).collect(),
            CudaChoice::Majors(m) => minors
                .iter()
                .filter(|c| CudaVersion::parse(c).is_some_and(|c| m.contains(&c.major)))
                .cloned()
                .map(Some)
                .collect(),
        };
        let pythons: Vec<Option<String>> = if self.python.is_empty() {
            vec![python.map(str::to_owned)]
        } else {
            self.python.iter().cloned().map(Some).collect()
        };
        let mut out = Vec::new();
        for v in &self.versions {
            for c in &cudas {
                for p in &pythons {
                    out.push((v.clone(), c.clone(), p.clone()));
                }
            }
        }
        out
    }
}

/// Does a table accept `[framework]` value, CUDA and Python (`3.X`)? The
/// row, when given, is the one the value names (no lookup).
pub(crate) type Accepts<'a, R> =
    dyn Fn(&str, Option<&R>, Option<CudaVersion>, Option<&str>) -> bool + 'a;

/// Builds the hints for one refused combination from a table's own check.
pub(crate) struct Hints<'a, R: FrameworkRow> {
    pub rows: &'a [R],
    pub accepts: &'a Accepts<'a, R>,
    /// The CUDA versions hints may propose, oldest first.
    pub cudas: Vec<CudaVersion>,
    /// Propose CUDA by major (`12.x`): the table's builds are per major.
    pub by_major: bool,
    /// The asked CUDA and Python (`3.X`).
    pub cuda: Option<CudaVersion>,
    pub python: Option<String>,
}

impl<'a, R: FrameworkRow> Hints<'a, R> {
    fn accepts(&self, version: &str, cuda: Option<CudaVersion>, python: Option<&str>) -> bool {
        (self.accepts)(version, None, cuda, python)
    }

    fn python(&self) -> Option<&str> {
        self.python.as_deref()
    }

    fn suggestion(&self, versions: Vec<String>, cuda: CudaChoice, changes: Changes) -> Suggestion {
        Suggestion {
            framework: R::NAME,
            versions,
            cuda,
            python: Vec::new(),
            changes,
            aside: None,
        }
    }

    /// The CUDA versions `version` has a build for (with the asked Python).
    pub fn cudas_for(&self, version: &str) -> Option<Suggestion> {
        let fits: Vec<CudaVersion> = self
            .cudas
            .iter()
            .copied()
            .filter(|c| self.accepts(version, Some(*c), self.python()))
            .collect();
        if fits.is_empty() {
            return None;
        }
        let cuda = if self.by_major {
            let mut majors: Vec<u32> = fits.iter().map(|c| c.major).collect();
            majors.dedup();
            CudaChoice::Majors(majors)
        } else {
            CudaChoice::Versions(fits.iter().map(|c| c.minor_version()).collect())
        };
        Some(self.suggestion(vec![version.to_owned()], cuda, Changes::Cuda))
    }

    /// The releases that go with `cuda` (and the asked Python), named
    /// with that CUDA.
    pub fn releases_for(&self, cuda: Option<CudaVersion>) -> Option<Suggestion> {
        let fits =
            self.releases_where(|r| (self.accepts)(r.version(), Some(r), cuda, self.python()));
        if fits.is_empty() {
            return None;
        }
        let choice = match (cuda, self.cuda) {
            (Some(c), _) => CudaChoice::Versions(vec![c.minor_version()]),
            (None, None) => CudaChoice::AsAsked,
            (None, Some(_)) => CudaChoice::Without,
        };
        Some(self.suggestion(fits, choice, Changes::Framework))
    }

    /// The newest release that goes with the asked CUDA and Python.
    pub fn newest(&self) -> Option<Suggestion> {
        let fits =
            self.releases_where(|r| (self.accepts)(r.version(), Some(r), self.cuda, self.python()));
        let newest = fits.last()?.clone();
        Some(self.suggestion(vec![newest], CudaChoice::AsAsked, Changes::Framework))
    }

    /// The releases of `asked`'s series that go with the asked CUDA and Python.
    pub fn series_of(&self, asked: &str) -> Option<Suggestion> {
        let fits: Vec<String> = R::same_series(self.rows, asked)
            .into_iter()
            .filter(|v| self.accepts(v, self.cuda, self.python()))
            .map(str::to_owned)
            .collect();
        if fits.is_empty() {
            return None;
        }
        Some(self.suggestion(fits, CudaChoice::AsAsked, Changes::Framework))
    }

    /// The Pythons `version` has wheels for (with the asked CUDA).
    pub fn pythons_for(&self, version: &str) -> Option<Suggestion> {
        let fits: Vec<String> = all_pythons(self.rows)
            .into_iter()
            .filter(|p| self.accepts(version, self.cuda, Some(p)))
            .collect();
        if fits.is_empty() {
            return None;
        }
        Some(Suggestion {
            python: fits,
            ..self.suggestion(
                vec![version.to_owned()],
                CudaChoice::AsAsked,
                Changes::Python,
            )
        })
    }

    /// The releases with wheels for the asked Python (and the asked CUDA).
    pub fn releases_for_python(&self) -> Option<Suggestion> {
        let python = self.python.clone()?;
        let fits =
            self.releases_where(|r| (self.accepts)(r.version(), Some(r), self.cuda, Some(&python)));
        if fits.is_empty() {
            return None;
        }
        Some(Suggestion {
            python: vec![python],
            ..self.suggestion(fits, CudaChoice::AsAsked, Changes::Framework)
        })
    }

    /// `version` with `cuda`, when the table accepts it (with the asked Python).
    pub fn exactly(
        &self,
        version: &str,
        cuda: CudaChoice,
        changes: Changes,
        aside: Option<String>,
    ) -> Option<Suggestion> {
        let asked = match &cuda {
            CudaChoice::AsAsked => self.cuda,
            CudaChoice::Without => None,
            CudaChoice::Versions(v) if v.len() == 1 => Some(CudaVersion::parse(&v[0])?),
            CudaChoice::Versions(_) | CudaChoice::Majors(_) => return None,
        };
        if !self.accepts(version, asked, self.python()) {
            return None;
        }
        Some(Suggestion {
            aside,
            ..self.suggestion(vec![version.to_owned()], cuda, changes)
        })
    }

    fn releases_where(&self, accept: impl Fn(&R) -> bool) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| accept(r))
            .map(|r| r.version().to_owned())
            .collect()
    }
}

/// Every Python `3.X` any row has wheels for, oldest first.
fn all_pythons<R: FrameworkRow>(rows: &[R]) -> Vec<String> {
    let mut out: Vec<String> = rows.iter().flat_map(|r| r.python().to_vec()).collect();
    out.sort_by_key(|p| python_minor(p).and_then(|m| m.split('.').nth(1)?.parse::<u32>().ok()));
    out.dedup();
    out
}

impl Incompatible {
    /// Adds `suggestion` (when there is one) and its text.
    pub(crate) fn suggest<R: FrameworkRow>(
        mut self,
        rows: &[R],
        suggestion: Option<Suggestion>,
    ) -> Incompatible {
        let Some(s) = suggestion else {
            return self;
        };
        let text = s.text(&versions(rows));
        if !self.alternatives.contains(&text) {
            self.alternatives.push(text);
            self.suggestions.push(s);
        }
        self
    }
}

/// The releases of a sorted table, oldest first.
pub(crate) fn versions<R: FrameworkRow>(rows: &[R]) -> Vec<&str> {
    rows.iter().map(R::version).collect()
}

/// The row that serves `asked`, the version as the manifest wrote it.
pub(crate) fn find_row<'a, R: FrameworkRow>(rows: &'a [R], asked: &str) -> Result<&'a R, Refused> {
    let asked = asked.trim();
    let key = R::row_key(asked)?;
    // Most lookups spell the release as the table does.
    let found = rows
        .iter()
        .find(|r| r.version() == key)
        .or_else(|| rows.iter().find(|r| same_release(r.version(), &key)));
    if let Some(row) = found {
        return Ok(row);
    }
    let all = versions(rows);
    Err(Refused::new(
        Why::Unknown,
        format!(
            "{name} {asked} is not in mlr's compatibility table ({} to {}); describe it with a \
             [[compat.{name}]] row in ml.toml",
            all.first().copied().unwrap_or("-"),
            all.last().copied().unwrap_or("-"),
            name = R::NAME,
        ),
    ))
}

/// A `[python] version` as the queries take it: `3.11` or `3.11.4` -> `3.11`.
pub(crate) fn parse_python(python: &str) -> Result<String, Incompatible> {
    python_minor(python)
        .ok_or_else(|| Incompatible::new(format!("`{python}` is not a Python version")))
}

/// Whether `row` has wheels for `python` (`3.11`); `shown` is the release
/// as the message names it. Any Python passes when none is known yet.
pub(crate) fn check_python<R: FrameworkRow>(
    row: &R,
    shown: &str,
    python: Option<&str>,
) -> Result<(), Refused> {
    match python {
        Some(py) if !row.python().iter().any(|p| p == py) => Err(Refused::new(
            Why::Python,
            format!("{} {shown} has no wheels for Python {py}", R::NAME),
        )),
        _ => Ok(()),
    }
}
