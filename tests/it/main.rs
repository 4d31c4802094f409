//! Integration tests: one binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

// Shared helpers: conversion, reading Parquet back, the in-process S3 server with faults.
mod harness;

// `csv2parquet backfill`: the objects already in a bucket, converted as the function would.
mod backfill;
// The rest of the bad-input catalogue: wide and huge inputs, NUL bytes, encodings, damage.
mod catalogue;
// Every file in fixtures/cases through the CLI, against its expected dump or error.
mod cases;
// The CLI: stdin/stdout, exit codes, summary and JSON report.
mod cli;
// Bad input: errors that say what and where, and nothing published.
mod errors;
// The fault matrix: s3 -> s3 with one injected fault per run.
mod faults;
// Every S3 option on every request of the function paths.
mod function_options;
// The Lambda handler against the in-process S3 server.
mod lambda;
// The function's fan-out: its Step Functions steps through their event JSON.
mod lambda_fanout;
// The csv2parquet-lambda binary through a Lambda Runtime API stub.
mod lambda_runtime;
// `csv2parquet local` and the MinIO webhook (`serve`), end to end.
mod local;
// The S3 paths against moto, a second S3 implementation.
mod s3_moto;
// S3 sources and sinks end to end, with faults.
mod s3;
// Schema sampling from the head, the middle and the tail of seekable inputs.
mod sampling;
// Duplicate, late and concurrent events: conditional publishing on both servers.
mod publish;
// Parquet fragments in S3 stitched into one object (UploadPartCopy).
mod stitch;
// The csv-spectrum corpus.
mod spectrum;
// Chunk-boundary sweep: every piece and chunk size gives the same output.
mod sweep;
// `--on-error widen`: widening a column and converting again.
mod widen;
