//! Record-boundary chunking: cuts the decompressed byte stream into chunks of whole records so
//! that chunks can be tokenized and decoded in parallel.
//!
//! The scanner follows the tokenizer's grammar (quotes, escapes, comments, CR/LF/CRLF) but only
//! tracks state, so it runs at memory speed on one thread. A chunk always ends where a record
//! starts; the last chunk takes whatever is left.

use bytes::{Bytes, BytesMut};

use crate::decode::dialect::{ByteClasses, Dialect};
use crate::decode::quotemask::{self, Carry};

/// The most `push` reserves ahead at once (chunk sizes and limits may be `usize::MAX`); a larger
/// chunk grows the buffer as a `Vec` would.
const MAX_RESERVE: usize = 64 * 1024 * 1024;

/// A run of whole records, positioned in the decompressed input.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// 0-based sequence number; decoded chunks are re-ordered by it.
    pub seq: u64,
    /// The bytes.
    pub data: Bytes,
    /// Offset of `data[0]` in the decompressed input.
    pub base_byte: u64,
    /// Line breaks before `data[0]` (0-based line of the chunk's first byte).
    pub base_line: u64,
}

/// A record longer than the memory budget allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordTooLong {
    /// 0-based line where the record starts.
    pub line: u64,
    /// Offset of its first byte.
    pub byte: u64,
    /// The limit in bytes.
    pub limit: usize,
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

/// Cuts a byte stream into chunks of whole records.
#[derive(Debug)]
pub struct Chunker {
    delimiter: u8,
    quote: Option<u8>,
    escape: Option<u8>,
    comment: Option<u8>,
    /// The bytes that end a run outside and inside quotes.
    classes: ByteClasses,
    /// `scan_quote_free` on (only tests turn it off, to compare it with the state machine).
    quote_free_fast_path: bool,
    /// `scan_masked` on (only tests turn it off, to compare it with the state machine).
    mask_scan: bool,
    state: State,
    after_cr: bool,
    buf: BytesMut,
    scanned: usize,
    /// Start of the last record seen in `buf` (0 = none after the start).
    boundary: usize,
    lines_scanned: u64,
    lines_at_boundary: u64,
    base_byte: u64,
    base_line: u64,
    next_seq: u64,
    chunk_bytes: usize,
    max_record_bytes: usize,
}

impl Chunker {
    /// A chunker emitting chunks of about `chunk_bytes`, refusing records over `max_record_bytes`.
    /// `base_byte`/`base_line` position the first byte it will be given.
    pub fn new(
        dialect: &Dialect,
        chunk_bytes: usize,
        max_record_bytes: usize,
        base_byte: u64,
        base_line: u64,
    ) -> Self {
        let classes = dialect.byte_classes();
        Chunker {
            delimiter: dialect.delimiter,
            quote: dialect.quote,
            escape: classes.escape,
            comment: dialect.comment,
            classes,
            quote_free_fast_path: true,
            mask_scan: true,
            state: State::RecordStart,
            after_cr: false,
            buf: BytesMut::new(),
            scanned: 0,
            boundary: 0,
            lines_scanned: 0,
            lines_at_boundary: 0,
            base_byte,
            base_line,
            next_seq: 0,
            chunk_bytes: chunk_bytes.max(1),
            max_record_bytes,
        }
    }

    /// Add bytes; returns the chunks that are complete.
    ///
    /// A block longer than a quarter chunk goes in pieces of that size: a chunk is cut at the
    /// last record start in the buffer, so the head (8 MiB by default, handed over whole)
    /// made one 8 MiB chunk, and a chunk of short fields decodes to ~10x its bytes (spans,
    /// flags, 8-byte values): 100 columns of digits peaked at 173 MiB under a 128 MiB limit.
    /// A chunk is now at most `chunk_bytes` and a piece (or a block, as the reader sizes them).
    pub fn push(&mut self, block: &[u8], out: &mut Vec<Chunk>) -> Result<(), RecordTooLong> {
        let piece = (self.chunk_bytes / 4).max(1);
        for part in block.chunks(piece) {
            self.push_piece(part, out)?;
        }
        Ok(())
    }

