//! `csv2parquet`: convert CSV to Parquet between local files, stdin/stdout and S3, with bounded
//! memory.

mod local;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use s3_csv2parquet::budget::MemoryBudget;
use s3_csv2parquet::config::{
    Compression, ConvertOptions, Dialect, Encoding, InputCompression, InvalidUtf8, OnError,
    SamplePositions, MIB,
};
use s3_csv2parquet::error::error_chain;
use s3_csv2parquet::location::Location;
use s3_csv2parquet::s3::{
    build_client, check_range_bytes, plan_ranges, S3Options, S3Sink, S3Source,
};
use s3_csv2parquet::sink::{ByteSink, FileSink, StdoutSink};
use s3_csv2parquet::source::{ByteSource, FileSource, StdinSource};
use s3_csv2parquet::{peak_rss_bytes, Converter, Error, ErrorKind, Progress, SchemaSpec};
use tokio_util::sync::CancellationToken;

/// jemalloc instead of glibc malloc: glibc's adaptive mmap threshold keeps freed chunk and part
/// buffers in its arenas. Measured on the 1 GiB text benchmark: peak RSS 249 MiB (glibc) vs
/// 229 MiB (jemalloc) at the same speed; taxi 220 vs 202 MiB. Its options are set at build
/// time in `.cargo/config.toml` (README, "Memory").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(
    name = "csv2parquet",
    version,
    about = "Streaming CSV to Parquet with bounded memory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert INPUT (a path or `-` for stdin) to OUTPUT (a path or `-` for stdout).
    Convert {
        /// CSV input: a path, or `-` for standard input.
        input: String,
        /// Parquet output: a path, or `-` for standard output.
        output: String,
        #[command(flatten)]
        csv: CsvArgs,
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        s3: S3Args,
    },
    /// Write generated CSV (seeded, deterministic) for tests and benchmarks.
    #[command(hide = true)]
    Generate {
        /// `taxi` or `text`.
        #[arg(long, default_value = "taxi")]
        shape: String,
        /// Approximate size (e.g. 1GiB).
        #[arg(long, default_value = "100MiB", value_parser = parse_size)]
        size: usize,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output path or `-`.
        #[arg(default_value = "-")]
        output: String,
    },
    /// Run the Lambda handler on an event file (`-` for stdin) with the function's `CSV2PQ_*`
    /// environment configuration, against --endpoint-url / AWS_ENDPOINT_URL; prints its JSON
    /// result.
    HandleEvent {
        /// Event JSON: S3 notification, SQS batch, EventBridge event, or `-`.
        event: String,
        #[command(flatten)]
        s3: S3Args,
    },
    /// Run the function's whole flow on this machine: start an embedded S3-compatible server
    /// (unless --endpoint-url / AWS_ENDPOINT_URL names one, e.g. MinIO), upload CSVs under the
    /// input prefix, deliver their S3 notifications to the Lambda handler, print the results.
    Local(local::LocalArgs),
    /// Convert the objects of MinIO bucket notifications (webhook target) with the Lambda
    /// handler, against --endpoint-url / AWS_ENDPOINT_URL.
    Serve(local::ServeArgs),
    /// Upload a local file to s3://bucket/key (multipart, bounded memory); for benchmarks.
    #[command(hide = true)]
    Upload {
        /// Local file.
        file: PathBuf,
        /// `s3://bucket/key`.
        target: String,
        #[command(flatten)]
        s3: S3Args,
    },
    /// Run the embedded S3-compatible server alone (what `local` starts), until Ctrl-C.
    S3Server(local::S3ServerArgs),
    /// Print the schema `convert` would use, as a schema file for --schema.
    Schema {
        /// CSV input: a path, or `-` for standard input.
        input: String,
        #[command(flatten)]
        csv: CsvArgs,
        #[command(flatten)]
        s3: S3Args,
    },
}

