//! The function's wire format: what one invocation answers ([`Response`]: a result per record,
//! and for SQS the messages to redeliver), and the error report a failed conversion leaves
//! under the failed prefix ([`ErrorReport`]).

use serde::Serialize;

use crate::config::{ConvertOptions, Encoding, InvalidUtf8, OnError};
use crate::convert::{ConvertReport, Widening};
use crate::decode::sniff::UsedDialect;
use crate::error::{error_chain, Error, Position};
use crate::schema::SchemaSpec;

/// What happened to one record of an event.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ObjectResult {
    /// Converted.
    Converted(Box<Converted>),
    /// Not converted: the loop guard, the prefix or the key's shape ruled it out.
    Skipped {
        /// `s3://bucket/key`.
        input: String,
        /// Why.
        reason: String,
    },
    /// The output already holds the conversion of this version of the input.
    UpToDate {
        /// `s3://bucket/key`.
        input: String,
        /// The output.
        output: String,
        /// The input's ETag.
        etag: String,
    },
    /// Bad input: the error report is written and the record completes (no retry).
    BadInput {
        /// `s3://bucket/key`.
        input: String,
        /// The error, with its cause chain.
        error: String,
        /// Where the error report went.
        report: String,
    },
    /// Not published: a newer conversion (or a newer version of the input) won; nothing of
    /// this run is visible and the record completes.
    Superseded {
        /// `s3://bucket/key` (with `?versionId=` for a versioned event).
        input: String,
        /// The output.
        output: String,
        /// What superseded it.
        reason: String,
    },
    /// Too large for one invocation: a fan-out execution converts it ([`super::fanout`]).
    FannedOut {
        /// `s3://bucket/key`.
        input: String,
        /// The output.
        output: String,
        /// The execution (its ARN).
        execution: String,
    },
    /// A failure: retried when `retryable` (a transient failure), otherwise reported under
    /// the failed prefix and completed (retrying cannot help).
    Failed(Failed),
    /// A record this function does not handle (another event type, a test event).
    Ignored {
        /// Why.
        reason: String,
    },
    /// A record that cannot be read: retried (SQS: redelivered), so that it is not lost.
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
}

/// A converted object.
#[derive(Debug, Serialize)]
pub struct Converted {
    /// `s3://bucket/key`.
    pub input: String,
    /// The input's ETag.
    pub etag: Option<String>,
    /// The output.
    pub output: String,
    /// Rows written.
    pub rows: u64,
    /// Values stored as null (`--on-error null`).
    pub nulled: u64,
    /// Records rejected (`--on-error reject`).
    pub rejected: u64,
    /// Values whose invalid UTF-8 was replaced.
    pub utf8_replaced: u64,
    /// Columns widened (`--on-error widen`).
    pub widened: Vec<Widening>,
    /// Where the rejected records went.
    pub rejects: Option<String>,
    /// Bytes read.
    pub bytes_in: u64,
    /// Parquet bytes written.
    pub bytes_out: u64,
    /// Row groups written.
    pub row_groups: usize,
    /// The schema written.
    pub schema: SchemaSpec,
    /// The dialect read with (sniffed or set).
    pub dialect: UsedDialect,
    /// Seconds from the record's start.
    pub seconds: f64,
}

impl Converted {
    /// The result of `report`, converting `input` (of `etag`) into `output`.
    pub fn new(
        input: String,
        etag: Option<String>,
        output: String,
        report: ConvertReport,
        seconds: f64,
    ) -> Self {
        Converted {
            input,
            etag,
            output,
            rows: report.rows,
            nulled: report.nulled,
            rejected: report.rejected,
            utf8_replaced: report.utf8_replaced,
            widened: report.widened,
            rejects: report.rejects,
            bytes_in: report.bytes_in,
            bytes_out: report.bytes_out,
            row_groups: report.row_groups,
            schema: report.schema,
            dialect: report.dialect,
            seconds,
        }
    }
}

