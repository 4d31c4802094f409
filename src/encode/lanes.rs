//! Column lanes: each column's writer lives in a lane with a FIFO of jobs, drained by one task
//! at a time on the worker pool. Columns of one batch no longer wait for each other (there is no
//! per-batch barrier): the longest column (a text body, compressed with zstd) keeps a worker
//! busy while the other columns, the next batches' decoding and chunking run beside it.
//!
//! Lanes never hold more work than the batches in flight: every job keeps a token of its batch,
//! and the batch counts as in flight until the last token is dropped (see
//! [`super::ParquetEncoder::write`]).

use std::any::Any;
use std::collections::VecDeque;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowColumnWriter};
use parquet::errors::ParquetError;

/// Keeps a batch in flight until dropped; the owner decides what dropping means.
pub type Token = Arc<dyn Any + Send + Sync>;

/// What a lane reports to the encoder.
pub(super) enum Event {
    /// Row group `row_group` of column `column` is closed.
    Closed {
        row_group: usize,
        column: usize,
        result: Result<Box<ArrowColumnChunk>, ParquetError>,
    },
    /// A write failed; the lane skips its later writes.
    Failed { column: usize, error: ParquetError },
}

pub(super) enum Job {
    /// Write part `part` (numbered across the file) of a batch.
    Write {
        part: u64,
        array: ArrayRef,
        _token: Token,
    },
    /// Close the open writer as row group `row_group` and continue with `next` (none after the
    /// last row group).
    Close {
        row_group: usize,
        next: Option<Box<ArrowColumnWriter>>,
    },
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    running: bool,
}

/// What a lane's writer holds after a part: its heap bytes, and the encoded bytes of its row
/// group so far (on the heap or spilled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Buffered {
    /// Bytes on the heap: page and dictionary buffers, and the pages unless they are spilled.
    pub memory: usize,
    /// Encoded bytes of the open column chunk (an estimate for its unfinished page).
    pub encoded: usize,
}

/// Buffered bytes of the lane's writer after each part it wrote, oldest first; the encoder
/// takes them in order (see [`Lane::buffered_after`]).
#[derive(Default)]
struct Sizes {
    after: VecDeque<(u64, Buffered)>,
    /// Set when the lane failed or panicked: it skips its later writes and may never report a
    /// part, so nobody waits for one.
    failed: bool,
}

pub(super) struct Lane {
    column: usize,
    field: FieldRef,
    queue: Mutex<Queue>,
    /// Only the lane's running task locks it.
    writer: Mutex<Option<Box<ArrowColumnWriter>>>,
    sizes: Mutex<Sizes>,
    reported: Condvar,
    events: Sender<Event>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a task panicked while holding it; the panic is reported as a
    // failure of the lane, and the data it guards stays consistent (plain values and queues).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Lane {
    pub(super) fn new(
        column: usize,
        field: FieldRef,
        writer: ArrowColumnWriter,
        events: Sender<Event>,
    ) -> Self {
        Lane {
            column,
            field,
            queue: Mutex::new(Queue::default()),
            writer: Mutex::new(Some(Box::new(writer))),
            sizes: Mutex::new(Sizes::default()),
            reported: Condvar::new(),
            events,
        }
    }

    /// The writer's buffered bytes right after it wrote `part`, waiting until it has; 0 if the
    /// lane failed (the failure is reported through the events). Sizes of earlier parts are
    /// dropped, so `part` must not decrease from call to call.
    pub(super) fn buffered_after(&self, part: u64) -> Buffered {
        let mut sizes = lock(&self.sizes);
        loop {
            while sizes.after.front().is_some_and(|&(p, _)| p < part) {
                sizes.after.pop_front();
            }
            match sizes.after.front() {
                Some(&(p, bytes)) if p == part => return bytes,
                _ if sizes.failed => return Buffered::default(),
                _ => {}
            }
            sizes = self.reported.wait(sizes).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn report(&self, part: u64, bytes: Buffered) {
        lock(&self.sizes).after.push_back((part, bytes));
        self.reported.notify_all();
    }

    fn fail(&self, error: ParquetError) {
        let first = !std::mem::replace(&mut lock(&self.sizes).failed, true);
        self.reported.notify_all();
        if first {
            self.send(Event::Failed {
                column: self.column,
                error,
            });
        }
    }

    /// Queue a job; starts a drain task on `pool` if none is running.
    pub(super) fn push(self: &Arc<Self>, job: Job, pool: &rayon::ThreadPool) {
        let start = {
            let mut q = lock(&self.queue);
            q.jobs.push_back(job);
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            let lane = Arc::clone(self);
            pool.spawn(move || lane.drain());
        }
    }

    /// Replace the open writer; only before the lane's first job.
    pub(super) fn replace_writer(&self, writer: ArrowColumnWriter) {
        *lock(&self.writer) = Some(Box::new(writer));
    }

    fn failed(&self) -> bool {
        lock(&self.sizes).failed
    }

    fn send(&self, event: Event) {
        // The encoder only stops listening once it has failed, and then nothing waits for this.
        let _ = self.events.send(event);
    }

    fn drain(&self) {
        loop {
            let job = {
                let mut q = lock(&self.queue);
                match q.jobs.pop_front() {
                    Some(job) => job,
                    None => {
                        q.running = false;
                        return;
                    }
                }
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(job)));
            if outcome.is_err() {
                self.fail(ParquetError::General("the column writer panicked".into()));
            }
        }
    }

    fn run(&self, job: Job) {
        let mut writer = lock(&self.writer);
        match job {
            Job::Write {
                part,
                array,
                _token,
            } => {
                if self.failed() {
                    return;
                }
                let written = match writer.as_mut() {
                    Some(w) => compute_leaves(&self.field, &array).and_then(|leaves| {
                        for leaf in &leaves {
                            w.write(leaf)?;
                        }
                        Ok(Buffered {
                            memory: w.memory_size(),
                            encoded: w.get_estimated_total_bytes(),
                        })
                    }),
                    None => Err(ParquetError::General(
                        "a write after the last row group was closed".into(),
                    )),
                };
                match written {
                    Ok(bytes) => self.report(part, bytes),
                    Err(error) => self.fail(error),
                }
                // The token drops here, after the write: the batch stays in flight until then.
            }
            Job::Close { row_group, next } => {
                let closed = std::mem::replace(&mut *writer, next);
                // The encoder only asks about parts of the open row group (it queued this
                // close before any later part), so the sizes of this one are not needed.
                lock(&self.sizes).after.clear();
                let result = if self.failed() {
                    Err(ParquetError::General("the column failed earlier".into()))
                } else {
                    match closed {
                        Some(w) => w.close().map(Box::new),
                        None => Err(ParquetError::General("a row group closed twice".into())),
                    }
                };
                self.send(Event::Closed {
                    row_group,
                    column: self.column,
                    result,
                });
            }
        }
    }
}
