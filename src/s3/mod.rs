//! Amazon S3 and S3-compatible stores (MinIO, ...): client configuration, errors named by
//! request ([`S3Error`]), the ranged source and the multipart sink.

mod client;
mod error;
pub mod fanout;
mod sink;
mod source;
pub mod stitch;

pub use client::{build_client, RequestOptions, S3Options, DEFAULT_ATTEMPT_TIMEOUT};
pub use error::{Cause, Op, S3Error};
pub use sink::{
    metadata_value, new_run_id, object_metadata_name, CopySource, S3Sink, RUN_ID_METADATA,
};
pub use source::S3Source;
// The range plan is the memory budget's (the read-ahead's share); re-exported for callers.
pub use crate::budget::{
    check_range_bytes, plan_ranges, DEFAULT_RANGE_BYTES, MAX_RANGES_IN_FLIGHT,
    MIN_DEFAULT_RANGE_BYTES, MIN_RANGES_IN_FLIGHT, MIN_RANGE_BYTES,
};
