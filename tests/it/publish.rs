//! Duplicate, late and concurrent events against real servers (the in-process one and moto):
//! a run that read older data never overwrites a newer output, a late event for an older
//! version is superseded, and a lost race leaves no upload open.
//!
//! The races are staged deterministically: run A's store ([`Held`], the real `S3Store`
//! underneath) holds A's first publish (the rejects with `--on-error reject`, else the data)
//! until the test has let run B convert the newer input.

use std::collections::HashMap;
use std::sync::Arc;

use s3_csv2parquet::lambda::config::LambdaConfig;
use s3_csv2parquet::lambda::event::ObjectRef;
use s3_csv2parquet::lambda::handler::Handler;
use s3_csv2parquet::lambda::response::ErrorReport;
use s3_csv2parquet::lambda::store::{
    Current, Destination, Listing, ObjectStore, OutputState, S3Store,
};
use s3_csv2parquet::sink::{ByteSink, Output, SinkFactory};
use s3_csv2parquet::source::ByteSource;
use s3_csv2parquet::testkit::{generate_vec, Shape};
use s3_csv2parquet::Result;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::harness::moto::Moto;
use crate::harness::s3::TestS3;

const BUCKET: &str = "race";

fn event(key: &str, version: Option<&str>) -> Value {
    let mut object = json!({"key": key, "size": 1});
    if let Some(v) = version {
        object["versionId"] = json!(v);
    }
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": object}
    }]})
}

fn config(vars: &[(&str, &str)]) -> LambdaConfig {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LambdaConfig::from_vars(|k| map.get(k).cloned()).unwrap()
}

fn store(client: &aws_sdk_s3::Client) -> S3Store {
    S3Store::new(client.clone(), 2, std::time::Duration::from_secs(1))
}

/// A store whose outputs, on publish (complete, or removing an earlier run's object), say so
/// on `reached`; the first to publish waits for `go`.
struct Held {
    inner: S3Store,
    reached: mpsc::UnboundedSender<()>,
    go: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
}

struct HeldOutputs {
    inner: Box<dyn SinkFactory>,
    reached: mpsc::UnboundedSender<()>,
    go: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
}

struct HeldSink {
    inner: Box<dyn ByteSink>,
    reached: mpsc::UnboundedSender<()>,
    go: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
}

#[async_trait::async_trait]
impl ByteSink for HeldSink {
    fn location(&self) -> &str {
        self.inner.location()
    }
    fn set_metadata(&mut self, metadata: &[(String, String)]) {
        self.inner.set_metadata(metadata);
    }
    async fn put_part(&mut self, part: bytes::Bytes) -> Result<()> {
        self.inner.put_part(part).await
    }
    async fn complete(&mut self) -> Result<u64> {
        self.hold().await;
        self.inner.complete().await
    }
    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
    async fn remove_existing(&mut self) -> Result<()> {
        self.hold().await;
        self.inner.remove_existing().await
    }
}

impl HeldSink {
    /// Say a publish is reached; the first waits for `go`.
    async fn hold(&mut self) {
        let _ = self.reached.send(());
        if let Some(go) = self.go.lock().await.take() {
            let _ = go.await;
        }
    }
}

#[async_trait::async_trait]
impl SinkFactory for HeldOutputs {
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
        let inner = self.inner.open(output).await?;
        Ok(Box::new(HeldSink {
            inner,
            reached: self.reached.clone(),
            go: Arc::clone(&self.go),
        }))
    }
}

#[async_trait::async_trait]
impl ObjectStore for Held {
    fn source(&self, object: &ObjectRef) -> Box<dyn ByteSource> {
        self.inner.source(object)
    }
    fn outputs(
        &self,
        bucket: &str,
        data: Destination,
        rejects: Option<Destination>,
    ) -> Box<dyn SinkFactory> {
        Box::new(HeldOutputs {
            inner: self.inner.outputs(bucket, data, rejects),
            reached: self.reached.clone(),
            go: Arc::clone(&self.go),
        })
    }
    async fn output(&self, bucket: &str, key: &str) -> Result<Option<OutputState>> {
        self.inner.output(bucket, key).await
    }
    async fn current(&self, bucket: &str, key: &str) -> Result<Option<Current>> {
        self.inner.current(bucket, key).await
    }
    async fn put_report(&self, bucket: &str, key: &str, report: &ErrorReport) -> Result<()> {
        self.inner.put_report(bucket, key, report).await
    }
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        token: Option<String>,
    ) -> Result<Listing> {
        self.inner.list(bucket, prefix, start_after, token).await
    }
}

