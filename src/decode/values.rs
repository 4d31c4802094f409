//! Hot-path parsers for single CSV field values.
//!
//! Every function here takes the raw bytes of one field (no quotes, no
//! surrounding whitespace trimming) and either returns the typed value or
//! `None`. They never allocate, never panic, and never validate UTF-8 except on
//! the rare slow path of [`parse_f64`] / [`parse_f32`], where the bytes have
//! already been checked to be ASCII.

/// Time unit of a timestamp column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsUnit {
    /// Whole seconds.
    Second,
    /// Milliseconds (10^-3 s).
    Millisecond,
    /// Microseconds (10^-6 s).
    Microsecond,
    /// Nanoseconds (10^-9 s).
    Nanosecond,
}

/// Result of parsing a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    /// Value in the requested unit since the Unix epoch, in UTC when
    /// `has_offset`, else naive wall time.
    pub value: i64,
    /// Whether the text carried a UTC offset ("Z", "+HH", "+HHMM", "+HH:MM",
    /// "-..."). The value is then converted to UTC.
    pub has_offset: bool,
}

/// What a field could be, for schema inference.
///
/// Each flag is true iff the corresponding parser accepts the text, except
/// that `timestamp` is unit independent and requires a time part (a bare date
/// only sets `date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Candidates {
    /// [`parse_bool`] accepts the text.
    pub boolean: bool,
    /// [`parse_i64`] accepts the text.
    pub int: bool,
    /// [`parse_f64`] accepts the text (every `int` is also a `float`).
    pub float: bool,
    /// [`parse_date32`] accepts the text.
    pub date: bool,
    /// The text has timestamp syntax with a time part (any unit's range).
    pub timestamp: bool,
    /// The timestamp carried a UTC offset.
    pub timestamp_offset: bool,
    /// Significant fraction digits of a timestamp (0 if none).
    pub fraction_digits: u8,
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

const fn pow10_u64() -> [u64; 20] {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
}

const fn pow10_u128() -> [u128; 39] {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
}

/// 10^0 ..= 10^19.
const POW10_U64: [u64; 20] = pow10_u64();
/// 10^0 ..= 10^38.
const POW10_U128: [u128; 39] = pow10_u128();
/// Exactly representable powers of ten in f64.
const POW10_F64: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Value of an ASCII digit, or `None`.
#[inline(always)]
fn digit(c: u8) -> Option<u8> {
    let d = c.wrapping_sub(b'0');
    if d < 10 {
        Some(d)
    } else {
        None
    }
}

/// Two ASCII digits as a number.
#[inline(always)]
fn two(a: u8, b: u8) -> Option<u32> {
    Some(u32::from(digit(a)?) * 10 + u32::from(digit(b)?))
}

/// Strips one leading '+' or '-'; returns (negative, rest).
#[inline(always)]
fn split_sign(b: &[u8]) -> (bool, &[u8]) {
    match b {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    }
}

/// Value of 8 ASCII digits (SWAR), or `None` if any byte is not a digit.
#[inline(always)]
fn eight_digits(chunk: &[u8; 8]) -> Option<u64> {
    const HI: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let v = u64::from_le_bytes(*chunk);
    if v & HI != ZEROS || v.wrapping_add(0x0606_0606_0606_0606) & HI != ZEROS {
        return None;
    }
    let v = v.wrapping_sub(ZEROS);
    let v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    Some((v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32)
}

/// All-digit slice of at most 19 bytes to u64 (cannot overflow). Empty -> 0.
#[inline(always)]
fn digits_short(s: &[u8]) -> Option<u64> {
    let mut m = 0u64;
    let mut rest = s;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        m = m * 100_000_000 + eight_digits(chunk)?;
        rest = tail;
    }
    for &c in rest {
        m = m * 10 + u64::from(digit(c)?);
    }
    Some(m)
}

/// Non-empty all-digit slice to u64, `None` on overflow or non-digit.
#[inline(always)]
fn digits_u64(s: &[u8]) -> Option<u64> {
    match s.len() {
        0 => None,
        1..=19 => digits_short(s),
        _ => s.iter().try_fold(0u64, |m, &c| {
            m.checked_mul(10)?.checked_add(u64::from(digit(c)?))
        }),
    }
}

