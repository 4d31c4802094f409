//! Dictionary-encoded column chunks of fixed-width values (integers, dates, times, timestamps,
//! doubles) and of strings, written here instead of by the parquet crate's column writer.
//!
//! The crate's dictionary encoder hashes every value with a general-purpose hasher and
//! compares its bytes through a call: on the wide shape `Interner::intern` took 13.5% of the
//! CPU in four instantiations, with `memcmp` 4.3% and `hash_one` 1.1% more (`perf record -e
//! cpu-clock`, 512 MiB), and on the taxi shape ~14% in the lanes. Here the chunk is written
//! by this module: for fixed-width values one multiplication of the value's bits into an
//! open-addressed table, an integer comparison per probe (see `fixed`); for strings a short
//! hash of the bytes, compared inline (see `strings`). The column-at-a-time writer (see
//! `columnwise`) makes one per column when the row group closes; the lanes keep one open for
//! the whole row group, its data pages put in their page store as they fill (see `pages`).
//!
//! The chunk is laid out as the crate lays out a dictionary chunk: the dictionary page first
//! (PLAIN), then data pages v1 (definition levels RLE with their length, then the indices
//! RLE_DICTIONARY, bit-packed at the width of the dictionary so far), cut at the row-count
//! and page-size limits of the writer properties. Its metadata is the crate's: statistics
//! (total order for doubles, NaN counts; strings' minima and maxima truncated as the crate
//! truncates them), the column index (page minima and maxima, null pages and counts, boundary
//! order, definition-level histograms), the offset index (with the strings' unencoded bytes),
//! the encodings and page-encoding statistics. It is appended with
//! `SerializedRowGroupWriter::append_column`.
//!
//! Only what the crate would write as a whole dictionary chunk is taken here. A dictionary
//! that reaches the dictionary page limit (or [`MAX_ENTRIES`]), a NaN, or a column of nulls
//! only is handed back (`push` returns false, `finish` None) and the crate's writer writes
//! the column, with its fallback to other encodings as before: the column-wise writer writes
//! its arrays again, the lanes replay the rows taken from the chunk's pages (see `replay`).

use arrow::array::{Array, ArrayData};
use arrow::datatypes::DataType;
use parquet::basic::{Compression, Encoding};
use parquet::column::page::{CompressedPage, Page};
use parquet::column::page_store::PageStore;
use parquet::column::writer::ColumnCloseResult;
use parquet::compression::{create_codec, Codec, CodecOptionsBuilder};
use parquet::encodings::rle::RleEncoder;
use parquet::errors::ParquetError;
use parquet::file::metadata::OffsetIndexBuilder;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnDescPtr;

mod fixed;
mod metadata;
mod pages;
mod replay;
mod strings;

use fixed::Fixed;
pub(crate) use fixed::Width;
use pages::Pages;
pub(super) use pages::StoredChunk;
use strings::Strings;

type PResult<T> = std::result::Result<T, ParquetError>;

/// Rows between checks of the page-size limit (the crate checks after each batch of its
/// default `write_batch_size`).
const CHECK_ROWS: usize = 1024;

/// Entries of a dictionary at most; past it the chunk goes to the crate's writer. A table of
/// fixed-width values is then at most 2^17 slots of 12 bytes, with 8 bytes an entry and a
/// page of 8-byte indices: ~2 MiB, inside the line of a column's writer
/// (`columnwise::COLUMN_WRITER_HEAP`, 3 MiB, which also holds the codec's context and the
/// dictionary page); a table of strings at most 2^16 slots of 8 bytes (half full), 12 bytes
/// an entry and at most [`strings::MAX_PLAIN_BYTES`] of values. (In the lanes the chunk's
/// state counts in its lane's heap bytes, which cut the row group.) The crate's own limit, 1
/// MiB of PLAIN values, is 131,072 doubles; a row group's column rarely has more than 32,768
/// distinct values and still fits it.
pub(super) const MAX_ENTRIES: usize = 1 << 15;

