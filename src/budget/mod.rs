//! The memory budget: how `--memory-limit` is divided between the pipeline's buffers. Every
//! buffer that can grow with the input is capped by one of its numbers (the README's memory
//! table is this file in words).
//!
//! It is planned in the order knowledge arrives:
//! 1. [`MemoryBudget::for_options`] (also [`ConvertOptions::validate`]): from the limit, the
//!    worker count and the tuning overrides, each checked against the limit;
//! 2. [`MemoryBudget::for_input`]: the output part size, from the input's size and codec (a
//!    multipart upload holds at most 10,000 parts);
//! 3. [`MemoryBudget::for_spill_space`]: the spill room, from the spill directory's free
//!    space (unless `--max-spill` set it);
//! 4. [`MemoryBudget::for_records`]: chunk sizes, from the head's records (their bytes, and
//!    what they take decoded).
//!
//! The read-ahead is cut into ranged GETs by [`MemoryBudget::read_ahead`]; a source that reads
//! ranges (S3) is handed that plan, so no caller plans ranges of its own.

use crate::config::{
    ConvertOptions, Encoding, OptionKey, DEFAULT_BLOCK_BYTES, DEFAULT_INFER_BYTES, MIB,
};
use crate::error::{Error, Result};

mod chunks;
mod parts;
#[cfg(feature = "lambda")]
pub mod resident;

pub use chunks::RecordSize;
pub use parts::DEFAULT_PART_BYTES;

/// Smallest accepted `--memory-limit`.
pub const MIN_MEMORY_LIMIT: usize = 16 * MIB;
/// Default size of one ranged GET, when the read-ahead holds enough of them (AWS's guidance is
/// 8-16 MiB).
pub const DEFAULT_RANGE_BYTES: usize = 8 * MIB;
/// Ranges the read-ahead holds at least, unless `--range-bytes` says otherwise. One connection
/// carries roughly 85-90 MB/s from S3 (AWS's performance guidelines), and the embedded s3s-fs server, which
/// reads files 4 KiB at a time, serves one GET at about 100 MiB/s with a full core; the
/// decoder takes 300+ MiB/s on two cores. Measured s3 -> s3 on 1 GiB of text at the default
/// limit (16 MiB read-ahead): 2 ranges of 8 MiB 7.7-8.6 s, 3 of 8 MiB 6.3 s, 4 of 4 or 8 MiB
/// 6.2-6.4 s, 8 of 2 MiB 6.2 s.
pub const MIN_RANGES_IN_FLIGHT: usize = 4;
/// The smallest range the read-ahead is cut into by default.
pub const MIN_DEFAULT_RANGE_BYTES: usize = MIB;
/// The smallest range `--range-bytes` accepts (smaller ones are mostly request overhead).
pub const MIN_RANGE_BYTES: usize = 64 << 10;
/// The most ranges in flight, whatever the read-ahead and range sizes.
pub const MAX_RANGES_IN_FLIGHT: usize = 64;
/// Chunks of the derived (largest) size the row-group size is judged behind: 16 MiB at the
/// default limit (8 MiB once [`MemoryBudget::for_records`] makes chunks smaller).
pub const CUT_LAG_CHUNKS: usize = 4;
/// Encoded bytes of a row group whose pages are spilled (the default): 128 MiB, parquet-mr's
/// default `parquet.block.size`, which Spark and Hive write, and the default block size of
/// Trino's (Athena's) Parquet writer; readers split work by row group, so far smaller groups
/// mean more per-group overhead (footer metadata, dictionary pages, tiny compressed pages).
/// DuckDB reads row groups in parallel and writes 122,880 rows per group; the row cap
/// ([`crate::config::DEFAULT_ROW_GROUP_ROWS`], 1Mi rows, pyarrow's default) cuts narrow files
/// first.
pub const DEFAULT_SPILLED_ROW_GROUP_BYTES: usize = 128 * MIB;
/// Bytes spilled to disk at once at most, by default: a row group being written, the next one
/// being filled, and the cut lag's overshoot, at [`DEFAULT_SPILLED_ROW_GROUP_BYTES`]. Within a
/// Lambda's smallest `/tmp` (512 MB).
pub const DEFAULT_MAX_SPILL: usize = 3 * DEFAULT_SPILLED_ROW_GROUP_BYTES;
/// The spill room at most when the spill directory's free space sets it
/// ([`MemoryBudget::for_spill_space`]): a wide row group is spilled as Arrow arrays, ~4x its
/// encoded bytes (1,000 columns: 395 MiB for 106 MiB), so reaching the 128 MiB target takes
/// ~500 MiB plus the cut's margin (512 MiB of 1,000 columns: one row group, not two).
pub const MAX_DERIVED_SPILL: usize = 640 * MIB;
/// Heap bytes per column writer besides what its `memory_size` reports (codec contexts,
/// encoder and statistics structures). Measured with `encode::spill::measure` (1,000 columns,
/// system allocator): 23 KiB idle; after 20,000 rows at 16 KiB pages, 240 KiB of which 8 KiB
/// reported, so this covers an idle or lightly used writer only (see the README, "Spilling").
pub const COLUMN_WRITER_BYTES: usize = 64 * 1024;
/// Heap bytes a lane's column writer holds however small its pages: the zstd compression and
/// decompression contexts the parquet crate's codec keeps, encoders, statistics. Measured with
/// `encode::spill::measure` (1,000 columns): ~240 KiB per column after 20,000 rows at 16 KiB
/// pages. Writers that would take more than half their share of the heap together are not
/// made: such a schema is encoded a column at a time (see [`MemoryBudget::columnwise`]).
pub const LANE_WRITER_BYTES: usize = 256 * 1024;
/// The smallest data page (and dictionary page) a column is given when the budget shrinks them
/// for a wide schema; a schema whose columns cannot each have this much is refused.
pub const MIN_PAGE_BYTES: usize = 8 * 1024;
/// The largest data and dictionary page a narrow schema's column gets (parquet's default: 1
/// MiB). Free text compresses better in larger pages (each its own zstd frame): README,
/// "Independent text", 165.7 -> 162.6 MiB at ~1.7 MiB pages, the same speed.
pub const MAX_PAGE_BYTES: usize = 4 * MIB;

