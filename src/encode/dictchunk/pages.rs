//! A chunk's data pages: serialized (header and body) as they are encoded and put in a
//! [`PageStore`], the heap's or the lanes' spill file's, so that a chunk open for a whole row
//! group holds its pages where the crate's writers hold theirs. The dictionary page goes first
//! only when the chunk is finished; [`StoredChunk`] then reads the pages back one at a time
//! while the row group copies them out.

use std::io::Read;
use std::sync::Mutex;

use bytes::Bytes;
use parquet::column::page::CompressedPage;
use parquet::column::page::PageWriter;
use parquet::column::page_store::{PageKey, PageStore};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};

type PResult<T> = std::result::Result<T, ParquetError>;

/// Where one serialized page is and what it holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spec {
    pub(super) key: PageKey,
    /// Bytes of the header and the body.
    pub(super) written: u64,
    /// Bytes of the header alone.
    pub(super) header: usize,
    pub(super) compressed: u64,
    pub(super) uncompressed: u64,
    pub(super) values: u32,
}

/// The data pages of one chunk.
pub(super) struct Pages {
    store: Box<dyn PageStore>,
    pub(super) specs: Vec<Spec>,
    /// Bytes of every page serialized so far.
    pub(super) written: u64,
}

impl Pages {
    pub(super) fn new(store: Box<dyn PageStore>) -> Self {
        Pages {
            store,
            specs: Vec::new(),
            written: 0,
        }
    }

    /// Serialize `page` and store it.
    pub(super) fn put(&mut self, page: CompressedPage) -> PResult<()> {
        let (blob, spec) = serialize(page)?;
        let key = self.store.put(blob)?;
        self.written += spec.written;
        self.specs.push(Spec { key, ..spec });
        Ok(())
    }

    /// The body of page `i` (its header skipped): taken from the store, so only once.
    pub(super) fn take_body(&mut self, i: usize) -> PResult<Bytes> {
        let spec = self
            .specs
            .get(i)
            .ok_or_else(|| ParquetError::General(format!("no page {i}")))?;
        let blob = self.store.take(spec.key)?;
        if blob.len() < spec.header {
            return Err(ParquetError::General(format!("page {i} came back short")));
        }
        Ok(blob.slice(spec.header..))
    }

    /// Heap bytes of the pages held (0 for those spilled).
    pub(super) fn memory_size(&self) -> usize {
        self.store.memory_size() + self.specs.capacity() * std::mem::size_of::<Spec>()
    }

    /// The chunk to append: `head` (the serialized dictionary page), then these pages.
    pub(super) fn into_chunk(self, head: Bytes) -> StoredChunk {
        let len = head.len() as u64 + self.written;
        StoredChunk {
            len,
            parts: Mutex::new(Some(Parts {
                head,
                store: self.store,
                keys: self
                    .specs
                    .iter()
                    .map(|s| s.key)
                    .collect::<Vec<_>>()
                    .into_iter(),
            })),
        }
    }
}

/// `page` with its header, as the crate's page writer writes it, and its figures (offset 0).
pub(super) fn serialize(page: CompressedPage) -> PResult<(Bytes, Spec)> {
    let body = page.data().len();
    let mut sink = TrackedWrite::new(Vec::with_capacity(body + 64));
    let spec = {
        let mut writer = SerializedPageWriter::new(&mut sink);
        let spec = writer.write_page(page)?;
        writer.close()?;
        spec
    };
    let blob = Bytes::from(sink.into_inner()?);
    let spec = Spec {
        key: PageKey::new(0),
        written: blob.len() as u64,
        header: blob.len().saturating_sub(body),
        compressed: spec.compressed_size as u64,
        uncompressed: spec.uncompressed_size as u64,
        values: spec.num_values,
    };
    Ok((blob, spec))
}

/// What a finished chunk's reader hands out in order.
struct Parts {
    head: Bytes,
    store: Box<dyn PageStore>,
    keys: std::vec::IntoIter<PageKey>,
}

/// A finished chunk whose data pages are in a page store: read once, from its start, by
/// `SerializedRowGroupWriter::append_column`, one page at a time.
pub(in crate::encode) struct StoredChunk {
    len: u64,
    parts: Mutex<Option<Parts>>,
}

impl Length for StoredChunk {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for StoredChunk {
    type T = PageRead;

    fn get_read(&self, start: u64) -> PResult<PageRead> {
        let parts = self.parts.lock().unwrap_or_else(|p| p.into_inner()).take();
        match parts {
            Some(parts) if start == 0 => Ok(PageRead {
                current: parts.head.clone(),
                parts,
            }),
            _ => Err(ParquetError::General(
                "a stored chunk is read once, from its start".into(),
            )),
        }
    }

    fn get_bytes(&self, _start: u64, _length: usize) -> PResult<Bytes> {
        Err(ParquetError::General(
            "a stored chunk is read as a stream".into(),
        ))
    }
}

/// Reads a [`StoredChunk`]: the dictionary page, then each data page taken from the store.
pub(in crate::encode) struct PageRead {
    parts: Parts,
    current: Bytes,
}

impl Read for PageRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            let Some(key) = self.parts.keys.next() else {
                return Ok(0);
            };
            self.current = self
                .parts
                .store
                .take(key)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
