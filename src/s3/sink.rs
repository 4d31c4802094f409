//! `S3Sink`: a multipart upload with one exit.
//!
//! The first part is held back: an output that fits in one part is a single PutObject. From the
//! second part on, parts are uploaded with bounded concurrency (`put_part` waits for capacity)
//! while encoding continues. `complete` waits for every part and completes the upload; any
//! failure, `abort` or drop stops the part tasks first and then aborts the upload, so no partial
//! object is visible and no upload is left open.
//!
//! Lost responses (the store applied a request but the answer never arrived, so the SDK retried
//! it):
//! - UploadPart and PutObject: the retry rewrites the same bytes; harmless.
//! - CompleteMultipartUpload: the retry answers 404 NoSuchUpload although the object now exists.
//!   Every object we write carries a random per-sink run token in its metadata
//!   ([`RUN_ID_METADATA`]); when Complete fails, a HeadObject settles it: an object with our
//!   token, our size and our part count is the one we completed, and the run succeeds.
//! - AbortMultipartUpload: the retry answers 404 NoSuchUpload, which means the upload is gone.
//! - CreateMultipartUpload: the retry starts a second upload and the first one's id is never
//!   learned. It stays open (no object is visible) until the bucket's lifecycle rule
//!   `AbortIncompleteMultipartUpload` removes it (the SAM template sets one day). Known
//!   limitation: finding it would need ListMultipartUploads, and aborting uploads of the same key
//!   that we cannot prove are ours could break a concurrent duplicate conversion.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use tokio::task::JoinSet;

use super::client::RequestOptions;
use super::error::{Cause, Op, S3Error};
use crate::error::{Error, Result};
use crate::sink::{ByteSink, Precondition};

mod abort;
mod copy;
pub use copy::CopySource;

/// The most parts S3 accepts in one upload.
pub const MAX_PARTS: i32 = 10_000;
/// The smallest part S3 accepts (all parts but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;
/// Object metadata key (`x-amz-meta-csv2parquet-run-id`) holding a random token unique to one
/// sink, used to recognise our own object after a lost CompleteMultipartUpload response.
pub const RUN_ID_METADATA: &str = "csv2parquet-run-id";
/// How long an abort waits for parts already uploading to finish before cancelling them (well
/// inside the Lambda deadline margin, 10 s by default, together with the abort itself).
const ABORT_DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// Writes one S3 object.
#[derive(Debug)]
pub struct S3Sink {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    location: String,
    metadata: HashMap<String, String>,
    requests: RequestOptions,
    precondition: Precondition,
    parts_in_flight: usize,
    run_id: String,
    held: Option<Bytes>,
    upload: Option<Upload>,
    abort_drain: Duration,
}

#[derive(Debug)]
struct Upload {
    id: String,
    tasks: JoinSet<Result<CompletedPart>>,
    done: Vec<CompletedPart>,
    next_part: i32,
    /// Bytes of all parts handed to UploadPart.
    bytes: u64,
}

/// A token unique to this sink: the clock, the process id and std's randomly seeded hasher.
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    let random = hasher.finish();
    format!("{:016x}{random:016x}", nanos as u64)
}

/// The `x-amz-checksum-crc32c` value of `data`: the big-endian CRC32C, base64.
///
/// The sink sets it on every UploadPart and PutObject itself. The SDK would compute it too, but
/// not with `RequestChecksumCalculation::WhenRequired` (our setting for custom endpoints): it
/// then sends `x-amz-sdk-checksum-algorithm: CRC32C` with no checksum, a request AWS S3 answers
/// with 400 InvalidRequest. With the checksum in the request, the body
/// needs no SigV4 payload hash (`UNSIGNED-PAYLOAD`): the store checks the CRC32C instead, and
/// neither side spends a SHA-256 pass on it.
fn crc32c_base64(data: &[u8]) -> String {
    let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data) as u32;
    aws_smithy_types::base64::encode(crc.to_be_bytes())
}

/// The name under which S3 keeps metadata entry `key` of an object we write (sent as
/// `x-amz-meta-<name>`; S3 wants names in lowercase ASCII without dots): for example
/// [`crate::convert::metadata::SOURCE_ETAG`] is kept as `csv2parquet-source-etag`.
pub fn object_metadata_name(key: &str) -> String {
    key.to_ascii_lowercase().replace(['.', '_'], "-")
}

