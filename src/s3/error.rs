//! S3 failures, named by the request that failed and the object it was for, keeping the SDK's
//! error as the source. [`S3Error`] becomes the public [`Error::Store`], whose cause chain the
//! edges (CLI, Lambda) print once.

use std::fmt;
use std::ops::Range;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::error::{Error, ErrorKind};

/// The request that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// HeadObject.
    HeadObject,
    /// GetObject of a whole object.
    GetObject,
    /// GetObject of a byte range.
    GetRange(Range<u64>),
    /// CreateMultipartUpload.
    CreateUpload,
    /// UploadPart, with the part number.
    UploadPart(i32),
    /// CompleteMultipartUpload, with the part count.
    CompleteUpload(usize),
    /// AbortMultipartUpload, with the upload id (which may be left open).
    AbortUpload(String),
    /// PutObject.
    PutObject,
    /// DeleteObject.
    DeleteObject,
    /// CreateBucket.
    CreateBucket,
    /// ListObjectsV2.
    ListObjects,
    /// UploadPartCopy, with the part number and the object copied from.
    CopyPart(i32, String),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::HeadObject => f.write_str("HeadObject"),
            Op::GetObject => f.write_str("GetObject"),
            Op::GetRange(r) => write!(f, "GetObject bytes={}-{}", r.start, r.end - 1),
            Op::CreateUpload => f.write_str("CreateMultipartUpload"),
            Op::UploadPart(n) => write!(f, "UploadPart {n}"),
            Op::CompleteUpload(parts) => write!(f, "CompleteMultipartUpload ({parts} parts)"),
            Op::AbortUpload(id) => write!(
                f,
                "AbortMultipartUpload (upload {id} may be left open until the bucket's lifecycle rule removes it)"
            ),
            Op::PutObject => f.write_str("PutObject"),
            Op::DeleteObject => f.write_str("DeleteObject"),
            Op::CreateBucket => f.write_str("CreateBucket"),
            Op::ListObjects => f.write_str("ListObjectsV2"),
            Op::CopyPart(n, from) => write!(f, "UploadPartCopy {n} from {from}"),
        }
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Cause {
    /// The store refused the request, or it did not get through (the SDK's error is the
    /// source; its retries are spent).
    #[error("{}", request_summary(*.status, .code.as_deref()))]
    Request {
        /// HTTP status, when the store answered.
        status: Option<u16>,
        /// S3 error code, when the store sent one.
        code: Option<String>,
        /// Network errors, timeouts, 5xx, 429 and throttling codes.
        retryable: bool,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The object was replaced while it was read.
    #[error("the object changed while reading (its ETag is no longer {etag}); nothing was written — run again to convert the new version")]
    ObjectChanged {
        /// The ETag it had.
        etag: String,
    },
    /// A ranged GET answered another range.
    #[error("the response covers {actual:?}, not the range asked for ({expected:?})")]
    RangeMismatch {
        /// The Content-Range asked for.
        expected: String,
        /// The Content-Range received.
        actual: String,
    },
    /// A response body failed mid-way.
    #[error("reading the body failed after {received} bytes")]
    Body {
        /// Bytes received before.
        received: usize,
        /// The stream's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A response body ended early.
    #[error("the body ended after {received} of {expected} bytes")]
    ShortBody {
        /// Bytes received.
        received: usize,
        /// Bytes asked for.
        expected: usize,
    },
    /// A response lacked a field the protocol requires.
    #[error("the response has no {0}")]
    Missing(&'static str),
}

fn request_summary(status: Option<u16>, code: Option<&str>) -> String {
    match (status, code) {
        (Some(s), Some(c)) => format!("HTTP {s}, {c}"),
        (Some(s), None) => format!("HTTP {s}"),
        (None, _) => "the request did not get a response".to_string(),
    }
}

/// An S3 failure: the request, the object and the cause.
#[derive(Debug)]
pub struct S3Error {
    op: Op,
    /// What the request was for, in the error text: e.g. `(error report)`.
    purpose: Option<&'static str>,
    location: String,
    cause: Cause,
}

/// Status and error code of an SDK error, when the service answered.
pub(crate) fn status_and_code<E: ProvideErrorMetadata, R: HttpStatus>(
    err: &SdkError<E, R>,
) -> (Option<u16>, Option<String>) {
    let status = err.raw_response().map(HttpStatus::status_u16);
    let code = err
        .as_service_error()
        .and_then(|e| e.code().map(str::to_string));
    (status, code)
}

/// Access to a raw response's status code.
pub(crate) trait HttpStatus {
    fn status_u16(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_u16(&self) -> u16 {
        self.status().as_u16()
    }
}

impl S3Error {
    /// `cause` of `op` on `location` (`s3://bucket/key`).
    pub fn new(op: Op, location: impl Into<String>, cause: Cause) -> Self {
        S3Error {
            op,
            purpose: None,
            location: location.into(),
            cause,
        }
    }

    /// A failed SDK request of `op` on `location`; network errors, 5xx, 429 and throttling
    /// codes are retryable.
    pub fn request<E>(
        op: Op,
        location: impl Into<String>,
        err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (status, code) = status_and_code(&err);
        let retryable = match &err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(_) => {
                status.is_some_and(|s| s >= 500 || s == 429 || s == 408)
                    || code.as_deref().is_some_and(|c| {
                        matches!(
                            c,
                            "SlowDown"
                                | "RequestTimeout"
                                | "InternalError"
                                | "ServiceUnavailable"
                                | "Throttling"
                                | "ThrottlingException"
                                | "RequestTimeTooSkewed"
                                // 409: a concurrent conditional write to the same key.
                                | "ConditionalRequestConflict"
                        )
                    })
            }
            _ => false,
        };
        let cause = Cause::Request {
            status,
            code,
            retryable,
            source: Box::new(err),
        };
        S3Error::new(op, location, cause)
    }

    /// Say what the request was for (`PutObject (error report)`).
    pub fn for_purpose(mut self, purpose: &'static str) -> Self {
        self.purpose = Some(purpose);
        self
    }

    /// The HTTP status the store answered with, if it did.
    pub fn status(&self) -> Option<u16> {
        match &self.cause {
            Cause::Request { status, .. } => *status,
            _ => None,
        }
    }

    /// The S3 error code the store answered with, if it sent one.
    pub fn code(&self) -> Option<&str> {
        match &self.cause {
            Cause::Request { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether running the request (or the conversion) again may succeed.
    pub fn retryable(&self) -> bool {
        match &self.cause {
            Cause::Request { retryable, .. } => *retryable,
            Cause::ObjectChanged { .. }
            | Cause::Body { .. }
            | Cause::ShortBody { .. }
            | Cause::Missing(_) => true,
            Cause::RangeMismatch { .. } => false,
        }
    }

    /// A refused request that retrying cannot fix because of how the tool is set up (403:
    /// credentials, permissions, the expected bucket owner) is a configuration matter; a
    /// missing object or bucket (404), like everything else, is I/O: the input is not there.
    fn kind(&self) -> ErrorKind {
        if self.status() == Some(403) && !self.retryable() {
            ErrorKind::Config
        } else {
            ErrorKind::Io
        }
    }
}

impl S3Error {
    /// The request as the error text names it: `PutObject (error report)`.
    fn op_text(&self) -> String {
        match self.purpose {
            Some(p) => format!("{} ({p})", self.op),
            None => self.op.to_string(),
        }
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op_text(), self.location, self.cause)
    }
}

impl std::error::Error for S3Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl From<S3Error> for Error {
    fn from(e: S3Error) -> Self {
        let op = e.op_text();
        Error::Store {
            retryable: e.retryable(),
            kind: e.kind(),
            op,
            location: e.location,
            source: Box::new(e.cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::error_chain;

    #[test]
    fn errors_name_the_request_and_the_object() {
        let e: Error = S3Error::new(
            Op::GetRange(0..100),
            "s3://b/k",
            Cause::ObjectChanged {
                etag: "\"e1\"".into(),
            },
        )
        .into();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.is_retryable());
        assert!(e
            .to_string()
            .starts_with("GetObject bytes=0-99 s3://b/k: the object changed while reading"));
        let e: Error = S3Error::new(Op::UploadPart(3), "s3://b/k", Cause::Missing("ETag"))
            .for_purpose("test")
            .into();
        assert_eq!(
            e.to_string(),
            "UploadPart 3 (test) s3://b/k: the response has no ETag"
        );
    }

    #[test]
    fn the_cause_chain_keeps_the_source() {
        let source: Box<dyn std::error::Error + Send + Sync> = "connection reset".into();
        let e: Error = S3Error::new(
            Op::GetRange(5..10),
            "s3://b/k",
            Cause::Body {
                received: 3,
                source,
            },
        )
        .into();
        assert_eq!(
            error_chain(&e),
            "GetObject bytes=5-9 s3://b/k: reading the body failed after 3 bytes: connection reset"
        );
    }
}
