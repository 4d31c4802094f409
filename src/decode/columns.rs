//! Turns a tokenized chunk into an Arrow `RecordBatch`, applying the bad-value policy.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, BooleanBufferBuilder, Decimal128Array, PrimitiveArray, RecordBatch,
    StringArray, StringBuilder, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowPrimitiveType, Date32Type, Float32Type, Float64Type, Int32Type, Int64Type, SchemaRef,
};
use bytes::Bytes;

use crate::config::{InvalidUtf8, OnError};
use crate::decode::chunker::Chunk;
use crate::decode::tokenizer::Tokenizer;
use crate::decode::tokens::Tokens;
use crate::decode::values::{
    parse_bool, parse_date32, parse_decimal128, parse_f32, parse_f64, parse_i32, parse_i64,
    parse_timestamp,
};
use crate::schema::{ColumnType, SchemaSpec, UnitName};

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
        }
    }

    /// Set what invalid UTF-8 in a string column does (default: a bad value).
    pub fn with_invalid_utf8(mut self, invalid_utf8: InvalidUtf8) -> Self {
        self.invalid_utf8 = invalid_utf8;
        self
    }

    #[inline]
    fn is_null(&self, v: &[u8], quoted: bool, is_string: bool) -> bool {
        if is_string && quoted {
            return false;
        }
        self.null_values.iter().any(|n| n.as_slice() == v)
    }
}

/// A record sent to the rejects file.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// 0-based record index within the chunk.
    pub record: u32,
    /// 0-based line within the chunk.
    pub line: u32,
    /// Byte offset within the chunk.
    pub byte: u32,
    /// Why.
    pub reason: String,
    /// The record's raw bytes (without its line break).
    pub raw: Bytes,
}

/// The result of decoding one chunk.
#[derive(Debug)]
pub struct Decoded {
    /// The rows kept (`None` when no row was kept).
    pub batch: Option<RecordBatch>,
    /// Records tokenized (kept + rejected).
    pub records: u64,
    /// Line breaks in the chunk.
    pub lines: u64,
    /// Values stored as null under `--on-error null`.
    pub nulled: u64,
    /// String values whose invalid UTF-8 was replaced with U+FFFD (`--invalid-utf8 replace`).
    pub utf8_replaced: u64,
    /// Records rejected under `--on-error reject`.
    pub rejects: Vec<Rejected>,
}

/// A bad record or value, positioned relative to its chunk.
#[derive(Debug, Clone)]
pub struct ChunkError {
    /// 0-based record index within the chunk.
    pub record: u32,
    /// 0-based line within the chunk.
    pub line: u32,
    /// Byte offset within the chunk.
    pub byte: u32,
    /// 0-based column index, where one column is at fault.
    pub column: Option<usize>,
    /// The offending value (raw bytes, truncated later).
    pub value: Option<Vec<u8>>,
    /// What is wrong.
    pub reason: String,
}

/// Per-chunk bookkeeping of the policy.
struct Outcome {
    nulled: u64,
    utf8_replaced: u64,
    /// Rejected record index -> reason (first reason wins).
    rejected: Vec<Option<String>>,
    any_rejected: bool,
    first_error: Option<ChunkError>,
}

impl Outcome {
    fn bad_value(
        &mut self,
        policy: OnError,
        tokens: &Tokens,
        r: usize,
        column: usize,
        value: Option<&[u8]>,
        reason: String,
    ) {
        match policy {
            OnError::Null => self.nulled += 1,
            OnError::Reject => {
                if self.rejected[r].is_none() {
                    self.rejected[r] = Some(reason);
                    self.any_rejected = true;
                }
            }
            OnError::Fail | OnError::Widen => {
                if self
                    .first_error
                    .as_ref()
                    .is_none_or(|e| e.record as usize > r)
                {
                    let span = tokens.records[r];
                    self.first_error = Some(ChunkError {
                        record: r as u32,
                        line: span.line,
                        byte: span.start,
                        column: Some(column),
                        value: value.map(|v| v.iter().take(256).copied().collect()),
                        reason,
                    });
                }
            }
        }
    }
}

