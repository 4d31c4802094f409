//! The dictionary of a chunk of strings (`Utf8`): a hash of the bytes into an open-addressed
//! table of 8-byte slots (32 bits of the hash beside the entry's index, so that a probe
//! compares bytes only when the hashes agree), at most half full, the entries kept as the
//! PLAIN dictionary page they become (a 4-byte length, then the bytes).
//!
//! The crate's byte-array writer interns each value through a general-purpose hasher and a
//! byte comparison behind calls, and compares each value twice more for the page's minimum
//! and maximum: on the wide shape its interner, `memcmp`, `hash_one` and `write_gather` took
//! ~9% of the CPU. Here a page's range is found when it is flushed, among its distinct
//! entries only (a stamp per entry marks those already compared).

use arrow::array::ArrayData;
use arrow::buffer::NullBuffer;

use super::{empty_slot, empty_table, Range, MAX_ENTRIES};

/// Slots of the hash table to begin with (a power of two).
const FIRST_SLOTS: usize = 1024;

/// The dictionary page's bytes at most (the 4-byte lengths included): with its
/// [`MAX_ENTRIES`] and a table at most half full, the state stays inside the line of a
/// column's writer (see `columnwise::COLUMN_WRITER_HEAP`).
pub(super) const MAX_PLAIN_BYTES: usize = 1 << 20;

const K0: u64 = 0x9E37_79B9_7F4A_7C15;
const K1: u64 = 0xD6E8_FEB8_6659_FD93;

/// The high and low halves of the 128-bit product, folded.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut out = [0u8; 8];
    out.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(out)
}

#[inline(always)]
fn half(bytes: &[u8], at: usize) -> u64 {
    let mut out = [0u8; 4];
    out.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(out))
}

/// A hash of `bytes`: up to 16 bytes are read as two (possibly overlapping) words and folded
/// once with the length; longer values fold 16 bytes at a time.
#[inline(always)]
fn hash(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let (mut a, mut b) = match n {
        0 => (0, 0),
        1..=3 => (
            u64::from(bytes[0]) << 16 | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]),
            0,
        ),
        4..=7 => (half(bytes, 0), half(bytes, n - 4)),
        _ => (word(bytes, 0), word(bytes, n.saturating_sub(8))),
    };
    if n > 16 {
        let mut seed = 0;
        let mut at = 0;
        while at + 16 < n {
            seed = fold(word(bytes, at) ^ K0 ^ seed, word(bytes, at + 8) ^ K1);
            at += 16;
        }
        a = word(bytes, n - 16) ^ seed;
        b = word(bytes, n - 8);
    }
    fold(a ^ K0, b ^ K1 ^ n as u64)
}

/// Whether `a` and `b` hold the same bytes: up to 16 compared as two (possibly overlapping)
/// words each, inline, instead of a call to `memcmp` per value.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// Bits of a slot: the tag above the start above the index plus one.
const START_SHIFT: u32 = 16;
const TAG_SHIFT: u32 = 36;
const START_MASK: u64 = (1 << (TAG_SHIFT - START_SHIFT)) - 1;
const INDEX_MASK: u64 = (1 << START_SHIFT) - 1;
const _: () = assert!(MAX_ENTRIES as u64 <= INDEX_MASK && MAX_PLAIN_BYTES as u64 <= START_MASK + 1);

/// The slot of an entry of `hash`, whose bytes start at `start`, at `index`.
#[inline(always)]
fn slot(hash: u64, start: u32, index: u32) -> u64 {
    (hash << TAG_SHIFT) | u64::from(start) << START_SHIFT | u64::from(index + 1)
}

/// A dictionary of strings.
pub(super) struct Strings {
    /// PLAIN dictionary bytes at which the chunk is handed back.
    limit: usize,
    /// Open addressing: a slot holds 28 bits of its entry's hash (the tag), where its bytes
    /// start in `plain`, and its index plus one (all 0 when empty); see [`slot`]. A probe
    /// reads the entry's length and bytes from one place, with no table of spans between.
    slots: Vec<u64>,
    /// 64 minus the table's bits: a hash's top bits pick the slot.
    shift: u32,
    /// The dictionary page: each entry's length (4 bytes, little-endian), then its bytes.
    plain: Vec<u8>,
    /// Each entry's start in `plain` (after its length) and its length.
    spans: Vec<(u32, u32)>,
    /// Each entry's stamp: the last page whose range it was compared for.
    seen: Vec<u32>,
    stamp: u32,
    /// The bytes of the open page's values.
    page_bytes: i64,
}

