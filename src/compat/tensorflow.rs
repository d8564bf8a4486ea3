//! tensorflow release series and the CUDA/cuDNN they were built and tested
//! with. One Linux wheel per release serves CPU and GPU; since 2.14
//! `tensorflow[and-cuda]` also installs CUDA and cuDNN as pip wheels.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::framework::{
    Changes, CudaChoice, FrameworkRow, Hints, Refused, Why, check_python, find_row, parse_python,
};
use super::torch::parse_cuda;
use super::version::{CudaVersion, release};
use super::{Compat, Incompatible};

/// One tensorflow release series (`data/tensorflow.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TensorflowRow {
    /// The series, `2.17`: covers 2.17.0, 2.17.1, ...
    pub version: String,
    /// CPython `3.X` versions with wheels.
    pub python: Vec<String>,
    /// The tested CUDA, `12.3`; absent for a series without GPU support.
    pub cuda: Option<String>,
    /// The tested cuDNN, `8.9`.
    pub cudnn: Option<String>,
    /// Whether `tensorflow[and-cuda]` exists.
    #[serde(default)]
    pub and_cuda: bool,
    /// The suffix of the `nvidia-*` wheels `[and-cuda]` pulls, `cu12`.
    pub nvidia_suffix: Option<String>,
    pub source: Option<String>,
    pub pypi: Option<String>,
    #[serde(default = "super::default_true")]
    pub verified: bool,
    pub note: Option<String>,
}

impl TensorflowRow {
    fn tested_cuda(&self) -> Option<CudaVersion> {
        self.cuda.as_deref().and_then(CudaVersion::parse)
    }
}

/// The tensorflow install for a version, CUDA and Python.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TfVariant {
    /// As asked: `2.17.0` (or a series, `2.17`).
    pub tensorflow: String,
    /// The CUDA the release was tested with; `None` for CPU.
    pub cuda: Option<String>,
    /// The cuDNN it was tested with; the base image must provide it unless
    /// `and_cuda`.
    pub cudnn: Option<String>,
    /// Install `tensorflow[and-cuda]`: CUDA and cuDNN come as pip wheels.
    pub and_cuda: bool,
    /// The requirement to resolve: `tensorflow[and-cuda]==2.17.0`.
    pub requirement: String,
    /// The suffix of the `nvidia-*` wheels `[and-cuda]` pulls, `cu12`.
    pub nvidia_suffix: Option<String>,
}

impl FrameworkRow for TensorflowRow {
    const NAME: &'static str = "tensorflow";

    fn fields(&self) -> (&str, &[String], &Option<String>) {
        (&self.version, &self.python, &self.source)
    }

    /// Rows are series: `2.17.1` is served by the row `2.17`.
    fn row_key(asked: &str) -> Result<String, Refused> {
        let series = release(asked).filter(|r| r.len() >= 2).ok_or_else(|| {
            Refused::new(
                Why::Malformed,
                format!("`{asked}` is not a tensorflow release"),
            )
        })?;
        Ok(format!("{}.{}", series[0], series[1]))
    }

    fn release_problems(&self, _what: &str) -> Vec<String> {
        if release(&self.version).is_none_or(|r| r.len() != 2) {
            return vec![format!(
                "tensorflow `{}` is not a release series `MAJOR.MINOR`",
                self.version
            )];
        }
        Vec::new()
    }

    fn build_problems(&self, what: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(c) = &self.cuda {
            if CudaVersion::parse(c).is_none() {
                out.push(format!("{what}: `{c}` is not a CUDA version"));
            }
        }
        if self.and_cuda && self.cuda.is_none() {
            out.push(format!("{what}: and_cuda needs the tested `cuda`"));
        }
        out
    }
}

impl Compat {
    /// The tensorflow install for `version` (`2.17.0` or `2.17`), `cuda`
    /// (`None` for CPU) and `python` (`None` when not known yet).
    ///
    /// A release runs on any CUDA of its tested major (minor-version
    /// compatibility); a release without `[and-cuda]` takes CUDA from the
    /// image, so the image must be at least the tested minor.
    pub fn tensorflow(
        &self,
        version: &str,
        cuda: Option<&str>,
        python: Option<&str>,
    ) -> Result<TfVariant, Incompatible> {
        let wanted = cuda.map(parse_cuda).transpose()?;
        let python = python.map(parse_python).transpose()?;
        self.tensorflow_build(version, None, wanted, python.as_deref())
            .map_err(|refused| self.tensorflow_hints(refused, version, wanted, python))
    }