/// Decode one chunk: tokenize, check field counts, parse every column.
///
/// Under `--on-error fail` the error returned is the chunk's first bad record in input order,
/// whatever the kind of fault, so that the error does not depend on where chunks are cut: a
/// syntax error is reported only if the records before it are clean, and a ragged record does
/// not hide a bad value in an earlier record.
pub fn decode_chunk(
    ctx: &DecodeContext,
    chunk: &Chunk,
    tokens: &mut Tokens,
) -> Result<Decoded, ChunkError> {
    if let Err(e) = ctx.tokenizer.tokenize(&chunk.data, tokens) {
        // Check the whole records before the faulty one first.
        let whole = (e.record as usize).min(tokens.records.len());
        let fields = tokens
            .records
            .get(whole)
            .map_or(tokens.fields.len(), |r| r.first_field as usize);
        tokens.records.truncate(whole);
        tokens.fields.truncate(fields);
        tokens.quoted.truncate(fields);
        decode_tokens(ctx, chunk, tokens)?;
        return Err(ChunkError {
            record: e.record,
            line: e.line,
            byte: e.byte,
            column: None,
            value: None,
            reason: e.reason.to_string(),
        });
    }
    decode_tokens(ctx, chunk, tokens)
}

/// The part of [`decode_chunk`] after tokenizing.
fn decode_tokens(
    ctx: &DecodeContext,
    chunk: &Chunk,
    tokens: &Tokens,
) -> Result<Decoded, ChunkError> {
    let n = tokens.records.len();
    let ncols = ctx.columns.len();
    let mut outcome = Outcome {
        nulled: 0,
        utf8_replaced: 0,
        rejected: vec![
            None;
            if ctx.on_error == OnError::Reject {
                n
            } else {
                0
            }
        ],
        any_rejected: false,
        first_error: None,
    };
    let uniform =
        tokens.fields.len() == n * ncols && (0..n).all(|r| tokens.field_count(r) == ncols);
    if !uniform {
        for r in 0..n {
            let found = tokens.field_count(r);
            if found != ncols {
                let reason = format!("expected {ncols} fields, found {found}");
                let col = found.min(ncols.saturating_sub(1));
                outcome.bad_value(ctx.on_error, tokens, r, col, None, reason);
                if ctx.on_error == OnError::Null {
                    // counted once per missing or dropped field
                    outcome.nulled += (found.abs_diff(ncols) as u64).saturating_sub(1);
                }
            }
        }
    }
    // No early return on a ragged record: a bad value in an earlier record comes first.
    let fields = FieldIndex {
        tokens,
        uniform,
        ncols,
        text: ctx
            .columns
            .iter()
            .any(|t| matches!(t, ColumnType::Utf8))
            .then(|| simdutf8::basic::from_utf8(&tokens.data).ok())
            .flatten(),
    };
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(ncols);
    for (c, ty) in ctx.columns.iter().enumerate() {
        arrays.push(build_column(ctx, &fields, c, ty, &mut outcome));
    }
    if let Some(e) = outcome.first_error.take() {
        return Err(e);
    }
    let mut rejects = Vec::new();
    let mut keep: Option<BooleanArray> = None;
    if outcome.any_rejected {
        let mut mask = BooleanBufferBuilder::new(n);
        for (r, reason) in outcome.rejected.iter_mut().enumerate() {
            mask.append(reason.is_none());
            if let Some(reason) = reason.take() {
                let span = tokens.records[r];
                rejects.push(Rejected {
                    record: r as u32,
                    line: span.line,
                    byte: span.start,
                    reason,
                    raw: chunk.data.slice(span.start as usize..span.end as usize),
                });
            }
        }
        keep = Some(BooleanArray::new(mask.finish(), None));
    }
    let batch = RecordBatch::try_new(Arc::clone(&ctx.schema), arrays).map_err(|e| ChunkError {
        record: 0,
        line: 0,
        byte: 0,
        column: None,
        value: None,
        reason: format!("internal: building the batch failed: {e}"),
    })?;
    let batch = match keep {
        Some(mask) => {
            arrow::compute::filter_record_batch(&batch, &mask).map_err(|e| ChunkError {
                record: 0,
                line: 0,
                byte: 0,
                column: None,
                value: None,
                reason: format!("internal: filtering rejected rows failed: {e}"),
            })?
        }
        None => batch,
    };
    Ok(Decoded {
        batch: (batch.num_rows() > 0).then_some(batch),
        records: n as u64,
        lines: tokens.lines as u64,
        nulled: outcome.nulled,
        utf8_replaced: outcome.utf8_replaced,
        rejects,
    })
}

