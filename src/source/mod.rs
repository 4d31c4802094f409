//! Byte sources: where CSV bytes come from.
//!
//! A source describes itself ([`ByteSource::head`]) and opens a stream of byte pieces from an
//! offset ([`ByteSource::open`]). Errors inside the stream carry a crate [`Error`] (see
//! [`Error::into_io`]) so that they keep their classification through the decompressors.

use bytes::Bytes;
use futures::stream::BoxStream;

use crate::error::{Error, Result};

mod file;
mod memory;

pub use file::{FileSource, StdinSource};
pub use memory::MemorySource;

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
    /// Stream the bytes from `offset` to the end.
    async fn open(&self, offset: u64) -> Result<ByteStream>;
}

pub(crate) fn read_error(location: &str, source: std::io::Error) -> std::io::Error {
    Error::Read {
        location: location.to_string(),
        source,
    }
    .into_io()
}
