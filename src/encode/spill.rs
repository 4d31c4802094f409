//! Spilled column chunks: the encoded pages of the open row groups go to a file in a local
//! directory instead of the heap, so a row group's size no longer depends on the memory limit.
//!
//! Parquet wants each column chunk contiguous in the file, while batches arrive with all
//! columns interleaved: the writer must hold a whole row group's pages until it closes. The
//! parquet crate lets that holding place be chosen per column chunk (a
//! [`PageStore`](parquet::column::page_store::PageStore), made by the
//! [`PageStoreFactory`] given to the `ArrowRowGroupWriterFactory`); here every column chunk of
//! one row group appends its page blobs to one unlinked temporary file of that row group, and
//! `ArrowColumnChunk::append_to_row_group` reads them back one page at a time, in column order,
//! when the row group is written. The file goes away with the last of its column chunks, so
//! at most the row groups being written and the one being filled are on disk at once.

use std::fs::File;
#[cfg(not(unix))]
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use parquet::column::page_store::{PageKey, PageStore, PageStoreArgs, PageStoreFactory};
use parquet::errors::{ParquetError, Result};

/// Bytes an unprivileged process may still write to the file system of `dir` (statvfs's
/// available blocks), or None where that cannot be known (not a Unix, or the call failed).
pub fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let stat = rustix::fs::statvfs(dir).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Whether `dir` is on a file system held in memory (Linux's tmpfs or ramfs, as `/tmp` is on
/// many desktops): what is spilled there takes RAM.
pub fn memory_backed(dir: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        const TMPFS_MAGIC: i64 = 0x0102_1994;
        const RAMFS_MAGIC: i64 = 0x8584_58f6;
        rustix::fs::statfs(dir).is_ok_and(|s| {
            #[allow(clippy::unnecessary_cast)]
            let kind = s.f_type as i64;
            kind == TMPFS_MAGIC || kind == RAMFS_MAGIC
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        false
    }
}

/// Bytes spilled so far, shared by the spill files of one output.
#[derive(Debug, Default)]
pub struct SpillStats {
    live: AtomicU64,
    peak: AtomicU64,
    total: AtomicU64,
    /// Page bytes held on the heap instead (see [`SpillFactory::with_held_bytes`]), and the
    /// most they may be.
    held: AtomicU64,
    held_peak: AtomicU64,
    held_max: AtomicU64,
}

impl SpillStats {
    /// The most bytes on disk at once.
    pub fn peak_bytes(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Every byte written to a spill file.
    pub fn total_bytes(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Bytes on disk now.
    pub fn live_bytes(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Count `bytes` more on disk, unless that would pass `max`; returns whether it did.
    fn reserve(&self, bytes: u64, max: u64) -> bool {
        let reserved = add_within(&self.live, &self.peak, bytes, max);
        if reserved {
            self.total.fetch_add(bytes, Ordering::Relaxed);
        }
        reserved
    }

    fn release(&self, bytes: u64) {
        self.live.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// The most page bytes held on the heap at once.
    pub fn held_peak_bytes(&self) -> u64 {
        self.held_peak.load(Ordering::Relaxed)
    }

    /// Count `bytes` more held on the heap, unless that would pass the most allowed; returns
    /// whether it did.
    fn hold(&self, bytes: u64) -> bool {
        let max = self.held_max.load(Ordering::Relaxed);
        add_within(&self.held, &self.held_peak, bytes, max)
    }

    fn unhold(&self, bytes: u64) {
        self.held.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// Add `bytes` to `count` unless that would pass `max`, keeping `peak` the most it reached;
/// returns whether it did.
fn add_within(count: &AtomicU64, peak: &AtomicU64, bytes: u64, max: u64) -> bool {
    let added = count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
        n.checked_add(bytes).filter(|&n| n <= max)
    });
    match added {
        Ok(before) => {
            peak.fetch_max(before + bytes, Ordering::Relaxed);
            true
        }
        Err(_) => false,
    }
}

/// The spill file of one row group: an unlinked temporary file (it disappears when closed, even
/// if the process is killed), its end and the bytes it holds.
#[derive(Debug)]
struct SpillFile {
    file: File,
    /// Where the next blob goes; u64::MAX once a write failed. Appends hold it while they
    /// write; reads of blobs already appended need no lock where the OS reads at an offset.
    end: Mutex<u64>,
    dir: PathBuf,
    max_bytes: u64,
    stats: Arc<SpillStats>,
}

impl SpillFile {
    fn create(dir: &Path, max_bytes: u64, stats: Arc<SpillStats>) -> std::io::Result<Self> {
        Ok(SpillFile {
            file: tempfile::tempfile_in(dir)?,
            end: Mutex::new(0),
            dir: dir.to_path_buf(),
            max_bytes,
            stats,
        })
    }

    fn error(&self, what: &str, e: std::io::Error) -> ParquetError {
        ParquetError::External(Box::new(std::io::Error::new(
            e.kind(),
            format!("{what} the spill file in {}: {e}", self.dir.display()),
        )))
    }

    /// Append `blob`; returns where it starts.
    fn append(&self, blob: &[u8]) -> Result<u64> {
        let len = blob.len() as u64;
        if !self.stats.reserve(len, self.max_bytes) {
            return Err(ParquetError::General(format!(
                "spilling would pass the spill limit of {} MiB in {} (raise --max-spill, or \
                 lower --row-group-bytes)",
                self.max_bytes >> 20,
                self.dir.display()
            )));
        }
        let mut end = self.end.lock().unwrap_or_else(|p| p.into_inner());
        let start = *end;
        if let Err(e) = write_at(&self.file, blob, start) {
            // The file's end is unknown now: nothing more is appended to it.
            *end = u64::MAX;
            return Err(self.error("writing", e));
        }
        *end = start + len;
        Ok(start)
    }

    fn read(&self, start: u64, len: usize) -> Result<Bytes> {
        // Not `vec![0; len]`: calloc of a recycled extent makes jemalloc zero it with
        // madvise(DONTNEED), a syscall plus a TLB shootdown and a fault per page (a 1,000-column
        // row group reads ~12,000 pages back: 1.2 s of system time in 2.5 s wall); filling
        // pages it already holds costs a memset.
        #[expect(
            clippy::slow_vector_initialization,
            reason = "vec![0; len] is calloc, which jemalloc serves with madvise for reused pages"
        )]
        let mut blob = Vec::with_capacity(len);
        blob.resize(len, 0);
        #[cfg(unix)]
        let read = std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut blob, start);
        #[cfg(not(unix))]
        let read = {
            let _end = self.end.lock().unwrap_or_else(|p| p.into_inner());
            (&self.file)
                .seek(SeekFrom::Start(start))
                .and_then(|_| (&self.file).read_exact(&mut blob))
        };
        read.map_err(|e| self.error("reading", e))?;
        Ok(Bytes::from(blob))
    }
}

/// Write `blob` at `offset`; the caller holds the file's `end` lock.
fn write_at(file: &File, blob: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, blob, offset)
    }
    #[cfg(not(unix))]
    {
        let mut file = file;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(blob)
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        let end = self.end.get_mut().map_or(0, |end| *end);
        if end != u64::MAX {
            self.stats.release(end);
        }
    }
}

/// Where one page of a column chunk is.
#[derive(Debug)]
enum Blob {
    /// On the heap, within the factory's held bytes (empty once taken).
    Held(Bytes),
    /// In the row group's spill file: start and length.
    Spilled(u64, usize),
}

/// The pages of one column chunk: each held on the heap while the factory's held bytes allow
/// (see [`SpillFactory::with_held_bytes`]), else where it lies in its row group's spill file.
#[derive(Debug)]
struct SpillStore {
    file: Arc<SpillFile>,
    blobs: Vec<Blob>,
}

impl PageStore for SpillStore {
    fn put(&mut self, value: Bytes) -> Result<PageKey> {
        let len = value.len();
        let file = &self.file;
        let blob = if file.stats.hold(len as u64) {
            // The writer's blobs may sit in larger buffers (a page header in 1 KiB, a
            // compressed page in a buffer of its uncompressed size): held, they keep just
            // their bytes (a realloc in place where the allocator can, else a copy).
            let mut bytes = Vec::from(value);
            bytes.shrink_to_fit();
            Blob::Held(Bytes::from(bytes))
        } else {
            Blob::Spilled(file.append(&value)?, len)
        };
        self.blobs.push(blob);
        Ok(PageKey::new(self.blobs.len() as u64 - 1))
    }

    fn take(&mut self, key: PageKey) -> Result<Bytes> {
        let blob = usize::try_from(key.get())
            .ok()
            .and_then(|i| self.blobs.get_mut(i))
            .ok_or_else(|| ParquetError::General(format!("no spilled page {}", key.get())))?;
        match blob {
            Blob::Held(bytes) => {
                let bytes = std::mem::take(bytes);
                self.file.stats.unhold(bytes.len() as u64);
                Ok(bytes)
            }
            &mut Blob::Spilled(start, len) => self.file.read(start, len),
        }
    }

    // `memory_size` stays 0: held pages have a budget line of their own (the factory's held
    // bytes), apart from the column writers' heap that cuts a row group.
}

impl Drop for SpillStore {
    fn drop(&mut self) {
        for blob in &self.blobs {
            if let Blob::Held(bytes) = blob {
                self.file.stats.unhold(bytes.len() as u64);
            }
        }
    }
}

/// Makes the page stores of the column chunks: those of one row group share its spill file.
/// [`SpillFactory::start_row_group`] opens the next row group's file before its column writers
/// are made.
#[derive(Debug)]
pub struct SpillFactory {
    dir: PathBuf,
    max_bytes: u64,
    stats: Arc<SpillStats>,
    current: Mutex<Option<Arc<SpillFile>>>,
}

impl SpillFactory {
    /// Spill to `dir`, at most `max_bytes` on disk at once. Fails (with the OS error) when no
    /// file can be made there.
    pub fn new(dir: &Path, max_bytes: u64) -> std::io::Result<Self> {
        let stats = Arc::new(SpillStats::default());
        let first = SpillFile::create(dir, max_bytes, Arc::clone(&stats))?;
        Ok(SpillFactory {
            dir: dir.to_path_buf(),
            max_bytes,
            stats,
            current: Mutex::new(Some(Arc::new(first))),
        })
    }

    /// Hold pages on the heap instead of spilling them while the pages held by all row groups
    /// stay within `bytes` (the first pages of a row group, usually: a row group smaller than
    /// that is never written to disk). Pages are released as they are written out.
    pub fn with_held_bytes(self, bytes: u64) -> Self {
        self.stats.held_max.store(bytes, Ordering::Relaxed);
        self
    }

    /// The directory of its spill files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The byte counts of every spill file of this factory.
    pub fn stats(&self) -> Arc<SpillStats> {
        Arc::clone(&self.stats)
    }

    /// Open a fresh spill file for the column writers made next (one row group's).
    pub fn start_row_group(&self) -> std::io::Result<()> {
        let file = SpillFile::create(&self.dir, self.max_bytes, Arc::clone(&self.stats))?;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(file));
        Ok(())
    }

    /// Let the column writers made so far keep their file alone (it is dropped with them).
    pub fn release_current(&self) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl SpillFactory {
    fn store(&self) -> Result<SpillStore> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let file = current
            .as_ref()
            .ok_or_else(|| ParquetError::General("no spill file open".into()))?;
        Ok(SpillStore {
            file: Arc::clone(file),
            blobs: Vec::new(),
        })
    }
}

