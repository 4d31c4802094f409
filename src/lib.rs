//! Streaming CSV to Parquet conversion with bounded memory.
//!
//! ```text
//! ByteSource ─▶ decompress ─▶ chunk at record boundaries ─▶ decode chunks in parallel
//!            ─▶ re-order ─▶ encode Parquet row groups (columns in parallel) ─▶ ByteSink parts
//! ```
//! Every stage is bounded: the memory limit ([`config::ConvertOptions::memory_limit`]) is split
//! into a [`budget::MemoryBudget`] that sizes the read-ahead, the chunks in flight, the row-group
//! buffer and the output parts. Peak memory depends on the budget, not on the input's size.
//!
//! The entry point is [`convert()`]; sources and sinks are small traits with file, stdin/stdout
//! and in-memory implementations.

pub mod budget;
pub mod config;
pub mod convert;
pub mod decode;
pub mod encode;
pub mod error;
pub mod fanout;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod location;
#[cfg(feature = "s3")]
pub mod s3;
pub mod schema;
pub mod sink;
pub mod source;
pub(crate) mod split;
pub mod stitch;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use config::{Compression, ConvertOptions, Dialect, OnError};
pub use convert::{convert, infer_schema, ConvertReport, Converter, InferredSchema, Progress};
pub use error::{Error, ErrorKind, Result};
pub use schema::SchemaSpec;
pub use sink::ByteSink;
pub use source::ByteSource;