/// How the memory limit is divided between the pipeline's buffers. Every buffer that can grow
/// with the input is capped by one of these numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryBudget {
    /// The whole limit.
    pub limit: usize,
    /// Worker threads.
    pub workers: usize,
    /// Decompressed bytes read ahead of the chunker (blocks in the read channel).
    pub read_ahead_bytes: usize,
    /// Size of one read block.
    pub block_bytes: usize,
    /// Bytes per ranged GET of a source read in ranges (S3).
    pub range_bytes: usize,
    /// Ranged GETs in flight: together at most the read-ahead.
    pub ranges_in_flight: usize,
    /// Target size of one chunk of whole records handed to a decode worker.
    pub chunk_bytes: usize,
    /// Chunks being decoded or waiting to be encoded at once.
    pub chunks_in_flight: usize,
    /// Bytes a chunk in flight takes decoded (tokens, Arrow arrays), in percent of its text:
    /// 300, more for records of short fields, whose chunks are then smaller (`for_records`).
    pub decoded_percent: usize,
    /// Parts (chunks) the row-group size is judged behind the newest (see
    /// [`crate::encode::ParquetEncoder::with_cut_lag`]).
    pub cut_lag_parts: usize,
    /// Longest record accepted; longer is an error naming its line.
    pub max_record_bytes: usize,
    /// Encoded bytes buffered per row group before it is flushed (without spilling; with
    /// spilling, twice this is what the column writers may hold on the heap, since a row group
    /// is no longer held twice when it closes).
    pub row_group_bytes: usize,
    /// Heap bytes the column writers may hold (pages being filled, dictionaries, codec
    /// contexts) when the pages of open row groups are spilled: the share that held a row
    /// group twice (see [`MemoryBudget::row_group_bytes`]).
    pub spilling_writer_bytes: usize,
    /// Encoded pages of open row groups held on the heap before they spill (only when
    /// spilling, and only for schemas that keep their lanes: a column-wise schema spills
    /// arrays). A row group that fits is never written to disk and read back. What the other
    /// lines of [`MemoryBudget::derive`] leave of the limit less a quarter (the process itself
    /// and the allocator's slack: held pages raised the peak by up to twice their bytes), at
    /// most L/16 and 128 MiB: 16 MiB at 256 MiB, 32 MiB at 512 MiB, none at 128 MiB.
    pub spill_held_bytes: usize,
    /// Bytes spilled to disk at once at most (`--max-spill`, by default [`DEFAULT_MAX_SPILL`]);
    /// 0 (`--max-spill 0`): no spilling.
    pub spill_bytes: usize,
    /// Encoded bytes of a row group whose pages are spilled.
    pub spilled_row_group_bytes: usize,
    /// Output bytes buffered before they are handed to the sink as one part.
    pub part_bytes: usize,
    /// Parts queued for the sink.
    pub parts_in_flight: usize,
    /// The input's decompressed size as [`MemoryBudget::for_input`] estimated it, and whether
    /// it was estimated from a compressed size.
    #[serde(skip)]
    input_estimate: Option<(u64, bool)>,
    /// Which sizes were set by an option, and are kept as set.
    #[serde(skip)]
    fixed: Fixed,
}

/// Sizes set by options, which the later planning steps keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Fixed {
    chunks: bool,
    parts: bool,
}

/// How a source reads ahead in ranges: `ranges` GETs of `range_bytes` in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAhead {
    /// Bytes per ranged GET.
    pub range_bytes: usize,
    /// GETs in flight.
    pub ranges: usize,
}

impl Default for ReadAhead {
    /// The plan at the default memory limit.
    fn default() -> Self {
        let (range_bytes, ranges) = plan_ranges(16 * MIB, None);
        ReadAhead {
            range_bytes,
            ranges,
        }
    }
}

impl ConvertOptions {
    /// Check every option and plan the memory budget ([`MemoryBudget::for_options`]).
    pub fn validate(&self) -> Result<MemoryBudget> {
        MemoryBudget::for_options(self)
    }
}

