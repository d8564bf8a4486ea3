//! Which framework builds, CUDA versions, drivers, `nvidia/cuda` tags and OS
//! releases go together: data files under `data/`, every row citing its
//! source, compiled in with `include_str!` and queried here. Pure: no I/O.
//!
//! The manifest can add or replace rows (`[[compat.torch]]`, ...) for
//! releases newer than this mlr through [`CompatOverrides`].

mod cuda;
mod framework;
mod jax;
mod os;
mod tensorflow;
mod torch;
pub(crate) mod version;

use std::fmt;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use cuda::{CudaImageRow, DriverRow, Flavor};
use framework::FrameworkRow;
pub use framework::{Changes, CudaChoice, Suggestion};
pub use jax::{JaxRow, JaxVariant};
pub use os::OsRow;
pub use tensorflow::{TensorflowRow, TfVariant};
pub use torch::{TorchRow, TorchVariant, check_torch_locked};

/// The CUDA (`12.1`) a PyTorch local version (`cu121`) names.
pub fn cuda_of_local(local: &str) -> Option<String> {
    version::CudaVersion::from_local(local).map(version::CudaVersion::minor_version)
}

/// The data files, in the order they are merged.
const BUILTIN: [(&str, &str); 6] = [
    ("torch.toml", include_str!("data/torch.toml")),
    ("tensorflow.toml", include_str!("data/tensorflow.toml")),
    ("jax.toml", include_str!("data/jax.toml")),
    ("cuda_driver.toml", include_str!("data/cuda_driver.toml")),
    ("cuda_image.toml", include_str!("data/cuda_image.toml")),
    ("os.toml", include_str!("data/os.toml")),
];

/// All compatibility tables, rows sorted by their key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compat {
    torch: Vec<TorchRow>,
    tensorflow: Vec<TensorflowRow>,
    jax: Vec<JaxRow>,
    driver: Vec<DriverRow>,
    cuda_image: Vec<CudaImageRow>,
    os: Vec<OsRow>,
}

/// Extra rows, in the shape of the data files: `[[torch]]`, `[[tensorflow]]`,
/// `[[jax]]`, `[[driver]]`, `[[cuda_image]]`, `[[os]]` (in `ml.toml` under
/// `[compat]`). A row whose key matches a builtin row replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompatOverrides {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub torch: Vec<TorchRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tensorflow: Vec<TensorflowRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jax: Vec<JaxRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub driver: Vec<DriverRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cuda_image: Vec<CudaImageRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub os: Vec<OsRow>,
}

impl CompatOverrides {
    /// Parses rows in the data-file format.
    pub fn from_toml(text: &str) -> Result<CompatOverrides, String> {
        toml_edit::de::from_str(text).map_err(|e| e.to_string())
    }

    /// What is wrong with these rows (malformed versions, variants, OS
    /// names), one sentence each; empty when they are usable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.torch.iter().flat_map(TorchRow::problems));
        out.extend(self.tensorflow.iter().flat_map(TensorflowRow::problems));
        out.extend(self.jax.iter().flat_map(JaxRow::problems));
        out.extend(self.driver.iter().flat_map(DriverRow::problems));
        out.extend(self.cuda_image.iter().flat_map(CudaImageRow::problems));
        out.extend(self.os.iter().flat_map(OsRow::problems));
        out
    }

    pub fn is_empty(&self) -> bool {
        self == &CompatOverrides::default()
    }
}

/// A combination that does not exist: names both sides, and lists what would
/// work instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatible {
    /// `torch 2.1.2 has no build for CUDA 12.4`
    pub message: String,
    /// `CUDA 11.8 or 12.1 with torch 2.1.2`, `torch 2.4.0 to 2.6.0 with CUDA 12.4`
    pub alternatives: Vec<String>,
    /// For the framework tables: the combinations `alternatives` name, one
    /// each, in the same order; every one of them is accepted by the table.
    pub suggestions: Vec<Suggestion>,
}

