//! Reading the head: gather the first blocks, skip a byte order mark, refuse binary formats,
//! tokenize the records inference looks at, infer the column types (with the samples of other
//! positions, see [`super::sample`]), resolve them against an explicit schema, and choose each
//! column's dictionary and encoding (the latter by a trial on the first records decoded, see
//! [`EncodingPlan`]). The bytes read stay in [`Head::rest`] for the pipeline, which decodes them
//! first.

use arrow::array::RecordBatch;
use bytes::{Bytes, BytesMut};
use parquet::basic::Compression;
use parquet::file::properties::DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT;

use super::read::{too_long, Blocks};
use super::sample::{add_samples, Sample};
use crate::budget::MemoryBudget;
use crate::config::{ConvertOptions, InvalidUtf8, OnError};
use crate::decode::batch::decode_chunk;
use crate::decode::chunker::{Chunk, Chunker, RecordTooLong};
use crate::decode::compression::binary_format;
use crate::decode::context::DecodeContext;
use crate::decode::dialect::Dialect;
use crate::decode::fault::Fault;
use crate::decode::sniff::{self, UsedDialect};
use crate::decode::tokenizer::{SyntaxError, Tokenizer};
use crate::decode::tokens::{count_line_breaks, Tokens};
use crate::encode::{
    parquet_codec, strong_codec, Cardinality, EncodingPlan, TRIAL_BYTES, TRIAL_RECORDS,
};
use crate::error::{DataError, Error, Position, Result};
use crate::schema::{self, ColumnType, Inferrer, SchemaSource, SchemaSpec};

/// The schema and the bytes already read while inferring it.
pub(crate) struct Head {
    /// Resolved schema.
    pub schema: SchemaSpec,
    /// Where it came from.
    pub source: SchemaSource,
    /// Header fixes and other notes.
    pub warnings: Vec<String>,
    /// Each column's dictionary (see [`Cardinality`]) and encoding (see [`EncodingPlan`]).
    pub encodings: EncodingPlan,
    /// Average bytes per record in the sample (header included), at least 1.
    pub record_bytes: usize,
    /// Bytes read after the header, to decode first.
    pub rest: Bytes,
    /// Offset of `rest` in the input.
    pub base_byte: u64,
    /// Physical lines before `rest`.
    pub base_line: u64,
    /// The dialect read with (sniffed or set).
    pub dialect: UsedDialect,
    /// Per column: typed by inference (not by the explicit schema), so its numbers must give
    /// their text back.
    pub inferred: Vec<bool>,
}

/// The first prefix of the head that [`read_head`] tokenizes; it grows from there as needed.
const INFER_FIRST_BYTES: usize = 1024 * 1024;

/// The prefix to try next, having found `records` whole records in `bytes`: where `want`
/// records should end at the bytes per record so far, plus an eighth; at least double
/// `limit` when no record was complete yet, and always more than `limit`.
fn next_limit(limit: usize, bytes: usize, records: usize, want: usize) -> usize {
    if records == 0 {
        return limit.saturating_mul(2).max(1);
    }
    let guess = (bytes as u128)
        .saturating_mul(want as u128)
        .saturating_mul(9)
        / (8 * records as u128);
    let guess = usize::try_from(guess).unwrap_or(usize::MAX);
    guess.max(limit.saturating_add(1))
}

/// The head of the input as read so far.
struct HeadBytes {
    bytes: BytesMut,
    /// Whether the input ended within it.
    eof: bool,
    /// Where the table starts: after the UTF-8 byte order mark (3 bytes, if any) and the
    /// preamble lines skipped.
    bom: usize,
    /// Preamble lines skipped.
    lines: usize,
}

