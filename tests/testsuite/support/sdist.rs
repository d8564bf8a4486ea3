//! Python projects built by a real setuptools backend (not the in-tree
//! `mlr_testsuite_backend` of `build_sdist_for`): their source tree
//! (`pyproject.toml` with a static `[project]` table, a `setup.py` for an
//! optional C extension) and their sdist, byte for byte deterministic.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use super::wheel::{BuiltFile, WheelSpec, is_valid_name, sdist_tar_gz};

/// The C source of a CPython extension module `_speed` with one function,
/// `add(a, b)`, returning the sum of two ints. Declare it as
/// `.ext("pkg._speed", "pkg/_speed.c", SPEED_C)`: the module's last name
/// must be `_speed`, the name its `PyInit__speed` is found by.
pub const SPEED_C: &str = r#"#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *
speed_add(PyObject *self, PyObject *args)
{
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) {
        return NULL;
    }
    return PyLong_FromLong(a + b);
}

static PyMethodDef speed_methods[] = {
    {"add", speed_add, METH_VARARGS, "add(a, b) -> a + b"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speed_module = {
    PyModuleDef_HEAD_INIT,
    "_speed",
    "A tiny C extension of the mlr testsuite.",
    -1,
    speed_methods,
};

PyMODINIT_FUNC
PyInit__speed(void)
{
    return PyModule_Create(&speed_module);
}
"#;

/// `requires-python` of every project (and `Requires-Python:` of its
/// PKG-INFO).
pub const REQUIRES_PYTHON: &str = ">=3.8";

/// A C extension module of a [`SetuptoolsProject`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The dotted module name, e.g. `tinyext._speed`.
    pub module: String,
    /// Where its C source sits in the tree, e.g. `tinyext/_speed.c`.
    pub source: String,
    pub contents: String,
}

/// A tiny project for `setuptools.build_meta`. Build one with
/// [`SetuptoolsProject::new`] and the chained setters, then write its tree
/// ([`SetuptoolsProject::write_tree`], `GitRepo::commit_project`) or its
/// sdist ([`SetuptoolsProject::build_sdist`], `PyIndex::add_setuptools_sdist`).
///
/// Its packages are listed explicitly in `[tool.setuptools]`: the
/// directories of its `.py` files and the package of its extension (a
/// top-level `.py` file is a `py-modules` entry). A wheel built from it
/// holds those and every other file inside a package directory, the
/// extension's C source included (setuptools' `include-package-data` is
/// on); files outside them stay in the sdist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetuptoolsProject {
    /// `[project] name`, as written; normalized for the sdist's file name.
    pub name: String,
    pub version: String,
    /// PEP 508 runtime requirements: `[project] dependencies`, one
    /// `Requires-Dist:` line each in PKG-INFO. No `extra` markers.
    pub requires: Vec<String>,
    /// `[build-system] requires`; `["setuptools>=61"]` unless set.
    pub build_requires: Vec<String>,
    /// `(path in the tree, contents)`, e.g. `("pkg/__init__.py", "...")`.
    pub files: Vec<(String, String)>,
    pub ext: Option<Extension>,
}

impl SetuptoolsProject {
    /// A project with no files, no dependencies, no extension, built with
    /// `setuptools>=61` (the first with `[project]` support).
    pub fn new(name: &str, version: &str) -> SetuptoolsProject {
        SetuptoolsProject {
            name: name.to_owned(),
            version: version.to_owned(),
            requires: Vec::new(),
            build_requires: vec!["setuptools>=61".to_owned()],
            files: Vec::new(),
            ext: None,
        }
    }

    /// Adds a runtime requirement (`"numpy>=1"`, `"six; python_version < '3'"`).
    pub fn requires(mut self, requirement: &str) -> SetuptoolsProject {
        self.requires.push(requirement.to_owned());
        self
    }

