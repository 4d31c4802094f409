//! Column types: the explicit schema file format, header handling and inference from a sample.
//!
//! Inference widens per column: int -> float -> string and date -> timestamp -> string; a column
//! with only nulls in the sample is a string; timestamps with and without UTC offsets mixed in
//! one column stay strings (no silent time zone assumption).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod inference;

pub(crate) use inference::looks_like_a_header;
pub use inference::{widen, Inferrer};

/// Type of one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ColumnType {
    /// `true` / `false`.
    #[serde(alias = "bool")]
    Boolean,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    #[serde(alias = "integer", alias = "bigint")]
    Int64,
    /// 32-bit float.
    Float32,
    /// 64-bit float.
    #[serde(alias = "double")]
    Float64,
    /// Calendar date (`YYYY-MM-DD`).
    #[serde(alias = "date")]
    Date32,
    /// Time of day in microseconds (`HH:MM[:SS[.ffffff]]`).
    #[serde(alias = "time")]
    Time64,
    /// Timestamp with a unit and an optional time zone (only `UTC` is accepted).
    Timestamp {
        /// `s`, `ms`, `us` or `ns`.
        #[serde(default = "default_unit")]
        unit: UnitName,
        /// `UTC` for instants (offsets converted to UTC; values without offset taken as UTC),
        /// absent for wall-clock times.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timezone: Option<String>,
    },
    /// Exact decimal.
    Decimal {
        /// Total digits, 1..=38.
        precision: u8,
        /// Digits after the point, 0..=precision.
        scale: i8,
    },
    /// UTF-8 text.
    #[serde(alias = "string", alias = "text")]
    Utf8,
}

/// Timestamp unit as written in schema files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnitName {
    /// Seconds.
    #[serde(rename = "s")]
    S,
    /// Milliseconds.
    #[serde(rename = "ms")]
    Ms,
    /// Microseconds.
    #[serde(rename = "us")]
    Us,
    /// Nanoseconds.
    #[serde(rename = "ns")]
    Ns,
}

fn default_unit() -> UnitName {
    UnitName::Us
}

fn default_true() -> bool {
    true
}

impl UnitName {
    /// Ticks of this unit in a second: a unit holds every value of the units with fewer.
    pub fn ticks_per_second(self) -> u64 {
        match self {
            UnitName::S => 1,
            UnitName::Ms => 1_000,
            UnitName::Us => 1_000_000,
            UnitName::Ns => 1_000_000_000,
        }
    }

    fn arrow(self) -> TimeUnit {
        match self {
            UnitName::S => TimeUnit::Second,
            UnitName::Ms => TimeUnit::Millisecond,
            UnitName::Us => TimeUnit::Microsecond,
            UnitName::Ns => TimeUnit::Nanosecond,
        }
    }
}

impl ColumnType {
    /// Integers, floats and decimals.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            ColumnType::Int32
                | ColumnType::Int64
                | ColumnType::Float32
                | ColumnType::Float64
                | ColumnType::Decimal { .. }
        )
    }

    /// The Arrow type this column is decoded into.
    pub fn arrow_type(&self) -> DataType {
        match self {
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float32 => DataType::Float32,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Date32 => DataType::Date32,
            ColumnType::Time64 => DataType::Time64(TimeUnit::Microsecond),
            ColumnType::Timestamp { unit, timezone } => {
                DataType::Timestamp(unit.arrow(), timezone.as_ref().map(|_| Arc::from("UTC")))
            }
            ColumnType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            ColumnType::Utf8 => DataType::Utf8,
        }
    }

    fn validate(&self, name: &str) -> Result<()> {
        match self {
            ColumnType::Decimal { precision, scale }
                if !(1..=38).contains(precision) || *scale < 0 || *scale as u8 > *precision =>
            {
                Err(Error::config(
                    crate::config::key::OptionKey::Schema,
                    format!("column {name:?}: decimal needs 1 <= precision <= 38 and 0 <= scale <= precision"),
                ))
            }
            ColumnType::Timestamp {
                timezone: Some(tz), ..
            } if !matches!(tz.as_str(), "UTC" | "utc" | "+00:00" | "Z") => Err(Error::config(
                crate::config::key::OptionKey::Schema,
                format!("column {name:?}: timezone {tz:?} is not supported (use \"UTC\" or omit it)"),
            )),
            _ => Ok(()),
        }
    }
}

