//! Seeded generators of realistic CSV for tests, benches and the comparison script.
//!
//! Two shapes: `taxi` (NYC-taxi-like: ints, decimals, timestamps, a few nulls) and `text`
//! (quoted commas, doubled quotes, embedded newlines, unicode). The same seed and size always
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
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "taxi" => Ok(Shape::Taxi),
            "text" => Ok(Shape::Text),
            _ => Err(format!("unknown shape {s:?} (taxi or text)")),
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
    buf.extend_from_slice(match shape {
        Shape::Taxi => TAXI_HEADER.as_bytes(),
        Shape::Text => TEXT_HEADER.as_bytes(),
    });
    let mut written = 0u64;
    let mut row = 0u64;
    while written + (buf.len() as u64) < bytes {
        match shape {
            Shape::Taxi => taxi_row(&mut rng, row, &mut buf),
            Shape::Text => text_row(&mut rng, row, &mut buf),
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