async fn put(client: &aws_sdk_s3::Client, key: &str, body: Vec<u8>) -> String {
    let out = client
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
    out.e_tag().unwrap_or_default().to_string()
}

/// The source ETag the output records.
async fn recorded_source(client: &aws_sdk_s3::Client, key: &str) -> Option<String> {
    let head = client
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .ok()?;
    head.metadata()?.get("csv2parquet-source-etag").cloned()
}

/// Run A reads `old`; before it publishes, `new` lands and run B converts it; then A goes on.
/// `existing`: whether an output of an earlier input is there when A starts (A publishes
/// with If-Match, else with If-None-Match: *). A must not overwrite B's output.
async fn a_slow_run_never_overwrites_a_newer_output(
    client: &aws_sdk_s3::Client,
    name: &str,
    old: Vec<u8>,
    new: Vec<u8>,
    existing: bool,
) {
    let key = &format!("incoming/{name}.csv");
    let out = &format!("parquet/{name}.parquet");
    let vars = [("CSV2PQ_COMPRESSION", "none")];
    if existing {
        put(client, key, b"n\n-1\n".to_vec()).await;
        let r = Handler::with_store(config(&vars), None, Arc::new(store(client)))
            .handle(&event(key, None), None)
            .await
            .unwrap();
        assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
    }
    put(client, key, old).await;
    let (reached_tx, mut reached) = mpsc::unbounded_channel();
    let (go_tx, go_rx) = oneshot::channel();
    let held = Held {
        inner: store(client),
        reached: reached_tx,
        go: Arc::new(Mutex::new(Some(go_rx))),
    };
    let a = Handler::with_store(config(&vars), None, Arc::new(held));
    let a_event = event(key, None);
    let run_a = tokio::spawn(async move { a.handle(&a_event, None).await });
    reached.recv().await.expect("run A reaches its publish");
    let new_etag = put(client, key, new).await;
    let b = Handler::with_store(config(&vars), None, Arc::new(store(client)));
    let r = b.handle(&event(key, None), None).await.unwrap();
    assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
    go_tx.send(()).unwrap();
    let r = run_a.await.unwrap().unwrap();
    assert_eq!(r["results"][0]["outcome"], "superseded", "{r}");
    assert_eq!(recorded_source(client, out).await, Some(new_etag));
    // Delivered again, the newer conversion is up to date.
    let r = b.handle(&event(key, None), None).await.unwrap();
    assert_eq!(r["results"][0]["outcome"], "up_to_date", "{r}");
}

