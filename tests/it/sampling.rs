//! Schema sampling from several positions (`--sample-positions spread`, the default): a column
//! that is an integer in the head and a float or a string only in the middle or the tail of a
//! seekable input is inferred from all three samples; with `head` it fails as before.

use std::io::Write;
use std::process::Command;

use s3_csv2parquet::config::SamplePositions;
use s3_csv2parquet::s3::{S3Sink, S3Source};
use s3_csv2parquet::schema::ColumnType;
use s3_csv2parquet::sink::OneShot;
use s3_csv2parquet::source::MemorySource;
use s3_csv2parquet::{infer_schema, ConvertOptions, Converter, ErrorKind, OnError};

use crate::harness::parquet::dump;
use crate::harness::s3::{Op, TestS3};
use crate::harness::{bin, convert_mem_pieces, convert_ok, gzip};

/// Head sample of this test: the input (about 2.2 MB) is far over four of them, so the middle
/// and the tail (32 KiB each) are sampled too.
const INFER_BYTES: usize = 64 * 1024;

fn opts(positions: SamplePositions) -> ConvertOptions {
    ConvertOptions {
        infer_bytes: INFER_BYTES,
        sample_positions: positions,
        ..ConvertOptions::default()
    }
}

/// `id,amount,code` with fixed-width rows; `amount` is `12.50` in the last 50 rows (inside the
/// tail sample) and `code` is `x0042` in the rows around the middle byte (inside the middle
/// sample). Both are integers everywhere else, the head included.
fn late_surprises() -> Vec<u8> {
    const ROWS: usize = 100_000;
    let header = b"id,amount,code\n";
    let row_len = "0000000,00000,00000\n".len();
    let size = header.len() + ROWS * row_len;
    let mut csv = header.to_vec();
    for i in 0..ROWS {
        let at = csv.len();
        let amount = if i >= ROWS - 50 {
            "12.50".to_string()
        } else {
            format!("{}", 10_000 + i % 1000)
        };
        let code = if at.abs_diff(size / 2) < 2_000 {
            "x0042".to_string()
        } else {
            format!("{}", 10_000 + i % 777)
        };
        writeln!(csv, "{},{amount},{code}", 1_000_000 + i).unwrap();
    }
    assert_eq!(csv.len(), size);
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spread_sampling_finds_late_floats_and_strings() {
    let csv = late_surprises();
    let (out, report) = convert_ok(csv.clone(), &opts(SamplePositions::Spread)).await;
    let types: Vec<&ColumnType> = report.schema.columns.iter().map(|c| &c.ty).collect();
    assert_eq!(
        types,
        [&ColumnType::Int64, &ColumnType::Float64, &ColumnType::Utf8]
    );
    assert_eq!(report.rows, 100_000);
    let text = dump(out);
    assert!(text.contains("\n1099999 | 12.5 | \"10543\"\n"), "tail row");
    assert!(text.contains("| \"x0042\"\n"), "middle rows");
    assert!(
        text.contains("\n1000001 | 10001.0 | \"10001\"\n"),
        "head row"
    );
    // The same inference for the schema command.
    let source = MemorySource::new("mem://input.csv", csv.clone());
    let schema = infer_schema(&source, &opts(SamplePositions::Spread))
        .await
        .unwrap()
        .schema;
    assert_eq!(schema, report.schema);
    // Head only: inferred as integers, and the middle's string fails the conversion.
    let source = MemorySource::new("mem://input.csv", csv.clone());
    let schema = infer_schema(&source, &opts(SamplePositions::Head))
        .await
        .unwrap()
        .schema;
    assert_eq!(schema.columns[1].ty, ColumnType::Int64);
    assert_eq!(schema.columns[2].ty, ColumnType::Int64);
    let (out, r) = convert_mem_pieces(csv, &opts(SamplePositions::Head), 64 * 1024).await;
    let err = r.unwrap_err();
    assert!(out.is_none());
    assert_eq!(err.kind(), ErrorKind::BadInput);
    let msg = err.to_string();
    assert!(
        msg.contains("column 3 (\"code\"): cannot parse as Int64: \"x0042\""),
        "{msg}"
    );
    let fault = err.as_data().and_then(|d| d.fault.as_ref()).unwrap();
    assert!(fault.wants_wider_inferred_type(), "{fault:?}");
}

/// Only the head of a compressed input can be sampled (offsets into the stream mean nothing),
/// and an input under four head samples is not sampled further.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_and_small_inputs_are_sampled_at_the_head_only() {
    let csv = late_surprises();
    let (out, r) = convert_mem_pieces(gzip(&csv), &opts(SamplePositions::Spread), 1 << 20).await;
    assert!(out.is_none());
    assert!(r.unwrap_err().to_string().contains("\"x0042\""));
    let small = ConvertOptions {
        infer_bytes: csv.len().div_ceil(4),
        ..opts(SamplePositions::Spread)
    };
    let (_, r) = convert_mem_pieces(csv, &small, 1 << 20).await;
    let err = r.unwrap_err().to_string();
    assert!(err.contains("\"x0042\""), "{err}");
}

