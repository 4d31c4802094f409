//! Stitching: N Parquet files of one schema (fragments, each converted from a byte range of one
//! CSV by its own worker) become ONE Parquet file without re-encoding anything: the row-group
//! bytes of every fragment are copied as they are, in order, and a new footer describes them.
//!
//! The output is `PAR1`, then each fragment's row-group bytes (`[4, end of its last column
//! chunk)`; fragment 0 keeps its own `PAR1`), then the page indexes and the footer built here.
//! Every absolute offset a fragment's metadata holds moves by where its bytes land: column
//! chunks (data, dictionary and index pages, bloom filters written after their row group),
//! `RowGroup.file_offset`, and the page locations of the offset index. The column and offset
//! indexes themselves (which each fragment wrote after its row groups, outside the copied
//! bytes) are written again, shifted, just before the footer. Row groups are numbered again
//! (`ordinal`), and the key-value metadata is fragment 0's with the counts summed.
//!
//! The copy can run anywhere: [`Stitch::pieces`] says which byte range of which fragment goes
//! where, and [`Stitch::footer`] is the last bytes; on S3 the pieces are `UploadPartCopy`
//! ranges (no data through the caller), locally [`stitch_files`] copies them.
//!
//! The plan is made one fragment at a time ([`Stitcher`]), so memory does not grow with the
//! number of row groups times columns: each row group's page indexes are serialized as soon as
//! it is placed (~100 bytes per column chunk), and its `RowGroup` struct goes to a
//! [`log::FooterLog`] in an unlinked temporary file (~150 bytes per column chunk), where the
//! parquet crate's structures take ~1-3 KB per column chunk. Where the page indexes land must be
//! known first, so the callers read each fragment's footer twice: once for where its row
//! groups end ([`Fragment::data_end`]), once with its page indexes when it is added.

use std::io::Write;
use std::ops::Range;

use parquet::file::metadata::page_index::PageIndexBuilder;
use parquet::file::metadata::{
    ColumnChunkMetaData, PageIndexPolicy, ParquetMetaData, ParquetMetaDataOptions,
    ParquetMetaDataReader, ParquetMetaDataWriter, RowGroupMetaData,
};
use parquet::file::statistics::Statistics;
use parquet::file::writer::TrackedWrite;

use crate::convert::metadata;
use crate::error::{Error, Result};

pub mod log;
pub mod parts;
mod plan;

pub use plan::{stitch, Stitcher};

/// `PAR1`: the magic at both ends of a Parquet file.
const MAGIC: &[u8; 4] = b"PAR1";

/// Counts in the key-value metadata that add up over fragments.
const SUMMED: [&str; 4] = [
    metadata::ROWS,
    metadata::REJECTED,
    metadata::NULLED,
    metadata::UTF8_REPLACED,
];

/// One fragment: its metadata (with its page indexes) and where its row-group bytes end.
#[derive(Debug)]
pub struct Fragment {
    /// Its location, for errors.
    pub location: String,
    /// Its metadata, page indexes loaded.
    pub metadata: ParquetMetaData,
    /// End of its last column chunk (bloom filters written after their row group included):
    /// its row-group bytes are `[4, end)`.
    pub end: u64,
}

impl Fragment {
    /// The fragment whose metadata is `metadata`: checks that its row-group bytes are one run
    /// from byte 4 (as the Arrow writer lays them out).
    pub fn new(location: impl Into<String>, metadata: ParquetMetaData) -> Result<Self> {
        let location = location.into();
        let mut end = MAGIC.len() as u64;
        for rg in metadata.row_groups() {
            for c in rg.columns() {
                let (start, len) = c.byte_range();
                if start < end {
                    return Err(invalid(
                        &location,
                        format!("column chunk at byte {start} overlaps the bytes before it"),
                    ));
                }
                end = start + len;
                if let (Some(at), Some(len)) = (c.bloom_filter_offset(), c.bloom_filter_length()) {
                    end = end.max(at as u64 + len as u64);
                }
            }
        }
        Ok(Fragment {
            location,
            metadata,
            end,
        })
    }

