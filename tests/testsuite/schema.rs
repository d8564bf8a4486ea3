//! The JSON schemas in `schema/` are generated from the types; this fails
//! when they are stale. Regenerate with
//! `MLR_UPDATE_SCHEMAS=1 cargo test --test testsuite schema`.

use std::path::Path;

#[test]
fn schemas_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("MLR_UPDATE_SCHEMAS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (rel, generated) in [
        ("schema/ml.toml.schema.json", mlr::schema::manifest_schema()),
        ("schema/ml.lock.schema.json", mlr::schema::lock_schema()),
    ] {
        let path = root.join(rel);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == generated {
            continue;
        }
        if update {
            std::fs::write(&path, &generated).unwrap();
        } else {
            stale.push(rel);
        }
    }
    assert!(
        stale.is_empty(),
        "{} stale: run `MLR_UPDATE_SCHEMAS=1 cargo test --test testsuite schema`",
        stale.join(", ")
    );
}

#[test]
fn schemas_are_draft_07_with_titles() {
    for (schema, title) in [
        (mlr::schema::manifest_schema(), "ml.toml"),
        (mlr::schema::lock_schema(), "ml.lock"),
    ] {
        let v: serde_json::Value = serde_json::from_str(&schema).unwrap();
        assert_eq!(v["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(v["title"], title);
        assert!(v["properties"].as_object().is_some_and(|p| !p.is_empty()));
    }
}
