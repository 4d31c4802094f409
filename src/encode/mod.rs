//! Parquet encoding: writer properties, row groups cut by bytes, columns encoded in parallel.
//!
//! Each decoded batch is queued to one lane per column (a column writer, ours or the crate's,
//! with a FIFO of jobs, drained on the worker pool), so columns are encoded in parallel without
//! waiting for each other batch by batch. A row group is cut when the lanes' buffered size
//! reaches the row-group budget (or the row cap); the lanes lag behind by at most the batches
//! in flight, so memory holds one row group of encoded pages plus those batches' pages.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, ArrowWriterOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::{GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;

use crate::config::Compression;
use crate::error::{Error, Result};

mod columnwise;
mod dictchunk;
mod dictionary;
mod encoded;
mod encoding;
mod fallback;
mod footer;
mod lanes;
mod parts;
mod segment;
mod spill;

pub use columnwise::COLUMN_WRITER_HEAP;
pub use dictionary::Cardinality;
pub use encoding::{ColumnEncoding, EncodingPlan};
pub(crate) use encoding::{TRIAL_BYTES, TRIAL_RECORDS};

pub use lanes::Token;
pub use parts::PartWriter;
pub use spill::{free_bytes, memory_backed, SpillFactory, SpillStats};

use columnwise::Columnwise;
use encoded::Encoded;
use footer::Output;
use lanes::{Event, Job, Lane, Writer};

/// Writer properties for a codec: statistics and page index on, each column's dictionary and
/// encoding as `plan` says (see [`EncodingPlan`]).
pub fn writer_properties(
    compression: Compression,
    plan: &EncodingPlan,
) -> Result<WriterProperties> {
    let builder = WriterProperties::builder()
        .set_compression(parquet_codec(compression)?)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(true)
        .set_created_by(format!("csv2parquet version {}", env!("CARGO_PKG_VERSION")));
    Ok(plan.apply(builder).build())
}

/// A writer for `schema` with `properties` whose own output is discarded, and the factory of
/// its column writers.
fn template(
    schema: &SchemaRef,
    properties: WriterProperties,
) -> parquet::errors::Result<(
    SerializedFileWriter<std::io::Sink>,
    ArrowRowGroupWriterFactory,
)> {
    let options = ArrowWriterOptions::new().with_properties(properties);
    ArrowWriter::try_new_with_options(std::io::sink(), Arc::clone(schema), options)?
        .into_serialized_writer()
}

/// The codec of dictionary columns and of text columns written without one, where it differs
/// from the file's (the default zstd level: see [`Compression::Zstd`]).
pub fn strong_codec(compression: Compression) -> Option<parquet::basic::Compression> {
    match compression {
        Compression::Zstd(0) => ZstdLevel::try_new(crate::config::STRONG_ZSTD_LEVEL)
            .ok()
            .map(parquet::basic::Compression::ZSTD),
        _ => None,
    }
}

/// The Parquet codec of a `--compression` choice.
pub fn parquet_codec(compression: Compression) -> Result<parquet::basic::Compression> {
    Ok(match compression {
        Compression::Zstd(level) => parquet::basic::Compression::ZSTD(
            ZstdLevel::try_new(if level == 0 {
                crate::config::AUTO_ZSTD_LEVEL
            } else {
                level
            })
            .map_err(|e| Error::config("--compression-level", e.to_string()))?,
        ),
        Compression::Snappy => parquet::basic::Compression::SNAPPY,
        Compression::Lz4 => parquet::basic::Compression::LZ4_RAW,
        Compression::Gzip(level) => parquet::basic::Compression::GZIP(
            GzipLevel::try_new(level)
                .map_err(|e| Error::config("--compression-level", e.to_string()))?,
        ),
        Compression::None => parquet::basic::Compression::UNCOMPRESSED,
    })
}

/// How many parts behind the newest the row-group size is judged by default (see
/// [`ParquetEncoder::with_cut_lag`]).
const CUT_LAG_PARTS: u64 = 4;

