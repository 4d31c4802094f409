//! Inference: per-column evidence from sampled values, the widening rules, and whether the
//! first row is a header.

use super::{ColumnType, UnitName};
use crate::decode::tokens::Tokens;
use crate::decode::values::{
    candidate_mask, classify, date_candidates, Booleans, DateFormat, NumberFormat, TIME_CANDIDATES,
};

/// Per-column evidence gathered from the sample.
#[derive(Debug, Clone, Copy)]
struct Evidence {
    values: u64,
    boolean: bool,
    int: bool,
    float: bool,
    date: bool,
    timestamp: bool,
    time: bool,
    with_offset: bool,
    without_offset: bool,
    fraction_digits: u8,
    /// The longest run of digits after a '.' in any value: at least the fraction digits a
    /// date format's seconds (`%S`, which reads `.` and 1-9 digits) can have read.
    dotted_digits: u8,
    /// Bit `i`: every value so far is a date or timestamp in the inferrer's format `i` (not
    /// ISO 8601).
    date_formats: u64,
    /// The bits of the inferrer's formats that are timestamp formats.
    timed: u64,
    /// The bits of the inferrer's fallback formats ([`DateFormat::is_fallback`]).
    fallback: u64,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            values: 0,
            boolean: true,
            int: true,
            float: true,
            date: true,
            timestamp: true,
            time: true,
            with_offset: false,
            without_offset: false,
            fraction_digits: 0,
            dotted_digits: 0,
            date_formats: u64::MAX,
            timed: 0,
            fallback: 0,
        }
    }
}

impl Evidence {
    /// Add `value`, read by `rules`.
    fn add(&mut self, value: &[u8], rules: &Rules) {
        let Rules {
            formats,
            numbers,
            booleans,
        } = rules;
        // Spaces around a value are layout (`a, 1992`): the decoder reads it trimmed too.
        let value = value.trim_ascii();
        if self.date_formats != 0 {
            self.date_formats &= candidate_mask(value, formats, self.date_formats);
        }
        let mut c = classify(value);
        if !numbers.is_plain() {
            // Numbers are read in their format: with a decimal comma `1,5` is one, `1.5` is not.
            let numeric = numbers.normalize(value).map(|v| classify(&v));
            c.int = numeric.is_some_and(|n| n.int);
            c.float = numeric.is_some_and(|n| n.float);
        }
        if !booleans.is_default() {
            c.boolean = booleans.infers(value);
        }
        self.values += 1;
        self.boolean &= c.boolean;
        self.int &= c.int;
        // An integer too big for Int64 would lose digits as Float64: keep it a string.
        self.float &= c.float && (c.int || !looks_integral(value));
        self.date &= c.date;
        self.timestamp &= c.timestamp || c.date;
        self.time &= c.time;
        if c.timestamp && c.timestamp_offset {
            self.with_offset = true;
        } else if c.timestamp || c.date {
            self.without_offset = true;
        }
        self.fraction_digits = self.fraction_digits.max(c.fraction_digits);
        if self.date_formats & self.timed != 0 {
            self.dotted_digits = self.dotted_digits.max(dotted_digits(value));
        }
    }

    fn column_type(&self) -> ColumnType {
        if self.values == 0 {
            ColumnType::Utf8
        } else if self.boolean {
            ColumnType::Boolean
        } else if self.int {
            ColumnType::Int64
        } else if self.float {
            ColumnType::Float64
        } else if self.date || self.formatted(false).count_ones() == 1 {
            ColumnType::Date32
        } else if self.time {
            ColumnType::Time64
        } else if self.timestamp && !(self.with_offset && self.without_offset) {
            ColumnType::Timestamp {
                unit: unit_for(self.fraction_digits),
                timezone: self.with_offset.then(|| "UTC".to_string()),
            }
        } else if self.formatted(true).count_ones() == 1 {
            ColumnType::Timestamp {
                // A format counts only when it reads every value to the microsecond.
                unit: unit_for(self.dotted_digits.min(6)),
                timezone: None,
            }
        } else {
            ColumnType::Utf8
        }
    }

    /// The formats (timestamp formats when `timed`, else date formats) that read every value.
    /// A fallback format counts only when no other format reads them.
    fn formatted(&self, timed: bool) -> u64 {
        let bits = if self.values == 0 {
            0
        } else if timed {
            self.date_formats & self.timed
        } else {
            self.date_formats & !self.timed
        };
        if bits & !self.fallback != 0 {
            bits & !self.fallback
        } else {
            bits
        }
    }
}

