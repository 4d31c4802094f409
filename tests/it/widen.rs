//! `--on-error widen`: a value that contradicts its column's inferred type widens the column and
//! the conversion restarts from the beginning into a new sink; bounded, reported, recorded.

use std::process::Command;

use s3_csv2parquet::sink::{MemorySink, MemorySinks, MemoryTarget, OneShot};
use s3_csv2parquet::source::MemorySource;
use s3_csv2parquet::{ConvertOptions, Converter, ErrorKind, OnError};

use crate::harness::bin;
use crate::harness::parquet::{dump, kv_metadata};

fn opts() -> ConvertOptions {
    ConvertOptions {
        infer_records: 2,
        ..ConvertOptions::default().with_on_error(OnError::Widen)
    }
}

/// The same sample, under the default policy (`fail`).
fn fail_opts() -> ConvertOptions {
    ConvertOptions {
        infer_records: 2,
        ..ConvertOptions::default()
    }
}

/// The message of the bad-value error `csv` gives under the default policy.
async fn bad_value(csv: &[u8]) -> String {
    let (result, _) = run(csv, &fail_opts()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    err.to_string()
}

/// Runs a restartable conversion into memory; returns every sink's target (one per attempt).
async fn run(
    csv: &[u8],
    opts: &ConvertOptions,
) -> (
    s3_csv2parquet::Result<s3_csv2parquet::ConvertReport>,
    Vec<MemoryTarget>,
) {
    let source = MemorySource::new("mem://in.csv", csv.to_vec());
    let mut sinks = MemorySinks::new("mem://out.parquet");
    let result = Converter::new(opts.clone()).run(&source, &mut sinks).await;
    (result, sinks.data_targets().to_vec())
}

#[tokio::test]
async fn columns_widen_and_the_conversion_restarts() {
    let csv = b"id,amount,note\n1,10,7\n2,20,8\n3,30.5,9\n4,40,n/a\n";
    let (report, targets) = run(csv, &opts()).await;
    let report = report.unwrap();
    // Two widenings, three attempts; only the last one published anything.
    assert_eq!(targets.len(), 3);
    assert!(targets[..2].iter().all(|t| t.get().is_none()));
    let out = targets[2].get().unwrap();
    assert_eq!(
        dump(out.clone()),
        "id: Int64\namount: Float64\nnote: Utf8\n--\n\
         1 | 10.0 | \"7\"\n2 | 20.0 | \"8\"\n3 | 30.5 | \"9\"\n4 | 40.0 | \"n/a\"\n"
    );
    let widened: Vec<(String, String, String, u64)> = report
        .widened
        .iter()
        .map(|w| (w.column.clone(), w.from.clone(), w.to.clone(), w.line))
        .collect();
    assert_eq!(
        widened,
        [
            ("amount".into(), "int64".into(), "float64".into(), 4),
            ("note".into(), "int64".into(), "utf8".into(), 5),
        ]
    );
    assert_eq!(report.schema_source.as_str(), "widened");
    assert_eq!(report.rows, 4);
    let kv = kv_metadata(out);
    assert!(
        kv["csv2parquet.widened"].contains("\"column\":\"note\""),
        "{kv:?}"
    );
    assert_eq!(kv["csv2parquet.schema"], "widened");
}

#[tokio::test]
async fn what_widening_cannot_fix_still_fails() {
    // A ragged row is not a type problem.
    let (r, targets) = run(b"a,b\n1,2\n3\n", &opts()).await;
    let err = r.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(
        err.to_string().contains("expected 2 fields, found 1"),
        "{err}"
    );
    assert!(targets.iter().all(|t| t.get().is_none()));
    // Without widen, a conversion is one attempt: the usual error.
    let (r, targets) = run(
        b"a\n1\n2\nx\n",
        &ConvertOptions {
            infer_records: 2,
            ..ConvertOptions::default()
        },
    )
    .await;
    assert!(r.unwrap_err().to_string().contains("cannot parse as Int64"));
    assert_eq!(targets.len(), 1);
    // One sink made up front (which cannot be opened again) refuses widen rather than half-doing it.
    let source = MemorySource::new("mem://in.csv", b"a\n1\n".to_vec());
    let (sink, _) = MemorySink::new("mem://o");
    let err = Converter::new(opts())
        .run(&source, &mut OneShot::new(Box::new(sink)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn widenings_are_bounded() {
    // Ten integer columns that each turn to text after the sample: eight widenings, then fail.
    let n = 10;
    let header: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    let mut csv = format!("{}\n", header.join(",")).into_bytes();
    for _ in 0..2 {
        csv.extend_from_slice(format!("{}\n", vec!["1"; n].join(",")).as_bytes());
    }
    for i in 0..n {
        let row: Vec<&str> = (0..n).map(|c| if c == i { "x" } else { "1" }).collect();
        csv.extend_from_slice(format!("{}\n", row.join(",")).as_bytes());
    }
    let (r, targets) = run(&csv, &opts()).await;
    let err = r.unwrap_err();
    assert!(err.to_string().contains("column 9 (\"c8\")"), "{err}");
    assert_eq!(targets.len(), s3_csv2parquet::convert::MAX_WIDENINGS + 1);
    assert!(targets.iter().all(|t| t.get().is_none()));
}

#[test]
fn cli_widen_needs_files_and_reports_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, b"a,b\n1,x\n2,y\n3.5,z\n").unwrap();
    let output = dir.path().join("out.parquet");
    let out = Command::new(bin())
        .args(["convert", "--on-error", "widen", "--infer-records", "1"])
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("widened \"a\" from int64 to float64 (line 4)"),
        "{stderr}"
    );
    let dumped = dump(std::fs::read(&output).unwrap().into());
    assert!(dumped.starts_with("a: Float64\n"), "{dumped}");
    // stdin cannot be read twice.
    let out = Command::new(bin())
        .args(["convert", "--on-error", "widen", "-"])
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not stdin/stdout"));
}

#[tokio::test]
async fn late_leading_zeros_never_become_numbers() {
    // The sample (2 records) says integers; `007` comes later, in both columns. `code` widens to
    // text (the zeros kept); after the restart `zip` is still an inferred column, so its `007`
    // widens it too, rather than passing as 7.
    let csv = b"code,zip\n1,5\n2,6\n007,8\n9,007\n";
    let (report, targets) = run(csv, &opts()).await;
    let report = report.unwrap();
    assert_eq!(targets.len(), 3);
    assert_eq!(
        dump(targets[2].get().unwrap()),
        "code: Utf8\nzip: Utf8\n--\n\"1\" | \"5\"\n\"2\" | \"6\"\n\"007\" | \"8\"\n\"9\" | \"007\"\n"
    );
    assert_eq!(report.widened.len(), 2);
    // Under the default policy it is a bad value that says why.
    let text = bad_value(csv).await;
    assert!(
        text.contains("line 4") && text.contains("leading zeros would be lost as Int64"),
        "{text}"
    );
    // So is a `+` sign (a phone number) after a sample of plain numbers.
    let text = bad_value(b"phone\n1\n2\n+31855\n").await;
    assert!(
        text.contains("line 4") && text.contains("'+' sign would be lost as Int64"),
        "{text}"
    );
    // A column the schema file types is read as asked: `007` is 7 there.
    let explicit = ConvertOptions {
        infer_records: 2,
        ..ConvertOptions::default().with_schema(
            s3_csv2parquet::SchemaSpec::from_json(
                r#"[{"name":"code","type":"int64"},{"name":"zip","type":"utf8"}]"#,
            )
            .unwrap(),
        )
    };
    let (result, targets) = run(csv, &explicit).await;
    result.unwrap();
    assert!(dump(targets[0].get().unwrap()).contains("\n7 | \"8\"\n"));
}

#[tokio::test]
async fn a_finer_fraction_after_the_sample_is_never_truncated() {
    // The sample (2 records) has whole seconds, so the column is milliseconds; record 3 has
    // microseconds. Under the default policy that is a bad value; `widen` makes the column
    // microseconds and every value comes back exact.
    let csv = b"t\n2024-01-01 00:00:01\n2024-01-01 00:00:02.5\n2024-01-01 00:00:03.123456\n";
    let text = bad_value(csv).await;
    assert!(
        text.contains("line 4") && text.contains("Timestamp(ms)"),
        "{text}"
    );
    let (report, targets) = run(csv, &opts()).await;
    let report = report.unwrap();
    assert_eq!(
        dump(targets[1].get().unwrap()),
        "t: Timestamp(µs)\n--\n2024-01-01T00:00:01\n2024-01-01T00:00:02.500\n\
         2024-01-01T00:00:03.123456\n"
    );
    let widened: Vec<(&str, &str)> = report
        .widened
        .iter()
        .map(|w| (w.from.as_str(), w.to.as_str()))
        .collect();
    assert_eq!(widened.len(), 1);
    assert!(
        widened[0].0.contains("ms") && widened[0].1.contains("us"),
        "{widened:?}"
    );
    // The same in a column read in a date format (day-first): it keeps its format.
    let csv = b"t\n03/12/2026 14:05:09\n13/12/2026 14:05:10\n14/12/2026 14:05:11.1234\n";
    let text = bad_value(csv).await;
    assert!(text.contains("line 4"), "{text}");
    let (report, targets) = run(csv, &opts()).await;
    report.unwrap();
    assert_eq!(
        dump(targets[1].get().unwrap()),
        "t: Timestamp(µs)\n--\n2026-12-03T14:05:09\n2026-12-13T14:05:10\n\
         2026-12-14T14:05:11.123400\n"
    );
}
