//! Fan-out: one CSV converted by N workers over byte ranges, their Parquet fragments stitched
//! into one file ([`crate::stitch`]).
//!
//! - **Plan**: the schema and the dialect are inferred once, as a single conversion would
//!   ([`crate::infer_schema`]), and the input is cut into ranges of at least `min_range` bytes.
//!   Each cut moves to the first line start at or after it from which the next records
//!   tokenize cleanly with the schema's width: a guess (a line start inside a quoted field
//!   whose lines look like records would pass).
//! - **Workers**: worker `i` converts exactly the bytes `[b_i, b_{i+1})` as an input of its own
//!   (a [`RangeSource`]), with the plan's schema and dialect pinned; only worker 0 reads the
//!   header and the preamble. A worker's records are those that start in its range.
//! - **Verify**: worker 0 starts at the true start. If `b_{i+1}` is a record start, worker `i`
//!   (itself started right) ends outside quotes; if the guess fell inside a quoted field,
//!   worker `i` meets an unterminated quote at the end of its range. So the workers are checked
//!   in order, and a worker that ends inside a quote has its range joined with the next one and
//!   runs again: every boundary kept has been confirmed by a worker that parsed up to it from a
//!   confirmed start. Any other error of a worker is the input's, as a single run would report.
//!
//! Only uncompressed inputs whose size is known can be cut. Error positions inside worker `i`'s
//! range count lines and bytes from its start (the message names the range).

use std::ops::Range;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::config::ConvertOptions;
use crate::convert::{metadata as meta, source_metadata, ConvertReport, Converter, InferredSchema};
use crate::decode::chunker::Chunker;
use crate::decode::compression::{self, Codec, MAGIC_LEN};
use crate::decode::dialect::Dialect;
use crate::decode::sniff::Sniff;
use crate::decode::tokenizer::Tokenizer;
use crate::decode::tokenizer::UNTERMINATED;
use crate::decode::tokens::Tokens;
use crate::error::{Error, Result};
use crate::sink::SinkFactory;
use crate::source::{ByteSource, RangeSource};

mod file;
mod spec;

pub use file::{check_options, fan_out_to_file, rejects_refused, FanOutReport};
pub use spec::{PinnedDialect, PlanSpec};

/// Bytes read at a cut to find the next line start, doubling up to the longest record.
const FIRST_WINDOW: u64 = 64 * 1024;

/// How a fan-out cuts its input.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The ranges' starts, then the input's end: range `i` is `bounds[i]..bounds[i + 1]`.
    pub bounds: Vec<u64>,
    /// The schema and dialect every worker uses.
    pub inferred: InferredSchema,
    /// The key-value metadata of the whole output (what a single conversion records: the
    /// source, its size, the options' fingerprint, the dialect, where the schema came from),
    /// set over the fragments' when they are stitched.
    pub metadata: Vec<(String, String)>,
}

impl Plan {
    /// The ranges.
    pub fn ranges(&self) -> Vec<Range<u64>> {
        self.bounds.windows(2).map(|w| w[0]..w[1]).collect()
    }
}