/// The narrowest type wider than `current` that also holds `value` (a value `current` could not
/// parse), for `--on-error widen`: integers widen to Int64 then Float64, Date32 to Timestamp,
/// a timestamp to a finer unit (milliseconds to microseconds or nanoseconds), and everything
/// else (including an integer that overflows Int64, which is never made a lossy float) to Utf8.
/// `None` for Utf8, which holds every value.
pub fn widen(current: &ColumnType, value: &[u8]) -> Option<ColumnType> {
    if *current == ColumnType::Utf8 {
        return None;
    }
    let mut evidence = Evidence::default();
    evidence.add(value, &Rules::default());
    let seen = evidence.column_type();
    let wider = match (current, &seen) {
        (ColumnType::Int32, ColumnType::Int64) => ColumnType::Int64,
        (ColumnType::Int32 | ColumnType::Int64, ColumnType::Int32 | ColumnType::Int64) => {
            ColumnType::Utf8
        }
        (ColumnType::Float64, _) => ColumnType::Utf8,
        (c, s) if c.is_numeric() && s.is_numeric() => ColumnType::Float64,
        (ColumnType::Date32, ColumnType::Timestamp { .. }) => seen.clone(),
        (
            ColumnType::Timestamp {
                unit: had,
                timezone: a,
            },
            ColumnType::Timestamp {
                unit: needs,
                timezone: b,
            },
        ) if a == b && needs.ticks_per_second() > had.ticks_per_second() => seen.clone(),
        _ => ColumnType::Utf8,
    };
    (wider != *current).then_some(wider)
}

/// The coarsest unit that holds timestamps with `fraction_digits` digits after the seconds
/// exactly, from milliseconds on: Parquet has no unit of seconds (pyarrow writes them as
/// milliseconds; arrow-rs as bare INT64, losing the type). Whole seconds are stored as
/// milliseconds because a coarser unit makes smaller files: the deltas of increasing whole
/// seconds are multiples of the unit, 1,000 (10 bits) in milliseconds against 10^6 (20 bits)
/// in microseconds (taxi's two columns, 512 MiB: 37.2 -> 26.3 MB).
fn unit_for(fraction_digits: u8) -> UnitName {
    match fraction_digits {
        0..=3 => UnitName::Ms,
        4..=6 => UnitName::Us,
        _ => UnitName::Ns,
    }
}

/// The longest run of digits right after a '.' in `value` (`12.03.2026 10:00:00.5`: 4). A
/// date format reads a fraction only as '.' and digits after its seconds, so this is never
/// less than the fraction digits it read; more only keeps a finer unit than needed.
fn dotted_digits(value: &[u8]) -> u8 {
    value
        .split(|&b| b == b'.')
        .skip(1)
        .map(|run| run.iter().take_while(|b| b.is_ascii_digit()).count())
        .max()
        .map_or(0, |n| u8::try_from(n).unwrap_or(u8::MAX))
}

