//! The SQS message wrapping: an SQS batch (`{"Records": [{"eventSource": "aws:sqs", "body":
//! "...", ...}]}`) whose message bodies are S3 notifications, S3's `s3:TestEvent`, an SNS
//! envelope around a notification, or an EventBridge event. Every record carries the id of its
//! message, for partial batch failure reports.

use aws_lambda_events::sqs::SqsMessage;
use serde_json::Value;

use super::eventbridge::{eventbridge_item, is_eventbridge};
use super::record::{Item, Record};
use super::s3::{is_s3_record, is_test_event, s3_record_item, test_event_item};
use super::{field_list, source_of};
use crate::error::quote_value;

pub(super) fn is_sqs_message(record: &Value) -> bool {
    record.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")
}

/// The records of one SQS message, each tagged with its message id.
pub(super) fn sqs_message_records(record: &Value) -> Vec<Record> {
    let raw_id = record
        .get("messageId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let message: SqsMessage = match serde_json::from_value(record.clone()) {
        Ok(message) => message,
        Err(e) => {
            return vec![Record {
                item: Item::Malformed(format!("SQS message does not have the SQS shape: {e}")),
                sqs_message_id: raw_id,
            }]
        }
    };
    let id = message.message_id.or(raw_id);
    let items = match message.body.as_deref() {
        None => vec![Item::Malformed("SQS message has no body".into())],
        Some(body) => match serde_json::from_str::<Value>(body) {
            Err(e) => vec![Item::Malformed(format!(
                "SQS message body is not JSON ({e}): \"{}\"",
                quote_value(body.as_bytes())
            ))],
            Ok(body) => match notification_items(&body, 0) {
                Ok(items) if items.is_empty() => {
                    vec![Item::Ignored("SQS message body has no records".into())]
                }
                Ok(items) => items,
                Err(why) => vec![Item::Malformed(format!("SQS message body: {why}"))],
            },
        },
    };
    items
        .into_iter()
        .map(|item| Record {
            item,
            sqs_message_id: id.clone(),
        })
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
                    Item::Malformed(format!(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::event::testing::{fixture, obj, object, reason};
    use crate::lambda::event::{parse_event, Trigger};

    #[test]
    fn sqs_fixture() {
        let parsed = fixture(include_str!("../../../fixtures/events/sqs-s3.json"));
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
        assert_eq!(parsed.records.len(), expected.len());
        for (record, (id, want)) in parsed.records.iter().zip(expected) {
            assert_eq!(record.sqs_message_id.as_deref(), Some(id));
            assert_eq!(object(record), &want);
            assert_eq!(record.item.reason(), None);
            assert!(!record.item.is_malformed());
        }
        assert!(parsed.malformed_message_ids().is_empty());
    }

    #[test]
    fn sqs_malformed_fixture() {
        let parsed = fixture(include_str!("../../../fixtures/events/sqs-malformed.json"));
        assert_eq!(parsed.trigger, Trigger::Sqs);
        assert_eq!(parsed.records.len(), 4);
        let id = |n: u8| format!("a1b2c3d4-0000-4000-8000-00000000000{n}");

        let ok = &parsed.records[0];
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
        assert!(!ok.item.is_malformed());

        let not_json = &parsed.records[1];
        assert_eq!(not_json.sqs_message_id, Some(id(2)));
        assert!(not_json.item.is_malformed());
        assert!(reason(not_json).contains("not JSON"), "{not_json:?}");
        assert!(
            reason(not_json).contains("this is not JSON"),
            "{not_json:?}"
        );

        let test_event = &parsed.records[2];
        assert_eq!(test_event.sqs_message_id, Some(id(3)));
        assert!(!test_event.item.is_malformed());
        assert!(reason(test_event).contains("s3:TestEvent"));

        let bad_key = &parsed.records[3];
        assert_eq!(bad_key.sqs_message_id, Some(id(4)));
        assert!(bad_key.item.is_malformed());
        assert!(
            reason(bad_key).contains("incoming/bad%zzname.csv"),
            "{bad_key:?}"
        );
        assert!(reason(bad_key).contains("byte 12"), "{bad_key:?}");

        let (id2, id4) = (id(2), id(4));
        assert_eq!(parsed.malformed_message_ids(), [id2.as_str(), id4.as_str()]);
    }

    #[test]
    fn sqs_bodies_of_other_shapes() {
        use serde_json::json;
        let s3_body = include_str!("../../../fixtures/events/s3-put.json");
        let eventbridge_body =
            include_str!("../../../fixtures/events/eventbridge-object-created.json");
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
        let records = &parsed.records;
        assert_eq!(records.len(), 9);
        let ids: Vec<Option<&str>> = records
            .iter()
            .map(|r| r.sqs_message_id.as_deref())
            .collect();
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
            object(&records[0]).key,
            "incoming/2024/sales report été+final.csv"
        );
        assert_eq!(
            object(&records[1]).key,
            "incoming/q1 report+final 10:30.csv"
        );
        assert!(records[2].item.is_malformed() && reason(&records[2]).contains("SNS message"));
        assert!(!records[3].item.is_malformed() && reason(&records[3]).contains("no records"));
        assert!(records[4].item.is_malformed() && reason(&records[4]).contains("\"hello\""));
        assert!(records[5].item.is_malformed() && reason(&records[5]).contains("no body"));
        assert!(records[6].item.is_malformed() && reason(&records[6]).contains("aws:kinesis"));
        assert!(records[7].item.is_malformed() && reason(&records[7]).contains("SQS shape"));
        assert!(!records[8].item.is_malformed());
        assert_eq!(
            parsed.malformed_message_ids(),
            ["sns-bad", "other", "nobody", "kinesis", "weird"]
        );
    }
}
