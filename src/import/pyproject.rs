//! `pyproject.toml`: `[project]` name, `requires-python` (a `[python]
//! version` when it pins a minor), `dependencies` as `[pip] packages`,
//! each `[project.optional-dependencies]` and `[dependency-groups]` group
//! as a `[profile.NAME]`, and uv's indexes as `[[pip.index]]` sketches.

use std::collections::BTreeSet;

use toml_edit::{Item as TomlItem, Value};

use super::requirements::{Reader, is_url_or_path, pytorch_variant};
use super::{Draft, ImportError, IndexSketch, NoFiles, Origin, PipAdded, Section};
use crate::manifest::pep508::{Requirement, VersionOrUrl};
use crate::manifest::syntax;

/// Reads a `pyproject.toml` into a draft.
pub fn import(input: &str, text: &str) -> Result<Draft, ImportError> {
    let doc = toml_edit::Document::parse(text).map_err(|e| {
        let message = e.message().lines().next().unwrap_or("").to_string();
        ImportError::at(
            e.span().map_or(0, |s| s.start),
            format!("invalid TOML: {message}"),
        )
    })?;
    let root = doc.as_table();
    let p = Parts { input, text };
    let mut draft = Draft::new(input);
    let no_files = NoFiles;
    let mut reader = Reader::new(&no_files);
    let project = root.get("project");
    let project_name = match project {
        Some(item) => {
            let table = item
                .as_table_like()
                .ok_or_else(|| p.error(item.span(), "expected a table for `project`"))?;
            let name = table
                .get("name")
                .map(|n| p.string(n, "project.name"))
                .transpose()?;
            if let Some((name, origin)) = &name {
                draft.set_name(name, Some(origin.clone()));
            }
            if let Some(item) = table.get("requires-python") {
                let (spec, origin) = p.string(item, "project.requires-python")?;
                python(&mut draft, &spec, origin);
            }
            if let Some(item) = table.get("dependencies") {
                for (req, origin) in p.strings(item, "project.dependencies")? {
                    requirement(&mut draft, &mut reader, &req, origin);
                }
            }
            name.map(|(n, _)| crate::package_name::normalize(&n))
        }
        None => None,
    };
    // Groups: optional dependencies first, then PEP 735 dependency groups.
    let mut groups: Groups = Vec::new();
    if let Some(item) = project
        .and_then(|t| t.as_table_like())
        .and_then(|t| t.get("optional-dependencies"))
    {
        groups.extend(p.groups(item, "project.optional-dependencies")?);
    }
    if let Some(item) = root.get("dependency-groups") {
        groups.extend(p.groups(item, "dependency-groups")?);
    }
    for (group, _) in &groups {
        let mut seen = BTreeSet::new();
        let reqs = expand_group(group, &groups, project_name.as_deref(), &mut seen);
        profile(&mut draft, group, reqs);
    }
    uv_indexes(&mut draft, &p, root)?;
    if let Some(name) = &project_name {
        draft.note(
            Section::Pip,
            None,
            format!(
                "`{name}` itself is not installed: these are its dependencies. Copy its \
                 source into the image with [image] copy."
            ),
        );
    }
    reader.finish(&mut draft);
    Ok(draft)
}

/// Dependency groups: each name with its requirements and their lines.
type Groups = Vec<(String, Vec<(String, Origin)>)>;

/// The input's name and text, for origins and errors.
struct Parts<'a> {
    input: &'a str,
    text: &'a str,
}

