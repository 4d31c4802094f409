//! Columns: the Arrow array of each column of a tokenized chunk, parsing every value and applying
//! the bad-value policy to the ones that do not fit ([`Outcome`]).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, PrimitiveArray, StringArray, StringBuilder,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowPrimitiveType, Date32Type, Float32Type, Float64Type, Int32Type, Int64Type,
    Time64MicrosecondType,
};

use crate::config::{InvalidUtf8, OnError};
use crate::decode::fault::Fault;
use crate::decode::tokens::{FieldSpan, Tokens};
use crate::decode::validity::ValidityBuilder;
use crate::decode::values::{
    loses_text, parse_bool, parse_date32, parse_decimal128, parse_f32, parse_f64, parse_i32,
    parse_i64, parse_time64, parse_timestamp, DateFormat, TsUnit,
};
use crate::schema::{ColumnType, UnitName};
// The context is the columns' input: reachable here, where its users have always found it.
pub use crate::decode::context::DecodeContext;

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
    pub reason: Fault,
}

/// Per-chunk bookkeeping of the policy.
pub(crate) struct Outcome {
    pub(crate) nulled: u64,
    pub(crate) utf8_replaced: u64,
    /// Rejected record index -> reason (first reason wins).
    pub(crate) rejected: Vec<Option<Fault>>,
    pub(crate) any_rejected: bool,
    pub(crate) first_error: Option<ChunkError>,
}

impl Outcome {
    pub(crate) fn bad_value(
        &mut self,
        policy: OnError,
        tokens: &Tokens,
        r: usize,
        column: usize,
        value: Option<&[u8]>,
        reason: Fault,
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

/// Finds field (record, column) in the tokens.
pub(crate) struct FieldIndex<'a> {
    pub(crate) tokens: &'a Tokens,
    pub(crate) uniform: bool,
    pub(crate) ncols: usize,
    /// All field bytes of the chunk, when they are UTF-8 as a whole (validated once per chunk,
    /// only if there is a string column): a field is then UTF-8 iff it starts and ends on char
    /// boundaries.
    pub(crate) text: Option<&'a str>,
    /// One column's spans and quoted flags record by record, when they were copied out of the
    /// record-major lists (see [`crate::decode::tokens::ColumnSpans`]): (column, spans, flags).
    pub(crate) column: Option<(usize, &'a [FieldSpan], &'a [bool])>,
}

/// Where one field's bytes are in the chunk, and whether it was quoted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    start: usize,
    end: usize,
    quoted: bool,
}

impl Field {
    #[inline]
    fn new(span: FieldSpan, quoted: bool) -> Self {
        Field {
            start: span.start as usize,
            end: span.end as usize,
            quoted,
        }
    }
}

impl<'a> FieldIndex<'a> {
    /// Field (r, c), or None when the record has fewer fields.
    #[inline(always)]
    fn get(&self, r: usize, c: usize) -> Option<Field> {
        if let Some((col, spans, quoted)) = self.column {
            if col == c {
                return Some(Field::new(spans[r], quoted[r]));
            }
        }
        let f = if self.uniform {
            r * self.ncols + c
        } else {
            self.tokens.field_of(r, c)?
        };
        Some(Field::new(self.tokens.fields[f], self.tokens.quoted[f]))
    }

    /// The bytes of a field.
    #[inline(always)]
    fn bytes(&self, f: Field) -> &'a [u8] {
        &self.tokens.data[f.start..f.end]
    }
}

pub(crate) fn build_column(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    ty: &ColumnType,
    outcome: &mut Outcome,
) -> Result<ArrayRef, String> {
    if !ctx.numbers.is_plain() && ty.is_numeric() {
        return build_formatted_numbers(ctx, fields, c, ty, outcome);
    }
    Ok(match ty {
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
        ColumnType::Time64 => Arc::new(build_primitive::<Time64MicrosecondType>(
            ctx,
            fields,
            c,
            ty,
            outcome,
            parse_time64,
        )),
        ColumnType::Date32 => match ctx.date_formats.get(c).and_then(Option::as_ref) {
            Some(format) => build_formatted_dates(ctx, fields, c, ty, outcome, format),
            None => Arc::new(build_primitive::<Date32Type>(
                ctx,
                fields,
                c,
                ty,
                outcome,
                parse_date32,
            )),
        },
        ColumnType::Timestamp { unit, timezone } => {
            let u = ts_unit(*unit);
            let (values, nulls) = match ctx.date_formats.get(c).and_then(Option::as_ref) {
                Some(format) => build_formatted_timestamps(ctx, fields, c, ty, outcome, format),
                None => build_values(ctx, fields, c, ty, outcome, |v| {
                    parse_timestamp(v, u).map(|t| t.value)
                }),
            };
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
            let array = array
                .with_precision_and_scale(p, s)
                .map_err(|e| format!("a decimal({p}, {s}) column: {e}"))?;
            Arc::new(array)
        }
        ColumnType::Utf8 => build_string(ctx, fields, c, outcome),
    })
}

