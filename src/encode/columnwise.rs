//! Column-at-a-time encoding, for schemas too wide for a column writer per column.
//!
//! The lanes (see the `lanes` module) keep one `ArrowColumnWriter` per column alive for the
//! whole row group, and each holds state the budget cannot shrink: a zstd compression context
//! and a decompression context (the parquet crate's codec makes both; ~95 KiB for the second,
//! up to ~170 KiB for the first at small pages), encoder and statistics structures, the pages
//! being filled. Measured at 1,000 columns that is ~240 KiB per column at 16 KiB pages, so the
//! writers alone pass a 256 MiB limit at ~1,000 columns, whatever the row-group size.
//!
//! Here the open row group's Arrow arrays are held instead (counted, up to the hold budget;
//! when a spill directory is given, past half of it each part sends about its own bytes to
//! the spill file, whole columns in turn, a column's arrays as one segment: see `segment`), and
//! when the row group closes its columns are encoded in order, `workers` at a time, each by a
//! writer made for that column alone and dropped once its chunk is appended.
//! The writers' state is then `workers` x one column's, whatever the width; the row group is
//! cut by the bytes of its arrays.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowWriterOptions};
use parquet::arrow::ArrowWriter;
use parquet::column::page_store::InMemoryPageStore;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use super::dictchunk::{self, DictChunk};
use super::encoded::Encoded;
use super::encoding::{ColumnEncoding, EncodingPlan};
use super::footer::Output;
use super::segment;
use super::spill::{SpillFactory, SpillSegments};

type PResult<T> = std::result::Result<T, ParquetError>;

/// Heap bytes one column's writer may take while it encodes: its state (codec contexts,
/// encoders, statistics: ~300 KiB measured at 1 MiB pages with zstd), a data page and a
/// dictionary page of the parquet crate's default 1 MiB each, and the closed chunk's pages until
/// they are appended (the chunk of a column is at most its arrays' bytes, which the hold
/// budget already counts).
pub const COLUMN_WRITER_HEAP: usize = 3 * crate::config::MIB;

/// The arrays of one column in the open row group: in memory, or spilled.
#[derive(Default)]
struct Column {
    arrays: Vec<ArrayRef>,
    /// Heap bytes of `arrays`.
    held: usize,
    /// Spilled segments, in order, before `arrays`: where and how long. Written by
    /// [`segment::write`], or as an Arrow IPC stream for the types it does not take.
    spilled: Vec<(u64, usize)>,
}

/// Holds the open row group as Arrow arrays and encodes it a column at a time.
pub(super) struct Columnwise {
    schema: SchemaRef,
    /// Writer properties without per-column settings; each writer gets its column's from
    /// `plan`.
    base: WriterProperties,
    /// Each field's entry in the encoding plan.
    plans: Vec<Option<ColumnEncoding>>,
    columns: Vec<Column>,
    /// Heap bytes of the arrays held.
    held: usize,
    /// Bytes of the open row group's arrays, held or spilled.
    group_bytes: usize,
    /// Bytes of the open row group in the spill file (IPC framing included).
    spilled_bytes: usize,
    rows: usize,
    /// Heap bytes of arrays held at most; past it they are spilled (when a spill file is
    /// given) or the row group is cut.
    hold_bytes: usize,
    /// Array bytes (as decoded, held or spilled) that cut a row group when arrays are spilled.
    spilled_group_bytes: usize,
    /// Bytes in the spill file, with the arrays held, that cut a row group.
    spill_room: usize,
    spill: Option<Arc<SpillFactory>>,
    /// The open row group's spilled arrays.
    segments: Option<SpillSegments>,
    /// The column the next spill starts at: columns are spilled in turn, a few per part.
    next_spill: usize,
    workers: usize,
    row_groups: usize,
    /// Columns whose dictionary fell back to plain in a row group: later ones are written
    /// without one (see the `fallback` module).
    fell_back: Vec<bool>,
}

