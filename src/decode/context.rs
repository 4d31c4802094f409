//! What a decode worker needs to build a chunk's columns: the schema, the null markers, the
//! policies and the per-column reading rules; shared read-only between workers.

use arrow::datatypes::SchemaRef;

use crate::config::{InvalidUtf8, OnError};
use crate::decode::tokenizer::Tokenizer;
use crate::decode::values::{Booleans, DateFormat, NumberFormat};
use crate::schema::{ColumnType, SchemaSpec};

/// Everything a decode worker needs; shared read-only between workers.
#[derive(Debug)]
pub struct DecodeContext {
    /// The output schema.
    pub schema: SchemaRef,
    /// Column types, in order.
    pub columns: Vec<ColumnType>,
    /// Column names, in order.
    pub names: Vec<String>,
    /// Whether each column is nullable.
    pub nullable: Vec<bool>,
    /// Null markers.
    pub null_values: Vec<Vec<u8>>,
    /// Bad value policy.
    pub on_error: OnError,
    /// Invalid UTF-8 in string columns: a bad value, or replaced with U+FFFD.
    pub invalid_utf8: InvalidUtf8,
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// Per column: a number must give its text back (no leading zeros), for the columns typed
    /// by inference (a value that is no number in the sample's sense is a bad value there).
    pub lossless: Vec<bool>,
    /// Per column: typed by inference (a bad value there may want a wider type).
    pub inferred: Vec<bool>,
    /// Per column: the format of a date or timestamp column's values, when not ISO 8601.
    pub date_formats: Vec<Option<DateFormat>>,
    /// How numbers are written (a decimal comma `1,5`, thousands separators).
    pub numbers: NumberFormat,
    /// How booleans are spelled.
    pub booleans: Booleans,
}

impl DecodeContext {
    /// Build from the resolved schema.
    pub fn new(
        spec: &SchemaSpec,
        null_values: &[String],
        on_error: OnError,
        tokenizer: Tokenizer,
    ) -> Self {
        DecodeContext {
            schema: spec.arrow_schema(),
            columns: spec.columns.iter().map(|c| c.ty.clone()).collect(),
            names: spec.columns.iter().map(|c| c.name.clone()).collect(),
            nullable: spec.columns.iter().map(|c| c.nullable).collect(),
            null_values: null_values.iter().map(|s| s.as_bytes().to_vec()).collect(),
            on_error,
            invalid_utf8: InvalidUtf8::Fail,
            tokenizer,
            lossless: vec![false; spec.columns.len()],
            inferred: vec![false; spec.columns.len()],
            // Checked when the schema was read or inferred (`ConvertOptions::check`).
            date_formats: spec
                .columns
                .iter()
                .map(|c| c.format.as_deref().and_then(|f| DateFormat::parse(f).ok()))
                .collect(),
            numbers: NumberFormat::default(),
            booleans: Booleans::default(),
        }
    }

    /// Read booleans spelled as `booleans` says.
    pub fn with_booleans(mut self, booleans: Booleans) -> Self {
        self.booleans = booleans;
        self
    }

    /// Read numbers written in `numbers`.
    pub fn with_numbers(mut self, numbers: NumberFormat) -> Self {
        self.numbers = numbers;
        self
    }

    /// Mark the columns typed by inference, and refuse numbers with leading zeros in the
    /// numeric ones.
    pub fn with_lossless(mut self, inferred: Vec<bool>) -> Self {
        self.lossless = inferred
            .iter()
            .copied()
            .zip(&self.columns)
            .map(|(l, t)| l && t.is_numeric())
            .collect();
        self.inferred = inferred;
        self
    }

    /// Set what invalid UTF-8 in a string column does (default: a bad value).
    pub fn with_invalid_utf8(mut self, invalid_utf8: InvalidUtf8) -> Self {
        self.invalid_utf8 = invalid_utf8;
        self
    }

    #[inline]
    pub(crate) fn is_null(&self, v: &[u8], quoted: bool, is_string: bool) -> bool {
        if is_string && quoted {
            return false;
        }
        self.null_values.iter().any(|n| n.as_slice() == v)
    }
}
