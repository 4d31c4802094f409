//! The metadata of a dictionary chunk: its statistics, column index and offset index, from
//! its pages' figures, as the parquet crate's column writer computes them
//! (`GenericColumnWriter::update_column_offset_index`, `build_column_metadata` and
//! `truncate_statistics`).

use parquet::basic::{BoundaryOrder, Encoding, EncodingMask, PageType};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    ColumnChunkMetaData, ColumnIndexBuilder, LevelHistogram, OffsetIndexBuilder, PageEncodingStats,
};
use parquet::file::statistics::{Statistics, ValueStatistics};

use super::strings::{truncate_max, truncate_min};
use super::{DictChunk, Kind, PageStats, Range, Width};

/// The sizes of a chunk's pages as written.
pub(super) struct Sizes {
    pub(super) compressed: u64,
    pub(super) uncompressed: u64,
    pub(super) values: u64,
    pub(super) data_pages: usize,
    pub(super) data_page_offset: u64,
}

/// What the row group needs to append `chunk`'s pages: its metadata and page indexes, from
/// its pages' figures and `sizes`; `offsets` holds the pages' places.
pub(super) fn close(
    chunk: &DictChunk,
    sizes: Sizes,
    written: u64,
    mut offsets: OffsetIndexBuilder,
) -> Result<ColumnCloseResult, ParquetError> {
    let (index, statistics, definitions) = indexes(chunk, &mut offsets)?;
    let unencoded = match chunk.kind {
        Kind::Fixed(_) => None,
        Kind::Utf8 => Some(chunk.stats.iter().filter_map(|s| s.unencoded).sum()),
    };
    let encodings = [Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY];
    let metadata = ColumnChunkMetaData::builder(chunk.descr.clone())
        .set_compression(chunk.codec)
        .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
        .set_page_encoding_stats(vec![
            PageEncodingStats {
                page_type: PageType::DICTIONARY_PAGE,
                encoding: Encoding::PLAIN,
                count: 1,
            },
            PageEncodingStats {
                page_type: PageType::DATA_PAGE,
                encoding: Encoding::RLE_DICTIONARY,
                count: i32::try_from(sizes.data_pages).unwrap_or(i32::MAX),
            },
        ])
        .set_total_compressed_size(sizes.compressed as i64)
        .set_total_uncompressed_size(sizes.uncompressed as i64)
        .set_num_values(sizes.values as i64)
        .set_data_page_offset(sizes.data_page_offset as i64)
        .set_dictionary_page_offset(Some(0))
        .set_statistics(statistics)
        .set_unencoded_byte_array_data_bytes(unencoded)
        .set_repetition_level_histogram(None)
        .set_definition_level_histogram(definitions)
        .build()?;
    Ok(ColumnCloseResult {
        bytes_written: written,
        rows_written: chunk.stats.iter().map(|s| s.rows as u64).sum(),
        metadata,
        bloom_filter: None,
        column_index: Some(index.build()?),
        offset_index: Some(offsets.build()),
    })
}

impl Range {
    /// Whether a page of this range after one of `last` breaks an ascending order (its
    /// minimum or maximum below the last's) and a descending one (either above).
    fn breaks(&self, last: &Range) -> (bool, bool) {
        match (self, last) {
            (Range::Fixed(lo, hi), Range::Fixed(last_lo, last_hi)) => {
                (last_lo > lo || last_hi > hi, lo > last_lo || hi > last_hi)
            }
            (Range::Bytes(lo, hi), Range::Bytes(last_lo, last_hi)) => {
                (last_lo > lo || last_hi > hi, lo > last_lo || hi > last_hi)
            }
            _ => (true, true),
        }
    }

    /// The range of both.
    fn union(self, other: &Range) -> Range {
        match (self, other) {
            (Range::Fixed(lo, hi), Range::Fixed(a, b)) => Range::Fixed(lo.min(*a), hi.max(*b)),
            (Range::Bytes(lo, hi), Range::Bytes(a, b)) => Range::Bytes(
                if a < &lo { a.clone() } else { lo },
                if b > &hi { b.clone() } else { hi },
            ),
            (range, _) => range,
        }
    }
}

