//! jax releases and their CUDA plugins: `jax[cudaNN]` installs jaxlib plus
//! `jax-cudaNN-plugin` and `jax-cudaNN-pjrt`, which bring CUDA as pip wheels.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::framework::{FrameworkRow, Hints, Refused, Why, check_python, find_row, parse_python};
use super::torch::parse_cuda;
use super::version::{CudaVersion, release};
use super::{Compat, Incompatible};

/// One jax release (`data/jax.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JaxRow {
    /// The jax release, `0.4.30`.
    pub version: String,
    /// The jaxlib its extras pin.
    pub jaxlib: String,
    /// CPython `3.X` versions with jaxlib wheels.
    pub python: Vec<String>,
    /// CUDA majors with a `jax[cudaNN]` extra and published plugin: `["12", "13"]`.
    #[serde(default)]
    pub cuda: Vec<String>,
    pub source: Option<String>,
    pub pypi: Option<String>,
    #[serde(default = "super::default_true")]
    pub verified: bool,
    pub note: Option<String>,
}

/// The jax install for a version, CUDA and Python.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JaxVariant {
    pub jax: String,
    pub jaxlib: String,
    /// The CUDA major of the plugin, `12`; `None` for CPU.
    pub cuda: Option<String>,
    /// The requirement to resolve: `jax[cuda12]==0.4.30` or `jax[cpu]==0.4.30`.
    pub requirement: String,
    /// `jax-cuda12-plugin`
    pub plugin: Option<String>,
    /// `jax-cuda12-pjrt`
    pub pjrt: Option<String>,
    /// The suffix of the `nvidia-*` wheels the plugin pulls, `cu12`.
    pub nvidia_suffix: Option<String>,
}

impl FrameworkRow for JaxRow {
    const NAME: &'static str = "jax";

    fn fields(&self) -> (&str, &[String], &Option<String>) {
        (&self.version, &self.python, &self.source)
    }

    fn release_problems(&self, what: &str) -> Vec<String> {
        [&self.version, &self.jaxlib]
            .into_iter()
            .filter(|v| release(v).is_none())
            .map(|v| format!("{what}: `{v}` is not a release version"))
            .collect()
    }

    fn build_problems(&self, what: &str) -> Vec<String> {
        self.cuda
            .iter()
            .filter(|c| c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()))
            .map(|c| format!("{what}: cuda `{c}` is not a CUDA major (`12`)"))
            .collect()
    }
}

impl Compat {
    /// The jax install for `version`, `cuda` (any `12.x` picks the `cuda12`
    /// plugin; `None` for CPU) and `python` (`None` when not known yet).
    pub fn jax(
        &self,
        version: &str,
        cuda: Option<&str>,
        python: Option<&str>,
    ) -> Result<JaxVariant, Incompatible> {
        let wanted = cuda.map(parse_cuda).transpose()?;
        let python = python.map(parse_python).transpose()?;
        self.jax_build(version, None, wanted, python.as_deref())
            .map_err(|refused| self.jax_hints(refused, version, wanted, python))
    }

    /// The check itself, without hints; `row`, when given, is the row
    /// `version` names.
    fn jax_build(
        &self,
        version: &str,
        row: Option<&JaxRow>,
        wanted: Option<CudaVersion>,
        python: Option<&str>,
    ) -> Result<JaxVariant, Refused> {
        let row = match row {
            Some(row) => row,
            None => find_row(&self.jax, version)?,
        };
        let variant = match wanted {
            None => JaxVariant {
                jax: row.version.clone(),
                jaxlib: row.jaxlib.clone(),
                cuda: None,
                requirement: format!("jax[cpu]=={}", row.version),
                plugin: None,
                pjrt: None,
                nvidia_suffix: None,
            },
            Some(c) => jax_plugin(row, c)?,
        };
        check_python(row, &row.version, python)?;
        Ok(variant)
    }

