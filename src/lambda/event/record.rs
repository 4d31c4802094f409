//! What an event asks for: one [`Item`] per record, the object to convert ([`ObjectRef`]) or
//! the reason there is none.

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
    /// `s3://bucket/key`, for logs.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
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

    pub(super) fn in_message(self, message_id: Option<String>) -> Self {
        Item {
            sqs_message_id: message_id,
            ..self
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
}
