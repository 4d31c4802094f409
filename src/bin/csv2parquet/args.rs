//! The flags the subcommands share: the CSV dialect and inference ([`CsvArgs`]), the Parquet
//! output ([`OutputArgs`]) and S3 access ([`S3Args`]), and their translation into the library's
//! [`ConvertOptions`] and [`S3Options`].

use std::path::PathBuf;

use clap::Args;
use s3_csv2parquet::config::{Compression, ConvertOptions, OptionKey};
use s3_csv2parquet::lambda::config::LambdaConfig;
use s3_csv2parquet::s3::{check_range_bytes, S3Options};
use s3_csv2parquet::{Error, SchemaSpec};

/// How to read the CSV input: dialect, nulls, inference, schema, budget.
#[derive(Args, Debug)]
pub(crate) struct CsvArgs {
    /// The input has no header row (columns are named column_1..N): `--header no`.
    #[arg(long, conflicts_with = "header")]
    no_header: bool,
    /// Whether the first row is a header: auto (a first row whose values do not fit the types
    /// of the rows below, or an all-string table), yes or no.
    #[arg(long, default_value = "auto", value_name = "auto|yes|no")]
    header: String,
    /// Field delimiter: auto (sniffed among , ; tab |) or one byte (`\t` or `tab` for tab).
    #[arg(long, default_value = "auto")]
    delimiter: String,
    /// Quote character: auto (" or '), a byte, or `none`.
    #[arg(long, default_value = "auto")]
    quote: String,
    /// Escape character inside quotes: auto (doubling or \), a byte, or `none` (quotes are
    /// escaped by doubling).
    #[arg(long, default_value = "auto")]
    escape: String,
    /// Skip lines starting with this character: auto (none or #), a byte, or `none`.
    #[arg(long, default_value = "auto")]
    comment: String,
    /// Lines to skip before the header (a preamble): auto (lines with fewer fields than the
    /// table, before it) or a count.
    #[arg(long, default_value = "auto", value_name = "auto|N")]
    skip_rows: String,
    /// A value read as null (repeatable). Default: the empty string. In string columns only
    /// unquoted fields match, so `""` stays an empty string.
    #[arg(long = "null", value_name = "VALUE")]
    nulls: Vec<String>,
    /// A spelling of true (repeatable, matched exactly): when given, the usual ones (true, t,
    /// yes, y, 1, any case) are not read as true any more, in inference and decoding.
    #[arg(long = "true-values", value_name = "VALUE")]
    true_values: Vec<String>,
    /// A spelling of false (repeatable), likewise.
    #[arg(long = "false-values", value_name = "VALUE")]
    false_values: Vec<String>,
    /// Every column is text, values kept exactly as written (for archiving); a --schema file
    /// still types the columns it lists.
    #[arg(long)]
    all_strings: bool,
    /// The format of dates that are not ISO 8601, e.g. %d.%m.%Y or %m/%d/%y (%d %m %Y %y):
    /// the only one inference tries, and the one schema-file date columns without a format
    /// read. Default: inference tries %d/%m/%Y, %m/%d/%Y, %d.%m.%Y, %Y/%m/%d and others and
    /// takes the one that alone reads every sampled value.
    #[arg(long, value_name = "FORMAT")]
    date_format: Option<String>,
    /// The format of timestamps that are not ISO 8601, e.g. "%d.%m.%Y %H:%M" or
    /// "%m/%d/%Y %I:%M:%S %p" (the date items and %H %I %M %S %p; seconds may have a fraction):
    /// the only one inference tries, and the one schema-file timestamp columns without a format
    /// read. Default: each date format inference tries followed by " %H:%M:%S", " %H:%M" or
    /// " %I:%M:%S %p".
    #[arg(long, value_name = "FORMAT")]
    timestamp_format: Option<String>,
    /// Floats and decimals are written with a decimal comma (1,5); a value with a `.` is then
    /// no number, and `,` is never sniffed as the delimiter.
    #[arg(long)]
    decimal_comma: bool,
    /// The thousands separator of numbers: `,` (1,234.5), `.` (1.234,5 with --decimal-comma),
    /// `'`, `_` or a space; it may split the integer part into groups of three. Default none.
    #[arg(long, value_name = "C")]
    thousands: Option<String>,
    /// Records sampled for schema inference.
    #[arg(long, default_value_t = s3_csv2parquet::config::DEFAULT_INFER_RECORDS)]
    infer_records: usize,
    /// Bytes sampled for schema inference (e.g. 8MiB).
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    infer_bytes: usize,
    /// Explicit schema file (JSON list of {name, type, nullable}); may cover some columns.
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
    /// Input compression: auto (magic bytes), none, gzip, zstd, bzip2, xz.
    #[arg(long, default_value = "auto")]
    input_compression: String,
    /// Character encoding of the input: utf8, latin1 (ISO-8859-1) or windows-1252 (the last two
    /// are transcoded to UTF-8; error byte offsets then count UTF-8 bytes).
    #[arg(long, default_value = "utf8")]
    encoding: String,
    /// Invalid UTF-8 in a string value: fail (a bad value, see --on-error) or replace (with
    /// U+FFFD, counted in the summary).
    #[arg(long, default_value = "fail", value_name = "fail|replace")]
    invalid_utf8: String,
    /// Where inference samples a seekable, uncompressed input: head, or spread (also a range
    /// from the middle and one from the end, when the input is over 4x --infer-bytes).
    #[arg(long, default_value = "spread", value_name = "head|spread")]
    sample_positions: String,
    /// Memory budget every buffer is sized from (e.g. 256MiB, 1GiB).
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    memory_limit: usize,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Tuning: bytes of whole records per decode task (default: from the memory limit).
    #[arg(long, value_parser = parse_size)]
    chunk_bytes: Option<usize>,
}

