//! JSON schemas (draft-07) for `ml.toml` and `ml.lock`, generated from the
//! types; `schema/*.json` are checked against these by a test.

/// The JSON schema of `ml.lock`.
pub fn lock_schema() -> String {
    let settings = schemars::generate::SchemaSettings::draft07();
    let schema = settings
        .into_generator()
        .into_root_schema_for::<crate::lock::Lockfile>();
    let mut s = serde_json::to_string_pretty(&schema).expect("schema serializes");
    s.push('\n');
    s
}

/// The JSON schema of `ml.toml`.
pub fn manifest_schema() -> String {
    let settings = schemars::generate::SchemaSettings::draft07();
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<crate::manifest::wire::TomlManifest>();
    drop_null(&mut schema);
    let mut s = serde_json::to_string_pretty(&schema).expect("schema serializes");
    s.push('\n');
    s
}

/// TOML has no null: an optional key is one left out, so the `null` that
/// schemars adds for `Option` fields would only mislead editors.
fn drop_null(schema: &mut schemars::Schema) {
    use serde_json::Value;
    if let Some(obj) = schema.as_object_mut() {
        if let Some(Value::Array(types)) = obj.get_mut("type") {
            types.retain(|t| t != "null");
            if let [only] = types.as_slice() {
                let only = only.clone();
                obj.insert("type".into(), only);
            }
        }
        if let Some(Value::Array(any)) = obj.get_mut("anyOf") {
            any.retain(|s| s.get("type").is_none_or(|t| t != "null"));
            if let [Value::Object(only)] = any.as_slice() {
                let only = only.clone();
                obj.remove("anyOf");
                obj.extend(only);
            }
        }
    }
    schemars::transform::transform_subschemas(&mut drop_null, schema);
}