impl Columnwise {
    pub(super) fn new(
        schema: SchemaRef,
        base: WriterProperties,
        plan: &EncodingPlan,
        hold_bytes: usize,
        workers: usize,
    ) -> Self {
        let plans = schema
            .fields()
            .iter()
            .map(|f| plan.columns().iter().find(|c| &c.name == f.name()).cloned())
            .collect();
        let columns: Vec<Column> = schema.fields().iter().map(|_| Column::default()).collect();
        let columns_len = columns.len();
        Columnwise {
            schema,
            base,
            plans,
            columns,
            held: 0,
            group_bytes: 0,
            spilled_bytes: 0,
            rows: 0,
            hold_bytes: hold_bytes.max(1),
            spilled_group_bytes: usize::MAX,
            spill_room: usize::MAX,
            spill: None,
            segments: None,
            next_spill: 0,
            workers: workers.max(1),
            row_groups: 0,
            fell_back: vec![false; columns_len],
        }
    }

    /// Spill arrays past the hold budget, and cut row groups when their arrays' bytes, or
    /// their spilled bytes and the arrays held (see [`Columnwise::with_spill_room`]), reach
    /// `group_bytes`.
    pub(super) fn with_spill(&mut self, spill: Arc<SpillFactory>, group_bytes: usize) {
        self.spill = Some(spill);
        self.spilled_group_bytes = group_bytes.max(1);
        self.spill_room = self.spilled_group_bytes;
    }

    /// Cut row groups when their spilled bytes and the arrays held reach `bytes`. Spilled
    /// integers are narrowed, so a group's spilled bytes can be far fewer than its arrays'.
    pub(super) fn with_spill_room(&mut self, bytes: usize) {
        self.spill_room = bytes.max(1);
    }

    pub(super) fn rows_in_group(&self) -> usize {
        self.rows
    }

    pub(super) fn row_groups(&self) -> usize {
        self.row_groups
    }

    /// Add a part of a batch (within the row cap) to the open row group; returns whether the
    /// row group is full.
    pub(super) fn push(&mut self, part: &RecordBatch) -> PResult<bool> {
        let mut added = 0;
        for (column, array) in self.columns.iter_mut().zip(part.columns()) {
            let bytes = array.get_array_memory_size();
            column.held += bytes;
            added += bytes;
            column.arrays.push(Arc::clone(array));
        }
        self.held += added;
        self.group_bytes += added;
        self.rows += part.num_rows();
        if self.spill.is_none() {
            return Ok(self.held >= self.hold_bytes);
        }
        // Past half the hold, as many bytes as this part added go to the spill file, whole
        // columns in turn: the spilling keeps pace with the parts instead of stopping the
        // pipeline for a whole hold's worth at once (with 1,000 columns that burst left a core
        // idle a quarter of the time while decoding), and the arrays held stay near half the
        // hold, which leaves the cut the other half (held near the whole hold, 3,000 columns
        // at 128 MiB peaked at 131 MiB).
        let pace = self.hold_bytes / 2;
        if self.held >= pace {
            self.spill_arrays(self.held - pace.saturating_sub(added))?;
        }
        Ok(self.group_bytes >= self.spilled_group_bytes
            || self.spilled_bytes + self.held >= self.spill_room)
    }

    /// Move held arrays to the spill file, one segment per column, the columns in turn from
    /// `next_spill`, until at least `bytes` of them are spilled (or none is held). The
    /// segments go in one write: at 3,000 columns a segment is ~2-5 KB.
    fn spill_arrays(&mut self, bytes: usize) -> PResult<()> {
        let Some(factory) = &self.spill else {
            return Ok(());
        };
        if self.segments.is_none() {
            self.segments = Some(factory.segments()?);
        }
        let Some(segments) = &self.segments else {
            return Ok(());
        };
        let total = self.columns.len();
        let mut spilled = 0;
        let mut blob = Vec::new();
        let mut placed = Vec::new();
        for _ in 0..total {
            if spilled >= bytes {
                break;
            }
            let i = self.next_spill % total;
            self.next_spill = (i + 1) % total;
            let (Some(column), Some(field)) =
                (self.columns.get_mut(i), self.schema.fields().get(i))
            else {
                continue;
            };
            if column.arrays.is_empty() {
                continue;
            }
            let at = blob.len();
            if segment::supports(field.data_type()) {
                segment::write(&column.arrays, &mut blob)
            } else {
                ipc_stream(field, &column.arrays).map(|ipc| blob.extend_from_slice(&ipc))
            }
            .map_err(|e| ParquetError::External(Box::new(e)))?;
            column.arrays.clear();
            placed.push((i, at, blob.len() - at));
            spilled += std::mem::take(&mut column.held);
        }
        if !blob.is_empty() {
            let start = segments.append(&blob)?;
            self.spilled_bytes += blob.len();
            for (i, at, len) in placed {
                if let Some(column) = self.columns.get_mut(i) {
                    column.spilled.push((start + at as u64, len));
                }
            }
        }
        self.held = self.held.saturating_sub(spilled);
        Ok(())
    }

