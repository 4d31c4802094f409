//! Decision bench: which CSV decoder?
//!
//! On the same seeded generated data (`testkit::generate_vec`, 32 MiB per shape, `taxi` = numbers
//! and timestamps, `text` = quoted text with commas, doubled quotes and embedded newlines), all
//! single-threaded, with throughput in input bytes (header included):
//!
//! * `arrow-csv` — arrow-csv's push `Decoder` producing Arrow `RecordBatch`es with the *same*
//!   Arrow schema our inference produces (see [`arrow_csv_schema`] for the fallback rule).
//! * `csv-async` — `csv_async::AsyncReader` reading `ByteRecord`s. It only tokenizes and builds
//!   no Arrow arrays, so its figure is a lower bound on its cost as a decoder.
//! * `ours` — our `Chunker` (4 MiB chunks, fed 256 KiB blocks as the pipeline does) followed by
//!   `decode_chunk` (our `Tokenizer` plus column parsing into Arrow arrays) on one thread.
//! * `ours-tokenize` — the same chunking, then `Tokenizer::tokenize` only: the like-for-like
//!   comparison with `csv-async`.
//! * `ours-chunk` — the chunking alone (record-boundary scan plus the copy into chunks), so the
//!   split of our cost into chunk / tokenize / parse can be read off the three `ours` rows.
//!
//! Every variant counts the records it produced and asserts the count equals the expected row
//! count, so a variant cannot silently do nothing. Run with `cargo bench --bench decode`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use s3_csv2parquet::source::MemorySource;
use s3_csv2parquet::testkit::decode::{
    decode_chunk, Chunk, Chunker, DecodeContext, Tokenizer, Tokens,
};
use s3_csv2parquet::testkit::{generate_vec, Shape};
use s3_csv2parquet::{ConvertOptions, Dialect, OnError, SchemaSpec};

/// Input size per shape.
const DATA_BYTES: u64 = 32 * 1024 * 1024;
/// Generator seed (same data on every run).
const SEED: u64 = 42;
/// Our chunk size (what the pipeline uses is derived from the memory budget; 4 MiB is typical).
const CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// Blocks pushed into the chunker, as the pipeline's reader delivers them.
const BLOCK_BYTES: usize = 256 * 1024;
/// Rows per arrow-csv batch: about as many rows as one of our 4 MiB taxi chunks holds.
const ARROW_BATCH_ROWS: usize = 32 * 1024;

/// One shape's data and everything derived from it outside the timed loops.
struct Input {
    name: &'static str,
    data: Bytes,
    spec: SchemaSpec,
    arrow_schema: SchemaRef,
    rows: u64,
}

