//! Dates and timestamps (ISO 8601 forms).

use super::{digit, two, Timestamp, TsUnit, POW10_U64};

// ---------------------------------------------------------------------------
// Dates and timestamps
// ---------------------------------------------------------------------------

#[inline(always)]
fn is_leap(y: u32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

#[inline(always)]
pub(super) fn days_in_month(y: u32, m: u32) -> u32 {
    const DAYS: [u8; 13] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let base = DAYS.get(m as usize).map_or(0, |&d| u32::from(d));
    base + u32::from(m == 2 && is_leap(y))
}

/// Howard Hinnant's days_from_civil: days since 1970-01-01.
///
/// Valid for years 0..=9999; the year is shifted by one 400-year era so all
/// arithmetic is unsigned.
#[inline(always)]
pub(super) fn days_from_civil(y: u32, m: u32, d: u32) -> i32 {
    const ERA_SHIFT: i32 = 146_097; // days in 400 years
    let y = y + 400 - u32::from(m <= 2);
    let (era, yoe) = (y / 400, y % 400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    // era <= 25 and doe < 146_097: the total fits i32 easily.
    (era * 146_097 + doe) as i32 - 719_468 - ERA_SHIFT
}

/// Parses a leading "YYYY-MM-DD"; returns (days since epoch, rest).
#[inline(always)]
fn date_prefix(b: &[u8]) -> Option<(i32, &[u8])> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, rest @ ..] = b else {
        return None;
    };
    let y = two(*y0, *y1)? * 100 + two(*y2, *y3)?;
    let m = two(*m0, *m1)?;
    let d = two(*d0, *d1)?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some((days_from_civil(y, m, d), rest))
}

/// Strict "YYYY-MM-DD" to days since 1970-01-01 (negative before).
///
/// Year 0000-9999, month 01-12, day valid for the month (leap years
/// included). Nothing may precede or follow the date.
#[inline]
pub fn parse_date32(b: &[u8]) -> Option<i32> {
    match date_prefix(b)? {
        (days, []) => Some(days),
        _ => None,
    }
}

/// Components of a syntactically valid timestamp.
#[derive(Clone, Copy)]
pub(super) struct TsParts {
    days: i32,
    /// Seconds of the day (wall time).
    secs: u32,
    /// Fractional second in nanoseconds.
    pub(super) nanos: u32,
    /// UTC offset in seconds, if any.
    pub(super) offset: Option<i32>,
    /// Whether a time part followed the date.
    pub(super) has_time: bool,
}

/// Optional ".fffffffff" (1..=9 digits): (nanos, rest).
#[inline(always)]
fn fraction(s: &[u8]) -> Option<(u32, &[u8])> {
    let [b'.', digits @ ..] = s else {
        return Some((0, s));
    };
    let mut v = 0u32;
    let mut rest = digits;
    while let [c, tail @ ..] = rest {
        let Some(d) = digit(*c) else { break };
        if digits.len() - rest.len() == 9 {
            return None; // a 10th digit
        }
        v = v * 10 + u32::from(d);
        rest = tail;
    }
    let n = digits.len() - rest.len();
    if n == 0 {
        return None;
    }
    // 1 <= n <= 9 and v < 10^n, so v * 10^(9-n) < 10^9.
    let scale = POW10_U64.get(9usize.checked_sub(n)?)?;
    Some((v * *scale as u32, rest))
}

/// Significant digits of a nanosecond fraction (trailing zeros dropped).
#[inline]
pub(super) fn fraction_sig(nanos: u32) -> u8 {
    if nanos == 0 {
        return 0;
    }
    let mut sig = 9;
    let mut t = nanos;
    while t % 10 == 0 {
        t /= 10;
        sig -= 1;
    }
    sig
}

/// "HH:MM[:SS[.f]]": (seconds of day, nanos, rest).
#[inline(always)]
fn time_part(s: &[u8]) -> Option<(u32, u32, &[u8])> {
    let [h0, h1, b':', m0, m1, rest @ ..] = s else {
        return None;
    };
    let (h, m) = (two(*h0, *h1)?, two(*m0, *m1)?);
    if h > 23 || m > 59 {
        return None;
    }
    let hm = h * 3600 + m * 60;
    match rest {
        [b':', s0, s1, tail @ ..] => {
            let sec = two(*s0, *s1)?;
            if sec > 59 {
                return None;
            }
            let (nanos, tail) = fraction(tail)?;
            Some((hm + sec, nanos, tail))
        }
        _ => Some((hm, 0, rest)),
    }
}