impl MemoryBudget {
    /// Check every option and split the memory limit between the stages: derived from the
    /// limit and the worker count, then each tuning override checked against the limit.
    pub fn for_options(options: &ConvertOptions) -> Result<Self> {
        options.check()?;
        if options.memory_limit < MIN_MEMORY_LIMIT {
            return Err(Error::config(
                OptionKey::MemoryLimit,
                format!("must be at least {} MiB", MIN_MEMORY_LIMIT / MIB),
            ));
        }
        let workers = if options.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            options.workers
        };
        let mut budget = MemoryBudget::derive(options.memory_limit, workers);
        budget.override_sizes(options)?;
        let largest_head = budget.max_record_bytes.max(DEFAULT_INFER_BYTES);
        if options.infer_bytes > largest_head {
            return Err(Error::config(
                OptionKey::InferBytes,
                format!(
                    "must be at most {} MiB at this memory limit",
                    largest_head / MIB
                ),
            ));
        }
        Ok(budget)
    }

    /// Apply the tuning overrides of `options`, each within what the limit allows.
    fn override_sizes(&mut self, options: &ConvertOptions) -> Result<()> {
        let limit = options.memory_limit;
        if let Some(chunk) = options.chunk_bytes {
            if chunk == 0 || chunk > self.chunk_bytes * 4 {
                return Err(Error::config(
                    OptionKey::ChunkBytes,
                    format!(
                        "must be between 1 and {} at this memory limit",
                        self.chunk_bytes * 4
                    ),
                ));
            }
            self.chunk_bytes = chunk;
            self.fixed.chunks = true;
        }
        if let Some(part) = options.part_bytes {
            let max = self.max_part_bytes();
            if !(5 * MIB..=max).contains(&part) {
                return Err(Error::config(
                    OptionKey::PartBytes,
                    format!(
                        "must be between 5 MiB (the S3 minimum) and {} MiB at this memory limit",
                        max / MIB
                    ),
                ));
            }
            self.part_bytes = part;
            self.fixed.parts = true;
        }
        if let Some(block) = options.block_bytes {
            if block == 0 || block > self.read_ahead_bytes {
                return Err(Error::config(
                    OptionKey::BlockBytes,
                    format!("must be between 1 and {}", self.read_ahead_bytes),
                ));
            }
            self.block_bytes = block;
        }
        if let Some(rg) = options.row_group_bytes {
            let spilling = options.max_spill.is_none_or(|n| n > 0);
            if rg < MIB || (rg > limit / 2 && !spilling) {
                return Err(Error::config(
                    OptionKey::RowGroupBytes,
                    format!(
                        "must be between 1 MiB and half the memory limit ({} MiB)",
                        limit / 2 / MIB
                    ),
                ));
            }
            self.row_group_bytes = rg.min(limit / 2);
        }
        // Spilling is the default (`--max-spill 0` turns it off): row groups reach their
        // encoded target at any limit. Wide schemas are encoded a column at a time, so the
        // larger row groups cost their writers no more heap.
        let spill = options.max_spill.unwrap_or(DEFAULT_MAX_SPILL);
        if spill > 0 && spill < 3 * MIB {
            return Err(Error::config(
                OptionKey::MaxSpill,
                "must be 0 (no spilling) or at least 3 MiB",
            ));
        }
        self.spill_bytes = spill;
        if spill > 0 {
            self.spilled_row_group_bytes = self.spilled_row_group_bytes.min(spill / 3);
        }
        if let (Some(rg), true) = (options.row_group_bytes, self.spill_bytes > 0) {
            if rg > self.spill_bytes / 2 {
                return Err(Error::config(
                    OptionKey::RowGroupBytes,
                    format!(
                        "must be at most half of --max-spill ({} MiB)",
                        self.spill_bytes / 2 / MIB
                    ),
                ));
            }
            self.spilled_row_group_bytes = rg;
        }
        if let Some(range) = options.range_bytes {
            let range =
                check_range_bytes(range).map_err(|e| Error::config(OptionKey::RangeBytes, e))?;
            (self.range_bytes, self.ranges_in_flight) =
                plan_ranges(self.read_ahead_bytes, Some(range));
        }
        // The overrides moved the lines: the held pages take what room is left.
        *self = self.with_held_room();
        Ok(())
    }

    /// The spill room from the free space of the spill directory (`free`, None where unknown),
    /// unless `--max-spill` set it: three quarters of the free bytes (the rest for the footer
    /// log and whatever else shares the disk), at most [`MAX_DERIVED_SPILL`]; none when that is
    /// less than the 3 MiB spilling needs. In a Lambda that is three quarters of its `/tmp`
    /// (`EphemeralStorageSize`, 512 MB by default: ~366 MiB), so the same function always
    /// makes the same row groups; where the free space is unknown, [`DEFAULT_MAX_SPILL`].
    pub fn for_spill_space(self, free: Option<u64>, options: &ConvertOptions) -> Self {
        let (Some(spill_bytes), None) = (spill_room(free), options.max_spill) else {
            return self;
        };
        let spilled_row_group_bytes = match options.row_group_bytes {
            _ if spill_bytes == 0 => self.spilled_row_group_bytes,
            Some(set) => set.min(spill_bytes / 2),
            None => DEFAULT_SPILLED_ROW_GROUP_BYTES.min(spill_bytes / 3),
        };
        MemoryBudget {
            spill_bytes,
            spilled_row_group_bytes,
            ..self
        }
    }

    /// Split `limit` between the stages (see the README's memory table).
    fn derive(limit: usize, workers: usize) -> Self {
        let workers = workers.max(1);
        let chunk_bytes = (limit / 64).clamp(256 * 1024, 4 * MIB);
        // A chunk's decoded forms (tokens, Arrow arrays) take at most 3x its text (chunks of
        // records that take more are made smaller: `for_records`).
        let chunks_in_flight = (workers * 2 + 1)
            .min((limit / 4) / (chunk_bytes * chunks::DECODED_PERCENT / 100))
            .max(2);
        let read_ahead_bytes = (limit / 16).clamp(MIB, 32 * MIB);
        let (range_bytes, ranges_in_flight) = plan_ranges(read_ahead_bytes, None);
        // Closing a row group briefly holds its pages twice (column writers, then the file).
        // L/16: with high-cardinality columns written plain (no per-row-group dictionary
        // attempt) the output is the same size as at L/8 (1 GiB text 262.69 vs 262.66 MB, taxi
        // +0.07%) and peak RSS falls by 25-60 MiB at the default limit.
        let row_group_bytes = (limit / 16).clamp(2 * MIB, 128 * MIB);
        let (part_bytes, parts_in_flight) = (DEFAULT_PART_BYTES, 2);
        MemoryBudget {
            limit,
            workers,
            read_ahead_bytes,
            block_bytes: DEFAULT_BLOCK_BYTES.min(read_ahead_bytes / 2),
            range_bytes,
            ranges_in_flight,
            chunk_bytes,
            chunks_in_flight,
            decoded_percent: chunks::DECODED_PERCENT,
            cut_lag_parts: CUT_LAG_CHUNKS,
            max_record_bytes: limit / 8,
            row_group_bytes,
            spilling_writer_bytes: row_group_bytes * 2,
            spill_held_bytes: 0,
            spill_bytes: 0,
            spilled_row_group_bytes: DEFAULT_SPILLED_ROW_GROUP_BYTES,
            part_bytes,
            parts_in_flight,
            input_estimate: None,
            fixed: Fixed::default(),
        }
        .with_held_room()
    }

    /// The lines every buffer but the held pages is capped by (the README's memory table):
    /// read-ahead, chunks, span copies, longest record, row group x2 (or writers), parts.
    fn lines(&self) -> usize {
        self.read_ahead_bytes
            + (self.chunks_in_flight * self.chunk_bytes).saturating_mul(self.decoded_percent) / 100
            + self.workers * crate::decode::TRANSPOSE_BYTES
            + self.max_record_bytes
            + self.row_group_bytes.max(self.spilling_writer_bytes / 2) * 2
            + self.part_bytes * (self.parts_in_flight + 2)
    }

    /// What the lines leave of the limit less a quarter (the process itself and the
    /// allocator's slack): the room held pages and larger parts share.
    fn room(&self) -> usize {
        self.limit.saturating_sub(self.lines() + self.limit / 4)
    }

    /// The held pages take the room, at most L/16 and 128 MiB.
    fn with_held_room(self) -> Self {
        MemoryBudget {
            spill_held_bytes: self.room().min(self.limit / 16).min(128 * MIB),
            ..self
        }
    }

    /// Input bytes per read block: a transcoded block grows by up to
    /// [`Encoding::max_growth`], so the reading stage reads that much less per block and a block
    /// in the read-ahead channel never exceeds `block_bytes` (the read-ahead budget holds for
    /// every encoding).
    pub fn read_block_bytes(&self, encoding: Encoding) -> usize {
        (self.block_bytes / encoding.max_growth()).max(1)
    }

    /// The ranged GETs a source keeps in flight.
    pub fn read_ahead(&self) -> ReadAhead {
        ReadAhead {
            range_bytes: self.range_bytes,
            ranges: self.ranges_in_flight,
        }
    }
}

