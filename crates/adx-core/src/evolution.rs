//! Schema evolution: what a new version of a dataset's schema is, next to the version before
//! it. A change must keep BACKWARD compatibility (the registry's mode): the new reader schema
//! can read every record written with the previous one. `adx schemas push` and
//! `adx schemas check` both decide through here.

use crate::model::avro_compat::resolution_problem;
use crate::model::dataset::{Dataset, DatasetError};
use crate::ports::RegisteredSchema;
use apache_avro::Schema;

/// A schema file compared with the version before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// There is no version before it.
    New,
    /// The same schema (JSON-equal: whitespace and key order do not count, attributes do).
    Unchanged,
    /// A different schema that can read everything the previous version wrote.
    Compatible,
    /// A different schema that breaks BACKWARD compatibility, and why.
    Breaking(String),
}

/// Why a schema file cannot be compared with the version before it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvolutionError {
    /// The file is not a valid dataset schema.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// The schema inside is named otherwise than its file.
    #[error("the schema is named `{found}` but its file says `{expected}`")]
    NameMismatch {
        /// The schema's name.
        found: String,
        /// The name its file gives.
        expected: String,
    },
    /// The previous version does not parse (apache-avro's message).
    #[error("the previous version is not a valid Avro schema: {0}")]
    PreviousInvalid(String),
}

/// Compares `next` (the text of a schema file for dataset `name`) with `previous` (the text
/// of the version before it, if any). Fails when `next` is not a valid dataset schema.
pub fn compare(name: &str, previous: Option<&str>, next: &str) -> Result<Change, EvolutionError> {
    let candidate = RegisteredSchema {
        name: name.to_string(),
        version_id: String::new(),
        version_number: 0,
        data_format: "AVRO".into(),
        definition: next.to_string(),
    };
    let dataset = Dataset::from_registered(&candidate)?;
    if dataset.name != name {
        return Err(EvolutionError::NameMismatch {
            found: dataset.name,
            expected: name.to_string(),
        });
    }
    let Some(previous) = previous else {
        return Ok(Change::New);
    };
    if same_json(previous, next) {
        return Ok(Change::Unchanged);
    }
    let old =
        Schema::parse_str(previous).map_err(|e| EvolutionError::PreviousInvalid(e.to_string()))?;
    Ok(match resolution_problem(&old, &dataset.schema) {
        Some(problem) => Change::Breaking(format!(
            "records written with the previous version cannot be read with this one: {problem}"
        )),
        None => Change::Compatible,
    })
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"{"type":"record","name":"clicks","fields":[
        {"name":"id","type":"string"},{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}],
        "adx":{"key":"id","event_time":"ts"}}"#;

    fn with_fields(extra: &str) -> String {
        V1.replace(
            r#"{"name":"id","type":"string"},"#,
            &format!(r#"{{"name":"id","type":"string"}},{extra},"#),
        )
    }

    #[test]
    fn a_first_version_is_new() {
        assert_eq!(compare("clicks", None, V1), Ok(Change::New));
    }

    #[test]
    fn formatting_alone_is_no_change() {
        let reformatted = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(V1).unwrap_or_default(),
        )
        .unwrap_or_default();
        assert_eq!(
            compare("clicks", Some(V1), &reformatted),
            Ok(Change::Unchanged)
        );
    }

    #[test]
    fn a_rule_change_is_a_change() {
        let next = V1.replace(r#""event_time":"ts""#, r#""event_time":"ts","rules":[]"#);
        assert_eq!(compare("clicks", Some(V1), &next), Ok(Change::Compatible));
    }

    #[test]
    fn a_field_added_with_a_default_is_compatible() {
        let next = with_fields(r#"{"name":"country","type":"string","default":"ZZ"}"#);
        assert_eq!(compare("clicks", Some(V1), &next), Ok(Change::Compatible));
    }

    #[test]
    fn a_field_added_without_a_default_breaks() {
        let next = with_fields(r#"{"name":"country","type":"string"}"#);
        match compare("clicks", Some(V1), &next) {
            Ok(Change::Breaking(reason)) => assert!(reason.contains("country"), "{reason}"),
            other => panic!("expected a breaking change, got {other:?}"),
        }
    }

    #[test]
    fn a_type_narrowed_breaks() {
        let old = with_fields(r#"{"name":"n","type":"long"}"#);
        let next = with_fields(r#"{"name":"n","type":"int"}"#);
        assert!(matches!(
            compare("clicks", Some(&old), &next),
            Ok(Change::Breaking(_))
        ));
    }

    #[test]
    fn an_invalid_schema_or_a_wrong_name_is_an_error() {
        assert!(compare("clicks", None, "{").is_err());
        assert!(compare("impressions", None, V1).is_err());
        let no_key = V1.replace(r#""key":"id","#, "");
        assert!(compare("clicks", None, &no_key).is_err());
    }
}
