//! The pure parts of the AWS Lambda function: a CSV object landing under an input prefix becomes
//! a Parquet object under an output prefix.
//!
//! - [`event`] turns an invocation payload (an S3 event notification, an SQS batch of them, an
//!   EventBridge "Object Created" event, or a MinIO webhook notification) into one [`Record`]
//!   per record: an [`Item`] (an object to convert, a record ignored on purpose, or a malformed
//!   one) with the SQS message id needed for partial batch failure reports.
//! - [`routing`] decides, for each object key, whether to convert it and where the Parquet
//!   object (or the error report of a failed conversion) goes, with a loop guard so that the
//!   function's own output never triggers another conversion.
//!
//! - [`config`] reads the `CSV2PQ_*` variables.
//! - [`handler`] runs an invocation: [`object`] converts each object through a small
//!   [`store::ObjectStore`] seam (S3, or an in-memory twin in tests) and answers with the typed
//!   [`response`]s; a failed invocation reports the error's stable kind ([`error`]).

pub mod backfill;
pub mod config;
pub mod error;
pub mod event;
pub mod fanout;
pub mod handler;
mod object;
pub mod reconcile;
pub mod response;
pub mod routing;
pub mod store;

pub use event::{
    decode_notification_key, parse_event, parse_event_slice, Item, KeyDecodeError, ObjectRef,
    ParsedEvent, Record, Trigger,
};
pub use routing::{KeyRules, Route, MAX_KEY_BYTES};
