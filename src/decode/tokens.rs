//! A chunk's tokens: its bytes, the span of every field in them, and records over the fields,
//! with the few operations the tokenizer's paths (the state machine, the quote-free and the
//! bitmask paths) build them with.

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
