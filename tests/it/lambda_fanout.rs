//! The function's fan-out against the in-process S3 server: an S3 event for a large object
//! starts an execution (recorded here instead of Step Functions), and the execution's steps
//! run through their event JSON the way the template's state machine invokes them (Plan, the
//! Map over the ranges, Stitch; each retried on an invocation error; Cleanup when one keeps
//! failing). The output equals the single conversion, and whatever happens no fragment and
//! no open upload is left.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use s3_csv2parquet::lambda::config::LambdaConfig;
use s3_csv2parquet::lambda::fanout::StartFanOut;
use s3_csv2parquet::lambda::handler::Handler;
use s3_csv2parquet::testkit::{generate_vec, Shape};
use s3_csv2parquet::ConvertOptions;
use serde_json::{json, Value};

use crate::harness::convert_ok;
use crate::harness::parquet::read_parquet;
use crate::harness::s3::{Fault, Op, Rule, TestS3};

const BUCKET: &str = "data";
/// Attempts of a step, as the template's `States.ALL` retrier allows (1 + 2 retries).
const ATTEMPTS: usize = 3;

/// Records the executions an event starts.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Value)>>);

#[async_trait::async_trait]
impl StartFanOut for Recorder {
    async fn start(
        &self,
        state_machine: &str,
        name: &str,
        input: &Value,
    ) -> s3_csv2parquet::Result<String> {
        self.0
            .lock()
            .unwrap()
            .push((name.to_string(), input.clone()));
        Ok(format!("{state_machine}:{name}"))
    }
}

async fn handler(s3: &TestS3, recorder: Arc<Recorder>) -> Handler {
    let vars: HashMap<&str, &str> = [
        ("CSV2PQ_INPUT_PREFIX", "in/"),
        ("CSV2PQ_OUTPUT_PREFIX", "out/"),
        ("CSV2PQ_FAN_OUT_ABOVE", "2MiB"),
        ("CSV2PQ_FAN_OUT_RANGE_BYTES", "1MiB"),
        (
            "CSV2PQ_FAN_OUT_STATE_MACHINE",
            "arn:aws:states:us-east-1:1:stateMachine:t-fanout",
        ),
    ]
    .into_iter()
    .collect();
    let config = LambdaConfig::from_vars(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    Handler::new(s3.client().await, config)
        .await
        .unwrap()
        .with_fan_out(recorder)
}

fn s3_event(key: &str) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-12-04T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": BUCKET, "arn": "arn:aws:s3:::data"},
               "object": {"key": key, "size": 10}}
    }]})
}

/// What the execution did.
#[derive(Debug, Default)]
struct Execution {
    /// The Plan step's answer.
    plan: Value,
    /// The Stitch step's answer (when it ran and succeeded).
    stitched: Option<Value>,
    /// Whether it ended in Cleanup (and failed).
    cleaned_up: bool,
    /// Invocations that failed and were retried.
    retried: usize,
}

/// Run one step with the retries of the state machine; `before(step, attempt)` runs before
/// each attempt (to inject or clear faults).
async fn invoke(
    handler: &Handler,
    payload: Value,
    retried: &mut usize,
    before: &mut impl FnMut(&str, usize),
) -> Option<Value> {
    let step = payload["fanout"]["step"].as_str().unwrap_or("").to_string();
    for attempt in 0..ATTEMPTS {
        before(&step, attempt);
        match handler.handle(&payload, None).await {
            Ok(answer) => return Some(answer),
            Err(e) => {
                eprintln!("{step} attempt {attempt} failed: {e}");
                *retried += 1;
            }
        }
    }
    None
}