fn prepare(shape: Shape, name: &'static str) -> Input {
    let data = Bytes::from(generate_vec(shape, DATA_BYTES, SEED));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let spec = rt
        .block_on(s3_csv2parquet::infer_schema(
            &MemorySource::new(name, data.clone()),
            &ConvertOptions::default(),
        ))
        .expect("schema inference")
        .schema;
    // Expected rows: our tokenizer over the whole body at once (no chunking involved).
    let mut tokens = Tokens::default();
    Tokenizer::new(&Dialect::default())
        .tokenize(body(&data), &mut tokens)
        .expect("tokenize");
    let rows = tokens.records.len() as u64;
    assert!(rows > 10_000, "{name}: only {rows} rows generated");
    let arrow_schema = arrow_csv_schema(name, &spec.arrow_schema(), &data, rows);
    println!(
        "{name}: {} MiB, {rows} rows, schema {}",
        data.len() >> 20,
        spec.columns
            .iter()
            .map(|c| format!("{}:{}", c.name, c.ty.arrow_type()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Input {
        name,
        data,
        spec,
        arrow_schema,
        rows,
    }
}

/// The input without its header line.
fn body(data: &[u8]) -> &[u8] {
    let nl = memchr::memchr(b'\n', data).expect("a header line");
    &data[nl + 1..]
}

/// Decode `data` with arrow-csv's push decoder; rows decoded.
fn arrow_csv_decode(schema: &SchemaRef, data: &[u8]) -> Result<u64, arrow::error::ArrowError> {
    let mut decoder = arrow_csv::reader::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .with_batch_size(ARROW_BATCH_ROWS)
        .build_decoder();
    let mut rest = data;
    let mut rows = 0u64;
    loop {
        let used = decoder.decode(rest)?;
        rest = &rest[used..];
        if used == 0 || decoder.capacity() == 0 {
            match decoder.flush()? {
                Some(batch) => rows += black_box(batch).num_rows() as u64,
                None if rest.is_empty() => break,
                None => {}
            }
        }
    }
    Ok(rows)
}

/// The schema arrow-csv is benchmarked with: our inferred Arrow schema, checked to decode the
/// whole input without error first. If arrow-csv rejects it (arrow-csv does not accept every
/// value format our parser does, e.g. some timestamp spellings), each column is probed alone
/// (the others as Utf8) and the columns arrow-csv cannot parse as their inferred type fall back
/// to Utf8; the fallback is printed. On the generated `taxi` and `text` data no fallback was
/// needed when this bench was written (arrow-csv parses `YYYY-MM-DD HH:MM:SS` timestamps, the
/// decimals and the ints as inferred), so both decoders build the same Arrow types.
fn arrow_csv_schema(name: &str, ours: &SchemaRef, data: &[u8], rows: u64) -> SchemaRef {
    match arrow_csv_decode(ours, data) {
        Ok(n) => {
            assert_eq!(n, rows, "{name}: arrow-csv row count");
            return ours.clone();
        }
        Err(e) => println!("{name}: arrow-csv rejects the inferred schema ({e}); probing columns"),
    }
    let as_utf8 = |f: &Field| Field::new(f.name(), DataType::Utf8, true);
    let mut fields: Vec<Field> = Vec::new();
    for (i, f) in ours.fields().iter().enumerate() {
        let probe: Vec<Field> = ours
            .fields()
            .iter()
            .enumerate()
            .map(|(j, g)| {
                if i == j {
                    g.as_ref().clone()
                } else {
                    as_utf8(g)
                }
            })
            .collect();
        match arrow_csv_decode(&SchemaRef::new(Schema::new(probe)), data) {
            Ok(_) => fields.push(f.as_ref().clone()),
            Err(e) => {
                println!(
                    "{name}: arrow-csv cannot decode column {:?} as {} ({e}); using Utf8 for it",
                    f.name(),
                    f.data_type()
                );
                fields.push(as_utf8(f));
            }
        }
    }
    let schema = SchemaRef::new(Schema::new(fields));
    let n = arrow_csv_decode(&schema, data).expect("arrow-csv with the fallback schema");
    assert_eq!(n, rows, "{name}: arrow-csv row count");
    schema
}

/// Tokenize only, with csv-async (no Arrow arrays); records read.
async fn csv_async_count(data: &[u8]) -> u64 {
    let mut reader = csv_async::AsyncReaderBuilder::new()
        .has_headers(true)
        .create_reader(data);
    let mut record = csv_async::ByteRecord::new();
    let mut rows = 0u64;
    while reader
        .read_byte_record(&mut record)
        .await
        .expect("csv-async")
    {
        black_box(&record);
        rows += 1;
    }
    rows
}

/// Cut the body into chunks the way the pipeline does (header stripped, 256 KiB blocks pushed)
/// and hand each chunk to `f`.
fn for_each_chunk(data: &[u8], mut f: impl FnMut(&Chunk)) {
    let header_len = data.len() - body(data).len();
    let mut chunker = Chunker::new(
        &Dialect::default(),
        CHUNK_BYTES,
        64 * 1024 * 1024,
        header_len as u64,
        1,
    );
    let mut chunks = Vec::new();
    for block in body(data).chunks(BLOCK_BYTES) {
        chunker.push(block, &mut chunks).expect("chunker");
        for c in chunks.drain(..) {
            f(&c);
        }
    }
    if let Some(c) = chunker.finish() {
        f(&c);
    }
}

/// Ours: chunk + tokenize + build Arrow arrays; records decoded.
fn ours_decode(ctx: &DecodeContext, data: &[u8], tokens: &mut Tokens) -> u64 {
    let mut rows = 0u64;
    for_each_chunk(data, |chunk| {
        let decoded = decode_chunk(ctx, chunk, tokens).expect("decode_chunk");
        rows += decoded.records;
        black_box(decoded.batch);
    });
    rows
}

/// Ours: chunk + tokenize only; records tokenized.
fn ours_tokenize(tokenizer: &Tokenizer, data: &[u8], tokens: &mut Tokens) -> u64 {
    let mut rows = 0u64;
    for_each_chunk(data, |chunk| {
        tokenizer.tokenize(&chunk.data, tokens).expect("tokenize");
        rows += black_box(&*tokens).records.len() as u64;
    });
    rows
}

/// Ours: chunking only; chunks made (the row count is checked by the other variants).
fn ours_chunk(data: &[u8]) -> u64 {
    let mut chunks = 0u64;
    for_each_chunk(data, |chunk| {
        black_box(chunk);
        chunks += 1;
    });
    chunks
}

fn bench_shape(c: &mut Criterion, input: &Input) {
    let data = &input.data[..];
    let rows = input.rows;
    let ctx = DecodeContext::new(
        &input.spec,
        &[String::new()],
        OnError::Fail,
        Tokenizer::new(&Dialect::default()),
    );
    let tokenizer = Tokenizer::new(&Dialect::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    let mut group = c.benchmark_group(format!("decode/{}", input.name));
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Bytes(data.len() as u64));

    group.bench_function(BenchmarkId::from_parameter("arrow-csv"), |b| {
        b.iter(|| {
            let n = arrow_csv_decode(&input.arrow_schema, data).expect("arrow-csv");
            assert_eq!(n, rows);
        });
    });
    group.bench_function(BenchmarkId::from_parameter("csv-async"), |b| {
        b.iter(|| {
            let n = rt.block_on(csv_async_count(data));
            assert_eq!(n, rows);
        });
    });
    let mut tokens = Tokens::default();
    group.bench_function(BenchmarkId::from_parameter("ours"), |b| {
        b.iter(|| {
            let n = ours_decode(&ctx, data, &mut tokens);
            assert_eq!(n, rows);
        });
    });
    group.bench_function(BenchmarkId::from_parameter("ours-tokenize"), |b| {
        b.iter(|| {
            let n = ours_tokenize(&tokenizer, data, &mut tokens);
            assert_eq!(n, rows);
        });
    });
    let expect_chunks = ours_chunk(data);
    assert!(expect_chunks >= (data.len() / CHUNK_BYTES) as u64);
    group.bench_function(BenchmarkId::from_parameter("ours-chunk"), |b| {
        b.iter(|| {
            let n = ours_chunk(data);
            assert_eq!(n, expect_chunks);
        });
    });
    group.finish();
}

fn decoders(c: &mut Criterion) {
    for (shape, name) in [(Shape::Taxi, "taxi"), (Shape::Text, "text")] {
        let input = prepare(shape, name);
        bench_shape(c, &input);
    }
}

criterion_group!(benches, decoders);
criterion_main!(benches);
