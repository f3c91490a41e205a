//! [`Ssrcs`]: a list of 32-bit SSRCs inside a packet (BYE sources, REMB feedback SSRCs).

/// SSRCs read from consecutive 4-byte words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ssrcs<'a> {
    bytes: &'a [u8],
}

impl<'a> Ssrcs<'a> {
    /// The SSRCs in `bytes` (a trailing partial word is ignored).
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes: &bytes[..bytes.len() / 4 * 4],
        }
    }
}

impl Iterator for Ssrcs<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (head, rest) = self.bytes.split_first_chunk::<4>()?;
        self.bytes = rest;
        Some(u32::from_be_bytes(*head))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len() / 4;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Ssrcs<'_> {}