/// A number column written with a decimal comma or thousands separators (out of line, like
/// [`build_formatted_dates`]).
#[inline(never)]
fn build_formatted_numbers(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    ty: &ColumnType,
    outcome: &mut Outcome,
) -> Result<ArrayRef, String> {
    let numbers = ctx.numbers;
    Ok(match ty {
        ColumnType::Int32 => normalized::<Int32Type>(ctx, fields, c, ty, outcome, parse_i32),
        ColumnType::Int64 => normalized::<Int64Type>(ctx, fields, c, ty, outcome, parse_i64),
        ColumnType::Float32 => normalized::<Float32Type>(ctx, fields, c, ty, outcome, parse_f32),
        ColumnType::Decimal { precision, scale } => {
            let (p, s) = (*precision, *scale);
            let values = build_values(ctx, fields, c, ty, outcome, |v| {
                numbers
                    .normalize(v)
                    .and_then(|v| parse_decimal128(&v, p, s))
            });
            Arc::new(
                Decimal128Array::new(ScalarBuffer::from(values.0), values.1)
                    .with_precision_and_scale(p, s)
                    .map_err(|e| format!("a decimal({p}, {s}) column: {e}"))?,
            )
        }
        _ => normalized::<Float64Type>(ctx, fields, c, ty, outcome, parse_f64),
    })
}

/// A date column in a format other than ISO 8601 (kept out of line: `build_column`'s common
/// paths stay within the inliner's budget).
#[inline(never)]
fn build_formatted_dates(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    ty: &ColumnType,
    outcome: &mut Outcome,
    format: &DateFormat,
) -> ArrayRef {
    Arc::new(build_primitive::<Date32Type>(
        ctx,
        fields,
        c,
        ty,
        outcome,
        |v| format.days(v),
    ))
}

/// A timestamp column in a format other than ISO 8601 (out of line, like
/// [`build_formatted_dates`]): wall times, in the column's unit when they are exact in it.
#[inline(never)]
fn build_formatted_timestamps(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    ty: &ColumnType,
    outcome: &mut Outcome,
    format: &DateFormat,
) -> (Vec<i64>, Option<NullBuffer>) {
    let per_tick: i128 = match ty {
        ColumnType::Timestamp {
            unit: UnitName::S, ..
        } => 1_000_000_000,
        ColumnType::Timestamp {
            unit: UnitName::Ms, ..
        } => 1_000_000,
        ColumnType::Timestamp {
            unit: UnitName::Ns, ..
        } => 1,
        _ => 1_000,
    };
    build_values(ctx, fields, c, ty, outcome, |v| {
        let nanos = format.timestamp_nanos(v)?;
        (nanos % per_tick == 0)
            .then(|| i64::try_from(nanos / per_tick).ok())
            .flatten()
    })
}

