//! The EventBridge event from `aws.s3` (`"detail-type": "Object Created"`). Its keys are not
//! URL-encoded and are used verbatim (see "Object keys" in the [`event`](super) module docs).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

use super::record::{non_empty, normalize_etag, Item, ObjectRef};

pub(super) fn is_eventbridge(value: &Value) -> bool {
    value.get("detail-type").is_some() && value.get("source").is_some()
}

/// The item of one EventBridge event; `Err` when it is not an S3 event at all.
pub(super) fn eventbridge_item(value: &Value) -> std::result::Result<Item, String> {
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
        return Ok(Item::Ignored(format!(
            "EventBridge {detail_type:?} is not an object creation"
        )));
    }
    let object = &detail["object"];
    let Some(bucket) = non_empty(detail["bucket"]["name"].as_str().map(str::to_owned)) else {
        return Ok(Item::Malformed(
            "EventBridge event has no detail.bucket.name".into(),
        ));
    };
    // Used verbatim: EventBridge keys are not URL-encoded (`event` module docs).
    let Some(key) = non_empty(object["key"].as_str().map(str::to_owned)) else {
        return Ok(Item::Malformed(
            "EventBridge event has no detail.object.key".into(),
        ));
    };
    Ok(Item::Convert(ObjectRef {
        bucket,
        key,
        size: object["size"].as_u64(),
        etag: normalize_etag(object["etag"].as_str().map(str::to_owned)),
        version_id: non_empty(object["version-id"].as_str().map(str::to_owned)),
        event_name: detail_type,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::event::testing::{fixture, obj, reason};
    use crate::lambda::event::{parse_event, Record, Trigger};

    #[test]
    fn eventbridge_fixture() {
        let parsed = fixture(include_str!(
            "../../../fixtures/events/eventbridge-object-created.json"
        ));
        assert_eq!(parsed.trigger, Trigger::EventBridge);
        assert_eq!(parsed.records.len(), 1);
        let record = &parsed.records[0];
        // Not URL-decoded: '+' stays '+', the space and ':' are literal.
        assert_eq!(
            record,
            &Record::new(Item::Convert(obj(
                "incoming/q1 report+final 10:30.csv",
                Some(5),
                Some("b1946ac92492d2347c6235b4d2611184"),
                Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"),
                "Object Created",
            )))
        );
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
        assert!(reason(&parsed.records[0]).contains("Object Deleted"));
        assert!(!parsed.records[0].item.is_malformed());

        // Minimal event, an unparseable time, a %-sign in the key (kept as is).
        let minimal = json!({
            "detail-type": "Object Created", "source": "aws.s3", "time": "yesterday",
            "detail": {"bucket": {"name": "data"}, "object": {"key": "incoming/100%25 a+b.csv"}}
        });
        let parsed = parse_event(&minimal).ok();
        let record = parsed.as_ref().map(|p| &p.records[0]);
        assert_eq!(
            record.and_then(|r| r.item.object()),
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
        assert!(parsed.is_some_and(|p| p.records[0].item.is_malformed()));
    }
}
