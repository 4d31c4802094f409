//! A fan-out into an S3 object: fragments uploaded under `<key>.fragments/<run>/` beside the
//! output, stitched into it server-side ([`super::stitch::stitch_objects`]: UploadPartCopy, the
//! output published under the sink's precondition), and removed whatever happens.

use std::ops::Range;

use aws_sdk_s3::Client;

use super::client::RequestOptions;
use super::sink::S3Sink;
use super::stitch::stitch_objects;
use crate::config::ConvertOptions;
use crate::error::Result;
use crate::fanout::{convert_ranges, plan, rejects_refused, Converted, FanOutReport};
use crate::sink::{ByteSink, Output, SinkFactory};
use crate::source::ByteSource;

/// Where a fan-out into S3 goes, and how it runs.
#[derive(Debug, Clone)]
pub struct S3FanOut {
    /// The client.
    pub client: Client,
    /// The output's bucket.
    pub bucket: String,
    /// The output's key.
    pub key: String,
    /// Parts in flight per upload.
    pub parts_in_flight: usize,
    /// Encryption and the expected owner, on every request.
    pub requests: RequestOptions,
    /// Workers (ranges) planned.
    pub workers: usize,
    /// Workers at once.
    pub concurrency: usize,
    /// The smallest range.
    pub min_range: u64,
}

/// Opens a fragment object, for the data only (a fan-out's worker writes one).
#[derive(Debug, Clone)]
pub struct FragmentObject {
    client: Client,
    bucket: String,
    key: String,
    parts_in_flight: usize,
    requests: RequestOptions,
}

impl FragmentObject {
    /// The fragment at `bucket/key`, uploaded `parts_in_flight` parts at once with `requests`.
    pub fn new(
        client: Client,
        bucket: &str,
        key: &str,
        parts_in_flight: usize,
        requests: RequestOptions,
    ) -> Self {
        FragmentObject {
            client,
            bucket: bucket.to_string(),
            key: key.to_string(),
            parts_in_flight,
            requests,
        }
    }
}

#[async_trait::async_trait]
impl SinkFactory for FragmentObject {
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
        if output == Output::Rejects {
            return Err(rejects_refused());
        }
        Ok(Box::new(
            S3Sink::new(
                self.client.clone(),
                &self.bucket,
                &self.key,
                self.parts_in_flight,
            )
            .with_requests(self.requests.clone()),
        ))
    }
}

impl S3FanOut {
    /// Convert `source` into the output through `sink` (the output's sink, with its
    /// precondition).
    pub async fn run(
        &self,
        source: &dyn ByteSource,
        options: &ConvertOptions,
        sink: S3Sink,
    ) -> Result<FanOutReport> {
        let plan = plan(source, options, self.workers, self.min_range).await?;
        let prefix = format!("{}.fragments/{}/", self.key, sink.run_id());
        let fragment = |i: usize| format!("{prefix}fragment-{i:05}.parquet");
        let sinks = |i: usize, _range: &Range<u64>| -> Result<Box<dyn SinkFactory>> {
            Ok(Box::new(FragmentObject::new(
                self.client.clone(),
                &self.bucket,
                &fragment(i),
                self.parts_in_flight,
                self.requests.clone(),
            )))
        };
        let done = async {
            let Converted {
                ranges,
                ids,
                reports,
            } = convert_ranges(source, options, &plan, self.concurrency, &sinks).await?;
            let keys: Vec<String> = ids.iter().copied().map(fragment).collect();
            let stitched =
                stitch_objects(&self.client, &self.bucket, &keys, sink, &plan.metadata).await?;
            Ok(FanOutReport {
                ranges,
                rows: reports.iter().map(|r| r.rows).sum(),
                stitched,
            })
        }
        .await;
        let owner = self.requests.expected_bucket_owner.as_deref();
        remove_prefix(&self.client, &self.bucket, &prefix, owner).await;
        done
    }
}

/// Delete every object under `prefix` (the fragments and a fan-out's plan) after aborting
/// the multipart uploads open under it (a worker killed mid-upload leaves one); returns how
/// many objects were removed. Failures are logged (a lifecycle rule on the prefix is the
/// backstop).
pub async fn remove_prefix(
    client: &Client,
    bucket: &str,
    prefix: &str,
    owner: Option<&str>,
) -> usize {
    abort_uploads(client, bucket, prefix, owner).await;
    let mut removed = 0;
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(prefix, error = %aws_sdk_s3::error::DisplayErrorContext(e), "listing the fragments to remove them failed");
                return removed;
            }
        };
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            let deleted = client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .set_expected_bucket_owner(owner.map(str::to_string))
                .send()
                .await;
            match deleted {
                Ok(_) => removed += 1,
                Err(e) => {
                    tracing::warn!(key, error = %aws_sdk_s3::error::DisplayErrorContext(e), "removing a fragment failed");
                }
            }
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => return removed,
        }
    }
}

/// Abort the multipart uploads open under `prefix` (one page of them: a fan-out's workers
/// leave at most one each).
async fn abort_uploads(client: &Client, bucket: &str, prefix: &str, owner: Option<&str>) {
    let listed = client
        .list_multipart_uploads()
        .bucket(bucket)
        .prefix(prefix)
        .set_expected_bucket_owner(owner.map(str::to_string))
        .send()
        .await;
    let uploads = match listed {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(prefix, error = %aws_sdk_s3::error::DisplayErrorContext(e), "listing the open uploads of the fragments failed");
            return;
        }
    };
    for upload in uploads.uploads() {
        let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else {
            continue;
        };
        let aborted = client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .set_expected_bucket_owner(owner.map(str::to_string))
            .send()
            .await;
        if let Err(e) = aborted {
            tracing::warn!(key, error = %aws_sdk_s3::error::DisplayErrorContext(e), "aborting a fragment's upload failed");
        }
    }
}
