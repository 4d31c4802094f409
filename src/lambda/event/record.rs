//! What an event asks for: one [`Record`] per record of the payload, whose [`Item`] is the object
//! to convert ([`ObjectRef`]) or the reason there is none.

/// One object that an event reports as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The object key, decoded (see "Object keys" in the [`event`](super) module docs).
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
    /// `bucket/key`, whatever version is current, as `event_name` asks (size and ETag unknown).
    pub fn named(bucket: &str, key: &str, event_name: &str) -> Self {
        ObjectRef {
            bucket: bucket.to_string(),
            key: key.to_string(),
            size: None,
            etag: None,
            version_id: None,
            event_name: event_name.to_string(),
        }
    }

    /// `s3://bucket/key`, for logs.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// What one record of an event asks for: an object to convert, or the reason there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Convert this object.
    Convert(ObjectRef),
    /// The record is deliberately ignored (not a creation, a metadata-only change, a test
    /// event...), for this reason.
    Ignored(String),
    /// The record could not be understood (bad JSON in an SQS body, a key that is not valid URL
    /// encoding, missing fields), for this reason. Unlike an ignored record, its SQS message
    /// should be reported as failed so that it reaches the dead-letter queue.
    Malformed(String),
}

impl Item {
    /// The object to convert, if there is one.
    pub fn object(&self) -> Option<&ObjectRef> {
        match self {
            Item::Convert(object) => Some(object),
            Item::Ignored(_) | Item::Malformed(_) => None,
        }
    }

    /// Why there is nothing to convert: `Some` exactly when [`Item::object`] is `None`.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Item::Convert(_) => None,
            Item::Ignored(reason) | Item::Malformed(reason) => Some(reason),
        }
    }

    /// Whether the record could not be understood.
    pub fn is_malformed(&self) -> bool {
        matches!(self, Item::Malformed(_))
    }
}

/// One record of an event: its [`Item`] and the SQS message it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What the record asks for.
    pub item: Item,
    /// The SQS message the record came in, for partial batch failure reports.
    pub sqs_message_id: Option<String>,
}

impl Record {
    /// A record that did not come in an SQS message.
    pub fn new(item: Item) -> Self {
        Record {
            item,
            sqs_message_id: None,
        }
    }
}

pub(super) fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

/// ETags without surrounding quotes (S3 notifications send them bare; be lenient).
pub(super) fn normalize_etag(etag: Option<String>) -> Option<String> {
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

    #[test]
    fn etags_are_normalized() {
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
    }

    #[test]
    fn item_accessors_agree_with_the_variant() {
        let object = ObjectRef {
            bucket: "data".into(),
            key: "incoming/a.csv".into(),
            size: None,
            etag: None,
            version_id: None,
            event_name: "ObjectCreated:Put".into(),
        };
        let convert = Item::Convert(object.clone());
        assert_eq!(convert.object(), Some(&object));
        assert_eq!(convert.reason(), None);
        assert!(!convert.is_malformed());
        let ignored = Item::Ignored("a deletion".into());
        assert_eq!(ignored.object(), None);
        assert_eq!(ignored.reason(), Some("a deletion"));
        assert!(!ignored.is_malformed());
        let malformed = Item::Malformed("no key".into());
        assert_eq!(malformed.object(), None);
        assert_eq!(malformed.reason(), Some("no key"));
        assert!(malformed.is_malformed());
        let record = Record::new(malformed.clone());
        assert_eq!(record.item, malformed);
        assert_eq!(record.sqs_message_id, None);
    }
}
