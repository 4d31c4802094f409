//! A column's arrays as one spill segment, without Arrow IPC's framing: the column-wise
//! encoder spills each column's held arrays as a segment and reads it back at the cut.
//!
//! IPC frames every array as a message (a flatbuffer header, its schema once per stream, each
//! buffer padded to 64 bytes). A 3,000-column file at a 128 MiB limit holds ~85 rows per
//! array, so the framing was about a third of what was spilled, and spilled bytes are what cut
//! a spilled row group. Here an array is a 32-byte header (rows, then the bytes of its
//! validity, offsets and values) and those buffers, each padded to 16 bytes, sliced to the
//! array (an array that is a slice of a larger batch writes only its own values; string
//! offsets start at 0). Read back, the arrays are slices of the segment's bytes; a buffer
//! that comes back misaligned is copied (`align_buffers`), and every array is validated as
//! the IPC reader does (offsets within the values, UTF-8).
//!
//! Flat arrays only: Boolean, UTF-8 strings and the fixed-width primitives (integers,
//! floats, dates, times, timestamps, decimals). Other types keep IPC ([`supports`]).

use arrow::array::{make_array, Array, ArrayDataBuilder, ArrayRef, AsArray};
use arrow::buffer::Buffer;
use arrow::datatypes::DataType;
use arrow::error::ArrowError;

/// Sections are padded to this many bytes (Decimal128 values need 16-byte alignment).
const ALIGN: usize = 16;
/// Bytes of an array's header: rows, validity bytes, offsets bytes, values bytes.
const HEADER: usize = 32;

/// Whether arrays of `data_type` can be written as a segment.
pub(super) fn supports(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Boolean | DataType::Utf8) || data_type.primitive_width().is_some()
}

/// The sections of one array: validity, offsets and values (each may be empty).
fn sections(array: &dyn Array) -> Result<[Buffer; 3], ArrowError> {
    let data_type = array.data_type();
    let nulls = array.nulls().filter(|n| n.null_count() > 0).map_or_else(
        || Buffer::from_vec::<u8>(Vec::new()),
        |n| n.inner().sliced(),
    );
    let (offsets, values) = match data_type {
        DataType::Utf8 => {
            let strings = array.as_string::<i32>();
            let offsets = strings.value_offsets();
            let first = offsets.first().copied().unwrap_or(0);
            let last = offsets.last().copied().unwrap_or(0);
            let rebased: Vec<i32> = offsets.iter().map(|o| o - first).collect();
            let (from, to) = (to_usize(first)?, to_usize(last)?);
            let values = strings.values().slice_with_length(from, to - from);
            (Buffer::from_vec(rebased), values)
        }
        DataType::Boolean => {
            let values = array.as_boolean().values();
            (Buffer::from_vec::<u8>(Vec::new()), values.sliced())
        }
        _ => {
            let width = data_type.primitive_width().ok_or_else(|| {
                ArrowError::NotYetImplemented(format!("a spill segment of {data_type}"))
            })?;
            let data = array.to_data();
            let values = data.buffers().first().ok_or_else(|| {
                ArrowError::InvalidArgumentError(format!("a {data_type} array without values"))
            })?;
            let values = values.slice_with_length(data.offset() * width, data.len() * width);
            (Buffer::from_vec::<u8>(Vec::new()), values)
        }
    };
    Ok([nulls, offsets, values])
}

fn to_usize(offset: i32) -> Result<usize, ArrowError> {
    usize::try_from(offset)
        .map_err(|_| ArrowError::InvalidArgumentError(format!("a negative offset {offset}")))
}

fn padded(len: usize) -> usize {
    len.next_multiple_of(ALIGN)
}