/// Read the head, handle BOM and header, infer (from the head and the `samples` of other
/// positions, dropped once used) and resolve the schema.
pub(crate) fn read_head(
    blocks: &mut Blocks,
    options: &ConvertOptions,
    budget: &MemoryBudget,
    location: &str,
    samples: Vec<Sample>,
) -> Result<Head> {
    let mut head = gather_head(blocks, options.infer_bytes)?;
    if let Some(what) = binary_format(&head.bytes[head.bom..]) {
        return Err(Error::data(
            location,
            None,
            format!("this looks like {what}, not CSV"),
        ));
    }
    let mut dialect = choose_dialect(&mut head, options, location)?;
    let mut tokens = Tokens::default();
    let tokenized = tokenize_head(
        &mut head,
        blocks,
        &dialect.dialect,
        options,
        budget,
        location,
        &mut tokens,
    )?;
    if tokens.records.is_empty() {
        return Err(Error::data(
            location,
            None,
            "the input is empty (no header and no records)",
        ));
    }
    // One inference pass over the records after the first: it tells whether the first is a
    // header, and the first is added when it is data.
    let ncols = tokens.field_count(0);
    let mut inferrer = Inferrer::new(ncols, &options.null_values)
        .with_threads(budget.workers)
        .with_numbers(options.number_format())
        .with_booleans(options.booleans());
    if let Some(format) = options.date_format()? {
        inferrer = inferrer.with_date_format(format);
    }
    if let Some(format) = options.timestamp_format()? {
        inferrer = inferrer.with_timestamp_format(format);
    }
    inferrer.add(
        &tokens,
        1..tokens.records.len().min(1 + options.infer_records),
    );
    if options.sniff.header {
        dialect.dialect.has_header = schema::looks_like_a_header(&tokens, &inferrer);
    }
    let has_header = dialect.dialect.has_header;
    if !has_header {
        inferrer.add(&tokens, 0..1);
    }
    let inferred = infer_columns(
        &tokens,
        tokenized,
        options,
        &dialect.dialect,
        samples,
        inferrer,
    )?;
    let plain_columns =
        plan_dictionaries(&tokens, tokenized, &inferred.0, options, has_header, budget);
    let (header_end, header_lines) =
        data_start(&tokens, &head.bytes[head.bom..], tokenized, has_header);
    let (schema, source, warnings) = inferred;
    let inferred = schema::inferred_columns(&schema, options.schema.as_ref(), has_header);
    let bom = head.bom;
    let lines = head.lines as u64;
    let bytes = head.bytes.freeze();
    let mut head = Head {
        schema,
        source,
        warnings,
        encodings: EncodingPlan::default(),
        record_bytes: (tokenized / tokens.records.len().max(1)).max(1),
        rest: bytes.slice(bom + header_end..),
        base_byte: (bom + header_end) as u64,
        base_line: lines + header_lines,
        dialect,
        inferred,
    };
    let first_data = usize::from(has_header);
    let sample = trial_sample(&head, &tokens, first_data, header_end, tokenized, options);
    head.encodings = choose_encodings(
        &head,
        &plain_columns,
        sample.as_ref(),
        options,
        budget.workers,
    );
    tracing::debug!(encodings = ?head.encodings, "column encodings");
    Ok(head)
}

/// Each column's encoding and codec (see [`EncodingPlan::choose`]), the trial on `threads`.
fn choose_encodings(
    head: &Head,
    plain: &[String],
    sample: Option<&RecordBatch>,
    options: &ConvertOptions,
    threads: usize,
) -> EncodingPlan {
    // A bad level: the pipeline reports it; values stay plain meanwhile.
    let (codec, strong, sample) = match parquet_codec(options.compression) {
        Ok(codec) => (codec, strong_codec(options.compression), sample),
        Err(_) => (Compression::UNCOMPRESSED, None, None),
    };
    EncodingPlan::choose(&head.schema, plain, sample, codec, strong, threads)
}

