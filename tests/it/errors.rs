//! Bad input: clear errors that say what and where, and nothing published.

use s3_csv2parquet::config::key::OptionKey;
use s3_csv2parquet::sink::FileSink;
use s3_csv2parquet::sink::OneShot;
use s3_csv2parquet::source::MemorySource;
use s3_csv2parquet::{ConvertOptions, Converter, ErrorKind, OnError};

use crate::harness::parquet::{dump, kv_metadata};
use crate::harness::{convert_mem_pieces, convert_ok, dir_entries, gzip};

#[tokio::test]
async fn bad_value_names_position_column_and_value() {
    let mut csv = b"id,fare\n".to_vec();
    for i in 0..50 {
        csv.extend_from_slice(format!("{i},{i}.5\n").as_bytes());
    }
    csv.extend_from_slice(b"50,twelve\n");
    let opts = ConvertOptions {
        infer_records: 10,
        ..ConvertOptions::default()
    };
    let (out, result) = convert_mem_pieces(csv.clone(), &opts, 7).await;
    let err = result.unwrap_err();
    assert!(out.is_none(), "nothing may be published");
    assert_eq!(err.kind(), ErrorKind::BadInput);
    let byte = csv.len() - b"50,twelve\n".len();
    assert_eq!(
        err.to_string(),
        format!("mem://input.csv: record 51, line 52, byte {byte}, column 2 (\"fare\"): cannot parse as Float64: \"twelve\"")
    );
}

#[tokio::test]
async fn ragged_rows_follow_the_policy() {
    let csv = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n".to_vec();
    let (_, result) = convert_mem_pieces(csv.clone(), &ConvertOptions::default(), 64).await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("record 2, line 3, byte 12"), "{err}");
    assert!(err.contains("expected 3 fields, found 2"), "{err}");

    let opts = ConvertOptions::default().with_on_error(OnError::Null);
    let (out, report) = convert_ok(csv.clone(), &opts).await;
    assert_eq!(report.rows, 4);
    assert_eq!(report.nulled, 2);
    assert!(dump(out).contains("4 | 5 | NULL"));
}

#[tokio::test]
async fn rejects_go_to_their_own_sink() {
    let csv = b"n,s\n1,a\nx,b\n3,c\n4\n".to_vec();
    let source = MemorySource::new("mem://in.csv", csv);
    let (sink, target) = s3_csv2parquet::sink::MemorySink::new("mem://out.parquet");
    let (rsink, rtarget) = s3_csv2parquet::sink::MemorySink::new("mem://rejects.csv");
    let opts = ConvertOptions {
        infer_records: 1,
        ..ConvertOptions::default().with_on_error(OnError::Reject)
    };
    let report = Converter::new(opts)
        .run(
            &source,
            &mut OneShot::new(Box::new(sink)).with_rejects(Some(Box::new(rsink))),
        )
        .await
        .unwrap();
    assert_eq!((report.rows, report.rejected), (2, 2));
    let rejects = String::from_utf8(rtarget.get().unwrap().to_vec()).unwrap();
    assert_eq!(
        rejects,
        "line,byte,reason,record\n3,8,\"cannot parse as Int64\",\"x,b\"\n5,16,\"expected 2 fields, found 1\",\"4\"\n"
    );
    let out = target.get().unwrap();
    assert_eq!(kv_metadata(out.clone())["csv2parquet.rejected"], "2");
    assert!(dump(out).ends_with("1 | \"a\"\n3 | \"c\"\n"));
}

#[tokio::test]
async fn syntax_errors_are_located() {
    let (_, r) = convert_mem_pieces(
        b"a,b\n1,2\n3,\"open\n4,5\n".to_vec(),
        &ConvertOptions::default(),
        3,
    )
    .await;
    let err = r.unwrap_err().to_string();
    assert!(
        err.contains("line 3, byte 8") && err.contains("unterminated quoted field"),
        "{err}"
    );
    // With the quote set; sniffed, a head whose only quote is malformed reads it literally.
    let mut quoted = ConvertOptions::default();
    quoted.set(OptionKey::Quote, "\"").unwrap();
    let (_, r) = convert_mem_pieces(b"a,b\n1,\"x\"y\n".to_vec(), &quoted, 3).await;
    let err = r.unwrap_err().to_string();
    assert!(err.contains("after a closing quote"), "{err}");
    let (out, r) =
        convert_mem_pieces(b"a,b\n1,\"x\"y\n".to_vec(), &ConvertOptions::default(), 3).await;
    r.unwrap();
    assert!(dump(out.unwrap()).ends_with("1 | \"\\\"x\\\"y\"\n"));
}

#[tokio::test]
async fn a_record_longer_than_the_budget_is_a_limit_error() {
    let mut csv = b"a,b\n1,2\n3,\"".to_vec();
    csv.extend(std::iter::repeat_n(b'x', 3 << 20));
    csv.extend_from_slice(b"\"\n");
    let opts = ConvertOptions {
        memory_limit: 16 << 20,
        infer_bytes: 1 << 20,
        ..ConvertOptions::default()
    };
    let (out, r) = convert_mem_pieces(csv, &opts, 65536).await;
    let err = r.unwrap_err();
    assert!(out.is_none());
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert!(err.to_string().contains("line 3, byte 8"), "{err}");
}

