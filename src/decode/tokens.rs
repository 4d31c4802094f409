//! A chunk's tokens: its bytes, the span of every field in them, and records over the fields,
//! with the few operations the tokenizer's paths (the state machine, the quote-free and the
//! bitmask paths) build them with.

use std::ops::Range;

/// One tokenized record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSpan {
    /// Index of the record's first field in [`Tokens::fields`].
    pub first_field: u32,
    /// 0-based physical line within the chunk where the record starts.
    pub line: u32,
    /// Byte offset within the chunk where the record starts.
    pub start: u32,
    /// Byte offset within the chunk where the record ends (before the line break).
    pub end: u32,
}

/// Where a field's bytes are in [`Tokens::data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FieldSpan {
    /// Offset of the field's first byte.
    pub start: u32,
    /// Offset just past the field's last byte.
    pub end: u32,
}

/// The fields of a chunk: the chunk's bytes, where each field is in them, records over fields.
///
/// Fields are not copied out one by one: `data` is the chunk itself (one copy), and a field is a
/// span of it. An unquoted field is its raw bytes; a quoted field is the bytes between its
/// quotes, unescaped in place (unescaping only ever shortens a field, so it never overwrites
/// bytes not yet read). Bytes that are no field's (delimiters, quotes, line breaks, comments,
/// what is left behind an unescaped field) stay or become ASCII, so `data` is valid UTF-8
/// whenever the chunk is.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    /// The chunk's bytes with quoted fields unescaped in place.
    pub data: Vec<u8>,
    /// Every field's span in `data`, in order.
    pub fields: Vec<FieldSpan>,
    /// Whether every field was quoted.
    pub quoted: Vec<bool>,
    /// The records, in order.
    pub records: Vec<RecordSpan>,
    /// Physical lines in the chunk (line breaks counted, a CRLF counts once).
    pub lines: u32,
    /// The worker's column-major copy of a group of columns' spans (scratch, reused).
    pub(crate) by_column: ColumnSpans,
}

impl Tokens {
    /// Empties every list, keeping the allocations.
    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.fields.clear();
        self.quoted.clear();
        self.records.clear();
    }

    /// Number of fields of record `r`.
    pub fn field_count(&self, r: usize) -> usize {
        let first = self.records[r].first_field as usize;
        let next = self
            .records
            .get(r + 1)
            .map_or(self.fields.len(), |n| n.first_field as usize);
        next - first
    }

    /// Global field index of column `c` of record `r`, or None when the record has fewer
    /// fields.
    #[inline]
    pub fn field_of(&self, r: usize, c: usize) -> Option<usize> {
        (c < self.field_count(r)).then(|| self.records[r].first_field as usize + c)
    }

    /// Bytes of field `f` (global field index).
    #[inline]
    pub fn field(&self, f: usize) -> &[u8] {
        &self.data[self.field_range(f)]
    }

    /// Where field `f` is in [`Tokens::data`].
    #[inline]
    pub fn field_range(&self, f: usize) -> std::ops::Range<usize> {
        let span = self.fields[f];
        span.start as usize..span.end as usize
    }
}

impl Tokens {
    /// Whether record `r` has one field more than `columns` and that last field is empty and
    /// unquoted: a delimiter at the end of the line (`1,2,` under `a,b`), which holds no data.
    pub(crate) fn ends_in_extra_delimiter(&self, r: usize, columns: usize) -> bool {
        let first = self.records[r].first_field as usize;
        let last = first + columns;
        self.field_count(r) == columns + 1
            && !self.quoted[last]
            && self.fields[last].start == self.fields[last].end
    }

    /// Drops the empty last field of every record that ends in one delimiter more than the
    /// table's `columns` (see [`Tokens::ends_in_extra_delimiter`]): a trailing delimiter is
    /// layout, as DuckDB reads it. A quoted `""` there, or a value, stays (a ragged record).
    pub(crate) fn drop_trailing_delimiters(&mut self, columns: usize) {
        let n = self.records.len();
        if !(0..n).any(|r| self.ends_in_extra_delimiter(r, columns)) {
            return;
        }
        let mut w = 0usize;
        for r in 0..n {
            let drop = usize::from(self.ends_in_extra_delimiter(r, columns));
            let first = self.records[r].first_field as usize;
            let keep = self.field_count(r) - drop;
            self.fields.copy_within(first..first + keep, w);
            self.quoted.copy_within(first..first + keep, w);
            self.records[r].first_field = w as u32;
            w += keep;
        }
        self.fields.truncate(w);
        self.quoted.truncate(w);
    }

