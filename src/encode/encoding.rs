//! Which encoding each column is written with, decided from the head of the input.
//!
//! Two decisions per column. Whether it gets a dictionary comes from the distinct values of the
//! sample ([`super::Cardinality`]). Which encoding its values get outside a dictionary (all of
//! them for a column without one, the rest of a row group after its dictionary overflowed)
//! comes from a trial: the first records of the head, decoded, are written once with each
//! candidate encoding and the configured codec, and the smallest wins if it beats plain by
//! [`MIN_GAIN`] (the delta encodings cost readers more time to decode than plain values).
//!
//! The candidates are the encodings every major reader decodes: PLAIN, and DELTA_BINARY_PACKED
//! for integers, dates, times and timestamps (INT32/INT64 columns; read by parquet-java and
//! Spark's vectorized reader since Spark 3.3, SPARK-36879; Trino, DuckDB, arrow-cpp/pyarrow,
//! arrow-rs/DataFusion and Polars; `scripts/compare.py --check` reads the output back in
//! pyarrow, Polars and DuckDB). Taxi's two timestamp columns are 12-13% smaller as deltas of
//! increasing values (64 MiB: 2.57 -> 2.23 MB and 2.73 -> 2.43 MB), and integers of a few
//! digits are smaller bit-packed than as 8-byte values under zstd. Not used:
//! BYTE_STREAM_SPLIT for floats, whose vectorized reader Spark only gained in 2026
//! (SPARK-56894; before it Spark fails with "Unsupported encoding"), and the delta encodings of
//! strings: DELTA_LENGTH_BYTE_ARRAY made the generated string columns 4-12% smaller than plain
//! (pyarrow, zstd level 1, no dictionary: text's `body` 2.79 -> 2.68 MB, `title` 0.60 -> 0.55 MB
//! of 16 MiB; DELTA_BYTE_ARRAY less), but Spark's vectorized reader reads it as a column's only
//! encoding only from Spark 3.4 (SPARK-40128), and its cost on the text shape's long `body`
//! column, the encoder's busiest, is not measured yet.

use std::sync::Arc;

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

use crate::schema::{ColumnType, SchemaSpec};

/// A candidate encoding is chosen only when the trial makes it at least this much (5%) smaller
/// than plain: below that the difference is within what another sample would give, and plain
/// values decode fastest.
pub const MIN_GAIN: f64 = 0.05;

/// Columns per file of the encoding trial (see `sizes`): their writers take a few MiB.
const TRIAL_FILE_COLUMNS: usize = 64;

/// Records of the head written in the trial (at most; and at most [`TRIAL_BYTES`] of CSV).
pub(crate) const TRIAL_RECORDS: usize = 8192;
/// CSV bytes of the head written in the trial (at most).
pub(crate) const TRIAL_BYTES: usize = 4 << 20;

/// How one column is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnEncoding {
    /// The column's name.
    pub name: String,
    /// Whether the writer starts each row group's chunk with a dictionary.
    pub dictionary: bool,
    /// The encoding of the values outside a dictionary.
    pub encoding: Encoding,
    /// The column's codec, where it differs from the file's.
    pub compression: Option<Compression>,
}

/// How every column is written; the default (no columns) leaves every column at the writer's
/// default: a dictionary, falling back to plain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodingPlan {
    columns: Vec<ColumnEncoding>,
}

impl EncodingPlan {
    /// A plan from explicit choices (columns not named keep the writer's default).
    pub fn new(columns: Vec<ColumnEncoding>) -> Self {
        EncodingPlan { columns }
    }

