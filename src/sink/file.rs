//! Local files (written to a temporary name beside the target and renamed on success) and
//! standard output.
//!
//! A target that exists and is no regular file (a device such as `/dev/null`, a FIFO) is
//! written in place: renaming a temporary file over it would replace the device node or pipe
//! with a plain file. Like standard output, such a target cannot take back bytes on error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use super::ByteSink;
use crate::error::{Error, Result};

/// Bytes written between two background `fdatasync`s of a temporary file.
const SYNC_EVERY: u64 = 32 * 1024 * 1024;

/// A local file, published by rename (or a special file, written in place).
///
/// Parts are written on a blocking thread straight from their buffers (`tokio::fs::File` would
/// copy each into a buffer of its own first). A temporary file is flushed to the disk as it
/// grows, by an `fdatasync` every 32 MiB on a blocking thread while writing goes
/// on, so the `fsync` before the rename finds little left to write (1 GiB text, 250 MiB out:
/// that `fsync` took 106 ms at the end of a 3.1 s run, all of it waiting on the disk).
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    /// The temporary file renamed to `path` on success; `None` for a special file.
    temp: Option<PathBuf>,
    location: String,
    file: Option<Arc<std::fs::File>>,
    written: u64,
    /// Bytes written since the last background sync started.
    unsynced: u64,
    /// The background sync running, if any (at most one).
    syncing: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Publish only if nothing is at `path` (`--no-clobber`).
    no_clobber: bool,
}

impl FileSink {
    /// Create the temporary file beside `path`, or open `path` itself when it is a special
    /// file (device, FIFO, socket). A directory is refused before anything is written.
    pub async fn create(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let location = path.display().to_string();
        let write_error = |source| Error::Write {
            location: location.clone(),
            source,
        };
        let special = match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_dir() => {
                return Err(write_error(std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "the output is a directory; name a file",
                )))
            }
            Ok(m) => is_special(&m),
            Err(_) => false,
        };
        let (temp, file) = if special {
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .await
                .map_err(write_error)?;
            (None, file)
        } else {
            let temp = temp_name(&path);
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .await
                .map_err(write_error)?;
            (Some(temp), file)
        };
        Ok(FileSink {
            path,
            temp,
            location,
            file: Some(Arc::new(file.into_std().await)),
            written: 0,
            unsynced: 0,
            syncing: None,
            no_clobber: false,
        })
    }

    /// Publish only if there is no file at the path yet (a hard link, which fails if there
    /// is, instead of a rename, which replaces it): `complete` then fails with
    /// [`Error::Superseded`] and removes the temporary file.
    pub fn with_no_clobber(mut self, no_clobber: bool) -> Self {
        self.no_clobber = no_clobber;
        self
    }

    /// Publish `temp` at the path without replacing anything there.
    async fn link(&mut self, temp: &Path) -> Result<()> {
        match tokio::fs::hard_link(temp, &self.path).await {
            Ok(()) => {
                let _ = tokio::fs::remove_file(temp).await;
                Ok(())
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(temp).await;
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    return Err(Error::Superseded {
                        location: self.location.clone(),
                        reason: "--no-clobber, and the file exists".into(),
                        source: Box::new(e),
                    });
                }
                Err(self.write_error(e))
            }
        }
    }

    /// Whether [`FileSink::create`] would write `path` in place: it exists and is a special file
    /// (device, FIFO, socket), so bytes written cannot be taken back.
    pub fn writes_in_place(path: &Path) -> bool {
        std::fs::metadata(path).is_ok_and(|m| is_special(&m))
    }

    fn write_error(&self, source: std::io::Error) -> Error {
        Error::Write {
            location: self.location.clone(),
            source,
        }
    }

    /// Wait for the background sync, if one runs; its error is the file's.
    async fn finish_sync(&mut self) -> Result<()> {
        match self.syncing.take() {
            Some(handle) => match handle.await {
                Ok(res) => res.map_err(|e| self.write_error(e)),
                Err(e) => Err(Error::Internal(format!("file sync task failed: {e}"))),
            },
            None => Ok(()),
        }
    }
}

/// Run `f` on the blocking pool with `file`.
async fn blocking<T: Send + 'static>(
    file: &Arc<std::fs::File>,
    f: impl FnOnce(&std::fs::File) -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let file = Arc::clone(file);
    tokio::task::spawn_blocking(move || f(&file))
        .await
        .map_err(std::io::Error::other)?
}