impl Incompatible {
    pub(crate) fn new(message: impl Into<String>) -> Incompatible {
        Incompatible {
            message: message.into(),
            alternatives: Vec::new(),
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, alternative: impl Into<String>) -> Incompatible {
        let alternative = alternative.into();
        if !alternative.is_empty() && !self.alternatives.contains(&alternative) {
            self.alternatives.push(alternative);
        }
        self
    }
}

impl fmt::Display for Incompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.alternatives.is_empty() {
            write!(f, "; would work: {}", self.alternatives.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for Incompatible {}

impl Compat {
    /// The tables shipped with this mlr, parsed once.
    pub fn builtin() -> &'static Compat {
        static BUILTIN_COMPAT: OnceLock<Compat> = OnceLock::new();
        BUILTIN_COMPAT.get_or_init(|| {
            // The data files are part of the source and parsed by a unit test,
            // so a failure here is a bug in this crate, not a user error.
            Compat::parse_builtin().unwrap_or_else(|e| panic!("builtin compatibility data: {e}"))
        })
    }

    fn parse_builtin() -> Result<Compat, String> {
        let mut compat = Compat::default();
        for (name, text) in BUILTIN {
            let rows = CompatOverrides::from_toml(text).map_err(|e| format!("{name}: {e}"))?;
            compat.merge(rows);
        }
        Ok(compat)
    }

    /// These tables with `extra` merged over them: rows with the same key
    /// replace rows here, other rows are added.
    pub fn with_overrides(&self, extra: &CompatOverrides) -> Compat {
        let mut out = self.clone();
        if !extra.is_empty() {
            out.merge(extra.clone());
        }
        out
    }

    fn merge(&mut self, extra: CompatOverrides) {
        merge_rows(&mut self.torch, extra.torch, TorchRow::same_key);
        merge_rows(
            &mut self.tensorflow,
            extra.tensorflow,
            TensorflowRow::same_key,
        );
        merge_rows(&mut self.jax, extra.jax, JaxRow::same_key);
        merge_rows(&mut self.driver, extra.driver, DriverRow::same_key);
        merge_rows(
            &mut self.cuda_image,
            extra.cuda_image,
            CudaImageRow::same_key,
        );
        merge_rows(&mut self.os, extra.os, OsRow::same_key);
        self.torch
            .sort_by(|a, b| version::cmp_versions(&a.version, &b.version));
        self.tensorflow
            .sort_by(|a, b| version::cmp_versions(&a.version, &b.version));
        self.jax
            .sort_by(|a, b| version::cmp_versions(&a.version, &b.version));
        self.driver
            .sort_by(|a, b| version::cmp_versions(&a.cuda, &b.cuda));
        self.cuda_image
            .sort_by(|a, b| version::cmp_versions(&a.cuda, &b.cuda));
        self.os.sort_by(|a, b| {
            a.id.cmp(&b.id)
                .then_with(|| version::cmp_versions(&a.version_id, &b.version_id))
        });
    }

    /// Every row, in the data-file shape (for documentation and debugging).
    pub fn rows(&self) -> CompatOverrides {
        CompatOverrides {
            torch: self.torch.clone(),
            tensorflow: self.tensorflow.clone(),
            jax: self.jax.clone(),
            driver: self.driver.clone(),
            cuda_image: self.cuda_image.clone(),
            os: self.os.clone(),
        }
    }
}

fn merge_rows<T>(rows: &mut Vec<T>, extra: Vec<T>, same_key: fn(&T, &T) -> bool) {
    for row in extra {
        match rows.iter_mut().find(|r| same_key(r, &row)) {
            Some(slot) => *slot = row,
            None => rows.push(row),
        }
    }
}

/// Shared checks for the `source` / `python` fields of rows.
pub(crate) fn source_problems(what: &str, source: &Option<String>) -> Vec<String> {
    match source {
        Some(s) if !s.starts_with("https://") && !s.starts_with("http://") => {
            vec![format!("{what}: source `{s}` is not a URL")]
        }
        _ => Vec::new(),
    }
}

pub(crate) fn python_problems(what: &str, python: &[String]) -> Vec<String> {
    python
        .iter()
        .filter(|p| version::release(p).is_none_or(|r| r.len() != 2 || r[0] != 3))
        .map(|p| format!("{what}: `{p}` is not a Python `3.X` version"))
        .collect()
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_file_parses_and_every_row_is_well_formed() {
        let compat = Compat::parse_builtin().unwrap();
        let rows = compat.rows();
        assert!(rows.problems().is_empty(), "{:#?}", rows.problems());
        assert!(rows.torch.len() >= 20);
        assert!(rows.tensorflow.len() >= 10);
        assert!(rows.jax.len() >= 20);
        assert!(rows.driver.len() >= 10);
        assert!(rows.cuda_image.len() >= 10);
        assert!(rows.os.len() >= 8);
    }

    #[test]
    fn every_builtin_row_cites_an_https_source() {
        let rows = Compat::builtin().rows();
        let sources = rows
            .torch
            .iter()
            .map(|r| (&r.version, &r.source))
            .chain(rows.tensorflow.iter().map(|r| (&r.version, &r.source)))
            .chain(rows.jax.iter().map(|r| (&r.version, &r.source)))
            .chain(rows.driver.iter().map(|r| (&r.cuda, &r.source)))
            .chain(rows.cuda_image.iter().map(|r| (&r.cuda, &r.source)))
            .chain(rows.os.iter().map(|r| (&r.version_id, &r.source)));
        for (key, source) in sources {
            assert!(
                source.as_deref().is_some_and(|s| s.starts_with("https://")),
                "row {key} has no https source"
            );
        }
    }

    #[test]
    fn builtin_data_files_have_unique_keys() {
        for (name, text) in BUILTIN {
            let rows = CompatOverrides::from_toml(text).unwrap();
            let mut c = Compat::default();
            c.merge(rows.clone());
            let merged = c.rows();
            let count = |o: &CompatOverrides| {
                o.torch.len()
                    + o.tensorflow.len()
                    + o.jax.len()
                    + o.driver.len()
                    + o.cuda_image.len()
                    + o.os.len()
            };
            assert_eq!(count(&rows), count(&merged), "{name} repeats a key");
        }
    }

    #[test]
    fn unknown_fields_in_rows_are_errors() {
        let err = CompatOverrides::from_toml(
            "[[torch]]\nversion = \"9.0.0\"\npython = [\"3.12\"]\ncuda = \"12.4\"\n",
        )
        .unwrap_err();
        assert!(err.contains("cuda"), "{err}");
        let err = CompatOverrides::from_toml("[[pytorch]]\nversion = \"9.0.0\"\n").unwrap_err();
        assert!(err.contains("pytorch"), "{err}");
    }

    #[test]
    fn overrides_replace_and_add_rows() {
        let extra = CompatOverrides::from_toml(
            r#"
            [[torch]]
            version = "2.5.1"
            torchvision = "0.20.1"
            torchaudio = "2.5.1"
            python = ["3.12"]
            variants = ["cu124"]
            source = "https://example.org/replaced"

            [[torch]]
            version = "9.0.0"
            torchvision = "1.0.0"
            python = ["3.14"]
            variants = ["cu142"]

            [[driver]]
            cuda = "14"
            min_driver = "600"
            "#,
        )
        .unwrap();
        assert!(extra.problems().is_empty(), "{:?}", extra.problems());
        let builtin = Compat::builtin();
        let compat = builtin.with_overrides(&extra);

        // Replaced: cu121 is gone, Python 3.11 is gone.
        let err = compat
            .torch("2.5.1", Some("12.1"), Some("3.12"))
            .unwrap_err();
        assert_eq!(err.message, "torch 2.5.1 has no build for CUDA 12.1");
        assert!(compat.torch("2.5.1", Some("12.4"), Some("3.11")).is_err());
        assert!(compat.torch("2.5.1", Some("12.4"), Some("3.12")).is_ok());

        // Added, with the default index and a CPU build.
        let new = compat.torch("9.0.0", Some("14.2"), Some("3.14")).unwrap();
        assert_eq!(new.local.as_deref(), Some("cu142"));
        assert_eq!(
            new.index_url.as_deref(),
            Some("https://download.pytorch.org/whl/cu142")
        );
        assert!(compat.torch("9.0.0", None, Some("3.14")).is_ok());
        assert_eq!(compat.min_driver("14.1"), Some("600"));

        // The builtin tables are untouched.
        assert!(builtin.torch("9.0.0", None, Some("3.14")).is_err());
        assert!(builtin.torch("2.5.1", Some("12.1"), Some("3.11")).is_ok());
    }

    /// Every CUDA `MAJOR.MINOR` any row of any table mentions.
    fn every_cuda_minor(c: &Compat) -> Vec<String> {
        let rows = c.rows();
        let mut out: Vec<version::CudaVersion> = rows
            .torch
            .iter()
            .flat_map(|r| r.variants.iter().chain(&r.pypi_default))
            .filter_map(|l| version::CudaVersion::from_local(l))
            .chain(
                rows.tensorflow
                    .iter()
                    .filter_map(|r| r.cuda.as_deref())
                    .chain(rows.cuda_image.iter().map(|r| r.cuda.as_str()))
                    .chain(rows.driver.iter().map(|r| r.cuda.as_str()))
                    .chain(
                        rows.jax
                            .iter()
                            .flat_map(|r| r.cuda.iter().map(String::as_str)),
                    )
                    .filter_map(version::CudaVersion::parse),
            )
            .collect();
        out.sort();
        out.dedup();
        out.into_iter().map(|c| c.minor_version()).collect()
    }

    /// Asks `query` about every `versions` × CUDA (and none) × Python 3.5
    /// to 3.14 (and none); for each refusal, every combination each
    /// suggestion names must be accepted by the same query, and each text
    /// must be its suggestion's. Returns (refusals, combinations checked).
    fn walk<T>(
        c: &Compat,
        versions: &[String],
        all: &[&str],
        query: impl Fn(&str, Option<&str>, Option<&str>) -> Result<T, Incompatible>,
    ) -> (usize, usize) {
        let minors = every_cuda_minor(c);
        let cudas: Vec<Option<&str>> = std::iter::once(None)
            .chain(minors.iter().map(|m| Some(m.as_str())))
            .collect();
        let pythons: Vec<String> = (5..=14).map(|m| format!("3.{m}")).collect();
        let pythons: Vec<Option<&str>> = std::iter::once(None)
            .chain(pythons.iter().map(|p| Some(p.as_str())))
            .collect();
        let (mut refused, mut checked) = (0, 0);
        for v in versions {
            for cuda in &cudas {
                for python in &pythons {
                    let Err(e) = query(v, *cuda, *python) else {
                        continue;
                    };
                    refused += 1;
                    let texts: Vec<String> = e.suggestions.iter().map(|s| s.text(all)).collect();
                    assert_eq!(texts, e.alternatives, "{v} {cuda:?} {python:?}");
                    for s in &e.suggestions {
                        assert!(!s.versions.is_empty(), "{v} {cuda:?} {python:?}: {s:?}");
                        for (sv, sc, sp) in s.combinations(*cuda, *python, &minors) {
                            checked += 1;
                            assert!(
                                query(&sv, sc.as_deref(), sp.as_deref()).is_ok(),
                                "asked {v} with CUDA {cuda:?} and Python {python:?}: {e}\n\
                                 the hint `{}` names {sv} with CUDA {sc:?} and Python {sp:?}, \
                                 which is refused",
                                s.text(all),
                            );
                        }
                    }
                }
            }
        }
        (refused, checked)
    }

    fn with_unknown(known: Vec<&str>, unknown: &[&str]) -> Vec<String> {
        known
            .into_iter()
            .chain(unknown.iter().copied())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_torch_hint_names_only_combinations_the_table_accepts() {
        let c = Compat::builtin();
        let versions = with_unknown(
            framework::versions(&c.torch),
            &[
                "1.12.9",
                "99.0",
                "0.4",
                "2.5",
                "2.5.7",
                "1.12",
                "2.5.1+cpu",
                "2.5.1+cu121",
                "1.12.1+cu102",
                "1.12.1+cu118",
                "2.11.0+cu130",
                "2.5.1+rocm6.2",
            ],
        );
        let all = framework::versions(&c.torch);
        let (refused, checked) = walk(c, &versions, &all, |v, cuda, py| c.torch(v, cuda, py));
        assert!(refused > 5_000 && checked > 20_000, "{refused} {checked}");
    }

    #[test]
    fn every_tensorflow_hint_names_only_combinations_the_table_accepts() {
        let c = Compat::builtin();
        let series = framework::versions(&c.tensorflow);
        let releases: Vec<String> = series.iter().map(|s| format!("{s}.0")).collect();
        let mut versions = with_unknown(series.clone(), &["1.15", "3.0.0", "2.99.1"]);
        versions.extend(releases);
        let (refused, checked) = walk(c, &versions, &series, |v, cuda, py| {
            c.tensorflow(v, cuda, py)
        });
        assert!(refused > 1_000 && checked > 5_000, "{refused} {checked}");
    }

    #[test]
    fn every_jax_hint_names_only_combinations_the_table_accepts() {
        let c = Compat::builtin();
        let versions = with_unknown(framework::versions(&c.jax), &["0.4.99", "9.9.9"]);
        let all = framework::versions(&c.jax);
        let (refused, checked) = walk(c, &versions, &all, |v, cuda, py| c.jax(v, cuda, py));
        assert!(refused > 1_000 && checked > 5_000, "{refused} {checked}");
    }

    #[test]
    fn incompatible_displays_alternatives_on_one_line() {
        let e = Incompatible::new("a has no b")
            .with("c")
            .with("d")
            .with("c");
        assert_eq!(e.to_string(), "a has no b; would work: c; d");
        assert_eq!(Incompatible::new("x").to_string(), "x");
    }
}
