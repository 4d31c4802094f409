//! Invocation payloads: which objects an invocation asks us to convert.
//!
//! [`parse_event`] accepts
//! - an S3 event notification (`{"Records": [{"eventSource": "aws:s3", ...}]}`), also in the
//!   shape MinIO's webhook sends (`"eventSource": "minio:s3"`, `"eventName":
//!   "s3:ObjectCreated:Put"`, extra fields);
//! - an SQS batch (`{"Records": [{"eventSource": "aws:sqs", "body": "...", ...}]}`) whose bodies
//!   are S3 notifications (also S3's `s3:TestEvent`, an SNS envelope around a notification, or an
//!   EventBridge event);
//! - an EventBridge event from `aws.s3` (`"detail-type": "Object Created"`).
//!
//! It yields one [`Record`] per S3 record (or EventBridge event), whose [`Item`] is the object to
//! convert or the reason there is none. Records from SQS carry their message id, and records that
//! could not be understood are [`Item::Malformed`], so that the handler can report those messages
//! as batch item failures instead of silently deleting them.
//!
//! One file per envelope: `s3` (the notification record, AWS's and MinIO's, and the test
//! event), `sqs` (the message wrapping, SNS inside it), `eventbridge`; `record` holds the types
//! they yield and `key` the decoding of notification keys.
//!
//! # Object keys
//! S3 event notifications carry the key form-URL-encoded: AWS's "Event message structure" page
//! says "The object key name value is URL encoded. For example, "red flower.jpg" becomes
//! "red+flower.jpg"" (`application/x-www-form-urlencoded`: `+` is a space, `%2B` a `+`, `%XX`
//! bytes of UTF-8). The same holds for a notification inside SQS or SNS, and MinIO encodes its
//! keys the same way (with `/` too, as `%2F`). Those keys are decoded exactly once by
//! [`decode_notification_key`].
//!
//! EventBridge keys are *not* encoded: AWS's "EventBridge event message structure" page documents
//! `detail.object.key` without any mention of encoding (the notification page states it
//! explicitly), and real EventBridge events show characters that notifications escape as they
//! are, e.g. `raw/health-check/2023-08-08T14:03:40.532432.zip` (a notification would say
//! `%3A`). So EventBridge keys are used verbatim; decoding them would corrupt keys containing
//! `+` or `%`.
//!
//! The `url_decoded_key` field of `aws_lambda_events`' S3 types is never filled by S3 and is not
//! used.

mod eventbridge;
mod key;
mod record;
mod s3;
mod sqs;
#[cfg(test)]
mod testing;

use serde_json::Value;

use crate::error::{Error, Result};
use eventbridge::{eventbridge_item, is_eventbridge};
use s3::{is_s3_record, is_test_event, s3_record_item, test_event_item};
use sqs::{is_sqs_message, sqs_message_records};

pub use key::{decode_notification_key, KeyDecodeError};
pub use record::{Item, ObjectRef, Record};

/// The `location` of errors about the payload itself.
const EVENT_LOCATION: &str = "invocation event";

/// How the function was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Directly by an S3 (or MinIO) event notification.
    S3,
    /// By an SQS batch whose messages carry S3 notifications.
    Sqs,
    /// By an EventBridge rule matching S3 events.
    EventBridge,
}

impl Trigger {
    /// A stable lowercase name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::S3 => "s3",
            Trigger::Sqs => "sqs",
            Trigger::EventBridge => "eventbridge",
        }
    }
}

/// A parsed invocation payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    /// How the function was invoked.
    pub trigger: Trigger,
    /// One entry per record (per S3 record inside an SQS message), in payload order.
    pub records: Vec<Record>,
}

impl ParsedEvent {
    /// The objects to convert, in payload order.
    pub fn objects(&self) -> impl Iterator<Item = &ObjectRef> + '_ {
        self.records
            .iter()
            .filter_map(|record| record.item.object())
    }

    /// The SQS message ids with a malformed record, each once, in payload order: the messages to
    /// report as batch item failures regardless of how conversions go.
    pub fn malformed_message_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for record in self
            .records
            .iter()
            .filter(|record| record.item.is_malformed())
        {
            if let Some(id) = record.sqs_message_id.as_deref() {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }
}

/// Parse a raw invocation payload (JSON bytes); see [`parse_event`].
pub fn parse_event_slice(payload: &[u8]) -> Result<ParsedEvent> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| Error::data(EVENT_LOCATION, None, format!("not JSON: {e}")))?;
    parse_event(&value)
}

