//! The metadata of a dictionary chunk: its statistics, column index and offset index, from
//! its pages' figures, as the parquet crate's column writer computes them
//! (`GenericColumnWriter::update_column_offset_index` and `build_column_metadata`).

use parquet::basic::BoundaryOrder;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnIndexBuilder, LevelHistogram, OffsetIndexBuilder};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::schema::types::ColumnDescPtr;

use super::{PageStats, Width};

/// The column index, the chunk's statistics and definition-level histogram, from the
/// pages' figures; adds the pages' row counts to `offsets`.
pub(super) fn indexes(
    descr: &ColumnDescPtr,
    width: Width,
    stats: &[PageStats],
    offsets: &mut OffsetIndexBuilder,
) -> Result<(ColumnIndexBuilder, Statistics, Option<LevelHistogram>), ParquetError> {
    let mut index = ColumnIndexBuilder::new(descr.physical_type());
    let nan = |n: usize| (width == Width::F64).then_some(n as i64);
    let (mut ascending, mut descending) = (true, true);
    let mut last: Option<(i64, i64)> = None;
    let mut chunk: Option<(i64, i64)> = None;
    let mut definitions = LevelHistogram::try_new(descr.max_def_level());
    for page in stats {
        match page.range {
            None => index.append(true, vec![], vec![], page.nulls as i64, nan(0)),
            Some((lo, hi)) => {
                if let Some((last_lo, last_hi)) = last {
                    ascending &= !(last_lo > lo || last_hi > hi);
                    descending &= !(lo > last_lo || hi > last_hi);
                }
                last = Some((lo, hi));
                chunk = Some(chunk.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
                index.append(
                    false,
                    width.le_bytes(width.bits(lo)),
                    width.le_bytes(width.bits(hi)),
                    page.nulls as i64,
                    nan(0),
                );
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
        offsets.append_unencoded_byte_array_data_bytes(None);
    }
    index.set_boundary_order(match (ascending, descending) {
        (true, _) => BoundaryOrder::ASCENDING,
        (false, true) => BoundaryOrder::DESCENDING,
        (false, false) => BoundaryOrder::UNORDERED,
    });
    let nulls = Some(stats.iter().map(|s| s.nulls as u64).sum::<u64>());
    let signed = descr.sort_order().is_signed();
    let (min, max) = match chunk {
        Some((lo, hi)) => (Some(width.bits(lo)), Some(width.bits(hi))),
        None => (None, None),
    };
    let statistics: Statistics = match width {
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
        .with_nan_count(chunk.map(|_| 0))
        .with_backwards_compatible_min_max(signed)
        .into(),
    };
    Ok((index, statistics, definitions))
}
