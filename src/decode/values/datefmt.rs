//! Dates and timestamps in the formats exports write (`03/12/2026`, `12.03.2026 14:05`,
//! `2026/03/12 02:05:09 PM`, `2005-10-3`): a small strftime subset (`%d`, `%m`, `%Y`, `%y`, `%H`,
//! `%I`, `%M`, `%S`, `%p`, `%%` and literal bytes), read as DuckDB's `dateformat` reads it: a day,
//! month or hour of one or two digits, minutes and seconds of two (seconds may carry a fraction
//! of up to 9 digits, `05.25`), a `%Y` of four, a `%y` of two (`00`..`68` is 20xx, `69`..`99`
//! 19xx), `%p` `AM`/`PM` in any case.

use super::digit;
use super::temporal::{days_from_civil, days_in_month};

/// One piece of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Day,
    Month,
    Year4,
    Year2,
    Hour24,
    Hour12,
    Minute,
    Second,
    AmPm,
    Literal(u8),
}

/// The fields read from a text.
#[derive(Default)]
struct Fields {
    day: u32,
    month: u32,
    year: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    pm: Option<bool>,
}

/// A parsed date format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    items: Vec<Item>,
    text: String,
}

/// The formats inference tries on dates that are not ISO 8601, in this order. The last,
/// `%y.%m.%d` (`90.01.31`), is a fallback: it also reads most `%d.%m.%y` dates (`12.03.26`), so
/// it counts only where no other format reads the column ([`DateFormat::is_fallback`]).
pub const CANDIDATES: [&str; 14] = [
    "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y.%m.%d", "%d-%m-%Y", "%m-%d-%Y", "%Y-%m-%d",
    "%d/%m/%y", "%m/%d/%y", "%d.%m.%y", "%d-%m-%y", "%m-%d-%y", "%y.%m.%d",
];

