//! CSV tokenizer: splits a chunk of whole records into fields.
//!
//! Written for this crate (rather than csv-core) because the decoder needs what csv-core does not
//! report: whether a field was quoted (`""` is an empty string, an empty unquoted field is null),
//! the physical line and byte offset of every record (for errors and rejects), and a hard error
//! for an unterminated quote at the end of input (csv-core silently accepts it). The measured
//! throughput comparison is in `benches/decode.rs` and the README.
//!
//! Grammar (RFC 4180 plus the usual dialect options): records end at LF, CRLF or CR; blank lines
//! are skipped; a field that starts with the quote character (after spaces, if any) is quoted and
//! may hold delimiters, line breaks and doubled quotes (or `escape` + any byte); a quote inside an
//! unquoted field is literal; anything but spaces, then a delimiter or line break, after a closing
//! quote is an error; lines that start with the comment byte are skipped.

use wide::u8x16;

use crate::decode::dialect::{ByteClasses, Dialect};
use crate::decode::quotemask;
use crate::decode::tokens::{end_quoted, end_record, push_field, start_record};
// Also reachable here, where the tokenizer's users have always found them.
pub use crate::decode::tokens::{RecordSpan, Tokens};

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

/// The reason of the error for a quote still open at the end of the input.
pub const UNTERMINATED: &str = "unterminated quoted field at end of input";

/// The reason when the quote left open follows spaces (` "`): [`UNTERMINATED`], and like text
/// after a closing quote a sign that quotes are literal, to the sniffer.
pub const UNTERMINATED_AFTER_SPACES: &str =
    "unterminated quoted field at end of input (its quote follows spaces)";

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

/// The state machine's registers while it tokenizes one input.
struct Machine {
    state: State,
    /// Physical lines so far.
    line: u32,
    /// Whether the current field was quoted.
    field_quoted: bool,
    /// Whether the current quoted field's quote came after spaces.
    after_spaces: bool,
    /// Whether the last byte was a CR (its LF is not another line).
    after_cr: bool,
    /// Where the current field's bytes start in `out.data`.
    field_start: usize,
    /// Where a quoted field's emitted bytes end in `out.data` (see [`emit`]).
    w: usize,
    /// The next input byte.
    i: usize,
}

/// Tokenizer for one dialect; cheap to clone and share between workers.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    delimiter: u8,
    quote: Option<u8>,
    /// Escape byte distinct from the quote (doubling is handled by `QuoteSeen`).
    escape: Option<u8>,
    comment: Option<u8>,
    /// The bytes that end a run outside and inside quotes.
    classes: ByteClasses,
    /// `tokenize_quote_free` on (only tests turn it off, to compare it with the state machine).
    quote_free_fast_path: bool,
    /// `quotemask::tokenize` for quoted input (only tests turn it off).
    mask_path: bool,
}

/// Bytes per separator mask in the quote-free path.
const MASK_BYTES: usize = 64;

/// Bit `j` set where `block[j]` is the delimiter or a line break: vector compares and a
/// movemask per 16 bytes, through `wide`'s safe vectors (see `quotemask::masks`).
#[inline(always)]
fn separator_mask(block: &[u8; MASK_BYTES], delimiter: u8) -> u64 {
    let needles = [delimiter, b'\n', b'\r'].map(u8x16::splat);
    let mut mask = 0u64;
    for (k, bytes) in block.chunks_exact(16).enumerate() {
        let mut array = [0u8; 16];
        array.copy_from_slice(bytes);
        let v = u8x16::new(array);
        let hits = needles
            .iter()
            .fold(u8x16::splat(0), |acc, &needle| acc | v.simd_eq(needle));
        mask |= u64::from(hits.to_bitmask()) << (16 * k);
    }
    mask
}

/// Where the emitted bytes of the quoted field being tokenized go: `w` is the end of what is
/// emitted so far in `data`. While nothing was dropped (no doubled quote, no escape), `w` keeps
/// pace with the input and `data` already holds the bytes: nothing is copied.
#[inline(always)]
fn emit(data: &mut [u8], input: &[u8], w: &mut usize, from: usize, to: usize) {
    if *w != from {
        data[*w..*w + (to - from)].copy_from_slice(&input[from..to]);
    }
    *w += to - from;
}

