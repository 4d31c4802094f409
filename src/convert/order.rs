//! The encoder thread's side: decoded chunks arrive in any order and are handed to the
//! Parquet encoder (and the rejects writer) in input order, with their errors positioned in
//! the input.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::rejects::RejectWriter;
use super::report::Progress;
use super::workers::{ChunkFailure, ChunkMeta, ChunkResult, Slot};
use crate::decode::batch::Decoded;
use crate::decode::columns::ChunkError;
use crate::encode::{ParquetEncoder, PartWriter, Token};
use crate::error::{quote_value, DataError, Error, Position, Result};

/// Position a chunk-relative error in the input.
pub(super) fn data_error(
    location: &str,
    names: &[String],
    records_before: u64,
    base_line: u64,
    base_byte: u64,
    e: ChunkError,
) -> Error {
    Error::Data(Box::new(DataError {
        location: location.to_string(),
        position: Some(Position {
            record: records_before + e.record as u64 + 1,
            line: base_line + e.line as u64 + 1,
            byte: base_byte + e.byte as u64,
        }),
        column: e
            .column
            .map(|c| (c + 1, names.get(c).cloned().unwrap_or_default())),
        value: e.value.as_deref().map(quote_value),
        reason: e.reason.to_string(),
        fault: Some(e.reason),
    }))
}

/// Counts of a finished pipeline.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub rows: u64,
    pub records: u64,
    pub rejected: u64,
    pub nulled: u64,
    pub utf8_replaced: u64,
    pub row_groups: usize,
    pub bytes_out: u64,
    pub rejects_bytes: u64,
    /// What was spilled, when the row groups' pages were.
    pub spill: Option<super::report::SpillReport>,
    /// Notes of the encoding stage (a spill directory that could not be used).
    pub warnings: Vec<String>,
}

/// Where decoded chunks go, in order.
pub(super) struct InOrder {
    pub encoder: ParquetEncoder<PartWriter>,
    pub rejects: Option<RejectWriter>,
    pub names: Vec<String>,
    pub location: String,
    pub counts: Counts,
    pub progress: Arc<Progress>,
}

impl InOrder {
    fn accept(
        &mut self,
        meta: ChunkMeta,
        result: std::result::Result<Decoded, ChunkFailure>,
        token: &Token,
    ) -> Result<()> {
        let decoded = result.map_err(|e| match e {
            ChunkFailure::Data(e) => data_error(
                &self.location,
                &self.names,
                self.counts.records,
                meta.base_line,
                meta.base_byte,
                e,
            ),
            ChunkFailure::Internal(why) => Error::Internal(format!(
                "{}: decoding the chunk at byte {}, line {}: {why}",
                self.location,
                meta.base_byte,
                meta.base_line + 1
            )),
            ChunkFailure::Panicked => Error::Internal(format!(
                "{}: the decoder panicked on the chunk at byte {}, line {}",
                self.location,
                meta.base_byte,
                meta.base_line + 1
            )),
        })?;
        if !decoded.rejects.is_empty() {
            let Some(writer) = self.rejects.as_mut() else {
                return Err(Error::Internal(
                    "records rejected without a rejects writer".into(),
                ));
            };
            for r in &decoded.rejects {
                writer.write(
                    meta.base_line + r.line as u64 + 1,
                    meta.base_byte + r.byte as u64,
                    &r.reason.to_string(),
                    &r.raw,
                )?;
            }
            self.counts.rejected += decoded.rejects.len() as u64;
        }
        self.counts.records += decoded.records;
        self.counts.nulled += decoded.nulled;
        self.counts.utf8_replaced += decoded.utf8_replaced;
        if let Some(batch) = decoded.batch {
            self.counts.rows += batch.num_rows() as u64;
            self.progress
                .rows
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            self.encoder.write(&batch, token)?;
        }
        Ok(())
    }
}

/// The encoder thread: takes decoded chunks (in any order) and hands them to the encoder in
/// input order, until the channel closes or one fails. At most `max_in_flight` chunks wait
/// here or in the encoder's lanes (see [`Workers`]).
pub(super) fn encode_in_order(
    mut ordered: InOrder,
    chunks: std::sync::mpsc::Receiver<ChunkResult>,
    encoded: std::sync::mpsc::Sender<Result<()>>,
) -> InOrder {
    let mut waiting: BTreeMap<u64, ChunkResult> = BTreeMap::new();
    let mut next_seq = 0u64;
    for (meta, result) in chunks {
        waiting.insert(meta.seq, (meta, result));
        while let Some((meta, result)) = waiting.remove(&next_seq) {
            next_seq += 1;
            let slot: Token = Arc::new(Slot(encoded.clone()));
            // A panic in the Parquet writer must not leave the chunking thread waiting forever.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                ordered.accept(meta, result, &slot)
            }))
            .unwrap_or_else(|_| Err(Error::Internal("the Parquet encoder panicked".into())));
            if let Err(e) = result {
                // Before the slot's release: the chunking thread must not see its chunks all
                // released and finish without reading the error.
                let _ = encoded.send(Err(e));
                return ordered;
            }
            drop(slot);
        }
    }
    ordered
}
