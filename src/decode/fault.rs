//! What is wrong with a record or a value, as the decoder finds it. Its text is the reason an
//! error message or a rejects row gives; callers that act on a fault (widening a column, say)
//! match on the variant, not on the text.

use std::fmt;

use arrow::datatypes::DataType;

/// A fault in the input data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// A value does not parse as its column's type (a wider type might hold it).
    Unparsable {
        /// The column's Arrow type.
        ty: DataType,
        /// The type was inferred from a sample of the input (not given by a schema): a value
        /// after the sample may need a wider one.
        inferred: bool,
    },
    /// A number with leading zeros or a `+` sign in a column typed by inference: as a number it
    /// would lose them (a wider type, text, holds it).
    LosesText {
        /// The column's Arrow type.
        ty: DataType,
        /// It is the `+` sign that would be lost.
        plus: bool,
    },
    /// A null (a null marker, or a missing field) in a column that does not allow nulls.
    NullInNonNullable,
    /// A record with another number of fields than the header.
    FieldCount {
        /// Fields of the header (or the schema).
        expected: usize,
        /// Fields of the record.
        found: usize,
    },
    /// The CSV syntax is broken (an unclosed quote, a byte after a closing quote, ...).
    Syntax(&'static str),
    /// A string value is not valid UTF-8.
    InvalidUtf8 {
        /// Bytes of the value before the first invalid one.
        valid_up_to: usize,
    },
}

impl Fault {
    /// Whether a wider type than the one inference chose would hold the value: the column's
    /// type came from a sample, and the value does not parse as it (or would lose its text).
    pub fn wants_wider_inferred_type(&self) -> bool {
        matches!(
            self,
            Fault::Unparsable { inferred: true, .. } | Fault::LosesText { .. }
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Unparsable { ty, .. } => write!(f, "cannot parse as {ty}"),
            Fault::LosesText { ty, plus } => {
                let what = if *plus { "'+' sign" } else { "leading zeros" };
                write!(f, "{what} would be lost as {ty} (the column was inferred)")
            }
            Fault::NullInNonNullable => f.write_str("null in a non-nullable column"),
            Fault::FieldCount { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")
            }
            Fault::Syntax(reason) => f.write_str(reason),
            Fault::InvalidUtf8 { valid_up_to } => {
                write!(f, "invalid UTF-8 at byte {valid_up_to} of the field")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_as_before() {
        let cases = [
            (
                Fault::Unparsable {
                    ty: DataType::Int64,
                    inferred: true,
                },
                "cannot parse as Int64",
            ),
            (Fault::NullInNonNullable, "null in a non-nullable column"),
            (
                Fault::FieldCount {
                    expected: 3,
                    found: 4,
                },
                "expected 3 fields, found 4",
            ),
            (
                Fault::InvalidUtf8 { valid_up_to: 2 },
                "invalid UTF-8 at byte 2 of the field",
            ),
        ];
        for (fault, text) in cases {
            assert_eq!(fault.to_string(), text);
        }
    }
}