/// Streams batches into a Parquet file, one row group at a time.
///
/// Each column has a lane (see the `lanes` module): a batch's arrays are queued to the lanes
/// and encoded there, in order, while the caller goes on. A row group is cut when the rows
/// reach the cap or the lanes' buffered bytes reach the row-group budget; the lanes close
/// their writers in parallel and the encoder appends the finished row groups to the file in
/// order, on the caller's thread, whenever it is called.
pub struct ParquetEncoder<W: Write + Send> {
    /// The file's schema and properties, for the column writers (its own output is discarded).
    writer: SerializedFileWriter<std::io::Sink>,
    /// Where the row groups and the footer go.
    out: Output<W>,
    factory: ArrowRowGroupWriterFactory,
    lanes: Vec<Arc<Lane>>,
    events: Receiver<Event>,
    /// Closed column chunks of the row groups not yet written, by row group.
    closed: BTreeMap<usize, Vec<Option<Box<Encoded>>>>,
    rows_in_group: usize,
    /// Row groups cut so far (closed or closing).
    row_groups: usize,
    /// Row groups appended to the file.
    written: usize,
    /// See [`ParquetEncoder::with_cut_lag`].
    cut_lag: u64,
    /// Parts (batches, or pieces of one split by the row cap) queued so far.
    parts: u64,
    /// The first part of the open row group.
    group_start: u64,
    /// The lanes' heap bytes that cut a row group.
    row_group_bytes: usize,
    row_group_rows: usize,
    /// The encoded bytes that cut a row group, when its pages are spilled.
    spilled_row_group_bytes: Option<usize>,
    spill: Option<Arc<SpillFactory>>,
    schema: SchemaRef,
    location: String,
    pool: Arc<rayon::ThreadPool>,
    /// Set for a schema encoded a column at a time (then there are no lanes).
    columnwise: Option<Columnwise>,
    /// Columns whose dictionary fell back to plain in a row group (see the `fallback` module).
    fell_back: Vec<bool>,
    /// A column fell back since the column writers' properties were last set.
    refit: bool,
    /// Columns whose dictionary chunk of ours handed a row group back to the crate's writer:
    /// their later row groups go to the crate's writer from the start.
    handed_back: Vec<bool>,
}

impl<W: Write + Send> ParquetEncoder<W> {
    /// Start a file with `schema` (flat: one leaf column per field) on `out`.
    pub fn new(
        out: W,
        schema: SchemaRef,
        properties: WriterProperties,
        row_group_bytes: usize,
        row_group_rows: usize,
        location: &str,
        pool: Arc<rayon::ThreadPool>,
    ) -> Result<Self> {
        let sizes = (row_group_bytes, row_group_rows);
        Self::start(out, schema, properties, sizes, location, pool, None)
    }

    /// Start a file with `schema` on `out` whose row groups are held as Arrow arrays (up to
    /// `hold_bytes` on the heap) and encoded a column at a time when they close, a writer per
    /// worker at once (see the `columnwise` module): for schemas whose column writers would not
    /// all fit the budget. `base` has no per-column settings; each column's come from `plan`.
    #[allow(clippy::too_many_arguments)]
    pub fn columnwise(
        out: W,
        schema: SchemaRef,
        base: WriterProperties,
        plan: &EncodingPlan,
        hold_bytes: usize,
        row_group_rows: usize,
        location: &str,
        pool: Arc<rayon::ThreadPool>,
    ) -> Result<Self> {
        let workers = pool.current_num_threads();
        let columnwise =
            Columnwise::new(Arc::clone(&schema), base.clone(), plan, hold_bytes, workers);
        let sizes = (hold_bytes, row_group_rows);
        Self::start(out, schema, base, sizes, location, pool, Some(columnwise))
    }

