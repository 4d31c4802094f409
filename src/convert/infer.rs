//! Reading the head: gather the first blocks, skip a byte order mark, refuse binary formats,
//! tokenize the records inference looks at, infer the column types (with the samples of other
//! positions, see [`super::sample`]), resolve them against an explicit schema, and choose the
//! columns written without a dictionary. The bytes read stay in [`Head::rest`] for the
//! pipeline, which decodes them first.

use bytes::{Bytes, BytesMut};
use parquet::file::properties::DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT;

use super::read::{too_long, Blocks};
use super::sample::{add_samples, Sample};
use crate::budget::MemoryBudget;
use crate::config::ConvertOptions;
use crate::decode::chunker::{Chunker, RecordTooLong};
use crate::decode::compression::binary_format;
use crate::decode::fault::Fault;
use crate::decode::tokenizer::{SyntaxError, Tokenizer};
use crate::decode::tokens::Tokens;
use crate::encode::Cardinality;
use crate::error::{DataError, Error, Position, Result};
use crate::schema::{self, Inferrer, SchemaSource, SchemaSpec};

/// The schema and the bytes already read while inferring it.
pub(crate) struct Head {
    /// Resolved schema.
    pub schema: SchemaSpec,
    /// Where it came from.
    pub source: SchemaSource,
    /// Header fixes and other notes.
    pub warnings: Vec<String>,
    /// Columns written without a dictionary (see [`Cardinality`]).
    pub plain_columns: Vec<String>,
    /// Average bytes per record in the sample (header included), at least 1.
    pub record_bytes: usize,
    /// Bytes read after the header, to decode first.
    pub rest: Bytes,
    /// Offset of `rest` in the input.
    pub base_byte: u64,
    /// Physical lines before `rest`.
    pub base_line: u64,
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
    /// Length of the UTF-8 byte order mark at its start (0 or 3).
    bom: usize,
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
    let mut tokens = Tokens::default();
    let tokenized = tokenize_head(&mut head, blocks, options, budget, location, &mut tokens)?;
    if tokens.records.is_empty() {
        return Err(Error::data(
            location,
            None,
            "the input is empty (no header and no records)",
        ));
    }
    let has_header = options.dialect.has_header;
    let first_data = usize::from(has_header);
    let inferred = infer_columns(&tokens, tokenized, options, samples)?;
    let plain_columns = plan_dictionaries(&tokens, tokenized, &inferred.0, options, budget);
    let (header_end, header_lines) = if !has_header {
        (0, 0)
    } else if let Some(second) = tokens.records.get(first_data) {
        (second.start as usize, second.line as u64)
    } else {
        (head.bytes.len() - head.bom, tokens.lines as u64)
    };
    let (schema, source, warnings) = inferred;
    let bom = head.bom;
    let bytes = head.bytes.freeze();
    Ok(Head {
        schema,
        source,
        warnings,
        plain_columns,
        record_bytes: (tokenized / tokens.records.len().max(1)).max(1),
        rest: bytes.slice(bom + header_end..),
        base_byte: (bom + header_end) as u64,
        base_line: header_lines,
    })
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
    Ok(HeadBytes { bytes, eof, bom })
}

/// Tokenize the records inference looks at into `tokens`; returns how many bytes (after the
/// BOM) they take.
///
/// Tokenizing stops once the prefix holds the wanted records (the rest of the head is decoded
/// by the pipeline anyway), which keeps this serial step short. The prefix grows as needed;
/// when the whole head holds less than one data record, more blocks are read (up to the
/// longest record the budget allows). A record over the limit fails here with its start.
fn tokenize_head(
    head: &mut HeadBytes,
    blocks: &mut Blocks,
    options: &ConvertOptions,
    budget: &MemoryBudget,
    location: &str,
    tokens: &mut Tokens,
) -> Result<usize> {
    let dialect = &options.dialect;
    let tokenizer = Tokenizer::new(dialect);
    let bom = head.bom;
    let need = if dialect.has_header { 2 } else { 1 };
    let want = usize::from(dialect.has_header) + options.infer_records;
    // Finds where the last complete record ends as the prefix grows (each byte scanned once).
    // Positions count the BOM.
    let mut scan = Chunker::new(dialect, usize::MAX, budget.max_record_bytes, bom as u64, 0);
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
            .map_err(|e| head_syntax_error(location, dialect.has_header, bom, e))?;
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
                    line: 0,
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
fn head_syntax_error(location: &str, has_header: bool, bom: usize, e: SyntaxError) -> Error {
    let header = u32::from(has_header);
    Error::Data(Box::new(DataError {
        location: location.to_string(),
        position: Some(Position {
            record: u64::from((e.record + 1).saturating_sub(header)),
            line: u64::from(e.line) + 1,
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
    samples: Vec<Sample>,
) -> Result<(SchemaSpec, SchemaSource, Vec<String>)> {
    let has_header = options.dialect.has_header;
    let ncols = tokens.field_count(0);
    let mut warnings = Vec::new();
    let (names, first_data) = if has_header {
        let raw: Vec<Vec<u8>> = (0..ncols).map(|c| tokens.field(c).to_vec()).collect();
        let (names, w) = schema::header_names(&raw);
        warnings.extend(w);
        (names, 1)
    } else {
        (schema::generated_names(ncols), 0)
    };
    let want = first_data + options.infer_records;
    let end = tokens.records.len().min(want);
    let mut inferrer = Inferrer::new(ncols, &options.null_values);
    inferrer.add(tokens, first_data..end);
    // The other samples are cut to about the bytes the head needed for its records.
    let sample_bytes = if tokens.records.len() >= want {
        next_limit(0, tokenized, tokens.records.len(), want)
    } else {
        usize::MAX
    };
    add_samples(&mut inferrer, samples, options, ncols, sample_bytes);
    let (schema, source) = schema::resolve(
        &names,
        options.schema.as_ref(),
        has_header,
        &inferrer.finish(),
    )?;
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
    budget: &MemoryBudget,
) -> Vec<String> {
    let first_data = usize::from(options.dialect.has_header);
    let end = tokens.records.len().min(first_data + options.infer_records);
    let mut cardinality = Cardinality::new(tokens.field_count(0), &options.null_values);
    cardinality.add(tokens, first_data..end);
    let records = tokens.records.len().max(1) as u64;
    let csv_per_group = 4 * budget.row_group_bytes as u64;
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
    use crate::config::MIB;
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
}
