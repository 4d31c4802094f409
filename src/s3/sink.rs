//! `S3Sink`: a multipart upload with one exit.
//!
//! The first part is held back: an output that fits in one part is a single PutObject. From the
//! second part on, parts are uploaded with bounded concurrency (`put_part` waits for capacity)
//! while encoding continues. `complete` waits for every part and completes the upload; any
//! failure, `abort` or drop stops the part tasks first and then aborts the upload, so no partial
//! object is visible and no upload is left open.

use std::collections::HashMap;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ServerSideEncryption,
};
use bytes::Bytes;
use tokio::task::JoinSet;

use super::store_error;
use crate::error::{Error, ErrorKind, Result};
use crate::sink::ByteSink;

/// The most parts S3 accepts in one upload.
pub const MAX_PARTS: i32 = 10_000;
/// The smallest part S3 accepts (all parts but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// Writes one S3 object.
#[derive(Debug)]
pub struct S3Sink {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    location: String,
    metadata: HashMap<String, String>,
    sse: Option<ServerSideEncryption>,
    sse_kms_key_id: Option<String>,
    expected_bucket_owner: Option<String>,
    parts_in_flight: usize,
    held: Option<Bytes>,
    upload: Option<Upload>,
    /// Bytes accepted by `put_part` (the object's size once completed).
    written: u64,
}

#[derive(Debug)]
struct Upload {
    id: String,
    tasks: JoinSet<Result<CompletedPart>>,
    done: Vec<CompletedPart>,
    next_part: i32,
}

/// Metadata keys are sent as `x-amz-meta-<key>`; S3 wants them lowercase ASCII without dots.
fn meta_key(key: &str) -> String {
    key.to_ascii_lowercase().replace(['.', '_'], "-")
}

impl S3Sink {
    /// An upload to `s3://bucket/key` with up to `parts_in_flight` parts uploading at once.
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        key: impl Into<String>,
        parts_in_flight: usize,
    ) -> Self {
        let (bucket, key) = (bucket.into(), key.into());
        S3Sink {
            location: format!("s3://{bucket}/{key}"),
            client,
            bucket,
            key,
            metadata: HashMap::new(),
            sse: None,
            sse_kms_key_id: None,
            expected_bucket_owner: None,
            parts_in_flight: parts_in_flight.max(1),
            held: None,
            upload: None,
            written: 0,
        }
    }

    /// Server-side encryption (`AES256` or `aws:kms`) and KMS key.
    pub fn with_sse(mut self, sse: Option<&str>, kms_key_id: Option<String>) -> Result<Self> {
        self.sse = match sse {
            None => None,
            Some("AES256") => Some(ServerSideEncryption::Aes256),
            Some("aws:kms") => Some(ServerSideEncryption::AwsKms),
            Some(other) => {
                return Err(Error::config(
                    "--sse",
                    format!("{other:?}: expected AES256 or aws:kms"),
                ))
            }
        };
        if kms_key_id.is_some() && self.sse != Some(ServerSideEncryption::AwsKms) {
            return Err(Error::config("--sse-kms-key-id", "needs --sse aws:kms"));
        }
        self.sse_kms_key_id = kms_key_id;
        Ok(self)
    }

    /// Send ExpectedBucketOwner on every request.
    pub fn with_expected_bucket_owner(mut self, owner: Option<String>) -> Self {
        self.expected_bucket_owner = owner;
        self
    }

    async fn start_upload(&mut self) -> Result<()> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_metadata(Some(self.metadata.clone()))
            .set_server_side_encryption(self.sse.clone())
            .set_ssekms_key_id(self.sse_kms_key_id.clone())
            .set_expected_bucket_owner(self.expected_bucket_owner.clone())
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .content_type("application/vnd.apache.parquet")
            .send()
            .await
            .map_err(|e| store_error("CreateMultipartUpload", &self.location, e))?;
        let id = out.upload_id().ok_or_else(|| Error::Store {
            step: "CreateMultipartUpload".into(),
            location: self.location.clone(),
            message: "the response has no upload id".into(),
            retryable: true,
            kind: ErrorKind::Io,
        })?;
        self.upload = Some(Upload {
            id: id.to_string(),
            tasks: JoinSet::new(),
            done: Vec::new(),
            next_part: 1,
        });
        Ok(())
    }

    async fn send_part(&mut self, part: Bytes) -> Result<()> {
        let Some(upload) = self.upload.as_mut() else {
            return Err(Error::Internal("no upload started".into()));
        };
        // Wait for capacity: at most `parts_in_flight` parts are uploading.
        while upload.tasks.len() >= self.parts_in_flight {
            if let Some(joined) = upload.tasks.join_next().await {
                upload.done.push(joined_part(joined, &self.location)?);
            }
        }
        let number = upload.next_part;
        if number > MAX_PARTS {
            return Err(Error::Limit {
                location: self.location.clone(),
                message: format!(
                    "the output needs more than {MAX_PARTS} parts of {} MiB; raise --memory-limit (parts grow with it) or split the input",
                    part.len() >> 20
                ),
            });
        }
        upload.next_part += 1;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload.id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .set_expected_bucket_owner(self.expected_bucket_owner.clone())
            .body(ByteStream::from(part));
        let location = self.location.clone();
        upload.tasks.spawn(async move {
            let out = request
                .send()
                .await
                .map_err(|e| store_error(format!("UploadPart {number}"), &location, e))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_string))
                .set_checksum_crc32_c(out.checksum_crc32_c().map(str::to_string))
                .build())
        });
        Ok(())
    }

    async fn put_single(&mut self, body: Bytes) -> Result<u64> {
        let len = body.len() as u64;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_metadata(Some(self.metadata.clone()))
            .set_server_side_encryption(self.sse.clone())
            .set_ssekms_key_id(self.sse_kms_key_id.clone())
            .set_expected_bucket_owner(self.expected_bucket_owner.clone())
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .content_type("application/vnd.apache.parquet")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| store_error("PutObject", &self.location, e))?;
        Ok(len)
    }

    async fn finish_upload(&mut self) -> Result<u64> {
        let Some(upload) = self.upload.as_mut() else {
            return Err(Error::Internal("no upload started".into()));
        };
        while let Some(joined) = upload.tasks.join_next().await {
            upload.done.push(joined_part(joined, &self.location)?);
        }
        upload.done.sort_by_key(|p| p.part_number());
        let parts = std::mem::take(&mut upload.done);
        let count = parts.len();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload.id)
            .set_expected_bucket_owner(self.expected_bucket_owner.clone())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                store_error(
                    format!("CompleteMultipartUpload ({count} parts)"),
                    &self.location,
                    e,
                )
            })?;
        Ok(self.written)
    }

    /// Stop part tasks, then abort the upload (retried: a leftover upload costs money).
    async fn abort_upload(&mut self) -> Result<()> {
        let Some(mut upload) = self.upload.take() else {
            return Ok(());
        };
        upload.tasks.abort_all();
        while upload.tasks.join_next().await.is_some() {}
        let mut last = None;
        for attempt in 0..3u32 {
            match self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&upload.id)
                .set_expected_bucket_owner(self.expected_bucket_owner.clone())
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let (status, _) = super::status_and_code(&e);
                    if status == Some(404) {
                        return Ok(()); // already gone
                    }
                    last = Some(store_error("AbortMultipartUpload", &self.location, e));
                    tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Internal("abort failed".into())))
    }
}

