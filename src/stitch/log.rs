//! The footer's row groups, logged one at a time: each `RowGroup` Thrift struct, serialized,
//! is appended to an unlinked temporary file, and the footer is the crate's serialization of the
//! file's metadata without row groups with the logged ones spliced into its `row_groups` list
//! and its row count set ([`FooterLog::write_footer`]). A small walker over Thrift's compact
//! protocol finds where those fields are. Used by the encoder's footer (`encode::footer`) and
//! by the stitcher, so neither holds every row group's metadata until the end.

use std::io::{Read, Seek, Write};

use parquet::errors::ParquetError;

/// The footer's row-group metadata held in memory at most, only when no temporary file can be
/// made for it (otherwise one row group's metadata at a time is on the heap, and the rest in the
/// file: ~150 bytes per column chunk).
pub const FOOTER_MEMORY_BYTES: usize = 8 * crate::config::MIB;

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
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
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

    pub(crate) fn varint(&mut self) -> PResult<u64> {
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
pub(crate) fn only_row_group(footer: &[u8]) -> PResult<&[u8]> {
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
pub(crate) fn row_groups_field(
    footer: &[u8],
) -> PResult<(std::ops::Range<usize>, std::ops::Range<usize>)> {
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
pub(crate) struct FooterLog {
    file: Option<std::fs::File>,
    memory: Vec<u8>,
    memory_cap: usize,
    bytes: u64,
    groups: usize,
    rows: i64,
}

impl FooterLog {
    /// A log in `dir` (the spill directory) or the system temp dir.
    pub(crate) fn new(dir: Option<&std::path::Path>, memory_cap: usize) -> Self {
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
    pub(crate) fn push(&mut self, row_group: &[u8], rows: i64) -> PResult<()> {
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

    /// A log held in memory, up to `memory_cap` bytes.
    #[cfg(test)]
    pub(crate) fn in_memory(memory_cap: usize) -> Self {
        FooterLog {
            file: None,
            memory: Vec::new(),
            memory_cap,
            bytes: 0,
            groups: 0,
            rows: 0,
        }
    }

    /// The bytes it may hold in memory when it has no file.
    pub(crate) fn memory_cap(&self) -> usize {
        self.memory_cap
    }

    /// Rows of the row groups logged.
    pub(crate) fn rows(&self) -> i64 {
        self.rows
    }

    /// Row groups logged.
    pub(crate) fn groups(&self) -> usize {
        self.groups
    }

    /// Write the footer to `out`: `empty` (the serialized `FileMetaData` of the file without
    /// row groups) with the logged row groups and their row count spliced in, then its length
    /// and `PAR1`.
    pub(crate) fn write_footer(&mut self, empty: &[u8], out: &mut impl Write) -> PResult<()> {
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
