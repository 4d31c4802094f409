//! Parquet encoding: writer properties, row groups cut by bytes, columns encoded in parallel.
//!
//! Each decoded batch is written straight into one `ArrowColumnWriter` per column, the columns
//! in parallel on the worker pool. A row group is closed when the writers' buffered size reaches
//! the row-group budget (or the row cap), so memory never holds more than one row group of
//! encoded pages.

use std::io::Write;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriterOptions,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use crate::config::Compression;
use crate::error::{Error, Result};

mod dictionary;
mod parts;

pub use dictionary::Cardinality;

pub use parts::PartWriter;

/// Writer properties for a codec: statistics and page index on, dictionary with fallback,
/// except for `plain_columns` (see [`Cardinality`]).
pub fn writer_properties(
    compression: Compression,
    plain_columns: &[String],
) -> Result<WriterProperties> {
    let codec = match compression {
        Compression::Zstd(level) => parquet::basic::Compression::ZSTD(
            ZstdLevel::try_new(level)
                .map_err(|e| Error::config("--compression-level", e.to_string()))?,
        ),
        Compression::Snappy => parquet::basic::Compression::SNAPPY,
        Compression::Lz4 => parquet::basic::Compression::LZ4_RAW,
        Compression::Gzip(level) => parquet::basic::Compression::GZIP(
            GzipLevel::try_new(level)
                .map_err(|e| Error::config("--compression-level", e.to_string()))?,
        ),
        Compression::None => parquet::basic::Compression::UNCOMPRESSED,
    };
    let mut builder = WriterProperties::builder()
        .set_compression(codec)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(true)
        .set_created_by(format!("csv2parquet version {}", env!("CARGO_PKG_VERSION")));
    for name in plain_columns {
        builder = builder.set_column_dictionary_enabled(ColumnPath::new(vec![name.clone()]), false);
    }
    Ok(builder.build())
}

/// Streams batches into a Parquet file, one row group at a time.
pub struct ParquetEncoder<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    columns: Vec<ArrowColumnWriter>,
    rows_in_group: usize,
    row_groups: usize,
    row_group_bytes: usize,
    row_group_rows: usize,
    location: String,
    pool: Arc<rayon::ThreadPool>,
}

impl<W: Write + Send> ParquetEncoder<W> {
    /// Start a file with `schema` on `out`.
    pub fn new(
        out: W,
        schema: SchemaRef,
        properties: WriterProperties,
        row_group_bytes: usize,
        row_group_rows: usize,
        location: &str,
        pool: Arc<rayon::ThreadPool>,
    ) -> Result<Self> {
        let perr = |source| Error::Parquet {
            location: location.to_string(),
            source,
        };
        let options = ArrowWriterOptions::new().with_properties(properties);
        let arrow_writer =
            ArrowWriter::try_new_with_options(out, Arc::clone(&schema), options).map_err(perr)?;
        let (writer, factory) = arrow_writer.into_serialized_writer().map_err(perr)?;
        let columns = factory.create_column_writers(0).map_err(perr)?;
        Ok(ParquetEncoder {
            writer,
            factory,
            schema,
            columns,
            rows_in_group: 0,
            row_groups: 0,
            row_group_bytes,
            row_group_rows,
            location: location.to_string(),
            pool,
        })
    }

    fn perr(&self, source: parquet::errors::ParquetError) -> Error {
        Error::Parquet {
            location: self.location.clone(),
            source,
        }
    }

    /// Encode a batch; closes the row group when it is full.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let room = self.row_group_rows - self.rows_in_group;
            let take = room.min(batch.num_rows() - offset);
            let part = batch.slice(offset, take);
            self.write_columns(&part)?;
            self.rows_in_group += take;
            offset += take;
            if self.rows_in_group >= self.row_group_rows
                || self.buffered_bytes() >= self.row_group_bytes
            {
                self.flush_row_group()?;
            }
        }
        Ok(())
    }

    fn write_columns(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut leaves = Vec::with_capacity(self.columns.len());
        for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, column).map_err(|e| self.perr(e))?);
        }
        let columns = &mut self.columns;
        let result = self.pool.install(|| {
            columns
                .par_iter_mut()
                .zip(leaves.par_iter())
                .try_for_each(|(writer, leaf)| writer.write(leaf))
        });
        result.map_err(|e| self.perr(e))
    }

    /// Bytes buffered in the open row group (encoded pages plus unencoded buffers).
    pub fn buffered_bytes(&self) -> usize {
        self.columns.iter().map(|c| c.memory_size()).sum()
    }

    /// Rows in the open row group.
    pub fn rows_in_group(&self) -> usize {
        self.rows_in_group
    }

    /// Row groups written so far.
    pub fn row_groups(&self) -> usize {
        self.row_groups
    }

    /// Close the open row group (if it has rows) and write it out.
    pub fn flush_row_group(&mut self) -> Result<()> {
        if self.rows_in_group == 0 {
            return Ok(());
        }
        tracing::debug!(
            rows = self.rows_in_group,
            buffered_bytes = self.buffered_bytes(),
            "closing row group {}",
            self.row_groups
        );
        let next = self
            .factory
            .create_column_writers(self.row_groups + 1)
            .map_err(|e| self.perr(e))?;
        let writers = std::mem::replace(&mut self.columns, next);
        let chunks = self.pool.install(|| {
            writers
                .into_par_iter()
                .map(|w| w.close())
                .collect::<std::result::Result<Vec<_>, _>>()
        });
        let chunks = chunks.map_err(|e| self.perr(e))?;
        let mut row_group = self.writer.next_row_group().map_err(|e| Error::Parquet {
            location: self.location.clone(),
            source: e,
        })?;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut row_group)
                .map_err(|e| Error::Parquet {
                    location: self.location.clone(),
                    source: e,
                })?;
        }
        row_group.close().map_err(|e| Error::Parquet {
            location: self.location.clone(),
            source: e,
        })?;
        self.row_groups += 1;
        self.rows_in_group = 0;
        Ok(())
    }

    /// Flush, add key-value metadata, write the footer (`into_inner` writes it); returns the
    /// output.
    pub fn finish(mut self, metadata: Vec<(String, String)>) -> Result<W> {
        self.flush_row_group()?;
        for (key, value) in metadata {
            self.writer
                .append_key_value_metadata(KeyValue::new(key, value));
        }
        self.writer.into_inner().map_err(|e| Error::Parquet {
            location: self.location.clone(),
            source: e,
        })
    }
}
