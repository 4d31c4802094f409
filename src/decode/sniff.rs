//! Dialect sniffing: which delimiter, quote, escape and comment prefix the input uses, and how
//! many preamble lines come before its table, found from the head the way DuckDB's sniffer does.
//!
//! Every candidate dialect tokenizes the first [`SNIFF_BYTES`] of the head (whole records
//! only). Its *column count* is the most common field count, or another whose records all fit
//! from the first record with it on, if that scores better; its *start* the first record with
//! that count (records before it, each with fewer fields, are a preamble: a title, an export
//! note); its score the records from the start with that count, less those without (a record
//! with one more field, empty, fits: a trailing delimiter). The best
//! candidate has more than one column if any has, then the highest score, then the most
//! columns, then quotes some field (`'1','world'` is quoted with `'`, as DuckDB reads it), then
//! comes first in the order of preference (`,` `;` tab `|`; `"` then `'`;
//! doubling then `\`; no comment then `#`). A candidate that meets a syntax error is scored on
//! the records before it.
//!
//! Only what the options leave open is sniffed ([`Sniff`]). Candidates are only tried where the
//! sample gives them a chance: a delimiter or a `'` quote the sample never holds, a `\` it never
//! holds, a `#` that starts no line. "No quote" comes last, tried when the head holds a quote, and
//! only in the running when every candidate with `"` and the same delimiter meets text after a
//! closing quote (malformed quoting such as `"x"y`, or a stray `"` in a TSV, which DuckDB reads
//! with quoting off): well-formed quotes are never read literally, and quoted fields are never
//! split at their delimiters.
//!
//! Header presence needs the column types, so it is decided by inference ([`crate::schema`]),
//! after the dialect.

use crate::decode::chunker::Chunker;
use crate::decode::dialect::Dialect;
use crate::decode::tokenizer::{Tokenizer, UNTERMINATED, UNTERMINATED_AFTER_SPACES};
use crate::decode::tokens::Tokens;

/// Bytes of the head the candidates tokenize.
pub const SNIFF_BYTES: usize = 256 * 1024;

/// Records of the head the candidates are scored on.
const SNIFF_RECORDS: usize = 2_000;

/// A preamble is at most this many records.
const MAX_PREAMBLE: usize = 64;

/// Which parts of the dialect are sniffed from the input (the rest are taken as set). An option
/// set explicitly turns its part off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Sniff {
    /// The delimiter, among `,` `;` tab `|`.
    pub delimiter: bool,
    /// The quote, `"` or `'`.
    pub quote: bool,
    /// The escape inside quotes: doubling or `\`.
    pub escape: bool,
    /// The comment prefix: none or `#`.
    pub comment: bool,
    /// Whether the first row is a header.
    pub header: bool,
    /// How many preamble lines come before the table.
    pub skip_rows: bool,
}

impl Sniff {
    /// Sniff everything (the default).
    pub const ALL: Sniff = Sniff {
        delimiter: true,
        quote: true,
        escape: true,
        comment: true,
        header: true,
        skip_rows: true,
    };
    /// Sniff nothing: the dialect as set.
    pub const NONE: Sniff = Sniff {
        delimiter: false,
        quote: false,
        escape: false,
        comment: false,
        header: false,
        skip_rows: false,
    };

    /// Whether anything about the tokenizing is sniffed (header presence aside).
    pub fn any_syntax(&self) -> bool {
        self.delimiter || self.quote || self.escape || self.comment || self.skip_rows
    }

    /// The names of the parts sniffed, for reports.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.delimiter, "delimiter"),
            (self.quote, "quote"),
            (self.escape, "escape"),
            (self.comment, "comment"),
            (self.header, "header"),
            (self.skip_rows, "skip_rows"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

impl Default for Sniff {
    fn default() -> Self {
        Sniff::ALL
    }
}

/// What sniffing chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sniffed {
    /// The dialect (its `has_header` as given: header presence is decided later).
    pub dialect: Dialect,
    /// Preamble lines before the table.
    pub skip_lines: usize,
}

/// No candidate gives the sample a table: what was tried and what came closest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoDialect {
    /// The candidates, e.g. `delimiters [, ; \t |], quotes ["], ...`.
    pub tried: String,
    /// The best candidate's result, e.g. `";" gives 3 columns in 4 of 10 records`.
    pub best: String,
}

