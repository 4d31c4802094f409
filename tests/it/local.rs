//! `csv2parquet local` (embedded S3 server, or a configured endpoint) and the MinIO webhook
//! (`serve`), end to end over real HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use s3_csv2parquet::config::ConvertOptions;
use s3_csv2parquet::testkit::{generate_vec, Shape};
use serde_json::Value;

use crate::harness::parquet::{dump, read_parquet};
use crate::harness::s3::{Fault, Op, Rule, TestS3, ACCESS_KEY, REGION, SECRET_KEY};
use crate::harness::{bin, convert_ok, repo};

fn rows(parquet: Bytes) -> usize {
    read_parquet(parquet).1.iter().map(|b| b.num_rows()).sum()
}

/// The CLI with `args` in `dir`, configured only by the arguments (no `CSV2PQ_*`, no AWS
/// configuration files); with `endpoint`, against that S3 server with its credentials.
fn command(args: &[&str], dir: &Path, endpoint: Option<&str>) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    for (k, _) in std::env::vars() {
        if k.starts_with("CSV2PQ_") {
            cmd.env_remove(k);
        }
    }
    if let Some(endpoint) = endpoint {
        cmd.args(["--endpoint-url", endpoint])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", REGION);
    }
    cmd
}

fn run(args: &[&str], dir: &Path, endpoint: Option<&str>) -> Output {
    command(args, dir, endpoint).output().unwrap()
}

