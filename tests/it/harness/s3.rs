//! In-process S3-compatible server for integration tests.
//!
//! [`TestS3`] serves an [`s3s_fs::FileSystem`] (a directory-backed S3
//! implementation) over real HTTP on loopback, with SigV4 authentication
//! (access key [`ACCESS_KEY`], secret [`SECRET_KEY`]). Requests from the
//! SDK go through a fault-injection layer that sits between the TCP
//! connection and the s3s service and is driven by a shared [`Faults`] rule
//! list.
//!
//! Design notes:
//!
//! * The server runs on its **own thread with its own tokio runtime**, so it
//!   keeps serving while a test blocks its own thread (a subprocess, a
//!   `block_on`, heavy CPU work on a current-thread test runtime...). It is
//!   stopped (all connection tasks aborted) when the [`TestS3`] is dropped;
//!   the temporary directory is removed afterwards.
//! * There are two listeners over the same storage. `endpoint` goes through
//!   the fault layer (counted, faults applied). A second, private "control"
//!   listener is used by the harness helpers ([`TestS3::create_bucket`],
//!   [`TestS3::put`], [`TestS3::get`]) so that setup and verification never
//!   consume a fault rule nor show up in [`Faults::count`].
//! * The S3 behind the fault layer is the library's
//!   [`s3_csv2parquet::testkit::s3_server::Validated`], the same store the
//!   CLI's embedded server runs: s3s-fs with the checks that make it answer
//!   as S3 does (conditional GET/HEAD: 412 `PreconditionFailed`, 304
//!   `NotModified`; 404 `NoSuchUpload` for an upload that is not open;
//!   NoSuchBucket, key rules, NoSuchVersion; ListMultipartUploads).
//!
//! s3s-fs on-disk layout (read from the 0.14.1 sources, `src/fs.rs`), all
//! internal files live directly in the root, next to the bucket directories:
//!
//! * `<root>/<bucket>/<key>` — object data (keys with `/` become directories);
//! * `.upload-<uuid>.json` — one per **open multipart upload** (holds the
//!   owner's access key); created by CreateMultipartUpload, removed by
//!   CompleteMultipartUpload / AbortMultipartUpload. This is what
//!   [`TestS3::open_uploads`] counts;
//! * `.upload_id-<uuid>.part-<n>` — staged part data ([`TestS3::staged_parts`]);
//! * `.bucket-<b64 bucket>.object-<b64 key>[.upload-<uuid>].metadata.json`
//!   and `.bucket-….object-….internal.json` — metadata / stored ETag;
//! * `.tmp.<n>.internal.part` — in-flight atomic writes.
//!
//! Quirk: s3s-fs 0.14.1 stores a literal `+` in a key as a space; avoid `+`
//! in test keys.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use bytes::{Buf, Bytes};
use futures::future::BoxFuture;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::http::{header, Extensions, HeaderMap, Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3_csv2parquet::s3::S3Sink;
use s3_csv2parquet::sink::ByteSink;
use s3_csv2parquet::testkit::s3_server::Validated;
use s3_csv2parquet::testkit::Rng;
use s3s::auth::SimpleAuth;
use s3s::dto::{PutObjectInput, StreamingBlob};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{s3_error, S3Request, S3Result, S3};
use s3s_fs::FileSystem;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Access key accepted by the server.
pub const ACCESS_KEY: &str = "test";
/// Secret key accepted by the server.
pub const SECRET_KEY: &str = "testsecret";
/// Region the clients sign for.
pub const REGION: &str = "us-east-1";

/// How long [`Fault::Hang`] sleeps before giving up (the task is aborted
/// earlier when the server is dropped).
const HANG_FOR: Duration = Duration::from_secs(3600);
/// Pause between the last byte sent and the injected body error of
/// [`Fault::ResetMidBody`], so hyper flushes the head and the partial body
/// before the connection is torn down.
const RESET_FLUSH_DELAY: Duration = Duration::from_millis(30);

// ---------------------------------------------------------------------------
// Fault rules
// ---------------------------------------------------------------------------

/// S3 operation class of a request, derived from method + query + path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `GET /bucket/key` (not `?uploadId=`, i.e. not ListParts).
    GetObject,
    /// `PUT /bucket/key` without `partNumber`/`uploadId` and without
    /// `x-amz-copy-source`.
    PutObject,
    /// `POST /bucket/key?uploads`.
    CreateMultipartUpload,
    /// `PUT /bucket/key?partNumber=N&uploadId=U`.
    UploadPart,
    /// `POST /bucket/key?uploadId=U`.
    CompleteMultipartUpload,
    /// `DELETE /bucket/key?uploadId=U`.
    AbortMultipartUpload,
    /// `HEAD /bucket/key`.
    HeadObject,
    /// Everything else: bucket-level requests (CreateBucket, ListObjectsV2,
    /// HeadBucket...), DeleteObject, CopyObject, ListParts, sub-resources.
    Other,
    /// Matches every request (for rules and [`Faults::count`]).
    Any,
}

impl Op {
    fn matches(self, op: Op) -> bool {
        self == Op::Any || self == op
    }
}

