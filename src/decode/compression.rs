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

/// Bytes needed to recognise every magic number below.
pub const MAGIC_LEN: usize = 8;

/// The codec whose magic bytes start `prefix`, if any.
pub fn sniff(prefix: &[u8]) -> Option<Codec> {
    if prefix.starts_with(&[0x1f, 0x8b]) {
        Some(Codec::Gzip)
    } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Codec::Zstd)
    } else if prefix.starts_with(b"BZh") && prefix.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
    {
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

/// What a prefix looks like if it is a well-known binary format rather than text.
pub fn binary_format(prefix: &[u8]) -> Option<&'static str> {
    const FORMATS: [(&[u8], &str); 7] = [
        (b"PAR1", "a Parquet file"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"PK\x03\x04", "a ZIP archive (xlsx/docx/zip)"),
        (b"%PDF-", "a PDF document"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"ORC", "an ORC file"),
    ];
    const TEXT_ENCODINGS: [(&[u8], &str); 4] = [
        (b"\xff\xfe\x00\x00", "UTF-32 text (re-encode it as UTF-8)"),
        (b"\x00\x00\xfe\xff", "UTF-32 text (re-encode it as UTF-8)"),
        (b"\xff\xfe", "UTF-16 text (re-encode it as UTF-8)"),
        (b"\xfe\xff", "UTF-16 text (re-encode it as UTF-8)"),
    ];
    if let Some((_, what)) = FORMATS
        .iter()
        .chain(TEXT_ENCODINGS.iter())
        .find(|(magic, _)| prefix.starts_with(magic))
    {
        return Some(what);
    }
    // A NUL byte in the header line: binary data, or UTF-16 without a BOM. (NUL bytes inside
    // later fields are data and are kept.)
    let first_line = &prefix[..memchr::memchr(b'\n', prefix).unwrap_or(prefix.len())];
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
        assert_eq!(sniff(b"BZh9"), Some(Codec::Bzip2));
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
}
