//! Typed conversion options and their defaults; [`OptionKey`] names each one for the command
//! line and the environment and parses it from text. The memory budget the options plan (and
//! [`ConvertOptions::validate`]) are in [`crate::budget`].

use crate::error::{Error, Result};
use crate::schema::SchemaSpec;

mod fingerprint;
pub mod key;
mod set;

pub use crate::decode::dialect::Dialect;
pub use crate::decode::sniff::Sniff;
pub(crate) use fingerprint::fnv1a;
pub use key::{OptionKey, ENV_PREFIX};

/// One mebibyte.
pub const MIB: usize = 1024 * 1024;

/// Default `--memory-limit`.
pub const DEFAULT_MEMORY_LIMIT: usize = 256 * MIB;
/// Default number of records sampled for schema inference.
pub const DEFAULT_INFER_RECORDS: usize = 10_000;
/// Default number of bytes sampled for schema inference.
pub const DEFAULT_INFER_BYTES: usize = 8 * MIB;
/// Default cap on rows per row group (the parquet crate's default).
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1024 * 1024;
/// Default zstd level: 0, not a zstd level here, stands for [`AUTO_ZSTD_LEVEL`] with
/// [`STRONG_ZSTD_LEVEL`] for free text and dictionary columns (see [`Compression::Zstd`]).
pub const DEFAULT_ZSTD_LEVEL: i32 = 0;
/// The zstd level of columns by default (the parquet crate's default level).
pub const AUTO_ZSTD_LEVEL: i32 = 1;
/// The zstd level, by default, of the columns where it pays: text written without a dictionary
/// (text shape, 512 MiB: 121.0 -> 114.5 MiB at 5% more time) and dictionary columns, whose
/// data pages are short bit-packed indexes and whose dictionary pages are the distinct values
/// (wide: -0.7%, taxi -0.05%, no measurable time). Plain numbers stay at [`AUTO_ZSTD_LEVEL`]:
/// level 3 everywhere made taxi 10% slower for 0.1%.
pub const STRONG_ZSTD_LEVEL: i32 = 3;
/// Default size of the byte blocks read from the (decompressed) input.
pub const DEFAULT_BLOCK_BYTES: usize = 256 * 1024;

/// Parse a size: `123`, `64KiB`, `8MiB`, `8M`, `1GiB`, `1G`.
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 256MiB"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => 1024 * MIB,
        _ => return Err(format!("{text:?}: unknown unit (use KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Parse a one-byte dialect character (`tab` or `\t` for a tab); `key` names the option.
pub fn parse_byte(key: impl Into<String>, text: &str) -> Result<u8> {
    match text {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        t if t.len() == 1 => Ok(t.as_bytes()[0]),
        _ => Err(Error::config(
            key,
            format!("{text:?} must be a single ASCII character"),
        )),
    }
}

/// What to do with a value that does not parse as its column's type, or a ragged row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop with an error naming the position; leave no output.
    #[default]
    Fail,
    /// Store null and count it.
    Null,
    /// Write the raw record to the rejects CSV and count it.
    Reject,
    /// Widen the column's type to hold the value and convert again from the start (the output
    /// written so far is discarded); a bounded number of times. Ragged rows fail.
    Widen,
}

impl std::str::FromStr for OnError {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fail" => Ok(OnError::Fail),
            "null" => Ok(OnError::Null),
            "reject" => Ok(OnError::Reject),
            "widen" => Ok(OnError::Widen),
            _ => Err(Error::config(
                OptionKey::OnError,
                format!("{s:?}: expected fail, null, reject or widen"),
            )),
        }
    }
}

/// Parquet compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard at a level (1..=22); 0, the default, is level 1 but 3 for text columns written
    /// without a dictionary and for dictionary columns (where level 3 pays).
    Zstd(i32),
    /// Snappy.
    Snappy,
    /// LZ4 (raw, the Parquet `LZ4_RAW` codec).
    Lz4,
    /// Gzip at a level (0..=10).
    Gzip(u32),
    /// Uncompressed.
    None,
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Zstd(DEFAULT_ZSTD_LEVEL)
    }
}

