//! Typed conversion options, their defaults, validation, and the memory budget derived from them.

use crate::error::{Error, Result};
use crate::schema::SchemaSpec;

/// One mebibyte.
pub const MIB: usize = 1024 * 1024;

/// Default `--memory-limit`.
pub const DEFAULT_MEMORY_LIMIT: usize = 256 * MIB;
/// Smallest accepted `--memory-limit`.
pub const MIN_MEMORY_LIMIT: usize = 16 * MIB;
/// Default number of records sampled for schema inference.
pub const DEFAULT_INFER_RECORDS: usize = 10_000;
/// Default number of bytes sampled for schema inference.
pub const DEFAULT_INFER_BYTES: usize = 8 * MIB;
/// Default cap on rows per row group (the parquet crate's default).
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1024 * 1024;
/// Default zstd level (the parquet crate's default level).
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;
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
pub fn parse_byte(key: &str, text: &str) -> Result<u8> {
    match text {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        t if t.len() == 1 => Ok(t.as_bytes()[0]),
        _ => Err(Error::config(
            key,
            format!("{text:?} must be a single ASCII character"),
        )),
    }
}

/// The CSV dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// Field delimiter.
    pub delimiter: u8,
    /// Quote character; `None` disables quoting.
    pub quote: Option<u8>,
    /// Escape character inside quoted fields (e.g. `\`); `None`: quotes are escaped by doubling.
    pub escape: Option<u8>,
    /// Lines starting with this byte are skipped.
    pub comment: Option<u8>,
    /// Whether the first record is a header.
    pub has_header: bool,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            delimiter: b',',
            quote: Some(b'"'),
            escape: None,
            comment: None,
            has_header: true,
        }
    }
}

impl Dialect {
    fn validate(&self) -> Result<()> {
        let specials = [
            ("--delimiter", Some(self.delimiter)),
            ("--quote", self.quote),
            ("--escape", self.escape),
            ("--comment", self.comment),
        ];
        for (i, (name, byte)) in specials.iter().enumerate() {
            let Some(b) = byte else { continue };
            if *b == b'\n' || *b == b'\r' {
                return Err(Error::config(*name, "cannot be a line break"));
            }
            for (other, other_byte) in &specials[i + 1..] {
                if *other_byte == Some(*b) && !(*other == "--escape" && Some(*b) == self.quote) {
                    return Err(Error::config(
                        *name,
                        format!("{:?} is also used by {other}", *b as char),
                    ));
                }
            }
        }
        if self.escape.is_some() && self.quote.is_none() {
            return Err(Error::config("--escape", "needs a quote character"));
        }
        Ok(())
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
                "--on-error",
                format!("{s:?}: expected fail, null, reject or widen"),
            )),
        }
    }
}

/// Parquet compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard at a level (1..=22).
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
        let key = "--compression";
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
            Compression::Zstd(l) if !(1..=22).contains(&l) => Err(Error::config(
                "--compression-level",
                "zstd level must be 1..=22",
            )),
            Compression::Gzip(l) if l > 10 => Err(Error::config(
                "--compression-level",
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
                    "--input-compression",
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
                "--encoding",
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
                "--invalid-utf8",
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
                "--sample-positions",
                format!("{s:?}: expected head or spread"),
            )),
        }
    }
}

/// Every option of a conversion. Build with `ConvertOptions::default()` and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// CSV dialect.
    pub dialect: Dialect,
    /// Field values read as null (default: the empty string). For string columns only unquoted
    /// fields match, so `""` stays an empty string.
    pub null_values: Vec<String>,
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
            null_values: vec![String::new()],
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
            encoding: Encoding::Utf8,
            invalid_utf8: InvalidUtf8::Fail,
            sample_positions: SamplePositions::Spread,
        }
    }
}

impl ConvertOptions {
    /// Set the dialect.
    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
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

