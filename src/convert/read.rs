//! The reading stage: source stream -> (peeked magic) -> decompressor -> fixed-size blocks ->
//! (transcoded to UTF-8 unless the input is UTF-8) -> bounded channel.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio_util::io::StreamReader;
use tokio_util::sync::CancellationToken;

use super::report::Progress;
use crate::budget::MemoryBudget;
use crate::config::{ConvertOptions, Encoding};
use crate::decode::chunker::RecordTooLong;
use crate::decode::compression::{self, Codec, MAGIC_LEN};
use crate::decode::encoding::transcode;
use crate::error::{Error, Result};
use crate::source::{ByteSource, ByteStream, SourceInfo};

/// Blocks from the reading stage, with cancellation: what the CPU side reads.
pub(crate) struct Blocks {
    rx: mpsc::Receiver<Result<Bytes>>,
    cancel: CancellationToken,
}

impl Blocks {
    pub(crate) fn new(rx: mpsc::Receiver<Result<Bytes>>, cancel: CancellationToken) -> Self {
        Blocks { rx, cancel }
    }

    /// The next block (blocking the calling thread), `None` at the end of the input.
    pub(crate) fn next(&mut self) -> Result<Option<Bytes>> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled("conversion cancelled".into()));
        }
        match self.rx.blocking_recv() {
            Some(Ok(b)) => Ok(Some(b)),
            Some(Err(e)) => Err(e),
            None if self.cancel.is_cancelled() => {
                Err(Error::Cancelled("conversion cancelled".into()))
            }
            None => Ok(None),
        }
    }
}

/// The reading stage, started: the input's codec, its blocks, and the task that reads them
/// (abort it when the conversion ends early).
pub(crate) struct Reading {
    pub codec: Codec,
    pub blocks: Blocks,
    pub task: tokio::task::JoinHandle<()>,
}

/// Open `source`, choose its decompressor from the first bytes, and start the task that reads
/// it into blocks (at most the read-ahead budget of them waiting).
pub(crate) async fn start_reading(
    source: &dyn ByteSource,
    info: &SourceInfo,
    options: &ConvertOptions,
    budget: &MemoryBudget,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) -> Result<Reading> {
    let stream = source.open(0, &budget.read_ahead()).await?;
    let (prefix, stream) = peek(stream, &info.location).await?;
    let codec = compression::choose(
        options.input_compression,
        &prefix,
        &info.location,
        info.content_encoding.as_deref(),
        &info.location,
    )?;
    let capacity = (budget.read_ahead_bytes / budget.block_bytes).max(1);
    let (tx, rx) = mpsc::channel(capacity);
    let task = tokio::spawn(read_blocks(
        stream,
        codec,
        options.encoding,
        info.location.clone(),
        budget.read_block_bytes(options.encoding),
        tx,
        progress,
        cancel.clone(),
    ));
    Ok(Reading {
        codec,
        blocks: Blocks::new(rx, cancel),
        task,
    })
}

/// A record longer than the budget allows: the error names where it starts and how to raise
/// the limit.
pub(crate) fn too_long(location: &str, e: RecordTooLong) -> Error {
    Error::Limit {
        location: location.to_string(),
        message: format!(
            "line {}, byte {}: a record is longer than {} MiB, the most this memory limit allows (raise --memory-limit, or check the quoting: an unbalanced quote makes the rest of the file one field)",
            e.line + 1,
            e.byte,
            e.limit / (1024 * 1024)
        ),
    }
}

/// Pull pieces until at least `MAGIC_LEN` bytes are known (or the stream ends); returns them
/// and a stream that yields them again followed by the rest.
pub(crate) async fn peek(mut stream: ByteStream, location: &str) -> Result<(Vec<u8>, ByteStream)> {
    let mut seen: Vec<Bytes> = Vec::new();
    let mut prefix = Vec::new();
    while prefix.len() < MAGIC_LEN {
        match stream.next().await {
            Some(Ok(piece)) => {
                prefix.extend_from_slice(&piece[..piece.len().min(MAGIC_LEN - prefix.len())]);
                seen.push(piece);
            }
            Some(Err(e)) => return Err(Error::from_io(e, location)),
            None => break,
        }
    }
    let replay = futures::stream::iter(seen.into_iter().map(Ok));
    Ok((prefix, replay.chain(stream).boxed()))
}

