//! CSV tokenizer: splits a chunk of whole records into fields.
//!
//! Written for this crate (rather than csv-core) because the decoder needs what csv-core does not
//! report: whether a field was quoted (`""` is an empty string, an empty unquoted field is null),
//! the physical line and byte offset of every record (for errors and rejects), and a hard error
//! for an unterminated quote at the end of input (csv-core silently accepts it). The measured
//! throughput comparison is in `benches/decode.rs` and the README.
//!
//! Grammar (RFC 4180 plus the usual dialect options): records end at LF, CRLF or CR; blank lines
//! are skipped; a field that starts with the quote character is quoted and may hold delimiters,
//! line breaks and doubled quotes (or `escape` + any byte); a quote inside an unquoted field is
//! literal; anything but a delimiter or line break after a closing quote is an error; lines that
//! start with the comment byte are skipped.

use crate::config::Dialect;

/// Byte classes for the scanning fast paths.
const ORDINARY: u8 = 0;
const SPECIAL: u8 = 1;

/// One tokenized record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSpan {
    /// Index of the record's first field in [`Tokens::field_ends`].
    pub first_field: u32,
    /// 0-based physical line within the chunk where the record starts.
    pub line: u32,
    /// Byte offset within the chunk where the record starts.
    pub start: u32,
    /// Byte offset within the chunk where the record ends (before the line break).
    pub end: u32,
}

/// The fields of a chunk: unescaped bytes, one end offset per field, records over fields.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    /// Unescaped field bytes, back to back.
    pub data: Vec<u8>,
    /// End offset in `data` of every field (start is the previous field's end).
    pub field_ends: Vec<u32>,
    /// Whether every field was quoted.
    pub quoted: Vec<bool>,
    /// The records, in order.
    pub records: Vec<RecordSpan>,
    /// Physical lines in the chunk (line breaks counted, a CRLF counts once).
    pub lines: u32,
}

impl Tokens {
    /// Number of fields of record `r`.
    pub fn field_count(&self, r: usize) -> usize {
        let first = self.records[r].first_field as usize;
        let next = self
            .records
            .get(r + 1)
            .map_or(self.field_ends.len(), |n| n.first_field as usize);
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
        let start = if f == 0 {
            0
        } else {
            self.field_ends[f - 1] as usize
        };
        start..self.field_ends[f] as usize
    }
}

/// A syntax error found by the tokenizer, positioned relative to the chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 0-based index of the record within the chunk.
    pub record: u32,
    /// 0-based line within the chunk where the record starts.
    pub line: u32,
    /// Byte offset within the chunk where the record starts.
    pub byte: u32,
    /// 0-based field index within the record.
    pub field: u32,
    /// What is wrong.
    pub reason: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    Escaped,
    QuoteSeen,
    Comment,
}

/// Tokenizer for one dialect; cheap to clone and share between workers.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    delimiter: u8,
    quote: Option<u8>,
    /// Escape byte distinct from the quote (doubling is handled by `QuoteSeen`).
    escape: Option<u8>,
    comment: Option<u8>,
    unquoted_class: [u8; 256],
    quoted_class: [u8; 256],
    /// The bytes that end a run inside quotes (quote, LF, CR) when there is no separate escape:
    /// then the run is found with `memchr3` (quoted fields are often long) instead of the table.
    quoted_needles: Option<(u8, u8, u8)>,
}

/// Append `input[start..end]` to `data`. Most unquoted fields are short (numbers, codes,
/// timestamps): they are copied as one fixed 16-byte move and the excess cut off, instead of a
/// `memcpy` call per field (1 GiB taxi: ~45 M fields).
#[inline(always)]
fn push_field_bytes(data: &mut Vec<u8>, input: &[u8], start: usize, end: usize) {
    const SHORT: usize = 16;
    match input.get(start..start + SHORT) {
        Some(block) if end - start <= SHORT => {
            let len = data.len();
            data.extend_from_slice(block);
            data.truncate(len + end - start);
        }
        _ => data.extend_from_slice(&input[start..end]),
    }
}

/// See `Tokenizer::quoted_needles`.
pub(crate) fn quoted_needles(quote: Option<u8>, escape: Option<u8>) -> Option<(u8, u8, u8)> {
    match (quote, escape) {
        (Some(q), None) => Some((q, b'\n', b'\r')),
        _ => None,
    }
}

