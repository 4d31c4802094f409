//! Helpers for the fixture tests of every envelope.

use serde_json::Value;

use super::{parse_event, Item, ObjectRef, ParsedEvent, Record};
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

/// The object of a record to convert; panics on an ignored or malformed record.
pub(super) fn object(record: &Record) -> &ObjectRef {
    match &record.item {
        Item::Convert(object) => object,
        Item::Ignored(_) | Item::Malformed(_) => panic!("record is ignored: {record:?}"),
    }
}

/// Why a record is ignored or malformed; panics on a record to convert.
pub(super) fn reason(record: &Record) -> &str {
    match &record.item {
        Item::Ignored(reason) | Item::Malformed(reason) => reason,
        Item::Convert(_) => panic!("record is not ignored: {record:?}"),
    }
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
