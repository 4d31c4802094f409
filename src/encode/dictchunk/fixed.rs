//! The dictionary of a chunk of fixed-width values (integers, dates, times, timestamps,
//! doubles): one multiplication of the value's bits into an open-addressed table whose slots
//! hold a key beside its entry's index.

use arrow::array::ArrayData;
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, TimeUnit};

use super::{empty_slot, empty_table, Range, MAX_ENTRIES};

/// Slots of the hash table to begin with (a power of two).
const FIRST_SLOTS: usize = 1024;

/// The multiplier of the hash (2^64 over the golden ratio): a key's top bits after it pick
/// the slot.
const HASH: u64 = 0x9E37_79B9_7F4A_7C15;

/// The physical values a chunk takes, and how their bits order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Width {
    /// INT32: `Int32`, `Date32`.
    I32,
    /// INT64: `Int64`, `Time64(µs)`, timestamps of ms, µs and ns.
    I64,
    /// DOUBLE: `Float64`.
    F64,
}

impl Width {
    /// The width of `data_type`'s values, if this module writes them.
    pub(super) fn of(data_type: &DataType) -> Option<Width> {
        match data_type {
            DataType::Int32 | DataType::Date32 => Some(Width::I32),
            DataType::Int64
            | DataType::Time64(TimeUnit::Microsecond)
            | DataType::Timestamp(
                TimeUnit::Millisecond | TimeUnit::Microsecond | TimeUnit::Nanosecond,
                _,
            ) => Some(Width::I64),
            DataType::Float64 => Some(Width::F64),
            _ => None,
        }
    }

    pub(super) fn bytes(self) -> usize {
        match self {
            Width::I32 => 4,
            Width::I64 | Width::F64 => 8,
        }
    }

    /// A key of `bits` whose signed order is the column's sort order (IEEE 754 total order
    /// for doubles, as the crate's statistics use).
    #[inline]
    fn order(self, bits: u64) -> i64 {
        match self {
            Width::I32 => i64::from(bits as u32 as i32),
            Width::I64 => bits as i64,
            Width::F64 => total_order(bits as i64),
        }
    }

    /// The bits of an order key (the inverse of `order`).
    pub(super) fn bits(self, key: i64) -> u64 {
        match self {
            Width::I32 => u64::from(key as i32 as u32),
            Width::I64 => key as u64,
            Width::F64 => total_order(key) as u64,
        }
    }

    /// The little-endian bytes of the value of `bits` (PLAIN encoding, and the column index).
    fn put(self, bits: u64, out: &mut Vec<u8>) {
        match self {
            Width::I32 => out.extend_from_slice(&(bits as u32).to_le_bytes()),
            Width::I64 | Width::F64 => out.extend_from_slice(&bits.to_le_bytes()),
        }
    }

    pub(super) fn le_bytes(self, bits: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(8);
        self.put(bits, &mut out);
        out
    }
}