/// How to write the Parquet output and report on the run.
#[derive(Args, Debug)]
pub(crate) struct OutputArgs {
    /// What to do with a value that does not parse, or a ragged row: fail, null, reject, or widen
    /// (widen the column's type and convert again from the start).
    #[arg(long, default_value = "fail")]
    pub(crate) on_error: String,
    /// Where rejected records go (default: OUTPUT.rejects.csv).
    #[arg(long, value_name = "PATH")]
    pub(crate) rejects: Option<String>,
    /// Parquet codec: zstd, snappy, lz4, gzip, none.
    #[arg(long, default_value = "zstd")]
    pub(crate) compression: String,
    /// Codec level (zstd 1..=22, gzip 0..=10), for every column; without it zstd writes at level
    /// 1, and at 3 text columns without a dictionary.
    #[arg(long)]
    pub(crate) compression_level: Option<i32>,
    /// Target encoded bytes per row group (default: 128MiB when spilling, else, with
    /// --max-spill 0, a sixteenth of the memory limit, max 128MiB).
    #[arg(long, value_parser = parse_size)]
    pub(crate) row_group_bytes: Option<usize>,
    /// Spill the open row group to DIR, so that row groups reach --row-group-bytes whatever
    /// the memory limit (default: the system temp dir; an unwritable DIR: row groups stay in
    /// memory, with a warning).
    #[arg(long, value_name = "DIR")]
    pub(crate) spill_dir: Option<std::path::PathBuf>,
    /// Bytes spilled at once at most (default 384MiB; 0: no spilling, row groups are cut by
    /// the memory limit).
    #[arg(long, value_parser = parse_size)]
    pub(crate) max_spill: Option<usize>,
    /// Output part size for multipart uploads (default: 8MiB, or larger as the input size needs, up to what the memory limit affords: 13MiB at 256MiB, 105MiB at 1GiB).
    #[arg(long, value_parser = parse_size)]
    pub(crate) part_bytes: Option<usize>,
    /// Maximum rows per row group.
    #[arg(long, default_value_t = s3_csv2parquet::config::DEFAULT_ROW_GROUP_ROWS)]
    pub(crate) row_group_rows: usize,
    /// Never replace an existing output (or rejects file): fail with exit 73 instead. Checked
    /// when publishing (a hard link for files, `If-None-Match: *` for S3), so a file that
    /// appears during the run is not replaced either.
    #[arg(long)]
    pub(crate) no_clobber: bool,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Print a JSON report (to stdout, or stderr when the data goes to stdout).
    #[arg(long)]
    pub(crate) json: bool,
}

/// How to reach S3 (or an S3-compatible store) and how to write to it.
#[derive(Args, Debug, Clone)]
pub(crate) struct S3Args {
    /// S3-compatible endpoint (MinIO, ...); also read from AWS_ENDPOINT_URL. Implies path-style.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
    /// AWS region (default: the AWS configuration chain, else us-east-1).
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Do not sign requests (public buckets).
    #[arg(long)]
    pub(crate) no_sign_request: bool,
    /// Server-side encryption of S3 outputs: AES256 or aws:kms.
    #[arg(long)]
    pub(crate) sse: Option<String>,
    /// KMS key id for --sse aws:kms.
    #[arg(long)]
    pub(crate) sse_kms_key_id: Option<String>,
    /// Fail unless the buckets belong to this account id.
    #[arg(long)]
    pub(crate) expected_bucket_owner: Option<String>,
    /// Bytes per ranged GET of S3 inputs, at least 64KiB and at most the read-ahead (L/16, up
    /// to 32MiB) (default: 8MiB, or a quarter of the read-ahead when that is smaller, so that
    /// 4 ranges are in flight; 4MiB at the default memory limit).
    #[arg(long, value_parser = parse_range_bytes)]
    pub(crate) range_bytes: Option<usize>,
}

