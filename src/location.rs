//! Where data lives: `s3://bucket/key`, `-` (stdin/stdout) or a local path.

use crate::error::{Error, Result};

/// A parsed INPUT or OUTPUT argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An S3 object.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Object key.
        key: String,
    },
    /// Standard input or output.
    Stdio,
    /// A local file.
    Local(std::path::PathBuf),
}

impl Location {
    /// Parse `s3://bucket/key`, `-`, or a path. `what` names the argument in errors.
    pub fn parse(text: &str, what: &str) -> Result<Self> {
        if text == "-" {
            return Ok(Location::Stdio);
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() || key.is_empty() || key.ends_with('/') {
                return Err(Error::config(
                    what,
                    format!("{text:?} is not s3://BUCKET/KEY (a key naming one object)"),
                ));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                key: key.to_string(),
            });
        }
        Ok(Location::Local(text.into()))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            Location::Stdio => write!(f, "-"),
            Location::Local(p) => write!(f, "{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            Location::parse("s3://b/dir/k.csv", "INPUT").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                key: "dir/k.csv".into()
            }
        );
        assert_eq!(Location::parse("-", "INPUT").unwrap(), Location::Stdio);
        assert_eq!(
            Location::parse("a/b.csv", "INPUT").unwrap(),
            Location::Local("a/b.csv".into())
        );
        for bad in [
            "s3://",
            "s3://bucket",
            "s3://bucket/",
            "s3:///key",
            "s3://b/dir/",
        ] {
            assert!(
                Location::parse(bad, "INPUT")
                    .unwrap_err()
                    .to_string()
                    .contains("INPUT"),
                "{bad}"
            );
        }
    }
}