/// A failed record.
#[derive(Debug, Serialize)]
pub struct Failed {
    /// `s3://bucket/key`.
    pub input: String,
    /// The error's stable kind (`io`, `config`, `limit`, `cancelled`, `internal`, ...).
    pub kind: &'static str,
    /// Whether a retry may succeed.
    pub retryable: bool,
    /// The error, with its cause chain.
    pub error: String,
    /// Where the error report went (a permanent failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// The error itself: what the invocation fails with when it asks for a retry.
    #[serde(skip)]
    pub cause: Option<Error>,
}

impl Failed {
    /// `error` converting `input`.
    pub fn new(input: String, error: Error) -> Self {
        Failed {
            input,
            kind: error.kind().as_str(),
            retryable: error.is_retryable(),
            error: error_chain(&error),
            report: None,
            cause: Some(error),
        }
    }
}

impl ObjectResult {
    /// Whether the record must be retried (SQS: reported as a batch item failure): a failure
    /// a retry may fix, or a record that could not be read. A permanent failure (a refused
    /// request, a configuration error, a deadline hit) is reported and completes: retrying it
    /// would only fail again, then park the event in the dead-letter queue.
    pub fn needs_retry(&self) -> bool {
        match self {
            ObjectResult::Failed(f) => f.retryable,
            ObjectResult::Malformed { .. } => true,
            _ => false,
        }
    }

    /// The error to fail the invocation with, for a record that needs a retry.
    pub fn take_error(&mut self) -> Option<Error> {
        match self {
            ObjectResult::Failed(f) => f.cause.take(),
            ObjectResult::Malformed { reason } => Some(Error::data(
                "the event",
                None,
                format!("a malformed record: {reason}"),
            )),
            _ => None,
        }
    }
}

/// One invocation's answer.
#[derive(Debug, Default, Serialize)]
pub struct Response {
    /// One result per record, in order.
    pub results: Vec<ObjectResult>,
    /// SQS: the messages to redeliver (partial batch response); absent for other triggers.
    #[serde(rename = "batchItemFailures", skip_serializing_if = "Option::is_none")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
    /// Why the whole event was ignored (not an event this function handles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// A reconcile invocation's report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<ReconcileReport>,
}

/// Outcomes of a backfill, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Converted and published.
    pub converted: usize,
    /// Handed to a fan-out execution.
    pub fanned_out: usize,
    /// Found up to date when its turn came (another run converted it meanwhile).
    pub up_to_date: usize,
    /// Not published: a newer conversion or a newer input won.
    pub superseded: usize,
    /// Bad input: reported under the failed prefix.
    pub bad_input: usize,
    /// Other failures (the retryable ones can be retried by running again).
    pub failed: usize,
    /// Not converted after all (the routing changed under it).
    pub skipped: usize,
    /// Input bytes of the converted objects.
    pub bytes_in: u64,
    /// Parquet bytes written.
    pub bytes_out: u64,
}

impl Tally {
    /// Count `result`.
    pub fn add(&mut self, result: &ObjectResult) {
        match result {
            ObjectResult::Converted(c) => {
                self.converted += 1;
                self.bytes_in += c.bytes_in;
                self.bytes_out += c.bytes_out;
            }
            ObjectResult::UpToDate { .. } => self.up_to_date += 1,
            ObjectResult::FannedOut { .. } => self.fanned_out += 1,
            ObjectResult::Superseded { .. } => self.superseded += 1,
            ObjectResult::BadInput { .. } => self.bad_input += 1,
            ObjectResult::Failed(_) | ObjectResult::Malformed { .. } => self.failed += 1,
            ObjectResult::Skipped { .. } | ObjectResult::Ignored { .. } => self.skipped += 1,
        }
    }

    /// Whether every conversion tried succeeded (or was found done).
    pub fn all_done(&self) -> bool {
        self.bad_input == 0 && self.failed == 0
    }
}

/// What one reconcile invocation did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconcileReport {
    /// The bucket.
    pub bucket: String,
    /// The prefix listed.
    pub prefix: String,
    /// Which invocation of the pass.
    pub round: u32,
    /// Objects judged.
    pub listed: usize,
    /// Found up to date at planning.
    pub up_to_date: usize,
    /// Failed with these options before (not retried).
    pub failed_before: usize,
    /// Not converted by the function (routing).
    pub skipped: usize,
    /// Outcomes of the conversions tried.
    pub tally: Tally,
    /// Where the pass goes on: the last key finished, when objects remain.
    pub next_start_after: Option<String>,
    /// Why it stopped before the end of the listing.
    pub stopped: Option<String>,
    /// Whether the function was invoked again for the rest.
    pub reinvoked: bool,
}