    /// Read the metadata (and page indexes) of the Parquet file in `bytes`.
    pub fn read(location: impl Into<String>, bytes: &bytes::Bytes) -> Result<Self> {
        let location = location.into();
        let metadata = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .with_metadata_options(Some(full_encoding_stats()))
            .parse_and_finish(bytes)
            .map_err(|e| Error::Parquet {
                location: location.clone(),
                source: e,
            })?;
        Fragment::new(location, metadata)
    }

    /// The fragment whose bytes from `start` to its end (`len`) are `tail`: enough when the
    /// tail holds the page indexes and the footer (everything from the end of the row groups,
    /// [`Fragment::footer_len`] tells how much to fetch first).
    pub fn from_tail(
        location: impl Into<String>,
        len: u64,
        start: u64,
        tail: bytes::Bytes,
    ) -> Result<Self> {
        let location = location.into();
        let perr = |e| Error::Parquet {
            location: location.clone(),
            source: e,
        };
        let reader = Tail {
            len,
            start,
            bytes: tail,
        };
        let metadata = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .with_metadata_options(Some(full_encoding_stats()))
            .parse_and_finish(&reader)
            .map_err(perr)?;
        Fragment::new(location, metadata)
    }

    /// The end of the row groups of the Parquet file whose last bytes (at least its footer)
    /// are `tail`: where the tail to hand [`Fragment::from_tail`] starts.
    pub fn data_end(location: &str, tail: &[u8]) -> Result<u64> {
        let footer = Fragment::footer_len(location, tail)? as usize;
        let Some(start) = tail.len().checked_sub(8 + footer) else {
            return Err(invalid(
                location,
                "the tail does not hold the whole footer".into(),
            ));
        };
        let metadata = ParquetMetaDataReader::decode_metadata(&tail[start..tail.len() - 8])
            .map_err(|e| Error::Parquet {
                location: location.to_string(),
                source: e,
            })?;
        Ok(Fragment::new(location, metadata)?.end)
    }

    /// The length of the footer metadata of a Parquet file whose last bytes are `tail` (at
    /// least 8: the length and `PAR1`).
    pub fn footer_len(location: &str, tail: &[u8]) -> Result<u64> {
        let n = tail.len();
        if n < 8 || &tail[n - 4..] != MAGIC {
            return Err(invalid(
                location,
                "not a Parquet file (no PAR1 at its end)".into(),
            ));
        }
        let mut le = [0u8; 4];
        le.copy_from_slice(&tail[n - 8..n - 4]);
        Ok(u64::from(u32::from_le_bytes(le)))
    }

    /// The bytes the output takes from this fragment: with its `PAR1` for the first.
    fn copied(&self, first: bool) -> Range<u64> {
        copied_range(self.end, first)
    }
}

/// The bytes the output takes from a fragment whose row groups end at `end`: with its `PAR1`
/// for the first.
pub fn copied_range(end: u64, first: bool) -> Range<u64> {
    let start = if first { 0 } else { MAGIC.len() as u64 };
    start..end.max(start)
}

/// The bytes the output takes from fragments whose row groups end at `ends`, in order: what
/// [`Stitcher::new`] is given.
pub fn data_bytes(ends: impl IntoIterator<Item = u64>) -> u64 {
    ends.into_iter()
        .enumerate()
        .map(|(i, end)| {
            let r = copied_range(end, i == 0);
            r.end - r.start
        })
        .sum()
}

impl Fragment {
    /// The count `key` of its key-value metadata, if it has it as a number.
    fn count(&self, key: &str) -> Option<u64> {
        self.metadata
            .file_metadata()
            .key_value_metadata()?
            .iter()
            .find(|kv| kv.key == key)?
            .value
            .as_deref()?
            .parse()
            .ok()
    }
}

/// The last bytes of a file, from `start`, as a [`ChunkReader`] of the whole file: reads
/// before `start` fail.
struct Tail {
    len: u64,
    start: u64,
    bytes: bytes::Bytes,
}

impl parquet::file::reader::Length for Tail {
    fn len(&self) -> u64 {
        self.len
    }
}

