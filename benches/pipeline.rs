//! Whole-pipeline bench: `convert(&MemorySource, &mut OneShot::new(MemorySink), &options)`.
//!
//! Measures end-to-end conversion throughput (input bytes per second, header included) of
//! seeded generated CSV (`testkit::generate_vec`, 32 MiB per shape) into Parquet held in memory:
//! decompression detection, chunking, parallel decode, re-ordering, parallel column encoding and
//! part upload are all included, the storage I/O is not (both ends are in memory), so this is the
//! CPU-bound ceiling of the converter. Groups:
//!
//! * `pipeline` — both shapes with the default options (zstd level 1, all cores);
//! * `pipeline-workers` — `ConvertOptions::workers` in {1, 2}: the scaling curve;
//! * `pipeline-compression` — Parquet codec zstd (level 1) vs snappy.
//!
//! Every iteration checks the row count of the report, so a failed or empty conversion cannot
//! pass for a fast one. After the groups the process peak RSS (`VmHWM`) is printed; it covers
//! the generated inputs (2 x 32 MiB) plus the largest conversion, bounded by the default memory
//! limit (256 MiB). Run with `cargo bench --bench pipeline`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use s3_csv2parquet::sink::MemorySink;
use s3_csv2parquet::source::MemorySource;
use s3_csv2parquet::testkit::{generate_vec, Shape};
use s3_csv2parquet::{Compression, ConvertOptions};
use tokio::runtime::Runtime;

/// Input size per shape.
const DATA_BYTES: u64 = 32 * 1024 * 1024;
/// Generator seed (same data on every run).
const SEED: u64 = 42;

struct Input {
    name: &'static str,
    source: MemorySource,
    bytes: u64,
    rows: u64,
}

fn inputs(rt: &Runtime) -> Vec<Input> {
    [(Shape::Taxi, "taxi"), (Shape::Text, "text")]
        .into_iter()
        .map(|(shape, name)| {
            let data = Bytes::from(generate_vec(shape, DATA_BYTES, SEED));
            let bytes = data.len() as u64;
            let source = MemorySource::new(format!("{name}.csv"), data);
            // Reference run: the expected row count, and a check that the output is Parquet.
            let (sink, target) = MemorySink::new("out.parquet");
            let report = rt
                .block_on(s3_csv2parquet::convert(
                    &source,
                    &mut s3_csv2parquet::sink::OneShot::new(Box::new(sink)),
                    &ConvertOptions::default(),
                ))
                .expect("reference conversion");
            let out = target.get().expect("published output");
            assert!(out.starts_with(b"PAR1") && out.ends_with(b"PAR1"));
            assert!(report.rows > 10_000, "{name}: only {} rows", report.rows);
            println!(
                "{name}: {} MiB CSV, {} rows -> {:.1} MiB Parquet (zstd), {} row groups",
                bytes >> 20,
                report.rows,
                out.len() as f64 / (1024.0 * 1024.0),
                report.row_groups
            );
            Input {
                name,
                source,
                bytes,
                rows: report.rows,
            }
        })
        .collect()
}

async fn run(input: &Input, options: &ConvertOptions) {
    let (sink, _target) = MemorySink::new("out.parquet");
    let report = s3_csv2parquet::convert(
        &input.source,
        &mut s3_csv2parquet::sink::OneShot::new(Box::new(sink)),
        options,
    )
    .await
    .expect("convert");
    assert_eq!(report.rows, input.rows);
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
}

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let inputs = inputs(&rt);

    let mut group = c.benchmark_group("pipeline");
    configure(&mut group);
    let options = ConvertOptions::default();
    for input in &inputs {
        group.throughput(Throughput::Bytes(input.bytes));
        group.bench_function(BenchmarkId::from_parameter(input.name), |b| {
            b.to_async(&rt).iter(|| run(input, &options));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("pipeline-workers");
    configure(&mut group);
    for input in &inputs {
        group.throughput(Throughput::Bytes(input.bytes));
        for workers in [1usize, 2] {
            let options = ConvertOptions::default().with_workers(workers);
            group.bench_function(BenchmarkId::new(input.name, workers), |b| {
                b.to_async(&rt).iter(|| run(input, &options));
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("pipeline-compression");
    configure(&mut group);
    for input in &inputs {
        group.throughput(Throughput::Bytes(input.bytes));
        for codec in [Compression::default(), Compression::Snappy] {
            let options = ConvertOptions::default().with_compression(codec);
            group.bench_function(BenchmarkId::new(input.name, codec.name()), |b| {
                b.to_async(&rt).iter(|| run(input, &options));
            });
        }
    }
    group.finish();

    match s3_csv2parquet::testkit::peak_rss_bytes() {
        Some(rss) => println!("peak RSS after pipeline benches: {} MiB", rss >> 20),
        None => println!("peak RSS after pipeline benches: unavailable (no /proc/self/status)"),
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