    fn push_piece(&mut self, block: &[u8], out: &mut Vec<Chunk>) -> Result<(), RecordTooLong> {
        if self.buf.capacity() - self.buf.len() < block.len() {
            // Room for a whole chunk: chunks are split off this allocation without a copy, so
            // it is replaced (the unfinished record moved over) about once per chunk.
            let room = self.chunk_bytes.min(self.max_record_bytes).min(MAX_RESERVE);
            self.buf.reserve(room.saturating_add(block.len()));
        }
        self.buf.extend_from_slice(block);
        self.scan();
        while self.buf.len() >= self.chunk_bytes && self.boundary > 0 {
            let at = self.boundary;
            out.push(self.split(at));
        }
        if self.buf.len() - self.boundary > self.max_record_bytes {
            return Err(RecordTooLong {
                line: self.base_line + self.lines_at_boundary,
                byte: self.base_byte + self.boundary as u64,
                limit: self.max_record_bytes,
            });
        }
        Ok(())
    }

    /// The rest of the input after the last `push`, if any.
    pub fn finish(&mut self) -> Option<Chunk> {
        if self.buf.is_empty() {
            return None;
        }
        let len = self.buf.len();
        self.lines_at_boundary = self.lines_scanned;
        Some(self.split(len))
    }

    /// Offset (in the bytes pushed since the last chunk) where the last record seen starts:
    /// everything before it is whole records.
    pub fn last_record_start(&self) -> usize {
        self.boundary
    }

