//! Booleans and integers.

use super::{digits_u64, split_sign};

// ---------------------------------------------------------------------------
// Booleans and integers
// ---------------------------------------------------------------------------

/// ASCII case-insensitive `true`/`false`, `t`/`f`, `yes`/`no`, `y`/`n`, `1`/`0`. Anything else
/// `None`.
#[inline]
pub fn parse_bool(b: &[u8]) -> Option<bool> {
    let mut lower = [0u8; 5];
    if b.len() > lower.len() {
        return None;
    }
    for (l, c) in lower.iter_mut().zip(b) {
        *l = c.to_ascii_lowercase();
    }
    match &lower[..b.len()] {
        b"true" | b"t" | b"yes" | b"y" | b"1" => Some(true),
        b"false" | b"f" | b"no" | b"n" | b"0" => Some(false),
        _ => None,
    }
}

/// Whether inference takes `b` for a boolean: the spellings of [`parse_bool`] but the
/// one-letter `y`/`n` (codes as often as answers) and `1`/`0` (integers).
pub fn infers_as_bool(b: &[u8]) -> bool {
    parse_bool(b).is_some() && !matches!(b, b"1" | b"0" | b"y" | b"Y" | b"n" | b"N")
}

/// The spellings of true and false (`--true-values`, `--false-values`): a side that is set
/// replaces the usual spellings of [`parse_bool`] for it (matched exactly); an empty side keeps
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Booleans {
    /// The spellings of true, if set.
    pub trues: Vec<Vec<u8>>,
    /// The spellings of false, if set.
    pub falses: Vec<Vec<u8>>,
}

impl Booleans {
    /// Neither side is set.
    pub fn is_default(&self) -> bool {
        self.trues.is_empty() && self.falses.is_empty()
    }

    /// `b` as a boolean.
    pub fn parse(&self, b: &[u8]) -> Option<bool> {
        let side = |set: &[Vec<u8>], value: bool| {
            if set.is_empty() {
                parse_bool(b) == Some(value)
            } else {
                set.iter().any(|s| s.as_slice() == b)
            }
        };
        if side(&self.trues, true) {
            Some(true)
        } else if side(&self.falses, false) {
            Some(false)
        } else {
            None
        }
    }

    /// Whether inference takes `b` for a boolean: a set spelling, or one inference takes by
    /// default ([`infers_as_bool`]) on a side that is not set.
    pub fn infers(&self, b: &[u8]) -> bool {
        match self.parse(b) {
            Some(true) if self.trues.is_empty() => infers_as_bool(b),
            Some(false) if self.falses.is_empty() => infers_as_bool(b),
            other => other.is_some(),
        }
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

#[cfg(test)]
mod tests {
    #[test]
    fn set_boolean_spellings_replace_their_side() {
        let b = |t: &[&str], f: &[&str]| Booleans {
            trues: t.iter().map(|s| s.as_bytes().to_vec()).collect(),
            falses: f.iter().map(|s| s.as_bytes().to_vec()).collect(),
        };
        let ja = b(&["J", "Ja"], &["N"]);
        assert_eq!(ja.parse(b"Ja"), Some(true));
        assert_eq!(ja.parse(b"N"), Some(false));
        assert_eq!(ja.parse(b"true"), None);
        assert_eq!(ja.parse(b"ja"), None, "matched exactly");
        assert!(ja.infers(b"J") && ja.infers(b"N"));
        // An unset side keeps the usual spellings (and what inference takes of them).
        let only_true = b(&["oui"], &[]);
        assert_eq!(only_true.parse(b"FALSE"), Some(false));
        assert!(only_true.infers(b"no") && !only_true.infers(b"0"));
        assert!(Booleans::default().is_default() && !ja.is_default());
    }

    use super::*;
    use crate::decode::values::test_rng::TestRng;

    // ----- bool -----

    #[test]
    fn bools() {
        for t in [
            "true", "TRUE", "True", "tRuE", "t", "T", "yes", "Yes", "y", "Y", "1",
        ] {
            assert_eq!(parse_bool(t.as_bytes()), Some(true), "{t}");
        }
        for f in [
            "false", "FALSE", "False", "fAlSe", "f", "F", "no", "NO", "n", "N", "0",
        ] {
            assert_eq!(parse_bool(f.as_bytes()), Some(false), "{f}");
        }
        for bad in [
            "", " true", "true ", "truee", "fals", "ye", "nope", "01", "2", "tr",
        ] {
            assert_eq!(parse_bool(bad.as_bytes()), None, "{bad}");
        }
        for inferred in ["true", "F", "yes", "No"] {
            assert!(infers_as_bool(inferred.as_bytes()), "{inferred}");
        }
        for not_inferred in ["y", "N", "1", "0", "maybe"] {
            assert!(!infers_as_bool(not_inferred.as_bytes()), "{not_inferred}");
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
        let mut r = TestRng::new(42);
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
}
