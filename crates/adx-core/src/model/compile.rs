//! The reader schema compiled into the shapes the decoders fill ([`crate::model::shape`]).
//!
//! Supported Avro types: null unions `["null", T]`, boolean, int, long, float, double, string,
//! enum, `timestamp-millis`, record and array. Anything else is refused when the schema loads,
//! with the path of the field, so a bad contract fails the deployment and not a record.

use crate::error::FieldError;
use crate::model::datum::Datum;
use crate::model::default_value::default_datum;
use crate::model::shape::{EnumShape, FieldShape, Kind, RecordShape, Ty};
use apache_avro::Schema;
use apache_avro::schema::{RecordSchema, UnionSchema};
use std::collections::HashMap;
use std::sync::Arc;

/// Why a reader schema cannot be compiled into a shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The top-level schema is not a record.
    #[error("the top-level schema must be a record, not {found}")]
    NotARecord {
        /// How the type found is named ([`Kind::describe`]).
        found: String,
    },
    /// The items of an array cannot be compiled.
    #[error("array items: {0}")]
    ArrayItems(Box<SchemaError>),
    /// A field's type cannot be compiled.
    #[error("field {field}: {error}")]
    Field {
        /// Field name.
        field: String,
        /// What is wrong with its type.
        error: Box<SchemaError>,
    },
    /// A field's default is not a value of its type.
    #[error("field {field}: default does not fit: {error}")]
    DefaultDoesNotFit {
        /// Field name.
        field: String,
        /// How the default does not fit.
        error: Box<FieldError>,
    },
    /// A reference to a named type not defined before it.
    #[error("unknown named type {0}")]
    UnknownNamedType(String),
    /// An Avro type the core does not support (the schema as apache-avro prints it).
    #[error("unsupported Avro type {0}")]
    Unsupported(String),
    /// A union other than `["null", T]`.
    #[error("only unions of null and one type are supported")]
    Union,
    /// A `field-id` or `element-id` that is not a positive 32-bit integer.
    #[error("field {field}: a column id must be a positive 32-bit integer, not {found}")]
    BadColumnId {
        /// Field name.
        field: String,
        /// The attribute's value.
        found: String,
    },
}

impl RecordShape {
    /// Compiles an Avro record schema.
    pub fn from_avro(schema: &Schema) -> Result<Arc<RecordShape>, SchemaError> {
        match compile(schema, &mut HashMap::new())?.kind {
            Kind::Record(r) => Ok(r),
            other => Err(SchemaError::NotARecord {
                found: other.describe(),
            }),
        }
    }
}

type Named = HashMap<String, Kind>;

fn compile(schema: &Schema, named: &mut Named) -> Result<Ty, SchemaError> {
    let plain = |kind| {
        Ok(Ty {
            kind,
            nullable: false,
        })
    };
    match schema {
        Schema::Boolean => plain(Kind::Bool),
        Schema::Int => plain(Kind::Int),
        Schema::Long => plain(Kind::Long),
        Schema::Float => plain(Kind::Float),
        Schema::Double => plain(Kind::Double),
        Schema::String => plain(Kind::Str),
        Schema::TimestampMillis => plain(Kind::TimestampMillis),
        Schema::Enum(e) => {
            let default = e
                .default
                .as_ref()
                .and_then(|d| e.symbols.iter().position(|s| s == d))
                .map(|i| i as u32);
            let shape = Arc::new(EnumShape {
                name: e.name.name().to_string(),
                symbols: e.symbols.clone(),
                default,
            });
            named.insert(e.name.fullname(None), Kind::Enum(shape.clone()));
            plain(Kind::Enum(shape))
        }
        Schema::Array(a) => {
            let items =
                compile(&a.items, named).map_err(|e| SchemaError::ArrayItems(Box::new(e)))?;
            plain(Kind::Array(Box::new(items)))
        }
        Schema::Record(r) => compile_record(r, named),
        Schema::Union(u) => compile_union(u, named),
        Schema::Ref { name } => match named.get(&name.fullname(None)) {
            Some(kind) => plain(kind.clone()),
            None => Err(SchemaError::UnknownNamedType(name.fullname(None))),
        },
        other => Err(SchemaError::Unsupported(format!("{other:?}"))),
    }
}

fn compile_union(u: &UnionSchema, named: &mut Named) -> Result<Ty, SchemaError> {
    let variants = u.variants();
    let non_null: Vec<&Schema> = variants
        .iter()
        .filter(|s| !matches!(s, Schema::Null))
        .collect();
    if variants.len() != 2 || non_null.len() != 1 {
        return Err(SchemaError::Union);
    }
    let mut ty = compile(non_null[0], named)?;
    ty.nullable = true;
    Ok(ty)
}

/// A `field-id` or `element-id` attribute: a positive 32-bit integer, if present.
fn column_id(value: Option<&serde_json::Value>, field: &str) -> Result<Option<i32>, SchemaError> {
    match value {
        None => Ok(None),
        Some(v) => match v.as_i64().and_then(|n| i32::try_from(n).ok()) {
            Some(id) if id > 0 => Ok(Some(id)),
            _ => Err(SchemaError::BadColumnId {
                field: field.to_string(),
                found: v.to_string(),
            }),
        },
    }
}

/// The `element-id` of an array field's array (under a null union too).
fn element_id(schema: &Schema, field: &str) -> Result<Option<i32>, SchemaError> {
    match schema {
        Schema::Array(a) => column_id(a.attributes.get("element-id"), field),
        Schema::Union(u) => {
            for variant in u.variants() {
                if let Schema::Array(a) = variant {
                    return column_id(a.attributes.get("element-id"), field);
                }
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

fn compile_record(r: &RecordSchema, named: &mut Named) -> Result<Ty, SchemaError> {
    let mut fields = Vec::with_capacity(r.fields.len());
    for f in &r.fields {
        let ty = compile(&f.schema, named).map_err(|e| SchemaError::Field {
            field: f.name.clone(),
            error: Box::new(e),
        })?;
        let default =
            match &f.default {
                None if ty.nullable => Some(Datum::Null),
                None => None,
                Some(value) => Some(default_datum(value, &ty).map_err(|error| {
                    SchemaError::DefaultDoesNotFit {
                        field: f.name.clone(),
                        error: Box::new(error),
                    }
                })?),
            };
        fields.push(FieldShape {
            name: f.name.clone(),
            ty,
            default,
            aliases: f.aliases.clone(),
            id: column_id(f.custom_attributes.get("field-id"), &f.name)?,
            element_id: element_id(&f.schema, &f.name)?,
        });
    }
    let shape = Arc::new(RecordShape::new(r.name.name().to_string(), fields));
    named.insert(r.name.fullname(None), Kind::Record(shape.clone()));
    Ok(Ty {
        kind: Kind::Record(shape),
        nullable: false,
    })
}
