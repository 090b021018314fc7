//! The catalog in AWS: the Glue Data Catalog (iceberg-rust's Glue catalog, table metadata and
//! manifests written to S3), the tables in the curated bucket (`s3://<bucket>/<dataset>`), and
//! the Glue table optimizers that maintain them (compaction, snapshot retention, orphan-file
//! deletion), enabled when a table is made.

use crate::TableError;
use aws_sdk_glue::types::{
    IcebergOrphanFileDeletionConfiguration, IcebergRetentionConfiguration,
    OrphanFileDeletionConfiguration, RetentionConfiguration, TableOptimizerConfiguration,
    TableOptimizerType,
};
use iceberg::CatalogBuilder;
use iceberg_catalog_glue::{GlueCatalog, GlueCatalogBuilder};
use std::collections::HashMap;

/// How long a snapshot is kept before snapshot retention expires it (time travel window).
pub const SNAPSHOT_RETENTION_DAYS: i32 = 5;

/// How many snapshots retention always keeps, however old.
pub const SNAPSHOTS_KEPT: i32 = 1;

/// How old a file no snapshot names must be before orphan-file deletion removes it. Longer than
/// a data file can wait, pending, for its commit (its table's evolution), so that only the
/// files of failed attempts go.
pub const ORPHAN_FILE_RETENTION_DAYS: i32 = 7;

/// Where the Glue catalog is and how to reach it. In Lambda only the warehouse is set: the
/// endpoints, region and credentials come from the environment, as for every AWS SDK client.
#[derive(Debug, Clone, Default)]
pub struct GlueSettings {
    /// The curated bucket, as `s3://<bucket>`.
    pub warehouse: String,
    /// The Glue endpoint (an emulator), when not AWS's.
    pub glue_endpoint: Option<String>,
    /// The S3 endpoint (an emulator), when not AWS's; path-style addressing is used with it.
    pub s3_endpoint: Option<String>,
    /// The region, when not the environment's.
    pub region: Option<String>,
}

/// The location of `dataset`'s table: its folder in the curated bucket.
pub fn table_location(curated_bucket: &str, dataset: &str) -> String {
    format!("s3://{curated_bucket}/{dataset}")
}

/// A data file's location: `s3://<bucket>/<key>`.
pub fn file_uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// Opens the Glue catalog. Call it on the runtime that will drive the catalog.
pub async fn open(settings: &GlueSettings) -> Result<GlueCatalog, TableError> {
    let mut props = HashMap::from([("warehouse".to_string(), settings.warehouse.clone())]);
    if let Some(uri) = &settings.glue_endpoint {
        props.insert("uri".into(), uri.clone());
    }
    if let Some(endpoint) = &settings.s3_endpoint {
        props.insert(iceberg::io::S3_ENDPOINT.into(), endpoint.clone());
        props.insert(iceberg::io::S3_PATH_STYLE_ACCESS.into(), "true".into());
    }
    let region = settings
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok());
    if let Some(region) = region {
        props.insert("region_name".into(), region.clone());
        props.insert(iceberg::io::S3_REGION.into(), region);
    }
    Ok(GlueCatalogBuilder::default().load("adx", props).await?)
}

/// The optimizer configuration of a table: `kind` run by `role_arn`.
pub fn optimizer_configuration(
    kind: &TableOptimizerType,
    role_arn: &str,
    table_location: &str,
) -> TableOptimizerConfiguration {
    let config = TableOptimizerConfiguration::builder()
        .role_arn(role_arn)
        .enabled(true);
    match kind {
        TableOptimizerType::Retention => config.retention_configuration(
            RetentionConfiguration::builder()
                .iceberg_configuration(
                    IcebergRetentionConfiguration::builder()
                        .snapshot_retention_period_in_days(SNAPSHOT_RETENTION_DAYS)
                        .number_of_snapshots_to_retain(SNAPSHOTS_KEPT)
                        .clean_expired_files(true)
                        .build(),
                )
                .build(),
        ),
        TableOptimizerType::OrphanFileDeletion => config.orphan_file_deletion_configuration(
            OrphanFileDeletionConfiguration::builder()
                .iceberg_configuration(
                    IcebergOrphanFileDeletionConfiguration::builder()
                        .orphan_file_retention_period_in_days(ORPHAN_FILE_RETENTION_DAYS)
                        .location(format!("{table_location}/"))
                        .build(),
                )
                .build(),
        ),
        _ => config,
    }
    .build()
}

