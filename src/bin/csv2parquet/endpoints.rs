//! Opening the sources and sinks the command line names: a path, `-` (stdin/stdout) or
//! `s3://bucket/key`.

use s3_csv2parquet::budget::MemoryBudget;
use s3_csv2parquet::location::Location;
use s3_csv2parquet::s3::{build_client, plan_ranges, S3Sink, S3Source};
use s3_csv2parquet::sink::{ByteSink, FileSink, StdoutSink};
use s3_csv2parquet::source::{ByteSource, FileSource, StdinSource};
use s3_csv2parquet::Error;

use crate::args::S3Args;

/// Opens sources and sinks, building the S3 client only when an s3:// location is used.
#[derive(Clone)]
pub(crate) struct Endpoints {
    s3: S3Args,
    client: Option<aws_sdk_s3::Client>,
}

impl Endpoints {
    /// Endpoints for these S3 flags; no client is built yet.
    pub(crate) fn new(s3: S3Args) -> Self {
        Endpoints { s3, client: None }
    }

    /// The S3 client, built on first use.
    async fn client(&mut self) -> aws_sdk_s3::Client {
        if let Some(c) = &self.client {
            return c.clone();
        }
        let c = build_client(&self.s3.options()).await;
        self.client = Some(c.clone());
        c
    }

    /// Open INPUT: a path, `-` for stdin, or s3://bucket/key (ranged GETs planned from the
    /// budget's read-ahead).
    pub(crate) async fn source(
        &mut self,
        input: &str,
        budget: &MemoryBudget,
    ) -> Result<Box<dyn ByteSource>, Error> {
        Ok(match Location::parse(input, "INPUT")? {
            Location::Stdio => Box::new(StdinSource::new()),
            Location::Local(p) => Box::new(FileSource::new(p)),
            Location::S3 { bucket, key } => {
                let (range_bytes, in_flight) =
                    plan_ranges(budget.read_ahead_bytes, self.s3.range_bytes);
                Box::new(
                    S3Source::new(self.client().await, bucket, key, range_bytes, in_flight)
                        .with_expected_bucket_owner(self.s3.expected_bucket_owner.clone()),
                )
            }
        })
    }

    /// Create the sink of an output (`what` names it in errors): a path, `-` for stdout, or
    /// s3://bucket/key (a multipart upload with the budget's parts in flight).
    pub(crate) async fn sink(
        &mut self,
        output: &str,
        what: &str,
        budget: &MemoryBudget,
    ) -> Result<Box<dyn ByteSink>, Error> {
        Ok(match Location::parse(output, what)? {
            Location::Stdio => Box::new(StdoutSink::new()),
            Location::Local(p) => Box::new(FileSink::create(p).await?),
            Location::S3 { bucket, key } => Box::new(
                S3Sink::new(self.client().await, bucket, key, budget.parts_in_flight)
                    .with_sse(self.s3.sse.as_deref(), self.s3.sse_kms_key_id.clone())?
                    .with_expected_bucket_owner(self.s3.expected_bucket_owner.clone()),
            ),
        })
    }
}
