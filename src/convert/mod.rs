//! `convert(source, sink, options)`: the whole pipeline with one exit.
//!
//! ```text
//! source ──bytes──▶ reader task (decompress, blocks) ──bounded──▶ CPU thread:
//!   sample + infer ─▶ chunker ─▶ worker pool (tokenize + parse, in parallel)
//!   ─▶ re-order ─▶ Parquet encoder (columns in parallel) ─▶ parts ──bounded──▶ sink task
//! ```
//! The output is completed only after the input ended cleanly (decompressor trailer checked)
//! and the footer is written; any error or cancellation aborts the sink.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{ConvertOptions, MemoryBudget};
use crate::decode::compression::{self, Codec};
use crate::error::{Error, Result};
use crate::schema::{SchemaSource, SchemaSpec};
use crate::sink::ByteSink;
use crate::source::{ByteSource, SourceInfo};

mod pipeline;
mod read;
mod rejects;
mod sample;

/// Live counters, readable while a conversion runs (progress bars).
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read from the source (compressed).
    pub bytes_in: AtomicU64,
    /// Bytes after decompression.
    pub bytes_decoded: AtomicU64,
    /// Rows decoded and handed to the encoder.
    pub rows: AtomicU64,
}

impl Progress {
    /// Zero the counters (a restarted conversion).
    pub fn reset(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.bytes_in.store(0, Relaxed);
        self.bytes_decoded.store(0, Relaxed);
        self.rows.store(0, Relaxed);
    }
}

/// What a conversion did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConvertReport {
    /// The input.
    pub input: String,
    /// The output.
    pub output: String,
    /// Rows written.
    pub rows: u64,
    /// Records rejected (`--on-error reject`).
    pub rejected: u64,
    /// Values stored as null because they did not parse (`--on-error null`).
    pub nulled: u64,
    /// String values whose invalid UTF-8 was replaced with U+FFFD (`--invalid-utf8 replace`).
    pub utf8_replaced: u64,
    /// Bytes read from the source.
    pub bytes_in: u64,
    /// Bytes after decompression.
    pub bytes_decompressed: u64,
    /// Parquet bytes written.
    pub bytes_out: u64,
    /// Row groups written.
    pub row_groups: usize,
    /// The schema written.
    pub schema: SchemaSpec,
    /// Whether it was inferred or explicit.
    pub schema_source: SchemaSource,
    /// Input decompression.
    pub input_compression: Codec,
    /// Where rejected records went, if any were.
    pub rejects: Option<String>,
    /// Header fixes and similar notes.
    pub warnings: Vec<String>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Input MiB (decompressed) per second.
    pub mib_per_s: f64,
    /// The memory budget used.
    pub budget: MemoryBudget,
    /// Columns widened by `--on-error widen`, in order (each one restarted the conversion).
    pub widened: Vec<Widening>,
}

/// The most columns `--on-error widen` widens (each widening reads the input again).
pub const MAX_WIDENINGS: usize = 8;

/// One widening done by `--on-error widen`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Widening {
    /// Column name.
    pub column: String,
    /// Its type before.
    pub from: String,
    /// Its type after.
    pub to: String,
    /// Line of the value that did not fit.
    pub line: u64,
    /// The value, as quoted in the error.
    pub value: String,
    #[serde(skip)]
    to_type: crate::schema::ColumnType,
}

/// Per-attempt inputs of `run_inner`.
struct Attempt {
    started: Instant,
    /// Extra output metadata (the widenings so far).
    metadata: Vec<(String, String)>,
    /// Receives the schema the attempt used (for widening).
    schema_used: Option<Arc<std::sync::Mutex<Option<SchemaSpec>>>>,
}

fn type_name(t: &crate::schema::ColumnType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| {
            let name = v.get("type")?.as_str()?.to_string();
            let mut rest = v.as_object()?.clone();
            rest.remove("type");
            Some(if rest.is_empty() {
                name
            } else {
                format!("{name} {}", serde_json::Value::Object(rest))
            })
        })
        .unwrap_or_else(|| format!("{t:?}"))
}

