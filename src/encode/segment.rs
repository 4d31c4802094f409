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
//! Integers, dates, times and timestamps are narrowed: an array whose values lie within 2^8,
//! 2^16 or 2^32 of its least valid value is stored as the differences from it in 1, 2 or 4
//! bytes (a null slot as 0), and widened again as it is read back. A column of one-digit codes
//! typed Int64 spilled 8 bytes a value, against 2 of CSV; spilled bytes are what cut a spilled
//! row group and what the spill file costs in writes. Segments are read back an array at a
//! time ([`Segment`]), so a widened array exists only while it is encoded.
//!
//! Flat arrays only: Boolean, UTF-8 strings and the fixed-width primitives (integers,
//! floats, dates, times, timestamps, decimals). Other types keep IPC ([`supports`]).

use arrow::array::{make_array, Array, ArrayDataBuilder, ArrayRef, AsArray};
use arrow::buffer::{Buffer, NullBuffer};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;

/// Sections are padded to this many bytes (Decimal128 values need 16-byte alignment).
const ALIGN: usize = 16;
/// Bytes of an array's header: rows, validity bytes, offsets bytes, values bytes, and for a
/// narrowed array the base and the bytes each value is stored in (0: not narrowed).
const HEADER: usize = 48;

/// Whether arrays of `data_type` can be written as a segment.
pub(super) fn supports(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Boolean | DataType::Utf8) || data_type.primitive_width().is_some()
}

/// How a narrowed array's values are stored: each as its difference from `base` in `width`
/// bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Narrow {
    base: i64,
    width: usize,
}

/// The bytes of a value of `data_type` when it is an integer kind that is narrowed.
fn narrowed_width(data_type: &DataType) -> Option<usize> {
    use DataType::*;
    let kind = matches!(
        data_type,
        Int32 | Int64 | UInt32 | UInt64 | Date32 | Date64 | Time32(_) | Time64(_) | Duration(_)
    ) || matches!(data_type, Timestamp(..));
    kind.then(|| data_type.primitive_width())
        .flatten()
        .filter(|w| matches!(w, 4 | 8))
}

/// The values of an array of `N`-byte integers (little-endian) as i64.
fn ints<const N: usize>(values: &[u8], int: fn([u8; N]) -> i64) -> impl Iterator<Item = i64> + '_ {
    words::<N>(values).map(int)
}

/// `bytes` as whole `N`-byte words (a shorter tail is left out).
fn words<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes.chunks_exact(N).map(|c| {
        let mut word = [0u8; N];
        word.copy_from_slice(c);
        word
    })
}

fn int4(w: [u8; 4]) -> i64 {
    i64::from(i32::from_le_bytes(w))
}

fn int8(w: [u8; 8]) -> i64 {
    i64::from_le_bytes(w)
}

/// `values` narrowed, when their valid ones lie close enough together to save bytes.
fn narrow<const N: usize>(
    values: &[u8],
    nulls: Option<&NullBuffer>,
    int: fn([u8; N]) -> i64,
) -> Option<(Narrow, Buffer)> {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    match nulls {
        None => ints(values, int).for_each(|v| {
            lo = lo.min(v);
            hi = hi.max(v);
        }),
        Some(nulls) => ints(values, int).zip(nulls.iter()).for_each(|(v, valid)| {
            if valid {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }),
    }
    let span = (i128::from(hi) - i128::from(lo)).max(0);
    let width = [1usize, 2, 4]
        .into_iter()
        .find(|w| span < 1i128 << (8 * w))?;
    if width >= N {
        return None;
    }
    let base = if lo > hi { 0 } else { lo };
    let diff = move |v: i64| v.wrapping_sub(base) as u64;
    let stored = match nulls {
        None => pack(ints(values, int).map(diff), width, values.len() / N),
        Some(nulls) => pack(
            ints(values, int)
                .zip(nulls.iter())
                .map(|(v, valid)| if valid { diff(v) } else { 0 }),
            width,
            values.len() / N,
        ),
    };
    Some((Narrow { base, width }, Buffer::from_vec(stored)))
}

/// Differences in `width` bytes each (little-endian); each fits.
fn pack(diffs: impl Iterator<Item = u64>, width: usize, rows: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * width);
    match width {
        1 => out.extend(diffs.map(|d| d as u8)),
        2 => diffs.for_each(|d| out.extend_from_slice(&(d as u16).to_le_bytes())),
        _ => diffs.for_each(|d| out.extend_from_slice(&(d as u32).to_le_bytes())),
    }
    out
}

/// Values stored by [`narrow`] as `native`-byte integers again (`stored` holds whole values).
fn widen(stored: &[u8], narrow: Narrow, native: usize) -> Buffer {
    let base = narrow.base;
    let at = move |d: u64| base.wrapping_add(d as i64);
    match narrow.width {
        1 => natives(stored.iter().map(|&d| at(u64::from(d))), native),
        2 => natives(
            words::<2>(stored).map(|d| at(u64::from(u16::from_le_bytes(d)))),
            native,
        ),
        _ => natives(
            words::<4>(stored).map(|d| at(u64::from(u32::from_le_bytes(d)))),
            native,
        ),
    }
}