/// What to do to a request selected by a [`Rule`].
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and an S3 XML error body (500 →
    /// `InternalError`, 503 → `SlowDown`, ...) without calling the server.
    /// The request body is drained first so the client sees the answer.
    Status(u16),
    /// Call the server, stream the first `after_bytes` bytes of the response
    /// body, then error the body stream so hyper aborts the connection: the
    /// client gets the headers and an incomplete body. No effect if the body
    /// is not longer than `after_bytes`.
    ResetMidBody {
        /// Bytes of the body delivered before the reset.
        after_bytes: usize,
    },
    /// Call the server (so the request is applied, response body drained),
    /// then close the connection without sending any response.
    LostResponse,
    /// Never respond (sleeps for an hour; aborted when the server drops).
    Hang,
    /// Before forwarding the request, replace `bucket/key` with `body`
    /// through s3s-fs's own PutObject (new data, new stored ETag), then
    /// answer normally — simulates a concurrent overwrite.
    Overwrite {
        /// Bucket of the object to replace.
        bucket: String,
        /// Key of the object to replace.
        key: String,
        /// New content.
        body: Bytes,
    },
    /// Read at most `after_bytes` of the request body, then close the
    /// connection without calling the server (the request is **not**
    /// applied): a connection reset while uploading.
    ResetRequest {
        /// Request body bytes read before the reset.
        after_bytes: usize,
    },
}

/// Fire `fault` on the `nth` request matching `op`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Which requests this rule looks at.
    pub op: Op,
    /// 1-based: fire on the nth matching request **seen after the rule was
    /// pushed** (one-shot). `0` means "every matching request" (persistent).
    pub nth: usize,
    /// What to do.
    pub fault: Fault,
}

impl Rule {
    /// One-shot rule firing on the `nth` (1-based) matching request.
    pub fn nth(op: Op, nth: usize, fault: Fault) -> Self {
        assert!(nth >= 1, "nth is 1-based; use Rule::every for all requests");
        Self { op, nth, fault }
    }

    /// Persistent rule firing on every matching request.
    pub fn every(op: Op, fault: Fault) -> Self {
        Self { op, nth: 0, fault }
    }
}

/// One request seen by the fault layer.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Classified operation.
    pub op: Op,
    /// HTTP method.
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// Status of the response head, if one was produced (`None` for
    /// [`Fault::LostResponse`] / [`Fault::Hang`] / server errors).
    pub status: Option<u16>,
    /// The fault applied to this request, if any.
    pub fault: Option<Fault>,
    /// Its `x-amz-checksum-crc32c` header, if any.
    pub checksum_crc32c: Option<String>,
    /// Its `x-amz-content-sha256` header (the SigV4 payload hash), if any.
    pub content_sha256: Option<String>,
    /// Its `x-amz-*`, `if-*` and `range` headers (names in lowercase), in order.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The value of header `name` (lowercase), if the request had it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct ArmedRule {
    rule: Rule,
    seen: usize,
    done: bool,
}

struct RandomRule {
    op: Op,
    one_in: u64,
    fault: Fault,
}

struct State {
    rules: Vec<ArmedRule>,
    random: Vec<RandomRule>,
    counts: HashMap<Op, usize>,
    total: usize,
    rng: Rng,
    log: Vec<Seen>,
}

/// Default seed of the random-fault generator (see [`Faults::reseed`]).
pub const DEFAULT_SEED: u64 = 0x5eed_5eed_5eed_5eed;

/// Shared fault-injection state: rules, per-op request counts, request log.
///
/// Evaluation per request: every pending rule whose `op` matches counts the
/// request; the first rule (in push order) reaching its `nth` fires (others
/// reaching theirs on the same request are consumed without firing). If no
/// rule fired, random rules ([`Faults::push_random`]) are tried in order.
pub struct Faults {
    state: Mutex<State>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                rules: Vec::new(),
                random: Vec::new(),
                counts: HashMap::new(),
                total: 0,
                rng: Rng::new(DEFAULT_SEED),
                log: Vec::new(),
            }),
        }
    }
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Faults")
            .field("pending_rules", &s.rules.iter().filter(|r| !r.done).count())
            .field("random_rules", &s.random.len())
            .field("requests", &s.total)
            .finish()
    }
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add a rule.
    pub fn push(&self, rule: Rule) {
        self.lock().rules.push(ArmedRule {
            rule,
            seen: 0,
            done: false,
        });
    }

    /// Before answering the `nth` request matching `op` (counted from now),
    /// replace `bucket/key` with `body` (see [`Fault::Overwrite`]).
    pub fn overwrite_after(
        &self,
        op: Op,
        nth: usize,
        bucket: &str,
        key: &str,
        body: impl Into<Bytes>,
    ) {
        self.push(Rule::nth(
            op,
            nth,
            Fault::Overwrite {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                body: body.into(),
            },
        ));
    }

    /// Persistent random rule: each request matching `op` gets `fault` with
    /// probability `1/one_in`, drawn from a seeded generator (deterministic
    /// for a given seed and request order; see [`Faults::reseed`]).
    pub fn push_random(&self, op: Op, one_in: u64, fault: Fault) {
        assert!(one_in >= 1, "one_in must be >= 1");
        self.lock().random.push(RandomRule { op, one_in, fault });
    }

    /// Reset the random generator used by [`Faults::push_random`].
    pub fn reseed(&self, seed: u64) {
        self.lock().rng = Rng::new(seed);
    }

    /// Requests seen for `op` since start / the last [`Faults::clear`]
    /// (`Op::Any`: all requests), faulted or not, retries included.
    pub fn count(&self, op: Op) -> usize {
        let s = self.lock();
        match op {
            Op::Any => s.total,
            op => s.counts.get(&op).copied().unwrap_or(0),
        }
    }

    /// Drop all rules (deterministic and random) and reset counts and log.
    /// The random seed is kept going (call [`Faults::reseed`] to reset it).
    pub fn clear(&self) {
        let mut s = self.lock();
        s.rules.clear();
        s.random.clear();
        s.counts.clear();
        s.total = 0;
        s.log.clear();
    }

    /// One-shot rules that have not fired yet.
    pub fn pending(&self) -> usize {
        self.lock()
            .rules
            .iter()
            .filter(|r| !r.done && r.rule.nth != 0)
            .count()
    }

    /// Number of requests a fault was applied to.
    pub fn fired(&self) -> usize {
        self.lock().log.iter().filter(|s| s.fault.is_some()).count()
    }

    /// Every request seen since start / the last [`Faults::clear`].
    pub fn log(&self) -> Vec<Seen> {
        self.lock().log.clone()
    }

    /// Response status of the latest request matching `op` that got one.
    pub fn last_status(&self, op: Op) -> Option<u16> {
        self.lock()
            .log
            .iter()
            .rev()
            .filter(|s| op.matches(s.op))
            .find_map(|s| s.status)
    }

    /// Count the request, pick the fault to apply, log it. Returns the log
    /// index (for [`Faults::record_status`]) and the fault.
    fn observe(
        &self,
        op: Op,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> (usize, Option<Fault>) {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut s = self.lock();
        s.total += 1;
        *s.counts.entry(op).or_insert(0) += 1;

        let mut fault = None;
        for armed in s
            .rules
            .iter_mut()
            .filter(|r| !r.done && r.rule.op.matches(op))
        {
            armed.seen += 1;
            let hit = armed.rule.nth == 0 || armed.seen == armed.rule.nth;
            if armed.rule.nth != 0 && armed.seen >= armed.rule.nth {
                armed.done = true;
            }
            if hit && fault.is_none() {
                fault = Some(armed.rule.fault.clone());
            }
        }
        s.rules.retain(|r| !r.done);

        if fault.is_none() {
            let State { random, rng, .. } = &mut *s;
            for r in random.iter().filter(|r| r.op.matches(op)) {
                if rng.below(r.one_in) == 0 {
                    fault = Some(r.fault.clone());
                    break;
                }
            }
        }

        s.log.push(Seen {
            op,
            method: method.to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), ToString::to_string),
            status: None,
            fault: fault.clone(),
            checksum_crc32c: header("x-amz-checksum-crc32c"),
            content_sha256: header("x-amz-content-sha256"),
            headers: headers
                .iter()
                .filter(|(n, _)| {
                    let n = n.as_str();
                    n.starts_with("x-amz-") || n.starts_with("if-") || n == "range"
                })
                .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect(),
        });
        (s.log.len() - 1, fault)
    }

    fn record_status(&self, idx: usize, status: StatusCode) {
        if let Some(seen) = self.lock().log.get_mut(idx) {
            seen.status = Some(status.as_u16());
        }
    }
}