    /// Puts blank lines back as records of one empty field (a null): in a one-column input a
    /// blank line is a value, not layout (`col\n1\n\n3\n` is 1, null, 3, as DuckDB reads it).
    /// The tokenizer skips them; they are in the gaps between the records, before the first
    /// (a chunk may start with them) and after the last. Other lines in the gaps are comments,
    /// no records. A CRLF is one line break.
    pub(crate) fn add_blank_lines(&mut self) {
        let records = std::mem::take(&mut self.records);
        let fields = std::mem::take(&mut self.fields);
        let quoted = std::mem::take(&mut self.quoted);
        self.records.reserve(records.len());
        let mut gap_start = 0;
        let mut ends_a_record = false;
        for (r, record) in records.iter().enumerate() {
            self.push_blank_lines(gap_start..record.start as usize, ends_a_record, record.line);
            let first = record.first_field as usize;
            let last = records
                .get(r + 1)
                .map_or(fields.len(), |n| n.first_field as usize);
            self.records.push(RecordSpan {
                first_field: self.fields.len() as u32,
                ..*record
            });
            self.fields.extend_from_slice(&fields[first..last]);
            self.quoted.extend_from_slice(&quoted[first..last]);
            gap_start = record.end as usize;
            ends_a_record = true;
        }
        let end = self.data.len();
        self.push_blank_lines(gap_start..end, ends_a_record, self.lines);
    }

    /// The blank lines of `gap` as records; `ends_a_record`: the gap starts with the line break
    /// of the record before it; `end_line`: the line the gap ends on.
    fn push_blank_lines(
        &mut self,
        gap: std::ops::Range<usize>,
        ends_a_record: bool,
        end_line: u32,
    ) {
        let bytes = &self.data[gap.clone()];
        let line_break = |i: usize| match bytes[i..] {
            [b'\r', b'\n', ..] => 2,
            [b'\r' | b'\n', ..] => 1,
            _ => 0,
        };
        let mut i = 0;
        if ends_a_record {
            i += line_break(0);
        }
        let breaks = count_line_breaks(&bytes[i..]);
        let mut line = end_line.saturating_sub(breaks);
        let mut blank = Vec::new();
        while i < bytes.len() {
            let n = line_break(i);
            if n > 0 {
                blank.push((gap.start + i, line));
                i += n;
            } else {
                // A comment line: not a value.
                let eol = memchr::memchr2(b'\n', b'\r', &bytes[i..]).map_or(bytes.len(), |k| i + k);
                i = eol
                    + if eol < bytes.len() {
                        line_break(eol)
                    } else {
                        0
                    };
            }
            line += 1;
        }
        for (at, line) in blank {
            self.records.push(RecordSpan {
                first_field: self.fields.len() as u32,
                line,
                start: at as u32,
                end: at as u32,
            });
            self.fields.push(FieldSpan {
                start: at as u32,
                end: at as u32,
            });
            self.quoted.push(false);
        }
    }
}

/// Line breaks in `bytes` (a CRLF counts once).
pub(crate) fn count_line_breaks(bytes: &[u8]) -> u32 {
    let lf = memchr::memchr_iter(b'\n', bytes).count();
    let cr = memchr::memchr_iter(b'\r', bytes)
        .filter(|&i| bytes.get(i + 1) != Some(&b'\n'))
        .count();
    (lf + cr) as u32
}

/// Ends the last record at `end` (where its line break is, or the input's end).
#[inline]
pub(crate) fn end_record(out: &mut Tokens, end: usize) {
    if let Some(r) = out.records.last_mut() {
        r.end = end as u32;
    }
}

/// Starts a record at byte `start`, on (0-based) line `line`; its fields follow.
#[inline(always)]
pub(crate) fn start_record(out: &mut Tokens, line: u32, start: usize) {
    out.records.push(RecordSpan {
        first_field: out.fields.len() as u32,
        line,
        start: start as u32,
        end: start as u32,
    });
}

/// Adds the field `data[start..end]` to the last record.
#[inline(always)]
pub(crate) fn push_field(out: &mut Tokens, start: usize, end: usize, quoted: bool) {
    out.fields.push(FieldSpan {
        start: start as u32,
        end: end as u32,
    });
    out.quoted.push(quoted);
}

/// Ends a quoted field whose unescaped bytes are `data[start..w]` and whose closing quote is at
/// `close`. What unescaping left behind (`data[w..close]`, stale input bytes that may start in
/// the middle of a character) is overwritten with spaces, to keep `data` valid UTF-8.
#[inline]
pub(crate) fn end_quoted(out: &mut Tokens, start: usize, w: usize, close: usize, quoted: bool) {
    if w < close {
        out.data[w..close].fill(b' ');
    }
    push_field(out, start, w, quoted);
}