/// `values` as a buffer of `native`-byte integers (4: i32, else i64); each fits.
fn natives(values: impl Iterator<Item = i64>, native: usize) -> Buffer {
    if native == 4 {
        Buffer::from_vec(values.map(|v| v as i32).collect::<Vec<i32>>())
    } else {
        Buffer::from_vec(values.collect::<Vec<i64>>())
    }
}

/// The sections of one array: validity, offsets and values (each may be empty), and how the
/// values are narrowed.
fn sections(array: &dyn Array) -> Result<([Buffer; 3], Option<Narrow>), ArrowError> {
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
            let valid = array.nulls().filter(|n| n.null_count() > 0);
            let narrowed = match narrowed_width(data_type) {
                Some(4) => narrow::<4>(values.as_slice(), valid, int4),
                Some(_) => narrow::<8>(values.as_slice(), valid, int8),
                None => None,
            };
            let empty = Buffer::from_vec::<u8>(Vec::new());
            if let Some((how, stored)) = narrowed {
                return Ok(([nulls, empty, stored], Some(how)));
            }
            (empty, values)
        }
    };
    Ok(([nulls, offsets, values], None))
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
        let (parts, narrowed) = sections(array.as_ref())?;
        total += HEADER + parts.iter().map(|p| padded(p.len())).sum::<usize>();
        all.push((array.len(), parts, narrowed));
    }
    out.reserve(total);
    for (rows, parts, narrowed) in &all {
        let (base, width) = narrowed.map_or((0, 0), |n| (n.base, n.width));
        let lengths = [*rows, parts[0].len(), parts[1].len(), parts[2].len()];
        for n in lengths
            .into_iter()
            .map(|n| n as u64)
            .chain([base as u64, width as u64])
        {
            out.extend_from_slice(&n.to_le_bytes());
        }
        for part in parts {
            out.extend_from_slice(part.as_slice());
            out.resize(out.len() + padded(part.len()) - part.len(), 0);
        }
    }
    Ok(())
}

/// The arrays of a segment written by [`write`] for `data_type`, in order, each read (and
/// widened) as it is taken.
pub(super) fn read(segment: Buffer, data_type: &DataType) -> Segment {
    Segment {
        segment,
        at: 0,
        data_type: data_type.clone(),
    }
}

/// The arrays of a segment being read back; see [`read`]. After an error it ends.
pub(super) struct Segment {
    segment: Buffer,
    at: usize,
    data_type: DataType,
}

impl Iterator for Segment {
    type Item = Result<ArrayRef, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.segment.len() {
            return None;
        }
        let array = self.array();
        if array.is_err() {
            self.at = self.segment.len();
        }
        Some(array)
    }
}

impl Segment {
    fn corrupt(&self, what: &str) -> ArrowError {
        let data_type = &self.data_type;
        ArrowError::IpcError(format!(
            "a spill segment of {data_type} is corrupt ({what})"
        ))
    }

    /// The array at `at`, moving past it.
    fn array(&mut self) -> Result<ArrayRef, ArrowError> {
        let header = self
            .segment
            .as_slice()
            .get(self.at..self.at + HEADER)
            .ok_or_else(|| self.corrupt("a header is cut short"))?;
        let mut fields = [0u64; 6];
        for (field, bytes) in fields.iter_mut().zip(words::<8>(header)) {
            *field = u64::from_le_bytes(bytes);
        }
        let size = |n: u64| usize::try_from(n).map_err(|_| self.corrupt("a length does not fit"));
        let [rows, nulls, offsets, values, base, width] = fields;
        let (rows, sizes, width) = (
            size(rows)?,
            [size(nulls)?, size(offsets)?, size(values)?],
            size(width)?,
        );
        self.at += HEADER;
        let mut parts = Vec::with_capacity(3);
        for size in sizes {
            let next = size
                .checked_next_multiple_of(ALIGN)
                .and_then(|size| self.at.checked_add(size))
                .filter(|&next| next <= self.segment.len())
                .ok_or_else(|| self.corrupt("a buffer passes its end"))?;
            parts.push(self.segment.slice_with_length(self.at, size));
            self.at = next;
        }
        let mut builder = ArrayDataBuilder::new(self.data_type.clone())
            .len(rows)
            .align_buffers(true);
        let [nulls, offsets, values] =
            <[Buffer; 3]>::try_from(parts).map_err(|_| self.corrupt("a section is missing"))?;
        if !nulls.is_empty() {
            builder = builder.null_bit_buffer(Some(nulls));
        }
        if self.data_type == DataType::Utf8 {
            builder = builder.add_buffer(offsets);
        }
        let values = match (width, narrowed_width(&self.data_type)) {
            (0, _) => values,
            (1 | 2 | 4, Some(native)) if rows.checked_mul(width) == Some(values.len()) => {
                let narrow = Narrow {
                    base: base as i64,
                    width,
                };
                widen(values.as_slice(), narrow, native)
            }
            _ => return Err(self.corrupt("narrowed values do not match their rows")),
        };
        builder = builder.add_buffer(values);
        Ok(make_array(builder.build()?))
    }
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
            let back: Vec<ArrayRef> = read(Buffer::from_vec(out), array.data_type())
                .collect::<Result<_, _>>()
                .unwrap();
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
        let fails = |bytes: Vec<u8>, data_type: &DataType| {
            let mut arrays = read(Buffer::from_vec(bytes), data_type);
            let first = arrays.next();
            assert!(matches!(first, Some(Err(_))), "{first:?}");
            assert!(arrays.next().is_none());
        };
        for len in [1, HEADER - 1, HEADER + 3, out.len() - 1] {
            fails(out[..len].to_vec(), &DataType::Utf8);
        }
        let mut bad = out.clone();
        bad[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        fails(bad, &DataType::Utf8);
        assert!(!supports(&DataType::LargeUtf8));
        // A narrowed array whose stored width does not match its values.
        let array: ArrayRef = Arc::new(Int64Array::from(vec![7, 8, 9]));
        let mut out = Vec::new();
        write(&[array], &mut out).unwrap();
        assert_eq!(out[40], 1);
        for width in [2u8, 3, 8] {
            let mut bad = out.clone();
            bad[40] = width;
            fails(bad, &DataType::Int64);
        }
    }