/// Classify a path-style request.
fn classify(method: &Method, uri: &Uri, headers: &HeaderMap) -> Op {
    let path = uri.path().trim_start_matches('/');
    let has_key = path.split_once('/').is_some_and(|(_, key)| !key.is_empty());
    if !has_key {
        return Op::Other;
    }
    let names: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .map(|kv| kv.split_once('=').map_or(kv, |(k, _)| k))
        .filter(|k| !k.is_empty())
        .collect();
    let has = |name: &str| names.contains(&name);
    const SUBRESOURCES: &[&str] = &[
        "acl",
        "tagging",
        "retention",
        "legal-hold",
        "attributes",
        "torrent",
        "restore",
        "select",
    ];
    let sub_resource = SUBRESOURCES.iter().any(|s| has(s));
    match *method {
        Method::POST if has("uploads") => Op::CreateMultipartUpload,
        Method::POST if has("uploadId") => Op::CompleteMultipartUpload,
        Method::PUT if has("partNumber") && has("uploadId") => Op::UploadPart,
        Method::PUT if sub_resource || headers.contains_key("x-amz-copy-source") => Op::Other,
        Method::PUT => Op::PutObject,
        Method::DELETE if has("uploadId") => Op::AbortMultipartUpload,
        Method::GET if sub_resource || has("uploadId") => Op::Other,
        Method::GET => Op::GetObject,
        Method::HEAD => Op::HeadObject,
        _ => Op::Other,
    }
}

// ---------------------------------------------------------------------------
// S3 implementation: the library's validated s3s-fs
// ---------------------------------------------------------------------------

/// Request built by the harness itself (no HTTP, anonymous).
fn internal_request<T>(method: Method, input: T) -> S3Request<T> {
    S3Request {
        input,
        method,
        uri: Uri::from_static("/"),
        headers: HeaderMap::new(),
        extensions: Extensions::new(),
        credentials: None,
        region: None,
        service: None,
        trailing_headers: None,
    }
}

/// Replace an object through PutObject (stores data + ETag), as another writer would.
async fn overwrite(store: &Validated, bucket: &str, key: &str, body: Bytes) -> S3Result<()> {
    let len = i64::try_from(body.len()).map_err(|_| s3_error!(InternalError))?;
    let input = PutObjectInput::builder()
        .bucket(bucket.to_owned())
        .key(key.to_owned())
        .content_length(Some(len))
        .body(Some(StreamingBlob::from(s3s::Body::from(body))))
        .build()
        .map_err(|_| s3_error!(InternalError, "cannot build PutObjectInput"))?;
    store
        .put_object(internal_request(Method::PUT, input))
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// HTTP layer: fault injection in front of the s3s service
// ---------------------------------------------------------------------------

/// Response body: the s3s body, optionally cut after N bytes with an error.
struct FaultBody {
    inner: Pin<Box<s3s::Body>>,
    /// `Some(n)`: n bytes left before the injected reset.
    remaining: Option<usize>,
    delay: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl FaultBody {
    fn plain(inner: s3s::Body) -> Self {
        Self {
            inner: Box::pin(inner),
            remaining: None,
            delay: None,
        }
    }

    fn reset_after(inner: s3s::Body, after_bytes: usize) -> Self {
        Self {
            remaining: Some(after_bytes),
            ..Self::plain(inner)
        }
    }
}

impl HttpBody for FaultBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.remaining == Some(0) {
            let delay = this
                .delay
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(RESET_FLUSH_DELAY)));
            ready!(delay.as_mut().poll(cx));
            return Poll::Ready(Some(
                Err("injected fault: connection reset mid-body".into()),
            ));
        }
        match ready!(this.inner.as_mut().poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let (Some(rem), Some(data)) = (this.remaining.as_mut(), frame.data_ref()) {
                    if data.len() >= *rem {
                        let part = data.slice(..*rem);
                        *rem = 0;
                        return Poll::Ready(Some(Ok(Frame::data(part))));
                    }
                    *rem -= data.len();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining != Some(0) && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Read a body to the end, ignoring errors.
async fn drain<B: HttpBody>(body: B) {
    let mut body = std::pin::pin!(body);
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        if frame.is_err() {
            break;
        }
    }
}

/// Read about `limit` bytes of a body (whole frames), ignoring errors.
async fn read_at_most<B: HttpBody>(body: B, limit: usize) {
    let mut body = std::pin::pin!(body);
    let mut read = 0;
    while read < limit {
        match std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.remaining()),
            _ => break,
        }
    }
}