impl Tokenizer {
    /// A tokenizer for `dialect`.
    pub fn new(dialect: &Dialect) -> Self {
        let classes = dialect.byte_classes();
        Tokenizer {
            delimiter: dialect.delimiter,
            quote: dialect.quote,
            escape: classes.escape,
            comment: dialect.comment,
            classes,
            quote_free_fast_path: true,
            mask_path: true,
        }
    }

    /// This tokenizer with only the state machine (tests compare the fast paths with it).
    #[cfg(test)]
    pub(crate) fn state_machine_only(mut self) -> Self {
        self.quote_free_fast_path = false;
        self.mask_path = false;
        self
    }

    /// Tokenize `input`, which holds whole records (the last one may lack its line break).
    /// `out` is cleared first and reused to avoid allocations.
    pub fn tokenize(&self, input: &[u8], out: &mut Tokens) -> Result<(), SyntaxError> {
        out.clear();
        // The fast paths copy `input` into `out.data` 64 bytes at a time as they read it: one
        // pass over a chunk larger than the cache instead of two.
        out.data.reserve(input.len());
        let quote_free = self.quote_free_fast_path
            && [self.quote, self.comment]
                .into_iter()
                .flatten()
                .all(|b| memchr::memchr(b, input).is_none());
        if quote_free {
            self.tokenize_quote_free(input, out);
            return Ok(());
        }
        if let (Some(quote), None, true) = (self.quote, self.escape, self.mask_path) {
            if self
                .comment
                .is_none_or(|c| memchr::memchr(c, input).is_none())
            {
                if quotemask::tokenize(input, self.delimiter, quote, out) {
                    return Ok(());
                }
                // A misplaced quote or an unterminated field: start over on the state machine.
                out.clear();
            }
        }
        out.data.extend_from_slice(input);
        self.tokenize_general(input, out)
    }

    /// [`Tokenizer::tokenize`] for input without a quote or comment byte: fields are what lies
    /// between separators, found 64 bytes at a time as a bit mask. Gives the same tokens as
    /// the state machine (a randomized test compares them).
    fn tokenize_quote_free(&self, input: &[u8], out: &mut Tokens) {
        let n = input.len();
        let mut line: u32 = 0;
        let mut in_record = false;
        let mut field_start = 0usize;
        let mut on_separator = |pos: usize, out: &mut Tokens| {
            let b = input[pos];
            let is_break = b != self.delimiter;
            if !in_record {
                if is_break && pos == field_start {
                    // A blank line, or the LF of a CRLF.
                    if !(b == b'\n' && pos > 0 && input[pos - 1] == b'\r') {
                        line += 1;
                    }
                    field_start = pos + 1;
                    return;
                }
                start_record(out, line, field_start);
                in_record = true;
            }
            push_field(out, field_start, pos, false);
            field_start = pos + 1;
            if is_break {
                if let Some(r) = out.records.last_mut() {
                    r.end = pos as u32;
                }
                in_record = false;
                // The record's own break: a LF after other bytes is never a CRLF's.
                line += 1;
            }
        };
        let mut blocks = input.chunks_exact(MASK_BYTES);
        let mut base = 0usize;
        for block in blocks.by_ref() {
            let Ok(block) = <&[u8; MASK_BYTES]>::try_from(block) else {
                break;
            };
            out.data.extend_from_slice(block);
            let mut mask = separator_mask(block, self.delimiter);
            while mask != 0 {
                on_separator(base + mask.trailing_zeros() as usize, out);
                mask &= mask - 1;
            }
            base += MASK_BYTES;
        }
        out.data.extend_from_slice(blocks.remainder());
        for (j, &b) in blocks.remainder().iter().enumerate() {
            if b == self.delimiter || b == b'\n' || b == b'\r' {
                on_separator(base + j, out);
            }
        }
        if in_record || field_start < n {
            if !in_record {
                start_record(out, line, field_start);
            }
            push_field(out, field_start, n, false);
            end_record(out, n);
        }
        out.lines = line;
    }

