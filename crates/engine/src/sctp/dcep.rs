//! The Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK, carried
//! on the channel's own SCTP stream with PPID 50.
//!
//! Owns: the wire format of the two messages (§5.1, §5.2) and the channel types (§5.1, §8.2.2).
//! Must not: touch SCTP state or panic on any input — every malformed message is a [`DcepError`].

use thiserror::Error;

/// DCEP message type of DATA_CHANNEL_OPEN (RFC 8832 §5.1, §8.2.1).
pub const MESSAGE_TYPE_OPEN: u8 = 0x03;
/// DCEP message type of DATA_CHANNEL_ACK (RFC 8832 §5.2, §8.2.1).
pub const MESSAGE_TYPE_ACK: u8 = 0x02;
/// Fixed part of DATA_CHANNEL_OPEN before the label: type, channel type, priority, reliability
/// parameter, label length, protocol length.
const OPEN_HEADER_LEN: usize = 12;
/// Bit of the channel type that makes the channel unordered (RFC 8832 §5.1).
const UNORDERED_BIT: u8 = 0x80;

/// How a data channel retransmits (RFC 8832 §5.1 channel types; RFC 3758 partial reliability).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reliability {
    /// Every message is retransmitted until acknowledged (channel type 0x00 / 0x80).
    Reliable,
    /// A message is retransmitted at most this many times (0x01 / 0x81).
    MaxRetransmits(u32),
    /// A message is retransmitted for at most this many milliseconds (0x02 / 0x82).
    MaxPacketLifeTime(u32),
}

/// A DATA_CHANNEL_OPEN message (RFC 8832 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataChannelOpen {
    /// Whether messages are delivered in order (the channel type's high bit is clear).
    pub ordered: bool,
    /// Retransmission rule of the channel.
    pub reliability: Reliability,
    /// Priority (RFC 8832 §5.1; 128 below normal, 256 normal, 512 high, 1024 extra high).
    pub priority: u16,
    /// Channel label (UTF-8, may be empty).
    pub label: String,
    /// Sub-protocol name (UTF-8, may be empty).
    pub protocol: String,
}

/// A DCEP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DcepMessage {
    /// DATA_CHANNEL_OPEN.
    Open(DataChannelOpen),
    /// DATA_CHANNEL_ACK.
    Ack,
}

/// Why bytes on PPID 50 are not a DCEP message we understand.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DcepError {
    /// The message has no bytes.
    #[error("empty dcep message")]
    Empty,
    /// The first byte is neither OPEN nor ACK.
    #[error("unknown dcep message type {0:#04x}")]
    UnknownMessageType(u8),
    /// The channel type is none of the six RFC 8832 values.
    #[error("unknown dcep channel type {0:#04x}")]
    UnknownChannelType(u8),
    /// The message is shorter than its header or its declared label and protocol lengths.
    #[error("truncated dcep message: {len} bytes, {needed} needed")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes the header declares.
        needed: usize,
    },
    /// The label or protocol is not UTF-8.
    #[error("dcep label or protocol is not utf-8")]
    InvalidUtf8,
    /// The label or protocol is longer than 65,535 bytes (encoding only).
    #[error("dcep label or protocol longer than 65535 bytes")]
    TooLong,
}

impl DcepMessage {
    /// Parses one DCEP message. Extra bytes after an OPEN's protocol or after an ACK are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, DcepError> {
        match bytes.first() {
            None => Err(DcepError::Empty),
            Some(&MESSAGE_TYPE_ACK) => Ok(DcepMessage::Ack),
            Some(&MESSAGE_TYPE_OPEN) => DataChannelOpen::parse(bytes).map(DcepMessage::Open),
            Some(&other) => Err(DcepError::UnknownMessageType(other)),
        }
    }

    /// The DATA_CHANNEL_ACK bytes (RFC 8832 §5.2).
    pub fn ack_bytes() -> [u8; 1] {
        [MESSAGE_TYPE_ACK]
    }
}

