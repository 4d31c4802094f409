//! Column lanes: each column's writer lives in a lane with a FIFO of jobs, drained by one task
//! at a time on the worker pool. Columns of one batch no longer wait for each other (there is no
//! per-batch barrier): the longest column (a text body, compressed with zstd) keeps a worker
//! busy while the other columns, the next batches' decoding and chunking run beside it.
//!
//! A dictionary column that `dictchunk` takes is written by our chunk, kept open for the whole
//! row group beside an idle writer of the crate's for the same chunk: when ours hands the chunk
//! back (its dictionary full, or a NaN), the rows it took are replayed from its pages to the
//! crate's writer, which goes on with the rest, and the column's later row groups start there.
//!
//! Lanes never hold more work than the batches in flight: every job keeps a token of its batch,
//! and the batch counts as in flight until the last token is dropped (see
//! [`super::ParquetEncoder::write`]).

use std::any::Any;
use std::collections::VecDeque;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::FieldRef;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use parquet::column::page_store::InMemoryPageStore;
use parquet::errors::ParquetError;
use parquet::file::writer::SerializedFileWriter;

use super::dictchunk::{self, DictChunk};
use super::encoded::Encoded;
use super::spill::SpillFactory;

/// Keeps a batch in flight until dropped; the owner decides what dropping means.
pub type Token = Arc<dyn Any + Send + Sync>;

/// What a lane reports to the encoder.
pub(super) enum Event {
    /// Row group `row_group` of column `column` is closed.
    Closed {
        row_group: usize,
        column: usize,
        result: Result<Box<Encoded>, ParquetError>,
        /// Our dictionary chunk handed the column back to the crate's writer part-way.
        handed_back: bool,
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
        next: Option<Box<Writer>>,
    },
}

/// The lanes' writers of row group `row_group`, made by `factory` under `file`'s properties:
/// ours for the dictionary columns `dictchunk` takes (unless one handed a row group back), its
/// pages in the row group's spill file when there is one, else the crate's alone.
pub(super) fn writers(
    file: &SerializedFileWriter<std::io::Sink>,
    factory: &ArrowRowGroupWriterFactory,
    schema: &SchemaRef,
    spill: Option<&SpillFactory>,
    handed_back: &[bool],
    row_group: usize,
) -> Result<Vec<Writer>, ParquetError> {
    let writers = factory.create_column_writers(row_group)?;
    let mut lanes = Vec::with_capacity(writers.len());
    for (i, writer) in writers.into_iter().enumerate() {
        let descr = file.schema_descr().column(i);
        let data_type = schema.field(i).data_type();
        let kind = dictchunk::Kind::of(data_type)
            .filter(|_| !handed_back.get(i).copied().unwrap_or(true))
            .filter(|_| dictchunk::takes(&descr, file.properties(), data_type));
        lanes.push(match kind {
            Some(kind) => {
                let store = match spill {
                    Some(spill) => spill.chunk_store()?,
                    None => Box::new(InMemoryPageStore::default()),
                };
                let chunk = DictChunk::new(descr, file.properties(), kind, store)?;
                Writer::Ours(Box::new(chunk), writer)
            }
            None => Writer::crate_writer(writer),
        });
    }
    Ok(lanes)
}

/// A lane's writer of one column chunk.
pub(super) enum Writer {
    /// The crate's; `handed_back` when ours handed it the chunk part-way.
    Crate {
        writer: ArrowColumnWriter,
        handed_back: bool,
    },
    /// Our dictionary chunk (see `dictchunk`), and the crate's writer of the same chunk, idle,
    /// to go on if ours hands the chunk back (its dictionary full, or a NaN).
    Ours(Box<DictChunk>, ArrowColumnWriter),
}

fn write_leaves(
    writer: &mut ArrowColumnWriter,
    field: &FieldRef,
    array: &ArrayRef,
) -> Result<(), ParquetError> {
    for leaf in &compute_leaves(field, array)? {
        writer.write(leaf)?;
    }
    Ok(())
}

impl Writer {
    pub(super) fn crate_writer(writer: ArrowColumnWriter) -> Self {
        Writer::Crate {
            writer,
            handed_back: false,
        }
    }

    /// Write `array` of `field`; ours hands the chunk to the crate's writer when it declines,
    /// the rows it took replayed from its pages.
    fn write(self, field: &FieldRef, array: &ArrayRef) -> Result<Self, ParquetError> {
        match self {
            Writer::Crate {
                mut writer,
                handed_back,
            } => {
                write_leaves(&mut writer, field, array)?;
                Ok(Writer::Crate {
                    writer,
                    handed_back,
                })
            }
            Writer::Ours(mut chunk, mut writer) => {
                if chunk.push(array.as_ref())? {
                    return Ok(Writer::Ours(chunk, writer));
                }
                let taken = chunk.declined_at().unwrap_or(0);
                chunk.replay(field.data_type(), &mut |a| {
                    write_leaves(&mut writer, field, a)
                })?;
                write_leaves(&mut writer, field, &array.slice(taken, array.len() - taken))?;
                Ok(Writer::Crate {
                    writer,
                    handed_back: true,
                })
            }
        }
    }

    fn buffered(&self) -> Buffered {
        match self {
            Writer::Crate { writer, .. } => Buffered {
                memory: writer.memory_size(),
                encoded: writer.get_estimated_total_bytes(),
            },
            Writer::Ours(chunk, writer) => Buffered {
                memory: chunk.memory_size() + writer.memory_size(),
                encoded: chunk.encoded_bytes(),
            },
        }
    }

    /// The closed chunk, and whether ours handed it back part-way.
    fn close(self, field: &FieldRef) -> (Result<Encoded, ParquetError>, bool) {
        match self {
            Writer::Crate {
                writer,
                handed_back,
            } => (writer.close().map(Encoded::Crate), handed_back),
            // A dictionary of no entry (nulls only): the crate's writer writes the chunk.
            Writer::Ours(chunk, mut writer) if chunk.is_empty() => {
                let replayed = chunk.replay(field.data_type(), &mut |a| {
                    write_leaves(&mut writer, field, a)
                });
                let closed = replayed.and_then(|()| writer.close().map(Encoded::Crate));
                (closed, false)
            }
            Writer::Ours(chunk, _) => {
                let closed = chunk.finish().and_then(|finished| {
                    finished
                        .map(|(chunk, close)| Encoded::Ours(chunk, close))
                        .ok_or_else(|| {
                            ParquetError::General("a dictionary chunk declined at its close".into())
                        })
                });
                (closed, false)
            }
        }
    }
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
    writer: Mutex<Option<Box<Writer>>>,
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
        writer: Writer,
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
    pub(super) fn replace_writer(&self, writer: Writer) {
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
                // Taken out while it writes: a failed write leaves none, and the lane has
                // failed then.
                let written = match writer.take() {
                    Some(w) => w.write(&self.field, &array).map(|w| {
                        let bytes = w.buffered();
                        *writer = Some(Box::new(w));
                        bytes
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
                let (result, handed_back) = if self.failed() {
                    let error = ParquetError::General("the column failed earlier".into());
                    (Err(error), false)
                } else {
                    match closed {
                        Some(w) => w.close(&self.field),
                        None => {
                            let error = ParquetError::General("a row group closed twice".into());
                            (Err(error), false)
                        }
                    }
                };
                self.send(Event::Closed {
                    row_group,
                    column: self.column,
                    result: result.map(Box::new),
                    handed_back,
                });
            }
        }
    }
}