/// The head's first data records (at most `TRIAL_RECORDS`, and whole records up to
/// `TRIAL_BYTES`), decoded in the schema's types, for the encoding trial; `None` if there are
/// none or they do not decode (bad values become nulls here; a record that does not tokenize
/// fails the pipeline later with its position).
fn trial_sample(
    head: &Head,
    tokens: &Tokens,
    first_data: usize,
    header_end: usize,
    tokenized: usize,
    options: &ConvertOptions,
) -> Option<RecordBatch> {
    let records = tokens.records.get(first_data..)?;
    // Where the first `k` data records end (in the head's bytes after the BOM).
    let end_of = |k: usize| records.get(k).map_or(tokenized, |r| r.start as usize);
    let most = records.len().min(TRIAL_RECORDS);
    if most == 0 {
        return None;
    }
    // At least one record (however long: it is in memory already).
    let k = (1..=most)
        .rev()
        .find(|&k| end_of(k).saturating_sub(header_end) <= TRIAL_BYTES)
        .unwrap_or(1);
    let end = end_of(k);
    let data = head
        .rest
        .slice(..end.checked_sub(header_end)?.min(head.rest.len()));
    let ctx = DecodeContext::new(
        &head.schema,
        &options.null_values,
        OnError::Null,
        Tokenizer::new(&head.dialect.dialect),
    )
    .with_invalid_utf8(InvalidUtf8::Replace)
    .with_lossless(head.inferred.clone())
    .with_numbers(options.number_format())
    .with_booleans(options.booleans());
    let chunk = Chunk {
        seq: 0,
        data,
        base_byte: head.base_byte,
        base_line: head.base_line,
    };
    decode_chunk(&ctx, &chunk, &mut Tokens::default())
        .ok()?
        .batch
}

/// Where the data starts after the header (in the head's bytes after the BOM, and in lines
/// since the start of the head's tokens).
fn data_start(tokens: &Tokens, data: &[u8], tokenized: usize, has_header: bool) -> (usize, u64) {
    if !has_header {
        (0, 0)
    } else if tokens.field_count(0) == 1 {
        // One column: blank lines are null values (see `Tokens::add_blank_lines`), also right
        // after the header, so the data starts right after the header's line break.
        let end = tokens.records[0].end as usize;
        let end = end
            + match data.get(end..).unwrap_or_default() {
                [b'\r', b'\n', ..] => 2,
                [b'\r' | b'\n', ..] => 1,
                _ => 0,
            };
        let after = tokens
            .records
            .get(1)
            .map_or(tokenized, |r| r.start as usize);
        let end_line = tokens.records.get(1).map_or(tokens.lines, |r| r.line);
        let lines =
            end_line.saturating_sub(count_line_breaks(data.get(end..after).unwrap_or_default()));
        (end, u64::from(lines))
    } else if let Some(second) = tokens.records.get(1) {
        (second.start as usize, u64::from(second.line))
    } else {
        (data.len(), u64::from(tokens.lines))
    }
}

/// The dialect to read with: the options' where set, else sniffed from the head (see
/// [`crate::decode::sniff`]); the preamble lines (sniffed or `--skip-rows`) are skipped in
/// `head`. Header presence is decided later, from the types.
fn choose_dialect(
    head: &mut HeadBytes,
    options: &ConvertOptions,
    location: &str,
) -> Result<UsedDialect> {
    let mut dialect = options.dialect.clone();
    let mut skip = options.skip_rows;
    if options.sniff.any_syntax() {
        let tsv = location
            .trim_end_matches(".gz")
            .trim_end_matches(".zst")
            .to_ascii_lowercase()
            .ends_with(".tsv");
        let sniffed = sniff::sniff(
            &head.bytes[head.bom..],
            head.eof,
            &options.dialect,
            options.sniff,
            tsv,
            options.decimal_comma,
        )
        .map_err(|e| {
            Error::data(
                location,
                None,
                format!(
                    "no CSV dialect fits (tried {}; best: {}); set --delimiter (and --quote, \
                     --skip-rows) to read it",
                    e.tried, e.best
                ),
            )
        })?;
        dialect = sniffed.dialect;
        if options.sniff.skip_rows {
            skip = sniffed.skip_lines;
        }
    }
    if skip > 0 {
        let Some(at) = after_lines(&head.bytes[head.bom..], skip) else {
            return Err(Error::data(
                location,
                None,
                format!("the input has fewer than the {skip} lines to skip (--skip-rows)"),
            ));
        };
        head.bom += at;
        head.lines = skip;
    }
    Ok(UsedDialect {
        dialect,
        skip_rows: skip,
        sniffed: options.sniff,
    })
}