fn joined_part(
    joined: std::result::Result<Result<CompletedPart>, tokio::task::JoinError>,
    location: &str,
) -> Result<CompletedPart> {
    joined.map_err(|e| Error::Internal(format!("{location}: part upload task failed: {e}")))?
}

#[async_trait::async_trait]
impl ByteSink for S3Sink {
    fn location(&self) -> &str {
        &self.location
    }

    fn set_metadata(&mut self, metadata: &[(String, String)]) {
        self.metadata = metadata
            .iter()
            .map(|(k, v)| {
                (
                    meta_key(k),
                    v.chars()
                        .filter(|c| c.is_ascii() && !c.is_ascii_control())
                        .collect(),
                )
            })
            .collect();
    }

    async fn put_part(&mut self, part: Bytes) -> Result<()> {
        self.written += part.len() as u64;
        if self.upload.is_none() {
            match self.held.take() {
                None => {
                    self.held = Some(part);
                    return Ok(());
                }
                Some(first) => {
                    if first.len() < MIN_PART_BYTES {
                        return Err(Error::Internal(format!(
                            "{}: parts must be at least 5 MiB, got {}",
                            self.location,
                            first.len()
                        )));
                    }
                    self.start_upload().await?;
                    self.send_part(first).await?;
                }
            }
        }
        self.send_part(part).await
    }

    async fn complete(&mut self) -> Result<u64> {
        if self.upload.is_none() {
            let body = self.held.take().unwrap_or_default();
            return self.put_single(body).await;
        }
        match self.finish_upload().await {
            Ok(n) => {
                self.upload = None;
                Ok(n)
            }
            Err(e) => {
                if let Err(abort) = self.abort_upload().await {
                    tracing::warn!(error = %abort, "aborting the upload after a failed completion also failed");
                }
                Err(e)
            }
        }
    }

    async fn abort(&mut self) -> Result<()> {
        self.held = None;
        self.abort_upload().await
    }
}

impl Drop for S3Sink {
    fn drop(&mut self) {
        // Dropped without complete/abort (a cancelled future): abort in the background.
        let Some(mut upload) = self.upload.take() else {
            return;
        };
        upload.tasks.abort_all();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let request = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload.id);
        handle.spawn(async move {
            let _ = request.send().await;
        });
    }
}