/// The template's state machine, step by step.
async fn execute(
    handler: &Handler,
    input: &Value,
    mut before: impl FnMut(&str, usize),
) -> Execution {
    let mut run = Execution::default();
    let payload = json!({"fanout": {"step": "plan", "bucket": input["bucket"], "key": input["key"],
                                    "version_id": input["version_id"]}});
    run.plan = invoke(handler, payload, &mut run.retried, &mut before)
        .await
        .expect("the plan step");
    if run.plan["status"] != "planned" {
        return run;
    }
    let (bucket, plan_key) = (&run.plan["bucket"], &run.plan["plan_key"]);
    let mut results = Vec::new();
    let mut failed = false;
    for index in run.plan["ranges"].as_array().unwrap().clone() {
        let payload = json!({"fanout": {"step": "convert", "bucket": bucket,
                                        "plan_key": plan_key, "index": index}});
        match invoke(handler, payload, &mut run.retried, &mut before).await {
            Some(answer) => results.push(answer),
            None => failed = true,
        }
    }
    if !failed {
        let payload = json!({"fanout": {"step": "stitch", "bucket": bucket,
                                        "plan_key": plan_key, "results": results}});
        run.stitched = invoke(handler, payload, &mut run.retried, &mut before).await;
        if run.stitched.is_some() {
            return run;
        }
    }
    let payload = json!({"fanout": {"step": "cleanup", "bucket": bucket, "plan_key": plan_key}});
    invoke(handler, payload, &mut run.retried, &mut before)
        .await
        .expect("the cleanup step");
    run.cleaned_up = true;
    run
}

fn rows(batches: &[RecordBatch]) -> RecordBatch {
    arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap()
}

/// Nothing of a job is left: no fragment, no plan, no open upload.
fn nothing_left(s3: &TestS3) {
    let left: Vec<String> = s3
        .object_keys(BUCKET)
        .into_iter()
        .filter(|k| k.contains(".fragments/"))
        .collect();
    assert!(left.is_empty(), "left: {left:?}");
    assert_eq!(s3.open_uploads(), 0);
}

