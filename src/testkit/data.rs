//! Seeded generators of realistic CSV for tests, benches and the comparison script.
//!
//! Three shapes: `taxi` (NYC-taxi-like: ints, decimals, timestamps, a few nulls), `text`
//! (quoted commas, doubled quotes, embedded newlines, unicode) and `wide` (1,000 columns, or
//! `wide3000` / `wide:N`, cycling integer, float, short-text and date columns, each drawing
//! every value afresh from its own pool of 2,000-5,000 values: the exports of census, finance
//! and sensor data that are hundreds of columns wide), and `digits:N` (N columns of one-digit
//! integers: the shortest fields, as flags, one-hot encodings and survey answers are, which
//! decode to ~10x their text). The same seed and size always
//! give the same bytes (`csv2parquet generate`, the benches and the tests depend on it: neither
//! this file nor [`Rng`] may change what a seed gives).

use std::io::Write;

use super::Rng;

/// Which data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Numeric and timestamp heavy, like the NYC taxi trip records.
    Taxi,
    /// Text heavy, with quoting, newlines and unicode.
    Text,
    /// `columns` columns cycling integer, float, short text and date, unquoted, no nulls; each
    /// column draws its values from a fixed pool of 2,000-5,000.
    Wide {
        /// Number of columns (at least 1).
        columns: u32,
    },
    /// `columns` columns of one-digit integers (0-9), unquoted, no nulls.
    Digits {
        /// Number of columns (at least 1).
        columns: u32,
    },
}

/// Columns of the `wide` shape.
pub const WIDE_COLUMNS: u32 = 1_000;
/// Most columns `wide:N` accepts.
const MAX_WIDE_COLUMNS: u32 = 100_000;

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let columns = match s {
            "taxi" => return Ok(Shape::Taxi),
            "text" => return Ok(Shape::Text),
            "wide" => Some(WIDE_COLUMNS),
            "wide3000" => Some(3_000),
            _ if s.starts_with("digits:") => {
                return match s["digits:".len()..].parse() {
                    Ok(columns @ 1..=MAX_WIDE_COLUMNS) => Ok(Shape::Digits { columns }),
                    _ => Err(format!(
                        "unknown shape {s:?} (digits:N takes N columns, 1 to {MAX_WIDE_COLUMNS})"
                    )),
                };
            }
            _ => s.strip_prefix("wide:").and_then(|n| n.parse().ok()),
        };
        match columns {
            Some(columns @ 1..=MAX_WIDE_COLUMNS) => Ok(Shape::Wide { columns }),
            _ => Err(format!(
                "unknown shape {s:?} (taxi, text, wide (1,000 columns), wide3000, \
                 wide:N for N columns, 1 to {MAX_WIDE_COLUMNS}, or digits:N)"
            )),
        }
    }
}

const TAXI_HEADER: &str = "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,Airport_fee\n";
const TEXT_HEADER: &str = "id,user,country,title,body,score,created_at\n";

const WORDS: [&str; 24] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "café",
    "naïve",
    "Zürich",
    "東京",
    "данные",
    "emoji🙂",
    "tea",
    "river",
    "stone",
    "light",
    "window",
    "garden",
];
const COUNTRIES: [&str; 8] = ["US", "DE", "FR", "JP", "BR", "IN", "GB", "CA"];

