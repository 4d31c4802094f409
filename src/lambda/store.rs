//! What the handler needs of the object store, as a small trait: a source for an object, the
//! outputs of a conversion, the source ETag an existing output records, and a place for error
//! reports. [`S3Store`] is the real one; the unit tests of [`super::object`] use an in-memory
//! twin.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;

use super::event::ObjectRef;
use super::response::ErrorReport;
use crate::convert::metadata;
use crate::error::{Error, Result};
use crate::s3::{object_metadata_name, Op, S3Error, S3Sink, S3Source};
use crate::sink::{ByteSink, Output, SinkFactory};
use crate::source::ByteSource;

/// The object store, as the handler uses it.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// A source reading `object` (that version, when the event names one).
    fn source(&self, object: &ObjectRef) -> Box<dyn ByteSource>;
    /// The outputs of a conversion: the data at `bucket/key`, the rejected records (if
    /// asked for) at `bucket/rejects_key`.
    fn outputs(&self, bucket: &str, key: &str, rejects_key: Option<String>)
        -> Box<dyn SinkFactory>;
    /// The source ETag recorded on the output at `bucket/key`, if it exists and has one.
    async fn output_source_etag(&self, bucket: &str, key: &str) -> Option<String>;
    /// Write `report` to `bucket/key`.
    async fn put_report(&self, bucket: &str, key: &str, report: &ErrorReport) -> Result<()>;
}

/// Amazon S3 (or an S3-compatible store) through one client.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    parts_in_flight: usize,
    abort_drain: Duration,
}

impl S3Store {
    /// A store over `client`; outputs upload `parts_in_flight` parts at once, and an abort
    /// waits at most `abort_drain` for parts already uploading.
    pub fn new(client: aws_sdk_s3::Client, parts_in_flight: usize, abort_drain: Duration) -> Self {
        S3Store {
            client,
            parts_in_flight,
            abort_drain,
        }
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    fn source(&self, object: &ObjectRef) -> Box<dyn ByteSource> {
        Box::new(
            S3Source::new(self.client.clone(), &object.bucket, &object.key)
                .with_version_id(object.version_id.clone()),
        )
    }

    fn outputs(
        &self,
        bucket: &str,
        key: &str,
        rejects_key: Option<String>,
    ) -> Box<dyn SinkFactory> {
        Box::new(S3Outputs {
            store: self.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            rejects_key,
        })
    }

    async fn output_source_etag(&self, bucket: &str, key: &str) -> Option<String> {
        let out = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        out.metadata()?
            .get(&object_metadata_name(metadata::SOURCE_ETAG))
            .cloned()
    }

    async fn put_report(&self, bucket: &str, key: &str, report: &ErrorReport) -> Result<()> {
        let body = serde_json::to_vec_pretty(report)
            .map_err(|e| Error::Internal(format!("error report: {e}")))?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| {
                S3Error::request(Op::PutObject, format!("s3://{bucket}/{key}"), e)
                    .for_purpose("error report")
            })?;
        Ok(())
    }
}

/// The key of `output`: the data's, or the rejects' (which an input may not have).
fn output_key<'a>(output: Output, key: &'a str, rejects_key: Option<&'a str>) -> Result<&'a str> {
    match output {
        Output::Data => Ok(key),
        Output::Rejects => rejects_key
            .ok_or_else(|| Error::config("CSV2PQ_ON_ERROR", "no rejects key for this input")),
    }
}

/// The sinks of one conversion into S3.
struct S3Outputs {
    store: S3Store,
    bucket: String,
    key: String,
    rejects_key: Option<String>,
}

#[async_trait::async_trait]
impl SinkFactory for S3Outputs {
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
        let key = output_key(output, &self.key, self.rejects_key.as_deref())?;
        let sink = S3Sink::new(
            self.store.client.clone(),
            &self.bucket,
            key,
            self.store.parts_in_flight,
        )
        .with_abort_drain(self.store.abort_drain);
        Ok(Box::new(sink))
    }
}

#[cfg(test)]
pub(crate) mod memory {
    //! The in-memory twin of [`S3Store`]: objects in a map, outputs published on complete with
    //! the source metadata a real store keeps.

    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::budget::ReadAhead;
    use crate::source::{ByteStream, MemorySource, SourceInfo};

    /// An object: its bytes, ETag and metadata (under the names S3 keeps).
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Object {
        pub bytes: Bytes,
        pub etag: String,
        pub metadata: HashMap<String, String>,
    }

