//! Turns a tokenized chunk into an Arrow `RecordBatch`: field counts checked, every column
//! built ([`super::columns`]), rejected records taken out.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, BooleanBufferBuilder, RecordBatch};
use bytes::Bytes;

use crate::config::OnError;
use crate::decode::chunker::Chunk;
use crate::decode::columns::{build_column, ChunkError, DecodeContext, FieldIndex, Outcome};
use crate::decode::fault::Fault;
use crate::decode::tokens::{ColumnSpans, Tokens};
use crate::schema::ColumnType;

/// A record sent to the rejects file.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// 0-based line within the chunk.
    pub line: u32,
    /// Byte offset within the chunk.
    pub byte: u32,
    /// Why.
    pub reason: Fault,
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
    /// Values stored as null under `--on-error null`.
    pub nulled: u64,
    /// String values whose invalid UTF-8 was replaced with U+FFFD (`--invalid-utf8 replace`).
    pub utf8_replaced: u64,
    /// Records rejected under `--on-error reject`.
    pub rejects: Vec<Rejected>,
}

/// Why a chunk could not be decoded.
#[derive(Debug, Clone)]
pub enum DecodeError {
    /// Bad input, positioned in the chunk.
    Data(ChunkError),
    /// A bug: Arrow refused arrays the decoder built.
    Internal(String),
}

impl From<ChunkError> for DecodeError {
    fn from(e: ChunkError) -> Self {
        DecodeError::Data(e)
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
) -> Result<Decoded, DecodeError> {
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
        tokens.drop_trailing_delimiters(ctx.columns.len());
        decode_with_scratch(ctx, chunk, tokens)?;
        return Err(DecodeError::Data(ChunkError {
            record: e.record,
            line: e.line,
            byte: e.byte,
            column: None,
            value: None,
            reason: Fault::Syntax(e.reason),
        }));
    }
    tokens.drop_trailing_delimiters(ctx.columns.len());
    if ctx.columns.len() == 1 {
        // One column: a blank line is a null value, not layout.
        tokens.add_blank_lines();
    }
    decode_with_scratch(ctx, chunk, tokens)
}

/// [`decode_tokens`] with the worker's column-major scratch taken out of `tokens` and put back.
fn decode_with_scratch(
    ctx: &DecodeContext,
    chunk: &Chunk,
    tokens: &mut Tokens,
) -> Result<Decoded, DecodeError> {
    let mut by_column = std::mem::take(&mut tokens.by_column);
    let decoded = decode_tokens(ctx, chunk, tokens, &mut by_column);
    tokens.by_column = by_column;
    decoded
}

/// The part of [`decode_chunk`] after tokenizing.
fn decode_tokens(
    ctx: &DecodeContext,
    chunk: &Chunk,
    tokens: &Tokens,
    by_column: &mut ColumnSpans,
) -> Result<Decoded, DecodeError> {
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
    let uniform = check_field_counts(ctx, tokens, &mut outcome);
    // No early return on a ragged record: a bad value in an earlier record comes first.
    let text = ctx
        .columns
        .iter()
        .any(|t| matches!(t, ColumnType::Utf8))
        .then(|| simdutf8::basic::from_utf8(&tokens.data).ok())
        .flatten();
    // Groups of columns built from a column-major copy of their spans, when that pays (see
    // `ColumnSpans`); otherwise one group of all, from the record-major spans.
    let group = ColumnSpans::group(n, ncols).filter(|_| uniform);
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(ncols);
    for first in (0..ncols).step_by(group.unwrap_or(ncols).max(1)) {
        let columns = first..(first + group.unwrap_or(ncols)).min(ncols);
        if group.is_some() {
            by_column.fill(tokens, ncols, columns.clone());
        }
        for c in columns {
            let fields = FieldIndex {
                tokens,
                uniform,
                ncols,
                text,
                column: group
                    .and_then(|_| by_column.column(c))
                    .map(|(spans, quoted)| (c, spans, quoted)),
            };
            let array = build_column(ctx, &fields, c, &ctx.columns[c], &mut outcome)
                .map_err(DecodeError::Internal)?;
            arrays.push(array);
        }
    }
    if let Some(e) = outcome.first_error.take() {
        return Err(e.into());
    }
    let (rejects, keep) = take_rejects(&mut outcome, chunk, tokens);
    let batch = RecordBatch::try_new(Arc::clone(&ctx.schema), arrays)
        .map_err(|e| DecodeError::Internal(format!("building the batch failed: {e}")))?;
    let batch = match keep {
        Some(mask) => arrow::compute::filter_record_batch(&batch, &mask)
            .map_err(|e| DecodeError::Internal(format!("filtering rejected rows failed: {e}")))?,
        None => batch,
    };
    Ok(Decoded {
        batch: (batch.num_rows() > 0).then_some(batch),
        records: n as u64,
        nulled: outcome.nulled,
        utf8_replaced: outcome.utf8_replaced,
        rejects,
    })
}

