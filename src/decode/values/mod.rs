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
    /// [`parse_time64`] accepts the text (a time of day).
    pub time: bool,
    /// The timestamp carried a UTC offset.
    pub timestamp_offset: bool,
    /// Significant fraction digits of a timestamp (0 if none).
    pub fraction_digits: u8,
}

mod datefmt;
mod decimal;
mod float;
mod int;
mod temporal;

pub use datefmt::{candidate_mask, candidates as date_candidates, DateFormat, TIME_CANDIDATES};
pub use decimal::parse_decimal128;
pub use float::{parse_f32, parse_f64};
pub use int::{infers_as_bool, parse_bool, parse_i32, parse_i64, Booleans};
#[cfg(any(test, feature = "testkit"))]
pub use temporal::timestamp_fraction_digits;
use temporal::{fraction_sig, scan_timestamp};
pub use temporal::{parse_date32, parse_time64, parse_timestamp};

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
    if loses_text(b) {
        // `00123`, `007.5`, `+3185`: the zeros or the sign are part of a code (zip, account,
        // phone number) and would be lost.
        return;
    }
    c.int = parse_i64(b).is_some();
    c.float = c.int || parse_f64(b).is_some();
}

/// How numbers are written besides the plain `-1234.5`: a decimal comma (`1,5`), a thousands
/// separator (`1,234.5`, `1.234,5`, `1 234`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NumberFormat {
    /// `,` is the decimal mark (`1,5`; a `.` is then no decimal mark).
    pub decimal_comma: bool,
    /// Groups of three digits before the decimal mark may be separated by this byte.
    pub thousands: Option<u8>,
}

impl NumberFormat {
    /// Numbers are written plainly.
    pub fn is_plain(&self) -> bool {
        !self.decimal_comma && self.thousands.is_none()
    }

    /// The number `b` as the parsers read it (`1.234,5` -> `1234.5`): `None` when it is not one
    /// in this format (a `.` with a decimal comma; a separator that does not split the integer
    /// part into groups of three; too long).
    #[inline]
    pub fn normalize(&self, b: &[u8]) -> Option<arrayvec_lite::Buf> {
        if b.len() > arrayvec_lite::CAP {
            return None;
        }
        let mark = if self.decimal_comma { b',' } else { b'.' };
        let mut out = arrayvec_lite::Buf::default();
        // In the integer part: the digits since the last separator, and separators seen.
        let (mut in_integer, mut group, mut separators) = (true, 0usize, 0usize);
        for &c in b {
            if !in_integer && Some(c) == self.thousands {
                return None;
            }
            if in_integer && Some(c) == self.thousands {
                if group == 0 || group > 3 || (separators > 0 && group != 3) {
                    return None;
                }
                separators += 1;
                group = 0;
                continue;
            }
            if c == mark || matches!(c, b'e' | b'E') || (self.decimal_comma && c == b'.') {
                if c == b'.' && self.decimal_comma {
                    return None;
                }
                if in_integer && separators > 0 && group != 3 {
                    return None;
                }
                in_integer = false;
                out.push(if c == mark { b'.' } else { c });
                continue;
            }
            if in_integer && c.is_ascii_digit() {
                group += 1;
            }
            out.push(c);
        }
        if in_integer && separators > 0 && group != 3 {
            return None;
        }
        Some(out)
    }
}

/// A small fixed-capacity byte buffer (no allocation on the decode path).
pub mod arrayvec_lite {
    /// Longest number read with a decimal comma.
    pub const CAP: usize = 64;

    /// Up to [`CAP`] bytes.
    #[derive(Debug, Clone, Copy)]
    pub struct Buf {
        bytes: [u8; CAP],
        len: usize,
    }

    impl Default for Buf {
        fn default() -> Self {
            Buf {
                bytes: [0; CAP],
                len: 0,
            }
        }
    }

    impl Buf {
        /// Append a byte (the caller keeps within [`CAP`]).
        #[inline]
        pub fn push(&mut self, b: u8) {
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }

    impl std::ops::Deref for Buf {
        type Target = [u8];
        fn deref(&self) -> &[u8] {
            &self.bytes[..self.len]
        }
    }
}

/// Whether a number written so would not give its text back once typed: a `+` sign (`+31...`
/// phone numbers) or digits that start with a `0` followed by another digit (`00123`).
#[inline(always)]
pub(crate) fn loses_text(b: &[u8]) -> bool {
    match b {
        [b'+', ..] => true,
        [b'0', second, ..] => second.is_ascii_digit(),
        [b'-', b'0', third, ..] => third.is_ascii_digit(),
        _ => false,
    }
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
            if b.get(2) == Some(&b':') {
                c.time = parse_time64(b).is_some();
                return c;
            }
            let dateish = b.len() >= 10 && b.get(4) == Some(&b'-');
            if !(dateish && classify_temporal(b, &mut c)) {
                classify_number(b, &mut c);
            }
        }
        b'+' | b'-' | b'.' => classify_number(b, &mut c),
        b't' | b'T' | b'f' | b'F' | b'y' | b'Y' => c.boolean = infers_as_bool(b),
        b'n' | b'N' => {
            c.boolean = infers_as_bool(b);
            c.float = !c.boolean && parse_f64(b).is_some();
        }
        b'i' | b'I' => c.float = parse_f64(b).is_some(),
        _ => {}
    }
    c
}

