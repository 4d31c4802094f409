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

use std::io::{Read, Seek, Write};
use std::sync::Arc;

use parquet::errors::ParquetError;
use parquet::file::metadata::page_index::{PageIndexBuilder, PageIndexProvider};
use parquet::file::metadata::{FileMetaData, KeyValue, ParquetMetaDataBuilder};
use parquet::file::properties::WriterPropertiesPtr;
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::types::{SchemaDescPtr, TypePtr};

use crate::error::{Error, Result};
use crate::stitch::{footer_at, put_shifted_indexes, shifted_group, Fragment};

/// The footer's row-group metadata held in memory at most, only when no temporary file can be
/// made for it (otherwise one row group's metadata at a time is on the heap, and the rest in the
/// file: ~150 bytes per column chunk).
pub const FOOTER_MEMORY_BYTES: usize = 8 * crate::config::MIB;

/// `PAR1`.
const MAGIC: &[u8; 4] = b"PAR1";

type PResult<T> = std::result::Result<T, ParquetError>;

fn malformed(what: &str) -> ParquetError {
    ParquetError::General(format!("footer log: {what}"))
}

/// Thrift compact protocol type ids (parquet's metadata encoding).
mod ty {
    pub const TRUE: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const I16: u8 = 4;
    pub const I32: u8 = 5;
    pub const I64: u8 = 6;
    pub const DOUBLE: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const LIST: u8 = 9;
    pub const SET: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
}

/// A reader of Thrift compact bytes that only walks over values (to find where they are).
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, at: 0 }
    }

    fn byte(&mut self) -> PResult<u8> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| malformed("metadata ends early"))?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> PResult<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint longer than 64 bits"))
    }

    fn advance(&mut self, n: usize) -> PResult<()> {
        if self.bytes.len() - self.at < n {
            return Err(malformed("metadata ends early"));
        }
        self.at += n;
        Ok(())
    }

    /// A list or set header: (element count, element type).
    fn list_header(&mut self) -> PResult<(usize, u8)> {
        let h = self.byte()?;
        let n = match h >> 4 {
            15 => usize::try_from(self.varint()?).map_err(|_| malformed("list too long"))?,
            n => usize::from(n),
        };
        Ok((n, h & 0x0f))
    }

    /// Walk over one value of type `t`.
    fn skip(&mut self, t: u8, depth: usize) -> PResult<()> {
        if depth > 64 {
            return Err(malformed("nested too deeply"));
        }
        match t {
            ty::TRUE | ty::FALSE => Ok(()),
            ty::BYTE => self.advance(1),
            ty::I16 | ty::I32 | ty::I64 => self.varint().map(|_| ()),
            ty::DOUBLE => self.advance(8),
            ty::BINARY => {
                let n =
                    usize::try_from(self.varint()?).map_err(|_| malformed("binary too long"))?;
                self.advance(n)
            }
            ty::LIST | ty::SET => {
                let (n, et) = self.list_header()?;
                for _ in 0..n {
                    // Booleans in a list are a byte each.
                    if et == ty::TRUE || et == ty::FALSE {
                        self.advance(1)?;
                    } else {
                        self.skip(et, depth + 1)?;
                    }
                }
                Ok(())
            }
            ty::MAP => {
                let n = usize::try_from(self.varint()?).map_err(|_| malformed("map too long"))?;
                if n > 0 {
                    let kv = self.byte()?;
                    for _ in 0..n {
                        self.skip(kv >> 4, depth + 1)?;
                        self.skip(kv & 0x0f, depth + 1)?;
                    }
                }
                Ok(())
            }
            ty::STRUCT => {
                let mut last = 0;
                while let Some((id, t)) = self.field_header(last)? {
                    self.skip(t, depth + 1)?;
                    last = id;
                }
                Ok(())
            }
            _ => Err(malformed("unknown Thrift type")),
        }
    }

    /// The next field header of a struct, `None` at its end: (its field id, given the
    /// previous field's `last`, and its type).
    fn field_header(&mut self, last: i16) -> PResult<Option<(i16, u8)>> {
        let h = self.byte()?;
        if h == 0 {
            return Ok(None);
        }
        let delta = h >> 4;
        let t = h & 0x0f;
        if delta == 0 {
            // Long form: the id follows as a zigzag varint.
            let id = self.varint()?;
            let id = ((id >> 1) as i64 ^ -((id & 1) as i64)) as i16;
            return Ok(Some((id, t)));
        }
        Ok(Some((last + i16::from(delta), t)))
    }
}

/// The bytes of the one `RowGroup` struct in the serialized `FileMetaData` `footer` (field 4,
/// `row_groups`, a list of one element).
pub(super) fn only_row_group(footer: &[u8]) -> PResult<&[u8]> {
    let (range, _) = row_groups_field(footer)?;
    let mut c = Cursor::new(&footer[range.clone()]);
    let (n, t) = c.list_header()?;
    if n != 1 || t != ty::STRUCT {
        return Err(malformed("expected one row group"));
    }
    let start = range.start + c.at;
    c.skip(ty::STRUCT, 0)?;
    Ok(&footer[start..range.start + c.at])
}

