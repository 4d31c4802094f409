//! The output parts' line of the budget: how large the parts of a multipart upload are, from
//! the input's size, within what the rest of the budget leaves of the limit.

use super::MemoryBudget;
use crate::config::MIB;
use crate::decode::compression::Codec;

/// Output part size unless the input's size needs larger ones (8 MiB: AWS's guidance for
/// multipart uploads is 8-16 MiB parts).
pub const DEFAULT_PART_BYTES: usize = 8 * MIB;
/// Parts S3 accepts in one multipart upload.
const MAX_UPLOAD_PARTS: u64 = 10_000;
/// Parts the plan assumes the output needs at most (headroom under [`MAX_UPLOAD_PARTS`]).
const PLANNED_PARTS: u64 = 9_000;
impl MemoryBudget {
    /// The part size for an input of `size` bytes (when known) compressed with `codec`, unless
    /// `--part-bytes` set it. Multipart uploads allow 10,000 parts: the size is planned
    /// assuming the output is no larger than the decompressed input (estimated at 10x a
    /// compressed one), with headroom (9,000 parts), never below the default and never above
    /// what the room affords ([`MemoryBudget::max_part_bytes`]: 12 MiB at 256 MiB, 105 MiB at
    /// 1 GiB), so the parts' line stays within the limit. An input that needs more makes
    /// [`MemoryBudget::part_warning`] at the start; an output that does need more than 10,000
    /// parts fails at part 10,001 with an error that says to raise the memory limit.
    pub fn for_input(self, size: Option<u64>, codec: Codec) -> Self {
        let Some(size) = size else {
            return self;
        };
        let compressed = codec != Codec::None;
        let estimate = if compressed {
            size.saturating_mul(10)
        } else {
            size
        };
        let input_estimate = Some((estimate, compressed));
        if self.fixed.parts {
            return MemoryBudget {
                input_estimate,
                ..self
            };
        }
        let part_bytes = needed_part_bytes(estimate)
            .clamp(self.part_bytes, self.max_part_bytes().max(self.part_bytes));
        // Larger parts take their bytes from the room the held pages have.
        MemoryBudget {
            part_bytes,
            input_estimate,
            ..self
        }
        .with_held_room()
    }

    /// The largest part the room affords: the default part plus an even share of the room
    /// (the parts' line counts each part `parts_in_flight + 2` times).
    pub fn max_part_bytes(&self) -> usize {
        let default_line = DEFAULT_PART_BYTES * (self.parts_in_flight + 2);
        let others = self.lines() - self.part_bytes * (self.parts_in_flight + 2);
        let room = self
            .limit
            .saturating_sub(others + default_line + self.limit / 4);
        DEFAULT_PART_BYTES + room / (self.parts_in_flight + 2) / MIB * MIB
    }

    /// A warning when the input may need more parts than an upload holds: the plan assumes
    /// the output is no larger than the decompressed input, and [`MemoryBudget::for_input`]
    /// could not make parts that large within the limit.
    pub fn part_warning(&self) -> Option<String> {
        let (estimate, compressed) = self.input_estimate?;
        let holds = self.part_bytes as u64 * MAX_UPLOAD_PARTS;
        if estimate <= holds {
            return None;
        }
        let needed = needed_part_bytes(estimate);
        let raise = (1..=64)
            .map(|n| self.limit + n * 64 * MIB)
            .find(|&l| MemoryBudget::derive(l, self.workers).max_part_bytes() >= needed)
            .map_or_else(String::new, |l| {
                format!(
                    "; --memory-limit {} MiB affords parts of {} MiB",
                    l / MIB,
                    needed / MIB
                )
            });
        let gib = |n: u64| n as f64 / (1u64 << 30) as f64;
        Some(format!(
            "the input ({:.1} GiB{}) could make an output larger than an upload's 10,000 parts of {} MiB hold ({:.1} GiB), and this --memory-limit affords no larger parts{raise} (Parquet is usually several times smaller than its CSV, so most such outputs still fit)",
            gib(estimate),
            if compressed { " once decompressed, estimated at 10x" } else { "" },
            self.part_bytes / MIB,
            gib(holds),
        ))
    }
}

