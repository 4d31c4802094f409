//! Object keys in S3 event notifications are form-URL-encoded (see "Object keys" in the
//! [`event`](super) module docs); [`decode_notification_key`] decodes them exactly once.

use std::fmt;

/// Why a notification key could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDecodeError {
    /// A `%` not followed by two hex digits, at this byte offset of the encoded key.
    BadPercent {
        /// Byte offset of the `%` in the encoded key.
        offset: usize,
    },
    /// The decoded bytes are not UTF-8.
    NotUtf8 {
        /// Offset of the first invalid byte in the decoded key.
        offset: usize,
    },
}

impl fmt::Display for KeyDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyDecodeError::BadPercent { offset } => {
                write!(f, "'%' at byte {offset} is not followed by two hex digits")
            }
            KeyDecodeError::NotUtf8 { offset } => write!(
                f,
                "the decoded key is not UTF-8 (invalid byte at decoded offset {offset})"
            ),
        }
    }
}

impl std::error::Error for KeyDecodeError {}

/// Decode a key from an S3 event notification (`application/x-www-form-urlencoded`): `+` is a
/// space, `%XX` is the byte 0xXX, and the bytes must form UTF-8. Decodes exactly once (`%252B`
/// is `%2B`); anything else passes through unchanged.
pub fn decode_notification_key(raw: &str) -> std::result::Result<String, KeyDecodeError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut offset = 0;
    while let Some(&byte) = bytes.get(offset) {
        match byte {
            b'+' => {
                out.push(b' ');
                offset += 1;
            }
            b'%' => {
                let high = bytes.get(offset + 1).copied().and_then(hex_value);
                let low = bytes.get(offset + 2).copied().and_then(hex_value);
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(KeyDecodeError::BadPercent { offset });
                };
                out.push(high << 4 | low);
                offset += 3;
            }
            other => {
                out.push(other);
                offset += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| KeyDecodeError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_decoding_table() {
        let ok = [
            ("plain/key.csv", "plain/key.csv"),
            ("a+b", "a b"),
            ("a%2Bb", "a+b"),
            ("a%2bb", "a+b"),
            ("%2F", "/"),
            ("%C3%A9t%C3%A9", "été"),
            ("%E6%97%A5%E6%9C%AC", "日本"),
            ("%F0%9F%A6%80", "🦀"),
            ("%252B", "%2B"),
            ("%20+%20", "   "),
            ("été", "été"),
            ("", ""),
            ("%00", "\0"),
        ];
        for (raw, want) in ok {
            assert_eq!(decode_notification_key(raw).as_deref(), Ok(want), "{raw}");
        }
        let bad = [
            ("%", KeyDecodeError::BadPercent { offset: 0 }),
            ("100%", KeyDecodeError::BadPercent { offset: 3 }),
            ("a%4", KeyDecodeError::BadPercent { offset: 1 }),
            ("a%zz", KeyDecodeError::BadPercent { offset: 1 }),
            ("%+1", KeyDecodeError::BadPercent { offset: 0 }),
            ("%é", KeyDecodeError::BadPercent { offset: 0 }),
            ("ab%C3", KeyDecodeError::NotUtf8 { offset: 2 }),
            ("%FF", KeyDecodeError::NotUtf8 { offset: 0 }),
            ("a%C3%28", KeyDecodeError::NotUtf8 { offset: 1 }),
            ("%ED%A0%80", KeyDecodeError::NotUtf8 { offset: 0 }),
        ];
        for (raw, want) in bad {
            assert_eq!(decode_notification_key(raw), Err(want), "{raw}");
        }
    }

    /// What S3 does to a key in a notification (Java's URLEncoder / Python's quote_plus).
    fn form_encode(key: &str) -> String {
        let mut out = String::new();
        for byte in key.bytes() {
            match byte {
                b' ' => out.push('+'),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                    out.push(char::from(byte))
                }
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
        out
    }

    #[test]
    fn key_decoding_round_trips_and_never_panics() {
        const PIECES: &[&str] = &[
            "a", "Z", "0", " ", "+", "%", "%2B", "%zz", "%C3", "/", "//", ".", "..", "é", "日本",
            "🦀", "\u{0}", "\u{7f}", "~", "=", "&", "?", "#", "\\", "\"",
        ];
        let mut state: u64 = 0x0DEC_0DE5_EED5;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) % n as u64) as usize
        };
        for _ in 0..5000 {
            let mut key = String::new();
            for _ in 0..next(16) {
                key.push_str(PIECES[next(PIECES.len())]);
            }
            // Arbitrary (possibly invalid) encoded text: never panics.
            let _ = decode_notification_key(&key);
            // A real key, encoded the way S3 does: decodes back exactly.
            assert_eq!(
                decode_notification_key(&form_encode(&key)).as_deref(),
                Ok(key.as_str())
            );
        }
    }
}