impl Compression {
    /// Parse a codec name with an optional level (`zstd`, `zstd:3`, `snappy`, `gzip:6`, ...).
    pub fn parse(name: &str, level: Option<i32>) -> Result<Self> {
        let key = OptionKey::Compression;
        let (name, inline_level) = match name.split_once(':') {
            Some((n, l)) => (
                n,
                Some(
                    l.parse::<i32>()
                        .map_err(|_| Error::config(key, format!("bad level {l:?}")))?,
                ),
            ),
            None => (name, None),
        };
        let level = inline_level.or(level);
        if name.eq_ignore_ascii_case("zstd") && level.is_some_and(|l| !(1..=22).contains(&l)) {
            return Err(Error::config(
                OptionKey::CompressionLevel,
                "zstd level must be 1..=22",
            ));
        }
        let codec = match name.to_ascii_lowercase().as_str() {
            "zstd" => Compression::Zstd(level.unwrap_or(DEFAULT_ZSTD_LEVEL)),
            "snappy" => Compression::Snappy,
            "lz4" | "lz4_raw" => Compression::Lz4,
            "gzip" => Compression::Gzip(level.unwrap_or(6).max(0) as u32),
            "none" | "uncompressed" => Compression::None,
            other => {
                return Err(Error::config(
                    key,
                    format!("{other:?}: expected zstd, snappy, lz4, gzip or none"),
                ))
            }
        };
        match codec {
            Compression::Gzip(l) if l > 10 => Err(Error::config(
                OptionKey::CompressionLevel,
                "gzip level must be 0..=10",
            )),
            c => Ok(c),
        }
    }

    /// Name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd(_) => "zstd",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Gzip(_) => "gzip",
            Compression::None => "none",
        }
    }
}

/// Compression of the input stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputCompression {
    /// Detect from magic bytes (and the name, as a hint).
    #[default]
    Auto,
    /// Not compressed.
    None,
    /// gzip (multi-member).
    Gzip,
    /// Zstandard.
    Zstd,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
}

impl std::str::FromStr for InputCompression {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => InputCompression::Auto,
            "none" => InputCompression::None,
            "gzip" | "gz" => InputCompression::Gzip,
            "zstd" | "zst" => InputCompression::Zstd,
            "bzip2" | "bz2" => InputCompression::Bzip2,
            "xz" => InputCompression::Xz,
            _ => {
                return Err(Error::config(
                    OptionKey::InputCompression,
                    format!("{s:?}: expected auto, none, gzip, zstd, bzip2 or xz"),
                ))
            }
        })
    }
}

/// Character encoding of the input text. Everything but UTF-8 is transcoded to UTF-8 in the
/// reading stage, block by block (after decompression, before the chunker); both other encodings
/// are single-byte, so no state crosses a block boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8 (validated per string value; see [`InvalidUtf8`]).
    #[default]
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same value.
    Latin1,
    /// Windows-1252: Latin-1 with printable characters (`€`, `‘`, `™`, ...) in 0x80..=0x9F.
    #[serde(rename = "windows-1252")]
    Windows1252,
}

impl Encoding {
    /// The most a block grows when transcoded to UTF-8 (bytes out per byte in).
    pub fn max_growth(self) -> usize {
        match self {
            Encoding::Utf8 => 1,
            Encoding::Latin1 => 2,
            // U+20AC and the other 0x80..=0x9F characters above U+07FF take 3 bytes.
            Encoding::Windows1252 => 3,
        }
    }

    /// Name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Latin1 => "latin1",
            Encoding::Windows1252 => "windows-1252",
        }
    }
}

impl std::str::FromStr for Encoding {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf8" | "utf-8" => Ok(Encoding::Utf8),
            "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" => Ok(Encoding::Latin1),
            "windows-1252" | "cp1252" => Ok(Encoding::Windows1252),
            _ => Err(Error::config(
                OptionKey::Encoding,
                format!("{s:?}: expected utf8, latin1 or windows-1252"),
            )),
        }
    }
}

/// What to do with a string value that is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InvalidUtf8 {
    /// A bad value: handled by [`OnError`] (by default an error naming its position).
    #[default]
    Fail,
    /// Replace each invalid sequence with U+FFFD (as `String::from_utf8_lossy`) and count the
    /// values changed.
    Replace,
}

impl std::str::FromStr for InvalidUtf8 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "fail" => Ok(InvalidUtf8::Fail),
            "replace" => Ok(InvalidUtf8::Replace),
            _ => Err(Error::config(
                OptionKey::InvalidUtf8,
                format!("{s:?}: expected fail or replace"),
            )),
        }
    }
}

/// Where schema inference samples a seekable input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplePositions {
    /// The head only.
    Head,
    /// The head, and (when the input is uncompressed, its size is known and it is larger than
    /// four head samples) a range from the middle and one from the tail.
    #[default]
    Spread,
}

