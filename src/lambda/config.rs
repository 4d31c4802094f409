//! The function's configuration, from `CSV2PQ_*` environment variables, validated once at cold
//! start: an invalid value fails with a message naming the variable.

use std::time::Duration;

use crate::config::{ConvertOptions, DEFAULT_MEMORY_LIMIT, MIB};
use crate::error::{Error, Result};
use crate::lambda::fanout::FanOutConfig;
use crate::lambda::routing::KeyRules;
use crate::location::Location;
use crate::s3::RequestOptions;

/// Configuration of the handler.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    /// Input/output/failed prefixes.
    pub rules: KeyRules,
    /// Output bucket; `None`: the input's bucket.
    pub output_bucket: Option<String>,
    /// Conversion options (dialect, codec, policy, memory limit).
    pub options: ConvertOptions,
    /// Explicit schema file on S3 (`CSV2PQ_SCHEMA=s3://bucket/key.json`).
    pub schema: Option<(String, String)>,
    /// Stop this long before the invocation deadline.
    pub deadline_margin: Duration,
    /// Convert even when the output is up to date (`CSV2PQ_FORCE`).
    pub force: bool,
    /// Server-side encryption and the expected bucket owner, on every request
    /// (`CSV2PQ_SSE`, `CSV2PQ_SSE_KMS_KEY_ID`, `CSV2PQ_EXPECTED_BUCKET_OWNER`).
    pub requests: RequestOptions,
    /// Fan-out of large objects (`CSV2PQ_FAN_OUT_*`); `None`: off.
    pub fan_out: Option<FanOutConfig>,
}

/// Memory left to the runtime, the allocator and the AWS SDK when the budget is derived from the
/// function's memory size.
const RUNTIME_HEADROOM_MIB: usize = 96;

impl LambdaConfig {
    /// Read the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The configuration these `(variable, value)` pairs give (tests).
    #[cfg(test)]
    pub(crate) fn from_pairs(vars: &[(&str, &str)]) -> Result<Self> {
        let map: std::collections::HashMap<&str, &str> = vars.iter().copied().collect();
        Self::from_vars(|k| map.get(k).map(|v| v.to_string()))
    }

    /// Read variables through `var` (tests pass a map): the function's own (prefixes, output
    /// bucket, schema location, deadline margin), then every conversion option
    /// ([`ConvertOptions::set_from_vars`]) over defaults sized from the function's memory.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let rules = KeyRules {
            input_prefix: var("CSV2PQ_INPUT_PREFIX").unwrap_or_else(|| "incoming/".into()),
            output_prefix: get("CSV2PQ_OUTPUT_PREFIX").unwrap_or_else(|| "parquet/".into()),
            failed_prefix: get("CSV2PQ_FAILED_PREFIX").unwrap_or_else(|| "failed/".into()),
        };
        rules.validate().map_err(|e| {
            Error::config(
                "CSV2PQ_INPUT_PREFIX/CSV2PQ_OUTPUT_PREFIX/CSV2PQ_FAILED_PREFIX",
                e.to_string(),
            )
        })?;
        let function_mib =
            get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|m| m.parse::<usize>().ok());
        let mut options = ConvertOptions {
            memory_limit: function_mib.map_or(DEFAULT_MEMORY_LIMIT, |mib| {
                mib.saturating_sub(RUNTIME_HEADROOM_MIB).max(16) * MIB / 4 * 3
            }),
            // One vCPU per 1,769 MB of function memory (up to 6).
            workers: function_mib.map_or(0, |mib| mib.div_ceil(1769).clamp(1, 6)),
            ..ConvertOptions::default()
        };
        options.set_from_vars(&var)?;
        options.validate()?;
        Ok(LambdaConfig {
            rules,
            output_bucket: get("CSV2PQ_OUTPUT_BUCKET"),
            options,
            schema: schema_location(get("CSV2PQ_SCHEMA"))?,
            deadline_margin: deadline_margin(get("CSV2PQ_DEADLINE_MARGIN_SECS"))?,
            force: flag("CSV2PQ_FORCE", get("CSV2PQ_FORCE"))?,
            requests: RequestOptions::new(
                get("CSV2PQ_SSE").as_deref(),
                get("CSV2PQ_SSE_KMS_KEY_ID"),
                get("CSV2PQ_EXPECTED_BUCKET_OWNER"),
                ("CSV2PQ_SSE", "CSV2PQ_SSE_KMS_KEY_ID"),
            )?,
            fan_out: FanOutConfig::from_vars(get)?,
        })
    }
}

/// `CSV2PQ_SCHEMA`: an `s3://bucket/key.json` schema file.
fn schema_location(value: Option<String>) -> Result<Option<(String, String)>> {
    let Some(s) = value else {
        return Ok(None);
    };
    match Location::parse(&s, "CSV2PQ_SCHEMA")? {
        Location::S3 { bucket, key } => Ok(Some((bucket, key))),
        _ => Err(Error::config(
            "CSV2PQ_SCHEMA",
            "must be s3://bucket/key.json",
        )),
    }
}

