//! Integration tests: one binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod catalogue;
mod cli;
mod errors;
mod faults;
mod fixtures;
mod harness;
mod lambda;
mod lambda_runtime;
mod local;
mod s3;
mod s3_server;
mod sampling;
mod spectrum;
mod sweep;
mod widen;