/// Sign and digits only (an integer literal of any length).
fn looks_integral(v: &[u8]) -> bool {
    let digits = v
        .strip_prefix(b"-")
        .or_else(|| v.strip_prefix(b"+"))
        .unwrap_or(v);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// How values are read besides the defaults: the date and timestamp formats tried besides ISO
/// 8601 (at most 64: one bit each in the evidence), how numbers and booleans are written.
#[derive(Debug, Default)]
struct Rules {
    formats: Vec<DateFormat>,
    numbers: NumberFormat,
    booleans: Booleans,
}

/// Infers column types from sampled records.
#[derive(Debug)]
pub struct Inferrer {
    evidence: Vec<Evidence>,
    null_values: Vec<Vec<u8>>,
    records: usize,
    /// The formats, and how numbers and booleans are written.
    rules: Rules,
    /// Threads that take runs of columns in [`Inferrer::add`].
    threads: usize,
}

impl Inferrer {
    /// An inferrer for `columns` columns; values in `null_values` count as nulls. Dates that
    /// are not ISO 8601 are tried in the formats of [`crate::decode::values::date_candidates`].
    pub fn new(columns: usize, null_values: &[String]) -> Self {
        Inferrer {
            evidence: vec![Evidence::default(); columns],
            null_values: null_values.iter().map(|s| s.as_bytes().to_vec()).collect(),
            records: 0,
            rules: Rules::default(),
            threads: 1,
        }
        .with_formats(date_candidates())
    }

    /// Try `formats` (at most 64) on dates and timestamps that are not ISO 8601.
    fn with_formats(mut self, mut formats: Vec<DateFormat>) -> Self {
        formats.truncate(64);
        let timed = formats
            .iter()
            .enumerate()
            .filter(|(_, f)| f.has_time())
            .fold(0u64, |m, (i, _)| m | 1 << i);
        let fallback = formats
            .iter()
            .enumerate()
            .filter(|(_, f)| f.is_fallback())
            .fold(0u64, |m, (i, _)| m | 1 << i);
        for ev in &mut self.evidence {
            ev.timed = timed;
            ev.fallback = fallback;
        }
        self.rules.formats = formats;
        self
    }

    /// Split [`Inferrer::add`]'s columns between up to `threads` threads.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Read numbers written in `numbers` (a decimal comma `1,5`, thousands separators).
    pub fn with_numbers(mut self, numbers: NumberFormat) -> Self {
        self.rules.numbers = numbers;
        self
    }

    /// Read booleans spelled as `booleans` says (`--true-values`, `--false-values`).
    pub fn with_booleans(mut self, booleans: Booleans) -> Self {
        self.rules.booleans = booleans;
        self
    }

    /// Try only `format` on dates that are not ISO 8601 (`--date-format`), and on timestamps
    /// only the candidate times after it.
    pub fn with_date_format(self, format: DateFormat) -> Self {
        let timed = TIME_CANDIDATES
            .iter()
            .filter_map(|t| DateFormat::parse(&format!("{}{t}", format.as_str())).ok());
        let formats = std::iter::once(format.clone()).chain(timed).collect();
        self.with_formats(formats)
    }

    /// Try only `format` on timestamps that are not ISO 8601 (`--timestamp-format`).
    pub fn with_timestamp_format(self, format: DateFormat) -> Self {
        let mut formats: Vec<DateFormat> = self
            .rules
            .formats
            .iter()
            .filter(|f| !f.has_time())
            .cloned()
            .collect();
        formats.push(format);
        self.with_formats(formats)
    }

    /// Per column: the format its values are in, when it is a date or timestamp column in a
    /// format other than ISO 8601.
    pub fn date_formats(&self) -> Vec<Option<String>> {
        self.evidence
            .iter()
            .map(|ev| {
                let bits = match ev.column_type() {
                    ColumnType::Date32 if !ev.date => ev.formatted(false),
                    ColumnType::Timestamp { .. } if !ev.timestamp => ev.formatted(true),
                    _ => 0,
                };
                let format = self.rules.formats.get(bits.trailing_zeros() as usize);
                (bits.count_ones() == 1)
                    .then(|| format.map(|f| f.as_str().to_string()))
                    .flatten()
            })
            .collect()
    }

    /// Per column: whether its values are dates or timestamps in more than one of the formats
    /// (`03/04/2026` day-first or month-first), so that it stays text.
    pub fn ambiguous_dates(&self) -> Vec<bool> {
        self.evidence
            .iter()
            .map(|ev| {
                ev.column_type() == ColumnType::Utf8
                    && (ev.formatted(false).count_ones() > 1 || ev.formatted(true).count_ones() > 1)
            })
            .collect()
    }

    /// Add records `range` of `tokens`. Fields beyond the column count are ignored (ragged
    /// records are reported by the decoder). A column at a time, runs of columns on the
    /// inferrer's threads.
    pub fn add(&mut self, tokens: &Tokens, range: std::ops::Range<usize>) {
        let (rules, null_values) = (&self.rules, &self.null_values);
        crate::split::for_each_run(&mut self.evidence, self.threads, |first_column, columns| {
            for (i, ev) in columns.iter_mut().enumerate() {
                let c = first_column + i;
                for f in range.clone().filter_map(|r| tokens.field_of(r, c)) {
                    let v = tokens.field(f);
                    if !null_values.iter().any(|n| n.as_slice() == v) {
                        ev.add(v, rules);
                    }
                }
            }
        });
        self.records += range.len();
    }

    /// Records seen.
    pub fn records(&self) -> usize {
        self.records
    }

    /// The inferred type of each column.
    pub fn finish(&self) -> Vec<ColumnType> {
        self.evidence.iter().map(Evidence::column_type).collect()
    }
}

/// Whether the first record of `tokens` is a header, judged against `below`, the inference of
/// the records after it: it is when a column typed by the records below (not a
/// string) holds a first-row value of another type, or when every column is a string (names
/// cannot be told from string data; a header is the common case, as DuckDB assumes), or when
/// all its values are empty. A lone record is data when one of its values is typed (`42`). An
/// all-typed first row that fits its columns is data.
pub(crate) fn looks_like_a_header(tokens: &Tokens, below: &Inferrer) -> bool {
    let columns = tokens.field_count(0);
    let first = tokens.records[0].first_field as usize;
    let is_null = |v: &[u8]| below.null_values.iter().any(|n| n.as_slice() == v);
    let values: Vec<&[u8]> = (0..columns).map(|c| tokens.field(first + c)).collect();
    if values.iter().all(|v| is_null(v)) {
        // Names left empty: a header (the columns get generated names).
        return true;
    }
    if below.records() == 0 {
        // A lone record: names when all its values are text, data when one is typed (`42`,
        // `1|1.1|bla`), as DuckDB reads it.
        let mut alone = Inferrer::new(columns, &[]);
        alone.null_values.clone_from(&below.null_values);
        alone.add(tokens, 0..1);
        return alone.finish().iter().all(|t| *t == ColumnType::Utf8);
    }
    let types = below.finish();
    if types.iter().all(|t| *t == ColumnType::Utf8) {
        return true;
    }
    (0..columns.min(types.len())).any(|c| {
        let value = values[c];
        if types[c] == ColumnType::Utf8 || is_null(value) {
            return false;
        }
        let mut with = below.evidence[c];
        with.add(value, &below.rules);
        with.column_type() != types[c]
    })
}