    /// Encode the open row group into `writer`'s next row group, column by column.
    pub(super) fn cut<W: std::io::Write + Send>(
        &mut self,
        out: &mut Output<W>,
        pool: &rayon::ThreadPool,
    ) -> crate::error::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        tracing::debug!(
            rows = self.rows,
            bytes = self.group_bytes,
            "encoding row group {} a column at a time",
            self.row_groups
        );
        let columns = std::mem::take(&mut self.columns);
        let segments = self.segments.take();
        let this: &Self = self;
        let mut fallen = Vec::new();
        out.row_group(|row_group| {
            let segments = segments.as_ref();
            let total = columns.len();
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            // A sliding window, not a barrier per `workers` columns: a worker takes the next
            // column as soon as it hands one back, while this thread appends the chunks in
            // column order. At most `workers` writers are open, as the budget counts; chunks
            // encoded ahead of their turn wait, up to a quarter of the arrays' heap (at the cut
            // the arrays are spilled or being freed, and reading back takes at most half).
            let room = this.hold_bytes / 4;
            pool.in_place_scope(|scope| -> PResult<()> {
                let mut columns = columns.into_iter().enumerate();
                let mut finished: Vec<Option<PResult<Encoded>>> =
                    (0..total).map(|_| None).collect();
                let (mut encoding, mut waiting, mut next) = (0, 0, 0);
                while next < total {
                    while encoding < this.workers && waiting <= room {
                        let Some((i, column)) = columns.next() else {
                            break;
                        };
                        let done_tx = done_tx.clone();
                        scope.spawn(move |_| {
                            // The receiver outlives the scope; a send fails only after an
                            // error stopped the appending, when nothing waits for it.
                            let _ = done_tx.send((i, this.encode_column(i, column, segments)));
                        });
                        encoding += 1;
                    }
                    if let Some(chunk) = finished.get_mut(next).and_then(Option::take) {
                        let chunk = chunk?;
                        if chunk.fell_back() {
                            fallen.push(next);
                        }
                        waiting = waiting.saturating_sub(chunk.bytes());
                        chunk.append(row_group)?;
                        next += 1;
                        continue;
                    }
                    // The column in turn is encoding (columns are submitted in order, and
                    // nothing waits ahead of one not submitted), so a result comes.
                    let (i, chunk) = done_rx.recv().map_err(|_| {
                        ParquetError::General("a column's encoding task vanished".into())
                    })?;
                    encoding -= 1;
                    waiting = waiting.saturating_add(chunk.as_ref().map_or(0, Encoded::bytes));
                    if let Some(slot) = finished.get_mut(i) {
                        *slot = Some(chunk);
                    }
                }
                Ok(())
            })
        })?;
        drop(segments);
        for i in fallen {
            if let Some(f) = self.fell_back.get_mut(i) {
                *f = true;
            }
        }
        self.columns = self
            .schema
            .fields()
            .iter()
            .map(|_| Column::default())
            .collect();
        self.held = 0;
        self.group_bytes = 0;
        self.spilled_bytes = 0;
        self.next_spill = 0;
        self.rows = 0;
        self.row_groups += 1;
        Ok(())
    }

    /// Encode column `i` of the row group with a writer made for it alone: ours for a
    /// dictionary of fixed-width values or strings (see `dictchunk`), else the parquet crate's.
    fn encode_column(
        &self,
        i: usize,
        column: Column,
        segments: Option<&SpillSegments>,
    ) -> PResult<Encoded> {
        let field = self.schema.field(i);
        let one = Arc::new(Schema::new(vec![field.clone()]));
        let mut builder = self.base.clone().into_builder();
        if let Some(plan) = &self.plans[i] {
            builder = EncodingPlan::new(vec![plan.clone()]).apply(builder);
        }
        let mut properties = builder.build();
        if self.fell_back.get(i) == Some(&true) {
            properties = super::fallback::without_dictionaries(&properties, &one, &[0]);
        }
        let options = ArrowWriterOptions::new()
            .with_properties(properties)
            .with_skip_arrow_metadata(true);
        let (file, factory) = ArrowWriter::try_new_with_options(std::io::sink(), one, options)?
            .into_serialized_writer()?;
        let descr = file.schema_descr().column(0);
        if let Some(kind) = dictchunk::Kind::of(field.data_type())
            .filter(|_| dictchunk::takes(&descr, file.properties(), field.data_type()))
        {
            let store = Box::new(InMemoryPageStore::default());
            let mut chunk = DictChunk::new(descr, file.properties(), kind, store)?;
            Self::each_array(field, &column, segments, &mut |array| chunk.push(array))?;
            if let Some((chunk, close)) = chunk.finish()? {
                return Ok(Encoded::Ours(chunk, close));
            }
        }
        let mut writer = factory
            .create_column_writers(self.row_groups)?
            .pop()
            .ok_or_else(|| ParquetError::General(format!("no writer for column {}", i + 1)))?;
        Self::each_array(field, &column, segments, &mut |array| {
            for leaf in compute_leaves(field, array)? {
                writer.write(&leaf)?;
            }
            Ok(true)
        })?;
        drop(column);
        writer.close().map(Encoded::Crate)
    }

    /// Call `take` with each of `column`'s arrays in order, the spilled ones read back, until
    /// it returns false.
    fn each_array(
        field: &Field,
        column: &Column,
        segments: Option<&SpillSegments>,
        take: &mut dyn FnMut(&ArrayRef) -> PResult<bool>,
    ) -> PResult<()> {
        let raw = segment::supports(field.data_type());
        for &(start, len) in &column.spilled {
            let segments = segments
                .ok_or_else(|| ParquetError::General("spilled arrays without a file".into()))?;
            // Decoded in place: the arrays are slices of the blob read back (a stream reader
            // copies each message out of it).
            let mut blob = arrow::buffer::Buffer::from(segments.read(start, len)?);
            if raw {
                for array in segment::read(blob, field.data_type()) {
                    let array = array.map_err(|e| ParquetError::External(Box::new(e)))?;
                    if !take(&array)? {
                        return Ok(());
                    }
                }
                continue;
            }
            let mut decoder = arrow_ipc::reader::StreamDecoder::new();
            while !blob.is_empty() {
                let batch = decoder
                    .decode(&mut blob)
                    .map_err(|e| ParquetError::External(Box::new(e)))?;
                if let Some(batch) = batch {
                    if !take(batch.column(0))? {
                        return Ok(());
                    }
                }
            }
            decoder
                .finish()
                .map_err(|e| ParquetError::External(Box::new(e)))?;
        }
        for array in &column.arrays {
            if !take(array)? {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// `arrays` of `field` as one Arrow IPC stream.
fn ipc_stream(field: &Arc<Field>, arrays: &[ArrayRef]) -> Result<Vec<u8>, ArrowError> {
    let one = Arc::new(Schema::new(vec![Arc::clone(field)]));
    let mut ipc = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &one)?;
    for array in arrays {
        ipc.write(&RecordBatch::try_new(
            Arc::clone(&one),
            vec![Arc::clone(array)],
        )?)?;
    }
    ipc.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{writer_properties, ParquetEncoder, Token};
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn batch(columns: usize, first: usize, rows: usize) -> RecordBatch {
        let fields: Vec<Field> = (0..columns)
            .map(|c| {
                let t = if c % 2 == 0 {
                    DataType::Int64
                } else {
                    DataType::Utf8
                };
                Field::new(format!("c{c}"), t, true)
            })
            .collect();
        let arrays: Vec<ArrayRef> = (0..columns)
            .map(|c| -> ArrayRef {
                let values = (first..first + rows).map(move |i| (i * 7919 + c * 31) % 10_007);
                if c % 2 == 0 {
                    Arc::new(Int64Array::from_iter(
                        values.map(|v| (v % 13 != 0).then_some(v as i64)),
                    ))
                } else {
                    Arc::new(StringArray::from_iter_values(
                        values.map(|v| format!("w{v}")),
                    ))
                }
            })
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    #[test]
    fn a_dictionary_chunk_at_its_most_entries_fits_a_writers_line() {
        let descr = |data_type: DataType| dictchunk::descr_of(data_type, true);
        let props = WriterProperties::builder()
            .set_dictionary_page_size_limit(64 << 20)
            .build();
        let most = dictchunk::MAX_ENTRIES as i64;
        let fixed = dictchunk::Kind::Fixed(dictchunk::Width::I64);
        let mut chunk =
            DictChunk::new(descr(DataType::Int64), &props, fixed, dictchunk::heap()).unwrap();
        assert!(chunk.push(&Int64Array::from_iter_values(0..most)).unwrap());
        // The codec's context (~170 KiB) and the dictionary page (256 KiB) take the rest.
        let state = chunk.state_bytes();
        assert!(state + (512 << 10) <= COLUMN_WRITER_HEAP, "{state}");
        assert!(!chunk.push(&Int64Array::from_iter_values([most])).unwrap());
        assert!(chunk.finish().unwrap().is_none());

        // Strings: the most entries, of 27 bytes and a 4-byte length each (~1 MiB of PLAIN
        // values, near the page's own cap). The table is freed before the page is compressed.
        let text = |range: std::ops::Range<i64>| {
            StringArray::from_iter_values(range.map(|i| format!("{i:027}")))
        };
        let mut chunk = DictChunk::new(
            descr(DataType::Utf8),
            &props,
            dictchunk::Kind::Utf8,
            dictchunk::heap(),
        )
        .unwrap();
        assert!(chunk.push(&text(0..most)).unwrap());
        let state = chunk.state_bytes();
        assert!(state + (512 << 10) <= COLUMN_WRITER_HEAP, "{state}");
        assert!(!chunk.push(&text(most..most + 1)).unwrap());
        assert!(chunk.finish().unwrap().is_none());
    }

    /// Dictionary columns of fixed-width values and of strings are written by `dictchunk`; a
    /// column planned without a dictionary by the crate's writer.
    #[test]
    fn dictionary_columns_take_our_chunks() {
        let rows = batch(3, 0, 2000);
        let plan = delta_plan("c2");
        let base = zstd_base();
        let cw = Columnwise::new(rows.schema(), base, &plan, 1 << 30, 2);
        let ours = |i: usize| {
            let column = Column {
                arrays: vec![Arc::clone(rows.column(i))],
                ..Column::default()
            };
            matches!(
                cw.encode_column(i, column, None).unwrap(),
                Encoded::Ours(..)
            )
        };
        assert!(ours(0), "Int64");
        assert!(ours(1), "Utf8");
        assert!(!ours(2), "planned without a dictionary");
    }

    /// The base writer properties of the tests: zstd level 1, no per-column settings.
    fn zstd_base() -> WriterProperties {
        writer_properties(
            crate::config::Compression::Zstd(1),
            &EncodingPlan::default(),
        )
        .unwrap()
    }

    /// A plan that writes column `name` with DELTA_BINARY_PACKED, without a dictionary.
    fn delta_plan(name: &str) -> EncodingPlan {
        EncodingPlan::new(vec![ColumnEncoding {
            name: name.into(),
            dictionary: false,
            encoding: parquet::basic::Encoding::DELTA_BINARY_PACKED,
            compression: None,
        }])
    }

    fn pool() -> Arc<rayon::ThreadPool> {
        Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap(),
        )
    }

    /// Encode 12 batches of 500 rows of `columns` columns column-wise (with `hold` bytes held
    /// and, with `spill`, arrays spilled); returns the file and its row groups' rows.
    fn encode(columns: usize, hold: usize, spill: bool) -> (Vec<u8>, Vec<i64>, u64) {
        let schema = batch(columns, 0, 1).schema();
        let pool = pool();
        let plan = delta_plan("c0");
        let base = zstd_base();
        let dir = tempfile::tempdir().unwrap();
        let mut encoder = ParquetEncoder::columnwise(
            Vec::new(),
            Arc::clone(&schema),
            base,
            &plan,
            hold,
            4000,
            "t",
            pool,
        )
        .unwrap();
        if spill {
            let factory = Arc::new(SpillFactory::new(dir.path(), u64::MAX).unwrap());
            encoder = encoder.with_spill(factory, 1 << 30).unwrap();
        }
        for b in 0..12 {
            let token: Token = Arc::new(());
            encoder
                .write(&batch(columns, b * 500, 500), &token)
                .unwrap();
        }
        let spilled = encoder.spill_stats().map_or(0, |s| s.total_bytes());
        let file = encoder.finish(vec![("k".into(), "v".into())]).unwrap();
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file.clone())).unwrap();
        let rows = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        (file, rows, spilled)
    }

    fn read(file: Vec<u8>) -> RecordBatch {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file))
            .unwrap()
            .with_batch_size(100_000)
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
    }

    #[test]
    fn columns_encoded_one_at_a_time_read_back_equal() {
        let expected = arrow::compute::concat_batches(
            &batch(300, 0, 1).schema(),
            &(0..12)
                .map(|b| batch(300, b * 500, 500))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        // Held in memory: the row cap (4,000) and the hold budget cut the row groups.
        let (file, rows, spilled) = encode(300, usize::MAX, false);
        assert_eq!(rows, vec![4000, 2000]);
        assert_eq!(spilled, 0);
        let metadata = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file.clone()))
            .unwrap()
            .metadata()
            .clone();
        let c0 = metadata.row_group(0).column(0);
        assert!(c0
            .encodings()
            .any(|e| e == parquet::basic::Encoding::DELTA_BINARY_PACKED));
        assert!(metadata
            .row_group(0)
            .column(1)
            .dictionary_page_offset()
            .is_some());
        assert_eq!(read(file), expected);
        let (file, rows, _) = encode(300, 2 << 20, false);
        assert!(rows.len() > 2, "{rows:?}");
        assert_eq!(read(file), expected);
        // Spilled past the hold budget: the row groups reach the row cap.
        let (file, rows, spilled) = encode(300, 2 << 20, true);
        assert_eq!(rows, vec![4000, 2000]);
        assert!(spilled > 0);
        assert_eq!(read(file), expected);
    }

    #[test]
    fn a_dictionary_that_fell_back_is_dropped_from_the_next_row_group() {
        use crate::encode::fallback::drift;
        // Row group 2's dictionary outgrows its page; row group 3 is encoded after it closed.
        let plan = EncodingPlan::default();
        let mut encoder = ParquetEncoder::columnwise(
            Vec::new(),
            drift::schema(),
            drift::properties(),
            &plan,
            1 << 30,
            2_000,
            "t",
            pool(),
        )
        .unwrap();
        for b in 0..24 {
            let token: Token = Arc::new(());
            encoder.write(&drift::batch(b), &token).unwrap();
        }
        let file = encoder.finish(Vec::new()).unwrap();
        assert_eq!(
            drift::dictionaries(file, 24),
            [true, true, true, false, false, false]
        );
    }

    /// Spilled row groups are cut by the bytes spilled, IPC framing included: for one-row
    /// batches of 300 columns the framing is most of the spill, and a cut by array sizes
    /// would pass the spill limit before the row group closed.
    #[test]
    fn a_spilled_row_group_is_cut_by_the_bytes_written() {
        let columns = 300;
        let schema = batch(columns, 0, 1).schema();
        let pool = pool();
        let base = zstd_base();
        let dir = tempfile::tempdir().unwrap();
        let limit = 2u64 << 20;
        let factory = Arc::new(SpillFactory::new(dir.path(), limit).unwrap());
        let plan = EncodingPlan::default();
        let mut encoder =
            ParquetEncoder::columnwise(Vec::new(), schema, base, &plan, 1, 100_000, "t", pool)
                .unwrap()
                .with_spill(factory, 1 << 20)
                .unwrap();
        let token: Token = Arc::new(());
        for row in 0..200 {
            encoder.write(&batch(columns, row, 1), &token).unwrap();
        }
        let stats = encoder.spill_stats().unwrap();
        let file = encoder.finish(Vec::new()).unwrap();
        assert!(
            stats.total_bytes() > limit,
            "spilled {}",
            stats.total_bytes()
        );
        let metadata = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file))
            .unwrap()
            .metadata()
            .clone();
        assert!(metadata.num_row_groups() > 1);
        assert_eq!(metadata.file_metadata().num_rows(), 200);
    }

    /// Spilled integers are narrowed, so the spill room holds a row group of more decoded
    /// bytes than itself; the decoded bytes still cut it at their own cap, and it reads back
    /// equal.
    #[test]
    fn narrowed_spills_cut_row_groups_by_both_measures() {
        let schema = batch(40, 0, 1).schema();
        let dir = tempfile::tempdir().unwrap();
        let factory = Arc::new(SpillFactory::new(dir.path(), u64::MAX).unwrap());
        let part_bytes: usize = batch(40, 0, 500)
            .columns()
            .iter()
            .map(|a| a.get_array_memory_size())
            .sum();
        // Until a part makes it full: the row group's decoded bytes, and its spilled bytes with
        // the arrays held.
        let fill = |cap: usize, room: usize| {
            let mut cw = Columnwise::new(
                Arc::clone(&schema),
                zstd_base(),
                &EncodingPlan::default(),
                2 * part_bytes,
                2,
            );
            cw.with_spill(Arc::clone(&factory), cap);
            cw.with_spill_room(room);
            for b in 0..200 {
                if cw.push(&batch(40, b * 500, 500)).unwrap() {
                    return (b + 1, cw.group_bytes, cw.spilled_bytes + cw.held);
                }
            }
            panic!("never full");
        };
        let room = 8 * part_bytes;
        let (parts, decoded, spilled) = fill(usize::MAX, room);
        assert!(
            spilled >= room && spilled < room + 2 * part_bytes,
            "{spilled}"
        );
        // Half the columns are strings (not narrowed), half integers below 2^16 (2 bytes of 8).
        assert!(
            decoded > room * 4 / 3,
            "{parts} parts, {decoded} decoded bytes"
        );
        let (parts, decoded, spilled) = fill(10 * part_bytes, usize::MAX);
        assert_eq!(parts, 10, "{decoded} decoded, {spilled} spilled");
    }

    /// Past half the hold, each part sends about its own bytes to the spill file, whole columns
    /// in turn, instead of the whole hold at once: the held arrays stay near half the hold, and
    /// the columns spilled rotate.
    #[test]
    fn spilling_keeps_pace_with_the_parts() {
        let columns = 300;
        let schema = batch(columns, 0, 1).schema();
        let base = zstd_base();
        let dir = tempfile::tempdir().unwrap();
        let factory = Arc::new(SpillFactory::new(dir.path(), u64::MAX).unwrap());
        let part_bytes = |b: &RecordBatch| -> usize {
            b.columns().iter().map(|a| a.get_array_memory_size()).sum()
        };
        let hold = part_bytes(&batch(columns, 0, 500)) * 4;
        let mut cw = Columnwise::new(schema, base, &EncodingPlan::default(), hold, 2);
        cw.with_spill(factory, usize::MAX);
        let mut first_spilled = Vec::new();
        for b in 0..16 {
            let part = batch(columns, b * 500, 500);
            let spilled = cw.spilled_bytes;
            cw.push(&part).unwrap();
            assert_eq!(
                cw.held,
                cw.columns.iter().map(|c| c.held).sum::<usize>(),
                "part {b}"
            );
            if cw.spilled_bytes > spilled {
                // About this part's bytes went out, not everything held: the arrays held stay
                // near half the hold.
                assert!(
                    cw.held > 0 && cw.held <= hold / 2,
                    "part {b}: {} held of {hold}",
                    cw.held
                );
                let now: Vec<usize> = (0..columns)
                    .filter(|&c| !cw.columns[c].spilled.is_empty())
                    .collect();
                if first_spilled.is_empty() {
                    first_spilled = now;
                }
            } else {
                assert!(cw.held < hold / 2 + part_bytes(&part), "part {b}");
            }
        }
        assert!(!first_spilled.is_empty() && first_spilled.len() < columns);
        // Every column took its turn, and the rows are all there, held or spilled.
        assert!(cw.columns.iter().all(|c| !c.spilled.is_empty()));
        assert_eq!(cw.rows_in_group(), 16 * 500);
    }
}
