//! The value parsers of `src/decode/values/` against independent references: std's integer
//! and float parsers, a string-based exact decimal, and a timestamp grammar checked with chrono's
//! calendar. Also: `classify` agrees with the parsers (its documented contract).
//!
//! Input: one selector byte (decimal precision/scale), then the field's bytes.

#![no_main]

use chrono::{NaiveDate, NaiveTime};
use libfuzzer_sys::fuzz_target;
use s3_csv2parquet::testkit::decode::values::{
    classify, parse_bool, parse_date32, parse_decimal128, parse_f32, parse_f64, parse_i32,
    parse_i64, parse_timestamp, timestamp_fraction_digits, TsUnit,
};

/// Bitwise float equality (NaNs compare by "is NaN"; the sign of a NaN is not specified).
fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn same_f32(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Whether a float text is the special "nan"/"inf"/"infinity" spelling (with optional sign).
fn is_special(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s).to_ascii_lowercase();
    matches!(t.as_str(), "nan" | "inf" | "infinity")
}

fn check_ints(s: Option<&str>, b: &[u8]) {
    let want64 = s.and_then(|s| s.parse::<i64>().ok());
    assert_eq!(parse_i64(b), want64, "parse_i64 vs str::parse");
    let want32 = s.and_then(|s| s.parse::<i32>().ok());
    assert_eq!(parse_i32(b), want32, "parse_i32 vs str::parse");
    let want_bool = s.and_then(|s| match s.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    });
    assert_eq!(parse_bool(b), want_bool, "parse_bool");
}

fn check_floats(s: Option<&str>, b: &[u8]) {
    // Contract: std's grammar and correctly rounded value, except that finite text overflowing
    // to infinity is rejected.
    let std64 = s.and_then(|s| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() || is_special(s))
    });
    match (parse_f64(b), std64) {
        (Some(a), Some(w)) => assert!(same_f64(a, w), "parse_f64 {a:?} vs std {w:?}"),
        (None, None) => {}
        (a, w) => panic!("parse_f64 {a:?} vs std {w:?}"),
    }
    let std32 = s.and_then(|s| {
        s.parse::<f32>()
            .ok()
            .filter(|v| v.is_finite() || is_special(s))
    });
    match (parse_f32(b), std32) {
        (Some(a), Some(w)) => assert!(same_f32(a, w), "parse_f32 {a:?} vs std {w:?}"),
        (None, None) => {}
        (a, w) => panic!("parse_f32 {a:?} vs std {w:?}"),
    }
}

