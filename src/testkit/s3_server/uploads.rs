//! ListMultipartUploads for the embedded server: s3s-fs 0.14.1 answers it with 501, so the
//! open uploads of a bucket are read from s3s-fs's own files in its root (its `src/fs.rs`):
//! - `.upload-<id>.json` marks an open upload (written by CreateMultipartUpload, removed by
//!   CompleteMultipartUpload and AbortMultipartUpload);
//! - `.bucket-<bucket>.object-<key>.upload-<id>.metadata.json`, with bucket and key in URL-safe
//!   base64 without padding, is written beside it by CreateMultipartUpload and names the
//!   upload's bucket and key.
//!
//! An upload is listed when both are there; it was initiated when its marker was written.
//! Uploads are ordered by key, then upload id, so that the key and upload-id markers page
//! through them as S3 documents (after `key-marker`, or on that key after `upload-id-marker`).
//! Not supported: `delimiter` (refused with 501 NotImplemented); `encoding-type` is ignored (the
//! answer says no encoding, so a client does not decode the keys).

use std::path::Path;
use std::time::SystemTime;

use s3s::dto::{ListMultipartUploadsInput, ListMultipartUploadsOutput, MultipartUpload};
use s3s::{s3_error, S3Result};

/// S3's default and largest page of ListMultipartUploads.
const MAX_UPLOADS: usize = 1000;

/// An open multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenUpload {
    /// Its key.
    pub key: String,
    /// Its upload id.
    pub upload_id: String,
    /// When it was created.
    pub initiated: SystemTime,
}

/// The open uploads of `bucket` under s3s-fs's `root`, ordered by key, then upload id.
pub fn open_uploads(root: &Path, bucket: &str) -> std::io::Result<Vec<OpenUpload>> {
    let mut uploads = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some((b, key, upload_id)) = name.to_str().and_then(parse_metadata_name) else {
            continue;
        };
        if b != bucket {
            continue;
        }
        let marker = root.join(format!(".upload-{upload_id}.json"));
        // Gone between the two looks: completed or aborted meanwhile.
        let Ok(initiated) = std::fs::metadata(&marker).and_then(|m| m.modified()) else {
            continue;
        };
        uploads.push(OpenUpload {
            key,
            upload_id: upload_id.to_string(),
            initiated,
        });
    }
    uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
    Ok(uploads)
}

/// `(bucket, key, upload id)` of `.bucket-<b64>.object-<b64>.upload-<uuid>.metadata.json`.
fn parse_metadata_name(name: &str) -> Option<(String, String, &str)> {
    let rest = name
        .strip_prefix(".bucket-")?
        .strip_suffix(".metadata.json")?;
    let (bucket, rest) = rest.split_once(".object-")?;
    let (key, upload_id) = rest.split_once(".upload-")?;
    let uuid =
        upload_id.len() == 36 && upload_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if !uuid {
        return None;
    }
    Some((decode_name(bucket)?, decode_name(key)?, upload_id))
}

/// URL-safe base64 without padding (how s3s-fs writes names into file names) to text.
fn decode_name(encoded: &str) -> Option<String> {
    let mut standard: String = encoded
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while standard.len() % 4 != 0 {
        standard.push('=');
    }
    let bytes = aws_smithy_types::base64::decode(standard).ok()?;
    String::from_utf8(bytes).ok()
}

