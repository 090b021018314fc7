//! Writing one S3 object: bytes are buffered up to a part size; an object that stays below it is
//! put whole, a larger one goes up as a multipart upload, completed only by `finish` (so no
//! reader ever sees a partial object) and aborted when the writer is dropped unfinished.
//!
//! Parts go up in the background, on the AWS runtime, while the caller goes on writing (the
//! Parquet encoder goes on encoding): at most [`PARTS_IN_FLIGHT`] of one object at once, and at
//! most [`STORE_PARTS_IN_FLIGHT`] of all the objects of one store, besides the parts being
//! filled. A part that failed fails a later `write` (the one that waits for it) or `finish`; the
//! parts are completed in their order, so the object is the same bytes whatever the timing.
//! `finish_in_background` does all of `finish` (the last part, the completion, or the put of a
//! small object) on the runtime's blocking threads, and its `wait` gives the outcome; dropped
//! without being waited for, it is abandoned: the object is not completed (unless it already
//! was) and its upload is aborted.

use crate::error::describe;
use adx_core::{ObjectWriter, PendingObject, StoreError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Parts of one object uploading at once (each holds its bytes until S3 has them).
pub const PARTS_IN_FLIGHT: usize = 2;

/// Parts of all the objects of one store uploading at once: with 8 MiB parts, 32 MiB.
pub const STORE_PARTS_IN_FLIGHT: usize = 4;

/// A part's upload: its `CompletedPart`, or the failure's description.
type PartTask = JoinHandle<Result<CompletedPart, String>>;

/// A multipart upload in progress.
struct Upload {
    id: String,
    /// Parts S3 has, in order.
    parts: Vec<CompletedPart>,
    /// Parts uploading, in order (numbered after `parts`).
    in_flight: VecDeque<PartTask>,
}

/// One object being written to S3.
pub struct S3Writer {
    client: aws_sdk_s3::Client,
    handle: Handle,
    bucket: String,
    key: String,
    part_bytes: usize,
    buffer: Vec<u8>,
    upload: Option<Upload>,
    /// The store's budget of parts in flight, shared by its writers.
    store_parts: Arc<Semaphore>,
    /// Set when a completion in the background is no longer waited for.
    abandoned: Arc<AtomicBool>,
}

impl S3Writer {
    /// A writer of `s3://bucket/key` with parts of `part_bytes`, whose parts in flight take
    /// a permit of `store_parts` each.
    pub fn new(
        client: aws_sdk_s3::Client,
        handle: Handle,
        bucket: &str,
        key: &str,
        part_bytes: usize,
        store_parts: Arc<Semaphore>,
    ) -> S3Writer {
        S3Writer {
            client,
            handle,
            bucket: bucket.into(),
            key: key.into(),
            part_bytes,
            buffer: Vec::new(),
            upload: None,
            store_parts,
            abandoned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Refuses to make the object visible once nobody waits for its completion.
    fn check_wanted(&self, operation: &'static str) -> Result<(), StoreError> {
        if self.abandoned.load(Ordering::Acquire) {
            return Err(self.failed(
                operation,
                "abandoned: its completion is no longer waited for".into(),
            ));
        }
        Ok(())
    }

    fn failed(&self, operation: &'static str, message: String) -> StoreError {
        StoreError::Failed {
            operation,
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            message,
        }
    }

    /// Starts the multipart upload, once.
    fn start_upload(&mut self) -> Result<(), StoreError> {
        if self.upload.is_some() {
            return Ok(());
        }
        let answer = self.handle.block_on(
            self.client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .send(),
        );
        let output = answer.map_err(|e| self.failed("CreateMultipartUpload", describe(&e)))?;
        let id = output.upload_id.ok_or_else(|| {
            self.failed(
                "CreateMultipartUpload",
                "the answer has no upload id".into(),
            )
        })?;
        self.upload = Some(Upload {
            id,
            parts: Vec::new(),
            in_flight: VecDeque::new(),
        });
        Ok(())
    }

    /// Waits for the oldest part in flight and records it.
    fn settle_oldest(&mut self) -> Result<(), StoreError> {
        let Some(task) = self.upload.as_mut().and_then(|u| u.in_flight.pop_front()) else {
            return Ok(());
        };
        let part = match self.handle.block_on(task) {
            Ok(Ok(part)) => part,
            Ok(Err(message)) => return Err(self.failed("UploadPart", message)),
            Err(e) => return Err(self.failed("UploadPart", format!("the upload task ended: {e}"))),
        };
        if let Some(upload) = &mut self.upload {
            upload.parts.push(part);
        }
        Ok(())
    }

    /// Sends the buffer as the next part in the background, starting the upload first if
    /// needed, once fewer than [`PARTS_IN_FLIGHT`] parts are uploading.
    fn upload_part(&mut self) -> Result<(), StoreError> {
        self.start_upload()?;
        while self
            .upload
            .as_ref()
            .is_some_and(|u| u.in_flight.len() >= PARTS_IN_FLIGHT)
        {
            self.settle_oldest()?;
        }
        let Some(upload) = &self.upload else {
            return Err(self.failed("UploadPart", "no upload in progress".into()));
        };
        let upload_id = upload.id.clone();
        let count = upload.parts.len() + upload.in_flight.len() + 1;
        let number = i32::try_from(count)
            .map_err(|_| self.failed("UploadPart", format!("part {count} is past S3's 10,000")))?;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(std::mem::take(&mut self.buffer)));
        let permit = self
            .handle
            .block_on(self.store_parts.clone().acquire_owned())
            .map_err(|e| self.failed("UploadPart", format!("no budget for a part: {e}")))?;
        let task = self.handle.spawn(async move {
            let output = request
                .send()
                .await
                .map_err(|e| format!("part {number}: {}", describe(&e)));
            drop(permit);
            let output = output?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(output.e_tag)
                .set_checksum_crc32(output.checksum_crc32)
                .build())
        });
        if let Some(upload) = &mut self.upload {
            upload.in_flight.push_back(task);
        }
        Ok(())
    }
}

impl ObjectWriter for S3Writer {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if self.buffer.capacity() == 0 {
            self.buffer.reserve(bytes.len().min(self.part_bytes));
        }
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= self.part_bytes {
            self.upload_part()?;
        }
        Ok(())
    }

    fn finish_in_background(self: Box<Self>) -> Box<dyn PendingObject> {
        let handle = self.handle.clone();
        let (bucket, key) = (self.bucket.clone(), self.key.clone());
        let abandoned = self.abandoned.clone();
        let task = handle.spawn_blocking(move || self.finish());
        Box::new(Completing {
            handle,
            task: Some(task),
            abandoned,
            bucket,
            key,
        })
    }

    fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.upload.is_none() {
            self.check_wanted("PutObject")?;
            let body = std::mem::take(&mut self.buffer);
            let answer = self.handle.block_on(
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .body(ByteStream::from(body))
                    .send(),
            );
            return answer
                .map(|_| ())
                .map_err(|e| self.failed("PutObject", describe(&e)));
        }
        if !self.buffer.is_empty() {
            self.upload_part()?;
        }
        while self
            .upload
            .as_ref()
            .is_some_and(|u| !u.in_flight.is_empty())
        {
            self.settle_oldest()?;
        }
        self.check_wanted("CompleteMultipartUpload")?;
        let Some(upload) = self.upload.take() else {
            return Err(self.failed("CompleteMultipartUpload", "no upload in progress".into()));
        };
        let answer = self.handle.block_on(
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&upload.id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(upload.parts.clone()))
                        .build(),
                )
                .send(),
        );
        match answer {
            Ok(_) => Ok(()),
            Err(e) => {
                // Put it back so that dropping the writer aborts it.
                let message = describe(&e);
                self.upload = Some(upload);
                Err(self.failed("CompleteMultipartUpload", message))
            }
        }
    }
}