/// A spill file of its own for blobs the caller keeps track of (the column-wise encoder's
/// arrays); counted against the same limit, released when dropped.
#[derive(Debug)]
pub(super) struct SpillSegments(SpillFile);

impl SpillSegments {
    /// Append `blob`; returns where it starts.
    pub(super) fn append(&self, blob: &[u8]) -> Result<u64> {
        self.0.append(blob)
    }

    /// The `len` bytes at `start`.
    pub(super) fn read(&self, start: u64, len: usize) -> Result<Bytes> {
        self.0.read(start, len)
    }
}

impl SpillFactory {
    /// A fresh spill file for segments.
    pub(super) fn segments(&self) -> Result<SpillSegments> {
        SpillFile::create(&self.dir, self.max_bytes, Arc::clone(&self.stats))
            .map(SpillSegments)
            .map_err(|e| {
                ParquetError::External(Box::new(std::io::Error::new(
                    e.kind(),
                    format!("making a spill file in {}: {e}", self.dir.display()),
                )))
            })
    }
}

impl SpillFactory {
    /// A page store for a column chunk of the row group whose file is open (as the crate's
    /// writers get from [`PageStoreFactory::create`]).
    pub(super) fn chunk_store(&self) -> Result<Box<dyn PageStore>> {
        Ok(Box::new(self.store()?))
    }
}