/// Apply the policy to every record whose field count is not the schema's; returns whether
/// every record has it (then fields are found by arithmetic).
fn check_field_counts(ctx: &DecodeContext, tokens: &Tokens, outcome: &mut Outcome) -> bool {
    let n = tokens.records.len();
    let ncols = ctx.columns.len();
    let uniform =
        tokens.fields.len() == n * ncols && (0..n).all(|r| tokens.field_count(r) == ncols);
    if !uniform {
        for r in 0..n {
            let found = tokens.field_count(r);
            if found != ncols {
                let reason = Fault::FieldCount {
                    expected: ncols,
                    found,
                };
                let col = found.min(ncols.saturating_sub(1));
                outcome.bad_value(ctx.on_error, tokens, r, col, None, reason);
                if ctx.on_error == OnError::Null {
                    // counted once per missing or dropped field
                    outcome.nulled += (found.abs_diff(ncols) as u64).saturating_sub(1);
                }
            }
        }
    }
    uniform
}

/// The rejected records (with their raw text) and the mask of the rows kept, if any record
/// was rejected.
fn take_rejects(
    outcome: &mut Outcome,
    chunk: &Chunk,
    tokens: &Tokens,
) -> (Vec<Rejected>, Option<BooleanArray>) {
    if !outcome.any_rejected {
        return (Vec::new(), None);
    }
    let mut rejects = Vec::new();
    let mut mask = BooleanBufferBuilder::new(tokens.records.len());
    for (r, reason) in outcome.rejected.iter_mut().enumerate() {
        mask.append(reason.is_none());
        if let Some(reason) = reason.take() {
            let span = tokens.records[r];
            rejects.push(Rejected {
                line: span.line,
                byte: span.start,
                reason,
                raw: chunk.data.slice(span.start as usize..span.end as usize),
            });
        }
    }
    (rejects, Some(BooleanArray::new(mask.finish(), None)))
}