/// The offset just past the `n`th line break of `bytes` (CRLF counts once), or its end when
/// the last of them is an unterminated line at the end.
fn after_lines(bytes: &[u8], n: usize) -> Option<usize> {
    let mut i = 0;
    for _ in 0..n {
        if i >= bytes.len() {
            return None;
        }
        let at = memchr::memchr2(b'\n', b'\r', &bytes[i..]).map_or(bytes.len(), |o| i + o);
        i = if bytes.get(at) == Some(&b'\r') && bytes.get(at + 1) == Some(&b'\n') {
            at + 2
        } else {
            (at + 1).min(bytes.len())
        };
    }
    Some(i)
}

/// Read blocks until the head holds `infer_bytes` (or the input ends).
fn gather_head(blocks: &mut Blocks, infer_bytes: usize) -> Result<HeadBytes> {
    let mut bytes = BytesMut::new();
    let mut eof = false;
    while bytes.len() < infer_bytes {
        match blocks.next()? {
            Some(b) => bytes.extend_from_slice(&b),
            None => {
                eof = true;
                break;
            }
        }
    }
    let bom = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    Ok(HeadBytes {
        bytes,
        eof,
        bom,
        lines: 0,
    })
}

/// Tokenize the records inference looks at into `tokens`; returns how many bytes (after the
/// BOM) they take.
///
/// Tokenizing stops once the prefix holds the wanted records (the rest of the head is decoded
/// by the pipeline anyway), which keeps this serial step short. The prefix grows as needed;
/// when the whole head holds less than one data record, more blocks are read (up to the
/// longest record the budget allows). A record over the limit fails here with its start.
#[allow(clippy::too_many_arguments)]
fn tokenize_head(
    head: &mut HeadBytes,
    blocks: &mut Blocks,
    dialect: &Dialect,
    options: &ConvertOptions,
    budget: &MemoryBudget,
    location: &str,
    tokens: &mut Tokens,
) -> Result<usize> {
    let tokenizer = Tokenizer::new(dialect);
    let bom = head.bom;
    let lines = head.lines as u64;
    // A header that is sniffed may be there: read as if it were.
    let header = dialect.has_header || options.sniff.header;
    let need = if header { 2 } else { 1 };
    let want = usize::from(header) + options.infer_records;
    // Finds where the last complete record ends as the prefix grows (each byte scanned once).
    // Positions count the BOM and the skipped lines.
    let mut scan = Chunker::new(
        dialect,
        usize::MAX,
        budget.max_record_bytes,
        bom as u64,
        lines,
    );
    let mut scanned = bom;
    let mut limit = head.bytes.len().min(bom + INFER_FIRST_BYTES);
    loop {
        let complete = if head.eof && limit == head.bytes.len() {
            head.bytes.len()
        } else {
            scan.push(&head.bytes[scanned..limit], &mut Vec::new())
                .map_err(|e| too_long(location, e))?;
            scanned = limit;
            bom + scan.last_record_start()
        };
        tokenizer
            .tokenize(&head.bytes[bom..complete], tokens)
            .map_err(|e| head_syntax_error(location, header, bom, lines, e))?;
        let records = tokens.records.len();
        if records >= want || (head.eof && limit == head.bytes.len()) {
            return Ok(complete - bom);
        }
        if limit < head.bytes.len() {
            limit = next_limit(limit, complete - bom, records, want).min(head.bytes.len());
            continue;
        }
        if records >= need {
            return Ok(complete - bom);
        }
        if head.bytes.len() > budget.max_record_bytes {
            return Err(too_long(
                location,
                RecordTooLong {
                    line: lines,
                    byte: bom as u64,
                    limit: budget.max_record_bytes,
                },
            ));
        }
        match blocks.next()? {
            Some(b) => {
                head.bytes.extend_from_slice(&b);
                limit = head.bytes.len();
            }
            None => head.eof = true,
        }
    }
}

