//! `convert --fan-out N`: the input cut into byte ranges converted by N workers, their
//! fragments stitched into one Parquet file (see the library's `fanout` module).

use std::path::Path;
use std::time::Instant;

use s3_csv2parquet::config::{ConvertOptions, MIB};
use s3_csv2parquet::fanout::fan_out_to_file;
use s3_csv2parquet::location::Location;
use s3_csv2parquet::source::ByteSource;
use s3_csv2parquet::Error;

/// Convert `source` into the local file `output` with `workers` range workers, two at a time
/// (the memory limit and the threads divided between them), each range at least `min_range`
/// bytes.
pub(crate) async fn convert_fanned(
    source: &dyn ByteSource,
    output: &str,
    options: &ConvertOptions,
    workers: usize,
    min_range: usize,
    quiet: bool,
) -> Result<(), Error> {
    let Location::Local(path) = Location::parse(output, "OUTPUT")? else {
        return Err(Error::config(
            "--fan-out",
            "writes a local file for now (not stdout or s3://)",
        ));
    };
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
    each.validate()?;
    let started = Instant::now();
    let report = fan_out_to_file(
        source,
        Path::new(&path),
        &each,
        workers,
        concurrency,
        min_range as u64,
    )
    .await?;
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