/// The seeded generator of the parsers' randomized tests.
#[cfg(test)]
mod test_rng {
    /// Draws for the randomized tests, from [`crate::testkit::Rng`] (fixed seeds).
    pub(crate) struct TestRng(crate::testkit::Rng);

    impl TestRng {
        pub(crate) fn new(seed: u64) -> Self {
            TestRng(crate::testkit::Rng::new(seed))
        }
        pub(crate) fn next(&mut self) -> u64 {
            self.0.next_u64() >> 33
        }
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        pub(crate) fn digits(&mut self, s: &mut String, n: u64) {
            for _ in 0..n {
                s.push(char::from(b'0' + self.below(10) as u8));
            }
        }
    }
}

/// Shorthands the parsers' tests share.
#[cfg(test)]
mod test_helpers {
    use super::*;

    pub(crate) fn f64_of(s: &str) -> Option<f64> {
        parse_f64(s.as_bytes())
    }

    pub(crate) fn ts(s: &str, unit: TsUnit) -> Option<Timestamp> {
        parse_timestamp(s.as_bytes(), unit)
    }

    pub(crate) fn naive(value: i64) -> Option<Timestamp> {
        Some(Timestamp {
            value,
            has_offset: false,
        })
    }

    pub(crate) fn utc(value: i64) -> Option<Timestamp> {
        Some(Timestamp {
            value,
            has_offset: true,
        })
    }

    pub(crate) fn dec(s: &str, p: u8, sc: i8) -> Option<i128> {
        parse_decimal128(s.as_bytes(), p, sc)
    }
}

#[cfg(test)]
mod tests {
    use super::test_rng::TestRng;
    use super::*;

    // ----- helpers -----

    #[test]
    fn eight_digits_matches_naive() {
        let mut r = TestRng::new(7);
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

    // ----- classify -----

    #[test]
    fn numbers_in_other_formats_normalize() {
        let f = |decimal_comma, thousands: Option<u8>, text: &str| {
            NumberFormat {
                decimal_comma,
                thousands,
            }
            .normalize(text.as_bytes())
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
        };
        let n = |s: &str| Some(s.to_string());
        assert_eq!(f(true, None, "-0,25"), n("-0.25"));
        assert_eq!(f(true, None, "1.5"), None);
        assert_eq!(f(false, Some(b','), "1,234,567.5"), n("1234567.5"));
        assert_eq!(f(false, Some(b','), "-12,345"), n("-12345"));
        assert_eq!(f(false, Some(b','), "1234"), n("1234"));
        assert_eq!(f(true, Some(b'.'), "1.234,50"), n("1234.50"));
        assert_eq!(f(false, Some(b' '), "1 234 567"), n("1234567"));
        assert_eq!(f(false, Some(b'\''), "1'234.5e3"), n("1234.5e3"));
        for bad in ["1,23", "1234,567", ",123", "1,,234", "12,34.5", "1.5,234"] {
            assert_eq!(f(false, Some(b','), bad), None, "{bad}");
        }
        assert_eq!(f(true, Some(b'.'), "1,5.0"), None);
    }

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
        assert_eq!(c("+7"), none, "a + sign would be lost");
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
        assert_eq!(c("12:30"), Candidates { time: true, ..none });
        assert_eq!(c("12:30:00.25"), Candidates { time: true, ..none });
        assert_eq!(c("25:30"), none);
        // Leading zeros are text: the value could not give them back.
        for code in [
            "00123", "0001", "-007", "+01", "007.5", "00", "01e5", "+3185", "+1.5",
        ] {
            assert_eq!(c(code), none, "{code}");
        }
        for number in ["0", "-0", "0.5", "-0.25", "0e5", "10", "100"] {
            assert!(c(number).float, "{number}");
        }
    }

    #[test]
    fn classify_matches_parsers_on_random_text() {
        let alphabet = b"0123456789+-.eEtrufalsTZ: ni";
        let mut r = TestRng::new(99);
        for _ in 0..20_000 {
            let len = r.below(12);
            let s: Vec<u8> = (0..len)
                .map(|_| alphabet[r.below(alphabet.len() as u64) as usize])
                .collect();
            let got = classify(&s);
            assert_eq!(got.boolean, infers_as_bool(&s), "{s:?}");
            // Inference keeps numbers with leading zeros or a `+` as text; the parsers read them.
            let lossless = !loses_text(&s);
            assert_eq!(got.int, lossless && parse_i64(&s).is_some(), "{s:?}");
            assert_eq!(got.float, lossless && parse_f64(&s).is_some(), "{s:?}");
            assert_eq!(got.date, parse_date32(&s).is_some(), "{s:?}");
            assert_eq!(got.time, parse_time64(&s).is_some(), "{s:?}");
        }
    }
}