/// An object being completed on the AWS runtime's blocking threads (its last part uploading,
/// then the multipart upload completed, or the small object put). Dropped without `wait`, it
/// is abandoned: the writer refuses to complete the object and aborts its upload.
struct Completing {
    handle: Handle,
    task: Option<JoinHandle<Result<(), StoreError>>>,
    abandoned: Arc<AtomicBool>,
    bucket: String,
    key: String,
}

impl PendingObject for Completing {
    fn wait(mut self: Box<Self>) -> Result<(), StoreError> {
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match self.handle.block_on(task) {
            Ok(done) => done,
            Err(e) => Err(StoreError::Failed {
                operation: "finish",
                bucket: std::mem::take(&mut self.bucket),
                key: std::mem::take(&mut self.key),
                message: format!("the completion stopped: {e}"),
            }),
        }
    }
}

impl Drop for Completing {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.abandoned.store(true, Ordering::Release);
        }
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        // An unfinished upload holds parts that cost storage and never become an object: stop
        // the parts still uploading, then abort it, in the background (the landing buckets'
        // lifecycle rule removes any that remain).
        if let Some(upload) = self.upload.take() {
            let request = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(upload.id);
            let (bucket, key) = (self.bucket.clone(), self.key.clone());
            let in_flight = upload.in_flight;
            self.handle.spawn(async move {
                // A part that lands after the abort may hold storage again (S3 documents that an
                // abort may have to be repeated; the lifecycle rule removes what remains).
                for task in in_flight {
                    task.abort();
                    let _ = task.await;
                }
                if let Err(e) = request.send().await {
                    tracing::warn!(%bucket, %key, error = %describe(&e), "aborting an unfinished upload failed");
                }
            });
        }
    }
}