#[derive(Args, Debug)]
struct CsvArgs {
    /// The input has no header row (columns are named column_1..N).
    #[arg(long)]
    no_header: bool,
    /// Field delimiter (one byte; `\t` or `tab` for tab).
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// Quote character, or `none`.
    #[arg(long, default_value = "\"")]
    quote: String,
    /// Escape character inside quotes (default: quotes are escaped by doubling).
    #[arg(long)]
    escape: Option<String>,
    /// Skip lines starting with this character.
    #[arg(long)]
    comment: Option<String>,
    /// A value read as null (repeatable). Default: the empty string. In string columns only
    /// unquoted fields match, so `""` stays an empty string.
    #[arg(long = "null", value_name = "VALUE")]
    nulls: Vec<String>,
    /// Records sampled for schema inference.
    #[arg(long, default_value_t = s3_csv2parquet::config::DEFAULT_INFER_RECORDS)]
    infer_records: usize,
    /// Bytes sampled for schema inference (e.g. 8MiB).
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    infer_bytes: usize,
    /// Explicit schema file (JSON list of {name, type, nullable}); may cover some columns.
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
    /// Input compression: auto (magic bytes), none, gzip, zstd, bzip2, xz.
    #[arg(long, default_value = "auto")]
    input_compression: String,
    /// Character encoding of the input: utf8, latin1 (ISO-8859-1) or windows-1252 (the last two
    /// are transcoded to UTF-8; error byte offsets then count UTF-8 bytes).
    #[arg(long, default_value = "utf8")]
    encoding: String,
    /// Invalid UTF-8 in a string value: fail (a bad value, see --on-error) or replace (with
    /// U+FFFD, counted in the summary).
    #[arg(long, default_value = "fail", value_name = "fail|replace")]
    invalid_utf8: String,
    /// Where inference samples a seekable, uncompressed input: head, or spread (also a range
    /// from the middle and one from the end, when the input is over 4x --infer-bytes).
    #[arg(long, default_value = "spread", value_name = "head|spread")]
    sample_positions: String,
    /// Memory budget every buffer is sized from (e.g. 256MiB, 1GiB).
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    memory_limit: usize,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Tuning: bytes of whole records per decode task (default: from the memory limit).
    #[arg(long, value_parser = parse_size)]
    chunk_bytes: Option<usize>,
}

#[derive(Args, Debug, Clone)]
struct S3Args {
    /// S3-compatible endpoint (MinIO, ...); also read from AWS_ENDPOINT_URL. Implies path-style.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// AWS region (default: the AWS configuration chain, else us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// Do not sign requests (public buckets).
    #[arg(long)]
    no_sign_request: bool,
    /// Server-side encryption of S3 outputs: AES256 or aws:kms.
    #[arg(long)]
    sse: Option<String>,
    /// KMS key id for --sse aws:kms.
    #[arg(long)]
    sse_kms_key_id: Option<String>,
    /// Fail unless the buckets belong to this account id.
    #[arg(long)]
    expected_bucket_owner: Option<String>,
    /// Bytes per ranged GET of S3 inputs, at least 64KiB and at most the read-ahead (L/16, up
    /// to 32MiB) (default: 8MiB, or a quarter of the read-ahead when that is smaller, so that
    /// 4 ranges are in flight; 4MiB at the default memory limit).
    #[arg(long, value_parser = parse_range_bytes)]
    range_bytes: Option<usize>,
}

impl S3Args {
    fn options(&self) -> S3Options {
        S3Options {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            no_sign_request: self.no_sign_request,
            sse: self.sse.clone(),
            sse_kms_key_id: self.sse_kms_key_id.clone(),
            expected_bucket_owner: self.expected_bucket_owner.clone(),
            ..S3Options::default()
        }
    }
}

/// Opens sources and sinks, building the S3 client only when an s3:// location is used.
#[derive(Clone)]
struct Endpoints {
    s3: S3Args,
    client: Option<aws_sdk_s3::Client>,
}

impl Endpoints {
    fn new(s3: S3Args) -> Self {
        Endpoints { s3, client: None }
    }

