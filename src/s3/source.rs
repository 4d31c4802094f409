//! `S3Source`: HeadObject once, then ranged GETs (several in flight, yielded in order), each
//! pinned to the ETag seen by HeadObject (or the version id) and checked against the range asked
//! for. A body that fails mid-way resumes from the last byte received, with bounded retries.

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};

use super::store_error;
use crate::error::{Error, ErrorKind, Result};
use crate::source::{ByteSource, ByteStream, SourceInfo};

/// Retries of one range after a failed body read (the SDK retries failed requests itself).
const BODY_RETRIES: u32 = 5;

/// Ranges the read-ahead holds at least, unless `--range-bytes` says otherwise. One connection
/// carries roughly 85-90 MB/s from S3 (FACTS.md), and the embedded s3s-fs server, which reads
/// files 4 KiB at a time, serves one GET at about 100 MiB/s with a full core; the decoder takes
/// 300+ MiB/s on two cores. Measured s3 -> s3 on 1 GiB of text at the default limit (16 MiB
/// read-ahead): 2 ranges of 8 MiB 7.7-8.6 s, 3 of 8 MiB 6.3 s, 4 of 4 or 8 MiB 6.2-6.4 s, 8 of
/// 2 MiB 6.2 s.
pub const MIN_RANGES_IN_FLIGHT: usize = 4;
/// The smallest range the read-ahead is cut into by default.
pub const MIN_DEFAULT_RANGE_BYTES: usize = 1 << 20;
/// The smallest range `--range-bytes` accepts (smaller ones are mostly request overhead).
pub const MIN_RANGE_BYTES: usize = 64 << 10;
/// The most ranges in flight, whatever the read-ahead and range sizes.
pub const MAX_RANGES_IN_FLIGHT: usize = 64;

/// Check a `--range-bytes` value: at least [`MIN_RANGE_BYTES`].
pub fn check_range_bytes(bytes: usize) -> std::result::Result<usize, String> {
    if bytes < MIN_RANGE_BYTES {
        return Err(format!(
            "{bytes} bytes is too small: ranged GETs must be at least 64 KiB"
        ));
    }
    Ok(bytes)
}

/// The size of one ranged GET and how many are in flight, for a read-ahead of `read_ahead`
/// bytes. `requested` (`--range-bytes`) is kept, up to the read-ahead (a larger range would
/// hold more than the budget gives the read-ahead); by default ranges are
/// [`DEFAULT_RANGE_BYTES`](super::DEFAULT_RANGE_BYTES) (AWS's guidance is 8-16 MiB), cut down
/// so that the read-ahead holds [`MIN_RANGES_IN_FLIGHT`] of them, but not below
/// [`MIN_DEFAULT_RANGE_BYTES`]. The ranges in flight never hold more than the read-ahead (at
/// least one range is always in flight, and at most [`MAX_RANGES_IN_FLIGHT`]).
pub fn plan_ranges(read_ahead: usize, requested: Option<usize>) -> (usize, usize) {
    let range = match requested {
        Some(r) => r.clamp(1, read_ahead.max(MIN_RANGE_BYTES)),
        None => (read_ahead / MIN_RANGES_IN_FLIGHT)
            .clamp(MIN_DEFAULT_RANGE_BYTES, super::DEFAULT_RANGE_BYTES),
    };
    (range, (read_ahead / range).clamp(1, MAX_RANGES_IN_FLIGHT))
}

/// An S3 object read with ranged GETs.
#[derive(Debug, Clone)]
pub struct S3Source {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    location: String,
    version_id: Option<String>,
    expected_bucket_owner: Option<String>,
    range_bytes: usize,
    ranges_in_flight: usize,
    head: Arc<Mutex<Option<SourceInfo>>>,
}