/// Offset suffix: "" -> no offset, "Z"/"z", or sign + HH / HHMM / HH:MM.
#[inline(always)]
fn offset(s: &[u8]) -> Option<Option<i32>> {
    let (sign, tail) = match s {
        [] => return Some(None),
        [b'Z' | b'z'] => return Some(Some(0)),
        [b'+', tail @ ..] => (1, tail),
        [b'-', tail @ ..] => (-1, tail),
        _ => return None,
    };
    let (h, m) = match tail {
        [h0, h1] => (two(*h0, *h1)?, 0),
        [h0, h1, m0, m1] | [h0, h1, b':', m0, m1] => (two(*h0, *h1)?, two(*m0, *m1)?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(Some(sign * (h * 3600 + m * 60) as i32))
}

/// Full timestamp syntax check (unit independent).
// Always inlined: the decoder's timestamp column loop depends on it (measured: left to the
// inliner's budget it became a call per value, 4% of the taxi shape's decode time).
#[inline(always)]
pub(super) fn scan_timestamp(b: &[u8]) -> Option<TsParts> {
    let (days, rest) = date_prefix(b)?;
    let mut p = TsParts {
        days,
        secs: 0,
        nanos: 0,
        offset: None,
        has_time: false,
    };
    let [sep, rest @ ..] = rest else {
        return Some(p);
    };
    if !matches!(sep, b'T' | b't' | b' ') {
        return None;
    }
    let (secs, nanos, rest) = time_part(rest)?;
    p.offset = offset(rest)?;
    p.secs = secs;
    p.nanos = nanos;
    p.has_time = true;
    Some(p)
}

/// ISO 8601-ish timestamp in the given unit.
///
/// Grammar: "YYYY-MM-DD", then 'T', 't' or one space, then "HH:MM" with
/// optional ":SS" and (only with seconds) an optional '.' + 1..=9 digit
/// fraction, then an optional offset 'Z'/'z' or '+'/'-' followed by HH, HHMM
/// or HH:MM. A bare date is midnight. The fraction must be exactly
/// representable in `unit` (trailing zeros are fine); values outside the i64
/// range of the unit give `None`. With an offset the value is UTC.
#[inline]
pub fn parse_timestamp(b: &[u8], unit: TsUnit) -> Option<Timestamp> {
    let p = scan_timestamp(b)?;
    let (per_sec, nanos_per_tick) = match unit {
        TsUnit::Second => (1i128, 1_000_000_000u32),
        TsUnit::Millisecond => (1_000, 1_000_000),
        TsUnit::Microsecond => (1_000_000, 1_000),
        TsUnit::Nanosecond => (1_000_000_000, 1),
    };
    if p.nanos % nanos_per_tick != 0 {
        return None;
    }
    let off = i64::from(p.offset.unwrap_or(0));
    let secs = i64::from(p.days) * 86_400 + i64::from(p.secs) - off;
    let v = i128::from(secs) * per_sec + i128::from(p.nanos / nanos_per_tick);
    Some(Timestamp {
        value: i64::try_from(v).ok()?,
        has_offset: p.offset.is_some(),
    })
}

/// Time of day `HH:MM[:SS[.ffffff]]` (24-hour, two-digit fields, at most 6 fraction digits) in
/// microseconds since midnight.
#[inline]
pub fn parse_time64(b: &[u8]) -> Option<i64> {
    let (secs, nanos, rest) = time_part(b)?;
    if !rest.is_empty() || nanos % 1_000 != 0 {
        return None;
    }
    Some(i64::from(secs) * 1_000_000 + i64::from(nanos / 1_000))
}

/// Significant fractional-second digits (trailing zeros not counted) of a text
/// with timestamp syntax (as accepted by [`parse_timestamp`], any unit), or
/// `None` if it is not a timestamp. A bare date gives `Some(0)`.
#[inline]
#[cfg(any(test, feature = "testkit"))]
pub fn timestamp_fraction_digits(b: &[u8]) -> Option<u8> {
    scan_timestamp(b).map(|p| fraction_sig(p.nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::values::test_helpers::*;

    // ----- times of day -----

    #[test]
    fn times_of_day() {
        let t = |s: &str| parse_time64(s.as_bytes());
        assert_eq!(t("00:00"), Some(0));
        assert_eq!(t("05:40"), Some((5 * 3600 + 40 * 60) * 1_000_000));
        assert_eq!(t("23:59:59.999999"), Some(86_399_999_999));
        assert_eq!(t("12:12:12.5"), Some(43_932_500_000));
        for bad in [
            "24:00",
            "12:60",
            "12:00:60",
            "1:00",
            "12:0",
            "12:00:",
            "12:00:00.",
            "12:00:00.1234567",
            "12:00Z",
            " 12:00",
            "12:00 ",
            "",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    // ----- dates -----

    fn date(s: &str) -> Option<i32> {
        parse_date32(s.as_bytes())
    }

    #[test]
    fn dates_known_values() {
        assert_eq!(date("1970-01-01"), Some(0));
        assert_eq!(date("1970-01-02"), Some(1));
        assert_eq!(date("1969-12-31"), Some(-1));
        assert_eq!(date("2000-03-01"), Some(11_017));
        assert_eq!(date("2024-02-29"), Some(19_782));
        assert_eq!(date("1900-01-01"), Some(-25_567));
        assert_eq!(date("0000-01-01"), Some(-719_528));
        assert_eq!(date("0000-03-01"), Some(-719_468));
        assert_eq!(date("9999-12-31"), Some(2_932_896));
    }

    #[test]
    fn dates_are_consecutive() {
        // Walk every day from 0000-01-01 to 9999-12-31 and check continuity.
        let mut expect = -719_528;
        for y in 0..=9999u32 {
            for m in 1..=12u32 {
                for d in 1..=days_in_month(y, m) {
                    let s = format!("{y:04}-{m:02}-{d:02}");
                    assert_eq!(date(&s), Some(expect), "{s}");
                    expect += 1;
                }
            }
        }
        assert_eq!(expect, 2_932_897);
    }

    #[test]
    fn dates_leap_rules() {
        assert!(date("2000-02-29").is_some());
        assert!(date("2024-02-29").is_some());
        assert!(date("0000-02-29").is_some());
        assert_eq!(date("1900-02-29"), None);
        assert_eq!(date("2023-02-29"), None);
        assert_eq!(date("2100-02-29"), None);
        assert_eq!(date("2024-02-30"), None);
    }

    #[test]
    fn dates_reject() {
        for bad in [
            "",
            "2024-1-01",
            "2024-01-1",
            "24-01-01",
            "02024-01-01",
            "2024-00-10",
            "2024-13-01",
            "2024-01-00",
            "2024-01-32",
            "2024-04-31",
            "2024-06-31",
            "2024-09-31",
            "2024-11-31",
            "2024/01/01",
            "2024-01-01 ",
            " 2024-01-01",
            "2024-01-01T00:00",
            "+2024-01-01",
            "-0001-01-01",
            "2024-0a-01",
            "20240101",
            "2024-01-01Z",
        ] {
            assert_eq!(date(bad), None, "{bad:?}");
        }
    }

    // ----- timestamps -----

    #[test]
    fn timestamps_separators_and_forms() {
        let want = naive(1_704_164_645); // 2024-01-02T03:04:05
        assert_eq!(ts("2024-01-02T03:04:05", TsUnit::Second), want);
        assert_eq!(ts("2024-01-02t03:04:05", TsUnit::Second), want);
        assert_eq!(ts("2024-01-02 03:04:05", TsUnit::Second), want);
        assert_eq!(ts("2024-01-02T03:04", TsUnit::Second), naive(1_704_164_640));
        assert_eq!(ts("2024-01-02", TsUnit::Second), naive(1_704_153_600));
        assert_eq!(ts("1970-01-01", TsUnit::Nanosecond), naive(0));
        assert_eq!(ts("1970-01-01T00:00:00", TsUnit::Millisecond), naive(0));
        assert_eq!(
            ts("2024-01-02T23:59:59", TsUnit::Second),
            naive(1_704_239_999)
        );
    }

    #[test]
    fn timestamps_reject() {
        for bad in [
            "",
            "2024-01-02T",
            "2024-01-02 ",
            "2024-01-02  03:04:05",
            "2024-01-02X03:04:05",
            "2024-01-02T3:04:05",
            "2024-01-02T03:4:05",
            "2024-01-02T03:04:5",
            "2024-01-02T03",
            "2024-01-02T0304",
            "2024-01-02T24:00:00",
            "2024-01-02T23:60:00",
            "2024-01-02T23:59:60",
            "2024-01-02T03:04:05.",
            "2024-01-02T03:04:05.1234567890",
            "2024-01-02T03:04:05.9999999999",
            "2024-01-02T03:04:05.99999999999999999999",
            "2024-01-02T03:04.5",
            "2024-01-02T03:04:05 ",
            "2024-01-02T03:04:05Zz",
            "2024-01-02T03:04:05+",
            "2024-01-02T03:04:05+1",
            "2024-01-02T03:04:05+123",
            "2024-01-02T03:04:05+12:3",
            "2024-01-02T03:04:05+24:00",
            "2024-01-02T03:04:05+12:60",
            "2024-01-02T03:04:05+12:00:00",
            "2024-01-02T03:04:05+1200Z",
            "2024-01-02T03:04:05 Z",
            "2024-02-30T00:00:00",
            "2024-01-02T03:04:05,123",
            "2024-01-02T03:04:05.12a",
            "2024-01-02Z",
            "2024-01-02+01:00",
            "2024-01-02T03:04:05.123Z+01",
        ] {
            assert_eq!(ts(bad, TsUnit::Nanosecond), None, "{bad:?}");
            assert_eq!(timestamp_fraction_digits(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps_offsets() {
        let want = utc(1_704_164_645 - 2 * 3600); // 2024-01-02T01:04:05Z
        assert_eq!(ts("2024-01-02T03:04:05+02:00", TsUnit::Second), want);
        assert_eq!(ts("2024-01-02T03:04:05+0200", TsUnit::Second), want);
        assert_eq!(ts("2024-01-02T03:04:05+02", TsUnit::Second), want);
        assert_eq!(
            ts("2024-01-02T03:04:05Z", TsUnit::Second),
            utc(1_704_164_645)
        );
        assert_eq!(
            ts("2024-01-02T03:04:05z", TsUnit::Second),
            utc(1_704_164_645)
        );
        assert_eq!(
            ts("2024-01-02T03:04:05+00:00", TsUnit::Second),
            utc(1_704_164_645)
        );
        assert_eq!(
            ts("2024-01-02T03:04:05-00:00", TsUnit::Second),
            utc(1_704_164_645)
        );
        let minus = utc(1_704_164_645 + 5 * 3600 + 30 * 60);
        assert_eq!(ts("2024-01-02T03:04:05-05:30", TsUnit::Second), minus);
        assert_eq!(ts("2024-01-02T03:04:05-0530", TsUnit::Second), minus);
        assert_eq!(
            ts("2024-01-02T03:04-05", TsUnit::Second),
            utc(1_704_164_640 + 5 * 3600)
        );
        assert_eq!(ts("2024-01-02T03:04Z", TsUnit::Second), utc(1_704_164_640));
        assert_eq!(
            ts("2024-01-02T03:04:05.5+23:59", TsUnit::Millisecond),
            utc((1_704_164_645 - 23 * 3600 - 59 * 60) * 1000 + 500)
        );
        // Offset crossing the epoch backwards.
        assert_eq!(ts("1970-01-01T00:00:00+01:00", TsUnit::Second), utc(-3600));
    }

    #[test]
    fn timestamps_before_epoch() {
        assert_eq!(ts("1969-12-31T23:59:59", TsUnit::Second), naive(-1));
        assert_eq!(
            ts("1969-12-31T23:59:59.5", TsUnit::Millisecond),
            naive(-500)
        );
        assert_eq!(
            ts("1969-12-31T23:59:59.999999999", TsUnit::Nanosecond),
            naive(-1)
        );
        assert_eq!(
            ts("1900-01-01T00:00:00", TsUnit::Second),
            naive(-25_567 * 86_400)
        );
        assert_eq!(
            ts("0000-01-01T00:00:00", TsUnit::Microsecond),
            naive(-62_167_219_200_000_000)
        );
        assert_eq!(
            ts("9999-12-31T23:59:59.999999", TsUnit::Microsecond),
            naive(253_402_300_799_999_999)
        );
    }

    #[test]
    fn timestamps_fraction_exactness() {
        let base = 1_704_164_645i64;
        assert_eq!(ts("2024-01-02T03:04:05.1", TsUnit::Second), None);
        assert_eq!(ts("2024-01-02T03:04:05.0", TsUnit::Second), naive(base));
        assert_eq!(
            ts("2024-01-02T03:04:05.000000000", TsUnit::Second),
            naive(base)
        );
        assert_eq!(
            ts("2024-01-02T03:04:05.123", TsUnit::Millisecond),
            naive(base * 1000 + 123)
        );
        assert_eq!(
            ts("2024-01-02T03:04:05.1230", TsUnit::Millisecond),
            naive(base * 1000 + 123)
        );
        assert_eq!(ts("2024-01-02T03:04:05.1234", TsUnit::Millisecond), None);
        assert_eq!(
            ts("2024-01-02T03:04:05.5", TsUnit::Millisecond),
            naive(base * 1000 + 500)
        );
        assert_eq!(
            ts("2024-01-02T03:04:05.123456", TsUnit::Microsecond),
            naive(base * 1_000_000 + 123_456)
        );
        assert_eq!(
            ts("2024-01-02T03:04:05.1234560", TsUnit::Microsecond),
            naive(base * 1_000_000 + 123_456)
        );
        assert_eq!(ts("2024-01-02T03:04:05.1234567", TsUnit::Microsecond), None);
        assert_eq!(
            ts("2024-01-02T03:04:05.123456789", TsUnit::Nanosecond),
            naive(base * 1_000_000_000 + 123_456_789)
        );
        assert_eq!(
            ts("2024-01-02T03:04:05.000000001", TsUnit::Nanosecond),
            naive(base * 1_000_000_000 + 1)
        );
        assert_eq!(
            ts("2024-01-02T03:04:05.000000001", TsUnit::Microsecond),
            None
        );
    }

    #[test]
    fn timestamps_nanosecond_range() {
        assert_eq!(
            ts("2262-04-11T23:47:16.854775807", TsUnit::Nanosecond),
            naive(i64::MAX)
        );
        assert_eq!(
            ts("2262-04-11T23:47:16.854775808", TsUnit::Nanosecond),
            None
        );
        assert_eq!(
            ts("1677-09-21T00:12:43.145224192", TsUnit::Nanosecond),
            naive(i64::MIN)
        );
        assert_eq!(
            ts("1677-09-21T00:12:43.145224191", TsUnit::Nanosecond),
            None
        );
        assert_eq!(ts("2263-01-01T00:00:00", TsUnit::Nanosecond), None);
        assert_eq!(ts("2263-01-01", TsUnit::Nanosecond), None);
        assert_eq!(ts("1600-01-01T00:00:00", TsUnit::Nanosecond), None);
        assert!(ts("2263-01-01T00:00:00", TsUnit::Microsecond).is_some());
        // An offset can bring an out-of-range wall time back into range.
        assert_eq!(
            ts("2262-04-12T00:47:16.854775807+01:00", TsUnit::Nanosecond),
            utc(i64::MAX)
        );
        assert_eq!(
            ts("2262-04-11T23:47:16.854775807-00:01", TsUnit::Nanosecond),
            None
        );
    }

    #[test]
    fn fraction_digits() {
        let fd = |s: &str| timestamp_fraction_digits(s.as_bytes());
        assert_eq!(fd("2024-01-02"), Some(0));
        assert_eq!(fd("2024-01-02T03:04"), Some(0));
        assert_eq!(fd("2024-01-02T03:04:05"), Some(0));
        assert_eq!(fd("2024-01-02T03:04:05.000"), Some(0));
        assert_eq!(fd("2024-01-02T03:04:05.5"), Some(1));
        assert_eq!(fd("2024-01-02T03:04:05.120"), Some(2));
        assert_eq!(fd("2024-01-02T03:04:05.123456Z"), Some(6));
        assert_eq!(fd("2024-01-02T03:04:05.1234560+01:00"), Some(6));
        assert_eq!(fd("2024-01-02T03:04:05.000000001"), Some(9));
        assert_eq!(fd("2024-01-02T03:04:05.100000000"), Some(1));
        assert_eq!(fd("nope"), None);
    }
}