    /// Bytes buffered and not yet emitted.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn split(&mut self, at: usize) -> Chunk {
        // No copy: the chunk keeps the allocation it was cut from (about one chunk plus a block,
        // see `push`) alive while it is in flight.
        let data = self.buf.split_to(at).freeze();
        let chunk = Chunk {
            seq: self.next_seq,
            data,
            base_byte: self.base_byte,
            base_line: self.base_line,
        };
        self.next_seq += 1;
        self.base_byte += at as u64;
        self.base_line += self.lines_at_boundary;
        self.lines_scanned -= self.lines_at_boundary;
        self.lines_at_boundary = 0;
        self.scanned -= at;
        self.boundary = 0;
        chunk
    }

    /// `scan` for unscanned bytes outside quotes that hold no quote (and no comment) byte, as
    /// files without quoted fields are: their records start after line breaks, so the last
    /// record start and the line count come from a few vectorized passes instead of the
    /// state machine. Returns whether it applied (it does nothing otherwise).
    fn scan_quote_free(&mut self) -> bool {
        let region = &self.buf[self.scanned..];
        let outside = matches!(
            self.state,
            State::RecordStart | State::FieldStart | State::Unquoted
        );
        let Some(&last) = region.last() else {
            return false;
        };
        if !self.quote_free_fast_path
            || !outside
            || [self.quote, self.comment]
                .into_iter()
                .flatten()
                .any(|b| memchr::memchr(b, region).is_some())
        {
            return false;
        }
        let is_break = |b: u8| b == b'\n' || b == b'\r';
        // A CR just before the region makes a LF at its start the end of a CRLF.
        let prev_cr = self.state == State::RecordStart && self.after_cr;
        if let Some(j) = region.iter().rposition(|&b| !is_break(b)) {
            // The record holding the last non-break byte starts after the break before it, or
            // at the region's start if a record starts there.
            let start = match memchr::memrchr2(b'\n', b'\r', &region[..j]) {
                Some(k) => Some(k + 1),
                None => (self.state == State::RecordStart).then_some(0),
            };
            let total = line_breaks(region, prev_cr);
            if let Some(p) = start {
                // Counted from the end: the last record is short. `region[p]` is no LF, so
                // no CRLF straddles `p`.
                self.boundary = self.scanned + p;
                self.lines_at_boundary =
                    self.lines_scanned + total - line_breaks(&region[p..], false);
            }
            self.lines_scanned += total;
        } else {
            self.lines_scanned += line_breaks(region, prev_cr);
        }
        self.state = if is_break(last) {
            State::RecordStart
        } else if last == self.delimiter {
            State::FieldStart
        } else {
            State::Unquoted
        };
        self.after_cr = last == b'\r';
        self.scanned = self.buf.len();
        true
    }

    /// `scan` for quoted data without a separate escape: see `quotemask`. Returns whether it
    /// applied (it does nothing otherwise: a misplaced quote, a comment byte in the region, or
    /// a state it does not start from).
    fn scan_masked(&mut self) -> bool {
        let (Some(quote), None, true) = (self.quote, self.escape, self.mask_scan) else {
            return false;
        };
        let region = &self.buf[self.scanned..];
        if region.is_empty()
            || self
                .comment
                .is_some_and(|c| memchr::memchr(c, region).is_some())
        {
            return false;
        }
        let state = self.state;
        if matches!(state, State::Escaped | State::Comment) {
            return false;
        }
        let carry = Carry {
            inside: state == State::Quoted,
            opening_ok: matches!(
                state,
                State::RecordStart | State::FieldStart | State::QuoteSeen
            ),
            after_close: state == State::QuoteSeen,
            after_break: state == State::RecordStart,
            after_cr: self.scanned > 0 && self.buf[self.scanned - 1] == b'\r',
        };
        let Some(found) = quotemask::scan(region, self.delimiter, quote, carry) else {
            return false;
        };
        if let Some((p, lines)) = found.last_record {
            self.boundary = self.scanned + p;
            self.lines_at_boundary = self.lines_scanned + lines;
        }
        self.lines_scanned += found.lines;
        let end = found.end;
        self.state = if end.inside {
            State::Quoted
        } else if end.after_close {
            State::QuoteSeen
        } else if end.after_break {
            State::RecordStart
        } else if end.opening_ok {
            State::FieldStart
        } else {
            State::Unquoted
        };
        self.after_cr = end.after_break && end.after_cr;
        self.scanned = self.buf.len();
        true
    }

    fn scan(&mut self) {
        if self.ends_in_opening_spaces() {
            // Spaces that may go before an opening quote: only the state machine knows that a
            // field has not started yet.
            self.scan_general();
        } else if !self.scan_quote_free() && !self.scan_masked() {
            self.scan_general();
        }
    }

    /// Whether the unscanned bytes end in spaces after a delimiter or line break (or are all
    /// spaces): the fast paths would take them for the start of an unquoted field, but a quote
    /// after them opens a quoted one (the tokenizer's `quote_after_spaces`).
    fn ends_in_opening_spaces(&self) -> bool {
        if self.quote.is_none() || self.delimiter == b' ' {
            return false;
        }
        let region = &self.buf[self.scanned..];
        let trailing = region.iter().rev().take_while(|&&b| b == b' ').count();
        trailing > 0
            && region
                .len()
                .checked_sub(trailing + 1)
                .is_none_or(|k| matches!(region[k], b'\n' | b'\r') || region[k] == self.delimiter)
    }

    /// [`Chunker::scan`] by the state machine (the fast paths cannot take the input).
    fn scan_general(&mut self) {
        let input = &self.buf[..];
        let n = input.len();
        let mut i = self.scanned;
        let mut state = self.state;
        let mut lines = self.lines_scanned;
        let mut after_cr = self.after_cr;
        while i < n {
            let b = input[i];
            match state {
                State::RecordStart => {
                    if b == b'\n' {
                        lines += u64::from(!after_cr);
                        after_cr = false;
                        i += 1;
                        continue;
                    }
                    after_cr = b == b'\r';
                    if after_cr {
                        lines += 1;
                        i += 1;
                        continue;
                    }
                    self.boundary = i;
                    self.lines_at_boundary = lines;
                    if Some(b) == self.comment {
                        state = State::Comment;
                        i += 1;
                    } else {
                        state = State::FieldStart;
                    }
                }
                State::FieldStart => {
                    if Some(b) == self.quote {
                        state = State::Quoted;
                        i += 1;
                    } else if b == b' ' && self.quote.is_some() && self.delimiter != b' ' {
                        // Spaces before an opening quote, or an unquoted field's start.
                        i += 1;
                    } else if b == self.delimiter {
                        i += 1;
                    } else if b == b'\n' || b == b'\r' {
                        state = State::RecordStart;
                    } else {
                        state = State::Unquoted;
                    }
                }
                State::Unquoted => {
                    i = self.classes.unquoted_run_end(input, i);
                    if i < n {
                        if input[i] == self.delimiter {
                            state = State::FieldStart;
                            i += 1;
                        } else {
                            state = State::RecordStart;
                        }
                    }
                }
                State::Quoted => {
                    i = self.classes.quoted_run_end(input, i);
                    if i < n {
                        let b = input[i];
                        i += 1;
                        if Some(b) == self.quote {
                            state = State::QuoteSeen;
                        } else if Some(b) == self.escape {
                            state = State::Escaped;
                        } else if b == b'\r' || i < 2 || input[i - 2] != b'\r' {
                            lines += 1;
                        }
                    }
                }
                State::Escaped => {
                    lines += u64::from(b == b'\r' || b == b'\n');
                    state = State::Quoted;
                    i += 1;
                }
                State::QuoteSeen => {
                    if Some(b) == self.quote {
                        state = State::Quoted;
                        i += 1;
                    } else {
                        // Delimiter, line break, or (malformed) text the tokenizer will report.
                        state = State::Unquoted;
                    }
                }
                State::Comment => match memchr::memchr2(b'\n', b'\r', &input[i..]) {
                    Some(off) => {
                        i += off;
                        state = State::RecordStart;
                    }
                    None => i = n,
                },
            }
        }
        self.scanned = i;
        self.state = state;
        self.lines_scanned = lines;
        self.after_cr = after_cr;
    }
}

