//! jax releases and their CUDA plugins: `jax[cudaNN]` installs jaxlib plus
//! `jax-cudaNN-plugin` and `jax-cudaNN-pjrt`, which bring CUDA as pip wheels.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::torch::parse_cuda;
use super::version::{describe_subset, join_or, python_minor, release, same_release};
use super::{Compat, Incompatible, python_problems, source_problems};

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

impl JaxRow {
    pub(crate) fn same_key(a: &JaxRow, b: &JaxRow) -> bool {
        same_release(&a.version, &b.version)
    }

    pub(crate) fn problems(&self) -> Vec<String> {
        let what = format!("jax {}", self.version);
        let mut out = Vec::new();
        for v in [&self.version, &self.jaxlib] {
            if release(v).is_none() {
                out.push(format!("{what}: `{v}` is not a release version"));
            }
        }
        out.extend(python_problems(&what, &self.python));
        for c in &self.cuda {
            if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) {
                out.push(format!("{what}: cuda `{c}` is not a CUDA major (`12`)"));
            }
        }
        out.extend(source_problems(&what, &self.source));
        out
    }
}

impl Compat {
    /// The jax install for `version`, `cuda` (any `12.x` picks the `cuda12`
    /// plugin; `None` for CPU) and `python`.
    pub fn jax(
        &self,
        version: &str,
        cuda: Option<&str>,
        python: &str,
    ) -> Result<JaxVariant, Incompatible> {
        let version = version.trim();
        let all: Vec<&str> = self.jax.iter().map(|r| r.version.as_str()).collect();
        let row = self
            .jax
            .iter()
            .find(|r| same_release(&r.version, version))
            .ok_or_else(|| {
                Incompatible::new(format!(
                    "jax {version} is not in mlr's compatibility table ({} to {}); describe it \
                     with a [[compat.jax]] row in ml.toml",
                    all.first().copied().unwrap_or("-"),
                    all.last().copied().unwrap_or("-"),
                ))
                .with(all.last().map(|v| format!("jax {v}")).unwrap_or_default())
            })?;
        let wanted = cuda.map(parse_cuda).transpose()?;

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
            Some(c) => {
                let major = c.major.to_string();
                if !row.cuda.contains(&major) {
                    let mut err = Incompatible::new(format!(
                        "jax {} has no build for CUDA {}",
                        row.version,
                        c.minor_version()
                    ));
                    if !row.cuda.is_empty() {
                        let majors: Vec<String> =
                            row.cuda.iter().map(|m| format!("{m}.x")).collect();
                        err = err.with(format!(
                            "CUDA {} with jax {}",
                            join_or(&majors),
                            row.version
                        ));
                    }
                    let fits: Vec<&str> = self
                        .jax
                        .iter()
                        .filter(|r| r.cuda.contains(&major))
                        .map(|r| r.version.as_str())
                        .collect();
                    if !fits.is_empty() {
                        err = err.with(format!(
                            "jax {} with CUDA {}",
                            describe_subset(&all, &fits),
                            c.minor_version()
                        ));
                    }
                    return Err(err);
                }
                JaxVariant {
                    jax: row.version.clone(),
                    jaxlib: row.jaxlib.clone(),
                    cuda: Some(major.clone()),
                    requirement: format!("jax[cuda{major}]=={}", row.version),
                    plugin: Some(format!("jax-cuda{major}-plugin")),
                    pjrt: Some(format!("jax-cuda{major}-pjrt")),
                    nvidia_suffix: Some(format!("cu{major}")),
                }
            }
        };

        let py = python_minor(python)
            .ok_or_else(|| Incompatible::new(format!("`{python}` is not a Python version")))?;
        if !row.python.contains(&py) {
            let with_py: Vec<&str> = self
                .jax
                .iter()
                .filter(|r| r.python.contains(&py))
                .map(|r| r.version.as_str())
                .collect();
            let mut err =
                Incompatible::new(format!("jax {} has no wheels for Python {py}", row.version))
                    .with(format!(
                        "Python {} with jax {}",
                        join_or(&row.python),
                        row.version
                    ));
            if !with_py.is_empty() {
                err = err.with(format!(
                    "jax {} with Python {py}",
                    describe_subset(&all, &with_py)
                ));
            }
            return Err(err);
        }
        Ok(variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_12_picks_the_cuda12_plugin() {
        let v = Compat::builtin()
            .jax("0.4.30", Some("12.4"), "3.11")
            .unwrap();
        assert_eq!(
            v,
            JaxVariant {
                jax: "0.4.30".into(),
                jaxlib: "0.4.30".into(),
                cuda: Some("12".into()),
                requirement: "jax[cuda12]==0.4.30".into(),
                plugin: Some("jax-cuda12-plugin".into()),
                pjrt: Some("jax-cuda12-pjrt".into()),
                nvidia_suffix: Some("cu12".into()),
            }
        );
        // jax 0.4.35 pins jaxlib 0.4.34.
        assert_eq!(
            Compat::builtin()
                .jax("0.4.35", None, "3.12")
                .unwrap()
                .jaxlib,
            "0.4.34"
        );
    }

    #[test]
    fn cuda_13_only_where_a_plugin_was_published() {
        let err = Compat::builtin()
            .jax("0.7.0", Some("13.0"), "3.12")
            .unwrap_err();
        assert_eq!(err.message, "jax 0.7.0 has no build for CUDA 13.0");
        assert_eq!(err.alternatives[0], "CUDA 12.x with jax 0.7.0");
        assert!(err.alternatives[1].starts_with("jax 0.7.2 to "), "{err}");
        let v = Compat::builtin()
            .jax("0.7.2", Some("13.0"), "3.12")
            .unwrap();
        assert_eq!(v.plugin.as_deref(), Some("jax-cuda13-plugin"));
        let err = Compat::builtin()
            .jax("0.4.30", Some("11.8"), "3.11")
            .unwrap_err();
        assert_eq!(err.alternatives, ["CUDA 12.x with jax 0.4.30"]);
    }

    #[test]
    fn python_and_cpu() {
        let err = Compat::builtin().jax("0.4.30", None, "3.13").unwrap_err();
        assert_eq!(err.message, "jax 0.4.30 has no wheels for Python 3.13");
        let v = Compat::builtin().jax("0.4.30", None, "3.12").unwrap();
        assert_eq!(v.requirement, "jax[cpu]==0.4.30");
        assert_eq!(v.plugin, None);
    }
}
