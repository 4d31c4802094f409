//! `convert --fan-out`, and stitching Parquet fragments stored in S3 into one object, against
//! the in-process server
//! and moto: large fragments copied server-side (UploadPartCopy with a byte range), a small one
//! read back and gathered, the footer rebuilt; the object reads back as the fragments' rows in
//! order; a refused publish leaves no upload behind.

use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use s3_csv2parquet::s3::stitch::stitch_objects;
use s3_csv2parquet::s3::S3Sink;
use s3_csv2parquet::sink::Precondition;
use s3_csv2parquet::stitch::parts::{plan_parts, Part, MAX_PART, MIN_PART};
use s3_csv2parquet::ErrorKind;

use crate::harness::moto::Moto;
use crate::harness::parquet::read_parquet;
use crate::harness::s3::TestS3;

/// Rows `from..from + n`: an id and a pseudo-random value (incompressible, so the sizes are
/// what the test wants).
fn fragment(from: i64, n: i64) -> Bytes {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("v", DataType::Int64, false),
    ]));
    let ids = Int64Array::from_iter_values(from..from + n);
    let vs = Int64Array::from_iter_values((from..from + n).map(value));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(vs)]).unwrap();
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(200_000))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    Bytes::from(out)
}

fn value(i: i64) -> i64 {
    (i as u64).wrapping_mul(6364136223846793005).rotate_left(17) as i64
}

/// Fragments of ~7 MiB, ~50 KiB and ~12 MiB: the first copied, the small one gathered with
/// the head of the third into an uploaded part, the rest of the third copied.
const SIZES: [(i64, i64); 3] = [(0, 450_000), (450_000, 3_000), (453_000, 800_000)];

