//! Decoding: decompression, record-boundary chunking, tokenizing and building Arrow arrays.
//!
//! Public: what the options and the errors name (the [`dialect`] and what is [`sniff`]ed, the
//! input [`compression`]
//! and [`encoding`], the [`fault`] of a bad record). The decoder itself is the crate's; the
//! benches and fuzz targets reach it through `testkit::decode`.

pub(crate) mod batch;
pub(crate) mod chunker;
pub(crate) mod columns;
pub mod compression;
pub(crate) mod context;
pub mod dialect;
pub mod encoding;
pub mod fault;
mod quotemask;
pub mod sniff;
pub(crate) mod tokenizer;
pub(crate) mod tokens;

pub(crate) use tokens::TRANSPOSE_BYTES;
pub(crate) mod validity;
pub(crate) mod values;
