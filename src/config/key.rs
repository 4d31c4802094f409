//! Option keys: every conversion option by name, as the CLI spells it (`--memory-limit`) and
//! as the environment does (`CSV2PQ_MEMORY_LIMIT`). Errors about an option name both.

use std::fmt;

/// The prefix of the environment variables that set options.
pub const ENV_PREFIX: &str = "CSV2PQ_";

/// A conversion option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptionKey {
    /// The field delimiter.
    Delimiter,
    /// The quote character (`none` or empty: no quoting).
    Quote,
    /// The escape character inside quotes.
    Escape,
    /// The comment prefix.
    Comment,
    /// The input has no header row.
    NoHeader,
    /// Whether the first row is a header: `auto`, `yes` or `no`.
    Header,
    /// Lines before the header to skip: `auto` or a count.
    SkipRows,
    /// The values read as null.
    Null,
    /// Every column is text (no inference).
    AllStrings,
    /// The spellings of true.
    TrueValues,
    /// The spellings of false.
    FalseValues,
    /// The format of dates that are not ISO 8601 (`%d.%m.%Y`).
    DateFormat,
    /// The format of timestamps that are not ISO 8601 (`%d.%m.%Y %H:%M`).
    TimestampFormat,
    /// Numbers are written with a decimal comma (`1,5`).
    DecimalComma,
    /// The thousands separator of numbers (`1,234.5`).
    Thousands,
    /// Records sampled for inference.
    InferRecords,
    /// Bytes sampled for inference.
    InferBytes,
    /// Where inference samples.
    SamplePositions,
    /// An explicit schema (a file; not parsed from text by [`ConvertOptions::set`]).
    Schema,
    /// The bad value policy.
    OnError,
    /// The Parquet codec.
    Compression,
    /// The codec's level.
    CompressionLevel,
    /// Target bytes per row group.
    RowGroupBytes,
    /// Rows per row group at most.
    RowGroupRows,
    /// The memory budget.
    MemoryLimit,
    /// Worker threads.
    Workers,
    /// The input's compression.
    InputCompression,
    /// The input's character encoding.
    Encoding,
    /// What invalid UTF-8 does.
    InvalidUtf8,
    /// Tuning: bytes per decode chunk.
    ChunkBytes,
    /// Tuning: bytes per read block.
    BlockBytes,
    /// Output part size.
    PartBytes,
    /// Bytes per ranged GET.
    RangeBytes,
    /// Where the pages of row groups larger than the budget are spilled.
    SpillDir,
    /// Bytes spilled at once at most (0: no spilling).
    MaxSpill,
}

impl OptionKey {
    /// Every option, in the order `--help` lists them.
    pub const ALL: [OptionKey; 35] = [
        OptionKey::Delimiter,
        OptionKey::Quote,
        OptionKey::Escape,
        OptionKey::Comment,
        OptionKey::NoHeader,
        OptionKey::Header,
        OptionKey::SkipRows,
        OptionKey::Null,
        OptionKey::AllStrings,
        OptionKey::TrueValues,
        OptionKey::FalseValues,
        OptionKey::DateFormat,
        OptionKey::TimestampFormat,
        OptionKey::DecimalComma,
        OptionKey::Thousands,
        OptionKey::InferRecords,
        OptionKey::InferBytes,
        OptionKey::SamplePositions,
        OptionKey::Schema,
        OptionKey::OnError,
        OptionKey::Compression,
        OptionKey::CompressionLevel,
        OptionKey::RowGroupBytes,
        OptionKey::RowGroupRows,
        OptionKey::MemoryLimit,
        OptionKey::Workers,
        OptionKey::InputCompression,
        OptionKey::Encoding,
        OptionKey::InvalidUtf8,
        OptionKey::ChunkBytes,
        OptionKey::BlockBytes,
        OptionKey::PartBytes,
        OptionKey::RangeBytes,
        OptionKey::SpillDir,
        OptionKey::MaxSpill,
    ];

    /// The option's name without prefix, in kebab case (`memory-limit`).
    pub fn name(self) -> &'static str {
        match self {
            OptionKey::Delimiter => "delimiter",
            OptionKey::Quote => "quote",
            OptionKey::Escape => "escape",
            OptionKey::Comment => "comment",
            OptionKey::NoHeader => "no-header",
            OptionKey::Header => "header",
            OptionKey::SkipRows => "skip-rows",
            OptionKey::Null => "null",
            OptionKey::AllStrings => "all-strings",
            OptionKey::TrueValues => "true-values",
            OptionKey::FalseValues => "false-values",
            OptionKey::DateFormat => "date-format",
            OptionKey::TimestampFormat => "timestamp-format",
            OptionKey::DecimalComma => "decimal-comma",
            OptionKey::Thousands => "thousands",
            OptionKey::InferRecords => "infer-records",
            OptionKey::InferBytes => "infer-bytes",
            OptionKey::SamplePositions => "sample-positions",
            OptionKey::Schema => "schema",
            OptionKey::OnError => "on-error",
            OptionKey::Compression => "compression",
            OptionKey::CompressionLevel => "compression-level",
            OptionKey::RowGroupBytes => "row-group-bytes",
            OptionKey::RowGroupRows => "row-group-rows",
            OptionKey::MemoryLimit => "memory-limit",
            OptionKey::Workers => "workers",
            OptionKey::InputCompression => "input-compression",
            OptionKey::Encoding => "encoding",
            OptionKey::InvalidUtf8 => "invalid-utf8",
            OptionKey::ChunkBytes => "chunk-bytes",
            OptionKey::BlockBytes => "block-bytes",
            OptionKey::PartBytes => "part-bytes",
            OptionKey::RangeBytes => "range-bytes",
            OptionKey::SpillDir => "spill-dir",
            OptionKey::MaxSpill => "max-spill",
        }
    }

    /// The command-line flag: `--memory-limit`.
    pub fn cli_flag(self) -> String {
        format!("--{}", self.name())
    }

    /// The environment variable: `CSV2PQ_MEMORY_LIMIT`.
    pub fn env_var(self) -> String {
        format!(
            "{ENV_PREFIX}{}",
            self.name().replace('-', "_").to_ascii_uppercase()
        )
    }

    /// Whether an empty value means something (no quote character; the empty string as the
    /// null value) rather than "not set".
    pub(crate) fn empty_is_a_value(self) -> bool {
        matches!(self, OptionKey::Quote | OptionKey::Null)
    }
}

impl fmt::Display for OptionKey {
    /// Both spellings: `--memory-limit (CSV2PQ_MEMORY_LIMIT)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.cli_flag(), self.env_var())
    }
}

impl From<OptionKey> for String {
    fn from(key: OptionKey) -> String {
        key.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn keys_have_both_spellings() {
        assert_eq!(OptionKey::MemoryLimit.cli_flag(), "--memory-limit");
        assert_eq!(OptionKey::MemoryLimit.env_var(), "CSV2PQ_MEMORY_LIMIT");
        assert_eq!(OptionKey::NoHeader.env_var(), "CSV2PQ_NO_HEADER");
        assert_eq!(OptionKey::InvalidUtf8.env_var(), "CSV2PQ_INVALID_UTF8");
        let err = Error::config(OptionKey::Delimiter, "bad").to_string();
        assert_eq!(err, "invalid --delimiter (CSV2PQ_DELIMITER): bad");
        let names: std::collections::HashSet<_> = OptionKey::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), OptionKey::ALL.len());
    }
}
