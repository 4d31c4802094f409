//! Local files (written to a temporary name beside the target and renamed on success) and
//! standard output.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use super::ByteSink;
use crate::error::{Error, Result};

/// A local file, published by rename.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    temp: PathBuf,
    location: String,
    file: Option<tokio::fs::File>,
    written: u64,
}

impl FileSink {
    /// Create the temporary file beside `path`.
    pub async fn create(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let location = path.display().to_string();
        let temp = temp_name(&path);
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await
            .map_err(|source| Error::Write {
                location: location.clone(),
                source,
            })?;
        Ok(FileSink {
            path,
            temp,
            location,
            file: Some(file),
            written: 0,
        })
    }

    fn write_error(&self, source: std::io::Error) -> Error {
        Error::Write {
            location: self.location.clone(),
            source,
        }
    }
}

/// `dir/.name.tmp-PID-NANOS`: hidden, unique, on the same file system as the target.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    path.with_file_name(format!(".{name}.tmp-{}-{nanos}", std::process::id()))
}

#[async_trait::async_trait]
impl ByteSink for FileSink {
    fn location(&self) -> &str {
        &self.location
    }

    async fn put_part(&mut self, part: Bytes) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(Error::Internal("file sink already closed".into()));
        };
        let res = file.write_all(&part).await;
        res.map_err(|e| self.write_error(e))?;
        self.written += part.len() as u64;
        Ok(())
    }

    async fn complete(&mut self) -> Result<u64> {
        if let Some(mut file) = self.file.take() {
            let res = async {
                file.flush().await?;
                file.sync_all().await
            }
            .await;
            res.map_err(|e| self.write_error(e))?;
        }
        let res = tokio::fs::rename(&self.temp, &self.path).await;
        res.map_err(|e| self.write_error(e))?;
        Ok(self.written)
    }

    async fn abort(&mut self) -> Result<()> {
        self.file.take();
        match tokio::fs::remove_file(&self.temp).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.write_error(e)),
        }
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        // Dropped without complete/abort (a panic or a cancelled future): leave nothing behind.
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Standard output. Bytes are written as they come and cannot be retracted on error.
#[derive(Debug)]
pub struct StdoutSink {
    out: tokio::io::Stdout,
    written: u64,
}

impl StdoutSink {
    /// The process's standard output.
    pub fn new() -> Self {
        StdoutSink {
            out: tokio::io::stdout(),
            written: 0,
        }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl ByteSink for StdoutSink {
    fn location(&self) -> &str {
        "-"
    }

    async fn put_part(&mut self, part: Bytes) -> Result<()> {
        self.out
            .write_all(&part)
            .await
            .map_err(|source| Error::Write {
                location: "-".into(),
                source,
            })?;
        self.written += part.len() as u64;
        Ok(())
    }

    async fn complete(&mut self) -> Result<u64> {
        self.out.flush().await.map_err(|source| Error::Write {
            location: "-".into(),
            source,
        })?;
        Ok(self.written)
    }

    async fn abort(&mut self) -> Result<()> {
        let _ = self.out.flush().await;
        Ok(())
    }
}
