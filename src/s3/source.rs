//! `S3Source`: HeadObject once, then ranged GETs (several in flight, yielded in order), each
//! pinned to the ETag seen by HeadObject (or the version id) and checked against the range asked
//! for. A body that fails mid-way resumes from the last byte received, with bounded retries.

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};

use super::error::{status_and_code, Cause, Op, S3Error};
use crate::budget::ReadAhead;
use crate::error::{Error, Result};
use crate::source::{ByteSource, ByteStream, SourceInfo};

/// Retries of one range after a failed body read (the SDK retries failed requests itself).
const BODY_RETRIES: u32 = 5;

/// An S3 object read with ranged GETs.
#[derive(Debug, Clone)]
pub struct S3Source {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    location: String,
    version_id: Option<String>,
    expected_bucket_owner: Option<String>,
    /// Ranges set by [`S3Source::with_ranges`], else the read-ahead's.
    ranges: Option<ReadAhead>,
    head: Arc<Mutex<Option<SourceInfo>>>,
}

impl S3Source {
    /// Read `s3://bucket/key` with `client`, with the ranges the conversion's read-ahead plans
    /// (see [`ReadAhead`]).
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        let (bucket, key) = (bucket.into(), key.into());
        S3Source {
            location: format!("s3://{bucket}/{key}"),
            client,
            bucket,
            key,
            version_id: None,
            expected_bucket_owner: None,
            ranges: None,
            head: Arc::default(),
        }
    }

    /// Read `range_bytes` per GET with `ranges_in_flight` at once, whatever the read-ahead
    /// (tests use it to make many small ranges).
    pub fn with_ranges(mut self, range_bytes: usize, ranges_in_flight: usize) -> Self {
        self.ranges = Some(ReadAhead {
            range_bytes: range_bytes.max(1),
            ranges: ranges_in_flight.max(1),
        });
        self
    }

    /// Read this version of the object.
    pub fn with_version_id(mut self, version_id: Option<String>) -> Self {
        self.version_id = version_id;
        self
    }

    /// Send ExpectedBucketOwner on every request.
    pub fn with_expected_bucket_owner(mut self, owner: Option<String>) -> Self {
        self.expected_bucket_owner = owner;
        self
    }

    fn cached_head(&self) -> Option<SourceInfo> {
        self.head.lock().ok().and_then(|h| h.clone())
    }
}

#[async_trait::async_trait]
impl ByteSource for S3Source {
    fn location(&self) -> &str {
        &self.location
    }

    async fn head(&self) -> Result<SourceInfo> {
        if let Some(info) = self.cached_head() {
            return Ok(info);
        }
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_version_id(self.version_id.clone())
            .set_expected_bucket_owner(self.expected_bucket_owner.clone())
            .send()
            .await
            .map_err(|e| S3Error::request(Op::HeadObject, &self.location, e))?;
        let info = SourceInfo {
            location: self.location.clone(),
            size: out.content_length().and_then(|n| u64::try_from(n).ok()),
            etag: out.e_tag().map(str::to_string),
            version_id: out.version_id().map(str::to_string),
            content_encoding: out.content_encoding().map(str::to_string),
        };
        if let Ok(mut slot) = self.head.lock() {
            *slot = Some(info.clone());
        }
        Ok(info)
    }

    async fn open(&self, offset: u64, read_ahead: &ReadAhead) -> Result<ByteStream> {
        let plan = self.ranges.unwrap_or(*read_ahead);
        let (range_bytes, in_flight) = (plan.range_bytes.max(1), plan.ranges.max(1));
        let pin = self.pin().await?;
        let size = pin.size;
        let step = range_bytes as u64;
        let ranges = (offset..size)
            .step_by(range_bytes)
            .map(move |start| start..(start + step).min(size));
        Ok(futures::stream::iter(ranges)
            .map(move |range| fetch_range(Arc::clone(&pin), range))
            .buffered(in_flight)
            .map_err(Error::into_io)
            .boxed())
    }

    /// One ranged GET, pinned like the ranges of `open`.
    async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let pin = self.pin().await?;
        let range = range.start.min(pin.size)..range.end.min(pin.size);
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        fetch_range(pin, range).await
    }
}

impl S3Source {
    /// What every range request is pinned to (from the cached HeadObject).
    async fn pin(&self) -> Result<Arc<Pin>> {
        let info = self.head().await?;
        let size = info.size.ok_or_else(|| {
            Error::Internal(format!("{}: HeadObject gave no size", self.location))
        })?;
        Ok(Arc::new(Pin {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            location: self.location.clone(),
            etag: info.etag.clone(),
            version_id: info.version_id.clone().or_else(|| self.version_id.clone()),
            expected_bucket_owner: self.expected_bucket_owner.clone(),
            size,
        }))
    }
}

/// What every range request is pinned to.
#[derive(Debug)]
struct Pin {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    location: String,
    etag: Option<String>,
    version_id: Option<String>,
    expected_bucket_owner: Option<String>,
    size: u64,
}

