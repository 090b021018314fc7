//! The schema registry on the AWS Glue Schema Registry: GetSchemaVersion by version id (what a
//! Glue-framed record carries) and by schema name at its latest version (a dataset's reader
//! schema). Caching is the core's `CachedRegistry`, wrapped around this by the handlers.

use crate::AwsContext;
use crate::error::{code, describe};
use adx_core::{RegisteredSchema, RegistryError, SchemaRegistry};
use aws_sdk_glue::operation::get_schema_version::GetSchemaVersionOutput;
use aws_sdk_glue::types::{SchemaId, SchemaVersionNumber};
use tokio::runtime::Handle;

/// Schemas of one Glue registry.
pub struct GlueRegistry {
    client: aws_sdk_glue::Client,
    handle: Handle,
    registry: String,
}

impl GlueRegistry {
    /// The registry `registry` through the context's Glue client.
    pub fn new(context: &AwsContext, registry: &str) -> GlueRegistry {
        GlueRegistry {
            client: context.glue().clone(),
            handle: context.handle(),
            registry: registry.to_string(),
        }
    }

    /// The registry's name.
    pub fn name(&self) -> &str {
        &self.registry
    }
}

/// Codes with which Glue says that a schema or version does not exist. A malformed id is one
/// that no schema has, too: the record that carries it is bad data, not a fault.
fn is_not_found(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("EntityNotFoundException" | "InvalidInputException")
    )
}

/// The schema name in a schema ARN (`arn:aws:glue:<region>:<account>:schema/<registry>/<name>`).
pub fn schema_name_of(arn: &str) -> Option<&str> {
    arn.rsplit_once('/').map(|(_, name)| name)
}

fn registered(
    output: GetSchemaVersionOutput,
    name: Option<&str>,
) -> Result<RegisteredSchema, String> {
    let name = match name {
        Some(name) => name.to_string(),
        None => output
            .schema_arn()
            .and_then(schema_name_of)
            .ok_or("the answer has no schema ARN")?
            .to_string(),
    };
    Ok(RegisteredSchema {
        name,
        version_id: output
            .schema_version_id
            .ok_or("the answer has no schema version id")?,
        version_number: output
            .version_number
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        data_format: output
            .data_format
            .map(|f| f.as_str().to_string())
            .unwrap_or_default(),
        definition: output
            .schema_definition
            .ok_or("the answer has no schema definition")?,
    })
}

impl SchemaRegistry for GlueRegistry {
    fn latest(&self, name: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        let request = self
            .client
            .get_schema_version()
            .schema_id(
                SchemaId::builder()
                    .registry_name(&self.registry)
                    .schema_name(name)
                    .build(),
            )
            .schema_version_number(SchemaVersionNumber::builder().latest_version(true).build());
        let operation = || format!("GetSchemaVersion {}/{name} latest", self.registry);
        match self.handle.block_on(request.send()) {
            Ok(output) => {
                registered(output, Some(name))
                    .map(Some)
                    .map_err(|message| RegistryError {
                        operation: operation(),
                        message,
                    })
            }
            Err(e) if code(&e) == Some("EntityNotFoundException") => Ok(None),
            Err(e) => Err(RegistryError {
                operation: operation(),
                message: describe(&e),
            }),
        }
    }

    fn by_version_id(&self, version_id: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        let request = self
            .client
            .get_schema_version()
            .schema_version_id(version_id);
        let operation = || format!("GetSchemaVersion {version_id}");
        match self.handle.block_on(request.send()) {
            Ok(output) => registered(output, None)
                .map(Some)
                .map_err(|message| RegistryError {
                    operation: operation(),
                    message,
                }),
            Err(e) if is_not_found(code(&e)) => Ok(None),
            Err(e) => Err(RegistryError {
                operation: operation(),
                message: describe(&e),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_come_from_arns() {
        assert_eq!(
            schema_name_of("arn:aws:glue:us-east-1:123456789012:schema/advertisex/bid_requests"),
            Some("bid_requests")
        );
        assert_eq!(schema_name_of("nonsense"), None);
    }
}