/// A syntax error in the head, positioned in the input. The head's records include the header;
/// data records are numbered from 1 (a header error has no record number).
fn head_syntax_error(
    location: &str,
    has_header: bool,
    bom: usize,
    lines: u64,
    e: SyntaxError,
) -> Error {
    let header = u32::from(has_header);
    Error::Data(Box::new(DataError {
        location: location.to_string(),
        position: Some(Position {
            record: u64::from((e.record + 1).saturating_sub(header)),
            line: lines + u64::from(e.line) + 1,
            byte: bom as u64 + u64::from(e.byte),
        }),
        column: None,
        value: None,
        reason: e.reason.to_string(),
        fault: Some(Fault::Syntax(e.reason)),
    }))
}

/// The column names (header or generated), the inferred types (head and samples) resolved
/// against an explicit schema, and the header's warnings.
fn infer_columns(
    tokens: &Tokens,
    tokenized: usize,
    options: &ConvertOptions,
    dialect: &Dialect,
    samples: Vec<Sample>,
    mut inferrer: Inferrer,
) -> Result<(SchemaSpec, SchemaSource, Vec<String>)> {
    let has_header = dialect.has_header;
    let ncols = tokens.field_count(0);
    let mut warnings = Vec::new();
    let (names, first_data) = if has_header {
        // Spaces around an unquoted name are layout, not part of it (as DuckDB reads them).
        let raw: Vec<Vec<u8>> = (0..ncols)
            .map(|c| {
                let name = tokens.field(c);
                if tokens.quoted[c] {
                    name.to_vec()
                } else {
                    name.trim_ascii().to_vec()
                }
            })
            .collect();
        let (names, w) = schema::header_names(&raw);
        warnings.extend(w);
        (names, 1)
    } else {
        (schema::generated_names(ncols), 0)
    };
    let want = first_data + options.infer_records;
    // The other samples are cut to about the bytes the head needed for its records.
    let sample_bytes = if tokens.records.len() >= want {
        next_limit(0, tokenized, tokens.records.len(), want)
    } else {
        usize::MAX
    };
    add_samples(
        &mut inferrer,
        samples,
        options,
        dialect,
        ncols,
        sample_bytes,
    );
    let mut types = inferrer.finish();
    let mut formats = inferrer.date_formats();
    if options.all_strings {
        types.fill(ColumnType::Utf8);
        formats.fill(None);
    } else {
        for (c, ambiguous) in inferrer.ambiguous_dates().into_iter().enumerate() {
            if ambiguous {
                warnings.push(format!(
                    "column {:?} holds dates that read day-first and month-first alike (03/04/2026); \
                     kept as text (set --date-format)",
                    names[c]
                ));
            }
        }
    }
    let (mut schema, source) = schema::resolve(
        &names,
        options.schema.as_ref(),
        has_header,
        &types,
        &formats,
    )?;
    // A date or timestamp column the schema file types without a format reads --date-format
    // or --timestamp-format, if set.
    let inferred = schema::inferred_columns(&schema, options.schema.as_ref(), has_header);
    for (column, inferred) in schema.columns.iter_mut().zip(inferred) {
        let given = match column.ty {
            ColumnType::Date32 => &options.date_format,
            ColumnType::Timestamp { .. } => &options.timestamp_format,
            _ => &None,
        };
        if !inferred && column.format.is_none() {
            column.format.clone_from(given);
        }
    }
    Ok((schema, source, warnings))
}