impl Parts<'_> {
    fn origin(&self, span: Option<std::ops::Range<usize>>) -> Origin {
        let line = span.map_or(1, |s| crate::error::locate(self.text, s.start).0);
        Origin::new(self.input, line)
    }

    fn error(&self, span: Option<std::ops::Range<usize>>, message: &str) -> ImportError {
        match span {
            Some(s) => ImportError::at(s.start, message),
            None => ImportError::whole(message),
        }
    }

    fn string(&self, item: &TomlItem, key: &str) -> Result<(String, Origin), ImportError> {
        match item.as_str() {
            Some(s) => Ok((s.to_string(), self.origin(item.span()))),
            None => Err(self.error(item.span(), &format!("expected a string for `{key}`"))),
        }
    }

    fn value_string(&self, v: &Value, key: &str) -> Result<(String, Origin), ImportError> {
        match v.as_str() {
            Some(s) => Ok((s.to_string(), self.origin(v.span()))),
            None => Err(self.error(v.span(), &format!("expected a string in `{key}`"))),
        }
    }

    fn strings(&self, item: &TomlItem, key: &str) -> Result<Vec<(String, Origin)>, ImportError> {
        let array = item.as_array().ok_or_else(|| {
            self.error(
                item.span(),
                &format!("expected an array of strings for `{key}`"),
            )
        })?;
        array.iter().map(|v| self.value_string(v, key)).collect()
    }

    /// `{ group = ["req", ...] }`; a `{ include-group = "other" }` entry is
    /// kept as `[include-group]other`, expanded later.
    fn groups(&self, item: &TomlItem, key: &str) -> Result<Groups, ImportError> {
        let table = item
            .as_table_like()
            .ok_or_else(|| self.error(item.span(), &format!("expected a table for `{key}`")))?;
        let mut out = Vec::new();
        for (group, value) in table.iter() {
            let key = format!("{key}.{group}");
            let array = value.as_array().ok_or_else(|| {
                self.error(value.span(), &format!("expected an array for `{key}`"))
            })?;
            let mut reqs = Vec::new();
            for v in array.iter() {
                match v.as_inline_table().and_then(|t| t.get("include-group")) {
                    Some(inc) => {
                        let (name, origin) = self.value_string(inc, &key)?;
                        reqs.push((format!("[include-group]{name}"), origin));
                    }
                    None => reqs.push(self.value_string(v, &key)?),
                }
            }
            out.push((group.to_string(), reqs));
        }
        Ok(out)
    }
}

/// `>=3.10,<3.11`, `==3.10.*` or `~=3.10.0` → `3.10`; `==3.10.4` → `3.10.4`;
/// anything wider stays a comment.
pub fn python_from_spec(spec: &str) -> Option<String> {
    let req = Requirement::parse(&format!("python{}", spec.trim())).ok()?;
    let VersionOrUrl::Specifiers(specs) = req.version else {
        return None;
    };
    let nums = |v: &str| -> Option<Vec<u32>> {
        v.trim_end_matches(".*")
            .split('.')
            .map(|p| p.parse().ok())
            .collect()
    };
    let mut lower: Option<Vec<u32>> = None;
    let mut upper: Option<Vec<u32>> = None;
    for s in &specs {
        let v = nums(&s.version)?;
        match s.op.as_str() {
            "==" if s.version.ends_with(".*") && v.len() == 2 => {
                return Some(format!("{}.{}", v[0], v[1]));
            }
            "==" | "===" if v.len() == 3 => return Some(s.version.clone()),
            "~=" if v.len() == 3 => return Some(format!("{}.{}", v[0], v[1])),
            ">=" => lower = Some(v),
            "<" => upper = Some(v),
            _ => {}
        }
    }
    let (lower, upper) = (lower?, upper?);
    let (major, minor) = (*lower.first()?, *lower.get(1)?);
    let next = upper.first() == Some(&major)
        && upper.get(1) == Some(&(minor + 1))
        && upper.iter().skip(2).all(|p| *p == 0);
    (major == 3 && next).then(|| format!("{major}.{minor}"))
}

fn python(draft: &mut Draft, spec: &str, origin: Origin) {
    match python_from_spec(spec) {
        Some(v) if draft.set_python(&v, Some(origin.clone())).is_ok() => {}
        _ => draft.note(
            Section::Python,
            Some(origin),
            format!(
                "requires-python = \"{spec}\" pins no minor version: mlr uses the base \
                 image's Python; set `version = \"3.X\"` to choose one"
            ),
        ),
    }
}