    /// The file's writer, and a lane per column unless `columnwise` encodes the row groups;
    /// `sizes` are the row-group bytes and rows.
    fn start(
        out: W,
        schema: SchemaRef,
        properties: WriterProperties,
        (row_group_bytes, row_group_rows): (usize, usize),
        location: &str,
        pool: Arc<rayon::ThreadPool>,
        columnwise: Option<Columnwise>,
    ) -> Result<Self> {
        let perr = |source| Error::Parquet {
            location: location.to_string(),
            source,
        };
        let (writer, factory) = template(&schema, properties).map_err(perr)?;
        let out = Output::new(out, &writer, footer::FOOTER_MEMORY_BYTES, location)?;
        let columns = writer.schema_descr().num_columns();
        if columns != schema.fields().len() {
            return Err(Error::Internal(format!(
                "{columns} Parquet columns for {} fields: nested fields are not supported",
                schema.fields().len()
            )));
        }
        let (tx, events) = std::sync::mpsc::channel();
        let writers = if columnwise.is_some() {
            Vec::new()
        } else {
            let none = vec![false; columns];
            lanes::writers(&writer, &factory, &schema, None, &none, 0).map_err(perr)?
        };
        let lanes = schema
            .fields()
            .iter()
            .zip(writers)
            .enumerate()
            .map(|(i, (field, w))| Arc::new(Lane::new(i, Arc::clone(field), w, tx.clone())))
            .collect();
        Ok(ParquetEncoder {
            writer,
            out,
            factory,
            lanes,
            events,
            closed: BTreeMap::new(),
            rows_in_group: 0,
            row_groups: 0,
            written: 0,
            cut_lag: CUT_LAG_PARTS,
            parts: 0,
            group_start: 0,
            row_group_bytes,
            row_group_rows,
            spilled_row_group_bytes: None,
            spill: None,
            schema,
            location: location.to_string(),
            pool,
            columnwise,
            fell_back: vec![false; columns],
            refit: false,
            handed_back: vec![false; columns],
        })
    }

    /// Whether row groups are encoded a column at a time.
    pub fn is_columnwise(&self) -> bool {
        self.columnwise.is_some()
    }

    /// For a column-wise encoder with a spill file, cut a row group also when its bytes in the
    /// spill file, with the arrays still held, reach `bytes` (by default the same as the array
    /// bytes given to [`ParquetEncoder::with_spill`]); nothing for the lanes.
    pub fn with_spill_room(mut self, bytes: usize) -> Self {
        if let Some(columnwise) = &mut self.columnwise {
            columnwise.with_spill_room(bytes);
        }
        self
    }

    /// Spill the encoded pages of open row groups through `spill` (see the `spill` module), and
    /// cut row groups at `row_group_bytes` encoded bytes; the heap bytes given to
    /// [`ParquetEncoder::new`] still cut one earlier when the column writers' own buffers
    /// (pages being filled, dictionaries) reach them. Only before the first write.
    pub fn with_spill(mut self, spill: Arc<SpillFactory>, row_group_bytes: usize) -> Result<Self> {
        if self.parts > 0 {
            return Err(Error::Internal("spilling set after the first write".into()));
        }
        self.out.log_in(spill.dir());
        if let Some(columnwise) = &mut self.columnwise {
            columnwise.with_spill(Arc::clone(&spill), row_group_bytes);
            self.spill = Some(spill);
            return Ok(self);
        }
        let store: Arc<dyn parquet::column::page_store::PageStoreFactory> = spill.clone();
        self.factory = ArrowRowGroupWriterFactory::new(&self.writer, Arc::clone(&self.schema))
            .with_page_store_factory(store);
        let writers = lanes::writers(
            &self.writer,
            &self.factory,
            &self.schema,
            Some(&spill),
            &self.handed_back,
            0,
        )
        .map_err(|e| self.perr(e))?;
        for (lane, writer) in self.lanes.iter().zip(writers) {
            lane.replace_writer(writer);
        }
        self.spill = Some(spill);
        self.spilled_row_group_bytes = Some(row_group_bytes.max(1));
        Ok(self)
    }

    /// Bytes spilled, when pages are spilled.
    pub fn spill_stats(&self) -> Option<Arc<SpillStats>> {
        self.spill.as_ref().map(|s| s.stats())
    }

    /// Judge the row-group size `parts` parts behind the newest (default 4). The lanes may fall
    /// that far behind the encoder thread without making it wait; a row group overshoots its
    /// budget by at most that many parts' encoded bytes. The pipeline sets 16 MiB of input at
    /// the default memory limit, or 8 MiB when chunks are smaller than the derived size
    /// ([`crate::budget::MemoryBudget::for_records`]).
    pub fn with_cut_lag(mut self, parts: usize) -> Self {
        self.cut_lag = (parts as u64).max(1);
        self
    }

    fn perr(&self, source: parquet::errors::ParquetError) -> Error {
        Error::Parquet {
            location: self.location.clone(),
            source,
        }
    }