    async fn client(&mut self) -> aws_sdk_s3::Client {
        if let Some(c) = &self.client {
            return c.clone();
        }
        let c = build_client(&self.s3.options()).await;
        self.client = Some(c.clone());
        c
    }

    async fn source(
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

    async fn sink(
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

#[derive(Args, Debug)]
struct OutputArgs {
    /// What to do with a value that does not parse, or a ragged row: fail, null, reject, or widen
    /// (widen the column's type and convert again from the start).
    #[arg(long, default_value = "fail")]
    on_error: String,
    /// Where rejected records go (default: OUTPUT.rejects.csv).
    #[arg(long, value_name = "PATH")]
    rejects: Option<String>,
    /// Parquet codec: zstd, snappy, lz4, gzip, none.
    #[arg(long, default_value = "zstd")]
    compression: String,
    /// Codec level (zstd 1..=22, gzip 0..=10).
    #[arg(long)]
    compression_level: Option<i32>,
    /// Target encoded bytes per row group (default: a sixteenth of the memory limit, max 128MiB).
    #[arg(long, value_parser = parse_size)]
    row_group_bytes: Option<usize>,
    /// Output part size for multipart uploads (default: 8MiB, or larger as the input size needs).
    #[arg(long, value_parser = parse_size)]
    part_bytes: Option<usize>,
    /// Maximum rows per row group.
    #[arg(long, default_value_t = s3_csv2parquet::config::DEFAULT_ROW_GROUP_ROWS)]
    row_group_rows: usize,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    quiet: bool,
    /// Print a JSON report (to stdout, or stderr when the data goes to stdout).
    #[arg(long)]
    json: bool,
}

fn parse_size(text: &str) -> Result<usize, String> {
    s3_csv2parquet::config::parse_size(text)
}

fn parse_range_bytes(text: &str) -> Result<usize, String> {
    parse_size(text).and_then(check_range_bytes)
}

fn one_byte(key: &str, text: &str) -> Result<u8, Error> {
    s3_csv2parquet::config::parse_byte(key, text)
}

fn options(csv: &CsvArgs) -> Result<ConvertOptions, Error> {
    let quote = match csv.quote.as_str() {
        "none" | "" => None,
        q => Some(one_byte("--quote", q)?),
    };
    let dialect = Dialect {
        delimiter: one_byte("--delimiter", &csv.delimiter)?,
        quote,
        escape: csv
            .escape
            .as_deref()
            .map(|e| one_byte("--escape", e))
            .transpose()?,
        comment: csv
            .comment
            .as_deref()
            .map(|c| one_byte("--comment", c))
            .transpose()?,
        has_header: !csv.no_header,
    };
    let schema = match &csv.schema {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::config("--schema", format!("{}: {e}", path.display())))?;
            Some(SchemaSpec::from_json(&text)?)
        }
        None => None,
    };
    let mut o = ConvertOptions::default().with_dialect(dialect);
    if !csv.nulls.is_empty() {
        o.null_values = csv.nulls.clone();
    }
    o.infer_records = csv.infer_records;
    o.infer_bytes = csv.infer_bytes;
    o.schema = schema;
    o.input_compression = csv.input_compression.parse::<InputCompression>()?;
    o.encoding = csv.encoding.parse::<Encoding>()?;
    o.invalid_utf8 = csv.invalid_utf8.parse::<InvalidUtf8>()?;
    o.sample_positions = csv.sample_positions.parse::<SamplePositions>()?;
    o.memory_limit = csv.memory_limit;
    o.workers = csv.workers;
    o.chunk_bytes = csv.chunk_bytes;
    Ok(o)
}

fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::BadInput | ErrorKind::Limit => 65,
        ErrorKind::Config => 2,
        ErrorKind::Io => 74,
        ErrorKind::Cancelled => 130,
        _ => 70,
    }
}

fn is_broken_pipe(err: &Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        source = e.source();
    }
    false
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("csv2parquet: cannot start the runtime: {e}");
            return ExitCode::from(70);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("csv2parquet: error: {}", error_chain(&e));
            ExitCode::from(exit_code(e.kind()))
        }
    }
}