impl std::str::FromStr for SamplePositions {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "head" => Ok(SamplePositions::Head),
            "spread" => Ok(SamplePositions::Spread),
            _ => Err(Error::config(
                OptionKey::SamplePositions,
                format!("{s:?}: expected head or spread"),
            )),
        }
    }
}

/// Every option of a conversion. Build with `ConvertOptions::default()` and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// CSV dialect: the parts [`ConvertOptions::sniff`] leaves open are taken from here.
    pub dialect: Dialect,
    /// The parts of the dialect sniffed from the input (default: all; setting a part of the
    /// dialect through [`ConvertOptions::set`] pins it, and [`ConvertOptions::with_dialect`]
    /// pins all).
    pub sniff: Sniff,
    /// Lines to skip before the header (a preamble), unless [`Sniff::skip_rows`] sniffs them.
    pub skip_rows: usize,
    /// Field values read as null (default: the empty string). For string columns only unquoted
    /// fields match, so `""` stays an empty string.
    pub null_values: Vec<String>,
    /// Every column not in the explicit schema is text, its values kept exactly as written
    /// (for archiving); the header and the dialect are still sniffed.
    pub all_strings: bool,
    /// The format of dates that are not ISO 8601 (`%d.%m.%Y`; `%d %m %Y %y`): the only one
    /// inference tries (default: it tries `%d/%m/%Y`, `%m/%d/%Y`, `%d.%m.%Y` and others, and
    /// takes one only when it is the only one that reads every sampled value), and the one
    /// date columns of the schema file without their own `format` read.
    pub date_format: Option<String>,
    /// The format of timestamps that are not ISO 8601 (`%d.%m.%Y %H:%M`; the date items and
    /// `%H` `%I` `%M` `%S` (with any fraction) `%p`): the only timestamp format inference tries
    /// (default: each date candidate followed by ` %H:%M:%S`, ` %H:%M` or ` %I:%M:%S %p`), and
    /// the one timestamp columns of the schema file without their own `format` read.
    pub timestamp_format: Option<String>,
    /// Floats and decimals are written with a decimal comma (`1,5`; a value with a `.` is then
    /// no number); `,` is then never sniffed as the delimiter.
    pub decimal_comma: bool,
    /// The thousands separator of numbers (`,` in `1,234.5`, `.` in `1.234,5` with
    /// `decimal_comma`, or ` ` `'` `_`): it may split the integer part into groups of three,
    /// in inference and decoding. Default none.
    pub thousands: Option<u8>,
    /// The spellings of true (`--true-values`): when set, they replace the usual ones
    /// (`true`, `t`, `yes`, `y`, `1`, any case), matched exactly, in inference and decoding.
    pub true_values: Vec<String>,
    /// The spellings of false (`--false-values`), likewise.
    pub false_values: Vec<String>,
    /// Records sampled for inference.
    pub infer_records: usize,
    /// Bytes sampled for inference.
    pub infer_bytes: usize,
    /// Explicit schema (all or some columns).
    pub schema: Option<SchemaSpec>,
    /// Bad value policy.
    pub on_error: OnError,
    /// Parquet codec.
    pub compression: Compression,
    /// Target encoded bytes per row group; `None` derives it from the memory limit.
    pub row_group_bytes: Option<usize>,
    /// Row cap per row group.
    pub row_group_rows: usize,
    /// The memory budget every buffer is sized from.
    pub memory_limit: usize,
    /// Worker threads for decoding and encoding; 0 = available parallelism.
    pub workers: usize,
    /// Input compression.
    pub input_compression: InputCompression,
    /// Tuning: bytes per chunk handed to a decode worker (default: derived from the limit).
    pub chunk_bytes: Option<usize>,
    /// Tuning: bytes per block read from the decompressor (default 256 KiB).
    pub block_bytes: Option<usize>,
    /// Output part size (multipart upload parts; default planned from the input size).
    pub part_bytes: Option<usize>,
    /// Tuning: bytes per ranged GET of a source read in ranges (S3); default planned from the
    /// read-ahead (see [`crate::budget::plan_ranges`]).
    pub range_bytes: Option<usize>,
    /// Where the open row group (encoded pages, or a wide schema's Arrow arrays) is spilled
    /// (`--spill-dir`; by default the system temp dir, `/tmp` in a Lambda). Without a
    /// writable directory row groups stay in memory, as large as the budget allows.
    pub spill_dir: Option<std::path::PathBuf>,
    /// Bytes spilled at once at most (`--max-spill`; by default
    /// [`crate::budget::DEFAULT_MAX_SPILL`]; 0: no spilling).
    pub max_spill: Option<usize>,
    /// Character encoding of the input.
    pub encoding: Encoding,
    /// Invalid UTF-8 in string values: a bad value, or replaced with U+FFFD.
    pub invalid_utf8: InvalidUtf8,
    /// Where the inference sample comes from.
    pub sample_positions: SamplePositions,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            dialect: Dialect::default(),
            sniff: Sniff::ALL,
            skip_rows: 0,
            null_values: vec![String::new()],
            all_strings: false,
            date_format: None,
            timestamp_format: None,
            decimal_comma: false,
            thousands: None,
            true_values: Vec::new(),
            false_values: Vec::new(),
            infer_records: DEFAULT_INFER_RECORDS,
            infer_bytes: DEFAULT_INFER_BYTES,
            schema: None,
            on_error: OnError::Fail,
            compression: Compression::default(),
            row_group_bytes: None,
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            workers: 0,
            input_compression: InputCompression::Auto,
            chunk_bytes: None,
            block_bytes: None,
            part_bytes: None,
            range_bytes: None,
            spill_dir: None,
            max_spill: None,
            encoding: Encoding::Utf8,
            invalid_utf8: InvalidUtf8::Fail,
            sample_positions: SamplePositions::Spread,
        }
    }
}