    /// Queue a batch to the column lanes and return; writes the row groups finished meanwhile.
    ///
    /// Every lane holds a clone of `token` until it has encoded its column of the batch, so
    /// the batch is in flight until the token's last clone is dropped (the caller makes that
    /// drop release the batch's slot). An error from an earlier batch surfaces here.
    pub fn write(&mut self, batch: &RecordBatch, token: &Token) -> Result<()> {
        if self.columnwise.is_some() {
            return self.write_columnwise(batch);
        }
        let mut offset = 0;
        while offset < batch.num_rows() {
            let room = self.row_group_rows - self.rows_in_group;
            let take = room.min(batch.num_rows() - offset);
            let part = batch.slice(offset, take);
            let seq = self.parts;
            self.parts += 1;
            for (lane, array) in self.lanes.iter().zip(part.columns()) {
                let job = Job::Write {
                    part: seq,
                    array: Arc::clone(array),
                    _token: Arc::clone(token),
                };
                lane.push(job, &self.pool);
            }
            self.rows_in_group += take;
            offset += take;
            if self.rows_in_group >= self.row_group_rows || self.full_after(seq) {
                self.cut(true)?;
            }
        }
        self.poll(false)
    }

    /// Whether the open row group is full, judged after part `seq` was queued: by the bytes
    /// the lanes had buffered right after part `seq - cut_lag` (waiting for them if a
    /// lane is further behind). A fixed lag, rather than whatever the lanes have done by now,
    /// keeps the cuts, and so the output bytes, the same from run to run.
    fn full_after(&self, seq: u64) -> bool {
        let Some(judged) = seq.checked_sub(self.cut_lag) else {
            return false;
        };
        if judged < self.group_start {
            return false;
        }
        let (memory, encoded) = self
            .lanes
            .iter()
            .map(|l| l.buffered_after(judged))
            .fold((0, 0), |(m, e), b| (m + b.memory, e + b.encoded));
        memory >= self.row_group_bytes || self.spilled_row_group_bytes.is_some_and(|c| encoded >= c)
    }

    /// [`ParquetEncoder::write`] of a column-wise encoder: the batch's arrays are held (the
    /// token is not kept: the held bytes have their own budget), and a full row group is
    /// encoded before this returns.
    fn write_columnwise(&mut self, batch: &RecordBatch) -> Result<()> {
        let Some(columnwise) = &mut self.columnwise else {
            return Ok(());
        };
        let location = &self.location;
        let perr = |source| Error::Parquet {
            location: location.clone(),
            source,
        };
        let mut offset = 0;
        while offset < batch.num_rows() {
            let room = self.row_group_rows - columnwise.rows_in_group();
            let take = room.min(batch.num_rows() - offset);
            let full = columnwise.push(&batch.slice(offset, take)).map_err(perr)?;
            offset += take;
            if full || columnwise.rows_in_group() >= self.row_group_rows {
                columnwise.cut(&mut self.out, &self.pool)?;
            }
        }
        self.parts += 1;
        Ok(())
    }

    /// Rows in the open row group.
    pub fn rows_in_group(&self) -> usize {
        match &self.columnwise {
            Some(c) => c.rows_in_group(),
            None => self.rows_in_group,
        }
    }

    /// Row groups cut so far (the open one not counted).
    pub fn row_groups(&self) -> usize {
        match &self.columnwise {
            Some(c) => c.row_groups(),
            None => self.row_groups,
        }
    }

    /// Close the open row group in every lane; `more` opens the next one.
    fn cut(&mut self, more: bool) -> Result<()> {
        tracing::debug!(
            rows = self.rows_in_group,
            "closing row group {}",
            self.row_groups
        );
        if let Some(spill) = &self.spill {
            if more {
                spill
                    .start_row_group()
                    .map_err(|e| self.perr(parquet::errors::ParquetError::External(Box::new(e))))?;
            } else {
                spill.release_current();
            }
        }
        if more && self.refit {
            self.drop_dictionaries()?;
        }
        let next: Vec<Option<Box<Writer>>> = if more {
            lanes::writers(
                &self.writer,
                &self.factory,
                &self.schema,
                self.spill.as_deref(),
                &self.handed_back,
                self.row_groups + 1,
            )
            .map_err(|e| self.perr(e))?
            .into_iter()
            .map(|w| Some(Box::new(w)))
            .collect()
        } else {
            self.lanes.iter().map(|_| None).collect()
        };
        for (lane, next) in self.lanes.iter().zip(next) {
            let job = Job::Close {
                row_group: self.row_groups,
                next,
            };
            lane.push(job, &self.pool);
        }
        self.row_groups += 1;
        self.rows_in_group = 0;
        self.group_start = self.parts;
        Ok(())
    }

