//! What the handler needs of the object store, as a small trait: a source for an object, the
//! outputs of a conversion (published under a [`Precondition`]), the state of an existing
//! output, the current version of an input, and a place for error reports. [`S3Store`] is the
//! real one; the unit tests of [`super::object`] use an in-memory twin.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;

use super::event::ObjectRef;
use super::response::ErrorReport;
use crate::convert::metadata;
use crate::error::{Error, Result};
use crate::s3::{
    metadata_value, object_metadata_name, Op, RequestOptions, S3Error, S3Sink, S3Source,
};
use crate::sink::{ByteSink, Output, Precondition, SinkFactory};
use crate::source::ByteSource;

/// An existing output, as the up-to-date check and the conditional publish see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputState {
    /// Its ETag (without quotes): what a publish over it must match.
    pub etag: String,
    /// The source ETag it records (without quotes).
    pub source_etag: Option<String>,
    /// The options fingerprint it records ([`crate::ConvertOptions::fingerprint`]).
    pub options: Option<String>,
}

/// Where one output of a conversion goes: its key, and what must be there for it to be
/// published ([`Precondition`]: the object seen when the run decided to convert, or none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The key in the output bucket.
    pub key: String,
    /// What the object at `key` must be for the publish to go ahead.
    pub precondition: Precondition,
}

impl Destination {
    /// A destination published over `existing` (as [`ObjectStore::output`] found it): over
    /// that ETag, over nothing when there was nothing, unconditionally when the store gave
    /// no ETag.
    pub fn over(key: String, existing: Option<&OutputState>) -> Self {
        let precondition = match existing {
            None => Precondition::Absent,
            Some(out) if out.etag.is_empty() => Precondition::None,
            Some(out) => Precondition::Matches(out.etag.clone()),
        };
        Destination { key, precondition }
    }
}

/// An input as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// Its ETag (without quotes).
    pub etag: Option<String>,
    /// Its version id (versioned buckets).
    pub version_id: Option<String>,
}

/// An object found by [`ObjectStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its ETag (without quotes), when the listing gives one.
    pub etag: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The objects of the page, in key order.
    pub objects: Vec<Listed>,
    /// The token of the next page; `None` on the last one.
    pub next: Option<String>,
}

/// The object store, as the handler uses it.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// A source reading `object` (that version, when the event names one).
    fn source(&self, object: &ObjectRef) -> Box<dyn ByteSource>;
    /// The outputs of a conversion in `bucket`: the data, and the rejected records (if asked
    /// for), each published only if the object at its key is as its precondition says.
    fn outputs(
        &self,
        bucket: &str,
        data: Destination,
        rejects: Option<Destination>,
    ) -> Box<dyn SinkFactory>;
    /// The output at `bucket/key`, or `None` when there is none. A failing request other
    /// than "not found" is an error: deciding on a guess could overwrite a newer output.
    async fn output(&self, bucket: &str, key: &str) -> Result<Option<OutputState>>;
    /// The current version of the object at `bucket/key`, or `None` when there is none.
    async fn current(&self, bucket: &str, key: &str) -> Result<Option<Current>>;
    /// Write `report` to `bucket/key`, recording the source ETag and the options fingerprint
    /// as an output does (so [`ObjectStore::output`] tells whether it is about this input and
    /// these options).
    async fn put_report(&self, bucket: &str, key: &str, report: &ErrorReport) -> Result<()>;
    /// One page of the objects under `prefix` in `bucket`, in key order: those after
    /// `start_after` on the first page, the page `token` names after that.
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        token: Option<String>,
    ) -> Result<Listing>;
    /// The S3 store this is, if it is one (the fan-out steps need S3's server-side copy).
    fn s3(&self) -> Option<&S3Store> {
        None
    }
}

/// Amazon S3 (or an S3-compatible store) through one client.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    parts_in_flight: usize,
    abort_drain: Duration,
    requests: RequestOptions,
}

impl S3Store {
    /// A store over `client`; outputs upload `parts_in_flight` parts at once, and an abort
    /// waits at most `abort_drain` for parts already uploading.
    pub fn new(client: aws_sdk_s3::Client, parts_in_flight: usize, abort_drain: Duration) -> Self {
        S3Store {
            client,
            parts_in_flight,
            abort_drain,
            requests: RequestOptions::default(),
        }
    }