/// Write about `bytes` bytes of CSV (whole records, header included) of `shape` to `out`.
pub fn generate(shape: Shape, bytes: u64, seed: u64, out: &mut dyn Write) -> std::io::Result<u64> {
    let mut rng = Rng::new(seed);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    match shape {
        Shape::Taxi => buf.extend_from_slice(TAXI_HEADER.as_bytes()),
        Shape::Text => buf.extend_from_slice(TEXT_HEADER.as_bytes()),
        Shape::Wide { columns } | Shape::Digits { columns } => wide_header(columns, &mut buf),
    }
    let mut written = 0u64;
    let mut row = 0u64;
    while written + (buf.len() as u64) < bytes {
        match shape {
            Shape::Taxi => taxi_row(&mut rng, row, &mut buf),
            Shape::Text => text_row(&mut rng, row, &mut buf),
            Shape::Wide { columns } => wide_row(&mut rng, columns, &mut buf),
            Shape::Digits { columns } => digits_row(&mut rng, columns, &mut buf),
        }
        row += 1;
        if buf.len() >= 1 << 20 {
            out.write_all(&buf)?;
            written += buf.len() as u64;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    written += buf.len() as u64;
    Ok(written)
}

/// Generate into memory.
pub fn generate_vec(shape: Shape, bytes: u64, seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes as usize + 4096);
    // Writing to a Vec cannot fail.
    let _ = generate(shape, bytes, seed, &mut v);
    v
}

fn timestamp(buf: &mut Vec<u8>, secs: u64) {
    // 2024-01-01 00:00:00 + secs, within 2024 (a leap year).
    let day = secs / 86_400;
    let rem = secs % 86_400;
    let days_in_month = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut d = day % 366;
    let mut month = 0;
    while d >= days_in_month[month] {
        d -= days_in_month[month];
        month += 1;
    }
    let _ = write!(
        buf,
        "2024-{:02}-{:02} {:02}:{:02}:{:02}",
        month + 1,
        d + 1,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
}

fn money(buf: &mut Vec<u8>, cents: u64) {
    let _ = write!(buf, "{}.{:02}", cents / 100, cents % 100);
}

fn taxi_row(rng: &mut Rng, row: u64, buf: &mut Vec<u8>) {
    let pickup = row * 3 + rng.below(600);
    let dur = 120 + rng.below(3000);
    let _ = write!(buf, "{},", 1 + rng.below(2));
    timestamp(buf, pickup);
    buf.push(b',');
    timestamp(buf, pickup + dur);
    buf.push(b',');
    if rng.below(50) != 0 {
        let _ = write!(buf, "{}", 1 + rng.below(4));
    }
    let dist = rng.below(2500);
    let _ = write!(buf, ",{}.{:02},", dist / 100, dist % 100);
    let _ = write!(
        buf,
        "{},{},",
        1 + rng.below(5),
        if rng.below(20) == 0 { "Y" } else { "N" }
    );
    let _ = write!(
        buf,
        "{},{},{},",
        1 + rng.below(265),
        1 + rng.below(265),
        1 + rng.below(4)
    );
    let fare = 300 + dist * 2 + rng.below(1000);
    money(buf, fare);
    buf.push(b',');
    money(buf, [0, 50, 100, 250][rng.below(4) as usize]);
    buf.extend_from_slice(b",0.50,");
    let tip = rng.below(fare / 3 + 1);
    money(buf, tip);
    buf.push(b',');
    money(buf, if rng.below(10) == 0 { 694 } else { 0 });
    buf.extend_from_slice(b",1.00,");
    money(buf, fare + tip + 150);
    buf.extend_from_slice(if rng.below(3) == 0 {
        b",0.00,"
    } else {
        b",2.50,"
    });
    if rng.below(10) == 0 {
        buf.extend_from_slice(b"1.75");
    } else {
        buf.extend_from_slice(b"0.00");
    }
    buf.push(b'\n');
}

fn words(rng: &mut Rng, n: u64, buf: &mut Vec<u8>, punctuate: bool) {
    for i in 0..n {
        if i > 0 {
            buf.push(b' ');
        }
        buf.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
        if punctuate {
            match rng.below(12) {
                0 => buf.push(b','),
                1 => buf.extend_from_slice(b"\"\""),
                2 => buf.push(b'\n'),
                _ => {}
            }
        }
    }
}

fn text_row(rng: &mut Rng, row: u64, buf: &mut Vec<u8>) {
    let _ = write!(buf, "{row},user_{},", rng.below(100_000));
    buf.extend_from_slice(COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize].as_bytes());
    buf.extend_from_slice(b",\"");
    let n = 3 + rng.below(5);
    words(rng, n, buf, false);
    buf.extend_from_slice(b", ");
    words(rng, 1, buf, false);
    buf.extend_from_slice(b"\",\"");
    let n = 10 + rng.below(40);
    words(rng, n, buf, true);
    let score = rng.below(100_000);
    let _ = write!(buf, "\",{}.{:03},", score / 1000, score % 1000);
    timestamp(buf, row * 7 + rng.below(100));
    buf.push(b'\n');
}

/// `c0,c1,...`: the wide shape's header.
fn wide_header(columns: u32, buf: &mut Vec<u8>) {
    for c in 0..columns {
        if c > 0 {
            buf.push(b',');
        }
        let _ = write!(buf, "c{c}");
    }
    buf.push(b'\n');
}

/// One record of the digits shape: `columns` digits drawn afresh.
fn digits_row(rng: &mut Rng, columns: u32, buf: &mut Vec<u8>) {
    for c in 0..columns {
        if c > 0 {
            buf.push(b',');
        }
        buf.push(b'0' + rng.below(10) as u8);
    }
    buf.push(b'\n');
}

/// SplitMix64's finalizer: the `i`-th value of a column's pool, from the pair (column, i).
fn pool_value(column: u32, i: u64) -> u64 {
    let mut z = (u64::from(column) << 32 | i).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Consonants and vowels of the short-text values (never `true`, `null`, a number or a date).
const CONSONANTS: &[u8; 16] = b"bcdfghjklmnprstv";
const VOWELS: &[u8; 5] = b"aeiou";

/// One record of the wide shape: column `c` is an integer (`c % 4 == 0`), a float with two
/// decimals (1), a short word of 4-7 letters (2) or a date between 2000 and 2019 (3), drawn
/// uniformly from the column's pool of `2,000 + pool_value(c, 0) % 3,001` values; the pools
/// are the same for every seed, the draws are the seed's.
fn wide_row(rng: &mut Rng, columns: u32, buf: &mut Vec<u8>) {
    for c in 0..columns {
        if c > 0 {
            buf.push(b',');
        }
        let pool = 2_000 + pool_value(c, 0) % 3_001;
        let v = pool_value(c, 1 + rng.below(pool));
        match c % 4 {
            0 => {
                let _ = write!(buf, "{}", v % 1_000_000);
            }
            1 => {
                let cents = v % 10_000_000;
                let _ = write!(buf, "{}.{:02}", cents / 100, cents % 100);
            }
            2 => {
                let len = 4 + (v % 4) as usize;
                let mut bits = v >> 8;
                for i in 0..len {
                    let letter = if i % 2 == 0 {
                        CONSONANTS[(bits % 16) as usize]
                    } else {
                        VOWELS[(bits % 5) as usize]
                    };
                    buf.push(letter);
                    bits /= 16;
                }
            }
            _ => date(buf, v % 7_305),
        }
    }
    buf.push(b'\n');
}

/// `YYYY-MM-DD` for `days` days after 2000-01-01 (Howard Hinnant's civil_from_days).
fn date(buf: &mut Vec<u8>, days: u64) {
    let z = days as i64 + 10_957 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(buf, "{year:04}-{month:02}-{day:02}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let a = generate_vec(Shape::Taxi, 100_000, 7);
        let b = generate_vec(Shape::Taxi, 100_000, 7);
        assert_eq!(a, b);
        assert!(a.len() >= 100_000 && a.len() < 100_300);
        assert!(a.ends_with(b"\n"));
        let t = generate_vec(Shape::Text, 50_000, 1);
        assert!(std::str::from_utf8(&t).is_ok());
        assert_ne!(generate_vec(Shape::Text, 50_000, 2), t);
    }

    /// FNV-1a, 64 bits: enough to pin generated bytes without a hashing crate.
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    #[test]
    fn wide_shapes_parse_and_have_their_columns() {
        assert_eq!("wide".parse(), Ok(Shape::Wide { columns: 1_000 }));
        assert_eq!("wide3000".parse(), Ok(Shape::Wide { columns: 3_000 }));
        assert_eq!("wide:7".parse(), Ok(Shape::Wide { columns: 7 }));
        for bad in ["wide:0", "wide:x", "wide:1000000", "wide7", "narrow"] {
            assert!(bad.parse::<Shape>().is_err(), "{bad}");
        }
        let csv = generate_vec(Shape::Wide { columns: 1_000 }, 200_000, 3);
        assert_eq!(
            csv,
            generate_vec(Shape::Wide { columns: 1_000 }, 200_000, 3)
        );
        let text = std::str::from_utf8(&csv).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() > 10, "{}", lines.len());
        for line in &lines {
            assert_eq!(line.split(',').count(), 1_000);
        }
        assert!(lines[0].starts_with("c0,c1,c2,c3,c4,"));
        // Cycling integer, float, word and date.
        let row: Vec<&str> = lines[1].split(',').collect();
        assert!(row[0].parse::<u64>().is_ok(), "{}", row[0]);
        assert!(
            row[1].contains('.') && row[1].parse::<f64>().is_ok(),
            "{}",
            row[1]
        );
        assert!(row[2].len() >= 4 && row[2].bytes().all(|b| b.is_ascii_lowercase()));
        assert!(
            row[3].len() == 10 && row[3].as_bytes()[4] == b'-',
            "{}",
            row[3]
        );
    }

    #[test]
    fn digits_shapes_parse_and_are_one_digit_fields() {
        assert_eq!("digits:100".parse(), Ok(Shape::Digits { columns: 100 }));
        for bad in ["digits:", "digits:0", "digits:x", "digits"] {
            assert!(bad.parse::<Shape>().is_err(), "{bad}");
        }
        let csv = generate_vec(Shape::Digits { columns: 50 }, 100_000, 3);
        let text = String::from_utf8(csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().map(|h| h.split(',').count()), Some(50));
        let rows: Vec<&str> = lines.collect();
        assert!(rows.len() > 900);
        assert!(rows.iter().all(|r| r.len() == 99
            && r.split(',')
                .all(|f| f.len() == 1 && f.as_bytes()[0].is_ascii_digit())));
        assert!(rows.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn dates_are_calendar_dates() {
        let mut buf = Vec::new();
        for (days, expected) in [
            (0, "2000-01-01"),
            (59, "2000-02-29"),
            (366, "2001-01-01"),
            (7_304, "2019-12-31"),
        ] {
            buf.clear();
            date(&mut buf, days);
            assert_eq!(std::str::from_utf8(&buf).unwrap(), expected);
        }
    }

    #[test]
    fn a_column_draws_from_a_pool_of_2000_to_5000() {
        let mut rng = Rng::new(5);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50_000 {
            let mut buf = Vec::new();
            wide_row(&mut rng, 1, &mut buf);
            seen.insert(buf);
        }
        let pool = 2_000 + pool_value(0, 0) % 3_001;
        // Every value of the pool drawn after 10-25 draws each on average; integer values
        // of distinct pool entries may collide (values below 1,000,000).
        assert!(seen.len() as u64 <= pool && seen.len() as u64 > pool * 9 / 10);
    }

    /// The bytes a seed gives are pinned: `csv2parquet generate --shape taxi --size 1MiB
    /// --seed 1` (sha256 d8a02729...) and everything measured on generated data depend on them.
    #[test]
    fn generated_bytes_are_pinned() {
        let taxi = generate_vec(Shape::Taxi, 1 << 20, 1);
        assert_eq!(
            (taxi.len(), fnv1a(&taxi)),
            (1_048_619, 0x5ccf_7fd5_e449_03aa)
        );
        let text = generate_vec(Shape::Text, 256 << 10, 7);
        assert_eq!((text.len(), fnv1a(&text)), (262_150, 0x6842_7cd8_b0fe_05d9));
    }
}