/// The schema to retry with and what changes, if `err` is a value a wider type would hold.
fn widening_for(err: &Error, schema: SchemaSpec) -> Option<(SchemaSpec, Widening)> {
    let data = err.as_data()?;
    // Only parse failures: not ragged rows, not nulls in non-nullable columns.
    if !data.reason.starts_with("cannot parse as") {
        return None;
    }
    let (index, name) = data.column.as_ref()?;
    let value = data.value.as_ref()?;
    let column = schema.columns.get(index.checked_sub(1)?)?;
    let to = if value.ends_with('…') {
        // Truncated in the message: only text is sure to hold it.
        (column.ty != crate::schema::ColumnType::Utf8).then_some(crate::schema::ColumnType::Utf8)
    } else {
        crate::schema::widen(&column.ty, value.as_bytes())
    }?;
    let widening = Widening {
        column: name.clone(),
        from: type_name(&column.ty),
        to: type_name(&to),
        line: data.position.map_or(0, |p| p.line),
        value: value.clone(),
        to_type: to,
    };
    Some((schema, widening))
}

/// Runs conversions with one set of options, cancellation and progress counters.
#[derive(Debug, Clone)]
pub struct Converter {
    options: ConvertOptions,
    cancel: CancellationToken,
    progress: Arc<Progress>,
}

/// Convert `source` into `sink` with `options`.
pub async fn convert(
    source: &dyn ByteSource,
    sink: Box<dyn ByteSink>,
    options: &ConvertOptions,
) -> Result<ConvertReport> {
    Converter::new(options.clone())
        .run(source, sink, None)
        .await
}

/// Infer the schema of `source` (as `convert` would) without converting.
pub async fn infer_schema(
    source: &dyn ByteSource,
    options: &ConvertOptions,
) -> Result<(SchemaSpec, SchemaSource, Vec<String>)> {
    let budget = options.validate()?;
    let info = source.head().await?;
    let cancel = CancellationToken::new();
    let (codec, mut blocks, reader) = start_reading(
        source,
        &info,
        options,
        &budget,
        Arc::default(),
        cancel.clone(),
    )
    .await?;
    let samples = sample::read_samples(source, &info, codec, options).await;
    let opts = options.clone();
    let location = info.location.clone();
    let result = tokio::task::spawn_blocking(move || {
        pipeline::prepare(&mut blocks, &opts, &budget, &location, samples)
    })
    .await
    .map_err(|e| Error::Internal(format!("schema task failed: {e}")))?;
    cancel.cancel();
    reader.abort();
    let p = result?;
    Ok((p.schema, p.source, p.warnings))
}

async fn start_reading(
    source: &dyn ByteSource,
    info: &SourceInfo,
    options: &ConvertOptions,
    budget: &MemoryBudget,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) -> Result<(Codec, pipeline::Blocks, tokio::task::JoinHandle<()>)> {
    let stream = source.open(0).await?;
    let (prefix, stream) = read::peek(stream, &info.location).await?;
    let codec = compression::choose(
        options.input_compression,
        &prefix,
        &info.location,
        info.content_encoding.as_deref(),
        &info.location,
    )?;
    let capacity = (budget.read_ahead_bytes / budget.block_bytes).max(1);
    let (tx, rx) = mpsc::channel(capacity);
    let reader = tokio::spawn(read::read_blocks(
        stream,
        codec,
        options.encoding,
        info.location.clone(),
        budget.read_block_bytes(options.encoding),
        tx,
        progress,
        cancel.clone(),
    ));
    Ok((codec, pipeline::Blocks::new(rx, cancel), reader))
}

impl Converter {
    /// A converter for `options`.
    pub fn new(options: ConvertOptions) -> Self {
        Converter {
            options,
            cancel: CancellationToken::new(),
            progress: Arc::default(),
        }
    }

    /// Use `cancel` to stop the conversion (the sink is aborted).
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// Live counters.
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// Convert `source` into `sink`; rejected records go to `rejects` (required for
    /// `--on-error reject`). On any error both sinks are aborted.
    ///
    /// `--on-error widen` needs a new sink for each attempt: use [`Converter::run_restartable`].
    pub async fn run(
        &self,
        source: &dyn ByteSource,
        sink: Box<dyn ByteSink>,
        rejects: Option<Box<dyn ByteSink>>,
    ) -> Result<ConvertReport> {
        let attempt = Attempt {
            started: Instant::now(),
            metadata: Vec::new(),
            schema_used: None,
        };
        self.run_inner(source, sink, rejects, attempt).await
    }

