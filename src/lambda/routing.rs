//! Where a converted object goes, and which objects are never converted.
//!
//! A CSV object landing under the input prefix becomes a Parquet object under the output prefix,
//! keeping its path relative to the input prefix: with the defaults, `incoming/2024/a.csv.gz`
//! becomes `parquet/2024/a.parquet`, and a failed conversion leaves its error report at
//! `failed/2024/a.csv.gz.error.json`.
//!
//! Everything here is pure string work. The loop guard (objects under the output or failed
//! prefix are never converted, even when the input prefix contains them, e.g. input `""`, the
//! whole bucket) is checked before anything else, so the function's own writes can never
//! trigger another conversion.

use crate::error::{Error, Result};

/// S3's limit on the length of an object key, in bytes (UTF-8).
pub const MAX_KEY_BYTES: usize = 1024;

/// Extensions (case-insensitive) that mark a CSV object; they are replaced by
/// [`OUTPUT_EXTENSION`].
pub const CSV_EXTENSIONS: &[&str] = &[".csv", ".tsv", ".txt"];

/// Compression extensions (case-insensitive) that may follow a [`CSV_EXTENSIONS`] entry
/// (`a.csv.gz`); they are replaced along with it.
pub const COMPRESSION_EXTENSIONS: &[&str] = &[".gz", ".gzip", ".zst", ".zstd", ".bz2", ".xz"];

/// The extension of every output object.
pub const OUTPUT_EXTENSION: &str = ".parquet";

/// Appended to the input's relative key to name its error report under the failed prefix.
pub const ERROR_REPORT_SUFFIX: &str = ".error.json";
/// Appended to the relative key to name the rejected records of an input (`--on-error reject`).
pub const REJECTS_SUFFIX: &str = ".rejects.csv";

/// The prefixes that decide where objects are read from and written to.
///
/// Prefixes are used literally (no normalisation); [`KeyRules::validate`] checks that they are
/// folder-like (`""` or ending in `/`) and that the input is not inside the output or failed
/// prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRules {
    /// Only keys under this prefix are converted; `""` means the whole bucket.
    pub input_prefix: String,
    /// Converted objects are written under this prefix.
    pub output_prefix: String,
    /// Error reports of failed conversions are written under this prefix.
    pub failed_prefix: String,
}

impl Default for KeyRules {
    fn default() -> Self {
        KeyRules {
            input_prefix: "incoming/".to_string(),
            output_prefix: "parquet/".to_string(),
            failed_prefix: "failed/".to_string(),
        }
    }
}

/// What to do with an object key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Convert the object and write the result to `output_key` (same bucket).
    Convert {
        /// The key of the Parquet object to write.
        output_key: String,
    },
    /// Leave the object alone.
    Skip {
        /// Why, for the log.
        reason: String,
    },
}

impl Route {
    /// The output key, when the object is to be converted.
    pub fn output_key(&self) -> Option<&str> {
        match self {
            Route::Convert { output_key } => Some(output_key),
            Route::Skip { .. } => None,
        }
    }

    /// The reason, when the object is skipped.
    pub fn skip_reason(&self) -> Option<&str> {
        match self {
            Route::Convert { .. } => None,
            Route::Skip { reason } => Some(reason),
        }
    }
}

impl KeyRules {
    /// Rules with the given prefixes.
    pub fn new(
        input_prefix: impl Into<String>,
        output_prefix: impl Into<String>,
        failed_prefix: impl Into<String>,
    ) -> Self {
        KeyRules {
            input_prefix: input_prefix.into(),
            output_prefix: output_prefix.into(),
            failed_prefix: failed_prefix.into(),
        }
    }