/// A failed attempt: worth resuming, or final.
enum Attempt {
    Resume(Error),
    Fatal(Error),
}

async fn fetch_range(pin: Arc<Pin>, range: Range<u64>) -> Result<Bytes> {
    let mut buf = BytesMut::with_capacity((range.end - range.start) as usize);
    let mut failures = 0;
    loop {
        let from = range.start + buf.len() as u64;
        match get_into(&pin, from..range.end, &mut buf).await {
            Ok(()) => return Ok(buf.freeze()),
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Resume(e)) if failures >= BODY_RETRIES => return Err(e),
            Err(Attempt::Resume(_)) => {
                failures += 1;
                tokio::time::sleep(Duration::from_millis(50 << failures)).await;
            }
        }
    }
}

async fn get_into(pin: &Pin, range: Range<u64>, buf: &mut BytesMut) -> Result<(), Attempt> {
    let fail = |cause| {
        Error::from(S3Error::new(
            Op::GetRange(range.clone()),
            &pin.location,
            cause,
        ))
    };
    let mut request = pin
        .client
        .get_object()
        .bucket(&pin.bucket)
        .key(&pin.key)
        .range(format!("bytes={}-{}", range.start, range.end - 1))
        .set_expected_bucket_owner(pin.expected_bucket_owner.clone());
    // Pin the object: a version id names it exactly; otherwise the ETag must still match.
    request = match (&pin.version_id, &pin.etag) {
        (Some(v), _) => request.version_id(v),
        (None, Some(etag)) => request.if_match(etag),
        (None, None) => request,
    };
    let out = match request.send().await {
        Ok(out) => out,
        Err(e) => {
            let (status, _) = status_and_code(&e);
            // 412: the ETag no longer matches. 416: a range inside the size HeadObject gave is
            // no longer satisfiable, so the object was replaced by a shorter one.
            if status == Some(412) || status == Some(416) {
                return Err(Attempt::Fatal(changed(pin)));
            }
            let err: Error = S3Error::request(Op::GetRange(range.clone()), &pin.location, e).into();
            return Err(if err.is_retryable() {
                Attempt::Resume(err)
            } else {
                Attempt::Fatal(err)
            });
        }
    };
    // A different ETag or total size means the object was replaced since HeadObject: a server
    // may check If-Match and read the file as two steps, so a replacement between them shows up
    // here rather than as 412.
    if let (None, Some(want), Some(got)) = (&pin.version_id, &pin.etag, out.e_tag()) {
        if want != got {
            return Err(Attempt::Fatal(changed(pin)));
        }
    }
    let expected = format!("bytes {}-{}/{}", range.start, range.end - 1, pin.size);
    if content_range_total(out.content_range()).is_some_and(|total| total != pin.size) {
        return Err(Attempt::Fatal(changed(pin)));
    }
    if out.content_range() != Some(expected.as_str()) {
        return Err(Attempt::Fatal(fail(Cause::RangeMismatch {
            expected,
            actual: out
                .content_range()
                .unwrap_or("the whole object")
                .to_string(),
        })));
    }
    let mut body = out.body;
    let start_len = buf.len();
    let want = (range.end - range.start) as usize;
    loop {
        match body.try_next().await {
            Ok(Some(piece)) => {
                if buf.len() - start_len + piece.len() > want {
                    return Err(Attempt::Fatal(Error::Internal(format!(
                        "{}: {} returned more bytes than asked for",
                        pin.location,
                        Op::GetRange(range.clone())
                    ))));
                }
                buf.extend_from_slice(&piece);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(Attempt::Resume(fail(Cause::Body {
                    received: buf.len() - start_len,
                    source: Box::new(e),
                })))
            }
        }
    }
    if buf.len() - start_len != want {
        return Err(Attempt::Resume(fail(Cause::ShortBody {
            received: buf.len() - start_len,
            expected: want,
        })));
    }
    Ok(())
}

/// The total size in a `Content-Range: bytes a-b/total` header, when it names one.
fn content_range_total(header: Option<&str>) -> Option<u64> {
    header?.rsplit_once('/')?.1.parse().ok()
}

fn changed(pin: &Pin) -> Error {
    let etag = pin.etag.as_deref().unwrap_or("?").to_string();
    S3Error::new(Op::GetObject, &pin.location, Cause::ObjectChanged { etag }).into()
}

#[cfg(test)]
mod tests {
    use super::content_range_total;

    #[test]
    fn content_range_total_is_parsed() {
        assert_eq!(content_range_total(Some("bytes 0-3/4")), Some(4));
        assert_eq!(
            content_range_total(Some("bytes 0-1048575/4194316")),
            Some(4_194_316)
        );
        assert_eq!(content_range_total(Some("bytes 0-3/*")), None);
        assert_eq!(content_range_total(Some("garbage")), None);
        assert_eq!(content_range_total(None), None);
    }
}
