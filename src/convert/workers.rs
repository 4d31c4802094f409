//! The decode workers: chunks of whole records are tokenized and parsed into Arrow batches on
//! a thread pool, at most a budgeted number at a time; each decoded chunk goes straight to the
//! encoder thread ([`super::order`]), which restores the input order.

use std::cell::RefCell;
use std::sync::Arc;

use crate::decode::batch::{decode_chunk, DecodeError, Decoded};
use crate::decode::chunker::Chunk;
use crate::decode::columns::{ChunkError, DecodeContext};
use crate::decode::tokens::Tokens;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub(super) struct ChunkMeta {
    pub seq: u64,
    pub base_line: u64,
    pub base_byte: u64,
}

/// Why a chunk has no batch.
pub(super) enum ChunkFailure {
    /// Bad input, positioned in the chunk.
    Data(ChunkError),
    /// A bug the decoder found (Arrow refused arrays it built).
    Internal(String),
    /// A bug: a panic on a pool thread would otherwise abort the process.
    Panicked,
}

pub(super) type ChunkResult = (ChunkMeta, std::result::Result<Decoded, ChunkFailure>);

thread_local! {
    static SCRATCH: RefCell<Tokens> = RefCell::new(Tokens::default());
}

/// Decode jobs on the pool. A decoded chunk goes straight to the encoder thread, which restores
/// the order: routing it through this (chunking) thread delayed it whenever that thread was
/// busy chunking or waiting for input, and left the encoder idle.
///
/// A chunk counts as in flight from its submission until the encoder has taken it, so
/// decoded-but-unencoded batches stay within `max_in_flight` while chunking, decoding and
/// encoding overlap.
pub(super) struct Workers {
    pub pool: Arc<rayon::ThreadPool>,
    pub ctx: Arc<DecodeContext>,
    /// One chunk encoded (its [`Slot`] dropped), or the encoder failed.
    pub encoded: std::sync::mpsc::Receiver<Result<()>>,
    pub to_encoder: std::sync::mpsc::Sender<ChunkResult>,
    pub in_flight: usize,
    pub max_in_flight: usize,
}

impl Workers {
    pub(super) fn submit(&mut self, chunk: Chunk) -> Result<()> {
        while self.in_flight >= self.max_in_flight {
            self.wait_one()?;
        }
        let ctx = Arc::clone(&self.ctx);
        let to_encoder = self.to_encoder.clone();
        self.in_flight += 1;
        self.pool.spawn(move || {
            let meta = ChunkMeta {
                seq: chunk.seq,
                base_line: chunk.base_line,
                base_byte: chunk.base_byte,
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                SCRATCH.with(|t| decode_chunk(&ctx, &chunk, &mut t.borrow_mut()))
            }));
            let result = match result {
                Ok(decoded) => decoded.map_err(|e| match e {
                    DecodeError::Data(e) => ChunkFailure::Data(e),
                    DecodeError::Internal(e) => ChunkFailure::Internal(e),
                }),
                Err(_) => {
                    // The scratch tokens may be half-written: start the next chunk afresh.
                    SCRATCH.with(|t| *t.borrow_mut() = Tokens::default());
                    Err(ChunkFailure::Panicked)
                }
            };
            // A closed channel means the encoder stopped on an error, which it has reported.
            let _ = to_encoder.send((meta, result));
        });
        Ok(())
    }

    fn wait_one(&mut self) -> Result<()> {
        let result = self
            .encoded
            .recv()
            .map_err(|_| Error::Internal("the encoder thread vanished".into()))?;
        self.in_flight -= 1;
        result
    }

    pub(super) fn drain(&mut self) -> Result<()> {
        while self.in_flight > 0 {
            self.wait_one()?;
        }
        Ok(())
    }
}

/// Releases a chunk's in-flight slot when dropped: the encoder's column lanes hold clones of it
/// until each has encoded its column of the chunk.
pub(super) struct Slot(pub(super) std::sync::mpsc::Sender<Result<()>>);

impl Drop for Slot {
    fn drop(&mut self) {
        // A closed channel means the chunking thread has stopped and counts nothing more.
        let _ = self.0.send(Ok(()));
    }
}
