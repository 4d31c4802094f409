//! The CPU side of a conversion, run on one blocking thread that drives a worker pool:
//! sample and infer the schema, chunk at record boundaries, decode chunks in parallel, restore
//! their order, encode Parquet (columns in parallel) and hand parts to the sink channel.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::rejects::RejectWriter;
use super::Progress;
use crate::config::{ConvertOptions, MemoryBudget};
use crate::decode::chunker::{Chunk, Chunker, RecordTooLong};
use crate::decode::columns::{decode_chunk, ChunkError, DecodeContext, Decoded};
use crate::decode::compression::binary_format;
use crate::decode::tokenizer::{Tokenizer, Tokens};
use crate::encode::{writer_properties, Cardinality, ParquetEncoder, PartWriter, Token};
use crate::error::{quote_value, DataError, Error, Position, Result};
use crate::schema::{self, Inferrer, SchemaSource, SchemaSpec};
use parquet::file::properties::DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT;

/// Blocks from the reading stage, with cancellation.
pub(crate) struct Blocks {
    rx: mpsc::Receiver<Result<Bytes>>,
    cancel: CancellationToken,
}

impl Blocks {
    pub(crate) fn new(rx: mpsc::Receiver<Result<Bytes>>, cancel: CancellationToken) -> Self {
        Blocks { rx, cancel }
    }

    fn next(&mut self) -> Result<Option<Bytes>> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled("conversion cancelled".into()));
        }
        match self.rx.blocking_recv() {
            Some(Ok(b)) => Ok(Some(b)),
            Some(Err(e)) => Err(e),
            None if self.cancel.is_cancelled() => {
                Err(Error::Cancelled("conversion cancelled".into()))
            }
            None => Ok(None),
        }
    }
}

/// The schema and the bytes already read while sampling.
pub(crate) struct Prepared {
    /// Resolved schema.
    pub schema: SchemaSpec,
    /// Where it came from.
    pub source: SchemaSource,
    /// Header fixes and other notes.
    pub warnings: Vec<String>,
    /// Columns written without a dictionary (see [`Cardinality`]).
    pub plain_columns: Vec<String>,
    /// Average bytes per record in the sample (header included), at least 1.
    pub record_bytes: usize,
    /// Sampled bytes after the header, to decode first.
    rest: Bytes,
    base_byte: u64,
    base_line: u64,
}

fn too_long(location: &str, e: RecordTooLong) -> Error {
    Error::Limit {
        location: location.to_string(),
        message: format!(
            "line {}, byte {}: a record is longer than {} MiB, the most this memory limit allows (raise --memory-limit, or check the quoting: an unbalanced quote makes the rest of the file one field)",
            e.line + 1,
            e.byte,
            e.limit / (1024 * 1024)
        ),
    }
}

/// The first prefix of the head that [`prepare`] tokenizes; it grows from there as needed.
const INFER_FIRST_BYTES: usize = 1024 * 1024;

/// The prefix to try next, having found `records` whole records in `bytes`: where `want`
/// records should end at the bytes per record so far, plus an eighth; at least double
/// `limit` when no record was complete yet, and always more than `limit`.
fn next_limit(limit: usize, bytes: usize, records: usize, want: usize) -> usize {
    if records == 0 {
        return limit.saturating_mul(2).max(1);
    }
    let guess = (bytes as u128)
        .saturating_mul(want as u128)
        .saturating_mul(9)
        / (8 * records as u128);
    let guess = usize::try_from(guess).unwrap_or(usize::MAX);
    guess.max(limit.saturating_add(1))
}

