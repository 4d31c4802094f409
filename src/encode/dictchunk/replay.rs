//! Handing a chunk back part-way. The lanes keep a chunk open for a whole row group without
//! holding its arrays; when it declines (its dictionary is full, or a NaN came), the rows it
//! took are decoded from its own pages and written to the crate's writer, which goes on with
//! the rest. (The column-wise writer holds its arrays and writes them again instead.)

use std::sync::Arc;

use arrow::array::UInt32Array;
use arrow::array::{make_array, new_null_array, Array, ArrayData, ArrayRef, StringArray};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer};
use arrow::datatypes::DataType;
use bytes::Bytes;
use parquet::encodings::rle::RleDecoder;
use parquet::errors::ParquetError;

use super::{DictChunk, Kind, PResult, Table};

fn arrow_error(e: arrow::error::ArrowError) -> ParquetError {
    ParquetError::External(Box::new(e))
}

fn short(what: &str) -> ParquetError {
    ParquetError::General(format!("a replayed page's {what} came back short"))
}

impl DictChunk {
    /// Write the rows it took, a page at a time, as arrays of `data_type` (its column's).
    pub(in crate::encode) fn replay(
        mut self,
        data_type: &DataType,
        write: &mut dyn FnMut(&ArrayRef) -> PResult<()>,
    ) -> PResult<()> {
        self.flush_page()?;
        let entries = self.table.len();
        let plain = match &mut self.table {
            Table::Fixed(t) => t.plain(),
            Table::Strings(t) => t.plain(),
        };
        let values = dictionary(data_type, self.kind, plain, entries)?;
        for i in 0..self.stats.len() {
            let (rows, nulls) = (self.stats[i].rows, self.stats[i].nulls);
            if entries == 0 || nulls == rows {
                write(&new_null_array(data_type, rows))?;
                continue;
            }
            let body = self.pages.take_body(i)?;
            let spec = self.pages.specs.get(i).copied();
            let spec = spec.ok_or_else(|| short("page"))?;
            let page = match &mut self.compressor {
                Some(codec) => {
                    let size = (spec.uncompressed as usize).saturating_sub(spec.header);
                    let mut out = Vec::with_capacity(size);
                    codec.decompress(&body, &mut out, Some(size))?;
                    Bytes::from(out)
                }
                None => body,
            };
            let keys = self.keys(page, rows, nulls)?;
            write(&arrow::compute::take(&values, &keys, None).map_err(arrow_error)?)?;
        }
        Ok(())
    }

    /// A data page's dictionary indices, a null where its level is 0.
    fn keys(&self, page: Bytes, rows: usize, nulls: usize) -> PResult<UInt32Array> {
        let mut at = 0;
        let valid = if self.nullable {
            let head: [u8; 4] = page
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| short("levels"))?;
            let len = u32::from_le_bytes(head) as usize;
            let levels = page.get(4..4 + len).ok_or_else(|| short("levels"))?;
            let mut decoder = RleDecoder::new(1);
            decoder.set_data(page.slice(4..4 + levels.len()))?;
            let mut bits = vec![false; rows];
            if decoder.get_batch(&mut bits)? != rows {
                return Err(short("levels"));
            }
            at = 4 + len;
            Some(BooleanBuffer::from(bits))
        } else {
            None
        };
        let width = *page.get(at).ok_or_else(|| short("indices"))?;
        let mut decoder = RleDecoder::new(width);
        decoder.set_data(page.slice(at + 1..))?;
        let mut indices = vec![0u32; rows - nulls];
        if decoder.get_batch(&mut indices)? != indices.len() {
            return Err(short("indices"));
        }
        Ok(match valid {
            None => UInt32Array::from(indices),
            Some(valid) => {
                let mut next = indices.into_iter();
                let keys: Vec<u32> = valid
                    .iter()
                    .map(|v| if v { next.next().unwrap_or(0) } else { 0 })
                    .collect();
                UInt32Array::new(keys.into(), Some(NullBuffer::new(valid)))
            }
        })
    }
}

/// The dictionary's `entries` values as an array of `data_type`, from its PLAIN page.
fn dictionary(
    data_type: &DataType,
    kind: Kind,
    plain: Vec<u8>,
    entries: usize,
) -> PResult<ArrayRef> {
    match kind {
        Kind::Fixed(_) => {
            let data = ArrayData::builder(data_type.clone())
                .len(entries)
                .add_buffer(Buffer::from_vec(plain))
                .align_buffers(true)
                .build()
                .map_err(arrow_error)?;
            Ok(make_array(data))
        }
        Kind::Utf8 => {
            let mut offsets = Vec::with_capacity(entries + 1);
            let mut bytes = Vec::with_capacity(plain.len().saturating_sub(4 * entries));
            offsets.push(0i32);
            let mut at = 0;
            while at < plain.len() {
                let head: [u8; 4] = plain
                    .get(at..at + 4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| short("dictionary"))?;
                let len = u32::from_le_bytes(head) as usize;
                let value = plain
                    .get(at + 4..at + 4 + len)
                    .ok_or_else(|| short("dictionary"))?;
                bytes.extend_from_slice(value);
                let end = i32::try_from(bytes.len())
                    .map_err(|_| ParquetError::General("dictionary too large".into()))?;
                offsets.push(end);
                at += 4 + len;
            }
            let array = StringArray::try_new(
                OffsetBuffer::new(offsets.into()),
                Buffer::from_vec(bytes),
                None,
            )
            .map_err(arrow_error)?;
            if array.len() != entries {
                return Err(short("dictionary"));
            }
            Ok(Arc::new(array))
        }
    }
}
