//! The S3 paths against moto's server, a second implementation that follows AWS's rules
//! closely: ranged reads and a multipart upload, nothing left after a failed run, exit codes
//! for a missing object and a refused overwrite, percent-encoded metadata, and `local`
//! creating its bucket outside us-east-1 (moto, like AWS, wants a LocationConstraint there).
//! moto does not verify request checksums and ignores ExpectedBucketOwner: the in-process
//! server's tests cover those.

use std::path::Path;
use std::process::{Command, Output};

use s3_csv2parquet::testkit::{generate_vec, Shape};
use serde_json::Value;

use crate::harness::bin;
use crate::harness::moto::Moto;
use crate::harness::parquet::read_parquet;

const BUCKET: &str = "moto";

fn csv2parquet(moto: &Moto, args: &[&str], dir: &Path) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .args(["--endpoint-url", moto.endpoint()])
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    if !args.contains(&"--region") {
        cmd.env("AWS_REGION", "us-east-1");
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("CSV2PQ_") || k.starts_with("AWS_ENDPOINT_URL") {
            cmd.env_remove(k);
        }
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn convert_s3_to_s3_on_moto() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = rt.block_on(Moto::start());
    rt.block_on(moto.create_bucket(BUCKET, false));
    let dir = tempfile::tempdir().unwrap();
    // 16 MiB in 1 MiB ranges, an uncompressed output in several 5 MiB parts.
    let csv = generate_vec(Shape::Text, 16 << 20, 7);
    rt.block_on(moto.put(BUCKET, "in/données.csv", &csv));
    let (input, output) = ("s3://moto/in/données.csv", "s3://moto/out/text.parquet");
    let args = [
        "convert",
        input,
        output,
        "--compression",
        "none",
        "--range-bytes",
        "1MiB",
        "--part-bytes",
        "5MiB",
        "--json",
        "--quiet",
    ];
    let out = csv2parquet(&moto, &args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let parquet = rt.block_on(moto.get(BUCKET, "out/text.parquet")).unwrap();
    assert!(parquet.len() > 10 << 20, "multipart: {}", parquet.len());
    let (_, batches) = read_parquet(parquet);
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows as u64, report["rows"].as_u64().unwrap());
    assert!(rows > 10_000);
    // The key's non-ASCII text is kept, percent-encoded (S3 metadata is ASCII).
    let meta = rt.block_on(moto.metadata(BUCKET, "out/text.parquet"));
    assert_eq!(
        meta.get("csv2parquet-source").map(String::as_str),
        Some("s3://moto/in/donn%C3%A9es.csv")
    );

    // --no-clobber: the output exists, nothing is replaced (exit 73).
    let mut again = args.to_vec();
    again.push("--no-clobber");
    let out = csv2parquet(&moto, &again, dir.path());
    assert_eq!(out.status.code(), Some(73), "{}", stderr(&out));
    assert!(stderr(&out).contains("not published"), "{}", stderr(&out));
    assert_eq!(rt.block_on(moto.open_uploads(BUCKET)), 0);
    assert_eq!(
        rt.block_on(moto.metadata(BUCKET, "out/text.parquet"))
            .get("csv2parquet-run-id"),
        meta.get("csv2parquet-run-id"),
        "the first output stays"
    );

    // The same object as input and output is refused before anything is read.
    let out = csv2parquet(&moto, &["convert", input, input], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is the INPUT"), "{}", stderr(&out));
}

#[test]
fn failures_on_moto_leave_nothing_and_exit_as_documented() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = rt.block_on(Moto::start());
    rt.block_on(moto.create_bucket(BUCKET, false));
    let dir = tempfile::tempdir().unwrap();
    // A ragged record near the end: the upload has started when the error comes.
    let mut csv = generate_vec(Shape::Text, 16 << 20, 8);
    csv.extend_from_slice(b"1,ragged\n");
    rt.block_on(moto.put(BUCKET, "in/bad.csv", &csv));
    let args = [
        "convert",
        "s3://moto/in/bad.csv",
        "s3://moto/out/bad.parquet",
        "--compression",
        "none",
        "--part-bytes",
        "5MiB",
        "--quiet",
    ];
    let out = csv2parquet(&moto, &args, dir.path());
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(rt.block_on(moto.get(BUCKET, "out/bad.parquet")).is_none());
    assert_eq!(rt.block_on(moto.open_uploads(BUCKET)), 0);

    // A missing object, and a missing bucket: I/O (74), not a configuration error.
    for input in ["s3://moto/in/missing.csv", "s3://no-such-bucket/x.csv"] {
        let out = csv2parquet(&moto, &["convert", input, "out.parquet"], dir.path());
        assert_eq!(out.status.code(), Some(74), "{input}: {}", stderr(&out));
        assert!(stderr(&out).contains("404"), "{}", stderr(&out));
    }
}

#[test]
fn local_creates_its_bucket_outside_us_east_1_on_moto() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = rt.block_on(Moto::start());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), b"a,b\n1,x\n").unwrap();
    let args = [
        "local",
        "--bucket",
        "eu-bucket",
        "--region",
        "eu-west-1",
        "a.csv",
    ];
    let out = csv2parquet(&moto, &args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let location = rt
        .block_on(
            moto.client()
                .get_bucket_location()
                .bucket("eu-bucket")
                .send(),
        )
        .unwrap();
    assert_eq!(
        location.location_constraint().map(|l| l.as_str()),
        Some("eu-west-1")
    );
    assert!(rt
        .block_on(moto.get("eu-bucket", "parquet/a.parquet"))
        .is_some());
}
