//! An S3-compatible server embedded in the process: [`s3s_fs`] (a directory-backed S3
//! implementation) served over real HTTP on a loopback port, with SigV4 authentication.
//!
//! This is what `csv2parquet local` runs when no endpoint is configured, so the whole flow (upload,
//! notification, ranged GETs, multipart upload) goes through the same S3 client code as against
//! AWS or MinIO. Objects are plain files under `<root>/<bucket>/<key>`, so the outputs can be opened
//! directly. Known differences from S3: s3s-fs ignores `If-Match` on GetObject (our ranged reads
//! are then not pinned to the ETag) and stores a literal `+` in a key as a space.

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
            let mut builder = S3ServiceBuilder::new(fs);
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
}