/// An SQS message to redeliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchItemFailure {
    /// The message id.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// The error report written for bad input: `<failed prefix><relative key>.error.json`.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    /// The error, with its cause chain.
    pub error: String,
    /// Its stable kind.
    pub kind: &'static str,
    /// `s3://bucket/key`.
    pub input: String,
    /// The input's ETag.
    pub etag: Option<String>,
    /// The input's version id.
    pub version_id: Option<String>,
    /// Where in the input, for a data error.
    pub position: Option<Position>,
    /// Which column, for a data error.
    pub column: Option<ColumnRef>,
    /// What to do about it, where the error alone does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The options the conversion ran with.
    pub config: ReportConfig,
    /// Their fingerprint ([`ConvertOptions::fingerprint`]): a backfill does not retry an input
    /// whose report records its ETag and these options.
    pub options: String,
    /// The tool and its version.
    pub tool: String,
}

/// A column named in an error report.
#[derive(Debug, Serialize)]
pub struct ColumnRef {
    /// 1-based.
    pub index: usize,
    /// Its name.
    pub name: String,
}

/// The options that decide how an input is read, in an error report.
#[derive(Debug, Serialize)]
pub struct ReportConfig {
    /// `--on-error`.
    pub on_error: OnError,
    /// The Parquet codec.
    pub compression: &'static str,
    /// The memory budget.
    pub memory_limit: usize,
    /// The field delimiter, or `auto` (sniffed).
    pub delimiter: String,
    /// Whether the first record is a header: `yes`, `no` or `auto` (decided from the types).
    pub header: &'static str,
    /// The input's character encoding.
    pub encoding: Encoding,
    /// What invalid UTF-8 does.
    pub invalid_utf8: InvalidUtf8,
}

impl ErrorReport {
    /// The report of `error` converting `input` with `options`.
    pub fn new(
        error: &Error,
        input: String,
        etag: Option<String>,
        version_id: Option<String>,
        options: &ConvertOptions,
    ) -> Self {
        let data = error.as_data();
        ErrorReport {
            error: error_chain(error),
            kind: error.kind().as_str(),
            input,
            etag,
            version_id,
            position: data.and_then(|d| d.position),
            column: data.and_then(|d| {
                d.column.as_ref().map(|(index, name)| ColumnRef {
                    index: *index,
                    name: name.clone(),
                })
            }),
            hint: error.wants_wider_inferred_type().map(|column| {
                format!(
                    "the type of {column} was inferred from a sample of the input; \
                     CSV2PQ_ON_ERROR=widen converts again with a type that holds the value, \
                     or a schema file (CSV2PQ_SCHEMA) sets the type"
                )
            }),
            options: options.fingerprint(),
            config: ReportConfig {
                on_error: options.on_error,
                compression: options.compression.name(),
                memory_limit: options.memory_limit,
                delimiter: if options.sniff.delimiter {
                    "auto".to_string()
                } else {
                    (options.dialect.delimiter as char).to_string()
                },
                header: match (options.sniff.header, options.dialect.has_header) {
                    (true, _) => "auto",
                    (false, true) => "yes",
                    (false, false) => "no",
                },
                encoding: options.encoding,
                invalid_utf8: options.invalid_utf8,
            },
            tool: format!("csv2parquet {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_are_tagged_by_outcome() {
        let skipped = ObjectResult::Skipped {
            input: "s3://b/k".into(),
            reason: "not under incoming/".into(),
        };
        assert_eq!(
            serde_json::to_value(&skipped).unwrap(),
            json!({"outcome": "skipped", "input": "s3://b/k", "reason": "not under incoming/"})
        );
        let failed = ObjectResult::Failed(Failed::new(
            "s3://b/k".into(),
            Error::Cancelled("deadline".into()),
        ));
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            json!({"outcome": "failed", "input": "s3://b/k", "kind": "cancelled",
                   "retryable": false, "error": "cancelled: deadline"})
        );
        let up = ObjectResult::UpToDate {
            input: "i".into(),
            output: "o".into(),
            etag: "e".into(),
        };
        assert_eq!(serde_json::to_value(&up).unwrap()["outcome"], "up_to_date");
        assert!(!failed.needs_retry());
        let transient = ObjectResult::Failed(Failed::new(
            "s3://b/k".into(),
            Error::Store {
                op: "GetObject".into(),
                location: "s3://b/k".into(),
                retryable: true,
                kind: crate::error::ErrorKind::Io,
                source: "HTTP 503".into(),
            },
        ));
        assert!(transient.needs_retry());
        let superseded = ObjectResult::Superseded {
            input: "i".into(),
            output: "o".into(),
            reason: "r".into(),
        };
        assert!(!superseded.needs_retry());
        assert_eq!(
            serde_json::to_value(&superseded).unwrap()["outcome"],
            "superseded"
        );
    }

    #[test]
    fn the_response_lists_batch_failures_only_for_sqs() {
        let plain = Response {
            results: vec![ObjectResult::Ignored {
                reason: "a test event".into(),
            }],
            ..Response::default()
        };
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            json!({"results": [{"outcome": "ignored", "reason": "a test event"}]})
        );
        let sqs = Response {
            batch_item_failures: Some(vec![BatchItemFailure {
                item_identifier: "m1".into(),
            }]),
            ..Response::default()
        };
        assert_eq!(
            serde_json::to_value(&sqs).unwrap(),
            json!({"results": [], "batchItemFailures": [{"itemIdentifier": "m1"}]})
        );
    }

