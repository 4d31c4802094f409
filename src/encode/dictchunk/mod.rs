//! Dictionary-encoded column chunks of fixed-width values (integers, dates, times, timestamps,
//! doubles), written here instead of by the parquet crate's column writer.
//!
//! The crate's dictionary encoder hashes every value with a general-purpose hasher and
//! compares its bytes through a call: on the wide shape `Interner::intern` took 13.5% of the
//! CPU in four instantiations, with `memcmp` 4.3% and `hash_one` 1.1% more (`perf record -e
//! cpu-clock`, 512 MiB). The column-at-a-time writer (see `columnwise`) sees a row group's
//! whole column, so it can write the chunk itself: one multiplication of the value's bits into
//! an open-addressed table of `u32` slots, an integer comparison per probe.
//!
//! The chunk is laid out as the crate lays out a dictionary chunk: the dictionary page first
//! (PLAIN), then data pages v1 (definition levels RLE with their length, then the indices
//! RLE_DICTIONARY, bit-packed at the width of the dictionary so far), cut at the row-count
//! and page-size limits of the writer properties. Its metadata is the crate's: statistics
//! (total order for doubles, NaN counts), the column index (page minima and maxima, null
//! pages and counts, boundary order, definition-level histograms), the offset index, the
//! encodings and page-encoding statistics. It is appended with
//! `SerializedRowGroupWriter::append_column`.
//!
//! Only what the crate would write as a whole dictionary chunk is taken here. A dictionary
//! that reaches the dictionary page limit (or [`MAX_ENTRIES`]), a NaN, or a column of nulls only is handed back
//! (`push` returns false, `finish` None) and the crate's writer writes the column, with its
//! fallback to other encodings as before.

use arrow::array::{Array, ArrayData};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, TimeUnit};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask, PageType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::compression::{create_codec, Codec, CodecOptionsBuilder};
use parquet::encodings::rle::RleEncoder;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, OffsetIndexBuilder, PageEncodingStats};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

mod metadata;

type PResult<T> = std::result::Result<T, ParquetError>;

/// Rows between checks of the page-size limit (the crate checks after each batch of its
/// default `write_batch_size`).
const CHECK_ROWS: usize = 1024;

/// Slots of the hash table to begin with (a power of two).
const FIRST_SLOTS: usize = 1024;

/// Entries of a dictionary at most; past it the chunk goes to the crate's writer. The table
/// is then at most 2^17 slots of 12 bytes, with 8 bytes an entry and a page of 8-byte
/// indices: ~2 MiB, inside the line of a column's writer (`columnwise::COLUMN_WRITER_HEAP`,
/// 3 MiB, which also holds the codec's context and the dictionary page). The crate's own limit, 1 MiB of PLAIN
/// values, is 131,072 doubles; a row group's column rarely has more than 32,768 distinct
/// values and still fits it.
pub(super) const MAX_ENTRIES: usize = 1 << 15;

/// The multiplier of the hash (2^64 over the golden ratio): a key's top bits after it pick
/// the slot.
const HASH: u64 = 0x9E37_79B9_7F4A_7C15;

/// The physical values a chunk takes, and how their bits order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Width {
    /// INT32: `Int32`, `Date32`.
    I32,
    /// INT64: `Int64`, `Time64(µs)`, timestamps of ms, µs and ns.
    I64,
    /// DOUBLE: `Float64`.
    F64,
}

impl Width {
    /// The width of `data_type`'s values, if this module writes them.
    pub(super) fn of(data_type: &DataType) -> Option<Width> {
        match data_type {
            DataType::Int32 | DataType::Date32 => Some(Width::I32),
            DataType::Int64
            | DataType::Time64(TimeUnit::Microsecond)
            | DataType::Timestamp(
                TimeUnit::Millisecond | TimeUnit::Microsecond | TimeUnit::Nanosecond,
                _,
            ) => Some(Width::I64),
            DataType::Float64 => Some(Width::F64),
            _ => None,
        }
    }