impl ConvertOptions {
    /// Set the dialect, header presence included: nothing is sniffed and no line skipped
    /// (set [`ConvertOptions::sniff`] after this to sniff some parts again).
    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self.sniff = Sniff::NONE;
        self.skip_rows = 0;
        self
    }
    /// The directory spill files go to: `--spill-dir`, else the system temp dir.
    pub fn spill_dir_or_temp(&self) -> std::path::PathBuf {
        self.spill_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
    /// Set the memory limit in bytes.
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }
    /// Set the worker count (0 = all cores).
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }
    /// Set the bad value policy.
    pub fn with_on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }
    /// Set the Parquet codec.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }
    /// Set an explicit schema.
    pub fn with_schema(mut self, schema: SchemaSpec) -> Self {
        self.schema = Some(schema);
        self
    }

    /// `--date-format`, parsed: it must have no time of day.
    pub(crate) fn date_format(&self) -> Result<Option<crate::decode::values::DateFormat>> {
        let Some(text) = self.date_format.as_deref() else {
            return Ok(None);
        };
        let format = crate::decode::values::DateFormat::parse(text)
            .map_err(|e| Error::config(OptionKey::DateFormat, e))?;
        if format.has_time() {
            return Err(Error::config(
                OptionKey::DateFormat,
                format!("{text:?} has a time of day (set --timestamp-format)"),
            ));
        }
        Ok(Some(format))
    }

    /// How booleans are spelled (`--true-values`, `--false-values`).
    pub(crate) fn booleans(&self) -> crate::decode::values::Booleans {
        let bytes = |v: &[String]| v.iter().map(|s| s.as_bytes().to_vec()).collect();
        crate::decode::values::Booleans {
            trues: bytes(&self.true_values),
            falses: bytes(&self.false_values),
        }
    }

    /// How numbers are written (`--decimal-comma`, `--thousands`).
    pub(crate) fn number_format(&self) -> crate::decode::values::NumberFormat {
        crate::decode::values::NumberFormat {
            decimal_comma: self.decimal_comma,
            thousands: self.thousands,
        }
    }

    /// `--timestamp-format`, parsed: it must have a time of day.
    pub(crate) fn timestamp_format(&self) -> Result<Option<crate::decode::values::DateFormat>> {
        let Some(text) = self.timestamp_format.as_deref() else {
            return Ok(None);
        };
        let format = crate::decode::values::DateFormat::parse(text)
            .map_err(|e| Error::config(OptionKey::TimestampFormat, e))?;
        if !format.has_time() {
            return Err(Error::config(
                OptionKey::TimestampFormat,
                format!("{text:?} has no time of day (add %H:%M, or set --date-format)"),
            ));
        }
        Ok(Some(format))
    }

    /// The checks of options that do not size buffers (the memory limit and the sizes are
    /// checked by [`ConvertOptions::validate`], in the `budget` module, as it plans the budget).
    pub(crate) fn check(&self) -> Result<()> {
        self.dialect.validate()?;
        self.date_format()?;
        self.timestamp_format()?;
        if let Some(t) = self.thousands {
            let mark = if self.decimal_comma { b',' } else { b'.' };
            if t == mark || !matches!(t, b',' | b'.' | b' ' | b'\'' | b'_') {
                return Err(Error::config(
                    OptionKey::Thousands,
                    format!(
                        "{:?} cannot separate thousands here (use , . ' _ or a space, not the \
                         decimal mark {:?})",
                        t as char, mark as char
                    ),
                ));
            }
        }
        if self.decimal_comma && !self.sniff.delimiter && self.dialect.delimiter == b',' {
            return Err(Error::config(
                OptionKey::DecimalComma,
                "the delimiter is ',' too: set --delimiter (e.g. ';')",
            ));
        }
        for column in self.schema.iter().flat_map(|s| &s.columns) {
            if let Some(format) = &column.format {
                crate::decode::values::DateFormat::parse(format).map_err(|e| {
                    Error::config(OptionKey::Schema, format!("column {:?}: {e}", column.name))
                })?;
            }
        }
        for (key, value) in [
            (OptionKey::InferRecords, self.infer_records),
            (OptionKey::InferBytes, self.infer_bytes),
            (OptionKey::RowGroupRows, self.row_group_rows),
        ] {
            if value == 0 {
                return Err(Error::config(key, "must be > 0"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_and_sampling_options_parse() {
        assert_eq!("latin1".parse::<Encoding>().unwrap(), Encoding::Latin1);
        assert_eq!("ISO-8859-1".parse::<Encoding>().unwrap(), Encoding::Latin1);
        assert_eq!(
            "windows-1252".parse::<Encoding>().unwrap(),
            Encoding::Windows1252
        );
        assert_eq!("cp1252".parse::<Encoding>().unwrap(), Encoding::Windows1252);
        assert_eq!("UTF-8".parse::<Encoding>().unwrap(), Encoding::Utf8);
        let err = "utf16".parse::<Encoding>().unwrap_err().to_string();
        assert!(
            err.contains("--encoding") && err.contains("latin1"),
            "{err}"
        );
        assert_eq!(
            "replace".parse::<InvalidUtf8>().unwrap(),
            InvalidUtf8::Replace
        );
        assert!("ignore"
            .parse::<InvalidUtf8>()
            .unwrap_err()
            .to_string()
            .contains("--invalid-utf8"));
        assert_eq!(
            "head".parse::<SamplePositions>().unwrap(),
            SamplePositions::Head
        );
        assert!("tail"
            .parse::<SamplePositions>()
            .unwrap_err()
            .to_string()
            .contains("--sample-positions"));
    }

    #[test]
    fn dialect_conflicts_are_named() {
        let mut o = ConvertOptions::default();
        o.dialect.quote = Some(b',');
        let err = o.validate().unwrap_err().to_string();
        assert!(err.contains("--delimiter"), "{err}");
        o.dialect.quote = Some(b'"');
        o.dialect.escape = Some(b'"');
        assert!(o.validate().is_ok(), "escape == quote means doubling");
    }

    #[test]
    fn compression_parsing() {
        assert_eq!(
            Compression::parse("zstd:3", None).unwrap(),
            Compression::Zstd(3)
        );
        assert_eq!(
            Compression::parse("SNAPPY", None).unwrap(),
            Compression::Snappy
        );
        assert!(Compression::parse("zstd", Some(99)).is_err());
        // No level: the default, 0 (level 1, and 3 for free text); an explicit level is that
        // level for every column, and 0 is not one.
        assert_eq!(
            Compression::parse("zstd", None).unwrap(),
            Compression::Zstd(0)
        );
        assert_eq!(
            Compression::parse("zstd", Some(1)).unwrap(),
            Compression::Zstd(1)
        );
        assert!(Compression::parse("zstd", Some(0)).is_err());
        assert!(Compression::parse("zstd:0", None).is_err());
        assert!(Compression::parse("brotli", None)
            .unwrap_err()
            .to_string()
            .contains("--compression"));
    }

    #[test]
    fn sizes_and_bytes() {
        assert_eq!(parse_size("8MiB"), Ok(8 * MIB));
        assert_eq!(parse_size("1g"), Ok(1024 * MIB));
        assert_eq!(parse_size("17"), Ok(17));
        assert!(parse_size("8 parsecs").is_err());
        assert_eq!(parse_byte("--delimiter", "tab").unwrap(), b'\t');
        assert!(parse_byte("--quote", "ab")
            .unwrap_err()
            .to_string()
            .contains("--quote"));
    }
}
