//! moto's S3 server (`pip install 'moto[server]'`, an independent implementation that follows
//! AWS's rules closely), started on a loopback port for one test and stopped when dropped.
//!
//! Python comes from `$CSV2PQ_TEST_PYTHON`, else the repository's `.venv` (which
//! `scripts/test` installs with moto), else `python3`. Without moto the test fails with the
//! command that installs it: a second implementation is part of the suite, not optional.
//!
//! Where moto is not AWS (say so in the test that relies on it): it does not verify request
//! checksums, ignores `ExpectedBucketOwner`, and keeps no SSE-KMS keys (it echoes the
//! requested algorithm and key id back).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use bytes::Bytes;

/// A running moto server.
pub struct Moto {
    child: Child,
    endpoint: String,
    client: aws_sdk_s3::Client,
}

impl std::fmt::Debug for Moto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Moto")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The Python that has moto.
fn python() -> String {
    if let Ok(p) = std::env::var("CSV2PQ_TEST_PYTHON") {
        return p;
    }
    let venv = super::repo().join(".venv/bin/python");
    if venv.exists() {
        return venv.to_string_lossy().into_owned();
    }
    "python3".into()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

impl Moto {
    /// Start moto's server on a free loopback port and wait until it answers.
    pub async fn start() -> Moto {
        let python = python();
        let has_moto = Command::new(&python)
            .args(["-c", "import moto.server"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            has_moto,
            "{python} has no moto server: run `bash scripts/test` once (it installs .venv), or \
             `pip install 'moto[server]==5.2.1'` and set CSV2PQ_TEST_PYTHON"
        );
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(&python)
                .args([
                    "-m",
                    "moto.server",
                    "-H",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ])
                .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn moto.server");
            let endpoint = format!("http://127.0.0.1:{port}");
            let mut moto = Moto {
                child,
                client: client(&endpoint),
                endpoint,
            };
            match moto.wait_ready().await {
                Ok(()) => return moto,
                Err(e) => last = e,
            }
        }
        panic!("moto server did not start: {last}");
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}"));
            }
            if self.client.list_buckets().send().await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("no answer in 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A client of the server (us-east-1, path style, checksums when required).
    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client.clone()
    }

    /// Create bucket `name`, versioned if asked.
    pub async fn create_bucket(&self, name: &str, versioned: bool) {
        self.client
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("CreateBucket");
        if versioned {
            self.client
                .put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .expect("PutBucketVersioning");
        }
    }

    /// Put an object; returns its ETag (unquoted) and version id.
    pub async fn put(&self, bucket: &str, key: &str, body: &[u8]) -> (String, Option<String>) {
        let out = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .expect("PutObject");
        let etag = out
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        (etag, out.version_id().map(str::to_string))
    }

    /// An object's bytes, or `None` if there is none.
    pub async fn get(&self, bucket: &str, key: &str) -> Option<Bytes> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(out.body.collect().await.ok()?.into_bytes())
    }

    /// An object's user metadata (names as S3 keeps them).
    pub async fn metadata(
        &self,
        bucket: &str,
        key: &str,
    ) -> std::collections::HashMap<String, String> {
        let out = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("HeadObject");
        out.metadata().cloned().unwrap_or_default()
    }

    /// Multipart uploads still open in `bucket`.
    pub async fn open_uploads(&self, bucket: &str) -> usize {
        let out = self
            .client
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .expect("ListMultipartUploads");
        out.uploads().len()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of `endpoint` with test credentials.
pub fn client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
