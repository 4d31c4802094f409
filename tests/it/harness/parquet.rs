//! Reading Parquet back: batches, footer metadata, and a text dump to compare with.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Read a Parquet file back.
pub fn read_parquet(bytes: Bytes) -> (SchemaRef, Vec<RecordBatch>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let schema = builder.schema().clone();
    let batches = builder
        .build()
        .unwrap()
        .collect::<std::result::Result<Vec<_>, _>>()
        .unwrap();
    (schema, batches)
}

/// Footer key-value metadata.
pub fn kv_metadata(bytes: Bytes) -> HashMap<String, String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// Text form of a Parquet file: one line per field (`name: type`), then one line per row with
/// values separated by ` | `; strings are quoted (so "" and NULL differ), line breaks escaped.
pub fn dump(bytes: Bytes) -> String {
    let (schema, batches) = read_parquet(bytes);
    let mut out = String::new();
    for f in schema.fields() {
        out.push_str(&format!("{}: {}\n", f.name(), f.data_type()));
    }
    out.push_str("--\n");
    let opts = FormatOptions::default().with_null("NULL");
    for batch in &batches {
        // Time-zoned timestamps are shown as UTC wall time with a `Z` (arrow's display needs
        // chrono-tz for named zones).
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Timestamp(unit, Some(_)) => {
                    arrow::compute::cast(c, &DataType::Timestamp(*unit, None)).unwrap()
                }
                _ => Arc::clone(c),
            })
            .collect();
        let formatters: Vec<_> = columns
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(col, fmt)| {
                    let text = fmt.value(row).to_string();
                    if col.data_type() == &DataType::Utf8 && col.is_valid(row) {
                        format!("{text:?}")
                    } else if matches!(col.data_type(), DataType::Timestamp(_, Some(_)))
                        && col.is_valid(row)
                    {
                        format!("{text}Z")
                    } else {
                        text
                    }
                })
                .collect();
            out.push_str(&cells.join(" | "));
            out.push('\n');
        }
    }
    out
}
