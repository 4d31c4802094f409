//! Floats: a fast path for short decimals (exact with one multiplication or division by a power
//! of ten), the standard library for the rest.

use super::{digit, eight_digits, split_sign, POW10_F64, POW10_U64};

// ---------------------------------------------------------------------------
// Floats
// ---------------------------------------------------------------------------

/// Decimal mantissa digits; `m` is meaningful only when `exact`.
#[derive(Clone, Copy)]
struct Mant {
    /// All digits as an integer (wraps when there are more than 19).
    m: u64,
    /// At most 19 significant digits, so `m` is exact.
    exact: bool,
}

/// Outcome of the float syntax check.
enum FloatText {
    Nan(bool),
    Inf(bool),
    /// `neg`, mantissa, decimal exponent.
    Num(bool, Mant, i64),
}

/// Appends a run of digits to `m` (wrapping); returns (digits, rest).
#[inline(always)]
fn digit_run<'a>(s: &'a [u8], m: &mut u64) -> (usize, &'a [u8]) {
    let mut rest = s;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        let Some(v) = eight_digits(chunk) else { break };
        *m = m.wrapping_mul(100_000_000).wrapping_add(v);
        rest = tail;
    }
    while let [c, tail @ ..] = rest {
        let Some(d) = digit(*c) else { break };
        *m = m.wrapping_mul(10).wrapping_add(u64::from(d));
        rest = tail;
    }
    (s.len() - rest.len(), rest)
}

/// Significant digits of a mantissa text with `total` digits (skips leading
/// zeros, including those after the '.').
#[cold]
fn significant_digits(s: &[u8], total: usize) -> usize {
    let lead = s.iter().take_while(|&&c| c == b'0' || c == b'.');
    total - lead.filter(|&&c| c == b'0').count()
}

/// Exponent digits after 'e': optional sign, 1+ digits; magnitude saturates.
#[inline]
fn parse_exp(s: &[u8]) -> Option<i64> {
    const CAP: i64 = 1 << 50;
    let (neg, digits) = split_sign(s);
    if digits.is_empty() {
        return None;
    }
    let mut e: i64 = 0;
    for &c in digits {
        let d = i64::from(digit(c)?);
        e = if e >= CAP { CAP } else { e * 10 + d };
    }
    Some(if neg { -e } else { e })
}

/// "nan" / "inf" / "infinity", ASCII case-insensitive.
#[inline]
fn special(neg: bool, s: &[u8]) -> Option<FloatText> {
    if s.eq_ignore_ascii_case(b"nan") {
        Some(FloatText::Nan(neg))
    } else if s.eq_ignore_ascii_case(b"inf") || s.eq_ignore_ascii_case(b"infinity") {
        Some(FloatText::Inf(neg))
    } else {
        None
    }
}

/// Validates the float grammar and extracts mantissa and exponent.
#[inline]
fn scan_float(b: &[u8]) -> Option<FloatText> {
    let (neg, s) = split_sign(b);
    if !matches!(s.first(), Some(b'0'..=b'9' | b'.')) {
        return special(neg, s);
    }
    let mut m = 0u64;
    let (n_int, rest) = digit_run(s, &mut m);
    let (n_frac, rest) = match rest {
        [b'.', tail @ ..] => digit_run(tail, &mut m),
        _ => (0, rest),
    };
    let total = n_int + n_frac;
    let e = match rest {
        _ if total == 0 => return None,
        [] => 0,
        [b'e' | b'E', tail @ ..] => parse_exp(tail)?,
        _ => return None,
    };
    let exact = total <= 19 || significant_digits(s, total) <= 19;
    let frac = i64::try_from(n_frac).unwrap_or(i64::MAX);
    Some(FloatText::Num(
        neg,
        Mant { m, exact },
        e.saturating_sub(frac),
    ))
}

/// Exact f64 for small mantissas and exponents (Clinger's fast path).
#[inline(always)]
fn fast_f64(a: Mant, e: i64) -> Option<f64> {
    const MAX_EXACT: u64 = 1 << 53;
    if !a.exact || a.m > MAX_EXACT {
        return None;
    }
    if a.m == 0 {
        return Some(0.0);
    }
    let f = a.m as f64;
    if e >= 0 {
        if e <= 22 {
            return Some(f * POW10_F64.get(usize::try_from(e).ok()?)?);
        }
        // Shift extra power into the (still exact) mantissa.
        let extra = POW10_U64.get(usize::try_from(e - 22).ok()?)?;
        let m = a.m.checked_mul(*extra).filter(|&m| m <= MAX_EXACT)?;
        return Some(m as f64 * 1e22);
    }
    let p = POW10_F64.get(usize::try_from(e.unsigned_abs()).ok()?)?;
    Some(f / p)
}

