//! Inference samples from the middle and the tail of a seekable input (`--sample-positions
//! spread`), so that a column whose type changes late is rarely mis-inferred from the head.
//!
//! A sample is one bounded range read with [`ByteSource::read_range`] (one ranged GET on S3),
//! taken only when the input is uncompressed (offsets into a compressed stream mean nothing)
//! and its size is known and larger than four head samples. It starts inside some record: the
//! bytes up to the first line break are dropped, and so is the partial record at its end
//! (unless it ends the input). A sample that starts inside a quoted field may tokenize wrongly,
//! so one that fails to tokenize, or has a record whose field count differs from the header's,
//! is dropped whole. Sampling is best effort: a failed read or a dropped sample is logged at
//! debug level and never fails the conversion (the main read reports real problems).

use bytes::Bytes;

use crate::config::{ConvertOptions, SamplePositions};
use crate::decode::chunker::Chunker;
use crate::decode::compression::Codec;
use crate::decode::dialect::Dialect;
use crate::decode::encoding::transcode;
use crate::decode::tokenizer::Tokenizer;
use crate::decode::tokens::Tokens;
use crate::schema::Inferrer;
use crate::source::{ByteSource, SourceInfo};

/// How many head samples (`--infer-bytes`) an input must exceed before the middle and the tail
/// are sampled too (a smaller input is mostly covered by the head already).
const SPREAD_MIN_HEADS: u64 = 4;

/// Bytes read from one position of the input (transcoded to UTF-8 like the main stream).
#[derive(Debug)]
pub(crate) struct Sample {
    /// Offset of the first byte in the input.
    pub offset: u64,
    /// The bytes.
    pub bytes: Bytes,
    /// Whether the sample ends where the input ends (its last record is whole).
    pub at_end: bool,
}

/// The byte ranges to sample besides the head: the middle and the tail, each at most half the
/// head sample; none when `options` or the input rule them out.
pub(crate) fn sample_ranges(
    options: &ConvertOptions,
    size: Option<u64>,
    codec: Codec,
) -> Vec<std::ops::Range<u64>> {
    let Some(size) = size else {
        return Vec::new();
    };
    let head = options.infer_bytes as u64;
    if options.sample_positions != SamplePositions::Spread
        || codec != Codec::None
        || size <= head.saturating_mul(SPREAD_MIN_HEADS)
    {
        return Vec::new();
    }
    let len = (head / 2).max(1);
    let middle = size / 2 - len / 2;
    vec![middle..middle + len, size - len..size]
}

