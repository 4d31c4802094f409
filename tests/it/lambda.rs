//! The Lambda handler end to end against the in-process S3 server: success, duplicate skipped,
//! bad CSV -> error report and no output, transient fault -> retryable error and no partial
//! output, deadline -> aborted upload, SQS partial batch failures, and `csv2parquet handle-event`.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use s3_csv2parquet::lambda::config::LambdaConfig;
use s3_csv2parquet::lambda::handler::Handler;
use s3_csv2parquet::testkit::{generate_vec, Shape};
use serde_json::{json, Value};

use crate::harness::parquet::dump;
use crate::harness::s3::{Fault, Op, Rule, TestS3, ACCESS_KEY, REGION, SECRET_KEY};
use crate::harness::{bin, gzip};

const BUCKET: &str = "data";

fn s3_event(keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-24T00:00:00.000Z", "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": BUCKET, "arn": "arn:aws:s3:::data"},
                       "object": {"key": k, "size": 10}}
            })
        })
        .collect();
    json!({ "Records": records })
}

async fn handler(s3: &TestS3, vars: &[(&str, &str)]) -> Handler {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = LambdaConfig::from_vars(|k| map.get(k).cloned()).unwrap();
    Handler::new(s3.client().await, config).await.unwrap()
}

async fn setup(objects: &[(&str, Vec<u8>)]) -> TestS3 {
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    for (k, v) in objects {
        s3.put(BUCKET, k, v.clone()).await;
    }
    s3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converts_then_skips_the_duplicate() {
    let s3 = setup(&[("incoming/2024/sales.csv.gz", gzip(b"id,v\n1,x\n2,y\n"))]).await;
    let h = handler(&s3, &[]).await;
    let r = h
        .handle(&s3_event(&["incoming/2024/sales.csv.gz"]), None)
        .await
        .unwrap();
    assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
    assert_eq!(
        r["results"][0]["output"],
        "s3://data/parquet/2024/sales.parquet"
    );
    let out = s3.get(BUCKET, "parquet/2024/sales.parquet").await.unwrap();
    assert_eq!(dump(out), "id: Int64\nv: Utf8\n--\n1 | \"x\"\n2 | \"y\"\n");
    // At-least-once delivery: the same event again is skipped, nothing re-uploaded.
    let puts = s3.faults.count(Op::PutObject);
    let r = h
        .handle(&s3_event(&["incoming/2024/sales.csv.gz"]), None)
        .await
        .unwrap();
    assert_eq!(r["results"][0]["outcome"], "up_to_date", "{r}");
    assert_eq!(s3.faults.count(Op::PutObject), puts);
    // Loop guard and prefix filter.
    let r = h
        .handle(
            &s3_event(&["parquet/2024/sales.parquet", "elsewhere/x.csv"]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r["results"][0]["outcome"], "skipped");
    assert_eq!(r["results"][1]["outcome"], "skipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_writes_an_error_report_and_completes() {
    let s3 = setup(&[("incoming/bad.csv", b"a,b\n1,2\n3\n".to_vec())]).await;
    let h = handler(&s3, &[]).await;
    let r = h
        .handle(&s3_event(&["incoming/bad.csv"]), None)
        .await
        .unwrap();
    assert_eq!(r["results"][0]["outcome"], "bad_input", "{r}");
    assert!(s3.get(BUCKET, "parquet/bad.parquet").await.is_none());
    let report: Value =
        serde_json::from_slice(&s3.get(BUCKET, "failed/bad.csv.error.json").await.unwrap())
            .unwrap();
    assert_eq!(report["kind"], "bad_input");
    assert_eq!(report["position"]["line"], 3);
    assert_eq!(report["position"]["record"], 2);
    assert!(report["error"]
        .as_str()
        .unwrap()
        .contains("expected 2 fields, found 1"));
    assert_eq!(report["config"]["on_error"], "fail");
    assert_eq!(s3.open_uploads(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retryable_errors() {
    let csv = generate_vec(Shape::Text, 12 << 20, 1);
    let s3 = setup(&[("incoming/big.csv", csv)]).await;
    s3.faults
        .push(Rule::every(Op::UploadPart, Fault::Status(503)));
    let h = handler(&s3, &[("CSV2PQ_COMPRESSION", "none")]).await;
    let err = h
        .handle(&s3_event(&["incoming/big.csv"]), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("UploadPart"), "{err}");
    assert_eq!(s3.open_uploads(), 0);
    assert!(s3.get(BUCKET, "parquet/big.parquet").await.is_none());
    assert!(
        s3.get(BUCKET, "failed/big.csv.error.json").await.is_none(),
        "not bad input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_stops_and_aborts_the_upload() {
    let csv = generate_vec(Shape::Text, 12 << 20, 2);
    let s3 = setup(&[("incoming/slow.csv", csv)]).await;
    // The second part never completes: only the deadline can end the invocation.
    s3.faults.push(Rule::nth(Op::UploadPart, 2, Fault::Hang));
    let h = handler(
        &s3,
        &[
            ("CSV2PQ_COMPRESSION", "none"),
            ("CSV2PQ_DEADLINE_MARGIN_SECS", "1"),
        ],
    )
    .await;
    let started = Instant::now();
    // A deadline hit would hit again: it is reported under failed/ and completes, not retried.
    let r = h
        .handle(
            &s3_event(&["incoming/slow.csv"]),
            Some(Instant::now() + Duration::from_secs(4)),
        )
        .await
        .unwrap();
    let result = &r["results"][0];
    assert_eq!(result["outcome"], "failed", "{r}");
    assert_eq!(result["kind"], "cancelled", "{r}");
    assert_eq!(result["retryable"], false, "{r}");
    let error = result["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("deadline") && error.contains("after reading"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "stopped before the timeout"
    );
    assert_eq!(s3.open_uploads(), 0);
    assert!(s3.get(BUCKET, "parquet/slow.parquet").await.is_none());
    let report = s3.get(BUCKET, "failed/slow.csv.error.json").await.unwrap();
    let report: serde_json::Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(report["kind"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_batches_report_only_the_failed_messages() {
    let s3 = setup(&[
        ("incoming/ok.csv", b"a\n1\n".to_vec()),
        ("incoming/bad.csv", b"a,b\n1\n".to_vec()),
    ])
    .await;
    let h = handler(&s3, &[]).await;
    // Batch 1: m1's HeadObject fails with 500 (transient: retried), m3 is not JSON (malformed).
    s3.faults
        .push(Rule::every(Op::HeadObject, Fault::Status(500)));
    let msg = |id: &str, body: String| json!({"messageId": id, "receiptHandle": "h", "body": body, "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q", "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {}, "md5OfBody": ""});
    let payload = json!({"Records": [
        msg("m1", s3_event(&["incoming/ok.csv"]).to_string()),
        msg("m3", "not json".to_string()),
    ]});
    let r = h.handle(&payload, None).await.unwrap();
    let failures: Vec<&str> = r["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(failures, ["m1", "m3"], "{r}");
    // Batch 2: m1 converts, m2 is bad CSV (error report, not retried): no failures.
    s3.faults.clear();
    let payload = json!({"Records": [
        msg("m1", s3_event(&["incoming/ok.csv"]).to_string()),
        msg("m2", s3_event(&["incoming/bad.csv"]).to_string()),
    ]});
    let r = h.handle(&payload, None).await.unwrap();
    assert_eq!(r["batchItemFailures"].as_array().unwrap().len(), 0, "{r}");
    assert!(s3.get(BUCKET, "parquet/ok.parquet").await.is_some());
    assert!(s3.get(BUCKET, "failed/bad.csv.error.json").await.is_some());
}

#[test]
fn handle_event_cli_runs_the_same_handler() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = rt.block_on(setup(&[("incoming/cli.csv", b"n\n1\n2\n".to_vec())]));
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, s3_event(&["incoming/cli.csv"]).to_string()).unwrap();
    let out = Command::new(bin())
        .arg("handle-event")
        .arg(&event)
        .args(["--endpoint-url", &s3.endpoint])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", REGION)
        .env("CSV2PQ_OUTPUT_PREFIX", "out/")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["results"][0]["output"], "s3://data/out/cli.parquet");
    assert_eq!(result["results"][0]["rows"], 2);
    assert!(rt.block_on(s3.get(BUCKET, "out/cli.parquet")).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_policy_writes_rejected_records_beside_the_error_reports() {
    let s3 = setup(&[
        ("incoming/r/mixed.csv", b"a,b\n1,x\n2\n3,z\n".to_vec()),
        ("incoming/clean.csv", b"a,b\n1,x\n".to_vec()),
    ])
    .await;
    let h = handler(&s3, &[("CSV2PQ_ON_ERROR", "reject")]).await;
    let r = h
        .handle(
            &s3_event(&["incoming/r/mixed.csv", "incoming/clean.csv"]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
    assert_eq!(r["results"][0]["rejected"], 1, "{r}");
    assert_eq!(
        r["results"][0]["rejects"],
        "s3://data/failed/r/mixed.csv.rejects.csv"
    );
    let out = s3.get(BUCKET, "parquet/r/mixed.parquet").await.unwrap();
    assert_eq!(dump(out), "a: Int64\nb: Utf8\n--\n1 | \"x\"\n3 | \"z\"\n");
    let rejects = s3
        .get(BUCKET, "failed/r/mixed.csv.rejects.csv")
        .await
        .unwrap();
    let rejects = String::from_utf8(rejects.to_vec()).unwrap();
    assert!(
        rejects.starts_with("line,byte,reason,record\n3,"),
        "{rejects}"
    );
    assert!(rejects.contains(",\"2\"\n"), "{rejects}");
    // No rejected record: no rejects object.
    assert_eq!(r["results"][1]["rejected"], 0, "{r}");
    assert!(s3
        .get(BUCKET, "failed/clean.csv.rejects.csv")
        .await
        .is_none());
    assert_eq!(s3.open_uploads(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widen_policy_in_the_function() {
    let mut csv = b"id,v\n".to_vec();
    // Past the 20,480 records inference samples.
    for i in 0..25_000 {
        csv.extend_from_slice(format!("{i},{}\n", i % 7).as_bytes());
    }
    csv.extend_from_slice(b"25000,seven\n");
    let s3 = setup(&[("incoming/w.csv", csv)]).await;
    let h = handler(&s3, &[("CSV2PQ_ON_ERROR", "widen")]).await;
    let r = h
        .handle(&s3_event(&["incoming/w.csv"]), None)
        .await
        .unwrap();
    let result = &r["results"][0];
    assert_eq!(result["outcome"], "converted", "{r}");
    assert_eq!(result["widened"][0]["column"], "v", "{r}");
    assert_eq!(result["widened"][0]["to"], "utf8", "{r}");
    assert_eq!(result["rows"], 25_001);
    let out = s3.get(BUCKET, "parquet/w.parquet").await.unwrap();
    assert!(dump(out).contains("25000 | \"seven\""));
    assert_eq!(s3.open_uploads(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_object_is_read_in_its_own_sniffed_dialect() {
    let s3 = setup(&[
        (
            "incoming/a.tsv",
            b"id\tname\n1\tSmith, J\n2\tDoe\n".to_vec(),
        ),
        (
            "incoming/b.csv",
            b"Export\n\nzip;n\n00123;1\n04000;2\n".to_vec(),
        ),
        ("incoming/c.csv", b"1,2.5\n2,3.5\n".to_vec()),
    ])
    .await;
    let h = handler(&s3, &[]).await;
    let keys = ["incoming/a.tsv", "incoming/b.csv", "incoming/c.csv"];
    let r = h.handle(&s3_event(&keys), None).await.unwrap();
    for i in 0..3 {
        assert_eq!(r["results"][i]["outcome"], "converted", "{r}");
    }
    let dialect = |i: usize| &r["results"][i]["dialect"];
    assert_eq!(dialect(0)["delimiter"], "\t", "{r}");
    assert_eq!(dialect(1)["delimiter"], ";", "{r}");
    assert_eq!(dialect(1)["skip_rows"], 2, "{r}");
    assert_eq!(dialect(2)["header"], false, "{r}");
    let out = |key: &'static str| {
        let s3 = &s3;
        async move { dump(s3.get(BUCKET, key).await.unwrap()) }
    };
    assert_eq!(
        out("parquet/a.parquet").await,
        "id: Int64\nname: Utf8\n--\n1 | \"Smith, J\"\n2 | \"Doe\"\n"
    );
    assert_eq!(
        out("parquet/b.parquet").await,
        "zip: Utf8\nn: Int64\n--\n\"00123\" | 1\n\"04000\" | 2\n"
    );
    assert_eq!(
        out("parquet/c.parquet").await,
        "column_1: Int64\ncolumn_2: Float64\n--\n1 | 2.5\n2 | 3.5\n"
    );
    // The footer records the dialect, so that a user can pin it.
    let meta =
        crate::harness::parquet::kv_metadata(s3.get(BUCKET, "parquet/b.parquet").await.unwrap());
    let recorded: Value = serde_json::from_str(&meta["csv2parquet.dialect"]).unwrap();
    assert_eq!(recorded["delimiter"], ";");
    assert_eq!(recorded["skip_rows"], 2);
}