/// The values a chunk takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Fixed(Width),
    /// BYTE_ARRAY strings: `Utf8`.
    Utf8,
}

impl Kind {
    /// The kind of `data_type`'s values, if this module writes them.
    pub(super) fn of(data_type: &DataType) -> Option<Kind> {
        match data_type {
            DataType::Utf8 => Some(Kind::Utf8),
            _ => Width::of(data_type).map(Kind::Fixed),
        }
    }
}

/// Whether a column of `data_type` described by `descr` is written here under `props`: a flat
/// dictionary column of fixed-width values or strings whose writer settings this module
/// follows (data page v1, page statistics, no page-header statistics, no bloom filter).
pub(super) fn takes(descr: &ColumnDescPtr, props: &WriterProperties, data_type: &DataType) -> bool {
    let path = descr.path();
    Kind::of(data_type).is_some()
        && descr.max_rep_level() == 0
        && descr.max_def_level() <= 1
        && props.dictionary_enabled(path)
        && props.writer_version() == WriterVersion::PARQUET_1_0
        && props.statistics_enabled(path) == EnabledStatistics::Page
        && !props.write_page_header_statistics(path)
        && props.bloom_filter_properties(path).is_none()
        && !props.offset_index_disabled()
}

/// The first empty slot (0) of an open-addressed table from `at` on (`slots` is a power of
/// two long and never full).
#[inline]
fn empty_slot<T: Copy + PartialEq + From<u8>>(slots: &[T], mut at: usize) -> usize {
    let mask = slots.len() - 1;
    while slots[at] != T::from(0) {
        at = (at + 1) & mask;
    }
    at
}

/// A table of `len` empty (0) slots whose memory is written now. Fresh memory from
/// `vec![0; len]` is mapped to the kernel's shared zero page until it is written, and a table
/// is probed (read) before its inserts write it: each first write of a page is then a
/// copy-on-write fault that flushes the TLB of every core (an interprocessor interrupt). That
/// was 6.2% of the wide shape's CPU (1,000 columns, 512 MiB: `do_wp_page` under `Fixed::grow`
/// and `Strings::grow`, `perf record -e cpu-clock --call-graph dwarf`).
fn empty_table<T: Copy + From<u8>>(len: usize) -> Vec<T> {
    let mut table = Vec::with_capacity(len);
    // An opaque fill value, so that the fill is not folded into a zeroed allocation.
    table.resize(len, std::hint::black_box(T::from(0)));
    table
}

/// The least and greatest values of a page: order keys of fixed-width values, or the bytes of
/// strings.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Range {
    Fixed(i64, i64),
    Bytes(Vec<u8>, Vec<u8>),
}

/// A written page's figures, for the column index.
pub(super) struct PageStats {
    pub(super) rows: usize,
    pub(super) nulls: usize,
    /// Its values' range (none for a page of nulls).
    pub(super) range: Option<Range>,
    /// The bytes of its strings (none for fixed-width values).
    pub(super) unencoded: Option<i64>,
}

/// A chunk's dictionary.
enum Table {
    Fixed(Fixed),
    Strings(Strings),
}

impl Table {
    fn len(&self) -> usize {
        match self {
            Table::Fixed(t) => t.len(),
            Table::Strings(t) => t.len(),
        }
    }
}

/// One column chunk being dictionary-encoded.
pub(super) struct DictChunk {
    descr: ColumnDescPtr,
    nullable: bool,
    codec: Compression,
    compressor: Option<Box<dyn Codec>>,
    row_limit: usize,
    page_limit: usize,
    /// Truncation of the strings' minima and maxima in the column index and the statistics.
    index_truncation: Option<usize>,
    statistics_truncation: Option<usize>,
    kind: Kind,
    table: Table,
    /// The open page's indices, definition levels, rows and nulls.
    indices: Vec<u64>,
    levels: RleEncoder,
    rows: usize,
    nulls: usize,
    /// Pages encoded, until the dictionary page goes before them.
    pages: Pages,
    stats: Vec<PageStats>,
    /// Set when the chunk is handed back: the rows of the array then pushed that it took
    /// (the rest were not).
    declined: Option<usize>,
}