/// One candidate's result on the sample.
#[derive(Debug, Clone, Copy)]
struct Score {
    columns: usize,
    consistent: usize,
    inconsistent: usize,
    skip_lines: usize,
    /// Some field was quoted: the quote character is used, not only allowed.
    quotes_used: bool,
    /// Tokenizing met a syntax error (the records before it are scored).
    error: bool,
}

impl Score {
    fn key(&self) -> (bool, i64, usize, bool, bool) {
        (
            self.columns > 1,
            self.consistent as i64 - self.inconsistent as i64,
            self.columns,
            // Past the records scored, an error still counts against it.
            !self.error,
            self.quotes_used,
        )
    }
}

/// Sniff the parts of the dialect `sniff` leaves open from `sample` (the head after any byte
/// order mark; `at_end`: it is the whole input). `tsv_hint`: the input's name ends in `.tsv`
/// (tab then comes first among equals). `base` holds the parts set. `decimal_comma`: `,` is the
/// decimal mark, never a candidate delimiter.
pub(crate) fn sniff(
    sample: &[u8],
    at_end: bool,
    base: &Dialect,
    sniff: Sniff,
    tsv_hint: bool,
    decimal_comma: bool,
) -> Result<Sniffed, NoDialect> {
    let mut candidates = candidates(
        &sample[..sample.len().min(SNIFF_BYTES)],
        base,
        sniff,
        tsv_hint,
    );
    if decimal_comma && sniff.delimiter {
        // `,` is the decimal mark: never the delimiter.
        candidates.retain(|d| d.delimiter != b',');
        if candidates.is_empty() {
            // `,` was the only candidate: one column, read with another delimiter.
            let absent = b";\t|"
                .iter()
                .copied()
                .find(|&d| memchr::memchr(d, sample).is_none())
                .unwrap_or(b';');
            candidates.push(Dialect {
                delimiter: absent,
                ..base.clone()
            });
        }
    }
    let tried = describe(&candidates);
    // A record longer than the first bytes: score on all of the head.
    let mut best = best(
        &sample[..sample.len().min(SNIFF_BYTES)],
        at_end && sample.len() <= SNIFF_BYTES,
        &candidates,
    );
    if best.is_none() && sample.len() > SNIFF_BYTES {
        best = self::best(sample, at_end, &candidates);
    }
    let Some((score, dialect)) = best else {
        // Not one whole record (an empty input, or a record longer than the head): nothing to
        // sniff from; the read reports what is wrong.
        return Ok(Sniffed {
            dialect: base.clone(),
            skip_lines: 0,
        });
    };
    if score.columns == 1 && sniff.delimiter {
        // One column: read whole lines, with a delimiter the head never holds (a `;` in some
        // lines of a one-column file is text, not a reason to split them).
        let has = |b: u8| memchr::memchr(b, sample).is_some();
        if let Some(&delimiter) = b",;\t|".iter().find(|&&d| !has(d)) {
            return Ok(Sniffed {
                dialect: Dialect {
                    delimiter,
                    ..dialect.clone()
                },
                skip_lines: if sniff.skip_rows { score.skip_lines } else { 0 },
            });
        }
    }
    let rows = score.consistent + score.inconsistent;
    if score.columns > 1 && score.consistent * 2 < rows {
        return Err(NoDialect {
            tried,
            best: format!(
                "{} gives {} fields in only {} of {} records",
                show(dialect),
                score.columns,
                score.consistent,
                rows
            ),
        });
    }
    Ok(Sniffed {
        dialect: dialect.clone(),
        skip_lines: if sniff.skip_rows { score.skip_lines } else { 0 },
    })
}

/// The best of `candidates` on `sample`, if any reads a whole record. A candidate without a
/// quote is only in the running when every candidate with `"` and the same delimiter meets an
/// error, one of them malformed quoting: reading quotes literally is the fallback for that, never a way to split
/// well-quoted fields or to pass over a quote left open at the end of the input (a cut file).
fn best<'a>(
    sample: &[u8],
    at_end: bool,
    candidates: &'a [Dialect],
) -> Option<(Score, &'a Dialect)> {
    let mut best: Option<(Score, &Dialect)> = None;
    // Per delimiter, with the quote `"` (`'` is an extra candidate: that it reads a head says
    // little): some candidate reads the head without an error; some meets malformed quoting.
    let mut clean = Vec::new();
    let mut malformed = Vec::new();
    let mut literal = Vec::new();
    for dialect in candidates {
        let (score, error, is_malformed) = score(sample, at_end, dialect);
        if dialect.quote == Some(b'"') {
            if !error {
                clean.push(dialect.delimiter);
            }
            if is_malformed {
                malformed.push(dialect.delimiter);
            }
        }
        let Some(score) = score else {
            continue;
        };
        if dialect.quote.is_none() {
            literal.push((score, dialect));
            continue;
        }
        if best.is_none_or(|(b, _)| score.key() > b.key()) {
            best = Some((score, dialect));
        }
    }
    for (score, dialect) in literal {
        let d = dialect.delimiter;
        if !clean.contains(&d)
            && malformed.contains(&d)
            && best.is_none_or(|(b, _)| score.key() > b.key())
        {
            best = Some((score, dialect));
        }
    }
    best
}

