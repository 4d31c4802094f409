//! Setting options from text: [`ConvertOptions::set`] parses any option as the command line or
//! the environment gives it, and [`ConvertOptions::from_env`] reads the `CSV2PQ_*` variables,
//! so the CLI, the Lambda function and the local runs read options one way.

use super::key::OptionKey;
use super::{parse_byte, parse_size, ConvertOptions};
use crate::error::{Error, Result};

/// Parse a boolean: `1`/`true`/`yes` or `0`/`false`/`no`.
fn parse_bool(key: OptionKey, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(Error::config(key, format!("{v:?}: expected yes or no"))),
    }
}

/// `auto`: sniffed from the input.
fn is_auto(v: &str) -> bool {
    v.eq_ignore_ascii_case("auto")
}

fn size(key: OptionKey, v: &str) -> Result<usize> {
    parse_size(v).map_err(|e| Error::config(key, e))
}

fn count(key: OptionKey, v: &str) -> Result<usize> {
    v.trim()
        .parse()
        .map_err(|_| Error::config(key, format!("{v:?} is not a whole number")))
}

/// A JSON list of strings (`["", "NA"]`), or one value.
fn string_list(key: OptionKey, v: &str) -> Result<Vec<String>> {
    if v.starts_with('[') {
        serde_json::from_str(v)
            .map_err(|e| Error::config(key, format!("not a JSON list of strings: {e}")))
    } else {
        Ok(vec![v.to_string()])
    }
}

/// A byte, or none (`none`, or empty).
fn optional_byte(key: OptionKey, v: &str) -> Result<Option<u8>> {
    match v {
        "" | "none" => Ok(None),
        b => Ok(Some(parse_byte(key, b)?)),
    }
}

impl ConvertOptions {
    /// Set option `key` from its text form (as given on the command line or in the
    /// environment). The schema is a file and cannot be set this way.
    pub fn set(&mut self, key: OptionKey, value: &str) -> Result<()> {
        // A date or timestamp format; empty or `auto`: the candidates are tried.
        let format = |v: &str| (!v.is_empty() && !is_auto(v)).then(|| v.to_string());
        match key {
            OptionKey::Delimiter => {
                self.sniff.delimiter = is_auto(value);
                if !self.sniff.delimiter {
                    self.dialect.delimiter = parse_byte(key, value)?;
                }
            }
            OptionKey::Quote => {
                self.sniff.quote = is_auto(value);
                if !self.sniff.quote {
                    self.dialect.quote = optional_byte(key, value)?;
                }
            }
            OptionKey::Escape => {
                self.sniff.escape = is_auto(value);
                if !self.sniff.escape {
                    self.dialect.escape = optional_byte(key, value)?;
                }
            }
            OptionKey::Comment => {
                self.sniff.comment = is_auto(value);
                if !self.sniff.comment {
                    self.dialect.comment = optional_byte(key, value)?;
                }
            }
            OptionKey::NoHeader => {
                self.sniff.header = false;
                self.dialect.has_header = !parse_bool(key, value)?;
            }
            OptionKey::Header => {
                self.sniff.header = is_auto(value);
                if !self.sniff.header {
                    self.dialect.has_header = parse_bool(key, value)?;
                }
            }
            OptionKey::SkipRows => {
                self.sniff.skip_rows = is_auto(value);
                self.skip_rows = if self.sniff.skip_rows {
                    0
                } else {
                    count(key, value)?
                };
            }
            OptionKey::Null => self.null_values = string_list(key, value)?,
            OptionKey::TrueValues => self.true_values = string_list(key, value)?,
            OptionKey::FalseValues => self.false_values = string_list(key, value)?,
            OptionKey::AllStrings => self.all_strings = parse_bool(key, value)?,
            OptionKey::DecimalComma => self.decimal_comma = parse_bool(key, value)?,
            OptionKey::Thousands => self.thousands = optional_byte(key, value)?,
            OptionKey::DateFormat => self.date_format = format(value),
            OptionKey::TimestampFormat => self.timestamp_format = format(value),
            OptionKey::InferRecords => self.infer_records = count(key, value)?,
            OptionKey::InferBytes => self.infer_bytes = size(key, value)?,
            OptionKey::SamplePositions => self.sample_positions = value.parse()?,
            OptionKey::Schema => {
                return Err(Error::config(
                    key,
                    "is a schema file: read it with SchemaSpec::from_json",
                ))
            }
            OptionKey::OnError => self.on_error = value.parse()?,
            OptionKey::Compression => self.compression = super::Compression::parse(value, None)?,
            OptionKey::CompressionLevel => {
                let level = value
                    .trim()
                    .parse::<i32>()
                    .map_err(|_| Error::config(key, format!("bad level {value:?}")))?;
                self.compression = super::Compression::parse(self.compression.name(), Some(level))?
            }
            OptionKey::RowGroupBytes => self.row_group_bytes = Some(size(key, value)?),
            OptionKey::RowGroupRows => self.row_group_rows = count(key, value)?,
            OptionKey::MemoryLimit => self.memory_limit = size(key, value)?,
            OptionKey::Workers => self.workers = count(key, value)?,
            OptionKey::InputCompression => self.input_compression = value.parse()?,
            OptionKey::Encoding => self.encoding = value.parse()?,
            OptionKey::InvalidUtf8 => self.invalid_utf8 = value.parse()?,
            OptionKey::ChunkBytes => self.chunk_bytes = Some(size(key, value)?),
            OptionKey::BlockBytes => self.block_bytes = Some(size(key, value)?),
            OptionKey::PartBytes => self.part_bytes = Some(size(key, value)?),
            OptionKey::RangeBytes => self.range_bytes = Some(size(key, value)?),
            OptionKey::SpillDir => self.spill_dir = Some(value.into()),
            OptionKey::MaxSpill => self.max_spill = Some(size(key, value)?),
        }
        Ok(())
    }

