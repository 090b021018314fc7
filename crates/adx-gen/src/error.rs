//! The error type of the generator.

/// Everything that can go wrong while generating or encoding sample data.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// Writing the output failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The Avro schema could not be parsed or a value could not be written.
    #[error("avro: {0}")]
    Avro(#[from] Box<apache_avro::Error>),
    /// JSON serialization failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV writing failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// A generated value does not fit the dataset schema (a bug of the generator).
    #[error("field `{field}`: {message}")]
    Convert {
        /// Dotted path of the field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A dataset name that is not one of the three datasets.
    #[error("unknown dataset `{0}`")]
    UnknownDataset(String),
}

impl From<apache_avro::Error> for GenError {
    fn from(error: apache_avro::Error) -> Self {
        Self::Avro(Box::new(error))
    }
}