/// Page limits of the column writers, so that all of them fit their share of the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnPages {
    /// Data page and dictionary page size limit per column.
    pub page_bytes: usize,
    /// Rows per data page at most: a dictionary-encoded page buffers 8 bytes per row (the
    /// writer checks its page limits every this many rows, at most 1024).
    pub page_rows: usize,
}

impl ColumnPages {
    /// `properties` with these page limits (the per-column settings kept).
    pub fn apply(
        self,
        properties: parquet::file::properties::WriterProperties,
    ) -> parquet::file::properties::WriterProperties {
        properties
            .into_builder()
            .set_data_page_size_limit(self.page_bytes)
            .set_dictionary_page_size_limit(self.page_bytes)
            .set_data_page_row_count_limit(self.page_rows)
            .set_write_batch_size(self.page_rows.min(1024))
            .build()
    }
}

impl MemoryBudget {
    /// Page limits for `columns` column writers sharing the writers' heap (with `spilling`,
    /// [`MemoryBudget::spilling_writer_bytes`], else [`MemoryBudget::row_group_bytes`]): each
    /// column gets [`COLUMN_WRITER_BYTES`] for its writer's own state and the rest for a data
    /// page and a dictionary page, between [`MIN_PAGE_BYTES`] and [`MAX_PAGE_BYTES`] each.
    ///
    /// A schema whose writers need more than their share gets the smallest pages and a warning
    /// (the peak may then pass the limit by the difference). Nothing is refused here: the
    /// state of a writer that has compressed little is far smaller than
    /// [`COLUMN_WRITER_BYTES`] (10,000 columns of a few rows convert within the default limit).
    pub fn column_pages(&self, columns: usize, spilling: bool) -> (ColumnPages, Option<String>) {
        let heap = if spilling {
            self.spilling_writer_bytes
        } else {
            self.row_group_bytes
        };
        let columns = columns.max(1);
        let least = columns.saturating_mul(COLUMN_WRITER_BYTES + 2 * MIN_PAGE_BYTES);
        let warning = (least > heap).then(|| {
            format!(
                "{columns} columns: their writers need about {} MiB, more than the {} MiB the \
                 memory limit gives them; peak memory may pass the limit by the difference",
                least.div_ceil(MIB),
                heap / MIB
            )
        });
        let per_column = heap / columns;
        let page_bytes = (per_column.saturating_sub(COLUMN_WRITER_BYTES) / 2)
            .clamp(MIN_PAGE_BYTES, MAX_PAGE_BYTES);
        let pages = ColumnPages {
            page_bytes,
            page_rows: (page_bytes / 8).clamp(128, 20_000),
        };
        (pages, warning)
    }
}