/// Where field 4 (`row_groups`) of the serialized `FileMetaData` `footer` is: the range of its
/// value (list header and elements), and the range of field 3 (`num_rows`, value only).
fn row_groups_field(footer: &[u8]) -> PResult<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let mut c = Cursor::new(footer);
    let mut last = 0;
    let mut num_rows = None;
    while let Some((id, t)) = c.field_header(last)? {
        last = id;
        let start = c.at;
        c.skip(t, 0)?;
        match (id, t) {
            (3, ty::I64) => num_rows = Some(start..c.at),
            (4, ty::LIST) => {
                let rows = num_rows.ok_or_else(|| malformed("num_rows before row_groups"))?;
                return Ok((start..c.at, rows));
            }
            _ => {}
        }
    }
    Err(malformed("no row_groups field"))
}

/// Append `n` as a varint.
fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A log of serialized `RowGroup` structs, in an unlinked temporary file (or in memory when
/// no temporary file can be made, counted against `memory_cap`).
pub(super) struct FooterLog {
    file: Option<std::fs::File>,
    memory: Vec<u8>,
    memory_cap: usize,
    bytes: u64,
    groups: usize,
    rows: i64,
}

impl FooterLog {
    /// A log in `dir` (the spill directory) or the system temp dir.
    pub(super) fn new(dir: Option<&std::path::Path>, memory_cap: usize) -> Self {
        let file = match dir {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        };
        let file = match file {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(
                    "no temporary file for the footer's row groups ({e}); they are held in \
                     memory ({} MiB at most)",
                    memory_cap >> 20
                );
                None
            }
        };
        FooterLog {
            file,
            memory: Vec::new(),
            memory_cap,
            bytes: 0,
            groups: 0,
            rows: 0,
        }
    }

    /// Log one serialized `RowGroup` of `rows` rows.
    pub(super) fn push(&mut self, row_group: &[u8], rows: i64) -> PResult<()> {
        match &mut self.file {
            Some(f) => f.write_all(row_group)?,
            None => {
                if self.memory.len() + row_group.len() > self.memory_cap {
                    return Err(ParquetError::General(format!(
                        "the footer's metadata of {} row groups needs more than the {} MiB the \
                         memory limit gives it (no temporary file could be made for it): raise \
                         --memory-limit, or give a writable --spill-dir",
                        self.groups + 1,
                        self.memory_cap >> 20
                    )));
                }
                self.memory.extend_from_slice(row_group);
            }
        }
        self.bytes += row_group.len() as u64;
        self.groups += 1;
        self.rows += rows;
        Ok(())
    }

    /// Row groups logged.
    pub(super) fn groups(&self) -> usize {
        self.groups
    }

    /// Write the footer to `out`: `empty` (the serialized `FileMetaData` of the file without
    /// row groups) with the logged row groups and their row count spliced in, then its length
    /// and `PAR1`.
    pub(super) fn write_footer(&mut self, empty: &[u8], out: &mut impl Write) -> PResult<()> {
        let (groups, rows_at) = row_groups_field(empty)?;
        let mut c = Cursor::new(&empty[groups.clone()]);
        if c.list_header()?.0 != 0 {
            return Err(malformed("the footer without row groups has row groups"));
        }
        let mut head = empty[..rows_at.start].to_vec();
        let rows = self.rows;
        put_varint(&mut head, ((rows << 1) ^ (rows >> 63)) as u64);
        head.extend_from_slice(&empty[rows_at.end..groups.start]);
        let n = self.groups;
        if n < 15 {
            head.push(((n as u8) << 4) | ty::STRUCT);
        } else {
            head.push(0xf0 | ty::STRUCT);
            put_varint(&mut head, n as u64);
        }
        let tail = &empty[groups.end..];
        let len = head.len() as u64 + self.bytes + tail.len() as u64;
        let len = u32::try_from(len).map_err(|_| malformed("footer of 4 GiB or more"))?;
        out.write_all(&head)?;
        match &mut self.file {
            Some(f) => {
                f.flush()?;
                f.seek(std::io::SeekFrom::Start(0))?;
                let copied = std::io::copy(&mut f.take(self.bytes), out)?;
                if copied != self.bytes {
                    return Err(malformed("the log file is shorter than what was logged"));
                }
            }
            None => out.write_all(&self.memory)?,
        }
        out.write_all(tail)?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(b"PAR1")?;
        Ok(())
    }
}

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
        if self.log.groups == 0 {
            self.log = FooterLog::new(Some(dir), self.log.memory_cap);
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
        let written = footer_at(&one, self.pos, &location)?;
        let footer = Fragment::footer_len(&location, &written)? as usize;
        let indexes = written.len().checked_sub(8 + footer).ok_or_else(|| {
            Error::Internal("a row group's footer is shorter than its length".into())
        })?;
        self.out
            .write_all(&written[..indexes])
            .map_err(|e| perr(e.into()))?;
        self.pos += indexes as u64;
        let group = only_row_group(&written[indexes..indexes + footer]).map_err(perr)?;
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
        let written = footer_at(&empty, self.pos, &location)?;
        let footer = Fragment::footer_len(&location, &written)? as usize;
        let start = written
            .len()
            .checked_sub(8 + footer)
            .ok_or_else(|| Error::Internal("the footer is shorter than its length".into()))?;
        self.out
            .write_all(&written[..start])
            .map_err(|e| perr(e.into()))?;
        self.log
            .write_footer(&written[start..start + footer], &mut self.out)
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
        let mut log = FooterLog {
            file: None,
            memory: Vec::new(),
            memory_cap: 10,
            bytes: 0,
            groups: 0,
            rows: 0,
        };
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