fn requirement(draft: &mut Draft, reader: &mut Reader, req: &str, origin: Origin) {
    reader.line(draft, req, origin, "");
}

/// A group's requirements with references to other groups inlined:
/// `[include-group]NAME` and `project[NAME]`.
fn expand_group(
    group: &str,
    groups: &Groups,
    project: Option<&str>,
    seen: &mut BTreeSet<String>,
) -> Vec<(String, Origin)> {
    let normalize = crate::package_name::normalize;
    if !seen.insert(normalize(group)) {
        return Vec::new();
    }
    let Some((_, reqs)) = groups
        .iter()
        .find(|(g, _)| normalize(g) == normalize(group))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (req, origin) in reqs {
        if let Some(other) = req.strip_prefix("[include-group]") {
            out.extend(expand_group(other, groups, project, seen));
            continue;
        }
        let own = Requirement::parse(req)
            .ok()
            .filter(|r| Some(r.normalized_name().as_str()) == project);
        match own {
            Some(r) => {
                for extra in &r.extras {
                    out.extend(expand_group(extra, groups, project, seen));
                }
            }
            None => out.push((req.clone(), origin.clone())),
        }
    }
    out
}

/// A group as `[profile.NAME] pip`, its name made a valid profile name.
fn profile(draft: &mut Draft, group: &str, reqs: Vec<(String, Origin)>) {
    let name = crate::package_name::normalize(group);
    let name = if name == "prod" {
        "prod-extra".to_string()
    } else {
        name
    };
    if syntax::dir_name(&name, "profile name").is_err() {
        for (req, origin) in reqs {
            draft.untranslated(
                Some(origin),
                format!("{req}  (in group `{group}`, which is not a valid profile name)"),
            );
        }
        return;
    }
    for (req, origin) in reqs {
        let req = super::requirements::lockable_url(&req).unwrap_or(req);
        if super::requirements::lockable_url(&req).is_none() && is_url_or_path(&req) {
            draft.untranslated(
                Some(origin),
                format!("{req}  (a local path or a URL mlr cannot lock)"),
            );
            continue;
        }
        match draft.add_profile_pip(&name, &req, Some(origin.clone())) {
            PipAdded::Added | PipAdded::Duplicate => {}
            PipAdded::Refused(why) => {
                draft.untranslated(Some(origin), format!("{req}  (group `{group}`: {why})"))
            }
        }
    }
    if !draft.profiles.iter().any(|(p, _)| *p == name) {
        draft.profiles.push((name, Vec::new()));
    }
}

