//! Building the S3 client: the standard AWS configuration chain (env, profiles, region,
//! credentials, `AWS_ENDPOINT_URL`) plus the options S3-compatible stores need.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::types::ServerSideEncryption;

use crate::error::{Error, Result};

/// Default limit on one request attempt, from sending it to its response (an UploadPart
/// attempt includes sending the part). The SDK sets none, so a store that accepts a request
/// and never answers would hold the conversion forever; a timed-out attempt is retried. Bodies
/// that stall mid-way are caught by the SDK's stalled-stream protection.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);

/// S3 connection and request options.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Custom endpoint (MinIO, ...); implies path-style addressing.
    pub endpoint_url: Option<String>,
    /// Region; default from the AWS chain, else `us-east-1` for custom endpoints.
    pub region: Option<String>,
    /// Send anonymous requests (public buckets).
    pub no_sign_request: bool,
    /// Force path-style addressing (default: on when an endpoint is set).
    pub force_path_style: Option<bool>,
    /// Server-side encryption for outputs: `AES256` or `aws:kms`.
    pub sse: Option<String>,
    /// KMS key for `aws:kms`.
    pub sse_kms_key_id: Option<String>,
    /// Expected bucket owner account id, sent on every request.
    pub expected_bucket_owner: Option<String>,
    /// Attempts per request (SDK retries with jittered backoff).
    pub max_attempts: u32,
    /// Limit on one request attempt (`None`: no limit).
    pub attempt_timeout: Option<Duration>,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            endpoint_url: None,
            region: None,
            no_sign_request: false,
            force_path_style: None,
            sse: None,
            sse_kms_key_id: None,
            expected_bucket_owner: None,
            max_attempts: 5,
            attempt_timeout: Some(DEFAULT_ATTEMPT_TIMEOUT),
        }
    }
}

impl S3Options {
    /// The options every request on an object carries, validated (errors name the flags).
    pub fn requests(&self) -> Result<RequestOptions> {
        RequestOptions::new(
            self.sse.as_deref(),
            self.sse_kms_key_id.clone(),
            self.expected_bucket_owner.clone(),
            ("--sse", "--sse-kms-key-id"),
        )
    }
}

/// What every request on an object carries besides the object: the output's server-side
/// encryption (on PutObject and CreateMultipartUpload) and the expected bucket owner (on
/// every request, reads included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Server-side encryption of the objects written.
    pub sse: Option<ServerSideEncryption>,
    /// The KMS key of `aws:kms` encryption.
    pub sse_kms_key_id: Option<String>,
    /// The account that must own the bucket (S3 answers 403 otherwise).
    pub expected_bucket_owner: Option<String>,
}

impl RequestOptions {
    /// Validated options: `sse` is `AES256` or `aws:kms`, a KMS key needs `aws:kms`; `keys`
    /// name the two settings in errors (`--sse`/`--sse-kms-key-id`, or the variables).
    pub fn new(
        sse: Option<&str>,
        sse_kms_key_id: Option<String>,
        expected_bucket_owner: Option<String>,
        keys: (&str, &str),
    ) -> Result<Self> {
        let sse = match sse {
            None | Some("") => None,
            Some("AES256") => Some(ServerSideEncryption::Aes256),
            Some("aws:kms") => Some(ServerSideEncryption::AwsKms),
            Some(other) => {
                return Err(Error::config(
                    keys.0,
                    format!("{other:?}: expected AES256 or aws:kms"),
                ))
            }
        };
        let sse_kms_key_id = sse_kms_key_id.filter(|k| !k.is_empty());
        if sse_kms_key_id.is_some() && sse != Some(ServerSideEncryption::AwsKms) {
            return Err(Error::config(keys.1, format!("needs {} aws:kms", keys.0)));
        }
        Ok(RequestOptions {
            sse,
            sse_kms_key_id,
            expected_bucket_owner: expected_bucket_owner.filter(|o| !o.is_empty()),
        })
    }

    /// `self` with every setting `other` has replacing ours (command-line flags over the
    /// environment).
    pub fn overridden_by(self, other: RequestOptions) -> RequestOptions {
        let sse_changed = other.sse.is_some();
        RequestOptions {
            sse: other.sse.or(self.sse),
            sse_kms_key_id: match (other.sse_kms_key_id, sse_changed) {
                (Some(k), _) => Some(k),
                // A new algorithm without a key does not inherit the old key.
                (None, true) => None,
                (None, false) => self.sse_kms_key_id,
            },
            expected_bucket_owner: other.expected_bucket_owner.or(self.expected_bucket_owner),
        }
    }
}

/// Build a client once; share it (it is cheap to clone).
///
/// With a custom endpoint (option or `AWS_ENDPOINT_URL`), addressing is path-style and the SDK's
/// default CRC request checksums are sent only when an operation requires them: several
/// S3-compatible stores reject the newer default checksum headers.
pub async fn build_client(options: &S3Options) -> aws_sdk_s3::Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    if options.no_sign_request {
        loader = loader.no_credentials();
    }
    let shared = loader.load().await;
    let custom_endpoint = shared.endpoint_url().is_some();
    let mut builder = aws_sdk_s3::config::Builder::from(&shared).retry_config(
        aws_sdk_s3::config::retry::RetryConfig::standard().with_max_attempts(options.max_attempts),
    );
    if let Some(timeout) = options.attempt_timeout {
        // Merged with the shared config's timeouts (connect timeout) by the builder.
        builder = builder.timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(timeout)
                .build(),
        );
    }
    if shared.region().is_none() {
        builder = builder.region(Region::new("us-east-1"));
    }
    if custom_endpoint {
        builder = builder
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    }
    builder = builder.force_path_style(options.force_path_style.unwrap_or(custom_endpoint));
    aws_sdk_s3::Client::from_conf(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_options_are_validated_and_name_their_keys() {
        let keys = ("CSV2PQ_SSE", "CSV2PQ_SSE_KMS_KEY_ID");
        let err = RequestOptions::new(Some("aes"), None, None, keys).unwrap_err();
        assert!(err.to_string().contains("CSV2PQ_SSE"), "{err}");
        let err = RequestOptions::new(Some("AES256"), Some("k".into()), None, keys).unwrap_err();
        assert!(err.to_string().contains("CSV2PQ_SSE_KMS_KEY_ID"), "{err}");
        let ok =
            RequestOptions::new(Some("aws:kms"), Some("k".into()), Some("1".into()), keys).unwrap();
        assert_eq!(ok.sse, Some(ServerSideEncryption::AwsKms));
        let flags = RequestOptions::new(Some("AES256"), None, None, keys).unwrap();
        let merged = ok.clone().overridden_by(flags);
        assert_eq!(merged.sse, Some(ServerSideEncryption::Aes256));
        assert_eq!(merged.sse_kms_key_id, None);
        assert_eq!(merged.expected_bucket_owner.as_deref(), Some("1"));
        assert_eq!(ok.clone().overridden_by(RequestOptions::default()), ok);
    }
}