/// The column index, the chunk's statistics and definition-level histogram, from the
/// pages' figures; adds the pages' row counts and string bytes to `offsets`.
fn indexes(
    chunk: &DictChunk,
    offsets: &mut OffsetIndexBuilder,
) -> Result<(ColumnIndexBuilder, Statistics, Option<LevelHistogram>), ParquetError> {
    let descr = &chunk.descr;
    let mut index = ColumnIndexBuilder::new(descr.physical_type());
    let nan = |n: usize| (chunk.kind == Kind::Fixed(Width::F64)).then_some(n as i64);
    let (mut ascending, mut descending) = (true, true);
    let mut last: Option<&Range> = None;
    let mut whole: Option<Range> = None;
    let mut definitions = LevelHistogram::try_new(descr.max_def_level());
    for page in &chunk.stats {
        let page: &PageStats = page;
        match &page.range {
            None => index.append(true, vec![], vec![], page.nulls as i64, nan(0)),
            Some(range) => {
                if let Some(last) = last {
                    let (up, down) = range.breaks(last);
                    ascending &= !up;
                    descending &= !down;
                }
                last = Some(range);
                whole = Some(match whole {
                    None => range.clone(),
                    Some(whole) => whole.union(range),
                });
                let (min, max) = match range {
                    Range::Fixed(lo, hi) => {
                        let Kind::Fixed(width) = chunk.kind else {
                            return Err(ParquetError::General("a fixed range of strings".into()));
                        };
                        (
                            width.le_bytes(width.bits(*lo)),
                            width.le_bytes(width.bits(*hi)),
                        )
                    }
                    Range::Bytes(lo, hi) => (
                        truncate_min(lo, chunk.index_truncation).0,
                        truncate_max(hi, chunk.index_truncation).0,
                    ),
                };
                index.append(false, min, max, page.nulls as i64, nan(0));
            }
        }
        let page_definitions = definitions.as_ref().map(|_| {
            LevelHistogram::from(vec![page.nulls as i64, (page.rows - page.nulls) as i64])
        });
        if let (Some(all), Some(one)) = (definitions.as_mut(), page_definitions.as_ref()) {
            all.add(one);
        }
        index.append_histograms(&None, &page_definitions);
        offsets.append_row_count(page.rows as i64);
        offsets.append_unencoded_byte_array_data_bytes(page.unencoded);
    }
    index.set_boundary_order(match (ascending, descending) {
        (true, _) => BoundaryOrder::ASCENDING,
        (false, true) => BoundaryOrder::DESCENDING,
        (false, false) => BoundaryOrder::UNORDERED,
    });
    let nulls = Some(chunk.stats.iter().map(|s| s.nulls as u64).sum::<u64>());
    Ok((index, statistics(chunk, whole, nulls), definitions))
}

/// The chunk's statistics over the `whole` range of its values.
fn statistics(chunk: &DictChunk, whole: Option<Range>, nulls: Option<u64>) -> Statistics {
    let signed = chunk.descr.sort_order().is_signed();
    let (lo, hi) = match &whole {
        Some(Range::Fixed(lo, hi)) => (Some(*lo), Some(*hi)),
        _ => (None, None),
    };
    let width = match chunk.kind {
        Kind::Fixed(width) => width,
        Kind::Utf8 => {
            let (min, max) = match whole {
                Some(Range::Bytes(lo, hi)) => {
                    let (min, min_cut) = truncate_min(&lo, chunk.statistics_truncation);
                    let (max, max_cut) = truncate_max(&hi, chunk.statistics_truncation);
                    (Some((min, min_cut)), Some((max, max_cut)))
                }
                _ => (None, None),
            };
            let exact = |v: &Option<(Vec<u8>, bool)>| v.as_ref().is_some_and(|(_, cut)| !cut);
            let (min_exact, max_exact) = (exact(&min), exact(&max));
            return ValueStatistics::<ByteArray>::new(
                min.map(|(v, _)| ByteArray::from(v)),
                max.map(|(v, _)| ByteArray::from(v)),
                None,
                nulls,
                signed,
            )
            .with_min_is_exact(min_exact)
            .with_max_is_exact(max_exact)
            .into();
        }
    };
    let (min, max) = (lo.map(|k| width.bits(k)), hi.map(|k| width.bits(k)));
    match width {
        Width::I32 => ValueStatistics::<i32>::new(
            min.map(|b| b as u32 as i32),
            max.map(|b| b as u32 as i32),
            None,
            nulls,
            false,
        )
        .with_backwards_compatible_min_max(signed)
        .into(),
        Width::I64 => ValueStatistics::<i64>::new(
            min.map(|b| b as i64),
            max.map(|b| b as i64),
            None,
            nulls,
            false,
        )
        .with_backwards_compatible_min_max(signed)
        .into(),
        Width::F64 => ValueStatistics::<f64>::new(
            min.map(f64::from_bits),
            max.map(f64::from_bits),
            None,
            nulls,
            false,
        )
        .with_nan_count(whole.map(|_| 0))
        .with_backwards_compatible_min_max(signed)
        .into(),
    }
}
