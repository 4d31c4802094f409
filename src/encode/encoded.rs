//! A closed column chunk, by the parquet crate's writer or by ours (see `dictchunk`), as both
//! the lanes and the column-wise writer hand it to the row group.

use parquet::arrow::arrow_writer::ArrowColumnChunk;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::writer::SerializedRowGroupWriter;

use super::dictchunk::StoredChunk;

/// An encoded column chunk: the crate's, or ours with its pages in a page store.
pub(super) enum Encoded {
    Crate(ArrowColumnChunk),
    Ours(StoredChunk, ColumnCloseResult),
}

impl Encoded {
    /// The bytes of its pages.
    pub(super) fn bytes(&self) -> usize {
        usize::try_from(self.close().metadata.compressed_size()).unwrap_or(usize::MAX)
    }

    fn close(&self) -> &ColumnCloseResult {
        match self {
            Encoded::Crate(chunk) => chunk.close(),
            Encoded::Ours(_, close) => close,
        }
    }

    /// Whether its dictionary fell back to other encodings (ours never does).
    pub(super) fn fell_back(&self) -> bool {
        matches!(self, Encoded::Crate(chunk) if super::fallback::fell_back(chunk))
    }

    /// Append it to `row_group`, its pages read back one at a time.
    pub(super) fn append<W: std::io::Write + Send>(
        self,
        row_group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> Result<(), ParquetError> {
        match self {
            Encoded::Crate(chunk) => chunk.append_to_row_group(row_group),
            Encoded::Ours(chunk, close) => row_group.append_column(&chunk, close),
        }
    }
}