impl DataChannelOpen {
    fn parse(bytes: &[u8]) -> Result<Self, DcepError> {
        if bytes.len() < OPEN_HEADER_LEN {
            return Err(DcepError::Truncated {
                len: bytes.len(),
                needed: OPEN_HEADER_LEN,
            });
        }
        let channel_type = bytes[1];
        let priority = u16::from_be_bytes([bytes[2], bytes[3]]);
        let param = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let label_len = usize::from(u16::from_be_bytes([bytes[8], bytes[9]]));
        let protocol_len = usize::from(u16::from_be_bytes([bytes[10], bytes[11]]));
        let reliability = match channel_type & !UNORDERED_BIT {
            0x00 => Reliability::Reliable,
            0x01 => Reliability::MaxRetransmits(param),
            0x02 => Reliability::MaxPacketLifeTime(param),
            _ => return Err(DcepError::UnknownChannelType(channel_type)),
        };
        let needed = OPEN_HEADER_LEN + label_len + protocol_len;
        if bytes.len() < needed {
            return Err(DcepError::Truncated {
                len: bytes.len(),
                needed,
            });
        }
        let label = &bytes[OPEN_HEADER_LEN..OPEN_HEADER_LEN + label_len];
        let protocol = &bytes[OPEN_HEADER_LEN + label_len..needed];
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| DcepError::InvalidUtf8);
        Ok(DataChannelOpen {
            ordered: channel_type & UNORDERED_BIT == 0,
            reliability,
            priority,
            label: text(label)?,
            protocol: text(protocol)?,
        })
    }

    /// Encodes the message (RFC 8832 §5.1). The reliability parameter is 0 for a reliable channel.
    pub fn to_bytes(&self) -> Result<Vec<u8>, DcepError> {
        let label_len = u16::try_from(self.label.len()).map_err(|_| DcepError::TooLong)?;
        let protocol_len = u16::try_from(self.protocol.len()).map_err(|_| DcepError::TooLong)?;
        let (base, param) = match self.reliability {
            Reliability::Reliable => (0x00, 0),
            Reliability::MaxRetransmits(n) => (0x01, n),
            Reliability::MaxPacketLifeTime(ms) => (0x02, ms),
        };
        let channel_type = if self.ordered {
            base
        } else {
            base | UNORDERED_BIT
        };
        let mut out = Vec::with_capacity(OPEN_HEADER_LEN + self.label.len() + self.protocol.len());
        out.push(MESSAGE_TYPE_OPEN);
        out.push(channel_type);
        out.extend_from_slice(&self.priority.to_be_bytes());
        out.extend_from_slice(&param.to_be_bytes());
        out.extend_from_slice(&label_len.to_be_bytes());
        out.extend_from_slice(&protocol_len.to_be_bytes());
        out.extend_from_slice(self.label.as_bytes());
        out.extend_from_slice(self.protocol.as_bytes());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8832 §5.1 layout, written out by hand: partial-reliable rexmit unordered (0x81), priority 256,
    /// 3 retransmissions, label "chat", protocol "x".
    const OPEN_REXMIT_UNORDERED: [u8; 17] = [
        0x03, 0x81, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x01, b'c', b'h', b'a',
        b't', b'x',
    ];

    #[test]
    fn parses_rfc_layout_of_open() {
        let msg = DcepMessage::parse(&OPEN_REXMIT_UNORDERED).unwrap();
        assert_eq!(
            msg,
            DcepMessage::Open(DataChannelOpen {
                ordered: false,
                reliability: Reliability::MaxRetransmits(3),
                priority: 256,
                label: "chat".into(),
                protocol: "x".into(),
            })
        );
    }

    #[test]
    fn encodes_rfc_layout_of_open() {
        let open = DataChannelOpen {
            ordered: false,
            reliability: Reliability::MaxRetransmits(3),
            priority: 256,
            label: "chat".into(),
            protocol: "x".into(),
        };
        assert_eq!(open.to_bytes().unwrap(), OPEN_REXMIT_UNORDERED);
    }

    #[test]
    fn channel_types_round_trip() {
        let cases = [
            (true, Reliability::Reliable, 0x00),
            (false, Reliability::Reliable, 0x80),
            (true, Reliability::MaxRetransmits(7), 0x01),
            (false, Reliability::MaxRetransmits(7), 0x81),
            (true, Reliability::MaxPacketLifeTime(1500), 0x02),
            (false, Reliability::MaxPacketLifeTime(1500), 0x82),
        ];
        for (ordered, reliability, channel_type) in cases {
            let open = DataChannelOpen {
                ordered,
                reliability,
                priority: 0,
                label: String::new(),
                protocol: String::new(),
            };
            let bytes = open.to_bytes().unwrap();
            assert_eq!(bytes.len(), 12);
            assert_eq!(bytes[1], channel_type);
            assert_eq!(DcepMessage::parse(&bytes).unwrap(), DcepMessage::Open(open));
        }
    }

    #[test]
    fn parses_ack() {
        assert_eq!(
            DcepMessage::parse(&DcepMessage::ack_bytes()).unwrap(),
            DcepMessage::Ack
        );
    }

    #[test]
    fn rejects_malformed_messages() {
        assert_eq!(DcepMessage::parse(&[]), Err(DcepError::Empty));
        assert_eq!(
            DcepMessage::parse(&[0x04]),
            Err(DcepError::UnknownMessageType(0x04))
        );
        assert_eq!(
            DcepMessage::parse(&OPEN_REXMIT_UNORDERED[..11]),
            Err(DcepError::Truncated {
                len: 11,
                needed: 12
            })
        );
        assert_eq!(
            DcepMessage::parse(&OPEN_REXMIT_UNORDERED[..16]),
            Err(DcepError::Truncated {
                len: 16,
                needed: 17
            })
        );
        let mut bad_type = OPEN_REXMIT_UNORDERED;
        bad_type[1] = 0x03;
        assert_eq!(
            DcepMessage::parse(&bad_type),
            Err(DcepError::UnknownChannelType(0x03))
        );
        let mut bad_utf8 = OPEN_REXMIT_UNORDERED;
        bad_utf8[12] = 0xff;
        assert_eq!(DcepMessage::parse(&bad_utf8), Err(DcepError::InvalidUtf8));
        // Maximal declared lengths on a short buffer must not overflow or panic.
        let huge = [0x03, 0x00, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            DcepMessage::parse(&huge),
            Err(DcepError::Truncated {
                len: 12,
                needed: 12 + 2 * 65_535
            })
        );
    }

    #[test]
    fn never_panics_on_any_short_input() {
        for len in 0..=OPEN_REXMIT_UNORDERED.len() {
            let _ = DcepMessage::parse(&OPEN_REXMIT_UNORDERED[..len]);
        }
        for first in 0..=u8::MAX {
            let _ = DcepMessage::parse(&[first, 0x82, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
        }
    }

    #[test]
    fn refuses_to_encode_overlong_label() {
        let open = DataChannelOpen {
            ordered: true,
            reliability: Reliability::Reliable,
            priority: 256,
            label: "a".repeat(70_000),
            protocol: String::new(),
        };
        assert_eq!(open.to_bytes(), Err(DcepError::TooLong));
    }
}