/// The candidate dialects, in the order of preference.
fn candidates(sample: &[u8], base: &Dialect, sniff: Sniff, tsv_hint: bool) -> Vec<Dialect> {
    let has = |b: u8| memchr::memchr(b, sample).is_some();
    let delimiters: Vec<u8> = if sniff.delimiter {
        let order: &[u8] = if tsv_hint { b"\t,;|" } else { b",;\t|" };
        let present: Vec<u8> = order.iter().copied().filter(|&d| has(d)).collect();
        if present.is_empty() {
            vec![base.delimiter]
        } else {
            present
        }
    } else {
        vec![base.delimiter]
    };
    let quotes: Vec<Option<u8>> = if sniff.quote {
        let mut q = vec![Some(b'"')];
        if starts_a_field(sample, b'\'', &delimiters) {
            q.push(Some(b'\''));
        }
        if has(b'"') || q.len() > 1 {
            // Last: quotes read literally, for a head whose quoting is malformed (`"x"y`, a
            // stray quote in a TSV) but whose fields are consistent without it.
            q.push(None);
        }
        q
    } else {
        vec![base.quote]
    };
    let escapes: Vec<Option<u8>> = if sniff.escape && has(b'\\') {
        vec![None, Some(b'\\')]
    } else if sniff.escape {
        vec![None]
    } else {
        vec![base.escape]
    };
    let comments: Vec<Option<u8>> = if sniff.comment && starts_a_line(sample, b'#') {
        vec![None, Some(b'#')]
    } else if sniff.comment {
        vec![None]
    } else {
        vec![base.comment]
    };
    let mut out = Vec::new();
    for &delimiter in &delimiters {
        for &quote in &quotes {
            for &escape in &escapes {
                for &comment in &comments {
                    let d = Dialect {
                        delimiter,
                        quote,
                        escape: escape.filter(|_| quote.is_some()),
                        comment,
                        has_header: base.has_header,
                    };
                    if d.validate().is_ok() && !out.contains(&d) {
                        out.push(d);
                    }
                }
            }
        }
    }
    out
}

/// Whether `byte` starts a line of `sample`.
fn starts_a_line(sample: &[u8], byte: u8) -> bool {
    sample.first() == Some(&byte)
        || memchr::memchr_iter(byte, sample)
            .any(|i| i > 0 && matches!(sample[i - 1], b'\n' | b'\r'))
}

/// Whether `byte` starts a field of `sample` for one of the `delimiters` (or a line).
fn starts_a_field(sample: &[u8], byte: u8, delimiters: &[u8]) -> bool {
    sample.first() == Some(&byte)
        || memchr::memchr_iter(byte, sample).any(|i| {
            i > 0 && (matches!(sample[i - 1], b'\n' | b'\r') || delimiters.contains(&sample[i - 1]))
        })
}

/// Tokenize the whole records of `sample` with `dialect` and score them; the score is `None`
/// when not one record is whole. Also: whether it met a syntax error, and whether that is
/// malformed quoting (text after a closing quote), not a quote left open at the end of the
/// input (which is reported as such: a cut file).
fn score(sample: &[u8], at_end: bool, dialect: &Dialect) -> (Option<Score>, bool, bool) {
    let end = if at_end {
        sample.len()
    } else {
        let mut chunker = Chunker::new(dialect, usize::MAX, usize::MAX, 0, 0);
        if chunker.push(sample, &mut Vec::new()).is_err() {
            return (None, false, false);
        }
        chunker.last_record_start()
    };
    let mut tokens = Tokens::default();
    let tokenizer = Tokenizer::new(dialect);
    let result = tokenizer.tokenize(&sample[..end], &mut tokens);
    let error = result.is_err();
    let malformed = result.as_ref().is_err_and(|e| e.reason != UNTERMINATED);
    if result
        .as_ref()
        .is_err_and(|e| e.reason == UNTERMINATED_AFTER_SPACES)
    {
        // ` "` never closed: that quote is text, and this candidate does not read the head.
        return (None, error, malformed);
    }
    if let Err(e) = result {
        // Score the records before the error.
        tokens = Tokens::default();
        if tokenizer
            .tokenize(&sample[..e.byte as usize], &mut tokens)
            .is_err()
        {
            return (None, error, malformed);
        }
    }
    (score_tokens(&tokens, error), error, malformed)
}