/// Plan a fan-out of `source` over at most `workers` ranges of at least `min_range` bytes.
pub async fn plan(
    source: &dyn ByteSource,
    options: &ConvertOptions,
    workers: usize,
    min_range: u64,
) -> Result<Plan> {
    check_options(options)?;
    let info = source.head().await?;
    let Some(len) = info.size else {
        return Err(Error::config(
            "--fan-out",
            format!(
                "{}: the size is unknown, so it cannot be cut",
                info.location
            ),
        ));
    };
    let prefix = source.read_range(0..MAGIC_LEN as u64).await?;
    let codec = compression::choose(
        options.input_compression,
        &prefix,
        &info.location,
        info.content_encoding.as_deref(),
        &info.location,
    )?;
    if codec != Codec::None {
        return Err(Error::config(
            "--fan-out",
            format!(
                "{} is {codec:?}-compressed: a compressed stream cannot be cut into ranges; convert it without --fan-out",
                info.location
            ),
        ));
    }
    let inferred = crate::convert::infer_schema(source, options).await?;
    let n = workers.max(1).min((len / min_range.max(1)).max(1) as usize);
    let max_record = options.validate()?.max_record_bytes as u64;
    let (dialect, columns) = (&inferred.dialect.dialect, inferred.schema.columns.len());
    // The cuts are looked for CUTS_AT_ONCE at a time (a few small ranged GETs each).
    let looks: Vec<_> = (1..n as u64)
        .map(|i| {
            record_start_at(
                source,
                len / n as u64 * i,
                len,
                max_record,
                dialect,
                columns,
            )
        })
        .collect();
    let found: Vec<Result<Option<u64>>> = futures::stream::iter(looks)
        .buffered(CUTS_AT_ONCE)
        .collect()
        .await;
    let mut bounds = vec![0u64];
    for start in found {
        let Some(start) = start? else {
            continue;
        };
        if start > *bounds.last().unwrap_or(&0) && start < len {
            bounds.push(start);
        }
    }
    bounds.push(len);
    let mut metadata = source_metadata(&info, &options.fingerprint());
    metadata.push((meta::DIALECT.to_string(), inferred.dialect.to_json()));
    metadata.push((
        meta::SCHEMA.to_string(),
        inferred.source.as_str().to_string(),
    ));
    Ok(Plan {
        bounds,
        inferred,
        metadata,
    })
}

/// Cuts looked for at once.
const CUTS_AT_ONCE: usize = 16;
/// Line starts checked at one cut before the first one is taken unchecked.
const MAX_CANDIDATES: usize = 256;
/// Bytes after a line start a check tokenizes at most.
const CHECK_BYTES: usize = 64 * 1024;
/// Whole records a guessed start must be followed by, all of the schema's width, before the
/// guess is taken (fewer when the input ends first).
const CONFIRMING_RECORDS: usize = 8;

/// The first plausible record start at or after `at`: a line start (the byte after `\n`,
/// `\r\n` or a lone `\r`) from which the next [`CONFIRMING_RECORDS`] records tokenize
/// without error and with `columns` fields each, and no unquoted field up to [`CHECK_BYTES`]
/// holds a quote (a line start inside a quoted field rarely passes: its quotes pair up the
/// wrong way). The first line start when none of the first
/// [`MAX_CANDIDATES`] passes; `None` when there is no line start within `max_record` bytes or
/// before the end. Still a guess: the worker before it confirms it.
async fn record_start_at(
    source: &dyn ByteSource,
    at: u64,
    len: u64,
    max_record: u64,
    dialect: &Dialect,
    columns: usize,
) -> Result<Option<u64>> {
    let from = at.saturating_sub(1);
    let mut window = FIRST_WINDOW;
    loop {
        let end = (from + window + 1).min(len);
        let bytes = source.read_range(from..end).await?;
        let at_end = end >= len;
        let (mut pos, mut tried, mut first) = (0, 0, None);
        while let Some(i) = memchr::memchr2(b'\n', b'\r', &bytes[pos..]).map(|i| pos + i) {
            let next = match (bytes[i], bytes.get(i + 1)) {
                (b'\r', Some(b'\n')) => i + 2,
                (b'\r', None) if !at_end => break,
                _ => i + 1,
            };
            if next >= bytes.len() {
                break;
            }
            first = first.or(Some(from + next as u64));
            let check_end = (next + CHECK_BYTES).min(bytes.len());
            let to_end = at_end && check_end == bytes.len();
            if plausible(&bytes[next..check_end], to_end, dialect, columns) {
                return Ok(Some(from + next as u64));
            }
            tried += 1;
            if tried == MAX_CANDIDATES {
                // Each check tokenizes up to CHECK_BYTES: past this many, take the first line
                // start and let the worker before it confirm it.
                return Ok(first);
            }
            pos = next;
        }
        if at_end || window >= max_record {
            return Ok(first);
        }
        window *= 2;
    }
}

