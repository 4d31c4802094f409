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

/// The options of each range worker, and how many run at once (two at most): the memory
/// limit, the threads (`cores` unless --workers says) and the spill room divided between those
/// at once, since they spill to the same directory. The room is --max-spill's, or the
/// default's from the spill directory's free bytes (`free`, asked only then: None leaves it
/// to each worker, Some(None) when they are unknown); too small a share does not spill.
fn worker_options(
    options: &ConvertOptions,
    workers: usize,
    cores: usize,
    free: impl FnOnce() -> Option<Option<u64>>,
) -> (ConvertOptions, usize) {
    let concurrency = workers.clamp(1, 2);
    let mut each = options.clone();
    each.memory_limit = options.memory_limit / concurrency;
    let threads = if options.workers == 0 {
        cores
    } else {
        options.workers
    };
    each.workers = (threads / concurrency).max(1);
    let room = options.max_spill.or_else(|| {
        free().map(|free| {
            s3_csv2parquet::budget::spill_room(free)
                .unwrap_or(s3_csv2parquet::budget::DEFAULT_MAX_SPILL)
        })
    });
    if let Some(room) = room {
        let share = room / concurrency;
        each.max_spill = Some(if share < 3 * MIB { 0 } else { share });
    }
    (each, concurrency)
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
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let dir = options.spill_dir_or_temp();
    // A temp dir in memory (tmpfs) is no room unless named: each worker then finds that out
    // itself, and warns.
    let in_memory = options.spill_dir.is_none() && s3_csv2parquet::encode::memory_backed(&dir);
    let (each, concurrency) = worker_options(options, workers, cores, || {
        (!in_memory).then(|| s3_csv2parquet::encode::free_bytes(&dir))
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_at_once_share_the_memory_threads_and_spill_room() {
        let options = ConvertOptions {
            memory_limit: 512 * MIB,
            max_spill: None,
            ..ConvertOptions::default()
        };
        // Default room: 3/4 of 400 MiB free = 300 MiB, shared by the two workers at once.
        let (each, at_once) = worker_options(&options, 8, 4, || Some(Some(400 << 20)));
        assert_eq!(at_once, 2);
        assert_eq!(each.memory_limit, 256 * MIB);
        assert_eq!(each.workers, 2);
        assert_eq!(each.max_spill, Some(150 * MIB));
        // An explicit --max-spill is shared, and the free space is not asked.
        let set = ConvertOptions {
            max_spill: Some(100 * MIB),
            workers: 3,
            ..options.clone()
        };
        let (each, _) = worker_options(&set, 2, 4, || panic!("free space asked"));
        assert_eq!((each.max_spill, each.workers), (Some(50 * MIB), 1));
        // A share under 3 MiB does not spill; one worker keeps the whole room.
        let (each, _) = worker_options(&options, 2, 2, || Some(Some(6 << 20)));
        assert_eq!(each.max_spill, Some(0));
        let (each, at_once) = worker_options(&options, 1, 2, || Some(Some(400 << 20)));
        assert_eq!((each.max_spill, at_once), (Some(300 * MIB), 1));
        assert_eq!(each.memory_limit, 512 * MIB);
        // Unknown free space: the default room (384 MiB), shared.
        let (each, _) = worker_options(&options, 2, 2, || Some(None));
        assert_eq!(each.max_spill, Some(192 * MIB));
        // A temp dir in memory: left to each worker, which does not spill there and warns.
        let (each, _) = worker_options(&options, 2, 2, || None);
        assert_eq!(each.max_spill, None);
    }
}
