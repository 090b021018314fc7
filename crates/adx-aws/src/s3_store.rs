//! The object store on Amazon S3: streaming GetObject (pinned to the version or ETag the event
//! announced), and writers that put small objects whole and upload large ones in parts.

use crate::AwsContext;
use crate::error::{code, describe, status};
use crate::s3_read::S3BodyReader;
use crate::s3_write::{S3Writer, STORE_PARTS_IN_FLIGHT};
use adx_core::{ObjectStore, ObjectWriter, Pin, StoreError};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use std::io::Read;
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

/// Keys of one DeleteObjects request, at most.
const DELETE_BATCH: usize = 1_000;

/// Smallest part S3 accepts in a multipart upload (but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// Objects in S3 buckets, through the process's S3 client.
pub struct S3Store {
    client: aws_sdk_s3::Client,
    handle: Handle,
    part_bytes: usize,
    /// Parts in flight of all its writers ([`STORE_PARTS_IN_FLIGHT`]).
    parts_in_flight: Arc<Semaphore>,
}

impl S3Store {
    /// A store on the context's S3 client; objects above `part_bytes` (at least 5 MiB) are
    /// uploaded in parts of that size.
    pub fn new(context: &AwsContext, part_bytes: usize) -> S3Store {
        S3Store {
            client: context.s3().clone(),
            handle: context.handle(),
            part_bytes: part_bytes.max(MIN_PART_BYTES),
            parts_in_flight: Arc::new(Semaphore::new(STORE_PARTS_IN_FLIGHT)),
        }
    }
}

impl ObjectStore for S3Store {
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        self.get_pinned(bucket, key, &Pin::Latest)
    }

    fn get_pinned(
        &self,
        bucket: &str,
        key: &str,
        pin: &Pin,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        let mut request = self.client.get_object().bucket(bucket).key(key);
        request = match pin {
            Pin::Latest => request,
            Pin::VersionId(id) => request.version_id(id),
            Pin::ETag(etag) => request.if_match(quoted(etag)),
        };
        let answer = self.handle.block_on(request.send());
        match answer {
            Ok(output) => Ok(Box::new(S3BodyReader::new(
                self.handle.clone(),
                output.body,
                format!("s3://{bucket}/{key}"),
            ))),
            Err(e) => Err(match (status(&e), code(&e)) {
                (Some(412), _) => StoreError::Changed {
                    bucket: bucket.into(),
                    key: key.into(),
                    pin: pin.clone(),
                },
                // A missing bucket is a misconfiguration (a fault); a missing key or version
                // is an object deleted since its event.
                (Some(404), Some("NoSuchKey" | "NoSuchVersion") | None) => StoreError::NotFound {
                    bucket: bucket.into(),
                    key: key.into(),
                },
                _ => StoreError::Failed {
                    operation: "GetObject",
                    bucket: bucket.into(),
                    key: key.into(),
                    message: describe(&e),
                },
            }),
        }
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let written = self.list_written(bucket, prefix)?;
        Ok(written.into_iter().map(|(key, _)| key).collect())
    }

    fn list_written(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Option<std::time::SystemTime>)>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = self.handle.block_on(pages.next()) {
            let page = page.map_err(|e| StoreError::Failed {
                operation: "ListObjectsV2",
                bucket: bucket.into(),
                key: prefix.into(),
                message: describe(&e),
            })?;
            keys.extend(page.contents().iter().filter_map(|o| {
                let written = o
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok());
                o.key().map(|k| (k.to_string(), written))
            }));
        }
        Ok(keys)
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let request = self.client.delete_object().bucket(bucket).key(key).send();
        self.handle
            .block_on(request)
            .map(|_| ())
            .map_err(|e| StoreError::Failed {
                operation: "DeleteObject",
                bucket: bucket.into(),
                key: key.into(),
                message: describe(&e),
            })
    }

    /// DeleteObjects, 1,000 keys a request: the committer removes a run's manifests in one
    /// request instead of one each.
    fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), StoreError> {
        for chunk in keys.chunks(DELETE_BATCH) {
            let failed = |key: &str, message: String| StoreError::Failed {
                operation: "DeleteObjects",
                bucket: bucket.into(),
                key: key.into(),
                message,
            };
            let first = chunk.first().map(String::as_str).unwrap_or_default();
            let objects = chunk
                .iter()
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| failed(first, e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| failed(first, e.to_string()))?;
            let request = self
                .client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send();
            let answer = self
                .handle
                .block_on(request)
                .map_err(|e| failed(first, describe(&e)))?;
            if let Some(error) = answer.errors().first() {
                return Err(failed(
                    error.key().unwrap_or(first),
                    format!(
                        "{} of {} keys not removed; first: {} {}",
                        answer.errors().len(),
                        chunk.len(),
                        error.code().unwrap_or("?"),
                        error.message().unwrap_or("")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        Ok(Box::new(S3Writer::new(
            self.client.clone(),
            self.handle.clone(),
            bucket,
            key,
            self.part_bytes,
            self.parts_in_flight.clone(),
        )))
    }
}

/// ETags travel quoted in HTTP headers; S3 events carry them bare.
fn quoted(etag: &str) -> String {
    if etag.starts_with('"') {
        etag.to_string()
    } else {
        format!("\"{etag}\"")
    }
}