/// Correctly rounded f32 via the exact f64 fast path.
///
/// `d = fast_f64(..)` is the correctly rounded f64 of the decimal `x`. An f32
/// rounding boundary (midpoint between two adjacent f32) is itself an f64, so
/// it cannot lie strictly between `x` and `d`; rounding `d` to f32 therefore
/// equals rounding `x`, unless `d` is exactly such a midpoint (then `x` may
/// be on either side, and we defer to std). Fast-path values lie within
/// 1e-22..=2^53*1e22, i.e. in f32's normal range, where a midpoint is an
/// f64 whose 29 mantissa bits below f32 precision are exactly `1 << 28`.
#[inline(always)]
fn fast_f32(a: Mant, e: i64) -> Option<f32> {
    const LOW: u64 = (1 << 29) - 1;
    let d = fast_f64(a, e)?;
    if d.to_bits() & LOW == 1 << 28 {
        return None;
    }
    Some(d as f32)
}

/// Applies a sign without going through multiplication (keeps -0.0 and NaN).
#[inline(always)]
fn signed<T: std::ops::Neg<Output = T>>(neg: bool, v: T) -> T {
    if neg {
        -v
    } else {
        v
    }
}

/// Decimal float: optional sign, digits with optional '.', optional exponent.
///
/// Accepts "1.", ".5", "1e5", "-0.0", "1.5E-3" and "nan", "inf", "infinity"
/// (optional sign, ASCII case-insensitive). Finite text that overflows to
/// infinity (e.g. "1e400") gives `None`. Correctly rounded: a fast exact path
/// handles short decimals, everything else goes through std's parser.
#[inline]
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    match scan_float(b)? {
        FloatText::Nan(neg) => Some(signed(neg, f64::NAN)),
        FloatText::Inf(neg) => Some(signed(neg, f64::INFINITY)),
        FloatText::Num(neg, a, e) => match fast_f64(a, e) {
            Some(v) => Some(signed(neg, v)),
            None => slow_f64(b),
        },
    }
}