/// A metadata value as S3 can keep it: S3 sends user metadata as HTTP headers, which carry
/// printable ASCII only, so every other byte of the UTF-8 text (and `%` itself) is
/// percent-encoded (RFC 3986): `données.csv` is kept as `donn%C3%A9es.csv`, and decoding it
/// gives the text back.
pub fn metadata_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if (b' '..=b'~').contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An ETag as a conditional header wants it: in double quotes.
fn quoted(etag: &str) -> String {
    format!("\"{}\"", etag.trim_matches('"'))
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
            requests: RequestOptions::default(),
            precondition: Precondition::None,
            parts_in_flight: parts_in_flight.max(1),
            run_id: new_run_id(),
            held: None,
            upload: None,
            abort_drain: ABORT_DRAIN_TIMEOUT,
        }
    }

    /// How long an abort lets parts already uploading finish (default 3 s); the Lambda handler
    /// shortens it to fit its deadline margin.
    pub fn with_abort_drain(mut self, drain: Duration) -> Self {
        self.abort_drain = drain.min(ABORT_DRAIN_TIMEOUT);
        self
    }

    /// Server-side encryption and the expected bucket owner, on every request.
    pub fn with_requests(mut self, requests: RequestOptions) -> Self {
        self.requests = requests;
        self
    }

    /// Publish only if the object at the key is as `precondition` says (`If-None-Match: *` or
    /// `If-Match` on PutObject and CompleteMultipartUpload); otherwise `complete` fails with
    /// [`Error::Superseded`] and leaves nothing of this run behind.
    pub fn with_precondition(mut self, precondition: Precondition) -> Self {
        self.precondition = precondition;
        self
    }

    /// The `If-Match` and `If-None-Match` values of the precondition.
    fn conditions(&self) -> (Option<String>, Option<String>) {
        match &self.precondition {
            Precondition::None => (None, None),
            Precondition::Absent => (None, Some("*".to_string())),
            Precondition::Matches(etag) => (Some(quoted(etag)), None),
        }
    }

    /// `err` as [`Error::Superseded`] when it is the precondition failing: 412, or (under
    /// `If-Match`) 404 NoSuchKey, the object we expected being gone.
    fn superseded(&self, err: S3Error) -> Error {
        let refused = match (&self.precondition, err.status(), err.code()) {
            (Precondition::None, _, _) => false,
            (_, Some(412), _) => true,
            (Precondition::Matches(_), Some(404), Some("NoSuchKey")) => true,
            _ => false,
        };
        if !refused {
            return err.into();
        }
        Error::Superseded {
            location: self.location.clone(),
            reason: format!(
                "the output changed since this run started ({})",
                self.precondition
            ),
            source: Box::new(err),
        }
    }

    /// The run token stored in this sink's object metadata ([`RUN_ID_METADATA`]).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The object metadata: the converter's entries plus our run token.
    fn object_metadata(&self) -> HashMap<String, String> {
        let mut metadata = self.metadata.clone();
        metadata.insert(RUN_ID_METADATA.to_string(), self.run_id.clone());
        metadata
    }

    async fn start_upload(&mut self) -> Result<()> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_metadata(Some(self.object_metadata()))
            .set_server_side_encryption(self.requests.sse.clone())
            .set_ssekms_key_id(self.requests.sse_kms_key_id.clone())
            .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .content_type("application/vnd.apache.parquet")
            .send()
            .await
            .map_err(|e| S3Error::request(Op::CreateUpload, &self.location, e))?;
        let id = out.upload_id().ok_or_else(|| {
            S3Error::new(
                Op::CreateUpload,
                &self.location,
                Cause::Missing("upload id"),
            )
        })?;
        self.upload = Some(Upload {
            id: id.to_string(),
            tasks: JoinSet::new(),
            done: Vec::new(),
            next_part: 1,
            bytes: 0,
        });
        Ok(())
    }

    /// Wait until fewer than `parts_in_flight` parts are uploading, then number the next part
    /// (of `len` bytes).
    async fn reserve_part(&mut self, len: u64) -> Result<i32> {
        let Some(upload) = self.upload.as_mut() else {
            return Err(Error::Internal("no upload started".into()));
        };
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
                    len >> 20
                ),
            });
        }
        upload.next_part += 1;
        upload.bytes += len;
        Ok(number)
    }

    async fn send_part(&mut self, part: Bytes) -> Result<()> {
        let number = self.reserve_part(part.len() as u64).await?;
        let Some(upload) = self.upload.as_mut() else {
            return Err(Error::Internal("no upload started".into()));
        };
        let crc = crc32c_base64(&part);
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload.id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .checksum_crc32_c(crc)
            .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
            .body(ByteStream::from(part));
        let location = self.location.clone();
        upload.tasks.spawn(async move {
            let out = request
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map_err(|e| S3Error::request(Op::UploadPart(number), &location, e))?;
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
        let crc = crc32c_base64(&body);
        let (if_match, if_none_match) = self.conditions();
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_if_match(if_match)
            .set_if_none_match(if_none_match)
            .set_metadata(Some(self.object_metadata()))
            .set_server_side_encryption(self.requests.sse.clone())
            .set_ssekms_key_id(self.requests.sse_kms_key_id.clone())
            .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .checksum_crc32_c(crc)
            .content_type("application/vnd.apache.parquet")
            .body(ByteStream::from(body))
            .customize()
            .disable_payload_signing()
            .send()
            .await;
        match put {
            Ok(_) => Ok(len),
            Err(e) => Err(self.superseded(S3Error::request(Op::PutObject, &self.location, e))),
        }
    }

    async fn finish_upload(&mut self) -> Result<u64> {
        let (if_match, if_none_match) = self.conditions();
        let Some(upload) = self.upload.as_mut() else {
            return Err(Error::Internal("no upload started".into()));
        };
        while let Some(joined) = upload.tasks.join_next().await {
            upload.done.push(joined_part(joined, &self.location)?);
        }
        upload.done.sort_by_key(|p| p.part_number());
        let parts = std::mem::take(&mut upload.done);
        let (count, bytes) = (parts.len(), upload.bytes);
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload.id)
            .set_if_match(if_match)
            .set_if_none_match(if_none_match)
            .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        let Err(e) = completed else {
            return Ok(bytes);
        };
        let err = S3Error::request(Op::CompleteUpload(count), &self.location, e);
        // A lost response to an applied Complete is retried by the SDK and answered 404
        // NoSuchUpload (FACTS.md, "S3 multipart upload"): the object may be ours already.
        if self.is_our_object(count, bytes).await {
            tracing::info!(location = %self.location, error = %err, "CompleteMultipartUpload failed but the object is the one this run completed");
            return Ok(bytes);
        }
        Err(self.superseded(err))
    }

    /// Whether the object at our key is the one this sink completed: our run token, our size
    /// and (when the ETag has the multipart form `"...-N"`) our part count. Any doubt is `false`.
    async fn is_our_object(&self, parts: usize, bytes: u64) -> bool {
        let head = match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
            .send()
            .await
        {
            Ok(head) => head,
            Err(e) => {
                let err = S3Error::request(Op::HeadObject, &self.location, e)
                    .for_purpose("settling a failed completion");
                tracing::debug!(error = %err, "no object of ours after a failed completion");
                return false;
            }
        };
        let token = head
            .metadata()
            .and_then(|m| m.get(RUN_ID_METADATA))
            .map(String::as_str);
        let size = head.content_length().and_then(|n| u64::try_from(n).ok());
        let etag_parts = head
            .e_tag()
            .map(|t| t.trim_matches('"'))
            .and_then(|t| t.rsplit_once('-'))
            .and_then(|(_, n)| n.parse::<usize>().ok());
        token == Some(self.run_id.as_str())
            && size == Some(bytes)
            && etag_parts.is_none_or(|n| n == parts)
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
            .map(|(k, v)| (object_metadata_name(k), metadata_value(v)))
            .collect();
    }

    async fn put_part(&mut self, part: Bytes) -> Result<()> {
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
            Err(e) => match self.abort_upload().await {
                Ok(()) => Err(e),
                Err(abort) => {
                    tracing::warn!(error = %abort, "aborting the upload after a failed completion also failed");
                    Err(e.with_cleanup_failure(abort))
                }
            },
        }
    }

    async fn abort(&mut self) -> Result<()> {
        self.held = None;
        self.abort_upload().await
    }

    /// DeleteObject with `If-Match` on the ETag of the precondition (AWS honours it on
    /// general purpose buckets: "How to perform conditional deletes", S3 user guide): 412 is
    /// [`Error::Superseded`]; 404 means it is gone already, which is what was asked.
    async fn remove_existing(&mut self) -> Result<()> {
        let Precondition::Matches(etag) = &self.precondition else {
            return Ok(());
        };
        let deleted = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .if_match(quoted(etag))
            .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = S3Error::request(Op::DeleteObject, &self.location, e);
                if err.status() == Some(404) {
                    return Ok(());
                }
                Err(self.superseded(err))
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_the_big_endian_castagnoli_crc_in_base64() {
        // The CRC-32C check value of "123456789" is 0xE3069283.
        assert_eq!(crc32c_base64(b"123456789"), "4waSgw==");
        assert_eq!(crc32c_base64(b""), "AAAAAA==");
    }

    #[test]
    fn metadata_values_keep_non_ascii_text_percent_encoded() {
        assert_eq!(
            metadata_value("s3://b/données 100%.csv"),
            "s3://b/donn%C3%A9es 100%25.csv"
        );
        assert_eq!(metadata_value("\"etag\""), "\"etag\"");
        assert_eq!(metadata_value("a\tb"), "a%09b");
        assert_eq!(quoted("\"e\""), "\"e\"");
        assert_eq!(quoted("e"), "\"e\"");
    }

    #[test]
    fn run_ids_differ() {
        let ids: std::collections::HashSet<String> = (0..100).map(|_| new_run_id()).collect();
        assert_eq!(ids.len(), 100);
        assert!(ids.iter().all(|id| id.len() == 32));
    }
}
