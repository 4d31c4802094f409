//! Opening the sources and sinks the command line names: a path, `-` (stdin/stdout) or
//! `s3://bucket/key`.

use s3_csv2parquet::location::Location;
use s3_csv2parquet::s3::{build_client, S3Sink, S3Source};
use s3_csv2parquet::sink::{ByteSink, FileSink, Output, Precondition, SinkFactory, StdoutSink};
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

    /// The S3 flags.
    pub(crate) fn s3_args(&self) -> &S3Args {
        &self.s3
    }

    /// The S3 client, built on first use.
    pub(crate) async fn client(&mut self) -> aws_sdk_s3::Client {
        if let Some(c) = &self.client {
            return c.clone();
        }
        let c = build_client(&self.s3.options()).await;
        self.client = Some(c.clone());
        c
    }

    /// Open INPUT: a path, `-` for stdin, or s3://bucket/key (ranged GETs as the
    /// conversion's read-ahead plans them).
    pub(crate) async fn source(&mut self, input: &str) -> Result<Box<dyn ByteSource>, Error> {
        Ok(match Location::parse(input, "INPUT")? {
            Location::Stdio => Box::new(StdinSource::new()),
            Location::Local(p) => Box::new(FileSource::new(p)),
            Location::S3 { bucket, key } => Box::new(
                S3Source::new(self.client().await, bucket, key)
                    .with_expected_bucket_owner(self.s3.expected_bucket_owner.clone()),
            ),
        })
    }

    /// Create the sink of an output (`what` names it in errors): a path, `-` for stdout, or
    /// s3://bucket/key (a multipart upload with the budget's parts in flight).
    pub(crate) async fn sink(
        &mut self,
        output: &str,
        what: &str,
        parts_in_flight: usize,
        no_clobber: bool,
    ) -> Result<Box<dyn ByteSink>, Error> {
        Ok(match Location::parse(output, what)? {
            Location::Stdio => Box::new(StdoutSink::new()),
            Location::Local(p) => Box::new(FileSink::create(p).await?.with_no_clobber(no_clobber)),
            Location::S3 { bucket, key } => Box::new(
                S3Sink::new(self.client().await, bucket, key, parts_in_flight)
                    .with_requests(self.s3.options().requests()?)
                    .with_precondition(if no_clobber {
                        Precondition::Absent
                    } else {
                        Precondition::None
                    }),
            ),
        })
    }
}

/// The outputs of `convert`: OUTPUT (opened again for each restart of `--on-error widen`) and
/// the rejects file.
pub(crate) struct Outputs {
    pub endpoints: Endpoints,
    pub output: String,
    pub rejects: Option<String>,
    pub parts_in_flight: usize,
    /// `--no-clobber`: publish only where nothing is.
    pub no_clobber: bool,
}

#[async_trait::async_trait]
impl SinkFactory for Outputs {
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>, Error> {
        let parts = self.parts_in_flight;
        match output {
            Output::Data => {
                self.endpoints
                    .sink(&self.output, "OUTPUT", parts, self.no_clobber)
                    .await
            }
            Output::Rejects => {
                let path = self.rejects.as_deref().ok_or_else(|| {
                    Error::config("--rejects", "--on-error reject needs a rejects output")
                })?;
                self.endpoints
                    .sink(path, "--rejects", parts, self.no_clobber)
                    .await
            }
        }
    }

    fn reopens(&self) -> bool {
        self.output != "-"
    }
}