async fn stitch_and_check(client: aws_sdk_s3::Client, bucket: &str) {
    let mut keys = Vec::new();
    for (i, (from, n)) in SIZES.iter().enumerate() {
        let key = format!("tmp/job/fragment-{i}.parquet");
        client
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(fragment(*from, *n).into())
            .send()
            .await
            .unwrap();
        keys.push(key);
    }
    let sink = S3Sink::new(client.clone(), bucket, "out/all.parquet", 2)
        .with_precondition(Precondition::Absent);
    let meta = [("csv2parquet.rows".to_string(), "1253000".to_string())];
    let plan = stitch_objects(&client, bucket, &keys, sink, &meta)
        .await
        .unwrap();
    assert_eq!(plan.rows, 1_253_000);
    // Copy, upload (the small fragment and the third's head), copy, footer.
    let parts = plan_parts(&plan.pieces, MIN_PART, MAX_PART).unwrap();
    let copies = parts
        .iter()
        .filter(|p| matches!(p, Part::Copy { .. }))
        .count();
    assert_eq!((copies, parts.len()), (2, 4), "{parts:?}");
    let out = client
        .get_object()
        .bucket(bucket)
        .key("out/all.parquet")
        .send()
        .await
        .unwrap();
    let rows_meta = out
        .metadata()
        .and_then(|m| m.get("csv2parquet-rows"))
        .cloned();
    assert_eq!(rows_meta.as_deref(), Some("1253000"));
    let body = out.body.collect().await.unwrap().into_bytes();
    assert_eq!(body.len() as u64, plan.size);
    let reader = ParquetRecordBatchReaderBuilder::try_new(body)
        .unwrap()
        .build()
        .unwrap();
    let mut next = 0i64;
    for b in reader {
        let b = b.unwrap();
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let vs = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        for r in 0..b.num_rows() {
            assert_eq!((ids.value(r), vs.value(r)), (next, value(next)));
            next += 1;
        }
    }
    assert_eq!(next, 1_253_000);

    // Published only over nothing: a second stitch to the same key is refused, and aborted.
    let sink = S3Sink::new(client.clone(), bucket, "out/all.parquet", 2)
        .with_precondition(Precondition::Absent);
    let e = stitch_objects(&client, bucket, &keys, sink, &meta)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let open = client
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert!(open.uploads().is_empty(), "{open:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stitch_on_the_in_process_server() {
    let s3 = TestS3::start().await;
    s3.create_bucket("data").await;
    stitch_and_check(s3.client().await, "data").await;
    assert_eq!(s3.open_uploads(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stitch_on_moto() {
    let moto = Moto::start().await;
    moto.create_bucket("moto", false).await;
    stitch_and_check(moto.client(), "moto").await;
}

/// `convert --fan-out`: the same table as one conversion (the text shape has quoted line
/// breaks, so some cuts fall inside quoted fields), nothing left beside the output; refused for
/// compressed inputs and stdin.
#[test]
fn convert_with_fan_out() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("text.csv");
    std::fs::write(
        &csv,
        s3_csv2parquet::testkit::generate_vec(s3_csv2parquet::testkit::Shape::Text, 4 << 20, 11),
    )
    .unwrap();
    let one = dir.path().join("one.parquet");
    let many = dir.path().join("many.parquet");
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(crate::harness::bin())
            .arg("convert")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[csv.as_os_str(), one.as_os_str(), "--quiet".as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        csv.as_os_str(),
        many.as_os_str(),
        "--fan-out".as_ref(),
        "6".as_ref(),
        "--fan-out-min-range".as_ref(),
        "256KiB".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("from 6 ranges"), "{said}");
    let table = |p: &std::path::Path| {
        let (schema, batches) = read_parquet(Bytes::from(std::fs::read(p).unwrap()));
        arrow::compute::concat_batches(&schema, &batches).unwrap()
    };
    assert_eq!(table(&one), table(&many));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");

    let gz = dir.path().join("text.csv.gz");
    std::fs::write(&gz, crate::harness::gzip(&std::fs::read(&csv).unwrap())).unwrap();
    let out = run(&[
        gz.as_os_str(),
        many.as_os_str(),
        "--fan-out".as_ref(),
        "2".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be cut into ranges"));
}

/// `convert s3://... s3://... --fan-out`: the same table as one conversion, fragments removed,
/// no upload left, and `--no-clobber` refuses to replace the output.
#[test]
fn convert_s3_to_s3_with_fan_out() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let csv =
        s3_csv2parquet::testkit::generate_vec(s3_csv2parquet::testkit::Shape::Text, 3 << 20, 12);
    let s3 = rt.block_on(async {
        let s3 = TestS3::start().await;
        s3.create_bucket("data").await;
        s3.put("data", "in/text.csv", csv.clone()).await;
        s3
    });
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("text.csv");
    std::fs::write(&local, &csv).unwrap();
    let one = dir.path().join("one.parquet");
    let run = |args: &[&str]| {
        std::process::Command::new(crate::harness::bin())
            .arg("convert")
            .args(args)
            .args(["--endpoint-url", &s3.endpoint])
            .env("AWS_ACCESS_KEY_ID", crate::harness::s3::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", crate::harness::s3::SECRET_KEY)
            .env("AWS_REGION", crate::harness::s3::REGION)
            .output()
            .unwrap()
    };
    let out = run(&[local.to_str().unwrap(), one.to_str().unwrap(), "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fan = [
        "s3://data/in/text.csv",
        "s3://data/out/text.parquet",
        "--fan-out",
        "5",
        "--fan-out-min-range",
        "256KiB",
        "--no-clobber",
    ];
    let out = run(&fan);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    let ranges: usize = said
        .split(" from ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(ranges >= 3, "{said}");
    let stitched = rt.block_on(s3.get("data", "out/text.parquet")).unwrap();
    let table = |bytes: Bytes| {
        let (schema, batches) = read_parquet(bytes);
        arrow::compute::concat_batches(&schema, &batches).unwrap()
    };
    let mut expected = table(Bytes::from(std::fs::read(&one).unwrap()));
    let mut got = table(stitched);
    // The source differs (a path; an s3:// URL with an ETag); the rest of the metadata is
    // equal.
    for t in [&mut expected, &mut got] {
        let mut meta = t.schema().metadata().clone();
        meta.remove("csv2parquet.source");
        meta.remove("csv2parquet.source_etag");
        let schema = std::sync::Arc::new(t.schema().as_ref().clone().with_metadata(meta));
        *t = RecordBatch::try_new(schema, t.columns().to_vec()).unwrap();
    }
    assert_eq!(expected.schema().metadata(), got.schema().metadata());
    assert_eq!(expected, got);
    assert_eq!(s3.object_keys("data"), ["in/text.csv", "out/text.parquet"]);
    assert_eq!(s3.open_uploads(), 0);
    let out = run(&fan);
    assert_eq!(
        out.status.code(),
        Some(73),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s3.object_keys("data"), ["in/text.csv", "out/text.parquet"]);
    assert_eq!(s3.open_uploads(), 0);
}

/// A bad record in one range fails the whole fan-out, as one conversion would: nothing
/// published, no fragment and no upload left.
#[test]
fn a_fan_out_with_bad_input_leaves_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut csv = b"id,name,amount\n".to_vec();
    for i in 0..60_000 {
        if i == 41_000 {
            csv.extend_from_slice(b"41000,ragged\n");
        } else {
            csv.extend_from_slice(format!("{i},n{i},{}.5\n", i % 97).as_bytes());
        }
    }
    let s3 = rt.block_on(async {
        let s3 = TestS3::start().await;
        s3.create_bucket("data").await;
        s3.put("data", "in/bad.csv", csv).await;
        s3
    });
    let out = std::process::Command::new(crate::harness::bin())
        .args([
            "convert",
            "s3://data/in/bad.csv",
            "s3://data/out/bad.parquet",
        ])
        .args(["--fan-out", "4", "--fan-out-min-range", "64KiB"])
        .args(["--endpoint-url", &s3.endpoint])
        .env("AWS_ACCESS_KEY_ID", crate::harness::s3::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", crate::harness::s3::SECRET_KEY)
        .env("AWS_REGION", crate::harness::s3::REGION)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("expected 3 fields, found 2"), "{said}");
    assert!(
        said.contains("(bytes "),
        "the error names the range: {said}"
    );
    assert_eq!(s3.object_keys("data"), ["in/bad.csv"]);
    assert_eq!(s3.open_uploads(), 0);
}
