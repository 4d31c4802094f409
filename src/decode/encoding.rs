//! Transcoding single-byte encodings (ISO-8859-1, Windows-1252) to UTF-8, one block at a time.
//!
//! Every input byte maps to exactly one character, so a block can be transcoded on its own: no
//! state crosses a block boundary and a record boundary never moves. ASCII bytes (everything
//! the tokenizer and the chunker look at: delimiters, quotes, line breaks) are unchanged.
//!
//! Windows-1252 follows the WHATWG Encoding Standard's `index-windows-1252` (what browsers and
//! `encoding_rs` use): the five bytes the code page leaves undefined (0x81, 0x8D, 0x8F, 0x90,
//! 0x9D) map to the C1 control of the same value, as in Latin-1, so no byte is ever an error. A
//! 32-entry table is smaller than a dependency.

use bytes::Bytes;

use crate::config::Encoding;

/// Windows-1252 bytes 0x80..=0x9F (WHATWG `index-windows-1252`; 0x81, 0x8D, 0x8F, 0x90 and 0x9D
/// are the C1 controls of the same value). 0xA0..=0xFF are Latin-1.
const WINDOWS_1252_80_9F: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

/// The character byte `b` stands for in `encoding` (a single-byte encoding).
#[inline]
fn decode_byte(encoding: Encoding, b: u8) -> char {
    match (encoding, b) {
        (Encoding::Windows1252, 0x80..=0x9F) => WINDOWS_1252_80_9F[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// `block` (in `encoding`) as UTF-8. UTF-8 and all-ASCII blocks are passed through without a
/// copy; otherwise the output is allocated at its exact size, at most
/// [`Encoding::max_growth`] times the input.
pub fn transcode(encoding: Encoding, block: Bytes) -> Bytes {
    if encoding == Encoding::Utf8 || block.is_ascii() {
        return block;
    }
    let size: usize = block
        .iter()
        .map(|&b| decode_byte(encoding, b).len_utf8())
        .sum();
    let mut out = Vec::with_capacity(size);
    let mut rest = &block[..];
    let mut buf = [0u8; 4];
    while !rest.is_empty() {
        let ascii = rest
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..ascii]);
        let Some((&b, tail)) = rest[ascii..].split_first() else {
            break;
        };
        out.extend_from_slice(decode_byte(encoding, b).encode_utf8(&mut buf).as_bytes());
        rest = tail;
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(encoding: Encoding, input: &[u8]) -> String {
        let out = transcode(encoding, Bytes::copy_from_slice(input));
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn latin1_maps_every_byte_to_its_code_point() {
        assert_eq!(t(Encoding::Latin1, b"caf\xe9,Z\xfcrich\n"), "café,Zürich\n");
        let all: Vec<u8> = (0..=255).collect();
        let want: String = (0..=255u8).map(char::from).collect();
        assert_eq!(t(Encoding::Latin1, &all), want);
        assert_eq!(want.len(), 128 + 2 * 128, "Latin-1 at most doubles");
    }

    #[test]
    fn windows_1252_has_its_own_0x80_to_0x9f() {
        assert_eq!(t(Encoding::Windows1252, b"\x80 5"), "€ 5");
        assert_eq!(
            t(Encoding::Windows1252, b"\x93quoted\x94 \x85 \x99 \x8a\x9f"),
            "\u{201C}quoted\u{201D} … ™ ŠŸ"
        );
        // Undefined in the code page: the C1 control of the same value (WHATWG), not an error.
        assert_eq!(
            t(Encoding::Windows1252, b"\x81\x8d\x8f\x90\x9d"),
            "\u{81}\u{8d}\u{8f}\u{90}\u{9d}"
        );
        // 0xA0..=0xFF as Latin-1.
        assert_eq!(
            t(Encoding::Windows1252, b"caf\xe9 \xa0\xff"),
            "café \u{a0}ÿ"
        );
        let all: Vec<u8> = (0..=255).collect();
        let out = transcode(Encoding::Windows1252, Bytes::copy_from_slice(&all));
        assert!(out.len() <= all.len() * Encoding::Windows1252.max_growth());
        assert_eq!(
            String::from_utf8(out.to_vec()).unwrap().chars().count(),
            256
        );
    }

    #[test]
    fn ascii_and_utf8_pass_through() {
        let ascii = Bytes::from_static(b"a,b\n1,2\n");
        assert_eq!(&transcode(Encoding::Latin1, ascii)[..], b"a,b\n1,2\n");
        // UTF-8 is never touched, even bytes that are not valid UTF-8.
        let raw = Bytes::from_static(b"caf\xc3\xa9\xff");
        assert_eq!(&transcode(Encoding::Utf8, raw)[..], b"caf\xc3\xa9\xff");
        assert!(transcode(Encoding::Windows1252, Bytes::new()).is_empty());
    }

    /// Blocks are independent: transcoding pieces and joining them gives the whole.
    #[test]
    fn block_by_block_equals_whole() {
        let input: Vec<u8> = (0..2000u32).map(|i| (i * 37 % 256) as u8).collect();
        for encoding in [Encoding::Latin1, Encoding::Windows1252] {
            let whole = transcode(encoding, Bytes::copy_from_slice(&input));
            for piece in [1, 2, 3, 7, 64, 1999] {
                let joined: Vec<u8> = input
                    .chunks(piece)
                    .flat_map(|c| transcode(encoding, Bytes::copy_from_slice(c)).to_vec())
                    .collect();
                assert_eq!(joined, whole.to_vec(), "{encoding:?} piece {piece}");
            }
        }
    }
}
