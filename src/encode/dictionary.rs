//! Which columns get dictionary encoding, decided from the schema sample.
//!
//! The Parquet writer starts every column chunk with a dictionary and falls back to plain
//! encoding once the dictionary outgrows its page limit (1 MiB). For a column of mostly
//! distinct values (ids, timestamps, free text) that attempt costs CPU (hashing every value)
//! and bytes (a dictionary page plus index pages that compress worse than the plain values),
//! once per row group. Measured on the generated 1 GiB text shape: 268.7 MB with dictionaries
//! everywhere, against 244.8 MB from DuckDB, which writes those columns plain.
//!
//! The estimate: the sample's `d` distinct values, `f1` of them seen once and `f2` twice, give
//! about `d + f1² / 2 f2` distinct values in the column (Chao1), at most a row group's rows.
//! If those would not fit the dictionary page, the writer would fall back anyway: the column is
//! written plain from the start. A bounded domain (prices, codes) shows up as values seen
//! twice and keeps its dictionary; ids, timestamps and free text do not.

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::decode::tokens::Tokens;
use crate::schema::{ColumnType, SchemaSpec};

/// Hashes kept over all columns, so a 10,000-column file stays small.
const TRACKED_TOTAL: usize = 1 << 20;
/// Values a column needs in the sample before it is judged.
const MIN_VALUES: u64 = 32;
/// A column whose row group would hold more distinct values than this share of its rows is
/// written plain even when its dictionary would fit: the dictionary then repeats most values
/// and adds an index per row, and plain + zstd is smaller. Without this rule, small row groups
/// (`--memory-limit 128MiB`: 8 MiB row groups of ~55k rows) gave `id` (100% distinct),
/// `score` (77%) and `created_at` (94%) dictionaries, and the 256 MiB text shape grew from
/// 62.8 to 68.9 MiB.
const MAX_DISTINCT_SHARE: f64 = 0.5;

/// Distinct-value counts of the sample, per column.
#[derive(Debug)]
pub struct Cardinality {
    columns: Vec<Column>,
    cap: usize,
    null_values: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
struct Column {
    /// Hash of a value -> occurrences, up to `cap` distinct values.
    /// Keyed by the value's hash (already mixed: a fast hasher for the map).
    counts: HashMap<u64, Seen, foldhash::fast::FixedState>,
    /// Non-null values examined (all of them until `counts` is full).
    seen: u64,
    /// Bytes of the distinct values.
    distinct_bytes: u64,
    /// `counts` filled up: the column is certainly not small enough to sample fully.
    saturated: bool,
    /// Over the values seen before (in `counts`): the sums of how far back each was last seen
    /// (`gaps`) and of how far into the column it is (`positions`). Drawn at random from a
    /// domain, a repeat's last occurrence is anywhere before it (gaps about half the
    /// positions); in a column with locality (times, sorted keys) it is close by (taxi pickup
    /// times: 1.3% in their first 9,567 values; values drawn at random from 5,000: 46%).
    gaps: u64,
    positions: u64,
}

/// A value's occurrences and where (in values seen) it was last seen.
#[derive(Debug, Clone, Copy)]
struct Seen {
    count: u32,
    last: u32,
}

impl Column {
    /// Count column `c`'s values in records `range` of `tokens`, up to `cap` distinct ones.
    fn add(
        &mut self,
        tokens: &Tokens,
        range: std::ops::Range<usize>,
        c: usize,
        cap: usize,
        null_values: &[Vec<u8>],
    ) {
        // Fixed seeds: the same counts, so the same dictionary choices and output bytes, on
        // every run. foldhash rather than SipHash: on 1,000 columns the count took 3% of the
        // conversion's CPU with two SipHash passes per value.
        let hasher = foldhash::quality::FixedState::with_seed(0);
        for r in range {
            if self.saturated {
                return;
            }
            let Some(f) = tokens.field_of(r, c) else {
                continue;
            };
            let v = tokens.field(f);
            if v.is_empty() || null_values.iter().any(|n| n.as_slice() == v) {
                continue;
            }
            let h = hasher.hash_one(v);
            let full = self.counts.len() >= cap;
            let at = u32::try_from(self.seen).unwrap_or(u32::MAX);
            match self.counts.get_mut(&h) {
                Some(s) => {
                    self.gaps += u64::from(at - s.last.min(at));
                    self.positions += u64::from(at);
                    s.count = s.count.saturating_add(1);
                    s.last = at;
                }
                None if full => {
                    self.saturated = true;
                    continue;
                }
                None => {
                    self.counts.insert(h, Seen { count: 1, last: at });
                    self.distinct_bytes += v.len() as u64;
                }
            }
            self.seen += 1;
        }
    }
}

impl Cardinality {
    /// Counts for `columns` columns; values in `null_values` (and empty fields) are nulls.
    pub fn new(columns: usize, null_values: &[String]) -> Self {
        Cardinality {
            columns: (0..columns).map(|_| Column::default()).collect(),
            cap: (TRACKED_TOTAL / columns.max(1)).clamp(16, 8192),
            null_values: null_values.iter().map(|s| s.as_bytes().to_vec()).collect(),
        }
    }