/// Neither a regular file nor a directory: a device, FIFO or socket, written in place.
fn is_special(m: &std::fs::Metadata) -> bool {
    !m.is_file() && !m.is_dir()
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
        let Some(file) = self.file.clone() else {
            return Err(Error::Internal("file sink already closed".into()));
        };
        let len = part.len() as u64;
        let res = blocking(&file, move |mut f| f.write_all(&part)).await;
        res.map_err(|e| self.write_error(e))?;
        self.written += len;
        self.unsynced += len;
        let idle = self.syncing.as_ref().is_none_or(|h| h.is_finished());
        if self.temp.is_some() && self.unsynced >= SYNC_EVERY && idle {
            self.finish_sync().await?;
            self.unsynced = 0;
            self.syncing = Some(tokio::task::spawn_blocking(move || file.sync_data()));
        }
        Ok(())
    }

    async fn complete(&mut self) -> Result<u64> {
        self.finish_sync().await?;
        let Some(temp) = self.temp.clone() else {
            // A special file: nothing to sync (a device may refuse fsync) or rename.
            self.file.take();
            return Ok(self.written);
        };
        if let Some(file) = self.file.take() {
            let res = blocking(&file, |f| f.sync_all()).await;
            res.map_err(|e| self.write_error(e))?;
        }
        if self.no_clobber {
            self.link(&temp).await?;
            return Ok(self.written);
        }
        let res = tokio::fs::rename(&temp, &self.path).await;
        res.map_err(|e| self.write_error(e))?;
        Ok(self.written)
    }

    async fn abort(&mut self) -> Result<()> {
        self.file.take();
        let Some(temp) = self.temp.as_ref() else {
            return Ok(());
        };
        match tokio::fs::remove_file(temp).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.write_error(e)),
        }
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        // Dropped without complete/abort (a panic or a cancelled future): leave nothing behind.
        if let (Some(_), Some(temp)) = (self.file.take(), self.temp.as_ref()) {
            let _ = std::fs::remove_file(temp);
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileTypeExt;

    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_fifo_is_written_in_place_and_stays_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        let mut sink = FileSink::create(&fifo).await.unwrap();
        sink.put_part(Bytes::from_static(b"PAR1 ")).await.unwrap();
        sink.put_part(Bytes::from_static(b"rest")).await.unwrap();
        assert_eq!(sink.complete().await.unwrap(), 9);
        drop(sink);
        // Checked before joining: had the FIFO been replaced, the reader would wait forever.
        let kind = std::fs::metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "{kind:?}");
        assert!(FileSink::writes_in_place(&fifo));
        assert!(!FileSink::writes_in_place(dir.path()));
        assert!(!FileSink::writes_in_place(&dir.path().join("absent")));
        assert_eq!(reader.join().unwrap(), b"PAR1 rest");
        assert_eq!(entries(dir.path()), vec!["out.pipe".to_string()]);
    }

    #[tokio::test]
    async fn parts_past_the_sync_interval_are_written_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("big.parquet");
        let mut sink = FileSink::create(&target).await.unwrap();
        let part = |i: u8| Bytes::from(vec![i; (SYNC_EVERY / 3) as usize + 1]);
        let mut want = Vec::new();
        for i in 0..8 {
            sink.put_part(part(i)).await.unwrap();
            want.extend_from_slice(&part(i));
        }
        assert!(sink.syncing.is_some() || sink.unsynced < SYNC_EVERY);
        assert_eq!(sink.complete().await.unwrap(), want.len() as u64);
        assert!(sink.syncing.is_none());
        assert!(std::fs::read(&target).unwrap() == want);
        assert_eq!(entries(dir.path()), vec!["big.parquet".to_string()]);
    }

    #[tokio::test]
    async fn a_directory_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let err = FileSink::create(dir.path()).await.unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        assert!(entries(dir.path()).is_empty());
        let parent = dir.path().parent().unwrap();
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            !entries(parent)
                .iter()
                .any(|e| e.starts_with(&format!(".{name}.tmp-"))),
            "a temporary file was left beside the directory"
        );
    }

    #[tokio::test]
    async fn no_clobber_publishes_only_where_nothing_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.parquet");
        let mut sink = FileSink::create(&path).await.unwrap().with_no_clobber(true);
        sink.put_part(Bytes::from_static(b"first")).await.unwrap();
        sink.complete().await.unwrap();
        let mut sink = FileSink::create(&path).await.unwrap().with_no_clobber(true);
        sink.put_part(Bytes::from_static(b"second")).await.unwrap();
        let err = sink.complete().await.unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Conflict, "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp left"
        );
    }

    #[tokio::test]
    async fn a_regular_file_is_replaced_by_rename_and_an_abort_leaves_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        std::fs::write(&target, b"old").unwrap();
        let mut sink = FileSink::create(&target).await.unwrap();
        sink.put_part(Bytes::from_static(b"new")).await.unwrap();
        assert_eq!(
            entries(dir.path()).len(),
            2,
            "the temporary file sits beside it"
        );
        sink.abort().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(entries(dir.path()), vec!["out.parquet".to_string()]);
        let mut sink = FileSink::create(&target).await.unwrap();
        sink.put_part(Bytes::from_static(b"new")).await.unwrap();
        sink.complete().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(entries(dir.path()), vec!["out.parquet".to_string()]);
    }
}