/// One page of `uploads` (all of the bucket's, in order) as `input` asks for it.
pub fn list_page(
    input: &ListMultipartUploadsInput,
    uploads: Vec<OpenUpload>,
) -> S3Result<ListMultipartUploadsOutput> {
    if input.delimiter.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "the embedded server lists multipart uploads without a delimiter only"
        ));
    }
    let max = match input.max_uploads {
        None => MAX_UPLOADS,
        Some(n) => usize::try_from(n)
            .map_err(|_| s3_error!(InvalidArgument, "max-uploads must not be negative"))?
            .min(MAX_UPLOADS),
    };
    let prefix = input.prefix.as_deref().unwrap_or("");
    let key_marker = input.key_marker.as_deref();
    let id_marker = input.upload_id_marker.as_deref();
    let after_markers = |u: &OpenUpload| match key_marker {
        None => true,
        Some(k) => {
            u.key.as_str() > k
                || (u.key == k && id_marker.is_some_and(|m| u.upload_id.as_str() > m))
        }
    };
    let mut listed: Vec<OpenUpload> = uploads
        .into_iter()
        .filter(|u| u.key.starts_with(prefix) && after_markers(u))
        .take(max.saturating_add(1))
        .collect();
    let truncated = listed.len() > max;
    listed.truncate(max);
    let (next_key, next_id) = match (truncated, listed.last()) {
        (true, Some(last)) => (Some(last.key.clone()), Some(last.upload_id.clone())),
        _ => (None, None),
    };
    let uploads = listed
        .into_iter()
        .map(|u| MultipartUpload {
            key: Some(u.key),
            upload_id: Some(u.upload_id),
            initiated: Some(u.initiated.into()),
            ..MultipartUpload::default()
        })
        .collect();
    Ok(ListMultipartUploadsOutput {
        bucket: Some(input.bucket.clone()),
        prefix: input.prefix.clone(),
        key_marker: input.key_marker.clone(),
        upload_id_marker: input.upload_id_marker.clone(),
        max_uploads: i32::try_from(max).ok(),
        is_truncated: Some(truncated),
        next_key_marker: next_key,
        next_upload_id_marker: next_id,
        uploads: Some(uploads),
        ..ListMultipartUploadsOutput::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(key: &str, id: &str) -> OpenUpload {
        OpenUpload {
            key: key.into(),
            upload_id: id.into(),
            initiated: SystemTime::UNIX_EPOCH,
        }
    }

    fn input(
        prefix: Option<&str>,
        max: Option<i32>,
        markers: Option<(&str, &str)>,
    ) -> ListMultipartUploadsInput {
        let mut b = ListMultipartUploadsInput::builder();
        b.set_bucket("b".into());
        b.set_prefix(prefix.map(str::to_string));
        b.set_max_uploads(max);
        b.set_key_marker(markers.map(|m| m.0.to_string()));
        b.set_upload_id_marker(markers.map(|m| m.1.to_string()));
        b.build().unwrap()
    }

    fn keys(out: &ListMultipartUploadsOutput) -> Vec<String> {
        out.uploads
            .iter()
            .flatten()
            .map(|u| {
                format!(
                    "{}#{}",
                    u.key.clone().unwrap(),
                    u.upload_id.clone().unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn metadata_names_give_bucket_key_and_upload() {
        let id = "0b0e4a59-2d4f-4c43-9d0e-1e8b8f0c3a11";
        // base64url("data") = ZGF0YQ, base64url("in/a b.csv") = aW4vYSBiLmNzdg
        let name = format!(".bucket-ZGF0YQ.object-aW4vYSBiLmNzdg.upload-{id}.metadata.json");
        assert_eq!(
            parse_metadata_name(&name),
            Some(("data".into(), "in/a b.csv".into(), id))
        );
        // An object's own metadata (no upload) is not an upload.
        assert_eq!(
            parse_metadata_name(".bucket-ZGF0YQ.object-aW4vYSBiLmNzdg.metadata.json"),
            None
        );
        assert_eq!(parse_metadata_name(".upload-x.json"), None);
    }

    #[test]
    fn pages_by_prefix_and_markers() {
        let all = vec![
            upload("a/1", "u1"),
            upload("a/1", "u2"),
            upload("a/2", "u3"),
            upload("b", "u4"),
        ];
        let out = list_page(&input(Some("a/"), None, None), all.clone()).unwrap();
        assert_eq!(keys(&out), ["a/1#u1", "a/1#u2", "a/2#u3"]);
        assert_eq!(out.is_truncated, Some(false));
        let out = list_page(&input(None, Some(2), None), all.clone()).unwrap();
        assert_eq!(keys(&out), ["a/1#u1", "a/1#u2"]);
        assert_eq!(out.is_truncated, Some(true));
        let next = (
            out.next_key_marker.as_deref().unwrap(),
            out.next_upload_id_marker.as_deref().unwrap(),
        );
        let out = list_page(&input(None, Some(2), Some(next)), all.clone()).unwrap();
        assert_eq!(keys(&out), ["a/2#u3", "b#u4"]);
        assert_eq!(out.is_truncated, Some(false));
        let mut delimited = input(None, None, None);
        delimited.delimiter = Some("/".into());
        assert!(list_page(&delimited, all).is_err());
    }
}
