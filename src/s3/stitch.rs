//! Stitching Parquet fragments stored in S3 into one object (see [`crate::stitch`]): each
//! fragment's footer is fetched (a HEAD and one or two ranged GETs, pinned to its ETag) for
//! where its row groups end, then, in order and a few at a time, its page indexes and footer
//! again (one more GET) to place it in the plan, so only those few fragments' metadata is in
//! memory at once. One multipart upload copies the fragments' row groups server-side
//! (`UploadPartCopy`); only fragments under 5 MiB are read back, under 10 MiB per part. The
//! upload publishes under the sink's precondition and is aborted on any failure.

use aws_sdk_s3::Client;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::error::{Op, S3Error};
use super::sink::{CopySource, S3Sink};
use crate::error::{Error, Result};
use crate::sink::ByteSink;
use crate::stitch::parts::{plan_parts, Part, MAX_PART, MIN_PART};
use crate::stitch::{data_bytes, Fragment, Stitch, Stitcher};

/// Fragments whose footers are fetched at once.
const FOOTERS_AT_ONCE: usize = 16;
/// Fragments whose metadata (with page indexes) is fetched ahead of the one being placed.
const FRAGMENTS_AHEAD: usize = 4;
/// Footer bytes fetched first: most footers (and their length) fit.
const FIRST_TAIL: u64 = 64 * 1024;

/// GET bytes `range` of `source` (pinned to its ETag).
async fn get_range(
    client: &Client,
    source: &CopySource,
    range: std::ops::Range<u64>,
) -> Result<Bytes> {
    let location = format!("s3://{}/{}", source.bucket, source.key);
    let op = Op::GetRange(range.clone());
    let out = client
        .get_object()
        .bucket(&source.bucket)
        .key(&source.key)
        .range(format!("bytes={}-{}", range.start, range.end - 1))
        .if_match(format!("\"{}\"", source.etag))
        .send()
        .await
        .map_err(|e| S3Error::request(op.clone(), &location, e).for_purpose("a fragment"))?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| Error::Store {
            op: op.to_string(),
            location: location.clone(),
            retryable: true,
            kind: crate::error::ErrorKind::Io,
            source: Box::new(e),
        })?
        .into_bytes();
    if bytes.len() as u64 != range.end - range.start {
        return Err(Error::Internal(format!(
            "{location}: asked for {} bytes, got {}",
            range.end - range.start,
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Where a fragment is and how long: its size, where its row groups end and where to copy it
/// from (its ETag when its footer was read).
#[derive(Debug, Clone)]
pub struct FragmentEnd {
    /// Its size.
    pub len: u64,
    /// The end of its row groups.
    pub end: u64,
    /// Its bucket, key and ETag.
    pub source: CopySource,
}

/// Where the row groups of the fragment at `bucket/key` end (its footer read, then dropped).
pub async fn fragment_end(client: &Client, bucket: &str, key: &str) -> Result<FragmentEnd> {
    let location = format!("s3://{bucket}/{key}");
    let head = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| S3Error::request(Op::HeadObject, &location, e).for_purpose("a fragment"))?;
    let len = head
        .content_length()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    let source = CopySource {
        bucket: bucket.to_string(),
        key: key.to_string(),
        etag: head
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string(),
    };
    let first = len.saturating_sub(FIRST_TAIL);
    let mut tail = get_range(client, &source, first..len).await?;
    let footer = Fragment::footer_len(&location, &tail)?;
    if footer + 8 > tail.len() as u64 {
        tail = get_range(client, &source, len.saturating_sub(footer + 8)..len).await?;
    }
    let end = Fragment::data_end(&location, &tail)?;
    Ok(FragmentEnd { len, end, source })
}

/// The fragment at `at`: its page indexes and footer (the bytes after its row groups, pinned
/// to the ETag its end was read with).
pub async fn read_fragment(client: &Client, at: &FragmentEnd) -> Result<Fragment> {
    let location = format!("s3://{}/{}", at.source.bucket, at.source.key);
    let tail = get_range(client, &at.source, at.end..at.len).await?;
    Fragment::from_tail(location, at.len, at.end, tail)
}

/// Stitch the fragments at `keys` in `bucket` (in order) into `sink` with `metadata` on the
/// object and over the footer's key-value metadata; returns the plan it wrote. On failure the upload is aborted.
pub async fn stitch_objects(
    client: &Client,
    bucket: &str,
    keys: &[String],
    mut sink: S3Sink,
    metadata: &[(String, String)],
) -> Result<Stitch> {
    // The futures are collected first: a stream of a closure's futures is not Send for every
    // lifetime, which the callers' spawned tasks need.
    let reads: Vec<_> = keys
        .iter()
        .map(|key| fragment_end(client, bucket, key))
        .collect();
    let ends: Vec<Result<FragmentEnd>> = futures::stream::iter(reads)
        .buffered(FOOTERS_AT_ONCE)
        .collect()
        .await;
    let ends = ends.into_iter().collect::<Result<Vec<_>>>()?;
    let mut stitcher = Stitcher::new(data_bytes(ends.iter().map(|f| f.end)));
    let reads: Vec<_> = ends.iter().map(|at| read_fragment(client, at)).collect();
    let mut fragments = futures::stream::iter(reads).buffered(FRAGMENTS_AHEAD);
    while let Some(fragment) = fragments.next().await {
        stitcher.add(&fragment?)?;
    }
    drop(fragments);
    let plan = stitcher.finish(metadata)?;
    let sources: Vec<CopySource> = ends.into_iter().map(|f| f.source).collect();
    let parts = plan_parts(&plan.pieces, MIN_PART, MAX_PART)?;
    sink.set_metadata(metadata);
    let written = async {
        for part in &parts {
            match part {
                Part::Copy { fragment, range } => {
                    sink.copy_part(&sources[*fragment], range.clone()).await?
                }
                Part::Upload { segments, footer } => {
                    let mut buf = BytesMut::new();
                    for (f, range) in segments {
                        buf.extend_from_slice(
                            &get_range(client, &sources[*f], range.clone()).await?,
                        );
                    }
                    if *footer {
                        buf.extend_from_slice(&plan.footer);
                    }
                    if !buf.is_empty() {
                        sink.put_part(buf.freeze()).await?;
                    }
                }
            }
        }
        sink.complete().await
    }
    .await;
    match written {
        Ok(_) => Ok(plan),
        Err(e) => match sink.abort().await {
            Ok(()) => Err(e),
            Err(abort) => Err(e.with_cleanup_failure(abort)),
        },
    }
}