/// Bytes one record of `text` bytes with columns of `types` takes while a worker decodes it,
/// and once decoded (see `budget::RecordSize`): the chunk's text and the tokens' copy of it,
/// a span and a quoted flag per field, the record's span, and the Arrow values (a validity
/// bit and a value per field: a string's offset and its bytes, at most the record's fields'
/// text;
/// a boolean parsed a byte at a time).
pub(crate) fn decoded_record_bytes<'a>(
    text: usize,
    types: impl IntoIterator<Item = &'a ColumnType>,
) -> (usize, usize) {
    use crate::decode::tokens::{RecordSpan, FIELD_BYTES};
    let (mut fields, mut values, mut strings) = (0usize, 0usize, false);
    for ty in types {
        fields += 1;
        values += match ty.arrow_type() {
            arrow::datatypes::DataType::Utf8 => {
                strings = true;
                std::mem::size_of::<i32>()
            }
            arrow::datatypes::DataType::Boolean => 1,
            other => other.primitive_width().unwrap_or(16),
        };
    }
    // Each field but the last is followed by a delimiter: strings hold less than the text.
    values += fields.div_ceil(8)
        + if strings {
            text.saturating_sub(fields.saturating_sub(1))
        } else {
            0
        };
    let spans = fields * FIELD_BYTES;
    let decoding = 2 * text + spans + std::mem::size_of::<RecordSpan>() + values;
    (decoding, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Dialect, InvalidUtf8};
    use crate::decode::tokenizer::Tokenizer;
    use crate::schema::SchemaSpec;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;

    #[test]
    fn decoded_records_count_spans_values_and_strings() {
        let ints = vec![ColumnType::Int64; 100];
        let (decoding, decoded) = decoded_record_bytes(200, &ints);
        assert_eq!(decoded, 800 + 13);
        assert_eq!(decoding, 400 + 900 + 16 + 813);
        let mixed = [ColumnType::Utf8, ColumnType::Date32, ColumnType::Boolean];
        let (decoding, decoded) = decoded_record_bytes(30, &mixed);
        assert_eq!(decoded, 4 + 4 + 1 + 1 + 28);
        assert_eq!(decoding, 60 + 27 + 16 + 38);
    }

    /// The data error of a chunk that does not decode.
    fn bad(result: Result<Decoded, DecodeError>) -> ChunkError {
        match result {
            Err(DecodeError::Data(e)) => e,
            other => panic!("expected a data error: {other:?}"),
        }
    }

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

    /// Wide chunks are built from column-major copies of their spans, in groups (see
    /// [`ColumnSpans`]); a ragged chunk from the record-major spans. Both give the same
    /// columns.
    #[test]
    fn wide_chunks_decode_the_same_in_groups_and_record_by_record() {
        let ncols = 30;
        let types = ["int64", "utf8", "float64"];
        let schema: Vec<String> = (0..ncols)
            .map(|c| format!(r#"{{"name":"c{c}","type":"{}"}}"#, types[c % 3]))
            .collect();
        let c = ctx(&format!("[{}]", schema.join(",")), OnError::Reject);
        let rows = 2_000;
        assert!(crate::decode::tokens::ColumnSpans::group(rows, ncols).unwrap() < ncols / 2);
        let mut text = String::new();
        for r in 0..rows {
            let fields: Vec<String> = (0..ncols)
                .map(|c| match (c % 3, (r + c) % 7) {
                    (_, 0) => String::new(),
                    (0, _) => format!("{}", r * 31 + c),
                    (1, 1) => "\"\"".to_string(),
                    (1, 2) => format!("\"q,{r}\"\"{c}\""),
                    (1, _) => format!("s{r}.{c}"),
                    _ => format!("{}.{}", r, c),
                })
                .collect();
            text.push_str(&fields.join(","));
            text.push('\n');
        }
        let mut t = Tokens::default();
        let grouped = decode_chunk(&c, &chunk(&text), &mut t).unwrap();
        let grouped = grouped.batch.unwrap();
        assert_eq!(grouped.num_rows(), rows);
        text.push_str("1,2\n");
        let ragged = decode_chunk(&c, &chunk(&text), &mut t).unwrap();
        assert_eq!(ragged.rejects.len(), 1);
        assert_eq!(ragged.batch.unwrap(), grouped);
        // Spot checks against the text: a number, a quoted comma and quote, a quoted empty
        // string (a value) and an unquoted one (null).
        assert_eq!(
            grouped.column(3).as_primitive::<Int64Type>().value(5),
            5 * 31 + 3
        );
        let s = grouped.column(1).as_string::<i32>();
        assert_eq!((s.value(1), s.value(0), s.is_null(6)), ("q,1\"1", "", true));
        assert_eq!(s.value(2), "s2.1");
    }

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
        let e = bad(decode_chunk(&c, &chunk("1,a,1\n2,b,x\nzz,c,1\n"), &mut t));
        assert_eq!((e.record, e.line, e.byte, e.column), (1, 1, 6, Some(2)));
        assert_eq!(e.value.as_deref(), Some(&b"x"[..]));
        let e = bad(decode_chunk(&c, &chunk("1,a,1\n2,b\n"), &mut t));
        assert!(
            e.reason.to_string().contains("expected 3 fields, found 2"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn a_trailing_delimiter_is_layout() {
        let c = ctx(SCHEMA, OnError::Fail);
        let mut t = Tokens::default();
        let d = decode_chunk(&c, &chunk("1,a,1.5,\n2,b,2.5\n3,c,,\n"), &mut t).unwrap();
        let b = d.batch.unwrap();
        assert_eq!(b.num_rows(), 3);
        assert!(b.column(2).is_null(2));
        // A value or a quoted "" after the last column is data: a ragged record.
        for csv in ["1,a,1.5,x\n", "1,a,1.5,\"\"\n"] {
            let e = bad(decode_chunk(&c, &chunk(csv), &mut t));
            assert!(e.reason.to_string().contains("expected 3 fields, found 4"));
        }
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
        let e = bad(decode_chunk(&c, &chunk("x,a,1\n2,b\n"), &mut t));
        assert_eq!((e.record, e.column), (0, Some(0)), "{}", e.reason);
        // A bad value (record 1) before a syntax error (record 2).
        let e = bad(decode_chunk(
            &c,
            &chunk("1,a,1\n2,b,x\n3,\"c\"d,1\n"),
            &mut t,
        ));
        assert_eq!((e.record, e.column), (1, Some(2)), "{}", e.reason);
        // Clean records before the syntax error: the syntax error.
        let e = bad(decode_chunk(&c, &chunk("1,a,1\n3,\"c\"d,1\n"), &mut t));
        assert_eq!((e.record, e.column), (1, None));
        assert!(
            e.reason.to_string().contains("after a closing quote"),
            "{}",
            e.reason
        );
        // Invalid UTF-8 (record 0) before a ragged record (record 1), as the fuzzer found it.
        let c = ctx(r#"[{"name":"s","type":"utf8"}]"#, OnError::Fail);
        let ch = raw_chunk(b"a\xacb\n3,z\n");
        let e = bad(decode_chunk(&c, &ch, &mut t));
        assert_eq!(e.record, 0, "{}", e.reason);
        assert!(e.reason.to_string().contains("UTF-8"), "{}", e.reason);
    }

    /// Found by the `decode` fuzz target: two invalid fields whose bytes together are UTF-8
    /// (`"\xef\xbb"` then `"\xbfid"`) passed the whole-column check, the array could not be
    /// built and the batch failed with an internal error instead of applying the policy.
    #[test]
    fn a_character_split_across_fields_is_invalid_utf8() {
        let schema = r#"[{"name":"s","type":"utf8"}]"#;
        let ch = raw_chunk(b"ok\n\xef\xbb\n\xbfid\nend\n");
        let mut t = Tokens::default();
        let e = bad(decode_chunk(&ctx(schema, OnError::Fail), &ch, &mut t));
        assert_eq!((e.record, e.column), (1, Some(0)), "{}", e.reason);
        assert!(e.reason.to_string().contains("UTF-8"), "{}", e.reason);
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
        let e = bad(decode_chunk(&c, &bad_int, &mut t));
        assert_eq!(e.column, Some(0));
        assert!(e.reason.to_string().contains("Int64"), "{}", e.reason);
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
        let e = bad(decode_chunk(&c, &ch, &mut t));
        assert_eq!((e.record, e.column), (1, Some(1)));
        assert!(e.reason.to_string().contains("UTF-8"));
    }
}