// ---------------------------------------------------------------------------
// Column-major copies of the spans
// ---------------------------------------------------------------------------

/// Heap bytes of one worker's column-major copy at most (spans and quoted flags).
pub const TRANSPOSE_BYTES: usize = 256 * 1024;

/// Bytes one field takes in the copy: its span and its flag.
pub(crate) const FIELD_BYTES: usize = std::mem::size_of::<FieldSpan>() + 1;

/// Columns up to which the record-major spans are read as they are: a record's spans of up to
/// eight columns share a 64-byte cache line.
const MIN_COLUMNS: usize = 8;

/// Column-major copies of a chunk's field spans, a group of columns at a time.
///
/// The tokenizer lists fields record by record, and a column is built by walking its fields
/// down the records: at `ncols` columns that is a stride of `8 * ncols` bytes through the spans
/// (and `ncols` through the quoted flags), one cache line per value from the ninth column on,
/// and at 1,000 columns a chunk's spans (~6 MB at 4 MiB chunks) are far larger than a core's
/// L2, so every column pass misses on every value. Measured before these copies on the wide
/// shape (`perf record -e cpu-clock`, 512 MiB): the span and flag loads took ~35% of
/// `build_column`'s samples, ~10% of the whole conversion.
///
/// So when every record has the schema's field count, the columns are built a group at a time
/// from a copy of that group's spans laid out column by column. The group's part of the spans
/// fits a core's cache, so the copy's strided reads miss once per line, not once per value, and
/// each column's build then reads its own spans in order. The copy is bounded: a group holds at
/// most [`TRANSPOSE_BYTES`] of spans and flags (the budget's line for it, per worker), and a
/// chunk of more records than that holds for one column is built from the record-major spans
/// as before. Measured after (3 alternating `perf` runs each, wide, 512 MiB, output identical):
/// the decoding functions' samples (`build_column`, the copy, `scan_float`) fell from 5.2-5.7x
/// the tokenizer's to 4.4-4.6x, about 5% of the conversion's CPU; narrow shapes are unchanged.
///
/// One worker's copy is kept in its [`Tokens`] and reused chunk after chunk.
#[derive(Debug, Default, Clone)]
pub(crate) struct ColumnSpans {
    spans: Vec<FieldSpan>,
    quoted: Vec<bool>,
    /// Records per column in the copy.
    rows: usize,
    /// The columns in the copy.
    columns: Range<usize>,
}

impl ColumnSpans {
    /// Columns per group for a uniform chunk of `rows` records of `ncols` fields, or `None`
    /// when the chunk is read record-major (few columns, or too many records for one column
    /// to fit the copy).
    pub(crate) fn group(rows: usize, ncols: usize) -> Option<usize> {
        if ncols <= MIN_COLUMNS || rows == 0 {
            return None;
        }
        let per_column = rows.checked_mul(FIELD_BYTES)?;
        let group = TRANSPOSE_BYTES / per_column;
        (group > 0).then(|| group.min(ncols))
    }

    /// Copies the spans and flags of `columns` of a uniform chunk (every record has `ncols`
    /// fields), column by column. `columns.len() * records` fields must fit
    /// [`TRANSPOSE_BYTES`] (see [`ColumnSpans::group`]).
    pub(crate) fn fill(&mut self, tokens: &Tokens, ncols: usize, columns: Range<usize>) {
        let rows = tokens.records.len();
        let width = columns.len();
        let len = rows * width;
        self.spans.clear();
        self.quoted.clear();
        self.spans.reserve_exact(len);
        self.quoted.reserve_exact(len);
        self.spans.resize(len, FieldSpan::default());
        self.quoted.resize(len, false);
        // Column by column: the group's spans (`rows` x `width` of them, a stride of `ncols`)
        // fit the copy's bound, so the strided reads stay in the core's caches after the
        // first column brings their lines in.
        let columns_out = self.spans.chunks_exact_mut(rows);
        let flags_out = self.quoted.chunks_exact_mut(rows);
        for (c, (spans, flags)) in columns.clone().zip(columns_out.zip(flags_out)) {
            let from = tokens.fields.get(c..).unwrap_or_default();
            for (out, span) in spans.iter_mut().zip(from.iter().step_by(ncols)) {
                *out = *span;
            }
            let from = tokens.quoted.get(c..).unwrap_or_default();
            for (out, flag) in flags.iter_mut().zip(from.iter().step_by(ncols)) {
                *out = *flag;
            }
        }
        self.rows = rows;
        self.columns = columns;
    }

