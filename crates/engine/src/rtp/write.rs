//! [`write_rtp`]: writes an RTP packet into a caller's buffer, for tests, benches and synthetic sources
//! (RFC 3550 §5.1 layout, RFC 8285 extension elements padded to a 32-bit boundary).

use super::{ExtensionForm, FIXED_HEADER_LEN};

/// The header fields [`write_rtp`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader<'a> {
    /// The marker bit.
    pub marker: bool,
    /// The payload type (7 bits).
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The SSRC.
    pub ssrc: u32,
    /// Up to 15 CSRCs.
    pub csrcs: &'a [u32],
    /// The form the extension elements are written in.
    pub extension_form: ExtensionForm,
    /// Extension elements as `(id, value)`; none means no extension block.
    pub extensions: &'a [(u8, &'a [u8])],
    /// Padding bytes to append (0 for none; the last one holds the count).
    pub padding: u8,
}

impl Default for RtpHeader<'_> {
    fn default() -> Self {
        Self {
            marker: false,
            payload_type: 0,
            sequence_number: 0,
            timestamp: 0,
            ssrc: 0,
            csrcs: &[],
            extension_form: ExtensionForm::OneByte,
            extensions: &[],
            padding: 0,
        }
    }
}

/// Why [`write_rtp`] wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The buffer is smaller than the packet.
    #[error("buffer of {available} bytes is smaller than the {needed}-byte packet")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// More than 15 CSRCs.
    #[error("{0} csrcs, at most 15")]
    TooManyCsrcs(usize),
    /// An extension element the form cannot carry (one-byte: id 1–14 and 1–16 bytes; two-byte: id 1–255
    /// and at most 255 bytes), or a block over the 16-bit length field.
    #[error("extension id {id} with {len} bytes cannot be written in this form")]
    InvalidExtension {
        /// The element's id.
        id: u8,
        /// Its value's length.
        len: usize,
    },
}

/// Writes an RTP version 2 packet into `buf` and returns its length.
pub fn write_rtp(
    buf: &mut [u8],
    header: &RtpHeader<'_>,
    payload: &[u8],
) -> Result<usize, WriteError> {
    if header.csrcs.len() > 15 {
        return Err(WriteError::TooManyCsrcs(header.csrcs.len()));
    }
    let mut elements_len = 0;
    for &(id, value) in header.extensions {
        let fits = match header.extension_form {
            ExtensionForm::OneByte => (1..=14).contains(&id) && (1..=16).contains(&value.len()),
            ExtensionForm::TwoByte => id != 0 && value.len() <= 255,
        };
        if !fits {
            return Err(WriteError::InvalidExtension {
                id,
                len: value.len(),
            });
        }
        elements_len += value.len()
            + if header.extension_form == ExtensionForm::OneByte {
                1
            } else {
                2
            };
    }
    let block_len = elements_len.div_ceil(4) * 4;
    if block_len / 4 > usize::from(u16::MAX) {
        return Err(WriteError::InvalidExtension {
            id: 0,
            len: block_len,
        });
    }
    let has_ext = !header.extensions.is_empty();
    let header_len =
        FIXED_HEADER_LEN + 4 * header.csrcs.len() + if has_ext { 4 + block_len } else { 0 };
    let needed = header_len + payload.len() + usize::from(header.padding);
    if needed > buf.len() {
        return Err(WriteError::BufferTooSmall {
            needed,
            available: buf.len(),
        });
    }
    let buf = &mut buf[..needed];
    buf[0] = 0x80
        | if header.padding > 0 { 0x20 } else { 0 }
        | if has_ext { 0x10 } else { 0 }
        | header.csrcs.len() as u8;
    buf[1] = (header.payload_type & 0x7f) | if header.marker { 0x80 } else { 0 };
    buf[2..4].copy_from_slice(&header.sequence_number.to_be_bytes());
    buf[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    buf[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
    let mut at = FIXED_HEADER_LEN;
    for csrc in header.csrcs {
        buf[at..at + 4].copy_from_slice(&csrc.to_be_bytes());
        at += 4;
    }
    if has_ext {
        buf[at..at + 2].copy_from_slice(&header.extension_form.profile().to_be_bytes());
        buf[at + 2..at + 4].copy_from_slice(&((block_len / 4) as u16).to_be_bytes());
        at += 4;
        let end = at + block_len;
        for &(id, value) in header.extensions {
            match header.extension_form {
                ExtensionForm::OneByte => {
                    buf[at] = (id << 4) | (value.len() - 1) as u8;
                    at += 1;
                }
                ExtensionForm::TwoByte => {
                    buf[at] = id;
                    buf[at + 1] = value.len() as u8;
                    at += 2;
                }
            }
            buf[at..at + value.len()].copy_from_slice(value);
            at += value.len();
        }
        buf[at..end].fill(0);
        at = end;
    }
    buf[at..at + payload.len()].copy_from_slice(payload);
    at += payload.len();
    if header.padding > 0 {
        buf[at..needed - 1].fill(0);
        buf[needed - 1] = header.padding;
    }
    Ok(needed)
}