/// A yes/no variable: `1`/`true`/`yes` or `0`/`false`/`no`; unset is no.
fn flag(name: &str, value: Option<String>) -> Result<bool> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(other) => Err(Error::config(
            name,
            format!("{other:?}: expected true or false"),
        )),
    }
}

/// `CSV2PQ_DEADLINE_MARGIN_SECS`: whole seconds, 10 by default.
fn deadline_margin(value: Option<String>) -> Result<Duration> {
    match value {
        Some(s) => Ok(Duration::from_secs(s.parse().map_err(|_| {
            Error::config("CSV2PQ_DEADLINE_MARGIN_SECS", "must be whole seconds")
        })?)),
        None => Ok(Duration::from_secs(10)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Encoding, InvalidUtf8, SamplePositions};
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> Result<LambdaConfig> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LambdaConfig::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_memory_from_the_function_size() {
        let c = with(&[]).unwrap();
        assert_eq!(c.rules.input_prefix, "incoming/");
        assert_eq!(c.options.memory_limit, 256 * MIB);
        let c = with(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")]).unwrap();
        assert_eq!(c.options.memory_limit, (512 - 96) * MIB / 4 * 3);
        assert_eq!(c.options.workers, 1);
        let c = with(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240")]).unwrap();
        assert_eq!(c.options.workers, 6);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (k, v) in [
            ("CSV2PQ_COMPRESSION", "brotli"),
            ("CSV2PQ_ON_ERROR", "ignore"),
            ("CSV2PQ_MEMORY_LIMIT", "lots"),
            ("CSV2PQ_DELIMITER", ";;"),
            ("CSV2PQ_NO_HEADER", "maybe"),
            ("CSV2PQ_SCHEMA", "/local/file.json"),
            ("CSV2PQ_NULL", "[1,2]"),
            ("CSV2PQ_ENCODING", "utf-16"),
            ("CSV2PQ_INVALID_UTF8", "ignore"),
            ("CSV2PQ_SAMPLE_POSITIONS", "tail"),
            ("CSV2PQ_RANGE_BYTES", "4KiB"),
            ("CSV2PQ_RANGE_BYTES", "big"),
            ("CSV2PQ_FORCE", "sometimes"),
            ("CSV2PQ_SSE", "aes"),
            ("CSV2PQ_SSE_KMS_KEY_ID", "key-without-kms"),
        ] {
            let err = with(&[(k, v)]).unwrap_err().to_string();
            assert!(err.contains(k), "{k}: {err}");
        }
        let c = with(&[
            ("CSV2PQ_DELIMITER", "tab"),
            ("CSV2PQ_NULL", "[\"\",\"NA\"]"),
        ])
        .unwrap();
        assert_eq!(c.options.dialect.delimiter, b'\t');
        assert_eq!(c.options.null_values, ["", "NA"]);
        // Ranges: planned from the budget unless set.
        assert_eq!(with(&[]).unwrap().options.range_bytes, None);
        let c = with(&[("CSV2PQ_RANGE_BYTES", "16MiB")]).unwrap();
        assert_eq!(c.options.range_bytes, Some(16 * MIB));
        let c = with(&[
            ("CSV2PQ_FORCE", "true"),
            ("CSV2PQ_SSE", "aws:kms"),
            ("CSV2PQ_SSE_KMS_KEY_ID", "k1"),
            ("CSV2PQ_EXPECTED_BUCKET_OWNER", "111122223333"),
        ])
        .unwrap();
        assert!(c.force);
        assert_eq!(c.requests.sse_kms_key_id.as_deref(), Some("k1"));
        assert_eq!(
            c.requests.expected_bucket_owner.as_deref(),
            Some("111122223333")
        );
        assert!(!with(&[]).unwrap().force);
    }

    #[test]
    fn encoding_and_sampling_variables() {
        let c = with(&[]).unwrap();
        assert_eq!(c.options.encoding, Encoding::Utf8);
        assert_eq!(c.options.invalid_utf8, InvalidUtf8::Fail);
        assert_eq!(c.options.sample_positions, SamplePositions::Spread);
        let c = with(&[
            ("CSV2PQ_ENCODING", "windows-1252"),
            ("CSV2PQ_INVALID_UTF8", "replace"),
            ("CSV2PQ_SAMPLE_POSITIONS", "head"),
        ])
        .unwrap();
        assert_eq!(c.options.encoding, Encoding::Windows1252);
        assert_eq!(c.options.invalid_utf8, InvalidUtf8::Replace);
        assert_eq!(c.options.sample_positions, SamplePositions::Head);
        assert_eq!(
            with(&[("CSV2PQ_ENCODING", "latin1")])
                .unwrap()
                .options
                .encoding,
            Encoding::Latin1
        );
    }
}
