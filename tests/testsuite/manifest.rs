//! `ml.toml` parsing through the library: every malformed fixture fails at
//! its recorded `LINE:COL` with a useful message, no input panics or hangs,
//! and the fingerprint ignores formatting but not values.

// As in the library: `FileError` carries its snippet and hint by value.
#![allow(clippy::result_large_err)]

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mlr::compat::Flavor;
use mlr::error::FileError;
use mlr::manifest::{self, Manifest, Platform};
use predicates::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/manifests")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn full() -> String {
    read(&fixtures().join("good/full.toml"))
}

fn parse_ok(source: &str) -> Manifest {
    manifest::parse(source, "ml.toml")
        .unwrap_or_else(|e| panic!("expected a valid manifest, got {e}\nhint: {:?}", e.hint))
}

/// Parse without letting a panic abort the loop, so the failing input is shown.
fn parse_no_panic(source: &str) -> Result<Manifest, FileError> {
    catch_unwind(AssertUnwindSafe(|| manifest::parse(source, "ml.toml")))
        .unwrap_or_else(|_| panic!("parse panicked on input:\n{source:?}"))
}

/// What a bad fixture's header promises: `# expect: LINE:COL message` (or
/// `# expect: - message` for an error without a place), then optionally
/// `# hint: text`.
struct Expectation {
    location: Option<(usize, usize)>,
    message: String,
    hint: Option<String>,
}

fn expectation(name: &str, source: &str) -> Expectation {
    // The empty file cannot carry a comment.
    if name == "empty.toml" {
        return Expectation {
            location: None,
            message: "the file is empty".into(),
            hint: Some("mlr init".into()),
        };
    }
    let mut lines = source.lines();
    let header = lines
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{name}: first line must be `# expect: LINE:COL message`"));
    let (place, message) = header.split_once(' ').expect("`# expect: PLACE MESSAGE`");
    let location = (place != "-").then(|| {
        let (l, c) = place.split_once(':').expect("LINE:COL");
        (l.parse().unwrap(), c.parse().unwrap())
    });
    let hint = lines
        .next()
        .and_then(|l| l.strip_prefix("# hint: "))
        .map(str::to_string);
    Expectation {
        location,
        message: message.to_string(),
        hint,
    }
}