/// Finds field (record, column) in the tokens.
struct FieldIndex<'a> {
    tokens: &'a Tokens,
    uniform: bool,
    ncols: usize,
    /// All field bytes of the chunk, when they are UTF-8 as a whole (validated once per chunk,
    /// only if there is a string column): a field is then UTF-8 iff it starts and ends on char
    /// boundaries.
    text: Option<&'a str>,
}

impl FieldIndex<'_> {
    /// Global field index of (r, c), or None when the record has fewer fields.
    #[inline]
    fn get(&self, r: usize, c: usize) -> Option<usize> {
        if self.uniform {
            Some(r * self.ncols + c)
        } else if c < self.tokens.field_count(r) {
            Some(self.tokens.records[r].first_field as usize + c)
        } else {
            None
        }
    }
}

fn build_column(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    ty: &ColumnType,
    outcome: &mut Outcome,
) -> ArrayRef {
    match ty {
        ColumnType::Boolean => build_bool(ctx, fields, c, outcome),
        ColumnType::Int32 => Arc::new(build_primitive::<Int32Type>(
            ctx, fields, c, ty, outcome, parse_i32,
        )),
        ColumnType::Int64 => Arc::new(build_primitive::<Int64Type>(
            ctx, fields, c, ty, outcome, parse_i64,
        )),
        ColumnType::Float32 => Arc::new(build_primitive::<Float32Type>(
            ctx, fields, c, ty, outcome, parse_f32,
        )),
        ColumnType::Float64 => Arc::new(build_primitive::<Float64Type>(
            ctx, fields, c, ty, outcome, parse_f64,
        )),
        ColumnType::Date32 => Arc::new(build_primitive::<Date32Type>(
            ctx,
            fields,
            c,
            ty,
            outcome,
            parse_date32,
        )),
        ColumnType::Timestamp { unit, timezone } => {
            let u = unit.ts_unit();
            let (values, nulls) = build_values(ctx, fields, c, ty, outcome, |v| {
                parse_timestamp(v, u).map(|t| t.value)
            });
            let tz: Option<Arc<str>> = timezone.as_ref().map(|_| Arc::from("UTC"));
            match unit {
                UnitName::S => Arc::new(
                    TimestampSecondArray::new(ScalarBuffer::from(values), nulls)
                        .with_timezone_opt(tz),
                ),
                UnitName::Ms => Arc::new(
                    TimestampMillisecondArray::new(ScalarBuffer::from(values), nulls)
                        .with_timezone_opt(tz),
                ),
                UnitName::Us => Arc::new(
                    TimestampMicrosecondArray::new(ScalarBuffer::from(values), nulls)
                        .with_timezone_opt(tz),
                ),
                UnitName::Ns => Arc::new(
                    TimestampNanosecondArray::new(ScalarBuffer::from(values), nulls)
                        .with_timezone_opt(tz),
                ),
            }
        }
        ColumnType::Decimal { precision, scale } => {
            let (p, s) = (*precision, *scale);
            let values = build_values(ctx, fields, c, ty, outcome, |v| parse_decimal128(v, p, s));
            let array = Decimal128Array::new(ScalarBuffer::from(values.0), values.1);
            match array.with_precision_and_scale(p, s) {
                Ok(a) => Arc::new(a),
                Err(e) => Arc::new(StringArray::from(vec![e.to_string()])),
            }
        }
        ColumnType::Utf8 => build_string(ctx, fields, c, outcome),
    }
}

