//! Chunk sizes from the records the head measured ([`MemoryBudget::for_records`]): about 4096
//! records a chunk, and smaller where a record decodes to more than the chunks' line allows.

use super::MemoryBudget;

/// Records a chunk holds when [`MemoryBudget::for_records`] sizes it.
pub(super) const CHUNK_RECORDS: usize = 4096;
/// The smallest chunk [`MemoryBudget::for_records`] chooses for its record count.
pub(super) const MIN_CHUNK_BYTES: usize = 256 * 1024;
/// The smallest chunk a schema of short fields is shrunk to (a 1 KiB record still has 64
/// records a chunk).
const MIN_FITTED_CHUNK_BYTES: usize = 64 * 1024;
/// What the chunks' line counts a chunk in flight decoded, in percent of its text, unless its
/// records take more (see [`MemoryBudget::lines`]).
pub(super) const DECODED_PERCENT: usize = 300;

/// One record of the input as the head measured it: its text, and what it takes decoded
/// (computed by [`crate::decode::batch::decoded_record_bytes`] from the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSize {
    /// Bytes of text (the head's average).
    pub text: usize,
    /// Bytes while a worker decodes it: the text, the tokens' copy of it, every field's span
    /// and quoted flag, its Arrow values.
    pub decoding: usize,
    /// Bytes once decoded, while it waits to be encoded: its Arrow values.
    pub decoded: usize,
}

impl MemoryBudget {
    /// Chunks sized for records of `record` (the head's average), unless `--chunk-bytes` set
    /// them: about 4096 records, at least 256 KiB and at most the derived size. Smaller chunks
    /// are more in flight and a longer row-group lag in parts, but only half as many bytes as
    /// the derived ones: the budget holds with room to spare. Then [`MemoryBudget::fitted`].
    ///
    /// Why smaller chunks: a chunk, its tokens and its Arrow arrays are read column by column
    /// several times over, and that stays in a core's L2 (2 MiB here) at 1 MiB of text, not at
    /// 4 MiB. Measured on 1 GiB files, 2 workers, 3 alternating runs, medians against 4 MiB
    /// chunks (5 in flight, lag 4): text (1.1 MiB chunks) wall 3.31 -> 3.12 s, user CPU 5.42
    /// -> 4.87 s, peak RSS ~205 -> 157 MiB; taxi (436 KiB) wall 3.68 -> 3.31 s, user 6.57 ->
    /// 5.45 s, RSS ~230 -> 176 MiB. Wide records keep large chunks: a 300-column file of ~1.8
    /// KB records was 6% slower at 1 MiB, with twice the row groups (20% larger output), since
    /// each chunk is then few records per column.
    pub fn for_records(self, record: RecordSize) -> Self {
        if self.fixed.chunks {
            return self;
        }
        let chunk_bytes = record
            .text
            .saturating_mul(CHUNK_RECORDS)
            .clamp(MIN_CHUNK_BYTES.min(self.chunk_bytes), self.chunk_bytes);
        // Half the bytes: as many smaller chunks in flight as the derived window in bytes gave
        // no more speed and a larger peak RSS (taxi 235-260 MiB against 155-205).
        let half = |n: usize| (n * self.chunk_bytes / (2 * chunk_bytes)).max(n);
        MemoryBudget {
            chunk_bytes,
            chunks_in_flight: half(self.chunks_in_flight),
            cut_lag_parts: half(self.cut_lag_parts),
            ..self
        }
        .fitted(record)
    }

