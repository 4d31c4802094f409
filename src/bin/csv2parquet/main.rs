//! `csv2parquet`: convert CSV to Parquet between local files, stdin/stdout and S3, with bounded
//! memory.

// `backfill`: convert what is already in a bucket, as the function would.
mod backfill;
// The flags the subcommands share, and their translation into the library's options.
mod args;
// `convert` and `schema`: one conversion, its progress bar and its summary line.
mod convert;
// `convert --fan-out N`: byte ranges converted by N workers, stitched into one file.
mod fanout;
// Hidden and developer subcommands: generate, upload, handle-event, s3-server.
mod dev;
// Opening sources and sinks by location: a path, `-` or s3://bucket/key.
mod endpoints;
// `local` and `serve`: the Lambda function's flow on this machine.
mod local;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use s3_csv2parquet::error::error_chain;
use s3_csv2parquet::{Error, ErrorKind};

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
    Convert(Box<convert::ConvertArgs>),
    /// Write generated CSV (seeded, deterministic) for tests and benchmarks.
    #[command(hide = true)]
    Generate(dev::GenerateArgs),
    /// Run the Lambda handler on an event file (`-` for stdin) with the function's `CSV2PQ_*`
    /// environment configuration, against --endpoint-url / AWS_ENDPOINT_URL; prints its JSON
    /// result.
    HandleEvent(dev::HandleEventArgs),
    /// Run the function's whole flow on this machine: start an embedded S3-compatible server
    /// (unless --endpoint-url / AWS_ENDPOINT_URL names one, e.g. MinIO), upload CSVs under the
    /// input prefix, deliver their S3 notifications to the Lambda handler, print the results.
    Local(local::LocalArgs),
    /// Convert the objects of MinIO bucket notifications (webhook target) with the Lambda
    /// handler, against --endpoint-url / AWS_ENDPOINT_URL.
    Serve(local::ServeArgs),
    /// Upload a local file to s3://bucket/key (multipart, bounded memory); for benchmarks.
    #[command(hide = true)]
    Upload(dev::UploadArgs),
    /// Stitch Parquet files of one schema into one (row groups copied, footer rebuilt).
    #[command(hide = true)]
    Stitch(dev::StitchArgs),
    /// Run the embedded S3-compatible server alone (what `local` starts), until Ctrl-C.
    S3Server(dev::S3ServerArgs),
    /// Print the schema `convert` would use, as a schema file for --schema.
    Schema(Box<convert::SchemaArgs>),
    /// Convert the CSVs already under s3://BUCKET/PREFIX/ whose output is missing or out of
    /// date, as the function would (its `CSV2PQ_*` configuration, up-to-date rule and error
    /// reports); --dry-run prints the plan.
    Backfill(backfill::BackfillArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.command);
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
            if let Some(hint) = hint(&e) {
                eprintln!("csv2parquet: hint: {hint}");
            }
            ExitCode::from(exit_code(e.kind()))
        }
    }
}

/// What to do about `e`, where the error alone does not say: a value after the sample that
/// the inferred type cannot hold.
fn hint(e: &Error) -> Option<String> {
    let column = e.wants_wider_inferred_type()?;
    Some(format!(
        "the type of {column} was inferred from a sample of the input; `--on-error widen` \
         converts again with a type that holds the value, or `--schema` sets the type \
         (`csv2parquet schema` prints the inferred schema to start from)"
    ))
}

/// Log to stderr as `RUST_LOG` says; by default the servers (`serve`, `s3-server`, `local`)
/// log each object and request at `info`, the one-shot commands only warnings.
fn init_logging(command: &Command) {
    let default = match command {
        Command::Serve(_) | Command::S3Server(_) | Command::Local(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Convert(args) => convert::convert(*args).await,
        Command::Schema(args) => convert::schema(*args).await,
        Command::Local(args) => local::local(args).await,
        Command::Serve(args) => local::serve(args).await,
        Command::S3Server(args) => dev::s3_server(args).await,
        Command::Upload(args) => dev::upload(args).await,
        Command::HandleEvent(args) => dev::handle_event(args).await,
        Command::Generate(args) => dev::generate(args),
        Command::Stitch(args) => dev::stitch(args),
        Command::Backfill(args) => backfill::backfill(args).await,
    }
}

/// The exit code of a failure of `kind` (see README, "Using the CLI").
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::BadInput | ErrorKind::Limit => 65,
        ErrorKind::Config => 2,
        ErrorKind::Io => 74,
        ErrorKind::Cancelled => 130,
        // EX_CANTCREAT: the output changed under us (--no-clobber, a concurrent run).
        ErrorKind::Conflict => 73,
        _ => 70,
    }
}

/// Whether the failure was a write to a closed pipe (`csv2parquet ... | head`): not an error.
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
