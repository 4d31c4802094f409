//! Amazon S3 and S3-compatible stores (MinIO, ...): client configuration, error mapping, the
//! ranged source and the multipart sink.

mod client;
mod sink;
mod source;

pub use client::{build_client, S3Options, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_RANGE_BYTES};
pub use sink::{S3Sink, RUN_ID_METADATA};
pub use source::{
    check_range_bytes, plan_ranges, S3Source, MAX_RANGES_IN_FLIGHT, MIN_DEFAULT_RANGE_BYTES,
    MIN_RANGES_IN_FLIGHT, MIN_RANGE_BYTES,
};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::error::{error_chain, Error, ErrorKind};

/// Status and error code of an SDK error, when the service answered.
pub(crate) fn status_and_code<E: ProvideErrorMetadata, R>(
    err: &SdkError<E, R>,
) -> (Option<u16>, Option<String>)
where
    R: HttpStatus,
{
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

/// Map an SDK error to a store error naming the step and the object, with the whole cause
/// chain; network errors, 5xx, 429 and throttling codes are retryable.
pub fn store_error<E>(
    step: impl Into<String>,
    location: &str,
    err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (status, code) = status_and_code(&err);
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
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
                    )
                })
        }
        _ => false,
    };
    let mut message = error_chain(&err);
    if let Some(s) = status {
        message.push_str(&format!(" (HTTP {s}"));
        if let Some(c) = &code {
            message.push_str(&format!(", {c}"));
        }
        message.push(')');
    }
    let kind = if status.is_some_and(|s| s == 403 || s == 404) && !retryable {
        ErrorKind::Config
    } else {
        ErrorKind::Io
    };
    Error::Store {
        step: step.into(),
        location: location.to_string(),
        message,
        retryable,
        kind,
    }
}
