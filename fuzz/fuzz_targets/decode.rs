//! The decode path in memory: decompression sniffing, sampling and inference, chunking,
//! tokenizing, value parsing, the bad-value policies and Parquet encoding, on arbitrary bytes.
//!
//! The first two bytes pick the options (delimiter, quote, header, escape, comment, null values,
//! `--on-error`, a tiny chunk size); the rest is the input. Every input is converted twice: with
//! tiny chunks fed in tiny pieces, and with the default chunk size in 64 KiB pieces. Checked:
//! no panic, no internal error, and both runs agree (same outcome; same rows, counts and rejects
//! when they succeed; same error when they fail), which catches chunk-boundary bugs.

#![no_main]

use std::sync::OnceLock;

use arrow::array::RecordBatch;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use s3_csv2parquet::config::{Compression, Dialect, OnError};
use s3_csv2parquet::sink::MemorySink;
use s3_csv2parquet::source::MemorySource;
use s3_csv2parquet::{ConvertOptions, Converter, ErrorKind};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// What one conversion produced, in comparable form.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok {
        rows: u64,
        rejected: u64,
        nulled: u64,
        data: Vec<RecordBatch>,
        rejects: Option<Bytes>,
    },
    Err(ErrorKind, String),
}

fn options(b0: u8, b1: u8) -> ConvertOptions {
    let dialect = Dialect {
        delimiter: [b',', b';', b'\t', b'|'][usize::from(b0 & 3)],
        quote: [Some(b'"'), Some(b'"'), Some(b'\''), None][usize::from((b0 >> 2) & 3)],
        has_header: b0 & 0x10 != 0,
        escape: (b0 & 0x20 != 0 && (b0 >> 2) & 3 != 3).then_some(b'\\'),
        comment: (b0 & 0x40 != 0).then_some(b'#'),
    };
    let mut o = ConvertOptions::default()
        .with_dialect(dialect)
        .with_memory_limit(16 << 20)
        .with_workers(1)
        .with_compression(Compression::None)
        .with_on_error(
            [OnError::Fail, OnError::Null, OnError::Reject, OnError::Fail][usize::from(b1 & 3)],
        );
    if b0 & 0x80 != 0 {
        o.null_values = vec![String::new(), "NA".into()];
    }
    o.row_group_rows = 3;
    o
}

fn run(csv: &[u8], opts: &ConvertOptions, piece: usize) -> Outcome {
    let source = MemorySource::new("mem://input.csv", csv.to_vec()).with_piece_size(piece);
    let (sink, target) = MemorySink::new("mem://output.parquet");
    let (rejects_sink, rejects_target) = MemorySink::new("mem://rejects.csv");
    let rejects: Option<Box<dyn s3_csv2parquet::ByteSink>> =
        (opts.on_error == OnError::Reject).then(|| Box::new(rejects_sink) as _);
    let result =
        runtime().block_on(Converter::new(opts.clone()).run(
        &source,
        &mut s3_csv2parquet::sink::OneShot::new(Box::new(sink)).with_rejects(rejects),
    ));
    match result {
        Ok(report) => {
            let bytes = target
                .get()
                .expect("a successful conversion publishes its output");
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
                .expect("our Parquet reads back")
                .build()
                .expect("reader");
            let data: Vec<RecordBatch> = reader.map(|b| b.expect("batch reads back")).collect();
            let read_rows: usize = data.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(
                read_rows as u64, report.rows,
                "rows written vs rows reported"
            );
            // One batch for the comparison: chunking may split batches differently.
            let data = match data.first() {
                Some(first) => {
                    vec![arrow::compute::concat_batches(&first.schema(), &data).expect("concat")]
                }
                None => data,
            };
            Outcome::Ok {
                rows: report.rows,
                rejected: report.rejected,
                nulled: report.nulled,
                data,
                rejects: rejects_target.get(),
            }
        }
        Err(e) => {
            assert!(
                target.get().is_none(),
                "a failed conversion published its output: {e}"
            );
            assert_ne!(e.kind(), ErrorKind::Internal, "internal error: {e}");
            Outcome::Err(e.kind(), e.to_string())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [b0, b1, csv @ ..] = data else { return };
    let base = options(*b0, *b1);
    let mut tiny = base.clone();
    tiny.chunk_bytes = Some(1 + usize::from(b1 >> 2));
    let small = run(csv, &tiny, 1 + usize::from(b1 >> 5));
    let large = run(csv, &base, 64 * 1024);
    assert_eq!(small, large, "tiny chunks vs default chunks disagree");
});
