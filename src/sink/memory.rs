//! In-memory sink for tests and benches: the bytes appear in the target only on `complete`.

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};

use super::factory::{no_such_output, Output, SinkFactory};
use super::ByteSink;
use crate::error::{Error, Result};

/// Shared view of what a [`MemorySink`] published.
#[derive(Debug, Clone, Default)]
pub struct MemoryTarget(Arc<Mutex<Option<Bytes>>>);

impl MemoryTarget {
    /// The published bytes, if the sink completed.
    pub fn get(&self) -> Option<Bytes> {
        self.0.lock().ok().and_then(|g| g.clone())
    }
}

/// Collects parts in memory.
#[derive(Debug)]
pub struct MemorySink {
    location: String,
    buf: BytesMut,
    target: MemoryTarget,
    /// Sizes of the parts received, for tests of part sizing.
    pub part_sizes: Vec<usize>,
}

impl MemorySink {
    /// A sink named `location`, and the handle where its bytes will appear.
    pub fn new(location: impl Into<String>) -> (Self, MemoryTarget) {
        let target = MemoryTarget::default();
        (
            MemorySink {
                location: location.into(),
                buf: BytesMut::new(),
                target: target.clone(),
                part_sizes: Vec::new(),
            },
            target,
        )
    }
}

/// A [`SinkFactory`] of [`MemorySink`]s that keeps every sink's target, one per output opened.
#[derive(Debug, Clone, Default)]
pub struct MemorySinks {
    data_location: String,
    rejects_location: Option<String>,
    data: Vec<MemoryTarget>,
    rejects: Vec<MemoryTarget>,
}

impl MemorySinks {
    /// Data sinks named `location`; no rejects output.
    pub fn new(location: impl Into<String>) -> Self {
        MemorySinks {
            data_location: location.into(),
            ..MemorySinks::default()
        }
    }

    /// Also a rejects output, named `location`.
    pub fn with_rejects(mut self, location: impl Into<String>) -> Self {
        self.rejects_location = Some(location.into());
        self
    }

    /// What the last data sink published, if it completed.
    pub fn data(&self) -> Option<Bytes> {
        self.data.last().and_then(MemoryTarget::get)
    }

    /// What the rejects sink published, if it completed.
    pub fn rejects(&self) -> Option<Bytes> {
        self.rejects.last().and_then(MemoryTarget::get)
    }

    /// The target of every data sink opened, in order (one per attempt).
    pub fn data_targets(&self) -> &[MemoryTarget] {
        &self.data
    }
}

#[async_trait::async_trait]
impl SinkFactory for MemorySinks {
    async fn open(&mut self, output: Output) -> Result<Box<dyn ByteSink>> {
        let (location, targets) = match output {
            Output::Data => (Some(&self.data_location), &mut self.data),
            Output::Rejects => (self.rejects_location.as_ref(), &mut self.rejects),
        };
        let location = location.ok_or_else(|| no_such_output(output))?;
        let (sink, target) = MemorySink::new(location.clone());
        targets.push(target);
        Ok(Box::new(sink))
    }
}

#[async_trait::async_trait]
impl ByteSink for MemorySink {
    fn location(&self) -> &str {
        &self.location
    }

    async fn put_part(&mut self, part: Bytes) -> Result<()> {
        self.part_sizes.push(part.len());
        self.buf.extend_from_slice(&part);
        Ok(())
    }

    async fn complete(&mut self) -> Result<u64> {
        let len = self.buf.len() as u64;
        let mut slot = self
            .target
            .0
            .lock()
            .map_err(|_| Error::Internal("memory sink lock poisoned".into()))?;
        *slot = Some(std::mem::take(&mut self.buf).freeze());
        Ok(len)
    }

    async fn abort(&mut self) -> Result<()> {
        Ok(())
    }
}