/// std fallback for already validated (ASCII) text; rejects overflow.
#[cold]
fn slow_f64(b: &[u8]) -> Option<f64> {
    let v: f64 = std::str::from_utf8(b).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Same as [`parse_f64`] but correctly rounded to `f32`; overflow gives `None`.
#[inline]
pub fn parse_f32(b: &[u8]) -> Option<f32> {
    match scan_float(b)? {
        FloatText::Nan(neg) => Some(signed(neg, f32::NAN)),
        FloatText::Inf(neg) => Some(signed(neg, f32::INFINITY)),
        FloatText::Num(neg, a, e) => match fast_f32(a, e) {
            Some(v) => Some(signed(neg, v)),
            None => slow_f32(b),
        },
    }
}

/// std fallback for already validated (ASCII) text; rejects overflow.
#[cold]
fn slow_f32(b: &[u8]) -> Option<f32> {
    let v: f32 = std::str::from_utf8(b).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::values::test_helpers::*;
    use crate::decode::values::test_rng::TestRng;
    use crate::decode::values::{
        classify, parse_bool, parse_date32, parse_decimal128, parse_i32, parse_i64,
        parse_timestamp, timestamp_fraction_digits, TsUnit,
    };

    // ----- floats -----

    #[test]
    fn f64_accepts_forms() {
        let cases: [(&str, f64); 16] = [
            ("0", 0.0),
            ("1", 1.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("+.5", 0.5),
            ("-.5", -0.5),
            ("1e5", 1e5),
            ("1E5", 1e5),
            ("1e+5", 1e5),
            ("1.5E-3", 1.5e-3),
            ("2.71", 2.71),
            ("-2.5e10", -2.5e10),
            ("123456789012345", 123_456_789_012_345.0),
            ("0.1", 0.1),
            ("1e22", 1e22),
            ("1e23", 1e23),
        ];
        for (s, v) in cases {
            assert_eq!(f64_of(s).map(f64::to_bits), Some(v.to_bits()), "{s}");
        }
    }

    #[test]
    fn f64_zero_signs() {
        assert_eq!(f64_of("-0.0").map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!(f64_of("-0").map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!(f64_of("0e999999").map(f64::to_bits), Some(0.0f64.to_bits()));
        assert_eq!(
            f64_of("-0.000e-5").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
    }

    #[test]
    fn f64_specials() {
        assert_eq!(f64_of("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(f64_of("inf"), Some(f64::INFINITY));
        assert_eq!(f64_of("+Infinity"), Some(f64::INFINITY));
        assert_eq!(f64_of("-INFINITY"), Some(f64::NEG_INFINITY));
        assert_eq!(f64_of("InF"), Some(f64::INFINITY));
        for n in ["nan", "NaN", "NAN", "-nan", "+nan"] {
            assert!(f64_of(n).is_some_and(f64::is_nan), "{n}");
        }
        for bad in [
            "infinit",
            "infinityy",
            "nana",
            "in",
            "na",
            "-",
            "+",
            "snan",
            "inf1",
        ] {
            assert_eq!(f64_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn f64_rejects() {
        for bad in [
            "",
            ".",
            "-.",
            "+.",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1e-",
            "1.5e",
            "1ee5",
            "1e5.0",
            "1..5",
            "1.5.",
            " 1",
            "1 ",
            "1_000",
            "0x1p3",
            "0x10",
            "1,5",
            "--1",
            "+-1",
            "1e5e",
            "1d5",
            "1e400",
            "-1e400",
            "1.8e308",
            "1e99999999999999999999999",
            "١",
        ] {
            assert_eq!(f64_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn f64_extremes() {
        assert_eq!(f64_of("1.7976931348623157e308"), Some(f64::MAX));
        assert_eq!(f64_of("-1.7976931348623157e308"), Some(f64::MIN));
        assert_eq!(f64_of("5e-324"), Some(5e-324));
        assert_eq!(f64_of("1e-400"), Some(0.0));
        assert_eq!(f64_of("1e-99999999999999999999"), Some(0.0));
        let long = format!("0.{}1", "0".repeat(1000));
        assert_eq!(f64_of(&long), long.parse::<f64>().ok());
        let many = "1".repeat(400);
        assert_eq!(f64_of(&many), None); // 1.1e399 overflows
        let exact = format!("1{}", "0".repeat(30));
        assert_eq!(f64_of(&exact), Some(1e30));
    }

    fn random_decimal(r: &mut TestRng) -> String {
        let mut s = String::new();
        match r.below(3) {
            0 => s.push('-'),
            1 if r.below(4) == 0 => s.push('+'),
            _ => {}
        }
        if r.below(6) == 0 {
            s.push_str("000");
        }
        let max_int = if r.below(2) == 0 { 5 } else { 21 };
        let int_len = r.below(max_int);
        r.digits(&mut s, int_len);
        let frac_len = if r.below(3) == 0 { 0 } else { r.below(21) };
        if frac_len > 0 || r.below(4) == 0 || int_len == 0 {
            s.push('.');
            r.digits(&mut s, frac_len);
        }
        if int_len == 0 && frac_len == 0 {
            s.push('7');
        }
        if r.below(3) == 0 {
            s.push(if r.below(2) == 0 { 'e' } else { 'E' });
            match r.below(3) {
                0 => s.push('-'),
                1 => s.push('+'),
                _ => {}
            }
            let e = if r.below(2) == 0 {
                r.below(40)
            } else {
                r.below(400)
            };
            s.push_str(&e.to_string());
        }
        s
    }

    #[test]
    fn f64_agrees_with_std_bit_for_bit() {
        let mut r = TestRng::new(0x5EED);
        for _ in 0..5000 {
            let s = random_decimal(&mut r);
            let want = s.parse::<f64>().ok().filter(|v| v.is_finite());
            assert!(s.parse::<f64>().is_ok(), "std rejects {s:?}");
            assert_eq!(
                f64_of(&s).map(f64::to_bits),
                want.map(f64::to_bits),
                "{s:?}"
            );
        }
    }

    #[test]
    fn f32_agrees_with_std_bit_for_bit() {
        let mut r = TestRng::new(0xF32);
        for _ in 0..5000 {
            let s = random_decimal(&mut r);
            let want = s.parse::<f32>().ok().filter(|v| v.is_finite());
            let got = parse_f32(s.as_bytes());
            assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits), "{s:?}");
        }
    }

    #[test]
    fn short_decimals_take_the_fast_path_and_agree() {
        let mut r = TestRng::new(0xFA57);
        for _ in 0..3000 {
            let mut s = String::new();
            let int_len = r.below(8);
            r.digits(&mut s, int_len);
            s.push('.');
            let frac_len = 1 + r.below(7);
            r.digits(&mut s, frac_len);
            if r.below(2) == 0 {
                s.push_str(&format!("e-{}", r.below(8)));
            }
            let fast = match scan_float(s.as_bytes()) {
                Some(FloatText::Num(_, a, e)) => fast_f64(a, e),
                _ => None,
            };
            assert!(fast.is_some(), "{s:?} missed the fast path");
            let want = s.parse::<f64>().ok().map(f64::to_bits);
            assert_eq!(f64_of(&s).map(f64::to_bits), want, "{s:?}");
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let alphabet = b"0123456789+-.:eEtTzZnNiIaAfF \xff";
        let mut r = TestRng::new(1);
        for _ in 0..50_000 {
            let len = r.below(40);
            let s: Vec<u8> = (0..len)
                .map(|_| alphabet[r.below(alphabet.len() as u64) as usize])
                .collect();
            let _ = (
                parse_bool(&s),
                parse_i64(&s),
                parse_i32(&s),
                parse_f64(&s),
                parse_f32(&s),
            );
            let _ = (
                parse_date32(&s),
                timestamp_fraction_digits(&s),
                classify(&s),
            );
            for unit in [
                TsUnit::Second,
                TsUnit::Millisecond,
                TsUnit::Microsecond,
                TsUnit::Nanosecond,
            ] {
                let _ = parse_timestamp(&s, unit);
            }
            let _ = (parse_decimal128(&s, 38, 10), parse_decimal128(&s, 5, -3));
        }
    }

    #[test]
    fn f32_near_midpoints_agrees_with_std() {
        let mut r = TestRng::new(0x3D);
        let mut deferred = 0;
        for _ in 0..20_000 {
            // Random positive normal f32 in roughly 1e-20..1e30.
            let bits = (r.below(160) as u32 + 60) << 23 | (r.next() as u32 & 0x7F_FFFF);
            let lo = f64::from(f32::from_bits(bits));
            let hi = f64::from(f32::from_bits(bits + 1));
            let mid = (lo + hi) / 2.0;
            for d in [
                f64::from_bits(mid.to_bits() - 1),
                mid,
                f64::from_bits(mid.to_bits() + 1),
            ] {
                for s in [
                    format!("{d:e}"),
                    format!("{d:.15e}"),
                    format!("{d:.14e}"),
                    format!("{d:.8e}"),
                ] {
                    let want = s.parse::<f32>().ok().map(f32::to_bits);
                    assert_eq!(parse_f32(s.as_bytes()).map(f32::to_bits), want, "{s}");
                    if let Some(FloatText::Num(_, a, e)) = scan_float(s.as_bytes()) {
                        let on_mid = fast_f64(a, e)
                            .is_some_and(|v| v.to_bits() & ((1 << 29) - 1) == 1 << 28);
                        deferred += usize::from(on_mid);
                    }
                }
            }
        }
        assert!(deferred > 0, "midpoint deferral never exercised");
    }

    #[test]
    fn f32_specials_and_overflow() {
        assert_eq!(parse_f32(b"1e39"), None);
        assert_eq!(parse_f32(b"3.4028235e38"), Some(f32::MAX));
        assert_eq!(parse_f32(b"-inf"), Some(f32::NEG_INFINITY));
        assert!(parse_f32(b"NaN").is_some_and(f32::is_nan));
        assert_eq!(parse_f32(b"0.1"), Some(0.1f32));
        assert_eq!(parse_f32(b"16777217"), Some(16_777_216.0));
        assert_eq!(parse_f32(b"1.5e-3"), Some(1.5e-3f32));
        assert_eq!(parse_f32(b"1e"), None);
        assert_eq!(parse_f32(b"0x1"), None);
    }
}