impl Tokenizer {
    /// A tokenizer for `dialect`.
    pub fn new(dialect: &Dialect) -> Self {
        let escape = dialect.escape.filter(|e| Some(*e) != dialect.quote);
        let mut unquoted_class = [ORDINARY; 256];
        for b in [dialect.delimiter, b'\n', b'\r'] {
            unquoted_class[b as usize] = SPECIAL;
        }
        let mut quoted_class = [ORDINARY; 256];
        for b in [Some(b'\n'), Some(b'\r'), dialect.quote, escape]
            .into_iter()
            .flatten()
        {
            quoted_class[b as usize] = SPECIAL;
        }
        Tokenizer {
            delimiter: dialect.delimiter,
            quote: dialect.quote,
            escape,
            comment: dialect.comment,
            unquoted_class,
            quoted_class,
            quoted_needles: quoted_needles(dialect.quote, escape),
        }
    }

    /// Tokenize `input`, which holds whole records (the last one may lack its line break).
    /// `out` is cleared first and reused to avoid allocations.
    pub fn tokenize(&self, input: &[u8], out: &mut Tokens) -> Result<(), SyntaxError> {
        out.data.clear();
        // (+16: `push_field_bytes` may write up to 16 bytes past a field before cutting back.)
        out.data.reserve(input.len() + 16);
        out.field_ends.clear();
        out.quoted.clear();
        out.records.clear();
        let mut state = State::RecordStart;
        let mut line: u32 = 0;
        let mut field_quoted = false;
        let mut after_cr = false;
        let mut i = 0usize;
        let n = input.len();
        while i < n {
            let b = input[i];
            match state {
                State::RecordStart => {
                    if b == b'\n' {
                        if !after_cr {
                            line += 1;
                        }
                        after_cr = false;
                        i += 1;
                        continue;
                    }
                    after_cr = false;
                    if b == b'\r' {
                        line += 1;
                        after_cr = true;
                        i += 1;
                        continue;
                    }
                    if Some(b) == self.comment {
                        state = State::Comment;
                        i += 1;
                        continue;
                    }
                    out.records.push(RecordSpan {
                        first_field: out.field_ends.len() as u32,
                        line,
                        start: i as u32,
                        end: i as u32,
                    });
                    state = State::FieldStart;
                }
                State::FieldStart => {
                    if Some(b) == self.quote {
                        field_quoted = true;
                        state = State::Quoted;
                        i += 1;
                    } else if b == self.delimiter {
                        self.end_field(out, false);
                        i += 1;
                    } else if b == b'\n' || b == b'\r' {
                        self.end_field(out, false);
                        self.end_record(out, i);
                        state = State::RecordStart;
                    } else {
                        field_quoted = false;
                        state = State::Unquoted;
                    }
                }
                State::Unquoted => {
                    let start = i;
                    while i < n && self.unquoted_class[input[i] as usize] == ORDINARY {
                        i += 1;
                    }
                    push_field_bytes(&mut out.data, input, start, i);
                    if i < n {
                        let b = input[i];
                        self.end_field(out, false);
                        if b == self.delimiter {
                            state = State::FieldStart;
                            i += 1;
                        } else {
                            self.end_record(out, i);
                            state = State::RecordStart;
                        }
                    }
                }
                State::Quoted => {
                    let start = i;
                    i = match self.quoted_needles {
                        Some((q, a, b)) => {
                            memchr::memchr3(q, a, b, &input[i..]).map_or(n, |o| i + o)
                        }
                        None => {
                            while i < n && self.quoted_class[input[i] as usize] == ORDINARY {
                                i += 1;
                            }
                            i
                        }
                    };
                    out.data.extend_from_slice(&input[start..i]);
                    if i < n {
                        let b = input[i];
                        i += 1;
                        if Some(b) == self.quote {
                            state = State::QuoteSeen;
                        } else if Some(b) == self.escape {
                            state = State::Escaped;
                        } else {
                            // A line break inside quotes: keep it, count the line.
                            // A CRLF inside quotes counts as one line break.
                            if b == b'\r' || i < 2 || input[i - 2] != b'\r' {
                                line += 1;
                            }
                            out.data.push(b);
                        }
                    }
                }
                State::Escaped => {
                    if b == b'\r' || b == b'\n' {
                        line += 1;
                    }
                    out.data.push(b);
                    state = State::Quoted;
                    i += 1;
                }
                State::QuoteSeen => {
                    if Some(b) == self.quote {
                        out.data.push(b);
                        state = State::Quoted;
                        i += 1;
                    } else if b == self.delimiter {
                        self.end_field(out, field_quoted);
                        state = State::FieldStart;
                        i += 1;
                    } else if b == b'\n' || b == b'\r' {
                        self.end_field(out, field_quoted);
                        self.end_record(out, i);
                        state = State::RecordStart;
                    } else {
                        return Err(self.error(out, "unexpected character after a closing quote"));
                    }
                }
                State::Comment => {
                    match memchr::memchr2(b'\n', b'\r', &input[i..]) {
                        Some(off) => i += off,
                        None => i = n,
                    }
                    state = State::RecordStart;
                }
            }
        }
        match state {
            State::RecordStart | State::Comment => {}
            State::Quoted | State::Escaped => {
                return Err(self.error(out, "unterminated quoted field at end of input"));
            }
            State::FieldStart | State::Unquoted => {
                self.end_field(out, false);
                self.end_record(out, n);
            }
            State::QuoteSeen => {
                self.end_field(out, field_quoted);
                self.end_record(out, n);
            }
        }
        out.lines = line;
        Ok(())
    }