    /// Set every option whose `CSV2PQ_*` variable `var` gives (an empty value is "not set",
    /// except for the quote and the null values). The schema is left alone.
    pub fn set_from_vars(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<()> {
        for key in OptionKey::ALL {
            if key == OptionKey::Schema {
                continue;
            }
            let Some(value) = var(&key.env_var()) else {
                continue;
            };
            if value.is_empty() && !key.empty_is_a_value() {
                continue;
            }
            self.set(key, &value)?;
        }
        Ok(())
    }

    /// The defaults with every option the process environment sets (`CSV2PQ_*`).
    pub fn from_env() -> Result<Self> {
        let mut options = ConvertOptions::default();
        options.set_from_vars(|name| std::env::var(name).ok())?;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_option_reads_from_text() {
        let vars: HashMap<&str, &str> = [
            ("CSV2PQ_DELIMITER", "tab"),
            ("CSV2PQ_QUOTE", ""),
            ("CSV2PQ_NO_HEADER", "yes"),
            ("CSV2PQ_NULL", "[\"\",\"NA\"]"),
            ("CSV2PQ_COMPRESSION", "snappy"),
            ("CSV2PQ_MEMORY_LIMIT", "1GiB"),
            ("CSV2PQ_ROW_GROUP_ROWS", "5000"),
            ("CSV2PQ_RANGE_BYTES", "16MiB"),
            ("CSV2PQ_COMMENT", ""),
            ("CSV2PQ_SPILL_DIR", "/tmp/spill"),
            ("CSV2PQ_MAX_SPILL", "1GiB"),
        ]
        .into_iter()
        .collect();
        let mut o = ConvertOptions::default();
        o.set_from_vars(|k| vars.get(k).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(o.dialect.delimiter, b'\t');
        assert_eq!(o.dialect.quote, None);
        assert!(!o.dialect.has_header);
        assert_eq!(o.null_values, ["", "NA"]);
        assert_eq!(o.compression.name(), "snappy");
        assert_eq!(o.memory_limit, 1 << 30);
        assert_eq!(o.row_group_rows, 5000);
        assert_eq!(o.range_bytes, Some(16 << 20));
        assert_eq!(
            o.spill_dir.as_deref(),
            Some(std::path::Path::new("/tmp/spill"))
        );
        assert_eq!(o.max_spill, Some(1 << 30));
        assert_eq!(o.dialect.comment, None, "empty means not set");
        let mut o = ConvertOptions::default();
        o.set(OptionKey::Compression, "zstd").unwrap();
        o.set(OptionKey::CompressionLevel, "7").unwrap();
        assert_eq!(o.compression, crate::config::Compression::Zstd(7));
        let err = o.set(OptionKey::Workers, "many").unwrap_err().to_string();
        assert!(
            err.contains("--workers") && err.contains("CSV2PQ_WORKERS"),
            "{err}"
        );
    }
}
