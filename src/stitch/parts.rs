//! The parts of a multipart upload that writes a stitched file: server-side copies of fragment
//! ranges where S3 allows them, uploads of bytes read back where it does not.
//!
//! S3's rules: every part but the last is at least 5 MiB, no part is over 5 GiB, at most 10,000
//! parts. A fragment range of 5 MiB or more becomes copy parts (`UploadPartCopy` with a byte
//! range: no data through the caller); smaller ranges are read and gathered, with the head of
//! the next range when needed, into upload parts of 5 MiB or more (the whole next range when
//! what would be left of it could not be copied); the footer goes into the last part, alone or
//! after the gathered bytes. So the bytes read back stay under 10 MiB per part, whatever the
//! fragment sizes, and none are read when every fragment is 5 MiB or more.

use std::ops::Range;

use crate::error::{Error, Result};

/// S3's smallest part (but the last).
pub const MIN_PART: u64 = 5 * 1024 * 1024;
/// S3's largest part.
pub const MAX_PART: u64 = 5 * 1024 * 1024 * 1024;
/// S3's most parts per upload.
pub const MAX_PARTS: usize = 10_000;

/// One part of the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Copy `range` of fragment `fragment` server-side.
    Copy {
        /// Index of the fragment.
        fragment: usize,
        /// Its bytes.
        range: Range<u64>,
    },
    /// Upload these ranges of fragments, read back and joined, then the footer if `footer`.
    Upload {
        /// (fragment, range), in order.
        segments: Vec<(usize, Range<u64>)>,
        /// Whether the footer follows them (the last part).
        footer: bool,
    },
}

impl Part {
    /// Bytes of the part without the footer.
    pub fn data_len(&self) -> u64 {
        match self {
            Part::Copy { range, .. } => range.end - range.start,
            Part::Upload { segments, .. } => segments.iter().map(|(_, r)| r.end - r.start).sum(),
        }
    }
}

/// The parts for `pieces` (as [`super::Stitch::pieces`]) followed by a footer, with parts of
/// at least `min` bytes (S3: [`MIN_PART`]; tests use less) and at most `max`.
pub fn plan_parts(pieces: &[(usize, Range<u64>)], min: u64, max: u64) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    let mut gathered: Vec<(usize, Range<u64>)> = Vec::new();
    let mut gathered_len = 0u64;
    for (fragment, range) in pieces {
        let mut range = range.clone();
        if gathered_len > 0 && gathered_len < min {
            // Top the gathered bytes up to a whole part with the head of this range, unless
            // what would be left of it is too small to copy: then take it all.
            let want = min - gathered_len;
            let len = range.end - range.start;
            let take = if len.saturating_sub(want) < min {
                len
            } else {
                want
            };
            if take > 0 {
                gathered.push((*fragment, range.start..range.start + take));
            }
            gathered_len += take;
            range.start += take;
        }
        if gathered_len >= min {
            parts.push(Part::Upload {
                segments: std::mem::take(&mut gathered),
                footer: false,
            });
            gathered_len = 0;
        }
        let len = range.end - range.start;
        if len == 0 {
            continue;
        }
        if len < min {
            gathered.push((*fragment, range));
            gathered_len += len;
            continue;
        }
        // Copy parts of at most `max`; the last one at least `min`.
        let count = len.div_ceil(max);
        let step = len.div_ceil(count);
        let mut at = range.start;
        while at < range.end {
            let end = (at + step).min(range.end);
            parts.push(Part::Copy {
                fragment: *fragment,
                range: at..end,
            });
            at = end;
        }
    }
    parts.push(Part::Upload {
        segments: gathered,
        footer: true,
    });
    if parts.len() > MAX_PARTS {
        return Err(Error::Internal(format!(
            "a stitched upload of {} parts: S3 takes at most {MAX_PARTS}",
            parts.len()
        )));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts cover the pieces exactly, in order; every part but the last is in
    /// `min..=max`.
    fn check(pieces: &[(usize, Range<u64>)], min: u64, max: u64) -> Vec<Part> {
        let parts = plan_parts(pieces, min, max).unwrap();
        let mut covered: Vec<(usize, Range<u64>)> = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            if !last {
                assert!((min..=max).contains(&p.data_len()), "{p:?} in {parts:?}");
            }
            match p {
                Part::Copy { fragment, range } => covered.push((*fragment, range.clone())),
                Part::Upload { segments, footer } => {
                    assert_eq!(*footer, last);
                    covered.extend(segments.iter().cloned());
                }
            }
        }
        // Join adjacent ranges of one fragment and compare.
        let mut joined: Vec<(usize, Range<u64>)> = Vec::new();
        for (f, r) in covered {
            match joined.last_mut() {
                Some((lf, lr)) if *lf == f && lr.end == r.start => lr.end = r.end,
                _ => joined.push((f, r)),
            }
        }
        let expected: Vec<(usize, Range<u64>)> = pieces
            .iter()
            .filter(|(_, r)| r.end > r.start)
            .cloned()
            .collect();
        assert_eq!(joined, expected);
        parts
    }

    #[test]
    fn large_fragments_are_copied_small_ones_gathered() {
        let parts = check(&[(0, 0..50), (1, 4..30), (2, 4..5), (3, 4..100)], 10, 40);
        assert!(matches!(parts[0], Part::Copy { fragment: 0, .. }));
        // Exhaustive small cases: sizes 0..25 for three fragments.
        for a in 4..25u64 {
            for b in 4..25u64 {
                for c in 4..25u64 {
                    check(&[(0, 0..a), (1, 4..b), (2, 4..c)], 8, 16);
                }
            }
        }
    }

    #[test]
    fn one_small_file_is_one_part() {
        let parts = check(&[(0, 0..100)], MIN_PART, MAX_PART);
        assert_eq!(parts.len(), 1);
    }
}