#[test]
fn local_runs_the_whole_flow_on_an_embedded_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["local"], dir.path(), None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("embedded S3 server: http://127.0.0.1:"),
        "{stderr}"
    );
    let bucket = dir.path().join("local-s3/csv2parquet-local");
    let input = std::fs::read(bucket.join("incoming/trips.csv")).unwrap();
    let output = std::fs::read(bucket.join("parquet/trips.parquet")).unwrap();
    let expected_rows = input.iter().filter(|&&b| b == b'\n').count() - 1;
    assert_eq!(rows(output.into()), expected_rows);
    assert!(
        stdout.contains(&format!(
            "converted s3://csv2parquet-local/incoming/trips.csv -> \
             s3://csv2parquet-local/parquet/trips.parquet: {expected_rows} rows"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("tpep_pickup_datetime: timestamp"),
        "{stdout}"
    );
    // The broken sample: an error report, no output.
    let report: Value = serde_json::from_slice(
        &std::fs::read(bucket.join("failed/broken.csv.error.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["position"]["line"], 4, "{report}");
    assert!(!bucket.join("parquet/broken.parquet").exists());
    assert!(stdout.contains("bad input, not converted"), "{stdout}");

    // A second run finds the outputs up to date (same bytes, same ETag).
    let again = run(&["local"], dir.path(), None);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(
        stdout.contains("up to date: s3://csv2parquet-local/parquet/trips.parquet"),
        "{stdout}"
    );
}

#[test]
fn local_uploads_user_files_to_a_configured_endpoint() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = rt.block_on(TestS3::start());
    let dir = tempfile::tempdir().unwrap();
    // Over one 8 MiB upload part, so the upload is multipart; a space in the name.
    let big = generate_vec(Shape::Text, 9 << 20, 3);
    std::fs::write(dir.path().join("big text.csv"), &big).unwrap();
    std::fs::write(dir.path().join("small.csv"), b"a,b\n1,x\n").unwrap();
    let out = run(
        &["local", "--bucket", "data", "big text.csv", "small.csv"],
        dir.path(),
        Some(&s3.endpoint),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s3.faults.count(Op::CreateMultipartUpload) >= 1);
    assert_eq!(
        rt.block_on(s3.get("data", "incoming/big text.csv"))
            .unwrap(),
        &big[..]
    );
    let got = rt
        .block_on(s3.get("data", "parquet/big text.parquet"))
        .unwrap();
    let (_, report) = rt.block_on(convert_ok(big, &ConvertOptions::default()));
    assert!(report.rows > 1000);
    assert_eq!(rows(got), report.rows as usize);
    let small = rt
        .block_on(s3.get("data", "parquet/small.parquet"))
        .unwrap();
    assert_eq!(dump(small), "a: Int64\nb: Utf8\n--\n1 | \"x\"\n");
    assert_eq!(s3.open_uploads(), 0);

    // A bad user file: exit code 65 (bad input), its report written.
    std::fs::write(dir.path().join("bad.csv"), b"a,b\n1,\"x\n").unwrap();
    let out = run(
        &["local", "--bucket", "data", "bad.csv"],
        dir.path(),
        Some(&s3.endpoint),
    );
    assert_eq!(
        out.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(rt
        .block_on(s3.get("data", "failed/bad.csv.error.json"))
        .is_some());
    assert!(rt.block_on(s3.get("data", "parquet/bad.parquet")).is_none());
}

/// One HTTP/1.1 request over a plain socket; returns (status, body).
fn http(addr: std::net::SocketAddr, method: &str, body: &[u8]) -> (u16, String) {
    http_with(addr, method, "", body)
}

/// [`http`] with extra header lines (`Name: value\r\n` each).
fn http_with(
    addr: std::net::SocketAddr,
    method: &str,
    headers: &str,
    body: &[u8],
) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         {headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    // Written whole before the response is read, as simple clients do: the server reads on
    // past its body limit (and drops the excess) before it answers 413, so neither the write
    // nor the read meets a reset.
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let response = String::from_utf8_lossy(&raw).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// `csv2parquet serve` against an S3 endpoint, on a loopback port of its own choosing (the
/// address it prints); killed when dropped.
struct Serve {
    child: Option<Child>,
    addr: SocketAddr,
}

impl Serve {
    fn start(dir: &Path, endpoint: &str) -> Serve {
        Serve::start_with(dir, endpoint, &[])
    }

    fn start_with(dir: &Path, endpoint: &str, extra: &[&str]) -> Serve {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = command(&args, dir, Some(endpoint))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let Some(line) = lines.next() else {
                let status = child.wait().unwrap();
                panic!("serve exited ({status}) before listening");
            };
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("listening on http://") {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        // Keep reading its stderr, so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Serve {
            child: Some(child),
            addr,
        }
    }

    /// Send SIGINT (Ctrl-C) and wait for the exit.
    fn interrupt(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        child.wait().unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_converts_minio_notifications() {
    let s3 = TestS3::start().await;
    s3.create_bucket("data").await;
    s3.put(
        "data",
        "incoming/q1 report.csv",
        b"id,v\n1,a\n2,b\n".to_vec(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &s3.endpoint);
    let addr = serve.addr;

    let mut event: Value = serde_json::from_slice(
        &std::fs::read(repo().join("fixtures/events/minio-put.json")).unwrap(),
    )
    .unwrap();
    // s3s-fs stores a literal '+' as a space: use a key without one (see tests/it/harness/s3.rs).
    event["Key"] = "data/incoming/q1 report.csv".into();
    event["Records"][0]["s3"]["object"]["key"] = "incoming%2Fq1+report.csv".into();
    let body = Arc::new(serde_json::to_vec(&event).unwrap());

    // MinIO probes the target: any non-POST answers 200.
    let (status, _) = tokio::task::spawn_blocking(move || http(addr, "GET", b""))
        .await
        .unwrap();
    assert_eq!(status, 200);

    let post = |body: Arc<Vec<u8>>| tokio::task::spawn_blocking(move || http(addr, "POST", &body));
    let (status, response) = post(Arc::clone(&body)).await.unwrap();
    assert_eq!(status, 200, "{response}");
    let response: Value = serde_json::from_str(&response).unwrap();
    assert_eq!(response["results"][0]["outcome"], "converted", "{response}");
    let got = s3.get("data", "parquet/q1 report.parquet").await.unwrap();
    assert_eq!(dump(got), "id: Int64\nv: Utf8\n--\n1 | \"a\"\n2 | \"b\"\n");

    // Redelivered: skipped as up to date.
    let (status, response) = post(Arc::clone(&body)).await.unwrap();
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("up_to_date"), "{response}");

    // A transient failure answers 503 so MinIO redelivers; nothing is published.
    s3.put("data", "incoming/q1 report.csv", b"id,v\n3,c\n".to_vec())
        .await;
    s3.faults
        .push(Rule::every(Op::PutObject, Fault::Status(503)));
    let (status, response) = post(Arc::clone(&body)).await.unwrap();
    assert_eq!(status, 503, "{response}");
    assert!(response.contains("retryable"), "{response}");
    s3.faults.clear();
    let got = s3.get("data", "parquet/q1 report.parquet").await.unwrap();
    assert!(dump(got).contains("1 | \"a\""), "the old output stays");

    // Not JSON, and too large.
    let (status, _) = post(Arc::new(b"{not json".to_vec())).await.unwrap();
    assert_eq!(status, 400);
    let (status, response) = post(Arc::new(vec![b' '; 2 << 20])).await.unwrap();
    assert_eq!(status, 413);
    assert!(
        response.contains("larger than 1048576 bytes (read 2097152)"),
        "{response}"
    );

    // Ctrl-C stops it cleanly.
    let status = serve.interrupt();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_takes_only_notifications_with_its_token() {
    let s3 = TestS3::start().await;
    s3.create_bucket("data").await;
    s3.put("data", "incoming/a.csv", b"id\n1\n".to_vec()).await;
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_with(dir.path(), &s3.endpoint, &["--auth-token", "s3cret"]);
    let addr = serve.addr;
    let mut event: Value = serde_json::from_slice(
        &std::fs::read(repo().join("fixtures/events/minio-put.json")).unwrap(),
    )
    .unwrap();
    event["Key"] = "data/incoming/a.csv".into();
    event["Records"][0]["s3"]["object"]["key"] = "incoming/a.csv".into();
    let body = Arc::new(serde_json::to_vec(&event).unwrap());
    let post = |headers: &'static str| {
        let body = Arc::clone(&body);
        tokio::task::spawn_blocking(move || http_with(addr, "POST", headers, &body))
    };
    for headers in [
        "",
        "Authorization: Bearer wrong\r\n",
        "Authorization: s3cret\r\n",
    ] {
        let (status, response) = post(headers).await.unwrap();
        assert_eq!(status, 401, "{headers:?}: {response}");
    }
    assert!(s3.get("data", "parquet/a.parquet").await.is_none());
    // The reachability probe needs no token; MinIO's `auth_token` header converts.
    let (status, _) = tokio::task::spawn_blocking(move || http(addr, "GET", b""))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, response) = post("Authorization: Bearer s3cret\r\n").await.unwrap();
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("\"converted\""), "{response}");
    assert!(s3.get("data", "parquet/a.parquet").await.is_some());
    assert!(serve.interrupt().success());
}
