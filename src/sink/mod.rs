//! Byte sinks: where Parquet bytes go, part by part, with one exit: `complete` or `abort`.
//!
//! Nothing is visible at the destination until `complete` succeeds; `abort` (or dropping the
//! sink) leaves nothing behind. Stdout is the exception: bytes written cannot be taken back.

use bytes::Bytes;

use crate::error::Result;

mod factory;
mod file;
mod memory;

pub(crate) use factory::no_such_output;
pub use factory::{OneShot, Output, SinkFactory};
pub use file::{FileSink, StdoutSink};
pub use memory::{MemorySink, MemorySinks, MemoryTarget};

/// A destination written in parts.
#[async_trait::async_trait]
pub trait ByteSink: Send {
    /// Where it is (for messages).
    fn location(&self) -> &str;
    /// Metadata to attach to the object (object stores); called before the first part.
    fn set_metadata(&mut self, _metadata: &[(String, String)]) {}
    /// Append a part. Parts arrive in order; all but the last have the same size.
    async fn put_part(&mut self, part: Bytes) -> Result<()>;
    /// Publish everything written. Returns the bytes written. If the future is dropped before
    /// it finishes (cancellation), call `abort`.
    async fn complete(&mut self) -> Result<u64>;
    /// Discard everything written (also after a `complete` that failed or was cancelled).
    async fn abort(&mut self) -> Result<()>;
}
