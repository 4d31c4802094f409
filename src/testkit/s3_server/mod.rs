//! An S3-compatible store over a directory, behind the `s3-server` feature: s3s-fs with a
//! validating layer in front, so that it answers as S3 does where the difference would hide a
//! bug or leak data. One implementation for the CLI's embedded server (`local`, `s3-server`)
//! and the integration tests' server (which adds its fault layer over HTTP):
//! - a write to a bucket that does not exist is 404 NoSuchBucket (s3s-fs creates the directory,
//!   so `convert ... s3://typo-bucket/` used to succeed);
//! - a key with an empty, `.` or `..` segment (or a backslash) is refused with 400
//!   InvalidArgument on writes and deletes: objects are files under `<root>/<bucket>/<key>`, and
//!   `../other/x` in bucket `test` would land in bucket `other`;
//! - a key whose path collides with another object (`a` and `a/b`, which S3 allows, cannot both
//!   be files) is refused with a message that says so, instead of an internal error;
//! - GetObject and HeadObject honour If-Match and If-None-Match (412, 304), DeleteObject
//!   If-Match (412), and a VersionId other than `null` is 404 NoSuchVersion (the server keeps no
//!   versions);
//! - an upload id that is not open is 404 NoSuchUpload on UploadPart, ListParts, Complete and
//!   Abort (s3s-fs answers 403 or 400);
//! - ListMultipartUploads lists a bucket's open uploads (s3s-fs answers 501), see [`uploads`].
//!
//! Still different from S3: no versioning, no delimiter in ListMultipartUploads, and `a`/`a/b`
//! cannot coexist.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput,
    CompleteMultipartUploadOutput, CopyObjectInput, CopyObjectOutput, CreateBucketInput,
    CreateBucketOutput, CreateMultipartUploadInput, CreateMultipartUploadOutput, DeleteBucketInput,
    DeleteBucketOutput, DeleteObjectInput, DeleteObjectOutput, DeleteObjectsInput,
    DeleteObjectsOutput, ETag, ETagCondition, GetBucketLocationInput, GetBucketLocationOutput,
    GetObjectInput, GetObjectOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput,
    HeadObjectOutput, ListBucketsInput, ListBucketsOutput, ListMultipartUploadsInput,
    ListMultipartUploadsOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input,
    ListObjectsV2Output, ListPartsInput, ListPartsOutput, PutObjectInput, PutObjectOutput,
    UploadPartCopyInput, UploadPartCopyOutput, UploadPartInput, UploadPartOutput,
};
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;

pub mod uploads;

/// s3s-fs behind the checks above; clones share the one file system.
#[derive(Clone)]
pub struct Validated {
    fs: Arc<FileSystem>,
    root: PathBuf,
}

impl Validated {
    /// The checks over `fs`, which keeps its objects under `root`.
    pub fn new(fs: FileSystem, root: PathBuf) -> Self {
        Validated {
            fs: Arc::new(fs),
            root,
        }
    }

    /// The directory of `bucket`, which must exist.
    fn bucket_dir(&self, bucket: &str) -> S3Result<PathBuf> {
        let dir = self.root.join(bucket);
        if !valid_name(bucket) || !dir.is_dir() {
            return Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ));
        }
        Ok(dir)
    }

    /// A write of `bucket/key`: the bucket exists, the key is one a file can hold, and no other
    /// object's file is in the way.
    fn check_write(&self, bucket: &str, key: &str) -> S3Result<()> {
        let dir = self.bucket_dir(bucket)?;
        check_key(key)?;
        let path = dir.join(key);
        if path.is_dir() {
            return Err(s3_error!(
                InvalidArgument,
                "the embedded server keeps objects as files: {key} is a prefix of other objects and cannot be an object too"
            ));
        }
        let mut ancestor = path.parent();
        while let Some(a) = ancestor {
            if a == dir {
                break;
            }
            if a.is_file() {
                return Err(s3_error!(
                    InvalidArgument,
                    "the embedded server keeps objects as files: an object is at {}, so {key} cannot be stored",
                    a.strip_prefix(&dir).unwrap_or(a).display()
                ));
            }
            ancestor = a.parent();
        }
        Ok(())
    }

    /// A read of `bucket/key`: the key is valid, and only the `null` version exists.
    fn check_read(&self, key: &str, version: Option<&str>) -> S3Result<()> {
        check_key(key)?;
        match version {
            None | Some("null") => Ok(()),
            Some(_) => Err(s3_error!(
                NoSuchVersion,
                "The specified version does not exist (the embedded server keeps no versions)"
            )),
        }
    }

    /// An open upload: its marker file exists.
    fn check_upload(&self, upload_id: &str) -> S3Result<()> {
        let uuid =
            upload_id.len() == 36 && upload_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if uuid && self.root.join(format!(".upload-{upload_id}.json")).exists() {
            return Ok(());
        }
        Err(s3_error!(
            NoSuchUpload,
            "The specified multipart upload does not exist."
        ))
    }

    /// If-Match / If-None-Match against the object's ETag (a missing object is left to the
    /// operation: 404).
    async fn check_conditions(
        &self,
        bucket: &str,
        key: &str,
        if_match: Option<&ETagCondition>,
        if_none_match: Option<&ETagCondition>,
    ) -> S3Result<()> {
        if if_match.is_none() && if_none_match.is_none() {
            return Ok(());
        }
        let input = HeadObjectInput::builder()
            .bucket(bucket.to_owned())
            .key(key.to_owned())
            .build()
            .map_err(|_| s3_error!(InternalError, "cannot build HeadObjectInput"))?;
        let request = S3Request {
            input,
            method: hyper::Method::HEAD,
            uri: hyper::Uri::from_static("/"),
            headers: hyper::HeaderMap::new(),
            extensions: hyper::http::Extensions::new(),
            credentials: None,
            region: None,
            service: None,
            trailing_headers: None,
        };
        let current: ETag = match self.fs.head_object(request).await {
            Ok(resp) => match resp.output.e_tag {
                Some(e_tag) => e_tag,
                None => return Ok(()),
            },
            Err(_) => return Ok(()),
        };
        let matches = |cond: &ETagCondition| match cond {
            ETagCondition::Any => true,
            ETagCondition::ETag(e_tag) => current.strong_cmp(e_tag),
        };
        if if_match.is_some_and(|c| !matches(c)) {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
        if if_none_match.is_some_and(matches) {
            return Err(s3_error!(NotModified));
        }
        Ok(())
    }
}

