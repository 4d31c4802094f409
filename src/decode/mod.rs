//! Decoding: decompression, record-boundary chunking, tokenizing and building Arrow arrays.

pub mod chunker;
pub mod columns;
pub mod compression;
pub mod encoding;
mod quotemask;
pub mod tokenizer;
pub mod values;

/// A seeded xorshift generator for the randomized tests (fixed seeds, printed by the tests).
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