/// Read, decompress and cut into blocks of `block_bytes` until the end or an error, transcoding
/// each block from `encoding` to UTF-8 (a block then grows by up to
/// [`Encoding::max_growth`]: pass [`crate::budget::MemoryBudget::read_block_bytes`]); errors are
/// sent down the channel so the pipeline stops on them.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn read_blocks(
    stream: ByteStream,
    codec: Codec,
    encoding: Encoding,
    location: String,
    block_bytes: usize,
    tx: mpsc::Sender<Result<Bytes>>,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) {
    let counter = Arc::clone(&progress);
    let counted = stream.inspect_ok(move |piece| {
        counter
            .bytes_in
            .fetch_add(piece.len() as u64, Ordering::Relaxed);
    });
    if codec == Codec::None {
        return pass_through(
            counted,
            encoding,
            location,
            block_bytes,
            tx,
            progress,
            cancel,
        )
        .await;
    }
    let reader = StreamReader::new(counted);
    let buffered = tokio::io::BufReader::with_capacity(64 * 1024, reader);
    let mut decoder = compression::decoder(codec, buffered);
    loop {
        let mut block = BytesMut::with_capacity(block_bytes);
        let mut failed = None;
        while block.len() < block_bytes {
            let read = tokio::select! {
                r = decoder.read_buf(&mut block) => r,
                () = cancel.cancelled() => return,
            };
            match read {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    failed = Some(classify(e, codec, &location, &progress));
                    break;
                }
            }
        }
        let at_end = block.len() < block_bytes || failed.is_some();
        if !block.is_empty() {
            progress
                .bytes_decoded
                .fetch_add(block.len() as u64, Ordering::Relaxed);
            if tx
                .send(Ok(transcode(encoding, block.freeze())))
                .await
                .is_err()
            {
                return;
            }
        }
        if let Some(err) = failed {
            let _ = tx.send(Err(err)).await;
            return;
        }
        if at_end {
            return;
        }
    }
}

/// [`read_blocks`] for uncompressed input: the source's pieces become blocks without a copy
/// (sliced when longer than a block; only pieces shorter than a block are gathered into one).
async fn pass_through(
    mut stream: impl futures::Stream<Item = std::io::Result<Bytes>> + Unpin,
    encoding: Encoding,
    location: String,
    block_bytes: usize,
    tx: mpsc::Sender<Result<Bytes>>,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) {
    let send = |block: Bytes| {
        progress
            .bytes_decoded
            .fetch_add(block.len() as u64, Ordering::Relaxed);
        tx.send(Ok(transcode(encoding, block)))
    };
    let mut pending = BytesMut::new();
    loop {
        let next = tokio::select! {
            n = stream.next() => n,
            () = cancel.cancelled() => return,
        };
        let mut piece = match next {
            Some(Ok(piece)) => piece,
            end => {
                if !pending.is_empty() && send(pending.split().freeze()).await.is_err() {
                    return;
                }
                if let Some(Err(e)) = end {
                    let _ = tx.send(Err(Error::from_io(e, &location))).await;
                }
                return;
            }
        };
        while !piece.is_empty() {
            let block = if pending.is_empty() && piece.len() >= block_bytes {
                piece.split_to(block_bytes)
            } else {
                pending.reserve(block_bytes - pending.len());
                let take = (block_bytes - pending.len()).min(piece.len());
                pending.extend_from_slice(&piece.split_to(take));
                if pending.len() < block_bytes {
                    break;
                }
                pending.split().freeze()
            };
            if send(block).await.is_err() {
                return;
            }
        }
    }
}

/// An error out of the decoder is either the source's (it carries our Error) or the
/// decompressor's (corrupt or truncated data).
fn classify(err: std::io::Error, codec: Codec, location: &str, progress: &Progress) -> Error {
    let carries_ours = err
        .get_ref()
        .is_some_and(|e| e.downcast_ref::<Error>().is_some());
    if carries_ours || codec == Codec::None {
        return Error::from_io(err, location);
    }
    Error::Decompress {
        location: location.to_string(),
        codec: codec.name(),
        offset: progress.bytes_in.load(Ordering::Relaxed),
        source: err,
    }
}