/// Whether `bytes` start with [`CONFIRMING_RECORDS`] whole records of `columns` fields (or,
/// at the end of the input, with whole records of `columns` fields up to it).
fn plausible(bytes: &[u8], at_end: bool, dialect: &Dialect, columns: usize) -> bool {
    let end = if at_end {
        bytes.len()
    } else {
        let mut chunker = Chunker::new(dialect, usize::MAX, usize::MAX, 0, 0);
        if chunker.push(bytes, &mut Vec::new()).is_err() {
            return false;
        }
        chunker.last_record_start()
    };
    let mut tokens = Tokens::default();
    if Tokenizer::new(dialect)
        .tokenize(&bytes[..end], &mut tokens)
        .is_err()
    {
        return false;
    }
    let records = tokens.records.len();
    let enough = records >= CONFIRMING_RECORDS || (at_end && records > 0);
    // A start inside a quoted field reads its closing quote as a quote inside an unquoted
    // field: well-formed input has none.
    let stray_quote = dialect.quote.is_some_and(|q| {
        (0..tokens.fields.len()).any(|f| !tokens.quoted[f] && tokens.field(f).contains(&q))
    });
    enough
        && !stray_quote
        && (0..records)
            .take(CONFIRMING_RECORDS)
            .all(|r| tokens.field_count(r) == columns)
}

/// The options of the worker of range `index` (0: the first range, which alone reads the
/// header and the preamble): the plan's schema and dialect pinned.
pub fn worker_options(options: &ConvertOptions, plan: &Plan, index: usize) -> ConvertOptions {
    let used = &plan.inferred.dialect;
    let mut o = options.clone();
    o.schema = Some(plan.inferred.schema.clone());
    o.dialect = used.dialect.clone();
    o.sniff = Sniff::NONE;
    if index > 0 {
        o.dialect.has_header = false;
        o.skip_rows = 0;
    } else {
        o.skip_rows = used.skip_rows;
    }
    o
}

/// Opens the sinks of the worker `i` of a range (see [`convert_ranges`]).
pub type FragmentSinks<'a> = dyn Fn(usize, &Range<u64>) -> Result<Box<dyn SinkFactory>> + Sync + 'a;

/// What the workers produced, in range order.
#[derive(Debug)]
pub struct Converted {
    /// The ranges that ended up converted (joined where a guess was wrong).
    pub ranges: Vec<Range<u64>>,
    /// The sink id each was converted into (the `i` of `sinks(i, range)`): a range joined
    /// with the next keeps its own, so some ids are missing. Sinks of other ids hold
    /// fragments of dropped ranges: the caller removes them.
    pub ids: Vec<usize>,
    /// Each range's report.
    pub reports: Vec<ConvertReport>,
}

/// How one range's worker ended, as the verification needs it.
#[derive(Debug)]
pub enum Outcome<T> {
    /// It converted its range (whose end is then a record start).
    Done(T),
    /// It met the end of its range inside a quoted field: the next range's start was a
    /// guess inside one. The error, when this worker still has it.
    EndsInQuote(Option<Error>),
    /// It failed otherwise: the error, when this worker still has it (another process's
    /// worker reports only that it failed; the range is then converted again to get it).
    Failed(Option<Error>),
}

impl<T> From<Result<T>> for Outcome<T> {
    fn from(result: Result<T>) -> Self {
        match result {
            Ok(t) => Outcome::Done(t),
            Err(e) if ends_inside_quote(&e) => Outcome::EndsInQuote(Some(e)),
            Err(e) => Outcome::Failed(Some(e)),
        }
    }
}

