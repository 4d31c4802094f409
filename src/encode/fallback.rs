//! Dictionaries re-judged per row group from what the lanes saw: a column chunk whose dictionary
//! outgrew its page (the writer fell back to other encodings part-way through it) shows that
//! the sample misjudged the column, so its later row groups are written without a dictionary
//! from the start. That spares them the hashing of every value until the dictionary fills, the
//! dictionary page and the index pages, which the fallback paid once per row group.
//!
//! Only this direction is judged: a column written plain says nothing cheap about how few
//! distinct values it has. With lanes the change applies from the row group after the next
//! one, since the next one's writers are made when the current one is cut, before its chunks
//! close; column-wise, from the next one.

use arrow::datatypes::{DataType, Schema};
use parquet::arrow::arrow_writer::ArrowColumnChunk;
use parquet::basic::{Encoding, PageType};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

/// Whether `chunk` began with a dictionary and then wrote data pages in another encoding.
pub(super) fn fell_back(chunk: &ArrowColumnChunk) -> bool {
    let metadata = &chunk.close().metadata;
    metadata.dictionary_page_offset().is_some()
        && metadata.page_encoding_stats().is_some_and(|stats| {
            stats.iter().any(|s| {
                matches!(s.page_type, PageType::DATA_PAGE | PageType::DATA_PAGE_V2)
                    && !matches!(
                        s.encoding,
                        Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
                    )
                    && s.count > 0
            })
        })
}

/// `props` without a dictionary for `columns` (indexes into `schema`). Those that are not text
/// also lose the zstd level of dictionary columns and take the file's codec, as a column
/// judged plain from the start would (see [`super::strong_codec`]).
pub(super) fn without_dictionaries(
    props: &WriterProperties,
    schema: &Schema,
    columns: &[usize],
) -> WriterProperties {
    let file_codec = props.compression(&ColumnPath::new(Vec::new()));
    let mut builder = props.clone().into_builder();
    for field in columns.iter().filter_map(|&c| schema.fields().get(c)) {
        let path = ColumnPath::new(vec![field.name().clone()]);
        builder = builder.set_column_dictionary_enabled(path.clone(), false);
        if !matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            builder = builder.set_column_compression(path, file_codec);
        }
    }
    builder.build()
}

/// What the encoders' tests of the fallback share: a column that drifts from four values to
/// distinct ones, and what a file made of it holds.
#[cfg(test)]
pub(super) mod drift {
    use std::sync::Arc;

    use arrow::array::{Array, Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::properties::WriterProperties;

    /// Rows per batch, and batches of 4,000 rows per drift: four distinct values for the
    /// first 4,000 rows, then every value distinct.
    pub(in crate::encode) const ROWS: usize = 500;

    pub(in crate::encode) fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]))
    }

    pub(in crate::encode) fn value(i: usize) -> i64 {
        if i < 4_000 {
            (i % 4) as i64
        } else {
            i as i64
        }
    }

    /// Batch `b`.
    pub(in crate::encode) fn batch(b: usize) -> RecordBatch {
        let values = Int64Array::from_iter_values((b * ROWS..(b + 1) * ROWS).map(value));
        RecordBatch::try_new(schema(), vec![Arc::new(values)]).unwrap()
    }

    /// Writer properties whose dictionaries outgrow a 1 KiB page, checked every 100 values.
    pub(in crate::encode) fn properties() -> WriterProperties {
        WriterProperties::builder()
            .set_dictionary_page_size_limit(1024)
            .set_write_batch_size(100)
            .build()
    }

    /// Whether each row group of `file` has a dictionary; panics unless it holds the first
    /// `batches` batches.
    pub(in crate::encode) fn dictionaries(file: Vec<u8>, batches: usize) -> Vec<bool> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file)).unwrap();
        let dictionaries = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.column(0).dictionary_page_offset().is_some())
            .collect();
        let mut read = Vec::new();
        for batch in reader.build().unwrap() {
            let batch = batch.unwrap();
            let column = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            read.extend(column.values().iter().copied());
        }
        assert_eq!(read, (0..batches * ROWS).map(value).collect::<Vec<_>>());
        dictionaries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;
    use parquet::basic::{Compression, ZstdLevel};

    #[test]
    fn dropped_dictionaries_keep_text_at_its_level_and_numbers_at_the_files() {
        let level = |n| Compression::ZSTD(ZstdLevel::try_new(n).unwrap());
        let path = |name: &str| ColumnPath::new(vec![name.to_string()]);
        let schema = Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("kept", DataType::Int64, true),
        ]);
        let props = WriterProperties::builder()
            .set_compression(level(1))
            .set_column_compression(path("n"), level(3))
            .set_column_compression(path("s"), level(3))
            .set_column_compression(path("kept"), level(3))
            .build();
        let after = without_dictionaries(&props, &schema, &[0, 1, 7]);
        assert!(!after.dictionary_enabled(&path("n")));
        assert!(!after.dictionary_enabled(&path("s")));
        assert!(after.dictionary_enabled(&path("kept")));
        assert_eq!(after.compression(&path("n")), level(1));
        assert_eq!(after.compression(&path("s")), level(3));
        assert_eq!(after.compression(&path("kept")), level(3));
    }
}