/// The score of a candidate's tokens (see [`score`]). The table is the one of the most common
/// field count (the largest among equals), or one of another count whose every record from its
/// start fits it (at least two), whichever scores best, then has the most columns. A table of
/// `c` columns starts at the first record that fits it, after a preamble of records with fewer
/// fields (a title, an export note: at most [`MAX_PREAMBLE`]); a record fits with `c` fields, or
/// with one more that is empty (a delimiter at the end of every line, `1,2,` under `a,b`: see
/// [`Tokens::drop_trailing_delimiters`]).
fn score_tokens(tokens: &Tokens, error: bool) -> Option<Score> {
    let n = tokens.records.len().min(SNIFF_RECORDS);
    if n == 0 {
        return None;
    }
    let counts: Vec<usize> = (0..n).map(|r| tokens.field_count(r)).collect();
    let mut tables: Vec<usize> = counts.clone();
    tables.sort_unstable();
    let mode = most_common(&tables);
    tables.dedup();
    let mut best: Option<(i64, usize, usize, usize)> = None;
    for columns in tables {
        let fits = |r: usize| counts[r] == columns || tokens.ends_in_extra_delimiter(r, columns);
        let mut start = (0..n).position(fits).unwrap_or(0);
        if start > MAX_PREAMBLE || counts[..start].iter().any(|&c| c > columns) {
            start = 0;
        }
        let consistent = (start..n).filter(|&r| fits(r)).count();
        if columns != mode && (consistent < 2 || start + consistent < n) {
            continue;
        }
        let score = consistent as i64 - (n - start - consistent) as i64;
        if best.is_none_or(|(s, c, _, _)| (score, columns) > (s, c)) {
            best = Some((score, columns, start, consistent));
        }
    }
    let (_, columns, start, consistent) = best?;
    Some(Score {
        columns,
        consistent,
        inconsistent: n - start - consistent,
        skip_lines: tokens.records[start].line as usize,
        quotes_used: tokens.quoted.contains(&true),
        error,
    })
}

/// The most common value of `sorted` (the largest among equals).
fn most_common(sorted: &[usize]) -> usize {
    let (mut best, mut best_n) = (0, 0);
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].partition_point(|&c| c == sorted[i]) + i;
        if j - i >= best_n {
            (best, best_n) = (sorted[i], j - i);
        }
        i = j;
    }
    best
}

/// A byte as the flags spell it.
pub(crate) fn byte_name(b: u8) -> String {
    match b {
        b'\t' => "\\t".to_string(),
        _ => (b as char).to_string(),
    }
}

fn show(d: &Dialect) -> String {
    format!("--delimiter '{}'", byte_name(d.delimiter))
}

/// What the candidates cover: `delimiters [, ;], quotes ["], escapes [doubling], comments [none]`.
fn describe(candidates: &[Dialect]) -> String {
    let mut delimiters: Vec<String> = Vec::new();
    let mut quotes: Vec<String> = Vec::new();
    let mut escapes: Vec<String> = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    for d in candidates {
        let push = |list: &mut Vec<String>, s: String| {
            if !list.contains(&s) {
                list.push(s);
            }
        };
        push(&mut delimiters, byte_name(d.delimiter));
        push(&mut quotes, d.quote.map_or("none".into(), byte_name));
        push(&mut escapes, d.escape.map_or("doubling".into(), byte_name));
        push(&mut comments, d.comment.map_or("none".into(), byte_name));
    }
    format!(
        "delimiters [{}], quotes [{}], escapes [{}], comments [{}]",
        delimiters.join(" "),
        quotes.join(" "),
        escapes.join(" "),
        comments.join(" ")
    )
}

