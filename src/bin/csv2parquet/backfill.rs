//! `csv2parquet backfill s3://BUCKET/PREFIX/`: convert what is already in the bucket, as the
//! function would (same `CSV2PQ_*` configuration, same up-to-date rule, same error reports),
//! at a bounded concurrency; `--dry-run` prints the plan.

use std::io::IsTerminal;
use std::time::Instant;

use clap::Args;
use s3_csv2parquet::budget::resident::ResidentCeiling;
use s3_csv2parquet::lambda::backfill::{split_config, Plan, Planned, Tally};
use s3_csv2parquet::lambda::handler::Handler;
use s3_csv2parquet::lambda::response::ObjectResult;
use s3_csv2parquet::s3::build_client;
use s3_csv2parquet::{Error, ErrorKind};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::args::S3Args;

/// Arguments of `csv2parquet backfill`.
#[derive(Args, Debug)]
pub(crate) struct BackfillArgs {
    /// `s3://BUCKET/PREFIX/`: the objects to look at (`s3://BUCKET/` for the whole input prefix,
    /// CSV2PQ_INPUT_PREFIX).
    target: String,
    /// Conversions at once; the memory limit (CSV2PQ_MEMORY_LIMIT) and the workers are
    /// divided between them.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Print the plan (each object that would be converted, and why) and convert nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the plan or the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Convert every object, even those up to date or failed before with these options.
    #[arg(long)]
    force: bool,
    /// No progress bar and no per-object lines.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    s3: S3Args,
}

/// The JSON summary of a backfill.
#[derive(Serialize)]
struct Summary<'a> {
    plan: PlanCounts<'a>,
    #[serde(flatten)]
    tally: &'a Tally,
    seconds: f64,
    results: &'a [ObjectResult],
}

/// The plan's counts, without its list.
#[derive(Serialize)]
struct PlanCounts<'a> {
    bucket: &'a str,
    prefix: &'a str,
    listed: usize,
    to_convert: usize,
    bytes: u64,
    up_to_date: usize,
    failed_before: usize,
    skipped: usize,
}

impl<'a> From<&'a Plan> for PlanCounts<'a> {
    fn from(p: &'a Plan) -> Self {
        PlanCounts {
            bucket: &p.bucket,
            prefix: &p.prefix,
            listed: p.listed,
            to_convert: p.convert.len(),
            bytes: p.bytes,
            up_to_date: p.up_to_date,
            failed_before: p.failed_before.len(),
            skipped: p.skipped,
        }
    }
}

/// `csv2parquet backfill`.
pub(crate) async fn backfill(args: BackfillArgs) -> Result<(), Error> {
    let (bucket, prefix) = bucket_and_prefix(&args.target)?;
    let config = args.s3.function_config(args.force)?;
    let _ceiling = ResidentCeiling::start(config.options.memory_limit);
    let each = split_config(&config, args.concurrency)?;
    let client = build_client(&args.s3.options()).await;
    let handler = Handler::new(client, each).await?;
    let plan = handler.plan_backfill(&bucket, &prefix).await?;
    if args.dry_run {
        print_plan(&plan, args.json);
        return Ok(());
    }
    if !args.quiet && !args.json {
        eprintln!("{}", plan_line(&plan));
    }
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.cancel();
        }
    });
    let bar = progress_bar(&plan, args.quiet || args.json);
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut results = Vec::new();
    let done = |p: &Planned, result: ObjectResult| {
        tally.add(&result);
        bar.inc(p.size);
        bar.set_message(format!(
            "{}/{} objects",
            tally_count(&tally),
            plan.convert.len()
        ));
        if !args.quiet && !args.json {
            bar.suspend(|| eprintln!("{}", result_line(&result)));
        }
        results.push(result);
    };
    handler
        .backfill(&plan, args.concurrency, &cancel, done)
        .await;
    watcher.abort();
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        let summary = Summary {
            plan: PlanCounts::from(&plan),
            tally: &tally,
            seconds,
            results: &results,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    } else if !args.quiet {
        eprintln!("{}", tally_line(&tally, seconds));
    }
    outcome(&tally, &plan, cancel.is_cancelled())
}

/// `s3://BUCKET/PREFIX` -> (BUCKET, PREFIX); the prefix may be empty.
fn bucket_and_prefix(target: &str) -> Result<(String, String), Error> {
    let rest = target
        .strip_prefix("s3://")
        .ok_or_else(|| Error::config("TARGET", format!("{target:?} is not s3://BUCKET/PREFIX/")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::config(
            "TARGET",
            format!("{target:?} names no bucket"),
        ));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

fn tally_count(t: &Tally) -> usize {
    t.converted + t.up_to_date + t.superseded + t.bad_input + t.failed + t.skipped
}

/// The exit status: an error when a conversion failed (bad input: 65; others: 74).
fn outcome(tally: &Tally, plan: &Plan, interrupted: bool) -> Result<(), Error> {
    if interrupted {
        return Err(Error::Cancelled(
            "interrupted: the conversions under way were aborted; run the backfill again to go on"
                .into(),
        ));
    }
    if tally.all_done() {
        return Ok(());
    }
    let kind = if tally.failed == 0 {
        ErrorKind::BadInput
    } else {
        ErrorKind::Io
    };
    Err(Error::Store {
        op: "backfill".into(),
        location: format!("s3://{}/{}", plan.bucket, plan.prefix),
        retryable: tally.failed > 0,
        kind,
        source: format!(
            "{} of {} objects not converted: {} bad input, {} other failures (the error reports are under the failed prefix; running the backfill again retries the other failures)",
            tally.bad_input + tally.failed,
            plan.convert.len(),
            tally.bad_input,
            tally.failed
        )
        .into(),
    })
}

fn plan_line(plan: &Plan) -> String {
    format!(
        "s3://{}/{}: {} objects listed, {} to convert ({} bytes), {} up to date, {} failed before with these options, {} not converted by the function",
        plan.bucket,
        plan.prefix,
        plan.listed,
        plan.convert.len(),
        plan.bytes,
        plan.up_to_date,
        plan.failed_before.len(),
        plan.skipped
    )
}

fn print_plan(plan: &Plan, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(plan).unwrap_or_default());
        return;
    }
    for p in &plan.convert {
        println!(
            "convert {} ({} bytes) -> {}: {}",
            p.input, p.size, p.output, p.reason
        );
    }
    for f in &plan.failed_before {
        println!(
            "keep    {}: failed before with these options ({})",
            f.input, f.report
        );
    }
    println!("{}", plan_line(plan));
}

fn result_line(result: &ObjectResult) -> String {
    match result {
        ObjectResult::Converted(c) => format!(
            "converted {} -> {} ({} rows, {} -> {} bytes, {:.2} s)",
            c.input, c.output, c.rows, c.bytes_in, c.bytes_out, c.seconds
        ),
        ObjectResult::BadInput {
            input,
            error,
            report,
        } => {
            format!("bad input {input}: {error} (report {report})")
        }
        ObjectResult::Failed(f) => format!("failed {}: {}", f.input, f.error),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn tally_line(t: &Tally, seconds: f64) -> String {
    format!(
        "backfill: {} converted ({} -> {} bytes), {} up to date, {} superseded, {} bad input, {} failed, in {seconds:.1} s",
        t.converted, t.bytes_in, t.bytes_out, t.up_to_date, t.superseded, t.bad_input, t.failed
    )
}

/// Bytes and objects, on a terminal only.
fn progress_bar(plan: &Plan, hidden: bool) -> indicatif::ProgressBar {
    if hidden || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(plan.bytes);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(format!("0/{} objects", plan.convert.len()));
    bar
}
