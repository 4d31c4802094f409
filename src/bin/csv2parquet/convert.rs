//! `csv2parquet convert` (one conversion, its progress bar and its summary line or JSON report)
//! and `csv2parquet schema` (the schema `convert` would use).

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use s3_csv2parquet::budget::resident::ResidentCeiling;
use s3_csv2parquet::config::{OnError, MIB};
use s3_csv2parquet::location::Location;
use s3_csv2parquet::sink::FileSink;
use s3_csv2parquet::testkit::peak_rss_bytes;
use s3_csv2parquet::{ConvertReport, Converter, Error, Progress};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::args::{CsvArgs, OutputArgs, S3Args};
use crate::endpoints::{Endpoints, Outputs};

/// Arguments of `csv2parquet convert`.
#[derive(Args, Debug)]
pub(crate) struct ConvertArgs {
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
    /// Convert with N workers, each over a byte range of the input (an uncompressed file or
    /// s3:// object), and stitch their Parquet fragments into one file (row groups copied, not
    /// re-encoded). Two run at once, sharing --memory-limit.
    #[arg(long, value_name = "N")]
    fan_out: Option<usize>,
    /// The smallest range a --fan-out worker gets.
    #[arg(long, default_value = "256MiB", value_parser = s3_csv2parquet::config::parse_size, value_name = "BYTES")]
    fan_out_min_range: usize,
}

/// Arguments of `csv2parquet schema`.
#[derive(Args, Debug)]
pub(crate) struct SchemaArgs {
    /// CSV input: a path, or `-` for standard input.
    input: String,
    #[command(flatten)]
    csv: CsvArgs,
    #[command(flatten)]
    s3: S3Args,
}

/// `csv2parquet schema`: print the inferred (or completed) schema as a `--schema` file.
pub(crate) async fn schema(args: SchemaArgs) -> Result<(), Error> {
    let mut opts = args.csv.options()?;
    opts.range_bytes = args.s3.range_bytes;
    let source = Endpoints::new(args.s3).source(&args.input).await?;
    let inferred = s3_csv2parquet::infer_schema(source.as_ref(), &opts).await?;
    for w in &inferred.warnings {
        eprintln!("csv2parquet: warning: {w}");
    }
    eprintln!("csv2parquet: dialect: {}", inferred.dialect.flags());
    println!("{}", inferred.schema.to_json());
    Ok(())
}

/// `csv2parquet convert`: open the endpoints, run the conversion (Ctrl-C cancels it, aborting
/// the outputs), then print the summary or the JSON report.
pub(crate) async fn convert(args: ConvertArgs) -> Result<(), Error> {
    let ConvertArgs {
        input,
        output,
        csv,
        out,
        s3,
        fan_out,
        fan_out_min_range,
    } = args;
    let mut opts = csv.options()?;
    out.apply(&mut opts)?;
    opts.range_bytes = s3.range_bytes;
    let budget = opts.validate()?;
    let _ceiling = ResidentCeiling::start(opts.memory_limit);
    let mut endpoints = Endpoints::new(s3);
    let source = endpoints.source(&input).await?;
    if let Some(workers) = fan_out {
        let args = crate::fanout::FanOutArgs {
            workers,
            min_range: fan_out_min_range,
            quiet: out.quiet,
            no_clobber: out.no_clobber,
        };
        let src = source.as_ref();
        return crate::fanout::convert_fanned(src, &output, &opts, args, &mut endpoints).await;
    }
    let rejects = rejects_path(opts.on_error, out.rejects.as_deref(), &output)?;
    check_rewritable(opts.on_error, &input, &output)?;
    check_distinct(&input, &output, rejects.as_deref())?;
    if out.no_clobber {
        refuse_existing(&output)?;
    }
    let mut outputs = Outputs {
        endpoints,
        output: output.clone(),
        rejects,
        parts_in_flight: budget.parts_in_flight,
        no_clobber: out.no_clobber,
    };
    let cancel = CancellationToken::new();
    let converter = Converter::new(opts).with_cancel(cancel.clone());
    let progress = converter.progress();
    let show_bar = !out.quiet && std::io::stderr().is_terminal();
    let size = source.head().await.ok().and_then(|i| i.size);
    let bar = show_bar.then(|| spawn_progress(progress, size));
    let ctrl_c = cancel_on_ctrl_c(cancel);
    let result = converter.run(source.as_ref(), &mut outputs).await;
    ctrl_c.abort();
    if let Some((handle, bar)) = bar {
        handle.abort();
        bar.finish_and_clear();
    }
    let mut report = result?;
    report.output = output.clone();
    print_report(&report, &out, &output)
}

/// Where `--on-error reject` writes rejected records: `--rejects`, else `OUTPUT.rejects.csv`
/// (an error when OUTPUT is stdout); `None` under the other policies.
fn rejects_path(
    on_error: OnError,
    rejects: Option<&str>,
    output: &str,
) -> Result<Option<String>, Error> {
    Ok(match (on_error, rejects) {
        (OnError::Reject, Some(p)) => Some(p.to_string()),
        (OnError::Reject, None) if output == "-" => {
            return Err(Error::config(
                "--rejects",
                "is required with --on-error reject when OUTPUT is stdout",
            ))
        }
        (OnError::Reject, None) => Some(format!("{output}.rejects.csv")),
        _ => None,
    })
}

