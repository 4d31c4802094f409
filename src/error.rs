//! The public error type: every failure names what failed and where.
//!
//! Errors are classified by [`ErrorKind`] so that callers (the CLI's exit code, the Lambda
//! handler's retry decision) can tell bad input from a failing store or a bad configuration.

use std::fmt;

use crate::decode::fault::Fault;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a failure should be treated by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input data is malformed (CSV syntax, a value of the wrong type, corrupt compression).
    /// Retrying will not help.
    BadInput,
    /// A configuration value or schema file is invalid.
    Config,
    /// Reading the source or writing the sink failed (disk, network, object store).
    Io,
    /// A configured limit was exceeded (record longer than the memory budget allows, ...).
    Limit,
    /// The conversion was cancelled (Ctrl-C, deadline).
    Cancelled,
    /// The output was not published because another run changed it first (a conditional write
    /// failed): a newer conversion won, or this one must decide again.
    Conflict,
    /// A bug or an unexpected condition inside the converter or a library it uses.
    Internal,
}

impl ErrorKind {
    /// A stable lowercase name, used in JSON reports and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadInput => "bad_input",
            ErrorKind::Config => "config",
            ErrorKind::Io => "io",
            ErrorKind::Limit => "limit",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Where in the (decompressed) input a problem was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// 1-based data record number (the header is not counted), 0 when unknown.
    pub record: u64,
    /// 1-based physical line where the record starts.
    pub line: u64,
    /// Byte offset of the record's first byte in the decompressed input (in its UTF-8 form when
    /// `--encoding` transcodes it).
    pub byte: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.record > 0 {
            write!(f, "record {}, ", self.record)?;
        }
        write!(f, "line {}, byte {}", self.line, self.byte)
    }
}

/// A problem with the input data, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataError {
    /// The input, e.g. `s3://bucket/key` or a file path.
    pub location: String,
    /// Where in the input.
    pub position: Option<Position>,
    /// 1-based column number and name, where one column is at fault.
    pub column: Option<(usize, String)>,
    /// The offending value, truncated.
    pub value: Option<String>,
    /// What is wrong.
    pub reason: String,
    /// What is wrong, as the decoder classified it (for callers that act on it).
    #[serde(skip)]
    pub fault: Option<Fault>,
}

/// Longest value quoted in an error message.
pub const MAX_QUOTED_VALUE: usize = 64;