    /// Objects by `(bucket, key)`.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct MemoryStore {
        pub objects: Arc<Mutex<HashMap<(String, String), Object>>>,
    }

    impl MemoryStore {
        pub(crate) fn put(&self, bucket: &str, key: &str, bytes: &[u8], etag: &str) {
            let object = Object {
                bytes: Bytes::copy_from_slice(bytes),
                etag: etag.to_string(),
                metadata: HashMap::new(),
            };
            if let Ok(mut objects) = self.objects.lock() {
                objects.insert((bucket.to_string(), key.to_string()), object);
            }
        }

        pub(crate) fn get(&self, bucket: &str, key: &str) -> Option<Object> {
            let objects = self.objects.lock().ok()?;
            objects.get(&(bucket.to_string(), key.to_string())).cloned()
        }
    }

    /// A source over a stored object, with its ETag.
    struct StoredSource {
        inner: MemorySource,
        etag: String,
    }

    #[async_trait::async_trait]
    impl ByteSource for StoredSource {
        fn location(&self) -> &str {
            self.inner.location()
        }
        async fn head(&self) -> Result<SourceInfo> {
            let mut info = self.inner.head().await?;
            info.etag = Some(format!("\"{}\"", self.etag));
            Ok(info)
        }
        async fn open(&self, offset: u64, read_ahead: &ReadAhead) -> Result<ByteStream> {
            self.inner.open(offset, read_ahead).await
        }
    }

    /// A source for a missing object: HeadObject answers 404.
    struct Missing(String);

    #[async_trait::async_trait]
    impl ByteSource for Missing {
        fn location(&self) -> &str {
            &self.0
        }
        async fn head(&self) -> Result<SourceInfo> {
            Err(Error::Store {
                op: "HeadObject".into(),
                location: self.0.clone(),
                retryable: false,
                kind: crate::error::ErrorKind::Config,
                source: "HTTP 404, NoSuchKey".into(),
            })
        }
        async fn open(&self, _offset: u64, _read_ahead: &ReadAhead) -> Result<ByteStream> {
            Err(Error::Internal("open before head".into()))
        }
    }

    /// A sink that stores its object on complete.
    struct StoredSink {
        store: MemoryStore,
        bucket: String,
        key: String,
        location: String,
        buf: BytesMut,
        metadata: HashMap<String, String>,
    }

    #[async_trait::async_trait]
    impl ByteSink for StoredSink {
        fn location(&self) -> &str {
            &self.location
        }
        fn set_metadata(&mut self, metadata: &[(String, String)]) {
            self.metadata = metadata
                .iter()
                .map(|(k, v)| (object_metadata_name(k), v.clone()))
                .collect();
        }
        async fn put_part(&mut self, part: Bytes) -> Result<()> {
            self.buf.extend_from_slice(&part);
            Ok(())
        }
        async fn complete(&mut self) -> Result<u64> {
            let bytes = std::mem::take(&mut self.buf).freeze();
            let len = bytes.len() as u64;
            let object = Object {
                etag: format!("out-{len}"),
                bytes,
                metadata: std::mem::take(&mut self.metadata),
            };
            if let Ok(mut objects) = self.store.objects.lock() {
                objects.insert((self.bucket.clone(), self.key.clone()), object);
            }
            Ok(len)
        }
        async fn abort(&mut self) -> Result<()> {
            self.buf.clear();
            Ok(())
        }
    }

    struct StoredOutputs {
        store: MemoryStore,
        bucket: String,
        key: String,
        rejects_key: Option<String>,
    }

    #[async_trait::async_trait]
    impl SinkFactory for StoredOutputs {
        async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
            let key = output_key(output, &self.key, self.rejects_key.as_deref())?.to_string();
            Ok(Box::new(StoredSink {
                store: self.store.clone(),
                location: format!("s3://{}/{key}", self.bucket),
                bucket: self.bucket.clone(),
                key,
                buf: BytesMut::new(),
                metadata: HashMap::new(),
            }))
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for MemoryStore {
        fn source(&self, object: &ObjectRef) -> Box<dyn ByteSource> {
            let location = object.url();
            match self.get(&object.bucket, &object.key) {
                Some(o) => Box::new(StoredSource {
                    inner: MemorySource::new(location, o.bytes),
                    etag: o.etag,
                }),
                None => Box::new(Missing(location)),
            }
        }

        fn outputs(
            &self,
            bucket: &str,
            key: &str,
            rejects_key: Option<String>,
        ) -> Box<dyn SinkFactory> {
            Box::new(StoredOutputs {
                store: self.clone(),
                bucket: bucket.to_string(),
                key: key.to_string(),
                rejects_key,
            })
        }

        async fn output_source_etag(&self, bucket: &str, key: &str) -> Option<String> {
            let object = self.get(bucket, key)?;
            object
                .metadata
                .get(&object_metadata_name(metadata::SOURCE_ETAG))
                .cloned()
        }

        async fn put_report(&self, bucket: &str, key: &str, report: &ErrorReport) -> Result<()> {
            let body = serde_json::to_vec_pretty(report)
                .map_err(|e| Error::Internal(format!("error report: {e}")))?;
            self.put(bucket, key, &body, "report");
            Ok(())
        }
    }
}