/// Widening still works with spread samples: a value none of the samples saw (a quarter into
/// the file) widens its column and the conversion restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widen_still_widens_what_the_samples_missed() {
    let mut csv = late_surprises();
    let quarter = csv.len() / 4;
    let line = quarter + csv[quarter..].iter().position(|&b| b == b'\n').unwrap() + 1;
    csv[line..line + 7].copy_from_slice(b"n/a    ");
    let o = ConvertOptions {
        on_error: OnError::Widen,
        ..opts(SamplePositions::Spread)
    };
    let source = MemorySource::new("mem://in.csv", csv);
    let report = Converter::new(o)
        .run(
            &source,
            &mut s3_csv2parquet::sink::MemorySinks::new("mem://out.parquet"),
        )
        .await
        .unwrap();
    let widened: Vec<(&str, &str)> = report
        .widened
        .iter()
        .map(|w| (w.column.as_str(), w.to.as_str()))
        .collect();
    assert_eq!(widened, [("id", "utf8")], "amount and code were sampled");
    assert_eq!(report.rows, 100_000);
}

/// The CLI: `schema` and `convert` sample a local file at three positions unless told
/// `--sample-positions head`.
#[test]
fn cli_sample_positions() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("late.csv");
    std::fs::write(&input, late_surprises()).unwrap();
    let schema = |extra: &[&str]| {
        let out = Command::new(bin())
            .args(["schema", "--infer-bytes", "64KiB"])
            .arg(&input)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let spread = schema(&[]);
    assert!(
        spread.contains("\"float64\"") && spread.contains("\"utf8\""),
        "{spread}"
    );
    let head = schema(&["--sample-positions", "head"]);
    assert!(
        !head.contains("\"float64\"") && !head.contains("\"utf8\""),
        "{head}"
    );
    let output = dir.path().join("late.parquet");
    let run = |extra: &[&str]| {
        Command::new(bin())
            .args(["convert", "--quiet", "--infer-bytes", "64KiB"])
            .arg(&input)
            .arg(&output)
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let failed = run(&["--sample-positions", "head"]);
    assert_eq!(failed.status.code(), Some(65));
    let bad = run(&["--sample-positions", "tail"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--sample-positions"));
}

/// Over S3: each sample is one extra ranged GET, pinned like the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_inputs_are_sampled_with_one_ranged_get_each() {
    const BUCKET: &str = "data";
    const RANGE: usize = 1 << 20;
    let csv = late_surprises();
    let s3 = TestS3::start().await;
    s3.create_bucket(BUCKET).await;
    s3.put(BUCKET, "in/late.csv", csv.clone()).await;
    let client = s3.client().await;
    let run = |positions: SamplePositions, key: &'static str| {
        let client = client.clone();
        async move {
            let source = S3Source::new(client.clone(), BUCKET, "in/late.csv").with_ranges(RANGE, 2);
            let sink = S3Sink::new(client, BUCKET, key, 2);
            Converter::new(opts(positions))
                .run(&source, &mut OneShot::new(Box::new(sink)))
                .await
        }
    };
    let report = run(SamplePositions::Spread, "out/spread.parquet")
        .await
        .unwrap();
    let gets = s3.faults.count(Op::GetObject);
    assert_eq!(
        gets,
        csv.len().div_ceil(RANGE) + 2,
        "the ranges and two samples"
    );
    assert_eq!(report.schema.columns[1].ty, ColumnType::Float64);
    assert_eq!(report.schema.columns[2].ty, ColumnType::Utf8);
    let (local, _) = convert_ok(csv.clone(), &opts(SamplePositions::Spread)).await;
    let out = s3.get(BUCKET, "out/spread.parquet").await.unwrap();
    assert_eq!(dump(out), dump(local));
    let err = run(SamplePositions::Head, "out/head.parquet")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.to_string().contains("\"x0042\""), "{err}");
    assert_eq!(s3.open_uploads(), 0);
    assert!(s3.get(BUCKET, "out/head.parquet").await.is_none());
}