    /// Column `c`'s spans and flags, record by record, when the copy holds it.
    pub(crate) fn column(&self, c: usize) -> Option<(&[FieldSpan], &[bool])> {
        if !self.columns.contains(&c) {
            return None;
        }
        let at = (c - self.columns.start) * self.rows;
        Some((
            self.spans.get(at..at + self.rows)?,
            self.quoted.get(at..at + self.rows)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::dialect::Dialect;
    use crate::decode::tokenizer::Tokenizer;

    /// (line, start, value) of every record once blank lines are put back.
    fn records(input: &str, comment: Option<u8>) -> Vec<(u32, u32, String)> {
        let dialect = Dialect {
            comment,
            ..Dialect::default()
        };
        let mut t = super::Tokens::default();
        Tokenizer::new(&dialect)
            .tokenize(input.as_bytes(), &mut t)
            .unwrap();
        t.add_blank_lines();
        (0..t.records.len())
            .map(|r| {
                let f = t.records[r].first_field as usize;
                let value = String::from_utf8(t.field(f).to_vec()).unwrap();
                (t.records[r].line, t.records[r].start, value)
            })
            .collect()
    }

    #[test]
    fn trailing_delimiters_are_dropped() {
        let mut t = Tokens::default();
        let csv = "a,b\n1,2,\n3,\"\"\n4,5,\"\"\n6,7,8\n9,\n";
        Tokenizer::new(&Dialect::default())
            .tokenize(csv.as_bytes(), &mut t)
            .unwrap();
        t.drop_trailing_delimiters(2);
        let rows: Vec<Vec<&[u8]>> = (0..t.records.len())
            .map(|r| {
                let first = t.records[r].first_field as usize;
                (first..first + t.field_count(r))
                    .map(|f| t.field(f))
                    .collect()
            })
            .collect();
        let want: Vec<Vec<&[u8]>> = vec![
            vec![b"a", b"b"],
            vec![b"1", b"2"],
            vec![b"3", b""],
            // A quoted empty string and a value are data: the records stay ragged.
            vec![b"4", b"5", b""],
            vec![b"6", b"7", b"8"],
            vec![b"9", b""],
        ];
        assert_eq!(rows, want);
        assert_eq!(
            t.quoted,
            vec![
                false, false, false, false, false, true, false, false, true, false, false, false,
                false, false
            ]
        );
    }

    #[test]
    fn blank_lines_become_empty_records_in_place() {
        let r = |l, s, v: &str| (l, s, v.to_string());
        assert_eq!(
            records("1\n\n3\n\n", None),
            [r(0, 0, "1"), r(1, 2, ""), r(2, 3, "3"), r(3, 5, "")]
        );
        // CRLF is one break; a chunk may start with blank lines.
        assert_eq!(
            records("\r\n1\r\n\r\n\r\n2", None),
            [
                r(0, 0, ""),
                r(1, 2, "1"),
                r(2, 5, ""),
                r(3, 7, ""),
                r(4, 9, "2")
            ]
        );
        // A quoted line break is inside its record; comment lines are no records.
        assert_eq!(
            records("\"a\nb\"\n\n# note\n\nc\n", Some(b'#')),
            [r(0, 0, "a\nb"), r(2, 6, ""), r(4, 14, ""), r(5, 15, "c")]
        );
        assert_eq!(records("1\n2\n", None), [r(0, 0, "1"), r(1, 2, "2")]);
    }

    #[test]
    fn a_group_holds_its_columns_record_by_record() {
        let mut t = Tokens::default();
        Tokenizer::new(&Dialect::default())
            .tokenize(b"a,b,\"c\"\n1,\"2\",3\n", &mut t)
            .unwrap();
        let mut spans = ColumnSpans::default();
        spans.fill(&t, 3, 1..3);
        assert!(spans.column(0).is_none());
        let (b, bq) = spans.column(1).unwrap();
        assert_eq!(b, &[t.fields[1], t.fields[4]]);
        assert_eq!(bq, &[false, true]);
        let (c, cq) = spans.column(2).unwrap();
        assert_eq!(c, &[t.fields[2], t.fields[5]]);
        assert_eq!(cq, &[true, false]);
        assert!(spans.column(3).is_none());
    }

    #[test]
    fn groups_fit_the_copy_and_narrow_or_long_chunks_are_not_copied() {
        assert_eq!(ColumnSpans::group(1000, 8), None);
        assert_eq!(ColumnSpans::group(0, 100), None);
        assert_eq!(ColumnSpans::group(TRANSPOSE_BYTES, 100), None);
        assert_eq!(ColumnSpans::group(10, 20), Some(20));
        let g = ColumnSpans::group(800, 1000).unwrap();
        assert!(g * 800 * FIELD_BYTES <= TRANSPOSE_BYTES);
        assert!((g + 1) * 800 * FIELD_BYTES > TRANSPOSE_BYTES);
    }
}