/// `[[tool.uv.index]]` as `[[pip.index]]` sketches, with the packages
/// `[tool.uv.sources]` routes to each.
fn uv_indexes(draft: &mut Draft, p: &Parts, root: &toml_edit::Table) -> Result<(), ImportError> {
    let Some(uv) = root
        .get("tool")
        .and_then(|t| t.as_table_like())
        .and_then(|t| t.get("uv"))
        .and_then(|t| t.as_table_like())
    else {
        return Ok(());
    };
    let Some(indexes) = uv.get("index") else {
        return Ok(());
    };
    let tables: Vec<&dyn toml_edit::TableLike> = match indexes {
        TomlItem::ArrayOfTables(a) => a.iter().map(|t| t as &dyn toml_edit::TableLike).collect(),
        TomlItem::Value(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike))
            .collect(),
        other => {
            return Err(p.error(
                other.span(),
                "expected an array of tables for `tool.uv.index`",
            ));
        }
    };
    let sources = uv.get("sources").and_then(|s| s.as_table_like());
    for (n, t) in tables.into_iter().enumerate() {
        let Some(url_item) = t.get("url") else {
            continue;
        };
        let (url, origin) = p.string(url_item, "tool.uv.index.url")?;
        let name = t
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .filter(|n| syntax::dir_name(n, "index name").is_ok())
            .unwrap_or_else(|| super::requirements::index_name(&url, n));
        let packages: Vec<String> = sources
            .map(|s| {
                s.iter()
                    .filter(|(_, v)| {
                        v.as_table_like()
                            .and_then(|t| t.get("index"))
                            .and_then(|i| i.as_str())
                            == Some(name.as_str())
                    })
                    .map(|(k, _)| k.to_string())
                    .collect()
            })
            .unwrap_or_default();
        if pytorch_variant(&url).is_some() {
            draft.note(
                Section::Pip,
                Some(origin.clone()),
                format!(
                    "uv index `{name}` is PyTorch's: pin torch in [framework] with a [cuda] version \
                     and mlr routes it there itself"
                ),
            );
        }
        draft.indexes.push(IndexSketch {
            name,
            url,
            packages,
            origin: Some(origin),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_python_pins_a_minor_or_stays_a_comment() {
        assert_eq!(python_from_spec(">=3.10,<3.11").as_deref(), Some("3.10"));
        assert_eq!(
            python_from_spec(">=3.10.2, <3.11.0").as_deref(),
            Some("3.10")
        );
        assert_eq!(python_from_spec("==3.11.*").as_deref(), Some("3.11"));
        assert_eq!(python_from_spec("==3.11.4").as_deref(), Some("3.11.4"));
        assert_eq!(python_from_spec("~=3.9.0").as_deref(), Some("3.9"));
        assert_eq!(python_from_spec(">=3.9"), None);
        assert_eq!(python_from_spec(">=3.9,<4"), None);
        assert_eq!(python_from_spec("~=3.9"), None);
    }

    #[test]
    fn groups_become_profiles() {
        let text = r#"
[project]
name = "My_Pkg"
requires-python = ">=3.10,<3.11"
dependencies = ["numpy<2", "torch==2.5.1"]

[project.optional-dependencies]
Dev_Tools = ["ruff", "numpy>=1"]
all = ["my-pkg[dev-tools]", "rich"]
prod = ["gunicorn"]

[dependency-groups]
test = ["pytest", { include-group = "lint" }]
lint = ["mypy"]

[[tool.uv.index]]
name = "pytorch-cu124"
url = "https://download.pytorch.org/whl/cu124"

[tool.uv.sources]
torch = { index = "pytorch-cu124" }
"#;
        let d = import("pyproject.toml", text).unwrap();
        assert_eq!(d.name.as_ref().unwrap().value, "my_pkg");
        assert_eq!(d.python.as_ref().unwrap().value, "3.10");
        let profiles: Vec<(&str, Vec<&str>)> = d
            .profiles
            .iter()
            .map(|(n, l)| (n.as_str(), l.iter().map(|i| i.value.as_str()).collect()))
            .collect();
        assert_eq!(
            profiles,
            [
                ("dev-tools", vec!["ruff"]),
                ("all", vec!["ruff", "rich"]),
                ("prod-extra", vec!["gunicorn"]),
                ("test", vec!["pytest", "mypy"]),
                ("lint", vec!["mypy"]),
            ]
        );
        assert_eq!(d.framework[0].0, "torch");
        assert_eq!(d.cuda.as_ref().unwrap().value, "12.4");
        assert_eq!(d.indexes[0].packages, ["torch"]);
        assert_eq!(d.pip[0].origin.as_ref().unwrap().line, 5);
    }

    #[test]
    fn bad_toml_and_wrong_types_are_errors_with_a_place() {
        let e = import("pyproject.toml", "[project\n").unwrap_err();
        assert!(e.message.starts_with("invalid TOML"), "{e:?}");
        let e = import("pyproject.toml", "[project]\ndependencies = \"numpy\"\n").unwrap_err();
        assert_eq!(e.offset, Some(25));
        assert!(e.message.contains("project.dependencies"));
    }
}