// ---------------------------------------------------------------------------
// Booleans and integers
// ---------------------------------------------------------------------------

/// ASCII case-insensitive "true"/"false" only. Anything else `None`.
#[inline]
pub fn parse_bool(b: &[u8]) -> Option<bool> {
    match b.len() {
        4 if b.eq_ignore_ascii_case(b"true") => Some(true),
        5 if b.eq_ignore_ascii_case(b"false") => Some(false),
        _ => None,
    }
}

/// Optional leading '+' or '-', then 1+ ASCII digits, nothing else.
///
/// Overflow gives `None` (never wraps); `i64::MIN` is accepted.
#[inline]
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, s) = split_sign(b);
    let m = digits_u64(s)?;
    if neg {
        0i64.checked_sub_unsigned(m)
    } else {
        i64::try_from(m).ok()
    }
}

/// Same rules as [`parse_i64`], range of `i32`.
#[inline]
pub fn parse_i32(b: &[u8]) -> Option<i32> {
    let (neg, s) = split_sign(b);
    let m = u32::try_from(digits_u64(s)?).ok()?;
    if neg {
        0i32.checked_sub_unsigned(m)
    } else {
        i32::try_from(m).ok()
    }
}

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

// ---------------------------------------------------------------------------
// Dates and timestamps
// ---------------------------------------------------------------------------