/// Line breaks in `bytes` outside quotes: each CR, and each LF not right after a CR (`prev_cr`:
/// the byte before `bytes` was a CR).
fn line_breaks(bytes: &[u8], prev_cr: bool) -> u64 {
    let lf = count_byte(bytes, b'\n');
    if !prev_cr && memchr::memchr(b'\r', bytes).is_none() {
        return lf as u64;
    }
    let cr = count_byte(bytes, b'\r');
    let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count()
        + usize::from(prev_cr && bytes.first() == Some(&b'\n'));
    (lf + cr - crlf) as u64
}

/// Occurrences of `x` in `bytes`, counted in byte lanes (a `usize` count per byte vectorizes
/// 4 bytes at a time; 255 bytes cannot overflow a `u8`).
fn count_byte(bytes: &[u8], x: u8) -> usize {
    bytes
        .chunks(255)
        .map(|c| usize::from(c.iter().fold(0u8, |n, &b| n + u8::from(b == x))))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tokenizer::Tokenizer;
    use crate::decode::tokens::Tokens;

    /// Tokenize whole, and chunked with every block size; the records (fields, absolute lines and
    /// byte offsets) must be identical.
    fn check_chunking(dialect: &Dialect, input: &[u8]) {
        let tok = Tokenizer::new(dialect);
        let mut whole = Tokens::default();
        tok.tokenize(input, &mut whole).unwrap();
        let expect = flatten(&whole, 0, 0);
        for block in [1usize, 2, 3, 5, 7, 16, 1000] {
            for chunk_bytes in [1usize, 4, 9, 64] {
                let mut c = Chunker::new(dialect, chunk_bytes, 1 << 20, 0, 0);
                let mut chunks = Vec::new();
                for piece in input.chunks(block) {
                    c.push(piece, &mut chunks).unwrap();
                }
                chunks.extend(c.finish());
                let mut got = Vec::new();
                let mut t = Tokens::default();
                for ch in &chunks {
                    tok.tokenize(&ch.data, &mut t).unwrap();
                    got.extend(flatten(&t, ch.base_line, ch.base_byte));
                }
                assert_eq!(got, expect, "block {block} chunk {chunk_bytes}");
            }
        }
    }

    fn flatten(t: &Tokens, base_line: u64, base_byte: u64) -> Vec<(u64, u64, Vec<Vec<u8>>)> {
        (0..t.records.len())
            .map(|r| {
                let span = t.records[r];
                let first = span.first_field as usize;
                let fields = (first..first + t.field_count(r))
                    .map(|f| t.field(f).to_vec())
                    .collect();
                (
                    base_line + span.line as u64,
                    base_byte + span.start as u64,
                    fields,
                )
            })
            .collect()
    }

    #[test]
    fn chunking_matches_whole_tokenization() {
        let d = Dialect::default();
        check_chunking(&d, b"a,b\n1,2\n");
        check_chunking(&d, b"a,b\r\n\"x\r\ny\",\"q\"\"\"\r\n\r\n3,4\r5,6");
        check_chunking(&d, b"\"\",\n,\n\"a,\nb\",c\n\n\n");
        let e = Dialect {
            escape: Some(b'\\'),
            comment: Some(b'#'),
            ..Dialect::default()
        };
        check_chunking(&e, b"#c \"x\n\"a\\\"\\\nb\",1\n#\r\n2,\"3\"\n");
        // Spaces before an opening quote: the quoted line break is no record boundary.
        check_chunking(&d, b"a, b\n1,  \"x\ny\" ,z\n2, \"w\"\n");
    }

    /// Chunks (sequence, bytes, first byte, first line) of `input` pushed in `block`-byte pieces
    /// into a chunker of `chunk_bytes` set up by `setup`, starting at byte 5, line 2.
    fn cut(
        dialect: &Dialect,
        input: &[u8],
        block: usize,
        chunk_bytes: usize,
        setup: impl Fn(&mut Chunker),
    ) -> Vec<(u64, Vec<u8>, u64, u64)> {
        let mut c = Chunker::new(dialect, chunk_bytes, 1 << 20, 5, 2);
        setup(&mut c);
        let mut chunks = Vec::new();
        for piece in input.chunks(block) {
            c.push(piece, &mut chunks).unwrap();
        }
        chunks.extend(c.finish());
        chunks
            .into_iter()
            .map(|ch| (ch.seq, ch.data.to_vec(), ch.base_byte, ch.base_line))
            .collect()
    }

    /// The quote-free fast path cuts the same chunks (bytes, lines, offsets) as the state
    /// machine, for every block size, on inputs of LF, CR, CRLF, blank lines, delimiters and
    /// text, with and without quoted fields elsewhere in the stream.
    #[test]
    fn quote_free_fast_path_equals_the_state_machine() {
        let alphabet: &[&[u8]] = &[
            b"a", b"bc", b",", b",,", b"\n", b"\r", b"\r\n", b"\n\n", b"x1",
        ];
        let seed = 0x2545_f491_4f6c_dd1du64;
        println!("seed {seed:#x}");
        let mut next = crate::testkit::rng::draws(seed);
        for case in 0..300 {
            let mut input = Vec::new();
            let len = 1 + next() % 60;
            for _ in 0..len {
                input.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            if case % 3 == 0 {
                // A quoted field somewhere: blocks before and after it still take the fast path.
                let at = (next() % (input.len() as u64 + 1)) as usize;
                input.splice(at..at, b"\n\"q,\r\nq\"\n".iter().copied());
            }
            for block in [1usize, 2, 3, 5, 8, 1000] {
                for chunk_bytes in [1usize, 3, 16] {
                    let run = |fast: bool| {
                        cut(&Dialect::default(), &input, block, chunk_bytes, |c| {
                            c.quote_free_fast_path = fast;
                        })
                    };
                    assert_eq!(
                        run(true),
                        run(false),
                        "input {:?} block {block} chunk {chunk_bytes}",
                        String::from_utf8_lossy(&input)
                    );
                }
            }
        }
    }

    /// The bitmask scan cuts the same chunks (bytes, lines, offsets) as the state machine, for
    /// every block size, on quoted fields holding delimiters, breaks and doubled quotes, and on
    /// misplaced quotes (literal in unquoted fields, text after a closing quote) where it gives
    /// up. Inputs run past 64 bytes so that state carries across mask blocks.
    #[test]
    fn mask_scan_equals_the_state_machine() {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"bcd",
            b",",
            b"\n",
            b"\r",
            b"\r\n",
            b"\"",
            b"\"\"",
            b"\",\"",
            b"\"\n",
            b"\n\"",
            b"\"x,\ny\"",
            b"\"\"\"",
            b"#",
            b"0123456789abcdef",
        ];
        let seed = 0x9e37_79b9_7f4a_7c15u64;
        println!("seed {seed:#x}");
        let mut next = crate::testkit::rng::draws(seed);
        let dialects = [
            Dialect::default(),
            Dialect {
                comment: Some(b'#'),
                ..Dialect::default()
            },
            Dialect {
                delimiter: b'|',
                quote: Some(b'\''),
                ..Dialect::default()
            },
        ];
        for case in 0..400 {
            let mut input = Vec::new();
            let len = 1 + next() % 120;
            for _ in 0..len {
                let token = alphabet[(next() % alphabet.len() as u64) as usize];
                if case % 4 != 0 && token == b"\"" {
                    // Mostly well-formed: a lone quote only in a quarter of the cases.
                    input.extend_from_slice(b"\"q\"");
                } else {
                    input.extend_from_slice(token);
                }
            }
            let dialect = &dialects[case % dialects.len()];
            if dialect.delimiter == b'|' {
                for b in &mut input {
                    *b = match *b {
                        b'"' => b'\'',
                        b',' => b'|',
                        b => b,
                    };
                }
            }
            for block in [1usize, 7, 64, 100, 1000] {
                for chunk_bytes in [1usize, 16, 200] {
                    let run = |fast: bool| {
                        cut(dialect, &input, block, chunk_bytes, |c| {
                            c.quote_free_fast_path = fast;
                            c.mask_scan = fast;
                        })
                    };
                    assert_eq!(
                        run(true),
                        run(false),
                        "case {case} input {:?} block {block} chunk {chunk_bytes}",
                        String::from_utf8_lossy(&input)
                    );
                }
            }
        }
    }

    #[test]
    fn line_breaks_count_crlf_once() {
        assert_eq!(line_breaks(b"a\nb\r\nc\rd", false), 3);
        assert_eq!(line_breaks(b"\n\n", true), 1);
        assert_eq!(line_breaks(b"\r\r\n", false), 2);
        assert_eq!(line_breaks(b"", true), 0);
    }

    /// A block of many chunks (the head is handed over whole) is cut into chunks of about
    /// `chunk_bytes`, not one chunk up to its last record.
    #[test]
    fn a_large_block_is_cut_into_chunk_sized_chunks() {
        let input: Vec<u8> = (0..10_000)
            .flat_map(|i| format!("{},{}\n", i % 10, i % 7).into_bytes())
            .collect();
        let mut c = Chunker::new(&Dialect::default(), 1000, 1 << 20, 0, 0);
        let mut chunks = Vec::new();
        c.push(&input, &mut chunks).unwrap();
        chunks.extend(c.finish());
        assert!(
            chunks.len() >= input.len() / 1250,
            "{} chunks",
            chunks.len()
        );
        // At most a chunk, a quarter-chunk piece and the record that straddles it.
        assert!(chunks.iter().all(|ch| ch.data.len() <= 1000 + 250 + 4));
        let whole: Vec<u8> = chunks.iter().flat_map(|ch| ch.data.to_vec()).collect();
        assert_eq!(whole, input);
        assert!(chunks.iter().all(|ch| ch.data.ends_with(b"\n")));
    }

    #[test]
    fn long_record_is_refused_with_its_line() {
        let mut c = Chunker::new(&Dialect::default(), 4, 10, 100, 7);
        let mut out = Vec::new();
        c.push(b"a,b\n\"01234", &mut out).unwrap();
        let err = c.push(b"567890123456789\"\n", &mut out).unwrap_err();
        assert_eq!(
            err,
            RecordTooLong {
                line: 8,
                byte: 104,
                limit: 10
            }
        );
    }
}