    fn bytes(self) -> usize {
        match self {
            Width::I32 => 4,
            Width::I64 | Width::F64 => 8,
        }
    }

    /// A key of `bits` whose signed order is the column's sort order (IEEE 754 total order
    /// for doubles, as the crate's statistics use).
    #[inline]
    fn order(self, bits: u64) -> i64 {
        match self {
            Width::I32 => i64::from(bits as u32 as i32),
            Width::I64 => bits as i64,
            Width::F64 => total_order(bits as i64),
        }
    }

    /// The bits of an order key (the inverse of `order`).
    pub(super) fn bits(self, key: i64) -> u64 {
        match self {
            Width::I32 => u64::from(key as i32 as u32),
            Width::I64 => key as u64,
            Width::F64 => total_order(key) as u64,
        }
    }

    /// The little-endian bytes of the value of `bits` (PLAIN encoding, and the column index).
    fn put(self, bits: u64, out: &mut Vec<u8>) {
        match self {
            Width::I32 => out.extend_from_slice(&(bits as u32).to_le_bytes()),
            Width::I64 | Width::F64 => out.extend_from_slice(&bits.to_le_bytes()),
        }
    }

    pub(super) fn le_bytes(self, bits: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(8);
        self.put(bits, &mut out);
        out
    }
}