#[inline(always)]
fn is_leap(y: u32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

#[inline(always)]
fn days_in_month(y: u32, m: u32) -> u32 {
    const DAYS: [u8; 13] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let base = DAYS.get(m as usize).map_or(0, |&d| u32::from(d));
    base + u32::from(m == 2 && is_leap(y))
}

/// Howard Hinnant's days_from_civil: days since 1970-01-01.
///
/// Valid for years 0..=9999; the year is shifted by one 400-year era so all
/// arithmetic is unsigned.
#[inline(always)]
fn days_from_civil(y: u32, m: u32, d: u32) -> i32 {
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
struct TsParts {
    days: i32,
    /// Seconds of the day (wall time).
    secs: u32,
    /// Fractional second in nanoseconds.
    nanos: u32,
    /// UTC offset in seconds, if any.
    offset: Option<i32>,
    has_time: bool,
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
fn fraction_sig(nanos: u32) -> u8 {
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
#[inline]
fn scan_timestamp(b: &[u8]) -> Option<TsParts> {
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

/// Significant fractional-second digits (trailing zeros not counted) of a text
/// with timestamp syntax (as accepted by [`parse_timestamp`], any unit), or
/// `None` if it is not a timestamp. A bare date gives `Some(0)`.
#[inline]
pub fn timestamp_fraction_digits(b: &[u8]) -> Option<u8> {
    scan_timestamp(b).map(|p| fraction_sig(p.nanos))
}

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

// ---------------------------------------------------------------------------
// Inference
// ---------------------------------------------------------------------------

/// Fills the temporal flags; returns true if the text is a date or timestamp.
#[inline]
fn classify_temporal(b: &[u8], c: &mut Candidates) -> bool {
    let Some(p) = scan_timestamp(b) else {
        return false;
    };
    if p.has_time {
        c.timestamp = true;
        c.timestamp_offset = p.offset.is_some();
        c.fraction_digits = fraction_sig(p.nanos);
    } else {
        c.date = true;
    }
    true
}

/// Fills the numeric flags.
#[inline]
fn classify_number(b: &[u8], c: &mut Candidates) {
    c.int = parse_i64(b).is_some();
    c.float = c.int || parse_f64(b).is_some();
}

/// What a field could be, for schema inference (see [`Candidates`]).
///
/// Dispatches on the first byte so that each field runs only the checks that
/// can possibly succeed.
#[inline]
pub fn classify(b: &[u8]) -> Candidates {
    let mut c = Candidates::default();
    let Some(&first) = b.first() else {
        return c;
    };
    match first {
        b'0'..=b'9' => {
            let dateish = b.len() >= 10 && b.get(4) == Some(&b'-');
            if !(dateish && classify_temporal(b, &mut c)) {
                classify_number(b, &mut c);
            }
        }
        b'+' | b'-' | b'.' => classify_number(b, &mut c),
        b't' | b'T' | b'f' | b'F' => c.boolean = parse_bool(b).is_some(),
        b'n' | b'N' | b'i' | b'I' => c.float = parse_f64(b).is_some(),
        _ => {}
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic 64-bit LCG (Knuth's MMIX constants).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn digits(&mut self, s: &mut String, n: u64) {
            for _ in 0..n {
                s.push(char::from(b'0' + self.below(10) as u8));
            }
        }
    }

    fn f64_of(s: &str) -> Option<f64> {
        parse_f64(s.as_bytes())
    }

    fn ts(s: &str, unit: TsUnit) -> Option<Timestamp> {
        parse_timestamp(s.as_bytes(), unit)
    }

    fn naive(value: i64) -> Option<Timestamp> {
        Some(Timestamp {
            value,
            has_offset: false,
        })
    }

    fn utc(value: i64) -> Option<Timestamp> {
        Some(Timestamp {
            value,
            has_offset: true,
        })
    }

    fn dec(s: &str, p: u8, sc: i8) -> Option<i128> {
        parse_decimal128(s.as_bytes(), p, sc)
    }

    // ----- helpers -----

    #[test]
    fn eight_digits_matches_naive() {
        let mut r = Lcg(7);
        for _ in 0..2000 {
            let mut s = String::new();
            r.digits(&mut s, 8);
            let mut chunk = [0u8; 8];
            chunk.copy_from_slice(s.as_bytes());
            assert_eq!(eight_digits(&chunk), s.parse::<u64>().ok(), "{s}");
        }
        for bad in [
            b"1234567a",
            b"/1234567",
            b"12:45678",
            b"1234 678",
            b"\xb0\x31\x32\x33\x34\x35\x36\x37",
        ] {
            assert_eq!(eight_digits(bad), None);
        }
        assert_eq!(eight_digits(b"99999999"), Some(99_999_999));
        assert_eq!(eight_digits(b"00000000"), Some(0));
    }

    // ----- bool -----

    #[test]
    fn bools() {
        for t in ["true", "TRUE", "True", "tRuE"] {
            assert_eq!(parse_bool(t.as_bytes()), Some(true), "{t}");
        }
        for f in ["false", "FALSE", "False", "fAlSe"] {
            assert_eq!(parse_bool(f.as_bytes()), Some(false), "{f}");
        }
        for bad in [
            "", "t", "f", "1", "0", "yes", "no", " true", "true ", "truee", "fals", "T", "F",
        ] {
            assert_eq!(parse_bool(bad.as_bytes()), None, "{bad}");
        }
    }

    // ----- integers -----

    #[test]
    fn i64_accepts() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-0"), Some(0));
        assert_eq!(parse_i64(b"+42"), Some(42));
        assert_eq!(parse_i64(b"-42"), Some(-42));
        assert_eq!(parse_i64(b"007"), Some(7));
        assert_eq!(parse_i64(b"12345678"), Some(12_345_678));
        assert_eq!(parse_i64(b"1234567890123456"), Some(1_234_567_890_123_456));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"+9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(
            parse_i64(b"-0000000000000000000000009223372036854775808"),
            Some(i64::MIN)
        );
        assert_eq!(parse_i64(b"00000000000000000000000000001"), Some(1));
    }

    #[test]
    fn i64_rejects() {
        for bad in [
            "",
            "+",
            "-",
            "--1",
            "+-1",
            "-+1",
            " 1",
            "1 ",
            "1_000",
            "1.0",
            "1.",
            ".1",
            "1e3",
            "0x10",
            "١",
            "12a",
            "a12",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "-99999999999999999999999",
        ] {
            assert_eq!(parse_i64(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn i32_limits() {
        assert_eq!(parse_i32(b"2147483647"), Some(i32::MAX));
        assert_eq!(parse_i32(b"-2147483648"), Some(i32::MIN));
        assert_eq!(parse_i32(b"+0"), Some(0));
        assert_eq!(parse_i32(b"-17"), Some(-17));
        for bad in [
            "2147483648",
            "-2147483649",
            "4294967296",
            "4294967295",
            "",
            "-",
            "1.5",
            " 1",
        ] {
            assert_eq!(parse_i32(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn ints_agree_with_std_on_random_text() {
        let alphabet = b"0123456789+-";
        let mut r = Lcg(42);
        for _ in 0..20_000 {
            let len = r.below(24);
            let mut s = String::new();
            for _ in 0..len {
                // Mostly digits, sometimes a sign.
                let i = if r.below(8) == 0 {
                    10 + r.below(2)
                } else {
                    r.below(10)
                };
                s.push(char::from(alphabet[i as usize]));
            }
            assert_eq!(parse_i64(s.as_bytes()), s.parse::<i64>().ok(), "{s:?}");
            assert_eq!(parse_i32(s.as_bytes()), s.parse::<i32>().ok(), "{s:?}");
        }
    }

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

    fn random_decimal(r: &mut Lcg) -> String {
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
        let mut r = Lcg(0x5EED);
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
        let mut r = Lcg(0xF32);
        for _ in 0..5000 {
            let s = random_decimal(&mut r);
            let want = s.parse::<f32>().ok().filter(|v| v.is_finite());
            let got = parse_f32(s.as_bytes());
            assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits), "{s:?}");
        }
    }

    #[test]
    fn short_decimals_take_the_fast_path_and_agree() {
        let mut r = Lcg(0xFA57);
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
        let mut r = Lcg(1);
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
        let mut r = Lcg(0x3D);
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

    // ----- classify -----

    #[test]
    fn classify_samples() {
        let c = |s: &str| classify(s.as_bytes());
        let none = Candidates::default();
        let num = |int| Candidates {
            int,
            float: true,
            ..none
        };
        assert_eq!(c(""), none);
        assert_eq!(c("hello"), none);
        assert_eq!(
            c("true"),
            Candidates {
                boolean: true,
                ..none
            }
        );
        assert_eq!(
            c("FALSE"),
            Candidates {
                boolean: true,
                ..none
            }
        );
        assert_eq!(c("tru"), none);
        assert_eq!(c("42"), num(true));
        assert_eq!(c("-42"), num(true));
        assert_eq!(c("+7"), num(true));
        assert_eq!(c("99999999999999999999"), num(false));
        assert_eq!(c("1.5"), num(false));
        assert_eq!(c(".5"), num(false));
        assert_eq!(c("-1e-5"), num(false));
        assert_eq!(c("123e-45678"), num(false));
        assert_eq!(c("1e400"), none);
        assert_eq!(c("nan"), num(false));
        assert_eq!(c("-Infinity"), num(false));
        assert_eq!(c("n/a"), none);
        assert_eq!(c("-"), none);
        assert_eq!(c("2024-01-02"), Candidates { date: true, ..none });
        assert_eq!(c("2024-02-30"), none);
        assert_eq!(
            c("2024-01-02T03:04:05"),
            Candidates {
                timestamp: true,
                ..none
            }
        );
        assert_eq!(
            c("2024-01-02 03:04:05.120+01:00"),
            Candidates {
                timestamp: true,
                timestamp_offset: true,
                fraction_digits: 2,
                ..none
            }
        );
        assert_eq!(
            c("3000-01-01T00:00:00.123456789Z"),
            Candidates {
                timestamp: true,
                timestamp_offset: true,
                fraction_digits: 9,
                ..none
            }
        );
        assert_eq!(c("2024-01-02T25:00"), none);
        assert_eq!(c("12:30"), none);
    }

    #[test]
    fn classify_matches_parsers_on_random_text() {
        let alphabet = b"0123456789+-.eEtrufalsTZ: ni";
        let mut r = Lcg(99);
        for _ in 0..20_000 {
            let len = r.below(12);
            let s: Vec<u8> = (0..len)
                .map(|_| alphabet[r.below(alphabet.len() as u64) as usize])
                .collect();
            let got = classify(&s);
            assert_eq!(got.boolean, parse_bool(&s).is_some(), "{s:?}");
            assert_eq!(got.int, parse_i64(&s).is_some(), "{s:?}");
            assert_eq!(got.float, parse_f64(&s).is_some(), "{s:?}");
            assert_eq!(got.date, parse_date32(&s).is_some(), "{s:?}");
        }
    }
}
