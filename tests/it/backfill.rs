//! `csv2parquet backfill` against the in-process S3 server, through the binary: the issue's
//! case (30 CSVs, 2 converted by their events, 1 converted with other options, 1 bad) planned,
//! converted, and planned again; and against moto (a listing with ETags, as AWS gives it).

use std::collections::HashMap;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use s3_csv2parquet::lambda::config::LambdaConfig;
use s3_csv2parquet::lambda::handler::Handler;
use s3_csv2parquet::lambda::reconcile::Reinvoke;
use serde_json::{json, Value};

use crate::harness::bin;
use crate::harness::moto::Moto;
use crate::harness::s3::{Op, TestS3, ACCESS_KEY, REGION, SECRET_KEY};

const BUCKET: &str = "data";

fn event(key: &str) -> Value {
    json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}]})
}

async fn handler(s3: &TestS3, vars: &[(&str, &str)]) -> Handler {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = LambdaConfig::from_vars(|k| map.get(k).cloned()).unwrap();
    Handler::new(s3.client().await, config).await.unwrap()
}

fn backfill(endpoint: &str, args: &[&str], keys: (&str, &str)) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("backfill")
        .args(args)
        .args(["--endpoint-url", endpoint])
        .env("AWS_ACCESS_KEY_ID", keys.0)
        .env("AWS_SECRET_ACCESS_KEY", keys.1)
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    for (k, _) in std::env::vars() {
        if k.starts_with("CSV2PQ_") || k.starts_with("AWS_ENDPOINT_URL") {
            cmd.env_remove(k);
        }
    }
    cmd.output().unwrap()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn csv(i: usize) -> Vec<u8> {
    format!("id,name,amount\n{i},n{i},{i}.5\n{},m{i},7\n", i + 1000).into_bytes()
}

#[test]
fn backfill_converts_what_is_missing_once_and_reports_the_bad_input() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = rt.block_on(async {
        let s3 = TestS3::start().await;
        s3.create_bucket(BUCKET).await;
        for i in 0..30 {
            let body = if i == 13 {
                b"id,name\n1,x\n2\n".to_vec()
            } else {
                csv(i)
            };
            s3.put(BUCKET, &format!("incoming/day/{i:02}.csv"), body)
                .await;
        }
        s3.put(BUCKET, "elsewhere/x.csv", csv(99)).await;
        let h = handler(&s3, &[]).await;
        for key in ["incoming/day/03.csv", "incoming/day/17.csv"] {
            let r = h.handle(&event(key), None).await.unwrap();
            assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
        }
        let other = handler(&s3, &[("CSV2PQ_COMPRESSION", "snappy")]).await;
        let r = other
            .handle(&event("incoming/day/21.csv"), None)
            .await
            .unwrap();
        assert_eq!(r["results"][0]["outcome"], "converted", "{r}");
        s3
    });
    let keys = (ACCESS_KEY, SECRET_KEY);
    let target = format!("s3://{BUCKET}/incoming/");

    let out = backfill(&s3.endpoint, &[&target, "--dry-run", "--json"], keys);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = json_of(&out);
    assert_eq!(plan["listed"], 30, "{plan}");
    assert_eq!(plan["up_to_date"], 2, "{plan}");
    let convert = plan["convert"].as_array().unwrap();
    assert_eq!(convert.len(), 28, "{plan}");
    let reason = |key: &str| {
        convert
            .iter()
            .find(|p| p["input"] == format!("s3://{BUCKET}/incoming/day/{key}"))
            .map(|p| p["reason"].as_str().unwrap().to_string())
    };
    assert_eq!(reason("00.csv").as_deref(), Some("no output"));
    assert!(reason("21.csv").unwrap().contains("the options changed"));
    assert_eq!(reason("03.csv"), None);
    // A dry run converts nothing.
    let puts = s3.faults.count(Op::PutObject) + s3.faults.count(Op::CreateMultipartUpload);
    assert!(rt
        .block_on(s3.get(BUCKET, "parquet/day/00.parquet"))
        .is_none());

    let out = backfill(
        &s3.endpoint,
        &[&target, "--json", "--concurrency", "3"],
        keys,
    );
    assert_eq!(
        out.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = json_of(&out);
    assert_eq!(summary["converted"], 27, "{summary}");
    assert_eq!(summary["bad_input"], 1, "{summary}");
    assert_eq!(summary["plan"]["to_convert"], 28, "{summary}");
    assert!(s3.faults.count(Op::PutObject) + s3.faults.count(Op::CreateMultipartUpload) > puts);
    let report = rt
        .block_on(s3.get(BUCKET, "failed/day/13.csv.error.json"))
        .expect("the bad input's error report");
    let report: Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(report["position"]["line"], 3, "{report}");
    for i in (0..30).filter(|i| *i != 13) {
        let key = format!("parquet/day/{i:02}.parquet");
        assert!(rt.block_on(s3.get(BUCKET, &key)).is_some(), "{key}");
    }
    assert!(rt
        .block_on(s3.get(BUCKET, "parquet/day/13.parquet"))
        .is_none());
    assert_eq!(s3.open_uploads(), 0);

    // A second run converts nothing and writes nothing: 29 up to date, the bad one kept.
    let writes = s3.faults.count(Op::PutObject) + s3.faults.count(Op::CreateMultipartUpload);
    let out = backfill(&s3.endpoint, &[&target, "--json"], keys);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = json_of(&out);
    assert_eq!(summary["converted"], 0, "{summary}");
    assert_eq!(summary["plan"]["to_convert"], 0, "{summary}");
    assert_eq!(summary["plan"]["up_to_date"], 29, "{summary}");
    assert_eq!(summary["plan"]["failed_before"], 1, "{summary}");
    assert_eq!(
        s3.faults.count(Op::PutObject) + s3.faults.count(Op::CreateMultipartUpload),
        writes
    );

    // The human plan names each object and its reason; a prefix the function does not
    // convert is refused.
    let out = backfill(
        &s3.endpoint,
        &[&format!("s3://{BUCKET}/"), "--dry-run"],
        keys,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("keep    s3://data/incoming/day/13.csv"),
        "{text}"
    );
    assert!(text.contains("30 objects listed, 0 to convert"), "{text}");
    let out = backfill(&s3.endpoint, &[&format!("s3://{BUCKET}/elsewhere/")], keys);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CSV2PQ_INPUT_PREFIX"));
}