/// Quote a field value for an error message: lossy UTF-8, truncated to [`MAX_QUOTED_VALUE`].
pub fn quote_value(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(MAX_QUOTED_VALUE).collect();
    if text.chars().count() > MAX_QUOTED_VALUE {
        out.push('…');
    }
    out
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.location)?;
        if let Some(pos) = &self.position {
            write!(f, ": {pos}")?;
        }
        if let Some((index, name)) = &self.column {
            write!(f, ", column {index} ({name:?})")?;
        }
        write!(f, ": {}", self.reason)?;
        if let Some(value) = &self.value {
            write!(f, ": {value:?}")?;
        }
        Ok(())
    }
}

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input data.
    #[error("{0}")]
    Data(Box<DataError>),

    /// The compressed input stream is corrupt or truncated.
    #[error("{location}: {codec} stream is corrupt or truncated (after {offset} compressed bytes): {source}")]
    Decompress {
        /// The input.
        location: String,
        /// Which decompressor failed.
        codec: &'static str,
        /// Compressed bytes read before the failure.
        offset: u64,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },

    /// A configuration value is invalid.
    #[error("invalid {key}: {message}")]
    Config {
        /// The option or variable name.
        key: String,
        /// What is wrong and what is accepted.
        message: String,
    },

    /// Reading the input failed.
    #[error("reading {location}: {source}")]
    Read {
        /// The input.
        location: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Writing the output failed.
    #[error("writing {location}: {source}")]
    Write {
        /// The output.
        location: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A configured limit was exceeded.
    #[error("{location}: {message}")]
    Limit {
        /// The input.
        location: String,
        /// Which limit, its value and how to raise it.
        message: String,
    },

    /// An object store request failed: the request, the object and the cause (for S3, a
    /// `s3::Cause` whose own source is the SDK's error).
    #[error("{op} {location}: {source}")]
    Store {
        /// The request that failed, with its range or part where it has one, e.g.
        /// `HeadObject`, `GetObject bytes=0-99`, `UploadPart 3`.
        op: String,
        /// `s3://bucket/key`.
        location: String,
        /// Whether retrying the whole conversion may succeed (5xx, throttling, network).
        retryable: bool,
        /// Classification: `Config` for a request refused for its credentials or
        /// permissions (403), `Io` for the rest (a missing object or bucket, network and
        /// server errors).
        kind: ErrorKind,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Encoding Parquet failed.
    #[error("encoding parquet for {location}: {source}")]
    Parquet {
        /// The output.
        location: String,
        /// The parquet crate's error.
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// Building Arrow arrays failed.
    #[error("building arrow arrays: {0}")]
    Arrow(#[from] arrow::error::ArrowError),

    /// The conversion was cancelled.
    #[error("cancelled: {0}")]
    Cancelled(String),

    /// An internal invariant was broken (a bug): the message says which.
    #[error("internal error: {0}")]
    Internal(String),

    /// The output was not published: it changed since this run looked at it (a conditional
    /// write answered 412 Precondition Failed), so publishing could overwrite a newer
    /// conversion. Nothing of this run is visible.
    #[error("{location}: not published: {reason}")]
    Superseded {
        /// The output.
        location: String,
        /// What the run expected of the output (absent, or a given ETag).
        reason: String,
        /// The refused request.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A failure whose cleanup failed too (e.g. aborting the multipart upload): something may
    /// be left behind. Kind and retryability are those of the original failure.
    #[error("{error}; cleaning up also failed: {cleanup}")]
    CleanupFailed {
        /// The failure that stopped the conversion.
        error: Box<Error>,
        /// The failed cleanup, naming what may be left behind.
        cleanup: Box<Error>,
    },
}

impl Error {
    /// Build a data error.
    pub fn data(
        location: impl Into<String>,
        position: Option<Position>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Data(Box::new(DataError {
            location: location.into(),
            position,
            column: None,
            value: None,
            reason: reason.into(),
            fault: None,
        }))
    }

    /// Build a configuration error naming the option.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// `self`, noting that cleaning up after it failed with `cleanup`.
    pub fn with_cleanup_failure(self, cleanup: Error) -> Self {
        Error::CleanupFailed {
            error: Box::new(self),
            cleanup: Box::new(cleanup),
        }
    }

    /// The classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::CleanupFailed { error, .. } => error.kind(),
            Error::Data(_) | Error::Decompress { .. } => ErrorKind::BadInput,
            Error::Config { .. } => ErrorKind::Config,
            Error::Read { source, .. } | Error::Write { source, .. } => {
                embedded_error(source).map_or(ErrorKind::Io, Error::kind)
            }
            Error::Store { kind, .. } => *kind,
            Error::Limit { .. } => ErrorKind::Limit,
            Error::Cancelled(_) => ErrorKind::Cancelled,
            Error::Superseded { .. } => ErrorKind::Conflict,
            Error::Parquet { .. } | Error::Arrow(_) | Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Whether running the same conversion again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::CleanupFailed { error, .. } => error.is_retryable(),
            Error::Store { retryable, .. } => *retryable,
            Error::Read { source, .. } | Error::Write { source, .. } => {
                embedded_error(source).is_none_or(Error::is_retryable)
            }
            _ => false,
        }
    }

    /// The data error inside, if this is one.
    pub fn as_data(&self) -> Option<&DataError> {
        match self {
            Error::Data(d) => Some(d),
            Error::CleanupFailed { error, .. } => error.as_data(),
            _ => None,
        }
    }

    /// The column of a value after the sample that its inferred type cannot hold (a wider type
    /// would: `on_error` widen, or a schema that gives the type), if this is such an error: its
    /// name quoted, as the hints name it, or "a column" for an error that names none.
    pub fn wants_wider_inferred_type(&self) -> Option<String> {
        let data = self.as_data()?;
        if !data.fault.as_ref()?.wants_wider_inferred_type() {
            return None;
        }
        Some(
            data.column
                .as_ref()
                .map_or_else(|| "a column".to_string(), |(_, name)| format!("{name:?}")),
        )
    }

    /// Wrap into an `io::Error` that keeps this error reachable (see [`Error::from_io`]).
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }

    /// Recover an [`Error`] carried inside an `io::Error` by [`Error::into_io`], or wrap it as a
    /// read error of `location`.
    pub fn from_io(err: std::io::Error, location: &str) -> Self {
        if err.get_ref().is_some_and(|e| e.is::<Error>()) {
            if let Some(inner) = err.into_inner() {
                if let Ok(e) = inner.downcast::<Error>() {
                    return *e;
                }
                return Error::Internal("lost error downcast".into());
            }
            return Error::Internal("lost error downcast".into());
        }
        Error::Read {
            location: location.to_string(),
            source: err,
        }
    }
}

fn embedded_error(err: &std::io::Error) -> Option<&Error> {
    err.get_ref().and_then(|e| e.downcast_ref::<Error>())
}

/// Render an error with its whole cause chain, one `: `-separated line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_error_names_everything() {
        let err = Error::Data(Box::new(DataError {
            location: "in.csv".into(),
            position: Some(Position {
                record: 3,
                line: 4,
                byte: 57,
            }),
            column: Some((2, "fare".into())),
            value: Some(quote_value(b"abc")),
            reason: "cannot parse as Float64".into(),
            fault: None,
        }));
        assert_eq!(
            err.to_string(),
            "in.csv: record 3, line 4, byte 57, column 2 (\"fare\"): cannot parse as Float64: \"abc\""
        );
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(!err.is_retryable());
    }

    /// The hint's subject: the column's name quoted, or "a column" when the error has none;
    /// nothing for a fault that a wider type would not fix.
    #[test]
    fn a_wider_type_hint_names_its_column() {
        let error = |column: Option<(usize, String)>, fault| {
            Error::Data(Box::new(DataError {
                location: "in.csv".into(),
                position: None,
                column,
                value: Some(quote_value(b"1.5")),
                reason: "cannot parse".into(),
                fault: Some(fault),
            }))
        };
        let unparsable = || Fault::Unparsable {
            ty: arrow::datatypes::DataType::Int64,
            inferred: true,
        };
        let named = error(Some((2, "fare".into())), unparsable());
        assert_eq!(
            named.wants_wider_inferred_type().as_deref(),
            Some("\"fare\"")
        );
        let unnamed = error(None, unparsable());
        assert_eq!(
            unnamed.wants_wider_inferred_type().as_deref(),
            Some("a column")
        );
        let given = error(
            Some((2, "fare".into())),
            Fault::Unparsable {
                ty: arrow::datatypes::DataType::Int64,
                inferred: false,
            },
        );
        assert_eq!(given.wants_wider_inferred_type(), None);
    }

    #[test]
    fn quoted_values_are_truncated() {
        let long = "x".repeat(200);
        let q = quote_value(long.as_bytes());
        assert_eq!(q.chars().count(), MAX_QUOTED_VALUE + 1);
        assert!(q.ends_with('…'));
    }

    #[test]
    fn a_failed_cleanup_keeps_the_original_classification() {
        let err = Error::data("in.csv", None, "bad").with_cleanup_failure(Error::Store {
            op: "AbortMultipartUpload".into(),
            location: "s3://b/k".into(),
            retryable: true,
            kind: ErrorKind::Io,
            source: "HTTP 500".into(),
        });
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(!err.is_retryable());
        assert!(err.as_data().is_some());
        assert_eq!(
            err.to_string(),
            "in.csv: bad; cleaning up also failed: AbortMultipartUpload s3://b/k: HTTP 500"
        );
    }

    #[test]
    fn io_round_trip_keeps_the_error() {
        let io = Error::config("--delimiter", "bad").into_io();
        let back = Error::from_io(io, "x");
        assert_eq!(back.kind(), ErrorKind::Config);
        let plain = Error::from_io(std::io::Error::other("disk"), "f.csv");
        assert_eq!(plain.kind(), ErrorKind::Io);
        assert!(plain.to_string().contains("f.csv"));
    }
}