fn build_primitive<T: ArrowPrimitiveType>(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    ty: &ColumnType,
    outcome: &mut Outcome,
    parse: impl Fn(&[u8]) -> Option<T::Native>,
) -> PrimitiveArray<T> {
    let (values, nulls) = build_values(ctx, fields, c, ty, outcome, parse);
    PrimitiveArray::new(ScalarBuffer::from(values), nulls)
}

/// Parse every value of column `c`; returns the values and the validity.
fn build_values<N: Copy + Default>(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    ty: &ColumnType,
    outcome: &mut Outcome,
    parse: impl Fn(&[u8]) -> Option<N>,
) -> (Vec<N>, Option<NullBuffer>) {
    let tokens = fields.tokens;
    let n = tokens.records.len();
    let mut values: Vec<N> = Vec::with_capacity(n);
    let mut valid = ValidityBuilder::new(n);
    for r in 0..n {
        let Some(f) = fields.get(r, c) else {
            values.push(N::default());
            valid.push_null(r);
            continue;
        };
        let v = tokens.field(f);
        if ctx.is_null(v, tokens.quoted[f], false) {
            if !ctx.nullable[c] {
                outcome.bad_value(
                    ctx.on_error,
                    tokens,
                    r,
                    c,
                    Some(v),
                    "null in a non-nullable column".into(),
                );
            }
            values.push(N::default());
            valid.push_null(r);
            continue;
        }
        match parse(v) {
            Some(x) => values.push(x),
            None => {
                outcome.bad_value(ctx.on_error, tokens, r, c, Some(v), type_reason(ty));
                values.push(N::default());
                valid.push_null(r);
            }
        }
    }
    (values, valid.finish())
}

fn type_reason(ty: &ColumnType) -> String {
    format!("cannot parse as {}", ty.arrow_type())
}

fn build_bool(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    outcome: &mut Outcome,
) -> ArrayRef {
    let (raw, nulls) = build_values(ctx, fields, c, &ColumnType::Boolean, outcome, parse_bool);
    Arc::new(BooleanArray::new(BooleanBuffer::from(raw), nulls))
}

fn build_string(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    outcome: &mut Outcome,
) -> ArrayRef {
    let tokens = fields.tokens;
    let n = tokens.records.len();
    // Exact capacity: a doubling Vec would hold up to twice the column's bytes.
    let total: usize = (0..n)
        .filter_map(|r| fields.get(r, c))
        .map(|f| tokens.field(f).len())
        .sum();
    if let Some(text) = fields.text {
        if let Some(array) = build_string_validated(ctx, fields, text, c, total, outcome) {
            return array;
        }
    }
    let mut offsets: Vec<i32> = Vec::with_capacity(n + 1);
    offsets.push(0);
    let mut data: Vec<u8> = Vec::with_capacity(total);
    let mut valid = ValidityBuilder::new(n);
    for r in 0..n {
        match fields.get(r, c) {
            Some(f) if !ctx.is_null(tokens.field(f), tokens.quoted[f], true) => {
                let v = tokens.field(f);
                data.extend_from_slice(v);
            }
            found => {
                if !ctx.nullable[c] {
                    let v = found.map(|f| tokens.field(f));
                    outcome.bad_value(
                        ctx.on_error,
                        tokens,
                        r,
                        c,
                        v,
                        "null in a non-nullable column".into(),
                    );
                }
                valid.push_null(r);
            }
        }
        offsets.push(data.len() as i32);
    }
    // Arrow validates once, here, that the bytes are UTF-8 and that every offset is a char
    // boundary (the bytes as a whole may be UTF-8 while a field boundary splits a character:
    // fields "\xef\xbb" and "\xbfid" make a BOM). On failure the slow path checks each field,
    // applies the policy (or the replacement) to the bad ones and builds a column of the right
    // length. Valid input never leaves the fast path.
    let nulls = valid.finish();
    match StringArray::try_new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        data.into(),
        nulls,
    ) {
        Ok(a) => Arc::new(a),
        Err(_) => invalid_utf8(ctx, fields, c, outcome),
    }
}

