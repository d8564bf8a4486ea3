//! ml.toml text → the manifest parser and validator `mlr` reads ml.toml
//! with. Valid manifests go on to the fingerprint and the requests; errors
//! are rendered as the user sees them (location, snippet and caret).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match mlr::manifest::parse(text, "ml.toml") {
        Ok(manifest) => {
            let _ = manifest.fingerprint();
            let requests = mlr::requests::Requests::of(&manifest);
            let _ = requests.framework_names();
            let _ = requests.profile_only_pip();
        }
        Err(e) => {
            // A located error points into the text.
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= text.lines().count() + 1, "{e}");
            }
            let _ = mlr::error::render(&anyhow::Error::new(e), false);
        }
    }
});