    #[test]
    fn error_reports_locate_data_errors() {
        let err = Error::Data(Box::new(crate::error::DataError {
            location: "s3://b/in.csv".into(),
            position: Some(Position {
                record: 2,
                line: 3,
                byte: 20,
            }),
            column: Some((1, "id".into())),
            value: None,
            reason: "cannot parse as Int64".into(),
            fault: None,
        }));
        let report = ErrorReport::new(
            &err,
            "s3://b/in.csv".into(),
            Some("e1".into()),
            None,
            &ConvertOptions::default(),
        );
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["kind"], "bad_input");
        assert_eq!(v["position"]["line"], 3);
        assert_eq!(v["column"], json!({"index": 1, "name": "id"}));
        assert_eq!(v["config"]["on_error"], "fail");
        assert_eq!(v["config"]["delimiter"], "auto");
        assert_eq!(v["config"]["header"], "auto");
        assert!(v.get("hint").is_none(), "no fault, no hint: {v}");
    }

    #[test]
    fn error_reports_say_what_to_do_about_a_late_value_an_inferred_type_cannot_hold() {
        let report = |inferred: bool| {
            let err = Error::Data(Box::new(crate::error::DataError {
                location: "s3://b/in.csv".into(),
                position: None,
                column: Some((2, "t".into())),
                value: Some("2024-01-01 00:00:03.123456".into()),
                reason: "cannot parse as Timestamp(ms)".into(),
                fault: Some(crate::decode::fault::Fault::Unparsable {
                    ty: arrow::datatypes::DataType::Timestamp(
                        arrow::datatypes::TimeUnit::Millisecond,
                        None,
                    ),
                    inferred,
                }),
            }));
            let options = ConvertOptions::default();
            serde_json::to_value(ErrorReport::new(
                &err,
                "s3://b/in.csv".into(),
                None,
                None,
                &options,
            ))
            .unwrap()
        };
        let hint = report(true)["hint"].as_str().unwrap().to_string();
        assert!(hint.starts_with("the type of \"t\" was inferred"), "{hint}");
        assert!(
            hint.contains("CSV2PQ_ON_ERROR=widen") && hint.contains("CSV2PQ_SCHEMA"),
            "{hint}"
        );
        assert!(
            report(false).get("hint").is_none(),
            "a type the schema gave"
        );
    }
}
