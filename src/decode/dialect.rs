//! The CSV dialect and the byte classes the chunker and the tokenizer scan with.

use crate::config::key::OptionKey;
use crate::error::{Error, Result};

/// The CSV dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// Field delimiter.
    pub delimiter: u8,
    /// Quote character; `None` disables quoting.
    pub quote: Option<u8>,
    /// Escape character inside quoted fields (e.g. `\`); `None`: quotes are escaped by doubling.
    pub escape: Option<u8>,
    /// Lines starting with this byte are skipped.
    pub comment: Option<u8>,
    /// Whether the first record is a header.
    pub has_header: bool,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            delimiter: b',',
            quote: Some(b'"'),
            escape: None,
            comment: None,
            has_header: true,
        }
    }
}

impl Dialect {
    /// Check that the special bytes are no line breaks and distinct (an escape equal to the
    /// quote means doubling).
    pub(crate) fn validate(&self) -> Result<()> {
        let specials = [
            (OptionKey::Delimiter, Some(self.delimiter)),
            (OptionKey::Quote, self.quote),
            (OptionKey::Escape, self.escape),
            (OptionKey::Comment, self.comment),
        ];
        for (i, (name, byte)) in specials.iter().enumerate() {
            let Some(b) = byte else { continue };
            if *b == b'\n' || *b == b'\r' {
                return Err(Error::config(*name, "cannot be a line break"));
            }
            for (other, other_byte) in &specials[i + 1..] {
                if *other_byte == Some(*b)
                    && !(*other == OptionKey::Escape && Some(*b) == self.quote)
                {
                    return Err(Error::config(
                        *name,
                        format!("{:?} is also used by {}", *b as char, other.cli_flag()),
                    ));
                }
            }
        }
        if self.escape.is_some() && self.quote.is_none() {
            return Err(Error::config(OptionKey::Escape, "needs a quote character"));
        }
        Ok(())
    }
}

/// The bytes that end an ordinary run, outside and inside quotes, for a dialect: what the
/// chunker and the tokenizer scan for.
#[derive(Debug, Clone)]
pub(crate) struct ByteClasses {
    /// The escape byte, unless it equals the quote (then quotes are escaped by doubling).
    pub escape: Option<u8>,
    /// Outside quotes: the delimiter and the line breaks.
    pub unquoted: [bool; 256],
    /// Inside quotes: the line breaks, the quote and the escape.
    pub quoted: [bool; 256],
    /// The three bytes a quoted field's scan stops at, when they are all there is (a quote,
    /// no escape): the quote and the line breaks.
    pub quoted_needles: Option<(u8, u8, u8)>,
}

impl ByteClasses {
    /// Where the run of ordinary bytes outside quotes that starts at `i` ends: at the next
    /// delimiter or line break, or at the end of `input`.
    #[inline(always)]
    pub fn unquoted_run_end(&self, input: &[u8], mut i: usize) -> usize {
        while i < input.len() && !self.unquoted[input[i] as usize] {
            i += 1;
        }
        i
    }

    /// Where the run of ordinary bytes inside quotes that starts at `i` ends: at the next
    /// quote, escape or line break (found with `memchr3` when it can be: quoted fields are
    /// often long), or at the end of `input`.
    #[inline(always)]
    pub fn quoted_run_end(&self, input: &[u8], mut i: usize) -> usize {
        match self.quoted_needles {
            Some((q, a, b)) => memchr::memchr3(q, a, b, &input[i..]).map_or(input.len(), |o| i + o),
            None => {
                while i < input.len() && !self.quoted[input[i] as usize] {
                    i += 1;
                }
                i
            }
        }
    }
}

impl Dialect {
    /// The byte classes of this dialect.
    pub(crate) fn byte_classes(&self) -> ByteClasses {
        let escape = self.escape.filter(|e| Some(*e) != self.quote);
        let mut unquoted = [false; 256];
        for b in [self.delimiter, b'\n', b'\r'] {
            unquoted[b as usize] = true;
        }
        let mut quoted = [false; 256];
        for b in [Some(b'\n'), Some(b'\r'), self.quote, escape]
            .into_iter()
            .flatten()
        {
            quoted[b as usize] = true;
        }
        let quoted_needles = match (self.quote, escape) {
            (Some(q), None) => Some((q, b'\n', b'\r')),
            _ => None,
        };
        ByteClasses {
            escape,
            unquoted,
            quoted,
            quoted_needles,
        }
    }
}