impl DictChunk {
    /// A chunk of `descr`'s column, of `kind` values, under `props`, its data pages put in
    /// `store` as they are encoded.
    pub(super) fn new(
        descr: ColumnDescPtr,
        props: &WriterProperties,
        kind: Kind,
        store: Box<dyn PageStore>,
    ) -> PResult<Self> {
        let path = descr.path();
        let codec = props.compression(path);
        let compressor = create_codec(codec, &CodecOptionsBuilder::default().build())?;
        let dictionary_limit = props.column_dictionary_page_size_limit(path);
        Ok(DictChunk {
            nullable: descr.max_def_level() > 0,
            codec,
            compressor,
            row_limit: props.column_data_page_row_count_limit(path).max(1),
            page_limit: props.column_data_page_size_limit(path),
            index_truncation: props.column_index_truncate_length(),
            statistics_truncation: props.statistics_truncate_length(),
            kind,
            table: match kind {
                Kind::Fixed(width) => Table::Fixed(Fixed::new(width, dictionary_limit)),
                Kind::Utf8 => Table::Strings(Strings::new(dictionary_limit)),
            },
            indices: Vec::new(),
            levels: level_encoder(),
            rows: 0,
            nulls: 0,
            pages: Pages::new(store),
            stats: Vec::new(),
            declined: None,
            descr,
        })
    }

    /// Heap bytes of the chunk's state: the table, the dictionary, the open page's indices
    /// and levels. (The pages encoded are the chunk's bytes, counted apart: see
    /// [`DictChunk::memory_size`].)
    pub(super) fn state_bytes(&self) -> usize {
        let table = match &self.table {
            Table::Fixed(t) => t.state_bytes(),
            Table::Strings(t) => t.state_bytes(),
        };
        table + self.indices.capacity() * 8 + self.levels.len()
    }

    /// Heap bytes of the chunk: its state and the pages held on the heap.
    pub(super) fn memory_size(&self) -> usize {
        self.state_bytes() + self.pages.memory_size() + self.stats.capacity() * 64
    }

    /// Encoded bytes of the chunk so far: its pages, its dictionary's values and (an
    /// estimate) the open page's indices.
    pub(super) fn encoded_bytes(&self) -> usize {
        let dictionary = match &self.table {
            Table::Fixed(t) => t.plain_len(),
            Table::Strings(t) => t.plain_len(),
        };
        let open = self.indices.len() * usize::from(self.bit_width()) / 8;
        usize::try_from(self.pages.written).unwrap_or(usize::MAX) + dictionary + open
    }

    /// The rows of the last array pushed that the chunk took before it was handed back.
    pub(super) fn declined_at(&self) -> Option<usize> {
        self.declined
    }

