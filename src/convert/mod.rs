//! `convert(source, outputs, options)`: the whole pipeline with one exit.
//!
//! ```text
//! source ──bytes──▶ reader task (decompress, blocks) ──bounded──▶ CPU thread:
//!   head + infer ─▶ chunker ─▶ worker pool (tokenize + parse, in parallel)
//!   ─▶ re-order ─▶ Parquet encoder (columns in parallel) ─▶ parts ──bounded──▶ sink tasks
//! ```
//! The output is completed only after the input ended cleanly (decompressor trailer checked)
//! and the footer is written; any error or cancellation aborts every sink.
//!
//! One file per stage: [`read`](self) (source to blocks), `infer` (the head and the schema),
//! `sample` (inference samples from the middle and the tail), `workers` (parallel decoding),
//! `order` (re-ordering and encoding), `pipeline` (the threads that wire them), `publish` (the
//! sinks' one exit), `attempt` (one pass, start to publish) and `widen` (the restarts of
//! `--on-error widen`); `report` holds what a conversion tells.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::ConvertOptions;
use crate::decode::sniff::UsedDialect;
use crate::error::{Error, Result};
use crate::schema::{SchemaSource, SchemaSpec};
use crate::sink::SinkFactory;
use crate::source::ByteSource;

mod attempt;
mod infer;
mod order;
mod pipeline;
mod publish;
mod read;
mod rejects;
mod report;
mod sample;
mod widen;
mod workers;

pub(crate) use report::source_metadata;
pub use report::{metadata, ConvertReport, Progress, SpillReport, Widening};
pub use widen::MAX_WIDENINGS;

/// Runs conversions with one set of options, cancellation and progress counters.
#[derive(Debug, Clone)]
pub struct Converter {
    options: ConvertOptions,
    cancel: CancellationToken,
    progress: Arc<Progress>,
}

/// Convert `source` into sinks opened from `outputs` with `options` (see [`Converter::run`]).
/// For one sink made up front: `convert(&source, &mut OneShot::new(sink), &options)`.
///
/// [`OneShot`]: crate::sink::OneShot
pub async fn convert(
    source: &dyn ByteSource,
    outputs: &mut dyn SinkFactory,
    options: &ConvertOptions,
) -> Result<ConvertReport> {
    Converter::new(options.clone()).run(source, outputs).await
}

/// What [`infer_schema`] found.
#[derive(Debug, Clone)]
pub struct InferredSchema {
    /// The schema (inferred, or resolved against the explicit one).
    pub schema: SchemaSpec,
    /// Where it came from.
    pub source: SchemaSource,
    /// Header fixes and other notes.
    pub warnings: Vec<String>,
    /// The dialect it was read with (sniffed or set).
    pub dialect: UsedDialect,
}

/// Infer the schema of `source` (as `convert` would) without converting.
pub async fn infer_schema(
    source: &dyn ByteSource,
    options: &ConvertOptions,
) -> Result<InferredSchema> {
    let budget = options.validate()?;
    let info = source.head().await?;
    let cancel = CancellationToken::new();
    let reading = read::start_reading(
        source,
        &info,
        options,
        &budget,
        Arc::default(),
        cancel.clone(),
    )
    .await?;
    let samples = sample::read_samples(source, &info, reading.codec, options).await;
    let opts = options.clone();
    let location = info.location.clone();
    let mut blocks = reading.blocks;
    let result = tokio::task::spawn_blocking(move || {
        infer::read_head(&mut blocks, &opts, &budget, &location, samples)
    })
    .await
    .map_err(|e| Error::Internal(format!("schema task failed: {e}")))?;
    cancel.cancel();
    reading.task.abort();
    let head = result?;
    Ok(InferredSchema {
        schema: head.schema,
        source: head.source,
        warnings: head.warnings,
        dialect: head.dialect,
    })
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

    /// Convert `source` into sinks opened from `outputs`: the data, and with `--on-error
    /// reject` the rejected records. With `--on-error widen` a value that contradicts its
    /// column's type widens the column and the conversion starts again into a new data sink
    /// (see [`MAX_WIDENINGS`]); the source must then be readable more than once (not stdin).
    /// On any error every sink opened is aborted.
    pub async fn run(
        &self,
        source: &dyn ByteSource,
        outputs: &mut dyn SinkFactory,
    ) -> Result<ConvertReport> {
        widen::convert_widening(&self.options, &self.cancel, &self.progress, source, outputs).await
    }
}