impl S3Source {
    /// Read `s3://bucket/key` with `client`, `range_bytes` per GET, `ranges_in_flight` at once.
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        key: impl Into<String>,
        range_bytes: usize,
        ranges_in_flight: usize,
    ) -> Self {
        let (bucket, key) = (bucket.into(), key.into());
        S3Source {
            location: format!("s3://{bucket}/{key}"),
            client,
            bucket,
            key,
            version_id: None,
            expected_bucket_owner: None,
            range_bytes: range_bytes.max(1),
            ranges_in_flight: ranges_in_flight.max(1),
            head: Arc::default(),
        }
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
            .map_err(|e| store_error("HeadObject", &self.location, e))?;
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

    async fn open(&self, offset: u64) -> Result<ByteStream> {
        let pin = self.pin().await?;
        let size = pin.size;
        let step = self.range_bytes as u64;
        let ranges = (offset..size)
            .step_by(self.range_bytes)
            .map(move |start| start..(start + step).min(size));
        Ok(futures::stream::iter(ranges)
            .map(move |range| fetch_range(Arc::clone(&pin), range))
            .buffered(self.ranges_in_flight)
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
    let step = format!("GetObject bytes={}-{}", range.start, range.end - 1);
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
            let (status, _) = super::status_and_code(&e);
            // 412: the ETag no longer matches. 416: a range inside the size HeadObject gave is
            // no longer satisfiable, so the object was replaced by a shorter one.
            if status == Some(412) || status == Some(416) {
                return Err(Attempt::Fatal(changed(pin)));
            }
            let err = store_error(step, &pin.location, e);
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
        return Err(Attempt::Fatal(Error::Store {
            step,
            location: pin.location.clone(),
            message: format!(
                "the response covers {:?}, not the range asked for ({expected:?})",
                out.content_range().unwrap_or("the whole object")
            ),
            retryable: false,
            kind: ErrorKind::Io,
        }));
    }
    let mut body = out.body;
    let start_len = buf.len();
    let want = (range.end - range.start) as usize;
    loop {
        match body.try_next().await {
            Ok(Some(piece)) => {
                if buf.len() - start_len + piece.len() > want {
                    return Err(Attempt::Fatal(Error::Internal(format!(
                        "{}: {step} returned more bytes than asked for",
                        pin.location
                    ))));
                }
                buf.extend_from_slice(&piece);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(Attempt::Resume(Error::Store {
                    step,
                    location: pin.location.clone(),
                    message: format!(
                        "reading the body failed after {} bytes: {}",
                        buf.len() - start_len,
                        crate::error::error_chain(&e)
                    ),
                    retryable: true,
                    kind: ErrorKind::Io,
                }))
            }
        }
    }
    if buf.len() - start_len != want {
        return Err(Attempt::Resume(Error::Store {
            step,
            location: pin.location.clone(),
            message: format!(
                "the body ended after {} of {want} bytes",
                buf.len() - start_len
            ),
            retryable: true,
            kind: ErrorKind::Io,
        }));
    }
    Ok(())
}

/// The total size in a `Content-Range: bytes a-b/total` header, when it names one.
fn content_range_total(header: Option<&str>) -> Option<u64> {
    header?.rsplit_once('/')?.1.parse().ok()
}

fn changed(pin: &Pin) -> Error {
    Error::Store {
        step: "GetObject".into(),
        location: pin.location.clone(),
        message: format!(
            "the object changed while reading (its ETag is no longer {}); nothing was written — run again to convert the new version",
            pin.etag.as_deref().unwrap_or("?")
        ),
        retryable: true,
        kind: ErrorKind::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::{
        check_range_bytes, content_range_total, plan_ranges, MAX_RANGES_IN_FLIGHT,
        MIN_RANGES_IN_FLIGHT, MIN_RANGE_BYTES,
    };
    use crate::s3::DEFAULT_RANGE_BYTES;

    const MIB: usize = 1 << 20;

    #[test]
    fn default_ranges_keep_four_in_flight_within_the_read_ahead() {
        // The default limit's 16 MiB read-ahead: 4 ranges of 4 MiB.
        assert_eq!(plan_ranges(16 * MIB, None), (4 * MIB, 4));
        // 32 MiB (limits of 512 MiB and more): AWS's 8 MiB ranges, 4 of them.
        assert_eq!(plan_ranges(32 * MIB, None), (DEFAULT_RANGE_BYTES, 4));
        // Small limits: not below 1 MiB, and still one range at least.
        assert_eq!(plan_ranges(2 * MIB, None), (MIB, 2));
        assert_eq!(plan_ranges(MIB, None), (MIB, 1));
        for read_ahead in [MIB, 3 * MIB, 5 * MIB + 17, 16 * MIB, 32 * MIB, 100 * MIB] {
            let (range, in_flight) = plan_ranges(read_ahead, None);
            assert!(range * in_flight <= read_ahead.max(range), "{read_ahead}");
            assert!(
                in_flight >= MIN_RANGES_IN_FLIGHT || range == MIB,
                "{read_ahead}"
            );
        }
    }

    #[test]
    fn requested_ranges_are_kept() {
        assert_eq!(plan_ranges(16 * MIB, Some(8 * MIB)), (8 * MIB, 2));
        assert_eq!(plan_ranges(16 * MIB, Some(16 * MIB)), (16 * MIB, 1));
        // Not beyond the read-ahead's budget.
        assert_eq!(plan_ranges(16 * MIB, Some(64 * MIB)), (16 * MIB, 1));
        assert_eq!(plan_ranges(16 * MIB, Some(MIB / 2)), (MIB / 2, 32));
        assert_eq!(
            plan_ranges(16 * MIB, Some(MIN_RANGE_BYTES)),
            (MIN_RANGE_BYTES, 64)
        );
        assert_eq!(
            plan_ranges(32 * MIB, Some(MIN_RANGE_BYTES)).1,
            MAX_RANGES_IN_FLIGHT
        );
    }

    #[test]
    fn tiny_ranges_are_refused() {
        assert_eq!(check_range_bytes(MIN_RANGE_BYTES), Ok(MIN_RANGE_BYTES));
        let err = check_range_bytes(4096).err();
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("4096") && e.contains("64 KiB")),
            "{err:?}"
        );
    }

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