    /// Whether its dictionary has no entry (no rows, or nulls only): `finish` then hands it
    /// back.
    pub(super) fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Add `array`'s values; false once the chunk is handed back to the crate's writer (its
    /// dictionary reached the limit, or a NaN came), when the rest need not be pushed.
    pub(super) fn push(&mut self, array: &dyn Array) -> PResult<bool> {
        if self.declined.is_some() {
            return Ok(false);
        }
        let data: ArrayData = array.to_data();
        let nulls = data.nulls().filter(|n| n.null_count() > 0);
        let mut at = 0;
        while at < data.len() {
            let room = (self.row_limit - self.rows).min(CHECK_ROWS - self.rows % CHECK_ROWS);
            let end = data.len().min(at + room);
            let before = self.indices.len();
            let taken = match &mut self.table {
                Table::Fixed(t) => t.take(&data, nulls, at, end, &mut self.indices),
                Table::Strings(t) => t.take(&data, nulls, at, end, &mut self.indices),
            };
            if !taken {
                // The rows before `at` stay whole (the open page ends there), so that what
                // was taken can be replayed to the crate's writer (see `replay`).
                self.indices.truncate(before);
                self.flush_page()?;
                self.declined = Some(at);
                return Ok(false);
            }
            let valid = match nulls {
                None => {
                    if self.nullable {
                        put_run(&mut self.levels, 1, end - at);
                    }
                    end - at
                }
                Some(nulls) => {
                    for i in at..end {
                        self.levels.put(u64::from(nulls.is_valid(i)));
                    }
                    nulls.inner().slice(at, end - at).count_set_bits()
                }
            };
            self.nulls += (end - at) - valid;
            self.rows += end - at;
            at = end;
            if self.rows >= self.row_limit
                || RleEncoder::max_buffer_size(self.bit_width(), self.indices.len())
                    >= self.page_limit
            {
                self.flush_page()?;
            }
        }
        Ok(true)
    }

    /// Bits per index: enough for the dictionary so far (the crate's width).
    fn bit_width(&self) -> u8 {
        let most = self.table.len().saturating_sub(1) as u64;
        (64 - most.leading_zeros()) as u8
    }

    /// Encode the open page, if it has rows.
    fn flush_page(&mut self) -> PResult<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut buffer = Vec::new();
        if self.nullable {
            let levels = std::mem::replace(&mut self.levels, level_encoder());
            buffer = levels.consume();
            let length = u32::try_from(buffer.len() - 4)
                .map_err(|_| ParquetError::General("definition levels too long".into()))?;
            buffer[..4].copy_from_slice(&length.to_le_bytes());
        }
        let width = self.bit_width();
        buffer.push(width);
        let mut encoder = RleEncoder::new_from_buf(width, buffer);
        encoder.put_batch(&self.indices);
        let buffer = encoder.consume();
        let uncompressed = buffer.len();
        let buf = self.compress(buffer)?;
        let page = Page::DataPage {
            buf: buf.into(),
            num_values: u32::try_from(self.rows)
                .map_err(|_| ParquetError::General("too many rows in a page".into()))?,
            encoding: Encoding::RLE_DICTIONARY,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        self.pages.put(CompressedPage::new(page, uncompressed))?;
        let (range, unencoded) = match &mut self.table {
            Table::Fixed(t) => (t.page_range(), None),
            Table::Strings(t) => {
                let (range, bytes) = t.page_range(&self.indices);
                (range, Some(bytes))
            }
        };
        self.stats.push(PageStats {
            rows: self.rows,
            nulls: self.nulls,
            range,
            unencoded,
        });
        self.indices.clear();
        self.rows = 0;
        self.nulls = 0;
        Ok(())
    }

    fn compress(&mut self, buffer: Vec<u8>) -> PResult<Vec<u8>> {
        match &mut self.compressor {
            Some(codec) => {
                let mut out = Vec::with_capacity(buffer.len());
                codec.compress(&buffer, &mut out)?;
                out.shrink_to_fit();
                Ok(out)
            }
            None => Ok(buffer),
        }
    }

    /// The chunk (dictionary page first) and what the row group needs to append it; none when
    /// it was handed back, or holds no value.
    pub(super) fn finish(mut self) -> PResult<Option<(StoredChunk, ColumnCloseResult)>> {
        if self.declined.is_some() {
            return Ok(None);
        }
        self.flush_page()?;
        let entries = self.table.len();
        if entries == 0 {
            return Ok(None);
        }
        let plain = match &mut self.table {
            Table::Fixed(t) => t.plain(),
            Table::Strings(t) => t.plain(),
        };
        let uncompressed = plain.len();
        let dictionary = Page::DictionaryPage {
            buf: self.compress(plain)?.into(),
            num_values: u32::try_from(entries)
                .map_err(|_| ParquetError::General("dictionary too large".into()))?,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        let (head, spec) = pages::serialize(CompressedPage::new(dictionary, uncompressed))?;
        let mut offsets = OffsetIndexBuilder::new();
        let mut sizes = metadata::Sizes {
            compressed: spec.compressed,
            uncompressed: spec.uncompressed,
            values: 0,
            data_pages: self.pages.specs.len(),
            data_page_offset: spec.written,
        };
        let mut at = spec.written;
        for page in &self.pages.specs {
            let size = i32::try_from(page.compressed)
                .map_err(|_| ParquetError::General("page too large".into()))?;
            offsets.append_offset_and_size(at as i64, size);
            sizes.compressed += page.compressed;
            sizes.uncompressed += page.uncompressed;
            sizes.values += u64::from(page.values);
            at += page.written;
        }
        let close = metadata::close(&self, sizes, at, offsets)?;
        Ok(Some((self.pages.into_chunk(head), close)))
    }
}

/// A definition-level encoder for a data page v1: bit width 1, after 4 bytes kept for the
/// levels' length.
fn level_encoder() -> RleEncoder {
    RleEncoder::new_from_buf(1, vec![0; 4])
}

/// `count` levels of `value`.
fn put_run(encoder: &mut RleEncoder, value: u64, count: usize) {
    let mut left = count;
    while left > 0 && !encoder.is_accumulating_rle(value) {
        encoder.put(value);
        left -= 1;
    }
    if left > 0 {
        encoder.extend_run(left);
    }
}

/// A page store on the heap (for tests).
#[cfg(test)]
pub(super) fn heap() -> Box<dyn PageStore> {
    Box::new(parquet::column::page_store::InMemoryPageStore::default())
}

/// The column of a one-field schema of `data_type` (for tests).
#[cfg(test)]
pub(super) fn descr_of(data_type: DataType, nullable: bool) -> ColumnDescPtr {
    let schema =
        arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new("x", data_type, nullable)]);
    parquet::arrow::ArrowSchemaConverter::new()
        .convert(&schema)
        .map(|s| s.column(0))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::arrow_writer::ArrowWriterOptions;
    use parquet::arrow::ArrowWriter;
    use parquet::basic::ZstdLevel;
    use parquet::file::metadata::ParquetMetaData;
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
    use std::sync::Arc;