/// `--on-error widen` reads the input again and rewrites the output: refuse stdin, stdout and
/// outputs written in place (devices, FIFOs).
fn check_rewritable(on_error: OnError, input: &str, output: &str) -> Result<(), Error> {
    let in_place = matches!(
        Location::parse(output, "OUTPUT")?,
        Location::Local(ref p) if FileSink::writes_in_place(p)
    );
    if on_error == OnError::Widen && (input == "-" || output == "-" || in_place) {
        return Err(Error::config(
            "--on-error",
            "widen reads the input again and rewrites the output: it needs a file or s3:// \
             INPUT and OUTPUT, not stdin/stdout or a device or FIFO",
        ));
    }
    Ok(())
}

/// Refuse to write over the input: `convert x.csv x.csv` would replace the CSV with Parquet.
fn check_distinct(input: &str, output: &str, rejects: Option<&str>) -> Result<(), Error> {
    let source = Location::parse(input, "INPUT")?;
    for (what, target) in [("OUTPUT", Some(output)), ("--rejects", rejects)] {
        let Some(target) = target else { continue };
        let same = match (&source, Location::parse(target, what)?) {
            (Location::Local(a), Location::Local(b)) => same_file(a, &b),
            (
                Location::S3 { bucket, key },
                Location::S3 {
                    bucket: b2,
                    key: k2,
                },
            ) => bucket == &b2 && key == &k2,
            _ => false,
        };
        if same {
            return Err(Error::config(
                what,
                format!(
                    "{target} is the INPUT: writing it would replace the CSV; name another file"
                ),
            ));
        }
    }
    Ok(())
}

/// `--no-clobber` with a local OUTPUT that exists: fail before converting (the publish checks
/// again, for a file that appears meanwhile, and for S3).
fn refuse_existing(output: &str) -> Result<(), Error> {
    if let Location::Local(path) = Location::parse(output, "OUTPUT")? {
        if path.exists() {
            return Err(Error::Superseded {
                location: output.to_string(),
                reason: "--no-clobber, and the file exists".into(),
                source: Box::new(std::io::Error::from(std::io::ErrorKind::AlreadyExists)),
            });
        }
    }
    Ok(())
}

/// Whether two paths name the same file (both exist and resolve to one path).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Cancel `cancel` on Ctrl-C (abort the returned task once the run is over).
fn cancel_on_ctrl_c(cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    })
}

/// The JSON report (to stdout, or stderr when the data went to stdout) or, unless `--quiet`,
/// the summary line and the warnings on stderr.
fn print_report(report: &ConvertReport, out: &OutputArgs, output: &str) -> Result<(), Error> {
    let peak = peak_rss_bytes();
    if out.json {
        let mut value = serde_json::to_value(report).map_err(|e| Error::Internal(e.to_string()))?;
        value["peak_rss_bytes"] = serde_json::json!(peak);
        let text = value.to_string();
        if output == "-" {
            eprintln!("{text}");
        } else {
            // A reader that went away (`| head`) does not undo the conversion: the report is
            // dropped rather than a panic on the broken pipe.
            use std::io::Write;
            match writeln!(std::io::stdout().lock(), "{text}") {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Error::Write {
                        location: "stdout (the report)".into(),
                        source: e,
                    })
                }
                _ => {}
            }
        }
    } else if !out.quiet {
        eprintln!("{}", summary_line(report, peak));
        for w in &report.warnings {
            eprintln!("csv2parquet: warning: {w}");
        }
    }
    Ok(())
}

/// `csv2parquet: IN -> OUT: N rows[, ...], X MiB -> Y MiB, ...`: one line per run.
fn summary_line(report: &ConvertReport, peak: Option<u64>) -> String {
    let rejected = if report.rejected > 0 {
        format!(
            ", {} rejected (see {})",
            report.rejected,
            report.rejects.clone().unwrap_or_default()
        )
    } else {
        String::new()
    };
    let nulled = if report.nulled > 0 {
        format!(", {} bad values stored as null", report.nulled)
    } else {
        String::new()
    };
    let replaced = if report.utf8_replaced > 0 {
        format!(
            ", {} values with invalid UTF-8 replaced",
            report.utf8_replaced
        )
    } else {
        String::new()
    };
    let widened: String = report
        .widened
        .iter()
        .map(|w| {
            format!(
                ", widened {:?} from {} to {} (line {})",
                w.column, w.from, w.to, w.line
            )
        })
        .collect();
    format!(
        "csv2parquet: {} -> {}: {} rows{rejected}{nulled}{replaced}{widened}, {:.1} MiB -> {:.1} MiB, \
         {} row group(s), {:.2} s, {:.1} MiB/s, peak RSS {} MiB",
        report.input,
        report.output,
        report.rows,
        report.bytes_decompressed as f64 / MIB as f64,
        report.bytes_out as f64 / MIB as f64,
        report.row_groups,
        report.seconds,
        report.mib_per_s,
        peak.map_or("?".to_string(), |p| (p / MIB as u64).to_string()),
    )
}

/// A progress bar (bytes of `size`, or a spinner; rows as its message) redrawn every 200 ms.
fn spawn_progress(
    progress: Arc<Progress>,
    size: Option<u64>,
) -> (JoinHandle<()>, indicatif::ProgressBar) {
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