impl PageStoreFactory for SpillFactory {
    fn create(&self, _args: &PageStoreArgs<'_>) -> Result<Box<dyn PageStore>> {
        Ok(Box::new(self.store()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factory(max: u64) -> (tempfile::TempDir, SpillFactory) {
        let dir = tempfile::tempdir().unwrap();
        let f = SpillFactory::new(dir.path(), max).unwrap();
        (dir, f)
    }

    #[test]
    fn blobs_round_trip_and_the_bytes_are_counted() {
        let (_dir, f) = factory(1 << 20);
        let mut a = f.store().unwrap();
        let mut b = f.store().unwrap();
        let blobs: Vec<Bytes> = (0..20u8)
            .map(|i| Bytes::from(vec![i; 100 + usize::from(i) * 37]))
            .collect();
        let mut keys = Vec::new();
        for (i, blob) in blobs.iter().enumerate() {
            let store = if i % 3 == 0 { &mut b } else { &mut a };
            keys.push((i % 3 == 0, store.put(blob.clone()).unwrap()));
        }
        assert_eq!(a.memory_size(), 0);
        let total: u64 = blobs.iter().map(|b| b.len() as u64).sum();
        assert_eq!(
            (f.stats().live_bytes(), f.stats().total_bytes()),
            (total, total)
        );
        for ((in_b, key), blob) in keys.into_iter().zip(&blobs).rev() {
            let store = if in_b { &mut b } else { &mut a };
            assert_eq!(&store.take(key).unwrap(), blob);
        }
        assert!(a.take(PageKey::new(99)).is_err());
        // The file is released with the last store of its row group.
        f.start_row_group().unwrap();
        drop(a);
        assert_eq!(f.stats().live_bytes(), total);
        drop(b);
        assert_eq!(f.stats().live_bytes(), 0);
        assert_eq!(f.stats().peak_bytes(), total);
    }

    /// Pages are held on the heap while the held bytes of all stores allow, the rest spilled;
    /// both read back, and held bytes are released as they are taken or dropped.
    #[test]
    fn pages_are_held_up_to_the_held_bytes_then_spilled() {
        let (_dir, f) = factory(1 << 20);
        let f = f.with_held_bytes(1000);
        let mut a = f.store().unwrap();
        let mut b = f.store().unwrap();
        let blobs = [600, 300, 200, 100].map(|n| Bytes::from(vec![n as u8; n]));
        let ka = a.put(blobs[0].clone()).unwrap();
        let kb = b.put(blobs[1].clone()).unwrap();
        // 900 held: 200 more would pass 1,000, so it is spilled; 100 still fits.
        let kc = a.put(blobs[2].clone()).unwrap();
        let kd = b.put(blobs[3].clone()).unwrap();
        let stats = f.stats();
        assert_eq!((stats.live_bytes(), stats.held_peak_bytes()), (200, 1000));
        assert_eq!(a.take(kc).unwrap(), blobs[2]);
        assert_eq!(a.take(ka).unwrap(), blobs[0]);
        // 600 taken: room again, so the next page is held.
        let ke = a.put(Bytes::from(vec![9; 500])).unwrap();
        assert_eq!(stats.live_bytes(), 200);
        assert_eq!(a.take(ke).unwrap(), Bytes::from(vec![9; 500]));
        assert_eq!(b.take(kb).unwrap(), blobs[1]);
        assert_eq!(stats.held.load(Ordering::Relaxed), 100);
        // A store dropped with a page not taken releases it.
        drop(b);
        assert_eq!(stats.held.load(Ordering::Relaxed), 0);
        let _ = kd;
        drop(a);
        f.release_current();
        assert_eq!(stats.live_bytes(), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_tmpfs_is_told_from_a_disk() {
        // /dev/shm is a tmpfs on Linux; the system temp dir here may be either, the current
        // directory (the build's) is not.
        if std::path::Path::new("/dev/shm").is_dir() {
            assert!(memory_backed(std::path::Path::new("/dev/shm")));
        }
        assert!(!memory_backed(std::path::Path::new(".")));
        assert!(!memory_backed(std::path::Path::new("/no/such/dir")));
    }

    #[test]
    fn the_spill_limit_is_an_error_that_names_it() {
        let (_dir, f) = factory(1000);
        let mut a = f.store().unwrap();
        a.put(Bytes::from(vec![1; 600])).unwrap();
        let err = a.put(Bytes::from(vec![2; 600])).unwrap_err().to_string();
        assert!(err.contains("--max-spill"), "{err}");
        assert_eq!(f.stats().live_bytes(), 600);
    }

    fn wide_batch(columns: usize, first: usize, rows: usize) -> arrow::array::RecordBatch {
        use arrow::array::{ArrayRef, Int64Array, StringArray};
        use arrow::datatypes::{DataType, Field, Schema};
        let fields: Vec<Field> = (0..columns)
            .map(|c| {
                let t = if c % 2 == 0 {
                    DataType::Int64
                } else {
                    DataType::Utf8
                };
                Field::new(format!("c{c}"), t, true)
            })
            .collect();
        let arrays: Vec<ArrayRef> = (0..columns)
            .map(|c| -> ArrayRef {
                let values = (first..first + rows).map(move |i| (i * 7919 + c * 31) % 1_000_003);
                if c % 2 == 0 {
                    Arc::new(Int64Array::from_iter_values(
                        values.map(|v| v as i64 * 1009),
                    ))
                } else {
                    let text = values.map(|v| format!("w{v}-{}", v * 104_729 % 65_521));
                    Arc::new(StringArray::from_iter_values(text))
                }
            })
            .collect();
        arrow::array::RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    /// Encode `batches` batches of 1,000 rows of 2,000 columns with 16 MiB of heap for the
    /// column writers and a row cap of 4,000; returns the file, its row groups' rows and the
    /// bytes spilled.
    fn encode_wide(batches: usize, spill: Option<u64>) -> (Vec<u8>, Vec<i64>, u64) {
        use crate::encode::{writer_properties, ParquetEncoder, Token};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let schema = wide_batch(2000, 0, 1).schema();
        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap(),
        );
        let properties = writer_properties(
            crate::config::Compression::Zstd(1),
            &crate::encode::EncodingPlan::default(),
        )
        .unwrap();
        let properties = crate::budget::ColumnPages {
            page_bytes: 4 << 10,
            page_rows: 512,
        }
        .apply(properties);
        let dir = tempfile::tempdir().unwrap();
        let held = spill.unwrap_or(0);
        let factory = Arc::new(
            SpillFactory::new(dir.path(), 64 << 20)
                .unwrap()
                .with_held_bytes(held),
        );
        let mut encoder =
            ParquetEncoder::new(Vec::new(), schema, properties, 16 << 20, 4000, "t", pool)
                .unwrap()
                .with_cut_lag(1);
        if spill.is_some() {
            encoder = encoder.with_spill(Arc::clone(&factory), 32 << 20).unwrap();
        }
        let token: Token = Arc::new(());
        for b in 0..batches {
            encoder
                .write(&wide_batch(2000, b * 1000, 1000), &token)
                .unwrap();
        }
        let out = encoder.finish(Vec::new()).unwrap();
        assert_eq!(factory.stats().live_bytes(), 0, "every spill file is gone");
        assert_eq!(factory.stats().held.load(Ordering::Relaxed), 0);
        assert!(factory.stats().held_peak_bytes() <= held);
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out.clone())).unwrap();
        let groups = reader.metadata().row_groups().iter().map(|g| g.num_rows());
        (out, groups.collect(), factory.stats().total_bytes())
    }

    /// 2,000 columns: in memory, the row groups are as small as the heap budget makes them;
    /// spilled, they reach the row cap, and the file reads back equal.
    #[test]
    fn wide_row_groups_reach_the_target_when_spilled() {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let (_, in_memory, none) = encode_wide(8, None);
        assert_eq!(none, 0);
        assert!(in_memory.len() > 2, "{in_memory:?}");
        let (out, spilled, bytes) = encode_wide(8, Some(0));
        assert_eq!(spilled, [4000, 4000]);
        assert!(bytes > 0);
        // Pages held on the heap up to a third of what was spilled: the same file, less spilled.
        let (held_out, held_groups, less) = encode_wide(8, Some(bytes / 3));
        assert_eq!(held_groups, spilled);
        assert!(less < bytes && less > 0, "{less} of {bytes} spilled");
        assert!(held_out == out, "holding pages changed the file");
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out)).unwrap();
        let mut next = 0;
        for read in reader.with_batch_size(1000).build().unwrap() {
            let read = read.unwrap();
            let expected = wide_batch(2000, next, read.num_rows());
            assert_eq!(read.columns(), expected.columns());
            next += read.num_rows();
        }
        assert_eq!(next, 8000);
    }

    #[test]
    fn an_unwritable_directory_fails_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert!(SpillFactory::new(&missing, 1 << 20).is_err());
    }
}

