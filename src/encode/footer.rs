//! The footer, written without holding every row group's metadata until the end.
//!
//! The parquet crate's `SerializedFileWriter` keeps each row group's `RowGroupMetaData` (~1 KB
//! per column chunk in memory: a 424-byte `ColumnChunkMetaData`, its statistics, encodings and
//! page-index entries) and its page indexes until the file is closed. At 3,000 columns that is
//! ~3.5 MiB per row group, ~25 MiB per GiB of input: the footer alone passes any memory limit
//! once the file is long enough.
//!
//! Here each row group is written by a writer of its own (a Parquet "file" of one row group,
//! whose data bytes go straight to the output and whose tail is kept): when the row group is
//! closed, its metadata and page indexes are moved to where its bytes landed (the stitcher's
//! [`crate::stitch::shifted_group`] mechanism), its page indexes are written to the output right
//! after its data (readers find them by the offsets in the column chunks), and its `RowGroup`
//! Thrift struct, serialized, is appended to a log in an unlinked temporary file. The footer is
//! the crate's own serialization of the file's metadata without row groups, with the logged
//! row groups spliced into its `row_groups` list and its row count set (see [`splice`]).
//! Memory: one row group's metadata at a time.

use std::io::Write;
use std::sync::Arc;

use parquet::errors::ParquetError;
use parquet::file::metadata::page_index::{PageIndexBuilder, PageIndexProvider};
use parquet::file::metadata::{FileMetaData, KeyValue, ParquetMetaDataBuilder};
use parquet::file::properties::WriterPropertiesPtr;
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::types::{SchemaDescPtr, TypePtr};

use crate::error::{Error, Result};
pub use crate::stitch::log::FOOTER_MEMORY_BYTES;
use crate::stitch::log::{only_row_group, FooterLog};
use crate::stitch::{indexes_and_metadata_at, put_shifted_indexes, shifted_group, Fragment};

/// `PAR1`.
const MAGIC: &[u8; 4] = b"PAR1";

type PResult<T> = std::result::Result<T, ParquetError>;

/// The output file: `PAR1`, row groups each followed by its page indexes, and the footer from
/// the [`FooterLog`]. Row groups are written through [`Output::row_group`].
pub(super) struct Output<W: Write + Send> {
    out: W,
    /// Bytes written to `out`.
    pos: u64,
    schema: TypePtr,
    props: WriterPropertiesPtr,
    descr: SchemaDescPtr,
    log: FooterLog,
    location: String,
}

/// Where a row group's own writer writes: everything from its byte 4 (its `PAR1` is dropped)
/// to the output until `passing` is cleared, then into `tail` (its page indexes and footer).
pub(super) struct Capture<'a, W: Write + Send> {
    out: &'a mut W,
    skip: usize,
    passing: bool,
    tail: Vec<u8>,
}

