//! JSON schemas (draft-07) for `ml.toml` and `ml.lock`, generated from the
//! types; `schema/*.json` are checked against these by a test.

/// The JSON schema of `ml.lock`.
pub fn lock_schema() -> String {
    let settings = schemars::generate::SchemaSettings::draft07();
    let schema = settings.into_generator().into_root_schema_for::<crate::lock::Lockfile>();
    let mut s = serde_json::to_string_pretty(&schema).expect("schema serializes");
    s.push('\n');
    s
}

/// The JSON schema of `ml.toml`.
pub fn manifest_schema() -> String {
    let settings = schemars::generate::SchemaSettings::draft07();
    let schema = settings
        .into_generator()
        .into_root_schema_for::<crate::manifest::wire::TomlManifest>();
    let mut s = serde_json::to_string_pretty(&schema).expect("schema serializes");
    s.push('\n');
    s
}
