//! An S3-compatible server embedded in the process: [`s3s_fs`] (a directory-backed S3
//! implementation) served over real HTTP on a loopback port, with SigV4 authentication.
//!
//! This is what `csv2parquet local` runs when no endpoint is configured, so the whole flow (upload,
//! notification, ranged GETs, multipart upload) goes through the same S3 client code as against
//! AWS or MinIO. Objects are plain files under `<root>/<bucket>/<key>`, so the outputs can be opened
//! directly. A validating layer (`s3_csv2parquet::testkit::s3_server`) makes it answer as S3 does for missing
//! buckets, unsafe keys, conditional reads, versions and gone uploads, and lists open multipart
//! uploads. Known differences from S3: no versioning, no delimiter in ListMultipartUploads, `a`
//! and `a/b` cannot both be objects, and a literal `+` in a key is stored as a space.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use s3_csv2parquet::error::{Error, Result};

use s3_csv2parquet::testkit::s3_server::Validated;

/// Access key the embedded server accepts.
pub(crate) const ACCESS_KEY: &str = "csv2parquet";
/// Secret key the embedded server accepts.
pub(crate) const SECRET_KEY: &str = "csv2parquet-local-secret";
/// Region clients sign for.
pub(crate) const REGION: &str = "us-east-1";

/// A running embedded server; stopped when dropped (or with [`EmbeddedS3::stop`]).
#[derive(Debug)]
pub(crate) struct EmbeddedS3 {
    endpoint: String,
    root: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl EmbeddedS3 {
    /// Serve the directory `root` (created if missing) on `addr` (port 0: any free port). Must be
    /// called inside a tokio runtime; the server runs as tasks of that runtime.
    pub(crate) async fn start(root: &Path, addr: SocketAddr) -> Result<Self> {
        let io = |what: &str, source: std::io::Error| Error::Write {
            location: format!("{what} {}", root.display()),
            source,
        };
        std::fs::create_dir_all(root).map_err(|e| io("create", e))?;
        let root = root.canonicalize().map_err(|e| io("canonicalize", e))?;
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| {
            Error::config("local server root", format!("{}: {e:?}", root.display()))
        })?;
        let service = {
            let mut builder = S3ServiceBuilder::new(Validated::new(fs, root.clone()));
            builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            builder.build()
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| io(&format!("bind {addr} for the server of"), e))?;
        let local = listener
            .local_addr()
            .map_err(|e| io("local address of the server of", e))?;
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(serve(listener, Arc::new(service), rx));
        Ok(EmbeddedS3 {
            endpoint: format!("http://{local}"),
            root,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Where the object `bucket/key` lives on disk.
    pub(crate) fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    /// A client for this server: its credentials, path-style addressing, checksums only when
    /// required (s3s-fs, like several S3-compatible stores, predates the newer default checksums).
    pub(crate) fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                ACCESS_KEY,
                SECRET_KEY,
                None,
                None,
                "csv2parquet-local",
            ))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Stop accepting connections and close the open ones.
    pub(crate) async fn stop(mut self) {
        self.signal();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.signal();
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    service: Arc<S3Service>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let http = ConnBuilder::new(TokioExecutor::new());
    let mut conns = JoinSet::new();
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    tracing::warn!(error = %e, "embedded S3 server: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = socket.set_nodelay(true);
        let service = Arc::clone(&service);
        let handler =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let service = Arc::clone(&service);
                async move { service.call(req.map(s3s::Body::from)).await }
            });
        let conn = http
            .serve_connection(TokioIo::new(socket), handler)
            .into_owned();
        conns.spawn(async move {
            let _ = conn.await;
        });
        while conns.try_join_next().is_some() {}
    }
    conns.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_put_and_get_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let server = EmbeddedS3::start(dir.path(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let client = server.client();
        client.create_bucket().bucket("bkt").send().await.unwrap();
        client
            .put_object()
            .bucket("bkt")
            .key("dir/x.csv")
            .body(b"a,b\n1,2\n".to_vec().into())
            .send()
            .await
            .unwrap();
        let got = client
            .get_object()
            .bucket("bkt")
            .key("dir/x.csv")
            .range("bytes=4-")
            .send()
            .await
            .unwrap();
        let body = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(&body[..], b"1,2\n");
        assert_eq!(
            std::fs::read(server.object_path("bkt", "dir/x.csv")).unwrap(),
            b"a,b\n1,2\n"
        );
        server.stop().await;
    }

    /// The HTTP status and S3 code of a failed request.
    fn refusal<E: aws_sdk_s3::error::ProvideErrorMetadata>(
        result: std::result::Result<
            impl std::fmt::Debug,
            aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
        >,
    ) -> (u16, String) {
        let err = result.expect_err("refused");
        let status = err.raw_response().map_or(0, |r| r.status().as_u16());
        let code = err
            .as_service_error()
            .and_then(|e| e.code())
            .unwrap_or("")
            .to_string();
        (status, code)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_as_s3_where_s3s_fs_differs() {
        let dir = tempfile::tempdir().unwrap();
        let server = EmbeddedS3::start(dir.path(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let client = server.client();
        client.create_bucket().bucket("test").send().await.unwrap();
        let put = |bucket: &'static str, key: &'static str| {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(b"x".to_vec().into())
                .send()
        };
        // A write to a missing bucket does not create it.
        assert_eq!(
            refusal(put("typo-bucket", "a.csv").await),
            (404, "NoSuchBucket".into())
        );
        assert!(!dir.path().join("typo-bucket").exists());
        // A key cannot leave its bucket.
        let (status, _) = refusal(put("test", "../other/x").await);
        assert_eq!(status, 400);
        assert!(!dir.path().join("other").exists());
        // a and a/b: refused with a message, not an internal error.
        put("test", "a").await.unwrap();
        assert_eq!(
            refusal(put("test", "a/b").await),
            (400, "InvalidArgument".into())
        );
        // Reads: versions and conditions.
        let get = client.get_object().bucket("test").key("a");
        let (status, code) = refusal(get.clone().version_id("v1").send().await);
        assert_eq!((status, code.as_str()), (404, "NoSuchVersion"));
        assert_eq!(
            refusal(get.clone().if_match("\"nope\"").send().await).0,
            412
        );
        get.version_id("null").send().await.unwrap();
        // A gone upload is NoSuchUpload.
        let abort = client
            .abort_multipart_upload()
            .bucket("test")
            .key("a")
            .upload_id("00000000-0000-0000-0000-000000000000")
            .send()
            .await;
        assert_eq!(refusal(abort), (404, "NoSuchUpload".into()));
        server.stop().await;
    }

    /// `(key, upload id)` of the open uploads ListMultipartUploads gives for `prefix`.
    async fn listed(
        client: &aws_sdk_s3::Client,
        bucket: &str,
        prefix: &str,
    ) -> Vec<(String, String)> {
        let out = client
            .list_multipart_uploads()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        assert_eq!(out.is_truncated(), Some(false));
        out.uploads()
            .iter()
            .map(|u| {
                assert!(u.initiated().is_some(), "{u:?}");
                (
                    u.key().unwrap_or_default().to_string(),
                    u.upload_id().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lists_open_multipart_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let server = EmbeddedS3::start(dir.path(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let client = server.client();
        client.create_bucket().bucket("ups").send().await.unwrap();
        client.create_bucket().bucket("other").send().await.unwrap();
        let create = |bucket: &'static str, key: &'static str| {
            let c = client.create_multipart_upload().bucket(bucket).key(key);
            async move { c.send().await.unwrap().upload_id().unwrap().to_string() }
        };
        let a = create("ups", "in/a.csv").await;
        let b = create("ups", "in/b c.csv").await;
        let out = create("ups", "out/x.parquet").await;
        create("other", "in/a.csv").await;
        let mut want = vec![
            ("in/a.csv".to_string(), a.clone()),
            ("in/b c.csv".into(), b),
        ];
        assert_eq!(listed(&client, "ups", "in/").await, want);
        assert_eq!(listed(&client, "ups", "").await.len(), 3);
        // Pages of one: the markers of one page start the next.
        let first = client
            .list_multipart_uploads()
            .bucket("ups")
            .max_uploads(1)
            .send()
            .await
            .unwrap();
        assert_eq!(
            (first.uploads().len(), first.is_truncated()),
            (1, Some(true))
        );
        let second = client
            .list_multipart_uploads()
            .bucket("ups")
            .max_uploads(1)
            .set_key_marker(first.next_key_marker().map(str::to_string))
            .set_upload_id_marker(first.next_upload_id_marker().map(str::to_string))
            .send()
            .await
            .unwrap();
        assert_eq!(second.uploads()[0].key(), Some("in/b c.csv"));
        // Aborted and completed uploads are no longer listed.
        client
            .abort_multipart_upload()
            .bucket("ups")
            .key("in/a.csv")
            .upload_id(&a)
            .send()
            .await
            .unwrap();
        want.remove(0);
        assert_eq!(listed(&client, "ups", "in/").await, want);
        let part = client
            .upload_part()
            .bucket("ups")
            .key("out/x.parquet")
            .upload_id(&out)
            .part_number(1)
            .body(b"PAR1".to_vec().into())
            .send()
            .await
            .unwrap();
        let parts = aws_sdk_s3::types::CompletedMultipartUpload::builder()
            .parts(
                aws_sdk_s3::types::CompletedPart::builder()
                    .part_number(1)
                    .set_e_tag(part.e_tag().map(str::to_string))
                    .build(),
            )
            .build();
        client
            .complete_multipart_upload()
            .bucket("ups")
            .key("out/x.parquet")
            .upload_id(&out)
            .multipart_upload(parts)
            .send()
            .await
            .unwrap();
        assert!(listed(&client, "ups", "out/").await.is_empty());
        // A missing bucket is NoSuchBucket, as on S3.
        let missing = client.list_multipart_uploads().bucket("nope").send().await;
        assert_eq!(refusal(missing), (404, "NoSuchBucket".into()));
        server.stop().await;
    }
}