    /// Make the next row groups' column writers without the dictionaries that fell back.
    fn drop_dictionaries(&mut self) -> Result<()> {
        self.refit = false;
        let columns: Vec<usize> = (0..self.fell_back.len())
            .filter(|&c| self.fell_back[c])
            .collect();
        tracing::debug!(
            ?columns,
            "dictionaries that fell back are off from row group {}",
            self.row_groups + 1
        );
        let properties =
            fallback::without_dictionaries(self.writer.properties(), &self.schema, &columns);
        let (writer, _) = template(&self.schema, properties).map_err(|e| self.perr(e))?;
        let mut factory = ArrowRowGroupWriterFactory::new(&writer, Arc::clone(&self.schema));
        if let Some(spill) = &self.spill {
            let store: Arc<dyn parquet::column::page_store::PageStoreFactory> = spill.clone();
            factory = factory.with_page_store_factory(store);
        }
        self.writer = writer;
        self.factory = factory;
        Ok(())
    }

    /// Take the lanes' events (waiting for one when `block`), and append the row groups whose
    /// columns are all closed, in order.
    fn poll(&mut self, block: bool) -> Result<()> {
        loop {
            let event = if block {
                self.events
                    .recv()
                    .map_err(|_| Error::Internal("the column lanes vanished".into()))?
            } else {
                match self.events.try_recv() {
                    Ok(event) => event,
                    Err(_) => return Ok(()),
                }
            };
            match event {
                Event::Closed {
                    row_group,
                    column,
                    result,
                    handed_back,
                } => {
                    let chunk = result.map_err(|e| self.perr(e))?;
                    if handed_back {
                        if let Some(h) = self.handed_back.get_mut(column) {
                            *h = true;
                        }
                    }
                    if chunk.fell_back() && self.fell_back.get(column).is_some_and(|f| !f) {
                        self.fell_back[column] = true;
                        self.refit = true;
                    }
                    let columns = self.lanes.len();
                    let slots = self
                        .closed
                        .entry(row_group)
                        .or_insert_with(|| (0..columns).map(|_| None).collect());
                    if let Some(slot) = slots.get_mut(column) {
                        *slot = Some(chunk);
                    }
                }
                Event::Failed { column, error } => {
                    return Err(self.perr(parquet::errors::ParquetError::General(format!(
                        "column {}: {error}",
                        column + 1
                    ))));
                }
            }
            self.append_ready()?;
            if block {
                return Ok(());
            }
        }
    }

    /// Append the next row groups whose columns are all closed.
    fn append_ready(&mut self) -> Result<()> {
        loop {
            let complete = self
                .closed
                .get(&self.written)
                .is_some_and(|slots| slots.iter().all(Option::is_some));
            if !complete {
                return Ok(());
            }
            let Some(chunks) = self.closed.remove(&self.written) else {
                return Ok(());
            };
            self.out.row_group(|row_group| {
                for chunk in chunks.into_iter().flatten() {
                    chunk.append(row_group)?;
                }
                Ok(())
            })?;
            self.written += 1;
        }
    }

