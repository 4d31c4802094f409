//! The `csv2parquet-lambda` binary itself, driven through a Lambda Runtime API stub: the same
//! HTTP protocol the Lambda service (or `cargo lambda watch`) speaks to a `provided.al2023`
//! bootstrap — `GET /2018-06-01/runtime/invocation/next`, then `POST .../{id}/response` or
//! `.../{id}/error` — with the function talking to the in-process S3 server.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::harness::parquet::dump;
use crate::harness::s3::{Fault, Op, Rule, TestS3, ACCESS_KEY, REGION, SECRET_KEY};

const BUCKET: &str = "data";

/// What the function answered for one invocation.
#[derive(Debug, Clone)]
struct Answer {
    request_id: String,
    kind: &'static str,
    body: Value,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Value)>,
    answers: Vec<Answer>,
    next_id: u64,
}

/// The Runtime API stub: a queue of events, and the answers posted back.
#[derive(Clone, Default)]
struct RuntimeApi {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl RuntimeApi {
    /// Queue an event; returns its request id.
    fn invoke(&self, event: Value) -> String {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let id = format!("req-{}", state.next_id);
        state.queue.push_back((id.clone(), event));
        drop(state);
        self.changed.notify_waiters();
        id
    }

    /// Wait for the answer to `id`.
    async fn answer(&self, id: &str, child: &mut Child) -> Answer {
        let until = Instant::now() + Duration::from_secs(120);
        loop {
            let notified = self.changed.notified();
            if let Some(a) = self
                .state
                .lock()
                .unwrap()
                .answers
                .iter()
                .find(|a| a.request_id == id)
            {
                return a.clone();
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the function exited ({status}) before answering {id}");
            }
            assert!(Instant::now() < until, "no answer to {id}");
            let _ = tokio::time::timeout(Duration::from_millis(200), notified).await;
        }
    }

    async fn route(self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let ok = |code: u16, body: Bytes| {
            let mut r = Response::new(Full::new(body));
            *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
            r
        };
        if path == "/2018-06-01/runtime/invocation/next" {
            loop {
                let notified = self.changed.notified();
                let next = self.state.lock().unwrap().queue.pop_front();
                if let Some((id, event)) = next {
                    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
                        + Duration::from_secs(300);
                    let mut r = ok(200, Bytes::from(event.to_string()));
                    let h = r.headers_mut();
                    h.insert("Lambda-Runtime-Aws-Request-Id", id.parse().unwrap());
                    h.insert(
                        "Lambda-Runtime-Deadline-Ms",
                        deadline.as_millis().to_string().parse().unwrap(),
                    );
                    h.insert(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:csv2parquet"
                            .parse()
                            .unwrap(),
                    );
                    h.insert(
                        "Lambda-Runtime-Trace-Id",
                        "Root=1-0-0;Sampled=0".parse().unwrap(),
                    );
                    return r;
                }
                notified.await;
            }
        }
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let kind = match parts.as_slice() {
            ["2018-06-01", "runtime", "invocation", _, "response"] => "response",
            ["2018-06-01", "runtime", "invocation", _, "error"] => "error",
            ["2018-06-01", "runtime", "init", "error"] => "init_error",
            _ => return ok(404, Bytes::new()),
        };
        let request_id = parts.get(3).map(|s| s.to_string()).unwrap_or_default();
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        self.state.lock().unwrap().answers.push(Answer {
            request_id,
            kind,
            body,
        });
        self.changed.notify_waiters();
        ok(202, Bytes::from_static(b"{}"))
    }

    /// Serve on a loopback port; returns `host:port`.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let api = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let api = api.clone();
                let service = hyper::service::service_fn(move |req| {
                    let api = api.clone();
                    async move { Ok::<_, Infallible>(api.route(req).await) }
                });
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        addr
    }
}