    /// Choose for every column of `schema`: no dictionary for `plain_columns`, and the smallest
    /// encoding of `sample` (the head's first records in `schema`'s types) under `codec`.
    /// Without a sample (or if the trial fails) values outside a dictionary stay plain.
    /// Dictionary columns and text columns without one get `strong_codec`, if given.
    pub fn choose(
        schema: &SchemaSpec,
        plain_columns: &[String],
        sample: Option<&RecordBatch>,
        codec: Compression,
        strong_codec: Option<Compression>,
        threads: usize,
    ) -> Self {
        let encodings = match sample {
            Some(batch) => trial(schema, batch, codec, threads).unwrap_or_else(|e| {
                tracing::debug!(error = %e, "encoding trial failed: values stay plain");
                vec![Encoding::PLAIN; schema.columns.len()]
            }),
            None => vec![Encoding::PLAIN; schema.columns.len()],
        };
        let columns = schema
            .columns
            .iter()
            .zip(encodings)
            .map(|(spec, encoding)| {
                let dictionary = !plain_columns.contains(&spec.name);
                ColumnEncoding {
                    name: spec.name.clone(),
                    dictionary,
                    encoding,
                    compression: strong_codec.filter(|_| dictionary || spec.ty == ColumnType::Utf8),
                }
            })
            .collect();
        EncodingPlan { columns }
    }

    /// The columns' choices, in schema order.
    pub fn columns(&self) -> &[ColumnEncoding] {
        &self.columns
    }

    /// Set the plan's per-column properties on `builder`.
    pub fn apply(&self, mut builder: WriterPropertiesBuilder) -> WriterPropertiesBuilder {
        for column in &self.columns {
            let path = ColumnPath::new(vec![column.name.clone()]);
            if !column.dictionary {
                builder = builder.set_column_dictionary_enabled(path.clone(), false);
            }
            if let Some(codec) = column.compression {
                builder = builder.set_column_compression(path.clone(), codec);
            }
            if column.encoding != Encoding::PLAIN {
                builder = builder.set_column_encoding(path, column.encoding);
            }
        }
        builder
    }
}

/// The encodings tried for a column besides PLAIN.
fn candidates(ty: &ColumnType) -> &'static [Encoding] {
    match ty {
        ColumnType::Int32
        | ColumnType::Int64
        | ColumnType::Date32
        | ColumnType::Time64
        | ColumnType::Timestamp { .. } => &[Encoding::DELTA_BINARY_PACKED],
        _ => &[],
    }
}

/// Per column, the encoding that wrote `batch`'s column smallest (PLAIN unless a candidate
/// beat it by [`MIN_GAIN`]). One in-memory file per encoding tried, each holding the columns
/// that have that candidate; sizes are the column chunks' compressed bytes.
fn trial(
    schema: &SchemaSpec,
    batch: &RecordBatch,
    codec: Compression,
    threads: usize,
) -> parquet::errors::Result<Vec<Encoding>> {
    let mut chosen = vec![Encoding::PLAIN; schema.columns.len()];
    let candidates_of = |c: usize| candidates(&schema.columns[c].ty);
    let tried: Vec<usize> = (0..schema.columns.len().min(batch.num_columns()))
        .filter(|&c| !candidates_of(c).is_empty())
        .collect();
    if tried.is_empty() || batch.num_rows() == 0 {
        return Ok(chosen);
    }
    let plain = sizes(batch, &tried, codec, |_| Encoding::PLAIN, threads)?;
    // The size to beat per tried column: plain's, less the gain a candidate must bring.
    let mut best: Vec<f64> = plain.iter().map(|&p| p as f64 * (1.0 - MIN_GAIN)).collect();
    let rounds = tried
        .iter()
        .map(|&c| candidates_of(c).len())
        .max()
        .unwrap_or(0);
    for round in 0..rounds {
        // Positions in `tried` of the columns with a candidate in this round.
        let at: Vec<usize> = (0..tried.len())
            .filter(|&i| candidates_of(tried[i]).len() > round)
            .collect();
        let columns: Vec<usize> = at.iter().map(|&i| tried[i]).collect();
        let encoding_of = |c: usize| {
            candidates_of(c)
                .get(round)
                .copied()
                .unwrap_or(Encoding::PLAIN)
        };
        let got = sizes(batch, &columns, codec, encoding_of, threads)?;
        for (&i, size) in at.iter().zip(got) {
            if (size as f64) < best[i] {
                best[i] = size as f64;
                chosen[tried[i]] = encoding_of(tried[i]);
            }
        }
    }
    Ok(chosen)
}

