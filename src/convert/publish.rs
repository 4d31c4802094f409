//! The outputs of one attempt: the sinks opened for it, the pumps that hand them the parts the
//! pipeline makes, and the one exit: publish (the rejects first, then the data, cancellably)
//! or abort every sink, keeping the first error.

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::OnError;
use crate::error::{Error, Result};
use crate::sink::{ByteSink, Output, SinkFactory};

/// The sinks of one attempt.
pub(crate) struct Outputs {
    data: Box<dyn ByteSink>,
    rejects: Option<Box<dyn ByteSink>>,
}

/// The receiving ends of the part channels, drained into the sinks by [`Outputs::drive`].
pub(crate) struct Pumps {
    parts: mpsc::Receiver<Bytes>,
    rejects: Option<mpsc::Receiver<Bytes>>,
}

impl Outputs {
    /// Open the data sink and, with `--on-error reject`, the rejects sink.
    pub(crate) async fn open(factory: &mut dyn SinkFactory, on_error: OnError) -> Result<Self> {
        let data = factory.open(Output::Data).await?;
        let rejects = if on_error == OnError::Reject {
            match factory.open(Output::Rejects).await {
                Ok(r) => Some(r),
                Err(e) => return Err(abort_all(e, data, None).await),
            }
        } else {
            None
        };
        Ok(Outputs { data, rejects })
    }

    /// Where the data goes (for messages).
    pub(crate) fn data_location(&self) -> &str {
        self.data.location()
    }

    /// Metadata for the data object (object stores).
    pub(crate) fn set_metadata(&mut self, metadata: &[(String, String)]) {
        self.data.set_metadata(metadata);
    }

    /// The part channels: `parts_in_flight` parts of each output may wait for their sink.
    pub(crate) fn channels(
        &self,
        parts_in_flight: usize,
    ) -> ((mpsc::Sender<Bytes>, Option<mpsc::Sender<Bytes>>), Pumps) {
        let (part_tx, parts) = mpsc::channel::<Bytes>(parts_in_flight);
        let (rej_tx, rejects) = match self.rejects {
            Some(_) => {
                let (t, r) = mpsc::channel::<Bytes>(parts_in_flight);
                (Some(t), Some(r))
            }
            None => (None, None),
        };
        ((part_tx, rej_tx), Pumps { parts, rejects })
    }

    /// Hand every part to its sink until the channels close, while `work` (the pipeline on its
    /// blocking thread) runs; stops with [`Error::Cancelled`] when `cancel` fires. The sink's
    /// own error explains a pipeline that stopped because the sink went away, so it wins.
    pub(crate) async fn drive<T>(
        &mut self,
        mut pumps: Pumps,
        work: tokio::task::JoinHandle<Result<T>>,
        cancel: &CancellationToken,
    ) -> Result<T> {
        let data = &mut self.data;
        let sink_loop = async {
            while let Some(part) = pumps.parts.recv().await {
                data.put_part(part).await?;
            }
            Ok::<(), Error>(())
        };
        let rejects = &mut self.rejects;
        let rejects_loop = async {
            if let (Some(rx), Some(r)) = (pumps.rejects.as_mut(), rejects.as_mut()) {
                while let Some(part) = rx.recv().await {
                    r.put_part(part).await?;
                }
            }
            Ok::<(), Error>(())
        };
        let (sink_result, rejects_result, work_result) = tokio::select! {
            r = async { tokio::join!(sink_loop, rejects_loop, work) } => r,
            () = cancel.cancelled() => return Err(Error::Cancelled("interrupted".into())),
        };
        let work_result =
            work_result.map_err(|e| Error::Internal(format!("pipeline thread failed: {e}")));
        match (sink_result, rejects_result, work_result) {
            (Err(e), _, _) | (_, Err(e), _) => Err(e),
            (_, _, Err(e)) | (_, _, Ok(Err(e))) => Err(e),
            (Ok(()), Ok(()), Ok(Ok(t))) => Ok(t),
        }
    }

    /// Publish: the rejects first (completed when `rejected > 0`, else aborted and an earlier
    /// run's removed: if that fails, the data is not published either), then the data. Completing can take long
    /// (waiting for the last parts): it stays cancellable, and a cancelled or failed
    /// completion is followed by an abort. Returns the data's bytes and where the rejects went.
    pub(crate) async fn publish(
        mut self,
        rejected: u64,
        cancel: &CancellationToken,
    ) -> Result<(u64, Option<String>)> {
        let rejects_location = self.rejects.as_ref().map(|r| r.location().to_string());
        if let Some(mut r) = self.rejects.take() {
            let done = if rejected > 0 {
                r.complete().await.map(|_| ())
            } else {
                // Nothing rejected: no rejects object, not even an earlier run's.
                match r.abort().await {
                    Ok(()) => r.remove_existing().await,
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = done {
                return Err(abort_all(e, self.data, None).await);
            }
        }
        let completed = tokio::select! {
            r = self.data.complete() => r,
            () = cancel.cancelled() => Err(Error::Cancelled("interrupted while completing the output".into())),
        };
        match completed {
            Ok(n) => Ok((n, rejects_location.filter(|_| rejected > 0))),
            Err(e) => Err(abort_all(e, self.data, None).await),
        }
    }

    /// Abort every sink; returns `err`, with a failed abort attached to it.
    pub(crate) async fn abort(self, err: Error) -> Error {
        abort_all(err, self.data, self.rejects).await
    }
}

/// Abort both sinks; the original error wins, and a failed abort is attached to it (something
/// may be left behind, e.g. an open multipart upload).
async fn abort_all(
    mut err: Error,
    mut sink: Box<dyn ByteSink>,
    rejects: Option<Box<dyn ByteSink>>,
) -> Error {
    if let Err(e) = sink.abort().await {
        tracing::warn!(error = %err, cleanup = %e, "cleanup after a failed conversion also failed");
        err = err.with_cleanup_failure(e);
    }
    if let Some(mut r) = rejects {
        if let Err(e) = r.abort().await {
            tracing::warn!(error = %err, cleanup = %e, "cleanup after a failed conversion also failed");
            err = err.with_cleanup_failure(e);
        }
    }
    err
}
