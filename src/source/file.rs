//! Local files and standard input.

use std::path::PathBuf;
use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncSeekExt;
use tokio_util::io::ReaderStream;

use super::{read_error, ByteSource, ByteStream, SourceInfo};
use crate::error::{Error, Result};

/// Pieces read from files and stdin.
const READ_PIECE: usize = 256 * 1024;

/// A local file.
#[derive(Debug)]
pub struct FileSource {
    path: PathBuf,
    location: String,
}

impl FileSource {
    /// A source reading `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let location = path.display().to_string();
        FileSource { path, location }
    }
}

#[async_trait::async_trait]
impl ByteSource for FileSource {
    fn location(&self) -> &str {
        &self.location
    }

    async fn head(&self) -> Result<SourceInfo> {
        let meta = tokio::fs::metadata(&self.path)
            .await
            .map_err(|source| Error::Read {
                location: self.location.clone(),
                source,
            })?;
        if meta.is_dir() {
            return Err(Error::config(
                "INPUT",
                format!("{} is a directory", self.location),
            ));
        }
        Ok(SourceInfo {
            location: self.location.clone(),
            size: meta.is_file().then_some(meta.len()),
            ..SourceInfo::default()
        })
    }

    async fn open(&self, offset: u64) -> Result<ByteStream> {
        let mut file = tokio::fs::File::open(&self.path)
            .await
            .map_err(|source| Error::Read {
                location: self.location.clone(),
                source,
            })?;
        if offset > 0 {
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(|source| Error::Read {
                    location: self.location.clone(),
                    source,
                })?;
        }
        let location = self.location.clone();
        Ok(ReaderStream::with_capacity(file, READ_PIECE)
            .map_err(move |e| read_error(&location, e))
            .boxed())
    }
}

/// Standard input: readable once, from the start.
#[derive(Debug, Default)]
pub struct StdinSource {
    opened: Mutex<bool>,
}

impl StdinSource {
    /// The process's standard input.
    pub fn new() -> Self {
        StdinSource::default()
    }
}

#[async_trait::async_trait]
impl ByteSource for StdinSource {
    fn location(&self) -> &str {
        "-"
    }

    async fn head(&self) -> Result<SourceInfo> {
        Ok(SourceInfo {
            location: "-".into(),
            ..SourceInfo::default()
        })
    }

    async fn open(&self, offset: u64) -> Result<ByteStream> {
        let mut opened = self
            .opened
            .lock()
            .map_err(|_| Error::Internal("stdin lock poisoned".into()))?;
        if *opened || offset != 0 {
            return Err(Error::config(
                "INPUT",
                "standard input can be read only once, from the start",
            ));
        }
        *opened = true;
        Ok(ReaderStream::with_capacity(tokio::io::stdin(), READ_PIECE)
            .map_err(|e| read_error("-", e))
            .boxed())
    }
}