/// The columns to write without a dictionary: those whose distinct values in the head would
/// overflow a dictionary page within one row group. Rows in a row group: its encoded budget at
/// about 4 CSV bytes per encoded byte (the generated shapes compress 3.7x and 5.4x), at the
/// head's bytes per record.
fn plan_dictionaries(
    tokens: &Tokens,
    tokenized: usize,
    schema: &SchemaSpec,
    options: &ConvertOptions,
    has_header: bool,
    budget: &MemoryBudget,
) -> Vec<String> {
    let first_data = usize::from(has_header);
    let end = tokens.records.len().min(first_data + options.infer_records);
    let mut cardinality = Cardinality::new(tokens.field_count(0), &options.null_values);
    cardinality.add(tokens, first_data..end, budget.workers);
    let records = tokens.records.len().max(1) as u64;
    let csv_per_group = budget.row_group_text_bytes(schema.columns.len(), options) as u64;
    let rows_per_group =
        (csv_per_group * records / (tokenized.max(1) as u64)).min(options.row_group_rows as u64);
    let plain_columns =
        cardinality.plain_columns(schema, rows_per_group, DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT);
    tracing::debug!(
        ?plain_columns,
        rows_per_group,
        "columns written without a dictionary"
    );
    plain_columns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OptionKey, MIB};
    use crate::schema::ColumnType;
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    /// Run [`read_head`] on `csv`, handed over in 256 KiB blocks.
    fn read_csv(csv: &[u8], options: &ConvertOptions) -> Result<Head> {
        let budget = options.validate()?;
        let (tx, rx) = mpsc::channel(csv.len() / (256 * 1024) + 2);
        for block in csv.chunks(256 * 1024) {
            tx.try_send(Ok(Bytes::copy_from_slice(block)))
                .map_err(|_| Error::Internal("test channel full".into()))?;
        }
        drop(tx);
        let mut blocks = Blocks::new(rx, CancellationToken::new());
        read_head(&mut blocks, options, &budget, "test.csv", Vec::new())
    }

    /// `n` records `i,<i as text padded>` after a header.
    fn numbered(n: usize) -> Vec<u8> {
        let mut csv = b"id,name\n".to_vec();
        for i in 0..n {
            csv.extend_from_slice(format!("{i},name-{i:0>40}\n").as_bytes());
        }
        csv
    }

    fn types(p: &Head) -> Vec<ColumnType> {
        p.schema.columns.iter().map(|c| c.ty.clone()).collect()
    }

    #[test]
    fn the_encoding_trial_gives_increasing_ids_and_timestamps_deltas() {
        use parquet::basic::Encoding;
        let mut csv = b"id,at,word\n".to_vec();
        for i in 0..20_000u64 {
            let secs = i * 3 + (i * 7919) % 600;
            csv.extend_from_slice(
                format!(
                    "{i},2024-01-{:02} {:02}:{:02}:{:02},w{}\n",
                    1 + secs / 86_400,
                    secs / 3600 % 24,
                    secs / 60 % 60,
                    secs % 60,
                    i % 7
                )
                .as_bytes(),
            );
        }
        let head = read_csv(&csv, &ConvertOptions::default()).unwrap();
        let got: Vec<(&str, bool, Encoding)> = head
            .encodings
            .columns()
            .iter()
            .map(|c| (c.name.as_str(), c.dictionary, c.encoding))
            .collect();
        assert_eq!(
            got,
            [
                ("id", false, Encoding::DELTA_BINARY_PACKED),
                ("at", false, Encoding::DELTA_BINARY_PACKED),
                ("word", true, Encoding::PLAIN),
            ]
        );
        // No data records: nothing to try, values stay plain.
        let head = read_csv(b"id,at\n", &ConvertOptions::default()).unwrap();
        assert!(head
            .encodings
            .columns()
            .iter()
            .all(|c| c.encoding == Encoding::PLAIN));
    }

    #[test]
    fn free_text_and_dictionaries_get_zstd_level_3_unless_a_level_is_given() {
        use parquet::basic::{Compression as Codec, ZstdLevel};
        let mut csv = b"id,name,kind\n".to_vec();
        for i in 0..20_000 {
            csv.extend_from_slice(format!("{i},name-{i:0>40},k{}\n", i % 3).as_bytes());
        }
        let codecs = |options: &ConvertOptions| {
            let head = read_csv(&csv, options).unwrap();
            head.encodings
                .columns()
                .iter()
                .map(|c| (c.name.clone(), c.dictionary, c.compression))
                .collect::<Vec<_>>()
        };
        let level3 = Some(Codec::ZSTD(ZstdLevel::try_new(3).unwrap()));
        // Unique integers stay plain at the file's level 1.
        assert_eq!(
            codecs(&ConvertOptions::default()),
            [
                ("id".to_string(), false, None),
                ("name".to_string(), false, level3),
                ("kind".to_string(), true, level3)
            ]
        );
        let pinned =
            ConvertOptions::default().with_compression(crate::config::Compression::Zstd(1));
        assert!(codecs(&pinned).iter().all(|c| c.2.is_none()));
    }

    #[test]
    fn next_limit_aims_past_the_wanted_records_and_always_grows() {
        // 1,000 records in 100,000 bytes: 10,001 records need about 1,000,100 bytes, plus an
        // eighth.
        assert_eq!(next_limit(100_000, 100_000, 1_000, 10_001), 1_125_112);
        assert_eq!(next_limit(1 << 20, 1 << 20, 0, 10), 2 << 20);
        assert_eq!(next_limit(0, 0, 0, 10), 1);
        // Enough records already: still more than `limit`, so a caller loop ends.
        assert_eq!(next_limit(500, 400, 100, 10), 501);
        assert_eq!(
            next_limit(usize::MAX, usize::MAX, 1, usize::MAX),
            usize::MAX
        );
    }

    #[test]
    fn inference_stops_at_its_records_in_a_large_head() {
        // A 3 MB head, 60,000 records; a value that is no integer sits past the 10,000th
        // record and a syntax error further on: neither is inference's business (the pipeline
        // meets them), so the head is not tokenized that far.
        let mut csv = numbered(30_000);
        csv.extend_from_slice(b"x,late text\n");
        csv.extend_from_slice(&numbered(10_000)[8..]);
        csv.extend_from_slice(b"1,\"closed\"then more\n");
        csv.extend_from_slice(&numbered(20_000)[8..]);
        assert!(csv.len() > 2 * MIB);
        let p = read_csv(&csv, &ConvertOptions::default()).expect("prepared");
        assert_eq!(types(&p), vec![ColumnType::Int64, ColumnType::Utf8]);
        // The whole head still goes to the pipeline, from the first data record.
        assert_eq!(p.base_byte, 8);
        assert_eq!(p.base_line, 1);
        assert!(p.rest.starts_with(b"0,name-"));
        assert_eq!(p.rest.len(), csv.len() - 8);
    }

    #[test]
    fn a_syntax_error_among_the_inferred_records_fails_with_its_position() {
        let mut csv = numbered(9_000);
        csv.extend_from_slice(b"1,\"closed\"then more\n");
        csv.extend_from_slice(&numbered(40_000)[8..]);
        let e = read_csv(&csv, &ConvertOptions::default())
            .err()
            .expect("a syntax error");
        let text = e.to_string();
        assert!(text.contains("after a closing quote"), "{text}");
        assert!(text.contains("line 9002"), "{text}");
    }

    #[test]
    fn a_late_type_change_counts_when_inference_reads_that_far() {
        let mut csv = numbered(30_000);
        csv.extend_from_slice(b"x,late text\n");
        csv.extend_from_slice(&numbered(10_000)[8..]);
        let options = ConvertOptions {
            infer_records: 40_000,
            ..ConvertOptions::default()
        };
        let p = read_csv(&csv, &options).expect("prepared");
        assert_eq!(types(&p), vec![ColumnType::Utf8, ColumnType::Utf8]);
    }

    #[test]
    fn a_header_longer_than_the_first_prefix_is_read_whole() {
        let long = "h".repeat(INFER_FIRST_BYTES + 1000);
        let mut csv = format!("{long},b\n").into_bytes();
        csv.extend_from_slice(&numbered(100)[8..]);
        let p = read_csv(&csv, &ConvertOptions::default()).expect("prepared");
        assert_eq!(p.schema.columns[0].name, long);
        assert_eq!(types(&p), vec![ColumnType::Int64, ColumnType::Utf8]);
        assert_eq!(p.base_byte, long.len() as u64 + 3);
    }

    fn names(p: &Head) -> Vec<&str> {
        p.schema.columns.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn the_header_is_told_from_the_types_below_it() {
        let o = ConvertOptions::default();
        let p = read_csv(b"id,name\n1,x\n2,y\n", &o).unwrap();
        assert!(p.dialect.dialect.has_header);
        assert_eq!(names(&p), ["id", "name"]);
        // An all-typed first row that fits its columns is data: no row is lost.
        let p = read_csv(b"1,2.5\n2,3.5\n", &o).unwrap();
        assert!(!p.dialect.dialect.has_header);
        assert_eq!(names(&p), ["column_1", "column_2"]);
        assert_eq!(types(&p), [ColumnType::Int64, ColumnType::Float64]);
        assert!(p.rest.starts_with(b"1,2.5"));
        // Strings only: a header, as DuckDB assumes.
        let p = read_csv(b"name,city\nalice,x\n", &o).unwrap();
        assert!(p.dialect.dialect.has_header);
        // A year header over integers is data; over dates it is a header.
        let p = read_csv(b"2024,2025\n1,2\n", &o).unwrap();
        assert!(!p.dialect.dialect.has_header);
        let p = read_csv(b"2024,2025\n2024-01-01,2025-01-01\n", &o).unwrap();
        assert!(p.dialect.dialect.has_header);
        // A lone record: data when typed, names when not.
        let p = read_csv(b"42\n", &o).unwrap();
        assert_eq!((names(&p), p.rest.len()), (vec!["column_1"], 3));
        let p = read_csv(b"a,b\n", &o).unwrap();
        assert_eq!(names(&p), ["a", "b"]);
        let p = read_csv(b"1|1.1|bla", &o).unwrap();
        assert_eq!(names(&p), ["column_1", "column_2", "column_3"]);
        // Empty names are a header (with generated names); spaces around names are trimmed
        // unless quoted.
        let p = read_csv(b",,\n1,x,2\n", &o).unwrap();
        assert_eq!(names(&p), ["column_1", "column_2", "column_3"]);
        let p = read_csv(b" id ,\" v \"\n1,x\n", &o).unwrap();
        assert_eq!(names(&p), ["id", " v "]);
        // Set: taken as given.
        let mut pinned = ConvertOptions::default();
        pinned.set(OptionKey::Header, "yes").unwrap();
        let p = read_csv(b"1,2\n3,4\n", &pinned).unwrap();
        assert_eq!(names(&p), ["1", "2"]);
    }

    #[test]
    fn preamble_lines_are_skipped_and_positions_stay_physical() {
        let csv = b"Report\n\nid;v\n1;a\n2;b\n";
        let p = read_csv(csv, &ConvertOptions::default()).unwrap();
        assert_eq!(p.dialect.skip_rows, 2);
        assert_eq!(p.dialect.dialect.delimiter, b';');
        assert_eq!(names(&p), ["id", "v"]);
        assert_eq!(p.base_line, 3);
        assert_eq!(p.base_byte, 13);
        assert!(p.rest.starts_with(b"1;a"));
        // --skip-rows N skips N lines, sniffed or not.
        let mut o = ConvertOptions::default();
        o.set(OptionKey::SkipRows, "1").unwrap();
        let p = read_csv(b"junk\r\nid,v\r\n1,2\r\n", &o).unwrap();
        assert_eq!(names(&p), ["id", "v"]);
        assert_eq!(p.base_line, 2);
        let e = read_csv(b"a\n", &{
            let mut o = ConvertOptions::default();
            o.set(OptionKey::SkipRows, "5").unwrap();
            o
        });
        assert!(e
            .err()
            .unwrap()
            .to_string()
            .contains("fewer than the 5 lines"));
    }

    #[test]
    fn no_fitting_dialect_names_what_was_tried() {
        let csv = b"a,b,c\n1,2\n1\n1,2,3,4\n1;2\n1,2,3,4,5\n1,2\n";
        let e = read_csv(csv, &ConvertOptions::default()).err().unwrap();
        let text = e.to_string();
        assert!(text.contains("no CSV dialect fits"), "{text}");
        assert!(text.contains("tried delimiters [, ;]"), "{text}");
        assert!(text.contains("--delimiter"), "{text}");
        assert_eq!(e.kind(), crate::error::ErrorKind::BadInput);
    }
}