/// [`build_string`] when the chunk's field bytes are known to be UTF-8 (`text`): each field is
/// sliced as `&str` (a char-boundary check, no second validation pass as in
/// `StringArray::try_new`). `None` if a field boundary splits a character.
fn build_string_validated(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    text: &str,
    c: usize,
    total: usize,
    outcome: &mut Outcome,
) -> Option<ArrayRef> {
    let tokens = fields.tokens;
    let n = tokens.records.len();
    let mut builder = StringBuilder::with_capacity(n, total);
    let mut bad_values = Vec::new();
    for r in 0..n {
        match fields.get(r, c) {
            Some(f) if !ctx.is_null(tokens.field(f), tokens.quoted[f], true) => {
                builder.append_value(text.get(tokens.field_range(f))?);
            }
            found => {
                if !ctx.nullable[c] {
                    bad_values.push((r, found));
                }
                builder.append_null();
            }
        }
    }
    // Reported only once the column is known to be built here (the slow path reports them
    // itself).
    for (r, found) in bad_values {
        let v = found.map(|f| tokens.field(f));
        outcome.bad_value(
            ctx.on_error,
            tokens,
            r,
            c,
            v,
            "null in a non-nullable column".into(),
        );
    }
    Some(Arc::new(builder.finish()))
}

/// Slow path for a string column with invalid UTF-8: per-field validation; an invalid value is
/// a bad value, or (`--invalid-utf8 replace`) has each invalid sequence replaced with U+FFFD,
/// as `String::from_utf8_lossy` does, and is counted.
fn invalid_utf8(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    outcome: &mut Outcome,
) -> ArrayRef {
    let tokens = fields.tokens;
    let n = tokens.records.len();
    let values: Vec<Option<std::borrow::Cow<'_, str>>> = (0..n)
        .map(|r| {
            let f = fields.get(r, c)?;
            let v = tokens.field(f);
            if ctx.is_null(v, tokens.quoted[f], true) {
                return None;
            }
            match std::str::from_utf8(v) {
                Ok(s) => Some(s.into()),
                Err(_) if ctx.invalid_utf8 == InvalidUtf8::Replace => {
                    outcome.utf8_replaced += 1;
                    Some(String::from_utf8_lossy(v))
                }
                Err(e) => {
                    let reason = format!("invalid UTF-8 at byte {} of the field", e.valid_up_to());
                    outcome.bad_value(ctx.on_error, tokens, r, c, Some(v), reason);
                    None
                }
            }
        })
        .collect();
    Arc::new(values.iter().map(|v| v.as_deref()).collect::<StringArray>())
}

/// Builds a validity bitmap lazily: no allocation until the first null.
struct ValidityBuilder {
    len: usize,
    bits: Option<BooleanBufferBuilder>,
}

impl ValidityBuilder {
    fn new(len: usize) -> Self {
        ValidityBuilder { len, bits: None }
    }

    #[inline]
    fn push_null(&mut self, index: usize) {
        let len = self.len;
        let bits = self.bits.get_or_insert_with(|| {
            let mut b = BooleanBufferBuilder::new(len);
            b.append_n(len, true);
            b
        });
        bits.set_bit(index, false);
    }

