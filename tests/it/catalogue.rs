//! The rest of the bad-input catalogue (README, "Bad input"): wide and huge inputs, NUL bytes,
//! encodings, damaged compressed streams, and a type contradiction deep in a file.

use std::io::Write;

use s3_csv2parquet::config::{Encoding, InvalidUtf8};
use s3_csv2parquet::{ConvertOptions, ErrorKind, OnError};

use crate::harness::parquet::{dump, kv_metadata, read_parquet};
use crate::harness::{convert_mem_pieces, convert_ok, gzip};

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

fn encoded(encoding: Encoding) -> ConvertOptions {
    ConvertOptions {
        encoding,
        ..ConvertOptions::default()
    }
}

/// `--encoding latin1` / `windows-1252`: transcoded to UTF-8 block by block, whatever the piece
/// and block sizes (every byte is one character, so no state crosses a block).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latin1_and_windows_1252_are_transcoded() {
    let latin1 =
        b"city,caf\xe9\nZ\xfcrich,cr\xe8me br\xfbl\xe9e\n\"S\xe3o Paulo\",\xe9t\xe9\n".to_vec();
    let want =
        "city: Utf8\ncafé: Utf8\n--\n\"Zürich\" | \"crème brûlée\"\n\"São Paulo\" | \"été\"\n";
    let (out, report) = convert_ok(latin1.clone(), &encoded(Encoding::Latin1)).await;
    assert_eq!(dump(out), want);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    for (piece, block) in [(1, 1), (2, 3), (7, 5), (64, 2)] {
        let opts = ConvertOptions {
            block_bytes: Some(block),
            chunk_bytes: Some(8),
            ..encoded(Encoding::Latin1)
        };
        let (out, r) = convert_mem_pieces(latin1.clone(), &opts, piece).await;
        r.unwrap_or_else(|e| panic!("piece {piece} block {block}: {e}"));
        assert_eq!(dump(out.unwrap()), want, "piece {piece} block {block}");
    }
    // Windows-1252: 0x80 is the euro sign (in Latin-1 it is a C1 control).
    let cp1252 = b"price,note\n\x80 5,\x93quoted\x94 \x96 \x99\n".to_vec();
    let (out, _) = convert_ok(cp1252.clone(), &encoded(Encoding::Windows1252)).await;
    assert_eq!(
        dump(out),
        "price: Utf8\nnote: Utf8\n--\n\"€ 5\" | \"“quoted” – ™\"\n"
    );
    let (out, _) = convert_ok(cp1252, &encoded(Encoding::Latin1)).await;
    assert!(
        dump(out).contains("\"\\u{80} 5\""),
        "Latin-1 keeps 0x80 a control"
    );
}

/// With a transcoding encoding, byte offsets in errors count the UTF-8 text (records and lines
/// are the same in both).
#[tokio::test]
async fn transcoded_error_offsets_count_utf8_bytes() {
    // "café,1\n" is 7 bytes in Latin-1 and 8 in UTF-8.
    let csv = b"word,n\ncaf\xe9,1\n\xe9t\xe9,x\n".to_vec();
    let opts = ConvertOptions {
        infer_records: 1,
        ..encoded(Encoding::Latin1)
    };
    let (out, r) = convert_mem_pieces(csv, &opts, 64).await;
    assert!(out.is_none());
    assert_eq!(
        r.unwrap_err().to_string(),
        "mem://input.csv: record 2, line 3, byte 15, column 2 (\"n\"): cannot parse as Int64: \"x\""
    );
}

/// Invalid UTF-8 in a string column: by default an error with its position; with
/// `--invalid-utf8 replace`, U+FFFD per invalid sequence, counted in the report and the footer.
#[tokio::test]
async fn invalid_utf8_fails_or_is_replaced() {
    let csv = b"id,city\n1,Zurich\n2,Z\xfcrich\n3,\"caf\xe9\"\n4,\xe9t\xe9\n".to_vec();
    let (out, r) = convert_mem_pieces(csv.clone(), &ConvertOptions::default(), 5).await;
    let err = r.unwrap_err();
    assert!(out.is_none());
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert_eq!(
        err.to_string(),
        "mem://input.csv: record 2, line 3, byte 17, column 2 (\"city\"): invalid UTF-8 at byte 1 \
         of the field: \"Z\u{FFFD}rich\""
    );
    let replace = ConvertOptions {
        invalid_utf8: InvalidUtf8::Replace,
        ..ConvertOptions::default()
    };
    let (out, report) = convert_ok(csv.clone(), &replace).await;
    assert_eq!(report.utf8_replaced, 3);
    assert_eq!((report.nulled, report.rejected), (0, 0));
    assert_eq!(kv_metadata(out.clone())["csv2parquet.utf8_replaced"], "3");
    assert_eq!(
        dump(out),
        "id: Int64\ncity: Utf8\n--\n1 | \"Zurich\"\n2 | \"Z\u{FFFD}rich\"\n3 | \"caf\u{FFFD}\"\n\
         4 | \"\u{FFFD}t\u{FFFD}\"\n"
    );
    // The same bytes read as Latin-1 are valid: nothing to replace.
    let (out, report) = convert_ok(csv, &encoded(Encoding::Latin1)).await;
    assert_eq!(report.utf8_replaced, 0);
    assert!(dump(out).contains("\"Zürich\""));
    // A clean UTF-8 file reports zero in the footer.
    let (out, _) = convert_ok(b"a\nx\n".to_vec(), &replace).await;
    assert_eq!(kv_metadata(out)["csv2parquet.utf8_replaced"], "0");
}
