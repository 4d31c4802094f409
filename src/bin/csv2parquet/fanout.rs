//! `convert --fan-out N`: the input cut into byte ranges converted by N workers, their
//! fragments stitched into one Parquet file (see the library's `fanout` module).

use std::path::Path;
use std::time::Instant;

use s3_csv2parquet::config::{ConvertOptions, MIB};
use s3_csv2parquet::fanout::fan_out_to_file;
use s3_csv2parquet::location::Location;
use s3_csv2parquet::s3::fanout::S3FanOut;
use s3_csv2parquet::s3::S3Sink;
use s3_csv2parquet::sink::Precondition;
use s3_csv2parquet::source::ByteSource;
use s3_csv2parquet::Error;

use crate::endpoints::Endpoints;

/// How `convert --fan-out` runs.
pub(crate) struct FanOutArgs {
    /// Workers (ranges).
    pub workers: usize,
    /// The smallest range.
    pub min_range: usize,
    /// No summary line.
    pub quiet: bool,
    /// Publish only where nothing is.
    pub no_clobber: bool,
}

/// Convert `source` into `output` (a local file or s3://) with `workers` range workers, two at
/// a time (the memory limit and the threads divided between them), each range at least
/// `min_range` bytes.
pub(crate) async fn convert_fanned(
    source: &dyn ByteSource,
    output: &str,
    options: &ConvertOptions,
    args: FanOutArgs,
    endpoints: &mut Endpoints,
) -> Result<(), Error> {
    let FanOutArgs {
        workers,
        min_range,
        quiet,
        no_clobber,
    } = args;
    let concurrency = workers.clamp(1, 2);
    let mut each = options.clone();
    each.memory_limit = options.memory_limit / concurrency;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let threads = if options.workers == 0 {
        cores
    } else {
        options.workers
    };
    each.workers = (threads / concurrency).max(1);
    // The workers at once spill to the same directory: each gets its share of the room (the
    // default's, from the free space, or --max-spill's); too small a share does not spill.
    let room = options.max_spill.or_else(|| {
        s3_csv2parquet::budget::spill_room(s3_csv2parquet::encode::free_bytes(
            &options.spill_dir_or_temp(),
        ))
    });
    if let Some(room) = room {
        let share = room / concurrency;
        each.max_spill = Some(if share < 3 * MIB { 0 } else { share });
    }
    each.validate()?;
    let started = Instant::now();
    let report = match Location::parse(output, "OUTPUT")? {
        Location::Local(path) => {
            if no_clobber && Path::new(&path).exists() {
                return Err(Error::config("--no-clobber", format!("{output} exists")));
            }
            let (n, c, min) = (workers, concurrency, min_range as u64);
            fan_out_to_file(source, Path::new(&path), &each, n, c, min).await?
        }
        Location::S3 { bucket, key } => {
            let client = endpoints.client().await;
            let requests = endpoints.s3_args().options().requests()?;
            let parts = each.validate()?.parts_in_flight;
            let precondition = if no_clobber {
                Precondition::Absent
            } else {
                Precondition::None
            };
            let sink = S3Sink::new(client.clone(), &bucket, &key, parts)
                .with_requests(requests.clone())
                .with_precondition(precondition);
            let fan_out = S3FanOut {
                client,
                bucket,
                key,
                parts_in_flight: parts,
                requests,
                workers,
                concurrency,
                min_range: min_range as u64,
            };
            fan_out.run(source, &each, sink).await?
        }
        Location::Stdio => {
            return Err(Error::config(
                "--fan-out",
                "writes a file or an s3:// object, not stdout",
            ))
        }
    };
    if !quiet {
        eprintln!(
            "csv2parquet: {} -> {output}: {} rows from {} ranges, {:.1} MiB in {} row group(s), {:.2} s",
            source.location(),
            report.rows,
            report.ranges.len(),
            report.stitched.size as f64 / MIB as f64,
            report.stitched.row_groups,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