    /// Close the open row group (if it has rows), wait for the lanes, add key-value metadata
    /// and write the footer (see the `footer` module); returns the output.
    pub fn finish(mut self, metadata: Vec<(String, String)>) -> Result<W> {
        if let Some(columnwise) = &mut self.columnwise {
            columnwise.cut(&mut self.out, &self.pool)?;
        }
        if self.rows_in_group > 0 {
            self.cut(false)?;
        }
        self.poll(false)?;
        while self.written < self.row_groups {
            self.poll(true)?;
        }
        let key_values = metadata
            .into_iter()
            .map(|(key, value)| KeyValue::new(key, value))
            .collect();
        self.out.finish(key_values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn pool() -> Arc<rayon::ThreadPool> {
        Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap(),
        )
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("body", DataType::Utf8, true),
        ]))
    }

    /// Batch `b` of `rows` rows: ids continue across batches; the body is long (slow to
    /// encode), so its lane falls behind the id lane.
    fn batch(b: usize, rows: usize) -> RecordBatch {
        let ids = (b * rows..(b + 1) * rows).map(|i| i as i64);
        let bodies = (b * rows..(b + 1) * rows)
            .map(|i| (i % 7 != 0).then(|| format!("{i} {}", "lorem ipsum ".repeat(i % 50))));
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from_iter_values(ids)),
                Arc::new(StringArray::from_iter(bodies)),
            ],
        )
        .unwrap()
    }

    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn lanes_keep_the_order_cut_row_groups_and_release_every_batch() {
        let properties = writer_properties(Compression::Zstd(1), &EncodingPlan::default()).unwrap();
        let (batches, rows) = (40, 1000);
        let released = Arc::new(AtomicUsize::new(0));
        let mut encoder = ParquetEncoder::new(
            Vec::new(),
            schema(),
            properties,
            64 * 1024,
            7000,
            "t",
            pool(),
        )
        .unwrap();
        for b in 0..batches {
            let token: Token = Arc::new(Counted(Arc::clone(&released)));
            encoder.write(&batch(b, rows), &token).unwrap();
        }
        let out = encoder.finish(Vec::new()).unwrap();
        assert_eq!(released.load(Ordering::SeqCst), batches);

        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(out)).unwrap();
        let groups = reader.metadata().num_row_groups();
        assert!(groups > 40 * 1000 / 7000, "{groups} row groups");
        for g in 0..groups {
            assert!(reader.metadata().row_group(g).num_rows() <= 7000);
        }
        let mut next = 0;
        for read in reader.build().unwrap() {
            let read = read.unwrap();
            let expected = batch(0, next + read.num_rows()).slice(next, read.num_rows());
            assert_eq!(read.column(0).as_ref(), expected.column(0).as_ref());
            assert_eq!(read.column(1).to_data(), expected.column(1).to_data());
            next += read.num_rows();
        }
        assert_eq!(next, batches * rows);
    }

    /// Row groups are cut by sizes judged a fixed number of parts back, not by how far the
    /// lanes happen to have got: the same batches give the same bytes every time.
    #[test]
    fn the_output_does_not_depend_on_timing() {
        let encode = |workers: usize| {
            let pool = Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(workers)
                    .build()
                    .unwrap(),
            );
            let properties =
                writer_properties(Compression::Zstd(1), &EncodingPlan::default()).unwrap();
            let mut encoder = ParquetEncoder::new(
                Vec::new(),
                schema(),
                properties,
                48 * 1024,
                1 << 20,
                "t",
                pool,
            )
            .unwrap();
            let token: Token = Arc::new(());
            for b in 0..60 {
                encoder.write(&batch(b, 500), &token).unwrap();
            }
            let groups = encoder.row_groups();
            (encoder.finish(Vec::new()).unwrap(), groups)
        };
        let (first, groups) = encode(2);
        assert!(groups > 3, "{groups} row groups");
        for workers in [1, 2, 3, 2, 1] {
            assert!(encode(workers).0 == first, "{workers} workers");
        }
    }

    #[test]
    fn a_dictionary_that_fell_back_is_dropped_from_later_row_groups() {
        use fallback::drift;
        let mut encoder = ParquetEncoder::new(
            Vec::new(),
            drift::schema(),
            drift::properties(),
            1 << 30,
            2_000,
            "t",
            pool(),
        )
        .unwrap();
        for b in 0..40 {
            let token: Token = Arc::new(());
            encoder.write(&drift::batch(b), &token).unwrap();
            // As the pipeline's chunks in flight do: the lanes lag by at most this batch, so
            // a row group's close is seen by the next cut.
            while Arc::strong_count(&token) > 1 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        let dictionaries = drift::dictionaries(encoder.finish(Vec::new()).unwrap(), 40);
        // Row group 2's dictionary is the first to fall back; off two row groups after it (the
        // next one's writers were made before it closed), and never on again.
        assert_eq!(dictionaries.len(), 10);
        assert_eq!(
            dictionaries.iter().position(|&d| !d),
            Some(4),
            "{dictionaries:?}"
        );
        assert!(dictionaries[4..].iter().all(|&d| !d), "{dictionaries:?}");
    }

    #[test]
    fn a_failing_column_fails_the_file_and_releases_its_batches() {
        let properties = writer_properties(Compression::Zstd(1), &EncodingPlan::default()).unwrap();
        let released = Arc::new(AtomicUsize::new(0));
        let mut encoder = ParquetEncoder::new(
            Vec::new(),
            schema(),
            properties,
            1 << 20,
            1 << 20,
            "t",
            pool(),
        )
        .unwrap();
        // A batch whose second column does not match the file's schema: its lane fails.
        let wrong = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("body", DataType::Int64, true),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(Int64Array::from(vec![3, 4])),
            ],
        )
        .unwrap();
        let mut result = Ok(());
        for b in 0..3 {
            let token: Token = Arc::new(Counted(Arc::clone(&released)));
            let input = if b == 1 { wrong.clone() } else { batch(b, 10) };
            result = result.and_then(|_| encoder.write(&input, &token));
        }
        let result = result.and_then(|_| encoder.finish(Vec::new()).map(|_| ()));
        let message = result.unwrap_err().to_string();
        assert!(message.contains("column 2"), "{message}");
        // The lanes drop the failed file's queued jobs (and their tokens) on the pool.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while released.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(released.load(Ordering::SeqCst), 3);
    }

    fn mixed_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("ratio", DataType::Float64, true),
            Field::new("serial", DataType::Int64, true),
            Field::new("kind", DataType::Utf8, true),
        ]))
    }

    /// Batch `b` of 1,000 rows: a double column with a NaN in batch 4 only, an integer column
    /// of values all distinct, a string column of a few values; nulls in all three.
    fn mixed_batch(b: usize) -> RecordBatch {
        use arrow::array::Float64Array;
        let rows = b * 1000..(b + 1) * 1000;
        let ratio = rows.clone().map(|i| {
            (i % 11 != 5).then(|| {
                if i == 4321 {
                    f64::NAN
                } else {
                    (i % 40) as f64 / 8.0
                }
            })
        });
        let serial = rows
            .clone()
            .map(|i| (i % 13 != 2).then_some(i as i64 * 7919));
        let kind = rows.map(|i| (i % 17 != 1).then(|| format!("kind-{}", i % 9)));
        RecordBatch::try_new(
            mixed_schema(),
            vec![
                Arc::new(Float64Array::from_iter(ratio)),
                Arc::new(Int64Array::from_iter(serial)),
                Arc::new(StringArray::from_iter(kind)),
            ],
        )
        .unwrap()
    }

    /// Our dictionary chunks in the lanes: a column whose chunk is handed back part-way (a
    /// NaN; a dictionary past its page) goes on in the crate's writer and reads back equal, and
    /// its later row groups start there; spilled, the chunks' pages come back from the spill
    /// file and the file is the same.
    #[test]
    fn lanes_hand_our_chunks_back_and_read_back_equal() {
        let encode = |spill: Option<&std::path::Path>| {
            let properties =
                writer_properties(Compression::Zstd(1), &EncodingPlan::default()).unwrap();
            let properties = crate::budget::ColumnPages {
                page_bytes: 4 << 10,
                page_rows: 300,
            }
            .apply(properties);
            let mut encoder = ParquetEncoder::new(
                Vec::new(),
                mixed_schema(),
                properties,
                1 << 30,
                3000,
                "t",
                pool(),
            )
            .unwrap();
            if let Some(dir) = spill {
                let factory = Arc::new(SpillFactory::new(dir, 64 << 20).unwrap());
                encoder = encoder.with_spill(factory, 1 << 30).unwrap();
            }
            for b in 0..12 {
                let token: Token = Arc::new(());
                encoder.write(&mixed_batch(b), &token).unwrap();
                while Arc::strong_count(&token) > 1 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            let handed_back = encoder.handed_back.clone();
            (encoder.finish(Vec::new()).unwrap(), handed_back)
        };
        let (file, handed_back) = encode(None);
        assert_eq!(handed_back, [true, true, false]);
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file.clone())).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 4);
        let mut next = 0;
        for read in reader.with_batch_size(1000).build().unwrap() {
            let read = read.unwrap();
            let expected = mixed_batch(next);
            // NaN is not equal to itself: compare the doubles' bits.
            let bits = |a: &dyn Array| {
                let a = a
                    .as_any()
                    .downcast_ref::<arrow::array::Float64Array>()
                    .unwrap();
                a.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>()
            };
            assert_eq!(
                bits(read.column(0)),
                bits(expected.column(0)),
                "batch {next}"
            );
            assert_eq!(read.columns()[1..], expected.columns()[1..], "batch {next}");
            next += 1;
        }
        assert_eq!(next, 12);
        let dir = tempfile::tempdir().unwrap();
        assert!(
            encode(Some(dir.path())).0 == file,
            "spilling changed the file"
        );
    }
}
