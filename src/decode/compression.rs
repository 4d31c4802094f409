//! Input compression: detection from magic bytes (the name is only a hint) and streaming,
//! multi-member decoders from async-compression.

use tokio::io::{AsyncBufRead, AsyncRead};

use crate::config::InputCompression;
use crate::error::{Error, Result};

/// A decompressor chosen for an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Not compressed.
    None,
    /// gzip, decoded as multi-member (concatenated members are one stream).
    Gzip,
    /// Zstandard (concatenated frames are one stream).
    Zstd,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
}

impl Codec {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
        }
    }
}

/// Bytes needed to recognise every magic number below (bzip2: `BZh`, level, 6-byte block or
/// end-of-stream magic).
pub const MAGIC_LEN: usize = 10;

/// The 48-bit magic after bzip2's `BZh<level>` header: a block (pi) or the end of stream
/// (sqrt(pi)), from the bzip2 format specification.
const BZIP2_BLOCK_MAGIC: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
const BZIP2_EOS_MAGIC: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];

/// The codec whose magic bytes start `prefix`, if any.
pub fn sniff(prefix: &[u8]) -> Option<Codec> {
    if prefix.starts_with(&[0x1f, 0x8b]) {
        Some(Codec::Gzip)
    } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Codec::Zstd)
    } else if is_bzip2(prefix) {
        Some(Codec::Bzip2)
    } else if prefix.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Codec::Xz)
    } else {
        None
    }
}

/// The codec a file name or key suggests (`.gz`, `.zst`, `.bz2`, `.xz`).
pub fn from_name(name: &str) -> Option<Codec> {
    let lower = name.to_ascii_lowercase();
    [
        (".gz", Codec::Gzip),
        (".gzip", Codec::Gzip),
        (".zst", Codec::Zstd),
        (".zstd", Codec::Zstd),
        (".bz2", Codec::Bzip2),
        (".xz", Codec::Xz),
    ]
    .into_iter()
    .find(|(ext, _)| lower.ends_with(ext))
    .map(|(_, c)| c)
}

/// Choose the codec: an explicit choice wins; otherwise the magic bytes decide. A name that says
/// compressed while the bytes do not is an error (the object is not what its name claims).
pub fn choose(
    choice: InputCompression,
    prefix: &[u8],
    name: &str,
    content_encoding: Option<&str>,
    location: &str,
) -> Result<Codec> {
    let explicit = match choice {
        InputCompression::Auto => None,
        InputCompression::None => Some(Codec::None),
        InputCompression::Gzip => Some(Codec::Gzip),
        InputCompression::Zstd => Some(Codec::Zstd),
        InputCompression::Bzip2 => Some(Codec::Bzip2),
        InputCompression::Xz => Some(Codec::Xz),
    };
    if let Some(c) = explicit {
        return Ok(c);
    }
    if let Some(c) = sniff(prefix) {
        return Ok(c);
    }
    let hinted = from_name(name).or(match content_encoding {
        Some("gzip") | Some("x-gzip") => Some(Codec::Gzip),
        Some("zstd") => Some(Codec::Zstd),
        _ => None,
    });
    match hinted {
        Some(c) if !prefix.is_empty() => Err(Error::data(
            location,
            None,
            format!(
                "the name or Content-Encoding says {} but the data does not start with its magic bytes (use --input-compression none to read it as plain text)",
                c.name()
            ),
        )),
        _ => Ok(Codec::None),
    }
}

/// `BZh`, a level digit, then a block or end-of-stream magic. The first four bytes alone are
/// printable text (a CSV may well start with `BZh1,`), so the 48-bit magic after them decides.
fn is_bzip2(prefix: &[u8]) -> bool {
    match prefix {
        [b'B', b'Z', b'h', b'1'..=b'9', rest @ ..] => {
            rest.starts_with(&BZIP2_BLOCK_MAGIC) || rest.starts_with(&BZIP2_EOS_MAGIC)
        }
        _ => false,
    }
}

/// Bytes of a prefix examined for signs of binary content.
const BINARY_CHECK_BYTES: usize = 64;

/// Whether the start of `prefix` holds what text rarely does: a C0 control byte other than tab,
/// LF and CR (NUL included), or bytes that are not UTF-8.
fn looks_binary(prefix: &[u8]) -> bool {
    let head = &prefix[..prefix.len().min(BINARY_CHECK_BYTES)];
    let control = head
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
    // An incomplete character cut at the end of the prefix is not evidence (error_len None).
    let not_utf8 = std::str::from_utf8(head).is_err_and(|e| e.error_len().is_some());
    control || not_utf8
}