fn error_response(code: u16, head: bool) -> Result<Response<FaultBody>, BoxError> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (s3_code, message) = match status.as_u16() {
        400 => ("BadRequest", "Injected bad request."),
        403 => ("AccessDenied", "Access Denied"),
        404 => ("NoSuchKey", "The specified key does not exist."),
        409 => (
            "OperationAborted",
            "A conflicting conditional operation is in progress.",
        ),
        412 => (
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        ),
        429 => ("TooManyRequests", "Please reduce your request rate."),
        500 => (
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        503 => ("SlowDown", "Please reduce your request rate."),
        _ => ("InjectedFault", "Injected fault."),
    };
    let body = if head {
        s3s::Body::empty()
    } else {
        s3s::Body::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{s3_code}</Code>\
             <Message>{message}</Message><RequestId>injected-fault</RequestId></Error>"
        ))
    };
    Ok(Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/xml")
        .header("x-amz-request-id", "injected-fault")
        .body(FaultBody::plain(body))?)
}

/// hyper service: counts/classifies, applies faults, forwards to s3s.
#[derive(Clone)]
struct Gateway {
    s3: S3Service,
    store: Validated,
    /// `None` on the control listener (no counting, no faults).
    faults: Option<Arc<Faults>>,
}

impl hyper::service::Service<Request<Incoming>> for Gateway {
    type Response = Response<FaultBody>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        Box::pin(self.clone().handle(req))
    }
}

impl Gateway {
    async fn forward(&self, req: Request<Incoming>) -> Result<Response<s3s::Body>, BoxError> {
        Ok(self.s3.call(req.map(s3s::Body::from)).await?)
    }

    async fn handle(self, req: Request<Incoming>) -> Result<Response<FaultBody>, BoxError> {
        let Some(faults) = self.faults.clone() else {
            return Ok(self.forward(req).await?.map(FaultBody::plain));
        };
        let op = classify(req.method(), req.uri(), req.headers());
        let (idx, fault) = faults.observe(op, req.method(), req.uri(), req.headers());
        let result = self.apply(req, fault).await;
        if let Ok(resp) = &result {
            faults.record_status(idx, resp.status());
        }
        result
    }

    async fn apply(
        &self,
        req: Request<Incoming>,
        fault: Option<Fault>,
    ) -> Result<Response<FaultBody>, BoxError> {
        match fault {
            None => Ok(self.forward(req).await?.map(FaultBody::plain)),
            Some(Fault::Status(code)) => {
                let head = req.method() == Method::HEAD;
                drain(req.into_body()).await;
                error_response(code, head)
            }
            Some(Fault::ResetMidBody { after_bytes }) => Ok(self
                .forward(req)
                .await?
                .map(|body| FaultBody::reset_after(body, after_bytes))),
            Some(Fault::LostResponse) => {
                let resp = self.forward(req).await?;
                drain(resp.into_body()).await;
                Err("injected fault: response lost".into())
            }
            Some(Fault::Hang) => {
                tokio::time::sleep(HANG_FOR).await;
                Err("injected fault: hang".into())
            }
            Some(Fault::Overwrite { bucket, key, body }) => {
                overwrite(&self.store, &bucket, &key, body).await?;
                Ok(self.forward(req).await?.map(FaultBody::plain))
            }
            Some(Fault::ResetRequest { after_bytes }) => {
                read_at_most(req.into_body(), after_bytes).await;
                Err("injected fault: connection reset while reading the request".into())
            }
        }
    }
}

async fn serve(
    public: std::net::TcpListener,
    control: std::net::TcpListener,
    faulty: Gateway,
    clean: Gateway,
    mut shutdown: oneshot::Receiver<()>,
) {
    let public = tokio::net::TcpListener::from_std(public).expect("register public listener");
    let control = tokio::net::TcpListener::from_std(control).expect("register control listener");
    let http = ConnBuilder::new(TokioExecutor::new());
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            res = public.accept() => res.map(|(s, _)| (s, faulty.clone())),
            res = control.accept() => res.map(|(s, _)| (s, clean.clone())),
            _ = &mut shutdown => break,
        };
        let (socket, gateway) = match accepted {
            Ok(x) => x,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let conn = http
            .serve_connection(TokioIo::new(socket), gateway)
            .into_owned();
        conns.spawn(async move {
            let _ = conn.await;
        });
        while conns.try_join_next().is_some() {}
    }
    conns.abort_all();
}

// ---------------------------------------------------------------------------
// TestS3
// ---------------------------------------------------------------------------

