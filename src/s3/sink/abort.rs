//! Aborting a multipart upload: let the parts under way finish (bounded), then
//! AbortMultipartUpload, retried, each call bounded in time so a hung store cannot hold a
//! failed conversion forever.

use std::time::Duration;

use aws_sdk_s3::config::timeout::TimeoutConfig;

use super::S3Sink;
use crate::error::{Error, Result};
use crate::s3::error::{status_and_code, Op, S3Error};

/// Longest wait for one AbortMultipartUpload attempt (less if the client's own attempt
/// timeout is shorter): an abort has no body, so a store that does not answer in this time is
/// hung, and a failed conversion must not wait on it for long.
const ABORT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for one AbortMultipartUpload call, SDK retries included.
const ABORT_OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Rounds of AbortMultipartUpload calls (each with the SDK's own retries).
const ABORT_ROUNDS: u32 = 3;
impl S3Sink {
    /// Drain (or after a bounded wait stop) part tasks, then abort the upload (retried: a leftover upload costs money). Each
    /// call is bounded in time ([`ABORT_ATTEMPT_TIMEOUT`], [`ABORT_OPERATION_TIMEOUT`]) so a hung
    /// store cannot hold a failed conversion forever.
    pub(super) async fn abort_upload(&mut self) -> Result<()> {
        let Some(mut upload) = self.upload.take() else {
            return Ok(());
        };
        // Let parts already uploading finish before the abort (bounded): a part request that is
        // cancelled mid-flight may still be applied by the store after the abort, leaving a
        // stored part behind (the fault matrix caught this on the in-process server).
        let drained = tokio::time::timeout(self.abort_drain, async {
            while upload.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            upload.tasks.abort_all();
            while upload.tasks.join_next().await.is_some() {}
        }
        let timeouts = abort_timeouts(self.client.config().timeout_config());
        let mut last = None;
        for round in 0..ABORT_ROUNDS {
            match self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&upload.id)
                .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
                .customize()
                .config_override(
                    aws_sdk_s3::config::Builder::default().timeout_config(timeouts.clone()),
                )
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let (status, _) = status_and_code(&e);
                    if status == Some(404) {
                        return Ok(()); // already gone (also: a retry after a lost response)
                    }
                    last = Some(S3Error::request(
                        Op::AbortUpload(upload.id.clone()),
                        &self.location,
                        e,
                    ));
                    if round + 1 < ABORT_ROUNDS {
                        tokio::time::sleep(Duration::from_millis(100 << round)).await;
                    }
                }
            }
        }
        Err(last.map_or_else(|| Error::Internal("abort failed".into()), Error::from))
    }
}

/// The client's timeouts with the attempt and operation timeouts capped for an abort.
fn abort_timeouts(base: Option<&TimeoutConfig>) -> TimeoutConfig {
    let base = base
        .cloned()
        .unwrap_or_else(|| TimeoutConfig::builder().build());
    let cap =
        |configured: Option<Duration>, limit: Duration| configured.map_or(limit, |d| d.min(limit));
    base.to_builder()
        .operation_attempt_timeout(cap(base.operation_attempt_timeout(), ABORT_ATTEMPT_TIMEOUT))
        .operation_timeout(cap(base.operation_timeout(), ABORT_OPERATION_TIMEOUT))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abort_timeouts_are_capped_and_keep_the_rest() {
        let none = abort_timeouts(None);
        assert_eq!(
            none.operation_attempt_timeout(),
            Some(ABORT_ATTEMPT_TIMEOUT)
        );
        assert_eq!(none.operation_timeout(), Some(ABORT_OPERATION_TIMEOUT));
        let base = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(120))
            .build();
        let capped = abort_timeouts(Some(&base));
        assert_eq!(capped.connect_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(
            capped.operation_attempt_timeout(),
            Some(ABORT_ATTEMPT_TIMEOUT)
        );
        let short = TimeoutConfig::builder()
            .operation_attempt_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(7))
            .build();
        let kept = abort_timeouts(Some(&short));
        assert_eq!(
            kept.operation_attempt_timeout(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(kept.operation_timeout(), Some(Duration::from_secs(7)));
    }
}
