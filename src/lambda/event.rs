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
//! It yields one [`Item`] per S3 record (or EventBridge event): the object to convert, or the
//! reason it is ignored. Items from SQS carry their message id, and items that could not be
//! understood are [`Item::malformed`], so that the handler can report those messages as batch
//! item failures instead of silently deleting them.
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

use std::fmt;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3EventRecord;
use aws_lambda_events::sqs::SqsMessage;
use serde_json::Value;

use crate::error::{quote_value, Error, Result};

/// The `location` of errors about the payload itself.
const EVENT_LOCATION: &str = "invocation event";

/// `ObjectCreated:*` event types that change only an object's metadata (MinIO sends them as
/// `s3:ObjectCreated:PutTagging` etc.): the data is unchanged, so there is nothing to convert.
const METADATA_ONLY_CREATED: &[&str] = &[
    "PutRetention",
    "PutLegalHold",
    "PutTagging",
    "DeleteTagging",
];

/// One object that an event reports as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The object key, decoded (see the module docs).
    pub key: String,
    /// The object's size in bytes, if the event says.
    pub size: Option<u64>,
    /// The object's ETag as the event gives it, without surrounding quotes.
    pub etag: Option<String>,
    /// The object's version, for versioned buckets.
    pub version_id: Option<String>,
    /// The event type as sent: `ObjectCreated:Put` (S3), `s3:ObjectCreated:Put` (MinIO),
    /// `Object Created` (EventBridge's `detail-type`).
    pub event_name: String,
}

impl ObjectRef {
    /// `s3://bucket/key`, for logs.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

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

/// One record of an event: an object to convert, or the reason there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    /// The object to convert; `None` when the record is ignored.
    pub object: Option<ObjectRef>,
    /// Why the record is ignored (set exactly when `object` is `None`).
    pub ignored: Option<String>,
    /// The record could not be understood (bad JSON in an SQS body, a key that is not valid URL
    /// encoding, missing fields). Unlike other ignored records (deletions, test events), its SQS
    /// message should be reported as failed so that it reaches the dead-letter queue.
    pub malformed: bool,
    /// The SQS message the record came in, for partial batch failure reports.
    pub sqs_message_id: Option<String>,
}

impl Item {
    /// An item to convert.
    pub fn convert(object: ObjectRef) -> Self {
        Item {
            object: Some(object),
            ..Item::default()
        }
    }

    /// A record that is deliberately ignored (not a creation, a test event...).
    pub fn ignore(reason: impl Into<String>) -> Self {
        Item {
            ignored: Some(reason.into()),
            ..Item::default()
        }
    }

    /// A record that could not be understood.
    pub fn malformed(reason: impl Into<String>) -> Self {
        Item {
            ignored: Some(reason.into()),
            malformed: true,
            ..Item::default()
        }
    }

    fn in_message(self, message_id: Option<String>) -> Self {
        Item {
            sqs_message_id: message_id,
            ..self
        }
    }
}

/// A parsed invocation payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    /// How the function was invoked.
    pub trigger: Trigger,
    /// One item per record, in payload order.
    pub items: Vec<Item>,
}

impl ParsedEvent {
    /// The objects to convert, in payload order.
    pub fn objects(&self) -> impl Iterator<Item = &ObjectRef> + '_ {
        self.items.iter().filter_map(|item| item.object.as_ref())
    }

    /// The SQS message ids with a malformed item, each once, in payload order: the messages to
    /// report as batch item failures regardless of how conversions go.
    pub fn malformed_message_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for item in self.items.iter().filter(|item| item.malformed) {
            if let Some(id) = item.sqs_message_id.as_deref() {
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
/// payload: they become ignored or malformed [`Item`]s.
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
            let items = records
                .iter()
                .flat_map(|record| {
                    if is_sqs_message(record) {
                        sqs_message_items(record)
                    } else {
                        vec![Item::ignore(format!(
                            "a record from {:?} in an SQS batch is not an SQS message",
                            source_of(record)
                        ))]
                    }
                })
                .collect();
            return Ok(ParsedEvent {
                trigger: Trigger::Sqs,
                items,
            });
        }
        if records.iter().any(is_s3_record) {
            let items = records
                .iter()
                .map(|record| {
                    if is_s3_record(record) {
                        s3_record_item(record)
                    } else {
                        Item::ignore(format!(
                            "a record from {:?} is not an S3 notification",
                            source_of(record)
                        ))
                    }
                })
                .collect();
            return Ok(ParsedEvent {
                trigger: Trigger::S3,
                items,
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
            items: vec![test_event_item(payload)],
        });
    }
    if is_eventbridge(payload) {
        let item = eventbridge_item(payload).map_err(unrecognized)?;
        return Ok(ParsedEvent {
            trigger: Trigger::EventBridge,
            items: vec![item],
        });
    }
    Err(unrecognized(format!(
        "it has no \"Records\", \"detail-type\" or \"Event\" field (fields: {})",
        field_list(payload)
    )))
}