/// Compressed bytes of `columns` of `batch` written with `encoding_of(column)`, no dictionary:
/// runs of the columns on up to `threads` threads, each as files of at most
/// [`TRIAL_FILE_COLUMNS`] columns in turn (a column's size does not depend on the others in
/// its file). One file per run held a writer per column at once, outside the budget: ~20-40
/// MiB at 3,000 columns, the peak of a conversion at 128 MiB.
fn sizes(
    batch: &RecordBatch,
    columns: &[usize],
    codec: Compression,
    encoding_of: impl Fn(usize) -> Encoding + Sync,
    threads: usize,
) -> parquet::errors::Result<Vec<u64>> {
    let runs = crate::split::map_runs(columns.len(), threads, |run| {
        let mut out = Vec::with_capacity(run.len());
        for file in columns[run].chunks(TRIAL_FILE_COLUMNS) {
            out.extend(file_sizes(batch, file, codec, &encoding_of)?);
        }
        Ok::<_, parquet::errors::ParquetError>(out)
    });
    let mut out = Vec::with_capacity(columns.len());
    for run in runs {
        out.extend(run?);
    }
    Ok(out)
}

/// [`sizes`] of one file holding `columns`.
fn file_sizes(
    batch: &RecordBatch,
    columns: &[usize],
    codec: Compression,
    encoding_of: &impl Fn(usize) -> Encoding,
) -> parquet::errors::Result<Vec<u64>> {
    let projected = batch.project(columns)?;
    let mut builder = WriterProperties::builder()
        .set_compression(codec)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None);
    for (&c, field) in columns.iter().zip(projected.schema().fields()) {
        let encoding = encoding_of(c);
        if encoding != Encoding::PLAIN {
            builder =
                builder.set_column_encoding(ColumnPath::new(vec![field.name().clone()]), encoding);
        }
    }
    let mut writer = ArrowWriter::try_new(
        Vec::new(),
        Arc::clone(&projected.schema()),
        Some(builder.build()),
    )?;
    writer.write(&projected)?;
    let metadata = writer.close()?;
    let mut out = vec![0u64; columns.len()];
    for group in metadata.row_groups() {
        for (total, chunk) in out.iter_mut().zip(group.columns()) {
            *total += u64::try_from(chunk.compressed_size()).unwrap_or(0);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ColumnSpec, UnitName};
    use arrow::array::{Float64Array, Int64Array, StringArray, TimestampMillisecondArray};
    use parquet::basic::ZstdLevel;

    /// The trial's files of at most `TRIAL_FILE_COLUMNS` columns give each column the size one
    /// file of all the columns gives it.
    #[test]
    fn trial_files_of_a_few_columns_size_each_column_as_one_file_does() {
        let columns = 2 * TRIAL_FILE_COLUMNS + 7;
        let fields: Vec<arrow::datatypes::Field> = (0..columns)
            .map(|c| {
                arrow::datatypes::Field::new(
                    format!("c{c}"),
                    arrow::datatypes::DataType::Int64,
                    true,
                )
            })
            .collect();
        let arrays: Vec<arrow::array::ArrayRef> = (0..columns)
            .map(|c| -> arrow::array::ArrayRef {
                Arc::new(Int64Array::from_iter_values(
                    (0..2_000i64).map(|i| (i * (c as i64 + 3)) % (97 + c as i64)),
                ))
            })
            .collect();
        let batch =
            RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), arrays).unwrap();
        let all: Vec<usize> = (0..columns).collect();
        let codec = Compression::ZSTD(ZstdLevel::default());
        let delta = |c: usize| {
            if c % 2 == 0 {
                Encoding::DELTA_BINARY_PACKED
            } else {
                Encoding::PLAIN
            }
        };
        let one_file = file_sizes(&batch, &all, codec, &delta).unwrap();
        assert_eq!(sizes(&batch, &all, codec, delta, 2).unwrap(), one_file);
        assert!(one_file.iter().all(|&n| n > 0));
    }

    fn spec(columns: &[(&str, ColumnType)]) -> SchemaSpec {
        SchemaSpec {
            columns: columns
                .iter()
                .map(|(name, ty)| ColumnSpec {
                    name: (*name).into(),
                    ty: ty.clone(),
                    nullable: true,
                    format: None,
                })
                .collect(),
        }
    }

    fn zstd() -> Compression {
        Compression::ZSTD(ZstdLevel::try_new(1).unwrap())
    }

    #[test]
    fn increasing_timestamps_and_ids_get_deltas_random_integers_stay_plain() {
        let schema = spec(&[
            ("id", ColumnType::Int64),
            (
                "at",
                ColumnType::Timestamp {
                    unit: UnitName::Ms,
                    timezone: None,
                },
            ),
            ("noise", ColumnType::Int64),
            ("price", ColumnType::Float64),
            ("name", ColumnType::Utf8),
        ]);
        let n = 8192i64;
        let mut x: u64 = 7;
        let mut noise = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 1) as i64
        };
        let batch = RecordBatch::try_new(
            schema.arrow_schema(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(TimestampMillisecondArray::from_iter_values(
                    (0..n).map(|i| 1_700_000_000_000 + i * 3_000 + (i * 7919) % 600_000),
                )),
                Arc::new(Int64Array::from_iter_values((0..n).map(|_| noise()))),
                Arc::new(Float64Array::from_iter_values(
                    (0..n).map(|i| i as f64 * 0.5),
                )),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("v{i}")),
                )),
            ],
        )
        .unwrap();
        let plan = EncodingPlan::choose(&schema, &["id".into()], Some(&batch), zstd(), None, 1);
        let got: Vec<(&str, bool, Encoding)> = plan
            .columns()
            .iter()
            .map(|c| (c.name.as_str(), c.dictionary, c.encoding))
            .collect();
        assert_eq!(
            got,
            [
                ("id", false, Encoding::DELTA_BINARY_PACKED),
                ("at", true, Encoding::DELTA_BINARY_PACKED),
                ("noise", true, Encoding::PLAIN),
                ("price", true, Encoding::PLAIN),
                ("name", true, Encoding::PLAIN),
            ]
        );
    }

    #[test]
    fn without_a_sample_values_stay_plain() {
        let schema = spec(&[("id", ColumnType::Int64), ("name", ColumnType::Utf8)]);
        let plan = EncodingPlan::choose(&schema, &["name".into()], None, zstd(), None, 1);
        assert!(plan.columns().iter().all(|c| c.encoding == Encoding::PLAIN));
        assert_eq!(
            plan.columns()
                .iter()
                .map(|c| c.dictionary)
                .collect::<Vec<_>>(),
            [true, false]
        );
    }

    #[test]
    fn the_plan_sets_the_writer_properties() {
        let plan = EncodingPlan::new(vec![
            ColumnEncoding {
                name: "a".into(),
                dictionary: false,
                encoding: Encoding::DELTA_BINARY_PACKED,
                compression: None,
            },
            ColumnEncoding {
                name: "b".into(),
                dictionary: true,
                encoding: Encoding::PLAIN,
                compression: Some(Compression::ZSTD(ZstdLevel::try_new(3).unwrap())),
            },
        ]);
        let props = plan.apply(WriterProperties::builder()).build();
        let a = ColumnPath::new(vec!["a".into()]);
        let b = ColumnPath::new(vec!["b".into()]);
        assert!(!props.dictionary_enabled(&a));
        assert_eq!(props.encoding(&a), Some(Encoding::DELTA_BINARY_PACKED));
        assert!(props.dictionary_enabled(&b));
        assert_eq!(props.encoding(&b), None);
        assert_eq!(props.compression(&a), Compression::UNCOMPRESSED);
        assert_eq!(
            props.compression(&b),
            Compression::ZSTD(ZstdLevel::try_new(3).unwrap())
        );
    }
}