#[test]
fn bad_manifests_fail_at_the_recorded_place() {
    let mut entries: Vec<PathBuf> = fs::read_dir(fixtures().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    entries.sort();
    assert!(entries.len() >= 25, "only {} bad fixtures", entries.len());
    let mut failures = Vec::new();
    for path in &entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let source = read(path);
        let want = expectation(&name, &source);
        let err = match parse_no_panic(&source) {
            Ok(_) => {
                failures.push(format!("{name}: parsed without error"));
                continue;
            }
            Err(e) => e,
        };
        let got = err.line.zip(err.column);
        let mut problems = Vec::new();
        if got != want.location {
            problems.push(format!("at {got:?}, expected {:?}", want.location));
        }
        if !err.message.contains(&want.message) {
            problems.push(format!("message lacks {:?}", want.message));
        }
        if let Some(h) = &want.hint {
            if !err.hint.as_deref().unwrap_or("").contains(h.as_str()) {
                problems.push(format!("hint lacks {h:?}"));
            }
        }
        if got.is_some() && err.snippet.is_none() {
            problems.push("no snippet".into());
        }
        if err.message.len() > 300 {
            problems.push("message longer than 300 bytes".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n    got {}: {}\n    hint: {:?}",
                problems.join("; "),
                err.location(),
                err.message,
                err.hint
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn crlf_fixture_really_has_crlf() {
    // Guards against git normalizing line endings (see bad/.gitattributes).
    let source = read(&fixtures().join("bad/crlf-error-line-3.toml"));
    assert!(source.contains("\r\n"));
}

#[test]
fn full_manifest_parses_into_the_model() {
    let m = parse_ok(&full());
    assert_eq!(m.project.name.as_deref(), Some("esmfold"));
    // Sorted, so the written order does not matter.
    let platforms: Vec<String> = m
        .project
        .platforms
        .iter()
        .map(Platform::to_string)
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let base = m.base.as_ref().unwrap();
    assert_eq!(base.image.repository, "nvidia/cuda");
    assert_eq!(
        base.image.tag.as_deref(),
        Some("11.8.0-cudnn8-devel-ubuntu22.04")
    );
    let cuda = m.cuda.as_ref().unwrap();
    assert_eq!(cuda.version, "11.8");
    assert_eq!(cuda.cudnn.as_deref(), Some("8"));
    assert_eq!(cuda.flavor, Some(Flavor::Devel));
    assert_eq!(cuda.arch, ["7.0", "8.0", "8.6+PTX"]);
    assert_eq!(m.python.as_ref().unwrap().version.as_deref(), Some("3.10"));
    let framework = &m.framework.as_ref().unwrap().packages;
    assert_eq!(framework.get("torch").map(String::as_str), Some("2.0.1"));
    assert_eq!(
        framework.get("torchvision").map(String::as_str),
        Some("0.15.2")
    );
    let apt = m.apt.as_ref().unwrap();
    assert_eq!(
        apt.packages,
        ["git", "libcusparse-dev-11-8", "libgl1=1.4.0-1"]
    );
    assert_eq!(apt.snapshot.as_deref(), Some("20250520T000000Z"));
    let pip = m.pip.as_ref().unwrap();
    // Written order, whitespace normalized.
    assert_eq!(
        pip.packages,
        [
            "transformers>=4.40",
            "lightning",
            "numpy<2",
            "mycorp-utils; python_version >= \"3.9\""
        ]
    );
    assert_eq!(pip.index_url.as_deref(), Some("https://pypi.org/simple"));
    assert_eq!(pip.indexes.len(), 1);
    assert_eq!(pip.indexes[0].name, "internal");
    assert_eq!(pip.indexes[0].packages, ["mycorp-*"]);
    let flash = &m.git["flash-attention"];
    assert_eq!(flash.rev, "v2.7.4.post1");
    assert_eq!(flash.build, ["pip install --no-build-isolation ."]);
    assert!(flash.submodules);
    assert!(!m.git["local-kernels"].submodules);
    assert_eq!(m.env["NCCL_SOCKET_IFNAME"], "^docker0,lo");
    assert_eq!(m.image.workdir.as_deref(), Some("/app"));
    assert_eq!(m.image.user, "ml");
    assert_eq!(
        m.image.entrypoint.as_deref(),
        Some(&["python".to_string(), "run.py".to_string()][..])
    );
    assert_eq!(m.image.cmd.as_deref(), Some(&["--help".to_string()][..]));
    let hc = m.image.healthcheck.as_ref().unwrap();
    assert_eq!(
        (hc.cmd.as_slice(), hc.shell),
        (&["nvidia-smi".to_string()][..], true)
    );
    assert_eq!(hc.interval.as_deref(), Some("30s"));
    assert_eq!(hc.start_period.as_deref(), Some("1m30s"));
    assert_eq!(hc.retries, Some(3));
    assert_eq!(m.image.copy.len(), 2);
    assert_eq!(
        serde_json::to_value(&m.image.copy[0].exclude).unwrap(),
        serde_json::json!(["__pycache__/", "*.log", "!keep.log"])
    );
    assert!(m.image.copy[1].exclude.is_empty());
    assert_eq!(
        (m.image.copy[1].src.as_str(), m.image.copy[1].dst.as_str()),
        ("configs/base.yaml", "/app/config.yaml")
    );
    assert_eq!(m.profiles["dev"].pip, ["ruff", "ipykernel"]);
    assert_eq!(m.profiles["dev"].apt, ["vim"]);
}

#[test]
fn defaults_are_filled() {
    let m = parse_ok("[base]\nimage = \"debian:bookworm-slim\"\n");
    assert_eq!(m.project.platforms, [Platform::linux_amd64()]);
    assert_eq!(m.image.user, manifest::DEFAULT_USER);
    assert!(m.git.is_empty() && m.profiles.is_empty() && m.pip.is_none() && m.apt.is_none());
    // `[cuda]` alone is enough: it picks the base image.
    let m = parse_ok("[cuda]\nversion = \"12.4\"\n");
    assert_eq!(m.cuda.unwrap().flavor, None);
    // A healthcheck array is the exec form.
    let m = parse_ok(
        "[cuda]\nversion = \"12.4\"\n[image]\nhealthcheck = { cmd = [\"curl\", \"-f\", \"http://localhost/\"] }\n",
    );
    assert!(!m.image.healthcheck.unwrap().shell);
}

#[test]
fn fingerprint_ignores_comments_order_whitespace_and_crlf() {
    let full = full();
    let reordered = read(&fixtures().join("good/full-reordered.toml"));
    let expected = parse_ok(&full);
    let crlf = |s: &str| s.replace('\n', "\r\n");
    for (what, variant) in [
        ("reordered", reordered.clone()),
        ("reordered with CRLF", crlf(&reordered)),
        ("CRLF", crlf(&full)),
        ("trailing blank lines", format!("{full}\n\n   \n")),
    ] {
        let m = parse_ok(&variant);
        assert_eq!(m, expected, "{what}: the model differs");
        assert_eq!(m.fingerprint(), expected.fingerprint(), "{what}");
    }
}

#[test]
fn fingerprint_changes_with_a_value() {
    let full = full();
    let base = parse_ok(&full).fingerprint();
    for (from, to) in [
        (
            "HF_HOME = \"/cache/hf\"",
            "HF_HOME = \"/cache/huggingface\"",
        ),
        ("submodules = true", "submodules = false"),
        ("\"numpy < 2\"", "\"numpy < 3\""),
        ("retries = 3", "retries = 4"),
        ("\"!keep.log\"", "\"!keep.txt\""),
        (", \"!keep.log\"", ""),
    ] {
        assert!(full.contains(from), "{from}");
        let changed = parse_ok(&full.replace(from, to)).fingerprint();
        assert_ne!(changed, base, "changing {from} kept the fingerprint");
    }
}

#[test]
fn an_empty_exclude_keeps_the_fingerprint_of_a_copy_without_one() {
    // Locks written before `exclude` existed stay fresh.
    let without = "[base]\nimage = \"debian:bookworm-slim\"\n[image]\ncopy = [{ src = \".\", dst = \"/app\" }]\n";
    let empty = without.replace("\"/app\" }", "\"/app\", exclude = [] }");
    assert_ne!(without, empty);
    assert_eq!(
        parse_ok(without).fingerprint(),
        parse_ok(&empty).fingerprint()
    );
    assert_eq!(
        serde_json::to_value(&parse_ok(without).image.copy).unwrap(),
        serde_json::json!([{ "src": ".", "dst": "/app" }])
    );
}

#[test]
fn truncated_and_mutated_manifests_never_panic() {
    let full = full();
    let cuts: Vec<usize> = (0..=full.len())
        .filter(|i| full.is_char_boundary(*i))
        .collect();
    for &i in &cuts {
        let _ = parse_no_panic(&full[..i]);
    }
    // Insert characters that upset TOML or the validators at every place.
    let crlf = full.replace('\n', "\r\n");
    for &i in &cuts {
        for insert in ["\"", "[", "=", "\n", "{", "'''", "..", "é"] {
            let _ = parse_no_panic(&format!("{}{insert}{}", &full[..i], &full[i..]));
        }
        // Delete one character.
        if let Some(next) = cuts.iter().find(|&&j| j > i) {
            let _ = parse_no_panic(&format!("{}{}", &full[..i], &full[*next..]));
        }
    }
    for i in (0..=crlf.len()).filter(|i| crlf.is_char_boundary(*i)) {
        let _ = parse_no_panic(&crlf[..i]);
    }
}

/// A parse that must fail quickly with a short message.
fn fails_fast(what: &str, source: &str) -> FileError {
    let start = Instant::now();
    let err = parse_no_panic(source).expect_err(what);
    // Not a speed target (those live in the benchmarks): a guard against
    // a quadratic pass, which takes minutes on these inputs; generous so a
    // loaded CI machine never trips it.
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{what}: took {:?}",
        start.elapsed()
    );
    assert!(
        err.message.len() < 300,
        "{what}: message of {} bytes",
        err.message.len()
    );
    assert!(
        err.snippet.as_ref().is_none_or(|s| s.len() <= 1000),
        "{what}: long snippet"
    );
    err
}

#[test]
fn huge_inputs_fail_fast_with_short_messages() {
    let mb = "a".repeat(1 << 20);
    let err = fails_fast(
        "huge value",
        &format!("[project]\nname = \"{}\"\n", mb.to_uppercase()),
    );
    assert_eq!((err.line, err.column), (Some(2), Some(8)));
    fails_fast("huge key", &format!("[apt]\n{mb} = 1\n"));
    fails_fast("huge table name", &format!("[{mb}]\n"));
    fails_fast(
        "huge image reference",
        &format!("[base]\nimage = \"{mb}:\"\n"),
    );
    let many: Vec<String> = (0..100_000).map(|i| format!("\"pkg{i}\"")).collect();
    let err = fails_fast(
        "100k packages, one repeated",
        &format!(
            "[cuda]\nversion = \"12.4\"\n[pip]\npackages = [{}, \"pkg7\"]\n",
            many.join(",")
        ),
    );
    assert!(err.message.contains("listed twice"), "{}", err.message);
    let platforms: Vec<String> = (0..100_000)
        .map(|i| format!("\"linux/arm/v{i}\""))
        .collect();
    fails_fast(
        "100k platforms, one repeated",
        &format!(
            "[cuda]\nversion = \"12.4\"\n[project]\nplatforms = [{}, \"linux/arm/v7\"]\n",
            platforms.join(",")
        ),
    );
    let arch: Vec<String> = (0..100_000).map(|i| format!("\"{i}.0\"")).collect();
    fails_fast(
        "100k CUDA architectures, one repeated",
        &format!(
            "[cuda]\nversion = \"12.4\"\narch = [{}, \"8.0\"]\n",
            arch.join(",")
        ),
    );
    let indexes: String = (0..20_000)
        .map(|i| {
            format!(
                "[[pip.index]]\nname = \"i{i}\"\nurl = \"https://x/{i}\"\npackages = [\"p{i}\"]\n"
            )
        })
        .collect();
    fails_fast(
        "20k indexes, one name repeated",
        &format!(
            "[cuda]\nversion = \"12.4\"\n{indexes}[[pip.index]]\nname = \"i7\"\nurl = \"https://y/\"\n"
        ),
    );
    let marker = format!(
        "[cuda]\nversion = \"12.4\"\n[pip]\npackages = [\"a; {}\"]\n",
        "(".repeat(500_000)
    );
    fails_fast("deeply nested marker", &marker);
    let nested = format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    fails_fast("deeply nested arrays", &nested);
    let inline = format!("x = {}\n", "{ a = ".repeat(10_000));
    fails_fast("deeply nested inline tables", &inline);
    let dotted = format!("{} = 1\n", vec!["a"; 10_000].join("."));
    fails_fast("deeply dotted key", &dotted);
}

#[test]
fn huge_valid_comment_is_fine() {
    let source = format!("# {}\n[cuda]\nversion = \"12.4\"\n", "x".repeat(1 << 20));
    parse_ok(&source);
}

#[test]
fn schema_describes_every_key_of_the_full_manifest() {
    let schema: serde_json::Value = serde_json::from_str(&mlr::schema::manifest_schema()).unwrap();
    assert_eq!(schema["title"], "ml.toml");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["additionalProperties"], false);
    let text = serde_json::to_string(&schema).unwrap();
    let doc: toml_edit::DocumentMut = full().parse().unwrap();
    let mut keys = Vec::new();
    collect_keys(doc.as_item(), &mut keys);
    for key in keys {
        // Table names under [git], [env], [profile], [framework] are the user's own.
        if [
            "flash-attention",
            "local-kernels",
            "NCCL_SOCKET_IFNAME",
            "HF_HOME",
            "dev",
            "torch",
            "torchvision",
        ]
        .contains(&key.as_str())
        {
            continue;
        }
        assert!(
            text.contains(&format!("\"{key}\":")),
            "schema lacks `{key}`"
        );
    }
}

fn collect_keys(item: &toml_edit::Item, out: &mut Vec<String>) {
    if let Some(t) = item.as_table_like() {
        for (k, v) in t.iter() {
            out.push(k.to_string());
            collect_keys(v, out);
        }
    } else if let Some(a) = item.as_array_of_tables() {
        for t in a.iter() {
            for (k, v) in t.iter() {
                out.push(k.to_string());
                collect_keys(v, out);
            }
        }
    } else if let Some(a) = item.as_array() {
        for v in a.iter() {
            if let Some(t) = v.as_inline_table() {
                for (k, v) in t.iter() {
                    out.push(k.to_string());
                    if let Some(inner) = v.as_inline_table() {
                        collect_keys(&toml_edit::Item::Value(inner.clone().into()), out);
                    }
                }
            }
        }
    }
}

#[test]
fn random_edits_never_panic() {
    // A fixed-seed fuzz over every fixture: a few random edits each, with
    // characters and fragments that matter to TOML and to the validators.
    // (A longer run of this loop found a slicing bug on multi-byte input.)
    let mut corpus = Vec::new();
    for dir in ["good", "bad"] {
        for entry in fs::read_dir(fixtures().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                corpus.push(read(&path).chars().collect::<Vec<char>>());
            }
        }
    }
    let chars: Vec<char> = "\"'[]{}=.,#\n\r\t \\0123456789abcxyzTZ-_+/:@<>!~;()*é€😀\u{0}"
        .chars()
        .collect();
    let fragments = [
        "[[pip.index]]\n",
        "[git.x]\n",
        "= [",
        "= {",
        "\"\"\"",
        "'''",
        "true",
        "1979-05-27T07:32:00Z",
        "inf",
        "[profile.prod]\n",
        "build = [\"make\"]\n",
        "python_version < '3'",
        "numpy",
        "..",
        "://",
        "@sha256:",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = |n: usize| {
        // xorshift64: no dependency, and the same inputs on every run.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..20_000 {
        let mut text = corpus[random(corpus.len())].clone();
        for _ in 0..1 + random(4) {
            let at = random(text.len() + 1);
            match random(4) {
                0 => text.insert(at, chars[random(chars.len())]),
                1 if at < text.len() => drop(text.remove(at)),
                2 => {
                    let fragment = fragments[random(fragments.len())];
                    text.splice(at..at, fragment.chars());
                }
                _ if at < text.len() => text[at] = chars[random(chars.len())],
                _ => {}
            }
        }
        let _ = parse_no_panic(&text.into_iter().collect::<String>());
    }
}

/// The same fixtures through the real binary: exit 2, `ml.toml:LINE:COL` on
/// stderr where a location exists, the hint, and never a panic.
#[test]
fn bad_manifests_through_the_binary_exit_2_with_location() {
    let mut entries: Vec<PathBuf> = fs::read_dir(fixtures().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    entries.sort();
    let project = crate::support::Project::new();
    let mut failures = Vec::new();
    for path in &entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let source = read(path);
        let want = expectation(&name, &source);
        project.file("ml.toml", &source);
        for command in ["lock", "verify"] {
            let out = project.mlr().arg(command).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let mut problems = Vec::new();
            if out.status.code() != Some(2) {
                problems.push(format!("exit {:?}", out.status.code()));
            }
            if stderr.contains("panicked") {
                problems.push("panicked".to_string());
            }
            let place = match want.location {
                Some((l, c)) => format!("error: ml.toml:{l}:{c}: "),
                None => "error: ml.toml: ".to_string(),
            };
            if !stderr.contains(&place) {
                problems.push(format!("stderr lacks {place:?}"));
            }
            if want.hint.is_some() && !stderr.contains("\nhint: ") {
                problems.push("no hint line".to_string());
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{name} (mlr {command}): {}\n{stderr}",
                    problems.join("; ")
                ));
            }
        }
    }
    assert!(!project.path("ml.lock").exists(), "no lock may be written");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Bytes that are not UTF-8 at all: exit 2 with the place of the first bad byte.
#[test]
fn binary_garbage_is_a_located_error() {
    let project = crate::support::Project::new();
    let mut bytes = b"[project]\nname = \"x\"\nplatforms = [\"".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, 0x00, 0x81, b'"', b']', b'\n']);
    project.file("ml.toml", &bytes);
    project
        .mlr()
        .arg("lock")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: ml.toml:3:15: the file is not valid UTF-8",
        ))
        .stderr(predicate::str::contains("panicked").not());
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    project.file("ml.toml", &noise);
    project
        .mlr()
        .arg("verify")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: ml.toml:"))
        .stderr(predicate::str::contains("panicked").not());
}