impl parquet::file::reader::ChunkReader for Tail {
    type T = bytes::buf::Reader<bytes::Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        Ok(self
            .get_bytes(start, (self.len - start.min(self.len)) as usize)?
            .reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        let from = start.checked_sub(self.start).map(|o| o as usize);
        match from {
            Some(from) if from + length <= self.bytes.len() => {
                Ok(self.bytes.slice(from..from + length))
            }
            _ => Err(parquet::errors::ParquetError::General(format!(
                "bytes {start}..{} are before the fetched tail (from {})",
                start + length as u64,
                self.start
            ))),
        }
    }
}

/// How to write the stitched file.
#[derive(Debug)]
pub struct Stitch {
    /// In order: (fragment index, byte range of that fragment).
    pub pieces: Vec<(usize, Range<u64>)>,
    /// The bytes after the pieces: page indexes, footer, its length and `PAR1`.
    pub footer: Vec<u8>,
    /// The file's size.
    pub size: u64,
    /// Its rows.
    pub rows: i64,
    /// Its row groups.
    pub row_groups: usize,
}

/// Reader options that keep each column chunk's page encoding statistics as they are (the
/// reader's default turns them into a mask, which is not written again: the footer written
/// from it would lose them).
fn full_encoding_stats() -> ParquetMetaDataOptions {
    ParquetMetaDataOptions::new().with_encoding_stats_as_mask(false)
}

fn invalid(location: &str, message: String) -> Error {
    Error::Parquet {
        location: location.to_string(),
        source: parquet::errors::ParquetError::General(format!("cannot stitch: {message}")),
    }
}

/// The page indexes of row group `g` of `metadata` into `page_index` as row group `index`,
/// the page locations moved by `shift` bytes.
pub(crate) fn put_shifted_indexes(
    page_index: &mut PageIndexBuilder,
    metadata: &ParquetMetaData,
    g: usize,
    index: usize,
    shift: i64,
) {
    let Some(indexes) = metadata.page_index() else {
        return;
    };
    for c in 0..metadata.file_metadata().schema_descr().num_columns() {
        if let Some(ci) = indexes.column_index(g, c) {
            page_index.put_column_index(ci.clone(), index, c);
        }
        if let Some(oi) = indexes.offset_index(g, c) {
            let mut oi = oi.clone();
            for page in &mut oi.page_locations {
                page.offset += shift;
            }
            page_index.put_offset_index(oi, index, c);
        }
    }
}

/// `rg` moved by `shift` bytes, as row group `ordinal`.
pub(crate) fn shifted_group(
    rg: &RowGroupMetaData,
    shift: i64,
    ordinal: usize,
) -> Result<RowGroupMetaData> {
    let move_by = |o: Option<i64>| o.map(|o| o + shift);
    let columns: Vec<ColumnChunkMetaData> = rg
        .columns()
        .iter()
        .map(|c| {
            let mut chunk = c.clone().into_builder();
            if let Some(s) = c.statistics() {
                let signed = c.column_descr().sort_order().is_signed();
                chunk = chunk.set_statistics(as_written(s.clone(), signed));
            }
            chunk
                .set_data_page_offset(c.data_page_offset() + shift)
                .set_dictionary_page_offset(move_by(c.dictionary_page_offset()))
                .set_index_page_offset(move_by(c.index_page_offset()))
                .set_bloom_filter_offset(move_by(c.bloom_filter_offset()))
                // Written again with the page indexes.
                .set_column_index_offset(None)
                .set_column_index_length(None)
                .set_offset_index_offset(None)
                .set_offset_index_length(None)
                .build()
        })
        .collect::<parquet::errors::Result<_>>()
        .map_err(|e| Error::Internal(format!("stitching column chunks: {e}")))?;
    let ordinal =
        i32::try_from(ordinal).map_err(|_| Error::Internal("more than 2^31 row groups".into()))?;
    rg.clone()
        .into_builder()
        .set_column_metadata(columns)
        .set_file_offset(rg.file_offset().unwrap_or(0) + shift)
        .set_ordinal(ordinal)
        .build()
        .map_err(|e| Error::Internal(format!("stitching row groups: {e}")))
}

