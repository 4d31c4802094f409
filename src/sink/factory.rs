//! Opening a conversion's outputs: the Parquet data (opened again for every restart of
//! `--on-error widen`) and, with `--on-error reject`, the rejected records.
//!
//! A conversion asks its [`SinkFactory`] for each sink when it needs it and aborts or completes
//! every sink it opened, so one entry point ([`crate::Converter::run`]) serves every policy.

use super::ByteSink;
use crate::error::{Error, Result};

/// Which output of a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The Parquet data.
    Data,
    /// The rejected records, as CSV (`--on-error reject`).
    Rejects,
}

/// Opens the sinks of a conversion.
#[async_trait::async_trait]
pub trait SinkFactory: Send {
    /// A new sink for `output`. [`Output::Data`] is opened once per attempt; an attempt that
    /// fails aborts its sinks before the next one is opened.
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>>;

    /// Whether [`Output::Data`] can be opened more than once: a conversion that may restart
    /// (`--on-error widen`) refuses a factory that cannot, rather than half-doing it.
    fn reopens(&self) -> bool {
        true
    }
}

/// The error for an output a factory does not have.
pub(crate) fn no_such_output(output: Output) -> Error {
    match output {
        Output::Rejects => Error::config("--rejects", "--on-error reject needs a rejects output"),
        Output::Data => Error::config(
            "--on-error",
            "widen restarts the conversion: it needs an output that can be opened again",
        ),
    }
}

/// Sinks made up front, each opened once: a data sink and, optionally, a rejects sink. It does
/// not reopen, so `--on-error widen` is refused with it.
pub struct OneShot {
    data: Option<Box<dyn ByteSink>>,
    rejects: Option<Box<dyn ByteSink>>,
}

impl OneShot {
    /// Write the data to `sink`.
    pub fn new(sink: Box<dyn ByteSink>) -> Self {
        OneShot {
            data: Some(sink),
            rejects: None,
        }
    }

    /// Write rejected records to `rejects` (or nowhere, with `None`).
    pub fn with_rejects(mut self, rejects: Option<Box<dyn ByteSink>>) -> Self {
        self.rejects = rejects;
        self
    }
}

#[async_trait::async_trait]
impl SinkFactory for OneShot {
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
        let slot = match output {
            Output::Data => &mut self.data,
            Output::Rejects => &mut self.rejects,
        };
        slot.take().ok_or_else(|| no_such_output(output))
    }

    fn reopens(&self) -> bool {
        false
    }
}
