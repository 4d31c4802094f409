//! Dates in the formats exports write (`03/12/2026`, `12.03.2026`, `2026/03/12`, `2005-10-3`):
//! a small strftime subset (`%d`, `%m`, `%Y`, `%y`, `%%` and literal bytes), read as DuckDB's
//! `dateformat` reads it: a day or month of one or two digits, a `%Y` of four, a `%y` of two
//! (`00`..`68` is 20xx, `69`..`99` 19xx).

use super::digit;
use super::temporal::{days_from_civil, days_in_month};

/// One piece of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Day,
    Month,
    Year4,
    Year2,
    Literal(u8),
}

/// A parsed date format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    items: Vec<Item>,
    text: String,
}

/// The formats inference tries on dates that are not ISO 8601, in this order.
pub const CANDIDATES: [&str; 10] = [
    "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y.%m.%d", "%d-%m-%Y", "%m-%d-%Y", "%Y-%m-%d",
    "%d/%m/%y", "%m/%d/%y",
];

impl DateFormat {
    /// Parse a format; it needs one day, one month and one year.
    pub fn parse(format: &str) -> Result<Self, String> {
        let mut items = Vec::new();
        let mut bytes = format.bytes();
        while let Some(b) = bytes.next() {
            if b != b'%' {
                items.push(Item::Literal(b));
                continue;
            }
            items.push(match bytes.next() {
                Some(b'd') => Item::Day,
                Some(b'm') => Item::Month,
                Some(b'Y') => Item::Year4,
                Some(b'y') => Item::Year2,
                Some(b'%') => Item::Literal(b'%'),
                Some(other) => {
                    return Err(format!(
                        "{format:?}: %{} is not supported in a date (use %d %m %Y %y)",
                        other as char
                    ))
                }
                None => return Err(format!("{format:?} ends with a lone %")),
            });
        }
        let count = |f: &dyn Fn(&Item) -> bool| items.iter().filter(|i| f(i)).count();
        if count(&|i| *i == Item::Day) != 1
            || count(&|i| *i == Item::Month) != 1
            || count(&|i| matches!(i, Item::Year4 | Item::Year2)) != 1
        {
            return Err(format!(
                "{format:?} needs one day (%d), one month (%m) and one year (%Y or %y)"
            ));
        }
        Ok(DateFormat {
            items,
            text: format.to_string(),
        })
    }

    /// The format as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Days since 1970-01-01 of `b`, if it is a valid date in this format.
    pub fn days(&self, b: &[u8]) -> Option<i32> {
        let (mut day, mut month, mut year) = (0u32, 0u32, 0u32);
        let mut rest = b;
        for item in &self.items {
            match *item {
                Item::Literal(l) => {
                    let (&first, tail) = rest.split_first()?;
                    if first != l {
                        return None;
                    }
                    rest = tail;
                }
                Item::Day | Item::Month => {
                    let (value, tail) = one_or_two_digits(rest)?;
                    if *item == Item::Day {
                        day = value;
                    } else {
                        month = value;
                    }
                    rest = tail;
                }
                Item::Year4 => {
                    let (digits, tail) = rest.split_first_chunk::<4>()?;
                    year = digits
                        .iter()
                        .try_fold(0u32, |y, &c| Some(y * 10 + u32::from(digit(c)?)))?;
                    rest = tail;
                }
                Item::Year2 => {
                    let (digits, tail) = rest.split_first_chunk::<2>()?;
                    let yy = u32::from(digit(digits[0])?) * 10 + u32::from(digit(digits[1])?);
                    year = if yy <= 68 { 2000 + yy } else { 1900 + yy };
                    rest = tail;
                }
            }
        }
        if !rest.is_empty()
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return None;
        }
        Some(days_from_civil(year, month, day))
    }
}

/// A day or month: one or two digits (the longest that is there).
fn one_or_two_digits(b: &[u8]) -> Option<(u32, &[u8])> {
    let first = u32::from(digit(*b.first()?)?);
    match b.get(1).and_then(|&c| digit(c)) {
        Some(second) => Some((first * 10 + u32::from(second), &b[2..])),
        None => Some((first, &b[1..])),
    }
}

/// Bit `i` set when [`CANDIDATES`]`[i]` reads `b` (only text that can be such a date is tried).
pub fn candidate_mask(b: &[u8], formats: &[DateFormat]) -> u32 {
    if !(6..=10).contains(&b.len()) || !b[0].is_ascii_digit() {
        return 0;
    }
    let mut mask = 0;
    for (i, f) in formats.iter().enumerate() {
        if f.days(b).is_some() {
            mask |= 1 << i;
        }
    }
    mask
}

/// The candidate formats, parsed.
pub fn candidates() -> Vec<DateFormat> {
    CANDIDATES
        .iter()
        .filter_map(|f| DateFormat::parse(f).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(format: &str, text: &str) -> Option<i32> {
        DateFormat::parse(format).unwrap().days(text.as_bytes())
    }

    #[test]
    fn formats_read_their_dates() {
        let iso = super::super::parse_date32(b"2026-03-12").unwrap();
        assert_eq!(days("%d/%m/%Y", "12/03/2026"), Some(iso));
        assert_eq!(days("%m/%d/%Y", "03/12/2026"), Some(iso));
        assert_eq!(days("%d.%m.%Y", "12.3.2026"), Some(iso));
        assert_eq!(days("%Y/%m/%d", "2026/03/12"), Some(iso));
        assert_eq!(days("%Y-%m-%d", "2026-3-12"), Some(iso));
        assert_eq!(days("%d/%m/%y", "12/03/26"), Some(iso));
        assert_eq!(
            days("%d/%m/%y", "01/01/69"),
            super::super::parse_date32(b"1969-01-01")
        );
        for bad in [
            "13/13/2026",
            "31/02/2026",
            "12/03/2026x",
            "12/03",
            "1a/03/2026",
            "0/3/2026",
        ] {
            assert_eq!(days("%d/%m/%Y", bad), None, "{bad}");
        }
        assert_eq!(
            days("%d/%m/%Y", "29/02/2024"),
            super::super::parse_date32(b"2024-02-29")
        );
        assert_eq!(days("%d/%m/%Y", "29/02/2023"), None);
    }

    #[test]
    fn bad_formats_are_named() {
        assert!(DateFormat::parse("%d/%m").unwrap_err().contains("one year"));
        assert!(DateFormat::parse("%d/%m/%Y %H").unwrap_err().contains("%H"));
        assert!(DateFormat::parse("%d/%m/%Y%")
            .unwrap_err()
            .contains("lone %"));
    }

    #[test]
    fn candidates_split_day_first_from_month_first() {
        let all = candidates();
        let names = |mask: u32| -> Vec<&str> {
            (0..all.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| CANDIDATES[i])
                .collect()
        };
        assert_eq!(names(candidate_mask(b"13/12/2026", &all)), ["%d/%m/%Y"]);
        assert_eq!(
            names(candidate_mask(b"03/12/2026", &all)),
            ["%d/%m/%Y", "%m/%d/%Y"]
        );
        assert_eq!(names(candidate_mask(b"12345", &all)), Vec::<&str>::new());
        assert_eq!(names(candidate_mask(b"1.5", &all)), Vec::<&str>::new());
    }
}
