//! Developer and benchmark subcommands: `generate` (seeded CSV), `upload` (a file to S3),
//! `handle-event` (the Lambda handler on one event) and `s3-server` (the embedded S3 server
//! alone).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use s3_csv2parquet::budget::resident::ResidentCeiling;
use s3_csv2parquet::lambda::handler::Handler;
use s3_csv2parquet::location::Location;
use s3_csv2parquet::s3::build_client;
use s3_csv2parquet::Error;

use crate::args::{parse_size, S3Args};
use crate::local::server::{EmbeddedS3, ACCESS_KEY, REGION, SECRET_KEY};
use crate::local::upload::{ensure_bucket, upload_file};

/// Arguments of `csv2parquet generate`.
#[derive(Args, Debug)]
pub(crate) struct GenerateArgs {
    /// `taxi`, `text`, `wide` (1,000 columns), `wide3000`, `wide:N` (N columns) or `digits:N`
    /// (N columns of one-digit integers).
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
}

/// Arguments of `csv2parquet handle-event`.
#[derive(Args, Debug)]
pub(crate) struct HandleEventArgs {
    /// Event JSON: S3 notification, SQS batch, EventBridge event, or `-`.
    event: String,
    /// Convert even when the output is up to date (same input ETag, same options).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    s3: S3Args,
}

/// Arguments of `csv2parquet stitch`.
#[derive(Args, Debug)]
pub(crate) struct StitchArgs {
    /// The stitched Parquet file to write.
    output: PathBuf,
    /// Parquet files of one schema, in order.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// `csv2parquet stitch OUT IN...`: one Parquet file from several of one schema, their row
/// groups copied as they are (what a fan-out's last step does with its fragments).
pub(crate) fn stitch(args: StitchArgs) -> Result<(), Error> {
    let done = s3_csv2parquet::stitch::stitch_files(&args.inputs, &args.output, &[])?;
    eprintln!(
        "{}: {} rows in {} row groups, {} bytes",
        args.output.display(),
        done.rows,
        done.row_groups,
        done.size
    );
    Ok(())
}

/// Arguments of `csv2parquet upload`.
#[derive(Args, Debug)]
pub(crate) struct UploadArgs {
    /// Local file.
    file: PathBuf,
    /// `s3://bucket/key`.
    target: String,
    #[command(flatten)]
    s3: S3Args,
}

/// Arguments of `csv2parquet s3-server`.
#[derive(Args, Debug)]
pub(crate) struct S3ServerArgs {
    /// Directory of the objects (`DIR/BUCKET/KEY`).
    #[arg(long, default_value = "local-s3")]
    dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Create this bucket at start (repeatable).
    #[arg(long = "bucket")]
    buckets: Vec<String>,
}

/// `csv2parquet generate`: seeded CSV of a shape to a file or stdout.
pub(crate) fn generate(args: GenerateArgs) -> Result<(), Error> {
    let GenerateArgs {
        shape,
        size,
        seed,
        output,
    } = args;
    let shape: s3_csv2parquet::testkit::Shape = shape
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
    s3_csv2parquet::testkit::generate(shape, size as u64, seed, &mut out).map_err(werr)?;
    Ok(())
}

/// `csv2parquet upload`: a local file to `s3://bucket/key` with bounded memory.
pub(crate) async fn upload(args: UploadArgs) -> Result<(), Error> {
    let Location::S3 { bucket, key } = Location::parse(&args.target, "TARGET")? else {
        return Err(Error::config("TARGET", "expected s3://bucket/key"));
    };
    let client = build_client(&args.s3.options()).await;
    let done = upload_file(&client, &args.file, &bucket, &key).await?;
    println!(
        "s3://{bucket}/{key} {} bytes, ETag {}",
        done.size, done.etag
    );
    Ok(())
}

/// `csv2parquet handle-event`: the Lambda handler, configured from the `CSV2PQ_*` environment,
/// on one event read from a file or stdin; prints its JSON result.
pub(crate) async fn handle_event(args: HandleEventArgs) -> Result<(), Error> {
    let HandleEventArgs { event, force, s3 } = args;
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
    let config = s3.function_config(force)?;
    let _ceiling = ResidentCeiling::start(config.options.memory_limit);
    let client = build_client(&s3.options()).await;
    let handler = Handler::new(client, config).await?;
    let result = handler.handle(&payload, None).await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&result).unwrap_or_default()
    );
    Ok(())
}

/// `csv2parquet s3-server`: runs until Ctrl-C (or SIGTERM).
pub(crate) async fn s3_server(args: S3ServerArgs) -> Result<(), Error> {
    let server = EmbeddedS3::start(&args.dir, args.listen).await?;
    let client = server.client();
    for bucket in &args.buckets {
        ensure_bucket(&client, bucket).await?;
    }
    // One line on stdout, for scripts: the endpoint.
    println!("{}", server.endpoint());
    eprintln!(
        "S3-compatible server on {} over {}/ (access key {ACCESS_KEY}, secret key {SECRET_KEY}, \
         region {REGION}, path-style)",
        server.endpoint(),
        args.dir.display(),
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::Internal(format!("SIGTERM handler: {e}")))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    server.stop().await;
    Ok(())
}