/// Verify the workers' `outcomes` over `ranges` in order (see the module docs): a range whose
/// worker ended inside a quote is joined with the next and converted again by `run(id,
/// range)`; the first other failure is the input's error (its range's start is confirmed by
/// then), converted again when its error is not at hand. Returns the ranges kept, the id of
/// each (the index of its first range: a joined range keeps its own) and their results.
pub async fn settle<T, F, Fut>(
    mut ranges: Vec<Range<u64>>,
    mut outcomes: Vec<Outcome<T>>,
    run: F,
) -> Result<(Vec<Range<u64>>, Vec<usize>, Vec<T>)>
where
    F: Fn(usize, Range<u64>) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    if outcomes.len() != ranges.len() {
        return Err(Error::Internal(format!(
            "fan-out: {} results for {} ranges",
            outcomes.len(),
            ranges.len()
        )));
    }
    let mut ids: Vec<usize> = (0..ranges.len()).collect();
    let mut i = 0;
    while i < ranges.len() {
        match &mut outcomes[i] {
            Outcome::Done(_) => i += 1,
            Outcome::EndsInQuote(_) if i + 1 < ranges.len() => {
                // The next range's start was inside a quoted field: join it to this one.
                let next = ranges.remove(i + 1);
                outcomes.remove(i + 1);
                ids.remove(i + 1);
                ranges[i].end = next.end;
                tracing::info!(range = ?ranges[i], "a range boundary fell inside a quoted field; converting the joined range again");
                outcomes[i] = run(ids[i], ranges[i].clone()).await.into();
            }
            Outcome::EndsInQuote(e) | Outcome::Failed(e) => match e.take() {
                Some(e) => return Err(e),
                // Only the failure's kind reached us: convert the range again for its error
                // (a transient failure may pass this time).
                None => match run(ids[i], ranges[i].clone()).await {
                    Ok(t) => outcomes[i] = Outcome::Done(t),
                    Err(e) => return Err(e),
                },
            },
        }
    }
    let done = outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Done(t) => Ok(t),
            _ => Err(Error::Internal("fan-out: an unsettled range".into())),
        })
        .collect::<Result<Vec<T>>>()?;
    Ok((ranges, ids, done))
}

/// Convert range `id` of `plan` (`range`: its bytes, maybe joined with the next ones) into
/// the sinks `sinks(id, range)` opens; `cancel` stops it.
#[allow(clippy::too_many_arguments)]
pub async fn convert_range(
    source: &dyn ByteSource,
    options: &ConvertOptions,
    plan: &Plan,
    id: usize,
    range: Range<u64>,
    sinks: &FragmentSinks<'_>,
    cancel: &CancellationToken,
) -> Result<ConvertReport> {
    let part = RangeSource::new(source, range.clone());
    let mut outputs = sinks(id, &range)?;
    Converter::new(worker_options(options, plan, id))
        .with_cancel(cancel.child_token())
        .run(&part, outputs.as_mut())
        .await
}

/// Run the workers of `plan`, `concurrency` at once, each into the sinks `sinks(i, range)`
/// opens (a worker that runs again gets new ones), and [`settle`] their outcomes.
pub async fn convert_ranges(
    source: &dyn ByteSource,
    options: &ConvertOptions,
    plan: &Plan,
    concurrency: usize,
    sinks: &FragmentSinks<'_>,
) -> Result<Converted> {
    let ranges = plan.ranges();
    let cancel = CancellationToken::new();
    let cancel = &cancel;
    let run = |id: usize, range: Range<u64>| {
        convert_range(source, options, plan, id, range, sinks, cancel)
    };
    let outcomes: Vec<Outcome<ConvertReport>> =
        futures::stream::iter(ranges.iter().cloned().enumerate().map(|(i, r)| run(i, r)))
            .buffered(concurrency.max(1))
            .map(Outcome::from)
            .collect()
            .await;
    let (ranges, ids, reports) = settle(ranges, outcomes, run).await?;
    Ok(Converted {
        ranges,
        ids,
        reports,
    })
}