    /// Convert `source` into a sink made by `make_sink`. With `--on-error widen`, a value that
    /// contradicts its column's type widens that column ([`crate::schema::widen`]) and the
    /// conversion starts again from the beginning of the input into a new sink (the previous one
    /// is aborted first), at most [`MAX_WIDENINGS`] times; the report and the Parquet metadata
    /// (`csv2parquet.widened`) list what was widened. With any other policy this is `run` with
    /// one sink. The source must be readable more than once (not stdin).
    pub async fn run_restartable<F, Fut>(
        &self,
        source: &dyn ByteSource,
        mut make_sink: F,
    ) -> Result<ConvertReport>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Box<dyn ByteSink>>>,
    {
        let started = Instant::now();
        let mut options = self.options.clone();
        let mut widened: Vec<Widening> = Vec::new();
        loop {
            let schema_used = Arc::new(std::sync::Mutex::new(None));
            let metadata = if widened.is_empty() {
                Vec::new()
            } else {
                vec![
                    (
                        "csv2parquet.widened".to_string(),
                        serde_json::to_string(&widened).unwrap_or_default(),
                    ),
                    ("csv2parquet.schema".to_string(), "widened".to_string()),
                ]
            };
            let attempt = Attempt {
                started,
                metadata,
                schema_used: Some(Arc::clone(&schema_used)),
            };
            let converter = Converter {
                options: options.clone(),
                cancel: self.cancel.clone(),
                progress: Arc::clone(&self.progress),
            };
            self.progress.reset();
            let sink = make_sink().await?;
            let err = match converter.run_inner(source, sink, None, attempt).await {
                Ok(mut report) => {
                    if !widened.is_empty() {
                        report.schema_source = SchemaSource::Widened;
                    }
                    report.widened = widened;
                    return Ok(report);
                }
                Err(e) => e,
            };
            if options.on_error != crate::config::OnError::Widen {
                return Err(err);
            }
            let used = schema_used.lock().ok().and_then(|mut s| s.take());
            let Some((mut schema, widening)) = used.and_then(|s| widening_for(&err, s)) else {
                return Err(err);
            };
            if widened.len() >= MAX_WIDENINGS {
                return Err(err);
            }
            tracing::info!(
                column = %widening.column, from = %widening.from, to = %widening.to,
                line = widening.line, "widening a column and converting again"
            );
            if let Some(col) = schema
                .columns
                .iter_mut()
                .find(|c| c.name == widening.column)
            {
                col.ty = widening.to_type.clone();
            }
            widened.push(widening);
            options.schema = Some(schema);
        }
    }