/// The dialect a conversion read with (sniffed or set), the preamble lines it skipped, and
/// which of these were sniffed: in the report, the footer (`csv2parquet.dialect`) and the
/// Lambda result, so that a user can pin them ([`UsedDialect::flags`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedDialect {
    /// The dialect, header presence included.
    pub dialect: Dialect,
    /// Lines skipped before the header.
    pub skip_rows: usize,
    /// What was sniffed.
    pub sniffed: Sniff,
}

impl UsedDialect {
    /// The command-line flags that pin this dialect:
    /// `--delimiter ';' --quote '"' --escape none --comment none --header yes --skip-rows 0`.
    pub fn flags(&self) -> String {
        let d = &self.dialect;
        let byte = |b: Option<u8>| b.map_or_else(|| "none".to_string(), byte_name);
        format!(
            "--delimiter '{}' --quote '{}' --escape {} --comment {} --header {} --skip-rows {}",
            byte_name(d.delimiter),
            byte(d.quote),
            d.escape
                .map_or_else(|| "none".to_string(), |e| format!("'{}'", byte_name(e))),
            d.comment
                .map_or_else(|| "none".to_string(), |c| format!("'{}'", byte_name(c))),
            if d.has_header { "yes" } else { "no" },
            self.skip_rows
        )
    }

    /// As JSON (the footer's `csv2parquet.dialect`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl serde::Serialize for UsedDialect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let d = &self.dialect;
        let byte = |b: Option<u8>| b.map(|b| (b as char).to_string());
        let mut st = s.serialize_struct("UsedDialect", 7)?;
        st.serialize_field("delimiter", &(d.delimiter as char).to_string())?;
        st.serialize_field("quote", &byte(d.quote))?;
        st.serialize_field("escape", &byte(d.escape))?;
        st.serialize_field("comment", &byte(d.comment))?;
        st.serialize_field("header", &d.has_header)?;
        st.serialize_field("skip_rows", &self.skip_rows)?;
        st.serialize_field("sniffed", &self.sniffed.names())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniffed(csv: &str) -> Sniffed {
        sniff(
            csv.as_bytes(),
            true,
            &Dialect::default(),
            Sniff::ALL,
            false,
            false,
        )
        .expect("a dialect")
    }

    #[test]
    fn delimiters() {
        assert_eq!(sniffed("a,b,c\n1,2,3\n").dialect.delimiter, b',');
        assert_eq!(sniffed("a;b;c\n1;2,5;3\n").dialect.delimiter, b';');
        assert_eq!(sniffed("a\tb\n1\tx, y\n2\tz\n").dialect.delimiter, b'\t');
        assert_eq!(sniffed("a|b\n1|2\n").dialect.delimiter, b'|');
        // One column: nothing splits it, the default stays.
        let one = sniffed("name\nalice\nbob\n");
        assert_eq!(one.dialect.delimiter, b',');
        // One column with a stray `,` and `;`: whole lines, read with a delimiter never there.
        let one = sniffed("note\nhi, there\nx;y\nplain\nok\n");
        assert_eq!(one.dialect.delimiter, b'\t');
        // More columns win among equally consistent candidates.
        assert_eq!(sniffed("a,b;c,d\n1,2;3,4\n").dialect.delimiter, b',');
        // A ragged comma row does not make a one-column reading better.
        assert_eq!(sniffed("a,b\n1,2\n3\n4,5\n").dialect.delimiter, b',');
    }

    #[test]
    fn the_tsv_name_breaks_ties() {
        let csv = b"a,b\tc\n1,2\t3\n";
        let d = |hint| {
            sniff(csv, true, &Dialect::default(), Sniff::ALL, hint, false)
                .unwrap()
                .dialect
                .delimiter
        };
        assert_eq!(d(false), b',');
        assert_eq!(d(true), b'\t');
    }

