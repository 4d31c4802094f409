//! A byte range of another source, read as a source of its own: what one worker of a fan-out
//! converts (see [`crate::fanout`]).

use std::ops::Range;

use futures::StreamExt;

use super::{ByteSource, ByteStream, SourceInfo};
use crate::budget::ReadAhead;
use crate::error::{Error, Result};

/// Bytes `range` of `inner`, as an input that starts at 0 and ends at the range's end.
pub struct RangeSource<'a> {
    inner: &'a dyn ByteSource,
    range: Range<u64>,
    location: String,
}

impl<'a> RangeSource<'a> {
    /// Bytes `range` of `inner`.
    pub fn new(inner: &'a dyn ByteSource, range: Range<u64>) -> Self {
        let location = format!(
            "{} (bytes {}..{})",
            inner.location(),
            range.start,
            range.end
        );
        RangeSource {
            inner,
            range,
            location,
        }
    }
}

#[async_trait::async_trait]
impl ByteSource for RangeSource<'_> {
    fn location(&self) -> &str {
        &self.location
    }

    async fn head(&self) -> Result<SourceInfo> {
        let inner = self.inner.head().await?;
        Ok(SourceInfo {
            location: self.location.clone(),
            size: Some(self.range.end - self.range.start),
            ..inner
        })
    }

    /// The inner stream from `range.start + offset`, cut at the range's end (the inner source
    /// may have read ahead past it: that is dropped with the stream).
    async fn open(&self, offset: u64, read_ahead: &ReadAhead) -> Result<ByteStream> {
        let len = self.range.end - self.range.start;
        if offset > len {
            return Err(Error::Internal(format!(
                "{}: offset {offset} past the end",
                self.location
            )));
        }
        let stream = self
            .inner
            .open(self.range.start + offset, read_ahead)
            .await?;
        let left = len - offset;
        let cut = stream.scan(left, |left, piece| {
            let out = match piece {
                Ok(_) if *left == 0 => None,
                Ok(mut bytes) => {
                    let take = (bytes.len() as u64).min(*left) as usize;
                    bytes.truncate(take);
                    *left -= take as u64;
                    Some(Ok(bytes))
                }
                Err(e) => Some(Err(e)),
            };
            futures::future::ready(out)
        });
        Ok(cut.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemorySource;

    #[tokio::test]
    async fn a_range_reads_its_bytes_only() {
        let inner = MemorySource::new("m", (0..=255u8).cycle().take(10_000).collect::<Vec<_>>())
            .with_piece_size(333);
        let r = RangeSource::new(&inner, 1000..4321);
        assert_eq!(r.head().await.unwrap().size, Some(3321));
        let all = r.read_range(0..10_000).await.unwrap();
        let expected: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        assert_eq!(&all[..], &expected[1000..4321]);
        let tail = r.read_range(3000..3321).await.unwrap();
        assert_eq!(&tail[..], &expected[4000..4321]);
    }
}
