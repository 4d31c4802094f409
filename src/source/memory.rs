//! In-memory source, used by tests and benches; it can deliver its bytes in pieces of any size
//! to exercise chunk boundaries.

use bytes::Bytes;
use futures::StreamExt;

use super::{ByteSource, ByteStream, SourceInfo};
use crate::budget::ReadAhead;
use crate::error::{Error, Result};

/// Bytes in memory, streamed in pieces of `piece` bytes.
#[derive(Debug, Clone)]
pub struct MemorySource {
    data: Bytes,
    piece: usize,
    location: String,
}

impl MemorySource {
    /// A source over `data` named `location`, delivered in 64 KiB pieces.
    pub fn new(location: impl Into<String>, data: impl Into<Bytes>) -> Self {
        MemorySource {
            data: data.into(),
            piece: 64 * 1024,
            location: location.into(),
        }
    }

    /// Deliver the bytes in pieces of `piece` bytes (at least 1).
    pub fn with_piece_size(mut self, piece: usize) -> Self {
        self.piece = piece.max(1);
        self
    }
}

#[async_trait::async_trait]
impl ByteSource for MemorySource {
    fn location(&self) -> &str {
        &self.location
    }

    async fn head(&self) -> Result<SourceInfo> {
        Ok(SourceInfo {
            location: self.location.clone(),
            size: Some(self.data.len() as u64),
            ..SourceInfo::default()
        })
    }

    async fn open(&self, offset: u64, _read_ahead: &ReadAhead) -> Result<ByteStream> {
        let start = usize::try_from(offset)
            .ok()
            .filter(|o| *o <= self.data.len())
            .ok_or_else(|| Error::Internal(format!("offset {offset} past the end")))?;
        let data = self.data.slice(start..);
        let piece = self.piece;
        let pieces = (0..data.len().div_ceil(piece))
            .map(move |i| Ok(data.slice(i * piece..((i + 1) * piece).min(data.len()))));
        Ok(futures::stream::iter(pieces).boxed())
    }
}