/// The text of `bucket/key`, or `None` when there is none.
async fn text(client: &aws_sdk_s3::Client, key: &str) -> Option<String> {
    let out = client
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .ok()?;
    let bytes = out.body.collect().await.ok()?.into_bytes();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// A CSV with one ragged record (rejected): `a,b`, then `1,x`, then the record `tag`.
fn with_reject(tag: &str) -> Vec<u8> {
    format!("a,b\n1,x\n{tag}\n2,y\n").into_bytes()
}

/// `--on-error reject`: the rejected records follow the data's rule. Run A reads `old` and is
/// held at its first publish (the rejects); `new` lands and run B converts it; then A goes on.
/// A publishes neither its rejects nor its data: the rejects object keeps B's records.
/// `existing`: whether outputs (data and rejects) of an earlier input are there when A starts.
async fn a_slow_run_never_overwrites_newer_rejects(
    client: &aws_sdk_s3::Client,
    name: &str,
    existing: bool,
) {
    let key = &format!("incoming/{name}.csv");
    let out = &format!("parquet/{name}.parquet");
    let rejects = &format!("failed/{name}.csv.rejects.csv");
    let vars = [
        ("CSV2PQ_COMPRESSION", "none"),
        ("CSV2PQ_ON_ERROR", "reject"),
    ];
    if existing {
        put(client, key, with_reject("111")).await;
        let r = Handler::with_store(config(&vars), None, Arc::new(store(client)))
            .handle(&event(key, None), None)
            .await
            .unwrap();
        assert_eq!(r["results"][0]["rejected"], 1, "{r}");
    }
    put(client, key, with_reject("222")).await;
    let (reached_tx, mut reached) = mpsc::unbounded_channel();
    let (go_tx, go_rx) = oneshot::channel();
    let held = Held {
        inner: store(client),
        reached: reached_tx,
        go: Arc::new(Mutex::new(Some(go_rx))),
    };
    let a = Handler::with_store(config(&vars), None, Arc::new(held));
    let a_event = event(key, None);
    let run_a = tokio::spawn(async move { a.handle(&a_event, None).await });
    reached
        .recv()
        .await
        .expect("run A reaches its first publish");
    let new_etag = put(client, key, with_reject("333")).await;
    let b = Handler::with_store(config(&vars), None, Arc::new(store(client)));
    let r = b.handle(&event(key, None), None).await.unwrap();
    assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
    assert_eq!(r["results"][0]["rejected"], 1, "{r}");
    go_tx.send(()).unwrap();
    let r = run_a.await.unwrap().unwrap();
    assert_eq!(r["results"][0]["outcome"], "superseded", "{r}");
    assert_eq!(recorded_source(client, out).await, Some(new_etag));
    let got = text(client, rejects).await.unwrap_or_default();
    assert!(
        got.contains("\"333\"") && !got.contains("\"222\""),
        "the rejects are run B's: {got}"
    );
}

/// `--on-error reject` and an input that rejects nothing: the rejects of an earlier input go
/// (removed under If-Match on the ETag seen when deciding). Then the race: run A reads an input
/// without rejected records and is held at removing the rejects; run B converts a newer input
/// that has some; A's conditional removal fails and B's rejects stay.
async fn rejects_follow_an_input_that_rejects_nothing(client: &aws_sdk_s3::Client, race: bool) {
    let key = "incoming/z.csv";
    let rejects = "failed/z.csv.rejects.csv";
    let vars = [
        ("CSV2PQ_COMPRESSION", "none"),
        ("CSV2PQ_ON_ERROR", "reject"),
    ];
    let handler = || Handler::with_store(config(&vars), None, Arc::new(store(client)));
    put(client, key, with_reject("111")).await;
    let r = handler().handle(&event(key, None), None).await.unwrap();
    assert_eq!(r["results"][0]["rejected"], 1, "{r}");
    assert!(text(client, rejects).await.is_some());
    put(client, key, b"a,b\n1,x\n".to_vec()).await;
    if !race {
        let r = handler().handle(&event(key, None), None).await.unwrap();
        assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
        assert_eq!(r["results"][0]["rejected"], 0, "{r}");
        assert_eq!(
            text(client, rejects).await,
            None,
            "the earlier rejects are gone"
        );
        return;
    }
    let (reached_tx, mut reached) = mpsc::unbounded_channel();
    let (go_tx, go_rx) = oneshot::channel();
    let held = Held {
        inner: store(client),
        reached: reached_tx,
        go: Arc::new(Mutex::new(Some(go_rx))),
    };
    let a = Handler::with_store(config(&vars), None, Arc::new(held));
    let run_a = tokio::spawn(async move { a.handle(&event(key, None), None).await });
    reached
        .recv()
        .await
        .expect("run A reaches its first publish");
    put(client, key, with_reject("333")).await;
    let r = handler().handle(&event(key, None), None).await.unwrap();
    assert_eq!(r["results"][0]["rejected"], 1, "{r}");
    go_tx.send(()).unwrap();
    let r = run_a.await.unwrap().unwrap();
    assert_eq!(r["results"][0]["outcome"], "superseded", "{r}");
    let got = text(client, rejects).await.unwrap_or_default();
    assert!(got.contains("\"333\""), "run B's rejects stay: {got}");
}

fn small(rows: usize) -> Vec<u8> {
    let mut csv = b"n\n".to_vec();
    for i in 0..rows {
        csv.extend_from_slice(format!("{i}\n").as_bytes());
    }
    csv
}

/// Big enough (uncompressed) for a multipart upload: its publish is CompleteMultipartUpload.
fn big(seed: u64) -> Vec<u8> {
    generate_vec(Shape::Text, 12 << 20, seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_a_slow_run_never_overwrites_a_newer_output() {
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    let client = s3.client().await;
    a_slow_run_never_overwrites_a_newer_output(&client, "a", small(5), small(2), false).await;
    a_slow_run_never_overwrites_a_newer_output(&client, "a", small(7), small(3), true).await;
    a_slow_run_never_overwrites_a_newer_output(&client, "b", big(1), small(1), false).await;
    a_slow_run_never_overwrites_a_newer_output(&client, "c", big(2), small(1), true).await;
    assert_eq!(s3.open_uploads(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_a_slow_run_never_overwrites_newer_rejects() {
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    let client = s3.client().await;
    a_slow_run_never_overwrites_newer_rejects(&client, "r", false).await;
    a_slow_run_never_overwrites_newer_rejects(&client, "s", true).await;
    assert_eq!(s3.open_uploads(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_rejects_follow_an_input_that_rejects_nothing() {
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    let client = s3.client().await;
    rejects_follow_an_input_that_rejects_nothing(&client, false).await;
    rejects_follow_an_input_that_rejects_nothing(&client, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_a_slow_run_never_overwrites_newer_rejects() {
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET, false).await;
    let client = moto.client();
    a_slow_run_never_overwrites_newer_rejects(&client, "r", false).await;
    a_slow_run_never_overwrites_newer_rejects(&client, "s", true).await;
    assert_eq!(moto.open_uploads(BUCKET).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_rejects_follow_an_input_that_rejects_nothing() {
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET, false).await;
    let client = moto.client();
    rejects_follow_an_input_that_rejects_nothing(&client, false).await;
    rejects_follow_an_input_that_rejects_nothing(&client, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_a_slow_run_never_overwrites_a_newer_output() {
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET, false).await;
    let client = moto.client();
    a_slow_run_never_overwrites_a_newer_output(&client, "a", small(5), small(2), false).await;
    a_slow_run_never_overwrites_a_newer_output(&client, "a", small(7), small(3), true).await;
    a_slow_run_never_overwrites_a_newer_output(&client, "b", big(1), small(1), false).await;
    // moto 5.2 checks If-None-Match on CompleteMultipartUpload but not If-Match (AWS and the
    // in-process server check both), so the multipart If-Match race is run above only.
    assert_eq!(moto.open_uploads(BUCKET).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_a_late_event_for_an_older_version_is_superseded() {
    // The in-process server keeps no versions; moto does.
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET, true).await;
    let key = "incoming/v.csv";
    let (_, v1) = moto.put(BUCKET, key, &small(4)).await;
    let (e2, v2) = moto.put(BUCKET, key, &small(2)).await;
    let (v1, v2) = (v1.expect("versioned"), v2.expect("versioned"));
    let h = Handler::with_store(config(&[]), None, Arc::new(store(&moto.client())));
    let r = h.handle(&event(key, Some(&v2)), None).await.unwrap();
    assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
    assert_eq!(r["results"][0]["rows"], 2, "{r}");
    let r = h.handle(&event(key, Some(&v1)), None).await.unwrap();
    assert_eq!(r["results"][0]["outcome"], "superseded", "{r}");
    let reason = r["results"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&v2), "{reason}");
    let meta = moto.metadata(BUCKET, "parquet/v.parquet").await;
    assert_eq!(
        meta.get("csv2parquet-source-etag")
            .map(|e| e.trim_matches('"')),
        Some(e2.as_str())
    );
    assert_eq!(meta.get("csv2parquet-source-version"), Some(&v2));
}