    /// Send `requests` (server-side encryption of what is written, the expected bucket owner
    /// on every request).
    pub fn with_requests(mut self, requests: RequestOptions) -> Self {
        self.requests = requests;
        self
    }

    /// The client.
    pub(crate) fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// The requests' encryption and expected owner.
    pub(crate) fn requests(&self) -> &RequestOptions {
        &self.requests
    }

    /// Parts in flight per upload.
    pub(crate) fn parts_in_flight(&self) -> usize {
        self.parts_in_flight
    }

    /// A sink publishing `bucket/to.key` under `to.precondition`.
    pub(crate) fn sink(&self, bucket: &str, to: &Destination) -> S3Sink {
        self.sink_with_parts(bucket, to, self.parts_in_flight)
    }

    /// [`S3Store::sink`] with `parts` in flight (a stitch's copied parts hold no memory).
    pub(crate) fn sink_with_parts(&self, bucket: &str, to: &Destination, parts: usize) -> S3Sink {
        S3Sink::new(self.client.clone(), bucket, &to.key, parts)
            .with_abort_drain(self.abort_drain)
            .with_requests(self.requests.clone())
            .with_precondition(to.precondition.clone())
    }

    fn owner(&self) -> Option<String> {
        self.requests.expected_bucket_owner.clone()
    }

    /// HeadObject of `bucket/key`: `None` when it answers 404.
    async fn head(
        &self,
        bucket: &str,
        key: &str,
        purpose: &'static str,
    ) -> Result<Option<aws_sdk_s3::operation::head_object::HeadObjectOutput>> {
        let head = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        match head {
            Ok(out) => Ok(Some(out)),
            Err(e) => {
                let err = S3Error::request(Op::HeadObject, format!("s3://{bucket}/{key}"), e)
                    .for_purpose(purpose);
                if err.status() == Some(404) {
                    Ok(None)
                } else {
                    Err(err.into())
                }
            }
        }
    }
}

fn unquoted(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    fn s3(&self) -> Option<&S3Store> {
        Some(self)
    }

    fn source(&self, object: &ObjectRef) -> Box<dyn ByteSource> {
        Box::new(
            S3Source::new(self.client.clone(), &object.bucket, &object.key)
                .with_version_id(object.version_id.clone())
                .with_expected_bucket_owner(self.owner()),
        )
    }

    fn outputs(
        &self,
        bucket: &str,
        data: Destination,
        rejects: Option<Destination>,
    ) -> Box<dyn SinkFactory> {
        Box::new(S3Outputs {
            store: self.clone(),
            bucket: bucket.to_string(),
            data,
            rejects,
        })
    }

    async fn output(&self, bucket: &str, key: &str) -> Result<Option<OutputState>> {
        let Some(out) = self.head(bucket, key, "the existing output").await? else {
            return Ok(None);
        };
        let recorded = |name: &str| {
            out.metadata()
                .and_then(|m| m.get(&object_metadata_name(name)))
                .map(|v| unquoted(v))
        };
        Ok(Some(OutputState {
            etag: out.e_tag().map(unquoted).unwrap_or_default(),
            source_etag: recorded(metadata::SOURCE_ETAG),
            options: recorded(metadata::OPTIONS),
        }))
    }

    async fn current(&self, bucket: &str, key: &str) -> Result<Option<Current>> {
        let out = self.head(bucket, key, "the current version").await?;
        Ok(out.map(|out| Current {
            etag: out.e_tag().map(unquoted),
            version_id: out.version_id().map(str::to_string),
        }))
    }

    async fn put_report(&self, bucket: &str, key: &str, report: &ErrorReport) -> Result<()> {
        let body = serde_json::to_vec_pretty(report)
            .map_err(|e| Error::Internal(format!("error report: {e}")))?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .set_metadata(Some(report_metadata(report)))
            .set_server_side_encryption(self.requests.sse.clone())
            .set_ssekms_key_id(self.requests.sse_kms_key_id.clone())
            .set_expected_bucket_owner(self.owner())
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| {
                S3Error::request(Op::PutObject, format!("s3://{bucket}/{key}"), e)
                    .for_purpose("error report")
            })?;
        Ok(())
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        token: Option<String>,
    ) -> Result<Listing> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_start_after(start_after.map(str::to_string))
            .set_continuation_token(token)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await
            .map_err(|e| {
                S3Error::request(Op::ListObjects, format!("s3://{bucket}/{prefix}"), e)
                    .for_purpose("the objects to convert")
            })?;
        let objects = page
            .contents()
            .iter()
            .filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_string(),
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    etag: o.e_tag().map(unquoted),
                })
            })
            .collect();
        let next = match page.is_truncated() {
            Some(true) => page.next_continuation_token().map(str::to_string),
            _ => None,
        };
        Ok(Listing { objects, next })
    }
}