    /// Check every option and derive the memory budget.
    pub fn validate(&self) -> Result<MemoryBudget> {
        self.dialect.validate()?;
        if self.memory_limit < MIN_MEMORY_LIMIT {
            return Err(Error::config(
                "--memory-limit",
                format!("must be at least {} MiB", MIN_MEMORY_LIMIT / MIB),
            ));
        }
        if self.infer_records == 0 || self.infer_bytes == 0 {
            return Err(Error::config(
                "--infer-records/--infer-bytes",
                "must be > 0",
            ));
        }
        if self.row_group_rows == 0 {
            return Err(Error::config("--row-group-rows", "must be > 0"));
        }
        let workers = if self.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.workers
        };
        let mut budget = MemoryBudget::derive(self.memory_limit, workers, self.row_group_bytes);
        if let Some(chunk) = self.chunk_bytes {
            if chunk == 0 || chunk > budget.chunk_bytes * 4 {
                return Err(Error::config(
                    "--chunk-bytes",
                    format!(
                        "must be between 1 and {} at this memory limit",
                        budget.chunk_bytes * 4
                    ),
                ));
            }
            budget.chunk_bytes = chunk;
        }
        if let Some(part) = self.part_bytes {
            if !(5 * MIB..=self.memory_limit / 4).contains(&part) {
                return Err(Error::config(
                    "--part-bytes",
                    format!(
                        "must be between 5 MiB (the S3 minimum) and a quarter of the memory limit ({} MiB)",
                        self.memory_limit / 4 / MIB
                    ),
                ));
            }
            budget.part_bytes = part;
        }
        if let Some(block) = self.block_bytes {
            if block == 0 || block > budget.read_ahead_bytes {
                return Err(Error::config(
                    "--block-bytes",
                    format!("must be between 1 and {}", budget.read_ahead_bytes),
                ));
            }
            budget.block_bytes = block;
        }
        if self.infer_bytes > budget.max_record_bytes.max(DEFAULT_INFER_BYTES) {
            return Err(Error::config(
                "--infer-bytes",
                format!(
                    "must be at most {} MiB at this memory limit",
                    budget.max_record_bytes.max(DEFAULT_INFER_BYTES) / MIB
                ),
            ));
        }
        if let Some(rg) = self.row_group_bytes {
            if rg < MIB || rg > self.memory_limit / 2 {
                return Err(Error::config(
                    "--row-group-bytes",
                    format!(
                        "must be between 1 MiB and half the memory limit ({} MiB)",
                        self.memory_limit / 2 / MIB
                    ),
                ));
            }
        }
        Ok(budget)
    }
}

/// How the memory limit is divided between the pipeline's buffers. Every buffer that can grow
/// with the input is capped by one of these numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryBudget {
    /// The whole limit.
    pub limit: usize,
    /// Worker threads.
    pub workers: usize,
    /// Decompressed bytes read ahead of the chunker (blocks in the read channel).
    pub read_ahead_bytes: usize,
    /// Size of one read block.
    pub block_bytes: usize,
    /// Target size of one chunk of whole records handed to a decode worker.
    pub chunk_bytes: usize,
    /// Chunks being decoded or waiting to be encoded at once.
    pub chunks_in_flight: usize,
    /// Parts (chunks) the row-group size is judged behind the newest (see
    /// [`crate::encode::ParquetEncoder::with_cut_lag`]).
    pub cut_lag_parts: usize,
    /// Longest record accepted; longer is an error naming its line.
    pub max_record_bytes: usize,
    /// Encoded bytes buffered per row group before it is flushed.
    pub row_group_bytes: usize,
    /// Output bytes buffered before they are handed to the sink as one part.
    pub part_bytes: usize,
    /// Parts queued for the sink.
    pub parts_in_flight: usize,
}

impl MemoryBudget {
    /// Input bytes per read block: a transcoded block grows by up to
    /// [`Encoding::max_growth`], so the reading stage reads that much less per block and a block
    /// in the read-ahead channel never exceeds `block_bytes` (the read-ahead budget holds for
    /// every encoding).
    pub fn read_block_bytes(&self, encoding: Encoding) -> usize {
        (self.block_bytes / encoding.max_growth()).max(1)
    }

    /// Split `limit` between the stages (see the README's memory table).
    pub fn derive(limit: usize, workers: usize, row_group_bytes: Option<usize>) -> Self {
        let workers = workers.max(1);
        let chunk_bytes = (limit / 64).clamp(256 * 1024, 4 * MIB);
        // A chunk's decoded form (tokens + Arrow arrays) takes about 3x its text.
        let chunks_in_flight = (workers * 2 + 1)
            .min((limit / 4) / (chunk_bytes * 3))
            .max(2);
        let read_ahead_bytes = (limit / 16).clamp(MIB, 32 * MIB);
        // Closing a row group briefly holds its pages twice (column writers, then the file).
        // L/16: with high-cardinality columns written plain (no per-row-group dictionary
        // attempt) the output is the same size as at L/8 (1 GiB text 262.69 vs 262.66 MB, taxi
        // +0.07%) and peak RSS falls by 25-60 MiB at the default limit.
        let row_group_bytes = row_group_bytes.unwrap_or((limit / 16).clamp(2 * MIB, 128 * MIB));
        MemoryBudget {
            limit,
            workers,
            read_ahead_bytes,
            block_bytes: DEFAULT_BLOCK_BYTES.min(read_ahead_bytes / 2),
            chunk_bytes,
            chunks_in_flight,
            cut_lag_parts: CUT_LAG_CHUNKS,
            max_record_bytes: limit / 8,
            row_group_bytes,
            part_bytes: 8 * MIB,
            parts_in_flight: 2,
        }
    }
}