/// Read the sample, handle BOM and header, infer (from the head and the `samples` of other
/// positions, dropped once used) and resolve the schema.
pub(crate) fn prepare(
    blocks: &mut Blocks,
    options: &ConvertOptions,
    budget: &MemoryBudget,
    location: &str,
    samples: Vec<super::sample::Sample>,
) -> Result<Prepared> {
    let dialect = &options.dialect;
    let mut head = BytesMut::new();
    let mut eof = false;
    while head.len() < options.infer_bytes {
        match blocks.next()? {
            Some(b) => head.extend_from_slice(&b),
            None => {
                eof = true;
                break;
            }
        }
    }
    let bom = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    if let Some(what) = binary_format(&head[bom..]) {
        return Err(Error::data(
            location,
            None,
            format!("this looks like {what}, not CSV"),
        ));
    }
    let tokenizer = Tokenizer::new(dialect);
    let mut tokens = Tokens::default();
    let need = if dialect.has_header { 2 } else { 1 };
    // Records inference looks at; tokenizing stops once the prefix holds them (the rest of
    // the head is decoded by the pipeline anyway), which keeps this serial step short.
    let want = usize::from(dialect.has_header) + options.infer_records;
    // Finds where the last complete record ends as the prefix grows (each byte scanned once);
    // a record over the limit fails here with its start. Positions count the BOM.
    let mut scan = Chunker::new(dialect, usize::MAX, budget.max_record_bytes, bom as u64, 0);
    let mut scanned = bom;
    let mut limit = head.len().min(bom + INFER_FIRST_BYTES);
    let mut complete;
    loop {
        complete = if eof && limit == head.len() {
            head.len()
        } else {
            scan.push(&head[scanned..limit], &mut Vec::new())
                .map_err(|e| too_long(location, e))?;
            scanned = limit;
            bom + scan.last_record_start()
        };
        tokenizer
            .tokenize(&head[bom..complete], &mut tokens)
            .map_err(|e| {
                // The sample's records include the header; data records are numbered from 1
                // (a header error has no record number).
                let header = u32::from(dialect.has_header);
                Error::Data(Box::new(DataError {
                    location: location.to_string(),
                    position: Some(Position {
                        record: u64::from((e.record + 1).saturating_sub(header)),
                        line: u64::from(e.line) + 1,
                        byte: bom as u64 + u64::from(e.byte),
                    }),
                    column: None,
                    value: None,
                    reason: e.reason.to_string(),
                }))
            })?;
        let records = tokens.records.len();
        if records >= want || (eof && limit == head.len()) {
            break;
        }
        if limit < head.len() {
            limit = next_limit(limit, complete - bom, records, want).min(head.len());
            continue;
        }
        if records >= need {
            break;
        }
        if head.len() > budget.max_record_bytes {
            return Err(too_long(
                location,
                RecordTooLong {
                    line: 0,
                    byte: bom as u64,
                    limit: budget.max_record_bytes,
                },
            ));
        }
        match blocks.next()? {
            Some(b) => {
                head.extend_from_slice(&b);
                limit = head.len();
            }
            None => eof = true,
        }
    }
    if tokens.records.is_empty() {
        return Err(Error::data(
            location,
            None,
            "the input is empty (no header and no records)",
        ));
    }
    let mut warnings = Vec::new();
    let ncols = tokens.field_count(0);
    let (names, first_data) = if dialect.has_header {
        let raw: Vec<Vec<u8>> = (0..ncols).map(|c| tokens.field(c).to_vec()).collect();
        let (names, w) = schema::header_names(&raw);
        warnings.extend(w);
        (names, 1)
    } else {
        (schema::generated_names(ncols), 0)
    };
    let end = tokens.records.len().min(first_data + options.infer_records);
    let mut inferrer = Inferrer::new(ncols, &options.null_values);
    inferrer.add(&tokens, first_data..end);
    let tokenized = complete - bom;
    // The other samples are cut to about the bytes the head needed for its records.
    let sample_bytes = if tokens.records.len() >= want {
        next_limit(0, tokenized, tokens.records.len(), want)
    } else {
        usize::MAX
    };
    super::sample::add_samples(&mut inferrer, samples, options, ncols, sample_bytes);
    let (schema, source) = schema::resolve(
        &names,
        options.schema.as_ref(),
        dialect.has_header,
        &inferrer.finish(),
    )?;
    let mut cardinality = Cardinality::new(ncols, &options.null_values);
    cardinality.add(&tokens, first_data..end);
    // Rows in a row group: its encoded budget at about 4 CSV bytes per encoded byte (the
    // generated shapes compress 3.7x and 5.4x), at the sample's bytes per record.
    let records = tokens.records.len().max(1) as u64;
    let csv_per_group = 4 * budget.row_group_bytes as u64;
    let rows_per_group =
        (csv_per_group * records / (tokenized.max(1) as u64)).min(options.row_group_rows as u64);
    let plain_columns =
        cardinality.plain_columns(&schema, rows_per_group, DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT);
    tracing::debug!(
        ?plain_columns,
        rows_per_group,
        "columns written without a dictionary"
    );
    let (header_end, header_lines) = if !dialect.has_header {
        (0, 0)
    } else if let Some(second) = tokens.records.get(1) {
        (second.start as usize, second.line as u64)
    } else {
        (head.len() - bom, tokens.lines as u64)
    };
    let head = head.freeze();
    Ok(Prepared {
        schema,
        source,
        warnings,
        plain_columns,
        record_bytes: (tokenized / tokens.records.len().max(1)).max(1),
        rest: head.slice(bom + header_end..),
        base_byte: (bom + header_end) as u64,
        base_line: header_lines,
    })
}