/// The user metadata of an error report: the source ETag and the options fingerprint, under
/// the names an output records them.
fn report_metadata(report: &ErrorReport) -> std::collections::HashMap<String, String> {
    let mut m = std::collections::HashMap::new();
    if let Some(etag) = &report.etag {
        m.insert(
            object_metadata_name(metadata::SOURCE_ETAG),
            metadata_value(etag),
        );
    }
    m.insert(
        object_metadata_name(metadata::OPTIONS),
        metadata_value(&report.options),
    );
    m
}

/// The destination of `output`: the data's, or the rejects' (which an input may not have).
fn destination<'a>(
    output: Output,
    data: &'a Destination,
    rejects: Option<&'a Destination>,
) -> Result<&'a Destination> {
    match output {
        Output::Data => Ok(data),
        Output::Rejects => {
            rejects.ok_or_else(|| Error::config("CSV2PQ_ON_ERROR", "no rejects key for this input"))
        }
    }
}

/// The sinks of one conversion into S3.
struct S3Outputs {
    store: S3Store,
    bucket: String,
    data: Destination,
    rejects: Option<Destination>,
}

#[async_trait::async_trait]
impl SinkFactory for S3Outputs {
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
        let to = destination(output, &self.data, self.rejects.as_ref())?;
        Ok(Box::new(self.store.sink(&self.bucket, to)))
    }
}

#[cfg(test)]
pub(crate) mod memory {
    //! The in-memory twin of [`S3Store`]: objects (and their past versions) in a map, outputs
    //! published on complete under their precondition, checked atomically as S3 does, with the
    //! source metadata a real store keeps. A hook runs just before a publish is checked (to
    //! stage a race), and HEADs can be made to fail transiently.

    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::budget::ReadAhead;
    use crate::error::ErrorKind;
    use crate::source::{ByteStream, MemorySource, SourceInfo};

    /// An object: its bytes, ETag, version and metadata (under the names S3 keeps).
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Object {
        pub bytes: Bytes,
        pub etag: String,
        pub version_id: Option<String>,
        pub metadata: HashMap<String, String>,
    }

    type Hook = Box<dyn FnMut(&str) + Send>;
    /// Objects per page of [`MemoryStore::list`].
    const LIST_PAGE: usize = 7;
    /// Past versions by `(bucket, key, version)`.
    type Versions = HashMap<(String, String, String), Object>;

    /// Objects by `(bucket, key)`, past versions by `(bucket, key, version)`.
    #[derive(Clone, Default)]
    pub(crate) struct MemoryStore {
        pub objects: Arc<Mutex<HashMap<(String, String), Object>>>,
        versions: Arc<Mutex<Versions>>,
        before_publish: Arc<Mutex<Option<Hook>>>,
        failing_heads: Arc<AtomicUsize>,
        published: Arc<AtomicU64>,
    }

    fn store_error(op: &str, location: String, retryable: bool, source: &str) -> Error {
        Error::Store {
            op: op.into(),
            location,
            retryable,
            kind: ErrorKind::Io,
            source: source.into(),
        }
    }

    impl MemoryStore {
        pub(crate) fn put(&self, bucket: &str, key: &str, bytes: &[u8], etag: &str) {
            self.insert(bucket, key, bytes, etag, None);
        }

        /// Store a new version of `bucket/key` (a versioned bucket).
        pub(crate) fn put_version(
            &self,
            bucket: &str,
            key: &str,
            bytes: &[u8],
            etag: &str,
            version: &str,
        ) {
            self.insert(bucket, key, bytes, etag, Some(version));
        }

        fn insert(&self, bucket: &str, key: &str, bytes: &[u8], etag: &str, v: Option<&str>) {
            let object = Object {
                bytes: Bytes::copy_from_slice(bytes),
                etag: etag.to_string(),
                version_id: v.map(str::to_string),
                metadata: HashMap::new(),
            };
            if let (Some(v), Ok(mut versions)) = (v, self.versions.lock()) {
                let id = (bucket.to_string(), key.to_string(), v.to_string());
                versions.insert(id, object.clone());
            }
            if let Ok(mut objects) = self.objects.lock() {
                objects.insert((bucket.to_string(), key.to_string()), object);
            }
        }