/// The optimizers every table gets.
pub fn optimizer_kinds() -> [TableOptimizerType; 3] {
    [
        TableOptimizerType::Compaction,
        TableOptimizerType::Retention,
        TableOptimizerType::OrphanFileDeletion,
    ]
}

/// Enables the Glue table optimizers of `table` in `database` (compaction, snapshot retention,
/// orphan-file deletion), run by `role_arn`; an optimizer already there is left as it is.
/// Returns the kinds created.
pub async fn enable_optimizers(
    glue: &aws_sdk_glue::Client,
    database: &str,
    table: &str,
    role_arn: &str,
) -> Result<Vec<String>, TableError> {
    let glue_err =
        |what: &str, e: String| TableError::Glue(format!("{what} {database}.{table}: {e}"));
    let found = glue
        .get_table()
        .database_name(database)
        .name(table)
        .send()
        .await
        .map_err(|e| {
            glue_err(
                "GetTable",
                aws_sdk_glue::error::DisplayErrorContext(e).to_string(),
            )
        })?;
    let Some(found) = found.table() else {
        return Err(glue_err("GetTable", "no table in the answer".into()));
    };
    let catalog_id = found.catalog_id().unwrap_or_default().to_string();
    let location = found
        .storage_descriptor()
        .and_then(|s| s.location())
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let mut created = Vec::new();
    for kind in optimizer_kinds() {
        let answer = glue
            .create_table_optimizer()
            .catalog_id(&catalog_id)
            .database_name(database)
            .table_name(table)
            .r#type(kind.clone())
            .table_optimizer_configuration(optimizer_configuration(&kind, role_arn, &location))
            .send()
            .await;
        match answer {
            Ok(_) => created.push(kind.as_str().to_string()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) => {}
            Err(e) => {
                return Err(glue_err(
                    &format!("CreateTableOptimizer {}", kind.as_str()),
                    aws_sdk_glue::error::DisplayErrorContext(e).to_string(),
                ));
            }
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_optimizer_is_configured_for_its_kind() {
        let role = "arn:aws:iam::123456789012:role/optimizer";
        let location = "s3://curated/ad_impressions";
        let compaction = optimizer_configuration(&TableOptimizerType::Compaction, role, location);
        assert_eq!(compaction.role_arn(), Some(role));
        assert_eq!(compaction.enabled(), Some(true));
        assert!(compaction.retention_configuration().is_none());

        let retention = optimizer_configuration(&TableOptimizerType::Retention, role, location);
        let iceberg = retention
            .retention_configuration()
            .and_then(|r| r.iceberg_configuration())
            .map(|c| {
                (
                    c.snapshot_retention_period_in_days(),
                    c.number_of_snapshots_to_retain(),
                    c.clean_expired_files(),
                )
            });
        assert_eq!(
            iceberg,
            Some((
                Some(SNAPSHOT_RETENTION_DAYS),
                Some(SNAPSHOTS_KEPT),
                Some(true)
            ))
        );

        let orphans =
            optimizer_configuration(&TableOptimizerType::OrphanFileDeletion, role, location);
        let iceberg = orphans
            .orphan_file_deletion_configuration()
            .and_then(|o| o.iceberg_configuration())
            .map(|c| (c.orphan_file_retention_period_in_days(), c.location()));
        assert_eq!(
            iceberg,
            Some((
                Some(ORPHAN_FILE_RETENTION_DAYS),
                Some("s3://curated/ad_impressions/")
            ))
        );
    }
}
