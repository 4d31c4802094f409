//! Helpers for the fixture tests of every envelope.

use serde_json::Value;

use super::{parse_event, Item, ObjectRef, ParsedEvent};
use crate::error::ErrorKind;

pub(super) fn fixture(text: &str) -> ParsedEvent {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => panic!("fixture is not JSON: {e}"),
    };
    match parse_event(&value) {
        Ok(parsed) => parsed,
        Err(e) => panic!("fixture does not parse: {e}"),
    }
}

pub(super) fn object(item: &Item) -> &ObjectRef {
    match &item.object {
        Some(object) => object,
        None => panic!("item is ignored: {:?}", item.ignored),
    }
}

pub(super) fn reason(item: &Item) -> &str {
    assert!(item.object.is_none(), "{item:?}");
    item.ignored.as_deref().unwrap_or_default()
}

pub(super) fn obj(
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

pub(super) fn parse_err(value: Value) -> String {
    match parse_event(&value) {
        Ok(parsed) => panic!("{value} parsed: {parsed:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::BadInput);
            e.to_string()
        }
    }
}