        pub(crate) fn get(&self, bucket: &str, key: &str) -> Option<Object> {
            let objects = self.objects.lock().ok()?;
            objects.get(&(bucket.to_string(), key.to_string())).cloned()
        }

        fn get_version(&self, bucket: &str, key: &str, version: &str) -> Option<Object> {
            let versions = self.versions.lock().ok()?;
            let id = (bucket.to_string(), key.to_string(), version.to_string());
            versions.get(&id).cloned()
        }

        /// Run `hook` (with the key) just before each publish is checked.
        pub(crate) fn before_publish(&self, hook: impl FnMut(&str) + Send + 'static) {
            if let Ok(mut slot) = self.before_publish.lock() {
                *slot = Some(Box::new(hook));
            }
        }

        /// Make the next `n` HEADs of outputs fail with a retryable error.
        pub(crate) fn fail_heads(&self, n: usize) {
            self.failing_heads.store(n, Ordering::SeqCst);
        }

        /// Publish `object` at `bucket/key` (remove what is there when `None`) if what is
        /// there satisfies `precondition`; the check and the write under one lock, as S3
        /// applies a conditional write. A removal of what is already gone does nothing.
        fn publish(
            &self,
            bucket: &str,
            key: &str,
            object: Option<Object>,
            precondition: &Precondition,
        ) -> Result<()> {
            if let Ok(mut hook) = self.before_publish.lock() {
                if let Some(hook) = hook.as_mut() {
                    hook(key);
                }
            }
            let mut objects = self
                .objects
                .lock()
                .map_err(|_| Error::Internal("store lock".into()))?;
            let id = (bucket.to_string(), key.to_string());
            let holds = match (precondition, objects.get(&id)) {
                (Precondition::None, _) | (Precondition::Absent, None) => true,
                (Precondition::Matches(_), None) if object.is_none() => true,
                (Precondition::Matches(etag), Some(o)) => &o.etag == etag,
                _ => false,
            };
            if !holds {
                return Err(Error::Superseded {
                    location: format!("s3://{bucket}/{key}"),
                    reason: format!("the output changed since this run started ({precondition})"),
                    source: "HTTP 412, PreconditionFailed".into(),
                });
            }
            let Some(mut object) = object else {
                objects.remove(&id);
                return Ok(());
            };
            let n = self.published.fetch_add(1, Ordering::SeqCst) + 1;
            object.etag = format!("out-{n}");
            objects.insert(id, object);
            Ok(())
        }
    }

    /// A source over a stored object, with its ETag and version.
    struct StoredSource {
        inner: MemorySource,
        etag: String,
        version_id: Option<String>,
    }

    #[async_trait::async_trait]
    impl ByteSource for StoredSource {
        fn location(&self) -> &str {
            self.inner.location()
        }
        async fn head(&self) -> Result<SourceInfo> {
            let mut info = self.inner.head().await?;
            info.etag = Some(format!("\"{}\"", self.etag));
            info.version_id = self.version_id.clone();
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
            Err(store_error(
                "HeadObject",
                self.0.clone(),
                false,
                "HTTP 404, NoSuchKey",
            ))
        }
        async fn open(&self, _offset: u64, _read_ahead: &ReadAhead) -> Result<ByteStream> {
            Err(Error::Internal("open before head".into()))
        }
    }

    /// A sink that publishes its object on complete.
    struct StoredSink {
        store: MemoryStore,
        bucket: String,
        key: String,
        location: String,
        buf: BytesMut,
        metadata: HashMap<String, String>,
        precondition: Precondition,
    }