/// What a prefix looks like if it is a well-known binary format rather than text.
///
/// Short magic numbers made of printable characters (`PAR1`, `GIF8`, `ORC`) are also the start
/// of ordinary text (`ORCHID,12`, a header `PAR1,PAR2`), so for them the prefix must also look
/// binary: real files of those formats continue with binary bytes (a Thrift page header, GIF
/// dimensions, ORC's compressed streams or protobuf footer) within the first bytes. `%PDF-`
/// stays enough on its own: a PDF may be all text, and no CSV starts that way.
pub fn binary_format(prefix: &[u8]) -> Option<&'static str> {
    // (magic, what, printable magic that needs binary content after it)
    const FORMATS: [(&[u8], &str, bool); 7] = [
        (b"PAR1", "a Parquet file", true),
        (b"\x89PNG\r\n\x1a\n", "a PNG image", false),
        (b"PK\x03\x04", "a ZIP archive (xlsx/docx/zip)", false),
        (b"%PDF-", "a PDF document", false),
        (b"\xff\xd8\xff", "a JPEG image", false),
        (b"GIF8", "a GIF image", true),
        (b"ORC", "an ORC file", true),
    ];
    const TEXT_ENCODINGS: [(&[u8], &str); 4] = [
        (b"\xff\xfe\x00\x00", "UTF-32 text (re-encode it as UTF-8)"),
        (b"\x00\x00\xfe\xff", "UTF-32 text (re-encode it as UTF-8)"),
        (b"\xff\xfe", "UTF-16 text (re-encode it as UTF-8)"),
        (b"\xfe\xff", "UTF-16 text (re-encode it as UTF-8)"),
    ];
    let known = FORMATS
        .iter()
        .find(|(magic, _, printable)| {
            prefix.starts_with(magic) && (!printable || looks_binary(prefix))
        })
        .map(|(_, what, _)| *what)
        .or_else(|| {
            TEXT_ENCODINGS
                .iter()
                .find(|(magic, _)| prefix.starts_with(magic))
                .map(|(_, what)| *what)
        });
    if known.is_some() {
        return known;
    }
    // A NUL byte in the header line: binary data, or UTF-16 without a BOM. (NUL bytes inside
    // later fields are data and are kept.)
    let first_line = &prefix[..memchr::memchr2(b'\n', b'\r', prefix).unwrap_or(prefix.len())];
    memchr::memchr(0, first_line).map(|_| "binary data (a NUL byte in the first line)")
}

/// Wrap `reader` in the streaming decoder for `codec`.
pub fn decoder<R>(codec: Codec, reader: R) -> Box<dyn AsyncRead + Unpin + Send>
where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    use async_compression::tokio::bufread::{BzDecoder, GzipDecoder, XzDecoder, ZstdDecoder};
    match codec {
        Codec::None => Box::new(reader),
        Codec::Gzip => {
            let mut d = GzipDecoder::new(reader);
            d.multiple_members(true);
            Box::new(d)
        }
        Codec::Zstd => {
            let mut d = ZstdDecoder::new(reader);
            d.multiple_members(true);
            Box::new(d)
        }
        Codec::Bzip2 => {
            let mut d = BzDecoder::new(reader);
            d.multiple_members(true);
            Box::new(d)
        }
        Codec::Xz => {
            let mut d = XzDecoder::new(reader);
            d.multiple_members(true);
            Box::new(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_beats_name() {
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Some(Codec::Gzip));
        assert_eq!(sniff(b"BZh91AY&SY\x12\x34"), Some(Codec::Bzip2));
        assert_eq!(sniff(b"BZh9\x17\x72\x45\x38\x50\x90"), Some(Codec::Bzip2));
        assert_eq!(sniff(b"a,b,c\n"), None);
        let c = choose(
            InputCompression::Auto,
            &[0x28, 0xb5, 0x2f, 0xfd],
            "x.csv",
            None,
            "x",
        )
        .unwrap();
        assert_eq!(c, Codec::Zstd);
        let err = choose(
            InputCompression::Auto,
            b"a,b\n",
            "x.csv.gz",
            None,
            "x.csv.gz",
        )
        .unwrap_err();
        assert!(err.to_string().contains("says gzip"), "{err}");
        let c = choose(InputCompression::None, &[0x1f, 0x8b], "x.gz", None, "x").unwrap();
        assert_eq!(c, Codec::None);
        assert_eq!(from_name("A.CSV.ZST"), Some(Codec::Zstd));
    }

    #[test]
    fn binary_formats_are_recognised() {
        assert_eq!(binary_format(b"PAR1\x15\x04"), Some("a Parquet file"));
        assert_eq!(binary_format(b"ORC\x0a\x05\x1a"), Some("an ORC file"));
        assert_eq!(
            binary_format(b"GIF89a\x01\x00\x01\x00"),
            Some("a GIF image")
        );
        assert_eq!(binary_format(b"id,name\n"), None);
        assert_eq!(
            binary_format(b"\xff\xfei\x00d\x00"),
            Some("UTF-16 text (re-encode it as UTF-8)")
        );
        assert_eq!(
            binary_format(b"i\x00d\x00,\x00"),
            Some("binary data (a NUL byte in the first line)")
        );
        assert_eq!(
            binary_format(&[0u8; 64]),
            Some("binary data (a NUL byte in the first line)")
        );
        // NUL bytes after the header line are data.
        assert_eq!(binary_format(b"id,name\n1,a\x00b\n"), None);
    }

    /// Found by tests/compat/differential.py: text that starts like a magic number made of
    /// printable characters was refused (or decompressed) instead of read as CSV.
    #[test]
    fn text_starting_like_a_printable_magic_is_text() {
        for text in [
            &b"ORCHID,12\nROSE,3\n"[..],
            b"PAR1,PAR2\n1,2\n",
            b"GIF8,x\n",
            b"ORC",
            b"PAR1\xc3\xa9,\xe4\xb8",
        ] {
            assert_eq!(binary_format(text), None, "{text:?}");
        }
        for text in [&b"BZh9,BZh1\n"[..], b"BZh91AY&S", b"BZh1"] {
            assert_eq!(sniff(text), None, "{text:?}");
        }
    }
}