    /// Replaces the `[build-system] requires` list.
    pub fn build_requires(mut self, requirements: &[&str]) -> SetuptoolsProject {
        self.build_requires = requirements.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    /// Adds a file at `path` in the tree.
    pub fn file(mut self, path: &str, contents: &str) -> SetuptoolsProject {
        self.files.push((path.to_owned(), contents.to_owned()));
        self
    }

    /// Sets the C extension: module `module` (dotted) built from the C
    /// file `source` of the tree, whose text is `contents` (see [`SPEED_C`]).
    /// Adds a `setup.py` declaring it.
    pub fn ext(mut self, module: &str, source: &str, contents: &str) -> SetuptoolsProject {
        self.ext = Some(Extension {
            module: module.to_owned(),
            source: source.to_owned(),
            contents: contents.to_owned(),
        });
        self
    }

    /// `{dist}-{version}`: the sdist's file name stem and top directory.
    pub fn stem(&self) -> String {
        self.metadata_spec().stem()
    }

    /// `{dist}-{version}.tar.gz`, as `build_sdist_for` names sdists.
    pub fn sdist_filename(&self) -> String {
        format!("{}.tar.gz", self.stem())
    }

    /// The sdist's `PKG-INFO`: Metadata-Version 2.2 with nothing dynamic
    /// (name, version, `Requires-Python`, one `Requires-Dist` per
    /// requirement), so resolvers read it without building.
    pub fn pkg_info(&self) -> String {
        self.metadata_spec().core_metadata("2.2")
    }

    /// The `pyproject.toml` of the tree.
    pub fn pyproject_toml(&self) -> String {
        let (packages, modules) = self.packages_and_modules();
        let mut text = format!(
            "[build-system]\nrequires = {}\nbuild-backend = \"setuptools.build_meta\"\n\n",
            string_array(&self.build_requires)
        );
        writeln!(
            text,
            "[project]\nname = {}\nversion = {}\nrequires-python = {}\ndependencies = {}\n",
            quoted(&self.name),
            quoted(&self.version),
            quoted(REQUIRES_PYTHON),
            string_array(&self.requires)
        )
        .unwrap();
        writeln!(
            text,
            "[tool.setuptools]\npackages = {}",
            string_array(&packages)
        )
        .unwrap();
        if !modules.is_empty() {
            writeln!(text, "py-modules = {}", string_array(&modules)).unwrap();
        }
        text
    }

    /// The `setup.py` declaring the extension, if there is one (setuptools
    /// reads everything else from `pyproject.toml`).
    pub fn setup_py(&self) -> Option<String> {
        let ext = self.ext.as_ref()?;
        Some(format!(
            "from setuptools import Extension, setup\n\n\
             setup(ext_modules=[Extension({}, sources=[{}])])\n",
            quoted(&ext.module),
            quoted(&ext.source)
        ))
    }

    /// Every file of the source tree, `(path, contents)` in path order:
    /// `pyproject.toml`, `setup.py` for an extension, its C source and
    /// [`SetuptoolsProject::files`]. No `PKG-INFO` (only the sdist has one).
    pub fn tree(&self) -> Vec<(String, String)> {
        self.validate();
        let mut tree = vec![("pyproject.toml".to_owned(), self.pyproject_toml())];
        if let (Some(setup), Some(ext)) = (self.setup_py(), &self.ext) {
            tree.push(("setup.py".to_owned(), setup));
            tree.push((ext.source.clone(), ext.contents.clone()));
        }
        tree.extend(self.files.iter().cloned());
        tree.sort();
        for pair in tree.windows(2) {
            assert_ne!(pair[0].0, pair[1].0, "{}: file listed twice", self.name);
        }
        tree
    }

    /// Writes [`SetuptoolsProject::tree`] into `dir` (created if missing),
    /// replacing files of the same paths and leaving others alone.
    pub fn write_tree(&self, dir: &Path) {
        for (path, contents) in self.tree() {
            let path = dir.join(path);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
            }
            fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
    }

    /// Writes the sdist `{dist}-{version}.tar.gz` into `dir`: the tree
    /// under `{dist}-{version}/` plus its [`SetuptoolsProject::pkg_info`].
    /// The same project always gives the same bytes.
    pub fn build_sdist(&self, dir: &Path) -> BuiltFile {
        let tree = self.tree();
        let pkg_info = self.pkg_info();
        let mut members: Vec<(String, &[u8])> = tree
            .iter()
            .map(|(path, contents)| (path.clone(), contents.as_bytes()))
            .collect();
        members.push(("PKG-INFO".to_owned(), pkg_info.as_bytes()));
        let stem = self.stem();
        BuiltFile::write(dir, self.sdist_filename(), &sdist_tar_gz(&stem, members))
    }

    /// `[tool.setuptools] packages` and `py-modules`, sorted.
    fn packages_and_modules(&self) -> (Vec<String>, Vec<String>) {
        let mut packages = Vec::new();
        let mut modules = Vec::new();
        for (path, _) in &self.files {
            let Some(module) = path.strip_suffix(".py") else {
                continue;
            };
            match module.rsplit_once('/') {
                Some((package, _)) => packages.push(package.replace('/', ".")),
                None => modules.push(module.to_owned()),
            }
        }
        if let Some((package, _)) = self.ext.as_ref().and_then(|e| e.module.rsplit_once('.')) {
            packages.push(package.to_owned());
        }
        packages.sort();
        packages.dedup();
        modules.sort();
        modules.dedup();
        (packages, modules)
    }

    /// The release as a `WheelSpec`, for its file names and core metadata.
    fn metadata_spec(&self) -> WheelSpec {
        let mut spec = WheelSpec::new(&self.name, &self.version).requires_python(REQUIRES_PYTHON);
        spec.requires_dist = self.requires.clone();
        spec.validate();
        spec
    }

    fn validate(&self) {
        assert!(
            is_valid_name(&self.name),
            "{:?} is not a valid Python project name",
            self.name
        );
        for requirement in &self.requires {
            assert!(
                !requirement
                    .split_once(';')
                    .is_some_and(|(_, marker)| marker.contains("extra")),
                "{requirement:?}: extras are not supported by SetuptoolsProject"
            );
        }
        let ext_source = self.ext.iter().map(|e| &e.source);
        for path in self.files.iter().map(|(p, _)| p).chain(ext_source) {
            assert!(
                !path.is_empty()
                    && !path.starts_with('/')
                    && !path.split('/').any(|part| matches!(part, "" | "." | ".."))
                    && !matches!(path.as_str(), "pyproject.toml" | "setup.py" | "PKG-INFO"),
                "{path:?} cannot be a file of the project tree"
            );
        }
    }
}

/// A TOML basic string, which is also a Python string literal.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => write!(out, "\\u{:04x}", u32::from(c)).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `["a", "b"]`.
fn string_array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| quoted(s)).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyproject_lists_packages_explicitly() {
        let project = SetuptoolsProject::new("Tiny.Ext", "1.0")
            .requires("numpy>=1; python_version >= \"3.9\"")
            .file("tinyext/__init__.py", "")
            .file("tinyext/sub/m.py", "")
            .file("top.py", "")
            .file("README.md", "hi\n")
            .ext("tinyext._speed", "tinyext/_speed.c", SPEED_C);
        assert_eq!(
            project.pyproject_toml(),
            "[build-system]\nrequires = [\"setuptools>=61\"]\n\
             build-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"Tiny.Ext\"\nversion = \"1.0\"\nrequires-python = \">=3.8\"\n\
             dependencies = [\"numpy>=1; python_version >= \\\"3.9\\\"\"]\n\n\
             [tool.setuptools]\npackages = [\"tinyext\", \"tinyext.sub\"]\npy-modules = [\"top\"]\n"
        );
        assert_eq!(project.sdist_filename(), "tiny_ext-1.0.tar.gz");
        let paths: Vec<String> = project.tree().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "README.md",
                "pyproject.toml",
                "setup.py",
                "tinyext/__init__.py",
                "tinyext/_speed.c",
                "tinyext/sub/m.py",
                "top.py"
            ]
        );
    }

    #[test]
    fn quoting_is_toml_and_python() {
        assert_eq!(quoted("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