impl<W: Write + Send> Write for Capture<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.passing {
            self.tail.extend_from_slice(buf);
            return Ok(buf.len());
        }
        let dropped = self.skip.min(buf.len());
        self.skip -= dropped;
        self.out.write_all(&buf[dropped..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl<W: Write + Send> Output<W> {
    /// Start the file on `out` with the schema and properties of `template` (a writer whose
    /// own output is discarded; it makes the column writers); its row groups' metadata is
    /// logged in the system temp dir (see [`Output::log_in`]), or held up to `memory_cap`
    /// bytes when no file can be made there.
    pub(super) fn new<S: Write + Send>(
        mut out: W,
        template: &SerializedFileWriter<S>,
        memory_cap: usize,
        location: &str,
    ) -> Result<Self> {
        out.write_all(MAGIC).map_err(|e| perr(location, e.into()))?;
        Ok(Output {
            out,
            pos: MAGIC.len() as u64,
            schema: template.schema_descr().root_schema_ptr(),
            props: Arc::clone(template.properties()),
            descr: Arc::new(template.schema_descr().clone()),
            log: FooterLog::new(None, memory_cap),
            location: location.to_string(),
        })
    }

    /// Keep the row groups' metadata in `dir` (the spill directory) instead; only before the
    /// first row group.
    pub(super) fn log_in(&mut self, dir: &std::path::Path) {
        if self.log.groups() == 0 {
            self.log = FooterLog::new(Some(dir), self.log.memory_cap());
        }
    }

    /// Write one row group: `fill` appends its column chunks to the row-group writer it is
    /// given; then its page indexes follow it, moved to where it landed, and its metadata goes
    /// to the log.
    pub(super) fn row_group<F>(&mut self, fill: F) -> Result<()>
    where
        F: FnOnce(&mut SerializedRowGroupWriter<'_, Capture<'_, W>>) -> PResult<()>,
    {
        let location = self.location.clone();
        let perr = |e| perr(&location, e);
        let start = self.pos;
        let sink = Capture {
            out: &mut self.out,
            skip: MAGIC.len(),
            passing: true,
            tail: Vec::new(),
        };
        let mut own =
            SerializedFileWriter::new(sink, Arc::clone(&self.schema), Arc::clone(&self.props))
                .map_err(perr)?;
        let mut row_group = own.next_row_group().map_err(perr)?;
        fill(&mut row_group).map_err(perr)?;
        row_group.close().map_err(perr)?;
        own.flush().map_err(|e| perr(e.into()))?;
        let data_end = own.bytes_written() as u64;
        own.inner_mut().passing = false;
        let sink = own.into_inner().map_err(perr)?;
        let tail = bytes::Bytes::from(sink.tail);
        let len = data_end + tail.len() as u64;
        let fragment = Fragment::from_tail(location.clone(), len, data_end, tail)?;
        // The row group's byte 4 is at `start`.
        let shift = start as i64 - MAGIC.len() as i64;
        self.pos = start + (data_end - MAGIC.len() as u64);
        let metadata = &fragment.metadata;
        let Some(rg) = metadata.row_groups().first() else {
            return Err(Error::Internal(
                "a row group's writer wrote no row group".into(),
            ));
        };
        let mut page_index = PageIndexBuilder::new(1, rg.num_columns());
        put_shifted_indexes(&mut page_index, metadata, 0, 0, shift);
        let rows = rg.num_rows();
        let placed = shifted_group(rg, shift, self.log.groups())?;
        let one = metadata
            .clone()
            .into_builder()
            .set_row_groups(vec![placed])
            .set_page_index(Some(
                Arc::new(page_index.build()) as Arc<dyn PageIndexProvider>
            ))
            .build();
        let (written, indexes) = indexes_and_metadata_at(&one, self.pos, &location)?;
        self.out
            .write_all(&written[..indexes])
            .map_err(|e| perr(e.into()))?;
        self.pos += indexes as u64;
        let group = only_row_group(&written[indexes..]).map_err(perr)?;
        self.log.push(group, rows).map_err(perr)
    }

    /// Write the footer, with the properties' key-value metadata and `key_values`, and return
    /// the output.
    pub(super) fn finish(mut self, key_values: Vec<KeyValue>) -> Result<W> {
        let location = self.location.clone();
        let perr = |e| perr(&location, e);
        let mut all: Vec<KeyValue> = self.props.key_value_metadata().cloned().unwrap_or_default();
        all.extend(key_values);
        let file = FileMetaData::new(
            self.props.writer_version().as_num(),
            0,
            Some(self.props.created_by().to_string()),
            (!all.is_empty()).then_some(all),
            Arc::clone(&self.descr),
            None,
        );
        let empty = ParquetMetaDataBuilder::new(file).build();
        let (written, start) = indexes_and_metadata_at(&empty, self.pos, &location)?;
        self.out
            .write_all(&written[..start])
            .map_err(|e| perr(e.into()))?;
        self.log
            .write_footer(&written[start..], &mut self.out)
            .map_err(perr)?;
        self.out.flush().map_err(|e| perr(e.into()))?;
        Ok(self.out)
    }
}

fn perr(location: &str, source: ParquetError) -> Error {
    Error::Parquet {
        location: location.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Compression;
    use crate::encode::{writer_properties, EncodingPlan, ParquetEncoder, Token};
    use crate::stitch::log::{row_groups_field, Cursor};
    use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};

    fn batch(from: i64, rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let names = (from..from + rows).map(|i| (i % 5 != 0).then(|| format!("n{}", i % 300)));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(from..from + rows)),
                Arc::new(StringArray::from_iter(names)),
            ],
        )
        .unwrap()
    }

    /// Encode `batches` batches of 1,000 rows in row groups of `group` rows; with `columnwise`
    /// a column at a time.
    fn encode(batches: i64, group: usize, columnwise: bool) -> Bytes {
        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap(),
        );
        let props = writer_properties(Compression::Zstd(1), &EncodingPlan::default()).unwrap();
        let schema = batch(0, 1).schema();
        let mut encoder = if columnwise {
            let plan = EncodingPlan::default();
            ParquetEncoder::columnwise(Vec::new(), schema, props, &plan, 1 << 30, group, "t", pool)
        } else {
            ParquetEncoder::new(Vec::new(), schema, props, 1 << 30, group, "t", pool)
        }
        .unwrap();
        let token: Token = Arc::new(());
        for b in 0..batches {
            encoder.write(&batch(b * 1000, 1000), &token).unwrap();
        }
        let kv = vec![("csv2parquet.rows".to_string(), (batches * 1000).to_string())];
        Bytes::from(encoder.finish(kv).unwrap())
    }

    /// Row groups written one by one, each followed by its page indexes, read back as one
    /// file: rows, ordinals, page indexes at the right places, key-value metadata and values.
    #[test]
    fn logged_row_groups_read_back_as_one_file_with_their_page_indexes() {
        for columnwise in [false, true] {
            // 17 row groups: more than 14, the longest list a one-byte header holds.
            let file = encode(17, 1000, columnwise);
            let metadata = ParquetMetaDataReader::new()
                .with_page_index_policy(PageIndexPolicy::Required)
                .parse_and_finish(&file)
                .unwrap();
            assert_eq!(metadata.num_row_groups(), 17);
            assert_eq!(metadata.file_metadata().num_rows(), 17_000);
            let kv = metadata.file_metadata().key_value_metadata().unwrap();
            assert!(kv.iter().any(|kv| kv.key == "ARROW:schema"));
            assert!(kv
                .iter()
                .any(|kv| kv.key == "csv2parquet.rows" && kv.value.as_deref() == Some("17000")));
            let indexes = metadata.page_index().unwrap();
            let mut end = 4;
            for (g, rg) in metadata.row_groups().iter().enumerate() {
                assert_eq!(rg.ordinal(), Some(g as i32));
                assert_eq!(rg.num_rows(), 1000);
                for (c, chunk) in rg.columns().iter().enumerate() {
                    let (start, len) = chunk.byte_range();
                    assert!(start >= end, "group {g} column {c} overlaps");
                    end = start + len;
                    let first = &indexes.offset_index(g, c).unwrap().page_locations()[0];
                    assert_eq!(first.offset, chunk.data_page_offset());
                    assert!(indexes.column_index(g, c).is_some());
                    let at = chunk.column_index_offset().unwrap() as u64;
                    assert!(at >= end, "its page indexes follow the row group");
                }
            }
            let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
            let mut next = 0;
            for read in reader.build().unwrap() {
                let read = read.unwrap();
                let expected = batch(next, read.num_rows() as i64);
                assert_eq!(read.column(0).to_data(), expected.column(0).to_data());
                assert_eq!(read.column(1).to_data(), expected.column(1).to_data());
                next += read.num_rows() as i64;
            }
            assert_eq!(next, 17_000);
        }
    }

    #[test]
    fn an_empty_file_has_a_footer_without_row_groups() {
        let file = encode(0, 1000, false);
        let metadata = ParquetMetaDataReader::new()
            .parse_and_finish(&file)
            .unwrap();
        assert_eq!(metadata.num_row_groups(), 0);
        assert_eq!(metadata.file_metadata().num_rows(), 0);
    }

    #[test]
    fn the_row_count_is_spliced_in_at_any_width() {
        let mut log = FooterLog::new(None, 1 << 20);
        // An empty FileMetaData footer from the crate, then one row group of 2^40 rows logged
        // by its bytes (any struct: the splice does not look inside).
        let file = encode(0, 1000, false);
        let n = file.len();
        let footer_len = u32::from_le_bytes(file[n - 8..n - 4].try_into().unwrap()) as usize;
        let empty = &file[n - 8 - footer_len..n - 8];
        let one = encode(1, 1000, false);
        let m = one.len();
        let len = u32::from_le_bytes(one[m - 8..m - 4].try_into().unwrap()) as usize;
        let group = only_row_group(&one[m - 8 - len..m - 8]).unwrap().to_vec();
        log.push(&group, 1 << 40).unwrap();
        let mut out = Vec::new();
        log.write_footer(empty, &mut out).unwrap();
        let footer = &out[..out.len() - 8];
        let (_, rows) = row_groups_field(footer).unwrap();
        let mut c = Cursor::new(&footer[rows]);
        let v = c.varint().unwrap();
        assert_eq!(((v >> 1) as i64) ^ -((v & 1) as i64), 1 << 40);
    }

    #[test]
    fn a_log_in_memory_fails_past_its_cap() {
        let mut log = FooterLog::in_memory(10);
        log.push(&[0; 8], 1).unwrap();
        let e = log.push(&[0; 8], 1).unwrap_err().to_string();
        assert!(e.contains("--memory-limit"), "{e}");
    }

    #[test]
    fn truncated_metadata_is_an_error() {
        let one = encode(1, 1000, false);
        let m = one.len();
        let len = u32::from_le_bytes(one[m - 8..m - 4].try_into().unwrap()) as usize;
        let footer = &one[m - 8 - len..m - 8];
        let group = only_row_group(footer).unwrap();
        let start = group.as_ptr() as usize - footer.as_ptr() as usize;
        for cut in [start + 1, start + group.len() / 2, start + group.len() - 1] {
            assert!(only_row_group(&footer[..cut]).is_err(), "cut at {cut}");
        }
    }
}
