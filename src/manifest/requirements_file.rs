//! pip requirement files named by `[pip] requirements`: read after
//! `ml.toml` (through a reader the caller gives, so this stays pure), their
//! requirements merged into `[pip] packages`, their `-c` constraints and
//! index options checked against the manifest, and each file's sha256 kept
//! so an edit to any of them (or to a file they pull in) changes the
//! fingerprint. Errors point at `FILE:LINE:COL`.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use super::pep508::{Requirement, Specifier, VersionOrUrl};
use super::{Manifest, Pip, RequirementFile};
use crate::error::{ErrorKind, FileError};

/// Where a requirement was written.
#[derive(Debug, Clone)]
struct Origin {
    path: String,
    line: usize,
    column: usize,
    text: String,
}

impl Origin {
    fn error(&self, message: impl Into<String>, hint: impl Into<String>) -> FileError {
        FileError {
            kind: ErrorKind::Manifest,
            path: self.path.clone(),
            line: Some(self.line),
            column: Some(self.column),
            message: message.into(),
            hint: Some(hint.into()),
            snippet: Some(self.text.clone()),
        }
    }

    fn shown(&self) -> String {
        format!("{}:{}", self.path, self.line)
    }
}

/// One requirement with where it came from.
#[derive(Debug, Clone)]
struct Entry {
    requirement: Requirement,
    origin: Origin,
}

/// What the files say, before it is merged into the manifest.
#[derive(Default)]
struct Read {
    requirements: Vec<Entry>,
    constraints: Vec<Entry>,
    index_url: Vec<(String, Origin)>,
    extra_index_urls: Vec<(String, Origin)>,
    files: Vec<RequirementFile>,
    seen: BTreeSet<String>,
}

/// Read `manifest`'s `[pip] requirements` with `read` (a path relative to
/// the project → its bytes) and merge them in. A manifest without
/// requirement files is returned as it is.
pub fn expand(
    mut manifest: Manifest,
    manifest_path: &str,
    read: &dyn Fn(&str) -> std::io::Result<Vec<u8>>,
) -> Result<Manifest, FileError> {
    let Some(pip) = manifest.pip.as_mut() else {
        return Ok(manifest);
    };
    if pip.requirements.is_empty() {
        return Ok(manifest);
    }
    pip.written = Some(Box::new(pip.clone()));
    let mut state = Read::default();
    for path in pip.requirements.clone() {
        read_file(&path, false, None, read, &mut state, manifest_path)?;
    }
    merge(pip, state, manifest.framework.as_ref(), manifest_path)?;
    Ok(manifest)
}

