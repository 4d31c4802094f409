//! Every S3 option reaches every request of the function's paths: `handle-event` (the same
//! configuration as `local` and `serve`, `S3Args::function_config`) with `--sse`,
//! `--sse-kms-key-id`, `--expected-bucket-owner`, `--range-bytes` and `--force`, checked on each
//! request the server received; the `CSV2PQ_SSE*` variables against moto, which keeps the
//! encryption it was asked for.

use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::harness::bin;
use crate::harness::moto::Moto;
use crate::harness::s3::{Op, TestS3, ACCESS_KEY, REGION, SECRET_KEY};

const BUCKET: &str = "opts";
const OWNER: &str = "111122223333";

fn event(keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                   "s3": {"bucket": {"name": BUCKET}, "object": {"key": k}}})
        })
        .collect();
    json!({ "Records": records })
}

/// `csv2parquet handle-event` of `keys` against `endpoint`, with `args` and `env`.
fn handle_event(endpoint: &str, keys: &[&str], args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    std::fs::write(&path, event(keys).to_string()).unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("handle-event")
        .arg(&path)
        .args(["--endpoint-url", endpoint])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", REGION);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn results(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn numbered_csv(rows: usize) -> Vec<u8> {
    let mut csv = b"id,text\n".to_vec();
    for i in 0..rows {
        csv.extend_from_slice(format!("{i},row number {i} of the options test\n").as_bytes());
    }
    csv
}

fn range_start(range: &str) -> u64 {
    range
        .trim_start_matches("bytes=")
        .split('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

#[test]
fn handle_event_sends_every_option_on_every_request() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = rt.block_on(TestS3::start());
    rt.block_on(s3.create_bucket(BUCKET));
    let csv = numbered_csv(8_000); // ~330 KB: several 64 KiB ranges
    rt.block_on(s3.put(BUCKET, "incoming/a.csv", csv.clone()));
    rt.block_on(s3.put(BUCKET, "incoming/bad.csv", b"a,b\n1\n".to_vec()));
    let flags = [
        "--sse",
        "aws:kms",
        "--sse-kms-key-id",
        "key-1",
        "--expected-bucket-owner",
        OWNER,
        "--range-bytes",
        "64KiB",
    ];
    let keys = ["incoming/a.csv", "incoming/bad.csv"];
    let r = results(&handle_event(&s3.endpoint, &keys, &flags, &[]));
    assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
    assert_eq!(r["results"][1]["outcome"], "bad_input", "{r}");
    let log = s3.faults.log();
    assert!(!log.is_empty());
    for seen in &log {
        assert_eq!(
            seen.header("x-amz-expected-bucket-owner"),
            Some(OWNER),
            "{} {} lacks the expected owner",
            seen.method,
            seen.path
        );
    }
    let writes: Vec<_> = log
        .iter()
        .filter(|s| matches!(s.op, Op::PutObject | Op::CreateMultipartUpload))
        .collect();
    assert_eq!(writes.len(), 2, "the output and the error report");
    for seen in writes {
        assert_eq!(
            seen.header("x-amz-server-side-encryption"),
            Some("aws:kms"),
            "{}",
            seen.path
        );
        assert_eq!(
            seen.header("x-amz-server-side-encryption-aws-kms-key-id"),
            Some("key-1"),
            "{}",
            seen.path
        );
    }
    // Ranges are fetched concurrently, so the log's order is not the read order: compare sets.
    let mut ranges: Vec<&str> = log
        .iter()
        .filter(|s| s.op == Op::GetObject && s.path.contains("a.csv"))
        .filter_map(|s| s.header("range"))
        .collect();
    ranges.sort_by_key(|r| range_start(r));
    let expected: Vec<String> = (0..csv.len().div_ceil(64 << 10))
        .map(|i| {
            let start = i * (64 << 10);
            let end = (start + (64 << 10)).min(csv.len()) - 1;
            format!("bytes={start}-{end}")
        })
        .collect();
    assert_eq!(
        ranges, expected,
        "one 64 KiB range each, covering the object"
    );
    // Up to date: delivered again, nothing converts; --force converts anyway.
    let r = results(&handle_event(&s3.endpoint, &keys[..1], &flags, &[]));
    assert_eq!(r["results"][0]["outcome"], "up_to_date", "{r}");
    let mut forced = flags.to_vec();
    forced.push("--force");
    let r = results(&handle_event(&s3.endpoint, &keys[..1], &forced, &[]));
    assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
    // A changed option is not up to date either.
    let env = [("CSV2PQ_COMPRESSION", "snappy")];
    let r = results(&handle_event(&s3.endpoint, &keys[..1], &flags, &env));
    assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
}

#[test]
fn moto_keeps_the_encryption_the_variables_ask_for() {
    // moto keeps no KMS keys: it records and echoes the algorithm and key id asked for (and it
    // ignores ExpectedBucketOwner, checked on the in-process server above).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = rt.block_on(Moto::start());
    rt.block_on(moto.create_bucket(BUCKET, false));
    rt.block_on(moto.put(BUCKET, "incoming/a.csv", &numbered_csv(10)));
    rt.block_on(moto.put(BUCKET, "incoming/bad.csv", b"a,b\n1\n"));
    let env = [
        ("CSV2PQ_SSE", "aws:kms"),
        ("CSV2PQ_SSE_KMS_KEY_ID", "key-2"),
    ];
    let keys = ["incoming/a.csv", "incoming/bad.csv"];
    let r = results(&handle_event(moto.endpoint(), &keys, &[], &env));
    assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
    assert_eq!(r["results"][1]["outcome"], "bad_input", "{r}");
    let client = moto.client();
    for key in ["parquet/a.parquet", "failed/bad.csv.error.json"] {
        let head = rt
            .block_on(client.head_object().bucket(BUCKET).key(key).send())
            .unwrap();
        assert_eq!(
            head.server_side_encryption().map(|s| s.as_str()),
            Some("aws:kms"),
            "{key}"
        );
        assert_eq!(head.ssekms_key_id(), Some("key-2"), "{key}");
    }
    let report = rt.block_on(moto.get(BUCKET, "failed/bad.csv.error.json"));
    let report: Value = serde_json::from_slice(&report.unwrap()).unwrap();
    assert_eq!(report["kind"], "bad_input");
}

#[test]
fn invalid_encryption_variables_are_named() {
    for (env, named) in [
        (vec![("CSV2PQ_SSE", "aes")], "CSV2PQ_SSE"),
        (
            vec![("CSV2PQ_SSE", "AES256"), ("CSV2PQ_SSE_KMS_KEY_ID", "k")],
            "CSV2PQ_SSE_KMS_KEY_ID",
        ),
    ] {
        let out = handle_event("http://127.0.0.1:9", &["incoming/a.csv"], &[], &env);
        assert_eq!(out.status.code(), Some(2), "{env:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{stderr}");
    }
}