    #[test]
    fn quotes_escapes_and_comments() {
        let single = sniffed("a,b\n'x,y',1\n'z',2\n");
        assert_eq!(single.dialect.quote, Some(b'\''));
        let double = sniffed("a,b\n\"x,y\",1\nit's,2\n");
        assert_eq!(double.dialect.quote, Some(b'"'));
        // Both read two columns everywhere: the one that quotes a field wins.
        let used = sniffed("'1','world'\n1,world\n1,world\n");
        assert_eq!(used.dialect.quote, Some(b'\''));
        assert_eq!(sniffed("a,b\n1,2\n").dialect.quote, Some(b'"'));
        // Malformed quoting that reads consistently without quotes: quotes are literal.
        let literal = sniffed("id\ttitle\n1\t\"Up\" (2009)\n2\tsay \"hi\n3\tx\n");
        assert_eq!(literal.dialect.quote, None);
        assert_eq!(literal.dialect.delimiter, b'\t');
        // A quote after spaces that never closes, in a file that reads without quotes.
        let open = sniffed("a,b\n1,x\n2, \"y\n3,z\n");
        assert_eq!(open.dialect.quote, None);
        let open = sniffed("a;b\nx;y\nz\nw\n \"v\nu\n");
        assert_eq!(open.dialect.quote, None);
        // Well-formed quotes around delimiters need quoting; a later error does not undo it.
        let quoted = sniffed("a,b\n\"x,y\",1\n\"z,w\",2\n\"v,u\",3\n\"t\"s,4\n");
        assert_eq!(quoted.dialect.quote, Some(b'"'));
        let escaped = sniffed("a,b\n\"x \\\"q\\\", y\",1\n\"z\",2\n");
        assert_eq!(escaped.dialect.escape, Some(b'\\'));
        let commented = sniffed("a,b\n1,2\n# a note, with commas, here\n3,4\n");
        assert_eq!(commented.dialect.comment, Some(b'#'));
        assert_eq!(sniffed("a,b\n#1,2\n3,4\n").dialect.comment, None);
    }

    #[test]
    fn preambles_are_skipped() {
        let s = sniffed("Sales report\nexported 2026-01-02\n\nid,name\n1,x\n2,y\n");
        assert_eq!(s.skip_lines, 3);
        // A header one short of rows ending in an empty field is kept: a trailing delimiter.
        let trailing = sniffed("a,b\n1,2,\n3,4,\n");
        assert_eq!(trailing.skip_lines, 0);
        // A preamble of more lines than the table (an export with a trailing delimiter).
        let s = sniffed("Vendor\tX\nStart\t06/02\nEnd\t06/29\na\tb\tc\n1\t2\t3\t\n4\t5\t6\t\n");
        assert_eq!((s.dialect.delimiter, s.skip_lines), (b'\t', 3));
        // Not sniffed: kept.
        let pinned = Sniff {
            skip_rows: false,
            ..Sniff::ALL
        };
        let s = sniff(
            b"title\na,b\n1,2\n",
            true,
            &Dialect::default(),
            pinned,
            false,
            false,
        );
        assert_eq!(s.unwrap().skip_lines, 0);
    }

    #[test]
    fn a_decimal_comma_is_never_the_delimiter() {
        let csv = b"a;b\n1,5;2\n3,25;4\n";
        let d = |decimal_comma| {
            sniff(
                csv,
                true,
                &Dialect::default(),
                Sniff::ALL,
                false,
                decimal_comma,
            )
            .unwrap()
            .dialect
            .delimiter
        };
        assert_eq!(d(true), b';');
        let one = b"v\n1,5\n2,25\n";
        let s = sniff(one, true, &Dialect::default(), Sniff::ALL, false, true).unwrap();
        assert_ne!(s.dialect.delimiter, b',');
    }

    #[test]
    fn set_parts_are_kept() {
        let base = Dialect {
            delimiter: b';',
            ..Dialect::default()
        };
        let only_quote = Sniff {
            delimiter: false,
            ..Sniff::ALL
        };
        let s = sniff(b"a,b\n1,2\n", true, &base, only_quote, false, false).unwrap();
        assert_eq!(s.dialect.delimiter, b';');
    }

    #[test]
    fn no_consistent_candidate_is_an_error_naming_what_was_tried() {
        let csv = "a,b,c\n1,2\n1\n1,2,3,4\n1;2\n1,2,3,4,5\n1,2\n";
        let e = sniff(
            csv.as_bytes(),
            true,
            &Dialect::default(),
            Sniff::ALL,
            false,
            false,
        )
        .unwrap_err();
        assert!(e.tried.contains("delimiters [, ;], quotes [\"]"), "{e:?}");
        assert!(e.best.contains("fields in only"), "{e:?}");
    }

    #[test]
    fn most_common_prefers_the_larger_among_equals() {
        assert_eq!(most_common(&[1, 1, 2, 2]), 2);
        assert_eq!(most_common(&[1, 1, 3]), 1);
    }

    #[test]
    fn a_cut_sample_scores_its_whole_records_only() {
        let csv = b"a;b\n1;\"open\nquote";
        let s = sniff(csv, false, &Dialect::default(), Sniff::ALL, false, false).unwrap();
        assert_eq!(s.dialect.delimiter, b';');
    }
}