/// Text with quoted fields holding line breaks (so cuts land inside quoted fields).
fn big_csv() -> Vec<u8> {
    generate_vec(Shape::Text, 6 << 20, 21)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_starts_a_fan_out_whose_steps_give_the_single_conversion() {
    let csv = big_csv();
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    s3.put(BUCKET, "in/big.csv", csv.clone()).await;
    let recorder = Arc::new(Recorder::default());
    let h = handler(&s3, recorder.clone()).await;

    let answer = h.handle(&s3_event("in/big.csv"), None).await.unwrap();
    assert_eq!(answer["results"][0]["outcome"], "fanned_out", "{answer}");
    let (name, input) = recorder.0.lock().unwrap()[0].clone();
    assert!(name.starts_with("csv2pq-"), "{name}");
    assert_eq!(input["key"], "in/big.csv");
    // A duplicate event names the same execution (Step Functions runs a name once).
    h.handle(&s3_event("in/big.csv"), None).await.unwrap();
    assert_eq!(recorder.0.lock().unwrap()[1].0, name);

    let run = execute(&h, &input, |_, _| {}).await;
    let ranges = run.plan["ranges"].as_array().unwrap().len();
    assert!(ranges >= 5, "{}", run.plan);
    let answer = run.stitched.expect("stitched");
    let result = &answer["result"];
    assert_eq!(result["outcome"], "converted", "{answer}");
    assert_eq!(run.retried, 0);
    nothing_left(&s3);

    let (single, report) = convert_ok(csv, &ConvertOptions::default()).await;
    let out = s3.get(BUCKET, "out/big.parquet").await.expect("the output");
    let (_, ours) = read_parquet(out);
    let (_, theirs) = read_parquet(single);
    assert_eq!(rows(&ours), rows(&theirs));
    assert_eq!(result["rows"], report.rows);

    // The output is up to date now: a second execution plans nothing.
    let again = execute(&h, &input, |_, _| {}).await;
    assert_eq!(again.plan["status"], "done", "{}", again.plan);
    assert_eq!(again.plan["result"]["outcome"], "up_to_date");
    nothing_left(&s3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_worker_is_retried_and_a_failing_stitch_leaves_nothing() {
    let csv = big_csv();
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    s3.put(BUCKET, "in/big.csv", csv.clone()).await;
    let h = handler(&s3, Arc::default()).await;
    let input = json!({"bucket": BUCKET, "key": "in/big.csv", "version_id": null});

    // The first attempt of every convert step fails to upload its fragment (503 on every
    // UploadPart and PutObject, past the client's own retries); the retry succeeds.
    let faults = s3.faults.clone();
    let run = execute(&h, &input, |step, attempt| {
        faults.clear();
        if step == "convert" && attempt == 0 {
            faults.push(Rule::every(Op::UploadPart, Fault::Status(503)));
            faults.push(Rule::every(Op::PutObject, Fault::Status(503)));
        }
    })
    .await;
    faults.clear();
    let ranges = run.plan["ranges"].as_array().unwrap().len();
    assert_eq!(run.retried, ranges, "one retry per range");
    let answer = run.stitched.expect("stitched");
    assert_eq!(answer["result"]["outcome"], "converted", "{answer}");
    let (single, _) = convert_ok(csv.clone(), &ConvertOptions::default()).await;
    let (_, ours) = read_parquet(s3.get(BUCKET, "out/big.parquet").await.unwrap());
    assert_eq!(rows(&ours), rows(&read_parquet(single).1));
    nothing_left(&s3);

    // A new version, whose stitch keeps failing (every publish 503: the small output is one
    // PutObject, a larger one a CompleteMultipartUpload): the execution cleans up and fails;
    // the old output stays as it was.
    let before = s3.get(BUCKET, "out/big.parquet").await.unwrap();
    let mut changed = csv;
    changed.extend_from_slice(b"\n");
    s3.put(BUCKET, "in/big.csv", changed).await;
    let run = execute(&h, &input, |step, _| {
        faults.clear();
        if step == "stitch" {
            faults.push(Rule::every(Op::CompleteMultipartUpload, Fault::Status(503)));
            faults.push(Rule::every(Op::PutObject, Fault::Status(503)));
        }
    })
    .await;
    faults.clear();
    assert!(run.stitched.is_none() && run.cleaned_up, "{run:?}");
    assert_eq!(run.retried, ATTEMPTS);
    assert_eq!(s3.get(BUCKET, "out/big.parquet").await.unwrap(), before);
    nothing_left(&s3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_in_a_middle_range_is_reported_and_nothing_is_published() {
    let mut csv = big_csv();
    // A record with one field too many, about half-way.
    let middle = csv.len() / 2;
    let text = String::from_utf8(csv.clone()).unwrap();
    let header_fields = text.lines().next().unwrap().split(',').count();
    let bad: String = vec!["1"; header_fields + 1].join(",") + "\n";
    // Insert at a record start: after a line break outside quotes.
    let mut quotes = 0usize;
    let mut at = None;
    for (i, &b) in csv.iter().enumerate() {
        if b == b'"' {
            quotes += 1;
        }
        if b == b'\n' && quotes % 2 == 0 && i > middle {
            at = Some(i + 1);
            break;
        }
    }
    let at = at.unwrap();
    csv.splice(at..at, bad.into_bytes());
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    s3.put(BUCKET, "in/bad.csv", csv).await;
    let h = handler(&s3, Arc::default()).await;
    let input = json!({"bucket": BUCKET, "key": "in/bad.csv", "version_id": null});
    let run = execute(&h, &input, |_, _| {}).await;
    let answer = run.stitched.expect("the stitch answers");
    assert_eq!(answer["result"]["outcome"], "bad_input", "{answer}");
    assert!(
        answer["result"]["error"]
            .as_str()
            .unwrap()
            .contains("fields"),
        "{answer}"
    );
    assert!(s3.get(BUCKET, "out/bad.parquet").await.is_none());
    assert!(s3.get(BUCKET, "failed/bad.csv.error.json").await.is_some());
    nothing_left(&s3);
}
