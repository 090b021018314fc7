//! Errors of the core: record-level errors (the record goes to quarantine, the batch goes on)
//! and infrastructure errors (the invocation fails so that Lambda retries it).

use serde::{Deserialize, Serialize};

/// Why one value of a record does not fit: the field path, what was expected, what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: expected {expected}, found {found}")]
pub struct FieldError {
    /// Dotted path of the field, `imps[2].imp_id` style; empty for the record itself.
    pub field: String,
    /// What the schema or rule expects.
    pub expected: String,
    /// What the input holds, shortened for display.
    pub found: String,
}

impl FieldError {
    /// A new error at `field`.
    pub fn new(
        field: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// The same error seen from the parent: prefix the path with `segment`.
    pub fn within(mut self, segment: &str) -> Self {
        self.field = if self.field.is_empty() {
            segment.to_string()
        } else if self.field.starts_with('[') {
            format!("{segment}{}", self.field)
        } else {
            format!("{segment}.{}", self.field)
        };
        self
    }

    /// The same error inside array item `index`.
    pub fn at_index(mut self, index: usize) -> Self {
        self.field = if self.field.is_empty() {
            format!("[{index}]")
        } else if self.field.starts_with('[') {
            format!("[{index}]{}", self.field)
        } else {
            format!("[{index}].{}", self.field)
        };
        self
    }
}

/// Shortens an input value for an error message.
pub fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The class of a record-level failure, as written in the quarantine entry's `error.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordErrorKind {
    /// The bytes are not valid syntax of the format (JSON, CSV, Avro block).
    Parse,
    /// The record does not fit the dataset's schema (type, missing field, unknown enum symbol).
    Schema,
    /// The record fits the schema but breaks a dataset rule.
    Rule,
    /// The object as a whole cannot be read (corrupt compression, not Avro, empty).
    Object,
    /// The object's writer schema cannot be resolved to the dataset's reader schema.
    IncompatibleSchema,
    /// The object's key names no known dataset.
    Unrouted,
    /// The object's suffix names no supported format.
    UnsupportedFormat,
}

/// A record-level failure: the record goes to quarantine with this reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct RecordError {
    /// The class of failure.
    pub kind: RecordErrorKind,
    /// A sentence for humans.
    pub message: String,
    /// The field path, when one field is to blame.
    pub field: Option<String>,
}

impl RecordError {
    /// An error that names no field.
    pub fn new(kind: RecordErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            field: None,
        }
    }

    /// An error of `kind` built from a field error.
    pub fn from_field(kind: RecordErrorKind, error: FieldError) -> Self {
        let message = error.to_string();
        Self {
            kind,
            message,
            field: Some(error.field),
        }
    }
}

/// An infrastructure or configuration fault: the invocation fails and Lambda retries it.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[from] crate::ports::StoreError),
    /// The schema registry failed.
    #[error("schema registry: {0}")]
    Registry(#[from] crate::ports::RegistryError),
    /// A registered schema is not one the core can work with (a deployment fault, not a data one).
    #[error("schema `{name}`: {message}")]
    BadSchema {
        /// Schema name.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// Encoding Parquet failed.
    #[error("writing parquet {key}: {source}")]
    Parquet {
        /// Object key being written.
        key: String,
        /// The parquet error.
        source: parquet::errors::ParquetError,
    },
    /// A worker thread stopped without an answer (it panicked): a bug, and the batch fails.
    #[error("{0}: the thread stopped without an answer")]
    WorkerLost(&'static str),
    /// A thread could not be started (the process is out of threads or memory).
    #[error("starting the {what} thread: {source}")]
    ThreadStart {
        /// What the thread was for.
        what: &'static str,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// A pending manifest could not be rendered as JSON (a bug: its types always can be).
    #[error("rendering the pending manifest {key}: {source}")]
    PendingManifest {
        /// Its key.
        key: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The reconciliation of counts failed: a bug, never to be hidden.
    #[error("counts do not add up for {dataset}: {detail}")]
    CountMismatch {
        /// Dataset concerned.
        dataset: String,
        /// The numbers.
        detail: String,
    },
}
