//! Registry administration for `adx schemas push` and `adx doctor`: the registry itself, and
//! registering each dataset schema as a new version only when it changed and the change keeps
//! BACKWARD compatibility (checked here with apache-avro, since not every registry enforces it).

use crate::error::{code, describe};
use crate::{AwsContext, AwsError, GlueRegistry};
use adx_core::{RegisteredSchema, SchemaRegistry};
use adx_core::{SchemaChange, compare_schemas};
use aws_sdk_glue::types::{Compatibility, DataFormat, RegistryId, SchemaId, SchemaVersionStatus};

/// What pushing one schema file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The schema was created, with this first version.
    Created {
        /// Version number.
        version: u64,
    },
    /// A new version was registered.
    Registered {
        /// Version number.
        version: u64,
    },
    /// The latest registered version is the same schema.
    Unchanged {
        /// Version number.
        version: u64,
    },
    /// Nothing was registered, for this reason.
    Refused(String),
}

/// Administration of one Glue registry.
pub struct GlueAdmin<'a> {
    context: &'a AwsContext,
    registry: GlueRegistry,
}

impl<'a> GlueAdmin<'a> {
    /// The registry named `registry`.
    pub fn new(context: &'a AwsContext, registry: &str) -> GlueAdmin<'a> {
        GlueAdmin {
            context,
            registry: GlueRegistry::new(context, registry),
        }
    }

    fn registry_id(&self) -> RegistryId {
        RegistryId::builder()
            .registry_name(self.registry.name())
            .build()
    }

    fn call_error(&self, operation: &'static str, target: &str, message: String) -> AwsError {
        AwsError::Call {
            operation,
            target: target.to_string(),
            message,
        }
    }

    /// Whether the registry exists.
    pub fn registry_exists(&self) -> Result<bool, AwsError> {
        let request = self
            .context
            .glue()
            .get_registry()
            .registry_id(self.registry_id());
        match self.context.block_on(request.send()) {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some("EntityNotFoundException") => Ok(false),
            Err(e) => Err(self.call_error("GetRegistry", self.registry.name(), describe(&e))),
        }
    }

    /// Creates the registry unless it exists; says whether it was created.
    pub fn ensure_registry(&self) -> Result<bool, AwsError> {
        if self.registry_exists()? {
            return Ok(false);
        }
        let request = self
            .context
            .glue()
            .create_registry()
            .registry_name(self.registry.name())
            .description("AdvertiseX dataset schemas (schemas/ in the ingestion repository)");
        match self.context.block_on(request.send()) {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some("AlreadyExistsException") => Ok(false),
            Err(e) => Err(self.call_error("CreateRegistry", self.registry.name(), describe(&e))),
        }
    }

    /// The latest registered version of schema `name`.
    pub fn latest(&self, name: &str) -> Result<Option<RegisteredSchema>, AwsError> {
        self.registry
            .latest(name)
            .map_err(|e| self.call_error("GetSchemaVersion", name, e.message))
    }

    /// Registers `definition` as schema `name`: creates the schema (BACKWARD compatibility,
    /// Avro) if it is new, registers a new version if it changed compatibly, and refuses a
    /// breaking change or an invalid schema with the reason.
    pub fn push(&self, name: &str, definition: &str) -> Result<PushOutcome, AwsError> {
        let latest = self.latest(name)?;
        let change = match compare_schemas(
            name,
            latest.as_ref().map(|l| l.definition.as_str()),
            definition,
        ) {
            Ok(change) => change,
            Err(reason) => return Ok(PushOutcome::Refused(format!("invalid schema: {reason}"))),
        };
        let target = format!("{}/{name}", self.registry.name());
        match change {
            SchemaChange::Unchanged => Ok(PushOutcome::Unchanged {
                version: latest.map_or(0, |l| l.version_number),
            }),
            SchemaChange::Breaking(reason) => Ok(PushOutcome::Refused(format!(
                "breaks BACKWARD compatibility with version {}: {reason}",
                latest.map_or(0, |l| l.version_number)
            ))),
            SchemaChange::New => {
                let request = self
                    .context
                    .glue()
                    .create_schema()
                    .registry_id(self.registry_id())
                    .schema_name(name)
                    .data_format(DataFormat::Avro)
                    .compatibility(Compatibility::Backward)
                    .schema_definition(definition);
                let output = self
                    .context
                    .block_on(request.send())
                    .map_err(|e| self.call_error("CreateSchema", &target, describe(&e)))?;
                Ok(PushOutcome::Created {
                    version: output
                        .latest_schema_version
                        .and_then(|v| u64::try_from(v).ok())
                        .unwrap_or(1),
                })
            }
            SchemaChange::Compatible => {
                let request = self
                    .context
                    .glue()
                    .register_schema_version()
                    .schema_id(
                        SchemaId::builder()
                            .registry_name(self.registry.name())
                            .schema_name(name)
                            .build(),
                    )
                    .schema_definition(definition);
                let output = self
                    .context
                    .block_on(request.send())
                    .map_err(|e| self.call_error("RegisterSchemaVersion", &target, describe(&e)))?;
                if output.status == Some(SchemaVersionStatus::Failure) {
                    return Ok(PushOutcome::Refused(
                        "the registry refused the version (its compatibility check failed)".into(),
                    ));
                }
                Ok(PushOutcome::Registered {
                    version: output
                        .version_number
                        .and_then(|v| u64::try_from(v).ok())
                        .unwrap_or(0),
                })
            }
        }
    }
}
