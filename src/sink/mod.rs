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

/// What the destination must hold for `complete` to publish over it (a conditional write):
/// publishing only over the object a run decided to replace keeps a slow run from overwriting
/// a newer one. A destination that cannot check it publishes unconditionally.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precondition {
    /// Publish whatever is there.
    #[default]
    None,
    /// Publish only if there is no object (`If-None-Match: *`).
    Absent,
    /// Publish only over the object with this ETag (`If-Match`).
    Matches(String),
}

impl std::fmt::Display for Precondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Precondition::None => f.write_str("no condition"),
            Precondition::Absent => f.write_str("expected no object there"),
            Precondition::Matches(etag) => write!(f, "expected the object with ETag {etag}"),
        }
    }
}

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
    /// This run publishes nothing here (`--on-error reject` with no rejected record): remove
    /// the object an earlier run left, under the sink's precondition, so that what is there
    /// always belongs to the last publish; a failed precondition is [`Error::Superseded`].
    /// Only a sink that publishes over a known object ([`Precondition::Matches`]) removes
    /// anything; the others (files, stdout, memory, unconditional S3) leave what is there.
    /// Called after `abort`.
    ///
    /// [`Error::Superseded`]: crate::Error::Superseded
    async fn remove_existing(&mut self) -> Result<()> {
        Ok(())
    }
}
