//! Writing one S3 object: bytes are buffered up to a part size; an object that stays below it is
//! put whole, a larger one goes up as a multipart upload, completed only by `finish` (so no
//! reader ever sees a partial object) and aborted when the writer is dropped unfinished.

use crate::error::describe;
use adx_core::ports::{ObjectWriter, StoreError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use tokio::runtime::Handle;

/// A multipart upload in progress.
struct Upload {
    id: String,
    parts: Vec<CompletedPart>,
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
}

impl S3Writer {
    /// A writer of `s3://bucket/key` with parts of `part_bytes`.
    pub fn new(
        client: aws_sdk_s3::Client,
        handle: Handle,
        bucket: &str,
        key: &str,
        part_bytes: usize,
    ) -> S3Writer {
        S3Writer {
            client,
            handle,
            bucket: bucket.into(),
            key: key.into(),
            part_bytes,
            buffer: Vec::new(),
            upload: None,
        }
    }

    fn failed(&self, operation: &'static str, message: String) -> StoreError {
        StoreError::Failed {
            operation,
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            message,
        }
    }

    /// Sends the buffer as the next part, starting the upload first if needed.
    fn upload_part(&mut self) -> Result<(), StoreError> {
        let upload_id = match &self.upload {
            Some(upload) => upload.id.clone(),
            None => {
                let answer = self.handle.block_on(
                    self.client
                        .create_multipart_upload()
                        .bucket(&self.bucket)
                        .key(&self.key)
                        .checksum_algorithm(ChecksumAlgorithm::Crc32)
                        .send(),
                );
                let output =
                    answer.map_err(|e| self.failed("CreateMultipartUpload", describe(&e)))?;
                let id = output.upload_id.ok_or_else(|| {
                    self.failed(
                        "CreateMultipartUpload",
                        "the answer has no upload id".into(),
                    )
                })?;
                self.upload = Some(Upload {
                    id: id.clone(),
                    parts: Vec::new(),
                });
                id
            }
        };
        let number = self.upload.as_ref().map_or(0, |u| u.parts.len()) as i32 + 1;
        let body = std::mem::take(&mut self.buffer);
        let answer = self.handle.block_on(
            self.client
                .upload_part()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&upload_id)
                .part_number(number)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .body(ByteStream::from(body))
                .send(),
        );
        let output = answer.map_err(|e| self.failed("UploadPart", describe(&e)))?;
        let part = CompletedPart::builder()
            .part_number(number)
            .set_e_tag(output.e_tag)
            .set_checksum_crc32(output.checksum_crc32)
            .build();
        if let Some(upload) = &mut self.upload {
            upload.parts.push(part);
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

    fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.upload.is_none() {
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

impl Drop for S3Writer {
    fn drop(&mut self) {
        // An unfinished upload holds parts that cost storage and never become an object: abort
        // it in the background (the landing buckets' lifecycle rule removes any that remain).
        if let Some(upload) = self.upload.take() {
            let request = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(upload.id);
            let (bucket, key) = (self.bucket.clone(), self.key.clone());
            self.handle.spawn(async move {
                if let Err(e) = request.send().await {
                    tracing::warn!(%bucket, %key, error = %describe(&e), "aborting an unfinished upload failed");
                }
            });
        }
    }
}