/// `statistics` as the column writer makes them: a column of a signed sort order also writes
/// the deprecated `min`/`max` fields, for older readers. A reader does not keep that flag, so
/// without this a rewritten footer would drop those fields.
fn as_written(statistics: Statistics, signed: bool) -> Statistics {
    match statistics {
        Statistics::Boolean(v) => Statistics::Boolean(v.with_backwards_compatible_min_max(signed)),
        Statistics::Int32(v) => Statistics::Int32(v.with_backwards_compatible_min_max(signed)),
        Statistics::Int64(v) => Statistics::Int64(v.with_backwards_compatible_min_max(signed)),
        Statistics::Int96(v) => Statistics::Int96(v.with_backwards_compatible_min_max(signed)),
        Statistics::Float(v) => Statistics::Float(v.with_backwards_compatible_min_max(signed)),
        Statistics::Double(v) => Statistics::Double(v.with_backwards_compatible_min_max(signed)),
        Statistics::ByteArray(v) => {
            Statistics::ByteArray(v.with_backwards_compatible_min_max(signed))
        }
        Statistics::FixedLenByteArray(v) => {
            Statistics::FixedLenByteArray(v.with_backwards_compatible_min_max(signed))
        }
    }
}

/// Drops the first `skip` bytes written to it and keeps the rest: the writer of the footer
/// counts positions from the start of the file, which is not in this buffer.
struct SkipFirst {
    skip: u64,
    kept: Vec<u8>,
}