/// Why a notification key could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDecodeError {
    /// A `%` not followed by two hex digits, at this byte offset of the encoded key.
    BadPercent {
        /// Byte offset of the `%` in the encoded key.
        offset: usize,
    },
    /// The decoded bytes are not UTF-8.
    NotUtf8 {
        /// Offset of the first invalid byte in the decoded key.
        offset: usize,
    },
}

impl fmt::Display for KeyDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyDecodeError::BadPercent { offset } => {
                write!(f, "'%' at byte {offset} is not followed by two hex digits")
            }
            KeyDecodeError::NotUtf8 { offset } => write!(
                f,
                "the decoded key is not UTF-8 (invalid byte at decoded offset {offset})"
            ),
        }
    }
}

impl std::error::Error for KeyDecodeError {}

/// Decode a key from an S3 event notification (`application/x-www-form-urlencoded`): `+` is a
/// space, `%XX` is the byte 0xXX, and the bytes must form UTF-8. Decodes exactly once (`%252B`
/// is `%2B`); anything else passes through unchanged.
pub fn decode_notification_key(raw: &str) -> std::result::Result<String, KeyDecodeError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut offset = 0;
    while let Some(&byte) = bytes.get(offset) {
        match byte {
            b'+' => {
                out.push(b' ');
                offset += 1;
            }
            b'%' => {
                let high = bytes.get(offset + 1).copied().and_then(hex_value);
                let low = bytes.get(offset + 2).copied().and_then(hex_value);
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(KeyDecodeError::BadPercent { offset });
                };
                out.push(high << 4 | low);
                offset += 3;
            }
            other => {
                out.push(other);
                offset += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| KeyDecodeError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
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
fn field_list(value: &Value) -> String {
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

fn source_of(record: &Value) -> &str {
    record
        .get("eventSource")
        .or_else(|| record.get("EventSource"))
        .and_then(Value::as_str)
        .unwrap_or("an unknown source")
}

fn is_sqs_message(record: &Value) -> bool {
    record.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")
}

/// `aws:s3`, `minio:s3` (and other S3-compatible stores), or any record with an `s3` object.
fn is_s3_record(record: &Value) -> bool {
    record.get("s3").is_some_and(Value::is_object)
        || record
            .get("eventSource")
            .and_then(Value::as_str)
            .is_some_and(|source| source.ends_with(":s3"))
}

fn is_test_event(value: &Value) -> bool {
    value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent")
}

fn is_eventbridge(value: &Value) -> bool {
    value.get("detail-type").is_some() && value.get("source").is_some()
}

fn test_event_item(value: &Value) -> Item {
    let bucket = value.get("Bucket").and_then(Value::as_str).unwrap_or("?");
    Item::ignore(format!(
        "s3:TestEvent for bucket {bucket:?} (sent when notifications are configured)"
    ))
}

/// The items of one SQS message, each tagged with its message id.
fn sqs_message_items(record: &Value) -> Vec<Item> {
    let raw_id = record
        .get("messageId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let message: SqsMessage = match serde_json::from_value(record.clone()) {
        Ok(message) => message,
        Err(e) => {
            return vec![
                Item::malformed(format!("SQS message does not have the SQS shape: {e}"))
                    .in_message(raw_id),
            ]
        }
    };
    let id = message.message_id.or(raw_id);
    let items = match message.body.as_deref() {
        None => vec![Item::malformed("SQS message has no body")],
        Some(body) => match serde_json::from_str::<Value>(body) {
            Err(e) => vec![Item::malformed(format!(
                "SQS message body is not JSON ({e}): \"{}\"",
                quote_value(body.as_bytes())
            ))],
            Ok(body) => match notification_items(&body, 0) {
                Ok(items) if items.is_empty() => {
                    vec![Item::ignore("SQS message body has no records")]
                }
                Ok(items) => items,
                Err(why) => vec![Item::malformed(format!("SQS message body: {why}"))],
            },
        },
    };
    items
        .into_iter()
        .map(|item| item.in_message(id.clone()))
        .collect()
}

/// The items of a notification carried in a message body (SQS, or SNS inside SQS).
fn notification_items(body: &Value, depth: u8) -> std::result::Result<Vec<Item>, String> {
    if let Some(records) = body.get("Records") {
        let Some(records) = records.as_array() else {
            return Err("\"Records\" is not a list".into());
        };
        return Ok(records
            .iter()
            .map(|record| {
                if is_s3_record(record) {
                    s3_record_item(record)
                } else {
                    Item::malformed(format!(
                        "a record from {:?} is not an S3 notification",
                        source_of(record)
                    ))
                }
            })
            .collect());
    }
    if is_test_event(body) {
        return Ok(vec![test_event_item(body)]);
    }
    if is_eventbridge(body) {
        return eventbridge_item(body).map(|item| vec![item]);
    }
    // S3 -> SNS -> SQS without raw message delivery: the notification is the SNS "Message".
    if depth == 0 && body.get("Type").and_then(Value::as_str) == Some("Notification") {
        if let Some(message) = body.get("Message").and_then(Value::as_str) {
            let inner: Value = serde_json::from_str(message)
                .map_err(|e| format!("the SNS message inside is not JSON: {e}"))?;
            return notification_items(&inner, depth + 1);
        }
    }
    Err(format!(
        "not an S3 event notification (fields: {})",
        field_list(body)
    ))
}

/// The fields of an S3 notification record that matter here.
struct RecordFields {
    event_name: Option<String>,
    bucket: Option<String>,
    key: Option<String>,
    size: Option<u64>,
    etag: Option<String>,
    version_id: Option<String>,
}

impl RecordFields {
    fn from_typed(record: S3EventRecord) -> Self {
        let object = record.s3.object;
        RecordFields {
            event_name: record.event_name,
            bucket: record.s3.bucket.name,
            key: object.key,
            size: object.size.and_then(|size| u64::try_from(size).ok()),
            etag: object.e_tag,
            version_id: object.version_id,
        }
    }

    /// For records the typed form rejects: S3-compatible stores do not always fill every field
    /// AWS does (MinIO has sent `"eventTime": ""`), and only these few fields matter.
    fn from_value(record: &Value) -> Self {
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let object = &record["s3"]["object"];
        RecordFields {
            event_name: text(&record["eventName"]),
            bucket: text(&record["s3"]["bucket"]["name"]),
            key: text(&object["key"]),
            size: object["size"].as_u64(),
            etag: text(&object["eTag"]),
            version_id: text(&object["versionId"]),
        }
    }
}

/// The item of one S3 (or MinIO) notification record.
fn s3_record_item(record: &Value) -> Item {
    let fields = match serde_json::from_value::<S3EventRecord>(record.clone()) {
        Ok(typed) => RecordFields::from_typed(typed),
        Err(_) => RecordFields::from_value(record),
    };
    let Some(event_name) = non_empty(fields.event_name) else {
        return Item::malformed("S3 record has no eventName");
    };
    if let Err(why) = check_created(&event_name) {
        let key = fields.key.as_deref().unwrap_or("?");
        return Item::ignore(format!("{why} (key {key:?})"));
    }
    let Some(bucket) = non_empty(fields.bucket) else {
        return Item::malformed("S3 record has no s3.bucket.name");
    };
    let Some(raw_key) = fields.key else {
        return Item::malformed("S3 record has no s3.object.key");
    };
    let key = match decode_notification_key(&raw_key) {
        Ok(key) if key.is_empty() => return Item::malformed("S3 record has an empty object key"),
        Ok(key) => key,
        Err(e) => {
            return Item::malformed(format!(
                "object key {raw_key:?} is not valid URL encoding: {e}"
            ))
        }
    };
    Item::convert(ObjectRef {
        bucket,
        key,
        size: fields.size,
        etag: normalize_etag(fields.etag),
        version_id: non_empty(fields.version_id),
        event_name,
    })
}

/// `Ok` for an event name that creates object data: `ObjectCreated:*` (S3) or
/// `s3:ObjectCreated:*` (MinIO), except metadata-only changes.
fn check_created(event_name: &str) -> std::result::Result<(), String> {
    let bare = event_name.strip_prefix("s3:").unwrap_or(event_name);
    match bare.strip_prefix("ObjectCreated:") {
        None => Err(format!("{event_name} is not an object creation")),
        Some(kind) if METADATA_ONLY_CREATED.contains(&kind) => {
            Err(format!("{event_name} changes only metadata, not the data"))
        }
        Some(_) => Ok(()),
    }
}

/// The item of one EventBridge event; `Err` when it is not an S3 event at all.
fn eventbridge_item(value: &Value) -> std::result::Result<Item, String> {
    let (source, detail_type, detail) =
        match serde_json::from_value::<EventBridgeEvent<Value>>(value.clone()) {
            Ok(event) => (event.source, event.detail_type, event.detail),
            // E.g. a "time" that is not RFC 3339: only the fields below matter.
            Err(_) => (
                value["source"].as_str().unwrap_or_default().to_owned(),
                value["detail-type"].as_str().unwrap_or_default().to_owned(),
                value["detail"].clone(),
            ),
        };
    if source != "aws.s3" {
        return Err(format!(
            "an EventBridge event from {source:?} ({detail_type:?}), not from S3"
        ));
    }
    if detail_type != "Object Created" {
        return Ok(Item::ignore(format!(
            "EventBridge {detail_type:?} is not an object creation"
        )));
    }
    let object = &detail["object"];
    let Some(bucket) = non_empty(detail["bucket"]["name"].as_str().map(str::to_owned)) else {
        return Ok(Item::malformed(
            "EventBridge event has no detail.bucket.name",
        ));
    };
    // Used verbatim: EventBridge keys are not URL-encoded (module docs).
    let Some(key) = non_empty(object["key"].as_str().map(str::to_owned)) else {
        return Ok(Item::malformed(
            "EventBridge event has no detail.object.key",
        ));
    };
    Ok(Item::convert(ObjectRef {
        bucket,
        key,
        size: object["size"].as_u64(),
        etag: normalize_etag(object["etag"].as_str().map(str::to_owned)),
        version_id: non_empty(object["version-id"].as_str().map(str::to_owned)),
        event_name: detail_type,
    }))
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

/// ETags without surrounding quotes (S3 notifications send them bare; be lenient).
fn normalize_etag(etag: Option<String>) -> Option<String> {
    let etag = etag?;
    let bare = etag
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(&etag);
    (!bare.is_empty()).then(|| bare.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn fixture(text: &str) -> ParsedEvent {
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => panic!("fixture is not JSON: {e}"),
        };
        match parse_event(&value) {
            Ok(parsed) => parsed,
            Err(e) => panic!("fixture does not parse: {e}"),
        }
    }

    fn object(item: &Item) -> &ObjectRef {
        match &item.object {
            Some(object) => object,
            None => panic!("item is ignored: {:?}", item.ignored),
        }
    }

    fn reason(item: &Item) -> &str {
        assert!(item.object.is_none(), "{item:?}");
        item.ignored.as_deref().unwrap_or_default()
    }

    fn obj(
        key: &str,
        size: Option<u64>,
        etag: Option<&str>,
        version_id: Option<&str>,
        event_name: &str,
    ) -> ObjectRef {
        ObjectRef {
            bucket: "data".into(),
            key: key.into(),
            size,
            etag: etag.map(str::to_owned),
            version_id: version_id.map(str::to_owned),
            event_name: event_name.into(),
        }
    }

    fn parse_err(value: Value) -> String {
        match parse_event(&value) {
            Ok(parsed) => panic!("{value} parsed: {parsed:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::BadInput);
                e.to_string()
            }
        }
    }

    #[test]
    fn s3_put_fixture() {
        let parsed = fixture(include_str!("../../fixtures/events/s3-put.json"));
        assert_eq!(parsed.trigger, Trigger::S3);
        assert_eq!(parsed.items.len(), 1);
        let item = &parsed.items[0];
        assert_eq!(
            item,
            &Item::convert(obj(
                "incoming/2024/sales report été+final.csv",
                Some(1024),
                Some("d41d8cd98f00b204e9800998ecf8427e"),
                Some("096fKKXTRTtl3on89fVO.nfljtsv6qko"),
                "ObjectCreated:Put",
            ))
        );
        assert!(!item.malformed);
        assert_eq!(item.sqs_message_id, None);
        assert_eq!(
            object(item).url(),
            "s3://data/incoming/2024/sales report été+final.csv"
        );
        assert!(parsed.malformed_message_ids().is_empty());
    }

    #[test]
    fn s3_multi_fixture() {
        let parsed = fixture(include_str!("../../fixtures/events/s3-multi.json"));
        assert_eq!(parsed.trigger, Trigger::S3);
        assert_eq!(parsed.items.len(), 3);
        assert_eq!(
            object(&parsed.items[0]),
            &obj(
                "incoming/a.csv",
                Some(5),
                Some("b1946ac92492d2347c6235b4d2611184"),
                None,
                "ObjectCreated:Put"
            )
        );
        assert_eq!(
            object(&parsed.items[1]),
            &obj(
                "incoming/big/trips=2024.csv.gz",
                Some(104_857_600),
                Some("4af981f98d22a0b9979da24b259e5e42-12"),
                None,
                "ObjectCreated:CompleteMultipartUpload"
            )
        );
        let removed = &parsed.items[2];
        assert!(reason(removed).contains("ObjectRemoved:Delete is not an object creation"));
        assert!(reason(removed).contains("incoming/old.csv"));
        assert!(!removed.malformed);
        assert!(parsed.items.iter().all(|i| i.sqs_message_id.is_none()));
        let keys: Vec<&str> = parsed.objects().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["incoming/a.csv", "incoming/big/trips=2024.csv.gz"]);
    }

    #[test]
    fn s3_test_event_fixture() {
        let parsed = fixture(include_str!("../../fixtures/events/s3-test-event.json"));
        assert_eq!(parsed.trigger, Trigger::S3);
        assert_eq!(parsed.items.len(), 1);
        let item = &parsed.items[0];
        assert!(reason(item).contains("s3:TestEvent"));
        assert!(reason(item).contains("\"data\""));
        assert!(!item.malformed);
        assert_eq!(parsed.objects().count(), 0);
    }

    #[test]
    fn sqs_fixture() {
        let parsed = fixture(include_str!("../../fixtures/events/sqs-s3.json"));
        assert_eq!(parsed.trigger, Trigger::Sqs);
        let first = "059f36b4-87a3-44ab-83d2-661975830a7d";
        let second = "2e1424d4-f796-459a-8184-9c92662be6da";
        let expected = [
            (
                first,
                obj(
                    "incoming/x.csv",
                    Some(2048),
                    Some("0123456789abcdef0123456789abcdef"),
                    None,
                    "ObjectCreated:Put",
                ),
            ),
            (
                second,
                obj(
                    "incoming/y.tsv",
                    Some(10),
                    Some("11111111111111111111111111111111"),
                    None,
                    "ObjectCreated:Post",
                ),
            ),
            (
                second,
                obj(
                    "incoming/dir 1/z+1.CSV",
                    Some(20),
                    Some("22222222222222222222222222222222"),
                    Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"),
                    "ObjectCreated:Copy",
                ),
            ),
        ];
        assert_eq!(parsed.items.len(), expected.len());
        for (item, (id, want)) in parsed.items.iter().zip(expected) {
            assert_eq!(item.sqs_message_id.as_deref(), Some(id));
            assert_eq!(object(item), &want);
            assert_eq!(item.ignored, None);
            assert!(!item.malformed);
        }
        assert!(parsed.malformed_message_ids().is_empty());
    }

    #[test]
    fn sqs_malformed_fixture() {
        let parsed = fixture(include_str!("../../fixtures/events/sqs-malformed.json"));
        assert_eq!(parsed.trigger, Trigger::Sqs);
        assert_eq!(parsed.items.len(), 4);
        let id = |n: u8| format!("a1b2c3d4-0000-4000-8000-00000000000{n}");

        let ok = &parsed.items[0];
        assert_eq!(ok.sqs_message_id, Some(id(1)));
        assert_eq!(
            object(ok),
            &obj(
                "incoming/ok.csv",
                Some(3),
                Some("44444444444444444444444444444444"),
                None,
                "ObjectCreated:Put"
            )
        );
        assert!(!ok.malformed);

        let not_json = &parsed.items[1];
        assert_eq!(not_json.sqs_message_id, Some(id(2)));
        assert!(not_json.malformed);
        assert!(reason(not_json).contains("not JSON"), "{not_json:?}");
        assert!(
            reason(not_json).contains("this is not JSON"),
            "{not_json:?}"
        );

        let test_event = &parsed.items[2];
        assert_eq!(test_event.sqs_message_id, Some(id(3)));
        assert!(!test_event.malformed);
        assert!(reason(test_event).contains("s3:TestEvent"));

        let bad_key = &parsed.items[3];
        assert_eq!(bad_key.sqs_message_id, Some(id(4)));
        assert!(bad_key.malformed);
        assert!(
            reason(bad_key).contains("incoming/bad%zzname.csv"),
            "{bad_key:?}"
        );
        assert!(reason(bad_key).contains("byte 12"), "{bad_key:?}");

        let (id2, id4) = (id(2), id(4));
        assert_eq!(parsed.malformed_message_ids(), [id2.as_str(), id4.as_str()]);
    }

    #[test]
    fn eventbridge_fixture() {
        let parsed = fixture(include_str!(
            "../../fixtures/events/eventbridge-object-created.json"
        ));
        assert_eq!(parsed.trigger, Trigger::EventBridge);
        assert_eq!(parsed.items.len(), 1);
        let item = &parsed.items[0];
        // Not URL-decoded: '+' stays '+', the space and ':' are literal.
        assert_eq!(
            item,
            &Item::convert(obj(
                "incoming/q1 report+final 10:30.csv",
                Some(5),
                Some("b1946ac92492d2347c6235b4d2611184"),
                Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"),
                "Object Created",
            ))
        );
    }

    #[test]
    fn minio_fixture() {
        let parsed = fixture(include_str!("../../fixtures/events/minio-put.json"));
        assert_eq!(parsed.trigger, Trigger::S3);
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(
            parsed.items[0],
            Item::convert(obj(
                "incoming/q1 report+v2.csv",
                Some(210),
                Some("775ff5def9531772a2bb12853cd46fce"),
                None,
                "s3:ObjectCreated:Put",
            ))
        );
    }

    #[test]
    fn raw_bytes_are_parsed() {
        let parsed = parse_event_slice(include_bytes!("../../fixtures/events/s3-put.json"));
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
    fn eventbridge_variants() {
        use serde_json::json;
        let deleted = json!({
            "version": "0", "id": "2", "detail-type": "Object Deleted", "source": "aws.s3",
            "account": "1", "time": "2021-11-12T00:00:00Z", "region": "ca-central-1",
            "resources": ["arn:aws:s3:::data"],
            "detail": {"version": "0", "bucket": {"name": "data"},
                       "object": {"key": "incoming/a.csv", "sequencer": "1"},
                       "reason": "DeleteObject", "deletion-type": "Permanently Deleted"}
        });
        let parsed = parse_event(&deleted);
        let Ok(parsed) = parsed else {
            panic!("{parsed:?}")
        };
        assert!(reason(&parsed.items[0]).contains("Object Deleted"));
        assert!(!parsed.items[0].malformed);

        // Minimal event, an unparseable time, a %-sign in the key (kept as is).
        let minimal = json!({
            "detail-type": "Object Created", "source": "aws.s3", "time": "yesterday",
            "detail": {"bucket": {"name": "data"}, "object": {"key": "incoming/100%25 a+b.csv"}}
        });
        let parsed = parse_event(&minimal).ok();
        let item = parsed.as_ref().map(|p| &p.items[0]);
        assert_eq!(
            item.and_then(|i| i.object.as_ref()),
            Some(&obj(
                "incoming/100%25 a+b.csv",
                None,
                None,
                None,
                "Object Created"
            ))
        );

        let no_key = json!({"detail-type": "Object Created", "source": "aws.s3",
                            "detail": {"bucket": {"name": "data"}, "object": {}}});
        let parsed = parse_event(&no_key).ok();
        assert!(parsed.is_some_and(|p| p.items[0].malformed));
    }

    #[test]
    fn s3_record_variants() {
        use serde_json::json;
        let record = |name: &str, key: Value| {
            json!({"eventSource": "aws:s3", "eventName": name,
                   "s3": {"bucket": {"name": "data"},
                          "object": {"key": key, "size": -1, "eTag": "\"abc\""}}})
        };
        // Missing eventTime/userIdentity: the typed form rejects it, the fallback reads it.
        let parsed = parse_event(&json!({"Records": [
            record("ObjectCreated:Put", json!("incoming/a%2Bb+c.csv")),
            record("s3:ObjectCreated:PutTagging", json!("incoming/a.csv")),
            record("ObjectCreated:Put", json!("incoming/%C3.csv")),
            record("ObjectCreated:Put", json!("incoming/%4")),
            record("ObjectCreated:Put", json!("")),
            record("ObjectCreated:Put", json!(null)),
            record("ObjectRestore:Completed", json!("incoming/a.csv")),
            json!({"eventSource": "aws:s3", "s3": {}}),
            json!({"eventSource": "aws:kinesis"}),
        ]}));
        let Ok(parsed) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(parsed.trigger, Trigger::S3);
        let items = &parsed.items;
        assert_eq!(items.len(), 9);
        assert_eq!(
            object(&items[0]),
            &obj(
                "incoming/a+b c.csv",
                None,
                Some("abc"),
                None,
                "ObjectCreated:Put"
            )
        );
        assert!(reason(&items[1]).contains("only metadata"));
        assert!(!items[1].malformed);
        assert!(items[2].malformed && reason(&items[2]).contains("not UTF-8"));
        assert!(items[3].malformed && reason(&items[3]).contains("byte 9"));
        assert!(items[4].malformed && reason(&items[4]).contains("empty object key"));
        assert!(items[5].malformed && reason(&items[5]).contains("no s3.object.key"));
        assert!(!items[6].malformed && reason(&items[6]).contains("not an object creation"));
        assert!(items[7].malformed && reason(&items[7]).contains("no eventName"));
        assert!(!items[8].malformed && reason(&items[8]).contains("aws:kinesis"));
    }

    #[test]
    fn sqs_bodies_of_other_shapes() {
        use serde_json::json;
        let s3_body = include_str!("../../fixtures/events/s3-put.json");
        let eventbridge_body =
            include_str!("../../fixtures/events/eventbridge-object-created.json");
        let sns_body =
            json!({"Type": "Notification", "MessageId": "x", "Message": s3_body}).to_string();
        let sns_bad = json!({"Type": "Notification", "Message": "nope"}).to_string();
        let message = |id: &str, body: Value| {
            json!({"messageId": id, "receiptHandle": "r", "body": body, "attributes": {},
                   "messageAttributes": {}, "md5OfBody": "m", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q", "awsRegion": "eu-west-1"})
        };
        let parsed = parse_event(&json!({"Records": [
            message("sns", json!(sns_body)),
            message("eb", json!(eventbridge_body)),
            message("sns-bad", json!(sns_bad)),
            message("empty", json!("{\"Records\": []}")),
            message("other", json!("{\"hello\": 1}")),
            message("nobody", json!(null)),
            message("kinesis", json!("{\"Records\": [{\"eventSource\": \"aws:kinesis\"}]}")),
            json!({"eventSource": "aws:sqs", "messageId": "weird", "attributes": 5}),
            json!({"eventSource": "aws:s3"}),
        ]}));
        let Ok(parsed) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(parsed.trigger, Trigger::Sqs);
        let items = &parsed.items;
        assert_eq!(items.len(), 9);
        let ids: Vec<Option<&str>> = items.iter().map(|i| i.sqs_message_id.as_deref()).collect();
        assert_eq!(
            ids,
            [
                Some("sns"),
                Some("eb"),
                Some("sns-bad"),
                Some("empty"),
                Some("other"),
                Some("nobody"),
                Some("kinesis"),
                Some("weird"),
                None
            ]
        );
        assert_eq!(
            object(&items[0]).key,
            "incoming/2024/sales report été+final.csv"
        );
        assert_eq!(object(&items[1]).key, "incoming/q1 report+final 10:30.csv");
        assert!(items[2].malformed && reason(&items[2]).contains("SNS message"));
        assert!(!items[3].malformed && reason(&items[3]).contains("no records"));
        assert!(items[4].malformed && reason(&items[4]).contains("\"hello\""));
        assert!(items[5].malformed && reason(&items[5]).contains("no body"));
        assert!(items[6].malformed && reason(&items[6]).contains("aws:kinesis"));
        assert!(items[7].malformed && reason(&items[7]).contains("SQS shape"));
        assert!(!items[8].malformed);
        assert_eq!(
            parsed.malformed_message_ids(),
            ["sns-bad", "other", "nobody", "kinesis", "weird"]
        );
    }

    #[test]
    fn key_decoding_table() {
        let ok = [
            ("plain/key.csv", "plain/key.csv"),
            ("a+b", "a b"),
            ("a%2Bb", "a+b"),
            ("a%2bb", "a+b"),
            ("%2F", "/"),
            ("%C3%A9t%C3%A9", "été"),
            ("%E6%97%A5%E6%9C%AC", "日本"),
            ("%F0%9F%A6%80", "🦀"),
            ("%252B", "%2B"),
            ("%20+%20", "   "),
            ("été", "été"),
            ("", ""),
            ("%00", "\0"),
        ];
        for (raw, want) in ok {
            assert_eq!(decode_notification_key(raw).as_deref(), Ok(want), "{raw}");
        }
        let bad = [
            ("%", KeyDecodeError::BadPercent { offset: 0 }),
            ("100%", KeyDecodeError::BadPercent { offset: 3 }),
            ("a%4", KeyDecodeError::BadPercent { offset: 1 }),
            ("a%zz", KeyDecodeError::BadPercent { offset: 1 }),
            ("%+1", KeyDecodeError::BadPercent { offset: 0 }),
            ("%é", KeyDecodeError::BadPercent { offset: 0 }),
            ("ab%C3", KeyDecodeError::NotUtf8 { offset: 2 }),
            ("%FF", KeyDecodeError::NotUtf8 { offset: 0 }),
            ("a%C3%28", KeyDecodeError::NotUtf8 { offset: 1 }),
            ("%ED%A0%80", KeyDecodeError::NotUtf8 { offset: 0 }),
        ];
        for (raw, want) in bad {
            assert_eq!(decode_notification_key(raw), Err(want), "{raw}");
        }
    }

    /// What S3 does to a key in a notification (Java's URLEncoder / Python's quote_plus).
    fn form_encode(key: &str) -> String {
        let mut out = String::new();
        for byte in key.bytes() {
            match byte {
                b' ' => out.push('+'),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                    out.push(char::from(byte))
                }
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
        out
    }

    #[test]
    fn key_decoding_round_trips_and_never_panics() {
        const PIECES: &[&str] = &[
            "a", "Z", "0", " ", "+", "%", "%2B", "%zz", "%C3", "/", "//", ".", "..", "é", "日本",
            "🦀", "\u{0}", "\u{7f}", "~", "=", "&", "?", "#", "\\", "\"",
        ];
        let mut state: u64 = 0x0DEC_0DE5_EED5;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) % n as u64) as usize
        };
        for _ in 0..5000 {
            let mut key = String::new();
            for _ in 0..next(16) {
                key.push_str(PIECES[next(PIECES.len())]);
            }
            // Arbitrary (possibly invalid) encoded text: never panics.
            let _ = decode_notification_key(&key);
            // A real key, encoded the way S3 does: decodes back exactly.
            assert_eq!(
                decode_notification_key(&form_encode(&key)).as_deref(),
                Ok(key.as_str())
            );
        }
    }

    #[test]
    fn etags_and_helpers() {
        assert_eq!(
            normalize_etag(Some("\"abc\"".into())).as_deref(),
            Some("abc")
        );
        assert_eq!(
            normalize_etag(Some("abc-2".into())).as_deref(),
            Some("abc-2")
        );
        assert_eq!(normalize_etag(Some("\"\"".into())), None);
        assert_eq!(normalize_etag(Some(String::new())), None);
        assert_eq!(normalize_etag(Some("\"".into())).as_deref(), Some("\""));
        assert_eq!(Trigger::Sqs.as_str(), "sqs");
        assert_eq!(Trigger::S3.as_str(), "s3");
        assert_eq!(Trigger::EventBridge.as_str(), "eventbridge");
        assert!(check_created("ObjectCreated:Put").is_ok());
        assert!(check_created("s3:ObjectCreated:CompleteMultipartUpload").is_ok());
        assert!(check_created("ObjectCreated").is_err());
        assert!(check_created("s3:ObjectRemoved:Delete").is_err());
        assert!(check_created("ObjectCreated:PutRetention").is_err());
    }
}
