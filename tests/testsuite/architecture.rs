//! The module layering the design chapter describes, checked on the
//! source: `compat` at the bottom, then `manifest`, `requests`, `lock`;
//! resolvers and the renderer above them; `build` and `ops` on top. No
//! top-level module may reach back up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules whose imports must form no cycle.
const LAYERED: [&str; 8] = [
    "compat", "manifest", "requests", "lock", "resolve", "render", "build", "verify",
];

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        out.extend(rust_files(&entry.unwrap().path()));
    }
    out.retain(|p| p.extension().is_some_and(|e| e == "rs"));
    out
}

/// The top-level modules `module` names through `crate::…` in code (not
/// in comments).
fn uses(src: &Path, module: &str) -> BTreeSet<String> {
    let dir = src.join(module);
    let root = if dir.is_dir() {
        dir
    } else {
        src.join(format!("{module}.rs"))
    };
    let mut out = BTreeSet::new();
    for file in rust_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                if let Some(group) = rest.strip_prefix('{') {
                    // `use crate::{a, b::c}` on one line.
                    let group = group.split('}').next().unwrap_or("");
                    for item in group.split(',') {
                        let name = item.trim().split("::").next().unwrap_or("");
                        if !name.is_empty() {
                            out.insert(name.to_string());
                        }
                    }
                    continue;
                }
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    out.insert(name);
                }
            }
        }
    }
    out
}

fn graph() -> BTreeMap<&'static str, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    LAYERED.iter().map(|m| (*m, uses(&src, m))).collect()
}

#[test]
fn lower_modules_never_import_higher_ones() {
    let g = graph();
    for (module, forbidden) in [
        ("lock", "resolve"),
        ("lock", "render"),
        ("lock", "build"),
        ("render", "build"),
        ("render", "resolve"),
        ("compat", "manifest"),
        ("compat", "requests"),
        ("compat", "lock"),
        ("manifest", "requests"),
        ("manifest", "lock"),
        ("requests", "lock"),
        ("requests", "resolve"),
    ] {
        assert!(
            !g[module].contains(forbidden),
            "`{module}` uses `crate::{forbidden}`; {module} sits below {forbidden}"
        );
    }
}

#[test]
fn top_level_modules_form_no_import_cycle() {
    let g = graph();
    // Depth-first search for a back edge among the layered modules.
    fn visit<'a>(
        g: &'a BTreeMap<&'static str, BTreeSet<String>>,
        node: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| *n == node) {
            panic!("import cycle: {} → {node}", path[at..].join(" → "));
        }
        path.push(node);
        for next in &g[node] {
            if let Some((key, _)) = g.get_key_value(next.as_str()) {
                visit(g, key, path, done);
            }
        }
        path.pop();
        done.insert(node);
    }
    let mut done = BTreeSet::new();
    for node in g.keys() {
        visit(&g, node, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_scanner_sees_imports() {
    // The checks above are only as good as this scanner: it must see the
    // imports that are there.
    let g = graph();
    assert!(g["build"].contains("render"), "{:?}", g["build"]);
    assert!(g["lock"].contains("requests"), "{:?}", g["lock"]);
    assert!(g["resolve"].contains("lock"), "{:?}", g["resolve"]);
}
