//! A column's validity bitmap, built lazily.

use arrow::array::BooleanBufferBuilder;
use arrow::buffer::NullBuffer;

/// Builds a validity bitmap lazily: no allocation until the first null.
pub(crate) struct ValidityBuilder {
    len: usize,
    bits: Option<BooleanBufferBuilder>,
}

impl ValidityBuilder {
    pub(crate) fn new(len: usize) -> Self {
        ValidityBuilder { len, bits: None }
    }

    #[inline]
    pub(crate) fn push_null(&mut self, index: usize) {
        let len = self.len;
        let bits = self.bits.get_or_insert_with(|| {
            let mut b = BooleanBufferBuilder::new(len);
            b.append_n(len, true);
            b
        });
        bits.set_bit(index, false);
    }

    pub(crate) fn finish(self) -> Option<NullBuffer> {
        self.bits.map(|mut b| NullBuffer::new(b.finish()))
    }
}
