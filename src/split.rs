//! Per-column work split between threads. Before the pipeline starts, the head's type inference,
//! its distinct-value counts and the encoding trial visit every column of every sampled record
//! on the thread that reads the head; on 1,000 columns that was ~120 ms of a serial start of
//! ~190 ms (512 MiB wide file, 2 cores). Columns are independent in all three, so each thread
//! takes a run of them; the results do not depend on the split.

use std::ops::Range;

/// Columns per thread below which the work stays on the calling thread (a thread costs ~50 us,
/// a column of a 1,000-record head ~50 us).
const MIN_COLUMNS_PER_THREAD: usize = 32;

/// How many runs of `columns` columns to make for `threads` threads.
fn runs(columns: usize, threads: usize) -> usize {
    threads.min(columns / MIN_COLUMNS_PER_THREAD).max(1)
}

/// Call `f(first, part)` on consecutive parts of `items` (`first`: the index of the part's first
/// item), on up to `threads` threads, the calling thread among them.
pub(crate) fn for_each_run<T: Send>(
    items: &mut [T],
    threads: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let runs = runs(items.len(), threads);
    if runs == 1 {
        f(0, items);
        return;
    }
    let per = items.len().div_ceil(runs);
    std::thread::scope(|scope| {
        let mut parts = items.chunks_mut(per).enumerate();
        let first = parts.next();
        for (i, part) in parts {
            let f = &f;
            scope.spawn(move || f(i * per, part));
        }
        if let Some((_, part)) = first {
            f(0, part);
        }
    });
}

/// `f` of consecutive ranges covering `0..columns`, on up to `threads` threads, in order.
pub(crate) fn map_runs<R: Send>(
    columns: usize,
    threads: usize,
    f: impl Fn(Range<usize>) -> R + Sync,
) -> Vec<R> {
    let runs = runs(columns, threads);
    if runs == 1 {
        return vec![f(0..columns)];
    }
    let per = columns.div_ceil(runs);
    let ranges: Vec<Range<usize>> = (0..columns)
        .step_by(per)
        .map(|start| start..(start + per).min(columns))
        .collect();
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = ranges[1..]
            .iter()
            .map(|r| {
                let r = r.clone();
                scope.spawn(move || f(r))
            })
            .collect();
        let mut out = vec![f(ranges[0].clone())];
        for handle in handles {
            match handle.join() {
                Ok(r) => out.push(r),
                // A panic in `f` is a bug: re-raise it on this thread, as `scope` would.
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_every_column_once_in_order() {
        for columns in [0, 1, 31, 64, 65, 1000] {
            for threads in [1, 2, 3, 8] {
                let mut seen = vec![0u32; columns];
                for_each_run(&mut seen, threads, |first, part| {
                    for (i, x) in part.iter_mut().enumerate() {
                        *x += 1 + (first + i) as u32;
                    }
                });
                let want: Vec<u32> = (1..=columns as u32).collect();
                assert_eq!(seen, want, "{columns} columns, {threads} threads");
                let ranges = map_runs(columns, threads, |r| r);
                let flat: Vec<usize> = ranges.into_iter().flatten().collect();
                assert_eq!(flat, (0..columns).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn narrow_schemas_stay_on_one_thread_wide_ones_split() {
        assert_eq!(runs(19, 2), 1);
        assert_eq!(runs(64, 2), 2);
        assert_eq!(runs(1000, 2), 2);
        assert_eq!(runs(1000, 1), 1);
        assert_eq!(map_runs(1000, 2, |r| r.len()), vec![500, 500]);
    }
}
