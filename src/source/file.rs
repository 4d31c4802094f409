//! Local files and standard input.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncSeekExt;

use super::{read_error, ByteSource, ByteStream, SourceInfo};
use crate::budget::ReadAhead;
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

    async fn open(&self, offset: u64, _read_ahead: &ReadAhead) -> Result<ByteStream> {
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
        Ok(blocking_stream(
            file.into_std().await,
            self.location.clone(),
        ))
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

    async fn open(&self, offset: u64, _read_ahead: &ReadAhead) -> Result<ByteStream> {
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
        Ok(blocking_stream(std::io::stdin(), "-".into()))
    }
}

/// Pieces of `READ_PIECE` bytes read on a blocking thread straight into their own buffers (one
/// copy, the kernel's; `tokio::fs` and `tokio::io::stdin` read into a buffer of their own and
/// copy from it). At most two pieces wait in the channel; the thread stops at the end, on an
/// error, or when the stream is dropped.
fn blocking_stream<R: Read + Send + 'static>(mut reader: R, location: String) -> ByteStream {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    tokio::task::spawn_blocking(move || loop {
        let mut piece = Vec::with_capacity(READ_PIECE);
        // `take` + `read_to_end` fills the spare capacity without zeroing it first.
        let read = (&mut reader)
            .take(READ_PIECE as u64)
            .read_to_end(&mut piece);
        // Bytes read before an error are kept (`read_to_end` appends them).
        if !piece.is_empty() && tx.blocking_send(Ok(Bytes::from(piece))).is_err() {
            return;
        }
        match read {
            Ok(n) if n > 0 => {}
            Ok(_) => return,
            Err(e) => {
                let _ = tx.blocking_send(Err(read_error(&location, e)));
                return;
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    // Readers may poll again after the end (as they may a `ReaderStream`).
    .fuse()
    .boxed()
}