/// Whether `e` is the input ending inside a quoted field.
pub fn ends_inside_quote(e: &Error) -> bool {
    e.as_data().is_some_and(|d| d.reason.contains(UNTERMINATED))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use arrow::array::RecordBatch;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;
    use crate::sink::{FileSink, OneShot};
    use crate::source::MemorySource;
    use crate::testkit::{generate_vec, Shape};

    fn read(path: &Path) -> RecordBatch {
        let file = std::fs::File::open(path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
    }

    async fn single(source: &MemorySource, options: &ConvertOptions, out: &Path) {
        let sink = FileSink::create(out).await.unwrap();
        crate::convert(source, &mut OneShot::new(Box::new(sink)), options)
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fan_out_gives_the_single_conversion_rows() {
        let dir = tempfile::tempdir().unwrap();
        for (shape, seed) in [(Shape::Text, 5), (Shape::Taxi, 6)] {
            let csv = generate_vec(shape, 3 << 20, seed);
            let source = MemorySource::new("gen.csv", csv);
            let options = ConvertOptions::default();
            let (one, many) = (
                dir.path().join("one.parquet"),
                dir.path().join("many.parquet"),
            );
            single(&source, &options, &one).await;
            let report = fan_out_to_file(&source, &many, &options, 8, 2, 128 << 10)
                .await
                .unwrap();
            assert!(report.ranges.len() >= 4, "{:?}", report.ranges);
            let (a, b) = (read(&one), read(&many));
            assert_eq!(a.schema(), b.schema());
            assert_eq!(a, b, "{shape:?}");
            assert_eq!(report.rows as usize, a.num_rows());
            // Nothing left beside the output.
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert_eq!(left.len(), 2, "{left:?}");
        }
    }

    /// `records` records whose second field is a quoted text of `lines` short lines,
    /// `line(l, i)` each: most cuts land inside one, right after a line break that is no
    /// record start.
    async fn quoted_lines(
        records: usize,
        lines: usize,
        line: fn(usize, usize) -> String,
    ) -> (usize, Vec<Range<u64>>) {
        let mut csv = b"id,body\n".to_vec();
        for i in 0..records {
            let body: String = (0..lines).map(|l| line(l, i)).collect();
            csv.extend_from_slice(format!("{i},\"{body}\"\n").as_bytes());
        }
        let source = MemorySource::new("quoted.csv", csv.clone());
        let options = ConvertOptions::default();
        let dir = tempfile::tempdir().unwrap();
        let (one, many) = (
            dir.path().join("one.parquet"),
            dir.path().join("many.parquet"),
        );
        single(&source, &options, &one).await;
        let planned = plan(&source, &options, 6, 64 << 10).await.unwrap();
        let report = fan_out_to_file(&source, &many, &options, 6, 3, 64 << 10)
            .await
            .unwrap();
        assert_eq!(read(&one), read(&many));
        assert_eq!(report.rows as usize, records);
        // Every kept boundary is a record start.
        for r in &report.ranges[1..] {
            let quotes = csv[..r.start as usize]
                .iter()
                .filter(|&&b| b == b'"')
                .count();
            assert_eq!(quotes % 2, 0, "boundary {} is inside quotes", r.start);
        }
        (planned.ranges().len(), report.ranges)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cuts_inside_quoted_fields_are_moved_or_joined() {
        // Lines that are no records of two fields: every guess finds the true start.
        let (planned, ranges) = quoted_lines(200, 200, |l, i| format!("line {l} of {i}\n")).await;
        assert_eq!((planned, ranges.len()), (6, 6), "{ranges:?}");
        // Lines that look like records of two fields, in fields longer than the window a guess
        // is checked over: guesses fall inside quoted fields, the worker before each finds it
        // out, and the ranges are joined.
        let (planned, ranges) = quoted_lines(8, 9_000, |l, i| format!("{l},{i}\n")).await;
        assert_eq!(planned, 6);
        assert!(ranges.len() < 6, "no cut was joined: {ranges:?}");
    }
}
