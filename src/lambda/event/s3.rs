//! The S3 event notification record (`"eventSource": "aws:s3"`), also in the shape MinIO's
//! webhook sends (`"eventSource": "minio:s3"`, `"eventName": "s3:ObjectCreated:Put"`, extra
//! fields), and the `s3:TestEvent` S3 sends when notifications are configured.

use aws_lambda_events::s3::S3EventRecord;
use serde_json::Value;

use super::key::decode_notification_key;
use super::record::{non_empty, normalize_etag, Item, ObjectRef};

/// `ObjectCreated:*` event types that change only an object's metadata (MinIO sends them as
/// `s3:ObjectCreated:PutTagging` etc.): the data is unchanged, so there is nothing to convert.
const METADATA_ONLY_CREATED: &[&str] = &[
    "PutRetention",
    "PutLegalHold",
    "PutTagging",
    "DeleteTagging",
];

/// `aws:s3`, `minio:s3` (and other S3-compatible stores), or any record with an `s3` object.
pub(super) fn is_s3_record(record: &Value) -> bool {
    record.get("s3").is_some_and(Value::is_object)
        || record
            .get("eventSource")
            .and_then(Value::as_str)
            .is_some_and(|source| source.ends_with(":s3"))
}

pub(super) fn is_test_event(value: &Value) -> bool {
    value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent")
}

pub(super) fn test_event_item(value: &Value) -> Item {
    let bucket = value.get("Bucket").and_then(Value::as_str).unwrap_or("?");
    Item::Ignored(format!(
        "s3:TestEvent for bucket {bucket:?} (sent when notifications are configured)"
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
pub(super) fn s3_record_item(record: &Value) -> Item {
    let fields = match serde_json::from_value::<S3EventRecord>(record.clone()) {
        Ok(typed) => RecordFields::from_typed(typed),
        Err(_) => RecordFields::from_value(record),
    };
    let Some(event_name) = non_empty(fields.event_name) else {
        return Item::Malformed("S3 record has no eventName".into());
    };
    if let Err(why) = check_created(&event_name) {
        let key = fields.key.as_deref().unwrap_or("?");
        return Item::Ignored(format!("{why} (key {key:?})"));
    }
    let Some(bucket) = non_empty(fields.bucket) else {
        return Item::Malformed("S3 record has no s3.bucket.name".into());
    };
    let Some(raw_key) = fields.key else {
        return Item::Malformed("S3 record has no s3.object.key".into());
    };
    let key = match decode_notification_key(&raw_key) {
        Ok(key) if key.is_empty() => {
            return Item::Malformed("S3 record has an empty object key".into())
        }
        Ok(key) => key,
        Err(e) => {
            return Item::Malformed(format!(
                "object key {raw_key:?} is not valid URL encoding: {e}"
            ))
        }
    };
    Item::Convert(ObjectRef {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::event::testing::{fixture, obj, object, reason};
    use crate::lambda::event::{parse_event, Record, Trigger};

    #[test]
    fn s3_put_fixture() {
        let parsed = fixture(include_str!("../../../fixtures/events/s3-put.json"));
        assert_eq!(parsed.trigger, Trigger::S3);
        assert_eq!(parsed.records.len(), 1);
        let record = &parsed.records[0];
        assert_eq!(
            record,
            &Record::new(Item::Convert(obj(
                "incoming/2024/sales report été+final.csv",
                Some(1024),
                Some("d41d8cd98f00b204e9800998ecf8427e"),
                Some("096fKKXTRTtl3on89fVO.nfljtsv6qko"),
                "ObjectCreated:Put",
            )))
        );
        assert!(!record.item.is_malformed());
        assert_eq!(record.sqs_message_id, None);
        assert_eq!(
            object(record).url(),
            "s3://data/incoming/2024/sales report été+final.csv"
        );
        assert!(parsed.malformed_message_ids().is_empty());
    }

    #[test]
    fn s3_multi_fixture() {
        let parsed = fixture(include_str!("../../../fixtures/events/s3-multi.json"));
        assert_eq!(parsed.trigger, Trigger::S3);
        assert_eq!(parsed.records.len(), 3);
        assert_eq!(
            object(&parsed.records[0]),
            &obj(
                "incoming/a.csv",
                Some(5),
                Some("b1946ac92492d2347c6235b4d2611184"),
                None,
                "ObjectCreated:Put"
            )
        );
        assert_eq!(
            object(&parsed.records[1]),
            &obj(
                "incoming/big/trips=2024.csv.gz",
                Some(104_857_600),
                Some("4af981f98d22a0b9979da24b259e5e42-12"),
                None,
                "ObjectCreated:CompleteMultipartUpload"
            )
        );
        let removed = &parsed.records[2];
        assert!(reason(removed).contains("ObjectRemoved:Delete is not an object creation"));
        assert!(reason(removed).contains("incoming/old.csv"));
        assert!(!removed.item.is_malformed());
        assert!(parsed.records.iter().all(|r| r.sqs_message_id.is_none()));
        let keys: Vec<&str> = parsed.objects().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["incoming/a.csv", "incoming/big/trips=2024.csv.gz"]);
    }

    #[test]
    fn s3_test_event_fixture() {
        let parsed = fixture(include_str!("../../../fixtures/events/s3-test-event.json"));
        assert_eq!(parsed.trigger, Trigger::S3);
        assert_eq!(parsed.records.len(), 1);
        let record = &parsed.records[0];
        assert!(reason(record).contains("s3:TestEvent"));
        assert!(reason(record).contains("\"data\""));
        assert!(!record.item.is_malformed());
        assert_eq!(parsed.objects().count(), 0);
    }

    #[test]
    fn minio_fixture() {
        let parsed = fixture(include_str!("../../../fixtures/events/minio-put.json"));
        assert_eq!(parsed.trigger, Trigger::S3);
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(
            parsed.records[0],
            Record::new(Item::Convert(obj(
                "incoming/q1 report+v2.csv",
                Some(210),
                Some("775ff5def9531772a2bb12853cd46fce"),
                None,
                "s3:ObjectCreated:Put",
            )))
        );
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
        let records = &parsed.records;
        assert_eq!(records.len(), 9);
        assert_eq!(
            object(&records[0]),
            &obj(
                "incoming/a+b c.csv",
                None,
                Some("abc"),
                None,
                "ObjectCreated:Put"
            )
        );
        assert!(reason(&records[1]).contains("only metadata"));
        assert!(!records[1].item.is_malformed());
        assert!(records[2].item.is_malformed() && reason(&records[2]).contains("not UTF-8"));
        assert!(records[3].item.is_malformed() && reason(&records[3]).contains("byte 9"));
        assert!(records[4].item.is_malformed() && reason(&records[4]).contains("empty object key"));
        assert!(records[5].item.is_malformed() && reason(&records[5]).contains("no s3.object.key"));
        assert!(
            !records[6].item.is_malformed()
                && reason(&records[6]).contains("not an object creation")
        );
        assert!(records[7].item.is_malformed() && reason(&records[7]).contains("no eventName"));
        assert!(!records[8].item.is_malformed() && reason(&records[8]).contains("aws:kinesis"));
    }

    #[test]
    fn created_event_names() {
        assert!(check_created("ObjectCreated:Put").is_ok());
        assert!(check_created("s3:ObjectCreated:CompleteMultipartUpload").is_ok());
        assert!(check_created("ObjectCreated").is_err());
        assert!(check_created("s3:ObjectRemoved:Delete").is_err());
        assert!(check_created("ObjectCreated:PutRetention").is_err());
    }
}