/// A running in-process S3 server over a temporary directory.
pub struct TestS3 {
    /// `http://127.0.0.1:PORT` — goes through the fault layer.
    pub endpoint: String,
    /// s3s-fs root directory (canonicalized).
    pub root: PathBuf,
    /// Fault rules and request counters for `endpoint`.
    pub faults: Arc<Faults>,
    /// Client on the control listener (bypasses faults and counters).
    admin: aws_sdk_s3::Client,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Declared last: removed after the server thread has stopped.
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestS3")
            .field("endpoint", &self.endpoint)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

fn sdk_config(endpoint: &str) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "test-s3",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(10))
                .with_max_backoff(Duration::from_millis(50)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .build(),
        )
}

fn bind_loopback() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.set_nonblocking(true).expect("set_nonblocking");
    let addr = listener.local_addr().expect("local_addr");
    (listener, format!("http://{addr}"))
}

/// Every regular file under `dir` (recursively, symlinks not followed).
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                out.push(entry.path());
            }
        }
    }
    out
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// `.upload-<uuid>.json`: marker of an open multipart upload.
fn is_upload_marker(name: &str) -> bool {
    name.strip_prefix(".upload-")
        .and_then(|rest| rest.strip_suffix(".json"))
        .is_some_and(is_uuid)
}

/// `.upload_id-<uuid>.part-<n>`: staged part data.
fn is_staged_part(name: &str) -> bool {
    name.strip_prefix(".upload_id-")
        .and_then(|rest| rest.split_once(".part-"))
        .is_some_and(|(id, n)| {
            is_uuid(id) && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        })
}

impl TestS3 {
    /// Start a server over a fresh temporary directory.
    pub async fn start() -> TestS3 {
        let dir = tempfile::tempdir().expect("create tempdir");
        let root = dir.path().canonicalize().expect("canonicalize tempdir");
        let fs = FileSystem::new(&root).expect("s3s-fs FileSystem::new");
        let store = Validated::new(fs, root.clone());

        let service = {
            let mut b = S3ServiceBuilder::new(store.clone());
            b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            b.build()
        };
        let faults = Arc::new(Faults::default());
        let faulty = Gateway {
            s3: service.clone(),
            store: store.clone(),
            faults: Some(Arc::clone(&faults)),
        };
        let clean = Gateway {
            s3: service,
            store,
            faults: None,
        };

        let (public, endpoint) = bind_loopback();
        let (control, control_endpoint) = bind_loopback();
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("test-s3".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("test-s3-worker")
                    .enable_all()
                    .build()
                    .expect("build server runtime");
                rt.block_on(serve(public, control, faulty, clean, shutdown_rx));
                rt.shutdown_timeout(Duration::from_secs(2));
            })
            .expect("spawn server thread");

        TestS3 {
            admin: aws_sdk_s3::Client::from_conf(sdk_config(&control_endpoint).build()),
            endpoint,
            root,
            faults,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// Config builder for a client of `endpoint` (see [`TestS3::client`]),
    /// to tweak retries/timeouts before `build()`.
    pub fn client_builder(&self) -> aws_sdk_s3::config::Builder {
        sdk_config(&self.endpoint)
    }

    /// SDK client for `endpoint`: us-east-1, static credentials, path style,
    /// checksums only when required, 3 attempts with short backoff.
    pub async fn client(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(self.client_builder().build())
    }

    /// Create a bucket (control path: not counted, no faults).
    pub async fn create_bucket(&self, name: &str) {
        self.admin
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create_bucket {name}: {e:?}"));
    }

    /// Put an object (control path: not counted, no faults).
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.admin
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
    }

