//! What the torch, tensorflow and jax tables share: rows keyed by a release,
//! each naming the CPythons it has wheels for and the source it was checked
//! against. The row lookup, the Python check and the row checks live here
//! once; each table adds only what its builds need.

use std::borrow::Cow;

use super::version::{describe_subset, join_or, python_minor, same_release};
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
    fn row_key(asked: &str) -> Result<Cow<'_, str>, Incompatible> {
        Ok(Cow::Borrowed(asked))
    }

    /// What to suggest for a release the table lacks: its newest release.
    fn instead_of_unknown(rows: &[Self], _asked: &str) -> Vec<String> {
        rows.last()
            .map(|r| format!("{} {}", Self::NAME, r.version()))
            .into_iter()
            .collect()
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

/// The releases of a sorted table, oldest first.
pub(crate) fn versions<R: FrameworkRow>(rows: &[R]) -> Vec<&str> {
    rows.iter().map(R::version).collect()
}

/// The row that serves `asked`, the version as the manifest wrote it.
pub(crate) fn find_row<'a, R: FrameworkRow>(
    rows: &'a [R],
    asked: &str,
) -> Result<&'a R, Incompatible> {
    let asked = asked.trim();
    let key = R::row_key(asked)?;
    if let Some(row) = rows.iter().find(|r| same_release(r.version(), &key)) {
        return Ok(row);
    }
    let all = versions(rows);
    let mut err = Incompatible::new(format!(
        "{name} {asked} is not in mlr's compatibility table ({} to {}); describe it with a \
         [[compat.{name}]] row in ml.toml",
        all.first().copied().unwrap_or("-"),
        all.last().copied().unwrap_or("-"),
        name = R::NAME,
    ));
    for alternative in R::instead_of_unknown(rows, asked) {
        err = err.with(alternative);
    }
    Err(err)
}

/// Whether `row` has wheels for `python` (`3.11` or `3.11.4`); `shown` is
/// the release as the message names it.
pub(crate) fn check_python<R: FrameworkRow>(
    rows: &[R],
    row: &R,
    shown: &str,
    python: &str,
) -> Result<(), Incompatible> {
    let name = R::NAME;
    let py = python_minor(python)
        .ok_or_else(|| Incompatible::new(format!("`{python}` is not a Python version")))?;
    if row.python().contains(&py) {
        return Ok(());
    }
    let with_py: Vec<&str> = rows
        .iter()
        .filter(|r| r.python().contains(&py))
        .map(R::version)
        .collect();
    let mut err = Incompatible::new(format!("{name} {shown} has no wheels for Python {py}")).with(
        format!("Python {} with {name} {shown}", join_or(row.python())),
    );
    if !with_py.is_empty() {
        err = err.with(format!(
            "{name} {} with Python {py}",
            describe_subset(&versions(rows), &with_py)
        ));
    }
    Err(err)
}