    #[async_trait::async_trait]
    impl ByteSink for StoredSink {
        fn location(&self) -> &str {
            &self.location
        }
        fn set_metadata(&mut self, metadata: &[(String, String)]) {
            self.metadata = metadata
                .iter()
                .map(|(k, v)| (object_metadata_name(k), crate::s3::metadata_value(v)))
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
                bytes,
                metadata: std::mem::take(&mut self.metadata),
                ..Object::default()
            };
            self.store
                .publish(&self.bucket, &self.key, Some(object), &self.precondition)?;
            Ok(len)
        }
        async fn abort(&mut self) -> Result<()> {
            self.buf.clear();
            Ok(())
        }
        async fn remove_existing(&mut self) -> Result<()> {
            if !matches!(self.precondition, Precondition::Matches(_)) {
                return Ok(());
            }
            self.store
                .publish(&self.bucket, &self.key, None, &self.precondition)
        }
    }

    struct StoredOutputs {
        store: MemoryStore,
        bucket: String,
        data: Destination,
        rejects: Option<Destination>,
    }

    #[async_trait::async_trait]
    impl SinkFactory for StoredOutputs {
        async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
            let to = destination(output, &self.data, self.rejects.as_ref())?;
            let (key, precondition) = (to.key.clone(), to.precondition.clone());
            Ok(Box::new(StoredSink {
                store: self.store.clone(),
                location: format!("s3://{}/{key}", self.bucket),
                bucket: self.bucket.clone(),
                key,
                buf: BytesMut::new(),
                metadata: HashMap::new(),
                precondition,
            }))
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for MemoryStore {
        fn source(&self, object: &ObjectRef) -> Box<dyn ByteSource> {
            let location = object.url();
            let stored = match &object.version_id {
                Some(v) => self.get_version(&object.bucket, &object.key, v),
                None => self.get(&object.bucket, &object.key),
            };
            match stored {
                Some(o) => Box::new(StoredSource {
                    inner: MemorySource::new(location, o.bytes),
                    etag: o.etag,
                    version_id: o.version_id,
                }),
                None => Box::new(Missing(location)),
            }
        }

        fn outputs(
            &self,
            bucket: &str,
            data: Destination,
            rejects: Option<Destination>,
        ) -> Box<dyn SinkFactory> {
            Box::new(StoredOutputs {
                store: self.clone(),
                bucket: bucket.to_string(),
                data,
                rejects,
            })
        }

        async fn output(&self, bucket: &str, key: &str) -> Result<Option<OutputState>> {
            let failing = self.failing_heads.load(Ordering::SeqCst);
            if failing > 0 {
                self.failing_heads.store(failing - 1, Ordering::SeqCst);
                let location = format!("s3://{bucket}/{key}");
                return Err(store_error(
                    "HeadObject",
                    location,
                    true,
                    "HTTP 503, SlowDown",
                ));
            }
            Ok(self.get(bucket, key).map(|o| {
                let recorded = |name: &str| {
                    o.metadata
                        .get(&object_metadata_name(name))
                        .map(|v| v.trim_matches('"').to_string())
                };
                OutputState {
                    source_etag: recorded(metadata::SOURCE_ETAG),
                    options: recorded(metadata::OPTIONS),
                    etag: o.etag.clone(),
                }
            }))
        }

        async fn current(&self, bucket: &str, key: &str) -> Result<Option<Current>> {
            Ok(self.get(bucket, key).map(|o| Current {
                etag: Some(o.etag),
                version_id: o.version_id,
            }))
        }

        async fn put_report(&self, bucket: &str, key: &str, report: &ErrorReport) -> Result<()> {
            let body = serde_json::to_vec_pretty(report)
                .map_err(|e| Error::Internal(format!("error report: {e}")))?;
            self.put(bucket, key, &body, "report");
            if let Ok(mut objects) = self.objects.lock() {
                if let Some(o) = objects.get_mut(&(bucket.to_string(), key.to_string())) {
                    o.metadata = report_metadata(report);
                }
            }
            Ok(())
        }

        async fn list(
            &self,
            bucket: &str,
            prefix: &str,
            start_after: Option<&str>,
            token: Option<String>,
        ) -> Result<Listing> {
            let objects = self
                .objects
                .lock()
                .map_err(|_| Error::Internal("store lock".into()))?;
            let after = token.as_deref().or(start_after).unwrap_or("");
            let mut keys: Vec<(&String, &Object)> = objects
                .iter()
                .filter(|((b, k), _)| b == bucket && k.starts_with(prefix) && k.as_str() > after)
                .map(|((_, k), o)| (k, o))
                .collect();
            keys.sort_by(|a, b| a.0.cmp(b.0));
            // Small pages, so that tests page.
            let page: Vec<Listed> = keys
                .iter()
                .take(LIST_PAGE)
                .map(|(k, o)| Listed {
                    key: k.to_string(),
                    size: o.bytes.len() as u64,
                    etag: Some(o.etag.clone()),
                })
                .collect();
            let next = (keys.len() > LIST_PAGE).then(|| page[LIST_PAGE - 1].key.clone());
            Ok(Listing {
                objects: page,
                next,
            })
        }
    }
}