impl MemoryBudget {
    /// The heap bytes of arrays a column-wise encoder may hold for `columns` columns, or None
    /// when their lane writers fit (half the writers' heap: with `spilling`,
    /// [`MemoryBudget::spilling_writer_bytes`], else twice [`MemoryBudget::row_group_bytes`],
    /// since lanes hold a closing row group twice). The arrays get that heap less
    /// [`crate::encode::COLUMN_WRITER_HEAP`] for each worker's writer, and at least 1 MiB.
    ///
    /// Spilling, they are at most a sixteenth of the spill room: its cut's margin is twice
    /// them ([`MemoryBudget::columnwise_group`]), so a hold growing with the limit shrank the
    /// row groups (1,000 columns, 366 MiB of room, a Lambda's `/tmp`: 2 groups at 256 MiB,
    /// 128 of 504 rows at 2 GiB, 228.1 MiB out instead of 116.6, every dictionary dropped).
    pub fn columnwise(&self, columns: usize, spilling: bool) -> Option<usize> {
        let heap = if spilling {
            self.spilling_writer_bytes
        } else {
            self.row_group_bytes
        };
        if columns.saturating_mul(LANE_WRITER_BYTES) <= heap / 2 {
            return None;
        }
        let heap = if spilling {
            self.spilling_writer_bytes
        } else {
            2 * self.row_group_bytes
        };
        let hold = heap
            .saturating_sub(self.workers * crate::encode::COLUMN_WRITER_HEAP)
            .max(MIB);
        Some(if spilling && self.spill_bytes > 0 {
            hold.min(self.spill_bytes / 16).max(MIB)
        } else {
            hold
        })
    }

    /// What cuts a spilled row group of a column-wise encoder for `columns` columns with
    /// `spill` bytes of spill room. Its cut encodes the row group before more arrays come (and
    /// frees its spill), so one row group is spilled at a time and may take the spill room,
    /// less a margin for the batch that passes the cut: the last spill, of up to the held
    /// arrays and a batch, whose IPC framing can add a third at 3,000 columns (an eighth of the
    /// room, at least twice the held arrays' heap and three chunks' decoded bytes). The room
    /// counts spilled bytes as written (integers narrowed: see `encode::segment`).
    ///
    /// The arrays' bytes as decoded are capped too (`--row-group-bytes`, if set), so that a
    /// column's chunk, encoded at the cut by each worker at once, takes at most half the held
    /// arrays' heap split between the workers. Larger groups mean fewer dictionaries and
    /// column chunks: 1,000 columns, 512 MiB of CSV, 20,165 -> 56,463 rows per group made the
    /// output 15% smaller (144.9 -> 122.4 MB) and the conversion no slower.
    pub fn columnwise_group(
        &self,
        columns: usize,
        spill: usize,
        options: &ConvertOptions,
    ) -> SpilledGroup {
        let hold = self.columnwise(columns, true).unwrap_or(MIB);
        let margin = (spill / 8).max(2 * hold + 3 * 3 * self.chunk_bytes);
        let room = spill.saturating_sub(margin).max(MIB);
        let per_column = hold / (2 * self.workers.max(1));
        let arrays = options
            .row_group_bytes
            .unwrap_or_else(|| columns.saturating_mul(per_column).max(MIB));
        SpilledGroup {
            array_bytes: arrays,
            spill_bytes: room,
        }
    }

    /// About how many bytes of CSV make a row group of `columns` columns (what the
    /// dictionary plan sizes dictionaries for): four times the encoded row-group budget for
    /// lanes; for a column-wise encoder, the arrays it holds, or the spilled row group's.
    pub fn row_group_text_bytes(&self, columns: usize, options: &ConvertOptions) -> usize {
        let spill = self.spill_bytes;
        let spilling = spill > 0;
        match self.columnwise(columns, spilling) {
            Some(_) if spilling => {
                let group = self.columnwise_group(columns, spill, options);
                group.array_bytes.min(group.spill_bytes)
            }
            Some(hold) => hold,
            None => 4 * self.row_group_bytes,
        }
    }
}