/// `dir/of/including.txt` + `other.txt` → `dir/of/other.txt`, folding `.`
/// and `..`; `None` when it leaves the project.
fn relative_to(including: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = including.split('/').collect();
    parts.pop();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn read_file(
    path: &str,
    constraints: bool,
    from: Option<&Origin>,
    read: &dyn Fn(&str) -> std::io::Result<Vec<u8>>,
    state: &mut Read,
    manifest_path: &str,
) -> Result<(), FileError> {
    if !state.seen.insert(path.to_string()) {
        // pip reads a file once however often it is named; so does mlr.
        return Ok(());
    }
    let bytes = read(path).map_err(|e| {
        let message = format!("cannot read requirement file `{path}`: {e}");
        match from {
            Some(o) => o.error(message, "the path is relative to the file that names it"),
            None => FileError::whole_file(manifest_path, message)
                .with_hint("[pip] requirements are paths relative to ml.toml"),
        }
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| FileError::whole_file(path, "the requirement file is not valid UTF-8"))?;
    state.files.push(RequirementFile {
        path: path.to_string(),
        sha256: hex::encode(Sha256::digest(&bytes)),
    });
    for (line, logical) in logical_lines(text) {
        let content = strip_comment(&logical.text);
        let trimmed = content.trim();
        if trimmed.is_empty() {
            continue;
        }
        let column = content.len() - content.trim_start().len() + 1;
        let origin = Origin {
            path: path.to_string(),
            line,
            column,
            text: logical.first_line.clone(),
        };
        if trimmed.starts_with('-') {
            let (option, value) = split_option(trimmed);
            let value = value.map(str::trim).filter(|v| !v.is_empty());
            let needs_value = || {
                value.ok_or_else(|| {
                    origin.error(format!("`{option}` needs a value"), "write `-r other.txt`")
                })
            };
            match option {
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    let target = needs_value()?;
                    if target.contains("://") {
                        return Err(origin.error(
                            format!("`{option} {target}`: mlr reads requirement files from the project only"),
                            "download the file into the project and name its path",
                        ));
                    }
                    let Some(next) = relative_to(path, target).filter(|p| !p.starts_with('/'))
                    else {
                        return Err(origin.error(
                            format!("`{option} {target}` leaves the project directory"),
                            "requirement files must be inside the directory of ml.toml",
                        ));
                    };
                    let as_constraints = constraints || matches!(option, "-c" | "--constraint");
                    read_file(
                        &next,
                        as_constraints,
                        Some(&origin),
                        read,
                        state,
                        manifest_path,
                    )?;
                }
                "-i" | "--index-url" => state.index_url.push((
                    needs_value()?.trim_end_matches('/').to_string(),
                    origin.clone(),
                )),
                "--extra-index-url" => state.extra_index_urls.push((
                    needs_value()?.trim_end_matches('/').to_string(),
                    origin.clone(),
                )),
                _ => {
                    return Err(origin.error(
                        format!("pip option `{option}` is not supported in requirement files mlr reads"),
                        "mlr understands -r, -c, --index-url and --extra-index-url; editable (-e) and --find-links sources cannot be locked",
                    ));
                }
            }
            continue;
        }
        // `--hash` options after a requirement: ml.lock pins its own hashes.
        let requirement_text = match trimmed.find(" --") {
            Some(i) => {
                let rest = &trimmed[i..];
                if rest.split_whitespace().all(|t| t.starts_with("--hash")) {
                    trimmed[..i].trim()
                } else {
                    return Err(origin.error(
                        format!("per-requirement options are not supported: `{}`", rest.trim()),
                        "remove the option; only --hash is accepted (and not needed: ml.lock pins hashes)",
                    ));
                }
            }
            None => trimmed,
        };
        let requirement = Requirement::parse(requirement_text).map_err(|e| {
            origin.error(
                format!("invalid requirement `{requirement_text}`: {e}"),
                "write a PEP 508 requirement, for example `numpy>=1.26,<2`",
            )
        })?;
        let mut requirement = requirement;
        if let VersionOrUrl::Url(url) = &requirement.version {
            let kind = super::syntax::direct_url(url)
                .map_err(|e| origin.error(e.message.clone(), e.hint.clone().unwrap_or_default()))?;
            // A directory is relative to the file naming it; the lock
            // names it from the project.
            if let super::syntax::DirectUrl::Path { path: rel } = kind {
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                let joined = super::syntax::join_project_path(dir, &rel).ok_or_else(|| {
                    origin.error(
                        format!("`{rel}` leaves the project"),
                        "keep the package's directory inside the project, or put it in a git repository",
                    )
                })?;
                requirement.version = VersionOrUrl::Url(format!("./{joined}"));
            }
        }
        let entry = Entry {
            requirement,
            origin,
        };
        if constraints {
            state.constraints.push(entry);
        } else {
            state.requirements.push(entry);
        }
    }
    Ok(())
}

/// A line as pip joins it (`\` at the end continues it), with the line
/// number it starts on.
struct Logical {
    text: String,
    first_line: String,
}

fn logical_lines(text: &str) -> Vec<(usize, Logical)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, Logical)> = None;
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (body, continued) = match raw.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (raw, false),
        };
        match current.as_mut() {
            Some((_, l)) => l.text.push_str(body),
            None => {
                current = Some((
                    i + 1,
                    Logical {
                        text: body.to_string(),
                        first_line: raw.to_string(),
                    },
                ))
            }
        }
        if !continued {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// pip's comment rule: `#` at the start or after white space.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// `-r file`, `-rfile`, `--requirement=file`, `--requirement file`.
fn split_option(s: &str) -> (&str, Option<&str>) {
    if let Some(long) = s.strip_prefix("--") {
        let end = long
            .find(|c: char| c == '=' || c.is_whitespace())
            .map_or(s.len(), |i| i + 2);
        let value = s[end..].strip_prefix('=').unwrap_or(&s[end..]);
        return (&s[..end], (!value.trim().is_empty()).then_some(value));
    }
    let end = s.char_indices().nth(2).map_or(s.len(), |(i, _)| i);
    let value = &s[end..];
    (&s[..end], (!value.trim().is_empty()).then_some(value))
}

/// Merge what the files say into `[pip]`.
fn merge(
    pip: &mut Pip,
    state: Read,
    framework: Option<&super::Framework>,
    manifest_path: &str,
) -> Result<(), FileError> {
    // The ml.toml requirements take part in duplicate detection too.
    let toml_origin = |text: &str| Origin {
        path: manifest_path.to_string(),
        line: 0,
        column: 0,
        text: text.to_string(),
    };
    let mut merged: Vec<Entry> = Vec::new();
    for text in &pip.packages {
        if let Ok(requirement) = Requirement::parse(text) {
            merged.push(Entry {
                requirement,
                origin: toml_origin(text),
            });
        }
    }
    for entry in state.requirements {
        let name = entry.requirement.normalized_name();
        if framework.is_some_and(|f| f.packages.contains_key(&name)) {
            return Err(entry.origin.error(
                format!("`{name}` is pinned in `[framework]` and also required here"),
                "remove it from the file, or from [framework]",
            ));
        }
        let same = merged.iter_mut().find(|m| {
            m.requirement.normalized_name() == name
                && m.requirement.marker == entry.requirement.marker
        });
        match same {
            None => merged.push(entry),
            Some(existing) => combine(existing, entry)?,
        }
    }
    pip.packages = merged.iter().map(|e| e.requirement.to_string()).collect();
    pip.constraints = state
        .constraints
        .iter()
        .map(|e| e.requirement.to_string())
        .collect();

    for (url, origin) in &state.index_url {
        match &pip.index_url {
            None => pip.index_url = Some(url.clone()),
            Some(set) if set.trim_end_matches('/') == url => {}
            Some(set) => {
                return Err(origin.error(
                    format!("`--index-url {url}` differs from the default index `{set}`"),
                    "the default index is one for all packages: make [pip] index-url and the file agree",
                ));
            }
        }
    }
    for (url, origin) in &state.extra_index_urls {
        if !pip
            .indexes
            .iter()
            .any(|i| i.url.trim_end_matches('/') == url)
        {
            let hint = if url.starts_with("https://download.pytorch.org/whl") {
                "put torch in [framework] with [cuda] version: mlr routes the torch family to the PyTorch index itself".to_string()
            } else {
                format!(
                    "mlr takes each package from one index: add `[[pip.index]]` with `url = \"{url}\"` and the `packages` it serves to ml.toml"
                )
            };
            return Err(origin.error(
                format!("`--extra-index-url {url}`: which packages it serves is not known"),
                hint,
            ));
        }
    }
    pip.files = state.files;
    Ok(())
}

/// Two requirements of one name (and marker): one when they agree, their
/// specifiers together when they differ, an error naming both places when
/// they pin two versions.
fn combine(existing: &mut Entry, new: Entry) -> Result<(), FileError> {
    let specs = |r: &Requirement| match &r.version {
        VersionOrUrl::Specifiers(s) => s.clone(),
        VersionOrUrl::Url(_) => Vec::new(),
    };
    let (mut a, b) = (specs(&existing.requirement), specs(&new.requirement));
    let pins = |s: &[Specifier]| {
        s.iter()
            .filter(|s| s.op == "==" || s.op == "===")
            .map(|s| s.version.clone())
            .collect::<BTreeSet<_>>()
    };
    let all_pins: BTreeSet<String> = pins(&a).union(&pins(&b)).cloned().collect();
    if all_pins.len() > 1 {
        let place = if existing.origin.line == 0 {
            format!("{} [pip] packages", existing.origin.path)
        } else {
            existing.origin.shown()
        };
        return Err(new.origin.error(
            format!(
                "`{}` here and `{}` at {place} pin two versions",
                new.requirement, existing.requirement
            ),
            "keep one version of the package in all requirement files",
        ));
    }
    for s in b {
        if !a.contains(&s) {
            a.push(s);
        }
    }
    for extra in new.requirement.extras {
        if !existing.requirement.extras.contains(&extra) {
            existing.requirement.extras.push(extra);
        }
    }
    existing.requirement.version = VersionOrUrl::Specifiers(a);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn manifest(pip: &str) -> Manifest {
        crate::manifest::parse(
            &format!("[base]\nimage = \"debian:bookworm\"\n\n[pip]\n{pip}"),
            "ml.toml",
        )
        .unwrap()
    }

    fn expand_with(pip: &str, files: &[(&str, &str)]) -> Result<Manifest, FileError> {
        let files: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        expand(manifest(pip), "ml.toml", &|p: &str| {
            files
                .get(p)
                .map(|t| t.as_bytes().to_vec())
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        })
    }

    #[test]
    fn a_directory_is_named_from_the_project_and_stays_inside_it() {
        let m = expand_with(
            "requirements = [\"reqs/base.txt\"]\n",
            &[(
                "reqs/base.txt",
                "mylib @ ../pkgs/mylib\ntool @ git+https://g.example/t.git@v1\n",
            )],
        )
        .unwrap();
        assert_eq!(
            m.pip.unwrap().packages,
            [
                "mylib @ ./pkgs/mylib",
                "tool @ git+https://g.example/t.git@v1"
            ]
        );
        let err = expand_with(
            "requirements = [\"reqs/base.txt\"]\n",
            &[("reqs/base.txt", "\nmylib @ ../../outside\n")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("reqs/base.txt:2:1") && err.contains("leaves the project"),
            "{err}"
        );
    }

    #[test]
    fn files_with_includes_constraints_markers_and_indexes() {
        let m = expand_with(
            "requirements = [\"requirements.txt\"]\npackages = [\"rich\"]\n\n[[pip.index]]\nname = \"corp\"\nurl = \"https://pypi.corp/simple\"\npackages = [\"corp-*\"]\n",
            &[
                (
                    "requirements.txt",
                    "# training\n--index-url https://mirror.example/simple\n--extra-index-url https://pypi.corp/simple/\n-r reqs/base.txt\n-c constraints.txt\nnumpy>=1.26 \\\n    ,<2  # pinned below 2\ntqdm; python_version >= '3.8'\ncorp-utils==1.0 --hash=sha256:abcd\n",
                ),
                ("reqs/base.txt", "torchmetrics>=0.7,<1.5\nrich>=13\n-r ../more.txt\n"),
                ("more.txt", "torchmetrics>=0.10\n-r reqs/base.txt\n"),
                ("constraints.txt", "urllib3<3\n"),
            ],
        )
        .unwrap();
        let pip = m.pip.unwrap();
        assert_eq!(
            pip.packages,
            [
                "rich>=13",
                "torchmetrics>=0.7,<1.5,>=0.10",
                "numpy>=1.26,<2",
                "tqdm; python_version >= \"3.8\"",
                "corp-utils==1.0"
            ]
        );
        assert_eq!(pip.constraints, ["urllib3<3"]);
        assert_eq!(
            pip.index_url.as_deref(),
            Some("https://mirror.example/simple")
        );
        let paths: Vec<&str> = pip.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "requirements.txt",
                "reqs/base.txt",
                "more.txt",
                "constraints.txt"
            ]
        );
        assert!(pip.files.iter().all(|f| f.sha256.len() == 64));
    }

    #[test]
    fn the_fingerprint_is_ml_toml_s_and_the_files_have_their_hashes() {
        let a = expand_with("requirements = [\"r.txt\"]\n", &[("r.txt", "numpy\n")]).unwrap();
        let b = expand_with("requirements = [\"r.txt\"]\n", &[("r.txt", "scipy\n# x\n")]).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.fingerprint(),
            manifest("requirements = [\"r.txt\"]\n").fingerprint()
        );
        let (fa, fb) = (
            &a.pip.as_ref().unwrap().files,
            &b.pip.as_ref().unwrap().files,
        );
        assert_ne!(fa[0].sha256, fb[0].sha256);
    }

    #[test]
    fn errors_point_at_the_file_line_and_column() {
        let cases: &[(&str, &str, (usize, usize), &str)] = &[
            ("a\n  b==1 ==2\n", "invalid requirement", (2, 3), "r.txt"),
            ("-e .\n", "`-e` is not supported", (1, 1), "r.txt"),
            (
                "x @ hg+https://h.example/x\n",
                "mlr locks git repositories only",
                (1, 1),
                "r.txt",
            ),
            ("x==1\nx==2\n", "pin two versions", (2, 1), "r.txt"),
            (
                "--extra-index-url https://other.example/simple\n",
                "which packages it serves",
                (1, 1),
                "r.txt",
            ),
            (
                "-r ../../etc/passwd\n",
                "leaves the project",
                (1, 1),
                "r.txt",
            ),
            (
                "-r missing.txt\n",
                "cannot read requirement file `missing.txt`",
                (1, 1),
                "r.txt",
            ),
            (
                "numpy --global-option=x\n",
                "per-requirement options",
                (1, 1),
                "r.txt",
            ),
        ];
        for (text, says, (line, column), path) in cases {
            let e = expand_with("requirements = [\"r.txt\"]\n", &[("r.txt", text)]).unwrap_err();
            assert!(e.message.contains(says), "{text}: {}", e.message);
            assert_eq!(
                (e.path.as_str(), e.line, e.column),
                (*path, Some(*line), Some(*column)),
                "{text}"
            );
        }
        let e = expand_with(
            "requirements = [\"r.txt\"]\nindex-url = \"https://a.example/simple\"\n",
            &[("r.txt", "-i https://b.example/simple\n")],
        )
        .unwrap_err();
        assert!(
            e.message.contains("differs from the default index"),
            "{}",
            e.message
        );
        let e = expand_with("requirements = [\"nope.txt\"]\n", &[]).unwrap_err();
        assert_eq!(e.path, "ml.toml");
    }

    #[test]
    fn a_pytorch_extra_index_points_at_the_framework() {
        let e = expand_with(
            "requirements = [\"r.txt\"]\n",
            &[(
                "r.txt",
                "--extra-index-url https://download.pytorch.org/whl/cu121\ntorch==2.5.1\n",
            )],
        )
        .unwrap_err();
        assert!(e.hint.unwrap().contains("[framework]"));
    }
}
