//! A fan-out into a local Parquet file: fragments in a temporary directory beside the output,
//! stitched by [`crate::stitch::stitch_files`] (the output appears only when all is done), the
//! directory removed whatever happens.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{convert_ranges, plan, Converted};
use crate::config::{ConvertOptions, OnError};
use crate::error::{Error, Result};
use crate::sink::{ByteSink, FileSink, Output, SinkFactory};
use crate::source::ByteSource;
use crate::stitch::{stitch_files, Stitch};

/// What a fan-out into a file did.
#[derive(Debug)]
pub struct FanOutReport {
    /// The ranges converted, in order.
    pub ranges: Vec<Range<u64>>,
    /// Rows written.
    pub rows: u64,
    /// The stitched file.
    pub stitched: Stitch,
}

/// Opens a fragment file, for the data only.
struct FragmentFile(PathBuf);

#[async_trait::async_trait]
impl SinkFactory for FragmentFile {
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
        match output {
            Output::Data => Ok(Box::new(FileSink::create(self.0.clone()).await?)),
            Output::Rejects => Err(rejects_refused()),
        }
    }
}

/// The error for a fragment's rejects: `--on-error reject` is refused with a fan-out.
pub fn rejects_refused() -> Error {
    Error::config(
        "--fan-out",
        "--on-error reject is not supported with --fan-out yet",
    )
}

/// Refuse what a fan-out cannot do yet.
pub fn check_options(options: &ConvertOptions) -> Result<()> {
    match options.on_error {
        OnError::Reject | OnError::Widen => Err(Error::config(
            "--fan-out",
            "--on-error reject and widen are not supported with --fan-out yet (fail and null are)",
        )),
        _ => Ok(()),
    }
}

/// Convert `source` into the Parquet file `output` with `workers` workers (each over at least
/// `min_range` bytes), `concurrency` of them at once.
pub async fn fan_out_to_file(
    source: &dyn ByteSource,
    output: &Path,
    options: &ConvertOptions,
    workers: usize,
    concurrency: usize,
    min_range: u64,
) -> Result<FanOutReport> {
    let plan = plan(source, options, workers, min_range).await?;
    let dir = temp_dir_beside(output)?;
    let fragment = |i: usize| dir.join(format!("fragment-{i:05}.parquet"));
    let sinks = |i: usize, _range: &Range<u64>| -> Result<Box<dyn SinkFactory>> {
        Ok(Box::new(FragmentFile(fragment(i))))
    };
    let done = async {
        let Converted {
            ranges,
            ids,
            reports,
        } = convert_ranges(source, options, &plan, concurrency, &sinks).await?;
        let paths: Vec<PathBuf> = ids.iter().copied().map(fragment).collect();
        let stitched = stitch_files(&paths, output, &plan.metadata)?;
        let rows = reports.iter().map(|r| r.rows).sum();
        Ok(FanOutReport {
            ranges,
            rows,
            stitched,
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    done
}

/// A new directory beside `output` for its fragments.
fn temp_dir_beside(output: &Path) -> Result<PathBuf> {
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = output
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let dir = parent.join(format!(".{name}.fragments-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        location: dir.display().to_string(),
        source,
    })?;
    Ok(dir)
}