/// A bucket name that is one directory: no separators, not `.` or `..`.
fn valid_name(bucket: &str) -> bool {
    !bucket.is_empty() && !bucket.contains(['/', '\\', '\0']) && bucket != "." && bucket != ".."
}

/// A key a file under the bucket's directory can hold: segments that are not empty, `.` or
/// `..`, no backslash or NUL, not over 1,024 bytes.
fn check_key(key: &str) -> S3Result<()> {
    let bad = key.is_empty()
        || key.len() > 1024
        || key.contains(['\\', '\0'])
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || Path::new(key)
            .components()
            .any(|c| !matches!(c, Component::Normal(_)));
    if bad {
        return Err(s3_error!(
            InvalidArgument,
            "the embedded server keeps objects as files and cannot store the key {key:?} (an empty, '.' or '..' segment, a backslash, or over 1024 bytes)"
        ));
    }
    Ok(())
}

// The impl is written by the macro as a whole: `async_trait` must see every method.
macro_rules! validated_impl {
    ($($name:ident($input:ident) -> $output:ident;)*) => {
        #[async_trait::async_trait]
        impl S3 for Validated {
            $(
                async fn $name(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.fs.$name(req).await
                }
            )*

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let i = &req.input;
        self.check_read(&i.key, i.version_id.as_deref())?;
        self.check_conditions(
            &i.bucket,
            &i.key,
            i.if_match.as_ref(),
            i.if_none_match.as_ref(),
        )
        .await?;
        self.fs.get_object(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let i = &req.input;
        self.check_read(&i.key, i.version_id.as_deref())?;
        self.check_conditions(
            &i.bucket,
            &i.key,
            i.if_match.as_ref(),
            i.if_none_match.as_ref(),
        )
        .await?;
        self.fs.head_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let i = &req.input;
        check_key(&i.key)?;
        self.check_conditions(&i.bucket, &i.key, i.if_match.as_ref(), None)
            .await?;
        self.fs.delete_object(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.check_write(&req.input.bucket, &req.input.key)?;
        self.fs.put_object(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.check_write(&req.input.bucket, &req.input.key)?;
        self.fs.copy_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.check_write(&req.input.bucket, &req.input.key)?;
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.check_upload(&req.input.upload_id)?;
        self.fs.upload_part(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.check_upload(&req.input.upload_id)?;
        self.fs.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.check_upload(&req.input.upload_id)?;
        self.check_write(&req.input.bucket, &req.input.key)?;
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.check_upload(&req.input.upload_id)?;
        self.fs.abort_multipart_upload(req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        self.bucket_dir(&req.input.bucket)?;
        let uploads = uploads::open_uploads(&self.root, &req.input.bucket)
            .map_err(|e| s3_error!(InternalError, "listing the open uploads: {e}"))?;
        Ok(S3Response::new(uploads::list_page(&req.input, uploads)?))
    }
        }
    };
}

validated_impl! {
    create_bucket(CreateBucketInput) -> CreateBucketOutput;
    delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    list_buckets(ListBucketsInput) -> ListBucketsOutput;
    get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    list_objects(ListObjectsInput) -> ListObjectsOutput;
    list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
    delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
    upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
}
