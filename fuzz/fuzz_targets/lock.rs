//! ml.lock text → `mlr::lock::parse`, the strict reader every command uses.
//! A lock it accepts must survive the canonical writer: what `render`
//! writes reads back as the same lock, canonical.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match mlr::lock::parse(text, "ml.lock") {
        Ok(read) => {
            let _ = mlr::lock::consistency::check(&read);
            let _ = read.lock.source_date_epoch();
            let canonical = mlr::lock::render(&read.lock);
            let again = match mlr::lock::parse(&canonical, "ml.lock") {
                Ok(again) => again,
                Err(e) => {
                    panic!("the canonical text of a lock that read fails to read: {e}\n{canonical}")
                }
            };
            let mut sorted = read.lock.clone();
            sorted.sort();
            assert_eq!(again.lock, sorted, "{canonical}");
            assert_eq!(again.non_canonical_line, None, "{canonical}");
        }
        Err(e) => {
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= text.lines().count() + 1, "{e}");
            }
            let _ = mlr::error::render(&anyhow::Error::new(e), false);
        }
    }
});