impl Write for &mut SkipFirst {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let dropped = (self.skip.min(buf.len() as u64)) as usize;
        self.skip -= dropped as u64;
        self.kept.extend_from_slice(&buf[dropped..]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The page indexes and footer of `metadata` for a file whose row-group bytes end at `at`.
pub(crate) fn footer_at(metadata: &ParquetMetaData, at: u64, location: &str) -> Result<Vec<u8>> {
    // Positions are counted by writing (and dropping) `at` zeros: a MiB at a time, so that a
    // footer at the end of a 50 GB file costs ~50,000 writes (the footer log places each row
    // group's page indexes this way).
    static ZEROS: [u8; 1 << 20] = [0; 1 << 20];
    let mut sink = SkipFirst {
        skip: at,
        kept: Vec::new(),
    };
    let perr = |e: parquet::errors::ParquetError| Error::Parquet {
        location: location.to_string(),
        source: e,
    };
    {
        let mut tracked = TrackedWrite::new(&mut sink);
        let mut left = at;
        while left > 0 {
            let n = left.min(ZEROS.len() as u64) as usize;
            tracked.write_all(&ZEROS[..n]).map_err(|e| perr(e.into()))?;
            left -= n as u64;
        }
        ParquetMetaDataWriter::new_with_tracked(tracked, metadata)
            .finish()
            .map_err(perr)?;
    }
    Ok(sink.kept)
}

/// [`footer_at`] without the length and `PAR1` at its end: the page indexes, then the
/// serialized `FileMetaData` from the returned offset on.
pub(crate) fn indexes_and_metadata_at(
    metadata: &ParquetMetaData,
    at: u64,
    location: &str,
) -> Result<(Vec<u8>, usize)> {
    let mut written = footer_at(metadata, at, location)?;
    let len = Fragment::footer_len(location, &written)? as usize;
    let start = written
        .len()
        .checked_sub(8 + len)
        .ok_or_else(|| Error::Internal("a footer is shorter than its length".into()))?;
    written.truncate(start + len);
    Ok((written, start))
}

/// Stitch the Parquet files `inputs` into `output` (a local file), in order, with `overrides`
/// in its key-value metadata (see [`stitch`]). Fragments are
/// read one at a time (memory: one fragment's metadata, the plan's page indexes and a copy
/// buffer); the output is written to a
/// temporary file beside it and renamed into place, so a failure leaves nothing at `output`.
pub fn stitch_files(
    inputs: &[std::path::PathBuf],
    output: &std::path::Path,
    overrides: &[(String, String)],
) -> Result<Stitch> {
    use std::io::{Read, Seek, SeekFrom};
    let open = |p: &std::path::PathBuf| {
        std::fs::File::open(p).map_err(|source| Error::Read {
            location: p.display().to_string(),
            source,
        })
    };
    let read = |p: &std::path::PathBuf, policy: PageIndexPolicy| -> Result<Fragment> {
        let file = open(p)?;
        let metadata = ParquetMetaDataReader::new()
            .with_page_index_policy(policy)
            .with_metadata_options(Some(full_encoding_stats()))
            .parse_and_finish(&file)
            .map_err(|e| Error::Parquet {
                location: p.display().to_string(),
                source: e,
            })?;
        Fragment::new(p.display().to_string(), metadata)
    };
    // Where the row groups end, one footer at a time, then each fragment with its page
    // indexes (see the module doc).
    let mut ends = Vec::with_capacity(inputs.len());
    for p in inputs {
        ends.push(read(p, PageIndexPolicy::Skip)?.end);
    }
    let mut stitcher = Stitcher::new(data_bytes(ends));
    for p in inputs {
        stitcher.add(&read(p, PageIndexPolicy::Optional)?)?;
    }
    let plan = stitcher.finish(overrides)?;
    let temp = output.with_file_name(format!(
        ".{}.stitching",
        output
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    let werr = |source| Error::Write {
        location: output.display().to_string(),
        source,
    };
    let written = (|| -> Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&temp).map_err(werr)?);
        for (i, range) in &plan.pieces {
            let mut file = open(&inputs[*i])?;
            let rerr = |source| Error::Read {
                location: inputs[*i].display().to_string(),
                source,
            };
            file.seek(SeekFrom::Start(range.start)).map_err(rerr)?;
            let copied =
                std::io::copy(&mut file.take(range.end - range.start), &mut out).map_err(werr)?;
            if copied != range.end - range.start {
                return Err(invalid(
                    &inputs[*i].display().to_string(),
                    "the file is shorter than its metadata says".into(),
                ));
            }
        }
        out.write_all(&plan.footer).map_err(werr)?;
        out.into_inner()
            .map_err(|e| werr(e.into_error()))?
            .sync_all()
            .map_err(werr)?;
        std::fs::rename(&temp, output).map_err(werr)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::{
        ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
    };
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};

    use super::*;

    fn batch(from: i64, n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let ids = Int64Array::from_iter_values(from..from + n);
        let names = StringArray::from_iter((from..from + n).map(|i| {
            (i % 5 != 0).then(|| format!("name {} {}", i % 40, "x".repeat((i % 13) as usize)))
        }));
        RecordBatch::try_new(schema, vec![Arc::new(ids), Arc::new(names)]).unwrap()
    }

    /// A Parquet file of rows `from..from + n` in row groups of `group` rows, small pages,
    /// with `rows` in its key-value metadata.
    fn fragment(from: i64, n: i64, group: usize) -> Bytes {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .set_data_page_row_count_limit(100)
            .set_write_batch_size(100)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
            .build();
        let mut out = Vec::new();
        let b = batch(from, n);
        let mut w = ArrowWriter::try_new(&mut out, b.schema(), Some(props)).unwrap();
        w.write(&b).unwrap();
        w.append_key_value_metadata(KeyValue::new(metadata::ROWS.to_string(), n.to_string()));
        w.append_key_value_metadata(KeyValue::new(
            metadata::SOURCE.to_string(),
            "s3://b/k".to_string(),
        ));
        w.close().unwrap();
        Bytes::from(out)
    }

    fn stitched(parts: &[Bytes]) -> (Stitch, Bytes) {
        let fragments: Vec<Fragment> = parts
            .iter()
            .enumerate()
            .map(|(i, b)| Fragment::read(format!("f{i}"), b).unwrap())
            .collect();
        let plan = stitch(&fragments, &[]).unwrap();
        let mut out = Vec::new();
        for (i, r) in &plan.pieces {
            out.extend_from_slice(&parts[*i][r.start as usize..r.end as usize]);
        }
        out.extend_from_slice(&plan.footer);
        assert_eq!(out.len() as u64, plan.size);
        (plan, Bytes::from(out))
    }

    #[test]
    fn stitched_fragments_read_back_as_one_file_with_their_page_indexes() {
        let parts = [
            fragment(0, 2500, 1000),
            fragment(2500, 700, 1000),
            fragment(3200, 1800, 600),
        ];
        let (plan, file) = stitched(&parts);
        assert_eq!((plan.rows, plan.row_groups), (5000, 3 + 1 + 3));
        assert_eq!(&file[..4], b"PAR1");

        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let reader =
            ParquetRecordBatchReaderBuilder::try_new_with_options(file.clone(), options).unwrap();
        let md = reader.metadata().clone();
        assert_eq!(md.file_metadata().num_rows(), 5000);
        let kv = md.file_metadata().key_value_metadata().unwrap();
        let rows = kv.iter().find(|kv| kv.key == metadata::ROWS).unwrap();
        assert_eq!(rows.value.as_deref(), Some("5000"));
        for (i, rg) in md.row_groups().iter().enumerate() {
            assert_eq!(rg.ordinal(), Some(i as i16 as i32));
        }
        let mut next = 0i64;
        for b in reader.build().unwrap() {
            let b = b.unwrap();
            let expected = batch(next, b.num_rows() as i64);
            assert_eq!(b.column(0).to_data(), expected.column(0).to_data());
            assert_eq!(b.column(1).to_data(), expected.column(1).to_data());
            next += b.num_rows() as i64;
        }
        assert_eq!(next, 5000);

        // The page indexes point at the right pages: a row selection inside the last
        // fragment's second row group reads through the offset index.
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
            .unwrap()
            .with_row_groups(vec![5])
            .with_row_selection(RowSelection::from(vec![
                RowSelector::skip(350),
                RowSelector::select(20),
            ]))
            .build()
            .unwrap();
        let read: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        let ids = read[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        // Row group 5 is the last fragment's second: rows 3200 + 600 ...
        assert_eq!(ids.value(0), 3200 + 600 + 350);
        assert_eq!(read.iter().map(|b| b.num_rows()).sum::<usize>(), 20);
    }

    #[test]
    fn a_stitcher_told_the_wrong_length_refuses_to_plan() {
        let parts = [fragment(0, 10, 10), fragment(10, 10, 10)];
        let fragments: Vec<Fragment> = parts
            .iter()
            .map(|b| Fragment::read("f", b).unwrap())
            .collect();
        let right = data_bytes(fragments.iter().map(|f| f.end));
        // One at a time, as the callers do: the same plan as all at once.
        let mut stitcher = Stitcher::new(right);
        for f in &fragments {
            stitcher.add(f).unwrap();
        }
        let plan = stitcher.finish(&[]).unwrap();
        assert_eq!(plan.footer, stitch(&fragments, &[]).unwrap().footer);
        assert_eq!((plan.rows, plan.row_groups), (20, 2));
        // Page indexes placed at a wrong offset would make a corrupt file: an error instead.
        for wrong in [right - 1, right + 1] {
            let mut stitcher = Stitcher::new(wrong);
            let added = fragments.iter().try_for_each(|f| stitcher.add(f));
            let e = added.and_then(|()| stitcher.finish(&[]).map(|_| ()));
            let e = e.unwrap_err().to_string();
            assert!(e.contains("planned"), "{e}");
        }
        assert!(Stitcher::new(0).finish(&[]).is_err());
    }

    #[test]
    fn fragments_of_another_schema_are_refused() {
        let other = {
            let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
            let b = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1]))])
                .unwrap();
            let mut out = Vec::new();
            let mut w = ArrowWriter::try_new(&mut out, schema, None).unwrap();
            w.write(&b).unwrap();
            w.close().unwrap();
            Bytes::from(out)
        };
        let fragments = [
            Fragment::read("a", &fragment(0, 10, 10)).unwrap(),
            Fragment::read("b", &other).unwrap(),
        ];
        let e = stitch(&fragments, &[]).unwrap_err().to_string();
        assert!(e.contains("b") && e.contains("schema differs"), "{e}");
    }
}
