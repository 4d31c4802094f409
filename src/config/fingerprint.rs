//! The fingerprint of the options that decide what an output holds, recorded beside the
//! source's ETag (`csv2parquet.options`) so that "the output is up to date" means "converted
//! from this version of the input with these options".
//!
//! What is in it: the dialect and what of it is sniffed, the lines skipped, the null strings, the inference sample (its size and where it
//! comes from: a schema inferred from another sample can differ), the explicit schema, the bad
//! value policy, the codec, the input's compression and character encoding, and what invalid
//! UTF-8 does. What is not: tuning that changes only how the work is done (memory limit,
//! workers, chunk, block, part, range and row group sizes).

use super::ConvertOptions;

/// The fingerprint's format version: a change to what it covers changes it, so outputs of the
/// older format are converted again.
const FORMAT: &str = "3";

impl ConvertOptions {
    /// A short stable text (`2:` and 16 hex digits) that differs when an option that changes
    /// the output differs.
    pub fn fingerprint(&self) -> String {
        let d = &self.dialect;
        let byte = |b: Option<u8>| b.map_or_else(|| "-".to_string(), |b| b.to_string());
        let mut text = format!(
            "delimiter={};quote={};escape={};comment={};header={};",
            d.delimiter,
            byte(d.quote),
            byte(d.escape),
            byte(d.comment),
            d.has_header
        );
        text.push_str(&format!(
            "sniff={};skip_rows={};all_strings={};date_format={:?};timestamp_format={:?};\
             decimal_comma={};thousands={:?};booleans={:?}/{:?};",
            self.sniff.names().join(","),
            self.skip_rows,
            self.all_strings,
            self.date_format,
            self.timestamp_format,
            self.decimal_comma,
            self.thousands,
            self.true_values,
            self.false_values
        ));
        text.push_str("nulls=");
        for null in &self.null_values {
            // Length-prefixed: no separator can make two lists read the same.
            text.push_str(&format!("{}:{null},", null.len()));
        }
        text.push_str(&format!(
            ";infer={}/{}/{:?};schema={};on_error={:?};compression={:?};input={:?};encoding={};invalid_utf8={:?}",
            self.infer_records,
            self.infer_bytes,
            self.sample_positions,
            self.schema.as_ref().map_or_else(String::new, |s| s.to_json()),
            self.on_error,
            self.compression,
            self.input_compression,
            self.encoding.name(),
            self.invalid_utf8,
        ));
        format!("{FORMAT}:{:016x}", fnv1a(text.as_bytes()))
    }
}

/// 64-bit FNV-1a: stable across builds and platforms (std's hashers are not).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Compression, OnError};

    #[test]
    fn options_that_change_the_output_change_the_fingerprint() {
        let base = ConvertOptions::default();
        let fp = base.fingerprint();
        assert!(fp.starts_with("3:") && fp.len() == 18, "{fp}");
        assert_eq!(fp, ConvertOptions::default().fingerprint());
        let mut changed = Vec::new();
        let mut o = base.clone();
        o.dialect.delimiter = b';';
        changed.push(o);
        let mut o = base.clone();
        o.dialect.has_header = false;
        changed.push(o);
        let mut o = base.clone();
        o.null_values = vec!["NA".into()];
        changed.push(o);
        let mut o = base.clone();
        o.null_values = vec!["a,".into(), "b".into()];
        let mut p = base.clone();
        p.null_values = vec!["a".into(), ",b".into()];
        assert_ne!(o.fingerprint(), p.fingerprint());
        changed.push(o);
        let mut o = base.clone();
        o.on_error = OnError::Null;
        changed.push(o);
        let mut o = base.clone();
        o.compression = Compression::Snappy;
        changed.push(o);
        let mut o = base.clone();
        o.infer_records = 10;
        changed.push(o);
        let mut o = base.clone();
        o.date_format = Some("%d.%m.%Y".into());
        changed.push(o);
        let mut o = base.clone();
        o.timestamp_format = Some("%d.%m.%Y %H:%M".into());
        changed.push(o);
        let mut o = base.clone();
        o.thousands = Some(b',');
        changed.push(o);
        let mut o = base.clone();
        o.true_values = vec!["J".into()];
        changed.push(o);
        for o in &changed {
            assert_ne!(o.fingerprint(), fp, "{o:?}");
        }
        // Tuning does not change what the output holds.
        let mut o = base.clone();
        o.memory_limit *= 2;
        o.workers = 3;
        o.range_bytes = Some(1 << 20);
        o.row_group_rows = 1000;
        assert_eq!(o.fingerprint(), fp);
    }
}