impl S3Args {
    /// The function's configuration (`CSV2PQ_*`, as the Lambda reads it) with these flags over
    /// it: `--sse`, `--sse-kms-key-id`, `--expected-bucket-owner` and `--range-bytes` reach
    /// every request of the function's paths (`handle-event`, `local`, `serve`); `force`
    /// converts outputs that are up to date.
    pub(crate) fn function_config(&self, force: bool) -> Result<LambdaConfig, Error> {
        let mut config = LambdaConfig::from_env()?;
        config.requests = config.requests.overridden_by(self.options().requests()?);
        if let Some(bytes) = self.range_bytes {
            config.options.range_bytes = Some(bytes);
        }
        config.force |= force;
        Ok(config)
    }

    /// The S3 client options these flags give.
    pub(crate) fn options(&self) -> S3Options {
        S3Options {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            no_sign_request: self.no_sign_request,
            sse: self.sse.clone(),
            sse_kms_key_id: self.sse_kms_key_id.clone(),
            expected_bucket_owner: self.expected_bucket_owner.clone(),
            ..S3Options::default()
        }
    }
}

impl CsvArgs {
    /// The conversion options these flags give (reading the --schema file); the output's own
    /// flags are added by [`OutputArgs::apply`].
    pub(crate) fn options(&self) -> Result<ConvertOptions, Error> {
        let mut o = ConvertOptions::default();
        // The flags given as text parse as the environment's `CSV2PQ_*` do.
        for (key, value) in [
            (OptionKey::Delimiter, &self.delimiter),
            (OptionKey::Quote, &self.quote),
            (OptionKey::Escape, &self.escape),
            (OptionKey::Comment, &self.comment),
            (OptionKey::Header, &self.header),
            (OptionKey::SkipRows, &self.skip_rows),
            (OptionKey::InputCompression, &self.input_compression),
            (OptionKey::Encoding, &self.encoding),
            (OptionKey::InvalidUtf8, &self.invalid_utf8),
            (OptionKey::SamplePositions, &self.sample_positions),
        ] {
            o.set(key, value)?;
        }
        if self.no_header {
            o.set(OptionKey::NoHeader, "yes")?;
        }
        o.all_strings = self.all_strings;
        o.decimal_comma = self.decimal_comma;
        if let Some(t) = &self.thousands {
            o.set(OptionKey::Thousands, t)?;
        }
        if let Some(format) = &self.date_format {
            o.set(OptionKey::DateFormat, format)?;
        }
        if let Some(format) = &self.timestamp_format {
            o.set(OptionKey::TimestampFormat, format)?;
        }
        if let Some(path) = &self.schema {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::config(OptionKey::Schema, format!("{}: {e}", path.display()))
            })?;
            o.schema = Some(SchemaSpec::from_json(&text)?);
        }
        if !self.true_values.is_empty() {
            o.true_values = self.true_values.clone();
        }
        if !self.false_values.is_empty() {
            o.false_values = self.false_values.clone();
        }
        if !self.nulls.is_empty() {
            o.null_values = self.nulls.clone();
        }
        o.infer_records = self.infer_records;
        o.infer_bytes = self.infer_bytes;
        o.memory_limit = self.memory_limit;
        o.workers = self.workers;
        o.chunk_bytes = self.chunk_bytes;
        Ok(o)
    }
}

impl OutputArgs {
    /// Set the output's options (error policy, codec, row groups, parts) in `opts`.
    pub(crate) fn apply(&self, opts: &mut ConvertOptions) -> Result<(), Error> {
        opts.set(OptionKey::OnError, &self.on_error)?;
        opts.compression = Compression::parse(&self.compression, self.compression_level)?;
        opts.row_group_bytes = self.row_group_bytes;
        opts.row_group_rows = self.row_group_rows;
        opts.part_bytes = self.part_bytes;
        opts.spill_dir.clone_from(&self.spill_dir);
        opts.max_spill = self.max_spill;
        Ok(())
    }
}

/// `--size`-style arguments: `1GiB`, `256MiB`, `4096`.
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    s3_csv2parquet::config::parse_size(text)
}

fn parse_range_bytes(text: &str) -> Result<usize, String> {
    parse_size(text).and_then(check_range_bytes)
}
