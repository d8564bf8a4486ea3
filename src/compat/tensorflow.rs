//! tensorflow release series and the CUDA/cuDNN they were built and tested
//! with. One Linux wheel per release serves CPU and GPU; since 2.14
//! `tensorflow[and-cuda]` also installs CUDA and cuDNN as pip wheels.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::framework::{FrameworkRow, check_python, find_row, versions};
use super::torch::parse_cuda;
use super::version::{CudaVersion, describe_subset, release};
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
    fn row_key(asked: &str) -> Result<Cow<'_, str>, Incompatible> {
        let series = release(asked)
            .filter(|r| r.len() >= 2)
            .ok_or_else(|| Incompatible::new(format!("`{asked}` is not a tensorflow release")))?;
        Ok(Cow::Owned(format!("{}.{}", series[0], series[1])))
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
    /// (`None` for CPU) and `python`.
    ///
    /// A release runs on any CUDA of its tested major (minor-version
    /// compatibility); a release without `[and-cuda]` takes CUDA from the
    /// image, so the image must be at least the tested minor.
    pub fn tensorflow(
        &self,
        version: &str,
        cuda: Option<&str>,
        python: &str,
    ) -> Result<TfVariant, Incompatible> {
        let version = version.trim();
        let row = find_row(&self.tensorflow, version)?;
        let wanted = cuda.map(parse_cuda).transpose()?;
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
                    return Err(Incompatible::new(format!(
                        "tensorflow {version} has no GPU build"
                    ))
                    .with(self.tensorflow_alternatives_for(c)));
                };
                let older_than_built =
                    !row.and_cuda && c.major == tested.major && c.minor < tested.minor;
                if c.major != tested.major || older_than_built {
                    let why = if older_than_built {
                        format!(
                            "tensorflow {version} uses the image's CUDA libraries and was built \
                             for CUDA {tested}; CUDA {} is older",
                            c.minor_version()
                        )
                    } else {
                        format!(
                            "tensorflow {version} has no build for CUDA {} (it was built for \
                             CUDA {tested})",
                            c.minor_version()
                        )
                    };
                    return Err(Incompatible::new(why)
                        .with(format!("CUDA {tested} with tensorflow {version}"))
                        .with(self.tensorflow_alternatives_for(c)));
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

        check_python(&self.tensorflow, row, version, python)?;
        Ok(variant)
    }

    /// The series that run on `cuda`.
    fn tensorflow_alternatives_for(&self, cuda: CudaVersion) -> String {
        let fits: Vec<&str> = self
            .tensorflow
            .iter()
            .filter(|r| {
                r.tested_cuda()
                    .is_some_and(|t| t.major == cuda.major && (r.and_cuda || t.minor <= cuda.minor))
            })
            .map(|r| r.version.as_str())
            .collect();
        if fits.is_empty() {
            return String::new();
        }
        format!(
            "tensorflow {} with CUDA {}",
            describe_subset(&versions(&self.tensorflow), &fits),
            cuda.minor_version()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_cuda_releases_install_cuda_from_pip() {
        assert_eq!(
            Compat::builtin().tensorflow("2.17.0", Some("12.4"), "3.11"),
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
                .tensorflow("2.18.1", Some("12.1"), "3.12")
                .is_ok()
        );
    }

    #[test]
    fn older_releases_need_the_image_cuda_and_cudnn() {
        let v = Compat::builtin()
            .tensorflow("2.12", Some("11.8"), "3.10")
            .unwrap();
        assert_eq!(v.requirement, "tensorflow==2.12.*");
        assert_eq!(v.cudnn.as_deref(), Some("8.6"));
        assert!(!v.and_cuda);
        let err = Compat::builtin()
            .tensorflow("2.12.0", Some("11.2"), "3.10")
            .unwrap_err();
        assert!(err.message.contains("CUDA 11.2 is older"), "{err}");
    }

    #[test]
    fn wrong_cuda_major_lists_alternatives() {
        let err = Compat::builtin()
            .tensorflow("2.12.0", Some("12.4"), "3.10")
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
            .tensorflow("2.15.0", None, "3.12")
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
            .tensorflow("2.16.1", None, "3.12")
            .unwrap();
        assert_eq!(v.requirement, "tensorflow==2.16.1");
        assert_eq!(v.cuda, None);
        let err = Compat::builtin()
            .tensorflow("3.0.0", None, "3.12")
            .unwrap_err();
        assert!(err.message.contains("[[compat.tensorflow]]"), "{err}");
    }
}
