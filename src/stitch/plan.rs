//! The plan of a stitched file, made one fragment at a time (see the module doc of
//! [`crate::stitch`]).

use std::ops::Range;
use std::sync::Arc;

use parquet::file::metadata::page_index::{PageIndexBuilder, PageIndexProvider};
use parquet::file::metadata::{FileMetaData, KeyValue, ParquetMetaDataBuilder};

use super::{
    indexes_and_metadata_at, invalid, log, put_shifted_indexes, shifted_group, Fragment, Stitch,
    SUMMED,
};
use crate::error::{Error, Result};

/// Plan the stitched file of `fragments` (at least one, all of one schema), in order. Its
/// key-value metadata is fragment 0's with the counts summed, then `overrides` set (what
/// describes the whole input rather than a fragment's range: source, size, options). Holds
/// every fragment's metadata at once: callers with many use a [`Stitcher`].
pub fn stitch(fragments: &[Fragment], overrides: &[(String, String)]) -> Result<Stitch> {
    let mut stitcher = Stitcher::new(super::data_bytes(fragments.iter().map(|f| f.end)));
    for f in fragments {
        stitcher.add(f)?;
    }
    stitcher.finish(overrides)
}

/// Plans a stitched file one fragment at a time (see the module doc for its memory).
pub struct Stitcher {
    /// The fragments' copied bytes, all together: where the page indexes start.
    data_bytes: u64,
    /// Copied bytes placed so far.
    at: u64,
    pieces: Vec<(usize, Range<u64>)>,
    /// Page indexes of the row groups placed so far, written from `data_bytes` on.
    indexes: Vec<u8>,
    log: log::FooterLog,
    first: Option<First>,
}

/// What the stitched file takes from fragment 0, and the counts summed so far.
struct First {
    location: String,
    file: FileMetaData,
    /// The [`SUMMED`] counts fragment 0 has, added up over the fragments so far (None once a
    /// fragment lacks one: fragment 0's value is kept).
    sums: Vec<(String, Option<u64>)>,
}

impl Stitcher {
    /// A plan for fragments whose copied bytes ([`copied_range`]) add up to `data_bytes`.
    pub fn new(data_bytes: u64) -> Self {
        Stitcher {
            data_bytes,
            at: 0,
            pieces: Vec::new(),
            indexes: Vec::new(),
            log: log::FooterLog::new(None, log::FOOTER_MEMORY_BYTES),
            first: None,
        }
    }

    /// Place the next fragment: its row groups follow the ones placed so far.
    pub fn add(&mut self, f: &Fragment) -> Result<()> {
        let i = self.pieces.len();
        match &mut self.first {
            None => {
                let sums = SUMMED
                    .iter()
                    .filter_map(|key| f.count(key).map(|n| (key.to_string(), Some(n))))
                    .collect();
                self.first = Some(First {
                    location: f.location.clone(),
                    file: f.metadata.file_metadata().clone(),
                    sums,
                });
            }
            Some(first) => {
                if f.metadata.file_metadata().schema_descr() != first.file.schema_descr() {
                    return Err(invalid(
                        &f.location,
                        format!("its schema differs from {}'s", first.location),
                    ));
                }
                for (key, sum) in &mut first.sums {
                    *sum = sum.and_then(|s| f.count(key).map(|n| s + n));
                }
            }
        }
        let copied = f.copied(i == 0);
        // Where the fragment's byte 0 would be in the output.
        let shift = self.at as i64 - copied.start as i64;
        let perr = |e| Error::Parquet {
            location: f.location.clone(),
            source: e,
        };
        for (g, rg) in f.metadata.row_groups().iter().enumerate() {
            let placed = shifted_group(rg, shift, self.log.groups())?;
            let mut page_index = PageIndexBuilder::new(1, rg.num_columns());
            put_shifted_indexes(&mut page_index, &f.metadata, g, 0, shift);
            let one = ParquetMetaDataBuilder::new(f.metadata.file_metadata().clone())
                .set_row_groups(vec![placed])
                .set_page_index(Some(
                    Arc::new(page_index.build()) as Arc<dyn PageIndexProvider>
                ))
                .build();
            let at = self.data_bytes + self.indexes.len() as u64;
            let (written, indexes) = indexes_and_metadata_at(&one, at, &f.location)?;
            self.indexes.extend_from_slice(&written[..indexes]);
            let group = log::only_row_group(&written[indexes..]).map_err(perr)?;
            self.log.push(group, rg.num_rows()).map_err(perr)?;
        }
        self.at += copied.end - copied.start;
        if self.at > self.data_bytes {
            return Err(invalid(
                &f.location,
                format!(
                    "the fragments' row groups take more than the {} bytes planned",
                    self.data_bytes
                ),
            ));
        }
        self.pieces.push((i, copied));
        Ok(())
    }

    /// The plan: its key-value metadata is fragment 0's with the counts summed, then
    /// `overrides` set (what describes the whole input rather than a fragment's range: source,
    /// size, options).
    pub fn finish(mut self, overrides: &[(String, String)]) -> Result<Stitch> {
        let Some(first) = self.first.take() else {
            return Err(Error::Internal("stitching no fragments".into()));
        };
        if self.at != self.data_bytes {
            return Err(invalid(
                &first.location,
                format!(
                    "the fragments' row groups take {} bytes, not the {} planned",
                    self.at, self.data_bytes
                ),
            ));
        }
        let fm = &first.file;
        let mut key_values: Vec<KeyValue> = fm
            .key_value_metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(
                |kv| match first.sums.iter().find(|(key, _)| *key == kv.key) {
                    Some((key, Some(total))) => KeyValue::new(key.clone(), total.to_string()),
                    _ => kv,
                },
            )
            .collect();
        for (key, value) in overrides {
            key_values.retain(|kv| &kv.key != key);
            key_values.push(KeyValue::new(key.clone(), value.clone()));
        }
        let file = FileMetaData::new(
            fm.version(),
            0,
            fm.created_by().map(str::to_string),
            (!key_values.is_empty()).then_some(key_values),
            fm.schema_descr_ptr(),
            fm.column_orders().cloned(),
        );
        let empty = ParquetMetaDataBuilder::new(file).build();
        let at = self.data_bytes + self.indexes.len() as u64;
        let (written, start) = indexes_and_metadata_at(&empty, at, &first.location)?;
        let mut footer = std::mem::take(&mut self.indexes);
        footer.extend_from_slice(&written[..start]);
        self.log
            .write_footer(&written[start..], &mut footer)
            .map_err(|e| Error::Parquet {
                location: first.location.clone(),
                source: e,
            })?;
        Ok(Stitch {
            size: self.data_bytes + footer.len() as u64,
            pieces: self.pieces,
            footer,
            rows: self.log.rows(),
            row_groups: self.log.groups(),
        })
    }
}