#[test]
fn backfill_against_moto() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = rt.block_on(async {
        let moto = Moto::start().await;
        moto.create_bucket("moto", false).await;
        for i in 0..5 {
            moto.put("moto", &format!("incoming/{i}.csv"), &csv(i))
                .await;
        }
        moto
    });
    let keys = ("test", "test");
    let out = backfill(moto.endpoint(), &["s3://moto/incoming/", "--json"], keys);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_of(&out)["converted"], 5);
    let out = backfill(
        moto.endpoint(),
        &["s3://moto/", "--json", "--dry-run"],
        keys,
    );
    let plan = json_of(&out);
    assert_eq!(
        (plan["listed"].as_u64(), plan["up_to_date"].as_u64()),
        (Some(5), Some(5)),
        "{plan}"
    );
}

/// Records the payloads the function would be invoked with again.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<Value>>);

#[async_trait::async_trait]
impl Reinvoke for Recorder {
    async fn reinvoke(&self, payload: &Value) -> s3_csv2parquet::Result<()> {
        self.0.lock().unwrap().push(payload.clone());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_cut_short_by_its_deadline_goes_on_in_new_invocations() {
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    for i in 0..4 {
        s3.put(BUCKET, &format!("incoming/{i}.csv"), csv(i)).await;
    }
    let h = handler(&s3, &[]).await;
    h.handle(&event("incoming/2.csv"), None).await.unwrap();
    let rec = Arc::new(Recorder::default());
    let h = handler(&s3, &[("CSV2PQ_DEADLINE_MARGIN_SECS", "1")])
        .await
        .with_reinvoke(rec.clone());
    let mut next = Some(json!({"reconcile": {"bucket": BUCKET}}));
    let mut reports = Vec::new();
    while let Some(payload) = next.take() {
        // 1 s of margin and 1.5 s more: time for one object, not for a second
        // (MIN_OBJECT_SECS).
        let deadline = Instant::now() + Duration::from_millis(2500);
        let r = h.handle(&payload, Some(deadline)).await.unwrap();
        reports.push(r["reconcile"].clone());
        next = rec.0.lock().unwrap().pop();
        assert!(reports.len() < 10, "{reports:?}");
    }
    // 3 to convert, one per invocation; the up-to-date one is judged, not converted.
    assert_eq!(reports.len(), 3, "{reports:?}");
    let converted: Vec<u64> = reports
        .iter()
        .map(|r| r["tally"]["converted"].as_u64().unwrap())
        .collect();
    assert_eq!(converted, [1, 1, 1], "{reports:?}");
    assert_eq!(reports[2]["up_to_date"], 1, "{reports:?}");
    assert!(reports[0]["stopped"]
        .as_str()
        .unwrap()
        .contains("not enough time left"));
    for i in 0..4 {
        assert!(s3
            .get(BUCKET, &format!("parquet/{i}.parquet"))
            .await
            .is_some());
    }
    // Nothing converted twice: one write per output (the one of 2.csv by its event).
    let writes = s3.faults.count(Op::PutObject) + s3.faults.count(Op::CreateMultipartUpload);
    assert_eq!(
        writes, 4,
        "one write per output (inputs are put on the control path)"
    );
    assert_eq!(s3.open_uploads(), 0);
}
