//! The rest of the bad-input catalogue (README, "Bad input"): wide and huge inputs, NUL bytes,
//! encodings, damaged compressed streams, and a type contradiction deep in a file.

use std::io::Write;

use s3_csv2parquet::{ConvertOptions, ErrorKind, OnError};

use crate::harness::{convert_mem_pieces, convert_ok, dump, gzip, read_parquet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_columns() {
    let n = 10_000;
    let header: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    let mut csv = header.join(",").into_bytes();
    csv.push(b'\n');
    for r in 0..3 {
        let row: Vec<String> = (0..n).map(|i| (i * 10 + r).to_string()).collect();
        csv.extend_from_slice(row.join(",").as_bytes());
        csv.push(b'\n');
    }
    let (out, report) = convert_ok(csv, &ConvertOptions::default()).await;
    assert_eq!(report.rows, 3);
    let (schema, batches) = read_parquet(out);
    assert_eq!(schema.fields().len(), n);
    assert_eq!(schema.field(n - 1).name(), "c9999");
    let last = batches[0].column(n - 1);
    let last = last
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    assert_eq!(last.values().to_vec(), [99_990, 99_991, 99_992]);
}

/// A 100 MiB field (no line break at all) is refused once it passes the record limit (an eighth
/// of the memory limit), naming where it starts; it is never buffered whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_field_is_a_limit_error() {
    let mut csv = b"id,blob\n1,".to_vec();
    csv.resize(csv.len() + (100 << 20), b'x');
    csv.push(b'\n');
    let (out, r) = convert_mem_pieces(csv, &ConvertOptions::default(), 1 << 20).await;
    let err = r.unwrap_err();
    assert!(out.is_none());
    assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("line 2, byte 8"), "{msg}");
    assert!(msg.contains("32 MiB") || msg.contains("33554432"), "{msg}");
}

#[tokio::test]
async fn nul_bytes() {
    // In a field: data, kept as is.
    let (out, _) = convert_ok(b"a,b\n1,x\0y\n".to_vec(), &ConvertOptions::default()).await;
    assert_eq!(dump(out), "a: Int64\nb: Utf8\n--\n1 | \"x\\0y\"\n");
    // In the header line (binary data, UTF-16 without BOM): refused.
    for input in [vec![0u8; 4096], b"i\0d\0,\0n\0\n\0".to_vec()] {
        let (out, r) = convert_mem_pieces(input, &ConvertOptions::default(), 64).await;
        let err = r.unwrap_err();
        assert!(out.is_none());
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(err.to_string().contains("binary data"), "{err}");
    }
    // UTF-16 with its BOM: named.
    let (_, r) = convert_mem_pieces(
        b"\xff\xfei\0d\0\n\0".to_vec(),
        &ConvertOptions::default(),
        64,
    )
    .await;
    assert!(r.unwrap_err().to_string().contains("UTF-16"));
}

#[tokio::test]
async fn damaged_compressed_streams() {
    // Trailing garbage after a complete gzip member.
    let mut input = gzip(b"a,b\n1,2\n");
    input.extend_from_slice(b"garbage here\n");
    let (out, r) = convert_mem_pieces(input, &ConvertOptions::default(), 7).await;
    let err = r.unwrap_err();
    assert!(out.is_none());
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.to_string().contains("gzip stream is corrupt"), "{err}");
    // Truncated zstd.
    let mut plain = b"a,b\n".to_vec();
    for i in 0..100_000 {
        plain.extend_from_slice(format!("{i},{}\n", i * 3).as_bytes());
    }
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    let (out, r) = convert_mem_pieces(
        zst[..zst.len() / 2].to_vec(),
        &ConvertOptions::default(),
        4096,
    )
    .await;
    let err = r.unwrap_err();
    assert!(out.is_none());
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(
        err.to_string()
            .contains("zstd stream is corrupt or truncated"),
        "{err}"
    );
}

/// Inference sees the head only: a value two million rows in that contradicts the inferred type
/// fails with its exact position under `fail`, and is nulled (and counted) under `null`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_contradiction_two_million_rows_in() {
    let rows = 2_000_000u64;
    let mut csv = b"id,amount\n".to_vec();
    for i in 0..rows {
        writeln!(csv, "{i},{}", i % 1000).unwrap();
    }
    let byte = csv.len();
    csv.extend_from_slice(b"2000000,n/a\n2000001,7\n");
    let (out, r) = convert_mem_pieces(csv.clone(), &ConvertOptions::default(), 1 << 20).await;
    let err = r.unwrap_err();
    assert!(out.is_none());
    assert_eq!(
        err.to_string(),
        format!(
            "mem://input.csv: record 2000001, line 2000002, byte {byte}, column 2 (\"amount\"): \
             cannot parse as Int64: \"n/a\""
        )
    );
    let opts = ConvertOptions::default().with_on_error(OnError::Null);
    let (_, report) = convert_ok(csv, &opts).await;
    assert_eq!(report.rows, rows + 2);
    assert_eq!(report.nulled, 1);
}