/// Parse an invocation payload into the objects to convert.
///
/// A payload that is none of the accepted shapes (module docs) is an error of kind
/// [`crate::ErrorKind::BadInput`]; records inside an accepted payload never fail the whole
/// payload: they become [`Item::Ignored`] or [`Item::Malformed`].
pub fn parse_event(payload: &Value) -> Result<ParsedEvent> {
    let Some(fields) = payload.as_object() else {
        return Err(unrecognized(format!(
            "the payload is a JSON {}, not an object",
            json_type(payload)
        )));
    };
    if let Some(records) = fields.get("Records") {
        let Some(records) = records.as_array() else {
            return Err(unrecognized("\"Records\" is not a list".into()));
        };
        if records.is_empty() {
            return Err(unrecognized("\"Records\" is empty".into()));
        }
        if records.iter().any(is_sqs_message) {
            let records = records
                .iter()
                .flat_map(|record| {
                    if is_sqs_message(record) {
                        sqs_message_records(record)
                    } else {
                        vec![Record::new(Item::Ignored(format!(
                            "a record from {:?} in an SQS batch is not an SQS message",
                            source_of(record)
                        )))]
                    }
                })
                .collect();
            return Ok(ParsedEvent {
                trigger: Trigger::Sqs,
                records,
            });
        }
        if records.iter().any(is_s3_record) {
            let records = records
                .iter()
                .map(|record| {
                    Record::new(if is_s3_record(record) {
                        s3_record_item(record)
                    } else {
                        Item::Ignored(format!(
                            "a record from {:?} is not an S3 notification",
                            source_of(record)
                        ))
                    })
                })
                .collect();
            return Ok(ParsedEvent {
                trigger: Trigger::S3,
                records,
            });
        }
        let mut sources: Vec<&str> = records.iter().map(source_of).collect();
        sources.sort_unstable();
        sources.dedup();
        return Err(unrecognized(format!(
            "its records come from {sources:?}, neither S3 nor SQS"
        )));
    }
    if is_test_event(payload) {
        return Ok(ParsedEvent {
            trigger: Trigger::S3,
            records: vec![Record::new(test_event_item(payload))],
        });
    }
    if is_eventbridge(payload) {
        let item = eventbridge_item(payload).map_err(unrecognized)?;
        return Ok(ParsedEvent {
            trigger: Trigger::EventBridge,
            records: vec![Record::new(item)],
        });
    }
    Err(unrecognized(format!(
        "it has no \"Records\", \"detail-type\" or \"Event\" field (fields: {})",
        field_list(payload)
    )))
}

fn unrecognized(why: String) -> Error {
    Error::data(
        EVENT_LOCATION,
        None,
        format!(
            "not an S3 event notification, an SQS batch of them or an EventBridge S3 event: {why}"
        ),
    )
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The first few field names of an object, for error messages.
pub(super) fn field_list(value: &Value) -> String {
    match value.as_object() {
        Some(fields) if fields.is_empty() => "none".to_string(),
        Some(fields) => {
            let mut names: Vec<String> = fields.keys().take(8).map(|k| format!("{k:?}")).collect();
            if fields.len() > 8 {
                names.push("...".to_string());
            }
            names.join(", ")
        }
        None => format!("a JSON {}", json_type(value)),
    }
}

pub(super) fn source_of(record: &Value) -> &str {
    record
        .get("eventSource")
        .or_else(|| record.get("EventSource"))
        .and_then(Value::as_str)
        .unwrap_or("an unknown source")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::lambda::event::testing::parse_err;

    #[test]
    fn raw_bytes_are_parsed() {
        let parsed = parse_event_slice(include_bytes!("../../../fixtures/events/s3-put.json"));
        assert!(matches!(parsed, Ok(p) if p.objects().count() == 1));
        let err = parse_event_slice(b"{\"Records\": [").err();
        assert!(err.is_some_and(|e| e.kind() == ErrorKind::BadInput
            && e.to_string().starts_with("invocation event: not JSON")));
    }

    #[test]
    fn unknown_payloads_are_errors() {
        use serde_json::json;
        assert!(parse_err(json!({})).contains("no \"Records\""));
        assert!(parse_err(json!([])).contains("JSON array"));
        assert!(parse_err(json!("incoming/a.csv")).contains("JSON string"));
        assert!(parse_err(json!({"Records": []})).contains("empty"));
        assert!(parse_err(json!({"Records": {}})).contains("not a list"));
        let dynamo = parse_err(json!({"Records": [{"eventSource": "aws:dynamodb"}]}));
        assert!(dynamo.contains("aws:dynamodb"), "{dynamo}");
        let scheduled = parse_err(json!({
            "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "1", "time": "2024-01-01T00:00:00Z", "region": "eu-west-1",
            "resources": [], "detail": {}
        }));
        assert!(scheduled.contains("aws.events"), "{scheduled}");
        let other = parse_err(json!({"key": "incoming/a.csv", "bucket": "data"}));
        assert!(other.contains("\"key\""), "{other}");
        assert!(other.starts_with("invocation event: not an S3 event notification"));
    }

    #[test]
    fn trigger_names() {
        assert_eq!(Trigger::Sqs.as_str(), "sqs");
        assert_eq!(Trigger::S3.as_str(), "s3");
        assert_eq!(Trigger::EventBridge.as_str(), "eventbridge");
    }
}