async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Schema { input, csv, s3 } => {
            let opts = options(&csv)?;
            let budget = opts.validate()?;
            let source = Endpoints::new(s3).source(&input, &budget).await?;
            let (schema, _, warnings) =
                s3_csv2parquet::infer_schema(source.as_ref(), &opts).await?;
            for w in warnings {
                eprintln!("csv2parquet: warning: {w}");
            }
            println!("{}", schema.to_json());
            Ok(())
        }
        Command::Local(args) => {
            if local::local(args).await? {
                Ok(())
            } else {
                Err(Error::data(
                    "csv2parquet local",
                    None,
                    "not every input was converted (see above)",
                ))
            }
        }
        Command::Serve(args) => local::serve(args).await,
        Command::S3Server(args) => local::s3_server(args).await,
        Command::Upload { file, target, s3 } => {
            let Location::S3 { bucket, key } = Location::parse(&target, "TARGET")? else {
                return Err(Error::config("TARGET", "expected s3://bucket/key"));
            };
            let client = build_client(&s3.options()).await;
            let done = s3_csv2parquet::local::upload_file(&client, &file, &bucket, &key).await?;
            println!(
                "s3://{bucket}/{key} {} bytes, ETag {}",
                done.size, done.etag
            );
            Ok(())
        }
        Command::HandleEvent { event, s3 } => {
            let text = if event == "-" {
                let mut t = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut t).map_err(|source| {
                    Error::Read {
                        location: "-".into(),
                        source,
                    }
                })?;
                t
            } else {
                std::fs::read_to_string(&event).map_err(|source| Error::Read {
                    location: event.clone(),
                    source,
                })?
            };
            let payload: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::data(&event, None, format!("not JSON: {e}")))?;
            let config = s3_csv2parquet::lambda::config::LambdaConfig::from_env()?;
            let client = build_client(&s3.options()).await;
            let handler = s3_csv2parquet::lambda::handler::Handler::new(client, config).await?;
            let result = handler.handle(&payload, None).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&result).unwrap_or_default()
            );
            Ok(())
        }
        Command::Generate {
            shape,
            size,
            seed,
            output,
        } => {
            let shape: s3_csv2parquet::gen::Shape = shape
                .parse()
                .map_err(|e: String| Error::config("--shape", e))?;
            let werr = |source| Error::Write {
                location: output.clone(),
                source,
            };
            let mut out: Box<dyn std::io::Write> = if output == "-" {
                Box::new(std::io::stdout().lock())
            } else {
                Box::new(std::fs::File::create(&output).map_err(werr)?)
            };
            s3_csv2parquet::gen::generate(shape, size as u64, seed, &mut out).map_err(werr)?;
            Ok(())
        }
        Command::Convert {
            input,
            output,
            csv,
            out,
            s3,
        } => convert(input, output, csv, out, Endpoints::new(s3)).await,
    }
}