    async fn run_inner(
        &self,
        source: &dyn ByteSource,
        mut sink: Box<dyn ByteSink>,
        mut rejects: Option<Box<dyn ByteSink>>,
        attempt: Attempt,
    ) -> Result<ConvertReport> {
        let Attempt {
            started,
            metadata: extra_metadata,
            schema_used,
        } = attempt;
        let has_rejects = rejects.is_some();
        let prepared = async {
            let budget = self.options.validate()?;
            if self.options.on_error == crate::config::OnError::Widen && schema_used.is_none() {
                return Err(Error::config(
                    "--on-error",
                    "widen restarts the conversion: use Converter::run_restartable",
                ));
            }
            if self.options.on_error == crate::config::OnError::Reject && !has_rejects {
                return Err(Error::config(
                    "--rejects",
                    "--on-error reject needs a rejects output",
                ));
            }
            let info = source.head().await?;
            Ok((budget, info))
        }
        .await;
        let (budget, info) = match prepared {
            Ok(x) => x,
            Err(e) => return Err(abort_all(e, sink, rejects).await),
        };
        let mut metadata = output_metadata(&info);
        // Object metadata (S3 headers: ASCII, 2 KB in all) gets the source only; the widenings
        // (column names, values) go to the Parquet footer.
        sink.set_metadata(&metadata);
        metadata.extend(extra_metadata);
        let cancel = self.cancel.child_token();
        let (codec, mut blocks, reader) = match start_reading(
            source,
            &info,
            &self.options,
            &budget,
            Arc::clone(&self.progress),
            cancel.clone(),
        )
        .await
        {
            Ok(x) => x,
            Err(e) => return Err(abort_all(e, sink, rejects).await),
        };
        let mut budget = budget;
        if self.options.part_bytes.is_none() {
            budget.part_bytes = plan_part_bytes(info.size, codec, &budget);
        }
        let (part_tx, mut part_rx) = mpsc::channel::<Bytes>(budget.parts_in_flight);
        let (rej_tx, mut rej_rx) = match rejects {
            Some(_) => {
                let (t, r) = mpsc::channel::<Bytes>(budget.parts_in_flight);
                (Some(t), Some(r))
            }
            None => (None, None),
        };
        let job = pipeline::PipelineJob {
            options: self.options.clone(),
            budget,
            location: info.location.clone(),
            output_location: sink.location().to_string(),
            metadata,
            parts: part_tx,
            rejects: rej_tx,
            progress: Arc::clone(&self.progress),
        };
        // Best effort and bounded (two small ranges); a cancellation leaves them out and the
        // pipeline then stops on it.
        let samples = tokio::select! {
            s = sample::read_samples(source, &info, codec, &self.options) => s,
            () = cancel.cancelled() => Vec::new(),
        };
        let opts = self.options.clone();
        let location = info.location.clone();
        let cpu = tokio::task::spawn_blocking(move || {
            let prepared = pipeline::prepare(&mut blocks, &opts, &budget, &location, samples)?;
            let mut job = job;
            if opts.chunk_bytes.is_none() {
                job.budget = job.budget.fit_chunks(prepared.record_bytes);
            }
            if let Some(cell) = &schema_used {
                if let Ok(mut used) = cell.lock() {
                    *used = Some(prepared.schema.clone());
                }
            }
            let summary = (
                prepared.schema.clone(),
                prepared.source,
                prepared.warnings.clone(),
                job.budget,
            );
            pipeline::run(job, blocks, prepared).map(|o| (o, summary))
        });
        let sink_loop = async {
            while let Some(part) = part_rx.recv().await {
                sink.put_part(part).await?;
            }
            Ok::<(), Error>(())
        };
        let rejects_loop = async {
            if let (Some(rx), Some(r)) = (rej_rx.as_mut(), rejects.as_mut()) {
                while let Some(part) = rx.recv().await {
                    r.put_part(part).await?;
                }
            }
            Ok::<(), Error>(())
        };
        let cancelled = self.cancel.clone();
        let (sink_result, rejects_result, cpu_result) = tokio::select! {
            r = async { tokio::join!(sink_loop, rejects_loop, cpu) } => r,
            () = cancelled.cancelled() => {
                cancel.cancel();
                reader.abort();
                return Err(abort_all(Error::Cancelled("interrupted".into()), sink, rejects).await);
            }
        };
        cancel.cancel();
        reader.abort();
        let cpu_result =
            cpu_result.map_err(|e| Error::Internal(format!("pipeline thread failed: {e}")));
        // The sink's own error explains a pipeline that stopped because the sink went away.
        let outcome = match (sink_result, rejects_result, cpu_result) {
            (Err(e), _, _) | (_, Err(e), _) => Err(e),
            (_, _, Err(e)) | (_, _, Ok(Err(e))) => Err(e),
            (Ok(()), Ok(()), Ok(Ok(o))) => Ok(o),
        };
        let (outcome, (schema, schema_source, warnings, budget)) = match outcome {
            Ok(o) => o,
            Err(e) => return Err(abort_all(e, sink, rejects).await),
        };
        let rejects_location = rejects.as_ref().map(|r| r.location().to_string());
        // The rejects first: if they cannot be published, the output is not either.
        if let Some(r) = rejects.as_mut() {
            let done = if outcome.rejected > 0 {
                r.complete().await.map(|_| ())
            } else {
                r.abort().await
            };
            if let Err(e) = done {
                return Err(abort_all(e, sink, None).await);
            }
        }
        // Completing can take long (waiting for the last parts): it stays cancellable, and a
        // cancelled or failed completion is followed by an abort.
        let completed = tokio::select! {
            r = sink.complete() => r,
            () = self.cancel.cancelled() => Err(Error::Cancelled("interrupted while completing the output".into())),
        };
        let bytes_out = match completed {
            Ok(n) => n,
            Err(e) => return Err(abort_all(e, sink, None).await),
        };
        let seconds = started.elapsed().as_secs_f64();
        let decoded = self
            .progress
            .bytes_decoded
            .load(std::sync::atomic::Ordering::Relaxed);
        Ok(ConvertReport {
            input: info.location.clone(),
            output: String::new(),
            rows: outcome.rows,
            rejected: outcome.rejected,
            nulled: outcome.nulled,
            utf8_replaced: outcome.utf8_replaced,
            bytes_in: self
                .progress
                .bytes_in
                .load(std::sync::atomic::Ordering::Relaxed),
            bytes_decompressed: decoded,
            bytes_out,
            row_groups: outcome.row_groups,
            schema,
            schema_source,
            input_compression: codec,
            rejects: rejects_location.filter(|_| outcome.rejected > 0),
            widened: Vec::new(),
            warnings,
            seconds,
            mib_per_s: decoded as f64 / (1024.0 * 1024.0) / seconds.max(1e-9),
            budget,
        })
    }
}

