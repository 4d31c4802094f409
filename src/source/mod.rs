//! Byte sources: where CSV bytes come from.
//!
//! A source describes itself ([`ByteSource::head`]) and opens a stream of byte pieces from an
//! offset ([`ByteSource::open`]). Errors inside the stream carry a crate [`Error`] (see
//! [`Error::into_io`]) so that they keep their classification through the decompressors.

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::budget::ReadAhead;
use crate::error::{Error, Result};

mod file;
mod memory;
mod range;

pub use file::{FileSource, StdinSource};
pub use memory::MemorySource;
pub use range::RangeSource;

/// A stream of byte pieces, in order.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// What is known about an input before reading it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceInfo {
    /// Where it is: `s3://bucket/key`, a path, or `-`.
    pub location: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Entity tag, for object stores.
    pub etag: Option<String>,
    /// Version id, for versioned buckets.
    pub version_id: Option<String>,
    /// Content-Encoding header, for object stores.
    pub content_encoding: Option<String>,
}

/// A place to read CSV bytes from.
#[async_trait::async_trait]
pub trait ByteSource: Send + Sync {
    /// Where it is (for messages).
    fn location(&self) -> &str;
    /// Size and version information. Called once, before `open`.
    async fn head(&self) -> Result<SourceInfo>;
    /// Stream the bytes from `offset` to the end. A source that reads in ranges (S3) keeps
    /// `read_ahead` (the memory budget's plan) in flight; the others ignore it.
    async fn open(&self, offset: u64, read_ahead: &ReadAhead) -> Result<ByteStream>;

    /// The bytes of `range` (fewer if the input ends first), for inference samples; memory is
    /// bounded by the range's length. The default reads [`ByteSource::open`] from the range's
    /// start and stops at its end; the S3 source makes it one ranged GET.
    async fn read_range(&self, range: std::ops::Range<u64>) -> Result<Bytes> {
        let want = usize::try_from(range.end.saturating_sub(range.start))
            .map_err(|_| Error::Internal(format!("range {range:?} does not fit in memory")))?;
        let mut stream = self.open(range.start, &ReadAhead::default()).await?;
        let mut buf = BytesMut::with_capacity(want);
        while buf.len() < want {
            match stream.next().await {
                Some(Ok(piece)) => {
                    let take = piece.len().min(want - buf.len());
                    buf.extend_from_slice(&piece[..take]);
                }
                Some(Err(e)) => return Err(Error::from_io(e, self.location())),
                None => break,
            }
        }
        Ok(buf.freeze())
    }
}

pub(crate) fn read_error(location: &str, source: std::io::Error) -> std::io::Error {
    Error::Read {
        location: location.to_string(),
        source,
    }
    .into_io()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `read_range` gives exactly the range (fewer bytes at the end of the input), for every
    /// source that uses the default.
    #[tokio::test]
    async fn read_range_is_exact() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, &data).unwrap();
        let sources: Vec<Box<dyn ByteSource>> = vec![
            Box::new(MemorySource::new("mem://x", data.clone()).with_piece_size(7)),
            Box::new(FileSource::new(&path)),
        ];
        for s in &sources {
            assert_eq!(&s.read_range(0..10).await.unwrap()[..], &data[..10]);
            assert_eq!(
                &s.read_range(4_999..7_001).await.unwrap()[..],
                &data[4_999..7_001]
            );
            assert_eq!(
                &s.read_range(9_990..20_000).await.unwrap()[..],
                &data[9_990..]
            );
            assert!(s.read_range(5..5).await.unwrap().is_empty());
        }
    }
}