/// The part size that makes `estimate` bytes in [`PLANNED_PARTS`] parts, in whole MiB.
fn needed_part_bytes(estimate: u64) -> usize {
    let bytes = estimate.div_ceil(PLANNED_PARTS).div_ceil(MIB as u64) * MIB as u64;
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConvertOptions;

    #[test]
    fn part_size_is_planned_from_the_input() {
        let two = || ConvertOptions::default().with_workers(2);
        let b = two().validate().unwrap();
        let gib = 1u64 << 30;
        let plan = |b: MemoryBudget, size, codec| b.for_input(size, codec);
        let part = |size, codec| plan(b, size, codec).part_bytes;
        assert_eq!(part(None, Codec::None), 8 << 20);
        assert_eq!(part(Some(50 * gib), Codec::None), 8 << 20);
        // 100 GiB needs 12 MiB parts to stay under 9,000; the room at 256 MiB affords 12.
        assert_eq!(b.max_part_bytes(), 12 * MIB);
        let p = plan(b, Some(100 * gib), Codec::None);
        assert_eq!(p.part_bytes, 12 * MIB);
        assert_eq!(p.part_warning(), None);
        // 200 GiB would need 23 MiB: the parts stop at 12 MiB, with a warning that names the
        // limit that affords them.
        let p = plan(b, Some(200 * gib), Codec::None);
        assert_eq!(p.part_bytes, 12 * MIB);
        let warning = p.part_warning().unwrap();
        assert!(
            warning.contains("10,000 parts of 12 MiB")
                && warning.contains("--memory-limit 384 MiB affords parts of 23 MiB"),
            "{warning}"
        );
        // At 1 GiB the room affords them.
        let big = two().with_memory_limit(1024 * MIB).validate().unwrap();
        let p = plan(big, Some(200 * gib), Codec::None);
        assert_eq!((p.part_bytes, p.part_warning()), (23 * MIB, None));
        // A compressed input is estimated at 10x.
        assert_eq!(part(Some(5 * 1024 * gib), Codec::Gzip), 12 * MIB);
        assert!(plan(b, Some(20 * gib), Codec::Gzip)
            .part_warning()
            .unwrap()
            .contains("200.0 GiB once decompressed"));
        // At every limit the planned parts keep the lines within the limit, held pages
        // included, and the held pages give way to the parts.
        for limit in [64, 128, 256, 312, 512, 1024, 4096] {
            let b = two().with_memory_limit(limit * MIB).validate().unwrap();
            let p = plan(b, Some(1 << 50), Codec::None);
            assert!(p.part_bytes >= b.part_bytes, "{limit}");
            let total = p.lines() + p.spill_held_bytes;
            let before = b.lines() + b.spill_held_bytes;
            assert!(total <= (p.limit / 4 * 3).max(before), "{limit}: {total}");
            assert!(p.spill_held_bytes <= b.spill_held_bytes, "{limit}");
        }
        // Set by --part-bytes: kept, and the warning still says what the parts hold.
        let set = ConvertOptions {
            part_bytes: Some(6 * MIB),
            ..two()
        };
        let set = set.validate().unwrap();
        let p = set.for_input(Some(200 * gib), Codec::None);
        assert_eq!(p.part_bytes, 6 * MIB);
        assert!(p.part_warning().unwrap().contains("parts of 6 MiB"));
    }

    #[test]
    fn part_bytes_beyond_the_room_are_refused() {
        let at = |limit: usize, part: usize| {
            ConvertOptions {
                part_bytes: Some(part),
                ..ConvertOptions::default()
                    .with_workers(2)
                    .with_memory_limit(limit)
            }
            .validate()
        };
        assert_eq!(at(256 * MIB, 12 * MIB).unwrap().part_bytes, 12 * MIB);
        let e = at(256 * MIB, 16 * MIB).unwrap_err().to_string();
        assert!(e.contains("--part-bytes") && e.contains("12 MiB"), "{e}");
        // Larger parts take the held pages' room: the lines stay within the limit.
        let b = at(256 * MIB, 12 * MIB).unwrap();
        assert!(b.lines() + b.spill_held_bytes <= b.limit);
        assert!(b.spill_held_bytes < 16 * MIB);
        assert_eq!(at(1024 * MIB, 64 * MIB).unwrap().part_bytes, 64 * MIB);
    }
}