/// What cuts a spilled row group of a column-wise encoder ([`MemoryBudget::columnwise_group`]):
/// whichever is reached first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpilledGroup {
    /// Bytes of the row group's arrays as decoded, held or spilled.
    pub array_bytes: usize,
    /// Bytes of the row group in the spill file, with the arrays still held.
    pub spill_bytes: usize,
}

/// The default spill room for a spill directory with `free` bytes free (see
/// [`MemoryBudget::for_spill_space`]); None where that is unknown.
pub fn spill_room(free: Option<u64>) -> Option<usize> {
    let room = usize::try_from(free? / 4 * 3)
        .unwrap_or(usize::MAX)
        .min(MAX_DERIVED_SPILL);
    Some(if room < 3 * MIB { 0 } else { room / MIB * MIB })
}

/// Check a `--range-bytes` value: at least [`MIN_RANGE_BYTES`].
pub fn check_range_bytes(bytes: usize) -> std::result::Result<usize, String> {
    if bytes < MIN_RANGE_BYTES {
        return Err(format!(
            "{bytes} bytes is too small: ranged GETs must be at least 64 KiB"
        ));
    }
    Ok(bytes)
}

/// The size of one ranged GET and how many are in flight, for a read-ahead of `read_ahead`
/// bytes. `requested` (`--range-bytes`) is kept, up to the read-ahead (a larger range would
/// hold more than the budget gives the read-ahead); by default ranges are
/// [`DEFAULT_RANGE_BYTES`], cut down so that the read-ahead holds [`MIN_RANGES_IN_FLIGHT`] of
/// them, but not below [`MIN_DEFAULT_RANGE_BYTES`]. The ranges in flight never hold more than
/// the read-ahead (at least one range is always in flight, and at most
/// [`MAX_RANGES_IN_FLIGHT`]).
pub fn plan_ranges(read_ahead: usize, requested: Option<usize>) -> (usize, usize) {
    let range = match requested {
        Some(r) => r.clamp(1, read_ahead.max(MIN_RANGE_BYTES)),
        None => {
            (read_ahead / MIN_RANGES_IN_FLIGHT).clamp(MIN_DEFAULT_RANGE_BYTES, DEFAULT_RANGE_BYTES)
        }
    };
    (range, (read_ahead / range).clamp(1, MAX_RANGES_IN_FLIGHT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_budget_fits_the_limit() {
        for (limit, held) in [
            (128 * MIB, 0),
            (256 * MIB, 16 * MIB),
            (512 * MIB, 32 * MIB),
            (1024 * MIB, 64 * MIB),
        ] {
            let b = ConvertOptions {
                memory_limit: limit,
                ..ConvertOptions::default()
            }
            .validate()
            .unwrap();
            let worst = b.read_ahead_bytes
                + b.chunks_in_flight * b.chunk_bytes * 3
                + b.max_record_bytes
                + b.row_group_bytes * 2
                + b.spill_held_bytes
                + b.part_bytes * (b.parts_in_flight + 2);
            assert!(worst <= b.limit, "{worst} > {}", b.limit);
            assert!(b.range_bytes * b.ranges_in_flight <= b.read_ahead_bytes);
            assert_eq!(b.spill_held_bytes, held, "{limit}");
        }
    }

    #[test]
    fn transcoded_blocks_stay_within_the_block_size() {
        let b = ConvertOptions::default().validate().unwrap();
        for e in [Encoding::Utf8, Encoding::Latin1, Encoding::Windows1252] {
            assert!(
                b.read_block_bytes(e) * e.max_growth() <= b.block_bytes,
                "{e:?}"
            );
            assert!(b.read_block_bytes(e) >= b.block_bytes / 3);
        }
        assert_eq!(b.read_block_bytes(Encoding::Utf8), b.block_bytes);
    }

    #[test]
    fn memory_limit_floor() {
        let o = ConvertOptions::default().with_memory_limit(MIB);
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--memory-limit"));
    }

    #[test]
    fn default_ranges_keep_four_in_flight_within_the_read_ahead() {
        // The default limit's 16 MiB read-ahead: 4 ranges of 4 MiB.
        assert_eq!(plan_ranges(16 * MIB, None), (4 * MIB, 4));
        assert_eq!(ReadAhead::default().range_bytes, 4 * MIB);
        // 32 MiB (limits of 512 MiB and more): AWS's 8 MiB ranges, 4 of them.
        assert_eq!(plan_ranges(32 * MIB, None), (DEFAULT_RANGE_BYTES, 4));
        // Small limits: not below 1 MiB, and still one range at least.
        assert_eq!(plan_ranges(2 * MIB, None), (MIB, 2));
        assert_eq!(plan_ranges(MIB, None), (MIB, 1));
        for read_ahead in [MIB, 3 * MIB, 5 * MIB + 17, 16 * MIB, 32 * MIB, 100 * MIB] {
            let (range, in_flight) = plan_ranges(read_ahead, None);
            assert!(range * in_flight <= read_ahead.max(range), "{read_ahead}");
            assert!(
                in_flight >= MIN_RANGES_IN_FLIGHT || range == MIB,
                "{read_ahead}"
            );
        }
    }

    #[test]
    fn requested_ranges_are_kept() {
        assert_eq!(plan_ranges(16 * MIB, Some(8 * MIB)), (8 * MIB, 2));
        assert_eq!(plan_ranges(16 * MIB, Some(16 * MIB)), (16 * MIB, 1));
        // Not beyond the read-ahead's budget.
        assert_eq!(plan_ranges(16 * MIB, Some(64 * MIB)), (16 * MIB, 1));
        assert_eq!(plan_ranges(16 * MIB, Some(MIB / 2)), (MIB / 2, 32));
        assert_eq!(
            plan_ranges(16 * MIB, Some(MIN_RANGE_BYTES)),
            (MIN_RANGE_BYTES, 64)
        );
        assert_eq!(
            plan_ranges(32 * MIB, Some(MIN_RANGE_BYTES)).1,
            MAX_RANGES_IN_FLIGHT
        );
        let set = ConvertOptions {
            range_bytes: Some(8 * MIB),
            ..ConvertOptions::default()
        };
        assert_eq!(
            set.validate().unwrap().read_ahead(),
            ReadAhead {
                range_bytes: 8 * MIB,
                ranges: 2
            }
        );
    }

    #[test]
    fn wide_schemas_are_encoded_a_column_at_a_time() {
        let b = MemoryBudget::derive(256 * MIB, 2);
        // The benchmark shapes keep their lanes at the default limit: 19 writers take 4.75 MiB
        // of the 16 MiB row-group heap.
        assert_eq!(b.columnwise(7, false), None);
        assert_eq!(b.columnwise(19, false), None);
        // 1,000 columns would take 250 MiB in writers: held arrays get twice the row-group
        // heap less a writer per worker.
        let hold = b.columnwise(1000, false).unwrap();
        assert_eq!(hold, 32 * MIB - 2 * crate::encode::COLUMN_WRITER_HEAP);
        // Spilling gives the lanes more heap, and the held arrays the same.
        assert_eq!(b.columnwise(40, true), None);
        assert_eq!(b.columnwise(1000, true), Some(hold));
        // Spilling is the default; a wide schema's row groups are the spilled size.
        let o = ConvertOptions::default();
        let b = o.validate().unwrap();
        assert_eq!(b.spill_bytes, DEFAULT_MAX_SPILL);
        assert_eq!(b.row_group_text_bytes(19, &o), 64 * MIB);
        // A column-wise row group takes the spill room less an eighth (one is spilled at a
        // time) and twice the held arrays (here capped at a sixteenth of the room: 24 MiB) and
        // three chunks' decoded bytes, unless a column read back at the cut would pass its
        // share of the held heap.
        assert_eq!(b.row_group_text_bytes(1000, &o), 300 * MIB);
        let small = MemoryBudget::derive(128 * MIB, 2);
        let small_hold = small.columnwise(40, true).unwrap();
        assert_eq!(small_hold, 16 * MIB - 2 * crate::encode::COLUMN_WRITER_HEAP);
        let group = small.columnwise_group(40, DEFAULT_MAX_SPILL, &o);
        assert_eq!(group.array_bytes, 40 * (small_hold / 4));
        assert!(group.spill_bytes > group.array_bytes, "{group:?}");
        let set = ConvertOptions {
            row_group_bytes: Some(64 * MIB),
            ..ConvertOptions::default()
        };
        let set_budget = set.validate().unwrap();
        let group = set_budget.columnwise_group(1000, DEFAULT_MAX_SPILL, &set);
        assert_eq!(group.array_bytes, 64 * MIB);
        assert_eq!(set_budget.row_group_text_bytes(1000, &set), 64 * MIB);
        let off = ConvertOptions {
            max_spill: Some(0),
            ..ConvertOptions::default()
        };
        let b_off = off.validate().unwrap();
        assert_eq!(b_off.spill_bytes, 0);
        assert_eq!(b_off.row_group_text_bytes(1000, &off), hold);
        // A tiny limit still holds a MiB of arrays.
        assert_eq!(
            MemoryBudget::derive(16 * MIB, 8).columnwise(50, false),
            Some(MIB)
        );
    }

    #[test]
    fn column_pages_shrink_with_the_width() {
        let b = ConvertOptions::default().validate().unwrap();
        assert_eq!(
            (b.spill_bytes, b.spilled_row_group_bytes),
            (DEFAULT_MAX_SPILL, 128 * MIB)
        );
        let pages = |columns| b.column_pages(columns, true);
        // Narrow: the largest pages.
        assert_eq!(pages(3).0.page_bytes, MAX_PAGE_BYTES);
        assert_eq!(pages(3).0.page_rows, 20_000);
        assert!(pages(3).1.is_none());
        // Ten columns share the writers' heap: pages over 1 MiB, within the share.
        let (ten, warning) = pages(10);
        assert!(ten.page_bytes > MIB && ten.page_bytes < MAX_PAGE_BYTES);
        assert!(10 * (COLUMN_WRITER_BYTES + 2 * ten.page_bytes) <= b.spilling_writer_bytes);
        assert!(warning.is_none());
        // Wider: smaller pages, every writer within the share.
        let (wide, warning) = pages(100);
        assert!(wide.page_bytes < MAX_PAGE_BYTES && wide.page_bytes >= MIN_PAGE_BYTES);
        assert!(100 * (COLUMN_WRITER_BYTES + 2 * wide.page_bytes) <= b.spilling_writer_bytes);
        assert!(warning.is_none());
        // Wider than the share: the smallest pages and a warning.
        let (widest, warning) = pages(1000);
        assert_eq!(widest.page_bytes, MIN_PAGE_BYTES);
        let warning = warning.unwrap_or_default();
        assert!(
            warning.contains("1000 columns: their writers need about"),
            "{warning}"
        );
    }

    #[test]
    fn the_spill_room_follows_the_free_space_unless_set() {
        let o = ConvertOptions::default();
        let b = o.validate().unwrap();
        let room = |free: Option<u64>, o: &ConvertOptions| {
            let b = o.validate().unwrap().for_spill_space(free, o);
            (b.spill_bytes, b.spilled_row_group_bytes)
        };
        // Unknown: the default.
        assert_eq!(room(None, &o), (DEFAULT_MAX_SPILL, 128 * MIB));
        // A Lambda's 512 MB /tmp: three quarters, whole MiB.
        assert_eq!(room(Some(512_000_000), &o), (366 * MIB, 122 * MIB));
        // A large disk: at most MAX_DERIVED_SPILL; lanes keep their 128 MiB groups.
        assert_eq!(room(Some(1 << 40), &o), (MAX_DERIVED_SPILL, 128 * MIB));
        // An almost full one: no spilling.
        assert_eq!(
            room(Some(3 * MIB as u64), &o),
            (0, b.spilled_row_group_bytes)
        );
        // --max-spill wins; --row-group-bytes stays within half the room.
        let set = ConvertOptions {
            max_spill: Some(100 * MIB),
            ..ConvertOptions::default()
        };
        assert_eq!(room(Some(1 << 40), &set), (100 * MIB, 100 * MIB / 3));
        let rg = ConvertOptions {
            row_group_bytes: Some(64 * MIB),
            ..ConvertOptions::default()
        };
        assert_eq!(
            room(Some(100 * MIB as u64), &rg),
            (75 * MIB, 37 * MIB + MIB / 2)
        );
        // The spill directory of this machine has some free space to read.
        assert!(crate::encode::free_bytes(&std::env::temp_dir()).is_some_and(|n| n > 0));
    }

    /// A larger memory limit never makes a wide schema's spilled row groups smaller: the
    /// arrays held beside the spill file are capped by the spill room, whose margin they set.
    #[test]
    fn spilled_row_groups_do_not_shrink_as_the_limit_grows() {
        for spill in [366 * MIB, 640 * MIB] {
            let room = |limit: usize| {
                let o = ConvertOptions {
                    memory_limit: limit,
                    max_spill: Some(spill),
                    ..ConvertOptions::default()
                };
                let b = o.validate().unwrap();
                (
                    b.columnwise_group(1000, b.spill_bytes, &o),
                    b.columnwise(1000, true),
                )
            };
            let (at_default, _) = room(256 * MIB);
            assert!(
                at_default.spill_bytes >= spill / 4 * 3 - 9 * 4 * MIB,
                "{at_default:?}"
            );
            for limit in [512 * MIB, 1 << 30, 2 << 30, 8 << 30] {
                let (group, hold) = room(limit);
                // Within a tenth of the default limit's room (whose hold may be below the
                // cap: 552 against 524 MiB of a 640 MiB room), the same at every larger limit.
                assert!(
                    group.spill_bytes * 10 >= at_default.spill_bytes * 9,
                    "{limit}: {group:?} against {at_default:?}"
                );
                assert_eq!(group.spill_bytes, room(512 * MIB).0.spill_bytes, "{limit}");
                assert_eq!(hold, Some(spill / 16), "{limit}");
            }
        }
    }

    #[test]
    fn max_spill_zero_turns_spilling_off_and_bounds_the_row_group() {
        let off = ConvertOptions {
            max_spill: Some(0),
            ..ConvertOptions::default()
        };
        assert_eq!(off.validate().unwrap().spill_bytes, 0);
        let small = ConvertOptions {
            max_spill: Some(30 * MIB),
            ..ConvertOptions::default()
        };
        assert_eq!(small.validate().unwrap().spilled_row_group_bytes, 10 * MIB);
        let too_large = ConvertOptions {
            max_spill: Some(30 * MIB),
            row_group_bytes: Some(20 * MIB),
            ..ConvertOptions::default()
        };
        let err = too_large.validate().unwrap_err().to_string();
        assert!(
            err.contains("--row-group-bytes") && err.contains("--max-spill"),
            "{err}"
        );
    }

    #[test]
    fn tiny_ranges_are_refused() {
        assert_eq!(check_range_bytes(MIN_RANGE_BYTES), Ok(MIN_RANGE_BYTES));
        let err = check_range_bytes(4096).err();
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("4096") && e.contains("64 KiB")),
            "{err:?}"
        );
        let o = ConvertOptions {
            range_bytes: Some(4096),
            ..ConvertOptions::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--range-bytes"));
    }
}