    #[test]
    fn empty_tables_hold_only_empty_slots() {
        for len in [1024, 1 << 17] {
            let marks: Vec<u32> = empty_table(len);
            let keys: Vec<u64> = empty_table(len);
            assert_eq!((marks.len(), keys.len()), (len, len));
            assert!(marks.iter().all(|&m| m == 0) && keys.iter().all(|&k| k == 0));
            assert_eq!(empty_slot(&marks, len - 1), len - 1);
        }
    }

    fn props(dictionary_limit: usize) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_dictionary_enabled(true)
            .set_data_page_row_count_limit(1000)
            .set_write_batch_size(1000)
            .set_dictionary_page_size_limit(dictionary_limit)
            .build()
    }

    /// 5,000 rows: nulls in runs (rows 1,000-1,999 all null) and scattered, negative values,
    /// strings longer than the statistics' truncation (64 bytes) with characters of 1 to 4
    /// bytes across it, and the empty string.
    fn arrays() -> Vec<(&'static str, ArrayRef)> {
        let n = 5000i64;
        let opt = |i: i64| (!(1000..2000).contains(&i) && i % 7 != 3).then_some(i);
        vec![
            (
                "i64",
                Arc::new(Int64Array::from_iter(
                    (0..n).map(|i| opt(i).map(|v| (v * 37) % 101 - 50)),
                )),
            ),
            (
                "i32",
                Arc::new(Int32Array::from_iter_values(
                    (0..n).map(|i| (i % 300) as i32 - 7),
                )),
            ),
            (
                "date",
                Arc::new(Date32Array::from_iter(
                    (0..n).map(|i| opt(i).map(|v| 19_000 + (v % 61) as i32)),
                )),
            ),
            (
                "f64",
                Arc::new(Float64Array::from_iter((0..n).map(|i| {
                    opt(i).map(|v| match v % 5 {
                        0 => -0.0,
                        1 => 0.0,
                        2 => f64::INFINITY,
                        _ => (v % 97) as f64 / 8.0 - 3.0,
                    })
                }))),
            ),
            (
                "text",
                Arc::new(StringArray::from_iter((0..n).map(|i| {
                    opt(i).map(|v| match (i / 1000, v % 5) {
                        (0, _) => format!("{}{}", "ö".repeat(40), v % 50),
                        (2, _) => format!("{}€{}", "z".repeat(63), v % 13),
                        (3, _) => format!("{}😀{}", "a".repeat(62), v % 17),
                        (_, 0) => String::new(),
                        _ => format!("w{}", (v * 31) % 701),
                    })
                }))),
            ),
            (
                "ts",
                Arc::new(TimestampMicrosecondArray::from_iter_values(
                    (0..n).map(|i| 1_700_000_000_000_000 + i * 1_000_000),
                )),
            ),
        ]
    }

    /// `array` written as one row group by the crate's writer (`ours` false) or by `DictChunk`
    /// pushed in uneven slices.
    fn write(name: &str, array: &ArrayRef, ours: bool, props: WriterProperties) -> Bytes {
        let nullable = array.null_count() > 0;
        let schema = Arc::new(Schema::new(vec![Field::new(
            name,
            array.data_type().clone(),
            nullable,
        )]));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::clone(array)]).unwrap();
        let options = ArrowWriterOptions::new().with_properties(props);
        let mut writer =
            ArrowWriter::try_new_with_options(Vec::new(), Arc::clone(&schema), options).unwrap();
        if !ours {
            writer.write(&batch).unwrap();
            return Bytes::from(writer.into_inner().unwrap());
        }
        let (mut file, _) = writer.into_serialized_writer().unwrap();
        let descr = file.schema_descr().column(0);
        let kind = Kind::of(array.data_type()).unwrap();
        assert!(takes(&descr, file.properties(), array.data_type()));
        let mut chunk =
            DictChunk::new(descr, &Arc::clone(file.properties()), kind, heap()).unwrap();
        let mut at = 0;
        for len in [1, 999, 1, 1500, 37].into_iter().cycle() {
            let len = len.min(array.len() - at);
            assert!(chunk.push(&array.slice(at, len)).unwrap());
            at += len;
            if at == array.len() {
                break;
            }
        }
        let (bytes, close) = chunk.finish().unwrap().unwrap();
        let mut row_group = file.next_row_group().unwrap();
        row_group.append_column(&bytes, close).unwrap();
        row_group.close().unwrap();
        Bytes::from(file.into_inner().unwrap())
    }

    fn read(file: &Bytes) -> (ArrayRef, ParquetMetaData) {
        let metadata = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Required)
            .parse_and_finish(file)
            .unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file.clone()).unwrap();
        let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
        let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        (Arc::clone(batch.column(0)), metadata)
    }

    #[test]
    fn chunks_read_back_with_the_crate_writers_statistics_and_page_index() {
        for (name, array) in arrays() {
            let (theirs, their_meta) = read(&write(name, &array, false, props(1 << 20)));
            let (ours, our_meta) = read(&write(name, &array, true, props(1 << 20)));
            assert_eq!(&ours, &array, "{name}: values");
            assert_eq!(&theirs, &array, "{name}: values (crate)");
            let (a, b) = (
                our_meta.row_group(0).column(0),
                their_meta.row_group(0).column(0),
            );
            assert_eq!(a.statistics(), b.statistics(), "{name}: statistics");
            if name == "text" {
                // The maximum (`z…z€…`) was cut at 64 bytes and incremented; the minimum is "".
                let stats = a.statistics().unwrap();
                assert!(!stats.max_is_exact() && stats.min_is_exact(), "{stats:?}");
            }
            assert_eq!(a.num_values(), b.num_values(), "{name}");
            assert_eq!(
                a.unencoded_byte_array_data_bytes(),
                b.unencoded_byte_array_data_bytes(),
                "{name}"
            );
            assert_eq!(a.compression(), b.compression(), "{name}");
            assert_eq!(a.encodings_mask(), b.encodings_mask(), "{name}");
            assert_eq!(a.page_encoding_stats(), b.page_encoding_stats(), "{name}");
            assert_eq!(
                a.definition_level_histogram(),
                b.definition_level_histogram(),
                "{name}"
            );
            assert_eq!(
                a.repetition_level_histogram(),
                b.repetition_level_histogram()
            );
            assert_eq!(
                a.dictionary_page_offset().is_some(),
                b.dictionary_page_offset().is_some()
            );
            let (x, y) = (
                our_meta.page_index().unwrap(),
                their_meta.page_index().unwrap(),
            );
            assert_eq!(
                x.column_index(0, 0),
                y.column_index(0, 0),
                "{name}: column index"
            );
            let rows = |m: &ParquetMetaData| {
                m.page_index()
                    .unwrap()
                    .offset_index(0, 0)
                    .unwrap()
                    .page_locations()
                    .iter()
                    .map(|p| p.first_row_index)
                    .collect::<Vec<_>>()
            };
            assert_eq!(rows(&our_meta), rows(&their_meta), "{name}: pages");
            let unencoded = |m: &ParquetMetaData| {
                m.page_index()
                    .unwrap()
                    .offset_index(0, 0)
                    .unwrap()
                    .unencoded_byte_array_data_bytes()
                    .cloned()
            };
            assert_eq!(
                unencoded(&our_meta),
                unencoded(&their_meta),
                "{name}: page bytes"
            );
            assert_eq!(rows(&our_meta).len(), 5, "{name}: pages of 1,000 rows");
            // The same pages, compressed alike: within a few bytes of the crate's.
            let (x, y) = (a.compressed_size(), b.compressed_size());
            assert!(
                x.abs_diff(y) * 50 <= y as u64,
                "{name}: {x} bytes against {y}"
            );
        }
    }

    #[test]
    fn a_full_dictionary_or_a_nan_hands_the_chunk_back() {
        let descr = descr_of(DataType::Float64, false);
        let many = Float64Array::from_iter_values((0..2000).map(f64::from));
        let mut chunk = DictChunk::new(
            descr.clone(),
            &props(8 * 1000),
            Kind::Fixed(Width::F64),
            heap(),
        )
        .unwrap();
        assert!(!chunk.push(&many).unwrap());
        assert!(chunk.finish().unwrap().is_none());

        let nan = Float64Array::from_iter_values([1.0, f64::NAN, 2.0]);
        let mut chunk = DictChunk::new(
            descr.clone(),
            &props(1 << 20),
            Kind::Fixed(Width::F64),
            heap(),
        )
        .unwrap();
        assert!(!chunk.push(&nan).unwrap());
        assert!(chunk.finish().unwrap().is_none());

        let mut chunk =
            DictChunk::new(descr, &props(1 << 20), Kind::Fixed(Width::F64), heap()).unwrap();
        assert!(chunk.push(&many).unwrap());
        assert!(chunk.state_bytes() >= 2000 * 8);
        assert!(chunk.finish().unwrap().is_some());
    }

    /// Push `array` in uneven slices until the chunk declines; returns the row of `array` it
    /// declined at, if it did.
    fn push_until_declined(chunk: &mut DictChunk, array: &ArrayRef) -> Option<usize> {
        let mut at = 0;
        for len in [700, 1300, 1, 999].into_iter().cycle() {
            if at == array.len() {
                return None;
            }
            let len = len.min(array.len() - at);
            if !chunk.push(&array.slice(at, len)).unwrap() {
                return Some(at + chunk.declined_at().unwrap());
            }
            at += len;
        }
        None
    }

    /// A chunk handed back part-way gives back the rows it took, decoded from its pages: with
    /// the rest of the array they are the array (a full dictionary of integers, of strings, of
    /// dates; a NaN; nulls in runs and scattered; a chunk of nulls only).
    #[test]
    fn a_chunk_handed_back_replays_the_rows_it_took() {
        let n = 6000i64;
        let opt = |i: i64| (!(1000..1500).contains(&i) && i % 7 != 3).then_some(i);
        let cases: Vec<(ArrayRef, usize, Option<i64>)> = vec![
            (
                Arc::new(Int64Array::from_iter(
                    (0..n).map(|i| opt(i).map(|v| v * 1009 - 7)),
                )),
                8 * 2000,
                // The 2,000th distinct value (a seventh are nulls, and rows 1,000-1,499).
                Some(2000 + 2000 / 6 + 500 + 1),
            ),
            (
                Arc::new(Float64Array::from_iter((0..n).map(|i| {
                    opt(i).map(|v| {
                        if v == 4321 {
                            f64::NAN
                        } else {
                            (v % 50) as f64 / 4.0
                        }
                    })
                }))),
                1 << 20,
                Some(4321),
            ),
            (
                Arc::new(StringArray::from_iter((0..n).map(|i| {
                    opt(i).map(|v| format!("v{}-{}", v % 3000, "ö".repeat(3)))
                }))),
                30_000,
                None,
            ),
            (
                Arc::new(Date32Array::from_iter_values((0..n).map(|i| i as i32))),
                4 * 3000,
                Some(2999),
            ),
            (
                Arc::new(Int32Array::from_iter((0..n).map(|_| None::<i32>))),
                1 << 20,
                None,
            ),
            // No nulls, in a required column (no levels).
            (
                Arc::new(TimestampMicrosecondArray::from_iter_values(
                    (0..n).map(|i| i * 1_000_003),
                )),
                8 * 1500,
                Some(1499),
            ),
        ];
        for (array, limit, declines_at) in cases {
            let data_type = array.data_type().clone();
            let kind = Kind::of(&data_type).unwrap();
            let nullable = array.null_count() > 0;
            let mut chunk = DictChunk::new(
                descr_of(data_type.clone(), nullable),
                &props(limit),
                kind,
                heap(),
            )
            .unwrap();
            let declined = push_until_declined(&mut chunk, &array);
            // It declines at the start of the stretch (a page, or at most `CHECK_ROWS`) that
            // holds the value it cannot take.
            if let (Some(row), Some(at)) = (declines_at, declined) {
                let row = row as usize;
                assert!(
                    at <= row && row < at + CHECK_ROWS,
                    "{data_type}: {at} for {row}"
                );
            }
            if array.null_count() < array.len() {
                assert!(declined.is_some(), "{data_type}: the chunk took everything");
            } else {
                assert!(declined.is_none() && chunk.is_empty());
            }
            let taken = declined.unwrap_or(array.len());
            let mut back: Vec<ArrayRef> = Vec::new();
            chunk
                .replay(&data_type, &mut |a| {
                    back.push(Arc::clone(a));
                    Ok(())
                })
                .unwrap();
            back.push(array.slice(taken, array.len() - taken));
            let back: Vec<&dyn Array> = back.iter().map(|a| a.as_ref()).collect();
            let whole = arrow::compute::concat(&back).unwrap();
            assert_eq!(whole.as_ref(), array.as_ref(), "{data_type}");
        }
    }
}