/// One column of a schema file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// Column name (as in the header, or the name to give it with `--no-header`).
    pub name: String,
    /// Its type.
    #[serde(flatten)]
    pub ty: ColumnType,
    /// Whether nulls are allowed (default true). A null in a non-nullable column is a bad value.
    #[serde(default = "default_true")]
    pub nullable: bool,
    /// For a `date32` or `timestamp` column: the format of its values (`%d/%m/%Y`,
    /// `%d/%m/%Y %H:%M`; see [`crate::decode::values::DateFormat`]), when not ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// The keys a column entry of a schema file may have.
const COLUMN_KEYS: [&str; 8] = [
    "name",
    "type",
    "nullable",
    "format",
    "unit",
    "timezone",
    "precision",
    "scale",
];

/// Refuse a key no column entry has (`"nullabe"` would otherwise be ignored, silently).
fn check_keys(text: &str) -> Result<()> {
    let Ok(serde_json::Value::Array(columns)) = serde_json::from_str(text) else {
        return Ok(());
    };
    for column in &columns {
        let Some(entry) = column.as_object() else {
            continue;
        };
        if let Some(key) = entry.keys().find(|k| !COLUMN_KEYS.contains(&k.as_str())) {
            let name = entry.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            return Err(Error::config(
                crate::config::key::OptionKey::Schema,
                format!(
                    "column {name:?} has an unknown key {key:?} (known: {})",
                    COLUMN_KEYS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A schema: the JSON list of columns that `--schema` reads and `csv2parquet schema` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct SchemaSpec {
    /// The columns, in order.
    pub columns: Vec<ColumnSpec>,
}

impl SchemaSpec {
    /// Parse and validate a schema file's text.
    pub fn from_json(text: &str) -> Result<Self> {
        let spec: SchemaSpec = serde_json::from_str(text).map_err(|e| {
            Error::config(
                crate::config::key::OptionKey::Schema,
                format!("not a valid schema file: {e}"),
            )
        })?;
        check_keys(text)?;
        let mut seen = HashMap::new();
        for c in &spec.columns {
            c.ty.validate(&c.name)?;
            if let Some(format) = &c.format {
                let schema_error = |e: String| {
                    Error::config(
                        crate::config::key::OptionKey::Schema,
                        format!("column {:?}: {e}", c.name),
                    )
                };
                let parsed =
                    crate::decode::values::DateFormat::parse(format).map_err(schema_error)?;
                match (&c.ty, parsed.has_time()) {
                    (ColumnType::Date32, false) | (ColumnType::Timestamp { .. }, true) => {}
                    (ColumnType::Date32, true) => {
                        return Err(schema_error("a date32 format has no time (%H...)".into()))
                    }
                    (ColumnType::Timestamp { .. }, false) => {
                        return Err(schema_error(
                            "a timestamp format needs a time (%H:%M or %I:%M %p)".into(),
                        ))
                    }
                    _ => {
                        return Err(schema_error(
                            "a format is for date32 and timestamp columns".into(),
                        ))
                    }
                }
            }
            if seen.insert(c.name.as_str(), ()).is_some() {
                return Err(Error::config(
                    crate::config::key::OptionKey::Schema,
                    format!("column {:?} is listed twice", c.name),
                ));
            }
        }
        Ok(spec)
    }

    /// Pretty JSON, the format `from_json` reads.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "[]".to_string())
    }

    /// The Arrow schema.
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.ty.arrow_type(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }
}

/// Where the schema came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaSource {
    /// Every column inferred.
    Inferred,
    /// Every column from `--schema`.
    Explicit,
    /// Some columns from `--schema`, the rest inferred.
    Partial,
    /// Inferred (or given), then widened by `--on-error widen`.
    Widened,
}

impl SchemaSource {
    /// The source named by [`SchemaSource::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        [
            SchemaSource::Inferred,
            SchemaSource::Explicit,
            SchemaSource::Partial,
            SchemaSource::Widened,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaSource::Inferred => "inferred",
            SchemaSource::Explicit => "explicit",
            SchemaSource::Partial => "partial",
            SchemaSource::Widened => "widened",
        }
    }
}

/// Column names from a header record: empty names become `column_N`, duplicates get `_2`, `_3`...;
/// invalid UTF-8 is replaced with U+FFFD (whatever `--invalid-utf8` says: a name is not data).
/// Returns the names and one warning per change.
pub fn header_names(raw: &[Vec<u8>]) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::with_capacity(raw.len());
    let mut warnings = Vec::new();
    let mut used: HashMap<String, usize> = HashMap::new();
    for (i, bytes) in raw.iter().enumerate() {
        let text = match String::from_utf8_lossy(bytes) {
            std::borrow::Cow::Borrowed(t) => t.to_string(),
            std::borrow::Cow::Owned(t) => {
                warnings.push(format!(
                    "column {} has a name that is not valid UTF-8; named it {t:?} (is the input latin1 or windows-1252? see --encoding)",
                    i + 1
                ));
                t
            }
        };
        let mut name = if text.is_empty() {
            let n = format!("column_{}", i + 1);
            warnings.push(format!(
                "column {} has an empty name; named it {n:?}",
                i + 1
            ));
            n
        } else {
            text
        };
        if used.contains_key(&name) {
            let base = name.clone();
            let mut k = 2;
            while used.contains_key(&format!("{base}_{k}")) {
                k += 1;
            }
            name = format!("{base}_{k}");
            warnings.push(format!(
                "column {} repeats the name {base:?}; renamed it {name:?}",
                i + 1
            ));
        }
        used.insert(name.clone(), i);
        names.push(name);
    }
    (names, warnings)
}

/// Names for a file without a header: `column_1..N`.
pub fn generated_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("column_{i}")).collect()
}