fn function(runtime_api: &str, s3: &TestS3, vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_csv2parquet-lambda"));
    cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "csv2parquet")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/csv2parquet")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/24/[$LATEST]0")
        .env("AWS_ENDPOINT_URL", &s3.endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("CSV2PQ_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn s3_event(key: &str) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-24T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": BUCKET, "arn": "arn:aws:s3:::data"},
               "object": {"key": key, "size": 10}}
    }]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_binary_serves_invocations() {
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    s3.put(
        BUCKET,
        "incoming/a.csv",
        b"id,secret\n1,hunter2\n2,swordfish\n".to_vec(),
    )
    .await;
    s3.put(BUCKET, "incoming/bad.csv", b"id,v\n1,\"open\n".to_vec())
        .await;
    s3.put(BUCKET, "incoming/later.csv", b"id\n7\n".to_vec())
        .await;
    let api = RuntimeApi::default();
    let addr = api.start().await;
    let mut child = function(&addr, &s3, &[]).spawn().unwrap();

    let ok = api.invoke(s3_event("incoming/a.csv"));
    let answer = api.answer(&ok, &mut child).await;
    assert_eq!(answer.kind, "response", "{answer:?}");
    assert_eq!(answer.body["results"][0]["outcome"], "converted");
    let got = s3.get(BUCKET, "parquet/a.parquet").await.unwrap();
    assert_eq!(
        dump(got),
        "id: Int64\nsecret: Utf8\n--\n1 | \"hunter2\"\n2 | \"swordfish\"\n"
    );

    // Bad input: answered (no retry), error report written.
    let bad = api.invoke(s3_event("incoming/bad.csv"));
    let answer = api.answer(&bad, &mut child).await;
    assert_eq!(answer.kind, "response", "{answer:?}");
    assert_eq!(answer.body["results"][0]["outcome"], "bad_input");
    assert!(s3.get(BUCKET, "failed/bad.csv.error.json").await.is_some());

    // A transient failure: the invocation errors, so Lambda retries it.
    s3.faults
        .push(Rule::every(Op::PutObject, Fault::Status(503)));
    let transient = api.invoke(s3_event("incoming/later.csv"));
    let answer = api.answer(&transient, &mut child).await;
    assert_eq!(answer.kind, "error", "{answer:?}");
    assert!(answer.body.to_string().contains("retryable"), "{answer:?}");
    s3.faults.clear();
    assert!(s3.get(BUCKET, "parquet/later.parquet").await.is_none());
    assert_eq!(s3.open_uploads(), 0);

    // One invocation at a time, and the process stays up between them.
    assert!(child.try_wait().unwrap().is_none());
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stdout);
    // Structured JSON logs, one summary line per object, and no cell values.
    let summaries: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "object")
        .collect();
    let outcomes: Vec<&str> = summaries
        .iter()
        .filter_map(|v| v["fields"]["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["converted", "bad_input", "failed"], "{logs}");
    assert_eq!(summaries[0]["fields"]["rows"], 2, "{logs}");
    assert!(
        !logs.contains("hunter2") && !logs.contains("swordfish"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_fails_the_cold_start_naming_the_variable() {
    let s3 = TestS3::start().await;
    let api = RuntimeApi::default();
    let addr = api.start().await;
    let out = function(&addr, &s3, &[("CSV2PQ_COMPRESSION", "brotli9")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("CSV2PQ_COMPRESSION"), "{text}");
}

/// Peak RSS (VmHWM) of a running process, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        >> 10
}

/// The function binary, configured as a 512 MB function (its memory budget is derived from
/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), converts a large object (1 GiB by default, CSV2PQ_S3_SIZE
/// to change) s3 -> s3 within that memory. Prints rows, seconds and the function's peak RSS.
/// Run: `cargo test --release --test it -- --ignored --nocapture function_binary_converts`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "multi-GB check, run explicitly"]
async fn function_binary_converts_a_large_object_in_512_mb() {
    let size: u64 = std::env::var("CSV2PQ_S3_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1 << 30);
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    s3_csv2parquet::testkit::generate(s3_csv2parquet::testkit::Shape::Taxi, size, 5, &mut file)
        .unwrap();
    drop(file);
    let uploaded = s3
        .upload_file(&path, BUCKET, "incoming/big/trips.csv")
        .await;
    drop(dir);
    let api = RuntimeApi::default();
    let addr = api.start().await;
    let mut child = function(&addr, &s3, &[]).spawn().unwrap();
    let started = Instant::now();
    let id = api.invoke(s3_event("incoming/big/trips.csv"));
    let answer = api.answer(&id, &mut child).await;
    let seconds = started.elapsed().as_secs_f64();
    let peak = peak_rss_mib(child.id());
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(answer.kind, "response", "{answer:?}");
    let result = &answer.body["results"][0];
    assert_eq!(result["outcome"], "converted", "{result}");
    assert_eq!(result["bytes_in"], uploaded, "{result}");
    println!(
        "function (512 MB) s3 -> s3 {} MiB: {} rows, {} row groups, {seconds:.1} s, {:.1} MiB/s, peak RSS {peak} MiB",
        size >> 20,
        result["rows"],
        result["row_groups"],
        (size >> 20) as f64 / seconds
    );
    assert_eq!(s3.open_uploads(), 0);
    assert!(peak < 512, "peak RSS {peak} MiB over the function's 512 MB");
}