    /// Count the values of records `range` of `tokens`, a column at a time (its map stays in
    /// cache; record by record, 1,000 columns' maps did not: 56 ms for a 1,008-record head),
    /// runs of columns on up to `threads` threads.
    pub fn add(&mut self, tokens: &Tokens, range: std::ops::Range<usize>, threads: usize) {
        let (cap, null_values) = (self.cap, &self.null_values);
        crate::split::for_each_run(&mut self.columns, threads, |first_column, columns| {
            for (i, col) in columns.iter_mut().enumerate() {
                col.add(tokens, range.clone(), first_column + i, cap, null_values);
            }
        });
    }

    /// Names of the columns whose dictionary would outgrow `dictionary_limit` bytes in a row
    /// group of about `rows_per_group` rows, or hold more than `MAX_DISTINCT_SHARE` (half) of its
    /// rows as distinct values: write them plain.
    pub fn plain_columns(
        &self,
        schema: &SchemaSpec,
        rows_per_group: u64,
        dictionary_limit: usize,
    ) -> Vec<String> {
        schema
            .columns
            .iter()
            .zip(&self.columns)
            .filter(|(spec, col)| {
                let width = match spec.ty {
                    // Dictionaries of booleans are never used by the writer.
                    ColumnType::Boolean => return false,
                    ColumnType::Int32 | ColumnType::Float32 | ColumnType::Date32 => 4.0,
                    ColumnType::Int64
                    | ColumnType::Float64
                    | ColumnType::Time64
                    | ColumnType::Timestamp { .. } => 8.0,
                    // Decimals and strings: the values' own bytes plus a length.
                    _ => col.distinct_bytes as f64 / col.counts.len().max(1) as f64 + 4.0,
                };
                let distinct = col.estimated_distinct(rows_per_group);
                distinct * width > dictionary_limit as f64
                    || distinct > MAX_DISTINCT_SHARE * rows_per_group as f64
            })
            .map(|(spec, _)| spec.name.clone())
            .collect()
    }
}

impl Column {
    /// Distinct values in `rows` rows, by Chao1 (`d + f1 (f1 - 1) / (2 (f2 + 1))`: values seen
    /// once and twice tell how many were not seen yet), at most `rows`.
    ///
    /// When the table filled up before the sample ended, the values counted (the column's
    /// first `seen` ones) are the sample: Chao1 applies to them as to a smaller sample, unless
    /// the repeats were mostly close to their last occurrence (times, sorted keys: the head
    /// shows a narrow range, and Chao1 takes its repeats for a small domain); those extrapolate
    /// linearly (distinct per value seen, times the rows). Linear extrapolation for every full
    /// table took a domain of a few thousand values, nearly all new in the first thousand
    /// draws, for distinct values: a 1,000-column file (1,048 values tracked per column)
    /// sampled past 1,048 records was written plain, 110.5 -> 189.0 MB (the wide shape with
    /// `--infer-bytes 12MiB`).
    fn estimated_distinct(&self, rows: u64) -> f64 {
        if self.seen < MIN_VALUES {
            return 0.0;
        }
        let distinct = self.counts.len() as f64;
        let rows = rows.max(self.seen) as f64;
        if self.saturated && self.local() {
            return (distinct * rows / self.seen as f64).min(rows);
        }
        let once = self.counts.values().filter(|s| s.count == 1).count() as f64;
        let twice = self.counts.values().filter(|s| s.count == 2).count() as f64;
        (distinct + once * (once - 1.0).max(0.0) / (2.0 * (twice + 1.0))).min(rows)
    }