/// The times of day inference tries after each of [`CANDIDATES`] on timestamps that are not
/// ISO 8601 (`12/03/2026 14:05:09`, `03/12/2026 2:05:09 PM`).
pub const TIME_CANDIDATES: [&str; 3] = [" %H:%M:%S", " %H:%M", " %I:%M:%S %p"];

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
                Some(b'H') => Item::Hour24,
                Some(b'I') => Item::Hour12,
                Some(b'M') => Item::Minute,
                Some(b'S') => Item::Second,
                Some(b'p') => Item::AmPm,
                Some(b'%') => Item::Literal(b'%'),
                Some(other) => {
                    return Err(format!(
                        "{format:?}: %{} is not supported (use %d %m %Y %y %H %I %M %S %p)",
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
        let hours = count(&|i| matches!(i, Item::Hour24 | Item::Hour12));
        let (minutes, seconds) = (
            count(&|i| *i == Item::Minute),
            count(&|i| *i == Item::Second),
        );
        let twelve = count(&|i| *i == Item::Hour12) == 1;
        let am_pm = count(&|i| *i == Item::AmPm);
        let timed = hours + minutes + seconds + am_pm > 0;
        if timed && (hours != 1 || minutes != 1 || seconds > 1 || am_pm != usize::from(twelve)) {
            return Err(format!(
                "{format:?}: a time needs one hour (%H, or %I with %p), one minute (%M) and at \
                 most one second (%S)"
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

    /// Whether the format starts with a two-digit year (`%y.%m.%d`): a candidate that inference
    /// takes only when no other reads the column, since day-first dates with a year up to 31
    /// read in it too.
    pub fn is_fallback(&self) -> bool {
        self.items.first() == Some(&Item::Year2)
    }

    /// Whether the format has a time of day (a timestamp format).
    pub fn has_time(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Hour24 | Item::Hour12))
    }

    /// Days since 1970-01-01 of `b`, if it is a valid date in this format (a date format).
    pub fn days(&self, b: &[u8]) -> Option<i32> {
        if self.has_time() {
            return None;
        }
        let f = self.fields(b)?;
        Some(days_from_civil(f.year, f.month, f.day))
    }

    /// Nanoseconds since 1970-01-01 00:00 of `b` (a wall time), if it is a valid timestamp in
    /// this format (a timestamp format).
    pub fn timestamp_nanos(&self, b: &[u8]) -> Option<i128> {
        if !self.has_time() {
            return None;
        }
        let f = self.fields(b)?;
        let hour = match f.pm {
            None => f.hour,
            Some(pm) if (1..=12).contains(&f.hour) => f.hour % 12 + if pm { 12 } else { 0 },
            Some(_) => return None,
        };
        if hour > 23 || f.minute > 59 || f.second > 59 {
            return None;
        }
        let days = i128::from(days_from_civil(f.year, f.month, f.day));
        let secs = days * 86_400 + i128::from(hour * 3600 + f.minute * 60 + f.second);
        Some(secs * 1_000_000_000 + i128::from(f.nanos))
    }

    /// The fields of `b`, a valid date in this format (any time is checked by the caller).
    fn fields(&self, b: &[u8]) -> Option<Fields> {
        let mut f = Fields::default();
        let mut rest = b;
        for item in &self.items {
            rest = match *item {
                Item::Literal(l) => {
                    let (&first, tail) = rest.split_first()?;
                    if first != l {
                        return None;
                    }
                    tail
                }
                Item::Day | Item::Month | Item::Hour24 | Item::Hour12 => {
                    let (value, tail) = one_or_two_digits(rest)?;
                    match item {
                        Item::Day => f.day = value,
                        Item::Month => f.month = value,
                        _ => f.hour = value,
                    }
                    tail
                }
                Item::Minute | Item::Second => {
                    let (digits, tail) = rest.split_first_chunk::<2>()?;
                    let value = u32::from(digit(digits[0])?) * 10 + u32::from(digit(digits[1])?);
                    if *item == Item::Minute {
                        f.minute = value;
                        tail
                    } else {
                        f.second = value;
                        let (nanos, tail) = fraction(tail)?;
                        f.nanos = nanos;
                        tail
                    }
                }
                Item::AmPm => {
                    let (letters, tail) = rest.split_first_chunk::<2>()?;
                    f.pm = match [
                        letters[0].to_ascii_uppercase(),
                        letters[1].to_ascii_uppercase(),
                    ] {
                        [b'A', b'M'] => Some(false),
                        [b'P', b'M'] => Some(true),
                        _ => return None,
                    };
                    tail
                }
                Item::Year4 => {
                    let (digits, tail) = rest.split_first_chunk::<4>()?;
                    f.year = digits
                        .iter()
                        .try_fold(0u32, |y, &c| Some(y * 10 + u32::from(digit(c)?)))?;
                    tail
                }
                Item::Year2 => {
                    let (digits, tail) = rest.split_first_chunk::<2>()?;
                    let yy = u32::from(digit(digits[0])?) * 10 + u32::from(digit(digits[1])?);
                    f.year = if yy <= 68 { 2000 + yy } else { 1900 + yy };
                    tail
                }
            };
        }
        if !rest.is_empty()
            || !(1..=12).contains(&f.month)
            || f.day == 0
            || f.day > days_in_month(f.year, f.month)
        {
            return None;
        }
        Some(f)
    }
}

/// An optional fraction after seconds (`.25`, 1 to 9 digits) in nanoseconds, and the rest.
fn fraction(b: &[u8]) -> Option<(u32, &[u8])> {
    let Some(digits) = b.strip_prefix(b".") else {
        return Some((0, b));
    };
    let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 9 {
        return None;
    }
    let value = digits[..n]
        .iter()
        .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
    Some((value * 10u32.pow(9 - n as u32), &digits[n..]))
}

/// A day or month: one or two digits (the longest that is there).
fn one_or_two_digits(b: &[u8]) -> Option<(u32, &[u8])> {
    let first = u32::from(digit(*b.first()?)?);
    match b.get(1).and_then(|&c| digit(c)) {
        Some(second) => Some((first * 10 + u32::from(second), &b[2..])),
        None => Some((first, &b[1..])),
    }
}

/// Bit `i` set when `formats[i]` reads `b`, for the bits set in `among` (the formats still in
/// the running: a column's values quickly leave one or none). A timestamp format counts when it
/// reads `b` to the microsecond. Only text that can be such a date is tried.
pub fn candidate_mask(b: &[u8], formats: &[DateFormat], among: u64) -> u64 {
    if !(6..=40).contains(&b.len()) || !b[0].is_ascii_digit() {
        return 0;
    }
    let mut mask = 0;
    let mut rest = among;
    while rest != 0 {
        let i = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        let Some(f) = formats.get(i) else { break };
        let reads = if f.has_time() {
            f.timestamp_nanos(b).is_some_and(|n| n % 1_000 == 0)
        } else {
            f.days(b).is_some()
        };
        if reads {
            mask |= 1 << i;
        }
    }
    mask
}

/// The candidate formats, parsed: [`CANDIDATES`], then each of them with each of
/// [`TIME_CANDIDATES`].
pub fn candidates() -> Vec<DateFormat> {
    let timed = CANDIDATES
        .iter()
        .flat_map(|d| TIME_CANDIDATES.iter().map(move |t| format!("{d}{t}")));
    CANDIDATES
        .iter()
        .map(|d| d.to_string())
        .chain(timed)
        .filter_map(|f| DateFormat::parse(&f).ok())
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
        assert_eq!(days("%y.%m.%d", "26.03.12"), Some(iso));
        assert_eq!(
            days("%y.%m.%d", "90.01.01"),
            super::super::parse_date32(b"1990-01-01")
        );
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
    fn timestamps_read_their_times() {
        let ts = |format: &str, text: &str| {
            DateFormat::parse(format)
                .unwrap()
                .timestamp_nanos(text.as_bytes())
        };
        let day = i128::from(super::super::parse_date32(b"2026-03-12").unwrap()) * 86_400;
        let at =
            |h: i128, m: i128, s: i128, n: i128| (day + h * 3600 + m * 60 + s) * 1_000_000_000 + n;
        assert_eq!(
            ts("%d/%m/%Y %H:%M", "12/03/2026 14:05"),
            Some(at(14, 5, 0, 0))
        );
        assert_eq!(
            ts("%d/%m/%Y %H:%M:%S", "12/03/2026 4:05:09.5"),
            Some(at(4, 5, 9, 500_000_000))
        );
        assert_eq!(
            ts("%m/%d/%Y %I:%M:%S %p", "03/12/2026 12:05:09 am"),
            Some(at(0, 5, 9, 0))
        );
        assert_eq!(
            ts("%m/%d/%Y %I:%M:%S %p", "03/12/2026 12:05:09 PM"),
            Some(at(12, 5, 9, 0))
        );
        assert_eq!(
            ts("%m/%d/%Y %I:%M:%S %p", "03/12/2026 02:05:09 PM"),
            Some(at(14, 5, 9, 0))
        );
        for bad in [
            "12/03/2026 24:00",
            "12/03/2026 14:60",
            "12/03/2026 14:5",
            "12/03/2026",
            "12/03/2026 14:05 ",
        ] {
            assert_eq!(ts("%d/%m/%Y %H:%M", bad), None, "{bad}");
        }
        assert_eq!(ts("%m/%d/%Y %I:%M:%S %p", "03/12/2026 13:05:09 PM"), None);
        assert_eq!(ts("%m/%d/%Y %I:%M:%S %p", "03/12/2026 0:05:09 AM"), None);
        // A date format reads no timestamp and the other way round.
        assert_eq!(days("%d/%m/%Y", "12/03/2026 14:05"), None);
        assert_eq!(ts("%d/%m/%Y %H:%M", "12/03/2026"), None);
    }

    #[test]
    fn bad_formats_are_named() {
        assert!(DateFormat::parse("%d/%m").unwrap_err().contains("one year"));
        assert!(DateFormat::parse("%d/%m/%Y %H")
            .unwrap_err()
            .contains("one minute"));
        assert!(DateFormat::parse("%d/%m/%Y %I:%M")
            .unwrap_err()
            .contains("%p"));
        assert!(DateFormat::parse("%d/%m/%Y %Q").unwrap_err().contains("%Q"));
        assert!(DateFormat::parse("%d/%m/%Y%")
            .unwrap_err()
            .contains("lone %"));
    }

    #[test]
    fn candidates_split_day_first_from_month_first() {
        let all = candidates();
        let names = |mask: u64| -> Vec<&str> {
            (0..all.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| all[i].as_str())
                .collect()
        };
        let mask = |b: &[u8]| candidate_mask(b, &all, u64::MAX);
        assert_eq!(names(mask(b"13/12/2026")), ["%d/%m/%Y"]);
        assert_eq!(names(mask(b"03/12/2026")), ["%d/%m/%Y", "%m/%d/%Y"]);
        assert_eq!(names(mask(b"12345")), Vec::<&str>::new());
        assert_eq!(names(mask(b"1.5")), Vec::<&str>::new());
        assert_eq!(names(mask(b"13-12-04 15:16:00")), ["%d-%m-%y %H:%M:%S"]);
        assert_eq!(names(mask(b"13.12.2004 15:16")), ["%d.%m.%Y %H:%M"]);
        assert_eq!(
            names(mask(b"12/13/2004 03:16:00 PM")),
            ["%m/%d/%Y %I:%M:%S %p"]
        );
        assert_eq!(
            names(mask(b"2004/12/13 15:16:00.25")),
            ["%Y/%m/%d %H:%M:%S"]
        );
        // Only the formats still in the running are tried.
        assert_eq!(candidate_mask(b"13/12/2026", &all, 0b10), 0);
    }
}