    /// Chunks made smaller where their records decode to more than [`DECODED_PERCENT`] of
    /// their text in flight: a worker's chunk holds its text, tokens, spans and values
    /// ([`RecordSize::decoding`]), the others wait as values ([`RecordSize::decoded`]). The
    /// chunks' line keeps the bytes it was planned with: the chunk shrinks by as much as the
    /// decoded forms grow (`decoded_percent`). Taxi (19 columns, ~110-byte records), text and
    /// the 1,000-column shape fit as they are; 100 columns of one-digit integers (2 bytes a
    /// field: a 9-byte span and flag and an 8-byte value each) need ~2x.
    fn fitted(self, record: RecordSize) -> Self {
        let in_flight = self.chunks_in_flight.max(1);
        let decoding = self.workers.clamp(1, in_flight);
        let needed = (decoding as u128) * record.decoding as u128
            + ((in_flight - decoding) as u128) * record.decoded as u128;
        let percent = (needed * 100).div_ceil(in_flight as u128 * record.text.max(1) as u128);
        let percent = usize::try_from(percent).unwrap_or(usize::MAX);
        if percent <= self.decoded_percent {
            return self;
        }
        let chunk_bytes =
            (self.chunk_bytes as u128 * self.decoded_percent as u128 / percent as u128) as usize;
        MemoryBudget {
            chunk_bytes: chunk_bytes.max(MIN_FITTED_CHUNK_BYTES.min(self.chunk_bytes)),
            decoded_percent: percent,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConvertOptions, MIB};

    /// A record that decodes to its text's line exactly: chunks are sized by count alone.
    fn plain(text: usize) -> RecordSize {
        RecordSize {
            text,
            decoding: text.saturating_mul(DECODED_PERCENT) / 100,
            decoded: text,
        }
    }

    #[test]
    fn fitted_chunks_halve_the_window_and_the_lag_in_bytes() {
        let b = ConvertOptions::default().validate().unwrap();
        assert_eq!(
            (b.chunk_bytes, b.chunks_in_flight, b.cut_lag_parts),
            (4 * MIB, 5, 4)
        );
        for (record, chunk, in_flight, lag) in [
            (10, MIN_CHUNK_BYTES, 40, 32),
            (110, 110 * CHUNK_RECORDS, 23, 18),
            (285, 285 * CHUNK_RECORDS, 8, 7),
            (1800, 4 * MIB, 5, 4),
            (usize::MAX, 4 * MIB, 5, 4),
        ] {
            let f = b.for_records(plain(record));
            assert_eq!(
                (f.chunk_bytes, f.chunks_in_flight, f.cut_lag_parts),
                (chunk, in_flight, lag),
                "{record}"
            );
            assert!(f.chunks_in_flight * f.chunk_bytes * 3 <= b.limit / 4);
            assert_eq!((f.limit, f.row_group_bytes), (b.limit, b.row_group_bytes));
        }
        // A small limit: the derived chunk is below the minimum and stays as it is.
        let small = MemoryBudget::derive(crate::budget::MIN_MEMORY_LIMIT, 2);
        assert_eq!(small.for_records(plain(10)), small);
        // Chunks set by an option stay as set.
        let set = ConvertOptions {
            chunk_bytes: Some(MIB),
            ..ConvertOptions::default()
        };
        let set = set.validate().unwrap();
        assert_eq!(set.for_records(plain(10)), set);
    }

    /// Records that decode to more than the line allows get chunks small enough that the
    /// chunks in flight, decoding and decoded, fit the line; the others keep their size.
    #[test]
    fn chunks_of_short_fields_shrink_until_their_decoded_forms_fit_the_line() {
        let b = ConvertOptions {
            memory_limit: 128 * MIB,
            ..ConvertOptions::default()
        }
        .validate()
        .unwrap();
        // 100 one-digit integers: 200 bytes of text; decoding 2x text + 100 x (9 + 8) + 16
        // + validity; decoded the values.
        let digits = RecordSize {
            text: 200,
            decoding: 400 + 1700 + 16 + 13,
            decoded: 813,
        };
        let counted = b.for_records(plain(200));
        let fitted = b.for_records(digits);
        assert!(fitted.chunk_bytes < counted.chunk_bytes / 2 + counted.chunk_bytes / 8);
        assert!(fitted.chunk_bytes > counted.chunk_bytes / 4);
        assert_eq!(fitted.chunks_in_flight, counted.chunks_in_flight);
        let line = |b: &MemoryBudget| b.chunks_in_flight * b.chunk_bytes * b.decoded_percent / 100;
        assert!(line(&fitted) <= line(&counted));
        assert_eq!(
            fitted.lines() - line(&fitted),
            counted.lines() - line(&counted)
        );
        let records = fitted.chunk_bytes / digits.text;
        let decoding = fitted.workers.min(fitted.chunks_in_flight);
        let held = records
            * (decoding * digits.decoding + (fitted.chunks_in_flight - decoding) * digits.decoded);
        assert!(held <= line(&fitted), "{held} > {}", line(&fitted));
        // A record within the line keeps the counted size.
        let taxi = RecordSize {
            text: 110,
            decoding: 560,
            decoded: 150,
        };
        assert_eq!(b.for_records(taxi), b.for_records(plain(110)));
        // However short the fields, a chunk keeps a floor.
        let empty = RecordSize {
            text: 1,
            decoding: 1 << 20,
            decoded: 1 << 20,
        };
        assert_eq!(b.for_records(empty).chunk_bytes, MIN_FITTED_CHUNK_BYTES);
    }
}
