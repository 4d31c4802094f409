//! Uploads that produce the same S3 event notification AWS would deliver ([`upload_bytes`],
//! [`upload_file`], [`s3_notification`]), and the bucket they go to ([`ensure_bucket`]).

use std::path::Path;

use aws_sdk_s3::error::ProvideErrorMetadata;
use bytes::Bytes;
use s3_csv2parquet::error::{Error, Result};
use s3_csv2parquet::s3::{Op, S3Error, S3Sink};
use s3_csv2parquet::sink::ByteSink;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

/// Create `bucket` unless it exists (and is ours).
pub(crate) async fn ensure_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    if client.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    // Outside us-east-1, S3 wants the region as the bucket's LocationConstraint.
    let region = client.config().region().map(|r| r.to_string());
    let location = region.filter(|r| r != "us-east-1").map(|r| {
        aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                r.as_str(),
            ))
            .build()
    });
    let create = client
        .create_bucket()
        .bucket(bucket)
        .set_create_bucket_configuration(location);
    match create.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.code(),
                Some("BucketAlreadyOwnedByYou") | Some("BucketAlreadyExists")
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(S3Error::request(Op::CreateBucket, format!("s3://{bucket}"), e).into()),
    }
}

/// Size of the parts [`upload_file`] sends.
pub(crate) const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;

/// What an upload produced: what a notification carries.
#[derive(Debug, Clone)]
pub(crate) struct Uploaded {
    /// Bucket.
    pub(crate) bucket: String,
    /// Key.
    pub(crate) key: String,
    /// Bytes.
    pub(crate) size: u64,
    /// ETag as S3 reports it (quotes removed).
    pub(crate) etag: String,
}

/// Upload `bytes` to `s3://bucket/key` with one PutObject.
pub(crate) async fn upload_bytes(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    bytes: Bytes,
) -> Result<Uploaded> {
    let size = bytes.len() as u64;
    let out = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(bytes.into())
        .send()
        .await
        .map_err(|e| S3Error::request(Op::PutObject, format!("s3://{bucket}/{key}"), e))?;
    Ok(Uploaded {
        bucket: bucket.into(),
        key: key.into(),
        size,
        etag: out.e_tag().unwrap_or_default().trim_matches('"').into(),
    })
}

/// Upload a local file of any size with bounded memory: [`UPLOAD_PART_BYTES`] parts through
/// [`S3Sink`] (one PutObject when it fits in one part, else a multipart upload, aborted on error).
pub(crate) async fn upload_file(
    client: &aws_sdk_s3::Client,
    path: &Path,
    bucket: &str,
    key: &str,
) -> Result<Uploaded> {
    let read_err = |source| Error::Read {
        location: path.display().to_string(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(read_err)?;
    let mut sink = S3Sink::new(client.clone(), bucket, key, 2);
    let result = async {
        let mut first = true;
        loop {
            let mut part = Vec::with_capacity(UPLOAD_PART_BYTES);
            while part.len() < UPLOAD_PART_BYTES {
                let n = (&mut file)
                    .take((UPLOAD_PART_BYTES - part.len()) as u64)
                    .read_to_end(&mut part)
                    .await
                    .map_err(read_err)?;
                if n == 0 {
                    break;
                }
            }
            let last = part.len() < UPLOAD_PART_BYTES;
            // An empty part only for an empty file (S3 wants every part of an upload but the
            // last to be full, and an empty last part is pointless).
            if !part.is_empty() || first {
                sink.put_part(Bytes::from(part)).await?;
            }
            first = false;
            if last {
                break;
            }
        }
        sink.complete().await
    }
    .await;
    let size = match result {
        Ok(size) => size,
        Err(e) => {
            let _ = sink.abort().await;
            return Err(e);
        }
    };
    let head = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| S3Error::request(Op::HeadObject, format!("s3://{bucket}/{key}"), e))?;
    Ok(Uploaded {
        bucket: bucket.into(),
        key: key.into(),
        size,
        etag: head.e_tag().unwrap_or_default().trim_matches('"').into(),
    })
}

/// Percent-encode a key the way S3 writes it into event notifications
/// (`application/x-www-form-urlencoded`: a space is `+`, `/` and unreserved characters stay).
pub(crate) fn encode_notification_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &byte in key.as_bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The S3 event notification (`ObjectCreated:Put`, event version 2.1) S3 sends for an upload.
pub(crate) fn s3_notification(object: &Uploaded, region: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": region,
            "eventTime": format_event_time(now),
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "csv2parquet-local"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "csv2parquet-local",
                "bucket": {
                    "name": object.bucket,
                    "ownerIdentity": {"principalId": "csv2parquet-local"},
                    "arn": format!("arn:aws:s3:::{}", object.bucket),
                },
                "object": {
                    "key": encode_notification_key(&object.key),
                    "size": object.size,
                    "eTag": object.etag,
                    "sequencer": format!("{now:016X}"),
                },
            },
        }]
    })
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` from nanoseconds since the epoch (civil-from-days, proleptic
/// Gregorian).
fn format_event_time(nanos: u128) -> String {
    let millis = (nanos / 1_000_000) as i64;
    let (days, ms_of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, ms) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1_000 % 60,
        ms_of_day % 1_000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3_csv2parquet::lambda::event::{decode_notification_key, parse_event};

    #[test]
    fn encoded_keys_decode_back() {
        for key in [
            "incoming/a b.csv",
            "incoming/ünï/ç€.csv",
            "incoming/100%+x.csv",
            "a//b/../c?d=e&f#g.csv",
        ] {
            let encoded = encode_notification_key(key);
            assert!(!encoded.contains(' '), "{encoded}");
            assert_eq!(decode_notification_key(&encoded).unwrap(), key);
        }
        assert_eq!(encode_notification_key("in/a b+c.csv"), "in/a+b%2Bc.csv");
    }

    #[test]
    fn notifications_parse_as_s3_events() {
        let object = Uploaded {
            bucket: "bkt".into(),
            key: "incoming/a b.csv".into(),
            size: 12,
            etag: "abc".into(),
        };
        let event = s3_notification(&object, "us-east-1");
        let parsed = parse_event(&event).unwrap();
        let objects: Vec<_> = parsed.objects().collect();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].bucket, "bkt");
        assert_eq!(objects[0].key, "incoming/a b.csv");
    }

    #[test]
    fn event_times_are_civil_utc() {
        assert_eq!(format_event_time(0), "1970-01-01T00:00:00.000Z");
        // 2026-11-24T02:50:14.123Z
        let nanos = 1_795_488_614_123u128 * 1_000_000;
        assert_eq!(format_event_time(nanos), "2026-11-24T02:50:14.123Z");
        // 2024-02-29T23:59:59.999Z (leap day)
        let nanos = 1_709_251_199_999u128 * 1_000_000;
        assert_eq!(format_event_time(nanos), "2024-02-29T23:59:59.999Z");
    }
}