#[cfg(test)]
mod measure {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::arrow_writer::{compute_leaves, ArrowRowGroupWriterFactory};
    use parquet::arrow::ArrowWriter;

    fn rss() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages: usize = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        pages * 4096
    }

    /// The heap of idle and working column writers, per column (run with `--ignored
    /// --nocapture`): what `budget::COLUMN_WRITER_BYTES` is set from.
    #[test]
    #[ignore]
    fn column_writer_state() {
        let columns = 1000;
        let fields: Vec<Field> = (0..columns)
            .map(|c| {
                let t = if c % 2 == 0 {
                    DataType::Int64
                } else {
                    DataType::Utf8
                };
                Field::new(format!("c{c}"), t, true)
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let dir = tempfile::tempdir().unwrap();
        let spill = Arc::new(SpillFactory::new(dir.path(), u64::MAX).unwrap());
        // One setting per process: freed memory is reused, so a second one would not show.
        let page: usize = std::env::var("PAGE_KIB").map_or(1024, |v| v.parse().unwrap()) << 10;
        let level = 1;
        {
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::ZSTD(
                    parquet::basic::ZstdLevel::try_new(level).unwrap(),
                ))
                .set_data_page_size_limit(page)
                .set_dictionary_page_size_limit(page)
                .set_data_page_row_count_limit((page / 8).clamp(1024, 20_000))
                .build();
            let options =
                parquet::arrow::arrow_writer::ArrowWriterOptions::new().with_properties(props);
            let writer =
                ArrowWriter::try_new_with_options(Vec::new(), Arc::clone(&schema), options)
                    .unwrap();
            let (file, _) = writer.into_serialized_writer().unwrap();
            let store: Arc<dyn PageStoreFactory> = spill.clone();
            let factory = ArrowRowGroupWriterFactory::new(&file, Arc::clone(&schema))
                .with_page_store_factory(store);
            let before = rss();
            let mut writers = factory.create_column_writers(0).unwrap();
            let idle = rss();
            let rows = 20_000;
            for (c, (w, field)) in writers.iter_mut().zip(schema.fields()).enumerate() {
                let array: ArrayRef = if c % 2 == 0 {
                    Arc::new(Int64Array::from_iter_values(
                        (0..rows).map(|i| ((i * 7919 + c) % 3000) as i64 * 1_000_003),
                    ))
                } else {
                    Arc::new(StringArray::from_iter_values(
                        (0..rows).map(|i| format!("word_{}", (i * 104_729 + c) % 4000)),
                    ))
                };
                for leaf in compute_leaves(field, &array).unwrap() {
                    w.write(&leaf).unwrap();
                }
            }
            let working = rss();
            let reported: usize = writers.iter().map(|w| w.memory_size()).sum();
            drop(writers);
            println!(
                "page {page} zstd {level}: idle {} B/column, after {rows} rows {} B/column \
                 (memory_size says {} B/column), spilled {} MiB",
                (idle.saturating_sub(before)) / columns,
                (working.saturating_sub(before)) / columns,
                reported / columns,
                spill.stats().total_bytes() >> 20
            );
        }
    }
}