/// Append `arrays` (all of one supported type) to `out` as one segment.
pub(super) fn write(arrays: &[ArrayRef], out: &mut Vec<u8>) -> Result<(), ArrowError> {
    let mut all = Vec::with_capacity(arrays.len());
    let mut total = 0;
    for array in arrays.iter().filter(|a| !a.is_empty()) {
        let parts = sections(array.as_ref())?;
        total += HEADER + parts.iter().map(|p| padded(p.len())).sum::<usize>();
        all.push((array.len(), parts));
    }
    out.reserve(total);
    for (rows, parts) in &all {
        for n in [*rows, parts[0].len(), parts[1].len(), parts[2].len()] {
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
        for part in parts {
            out.extend_from_slice(part.as_slice());
            out.resize(out.len() + padded(part.len()) - part.len(), 0);
        }
    }
    Ok(())
}

/// The arrays of a segment written by [`write`] for `data_type`.
pub(super) fn read(segment: Buffer, data_type: &DataType) -> Result<Vec<ArrayRef>, ArrowError> {
    let corrupt = |what: &str| {
        ArrowError::IpcError(format!(
            "a spill segment of {data_type} is corrupt ({what})"
        ))
    };
    let mut arrays = Vec::new();
    let mut at = 0;
    while at < segment.len() {
        let header = segment
            .as_slice()
            .get(at..at + HEADER)
            .ok_or_else(|| corrupt("a header is cut short"))?;
        let mut fields = [0usize; 4];
        for (field, bytes) in fields.iter_mut().zip(header.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes);
            *field = usize::try_from(u64::from_le_bytes(word))
                .map_err(|_| corrupt("a length does not fit"))?;
        }
        at += HEADER;
        let [rows, sizes @ ..] = fields;
        let mut parts = Vec::with_capacity(3);
        for size in sizes {
            let next = size
                .checked_next_multiple_of(ALIGN)
                .and_then(|size| at.checked_add(size))
                .filter(|&next| next <= segment.len())
                .ok_or_else(|| corrupt("a buffer passes its end"))?;
            parts.push(segment.slice_with_length(at, size));
            at = next;
        }
        let mut builder = ArrayDataBuilder::new(data_type.clone())
            .len(rows)
            .align_buffers(true);
        let mut parts = parts.into_iter();
        let (nulls, offsets, values) = (parts.next(), parts.next(), parts.next());
        if let Some(nulls) = nulls.filter(|n| !n.is_empty()) {
            builder = builder.null_bit_buffer(Some(nulls));
        }
        if *data_type == DataType::Utf8 {
            builder = builder.add_buffer(offsets.unwrap_or_else(|| Buffer::from_vec::<u8>(vec![])));
        }
        builder = builder.add_buffer(values.unwrap_or_else(|| Buffer::from_vec::<u8>(vec![])));
        arrays.push(make_array(builder.build()?));
    }
    Ok(arrays)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
        StringArray, TimestampMicrosecondArray,
    };
    use std::sync::Arc;

    /// Arrays of every supported type, whole and sliced at offsets that are not a multiple
    /// of 8, with and without nulls, read back equal.
    #[test]
    fn arrays_of_every_supported_type_come_back_equal() {
        let n = 37;
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter(
                (0..n).map(|i| (i % 5 != 0).then_some(i * 1000)),
            )),
            Arc::new(Int32Array::from_iter_values(0..n as i32)),
            Arc::new(Float64Array::from_iter(
                (0..n).map(|i| (i % 3 != 0).then_some(i as f64 / 7.0)),
            )),
            Arc::new(Date32Array::from_iter_values(0..n as i32)),
            Arc::new(TimestampMicrosecondArray::from_iter_values(0..n).with_timezone("UTC")),
            Arc::new(
                Decimal128Array::from_iter(
                    (0..n).map(|i| (i % 4 != 0).then_some(i128::from(i) * 12_345)),
                )
                .with_precision_and_scale(20, 3)
                .unwrap(),
            ),
            Arc::new(BooleanArray::from_iter(
                (0..n).map(|i| (i % 6 != 0).then_some(i % 2 == 0)),
            )),
            Arc::new(StringArray::from_iter(
                (0..n).map(|i| (i % 7 != 0).then(|| "é".repeat(i as usize % 4))),
            )),
        ];
        for array in arrays {
            assert!(supports(array.data_type()));
            let parts = [
                array.slice(0, 10),
                array.slice(13, 11),
                array.slice(3, 0),
                array.slice(29, 8),
            ];
            let mut out = Vec::new();
            write(&parts, &mut out).unwrap();
            assert_eq!(out.len() % ALIGN, 0);
            let back = read(Buffer::from_vec(out), array.data_type()).unwrap();
            let expected: Vec<&ArrayRef> = parts.iter().filter(|p| !p.is_empty()).collect();
            assert_eq!(back.len(), expected.len());
            for (b, e) in back.iter().zip(expected) {
                assert_eq!(b.to_data(), e.to_data(), "{}", array.data_type());
            }
        }
    }

    #[test]
    fn a_cut_segment_is_an_error_not_a_panic() {
        let array: ArrayRef = Arc::new(StringArray::from(vec!["a", "bc", "def"]));
        let mut out = Vec::new();
        write(&[array], &mut out).unwrap();
        for len in [1, HEADER - 1, HEADER + 3, out.len() - 1] {
            assert!(read(Buffer::from_vec(out[..len].to_vec()), &DataType::Utf8).is_err());
        }
        let mut bad = out.clone();
        bad[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(read(Buffer::from_vec(bad), &DataType::Utf8).is_err());
        assert!(!supports(&DataType::LargeUtf8));
    }
}