/// Position a chunk-relative error in the input.
fn data_error(
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
        reason: e.reason,
    }))
}

/// Counts of a finished pipeline.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub rows: u64,
    pub records: u64,
    pub rejected: u64,
    pub nulled: u64,
    pub utf8_replaced: u64,
    pub row_groups: usize,
    pub bytes_out: u64,
    pub rejects_bytes: u64,
}

/// Where decoded chunks go, in order.
struct Ordered {
    encoder: ParquetEncoder<PartWriter>,
    rejects: Option<RejectWriter>,
    names: Vec<String>,
    location: String,
    outcome: Outcome,
    progress: Arc<Progress>,
}

impl Ordered {
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
                self.outcome.records,
                meta.base_line,
                meta.base_byte,
                e,
            ),
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
                    &r.reason,
                    &r.raw,
                )?;
            }
            self.outcome.rejected += decoded.rejects.len() as u64;
        }
        self.outcome.records += decoded.records;
        self.outcome.nulled += decoded.nulled;
        self.outcome.utf8_replaced += decoded.utf8_replaced;
        if let Some(batch) = decoded.batch {
            self.outcome.rows += batch.num_rows() as u64;
            self.progress
                .rows
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            self.encoder.write(&batch, token)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct ChunkMeta {
    seq: u64,
    base_line: u64,
    base_byte: u64,
}

/// Why a chunk has no batch.
enum ChunkFailure {
    /// Bad input, positioned in the chunk.
    Data(ChunkError),
    /// A bug: a panic on a pool thread would otherwise abort the process.
    Panicked,
}

type ChunkResult = (ChunkMeta, std::result::Result<Decoded, ChunkFailure>);

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
struct Workers {
    pool: Arc<rayon::ThreadPool>,
    ctx: Arc<DecodeContext>,
    /// One chunk encoded (its [`Slot`] dropped), or the encoder failed.
    encoded: std::sync::mpsc::Receiver<Result<()>>,
    to_encoder: std::sync::mpsc::Sender<ChunkResult>,
    in_flight: usize,
    max_in_flight: usize,
}

impl Workers {
    fn submit(&mut self, chunk: Chunk) -> Result<()> {
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
                Ok(decoded) => decoded.map_err(ChunkFailure::Data),
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

    fn drain(&mut self) -> Result<()> {
        while self.in_flight > 0 {
            self.wait_one()?;
        }
        Ok(())
    }
}

/// Releases a chunk's in-flight slot when dropped: the encoder's column lanes hold clones of it
/// until each has encoded its column of the chunk.
struct Slot(std::sync::mpsc::Sender<Result<()>>);

impl Drop for Slot {
    fn drop(&mut self) {
        // A closed channel means the chunking thread has stopped and counts nothing more.
        let _ = self.0.send(Ok(()));
    }
}

/// The encoder thread: takes decoded chunks (in any order) and hands them to the encoder in
/// input order, until the channel closes or one fails. At most `max_in_flight` chunks wait
/// here or in the encoder's lanes (see [`Workers`]).
fn encode_in_order(
    mut ordered: Ordered,
    chunks: std::sync::mpsc::Receiver<ChunkResult>,
    encoded: std::sync::mpsc::Sender<Result<()>>,
) -> Ordered {
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

/// Everything the CPU thread needs.
pub(crate) struct PipelineJob {
    pub options: ConvertOptions,
    pub budget: MemoryBudget,
    pub location: String,
    pub output_location: String,
    pub metadata: Vec<(String, String)>,
    pub parts: mpsc::Sender<Bytes>,
    pub rejects: Option<mpsc::Sender<Bytes>>,
    pub progress: Arc<Progress>,
}

/// Run the whole CPU side; returns the counts once the input ended cleanly and the footer is
/// written.
pub(crate) fn run(job: PipelineJob, mut blocks: Blocks, mut prepared: Prepared) -> Result<Outcome> {
    let PipelineJob {
        options,
        budget,
        location,
        output_location,
        mut metadata,
        parts,
        rejects,
        progress,
    } = job;
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(budget.workers)
            .thread_name(|i| format!("csv2pq-worker-{i}"))
            .build()
            .map_err(|e| Error::Internal(format!("starting the worker pool: {e}")))?,
    );
    let ctx = Arc::new(
        DecodeContext::new(
            &prepared.schema,
            &options.null_values,
            options.on_error,
            Tokenizer::new(&options.dialect),
        )
        .with_invalid_utf8(options.invalid_utf8),
    );
    let encoder = ParquetEncoder::new(
        PartWriter::new(budget.part_bytes, parts),
        prepared.schema.arrow_schema(),
        writer_properties(options.compression, &prepared.plain_columns)?,
        budget.row_group_bytes,
        options.row_group_rows,
        &output_location,
        Arc::clone(&pool),
    )?
    .with_cut_lag(budget.cut_lag_parts);
    let ordered = Ordered {
        encoder,
        rejects: rejects.map(|tx| RejectWriter::new(PartWriter::new(budget.part_bytes, tx))),
        names: ctx.names.clone(),
        location: location.clone(),
        outcome: Outcome::default(),
        progress,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (to_encoder, encoder_rx) = std::sync::mpsc::channel();
    let mut workers = Workers {
        pool,
        ctx,
        encoded: rx,
        to_encoder,
        in_flight: 0,
        max_in_flight: budget.chunks_in_flight,
    };
    let mut chunker = Chunker::new(
        &options.dialect,
        budget.chunk_bytes,
        budget.max_record_bytes,
        prepared.base_byte,
        prepared.base_line,
    );
    let (chunked, ordered) = std::thread::scope(|scope| {
        let encoder = std::thread::Builder::new()
            .name("csv2pq-encoder".into())
            .spawn_scoped(scope, move || encode_in_order(ordered, encoder_rx, tx))
            .map_err(|e| Error::Internal(format!("starting the encoder thread: {e}")));
        let encoder = match encoder {
            Ok(handle) => handle,
            Err(e) => return (Err(e), None),
        };
        let chunked = (|| {
            let mut ready = Vec::new();
            chunker
                .push(&std::mem::take(&mut prepared.rest), &mut ready)
                .map_err(|e| too_long(&location, e))?;
            loop {
                for chunk in ready.drain(..) {
                    workers.submit(chunk)?;
                }
                match blocks.next()? {
                    Some(block) => chunker
                        .push(&block, &mut ready)
                        .map_err(|e| too_long(&location, e))?,
                    None => break,
                }
            }
            if let Some(last) = chunker.finish() {
                workers.submit(last)?;
            }
            workers.drain()
        })();
        // Closing the channel ends the encoder thread (it also stops on its first error).
        drop(workers);
        (chunked, encoder.join().ok())
    });
    chunked?;
    let Some(Ordered {
        encoder,
        rejects,
        mut outcome,
        ..
    }) = ordered
    else {
        return Err(Error::Internal("the encoder thread panicked".into()));
    };
    outcome.row_groups = encoder.row_groups() + usize::from(encoder.rows_in_group() > 0);
    // A restarted (widened) conversion says so itself.
    if !metadata.iter().any(|(k, _)| k == "csv2parquet.schema") {
        metadata.push((
            "csv2parquet.schema".to_string(),
            prepared.source.as_str().to_string(),
        ));
    }
    metadata.extend([
        ("csv2parquet.rows".to_string(), outcome.rows.to_string()),
        (
            "csv2parquet.rejected".to_string(),
            outcome.rejected.to_string(),
        ),
        ("csv2parquet.nulled".to_string(), outcome.nulled.to_string()),
        (
            "csv2parquet.utf8_replaced".to_string(),
            outcome.utf8_replaced.to_string(),
        ),
    ]);
    let out = encoder.finish(metadata)?;
    let werr = |source| Error::Write {
        location: output_location.clone(),
        source,
    };
    outcome.bytes_out = out.finish().map_err(werr)?;
    if let Some(r) = rejects {
        outcome.rejects_bytes = r.finish().map_err(werr)?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MIB;
    use crate::schema::ColumnType;

    /// Run [`prepare`] on `csv`, handed over in 256 KiB blocks.
    fn prepare_csv(csv: &[u8], options: &ConvertOptions) -> Result<Prepared> {
        let budget = options.validate()?;
        let (tx, rx) = mpsc::channel(csv.len() / (256 * 1024) + 2);
        for block in csv.chunks(256 * 1024) {
            tx.try_send(Ok(Bytes::copy_from_slice(block)))
                .map_err(|_| Error::Internal("test channel full".into()))?;
        }
        drop(tx);
        let mut blocks = Blocks::new(rx, CancellationToken::new());
        prepare(&mut blocks, options, &budget, "test.csv", Vec::new())
    }

    /// `n` records `i,<i as text padded>` after a header.
    fn numbered(n: usize) -> Vec<u8> {
        let mut csv = b"id,name\n".to_vec();
        for i in 0..n {
            csv.extend_from_slice(format!("{i},name-{i:0>40}\n").as_bytes());
        }
        csv
    }

    fn types(p: &Prepared) -> Vec<ColumnType> {
        p.schema.columns.iter().map(|c| c.ty.clone()).collect()
    }

    #[test]
    fn next_limit_aims_past_the_wanted_records_and_always_grows() {
        // 1,000 records in 100,000 bytes: 10,001 records need about 1,000,100 bytes, plus an
        // eighth.
        assert_eq!(next_limit(100_000, 100_000, 1_000, 10_001), 1_125_112);
        assert_eq!(next_limit(1 << 20, 1 << 20, 0, 10), 2 << 20);
        assert_eq!(next_limit(0, 0, 0, 10), 1);
        // Enough records already: still more than `limit`, so a caller loop ends.
        assert_eq!(next_limit(500, 400, 100, 10), 501);
        assert_eq!(
            next_limit(usize::MAX, usize::MAX, 1, usize::MAX),
            usize::MAX
        );
    }

    #[test]
    fn inference_stops_at_its_records_in_a_large_head() {
        // A 3 MB head, 60,000 records; a value that is no integer sits past the 10,000th
        // record and a syntax error further on: neither is inference's business (the pipeline
        // meets them), so the head is not tokenized that far.
        let mut csv = numbered(30_000);
        csv.extend_from_slice(b"x,late text\n");
        csv.extend_from_slice(&numbered(10_000)[8..]);
        csv.extend_from_slice(b"1,\"closed\"then more\n");
        csv.extend_from_slice(&numbered(20_000)[8..]);
        assert!(csv.len() > 2 * MIB);
        let p = prepare_csv(&csv, &ConvertOptions::default()).expect("prepared");
        assert_eq!(types(&p), vec![ColumnType::Int64, ColumnType::Utf8]);
        // The whole head still goes to the pipeline, from the first data record.
        assert_eq!(p.base_byte, 8);
        assert_eq!(p.base_line, 1);
        assert!(p.rest.starts_with(b"0,name-"));
        assert_eq!(p.rest.len(), csv.len() - 8);
    }

    #[test]
    fn a_syntax_error_among_the_inferred_records_fails_with_its_position() {
        let mut csv = numbered(9_000);
        csv.extend_from_slice(b"1,\"closed\"then more\n");
        csv.extend_from_slice(&numbered(40_000)[8..]);
        let e = prepare_csv(&csv, &ConvertOptions::default())
            .err()
            .expect("a syntax error");
        let text = e.to_string();
        assert!(text.contains("after a closing quote"), "{text}");
        assert!(text.contains("line 9002"), "{text}");
    }

    #[test]
    fn a_late_type_change_counts_when_inference_reads_that_far() {
        let mut csv = numbered(30_000);
        csv.extend_from_slice(b"x,late text\n");
        csv.extend_from_slice(&numbered(10_000)[8..]);
        let options = ConvertOptions {
            infer_records: 40_000,
            ..ConvertOptions::default()
        };
        let p = prepare_csv(&csv, &options).expect("prepared");
        assert_eq!(types(&p), vec![ColumnType::Utf8, ColumnType::Utf8]);
    }

    #[test]
    fn a_header_longer_than_the_first_prefix_is_read_whole() {
        let long = "h".repeat(INFER_FIRST_BYTES + 1000);
        let mut csv = format!("{long},b\n").into_bytes();
        csv.extend_from_slice(&numbered(100)[8..]);
        let p = prepare_csv(&csv, &ConvertOptions::default()).expect("prepared");
        assert_eq!(p.schema.columns[0].name, long);
        assert_eq!(types(&p), vec![ColumnType::Int64, ColumnType::Utf8]);
        assert_eq!(p.base_byte, long.len() as u64 + 3);
    }
}
