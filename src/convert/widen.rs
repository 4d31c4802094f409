//! `--on-error widen`: a value that contradicts its column's type widens that column
//! ([`crate::schema::widen`]) and the conversion starts again from the beginning of the input
//! into a new data output (the previous one is aborted first), at most [`MAX_WIDENINGS`]
//! times; the report and the Parquet metadata (`csv2parquet.widened`) list what was widened.
//! With every other policy a conversion is one attempt.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::attempt::Attempt;
use super::report::{metadata, ConvertReport, Progress, Widening};
use crate::config::{ConvertOptions, OnError};
use crate::decode::fault::Fault;
use crate::decode::values::DateFormat;
use crate::error::{Error, Result};
use crate::schema::{ColumnSpec, ColumnType, SchemaSource, SchemaSpec, UnitName};
use crate::sink::{no_such_output, Output, SinkFactory};
use crate::source::ByteSource;

/// The most columns `--on-error widen` widens (each widening reads the input again).
pub const MAX_WIDENINGS: usize = 8;

/// Convert with `options`, widening and starting again as `--on-error widen` asks.
pub(super) async fn convert_widening(
    options: &ConvertOptions,
    cancel: &CancellationToken,
    progress: &Arc<Progress>,
    source: &dyn ByteSource,
    outputs: &mut dyn SinkFactory,
) -> Result<ConvertReport> {
    let widen = options.on_error == OnError::Widen;
    if widen && !outputs.reopens() {
        return Err(no_such_output(Output::Data));
    }
    let started = Instant::now();
    // Of the options asked for: a widened schema is what they produced, not another request.
    let fingerprint = options.fingerprint();
    let mut options = options.clone();
    let mut widened: Vec<Widening> = Vec::new();
    let mut inferred: Option<Vec<bool>> = None;
    loop {
        progress.reset();
        let attempt = Attempt {
            options: &options,
            cancel,
            progress,
            started,
            fingerprint: &fingerprint,
            footer: footer(&widened),
            schema_used: Arc::new(OnceLock::new()),
            inferred: inferred.clone(),
        };
        let err = match attempt.run(source, outputs).await {
            Ok(mut report) => {
                if !widened.is_empty() {
                    report.schema_source = SchemaSource::Widened;
                }
                report.widened = widened;
                return Ok(report);
            }
            Err(e) => e,
        };
        if !widen {
            return Err(err);
        }
        let Some((schema, columns_inferred)) = attempt.schema_used.get() else {
            return Err(err);
        };
        inferred = Some(columns_inferred.clone());
        let Some(widening) = widening_for(&err, schema) else {
            return Err(err);
        };
        if widened.len() >= MAX_WIDENINGS {
            return Err(err);
        }
        tracing::info!(
            column = %widening.column, from = %widening.from, to = %widening.to,
            line = widening.line, "widening a column and converting again"
        );
        let mut schema = schema.clone();
        if let Some(col) = schema
            .columns
            .iter_mut()
            .find(|c| c.name == widening.column)
        {
            col.ty = widening.to_type.clone();
        }
        widened.push(widening);
        options.schema = Some(schema);
    }
}

/// The footer metadata of an attempt after `widened`.
fn footer(widened: &[Widening]) -> Vec<(String, String)> {
    if widened.is_empty() {
        return Vec::new();
    }
    vec![
        (
            metadata::WIDENED.to_string(),
            serde_json::to_string(widened).unwrap_or_default(),
        ),
        (metadata::SCHEMA.to_string(), "widened".to_string()),
    ]
}

/// A type's name as in schema files, with its parameters (`decimal {"precision":5,...}`).
fn type_name(t: &ColumnType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| {
            let name = v.get("type")?.as_str()?.to_string();
            let mut rest = v.as_object()?.clone();
            rest.remove("type");
            Some(if rest.is_empty() {
                name
            } else {
                format!("{name} {}", serde_json::Value::Object(rest))
            })
        })
        .unwrap_or_else(|| format!("{t:?}"))
}

/// A finer unit for a timestamp column read in a date format (`%m/%d/%Y %I:%M:%S %p`) that
/// reads `value`, but not exactly in the column's unit (inferred as milliseconds from the
/// sample's fractions): microseconds, or nanoseconds for a finer fraction.
fn finer_formatted(column: &ColumnSpec, value: &str) -> Option<ColumnType> {
    let ColumnType::Timestamp { unit, timezone } = &column.ty else {
        return None;
    };
    let format = DateFormat::parse(column.format.as_deref()?).ok()?;
    let nanos = format.timestamp_nanos(value.trim().as_bytes())?;
    let needs = if nanos % 1_000 == 0 {
        UnitName::Us
    } else {
        UnitName::Ns
    };
    (needs.ticks_per_second() > unit.ticks_per_second()).then(|| ColumnType::Timestamp {
        unit: needs,
        timezone: timezone.clone(),
    })
}

/// What to widen, if `err` is a value a wider type would hold.
fn widening_for(err: &Error, schema: &SchemaSpec) -> Option<Widening> {
    let data = err.as_data()?;
    // Only parse failures: not ragged rows, not nulls in non-nullable columns.
    if !matches!(
        data.fault,
        Some(Fault::Unparsable { .. } | Fault::LosesText { .. })
    ) {
        return None;
    }
    let (index, name) = data.column.as_ref()?;
    let value = data.value.as_ref()?;
    let column = schema.columns.get(index.checked_sub(1)?)?;
    let to = if value.ends_with('…') {
        // Truncated in the message: only text is sure to hold it.
        (column.ty != ColumnType::Utf8).then_some(ColumnType::Utf8)
    } else {
        finer_formatted(column, value)
            .or_else(|| crate::schema::widen(&column.ty, value.as_bytes()))
    }?;
    Some(Widening {
        column: name.clone(),
        from: type_name(&column.ty),
        to: type_name(&to),
        line: data.position.map_or(0, |p| p.line),
        value: value.clone(),
        to_type: to,
    })
}
