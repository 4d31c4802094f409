//! The CPU side of a conversion, run on one blocking thread that drives a worker pool: chunk
//! at record boundaries, decode chunks in parallel ([`super::workers`]), restore their order
//! and encode Parquet, columns in parallel ([`super::order`]), and hand parts to the sink
//! channels.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::infer::Head;
use super::order::{encode_in_order, Counts, InOrder};
use super::read::{too_long, Blocks};
use super::rejects::RejectWriter;
use super::report::{metadata, Progress, SpillReport};
use super::workers::Workers;
use crate::budget::MemoryBudget;
use crate::config::ConvertOptions;
use crate::decode::chunker::Chunker;
use crate::decode::columns::DecodeContext;
use crate::decode::tokenizer::Tokenizer;
use crate::encode::{writer_properties, EncodingPlan, ParquetEncoder, PartWriter, SpillFactory};
use crate::error::{Error, Result};
use crate::schema::SchemaSource;

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
pub(crate) fn run(job: PipelineJob, mut blocks: Blocks, mut head: Head) -> Result<Counts> {
    let PipelineJob {
        options,
        budget,
        location,
        output_location,
        metadata,
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
            &head.schema,
            &options.null_values,
            options.on_error,
            Tokenizer::new(&head.dialect.dialect),
        )
        .with_invalid_utf8(options.invalid_utf8)
        .with_lossless(head.inferred.clone())
        .with_numbers(options.number_format())
        .with_booleans(options.booleans()),
    );
    let (encoder, counts) =
        build_encoder(&options, &budget, &head, &output_location, parts, &pool)?;
    let in_order = InOrder {
        encoder,
        rejects: rejects.map(|tx| RejectWriter::new(PartWriter::new(budget.part_bytes, tx))),
        names: ctx.names.clone(),
        location: location.clone(),
        counts,
        progress,
    };
    let (encoded_tx, encoded_rx) = std::sync::mpsc::channel();
    let (to_encoder, encoder_rx) = std::sync::mpsc::channel();
    let workers = Workers {
        pool,
        ctx,
        encoded: encoded_rx,
        to_encoder,
        in_flight: 0,
        max_in_flight: budget.chunks_in_flight,
    };
    let chunker = Chunker::new(
        &head.dialect.dialect,
        budget.chunk_bytes,
        budget.max_record_bytes,
        head.base_byte,
        head.base_line,
    );
    let first = std::mem::take(&mut head.rest);
    let stages = Stages {
        workers,
        chunker,
        in_order,
        encoder_rx,
        encoded_tx,
    };
    let in_order = stages.run(&mut blocks, first, &location)?;
    let mut metadata = metadata;
    metadata.push((metadata::DIALECT.to_string(), head.dialect.to_json()));
    finish(in_order, metadata, head.source, &output_location)
}

/// Warnings about the plan, given before anything is encoded: no room to spill in a temp dir
/// in memory, and parts that may be too small for the input.
fn budget_warnings(options: &ConvertOptions, budget: &MemoryBudget) -> Vec<String> {
    let mut warnings = Vec::new();
    let temp = std::env::temp_dir();
    if budget.spill_bytes == 0
        && options.max_spill.is_none()
        && options.spill_dir.is_none()
        && crate::encode::memory_backed(&temp)
    {
        warnings.push(format!(
            "the temp dir {} is in memory (tmpfs): nothing is spilled there, so row groups are \
             cut by the memory limit; --spill-dir DIR on a disk gives them their full size",
            temp.display()
        ));
    }
    warnings.extend(budget.part_warning());
    warnings
}