    /// The check itself, without hints; `row`, when given, is the row
    /// `version` names.
    fn tensorflow_build(
        &self,
        version: &str,
        row: Option<&TensorflowRow>,
        wanted: Option<CudaVersion>,
        python: Option<&str>,
    ) -> Result<TfVariant, Refused> {
        let version = version.trim();
        let row = match row {
            Some(row) => row,
            None => find_row(&self.tensorflow, version)?,
        };
        let pin = match release(version).map(|r| r.len()) {
            Some(2) => format!("=={version}.*"),
            _ => format!("=={version}"),
        };

        let variant = match wanted {
            None => TfVariant {
                tensorflow: version.to_owned(),
                cuda: None,
                cudnn: None,
                and_cuda: false,
                requirement: format!("tensorflow{pin}"),
                nvidia_suffix: None,
            },
            Some(c) => {
                let Some(tested) = row.tested_cuda() else {
                    return Err(Refused::new(
                        Why::Build,
                        format!("tensorflow {version} has no GPU build"),
                    ));
                };
                let older_than_built =
                    !row.and_cuda && c.major == tested.major && c.minor < tested.minor;
                if older_than_built {
                    return Err(Refused::new(
                        Why::Build,
                        format!(
                            "tensorflow {version} uses the image's CUDA libraries and was built \
                             for CUDA {tested}; CUDA {} is older",
                            c.minor_version()
                        ),
                    ));
                }
                if c.major != tested.major {
                    return Err(Refused::new(
                        Why::Build,
                        format!(
                            "tensorflow {version} has no build for CUDA {} (it was built for \
                             CUDA {tested})",
                            c.minor_version()
                        ),
                    ));
                }
                TfVariant {
                    tensorflow: version.to_owned(),
                    cuda: Some(tested.to_string()),
                    cudnn: row.cudnn.clone(),
                    and_cuda: row.and_cuda,
                    requirement: if row.and_cuda {
                        format!("tensorflow[and-cuda]{pin}")
                    } else {
                        format!("tensorflow{pin}")
                    },
                    nvidia_suffix: if row.and_cuda {
                        Some(
                            row.nvidia_suffix
                                .clone()
                                .unwrap_or_else(|| format!("cu{}", tested.major)),
                        )
                    } else {
                        None
                    },
                }
            }
        };

        check_python(row, version, python)?;
        Ok(variant)
    }

    /// The refusal with the nearby combinations the same check accepts:
    /// the release's tested CUDA, and the series that run on the asked one.
    fn tensorflow_hints(
        &self,
        refused: Refused,
        version: &str,
        cuda: Option<CudaVersion>,
        python: Option<String>,
    ) -> Incompatible {
        let version = version.trim();
        let accepts = |v: &str, row: Option<&_>, c: Option<CudaVersion>, p: Option<&str>| {
            self.tensorflow_build(v, row, c, p).is_ok()
        };
        let mut cudas: Vec<CudaVersion> = self
            .tensorflow
            .iter()
            .filter_map(TensorflowRow::tested_cuda)
            .collect();
        cudas.sort();
        cudas.dedup();
        let h = Hints {
            rows: &self.tensorflow,
            accepts: &accepts,
            cudas,
            by_major: false,
            cuda,
            python,
        };
        let tested = find_row(&self.tensorflow, version)
            .ok()
            .and_then(TensorflowRow::tested_cuda);
        let suggestions = match refused.why {
            Why::Malformed => Vec::new(),
            Why::Unknown => vec![h.newest()],
            Why::Python => vec![h.pythons_for(version), h.releases_for_python()],
            Why::Build => vec![
                tested.and_then(|t| {
                    h.exactly(
                        version,
                        CudaChoice::Versions(vec![t.to_string()]),
                        Changes::Cuda,
                        None,
                    )
                }),
                h.releases_for(cuda),
            ],
        };
        suggestions
            .into_iter()
            .fold(Incompatible::new(refused.message), |err, s| {
                err.suggest(&self.tensorflow, s)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_cuda_releases_install_cuda_from_pip() {
        assert_eq!(
            Compat::builtin().tensorflow("2.17.0", Some("12.4"), Some("3.11")),
            Ok(TfVariant {
                tensorflow: "2.17.0".into(),
                cuda: Some("12.3".into()),
                cudnn: Some("8.9".into()),
                and_cuda: true,
                requirement: "tensorflow[and-cuda]==2.17.0".into(),
                nvidia_suffix: Some("cu12".into()),
            })
        );
        // Older minor is fine: the wheels bring their own CUDA.
        assert!(
            Compat::builtin()
                .tensorflow("2.18.1", Some("12.1"), Some("3.12"))
                .is_ok()
        );
    }

    #[test]
    fn older_releases_need_the_image_cuda_and_cudnn() {
        let v = Compat::builtin()
            .tensorflow("2.12", Some("11.8"), Some("3.10"))
            .unwrap();
        assert_eq!(v.requirement, "tensorflow==2.12.*");
        assert_eq!(v.cudnn.as_deref(), Some("8.6"));
        assert!(!v.and_cuda);
        let err = Compat::builtin()
            .tensorflow("2.12.0", Some("11.2"), Some("3.10"))
            .unwrap_err();
        assert!(err.message.contains("CUDA 11.2 is older"), "{err}");
    }

    #[test]
    fn wrong_cuda_major_lists_alternatives() {
        let err = Compat::builtin()
            .tensorflow("2.12.0", Some("12.4"), Some("3.10"))
            .unwrap_err();
        assert_eq!(
            err.message,
            "tensorflow 2.12.0 has no build for CUDA 12.4 (it was built for CUDA 11.8)"
        );
        assert_eq!(err.alternatives[0], "CUDA 11.8 with tensorflow 2.12.0");
        assert!(
            err.alternatives[1].starts_with("tensorflow 2.15 to "),
            "{err}"
        );
    }

    #[test]
    fn python_and_cpu() {
        let err = Compat::builtin()
            .tensorflow("2.15.0", None, Some("3.12"))
            .unwrap_err();
        assert_eq!(
            err.message,
            "tensorflow 2.15.0 has no wheels for Python 3.12"
        );
        assert!(
            err.alternatives[1].starts_with("tensorflow 2.16 to "),
            "{err}"
        );
        let v = Compat::builtin()
            .tensorflow("2.16.1", None, Some("3.12"))
            .unwrap();
        assert_eq!(v.requirement, "tensorflow==2.16.1");
        assert_eq!(v.cuda, None);
        let err = Compat::builtin()
            .tensorflow("3.0.0", None, Some("3.12"))
            .unwrap_err();
        assert!(err.message.contains("[[compat.tensorflow]]"), "{err}");
    }
}