/// Abort both sinks; the original error wins, and a failed abort is attached to it (something
/// may be left behind, e.g. an open multipart upload).
async fn abort_all(
    mut err: Error,
    mut sink: Box<dyn ByteSink>,
    rejects: Option<Box<dyn ByteSink>>,
) -> Error {
    if let Err(e) = sink.abort().await {
        tracing::warn!(error = %err, cleanup = %e, "cleanup after a failed conversion also failed");
        err = err.with_cleanup_failure(e);
    }
    if let Some(mut r) = rejects {
        if let Err(e) = r.abort().await {
            tracing::warn!(error = %err, cleanup = %e, "cleanup after a failed conversion also failed");
            err = err.with_cleanup_failure(e);
        }
    }
    err
}

/// Multipart uploads allow 10,000 parts: plan the part size from the input size (assuming the
/// output is no larger than the decompressed input, estimated at 10x a compressed one) with
/// headroom, never below the default and never above an eighth of the memory limit. Past that
/// size the sink fails at part 10,001 with an error that says to raise the memory limit.
fn plan_part_bytes(input_size: Option<u64>, codec: Codec, budget: &MemoryBudget) -> usize {
    const MIB: u64 = 1024 * 1024;
    let Some(size) = input_size else {
        return budget.part_bytes;
    };
    let estimate = if codec == Codec::None {
        size
    } else {
        size.saturating_mul(10)
    };
    let needed = estimate.div_ceil(9_000).div_ceil(MIB) * MIB;
    let cap = (budget.limit / 8).max(budget.part_bytes) as u64;
    needed.clamp(budget.part_bytes as u64, cap) as usize
}

/// Key-value metadata recorded in the Parquet footer and on the output object.
fn output_metadata(info: &SourceInfo) -> Vec<(String, String)> {
    let mut m = vec![
        (
            "csv2parquet.version".to_string(),
            format!("csv2parquet {}", env!("CARGO_PKG_VERSION")),
        ),
        ("csv2parquet.source".to_string(), info.location.clone()),
    ];
    if let Some(size) = info.size {
        m.push(("csv2parquet.source_size".to_string(), size.to_string()));
    }
    if let Some(etag) = &info.etag {
        m.push(("csv2parquet.source_etag".to_string(), etag.clone()));
    }
    if let Some(v) = &info.version_id {
        m.push(("csv2parquet.source_version".to_string(), v.clone()));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_is_planned_from_the_input() {
        let b = ConvertOptions::default().validate().unwrap();
        let gib = 1u64 << 30;
        assert_eq!(plan_part_bytes(None, Codec::None, &b), 8 << 20);
        assert_eq!(plan_part_bytes(Some(50 * gib), Codec::None, &b), 8 << 20);
        // 200 GiB needs 23 MiB parts to stay under 10,000.
        let p = plan_part_bytes(Some(200 * gib), Codec::None, &b) as u64;
        assert!(p * 10_000 >= 200 * gib && p <= 32 << 20, "{p}");
        assert_eq!(
            plan_part_bytes(Some(5 * 1024 * gib), Codec::Gzip, &b),
            32 << 20
        );
    }
}
