//! Test support, behind the `testkit` feature (and always in the crate's own unit tests):
//! seeded generated CSV ([`data`]), one seeded generator ([`Rng`]), the process's peak
//! memory ([`peak_rss_bytes`]), the decoder's parts ([`decode`]) and, with the `s3-server`
//! feature, an S3-compatible store over a directory (`s3_server`). The integration tests, the benches and the CLI's `generate`,
//! `local` and summary line use it; the conversion itself never does.

pub mod data;
pub mod rng;
#[cfg(feature = "s3-server")]
pub mod s3_server;

/// The decoder's parts, which the library keeps to itself, for the benches and fuzz targets.
pub mod decode {
    pub use crate::decode::batch::{decode_chunk, DecodeError, Decoded, Rejected};
    pub use crate::decode::chunker::{Chunk, Chunker, RecordTooLong};
    pub use crate::decode::columns::{ChunkError, DecodeContext};
    pub use crate::decode::tokenizer::{SyntaxError, Tokenizer};
    pub use crate::decode::tokens::{FieldSpan, RecordSpan, Tokens};
    /// The value parsers.
    pub mod values {
        pub use crate::decode::values::*;
    }
}

pub use data::{generate, generate_vec, Shape};
pub use rng::Rng;

/// Peak resident set size of this process in bytes (Linux `VmHWM`), if available.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
