//! `PartWriter`: a `std::io::Write` that cuts the output into equal-sized parts and hands them to
//! the (async) sink through a bounded channel, blocking when the sink is behind.

use std::io::Write;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

/// Cuts written bytes into parts of exactly `part_bytes` (the last one may be shorter).
#[derive(Debug)]
pub struct PartWriter {
    buf: BytesMut,
    part_bytes: usize,
    tx: mpsc::Sender<Bytes>,
    written: u64,
}

impl PartWriter {
    /// Parts go to `tx`; the channel's capacity bounds the parts in flight.
    pub fn new(part_bytes: usize, tx: mpsc::Sender<Bytes>) -> Self {
        PartWriter {
            buf: BytesMut::with_capacity(part_bytes),
            part_bytes: part_bytes.max(1),
            tx,
            written: 0,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn send(&mut self, part: Bytes) -> std::io::Result<()> {
        self.tx.blocking_send(part).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the output sink stopped")
        })
    }

    /// Send what is left as the last part.
    pub fn finish(mut self) -> std::io::Result<u64> {
        if !self.buf.is_empty() {
            let last = self.buf.split().freeze();
            self.send(last)?;
        }
        Ok(self.written)
    }
}

impl Write for PartWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            let room = self.part_bytes - self.buf.len();
            let take = room.min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == self.part_bytes {
                let part = self.buf.split().freeze();
                self.buf.reserve(self.part_bytes);
                self.send(part)?;
            }
        }
        self.written += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_have_equal_sizes() {
        let (tx, mut rx) = mpsc::channel(100);
        let mut w = PartWriter::new(4, tx);
        w.write_all(b"abcdefghij").unwrap();
        w.write_all(b"k").unwrap();
        assert_eq!(w.finish().unwrap(), 11);
        let mut sizes = Vec::new();
        while let Ok(p) = rx.try_recv() {
            sizes.push(p.len());
        }
        assert_eq!(sizes, [4, 4, 3]);
    }

    #[test]
    fn a_closed_sink_is_an_error() {
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let mut w = PartWriter::new(2, tx);
        assert!(w.write_all(b"abc").is_err());
    }
}
