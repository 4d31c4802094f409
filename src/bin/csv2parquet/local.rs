//! `csv2parquet local` (the function's whole flow on this machine) and `csv2parquet serve` (a
//! MinIO webhook target), over an embedded S3-compatible server ([`server`]), uploads that
//! produce the same S3 event notification AWS would deliver ([`upload`]), and a webhook endpoint
//! for MinIO bucket notifications ([`webhook`]).

pub(crate) mod server;
pub(crate) mod upload;
pub(crate) mod webhook;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use s3_csv2parquet::budget::resident::ResidentCeiling;
use s3_csv2parquet::lambda::handler::Handler;
use s3_csv2parquet::s3::build_client;
use s3_csv2parquet::{Error, SchemaSpec};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::args::S3Args;
use server::{EmbeddedS3, ACCESS_KEY, REGION, SECRET_KEY};
use upload::{ensure_bucket, s3_notification, upload_bytes, upload_file, Uploaded};
use webhook::Webhook;

/// A small CSV with one ragged row, to show the bad-input path of the demo.
const BROKEN_SAMPLE: &[u8] =
    b"id,name,amount\n1,alpha,1.50\n2,beta,2.25\n3,gamma,3.00,unexpected\n4,delta,4.75\n";

/// Options of `csv2parquet local`.
#[derive(clap::Args, Debug)]
pub(crate) struct LocalArgs {
    /// CSV files to upload (default: a generated taxi-like sample and a small broken CSV).
    files: Vec<PathBuf>,
    /// Directory the embedded S3 server keeps its objects in (`DIR/BUCKET/KEY`).
    #[arg(long, default_value = "local-s3")]
    dir: PathBuf,
    /// Bucket to create and upload to.
    #[arg(long, default_value = "csv2parquet-local")]
    bucket: String,
    /// Loopback port of the embedded server (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Keep the embedded server running after the run (until Ctrl-C), to look at the bucket with
    /// another S3 client.
    #[arg(long)]
    keep_serving: bool,
    /// Print the handler's JSON results instead of the summary.
    #[arg(long)]
    json: bool,
    /// Convert even when the output is up to date (same input ETag, same options).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    s3: S3Args,
}

/// Options of `csv2parquet serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// Address to listen on for MinIO webhook notifications.
    #[arg(long, default_value = "127.0.0.1:9090")]
    listen: SocketAddr,
    /// Conversions at once (each one uses the whole memory budget).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Convert even when the output is up to date (same input ETag, same options).
    #[arg(long)]
    force: bool,
    /// Refuse (401) a notification without `Authorization: Bearer TOKEN`, as MinIO sends it
    /// when its webhook target has `auth_token=TOKEN`. Also read from CSV2PQ_SERVE_TOKEN.
    #[arg(
        long,
        env = "CSV2PQ_SERVE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    auth_token: Option<String>,
    #[command(flatten)]
    s3: S3Args,
}

fn configured_endpoint(s3: &S3Args) -> Option<String> {
    s3.endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.is_empty())
}

/// `csv2parquet local`: an error (bad input) unless every user-given file converted.
pub(crate) async fn local(args: LocalArgs) -> Result<(), Error> {
    if run_local(args).await? {
        Ok(())
    } else {
        Err(Error::data(
            "csv2parquet local",
            None,
            "not every input was converted (see above)",
        ))
    }
}

/// The flow of `csv2parquet local`; returns whether every user-given file converted.
async fn run_local(args: LocalArgs) -> Result<bool, Error> {
    let config = args.s3.function_config(args.force)?;
    let _ceiling = ResidentCeiling::start(config.options.memory_limit);
    let (client, server) = connect(&args).await?;
    ensure_bucket(&client, &args.bucket).await?;
    let handler = Handler::new(client.clone(), config.clone()).await?;
    let uploads = upload_inputs(&client, &args, &config.rules.input_prefix).await?;
    let region = client
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let mut all_converted = true;
    for object in &uploads {
        eprintln!(
            "uploaded s3://{}/{} ({}); delivering its ObjectCreated notification",
            object.bucket,
            object.key,
            human_bytes(object.size)
        );
        let event = s3_notification(object, &region);
        let result = match handler.handle(&event, None).await {
            Ok(r) => r,
            Err(e) => {
                all_converted = false;
                eprintln!(
                    "  failed (Lambda would retry): {}",
                    s3_csv2parquet::error::error_chain(&e)
                );
                continue;
            }
        };
        let results = result["results"].as_array().cloned().unwrap_or_default();
        for r in &results {
            if r["outcome"] != "converted" && r["outcome"] != "up_to_date" {
                all_converted = false;
            }
        }
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&result).unwrap_or_default()
            );
        } else {
            for r in &results {
                print_result(r, object, server.as_ref());
            }
        }
    }
    if let Some(server) = server {
        if args.keep_serving {
            eprintln!(
                "serving {} until Ctrl-C (access key {ACCESS_KEY}, secret key {SECRET_KEY}, \
                 region {REGION}, path-style)",
                server.endpoint(),
            );
            let _ = tokio::signal::ctrl_c().await;
        }
        server.stop().await;
    }
    // The built-in samples include a broken file on purpose.
    Ok(all_converted || args.files.is_empty())
}