impl Strings {
    pub(super) fn new(limit: usize) -> Self {
        Strings {
            limit: limit.min(MAX_PLAIN_BYTES),
            slots: empty_table(FIRST_SLOTS),
            shift: 64 - FIRST_SLOTS.trailing_zeros(),
            plain: Vec::new(),
            spans: Vec::new(),
            seen: Vec::new(),
            stamp: 0,
            page_bytes: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Bytes of the dictionary page's values.
    pub(super) fn plain_len(&self) -> usize {
        self.plain.len()
    }

    pub(super) fn state_bytes(&self) -> usize {
        self.slots.capacity() * 8
            + self.plain.capacity()
            + self.spans.capacity() * 8
            + self.seen.capacity() * 4
    }

    fn entry(&self, index: usize) -> &[u8] {
        let (start, len) = self.spans[index];
        &self.plain[start as usize..(start + len) as usize]
    }

    /// Add the indices of rows `at..end` of `data` (a `Utf8` array; the valid rows) to
    /// `indices`; false when the dictionary is full.
    pub(super) fn take(
        &mut self,
        data: &ArrayData,
        nulls: Option<&NullBuffer>,
        at: usize,
        end: usize,
        indices: &mut Vec<u64>,
    ) -> bool {
        let offsets = data.buffer::<i32>(0);
        let values = data.buffers().get(1).map_or(&[][..], |b| b.as_slice());
        let (Some(offsets), Some(&last)) = (offsets.get(at..=end), offsets.get(end)) else {
            return false;
        };
        if usize::try_from(last).map_or(true, |last| last > values.len()) {
            return false;
        }
        let mut bytes = 0;
        let mut taken = true;
        let mut take = |i: usize| {
            let (start, stop) = (offsets[i] as usize, offsets[i + 1] as usize);
            match values.get(start..stop).and_then(|value| self.intern(value)) {
                Some(index) => {
                    indices.push(u64::from(index));
                    bytes += (stop - start) as i64;
                    true
                }
                None => false,
            }
        };
        match nulls {
            None => {
                for i in 0..end - at {
                    taken = take(i);
                    if !taken {
                        break;
                    }
                }
            }
            Some(nulls) => {
                for i in nulls.inner().slice(at, end - at).set_indices() {
                    taken = take(i);
                    if !taken {
                        break;
                    }
                }
            }
        }
        self.page_bytes += bytes;
        taken
    }

    /// The index of `value` in the dictionary, added if new; none when the dictionary reached
    /// its limit.
    #[inline(always)]
    fn intern(&mut self, value: &[u8]) -> Option<u32> {
        let hash = hash(value);
        let mask = self.slots.len() - 1;
        let mut at = (hash >> self.shift) as usize & mask;
        loop {
            let held = self.slots[at];
            if held == 0 {
                break;
            }
            if (held ^ (hash << TAG_SHIFT)) >> TAG_SHIFT == 0 {
                let start = ((held >> START_SHIFT) & START_MASK) as usize;
                let len = (value.len() as u32).to_le_bytes();
                if self.plain.get(start.wrapping_sub(4)..start) == Some(&len[..])
                    && self
                        .plain
                        .get(start..start + value.len())
                        .is_some_and(|entry| same(entry, value))
                {
                    return Some((held & INDEX_MASK) as u32 - 1);
                }
            }
            at = (at + 1) & mask;
        }
        if self.spans.len() >= MAX_ENTRIES || self.plain.len() + 4 + value.len() >= self.limit {
            return None;
        }
        let index = u32::try_from(self.spans.len()).ok()?;
        let len = u32::try_from(value.len()).ok()?;
        self.plain.extend_from_slice(&len.to_le_bytes());
        let start = u32::try_from(self.plain.len()).ok()?;
        self.plain.extend_from_slice(value);
        self.spans.push((start, len));
        self.slots[at] = slot(hash, start, index);
        if self.spans.len() * 2 > self.slots.len() {
            self.grow();
        }
        Some(index)
    }

    /// Double the table and place every entry again.
    fn grow(&mut self) {
        let len = self.slots.len() * 2;
        self.slots = empty_table(len);
        self.shift -= 1;
        let mask = len - 1;
        for (index, &(start, _)) in self.spans.iter().enumerate() {
            let hash = hash(self.entry(index));
            let at = empty_slot(&self.slots, (hash >> self.shift) as usize & mask);
            self.slots[at] = slot(hash, start, index as u32);
        }
    }

    /// The open page's range over its `indices` (none for a page of nulls) and the bytes of
    /// its values; a new page begun.
    pub(super) fn page_range(&mut self, indices: &[u64]) -> (Option<Range>, i64) {
        self.stamp += 1;
        self.seen.resize(self.spans.len(), 0);
        let mut range: Option<(usize, usize)> = None;
        for &index in indices {
            let index = index as usize;
            if self.seen[index] == self.stamp {
                continue;
            }
            self.seen[index] = self.stamp;
            range = Some(match range {
                None => (index, index),
                Some((lo, hi)) => {
                    let value = self.entry(index);
                    (
                        if value < self.entry(lo) { index } else { lo },
                        if value > self.entry(hi) { index } else { hi },
                    )
                }
            });
        }
        let bytes = std::mem::take(&mut self.page_bytes);
        let range =
            range.map(|(lo, hi)| Range::Bytes(self.entry(lo).to_vec(), self.entry(hi).to_vec()));
        (range, bytes)
    }

    /// The dictionary page's values (PLAIN), the table freed.
    pub(super) fn plain(&mut self) -> Vec<u8> {
        self.slots = Vec::new();
        self.seen = Vec::new();
        self.spans = Vec::new();
        std::mem::take(&mut self.plain)
    }
}

/// The truncation of a page's or a chunk's minimum to `length` bytes (at a character
/// boundary, `value` being UTF-8), and whether it was truncated: as the parquet crate's
/// `truncate_min_value`.
pub(super) fn truncate_min(value: &[u8], length: Option<usize>) -> (Vec<u8>, bool) {
    length
        .filter(|&l| value.len() > l)
        .and_then(|l| match std::str::from_utf8(value) {
            Ok(text) => {
                let split = (1..=l).rfind(|&x| text.is_char_boundary(x))?;
                Some(value[..split].to_vec())
            }
            Err(_) => Some(value[..l].to_vec()),
        })
        .map_or_else(|| (value.to_vec(), false), |v| (v, true))
}

/// The truncation of a maximum to `length` bytes with its last character incremented (a
/// bound above every value it stands for), and whether it was truncated: as the crate's
/// `truncate_max_value`.
pub(super) fn truncate_max(value: &[u8], length: Option<usize>) -> (Vec<u8>, bool) {
    length
        .filter(|&l| value.len() > l)
        .and_then(|l| match std::str::from_utf8(value) {
            Ok(text) => {
                let split = (l.saturating_sub(3)..=l).rfind(|&x| text.is_char_boundary(x))?;
                increment_utf8(text.get(..split)?)
            }
            Err(_) => increment(value[..l].to_vec()),
        })
        .map_or_else(|| (value.to_vec(), false), |v| (v, true))
}

/// `text` with its last character that can be incremented without growing incremented, and
/// what followed it cut (the crate's `increment_utf8`).
fn increment_utf8(text: &str) -> Option<Vec<u8>> {
    for (at, c) in text.char_indices().rev() {
        let len = c.len_utf8();
        if let Some(next) = char::from_u32(c as u32 + 1).filter(|n| n.len_utf8() == len) {
            let mut out = text.as_bytes()[..at + len].to_vec();
            next.encode_utf8(&mut out[at..]);
            return Some(out);
        }
    }
    None
}

/// `bytes` incremented as a big-endian number; none when every byte is 0xFF.
fn increment(mut bytes: Vec<u8>) -> Option<Vec<u8>> {
    for byte in bytes.iter_mut().rev() {
        let (next, overflow) = byte.overflowing_add(1);
        *byte = next;
        if !overflow {
            return Some(bytes);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_characters_whole_and_bounds_the_maximum() {
        let value = "ab€d".as_bytes(); // '€' takes bytes 2..5
        assert_eq!(truncate_min(value, Some(4)), (b"ab".to_vec(), true));
        assert_eq!(
            truncate_min(value, Some(5)),
            ("ab€".as_bytes().to_vec(), true)
        );
        assert_eq!(truncate_min(value, Some(6)), (value.to_vec(), false));
        assert_eq!(truncate_min(value, None), (value.to_vec(), false));
        assert_eq!(truncate_max(value, Some(4)), (b"ac".to_vec(), true));
        assert_eq!(
            truncate_max(value, Some(5)),
            ("ab₭".as_bytes().to_vec(), true)
        );
        // U+D7FF cannot be incremented in place (U+D800 is a surrogate): the one before is.
        let high = "a\u{D7FF}zz";
        assert_eq!(
            truncate_max(high.as_bytes(), Some(4)),
            (b"b".to_vec(), true)
        );
        // No character of U+10FFFF can be incremented: the value is kept whole, exact.
        let top = "\u{10FFFF}".repeat(20);
        assert_eq!(
            truncate_max(top.as_bytes(), Some(64)),
            (top.as_bytes().to_vec(), false)
        );
        assert_eq!(increment(vec![1, 0xFF]), Some(vec![2, 0]));
        assert_eq!(increment(vec![0xFF]), None);
    }

    #[test]
    fn same_compares_every_byte_at_every_length() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same(&a, &a.clone()), "{n}");
            assert!(!same(&a, &a[..n.saturating_sub(1)]) || n == 0, "{n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same(&a, &b), "{n} bytes, differing at {at}");
            }
        }
    }

    #[test]
    fn equal_bytes_hash_alike_and_lengths_apart() {
        let values: Vec<Vec<u8>> = (0..40)
            .map(|n| (0..n).map(|i| b'a' + (i % 7) as u8).collect())
            .collect();
        let hashes: std::collections::HashSet<u64> = values.iter().map(|v| hash(v)).collect();
        assert_eq!(hashes.len(), values.len());
        let owned = String::from("abcdefghijklmnopq");
        assert_eq!(hash(b"abcdefghijklmnopq"), hash(owned.as_bytes()));
        assert_ne!(hash(b"abcdefghijklmnopq"), hash(b"abcdefghijklmnopr"));
        assert_ne!(
            hash(b"xbcdefghijklmnopqrstuvwxyz0123456789"),
            hash(b"abcdefghijklmnopqrstuvwxyz0123456789")
        );
    }
}