    /// Repeats are mostly close to their last occurrence: see [`Column::gaps`].
    fn local(&self) -> bool {
        self.gaps.saturating_mul(4) < self.positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Dialect;
    use crate::decode::tokenizer::Tokenizer;
    use crate::schema::ColumnSpec;

    fn cardinality(csv: &str) -> (Cardinality, SchemaSpec) {
        let tokenizer = Tokenizer::new(&Dialect::default());
        let mut tokens = Tokens::default();
        tokenizer.tokenize(csv.as_bytes(), &mut tokens).unwrap();
        let mut c = Cardinality::new(3, &[String::new()]);
        c.add(&tokens, 0..tokens.records.len(), 1);
        let col = |name: &str, ty| ColumnSpec {
            name: name.into(),
            ty,
            nullable: true,
            format: None,
        };
        let schema = SchemaSpec {
            columns: vec![
                col("id", ColumnType::Int64),
                col("country", ColumnType::Utf8),
                col("flag", ColumnType::Boolean),
            ],
        };
        (c, schema)
    }

    #[test]
    fn distinct_columns_are_plain_repeated_ones_keep_the_dictionary() {
        let csv: String = (0..2000)
            .map(|i| format!("{i},{},{}\n", ["FR", "DE", "US"][i % 3], i % 2 == 0))
            .collect();
        let (c, schema) = cardinality(&csv);
        assert_eq!(
            c.plain_columns(&schema, 1_000_000, 1024 * 1024),
            vec!["id".to_string()]
        );
        // A row group small enough for all ids to fit: still plain (every value distinct).
        assert_eq!(
            c.plain_columns(&schema, 2000, 1024 * 1024),
            vec!["id".to_string()]
        );
        // Values repeated three times per row group (a third distinct) keep the dictionary.
        let csv: String = (0..2000).map(|i| format!("{},FR,true\n", i / 3)).collect();
        let (c, schema) = cardinality(&csv);
        assert!(c.plain_columns(&schema, 2000, 1024 * 1024).is_empty());
    }

    /// `n` values drawn at random (a fixed sequence) from `0..domain`.
    fn draws(n: usize, domain: u64) -> Vec<u64> {
        let mut x: u64 = 7;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 33) % domain
            })
            .collect()
    }

    #[test]
    fn a_bounded_domain_keeps_the_dictionary() {
        // 2,000 prices drawn 6,000 times: most seen several times, none new for long.
        let csv: String = draws(6000, 2000)
            .iter()
            .map(|v| format!("{v},FR,true\n"))
            .collect();
        let (c, schema) = cardinality(&csv);
        assert!(c.plain_columns(&schema, 1_000_000, 1024 * 1024).is_empty());
        let estimate = c.columns[0].estimated_distinct(1_000_000);
        assert!((1800.0..2600.0).contains(&estimate), "{estimate}");
    }

    /// The same domain counted in a table that fills up part-way (as each of 1,000 columns'
    /// tables does): the values counted before it filled still show a bounded domain, ids
    /// still show distinct values, and times (five values in six new, the repeats next to each
    /// other) are not taken for a small domain.
    #[test]
    fn a_bounded_domain_keeps_the_dictionary_when_the_table_fills() {
        let csv: String = draws(6000, 5000)
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v},{i},{}\n", i * 5 / 6))
            .collect();
        let tokenizer = Tokenizer::new(&Dialect::default());
        let mut tokens = Tokens::default();
        tokenizer.tokenize(csv.as_bytes(), &mut tokens).unwrap();
        let mut c = Cardinality::new(3, &[]);
        c.cap = 1048;
        c.add(&tokens, 0..tokens.records.len(), 1);
        assert!(c.columns.iter().all(|col| col.saturated));
        let estimate = c.columns[0].estimated_distinct(64_530);
        assert!((3500.0..7000.0).contains(&estimate), "{estimate}");
        assert!(!c.columns[0].local() && c.columns[2].local());
        let schema = SchemaSpec {
            columns: ["price", "id", "time"]
                .iter()
                .zip([ColumnType::Int64, ColumnType::Int64, ColumnType::Int64])
                .map(|(name, ty)| ColumnSpec {
                    name: name.to_string(),
                    ty,
                    nullable: true,
                    format: None,
                })
                .collect(),
        };
        assert_eq!(
            c.plain_columns(&schema, 64_530, 256 * 1024),
            vec!["id".to_string(), "time".to_string()]
        );
    }

    #[test]
    fn too_few_values_decide_nothing() {
        let (c, schema) = cardinality("1,a,true\n2,b,false\n,,\n");
        assert!(c.plain_columns(&schema, 1_000_000, 1024).is_empty());
    }

    #[test]
    fn the_table_is_bounded() {
        let mut c = Cardinality::new(1, &[]);
        c.cap = 16;
        let csv: String = (0..100).map(|i| format!("{i}\n")).collect();
        let tokenizer = Tokenizer::new(&Dialect::default());
        let mut tokens = Tokens::default();
        tokenizer.tokenize(csv.as_bytes(), &mut tokens).unwrap();
        c.add(&tokens, 0..tokens.records.len(), 2);
        assert_eq!(c.columns[0].counts.len(), 16);
        assert!(c.columns[0].saturated);
        assert_eq!(c.columns[0].seen, 16);
    }

    #[test]
    fn counts_split_between_threads_equal_one_threads() {
        let csv: String = (0..300)
            .map(|r| {
                let fields: Vec<String> =
                    (0..100).map(|c| format!("{}", (r * c) % (c + 7))).collect();
                fields.join(",") + "\n"
            })
            .collect();
        let tokenizer = Tokenizer::new(&Dialect::default());
        let mut tokens = Tokens::default();
        tokenizer.tokenize(csv.as_bytes(), &mut tokens).unwrap();
        let count = |threads| {
            let mut c = Cardinality::new(100, &[]);
            c.add(&tokens, 0..tokens.records.len(), threads);
            c.columns
                .iter()
                .map(|col| {
                    (
                        col.counts.len(),
                        col.seen,
                        col.distinct_bytes,
                        col.saturated,
                    )
                })
                .collect::<Vec<_>>()
        };
        let one = count(1);
        assert_eq!(one[0], (1, 300, 1, false));
        assert_eq!(one[99], (106, 300, 10 + 90 * 2 + 6 * 3, false));
        assert_eq!(count(2), one);
    }
}