    fn finish(self) -> Option<NullBuffer> {
        self.bits.map(|mut b| NullBuffer::new(b.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Dialect;
    use arrow::array::{Array, AsArray};

    fn ctx(schema: &str, on_error: OnError) -> DecodeContext {
        let spec = SchemaSpec::from_json(schema).unwrap();
        DecodeContext::new(
            &spec,
            &[String::new()],
            on_error,
            Tokenizer::new(&Dialect::default()),
        )
    }

    fn chunk(text: &str) -> Chunk {
        raw_chunk(text.as_bytes())
    }

    fn raw_chunk(data: &[u8]) -> Chunk {
        Chunk {
            seq: 0,
            data: Bytes::copy_from_slice(data),
            base_byte: 0,
            base_line: 0,
        }
    }

    const SCHEMA: &str =
        r#"[{"name":"i","type":"int64"},{"name":"s","type":"utf8"},{"name":"f","type":"float64"}]"#;

    #[test]
    fn decodes_types_and_nulls() {
        let c = ctx(SCHEMA, OnError::Fail);
        let mut t = Tokens::default();
        let d = decode_chunk(&c, &chunk("1,a,1.5\n,,\n3,\"\",\n"), &mut t).unwrap();
        let b = d.batch.unwrap();
        assert_eq!(b.num_rows(), 3);
        let i = b.column(0).as_primitive::<Int64Type>();
        assert_eq!((i.value(0), i.is_null(1), i.value(2)), (1, true, 3));
        let s = b.column(1).as_string::<i32>();
        assert!(s.is_null(1), "unquoted empty string is null");
        assert_eq!((s.value(0), s.is_valid(2), s.value(2)), ("a", true, ""));
        assert!(b.column(2).is_null(2));
    }

    #[test]
    fn fail_policy_reports_first_bad_record() {
        let c = ctx(SCHEMA, OnError::Fail);
        let mut t = Tokens::default();
        let e = decode_chunk(&c, &chunk("1,a,1\n2,b,x\nzz,c,1\n"), &mut t).unwrap_err();
        assert_eq!((e.record, e.line, e.byte, e.column), (1, 1, 6, Some(2)));
        assert_eq!(e.value.as_deref(), Some(&b"x"[..]));
        let e = decode_chunk(&c, &chunk("1,a,1\n2,b\n"), &mut t).unwrap_err();
        assert!(
            e.reason.contains("expected 3 fields, found 2"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn null_and_reject_policies() {
        let c = ctx(SCHEMA, OnError::Null);
        let mut t = Tokens::default();
        let d = decode_chunk(&c, &chunk("x,a,1\n2,b\n3,c,4,5\n"), &mut t).unwrap();
        assert_eq!(d.batch.unwrap().num_rows(), 3);
        assert_eq!(d.nulled, 3);
        let c = ctx(SCHEMA, OnError::Reject);
        let d = decode_chunk(&c, &chunk("x,a,1\n2,b,2\n3,c\n"), &mut t).unwrap();
        let b = d.batch.unwrap();
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.column(0).as_primitive::<Int64Type>().value(0), 2);
        assert_eq!(d.rejects.len(), 2);
        assert_eq!(&d.rejects[1].raw[..], b"3,c");
        assert_eq!((d.rejects[1].line, d.rejects[1].byte), (2, 12));
    }

    /// Found by the `decode` fuzz target: the error must be the first bad record whatever its
    /// kind, or it depends on where the chunks are cut.
    #[test]
    fn fail_reports_the_first_bad_record_of_any_kind() {
        let c = ctx(SCHEMA, OnError::Fail);
        let mut t = Tokens::default();
        // A bad value (record 0) before a ragged record (record 1).
        let e = decode_chunk(&c, &chunk("x,a,1\n2,b\n"), &mut t).unwrap_err();
        assert_eq!((e.record, e.column), (0, Some(0)), "{}", e.reason);
        // A bad value (record 1) before a syntax error (record 2).
        let e = decode_chunk(&c, &chunk("1,a,1\n2,b,x\n3,\"c\"d,1\n"), &mut t).unwrap_err();
        assert_eq!((e.record, e.column), (1, Some(2)), "{}", e.reason);
        // Clean records before the syntax error: the syntax error.
        let e = decode_chunk(&c, &chunk("1,a,1\n3,\"c\"d,1\n"), &mut t).unwrap_err();
        assert_eq!((e.record, e.column), (1, None));
        assert!(e.reason.contains("after a closing quote"), "{}", e.reason);
        // Invalid UTF-8 (record 0) before a ragged record (record 1), as the fuzzer found it.
        let c = ctx(r#"[{"name":"s","type":"utf8"}]"#, OnError::Fail);
        let ch = raw_chunk(b"a\xacb\n3,z\n");
        let e = decode_chunk(&c, &ch, &mut t).unwrap_err();
        assert_eq!(e.record, 0, "{}", e.reason);
        assert!(e.reason.contains("UTF-8"), "{}", e.reason);
    }

    /// Found by the `decode` fuzz target: two invalid fields whose bytes together are UTF-8
    /// (`"\xef\xbb"` then `"\xbfid"`) passed the whole-column check, the array could not be
    /// built and the batch failed with an internal error instead of applying the policy.
    #[test]
    fn a_character_split_across_fields_is_invalid_utf8() {
        let schema = r#"[{"name":"s","type":"utf8"}]"#;
        let ch = raw_chunk(b"ok\n\xef\xbb\n\xbfid\nend\n");
        let mut t = Tokens::default();
        let e = decode_chunk(&ctx(schema, OnError::Fail), &ch, &mut t).unwrap_err();
        assert_eq!((e.record, e.column), (1, Some(0)), "{}", e.reason);
        assert!(e.reason.contains("UTF-8"), "{}", e.reason);
        let d = decode_chunk(&ctx(schema, OnError::Reject), &ch, &mut t).unwrap();
        assert_eq!(d.rejects.len(), 2);
        let s = d.batch.unwrap();
        let s = s.column(0).as_string::<i32>();
        assert_eq!((s.len(), s.value(0), s.value(1)), (2, "ok", "end"));
    }

    #[test]
    fn invalid_utf8_replace_is_lossy_and_counted() {
        let schema = r#"[{"name":"i","type":"int64"},{"name":"s","type":"utf8"}]"#;
        let data = Bytes::from_static(b"1,ok\n2,b\xffad\n3,\xef\xbb\n4,\xbfid\n5,\n6,\"x\xc3\"\n");
        let ch = Chunk {
            seq: 0,
            data,
            base_byte: 0,
            base_line: 0,
        };
        let mut t = Tokens::default();
        for policy in [OnError::Fail, OnError::Reject] {
            let c = ctx(schema, policy).with_invalid_utf8(InvalidUtf8::Replace);
            let d = decode_chunk(&c, &ch, &mut t).unwrap();
            assert_eq!((d.utf8_replaced, d.rejects.len(), d.nulled), (4, 0, 0));
            let b = d.batch.unwrap();
            let s = b.column(1).as_string::<i32>();
            let got: Vec<Option<&str>> = s.iter().collect();
            assert_eq!(
                got,
                [
                    Some("ok"),
                    Some("b\u{FFFD}ad"),
                    Some("\u{FFFD}"),
                    Some("\u{FFFD}id"),
                    None,
                    Some("x\u{FFFD}")
                ]
            );
            for (i, v) in got.iter().enumerate() {
                let raw = ch.data.split(|&b| b == b'\n').nth(i).unwrap();
                let field = &raw[2..];
                if let Some(v) = v {
                    let unquoted = field
                        .strip_prefix(b"\"")
                        .and_then(|f| f.strip_suffix(b"\""));
                    assert_eq!(*v, String::from_utf8_lossy(unquoted.unwrap_or(field)));
                }
            }
        }
        // Valid UTF-8 is never counted; a non-string column still fails on its own terms.
        let c = ctx(schema, OnError::Fail).with_invalid_utf8(InvalidUtf8::Replace);
        let ok = chunk("1,caf\u{e9}\n");
        assert_eq!(decode_chunk(&c, &ok, &mut t).unwrap().utf8_replaced, 0);
        let bad_int = raw_chunk(b"\xff,x\n");
        let e = decode_chunk(&c, &bad_int, &mut t).unwrap_err();
        assert_eq!(e.column, Some(0));
        assert!(e.reason.contains("Int64"), "{}", e.reason);
    }

    #[test]
    fn invalid_utf8_is_located() {
        let c = ctx(SCHEMA, OnError::Fail);
        let mut t = Tokens::default();
        let data = Bytes::from_static(b"1,ok,1\n2,b\xffad,2\n");
        let ch = Chunk {
            seq: 0,
            data,
            base_byte: 0,
            base_line: 0,
        };
        let e = decode_chunk(&c, &ch, &mut t).unwrap_err();
        assert_eq!((e.record, e.column), (1, Some(1)));
        assert!(e.reason.contains("UTF-8"));
    }
}