/// A client for the configured endpoint, or for an embedded server started over `--dir`.
async fn connect(args: &LocalArgs) -> Result<(aws_sdk_s3::Client, Option<EmbeddedS3>), Error> {
    Ok(match configured_endpoint(&args.s3) {
        Some(endpoint) => {
            eprintln!("S3 endpoint: {endpoint}");
            (build_client(&args.s3.options()).await, None)
        }
        None => {
            let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
            let server = EmbeddedS3::start(&args.dir, addr).await?;
            eprintln!(
                "embedded S3 server: {} over {}/",
                server.endpoint(),
                args.dir.display()
            );
            (server.client(), Some(server))
        }
    })
}

/// Upload the user's files under `prefix`, or the built-in samples (a generated taxi-like CSV
/// and a broken one).
async fn upload_inputs(
    client: &aws_sdk_s3::Client,
    args: &LocalArgs,
    prefix: &str,
) -> Result<Vec<Uploaded>, Error> {
    let mut uploads = Vec::new();
    if args.files.is_empty() {
        let sample = s3_csv2parquet::testkit::generate_vec(
            s3_csv2parquet::testkit::Shape::Taxi,
            4 * 1024 * 1024,
            1,
        );
        let key = format!("{prefix}trips.csv");
        uploads.push(upload_bytes(client, &args.bucket, &key, sample.into()).await?);
        let key = format!("{prefix}broken.csv");
        let broken = Bytes::from_static(BROKEN_SAMPLE);
        uploads.push(upload_bytes(client, &args.bucket, &key, broken).await?);
    } else {
        for file in &args.files {
            let key = format!("{prefix}{}", file_name(file)?);
            uploads.push(upload_file(client, file, &args.bucket, &key).await?);
        }
    }
    Ok(uploads)
}

fn file_name(path: &Path) -> Result<String, Error> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::config(
                "FILES",
                format!("{} has no UTF-8 file name", path.display()),
            )
        })
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn print_result(r: &Value, object: &Uploaded, server: Option<&EmbeddedS3>) {
    let outcome = r["outcome"].as_str().unwrap_or("?");
    match outcome {
        "converted" => {
            let output = r["output"].as_str().unwrap_or("");
            println!(
                "converted {} -> {}: {} rows, {} -> {} in {:.2} s",
                r["input"].as_str().unwrap_or(""),
                output,
                r["rows"],
                human_bytes(r["bytes_in"].as_u64().unwrap_or(0)),
                human_bytes(r["bytes_out"].as_u64().unwrap_or(0)),
                r["seconds"].as_f64().unwrap_or(0.0)
            );
            if let (Some(server), Some(key)) = (
                server,
                output.strip_prefix(&format!("s3://{}/", object.bucket)),
            ) {
                println!(
                    "  file: {}",
                    server.object_path(&object.bucket, key).display()
                );
            }
            if let Ok(schema) = serde_json::from_value::<SchemaSpec>(r["schema"].clone()) {
                println!("  schema:");
                for column in &schema.columns {
                    let mut ty = serde_json::to_value(&column.ty).unwrap_or_default();
                    let name = ty["type"].as_str().unwrap_or("?").to_string();
                    if let Some(map) = ty.as_object_mut() {
                        map.remove("type");
                    }
                    let extra = match ty.as_object() {
                        Some(m) if !m.is_empty() => format!(" {}", Value::Object(m.clone())),
                        _ => String::new(),
                    };
                    println!(
                        "    {}: {name}{extra}{}",
                        column.name,
                        if column.nullable { "" } else { " (not null)" }
                    );
                }
            }
        }
        "bad_input" => {
            println!(
                "bad input, not converted: {}\n  error report: {}",
                r["error"].as_str().unwrap_or(""),
                r["report"].as_str().unwrap_or("")
            );
        }
        "up_to_date" => println!(
            "up to date: {} already holds the conversion of this version of {}",
            r["output"].as_str().unwrap_or(""),
            r["input"].as_str().unwrap_or("")
        ),
        "skipped" | "ignored" => println!(
            "skipped {}: {}",
            r["input"].as_str().unwrap_or(""),
            r["reason"].as_str().unwrap_or("")
        ),
        other => println!("{other}: {r}"),
    }
}

/// `csv2parquet serve`: runs until Ctrl-C.
pub(crate) async fn serve(args: ServeArgs) -> Result<(), Error> {
    let config = args.s3.function_config(args.force)?;
    let _ceiling = ResidentCeiling::start(config.options.memory_limit);
    let client = build_client(&args.s3.options()).await;
    let handler = Handler::new(client, config).await?;
    let token = args.auth_token.filter(|t| !t.is_empty());
    let webhook = Webhook::bind(args.listen, handler, args.concurrency)
        .await?
        .with_auth_token(token);
    eprintln!(
        "listening on http://{} for MinIO bucket notifications (Ctrl-C stops)",
        webhook.local_addr()?
    );
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    webhook.run(shutdown).await;
    Ok(())
}