/// The signed integer whose order is the total order of the double of `bits`; its own inverse.
#[inline]
fn total_order(bits: i64) -> i64 {
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// A dictionary of fixed-width values, and the open page's range.
pub(super) struct Fixed {
    pub(super) width: Width,
    /// PLAIN dictionary bytes at which the chunk is handed back.
    limit: usize,
    /// Open addressing: a slot's mark is its entry's index plus one (0 when empty), its key
    /// the entry's bits.
    marks: Vec<u32>,
    keys: Vec<u64>,
    /// 64 minus the table's bits: a hash's top bits pick the slot.
    shift: u32,
    /// The entries' bits, in index order.
    entries: Vec<u64>,
    /// The least and greatest order keys of the open page's values.
    lo: i64,
    hi: i64,
}

impl Fixed {
    pub(super) fn new(width: Width, limit: usize) -> Self {
        Fixed {
            width,
            limit,
            marks: empty_table(FIRST_SLOTS),
            keys: empty_table(FIRST_SLOTS),
            shift: 64 - FIRST_SLOTS.trailing_zeros(),
            entries: Vec::new(),
            lo: i64::MAX,
            hi: i64::MIN,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of the dictionary page's values.
    pub(super) fn plain_len(&self) -> usize {
        self.entries.len() * self.width.bytes()
    }

    pub(super) fn state_bytes(&self) -> usize {
        self.marks.capacity() * 4 + self.keys.capacity() * 8 + self.entries.capacity() * 8
    }

    /// Add the indices of rows `at..end` of `data` (the valid ones) to `indices`; false when
    /// the dictionary is full or a NaN came.
    pub(super) fn take(
        &mut self,
        data: &ArrayData,
        nulls: Option<&NullBuffer>,
        at: usize,
        end: usize,
        indices: &mut Vec<u64>,
    ) -> bool {
        match self.width {
            Width::I32 => {
                let values = data.buffer::<i32>(0);
                self.take_values(values, nulls, at, end, indices, |v| u64::from(v as u32))
            }
            Width::I64 => {
                let values = data.buffer::<i64>(0);
                self.take_values(values, nulls, at, end, indices, |v| v as u64)
            }
            Width::F64 => {
                let values = data.buffer::<f64>(0);
                self.take_values(values, nulls, at, end, indices, f64::to_bits)
            }
        }
    }

    fn take_values<T: Copy>(
        &mut self,
        values: &[T],
        nulls: Option<&NullBuffer>,
        at: usize,
        end: usize,
        indices: &mut Vec<u64>,
        bits: impl Fn(T) -> u64,
    ) -> bool {
        let Some(values) = values.get(at..end) else {
            return false;
        };
        match nulls {
            None => self.take_bits(values.iter().map(|&v| bits(v)), indices),
            Some(nulls) => {
                let valid = nulls.inner().slice(at, end - at);
                let mut bits = valid.set_indices().map(|i| values.get(i).map(|&v| bits(v)));
                // A valid row past the values (not in a well-formed array) ends the take.
                let mut short = false;
                let taken = self.take_bits(
                    std::iter::from_fn(|| match bits.next() {
                        Some(Some(b)) => Some(b),
                        Some(None) => {
                            short = true;
                            None
                        }
                        None => None,
                    }),
                    indices,
                );
                taken && !short
            }
        }
    }

    /// Add the indices of `bits` to `indices`, and their order keys to the page's range;
    /// false when the dictionary cannot take one. Lookups that find their value run with the
    /// table's fields held in locals; only a new value leaves that loop, to be added.
    #[inline(always)]
    fn take_bits(&mut self, mut bits: impl Iterator<Item = u64>, indices: &mut Vec<u64>) -> bool {
        let (mut lo, mut hi) = (self.lo, self.hi);
        let width = self.width;
        let mut next = bits.next();
        let mut taken = true;
        while let Some(first) = next {
            next = None;
            let (marks, keys, shift) = (&self.marks[..], &self.keys[..], self.shift);
            let mask = marks.len() - 1;
            let mut b = first;
            loop {
                let mut slot = (b.wrapping_mul(HASH) >> shift) as usize & mask;
                let found = loop {
                    let mark = marks[slot];
                    if mark == 0 {
                        break None;
                    }
                    if keys[slot] == b {
                        break Some(mark - 1);
                    }
                    slot = (slot + 1) & mask;
                };
                let Some(index) = found else {
                    next = Some(b);
                    break;
                };
                indices.push(u64::from(index));
                let key = width.order(b);
                (lo, hi) = (lo.min(key), hi.max(key));
                match bits.next() {
                    Some(n) => b = n,
                    None => break,
                }
            }
            let Some(new) = next else {
                break;
            };
            let Some(index) = self.intern(new) else {
                taken = false;
                break;
            };
            indices.push(u64::from(index));
            let key = width.order(new);
            (lo, hi) = (lo.min(key), hi.max(key));
            next = bits.next();
        }
        (self.lo, self.hi) = (lo, hi);
        taken
    }

    /// The open page's range (none for a page of nulls), and a new page begun.
    pub(super) fn page_range(&mut self) -> Option<Range> {
        let range = (self.lo <= self.hi).then_some(Range::Fixed(self.lo, self.hi));
        (self.lo, self.hi) = (i64::MAX, i64::MIN);
        range
    }

    /// The index of `bits` in the dictionary, added if new; none when the dictionary reached
    /// its limit or the value is a NaN. A slot's key sits beside its mark, so a probe's two
    /// loads go out together, and the table is kept at most a quarter full, so that a lookup
    /// rarely probes twice: a second probe is a mispredicted branch, which stalls the lookups
    /// in flight behind it (at half full the function took 7.5% of the wide shape's CPU, ~8
    /// ns a value).
    #[inline(always)]
    fn intern(&mut self, bits: u64) -> Option<u32> {
        let mask = self.marks.len() - 1;
        let mut slot = (bits.wrapping_mul(HASH) >> self.shift) as usize & mask;
        loop {
            let mark = self.marks[slot];
            if mark == 0 {
                break;
            }
            if self.keys[slot] == bits {
                return Some(mark - 1);
            }
            slot = (slot + 1) & mask;
        }
        let nan = self.width == Width::F64 && f64::from_bits(bits).is_nan();
        if nan
            || self.entries.len() >= MAX_ENTRIES
            || (self.entries.len() + 1) * self.width.bytes() >= self.limit
        {
            return None;
        }
        let index = u32::try_from(self.entries.len()).ok()?;
        self.entries.push(bits);
        self.marks[slot] = index + 1;
        self.keys[slot] = bits;
        if self.entries.len() * 4 > self.marks.len() {
            self.grow();
        }
        Some(index)
    }

    /// Double the table and place every entry again.
    fn grow(&mut self) {
        let len = self.marks.len() * 2;
        self.marks = empty_table(len);
        self.keys = empty_table(len);
        self.shift -= 1;
        let mask = len - 1;
        for (index, &bits) in self.entries.iter().enumerate() {
            let slot = empty_slot(
                &self.marks,
                (bits.wrapping_mul(HASH) >> self.shift) as usize & mask,
            );
            self.marks[slot] = index as u32 + 1;
            self.keys[slot] = bits;
        }
    }

    /// The dictionary page's values (PLAIN), the table freed.
    pub(super) fn plain(&mut self) -> Vec<u8> {
        self.marks = Vec::new();
        self.keys = Vec::new();
        let mut plain = Vec::with_capacity(self.entries.len() * self.width.bytes());
        for &bits in &self.entries {
            self.width.put(bits, &mut plain);
        }
        plain
    }
}