    /// Get an object (control path); `None` if it does not exist.
    pub async fn get(&self, bucket: &str, key: &str) -> Option<Bytes> {
        match self.admin.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => Some(
                out.body
                    .collect()
                    .await
                    .unwrap_or_else(|e| panic!("get {bucket}/{key} body: {e:?}"))
                    .into_bytes(),
            ),
            Err(e)
                if e.as_service_error()
                    .is_some_and(GetObjectError::is_no_such_key) =>
            {
                None
            }
            Err(e) => panic!("get {bucket}/{key}: {e:?}"),
        }
    }

    /// Upload a local file of any size to `bucket/key` through `endpoint` (counted, faults
    /// applied) with bounded memory: 8 MiB parts through the library's [`S3Sink`] (one
    /// PutObject when it fits in one part, else a multipart upload). Returns its size.
    pub async fn upload_file(&self, path: &Path, bucket: &str, key: &str) -> u64 {
        use std::io::Read;
        const PART_BYTES: usize = 8 << 20;
        let mut file =
            std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let mut sink = S3Sink::new(self.client().await, bucket, key, 2);
        for first in std::iter::once(true).chain(std::iter::repeat(false)) {
            let mut part = Vec::with_capacity(PART_BYTES);
            (&mut file)
                .take(PART_BYTES as u64)
                .read_to_end(&mut part)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let last = part.len() < PART_BYTES;
            // An empty part only for an empty file.
            if !part.is_empty() || first {
                sink.put_part(Bytes::from(part))
                    .await
                    .unwrap_or_else(|e| panic!("upload {bucket}/{key}: {e}"));
            }
            if last {
                break;
            }
        }
        sink.complete()
            .await
            .unwrap_or_else(|e| panic!("upload {bucket}/{key}: {e}"))
    }

    /// Open multipart uploads: `.upload-<uuid>.json` files under `root`
    /// (s3s-fs keeps them directly in the root; counted recursively).
    pub fn open_uploads(&self) -> usize {
        walk_files(&self.root)
            .iter()
            .filter(|p| is_upload_marker(file_name(p)))
            .count()
    }

    /// Staged part files (`.upload_id-<uuid>.part-<n>`) not yet assembled
    /// or aborted.
    pub fn staged_parts(&self) -> usize {
        walk_files(&self.root)
            .iter()
            .filter(|p| is_staged_part(file_name(p)))
            .count()
    }

    /// Keys stored in `bucket` (from the filesystem, sorted). s3s-fs keeps
    /// its internal files in the root, not in bucket directories.
    pub fn object_keys(&self, bucket: &str) -> Vec<String> {
        let base = self.root.join(bucket);
        let mut keys: Vec<String> = walk_files(&base)
            .iter()
            .filter(|p| {
                let n = file_name(p);
                !(n.starts_with(".tmp.") && n.ends_with(".internal.part"))
            })
            .filter_map(|p| {
                let rel = p.strip_prefix(&base).ok()?;
                let parts: Option<Vec<&str>> =
                    rel.components().map(|c| c.as_os_str().to_str()).collect();
                Some(parts?.join("/"))
            })
            .collect();
        keys.sort();
        keys
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------
// Tests of the harness itself
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::error::ProvideErrorMetadata;
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

    const B: &str = "bucket";

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    async fn setup() -> (TestS3, aws_sdk_s3::Client) {
        let s3 = TestS3::start().await;
        s3.create_bucket(B).await;
        let client = s3.client().await;
        (s3, client)
    }

    fn status_of<E>(
        err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> Option<u16> {
        err.raw_response().map(|r| r.status().as_u16())
    }

    #[tokio::test]
    async fn put_get_round_trip() {
        let (s3, client) = setup().await;
        let body = data(10_000);
        client
            .put_object()
            .bucket(B)
            .key("dir/a.csv")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        let got = client
            .get_object()
            .bucket(B)
            .key("dir/a.csv")
            .send()
            .await
            .unwrap();
        assert_eq!(got.content_length(), Some(10_000));
        assert_eq!(got.body.collect().await.unwrap().into_bytes(), body);

        assert_eq!(s3.get(B, "dir/a.csv").await.unwrap(), body);
        assert_eq!(s3.get(B, "missing").await, None);
        s3.put(B, "b.txt", b"hello".to_vec()).await;
        assert_eq!(
            s3.object_keys(B),
            vec!["b.txt".to_owned(), "dir/a.csv".to_owned()]
        );

        // ListObjectsV2 agrees with the filesystem view.
        let listed = client.list_objects_v2().bucket(B).send().await.unwrap();
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        keys.sort();
        assert_eq!(keys, s3.object_keys(B));

        // Only the SDK client's requests on `endpoint` are counted.
        assert_eq!(s3.faults.count(Op::PutObject), 1);
        assert_eq!(s3.faults.count(Op::GetObject), 1);
        assert_eq!(s3.faults.count(Op::Other), 1); // ListObjectsV2
        assert_eq!(s3.faults.count(Op::Any), 3);
        assert_eq!(s3.faults.last_status(Op::GetObject), Some(200));
    }

    #[tokio::test]
    async fn ranged_get_returns_206_and_the_range() {
        let (s3, client) = setup().await;
        let body = data(100);
        s3.put(B, "r", body.clone()).await;
        let out = client
            .get_object()
            .bucket(B)
            .key("r")
            .range("bytes=5-9")
            .send()
            .await
            .unwrap();
        assert_eq!(out.content_range(), Some("bytes 5-9/100"));
        assert_eq!(out.content_length(), Some(5));
        assert_eq!(out.body.collect().await.unwrap().into_bytes(), body[5..10]);
        assert_eq!(s3.faults.last_status(Op::GetObject), Some(206));
    }

    #[tokio::test]
    async fn conditional_get_and_head() {
        let (s3, client) = setup().await;
        s3.put(B, "c", data(50)).await;
        let etag = client
            .head_object()
            .bucket(B)
            .key("c")
            .send()
            .await
            .unwrap()
            .e_tag
            .unwrap();

        let err = client
            .get_object()
            .bucket(B)
            .key("c")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(412), "{err:?}");
        assert_eq!(err.code(), Some("PreconditionFailed"));
        assert_eq!(s3.faults.count(Op::GetObject), 1, "412 must not be retried");

        let ok = client
            .get_object()
            .bucket(B)
            .key("c")
            .range("bytes=0-9")
            .if_match(&etag)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.e_tag(), Some(etag.as_str()));

        let err = client
            .head_object()
            .bucket(B)
            .key("c")
            .if_match("\"nope\"")
            .send()
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(412), "{err:?}");

        let err = client
            .get_object()
            .bucket(B)
            .key("c")
            .if_none_match(&etag)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(304), "{err:?}");
    }

    #[tokio::test]
    async fn multipart_complete_and_abort_track_open_uploads() {
        let (s3, client) = setup().await;
        let part1 = data(5 * 1024 * 1024);
        let part2 = data(1234);

        let up = client
            .create_multipart_upload()
            .bucket(B)
            .key("mp")
            .send()
            .await
            .unwrap();
        let id = up.upload_id().unwrap().to_owned();
        assert_eq!(s3.open_uploads(), 1);
        let mut parts = Vec::new();
        for (n, body) in [(1, &part1), (2, &part2)] {
            let out = client
                .upload_part()
                .bucket(B)
                .key("mp")
                .upload_id(&id)
                .part_number(n)
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .unwrap();
            parts.push(
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag(out.e_tag().unwrap())
                    .build(),
            );
        }
        assert_eq!(s3.open_uploads(), 1);
        assert_eq!(s3.staged_parts(), 2);
        assert_eq!(s3.object_keys(B), Vec::<String>::new());
        let done = client
            .complete_multipart_upload()
            .bucket(B)
            .key("mp")
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(
            done.e_tag().unwrap().ends_with("-2\""),
            "{:?}",
            done.e_tag()
        );
        assert_eq!(s3.open_uploads(), 0);
        assert_eq!(s3.staged_parts(), 0);
        let mut whole = part1.clone();
        whole.extend_from_slice(&part2);
        assert_eq!(s3.get(B, "mp").await.unwrap(), whole);

        // Aborted upload leaves nothing behind.
        let up = client
            .create_multipart_upload()
            .bucket(B)
            .key("ab")
            .send()
            .await
            .unwrap();
        let id = up.upload_id().unwrap().to_owned();
        client
            .upload_part()
            .bucket(B)
            .key("ab")
            .upload_id(&id)
            .part_number(1)
            .body(ByteStream::from(part2.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(s3.open_uploads(), 1);
        client
            .abort_multipart_upload()
            .bucket(B)
            .key("ab")
            .upload_id(&id)
            .send()
            .await
            .unwrap();
        assert_eq!(s3.open_uploads(), 0);
        assert_eq!(s3.staged_parts(), 0);
        assert_eq!(s3.object_keys(B), vec!["mp".to_owned()]);

        let f = &s3.faults;
        assert_eq!(f.count(Op::CreateMultipartUpload), 2);
        assert_eq!(f.count(Op::UploadPart), 3);
        assert_eq!(f.count(Op::CompleteMultipartUpload), 1);
        assert_eq!(f.count(Op::AbortMultipartUpload), 1);
    }

    #[tokio::test]
    async fn status_fault_every_attempt_exhausts_retries() {
        let (s3, client) = setup().await;
        s3.put(B, "k", data(10)).await;
        s3.faults
            .push(Rule::every(Op::GetObject, Fault::Status(503)));
        let err = client
            .get_object()
            .bucket(B)
            .key("k")
            .send()
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(503), "{err:?}");
        assert_eq!(err.code(), Some("SlowDown"));
        assert_eq!(s3.faults.count(Op::GetObject), 3, "max attempts 3");
        assert_eq!(s3.faults.fired(), 3);

        // PutObject 500 on every attempt: nothing is written.
        s3.faults.clear();
        s3.faults
            .push(Rule::every(Op::PutObject, Fault::Status(500)));
        let err = client
            .put_object()
            .bucket(B)
            .key("p")
            .body(ByteStream::from(data(100)))
            .send()
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(500), "{err:?}");
        assert_eq!(err.code(), Some("InternalError"));
        assert_eq!(s3.faults.count(Op::PutObject), 3);
        assert_eq!(s3.get(B, "p").await, None);
    }

    #[tokio::test]
    async fn status_fault_once_is_retried() {
        let (s3, client) = setup().await;
        s3.put(B, "k", data(10)).await;
        s3.faults
            .push(Rule::nth(Op::GetObject, 1, Fault::Status(503)));
        let out = client.get_object().bucket(B).key("k").send().await.unwrap();
        assert_eq!(out.body.collect().await.unwrap().into_bytes(), data(10));
        assert_eq!(s3.faults.count(Op::GetObject), 2);
        assert_eq!(s3.faults.fired(), 1);
        assert_eq!(s3.faults.pending(), 0);
        let log = s3.faults.log();
        let statuses: Vec<Option<u16>> = log.iter().map(|s| s.status).collect();
        assert_eq!(statuses, vec![Some(503), Some(200)]);
        let methods: Vec<&str> = log.iter().map(|s| s.method.as_str()).collect();
        assert_eq!(methods, ["GET", "GET"]);

        // nth counts from when the rule is pushed, per op.
        s3.faults
            .push(Rule::nth(Op::HeadObject, 2, Fault::Status(500)));
        let no_retry = aws_sdk_s3::Client::from_conf(
            s3.client_builder()
                .retry_config(RetryConfig::standard().with_max_attempts(1))
                .build(),
        );
        no_retry
            .head_object()
            .bucket(B)
            .key("k")
            .send()
            .await
            .unwrap();
        client.get_object().bucket(B).key("k").send().await.unwrap();
        let err = no_retry
            .head_object()
            .bucket(B)
            .key("k")
            .send()
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(500));
        no_retry
            .head_object()
            .bucket(B)
            .key("k")
            .send()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn reset_mid_body_breaks_the_body_read() {
        let (s3, client) = setup().await;
        let body = data(64 * 1024);
        s3.put(B, "big", body.clone()).await;
        s3.faults.push(Rule::nth(
            Op::GetObject,
            1,
            Fault::ResetMidBody { after_bytes: 1000 },
        ));
        let out = client
            .get_object()
            .bucket(B)
            .key("big")
            .send()
            .await
            .unwrap();
        assert_eq!(out.content_length(), Some(64 * 1024));
        let err = out.body.collect().await.unwrap_err();
        // e.g. StreamingError(hyper::Error(Body, IncompleteBody))
        assert!(format!("{err:?}").contains("StreamingError"), "{err:?}");
        assert_eq!(s3.faults.count(Op::GetObject), 1);

        // The next request is fine.
        let out = client
            .get_object()
            .bucket(B)
            .key("big")
            .send()
            .await
            .unwrap();
        assert_eq!(out.body.collect().await.unwrap().into_bytes(), body);
    }

    #[tokio::test]
    async fn lost_response_applies_the_request() {
        let (s3, _client) = setup().await;
        let no_retry = aws_sdk_s3::Client::from_conf(
            s3.client_builder()
                .retry_config(RetryConfig::standard().with_max_attempts(1))
                .build(),
        );
        s3.faults
            .push(Rule::nth(Op::PutObject, 1, Fault::LostResponse));
        let err = no_retry
            .put_object()
            .bucket(B)
            .key("lost")
            .body(ByteStream::from(data(300)))
            .send()
            .await
            .unwrap_err();
        // DispatchFailure(... hyper::Error(IncompleteMessage))
        assert!(
            matches!(err, aws_sdk_s3::error::SdkError::DispatchFailure(_)),
            "{err:?}"
        );
        assert_eq!(s3.get(B, "lost").await.unwrap(), data(300));

        // With retries the SDK silently re-sends the (already applied) PUT.
        let client = s3.client().await;
        s3.faults.clear();
        s3.faults
            .push(Rule::nth(Op::PutObject, 1, Fault::LostResponse));
        client
            .put_object()
            .bucket(B)
            .key("lost2")
            .body(ByteStream::from(data(10)))
            .send()
            .await
            .unwrap();
        assert_eq!(s3.faults.count(Op::PutObject), 2);
        assert_eq!(s3.faults.log()[0].status, None);
    }

    #[tokio::test]
    async fn hang_times_out_client_side() {
        let (s3, _client) = setup().await;
        s3.put(B, "k", data(10)).await;
        let impatient = aws_sdk_s3::Client::from_conf(
            s3.client_builder()
                .retry_config(RetryConfig::standard().with_max_attempts(1))
                .timeout_config(
                    TimeoutConfig::builder()
                        .operation_attempt_timeout(Duration::from_millis(300))
                        .build(),
                )
                .build(),
        );
        s3.faults.push(Rule::nth(Op::HeadObject, 1, Fault::Hang));
        let t0 = std::time::Instant::now();
        let err = impatient
            .head_object()
            .bucket(B)
            .key("k")
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, aws_sdk_s3::error::SdkError::TimeoutError(_)),
            "{err:?}"
        );
        assert!(t0.elapsed() < Duration::from_secs(10));
        impatient
            .head_object()
            .bucket(B)
            .key("k")
            .send()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn overwrite_between_ranged_gets_fails_if_match() {
        let (s3, client) = setup().await;
        s3.put(B, "o", data(100)).await;
        let first = client
            .get_object()
            .bucket(B)
            .key("o")
            .range("bytes=0-9")
            .send()
            .await
            .unwrap();
        let etag = first.e_tag().unwrap().to_owned();

        s3.faults
            .overwrite_after(Op::GetObject, 1, B, "o", b"replaced".to_vec());
        let err = client
            .get_object()
            .bucket(B)
            .key("o")
            .range("bytes=10-19")
            .if_match(&etag)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(412), "{err:?}");
        assert_eq!(s3.get(B, "o").await.unwrap(), &b"replaced"[..]);
        let new = client
            .head_object()
            .bucket(B)
            .key("o")
            .send()
            .await
            .unwrap();
        assert_ne!(new.e_tag(), Some(etag.as_str()));
    }

    #[tokio::test]
    async fn random_faults_are_deterministic_per_seed() {
        let (s3, _client) = setup().await;
        s3.put(B, "k", data(10)).await;
        let no_retry = aws_sdk_s3::Client::from_conf(
            s3.client_builder()
                .retry_config(RetryConfig::standard().with_max_attempts(1))
                .build(),
        );
        let mut runs = Vec::new();
        for _ in 0..2 {
            s3.faults.clear();
            s3.faults.reseed(42);
            s3.faults.push_random(Op::HeadObject, 2, Fault::Status(500));
            let mut pattern = Vec::new();
            for _ in 0..16 {
                pattern.push(
                    no_retry
                        .head_object()
                        .bucket(B)
                        .key("k")
                        .send()
                        .await
                        .is_ok(),
                );
            }
            runs.push(pattern);
        }
        assert_eq!(runs[0], runs[1]);
        assert!(
            runs[0].contains(&true) && runs[0].contains(&false),
            "{:?}",
            runs[0]
        );
    }

    #[test]
    fn classification() {
        let h = HeaderMap::new();
        let c = |m: Method, u: &'static str| classify(&m, &Uri::from_static(u), &h);
        assert_eq!(c(Method::POST, "/b/k?uploads"), Op::CreateMultipartUpload);
        assert_eq!(
            c(Method::POST, "/b/k?uploads=&x-id=CreateMultipartUpload"),
            Op::CreateMultipartUpload
        );
        assert_eq!(
            c(Method::PUT, "/b/k?partNumber=1&uploadId=u"),
            Op::UploadPart
        );
        assert_eq!(
            c(Method::POST, "/b/k?uploadId=u"),
            Op::CompleteMultipartUpload
        );
        assert_eq!(
            c(Method::DELETE, "/b/k?uploadId=u"),
            Op::AbortMultipartUpload
        );
        assert_eq!(c(Method::GET, "/b/k/x.csv?x-id=GetObject"), Op::GetObject);
        assert_eq!(c(Method::HEAD, "/b/k"), Op::HeadObject);
        assert_eq!(c(Method::PUT, "/b/k?x-id=PutObject"), Op::PutObject);
        assert_eq!(c(Method::PUT, "/b"), Op::Other);
        assert_eq!(c(Method::GET, "/b?list-type=2"), Op::Other);
        assert_eq!(c(Method::GET, "/b/k?uploadId=u"), Op::Other);
        assert_eq!(c(Method::DELETE, "/b/k"), Op::Other);
        assert!(is_upload_marker(
            ".upload-0f8fad5b-d9cb-469f-a165-70867728950e.json"
        ));
        assert!(!is_upload_marker(
            ".bucket-YQ.object-YQ.upload-0f8fad5b-d9cb-469f-a165-70867728950e.metadata.json"
        ));
        assert!(is_staged_part(
            ".upload_id-0f8fad5b-d9cb-469f-a165-70867728950e.part-12"
        ));
    }
}