/// Exact decimal by string arithmetic: optional sign, digits, optional '.', digits (at least
/// one digit); the unscaled value at `scale` must be an integer of at most `precision` digits.
fn ref_decimal(s: &str, precision: u8, scale: i8) -> Option<i128> {
    if !(1..=38).contains(&precision) || !(-38..=38).contains(&scale) {
        return None;
    }
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let all_digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) || int.len() + frac.len() == 0 {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let mut digits = format!("{int}{frac}");
    // value = digits * 10^(scale - frac.len())
    let shift = i64::from(scale) - frac.len() as i64;
    if shift >= 0 {
        digits.extend(std::iter::repeat_n('0', shift as usize));
    } else {
        let drop = shift.unsigned_abs() as usize;
        if drop > digits.len() || !digits[digits.len() - drop..].bytes().all(|c| c == b'0') {
            // Unless the whole value is zero, more fraction digits than the scale allows.
            if digits.bytes().any(|c| c != b'0') {
                return None;
            }
            digits = "0".into();
        } else {
            digits.truncate(digits.len() - drop);
        }
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > usize::from(precision) {
        return None;
    }
    let v: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Two ASCII digits.
fn num2(b: &[u8]) -> Option<u32> {
    (b.len() == 2 && b.iter().all(u8::is_ascii_digit))
        .then(|| u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'))
}

/// Reference timestamp: (days, seconds of day, nanos, offset seconds, has time) by a plain
/// reading of the documented grammar, with chrono checking the calendar.
fn ref_timestamp(b: &[u8]) -> Option<(i64, u32, u32, Option<i32>, bool)> {
    if b.len() < 10 || !b.is_ascii() {
        return None;
    }
    let (date, rest) = b.split_at(10);
    let ok = date.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    if !ok {
        return None;
    }
    let y = num2(&date[0..2])? * 100 + num2(&date[2..4])?;
    let d = NaiveDate::from_ymd_opt(y as i32, num2(&date[5..7])?, num2(&date[8..10])?)?;
    let days = (d - NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days();
    if rest.is_empty() {
        return Some((days, 0, 0, None, false));
    }
    if !matches!(rest[0], b'T' | b't' | b' ') || rest.len() < 6 || rest[3] != b':' {
        return None;
    }
    let (h, m) = (num2(&rest[1..3])?, num2(&rest[4..6])?);
    let mut rest = &rest[6..];
    let (mut sec, mut nanos) = (0, 0);
    if rest.first() == Some(&b':') {
        sec = num2(rest.get(1..3)?)?;
        rest = &rest[3..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return None;
            }
            let text = std::str::from_utf8(&rest[1..1 + n]).ok()?;
            nanos = text.parse::<u32>().ok()? * 10u32.pow(9 - n as u32);
            rest = &rest[1 + n..];
        }
    }
    let time = NaiveTime::from_hms_opt(h, m, sec)?;
    let offset = match rest {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (oh, om) = match tail {
                [_, _] => (num2(tail)?, 0),
                [a, b, c, d] | [a, b, b':', c, d] => (num2(&[*a, *b])?, num2(&[*c, *d])?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let v = (oh * 3600 + om * 60) as i32;
            Some(if *sign == b'-' { -v } else { v })
        }
        _ => return None,
    };
    let secs = time.signed_duration_since(NaiveTime::MIN).num_seconds() as u32;
    Some((days, secs, nanos, offset, true))
}

fn check_temporal(b: &[u8]) {
    let r = ref_timestamp(b);
    let want_date = r.filter(|p| !p.4).map(|p| p.0 as i32);
    assert_eq!(parse_date32(b), want_date, "parse_date32");
    for (unit, per_sec) in [
        (TsUnit::Second, 1i128),
        (TsUnit::Millisecond, 1_000),
        (TsUnit::Microsecond, 1_000_000),
        (TsUnit::Nanosecond, 1_000_000_000),
    ] {
        let want = r.and_then(|(days, secs, nanos, off, _)| {
            let per_tick = 1_000_000_000 / per_sec;
            if i128::from(nanos) % per_tick != 0 {
                return None;
            }
            let total = (i128::from(days) * 86_400 + i128::from(secs)
                - i128::from(off.unwrap_or(0)))
                * per_sec
                + i128::from(nanos) / per_tick;
            Some((i64::try_from(total).ok()?, off.is_some()))
        });
        let got = parse_timestamp(b, unit).map(|t| (t.value, t.has_offset));
        assert_eq!(got, want, "parse_timestamp {unit:?}");
    }
    let digits = r.map(|p| {
        let mut n = p.2;
        if n == 0 {
            return 0;
        }
        let mut sig = 9;
        while n % 10 == 0 {
            n /= 10;
            sig -= 1;
        }
        sig
    });
    assert_eq!(
        timestamp_fraction_digits(b),
        digits,
        "timestamp_fraction_digits"
    );
}

fn check_classify(b: &[u8]) {
    let c = classify(b);
    assert_eq!(c.boolean, parse_bool(b).is_some(), "classify.boolean");
    assert_eq!(c.int, parse_i64(b).is_some(), "classify.int");
    assert_eq!(c.float, parse_f64(b).is_some(), "classify.float");
    assert_eq!(c.date, parse_date32(b).is_some(), "classify.date");
    let ts = ref_timestamp(b).filter(|p| p.4);
    assert_eq!(c.timestamp, ts.is_some(), "classify.timestamp");
    if let Some(p) = ts {
        assert_eq!(
            c.timestamp_offset,
            p.3.is_some(),
            "classify.timestamp_offset"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, b @ ..] = data else { return };
    let s = std::str::from_utf8(b).ok();
    check_ints(s, b);
    check_floats(s, b);
    let precision = 1 + sel % 38;
    let scale = if sel & 0x80 != 0 {
        (sel % 8) as i8 - 4
    } else {
        (sel % 39) as i8
    };
    let want = s.and_then(|s| ref_decimal(s, precision, scale));
    assert_eq!(
        parse_decimal128(b, precision, scale),
        want,
        "parse_decimal128({precision}, {scale})"
    );
    check_temporal(b);
    check_classify(b);
});