    /// [`Tokenizer::tokenize`] by the state machine: one step per byte, or per run of
    /// ordinary bytes, until the input ends.
    fn tokenize_general(&self, input: &[u8], out: &mut Tokens) -> Result<(), SyntaxError> {
        let mut m = Machine {
            state: State::RecordStart,
            line: 0,
            field_quoted: false,
            after_spaces: false,
            after_cr: false,
            field_start: 0,
            w: 0,
            i: 0,
        };
        let n = input.len();
        while m.i < n {
            let b = input[m.i];
            match m.state {
                State::RecordStart => self.record_start(&mut m, b, out),
                State::FieldStart => self.field_start(&mut m, input, out),
                State::Unquoted => self.unquoted(&mut m, input, out),
                State::Quoted => self.quoted(&mut m, input, out),
                State::Escaped => {
                    if b == b'\r' || b == b'\n' {
                        m.line += 1;
                    }
                    emit(&mut out.data, input, &mut m.w, m.i, m.i + 1);
                    m.state = State::Quoted;
                    m.i += 1;
                }
                State::QuoteSeen => self.quote_seen(&mut m, input, out)?,
                State::Comment => {
                    m.i = memchr::memchr2(b'\n', b'\r', &input[m.i..]).map_or(n, |off| m.i + off);
                    m.state = State::RecordStart;
                }
            }
        }
        self.end_of_input(&m, n, out)?;
        out.lines = m.line;
        Ok(())
    }

    /// Between records: skip blank lines (counting them) and comment lines, else start one.
    #[inline(always)]
    fn record_start(&self, m: &mut Machine, b: u8, out: &mut Tokens) {
        if b == b'\n' {
            if !m.after_cr {
                m.line += 1;
            }
            m.after_cr = false;
            m.i += 1;
            return;
        }
        m.after_cr = false;
        if b == b'\r' {
            m.line += 1;
            m.after_cr = true;
            m.i += 1;
            return;
        }
        if Some(b) == self.comment {
            m.state = State::Comment;
            m.i += 1;
            return;
        }
        start_record(out, m.line, m.i);
        m.state = State::FieldStart;
    }

    /// At a field's first byte: an opening quote, an empty field, or an unquoted field.
    #[inline(always)]
    fn field_start(&self, m: &mut Machine, input: &[u8], out: &mut Tokens) {
        let b = input[m.i];
        m.field_start = m.i;
        let open = if Some(b) == self.quote {
            Some(m.i)
        } else {
            self.quote_after_spaces(input, m.i)
        };
        if let Some(open) = open {
            m.field_quoted = true;
            m.after_spaces = open != m.i;
            m.field_start = open + 1;
            m.w = open + 1;
            m.state = State::Quoted;
            m.i = open + 1;
        } else if b == self.delimiter {
            push_field(out, m.i, m.i, false);
            m.i += 1;
        } else if b == b'\n' || b == b'\r' {
            push_field(out, m.i, m.i, false);
            end_record(out, m.i);
            m.state = State::RecordStart;
        } else {
            m.field_quoted = false;
            m.state = State::Unquoted;
        }
    }

    /// Where the opening quote is when `input[i..]` is spaces before one: the field is quoted
    /// (` "a, b"` is `a, b`, as DuckDB reads it). Spaces before anything else are data.
    #[inline(always)]
    fn quote_after_spaces(&self, input: &[u8], i: usize) -> Option<usize> {
        let quote = self.quote?;
        if input.get(i) != Some(&b' ') || self.delimiter == b' ' {
            return None;
        }
        let j = i + input[i..].iter().position(|&b| b != b' ')?;
        (input[j] == quote).then_some(j)
    }

    /// Where the spaces after a closing quote end, when a delimiter, a line break or the end of
    /// the input follows them (`"a" ,b` is `a`); `None` when text follows (an error).
    #[inline(always)]
    fn spaces_to_field_end(&self, input: &[u8], i: usize) -> Option<usize> {
        if input.get(i) != Some(&b' ') || self.delimiter == b' ' {
            return None;
        }
        let j = input[i..]
            .iter()
            .position(|&b| b != b' ')
            .map_or(input.len(), |k| i + k);
        match input.get(j) {
            None => Some(j),
            Some(&b) if b == self.delimiter || b == b'\n' || b == b'\r' => Some(j),
            Some(_) => None,
        }
    }

