//! What a conversion tells: live progress counters, the final report, and the key-value
//! metadata it writes into the Parquet footer and onto the output object.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::budget::MemoryBudget;
use crate::decode::compression::Codec;
use crate::decode::sniff::UsedDialect;
use crate::schema::{ColumnType, SchemaSource, SchemaSpec};
use crate::source::SourceInfo;

/// The key-value metadata names a conversion writes: all in the Parquet footer, the `source*`,
/// `options` and `version` ones also on the output object (where an object store may rewrite them: S3
/// sends `csv2parquet.source_etag` as `x-amz-meta-csv2parquet-source-etag`).
pub mod metadata {
    /// The tool and its version.
    pub const VERSION: &str = "csv2parquet.version";
    /// The input's location.
    pub const SOURCE: &str = "csv2parquet.source";
    /// The input's size in bytes.
    pub const SOURCE_SIZE: &str = "csv2parquet.source_size";
    /// The input's entity tag (what an "up to date" check compares).
    pub const SOURCE_ETAG: &str = "csv2parquet.source_etag";
    /// The input's version id (versioned buckets).
    pub const SOURCE_VERSION: &str = "csv2parquet.source_version";
    /// The fingerprint of the options that decide what the output holds
    /// ([`crate::ConvertOptions::fingerprint`]): with the source's ETag, what an "up to date"
    /// check compares.
    pub const OPTIONS: &str = "csv2parquet.options";
    /// The dialect read with and what of it was sniffed, as JSON (see
    /// [`crate::decode::sniff::UsedDialect`]).
    pub const DIALECT: &str = "csv2parquet.dialect";
    /// Where the schema came from: `inferred`, `explicit`, `merged` or `widened`.
    pub const SCHEMA: &str = "csv2parquet.schema";
    /// The widenings of `--on-error widen`, as JSON.
    pub const WIDENED: &str = "csv2parquet.widened";
    /// Rows written.
    pub const ROWS: &str = "csv2parquet.rows";
    /// Records rejected.
    pub const REJECTED: &str = "csv2parquet.rejected";
    /// Values stored as null because they did not parse.
    pub const NULLED: &str = "csv2parquet.nulled";
    /// String values whose invalid UTF-8 was replaced.
    pub const UTF8_REPLACED: &str = "csv2parquet.utf8_replaced";
}

/// Live counters, readable while a conversion runs (progress bars).
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read from the source (compressed).
    pub bytes_in: AtomicU64,
    /// Bytes after decompression.
    pub bytes_decoded: AtomicU64,
    /// Rows decoded and handed to the encoder.
    pub rows: AtomicU64,
}

impl Progress {
    /// Zero the counters (a restarted conversion).
    pub fn reset(&self) {
        self.bytes_in.store(0, Relaxed);
        self.bytes_decoded.store(0, Relaxed);
        self.rows.store(0, Relaxed);
    }
}

/// What spilling the row groups' encoded pages took (see `--spill-dir`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpillReport {
    /// The directory spilled to.
    pub dir: String,
    /// The most bytes on disk at once.
    pub peak_bytes: u64,
    /// Every byte written to a spill file.
    pub total_bytes: u64,
    /// The most page bytes held on the heap at once instead of spilled (see
    /// `MemoryBudget::spill_held_bytes`).
    pub held_peak_bytes: u64,
}

/// What a conversion did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConvertReport {
    /// The input.
    pub input: String,
    /// The output.
    pub output: String,
    /// Rows written.
    pub rows: u64,
    /// Records rejected (`--on-error reject`).
    pub rejected: u64,
    /// Values stored as null because they did not parse (`--on-error null`).
    pub nulled: u64,
    /// String values whose invalid UTF-8 was replaced with U+FFFD (`--invalid-utf8 replace`).
    pub utf8_replaced: u64,
    /// Bytes read from the source.
    pub bytes_in: u64,
    /// Bytes after decompression.
    pub bytes_decompressed: u64,
    /// Parquet bytes written.
    pub bytes_out: u64,
    /// Row groups written.
    pub row_groups: usize,
    /// The schema written.
    pub schema: SchemaSpec,
    /// Whether it was inferred or explicit.
    pub schema_source: SchemaSource,
    /// The dialect read with (sniffed or set).
    pub dialect: UsedDialect,
    /// Input decompression.
    pub input_compression: Codec,
    /// Where rejected records went, if any were.
    pub rejects: Option<String>,
    /// Header fixes and similar notes.
    pub warnings: Vec<String>,
    /// What the row groups' spilled pages took on disk, when they were spilled.
    pub spill: Option<SpillReport>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Input MiB (decompressed) per second.
    pub mib_per_s: f64,
    /// The memory budget used.
    pub budget: MemoryBudget,
    /// Columns widened by `--on-error widen`, in order (each one restarted the conversion).
    pub widened: Vec<Widening>,
}

/// One widening done by `--on-error widen`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Widening {
    /// Column name.
    pub column: String,
    /// Its type before.
    pub from: String,
    /// Its type after.
    pub to: String,
    /// Line of the value that did not fit.
    pub line: u64,
    /// The value, as quoted in the error.
    pub value: String,
    #[serde(skip)]
    pub(crate) to_type: ColumnType,
}

/// Key-value metadata recorded in the Parquet footer and on the output object: the tool and
/// the source (location, size, ETag, version) and the options' fingerprint.
pub(crate) fn source_metadata(info: &SourceInfo, fingerprint: &str) -> Vec<(String, String)> {
    let mut m = vec![
        (
            metadata::VERSION.to_string(),
            format!("csv2parquet {}", env!("CARGO_PKG_VERSION")),
        ),
        (metadata::SOURCE.to_string(), info.location.clone()),
    ];
    if let Some(size) = info.size {
        m.push((metadata::SOURCE_SIZE.to_string(), size.to_string()));
    }
    if let Some(etag) = &info.etag {
        m.push((metadata::SOURCE_ETAG.to_string(), etag.clone()));
    }
    if let Some(v) = &info.version_id {
        m.push((metadata::SOURCE_VERSION.to_string(), v.clone()));
    }
    m.push((metadata::OPTIONS.to_string(), fingerprint.to_string()));
    m
}
