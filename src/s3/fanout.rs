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

/// Opens a fragment object, for the data only.
struct FragmentObject {
    target: S3FanOut,
    key: String,
}

#[async_trait::async_trait]
impl SinkFactory for FragmentObject {
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
        if output == Output::Rejects {
            return Err(rejects_refused());
        }
        let t = &self.target;
        Ok(Box::new(
            S3Sink::new(t.client.clone(), &t.bucket, &self.key, t.parts_in_flight)
                .with_requests(t.requests.clone()),
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
            Ok(Box::new(FragmentObject {
                target: self.clone(),
                key: fragment(i),
            }))
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
        self.remove_prefix(&prefix).await;
        done
    }

    /// Delete every object under `prefix` (the fragments); failures are logged (a lifecycle
    /// rule on the prefix is the backstop).
    async fn remove_prefix(&self, prefix: &str) {
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
                .send()
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(prefix, error = %aws_sdk_s3::error::DisplayErrorContext(e), "listing the fragments to remove them failed");
                    return;
                }
            };
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let deleted = self
                    .client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
                    .send()
                    .await;
                if let Err(e) = deleted {
                    tracing::warn!(key, error = %aws_sdk_s3::error::DisplayErrorContext(e), "removing a fragment failed");
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return,
            }
        }
    }
}
