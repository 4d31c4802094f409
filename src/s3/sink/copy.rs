//! Server-side copy parts: `UploadPartCopy` of a byte range of another object, pinned to its
//! ETag, as the next part of the upload. A stitched file's fragments get into it this way
//! without passing through this process (see [`crate::stitch`]).

use std::ops::Range;

use aws_sdk_s3::types::CompletedPart;

use super::{quoted, S3Sink};
use crate::error::{Error, Result};
use crate::s3::error::{Op, S3Error};

/// An object a part is copied from, as it was when the copy was planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Its ETag: the copy fails (412) if the object changed since.
    pub etag: String,
}

impl CopySource {
    /// `bucket/key` as `x-amz-copy-source` wants it: the key percent-encoded, `/` kept.
    fn header(&self) -> String {
        let mut out = format!("{}/", self.bucket);
        for &b in self.key.as_bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

impl S3Sink {
    /// Append bytes `range` of `source` as the next part, copied by the store. Starts the
    /// multipart upload first (with the part held back, if any). Every part but the last must
    /// be at least 5 MiB, as for [`crate::sink::ByteSink::put_part`].
    pub async fn copy_part(&mut self, source: &CopySource, range: Range<u64>) -> Result<()> {
        if range.is_empty() {
            return Err(Error::Internal(format!(
                "{}: an empty copy part",
                self.location
            )));
        }
        if self.upload.is_none() {
            self.start_upload().await?;
            if let Some(first) = self.held.take() {
                self.send_part(first).await?;
            }
        }
        let number = self.reserve_part(range.end - range.start).await?;
        let Some(upload) = self.upload.as_mut() else {
            return Err(Error::Internal("no upload started".into()));
        };
        let request = self
            .client
            .upload_part_copy()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload.id)
            .part_number(number)
            .copy_source(source.header())
            .copy_source_range(format!("bytes={}-{}", range.start, range.end - 1))
            .copy_source_if_match(quoted(&source.etag))
            .set_expected_bucket_owner(self.requests.expected_bucket_owner.clone())
            .set_expected_source_bucket_owner(self.requests.expected_bucket_owner.clone());
        let location = self.location.clone();
        let from = format!("s3://{}/{}", source.bucket, source.key);
        upload.tasks.spawn(async move {
            let out = request
                .send()
                .await
                .map_err(|e| S3Error::request(Op::CopyPart(number, from), &location, e))?;
            let result = out.copy_part_result();
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(result.and_then(|r| r.e_tag()).map(str::to_string))
                .set_checksum_crc32_c(
                    result
                        .and_then(|r| r.checksum_crc32_c())
                        .map(str::to_string),
                )
                .build())
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_are_percent_encoded() {
        let s = CopySource {
            bucket: "b".into(),
            key: "tmp/x y/données+1.parquet".into(),
            etag: "e".into(),
        };
        assert_eq!(s.header(), "b/tmp/x%20y/donn%C3%A9es%2B1.parquet");
    }
}