    #[inline]
    fn end_field(&self, out: &mut Tokens, quoted: bool) {
        out.field_ends.push(out.data.len() as u32);
        out.quoted.push(quoted);
    }

    #[inline]
    fn end_record(&self, out: &mut Tokens, end: usize) {
        if let Some(r) = out.records.last_mut() {
            r.end = end as u32;
        }
    }

    fn error(&self, out: &Tokens, reason: &'static str) -> SyntaxError {
        let (record, span) = match out.records.last() {
            Some(span) => (out.records.len() as u32 - 1, *span),
            None => (
                0,
                RecordSpan {
                    first_field: 0,
                    line: 0,
                    start: 0,
                    end: 0,
                },
            ),
        };
        SyntaxError {
            record,
            line: span.line,
            byte: span.start,
            field: out.field_ends.len() as u32 - span.first_field,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(dialect: &Dialect, input: &str) -> Vec<Vec<String>> {
        let t = Tokenizer::new(dialect);
        let mut out = Tokens::default();
        t.tokenize(input.as_bytes(), &mut out).unwrap();
        (0..out.records.len())
            .map(|r| {
                let first = out.records[r].first_field as usize;
                (first..first + out.field_count(r))
                    .map(|f| String::from_utf8(out.field(f).to_vec()).unwrap())
                    .collect()
            })
            .collect()
    }

    fn rows(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn plain_and_line_endings() {
        let d = Dialect::default();
        let want = rows(&[&["a", "b"], &["1", "2"]]);
        assert_eq!(fields(&d, "a,b\n1,2\n"), want);
        assert_eq!(fields(&d, "a,b\r\n1,2\r\n"), want);
        assert_eq!(fields(&d, "a,b\r1,2\r"), want);
        assert_eq!(fields(&d, "a,b\n1,2"), want);
        assert_eq!(fields(&d, "a,b\n\n\r\n1,2\n\n"), want);
    }

    #[test]
    fn quotes() {
        let d = Dialect::default();
        assert_eq!(
            fields(&d, "\"a,b\",\"say \"\"hi\"\"\",\"x\ny\"\n"),
            rows(&[&["a,b", "say \"hi\"", "x\ny"]])
        );
        assert_eq!(fields(&d, "a\"b,c\n"), rows(&[&["a\"b", "c"]]));
        assert_eq!(fields(&d, "a,,\n"), rows(&[&["a", "", ""]]));
        assert_eq!(fields(&d, ",\n"), rows(&[&["", ""]]));
    }

    #[test]
    fn quoted_flag_and_positions() {
        let t = Tokenizer::new(&Dialect::default());
        let mut out = Tokens::default();
        t.tokenize(b"\"\",\n\"x\ny\",z\r\nlast", &mut out).unwrap();
        assert_eq!(out.quoted, vec![true, false, true, false, false]);
        assert_eq!(out.records.len(), 3);
        assert_eq!((out.records[1].line, out.records[1].start), (1, 4));
        assert_eq!((out.records[2].line, out.records[2].start), (3, 13));
        assert_eq!(out.records[1].end, 11);
        assert_eq!(out.lines, 3);
    }

    #[test]
    fn escape_and_comment() {
        let d = Dialect {
            escape: Some(b'\\'),
            comment: Some(b'#'),
            ..Dialect::default()
        };
        assert_eq!(
            fields(&d, "# note, \"x\n\"a\\\"b\",c\n#x\n1,2"),
            rows(&[&["a\"b", "c"], &["1", "2"]])
        );
    }

    #[test]
    fn errors() {
        let t = Tokenizer::new(&Dialect::default());
        let mut out = Tokens::default();
        let e = t.tokenize(b"a,b\n1,\"open\n2,3\n", &mut out).unwrap_err();
        assert_eq!((e.record, e.line, e.byte, e.field), (1, 1, 4, 1));
        assert!(e.reason.contains("unterminated"));
        let e = t.tokenize(b"a,b\n\"x\"y,2\n", &mut out).unwrap_err();
        assert_eq!((e.record, e.line, e.field), (1, 1, 0));
        assert!(e.reason.contains("after a closing quote"));
    }

    #[test]
    fn no_quote_dialect() {
        let d = Dialect {
            quote: None,
            delimiter: b'\t',
            ..Dialect::default()
        };
        assert_eq!(fields(&d, "\"a\t\"b\n"), rows(&[&["\"a", "\"b"]]));
    }
}