/// The encoder, with the pages of open row groups spilled to the spill directory when the
/// budget allows spilling and a file can be made there (else in memory, with a warning), and
/// page limits that fit every column writer in the budget. The counts start with the spill
/// directory and the warning.
fn build_encoder(
    options: &ConvertOptions,
    budget: &MemoryBudget,
    head: &Head,
    output_location: &str,
    parts: mpsc::Sender<Bytes>,
    pool: &Arc<rayon::ThreadPool>,
) -> Result<(ParquetEncoder<PartWriter>, Counts)> {
    let schema = head.schema.arrow_schema();
    let schema_columns = schema.fields().len();
    let mut counts = Counts::default();
    let mut spill = None;
    let spill_bytes = budget.spill_bytes;
    for warning in budget_warnings(options, budget) {
        tracing::warn!("{warning}");
        counts.warnings.push(warning);
    }
    if spill_bytes > 0 {
        let dir = options.spill_dir_or_temp();
        match SpillFactory::new(&dir, spill_bytes as u64) {
            Ok(factory) => {
                let factory = factory.with_held_bytes(budget.spill_held_bytes as u64);
                spill = Some((dir, Arc::new(factory)));
            }
            Err(e) => {
                let warning = format!(
                    "no spill file in {}: {e}; row groups are held in memory ({} MiB at most)",
                    dir.display(),
                    budget.row_group_bytes / crate::config::MIB
                );
                tracing::warn!("{warning}");
                counts.warnings.push(warning);
            }
        }
    }
    let part_writer = PartWriter::new(budget.part_bytes, parts);
    let mut encoder = match budget.columnwise(schema.fields().len(), spill.is_some()) {
        Some(hold) => ParquetEncoder::columnwise(
            part_writer,
            schema,
            writer_properties(options.compression, &EncodingPlan::default())?,
            &head.encodings,
            hold,
            options.row_group_rows,
            output_location,
            Arc::clone(pool),
        )?,
        None => {
            let (pages, warning) = budget.column_pages(schema.fields().len(), spill.is_some());
            if let Some(warning) = warning {
                tracing::warn!("{warning}");
                counts.warnings.push(warning);
            }
            let properties = writer_properties(options.compression, &head.encodings)?;
            // Without spilling, the row-group cut by heap bytes already bounds pages and
            // dictionaries.
            let (properties, heap) = if spill.is_some() {
                (pages.apply(properties), budget.spilling_writer_bytes)
            } else {
                (properties, budget.row_group_bytes)
            };
            ParquetEncoder::new(
                part_writer,
                schema,
                properties,
                heap,
                options.row_group_rows,
                output_location,
                Arc::clone(pool),
            )?
            .with_cut_lag(budget.cut_lag_parts)
        }
    };
    if let Some((dir, factory)) = spill {
        encoder = if encoder.is_columnwise() {
            let group = budget.columnwise_group(schema_columns, spill_bytes, options);
            encoder
                .with_spill(factory, group.array_bytes)?
                .with_spill_room(group.spill_bytes)
        } else {
            encoder.with_spill(factory, budget.spilled_row_group_bytes)?
        };
        counts.spill = Some(SpillReport {
            dir: dir.display().to_string(),
            peak_bytes: 0,
            total_bytes: 0,
            held_peak_bytes: 0,
        });
    }
    Ok((encoder, counts))
}

/// The chunking loop on this thread, the decode workers on the pool, and the encoder thread.
struct Stages {
    workers: Workers,
    chunker: Chunker,
    in_order: InOrder,
    encoder_rx: std::sync::mpsc::Receiver<super::workers::ChunkResult>,
    encoded_tx: std::sync::mpsc::Sender<Result<()>>,
}

impl Stages {
    /// Chunk `first`, then every block, submitting the chunks to the workers, until the input
    /// ends; returns the encoder's side once every chunk is encoded (or the first error).
    fn run(self, blocks: &mut Blocks, first: Bytes, location: &str) -> Result<InOrder> {
        let Stages {
            mut workers,
            mut chunker,
            in_order,
            encoder_rx,
            encoded_tx,
        } = self;
        let (chunked, in_order) = std::thread::scope(|scope| {
            let encoder = std::thread::Builder::new()
                .name("csv2pq-encoder".into())
                .spawn_scoped(scope, move || {
                    encode_in_order(in_order, encoder_rx, encoded_tx)
                })
                .map_err(|e| Error::Internal(format!("starting the encoder thread: {e}")));
            let encoder = match encoder {
                Ok(handle) => handle,
                Err(e) => return (Err(e), None),
            };
            let chunked = (|| {
                let mut ready = Vec::new();
                chunker
                    .push(&first, &mut ready)
                    .map_err(|e| too_long(location, e))?;
                drop(first);
                loop {
                    for chunk in ready.drain(..) {
                        workers.submit(chunk)?;
                    }
                    match blocks.next()? {
                        Some(block) => chunker
                            .push(&block, &mut ready)
                            .map_err(|e| too_long(location, e))?,
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
        in_order.ok_or_else(|| Error::Internal("the encoder thread panicked".into()))
    }
}

/// Write the footer (with the counts in its metadata) and flush the last parts.
fn finish(
    in_order: InOrder,
    mut footer: Vec<(String, String)>,
    source: SchemaSource,
    output_location: &str,
) -> Result<Counts> {
    let InOrder {
        encoder,
        rejects,
        mut counts,
        ..
    } = in_order;
    counts.row_groups = encoder.row_groups() + usize::from(encoder.rows_in_group() > 0);
    let spilled = encoder.spill_stats();
    // A restarted (widened) conversion says so itself.
    if !footer.iter().any(|(k, _)| k == metadata::SCHEMA) {
        footer.push((metadata::SCHEMA.to_string(), source.as_str().to_string()));
    }
    footer.extend([
        (metadata::ROWS.to_string(), counts.rows.to_string()),
        (metadata::REJECTED.to_string(), counts.rejected.to_string()),
        (metadata::NULLED.to_string(), counts.nulled.to_string()),
        (
            metadata::UTF8_REPLACED.to_string(),
            counts.utf8_replaced.to_string(),
        ),
    ]);
    let out = encoder.finish(footer)?;
    if let (Some(report), Some(stats)) = (counts.spill.as_mut(), spilled) {
        report.peak_bytes = stats.peak_bytes();
        report.total_bytes = stats.total_bytes();
        report.held_peak_bytes = stats.held_peak_bytes();
    }
    let werr = |source| Error::Write {
        location: output_location.to_string(),
        source,
    };
    counts.bytes_out = out.finish().map_err(werr)?;
    if let Some(r) = rejects {
        counts.rejects_bytes = r.finish().map_err(werr)?;
    }
    Ok(counts)
}