    /// Check that the prefixes make sense together: each is `""` or ends with `/`, has no empty,
    /// `.` or `..` segment; the output and failed prefixes are not empty (an empty one would
    /// contain every key, so nothing would ever be converted); and the input prefix is not inside
    /// the output or failed prefix (same reason). The output or failed prefix may be inside the
    /// input prefix: the loop guard skips them.
    pub fn validate(&self) -> Result<()> {
        check_prefix("input prefix", &self.input_prefix)?;
        check_prefix("output prefix", &self.output_prefix)?;
        check_prefix("failed prefix", &self.failed_prefix)?;
        for (name, prefix) in [
            ("output prefix", &self.output_prefix),
            ("failed prefix", &self.failed_prefix),
        ] {
            if prefix.is_empty() {
                return Err(Error::config(
                    name,
                    "must not be empty: it would contain every key, so nothing would be converted",
                ));
            }
            if self.input_prefix.starts_with(prefix.as_str()) {
                return Err(Error::config(
                    name,
                    format!(
                        "{prefix:?} contains the input prefix {:?}: every input key would be \
                         skipped by the loop guard",
                        self.input_prefix
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Decide what to do with `key` (a decoded object key).
    pub fn route(&self, key: &str) -> Route {
        let relative = match self.relative(key) {
            Ok(relative) => relative,
            Err(reason) => return Route::Skip { reason },
        };
        let output_key = format!("{}{}", self.output_prefix, output_relative(relative));
        if output_key.len() > MAX_KEY_BYTES {
            return Route::Skip {
                reason: format!(
                    "the output key would be {} bytes, over S3's {MAX_KEY_BYTES}-byte limit",
                    output_key.len()
                ),
            };
        }
        Route::Convert { output_key }
    }

    /// Where the error report for a failed conversion of `key` goes:
    /// `<failed prefix><key relative to the input prefix>.error.json`. `None` when `key` would
    /// not be converted at all ([`KeyRules::route`] skips it for its path) or the report's key
    /// would exceed [`MAX_KEY_BYTES`].
    pub fn error_report_key(&self, key: &str) -> Option<String> {
        let relative = self.relative(key).ok()?;
        let report = format!("{}{relative}{ERROR_REPORT_SUFFIX}", self.failed_prefix);
        (report.len() <= MAX_KEY_BYTES).then_some(report)
    }

    /// Where the rejected records of `key` go (`CSV2PQ_ON_ERROR=reject`): beside its error report.
    pub fn rejects_key(&self, key: &str) -> Option<String> {
        let relative = self.relative(key).ok()?;
        let rejects = format!("{}{relative}{REJECTS_SUFFIX}", self.failed_prefix);
        (rejects.len() <= MAX_KEY_BYTES).then_some(rejects)
    }

    /// The part of `key` under the input prefix, or why the key is not to be converted.
    fn relative<'k>(&self, key: &'k str) -> std::result::Result<&'k str, String> {
        // Loop guard first: the input prefix may contain the output and failed prefixes.
        if key.starts_with(self.output_prefix.as_str()) {
            return Err(format!(
                "under the output prefix {:?} (loop guard: our own output)",
                self.output_prefix
            ));
        }
        if key.starts_with(self.failed_prefix.as_str()) {
            return Err(format!(
                "under the failed prefix {:?} (loop guard: our own error reports)",
                self.failed_prefix
            ));
        }
        let Some(relative) = key.strip_prefix(self.input_prefix.as_str()) else {
            return Err(format!(
                "not under the input prefix {:?}",
                self.input_prefix
            ));
        };
        if relative.is_empty() {
            return Err("the key is the input prefix itself, not an object under it".into());
        }
        if relative.ends_with('/') {
            return Err("the key ends with '/' (a folder marker, not a file)".into());
        }
        for segment in relative.split('/') {
            match segment {
                "" => return Err("the key has an empty path segment ('//')".into()),
                "." | ".." => {
                    return Err(format!(
                        "the key has a {segment:?} path segment (ambiguous output path)"
                    ))
                }
                _ => {}
            }
        }
        Ok(relative)
    }
}

fn check_prefix(name: &str, prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    let Some(folders) = prefix.strip_suffix('/') else {
        return Err(Error::config(
            name,
            format!("{prefix:?} must end with '/' (or be empty for the whole bucket)"),
        ));
    };
    if folders
        .split('/')
        .any(|segment| matches!(segment, "" | "." | ".."))
    {
        return Err(Error::config(
            name,
            format!("{prefix:?} has an empty, '.' or '..' path segment"),
        ));
    }
    if prefix.len() >= MAX_KEY_BYTES {
        return Err(Error::config(
            name,
            format!("{} bytes leaves no room for a key under it", prefix.len()),
        ));
    }
    Ok(())
}

/// `relative` with a known CSV extension (and compression extension) replaced by `.parquet`, or
/// with `.parquet` appended when it has none.
fn output_relative(relative: &str) -> String {
    let stem = strip_csv_extension(relative).unwrap_or(relative);
    format!("{stem}{OUTPUT_EXTENSION}")
}

/// `name` without its CSV extension (`.csv`, `.csv.gz`, `.TSV.ZST`...), if it has one.
fn strip_csv_extension(name: &str) -> Option<&str> {
    let uncompressed = COMPRESSION_EXTENSIONS
        .iter()
        .find_map(|ext| strip_suffix_ignore_ascii_case(name, ext))
        .unwrap_or(name);
    CSV_EXTENSIONS
        .iter()
        .find_map(|ext| strip_suffix_ignore_ascii_case(uncompressed, ext))
}

fn strip_suffix_ignore_ascii_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = text.len().checked_sub(suffix.len())?;
    let tail = text.get(cut..)?;
    if tail.eq_ignore_ascii_case(suffix) {
        text.get(..cut)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(rules: &KeyRules, key: &str) -> String {
        match rules.route(key) {
            Route::Convert { output_key } => output_key,
            Route::Skip { reason } => panic!("{key:?} was skipped: {reason}"),
        }
    }

    fn skip(rules: &KeyRules, key: &str) -> String {
        match rules.route(key) {
            Route::Convert { output_key } => panic!("{key:?} was converted to {output_key:?}"),
            Route::Skip { reason } => reason,
        }
    }

    #[test]
    fn extensions_are_replaced() {
        let rules = KeyRules::default();
        let table = [
            ("incoming/a.csv", "parquet/a.parquet"),
            ("incoming/a/b.csv.gz", "parquet/a/b.parquet"),
            ("incoming/a.CSV", "parquet/a.parquet"),
            ("incoming/a.Csv.GZ", "parquet/a.parquet"),
            ("incoming/a.tsv", "parquet/a.parquet"),
            ("incoming/a.txt", "parquet/a.parquet"),
            ("incoming/a.csv.gzip", "parquet/a.parquet"),
            ("incoming/a.tsv.zst", "parquet/a.parquet"),
            ("incoming/a.txt.zstd", "parquet/a.parquet"),
            ("incoming/a.csv.bz2", "parquet/a.parquet"),
            ("incoming/a.csv.xz", "parquet/a.parquet"),
            (
                "incoming/2024/05/trips.csv",
                "parquet/2024/05/trips.parquet",
            ),
            // Unknown or partial extensions: `.parquet` is appended.
            ("incoming/a", "parquet/a.parquet"),
            ("incoming/a.json", "parquet/a.json.parquet"),
            ("incoming/a.gz", "parquet/a.gz.parquet"),
            ("incoming/a.csv.zip", "parquet/a.csv.zip.parquet"),
            ("incoming/a.gz.csv", "parquet/a.gz.parquet"),
            ("incoming/a.csv.gz.gz", "parquet/a.csv.gz.gz.parquet"),
            ("incoming/acsv", "parquet/acsv.parquet"),
            ("incoming/a.parquet", "parquet/a.parquet.parquet"),
            // Only the file name's extension counts.
            ("incoming/x.csv/data", "parquet/x.csv/data.parquet"),
            // Hidden files and odd names.
            ("incoming/.csv", "parquet/.parquet"),
            ("incoming/..csv", "parquet/..parquet"),
            ("incoming/a b+c%2B.csv", "parquet/a b+c%2B.parquet"),
            ("incoming/été/日本.CSV", "parquet/été/日本.parquet"),
            ("incoming/é.csv", "parquet/é.parquet"),
            ("incoming/...", "parquet/....parquet"),
        ];
        for (key, want) in table {
            assert_eq!(convert(&rules, key), want, "{key}");
        }
    }

    #[test]
    fn keys_outside_the_input_prefix_are_skipped() {
        let rules = KeyRules::default();
        for key in [
            "other/a.csv",
            "incoming",
            "Incoming/a.csv",
            "a.csv",
            "",
            "/incoming/a.csv",
        ] {
            let reason = skip(&rules, key);
            assert!(
                reason.contains("not under the input prefix"),
                "{key}: {reason}"
            );
        }
    }

    #[test]
    fn loop_guard_skips_output_and_failed_keys() {
        let rules = KeyRules::default();
        assert!(skip(&rules, "parquet/a.parquet").contains("loop guard"));
        assert!(skip(&rules, "failed/a.csv.error.json").contains("loop guard"));

        // Whole bucket as input: output and failed prefixes are inside it.
        let whole = KeyRules::new("", "parquet/", "failed/");
        assert_eq!(convert(&whole, "a.csv"), "parquet/a.parquet");
        assert_eq!(convert(&whole, "x/a.csv"), "parquet/x/a.parquet");
        assert_eq!(convert(&whole, "parquet.csv"), "parquet/parquet.parquet");
        assert_eq!(
            convert(&whole, "parquetx/a.csv"),
            "parquet/parquetx/a.parquet"
        );
        assert!(skip(&whole, "parquet/a.parquet").contains("output prefix"));
        assert!(skip(&whole, "parquet/x.csv").contains("output prefix"));
        assert!(skip(&whole, "failed/x.csv.error.json").contains("failed prefix"));

        // Output nested inside the input prefix.
        let nested = KeyRules::new("data/", "data/parquet/", "data/failed/");
        assert_eq!(convert(&nested, "data/a.csv"), "data/parquet/a.parquet");
        assert!(skip(&nested, "data/parquet/a.parquet").contains("loop guard"));
        assert!(skip(&nested, "data/parquet/b.csv").contains("loop guard"));
        assert!(skip(&nested, "data/failed/a.csv.error.json").contains("loop guard"));
        let again = convert(&nested, "data/sub/a.csv");
        assert!(nested.route(&again).skip_reason().is_some());

        // Empty output prefix (rejected by validate) still never converts anything.
        let unsafe_rules = KeyRules::new("", "", "failed/");
        assert!(skip(&unsafe_rules, "a.csv").contains("loop guard"));
        assert!(unsafe_rules.validate().is_err());
    }

    #[test]
    fn ambiguous_relative_keys_are_skipped() {
        let rules = KeyRules::default();
        let table = [
            ("incoming/", "input prefix itself"),
            ("incoming/dir/", "folder marker"),
            ("incoming//a.csv", "empty path segment"),
            ("incoming/a//b.csv", "empty path segment"),
            ("incoming/../a.csv", "\"..\""),
            ("incoming/a/../../b.csv", "\"..\""),
            ("incoming/./a.csv", "\".\""),
            ("incoming/a/.", "\".\""),
            ("incoming/..", "\"..\""),
        ];
        for (key, want) in table {
            let reason = skip(&rules, key);
            assert!(reason.contains(want), "{key}: {reason}");
        }
        let whole = KeyRules::new("", "parquet/", "failed/");
        assert!(skip(&whole, "/a.csv").contains("empty path segment"));
        assert!(skip(&whole, "").contains("input prefix itself"));
    }

    #[test]
    fn output_keys_respect_the_s3_limit() {
        let rules = KeyRules::default();
        // "incoming/" + name + ".csv" -> "parquet/" + name + ".parquet": 4 bytes longer - 1.
        let fits = format!("incoming/{}.csv", "n".repeat(MAX_KEY_BYTES - 16));
        let out = convert(&rules, &fits);
        assert_eq!(out.len(), MAX_KEY_BYTES);
        let too_long = format!("incoming/{}.csv", "n".repeat(MAX_KEY_BYTES - 15));
        assert!(skip(&rules, &too_long).contains("1024-byte limit"));
        // A 1,024-byte input key without an extension cannot get one.
        let full = format!("incoming/{}", "é".repeat((MAX_KEY_BYTES - 9) / 2));
        assert!(full.len() <= MAX_KEY_BYTES);
        assert!(skip(&rules, &full).contains("limit"));
    }

    #[test]
    fn error_report_keys() {
        let rules = KeyRules::default();
        assert_eq!(
            rules.error_report_key("incoming/a/b.csv.gz").as_deref(),
            Some("failed/a/b.csv.gz.error.json")
        );
        assert_eq!(
            rules.error_report_key("incoming/x y+z.CSV").as_deref(),
            Some("failed/x y+z.CSV.error.json")
        );
        assert_eq!(rules.error_report_key("other/a.csv"), None);
        assert_eq!(rules.error_report_key("incoming/../a.csv"), None);
        assert_eq!(rules.error_report_key("incoming/"), None);
        assert_eq!(rules.error_report_key("parquet/a.parquet"), None);
        let long = format!("incoming/{}.csv", "n".repeat(MAX_KEY_BYTES - 20));
        assert_eq!(rules.error_report_key(&long), None);
        let report = rules.error_report_key("incoming/a.csv").unwrap_or_default();
        assert!(rules.route(&report).skip_reason().is_some());
        let whole = KeyRules::new("", "parquet/", "failed/");
        assert_eq!(
            whole.error_report_key("a.csv").as_deref(),
            Some("failed/a.csv.error.json")
        );
    }

    #[test]
    fn validate_rejects_unusable_prefixes() {
        assert!(KeyRules::default().validate().is_ok());
        assert!(KeyRules::new("", "parquet/", "failed/").validate().is_ok());
        assert!(KeyRules::new("data/", "data/out/", "data/failed/")
            .validate()
            .is_ok());
        let bad = [
            KeyRules::new("incoming", "parquet/", "failed/"),
            KeyRules::new("incoming/", "parquet", "failed/"),
            KeyRules::new("incoming/", "parquet/", ""),
            KeyRules::new("incoming/", "", "failed/"),
            KeyRules::new("/incoming/", "parquet/", "failed/"),
            KeyRules::new("a//b/", "parquet/", "failed/"),
            KeyRules::new("a/../", "parquet/", "failed/"),
            KeyRules::new("incoming/", "incoming/", "failed/"),
            KeyRules::new("out/in/", "out/", "failed/"),
            KeyRules::new("", "parquet/", "failed/x/../"),
            KeyRules::new("incoming/", format!("{}/", "p".repeat(MAX_KEY_BYTES)), "f/"),
        ];
        for rules in bad {
            let err = rules.validate();
            assert!(err.is_err(), "{rules:?}");
            if let Err(e) = err {
                assert_eq!(e.kind(), crate::error::ErrorKind::Config, "{e}");
            }
        }
    }

    /// The crate's seeded generator, with `below` over `usize`.
    struct Draws(crate::testkit::Rng);

    impl Draws {
        fn below(&mut self, n: usize) -> usize {
            self.0.below(n as u64) as usize
        }
    }

    const FRAGMENTS: &[&str] = &[
        "incoming/",
        "parquet/",
        "failed/",
        "data/",
        "data/out/",
        "in/",
        "out/",
        "a",
        "b",
        "x",
        ".csv",
        ".CSV",
        ".tsv",
        ".txt",
        ".gz",
        ".GZIP",
        ".zst",
        ".bz2",
        ".xz",
        ".csv.gz",
        ".tsv.ZSTD",
        ".parquet",
        ".error.json",
        "..",
        ".",
        "/",
        "//",
        "/./",
        "/../",
        " ",
        "  ",
        "%",
        "%2B",
        "%2F",
        "%zz",
        "+",
        "é",
        "日本語",
        "🦀",
        "\u{0}",
        "\t",
        "\\",
        "?",
        "#",
        "*",
        "~",
        "-",
        "_",
        "=",
    ];

    fn odd_key(rng: &mut Draws) -> String {
        let mut key = String::new();
        for _ in 0..rng.below(12) {
            key.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
        }
        match rng.below(8) {
            // Pad towards (and past) the 1,024-byte limit.
            0 => {
                let target = 990 + rng.below(60);
                let filler = if rng.below(2) == 0 { "y" } else { "ü" };
                while key.len() < target {
                    key.push_str(filler);
                }
                if rng.below(2) == 0 {
                    key.push_str(".csv");
                }
            }
            1 => key.push_str(".csv"),
            _ => {}
        }
        key
    }

    fn check_invariants(rules: &KeyRules, key: &str, counts: &mut [usize; 2]) {
        match rules.route(key) {
            Route::Convert { output_key } => {
                counts[0] += 1;
                assert!(key.starts_with(&rules.input_prefix), "{key:?}");
                assert!(
                    output_key.starts_with(&rules.output_prefix),
                    "{output_key:?}"
                );
                assert!(output_key.len() <= MAX_KEY_BYTES, "{output_key:?}");
                assert!(output_key.ends_with(OUTPUT_EXTENSION), "{output_key:?}");
                assert!(
                    output_key.split('/').all(|s| !matches!(s, "" | "." | "..")),
                    "{output_key:?}"
                );
                assert!(
                    rules.route(&output_key).skip_reason().is_some(),
                    "loop: {key:?} -> {output_key:?}"
                );
                let report = rules.error_report_key(key);
                if let Some(report) = report {
                    assert!(report.starts_with(&rules.failed_prefix), "{report:?}");
                    assert!(report.len() <= MAX_KEY_BYTES);
                    assert!(rules.route(&report).skip_reason().is_some(), "{report:?}");
                }
            }
            Route::Skip { reason } => {
                counts[1] += 1;
                assert!(!reason.is_empty());
            }
        }
    }

    #[test]
    fn property_routing_never_loops_or_escapes() {
        let configs = [
            KeyRules::default(),
            KeyRules::new("", "parquet/", "failed/"),
            KeyRules::new("data/", "data/out/", "data/failed/"),
            KeyRules::new("in/", "out/", "out/failed/"),
            KeyRules::new("", "a/", "a/b/"),
        ];
        let mut rng = Draws(crate::testkit::Rng::new(0x5EED_C5F2_2024_0001));
        for rules in &configs {
            assert!(rules.validate().is_ok(), "{rules:?}");
            let mut counts = [0usize; 2];
            for _ in 0..6000 {
                let key = odd_key(&mut rng);
                check_invariants(rules, &key, &mut counts);
                // The same key under the input prefix, to get many conversions.
                let prefixed = format!("{}{key}", rules.input_prefix);
                check_invariants(rules, &prefixed, &mut counts);
            }
            assert!(counts[0] > 500, "{rules:?}: only {} conversions", counts[0]);
            assert!(counts[1] > 500, "{rules:?}: only {} skips", counts[1]);
        }
    }
}
