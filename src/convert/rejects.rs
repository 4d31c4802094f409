//! The rejects CSV: one row per rejected record with its line, byte offset, reason and the raw
//! record text.

use std::io::Write;

use crate::encode::PartWriter;
use crate::error::Result;

/// Writes rejected records as CSV: `line,byte,reason,record`.
pub(crate) struct RejectWriter {
    out: PartWriter,
    started: bool,
}

impl RejectWriter {
    pub(crate) fn new(out: PartWriter) -> Self {
        RejectWriter {
            out,
            started: false,
        }
    }

    pub(crate) fn write(&mut self, line: u64, byte: u64, reason: &str, raw: &[u8]) -> Result<()> {
        let mut row = Vec::with_capacity(raw.len() + reason.len() + 32);
        if !self.started {
            row.extend_from_slice(b"line,byte,reason,record\n");
            self.started = true;
        }
        write!(row, "{line},{byte},").ok();
        push_quoted(&mut row, reason.as_bytes());
        row.push(b',');
        push_quoted(&mut row, raw);
        row.push(b'\n');
        self.out
            .write_all(&row)
            .map_err(|source| crate::error::Error::Write {
                location: "rejects".into(),
                source,
            })
    }

    pub(crate) fn finish(self) -> std::io::Result<u64> {
        self.out.finish()
    }
}

fn push_quoted(out: &mut Vec<u8>, field: &[u8]) {
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    #[test]
    fn rows_are_quoted_csv() {
        let (tx, mut rx) = mpsc::channel(10);
        let mut w = RejectWriter::new(PartWriter::new(1 << 20, tx));
        w.write(3, 40, "bad \"x\"", b"a,\"b\"\nc").unwrap();
        w.finish().unwrap();
        let got = rx.try_recv().unwrap();
        assert_eq!(
            std::str::from_utf8(&got).unwrap(),
            "line,byte,reason,record\n3,40,\"bad \"\"x\"\"\",\"a,\"\"b\"\"\nc\"\n"
        );
    }
}