/// Per column of the resolved `schema`: whether inference typed it (the `explicit` schema, by
/// name with a header and by position without, does not cover it).
pub(crate) fn inferred_columns(
    schema: &SchemaSpec,
    explicit: Option<&SchemaSpec>,
    has_header: bool,
) -> Vec<bool> {
    let Some(spec) = explicit else {
        return vec![true; schema.columns.len()];
    };
    schema
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            if has_header {
                !spec.columns.iter().any(|s| s.name == col.name)
            } else {
                i >= spec.columns.len()
            }
        })
        .collect()
}

/// Combine names, the explicit schema (by name with a header, by position without) and the
/// inferred types into the final schema.
pub fn resolve(
    names: &[String],
    explicit: Option<&SchemaSpec>,
    has_header: bool,
    inferred: &[ColumnType],
    formats: &[Option<String>],
) -> Result<(SchemaSpec, SchemaSource)> {
    let mut columns: Vec<ColumnSpec> = names
        .iter()
        .zip(inferred)
        .enumerate()
        .map(|(i, (name, ty))| ColumnSpec {
            name: name.clone(),
            ty: ty.clone(),
            nullable: true,
            format: formats.get(i).cloned().flatten(),
        })
        .collect();
    let Some(spec) = explicit else {
        return Ok((SchemaSpec { columns }, SchemaSource::Inferred));
    };
    if has_header {
        for s in &spec.columns {
            let Some(col) = columns.iter_mut().find(|c| c.name == s.name) else {
                return Err(Error::config(
                    crate::config::key::OptionKey::Schema,
                    format!(
                        "column {:?} is not in the header (columns: {})",
                        s.name,
                        names.join(", ")
                    ),
                ));
            };
            *col = s.clone();
        }
    } else {
        if spec.columns.len() > columns.len() {
            return Err(Error::config(
                crate::config::key::OptionKey::Schema,
                format!(
                    "lists {} columns but the input has {}",
                    spec.columns.len(),
                    columns.len()
                ),
            ));
        }
        for (col, s) in columns.iter_mut().zip(&spec.columns) {
            *col = s.clone();
        }
    }
    let source = if spec.columns.len() == columns.len() {
        SchemaSource::Explicit
    } else {
        SchemaSource::Partial
    };
    Ok((SchemaSpec { columns }, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Dialect;
    use crate::decode::tokenizer::Tokenizer;
    use crate::decode::tokens::Tokens;

    fn infer(csv: &str) -> Vec<ColumnType> {
        let mut t = Tokens::default();
        Tokenizer::new(&Dialect::default())
            .tokenize(csv.as_bytes(), &mut t)
            .unwrap();
        let mut inf = Inferrer::new(t.field_count(0), &[String::new()]);
        inf.add(&t, 0..t.records.len());
        inf.finish()
    }

    #[test]
    fn columns_split_between_threads_infer_as_on_one() {
        // 96 columns cycling int, float, date, text and a ragged last record.
        let mut csv = String::new();
        for r in 0..50 {
            let fields: Vec<String> = (0..96)
                .map(|c| match c % 4 {
                    0 => format!("{}", r * c),
                    1 => format!("{r}.{c}"),
                    2 => format!("2026-01-{:02}", r % 28 + 1),
                    _ => format!("t{r}"),
                })
                .collect();
            csv += &(fields.join(",") + "\n");
        }
        csv += "x,1\n";
        let mut t = Tokens::default();
        Tokenizer::new(&Dialect::default())
            .tokenize(csv.as_bytes(), &mut t)
            .unwrap();
        let types = |threads| {
            let mut inf = Inferrer::new(96, &[String::new()]).with_threads(threads);
            inf.add(&t, 0..t.records.len());
            assert_eq!(inf.records(), 51);
            (inf.finish(), inf.date_formats())
        };
        let one = types(1);
        assert_eq!(one.0[0], ColumnType::Utf8);
        assert_eq!(one.0[1], ColumnType::Float64);
        assert_eq!(one.0[4], ColumnType::Int64);
        assert_eq!(one.0[6], ColumnType::Date32);
        assert_eq!(one.0[7], ColumnType::Utf8);
        assert_eq!(types(2), one);
    }

    #[test]
    fn a_two_digit_year_first_is_a_fallback_format() {
        let formats = |csv: &str| {
            let mut t = Tokens::default();
            Tokenizer::new(&Dialect::default())
                .tokenize(csv.as_bytes(), &mut t)
                .unwrap();
            let mut inf = Inferrer::new(t.field_count(0), &[String::new()]);
            inf.add(&t, 1..t.records.len());
            inf.date_formats()
        };
        let f = formats("d,ts\n90.01.01,90.01.01 00:12:00\n04.12.13,04.12.13 15:16:00\n");
        assert_eq!(
            f,
            [Some("%y.%m.%d".into()), Some("%y.%m.%d %H:%M:%S".into())]
        );
        // Day-first dates with a year up to 31 read year-first too: day-first wins.
        assert_eq!(
            formats("d\n12.03.26\n31.01.24\n"),
            [Some("%d.%m.%y".into())]
        );
    }

    #[test]
    fn widen_for_a_bad_value() {
        use ColumnType::*;
        let ts = |unit, tz: Option<&str>| Timestamp {
            unit,
            timezone: tz.map(str::to_string),
        };
        assert_eq!(widen(&Int64, b"3.5"), Some(Float64));
        assert_eq!(widen(&Int32, b"3000000000"), Some(Int64));
        assert_eq!(widen(&Int64, b"99999999999999999999"), Some(Utf8));
        assert_eq!(widen(&Int64, b"n/a"), Some(Utf8));
        assert_eq!(widen(&Float64, b"n/a"), Some(Utf8));
        assert_eq!(widen(&Boolean, b"2"), Some(Utf8));
        assert_eq!(
            widen(&Date32, b"2024-01-02 03:04:05"),
            Some(ts(UnitName::Ms, None))
        );
        assert_eq!(
            widen(&ts(UnitName::Ms, None), b"2024-01-02 03:04:05.1234"),
            Some(ts(UnitName::Us, None))
        );
        assert_eq!(
            widen(
                &ts(UnitName::Ms, Some("UTC")),
                b"2024-01-02 03:04:05.1234567Z"
            ),
            Some(ts(UnitName::Ns, Some("UTC")))
        );
        assert_eq!(
            widen(&ts(UnitName::Ns, None), b"2024-01-02 03:04:05.1"),
            Some(Utf8),
            "a coarser unit is no widening"
        );
        assert_eq!(
            widen(&ts(UnitName::Us, None), b"2024-01-02 03:04:05.123456789"),
            Some(ts(UnitName::Ns, None))
        );
        assert_eq!(
            widen(&ts(UnitName::Us, None), b"2024-01-02T03:04:05+02:00"),
            Some(Utf8)
        );
        assert_eq!(widen(&Utf8, b"x"), None);
    }

    #[test]
    fn widening_rules() {
        let types = infer(
            "1,1,2024-01-01,2024-01-01,true,,x\n2,2.5,2024-01-02,2024-01-02 10:00:00,false,,1\n",
        );
        assert_eq!(types[0], ColumnType::Int64);
        assert_eq!(types[1], ColumnType::Float64);
        assert_eq!(types[2], ColumnType::Date32);
        assert_eq!(
            types[3],
            ColumnType::Timestamp {
                unit: UnitName::Ms,
                timezone: None
            }
        );
        assert_eq!(types[4], ColumnType::Boolean);
        assert_eq!(types[5], ColumnType::Utf8, "all-null column");
        assert_eq!(types[6], ColumnType::Utf8);
    }

    #[test]
    fn timestamp_units_are_the_coarsest_that_hold_the_fractions_seen() {
        let ts = |unit| ColumnType::Timestamp {
            unit,
            timezone: None,
        };
        let types = infer(
            "2024-01-01 00:00:00,2024-01-01 00:00:00.5,2024-01-01 00:00:00.1234,2024-01-01T00:00:00.123456,2024-01-01 00:00:00.1234567\n\
             2024-01-01 00:00:01,2024-01-01 00:00:01.125,2024-01-01 00:00:01,2024-01-01T00:00:01,2024-01-01 00:00:01\n",
        );
        assert_eq!(
            types,
            [
                ts(UnitName::Ms),
                ts(UnitName::Ms),
                ts(UnitName::Us),
                ts(UnitName::Us),
                ts(UnitName::Ns)
            ]
        );
    }

    #[test]
    fn formatted_timestamps_get_the_coarsest_unit_too() {
        let ts = |unit| ColumnType::Timestamp {
            unit,
            timezone: None,
        };
        // Day-first (13/12), with a 12-hour clock, with a fraction, and with dotted dates,
        // whose dots are counted as fraction digits too: a finer unit than needed, never a
        // coarser one.
        let types = infer(
            "03/12/2026 14:05:09,03/12/2026 02:05:09 PM,03/12/2026 14:05:09.1234,12.03.2026 10:00:00\n\
             13/12/2026 14:05:10,03/13/2026 02:05:10 AM,13/12/2026 14:05:10,13.03.2026 10:00:01\n",
        );
        assert_eq!(
            types,
            [
                ts(UnitName::Ms),
                ts(UnitName::Ms),
                ts(UnitName::Us),
                ts(UnitName::Us)
            ]
        );
    }

    #[test]
    fn offsets_nanos_and_mixes() {
        let types = infer("2024-01-01T00:00:00Z,2024-01-01 00:00:00.123456789,1,2024-01-01T00:00:00Z\n2024-01-01T01:00:00+02:00,2024-01-01 00:00:00,2024-01-01,2024-01-01 00:00:00\n");
        assert_eq!(
            types[0],
            ColumnType::Timestamp {
                unit: UnitName::Ms,
                timezone: Some("UTC".into())
            }
        );
        assert_eq!(
            types[1],
            ColumnType::Timestamp {
                unit: UnitName::Ns,
                timezone: None
            }
        );
        assert_eq!(types[2], ColumnType::Utf8, "int + date");
        assert_eq!(types[3], ColumnType::Utf8, "offset + naive");
        let types = infer("9223372036854775808,1.5\n1,99999999999999999999\n");
        assert_eq!(
            types,
            [ColumnType::Utf8, ColumnType::Utf8],
            "no lossy big integers"
        );
    }

    #[test]
    fn header_names_are_made_unique() {
        let raw: Vec<Vec<u8>> = ["a", "", "a", "a_2", "a"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let (names, warnings) = header_names(&raw);
        assert_eq!(names, ["a", "column_2", "a_2", "a_2_2", "a_3"]);
        assert_eq!(warnings.len(), 4);
    }

    #[test]
    fn invalid_utf8_header_names_are_replaced_with_a_warning() {
        let raw = vec![b"caf\xe9".to_vec(), "café".as_bytes().to_vec()];
        let (names, warnings) = header_names(&raw);
        assert_eq!(names, ["caf\u{FFFD}", "café"]);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("column 1") && warnings[0].contains("--encoding"),
            "{warnings:?}"
        );
    }

    #[test]
    fn schema_file_round_trip_and_errors() {
        let text = r#"[{"name":"a","type":"int64"},
            {"name":"t","type":"timestamp","unit":"ms","timezone":"UTC","nullable":false},
            {"name":"d","type":"decimal","precision":10,"scale":2}]"#;
        let spec = SchemaSpec::from_json(text).unwrap();
        assert_eq!(SchemaSpec::from_json(&spec.to_json()).unwrap(), spec);
        assert!(!spec.columns[1].nullable);
        let bad = r#"[{"name":"d","type":"decimal","precision":40,"scale":2}]"#;
        assert!(SchemaSpec::from_json(bad)
            .unwrap_err()
            .to_string()
            .contains("precision"));
        let tz = r#"[{"name":"t","type":"timestamp","timezone":"Europe/Paris"}]"#;
        assert!(SchemaSpec::from_json(tz).is_err());
        let dated = r#"[{"name":"d","type":"date32","format":"%d.%m.%Y"}]"#;
        let spec = SchemaSpec::from_json(dated).unwrap();
        assert_eq!(spec.columns[0].format.as_deref(), Some("%d.%m.%Y"));
        assert_eq!(SchemaSpec::from_json(&spec.to_json()).unwrap(), spec);
        let misplaced = r#"[{"name":"n","type":"int64","format":"%d.%m.%Y"}]"#;
        let e = SchemaSpec::from_json(misplaced).unwrap_err().to_string();
        assert!(e.contains("for date32 and timestamp columns"), "{e}");
        let timed = r#"[{"name":"t","type":"timestamp","format":"%d.%m.%Y %H:%M"}]"#;
        assert!(SchemaSpec::from_json(timed).is_ok());
        let untimed = r#"[{"name":"t","type":"timestamp","format":"%d.%m.%Y"}]"#;
        let e = SchemaSpec::from_json(untimed).unwrap_err().to_string();
        assert!(e.contains("needs a time"), "{e}");
        let dated_time = r#"[{"name":"d","type":"date32","format":"%d.%m.%Y %H:%M"}]"#;
        let e = SchemaSpec::from_json(dated_time).unwrap_err().to_string();
        assert!(e.contains("has no time"), "{e}");
        let bad = r#"[{"name":"d","type":"date32","format":"%d.%m"}]"#;
        let e = SchemaSpec::from_json(bad).unwrap_err().to_string();
        assert!(e.contains("column \"d\"") && e.contains("one year"), "{e}");
        let typo = r#"[{"name":"a","type":"int64","nullabe":false}]"#;
        let e = SchemaSpec::from_json(typo).unwrap_err().to_string();
        assert!(
            e.contains("column \"a\" has an unknown key \"nullabe\""),
            "{e}"
        );
    }

    #[test]
    fn resolve_by_name_and_position() {
        let names = vec!["a".to_string(), "b".to_string()];
        let inferred = vec![ColumnType::Int64, ColumnType::Utf8];
        let spec = SchemaSpec::from_json(r#"[{"name":"b","type":"float64"}]"#).unwrap();
        let (s, src) = resolve(&names, Some(&spec), true, &inferred, &[]).unwrap();
        assert_eq!(s.columns[1].ty, ColumnType::Float64);
        assert_eq!(src, SchemaSource::Partial);
        let (s, _) = resolve(&names, Some(&spec), false, &inferred, &[]).unwrap();
        assert_eq!(s.columns[0].name, "b");
        let missing = SchemaSpec::from_json(r#"[{"name":"zz","type":"float64"}]"#).unwrap();
        assert!(resolve(&names, Some(&missing), true, &inferred, &[])
            .unwrap_err()
            .to_string()
            .contains("\"zz\""));
    }
}