/// Read the samples of [`sample_ranges`]; the ones that fail are skipped.
pub(crate) async fn read_samples(
    source: &dyn ByteSource,
    info: &SourceInfo,
    codec: Codec,
    options: &ConvertOptions,
) -> Vec<Sample> {
    let ranges = sample_ranges(options, info.size, codec);
    let reads = ranges.into_iter().map(|range| async move {
        match source.read_range(range.clone()).await {
            Ok(bytes) => Some(Sample {
                offset: range.start,
                at_end: Some(range.end) == info.size,
                bytes: transcode(options.encoding, bytes),
            }),
            Err(e) => {
                tracing::debug!(
                    location = %info.location, start = range.start, end = range.end,
                    error = %e, "an inference sample could not be read; inferring without it"
                );
                None
            }
        }
    });
    futures::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Add the whole records of `samples` that have `columns` fields to `inferrer` (at most
/// `options.infer_records` per sample, from its first `max_bytes` bytes); returns how many
/// samples were used. The samples are consumed.
pub(crate) fn add_samples(
    inferrer: &mut Inferrer,
    samples: Vec<Sample>,
    options: &ConvertOptions,
    dialect: &Dialect,
    columns: usize,
    max_bytes: usize,
) -> usize {
    let tokenizer = Tokenizer::new(dialect);
    let mut tokens = Tokens::default();
    let mut used = 0;
    for sample in samples {
        let Some(records) = whole_records(&sample, dialect, max_bytes) else {
            continue;
        };
        if tokenizer.tokenize(records, &mut tokens).is_err() {
            tracing::debug!(
                offset = sample.offset,
                "an inference sample does not tokenize (it may start inside a quoted field); dropped"
            );
            continue;
        }
        if (0..tokens.records.len()).any(|r| tokens.field_count(r) != columns) {
            tracing::debug!(
                offset = sample.offset,
                "an inference sample has records with another field count; dropped"
            );
            continue;
        }
        inferrer.add(&tokens, 0..tokens.records.len().min(options.infer_records));
        used += 1;
    }
    used
}

/// The part of `sample` that holds whole records: after the first line break, up to where the
/// last record starts within `max_bytes` (or to the end, when the sample ends the input
/// within them).
fn whole_records<'a>(sample: &'a Sample, dialect: &Dialect, max_bytes: usize) -> Option<&'a [u8]> {
    let data = &sample.bytes[..];
    let start = memchr::memchr2(b'\n', b'\r', data)? + 1;
    let rest = &data[start..];
    let (rest, at_end) = if rest.len() > max_bytes {
        (&rest[..max_bytes], false)
    } else {
        (rest, sample.at_end)
    };
    if at_end {
        return Some(rest);
    }
    // The chunker's quote-aware scan finds where the last (partial) record starts.
    let mut scan = Chunker::new(dialect, usize::MAX, usize::MAX, 0, 0);
    scan.push(rest, &mut Vec::new()).ok()?;
    let end = scan.last_record_start();
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MIB;
    use crate::schema::ColumnType;

    fn sample(text: &str, at_end: bool) -> Sample {
        Sample {
            offset: 100,
            bytes: Bytes::from(text.to_string()),
            at_end,
        }
    }

    fn infer(samples: Vec<Sample>) -> (Vec<ColumnType>, usize) {
        let mut inferrer = Inferrer::new(2, &[String::new()]);
        let used = add_samples(
            &mut inferrer,
            samples,
            &ConvertOptions::default(),
            &Dialect::default(),
            2,
            usize::MAX,
        );
        (inferrer.finish(), used)
    }

    #[test]
    fn ranges_only_for_large_uncompressed_inputs_of_known_size() {
        let o = ConvertOptions::default();
        let big = Some(100 * MIB as u64);
        let r = sample_ranges(&o, big, Codec::None);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0],
            (50 * MIB - 2 * MIB) as u64..(50 * MIB + 2 * MIB) as u64
        );
        assert_eq!(r[1], (96 * MIB) as u64..(100 * MIB) as u64);
        assert!(sample_ranges(&o, Some(32 * MIB as u64), Codec::None).is_empty());
        assert!(sample_ranges(&o, None, Codec::None).is_empty());
        assert!(sample_ranges(&o, big, Codec::Gzip).is_empty());
        let head_only = ConvertOptions {
            sample_positions: SamplePositions::Head,
            ..o
        };
        assert!(sample_ranges(&head_only, big, Codec::None).is_empty());
    }

    #[test]
    fn partial_first_and_last_records_are_dropped() {
        // "ab" ends the record before the sample's first line break; "9,tail" is cut short.
        let (types, used) = infer(vec![sample("ab\n1,x\n2,y\n9,ta", false)]);
        assert_eq!(used, 1);
        assert_eq!(types, [ColumnType::Int64, ColumnType::Utf8]);
        // At the end of the input the last record is whole even without a line break.
        let (types, _) = infer(vec![sample("x\n1,x\n2.5,y", true)]);
        assert_eq!(types[0], ColumnType::Float64);
        // A cut half-way into "2.5" would otherwise look like an integer.
        let (types, _) = infer(vec![sample("x\n1,x\n2.", false)]);
        assert_eq!(types[0], ColumnType::Int64);
    }

    #[test]
    fn a_sample_that_does_not_fit_the_header_is_dropped() {
        // Started inside a quoted field: the record count or syntax is off.
        let (types, used) = infer(vec![
            sample("d\"\n1,x,3\n2,y\n", false),
            sample("ne one\nline two\"\n2,x\n", false),
            sample("no line break at all", false),
        ]);
        assert_eq!(used, 0);
        assert_eq!(types, [ColumnType::Utf8, ColumnType::Utf8], "nothing seen");
        // CRLF: the sample may start between CR and LF (a blank line, skipped).
        let (types, used) = infer(vec![sample("\r\n1,true\r\n2,false\r\n", true)]);
        assert_eq!(used, 1);
        assert_eq!(types, [ColumnType::Int64, ColumnType::Boolean]);
    }
}
