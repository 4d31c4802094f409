//! Decoding: decompression, record-boundary chunking, tokenizing and building Arrow arrays.

pub mod batch;
pub mod chunker;
pub mod columns;
pub mod compression;
pub mod dialect;
pub mod encoding;
pub mod fault;
mod quotemask;
pub mod tokenizer;
pub mod tokens;
pub mod values;