/// A primitive column whose values are read in the context's number format first.
fn normalized<T: ArrowPrimitiveType>(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    ty: &ColumnType,
    outcome: &mut Outcome,
    parse: fn(&[u8]) -> Option<T::Native>,
) -> ArrayRef {
    let numbers = ctx.numbers;
    Arc::new(build_primitive::<T>(ctx, fields, c, ty, outcome, |v| {
        numbers.normalize(v).and_then(|v| parse(&v))
    }))
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
    let lossless = ctx.lossless.get(c) == Some(&true);
    let mut values: Vec<N> = Vec::with_capacity(n);
    let mut valid = ValidityBuilder::new(n);
    for r in 0..n {
        let Some(f) = fields.get(r, c) else {
            values.push(N::default());
            valid.push_null(r);
            continue;
        };
        let v = fields.bytes(f);
        if ctx.is_null(v, f.quoted, false) {
            if !ctx.nullable[c] {
                outcome.bad_value(
                    ctx.on_error,
                    tokens,
                    r,
                    c,
                    Some(v),
                    Fault::NullInNonNullable,
                );
            }
            values.push(N::default());
            valid.push_null(r);
            continue;
        }
        // One call site of `parse`, so that it is inlined here (a second one, for the retry,
        // made the timestamp parser a call per value: 4% of the taxi shape). The loop runs a
        // second time only for a value with spaces around it.
        let mut text = v;
        let fault = loop {
            match parse(text) {
                Some(x) if !(lossless && loses_text(text)) => {
                    values.push(x);
                    break None;
                }
                Some(_) => break Some(loses_text_fault(ty, text)),
                None => match trimmed(text) {
                    Some(t) => text = t,
                    None => {
                        break Some(Fault::Unparsable {
                            ty: ty.arrow_type(),
                            inferred: ctx.inferred.get(c) == Some(&true),
                        })
                    }
                },
            }
        };
        if let Some(fault) = fault {
            outcome.bad_value(ctx.on_error, tokens, r, c, Some(v), fault);
            values.push(N::default());
            valid.push_null(r);
        }
    }
    (values, valid.finish())
}

/// `v` without the spaces around it, when it has some and is not only spaces: spaces around a
/// typed value are layout (`a, 1992` is 1992, as DuckDB reads it). Out of line: typed columns
/// rarely get here.
#[cold]
#[inline(never)]
fn trimmed(v: &[u8]) -> Option<&[u8]> {
    let t = v.trim_ascii();
    (t.len() < v.len() && !t.is_empty()).then_some(t)
}

/// The fault of a number whose text typing would lose (leading zeros, a `+` sign).
#[cold]
#[inline(never)]
fn loses_text_fault(ty: &ColumnType, text: &[u8]) -> Fault {
    Fault::LosesText {
        ty: ty.arrow_type(),
        plus: text.first() == Some(&b'+'),
    }
}

fn build_bool(
    ctx: &DecodeContext,
    fields: &FieldIndex<'_>,
    c: usize,
    outcome: &mut Outcome,
) -> ArrayRef {
    let ty = &ColumnType::Boolean;
    let (raw, nulls) = if ctx.booleans.is_default() {
        build_values(ctx, fields, c, ty, outcome, parse_bool)
    } else {
        build_values(ctx, fields, c, ty, outcome, |v| ctx.booleans.parse(v))
    };
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
        .map(|f| f.end - f.start)
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
            Some(f) if !ctx.is_null(fields.bytes(f), f.quoted, true) => {
                data.extend_from_slice(fields.bytes(f));
            }
            found => {
                if !ctx.nullable[c] {
                    let v = found.map(|f| fields.bytes(f));
                    outcome.bad_value(ctx.on_error, tokens, r, c, v, Fault::NullInNonNullable);
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
            Some(f) if !ctx.is_null(fields.bytes(f), f.quoted, true) => {
                builder.append_value(text.get(f.start..f.end)?);
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
        let v = found.map(|f| fields.bytes(f));
        outcome.bad_value(ctx.on_error, tokens, r, c, v, Fault::NullInNonNullable);
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
            let v = fields.bytes(f);
            if ctx.is_null(v, f.quoted, true) {
                return None;
            }
            match std::str::from_utf8(v) {
                Ok(s) => Some(s.into()),
                Err(_) if ctx.invalid_utf8 == InvalidUtf8::Replace => {
                    outcome.utf8_replaced += 1;
                    Some(String::from_utf8_lossy(v))
                }
                Err(e) => {
                    let reason = Fault::InvalidUtf8 {
                        valid_up_to: e.valid_up_to(),
                    };
                    outcome.bad_value(ctx.on_error, tokens, r, c, Some(v), reason);
                    None
                }
            }
        })
        .collect();
    Arc::new(values.iter().map(|v| v.as_deref()).collect::<StringArray>())
}

/// The parser's unit for a schema file's timestamp unit.
fn ts_unit(unit: UnitName) -> TsUnit {
    match unit {
        UnitName::S => TsUnit::Second,
        UnitName::Ms => TsUnit::Millisecond,
        UnitName::Us => TsUnit::Microsecond,
        UnitName::Ns => TsUnit::Nanosecond,
    }
}