#[tokio::test]
async fn empty_header_only_and_not_csv() {
    let (_, r) = convert_mem_pieces(Vec::new(), &ConvertOptions::default(), 1).await;
    assert!(r.unwrap_err().to_string().contains("empty"));
    let (out, report) = convert_ok(b"x,y\n".to_vec(), &ConvertOptions::default()).await;
    assert_eq!(report.rows, 0);
    assert_eq!(dump(out), "x: Utf8\ny: Utf8\n--\n");
    let (_, r) =
        convert_mem_pieces(b"PAR1\x15\x04junk".to_vec(), &ConvertOptions::default(), 1).await;
    let err = r.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.to_string().contains("Parquet file, not CSV"), "{err}");
}

#[tokio::test]
async fn compressed_inputs() {
    let (a, b) = (b"id,v\n1,x\n".to_vec(), b"2,y\n3,z\n".to_vec());
    // Two gzip members are one stream.
    let mut multi = gzip(&a);
    multi.extend(gzip(&b));
    let (out, report) = convert_ok(multi.clone(), &ConvertOptions::default()).await;
    assert_eq!(report.rows, 3);
    assert_eq!(report.input_compression.name(), "gzip");
    assert!(dump(out).ends_with("3 | \"z\"\n"));
    let zst = zstd::encode_all(&[a.clone(), b.clone()].concat()[..], 3).unwrap();
    assert_eq!(convert_ok(zst, &ConvertOptions::default()).await.1.rows, 3);
    // Truncated gzip: an error, nothing published, even though most data decoded.
    let whole = gzip(&s3_csv2parquet::testkit::generate_vec(
        s3_csv2parquet::testkit::Shape::Taxi,
        200_000,
        1,
    ));
    let (out, r) = convert_mem_pieces(
        whole[..whole.len() - 10].to_vec(),
        &ConvertOptions::default(),
        4096,
    )
    .await;
    let err = r.unwrap_err();
    assert!(out.is_none());
    assert_eq!(err.kind(), ErrorKind::BadInput, "{err}");
    assert!(
        err.to_string()
            .contains("gzip stream is corrupt or truncated"),
        "{err}"
    );
    // Corrupt CRC.
    let mut bad = whole.clone();
    let n = bad.len();
    bad[n - 6] ^= 0xff;
    let (out, r) = convert_mem_pieces(bad, &ConvertOptions::default(), 4096).await;
    assert!(out.is_none());
    assert_eq!(r.unwrap_err().kind(), ErrorKind::BadInput);
}

#[tokio::test]
async fn failed_file_conversion_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.parquet");
    let sink = FileSink::create(&target).await.unwrap();
    let source = MemorySource::new("mem://bad.csv", b"a\n1\nx\n".to_vec());
    let opts = ConvertOptions {
        infer_records: 1,
        ..ConvertOptions::default()
    };
    let r = Converter::new(opts)
        .run(&source, &mut OneShot::new(Box::new(sink)))
        .await;
    assert!(r.is_err());
    assert!(
        dir_entries(dir.path()).is_empty(),
        "{:?}",
        dir_entries(dir.path())
    );
    // And a good one leaves exactly the target.
    let sink = FileSink::create(&target).await.unwrap();
    let source = MemorySource::new("mem://ok.csv", b"a\n1\n2\n".to_vec());
    Converter::new(ConvertOptions::default())
        .run(&source, &mut OneShot::new(Box::new(sink)))
        .await
        .unwrap();
    assert_eq!(dir_entries(dir.path()), ["out.parquet"]);
}

#[tokio::test]
async fn metadata_and_schema_sources() {
    let (out, report) = convert_ok(b"a,b\n1,x\n".to_vec(), &ConvertOptions::default()).await;
    let kv = kv_metadata(out);
    assert_eq!(kv["csv2parquet.source"], "mem://input.csv");
    assert_eq!(kv["csv2parquet.source_size"], "8");
    assert_eq!(kv["csv2parquet.schema"], "inferred");
    assert_eq!(kv["csv2parquet.rows"], "1");
    assert!(kv["csv2parquet.version"].starts_with("csv2parquet "));
    assert_eq!(report.schema_source.as_str(), "inferred");
    let schema = s3_csv2parquet::SchemaSpec::from_json(r#"[{"name":"a","type":"decimal","precision":5,"scale":2},{"name":"b","type":"utf8","nullable":false}]"#).unwrap();
    let opts = ConvertOptions::default().with_schema(schema);
    let (out, _) = convert_ok(b"a,b\n1.5,x\n-2,y\n".to_vec(), &opts).await;
    assert_eq!(kv_metadata(out.clone())["csv2parquet.schema"], "explicit");
    assert_eq!(
        dump(out),
        "a: Decimal128(5, 2)\nb: Utf8\n--\n1.50 | \"x\"\n-2.00 | \"y\"\n"
    );
    // Rounding is refused, not silently applied.
    let (_, r) = convert_mem_pieces(b"a,b\n1.555,x\n".to_vec(), &opts, 64).await;
    assert!(r
        .unwrap_err()
        .to_string()
        .contains("cannot parse as Decimal128(5, 2)"));
    // A null in a non-nullable column is a bad value.
    let (_, r) = convert_mem_pieces(b"a,b\n1,\n".to_vec(), &opts, 64).await;
    assert!(r.unwrap_err().to_string().contains("non-nullable"));
}
