//! Exact decimals into `i128` at a precision and scale.

use super::{digit, digits_short, split_sign, POW10_U128, POW10_U64};

// ---------------------------------------------------------------------------
// Decimals
// ---------------------------------------------------------------------------

/// Appends an all-digit slice to `m` (any length), `None` on overflow.
#[inline]
fn append_digits_u128(mut m: u128, s: &[u8]) -> Option<u128> {
    for chunk in s.chunks(19) {
        let p = POW10_U128.get(chunk.len())?;
        m = m
            .checked_mul(*p)?
            .checked_add(u128::from(digits_short(chunk)?))?;
    }
    Some(m)
}

/// Rescales digits with `frac_len` fraction digits to `scale`, exactly.
#[inline(always)]
fn rescale(m: u128, frac_len: usize, scale: i8) -> Option<u128> {
    let shift = i64::from(scale) - i64::try_from(frac_len).ok()?;
    let p = *POW10_U128.get(usize::try_from(shift.unsigned_abs()).ok()?)?;
    if shift >= 0 {
        m.checked_mul(p)
    } else if m % p == 0 {
        Some(m / p)
    } else {
        None
    }
}

/// Single-pass u64 path for short text (at most 19 bytes, so no overflow)
/// with at most `scale` fraction digits. `None` means "use
/// [`decimal_slow`]", which also decides validity.
#[inline(always)]
fn decimal_fast(s: &[u8], scale: i8) -> Option<u128> {
    if s.len() > 19 {
        return None;
    }
    let mut m = 0u64;
    let mut dot = None;
    for (i, &c) in s.iter().enumerate() {
        match digit(c) {
            Some(d) => m = m * 10 + u64::from(d),
            None if c == b'.' && dot.is_none() => dot = Some(i),
            None => return None,
        }
    }
    let frac_len = dot.map_or(0, |p| s.len() - p - 1);
    if s.len() == usize::from(dot.is_some()) {
        return None; // no digits
    }
    let shift = usize::try_from(scale).ok()?.checked_sub(frac_len)?;
    Some(u128::from(m.checked_mul(*POW10_U64.get(shift)?)?))
}

/// General path: any length, trailing fraction zeros, negative scale.
#[inline(never)]
fn decimal_slow(s: &[u8], scale: i8) -> Option<u128> {
    let (int, frac) = match s.iter().position(|&c| c == b'.') {
        Some(p) => (s.get(..p)?, s.get(p + 1..)?),
        None => (s, &[][..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let trimmed = frac.len() - frac.iter().rev().take_while(|&&c| c == b'0').count();
    let frac = frac.get(..trimmed)?;
    let m = append_digits_u128(append_digits_u128(0, int)?, frac)?;
    rescale(m, frac.len(), scale)
}

/// Exact decimal to an unscaled `i128` at `scale`.
///
/// Grammar: optional sign, digits, optional '.' and digits (at least one
/// digit overall); no exponent. More fraction digits than `scale` give
/// `None` unless the extra ones are zeros (never rounds). More than
/// `precision` (1..=38) digits in the unscaled value give `None`. `scale`
/// must be within -38..=38 (a negative scale requires trailing integer zeros).
#[inline]
pub fn parse_decimal128(b: &[u8], precision: u8, scale: i8) -> Option<i128> {
    if !(1..=38).contains(&precision) || !(-38..=38).contains(&scale) {
        return None;
    }
    let (neg, s) = split_sign(b);
    let m = match decimal_fast(s, scale) {
        Some(m) => m,
        None => decimal_slow(s, scale)?,
    };
    if m >= *POW10_U128.get(usize::from(precision))? {
        return None;
    }
    // m < 10^38 < i128::MAX.
    let v = i128::try_from(m).ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use crate::decode::values::test_helpers::*;

    // ----- decimals -----

    #[test]
    fn decimals_accept() {
        assert_eq!(dec("12.3", 10, 2), Some(1230));
        assert_eq!(dec("-12.3", 10, 2), Some(-1230));
        assert_eq!(dec("+12.30", 10, 2), Some(1230));
        assert_eq!(dec("12", 10, 2), Some(1200));
        assert_eq!(dec("12.", 10, 2), Some(1200));
        assert_eq!(dec(".5", 10, 2), Some(50));
        assert_eq!(dec("-.05", 10, 2), Some(-5));
        assert_eq!(dec("0", 1, 0), Some(0));
        assert_eq!(dec("-0.00", 1, 0), Some(0));
        assert_eq!(dec("000123.4500", 5, 2), Some(12_345));
        assert_eq!(
            dec("1.2300000000000000000000000000000000000000000", 3, 2),
            Some(123)
        );
        assert_eq!(dec("0.001", 3, 5), Some(100));
        assert_eq!(dec("7", 38, 0), Some(7));
    }

    #[test]
    fn decimals_never_round() {
        assert_eq!(dec("12.345", 10, 2), None);
        assert_eq!(dec("12.3450", 10, 3), Some(12_345));
        assert_eq!(dec("12.3401", 10, 2), None);
        assert_eq!(dec("0.5", 10, 0), None);
        assert_eq!(
            dec("0.0000000000000000000000000000000000000000001", 38, 38),
            None
        );
        assert_eq!(dec("5.000", 10, 0), Some(5));
    }

    #[test]
    fn decimals_precision() {
        assert_eq!(dec("99999", 5, 0), Some(99_999));
        assert_eq!(dec("100000", 5, 0), None);
        assert_eq!(dec("999.99", 5, 2), Some(99_999));
        assert_eq!(dec("1000.00", 5, 2), None);
        assert_eq!(dec("-999.99", 5, 2), Some(-99_999));
        assert_eq!(
            dec("0000000000000000000000000000000000000000000001", 1, 0),
            Some(1)
        );
        let max38 = "9".repeat(38);
        let want = 10i128.pow(38) - 1;
        assert_eq!(dec(&max38, 38, 0), Some(want));
        assert_eq!(dec(&format!("-{max38}"), 38, 0), Some(-want));
        assert_eq!(dec(&format!("1{max38}"), 38, 0), None);
        let frac38 = format!("0.{max38}");
        assert_eq!(dec(&frac38, 38, 38), Some(want));
        assert_eq!(dec(&"9".repeat(60), 38, 0), None);
        assert_eq!(dec("1", 38, 38), None); // 10^38 needs 39 digits
        let mixed = format!("{}.{}", "1".repeat(20), "2".repeat(10));
        assert_eq!(
            dec(&mixed, 38, 10),
            format!("{}{}", "1".repeat(20), "2".repeat(10)).parse().ok()
        );
    }

    #[test]
    fn decimals_negative_scale_and_bad_args() {
        assert_eq!(dec("1200", 5, -2), Some(12));
        assert_eq!(dec("1250", 5, -2), None);
        assert_eq!(dec("0", 5, -38), Some(0));
        assert_eq!(dec("1200.5", 5, -2), None);
        assert_eq!(dec("1", 0, 0), None);
        assert_eq!(dec("1", 39, 0), None);
        assert_eq!(dec("1", 10, 39), None);
        assert_eq!(dec("1", 10, -39), None);
    }

    #[test]
    fn decimals_reject_syntax() {
        for bad in [
            "", ".", "-", "+", "-.", "1e5", "1E5", "1.2.3", " 1", "1 ", "1_000", "1,5", "--1",
            "+-1", "nan", "inf", "0x1", "1.5e0", "١",
        ] {
            assert_eq!(dec(bad, 38, 5), None, "{bad:?}");
        }
    }
}