/// Records a chunk holds when [`MemoryBudget::fit_chunks`] sizes it.
const CHUNK_RECORDS: usize = 4096;
/// The smallest chunk [`MemoryBudget::fit_chunks`] chooses.
const MIN_CHUNK_BYTES: usize = 256 * 1024;
/// Chunks of the derived (largest) size the row-group size is judged behind: 16 MiB at the
/// default limit (8 MiB once [`MemoryBudget::fit_chunks`] makes chunks smaller).
const CUT_LAG_CHUNKS: usize = 4;

impl MemoryBudget {
    /// Chunks sized for records of about `record_bytes` (the schema sample's average): about
    /// 4096 records, at least 256 KiB and at most the derived size. Smaller chunks are more in
    /// flight and a longer row-group lag in parts, but only half as many bytes as the derived
    /// ones: the budget holds with room to spare.
    ///
    /// Why smaller chunks: a chunk, its tokens and its Arrow arrays are read column by column
    /// several times over, and that stays in a core's L2 (2 MiB here) at 1 MiB of text, not at
    /// 4 MiB. Measured on 1 GiB files, 2 workers, 3 alternating runs, medians against 4 MiB
    /// chunks (5 in flight, lag 4): text (1.1 MiB chunks) wall 3.31 -> 3.12 s, user CPU 5.42
    /// -> 4.87 s, peak RSS ~205 -> 157 MiB; taxi (436 KiB) wall 3.68 -> 3.31 s, user 6.57 ->
    /// 5.45 s, RSS ~230 -> 176 MiB. Wide records keep large
    /// chunks: a 300-column file of ~1.8 KB records was 6% slower at 1 MiB, with twice the
    /// row groups (20% larger output), since each chunk is then few records per column.
    pub fn fit_chunks(self, record_bytes: usize) -> Self {
        let chunk_bytes = record_bytes
            .saturating_mul(CHUNK_RECORDS)
            .clamp(MIN_CHUNK_BYTES.min(self.chunk_bytes), self.chunk_bytes);
        // Half the bytes: as many smaller chunks in flight as the derived window in bytes gave
        // no more speed and a larger peak RSS (taxi 235-260 MiB against 155-205).
        let half = |n: usize| (n * self.chunk_bytes / (2 * chunk_bytes)).max(n);
        MemoryBudget {
            chunk_bytes,
            chunks_in_flight: half(self.chunks_in_flight),
            cut_lag_parts: half(self.cut_lag_parts),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_budget_fits_the_limit() {
        let b = ConvertOptions::default().validate().unwrap();
        let worst = b.read_ahead_bytes
            + b.chunks_in_flight * b.chunk_bytes * 3
            + b.max_record_bytes
            + b.row_group_bytes * 2
            + b.part_bytes * (b.parts_in_flight + 2);
        assert!(worst <= b.limit, "{worst} > {}", b.limit);
    }

    #[test]
    fn fitted_chunks_halve_the_window_and_the_lag_in_bytes() {
        let b = ConvertOptions::default().validate().unwrap();
        assert_eq!(
            (b.chunk_bytes, b.chunks_in_flight, b.cut_lag_parts),
            (4 * MIB, 5, 4)
        );
        for (record, chunk, in_flight, lag) in [
            (10, MIN_CHUNK_BYTES, 40, 32),
            (110, 110 * CHUNK_RECORDS, 23, 18),
            (285, 285 * CHUNK_RECORDS, 8, 7),
            (1800, 4 * MIB, 5, 4),
            (usize::MAX, 4 * MIB, 5, 4),
        ] {
            let f = b.fit_chunks(record);
            assert_eq!(
                (f.chunk_bytes, f.chunks_in_flight, f.cut_lag_parts),
                (chunk, in_flight, lag),
                "{record}"
            );
            assert!(f.chunks_in_flight * f.chunk_bytes * 3 <= b.limit / 4);
            assert_eq!((f.limit, f.row_group_bytes), (b.limit, b.row_group_bytes));
        }
        // A small limit: the derived chunk is below the minimum and stays as it is.
        let small = MemoryBudget::derive(MIN_MEMORY_LIMIT, 2, None);
        assert_eq!(small.fit_chunks(10), small);
    }

    #[test]
    fn transcoded_blocks_stay_within_the_block_size() {
        let b = ConvertOptions::default().validate().unwrap();
        for e in [Encoding::Utf8, Encoding::Latin1, Encoding::Windows1252] {
            assert!(
                b.read_block_bytes(e) * e.max_growth() <= b.block_bytes,
                "{e:?}"
            );
            assert!(b.read_block_bytes(e) >= b.block_bytes / 3);
        }
        assert_eq!(b.read_block_bytes(Encoding::Utf8), b.block_bytes);
    }

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

    #[test]
    fn memory_limit_floor() {
        let o = ConvertOptions::default().with_memory_limit(MIB);
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--memory-limit"));
    }
}