    /// In an unquoted field: its run of ordinary bytes, then the delimiter or line break.
    #[inline(always)]
    fn unquoted(&self, m: &mut Machine, input: &[u8], out: &mut Tokens) {
        m.i = self.classes.unquoted_run_end(input, m.i);
        if m.i < input.len() {
            push_field(out, m.field_start, m.i, false);
            if input[m.i] == self.delimiter {
                m.state = State::FieldStart;
                m.i += 1;
            } else {
                end_record(out, m.i);
                m.state = State::RecordStart;
            }
        }
    }

    /// In a quoted field: its run of ordinary bytes (emitted), then a quote, an escape or a
    /// line break (kept, and counted: a CRLF inside quotes counts as one line break).
    #[inline(always)]
    fn quoted(&self, m: &mut Machine, input: &[u8], out: &mut Tokens) {
        let start = m.i;
        m.i = self.classes.quoted_run_end(input, m.i);
        emit(&mut out.data, input, &mut m.w, start, m.i);
        if m.i < input.len() {
            let b = input[m.i];
            m.i += 1;
            if Some(b) == self.quote {
                m.state = State::QuoteSeen;
            } else if Some(b) == self.escape {
                m.state = State::Escaped;
            } else {
                let i = m.i;
                if b == b'\r' || i < 2 || input[i - 2] != b'\r' {
                    m.line += 1;
                }
                emit(&mut out.data, input, &mut m.w, i - 1, i);
            }
        }
    }

    /// After a quote inside a quoted field: a doubled quote, or the field's end.
    #[inline(always)]
    fn quote_seen(
        &self,
        m: &mut Machine,
        input: &[u8],
        out: &mut Tokens,
    ) -> Result<(), SyntaxError> {
        let b = input[m.i];
        if Some(b) == self.quote {
            emit(&mut out.data, input, &mut m.w, m.i, m.i + 1);
            m.state = State::Quoted;
            m.i += 1;
        } else if b == self.delimiter {
            end_quoted(out, m.field_start, m.w, m.i - 1, m.field_quoted);
            m.state = State::FieldStart;
            m.i += 1;
        } else if b == b'\n' || b == b'\r' {
            end_quoted(out, m.field_start, m.w, m.i - 1, m.field_quoted);
            end_record(out, m.i);
            m.state = State::RecordStart;
        } else if let Some(j) = self.spaces_to_field_end(input, m.i) {
            // Spaces after the closing quote are layout; the delimiter or break is next.
            end_quoted(out, m.field_start, m.w, m.i - 1, m.field_quoted);
            m.i = j;
            if input.get(j) == Some(&self.delimiter) {
                m.state = State::FieldStart;
                m.i += 1;
            } else {
                end_record(out, j);
                m.state = State::RecordStart;
            }
        } else {
            return Err(self.error(out, "unexpected character after a closing quote"));
        }
        Ok(())
    }

