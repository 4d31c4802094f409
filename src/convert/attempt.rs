//! One pass over the input, from opening the outputs to publishing them: plan the budget, start
//! reading, read the head, run the pipeline, publish. Any error or cancellation aborts every
//! output opened.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::infer::read_head;
use super::order::Counts;
use super::pipeline::{self, PipelineJob};
use super::publish::Outputs;
use super::read::{start_reading, Reading};
use super::report::{source_metadata, ConvertReport, Progress};
use super::sample::read_samples;
use crate::budget::MemoryBudget;
use crate::config::ConvertOptions;
use crate::decode::compression::Codec;
use crate::decode::sniff::UsedDialect;
use crate::error::Result;
use crate::schema::{SchemaSource, SchemaSpec};
use crate::sink::SinkFactory;
use crate::source::{ByteSource, SourceInfo};

/// One attempt's settings.
pub(super) struct Attempt<'a> {
    pub options: &'a ConvertOptions,
    /// Stops the conversion (the outputs are aborted).
    pub cancel: &'a CancellationToken,
    pub progress: &'a Arc<Progress>,
    /// When the conversion (its first attempt) started.
    pub started: Instant,
    /// The fingerprint of the options asked for (recorded as `csv2parquet.options`).
    pub fingerprint: &'a str,
    /// Extra footer metadata (the widenings so far).
    pub footer: Vec<(String, String)>,
    /// Receives the schema the attempt used, once inferred, and which of its columns were
    /// typed by inference (for widening).
    pub schema_used: Arc<OnceLock<(SchemaSpec, Vec<bool>)>>,
    /// The columns typed by inference in the first attempt (a restarted one reads the widened
    /// schema as explicit, but its inferred columns stay lossless).
    pub inferred: Option<Vec<bool>>,
}

/// What the pipeline thread returns besides the counts.
struct HeadSummary {
    schema: SchemaSpec,
    source: SchemaSource,
    warnings: Vec<String>,
    budget: MemoryBudget,
    dialect: UsedDialect,
}

impl Attempt<'_> {
    /// Convert `source` into sinks opened from `outputs`.
    pub(super) async fn run(
        &self,
        source: &dyn ByteSource,
        outputs: &mut dyn SinkFactory,
    ) -> Result<ConvertReport> {
        let budget = self.options.validate()?;
        let mut sinks = Outputs::open(outputs, self.options.on_error).await?;
        let info = match source.head().await {
            Ok(info) => info,
            Err(e) => return Err(sinks.abort(e).await),
        };
        let mut footer = source_metadata(&info, self.fingerprint);
        // Object metadata (S3 headers: ASCII, 2 KB in all) gets the source only; the widenings
        // (column names, values) go to the Parquet footer.
        sinks.set_metadata(&footer);
        footer.extend(self.footer.iter().cloned());
        let cancel = self.cancel.child_token();
        let reading = start_reading(
            source,
            &info,
            self.options,
            &budget,
            Arc::clone(self.progress),
            cancel.clone(),
        )
        .await;
        let reading = match reading {
            Ok(r) => r,
            Err(e) => return Err(sinks.abort(e).await),
        };
        // A temp dir in memory (tmpfs) is no room to spill to unless named (the warning is the
        // encoder's).
        let dir = self.options.spill_dir_or_temp();
        let free = if self.options.spill_dir.is_none() && crate::encode::memory_backed(&dir) {
            Some(0)
        } else {
            crate::encode::free_bytes(&dir)
        };
        let budget = budget
            .for_input(info.size, reading.codec)
            .for_spill_space(free, self.options);
        let codec = reading.codec;
        let result = self
            .pipeline(source, &info, budget, footer, &mut sinks, reading, &cancel)
            .await;
        let (counts, head) = match result {
            Ok(x) => x,
            Err(e) => return Err(sinks.abort(e).await),
        };
        let (bytes_out, rejects) = sinks.publish(counts.rejected, self.cancel).await?;
        Ok(self.report(info, codec, counts, head, bytes_out, rejects))
    }

    /// Read the samples, then run the pipeline (read the head, decode, encode) on a blocking
    /// thread while its parts go to the sinks.
    #[allow(clippy::too_many_arguments)]
    async fn pipeline(
        &self,
        source: &dyn ByteSource,
        info: &SourceInfo,
        budget: MemoryBudget,
        footer: Vec<(String, String)>,
        sinks: &mut Outputs,
        reading: Reading,
        cancel: &CancellationToken,
    ) -> Result<(Counts, HeadSummary)> {
        let Reading {
            codec,
            mut blocks,
            task,
        } = reading;
        let ((parts, rejects), pumps) = sinks.channels(budget.parts_in_flight);
        let job = PipelineJob {
            options: self.options.clone(),
            budget,
            location: info.location.clone(),
            output_location: sinks.data_location().to_string(),
            metadata: footer,
            parts,
            rejects,
            progress: Arc::clone(self.progress),
        };
        // Best effort and bounded (two small ranges); a cancellation leaves them out and the
        // pipeline then stops on it.
        let samples = tokio::select! {
            s = read_samples(source, info, codec, self.options) => s,
            () = cancel.cancelled() => Vec::new(),
        };
        let location = info.location.clone();
        let schema_used = Arc::clone(&self.schema_used);
        let inferred = self.inferred.clone();
        let cpu = tokio::task::spawn_blocking(move || {
            let mut job = job;
            let mut head = read_head(&mut blocks, &job.options, &job.budget, &location, samples)?;
            if let Some(inferred) = inferred {
                head.inferred = inferred;
            }
            let types = head.schema.columns.iter().map(|c| &c.ty);
            let (decoding, decoded) =
                crate::decode::batch::decoded_record_bytes(head.record_bytes, types);
            job.budget = job.budget.for_records(crate::budget::RecordSize {
                text: head.record_bytes,
                decoding,
                decoded,
            });
            let _ = schema_used.set((head.schema.clone(), head.inferred.clone()));
            let summary = HeadSummary {
                schema: head.schema.clone(),
                source: head.source,
                warnings: head.warnings.clone(),
                budget: job.budget,
                dialect: head.dialect.clone(),
            };
            pipeline::run(job, blocks, head).map(|counts| (counts, summary))
        });
        let result = sinks.drive(pumps, cpu, self.cancel).await;
        cancel.cancel();
        task.abort();
        result
    }

    fn report(
        &self,
        info: SourceInfo,
        codec: Codec,
        counts: Counts,
        head: HeadSummary,
        bytes_out: u64,
        rejects: Option<String>,
    ) -> ConvertReport {
        use std::sync::atomic::Ordering::Relaxed;
        let seconds = self.started.elapsed().as_secs_f64();
        let decoded = self.progress.bytes_decoded.load(Relaxed);
        ConvertReport {
            input: info.location,
            output: String::new(),
            rows: counts.rows,
            rejected: counts.rejected,
            nulled: counts.nulled,
            utf8_replaced: counts.utf8_replaced,
            bytes_in: self.progress.bytes_in.load(Relaxed),
            bytes_decompressed: decoded,
            bytes_out,
            row_groups: counts.row_groups,
            schema: head.schema,
            schema_source: head.source,
            dialect: head.dialect,
            input_compression: codec,
            rejects,
            widened: Vec::new(),
            warnings: head.warnings.into_iter().chain(counts.warnings).collect(),
            spill: counts.spill,
            seconds,
            mib_per_s: decoded as f64 / (1024.0 * 1024.0) / seconds.max(1e-9),
            budget: head.budget,
        }
    }
}