    /// Integer arrays whose valid values lie within 2^8, 2^16 or 2^32 are stored in 1, 2 or 4
    /// bytes a value, whatever their null slots hold, and read back equal; others as they are.
    #[test]
    fn close_integers_are_stored_narrow_and_read_back_equal() {
        let n = 1000i64;
        let cases: Vec<(ArrayRef, usize)> = vec![
            (
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 10))),
                1,
            ),
            (
                Arc::new(Int64Array::from_iter_values(
                    (0..n).map(|i| -1_000_000 + i % 256),
                )),
                1,
            ),
            (
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i * 65))),
                2,
            ),
            (
                Arc::new(Int64Array::from_iter_values(
                    (0..n).map(|i| i64::MAX - i * 4_000_000),
                )),
                4,
            ),
            (
                Arc::new(Int64Array::from_iter_values([
                    i64::MIN,
                    i64::MAX,
                    i64::MIN,
                    0,
                ])),
                8,
            ),
            (
                Arc::new(Int32Array::from_iter_values(
                    (0..n as i32).map(|i| i32::MIN + i),
                )),
                2,
            ),
            (
                Arc::new(Int32Array::from_iter_values([
                    i32::MIN,
                    i32::MAX,
                    -1,
                    i32::MAX,
                ])),
                4,
            ),
            (
                Arc::new(Date32Array::from_iter_values(
                    (0..n as i32).map(|i| 19_000 + i % 200),
                )),
                1,
            ),
            (
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        (0..n).map(|i| 1_700_000_000_000_000 + i * 1_000_000),
                    )
                    .with_timezone("UTC"),
                ),
                4,
            ),
            // The null slots hold values far from the valid ones.
            (
                Arc::new(Int64Array::new(
                    (0..n)
                        .map(|i| if i % 3 == 0 { i64::MIN } else { 40 + i % 7 })
                        .collect(),
                    Some((0..n).map(|i| i % 3 != 0).collect()),
                )),
                1,
            ),
            (Arc::new(Int64Array::from(vec![None::<i64>; 5])), 1),
        ];
        for (array, width) in cases {
            let data_type = array.data_type().clone();
            let native = data_type.primitive_width().unwrap();
            let parts = [
                array.slice(0, array.len() / 2),
                array.slice(array.len() / 2, array.len() - array.len() / 2),
            ];
            let mut out = Vec::new();
            write(&parts, &mut out).unwrap();
            let values: usize = parts.iter().map(|p| padded(p.len() * width)).sum();
            let nulls: usize = parts
                .iter()
                .map(|p| padded(p.nulls().map_or(0, |n| n.buffer().len())))
                .sum();
            assert!(
                out.len() <= 2 * HEADER + values + nulls,
                "{data_type} in {width} bytes: {}",
                out.len()
            );
            assert_eq!(
                out[40] as usize,
                if width < native { width } else { 0 },
                "{data_type}"
            );
            let back: Vec<ArrayRef> = read(Buffer::from_vec(out), &data_type)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(back.len(), 2);
            for (b, e) in back.iter().zip(&parts) {
                assert_eq!(b.as_ref(), e.as_ref(), "{data_type}");
                assert_eq!(b.data_type(), &data_type);
            }
        }
    }
}