/// The signed integer whose order is the total order of the double of `bits`; its own inverse.
#[inline]
fn total_order(bits: i64) -> i64 {
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// Whether a column of `data_type` described by `descr` is written here under `props`: a flat
/// dictionary column of fixed-width values whose writer settings this module follows (data
/// page v1, page statistics, no page-header statistics, no bloom filter).
pub(super) fn takes(descr: &ColumnDescPtr, props: &WriterProperties, data_type: &DataType) -> bool {
    let path = descr.path();
    Width::of(data_type).is_some()
        && descr.max_rep_level() == 0
        && descr.max_def_level() <= 1
        && props.dictionary_enabled(path)
        && props.writer_version() == WriterVersion::PARQUET_1_0
        && props.statistics_enabled(path) == EnabledStatistics::Page
        && !props.write_page_header_statistics(path)
        && props.bloom_filter_properties(path).is_none()
        && !props.offset_index_disabled()
}

/// A written page's figures, for the column index.
pub(super) struct PageStats {
    pub(super) rows: usize,
    pub(super) nulls: usize,
    /// The least and greatest order keys of its values (none for a page of nulls).
    pub(super) range: Option<(i64, i64)>,
}

/// One column chunk being dictionary-encoded.
pub(super) struct DictChunk {
    descr: ColumnDescPtr,
    width: Width,
    nullable: bool,
    codec: Compression,
    compressor: Option<Box<dyn Codec>>,
    row_limit: usize,
    page_limit: usize,
    /// Dictionary bytes (PLAIN) at which the crate's writer falls back.
    dictionary_limit: usize,
    /// Open addressing: a slot's mark is its entry's index plus one (0 when empty), its key
    /// the entry's bits.
    marks: Vec<u32>,
    keys: Vec<u64>,
    /// 64 minus the table's bits: a hash's top bits pick the slot.
    shift: u32,
    /// The dictionary: its entries' bits, in index order.
    entries: Vec<u64>,
    /// The open page's indices, definition levels, rows, nulls and range.
    indices: Vec<u64>,
    levels: RleEncoder,
    rows: usize,
    nulls: usize,
    range: Option<(i64, i64)>,
    /// Pages encoded, until the dictionary page goes before them.
    pages: Vec<CompressedPage>,
    stats: Vec<PageStats>,
    declined: bool,
}

impl DictChunk {
    /// A chunk of `descr`'s column, of `width` values, under `props`.
    pub(super) fn new(
        descr: ColumnDescPtr,
        props: &WriterProperties,
        width: Width,
    ) -> PResult<Self> {
        let path = descr.path();
        let codec = props.compression(path);
        let compressor = create_codec(codec, &CodecOptionsBuilder::default().build())?;
        Ok(DictChunk {
            width,
            nullable: descr.max_def_level() > 0,
            codec,
            compressor,
            row_limit: props.column_data_page_row_count_limit(path).max(1),
            page_limit: props.column_data_page_size_limit(path),
            dictionary_limit: props.column_dictionary_page_size_limit(path),
            shift: 64 - FIRST_SLOTS.trailing_zeros(),
            marks: vec![0; FIRST_SLOTS],
            keys: vec![0; FIRST_SLOTS],
            entries: Vec::new(),
            indices: Vec::new(),
            levels: level_encoder(),
            rows: 0,
            nulls: 0,
            range: None,
            pages: Vec::new(),
            stats: Vec::new(),
            declined: false,
            descr,
        })
    }

    /// Heap bytes of the chunk's state: the table, the dictionary, the open page's indices.
    /// (The pages encoded are the chunk's bytes, which the hold counts as it counts the
    /// crate's chunks.)
    #[cfg(test)]
    pub(super) fn state_bytes(&self) -> usize {
        self.marks.capacity() * 4
            + self.keys.capacity() * 8
            + self.entries.capacity() * 8
            + self.indices.capacity() * 8
    }

    /// Add `array`'s values; false once the chunk is handed back to the crate's writer (its
    /// dictionary reached the limit, or a NaN came), when the rest need not be pushed.
    pub(super) fn push(&mut self, array: &dyn Array) -> PResult<bool> {
        if self.declined {
            return Ok(false);
        }
        let data: ArrayData = array.to_data();
        let nulls = data.nulls().filter(|n| n.null_count() > 0).cloned();
        match self.width {
            Width::I32 => {
                let values = data.buffer::<i32>(0).get(..data.len()).unwrap_or_default();
                self.push_values(values, nulls.as_ref(), |v| u64::from(v as u32))?
            }
            Width::I64 => {
                let values = data.buffer::<i64>(0).get(..data.len()).unwrap_or_default();
                self.push_values(values, nulls.as_ref(), |v| v as u64)?
            }
            Width::F64 => {
                let values = data.buffer::<f64>(0).get(..data.len()).unwrap_or_default();
                self.push_values(values, nulls.as_ref(), f64::to_bits)?
            }
        }
        Ok(!self.declined)
    }

    fn push_values<T: Copy>(
        &mut self,
        values: &[T],
        nulls: Option<&NullBuffer>,
        bits: impl Fn(T) -> u64 + Copy,
    ) -> PResult<()> {
        let mut at = 0;
        while at < values.len() && !self.declined {
            let room = (self.row_limit - self.rows).min(CHECK_ROWS - self.rows % CHECK_ROWS);
            let end = values.len().min(at + room);
            let (mut lo, mut hi) = self.range.unwrap_or((i64::MAX, i64::MIN));
            let mut valid = 0;
            match nulls {
                None => {
                    for &v in &values[at..end] {
                        if !self.take(bits(v), &mut lo, &mut hi) {
                            return Ok(());
                        }
                    }
                    valid = end - at;
                    if self.nullable {
                        put_run(&mut self.levels, 1, valid);
                    }
                }
                Some(nulls) => {
                    for (i, &v) in values.iter().enumerate().take(end).skip(at) {
                        let is_valid = nulls.is_valid(i);
                        self.levels.put(u64::from(is_valid));
                        if !is_valid {
                            continue;
                        }
                        if !self.take(bits(v), &mut lo, &mut hi) {
                            return Ok(());
                        }
                        valid += 1;
                    }
                }
            }
            if valid > 0 {
                self.range = Some((lo, hi));
            }
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
        Ok(())
    }

    /// Add a value's index to the open page and its order key to `lo` and `hi`; false when
    /// the chunk was declined instead.
    #[inline(always)]
    fn take(&mut self, bits: u64, lo: &mut i64, hi: &mut i64) -> bool {
        let Some(index) = self.intern(bits) else {
            return false;
        };
        self.indices.push(u64::from(index));
        let key = self.width.order(bits);
        *lo = (*lo).min(key);
        *hi = (*hi).max(key);
        true
    }

    /// The index of `bits` in the dictionary, added if new; none (and the chunk declined) when
    /// the dictionary reached its limit or the value is a NaN. A slot's key sits beside its
    /// mark, so a probe's two loads go out together, and the table is kept at most a quarter
    /// full, so that a lookup rarely probes twice: a second probe is a mispredicted branch,
    /// which stalls the lookups in flight behind it (at half full the function took 7.5% of
    /// the wide shape's CPU, ~8 ns a value).
    #[inline(always)]
    fn intern(&mut self, bits: u64) -> Option<u32> {
        let mask = self.marks.len() - 1;
        let mut slot = (bits.wrapping_mul(HASH) >> self.shift) as usize & mask;
        loop {
            let mark = self.marks[slot];
            if mark == 0 {
                break;
            }
            if self.keys[slot] == bits {
                return Some(mark - 1);
            }
            slot = (slot + 1) & mask;
        }
        let nan = self.width == Width::F64 && f64::from_bits(bits).is_nan();
        if nan
            || self.entries.len() >= MAX_ENTRIES
            || (self.entries.len() + 1) * self.width.bytes() >= self.dictionary_limit
        {
            self.declined = true;
            return None;
        }
        let index = u32::try_from(self.entries.len()).ok()?;
        self.entries.push(bits);
        self.marks[slot] = index + 1;
        self.keys[slot] = bits;
        if self.entries.len() * 4 > self.marks.len() {
            self.grow();
        }
        Some(index)
    }

    /// Double the table and place every entry again.
    fn grow(&mut self) {
        let len = self.marks.len() * 2;
        self.marks = vec![0; len];
        self.keys = vec![0; len];
        self.shift -= 1;
        let mask = len - 1;
        for (index, &bits) in self.entries.iter().enumerate() {
            let mut slot = (bits.wrapping_mul(HASH) >> self.shift) as usize & mask;
            while self.marks[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.marks[slot] = index as u32 + 1;
            self.keys[slot] = bits;
        }
    }

    /// Bits per index: enough for the dictionary so far (the crate's width).
    fn bit_width(&self) -> u8 {
        let most = self.entries.len().saturating_sub(1) as u64;
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
        self.pages.push(CompressedPage::new(page, uncompressed));
        self.stats.push(PageStats {
            rows: self.rows,
            nulls: self.nulls,
            range: self.range.take(),
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

    /// The chunk's bytes (dictionary page first) and what the row group needs to append them;
    /// none when it was handed back, or holds no value.
    pub(super) fn finish(mut self) -> PResult<Option<(Bytes, ColumnCloseResult)>> {
        if self.declined {
            return Ok(None);
        }
        self.flush_page()?;
        if self.entries.is_empty() {
            return Ok(None);
        }
        let width = self.width;
        let mut plain = Vec::with_capacity(self.entries.len() * width.bytes());
        for &bits in &self.entries {
            width.put(bits, &mut plain);
        }
        let uncompressed = plain.len();
        let dictionary = Page::DictionaryPage {
            buf: self.compress(plain)?.into(),
            num_values: u32::try_from(self.entries.len())
                .map_err(|_| ParquetError::General("dictionary too large".into()))?,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        let capacity = self
            .pages
            .iter()
            .map(|p| p.data().len() + 64)
            .sum::<usize>();
        let mut sink = TrackedWrite::new(Vec::with_capacity(capacity + uncompressed + 64));
        let mut offsets = OffsetIndexBuilder::new();
        let (mut compressed, mut total_uncompressed, mut written, mut values) = (0, 0, 0, 0);
        let mut data_page_offset = None;
        let pages = std::mem::take(&mut self.pages);
        let data_pages = pages.len();
        {
            let mut writer = SerializedPageWriter::new(&mut sink);
            let spec = writer.write_page(CompressedPage::new(dictionary, uncompressed))?;
            compressed += spec.compressed_size;
            total_uncompressed += spec.uncompressed_size;
            written += spec.bytes_written;
            for page in pages {
                let spec = writer.write_page(page)?;
                data_page_offset.get_or_insert(spec.offset);
                offsets.append_offset_and_size(
                    spec.offset as i64,
                    i32::try_from(spec.compressed_size)
                        .map_err(|_| ParquetError::General("page too large".into()))?,
                );
                compressed += spec.compressed_size;
                total_uncompressed += spec.uncompressed_size;
                written += spec.bytes_written;
                values += u64::from(spec.num_values);
            }
            writer.close()?;
        }
        let (index, statistics, definitions) =
            metadata::indexes(&self.descr, width, &self.stats, &mut offsets)?;
        let encodings = [Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY];
        let metadata = ColumnChunkMetaData::builder(self.descr.clone())
            .set_compression(self.codec)
            .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
            .set_page_encoding_stats(vec![
                PageEncodingStats {
                    page_type: PageType::DICTIONARY_PAGE,
                    encoding: Encoding::PLAIN,
                    count: 1,
                },
                PageEncodingStats {
                    page_type: PageType::DATA_PAGE,
                    encoding: Encoding::RLE_DICTIONARY,
                    count: i32::try_from(data_pages).unwrap_or(i32::MAX),
                },
            ])
            .set_total_compressed_size(compressed as i64)
            .set_total_uncompressed_size(total_uncompressed as i64)
            .set_num_values(values as i64)
            .set_data_page_offset(data_page_offset.unwrap_or(0) as i64)
            .set_dictionary_page_offset(Some(0))
            .set_statistics(statistics)
            .set_unencoded_byte_array_data_bytes(None)
            .set_repetition_level_histogram(None)
            .set_definition_level_histogram(definitions)
            .build()?;
        let rows = self.stats.iter().map(|s| s.rows as u64).sum();
        let close = ColumnCloseResult {
            bytes_written: written,
            rows_written: rows,
            metadata,
            bloom_filter: None,
            column_index: Some(index.build()?),
            offset_index: Some(offsets.build()),
        };
        Ok(Some((Bytes::from(sink.into_inner()?), close)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::arrow_writer::ArrowWriterOptions;
    use parquet::arrow::ArrowWriter;
    use parquet::basic::ZstdLevel;
    use parquet::file::metadata::ParquetMetaData;
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
    use std::sync::Arc;

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

    /// 5,000 rows: nulls in runs (rows 1,000-1,999 all null) and scattered, negative values.
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
        let width = Width::of(array.data_type()).unwrap();
        assert!(takes(&descr, file.properties(), array.data_type()));
        let mut chunk = DictChunk::new(descr, &Arc::clone(file.properties()), width).unwrap();
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
            assert_eq!(a.num_values(), b.num_values(), "{name}");
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
        let schema = Schema::new(vec![Field::new("x", DataType::Float64, false)]);
        let descr = parquet::arrow::ArrowSchemaConverter::new()
            .convert(&schema)
            .unwrap()
            .column(0);
        let many = Float64Array::from_iter_values((0..2000).map(f64::from));
        let mut chunk = DictChunk::new(descr.clone(), &props(8 * 1000), Width::F64).unwrap();
        assert!(!chunk.push(&many).unwrap());
        assert!(chunk.finish().unwrap().is_none());

        let nan = Float64Array::from_iter_values([1.0, f64::NAN, 2.0]);
        let mut chunk = DictChunk::new(descr.clone(), &props(1 << 20), Width::F64).unwrap();
        assert!(!chunk.push(&nan).unwrap());
        assert!(chunk.finish().unwrap().is_none());

        let mut chunk = DictChunk::new(descr, &props(1 << 20), Width::F64).unwrap();
        assert!(chunk.push(&many).unwrap());
        assert!(chunk.state_bytes() >= 2000 * 8);
        assert!(chunk.finish().unwrap().is_some());
    }
}
