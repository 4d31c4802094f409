//! Shared helpers: the CLI binary and the repository, in-memory conversion, files and gzip.
//! Reading Parquet back is in [`parquet`]; the in-process S3 server with fault injection in
//! [`s3`].

pub mod moto;
pub mod parquet;
pub mod s3;

use bytes::Bytes;
use s3_csv2parquet::sink::MemorySink;
use s3_csv2parquet::sink::OneShot;
use s3_csv2parquet::source::MemorySource;
use s3_csv2parquet::{ConvertOptions, ConvertReport, Converter, Result};

/// The CLI binary built for this test run.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_csv2parquet")
}

/// Repository root.
pub fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Convert in memory; returns the published bytes (None if nothing was published) and the
/// result.
pub async fn convert_mem_pieces(
    csv: impl Into<Bytes>,
    opts: &ConvertOptions,
    piece: usize,
) -> (Option<Bytes>, Result<ConvertReport>) {
    let source = MemorySource::new("mem://input.csv", csv).with_piece_size(piece);
    let (sink, target) = MemorySink::new("mem://output.parquet");
    let result = Converter::new(opts.clone())
        .run(&source, &mut OneShot::new(Box::new(sink)))
        .await;
    (target.get(), result)
}

/// Convert in memory with 64 KiB pieces; panics on error.
pub async fn convert_ok(csv: impl Into<Bytes>, opts: &ConvertOptions) -> (Bytes, ConvertReport) {
    let (out, result) = convert_mem_pieces(csv, opts, 64 * 1024).await;
    let report = result.unwrap();
    (out.expect("output published"), report)
}

/// Files in `dir` (names), sorted.
pub fn dir_entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Gzip `data` (one member, fast level).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