async fn convert(
    input: String,
    output: String,
    csv: CsvArgs,
    out: OutputArgs,
    mut endpoints: Endpoints,
) -> Result<(), Error> {
    let mut opts = options(&csv)?;
    opts.on_error = out.on_error.parse::<OnError>()?;
    opts.compression = Compression::parse(&out.compression, out.compression_level)?;
    opts.row_group_bytes = out.row_group_bytes;
    opts.row_group_rows = out.row_group_rows;
    opts.part_bytes = out.part_bytes;
    let budget = opts.validate()?;
    let source = endpoints.source(&input, &budget).await?;
    let rejects_path = match (opts.on_error, &out.rejects) {
        (OnError::Reject, Some(p)) => Some(p.clone()),
        (OnError::Reject, None) if output == "-" => {
            return Err(Error::config(
                "--rejects",
                "is required with --on-error reject when OUTPUT is stdout",
            ))
        }
        (OnError::Reject, None) => Some(format!("{output}.rejects.csv")),
        _ => None,
    };
    let in_place = matches!(
        Location::parse(&output, "OUTPUT")?,
        Location::Local(ref p) if FileSink::writes_in_place(p)
    );
    if opts.on_error == OnError::Widen && (input == "-" || output == "-" || in_place) {
        return Err(Error::config(
            "--on-error",
            "widen reads the input again and rewrites the output: it needs a file or s3:// \
             INPUT and OUTPUT, not stdin/stdout or a device or FIFO",
        ));
    }
    let sink = endpoints.sink(&output, "OUTPUT", &budget).await?;
    let rejects: Option<Box<dyn ByteSink>> = match rejects_path {
        Some(p) => Some(endpoints.sink(&p, "--rejects", &budget).await?),
        None => None,
    };
    let cancel = CancellationToken::new();
    let opts_on_error = opts.on_error;
    let converter = Converter::new(opts).with_cancel(cancel.clone());
    let progress = converter.progress();
    let show_bar = !out.quiet && std::io::stderr().is_terminal();
    let size = source.head().await.ok().and_then(|i| i.size);
    let bar = show_bar.then(|| spawn_progress(Arc::clone(&progress), size));
    let ctrl_c = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        }
    });
    let result = if opts_on_error == OnError::Widen {
        // Each attempt gets a new sink; the first one is already made.
        let mut first = Some(sink);
        converter
            .run_restartable(source.as_ref(), || {
                let first = first.take();
                let (mut endpoints, output) = (endpoints.clone(), output.clone());
                async move {
                    match first {
                        Some(sink) => Ok(sink),
                        None => endpoints.sink(&output, "OUTPUT", &budget).await,
                    }
                }
            })
            .await
    } else {
        converter.run(source.as_ref(), sink, rejects).await
    };
    ctrl_c.abort();
    if let Some((handle, bar)) = bar {
        handle.abort();
        bar.finish_and_clear();
    }
    let mut report = result?;
    report.output = output.clone();
    let peak = peak_rss_bytes();
    if out.json {
        let mut value =
            serde_json::to_value(&report).map_err(|e| Error::Internal(e.to_string()))?;
        value["peak_rss_bytes"] = serde_json::json!(peak);
        let text = value.to_string();
        if output == "-" {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    } else if !out.quiet {
        eprintln!(
            "csv2parquet: {} -> {}: {} rows{}{}{}{}, {:.1} MiB -> {:.1} MiB, {} row group(s), {:.2} s, {:.1} MiB/s, peak RSS {} MiB",
            report.input,
            report.output,
            report.rows,
            if report.rejected > 0 { format!(", {} rejected (see {})", report.rejected, report.rejects.clone().unwrap_or_default()) } else { String::new() },
            if report.nulled > 0 { format!(", {} bad values stored as null", report.nulled) } else { String::new() },
            if report.utf8_replaced > 0 { format!(", {} values with invalid UTF-8 replaced", report.utf8_replaced) } else { String::new() },
            report.widened.iter().map(|w| format!(", widened {:?} from {} to {} (line {})", w.column, w.from, w.to, w.line)).collect::<String>(),
            report.bytes_decompressed as f64 / MIB as f64,
            report.bytes_out as f64 / MIB as f64,
            report.row_groups,
            report.seconds,
            report.mib_per_s,
            peak.map_or("?".to_string(), |p| (p / MIB as u64).to_string()),
        );
        for w in &report.warnings {
            eprintln!("csv2parquet: warning: {w}");
        }
    }
    Ok(())
}

fn spawn_progress(
    progress: Arc<Progress>,
    size: Option<u64>,
) -> (tokio::task::JoinHandle<()>, indicatif::ProgressBar) {
    let bar = match size {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {msg} [{elapsed_precise}]",
    );
    if let Ok(style) = style {
        bar.set_style(style);
    }
    let b = bar.clone();
    let handle = tokio::spawn(async move {
        loop {
            b.set_position(progress.bytes_in.load(Ordering::Relaxed));
            b.set_message(format!("{} rows", progress.rows.load(Ordering::Relaxed)));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    (handle, bar)
}