    /// The refusal with the nearby combinations the same check accepts:
    /// the CUDA majors of the release, and the releases with a plugin for
    /// the asked CUDA.
    fn jax_hints(
        &self,
        refused: Refused,
        version: &str,
        cuda: Option<CudaVersion>,
        python: Option<String>,
    ) -> Incompatible {
        let accepts = |v: &str, row: Option<&_>, c: Option<CudaVersion>, p: Option<&str>| {
            self.jax_build(v, row, c, p).is_ok()
        };
        let mut cudas: Vec<CudaVersion> = self
            .jax
            .iter()
            .flat_map(|r| r.cuda.iter().filter_map(|m| CudaVersion::parse(m)))
            .collect();
        cudas.sort();
        cudas.dedup();
        let h = Hints {
            rows: &self.jax,
            accepts: &accepts,
            cudas,
            by_major: true,
            cuda,
            python,
        };
        let row = find_row(&self.jax, version).ok();
        let suggestions = match refused.why {
            Why::Malformed => Vec::new(),
            Why::Unknown => vec![h.newest()],
            Why::Python => vec![
                row.and_then(|r| h.pythons_for(&r.version)),
                h.releases_for_python(),
            ],
            Why::Build => vec![
                row.and_then(|r| h.cudas_for(&r.version)),
                h.releases_for(cuda),
            ],
        };
        suggestions
            .into_iter()
            .fold(Incompatible::new(refused.message), |err, s| {
                err.suggest(&self.jax, s)
            })
    }
}

/// The `jax[cudaNN]` install of `row` for `cuda`.
fn jax_plugin(row: &JaxRow, cuda: CudaVersion) -> Result<JaxVariant, Refused> {
    let major = cuda.major.to_string();
    if !row.cuda.contains(&major) {
        return Err(Refused::new(
            Why::Build,
            format!(
                "jax {} has no build for CUDA {}",
                row.version,
                cuda.minor_version()
            ),
        ));
    }
    Ok(JaxVariant {
        jax: row.version.clone(),
        jaxlib: row.jaxlib.clone(),
        cuda: Some(major.clone()),
        requirement: format!("jax[cuda{major}]=={}", row.version),
        plugin: Some(format!("jax-cuda{major}-plugin")),
        pjrt: Some(format!("jax-cuda{major}-pjrt")),
        nvidia_suffix: Some(format!("cu{major}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_12_picks_the_cuda12_plugin() {
        assert_eq!(
            Compat::builtin().jax("0.4.30", Some("12.4"), Some("3.11")),
            Ok(JaxVariant {
                jax: "0.4.30".into(),
                jaxlib: "0.4.30".into(),
                cuda: Some("12".into()),
                requirement: "jax[cuda12]==0.4.30".into(),
                plugin: Some("jax-cuda12-plugin".into()),
                pjrt: Some("jax-cuda12-pjrt".into()),
                nvidia_suffix: Some("cu12".into()),
            })
        );
        // jax 0.4.35 pins jaxlib 0.4.34.
        assert_eq!(
            Compat::builtin()
                .jax("0.4.35", None, Some("3.12"))
                .unwrap()
                .jaxlib,
            "0.4.34"
        );
    }

    #[test]
    fn cuda_13_only_where_a_plugin_was_published() {
        let err = Compat::builtin()
            .jax("0.7.0", Some("13.0"), Some("3.12"))
            .unwrap_err();
        assert_eq!(err.message, "jax 0.7.0 has no build for CUDA 13.0");
        assert_eq!(err.alternatives[0], "CUDA 12.x with jax 0.7.0");
        assert!(err.alternatives[1].starts_with("jax 0.7.2 to "), "{err}");
        let v = Compat::builtin()
            .jax("0.7.2", Some("13.0"), Some("3.12"))
            .unwrap();
        assert_eq!(v.plugin.as_deref(), Some("jax-cuda13-plugin"));
        let err = Compat::builtin()
            .jax("0.4.30", Some("11.8"), Some("3.11"))
            .unwrap_err();
        assert_eq!(err.alternatives, ["CUDA 12.x with jax 0.4.30"]);
    }

    #[test]
    fn python_and_cpu() {
        let err = Compat::builtin()
            .jax("0.4.30", None, Some("3.13"))
            .unwrap_err();
        assert_eq!(err.message, "jax 0.4.30 has no wheels for Python 3.13");
        let v = Compat::builtin().jax("0.4.30", None, Some("3.12")).unwrap();
        assert_eq!(v.requirement, "jax[cpu]==0.4.30");
        assert_eq!(v.plugin, None);
    }
}