    /// The input ends (`n` bytes): close the last field and record, or fail inside quotes.
    fn end_of_input(&self, m: &Machine, n: usize, out: &mut Tokens) -> Result<(), SyntaxError> {
        match m.state {
            State::RecordStart | State::Comment => {}
            State::Quoted | State::Escaped => {
                let reason = if m.after_spaces {
                    UNTERMINATED_AFTER_SPACES
                } else {
                    UNTERMINATED
                };
                return Err(self.error(out, reason));
            }
            State::FieldStart => {
                push_field(out, n, n, false);
                end_record(out, n);
            }
            State::Unquoted => {
                push_field(out, m.field_start, n, false);
                end_record(out, n);
            }
            State::QuoteSeen => {
                end_quoted(out, m.field_start, m.w, n - 1, m.field_quoted);
                end_record(out, n);
            }
        }
        Ok(())
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
            field: out.fields.len() as u32 - span.first_field,
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
    fn spaces_around_quotes_are_layout() {
        let d = Dialect::default();
        assert_eq!(fields(&d, "\"a\"  ,\",\"\n"), rows(&[&["a", ","]]));
        assert_eq!(
            fields(&d, "1, \"x, y\"\n2,  \"z\nw\" \r\n3,\"v\"  "),
            rows(&[&["1", "x, y"], &["2", "z\nw"], &["3", "v"]])
        );
        let t = Tokenizer::new(&d).state_machine_only();
        let mut out = Tokens::default();
        t.tokenize(b" \"\",x\n", &mut out).unwrap();
        assert_eq!(out.quoted, vec![true, false]);
        // Spaces before anything but a quote are data, and a quote after other text is literal.
        assert_eq!(fields(&d, " a, b\"c\n"), rows(&[&[" a", " b\"c"]]));
        // A quote after spaces left open is named as such.
        let e = t.tokenize(b"a\n \"b\n", &mut out).unwrap_err();
        assert_eq!(e.reason, UNTERMINATED_AFTER_SPACES);
        // Text after the spaces is still malformed quoting.
        let e = t.tokenize(b"\"a\" b,c\n", &mut out).unwrap_err();
        assert!(e.reason.contains("after a closing quote"));
        // A space delimiter keeps its spaces.
        let spaced = Dialect {
            delimiter: b' ',
            ..Dialect::default()
        };
        assert_eq!(fields(&spaced, "\"a\" \"b\"\n"), rows(&[&["a", "b"]]));
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

    /// Everything the tokens say, for comparing two tokenizations.
    fn summary(t: &Tokens) -> (Vec<Vec<u8>>, Vec<bool>, Vec<RecordSpan>, u32) {
        (
            (0..t.fields.len()).map(|f| t.field(f).to_vec()).collect(),
            t.quoted.clone(),
            t.records.clone(),
            t.lines,
        )
    }

    /// The quote-free path gives the state machine's tokens (fields, records with their lines
    /// and byte offsets, line count) on inputs of LF, CR, CRLF, blank lines, delimiters and text
    /// of every length around the 64-byte mask blocks, with and without a trailing line break.
    #[test]
    fn quote_free_path_equals_the_state_machine() {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"bc",
            b",",
            b",,",
            b"\n",
            b"\r",
            b"\r\n",
            b"\n\n",
            b"x1",
            b"0123456789abcdef",
        ];
        let seed = 0x9e37_79b9_7f4a_7c15u64;
        println!("seed {seed:#x}");
        let mut next = crate::testkit::rng::draws(seed);
        for dialect in [
            Dialect::default(),
            Dialect {
                comment: Some(b'#'),
                ..Dialect::default()
            },
        ] {
            let fast = Tokenizer::new(&dialect);
            let slow = fast.clone().state_machine_only();
            for _ in 0..2000 {
                let mut input = Vec::new();
                let len = next() % 90;
                for _ in 0..len {
                    input.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
                }
                let (mut a, mut b) = (Tokens::default(), Tokens::default());
                fast.tokenize(&input, &mut a).unwrap();
                slow.tokenize(&input, &mut b).unwrap();
                assert_eq!(
                    summary(&a),
                    summary(&b),
                    "input {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }

    #[test]
    fn separator_mask_marks_delimiters_and_breaks() {
        let mut block = [b'x'; MASK_BYTES];
        for (j, b) in [(0, b','), (7, b'\n'), (8, b'\r'), (33, b';'), (63, b',')] {
            block[j] = b;
        }
        let m = separator_mask(&block, b',');
        assert_eq!(m, 1 | 1 << 7 | 1 << 8 | 1 << 63);
        assert_eq!(separator_mask(&block, b';'), 1 << 7 | 1 << 8 | 1 << 33);
    }

    /// Unescaped quoted fields are spans of `data`; what unescaping leaves behind is blanked, so
    /// `data` stays valid UTF-8 when a doubled quote precedes a multi-byte character.
    #[test]
    fn unescaping_in_place_keeps_data_valid_utf8() {
        let t = Tokenizer::new(&Dialect::default());
        let mut out = Tokens::default();
        let input = "\"a\"\"é\"\"ü\",b\n\"\"\"\",\"x\"\n".as_bytes();
        t.tokenize(input, &mut out).unwrap();
        assert_eq!(out.field(0), "a\"é\"ü".as_bytes());
        assert_eq!(out.field(1), b"b");
        assert_eq!(out.field(2), b"\"");
        assert_eq!(out.field(3), b"x");
        assert!(std::str::from_utf8(&out.data).is_ok());
        let d = Dialect {
            escape: Some(b'\\'),
            ..Dialect::default()
        };
        Tokenizer::new(&d)
            .tokenize("\"\\\"é\\\\\"\n".as_bytes(), &mut out)
            .unwrap();
        assert_eq!(out.field(0), "\"é\\".as_bytes());
        assert!(std::str::from_utf8(&out.data).is_ok());
    }
}
