//! The STUN codec for ICE-lite (RFC 5389): a zero-copy view of a message and writers of Binding responses.
//!
//! Reads the 20-byte header (§6) and the attributes ICE uses (§15, RFC 8445 §16.1): USERNAME, MESSAGE-INTEGRITY
//! (HMAC-SHA1 with the short-term password, §15.4), FINGERPRINT (CRC-32 XOR 0x5354554e, §15.5), XOR-MAPPED-ADDRESS,
//! ERROR-CODE, PRIORITY, USE-CANDIDATE, ICE-CONTROLLED and ICE-CONTROLLING. Attributes after MESSAGE-INTEGRITY other
//! than FINGERPRINT are ignored (§15.4); FINGERPRINT must be the last attribute. Nothing here allocates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hmac::{Hmac, Mac};
use sha1::Sha1;
use thiserror::Error;

/// The magic cookie (RFC 5389 §6).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Binding Request (method 0x001, class request).
pub const BINDING_REQUEST: u16 = 0x0001;
/// Binding Success Response.
pub const BINDING_SUCCESS: u16 = 0x0101;
/// Binding Error Response.
pub const BINDING_ERROR: u16 = 0x0111;

/// MAPPED-ADDRESS.
pub const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
/// USERNAME.
pub const ATTR_USERNAME: u16 = 0x0006;
/// MESSAGE-INTEGRITY.
pub const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
/// ERROR-CODE.
pub const ATTR_ERROR_CODE: u16 = 0x0009;
/// XOR-MAPPED-ADDRESS.
pub const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
/// PRIORITY (RFC 8445 §16.1).
pub const ATTR_PRIORITY: u16 = 0x0024;
/// USE-CANDIDATE (RFC 8445 §16.1).
pub const ATTR_USE_CANDIDATE: u16 = 0x0025;
/// SOFTWARE.
pub const ATTR_SOFTWARE: u16 = 0x8022;
/// FINGERPRINT.
pub const ATTR_FINGERPRINT: u16 = 0x8028;
/// ICE-CONTROLLED (RFC 8445 §16.1).
pub const ATTR_ICE_CONTROLLED: u16 = 0x8029;
/// ICE-CONTROLLING (RFC 8445 §16.1).
pub const ATTR_ICE_CONTROLLING: u16 = 0x802A;

/// The XOR applied to the CRC-32 in FINGERPRINT.
const FINGERPRINT_XOR: u32 = 0x5354_554E;
const HEADER_LEN: usize = 20;
const MI_LEN: usize = 4 + 20;
const FP_LEN: usize = 4 + 4;

/// Why bytes are not a STUN message.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum StunError {
    /// Shorter than the header, first two bits set, wrong cookie, or the length field disagrees with the size.
    #[error("not a stun message")]
    NotStun,
    /// An attribute runs past the end of the message.
    #[error("attribute {attr:#06x} truncated")]
    Truncated {
        /// The attribute's type.
        attr: u16,
    },
    /// A known attribute has the wrong length.
    #[error("attribute {attr:#06x} has a bad length")]
    BadAttribute {
        /// The attribute's type.
        attr: u16,
    },
    /// An attribute follows FINGERPRINT.
    #[error("fingerprint is not the last attribute")]
    FingerprintNotLast,
}

/// Why a response could not be written.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("buffer of {available} bytes is smaller than the {needed}-byte message")]
pub struct BufferTooSmall {
    /// Bytes the message needs.
    pub needed: usize,
    /// Bytes the buffer has.
    pub available: usize,
}

/// A parsed STUN message borrowing the datagram.
#[derive(Debug, Clone, Copy)]
pub struct StunMessage<'a> {
    raw: &'a [u8],
    msg_type: u16,
    username: Option<&'a [u8]>,
    integrity_at: Option<usize>,
    fingerprint_at: Option<usize>,
    priority: Option<u32>,
    use_candidate: bool,
    ice_controlling: Option<u64>,
    ice_controlled: Option<u64>,
    error_code: Option<u16>,
    xor_mapped: Option<SocketAddr>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    (u64::from(u32_at(b, at)) << 32) | u64::from(u32_at(b, at + 4))
}

/// True if the bytes carry a STUN header: top bits zero, the magic cookie, a length that matches the size.
pub fn is_stun(b: &[u8]) -> bool {
    b.len() >= HEADER_LEN
        && b[0] & 0xC0 == 0
        && u32_at(b, 4) == MAGIC_COOKIE
        && usize::from(u16_at(b, 2)) + HEADER_LEN == b.len()
        && b.len() % 4 == 0
}

/// The local ufrag a Binding Request is addressed to: USERNAME up to its colon (RFC 8445 §7.2.2), found without
/// checking integrity. For the demux index, which routes a STUN message to its transport before the transport
/// authenticates it.
pub fn local_ufrag_of(datagram: &[u8]) -> Option<&[u8]> {
    let m = StunMessage::parse(datagram).ok()?;
    if m.msg_type() != BINDING_REQUEST {
        return None;
    }
    let username = m.username()?;
    let colon = username.iter().position(|&b| b == b':')?;
    Some(&username[..colon])
}

impl<'a> StunMessage<'a> {
    /// Parses a whole datagram as one STUN message.
    pub fn parse(raw: &'a [u8]) -> Result<Self, StunError> {
        if !is_stun(raw) {
            return Err(StunError::NotStun);
        }
        let mut m = Self {
            raw,
            msg_type: u16_at(raw, 0),
            username: None,
            integrity_at: None,
            fingerprint_at: None,
            priority: None,
            use_candidate: false,
            ice_controlling: None,
            ice_controlled: None,
            error_code: None,
            xor_mapped: None,
        };
        let mut at = HEADER_LEN;
        while at < raw.len() {
            if m.fingerprint_at.is_some() {
                return Err(StunError::FingerprintNotLast);
            }
            if raw.len() - at < 4 {
                return Err(StunError::Truncated { attr: 0 });
            }
            let attr = u16_at(raw, at);
            let len = usize::from(u16_at(raw, at + 2));
            let start = at + 4;
            let padded = (len + 3) & !3;
            if raw.len() - start < padded {
                return Err(StunError::Truncated { attr });
            }
            let value = &raw[start..start + len];
            let bad = StunError::BadAttribute { attr };
            if attr == ATTR_FINGERPRINT {
                if len != 4 {
                    return Err(bad);
                }
                m.fingerprint_at = Some(at);
            } else if m.integrity_at.is_none() {
                match attr {
                    ATTR_USERNAME => m.username = Some(value),
                    ATTR_MESSAGE_INTEGRITY => {
                        if len != 20 {
                            return Err(bad);
                        }
                        m.integrity_at = Some(at);
                    }
                    ATTR_PRIORITY => {
                        if len != 4 {
                            return Err(bad);
                        }
                        m.priority = Some(u32_at(value, 0));
                    }
                    ATTR_USE_CANDIDATE => m.use_candidate = true,
                    ATTR_ICE_CONTROLLING | ATTR_ICE_CONTROLLED => {
                        if len != 8 {
                            return Err(bad);
                        }
                        if attr == ATTR_ICE_CONTROLLING {
                            m.ice_controlling = Some(u64_at(value, 0));
                        } else {
                            m.ice_controlled = Some(u64_at(value, 0));
                        }
                    }
                    ATTR_ERROR_CODE => {
                        if len < 4 {
                            return Err(bad);
                        }
                        m.error_code = Some(u16::from(value[2] & 0x07) * 100 + u16::from(value[3]));
                    }
                    ATTR_XOR_MAPPED_ADDRESS => {
                        m.xor_mapped = Some(read_xor_address(value, &raw[4..20]).ok_or(bad)?);
                    }
                    _ => {}
                }
            }
            at = start + padded;
        }
        Ok(m)
    }

    /// The message type (method and class).
    pub fn msg_type(&self) -> u16 {
        self.msg_type
    }

    /// The 96-bit transaction id.
    pub fn transaction_id(&self) -> &'a [u8; 12] {
        self.raw[8..20].try_into().expect("header is 20 bytes")
    }

    /// USERNAME, raw.
    pub fn username(&self) -> Option<&'a [u8]> {
        self.username
    }

    /// PRIORITY.
    pub fn priority(&self) -> Option<u32> {
        self.priority
    }

    /// True if USE-CANDIDATE is present.
    pub fn use_candidate(&self) -> bool {
        self.use_candidate
    }

    /// ICE-CONTROLLING's tie-breaker.
    pub fn ice_controlling(&self) -> Option<u64> {
        self.ice_controlling
    }

    /// ICE-CONTROLLED's tie-breaker.
    pub fn ice_controlled(&self) -> Option<u64> {
        self.ice_controlled
    }

    /// ERROR-CODE's number (class × 100 + number).
    pub fn error_code(&self) -> Option<u16> {
        self.error_code
    }

    /// XOR-MAPPED-ADDRESS, decoded.
    pub fn xor_mapped_address(&self) -> Option<SocketAddr> {
        self.xor_mapped
    }

    /// True if MESSAGE-INTEGRITY is present.
    pub fn has_integrity(&self) -> bool {
        self.integrity_at.is_some()
    }

    /// True if FINGERPRINT is present.
    pub fn has_fingerprint(&self) -> bool {
        self.fingerprint_at.is_some()
    }

    /// Checks FINGERPRINT; false if it is absent or wrong.
    pub fn check_fingerprint(&self) -> bool {
        let Some(at) = self.fingerprint_at else {
            return false;
        };
        fingerprint(&self.raw[..at], at + FP_LEN) == u32_at(self.raw, at + 4)
    }

    /// Checks MESSAGE-INTEGRITY against a keyed HMAC-SHA1 (see [`integrity_key`]); false if absent or wrong.
    pub fn check_integrity(&self, key: &Hmac<Sha1>) -> bool {
        let Some(at) = self.integrity_at else {
            return false;
        };
        let mut mac = key.clone();
        feed_adjusted(&mut mac, &self.raw[..at], at + MI_LEN);
        mac.verify_slice(&self.raw[at + 4..at + MI_LEN]).is_ok()
    }
}

/// The HMAC-SHA1 keyed with a short-term password (RFC 5389 §15.4; ICE passwords are ASCII, so SASLprep is the
/// identity).
pub fn integrity_key(password: &str) -> Hmac<Sha1> {
    Hmac::<Sha1>::new_from_slice(password.as_bytes()).expect("hmac takes any key length")
}

/// Feeds `prefix` (header + attributes before the one being computed) with the header's length field set so that
/// the message ends at `end`.
fn feed_adjusted(mac: &mut Hmac<Sha1>, prefix: &[u8], end: usize) {
    let len = u16::try_from(end - HEADER_LEN)
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    mac.update(&prefix[..2]);
    mac.update(&len);
    mac.update(&prefix[4..]);
}

fn read_xor_address(value: &[u8], cookie_and_tid: &[u8]) -> Option<SocketAddr> {
    if value.len() < 4 {
        return None;
    }
    let port = u16_at(value, 2) ^ (MAGIC_COOKIE >> 16) as u16;
    let ip = match (value[1], value.len()) {
        (0x01, 8) => {
            let x = u32_at(value, 4) ^ MAGIC_COOKIE;
            IpAddr::V4(Ipv4Addr::from(x))
        }
        (0x02, 20) => {
            let mut o = [0u8; 16];
            for (i, b) in o.iter_mut().enumerate() {
                *b = value[4 + i] ^ cookie_and_tid[i];
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc = CRC_TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

/// FINGERPRINT's value over `prefix` with the length field set so that the message ends at `end`.
fn fingerprint(prefix: &[u8], end: usize) -> u32 {
    let len = u16::try_from(end - HEADER_LEN)
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    let mut crc = crc32_update(0xFFFF_FFFF, &prefix[..2]);
    crc = crc32_update(crc, &len);
    crc = crc32_update(crc, &prefix[4..]);
    (crc ^ 0xFFFF_FFFF) ^ FINGERPRINT_XOR
}

/// Writes a STUN message attribute by attribute into a caller's buffer.
#[derive(Debug)]
pub struct StunWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> StunWriter<'b> {
    /// Starts a message with its type and transaction id.
    pub fn new(
        buf: &'b mut [u8],
        msg_type: u16,
        transaction_id: &[u8; 12],
    ) -> Result<Self, BufferTooSmall> {
        check(buf, HEADER_LEN)?;
        buf[0..2].copy_from_slice(&msg_type.to_be_bytes());
        buf[2..4].fill(0);
        buf[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf[8..20].copy_from_slice(transaction_id);
        Ok(Self {
            buf,
            len: HEADER_LEN,
        })
    }

    fn begin(&mut self, attr: u16, value_len: usize) -> Result<usize, BufferTooSmall> {
        let padded = (value_len + 3) & !3;
        check(self.buf, self.len + 4 + padded)?;
        let at = self.len;
        self.buf[at..at + 2].copy_from_slice(&attr.to_be_bytes());
        self.buf[at + 2..at + 4].copy_from_slice(&(value_len as u16).to_be_bytes());
        self.buf[at + 4..at + 4 + padded].fill(0);
        self.len = at + 4 + padded;
        self.set_length();
        Ok(at + 4)
    }

    fn set_length(&mut self) {
        let l = ((self.len - HEADER_LEN) as u16).to_be_bytes();
        self.buf[2..4].copy_from_slice(&l);
    }

    /// Adds an attribute with a raw value (at most 65,535 bytes in principle; callers pass small values).
    pub fn add(&mut self, attr: u16, value: &[u8]) -> Result<(), BufferTooSmall> {
        let at = self.begin(attr, value.len())?;
        self.buf[at..at + value.len()].copy_from_slice(value);
        Ok(())
    }

    /// Adds XOR-MAPPED-ADDRESS.
    pub fn add_xor_mapped_address(&mut self, addr: SocketAddr) -> Result<(), BufferTooSmall> {
        let len = if addr.is_ipv4() { 8 } else { 20 };
        let at = self.begin(ATTR_XOR_MAPPED_ADDRESS, len)?;
        let port = addr.port() ^ (MAGIC_COOKIE >> 16) as u16;
        self.buf[at] = 0;
        self.buf[at + 2..at + 4].copy_from_slice(&port.to_be_bytes());
        match addr.ip() {
            IpAddr::V4(ip) => {
                self.buf[at + 1] = 0x01;
                let x = u32::from(ip) ^ MAGIC_COOKIE;
                self.buf[at + 4..at + 8].copy_from_slice(&x.to_be_bytes());
            }
            IpAddr::V6(ip) => {
                self.buf[at + 1] = 0x02;
                for (i, o) in ip.octets().into_iter().enumerate() {
                    self.buf[at + 4 + i] = o ^ self.buf[4 + i];
                }
            }
        }
        Ok(())
    }

    /// Adds ERROR-CODE with its reason phrase.
    pub fn add_error_code(&mut self, code: u16, reason: &str) -> Result<(), BufferTooSmall> {
        let at = self.begin(ATTR_ERROR_CODE, 4 + reason.len())?;
        self.buf[at + 2] = (code / 100) as u8;
        self.buf[at + 3] = (code % 100) as u8;
        self.buf[at + 4..at + 4 + reason.len()].copy_from_slice(reason.as_bytes());
        Ok(())
    }

    /// Adds MESSAGE-INTEGRITY computed with a keyed HMAC-SHA1.
    pub fn add_integrity(&mut self, key: &Hmac<Sha1>) -> Result<(), BufferTooSmall> {
        let mi_at = self.len;
        let at = self.begin(ATTR_MESSAGE_INTEGRITY, 20)?;
        let mut mac = key.clone();
        mac.update(&self.buf[..mi_at]);
        self.buf[at..at + 20].copy_from_slice(&mac.finalize().into_bytes());
        Ok(())
    }

    /// Adds FINGERPRINT; it must be the last attribute.
    pub fn add_fingerprint(&mut self) -> Result<(), BufferTooSmall> {
        let fp_at = self.len;
        let at = self.begin(ATTR_FINGERPRINT, 4)?;
        let fp = fingerprint(&self.buf[..fp_at], fp_at + FP_LEN);
        self.buf[at..at + 4].copy_from_slice(&fp.to_be_bytes());
        Ok(())
    }

    /// The message's length so far.
    pub fn finish(self) -> usize {
        self.len
    }
}

fn check(buf: &[u8], needed: usize) -> Result<(), BufferTooSmall> {
    if buf.len() < needed {
        Err(BufferTooSmall {
            needed,
            available: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Writes a Binding Success Response: XOR-MAPPED-ADDRESS of `mapped`, MESSAGE-INTEGRITY, FINGERPRINT (in that
/// order); returns its length (64 bytes for IPv4, 76 for IPv6).
pub fn write_binding_success(
    buf: &mut [u8],
    transaction_id: &[u8; 12],
    mapped: SocketAddr,
    key: &Hmac<Sha1>,
) -> Result<usize, BufferTooSmall> {
    let mut w = StunWriter::new(buf, BINDING_SUCCESS, transaction_id)?;
    w.add_xor_mapped_address(mapped)?;
    w.add_integrity(key)?;
    w.add_fingerprint()?;
    Ok(w.finish())
}

/// Writes a Binding Request as the controlling agent of a peer would send it: USERNAME, ICE-CONTROLLING,
/// PRIORITY, USE-CANDIDATE when nominating, MESSAGE-INTEGRITY with the remote password's key, FINGERPRINT; returns
/// its length. For test clients and benchmarks: a lite agent never sends checks.
pub fn write_binding_request(
    buf: &mut [u8],
    transaction_id: &[u8; 12],
    username: &str,
    key: &Hmac<Sha1>,
    use_candidate: bool,
) -> Result<usize, BufferTooSmall> {
    let mut w = StunWriter::new(buf, BINDING_REQUEST, transaction_id)?;
    w.add(ATTR_USERNAME, username.as_bytes())?;
    w.add(
        ATTR_ICE_CONTROLLING,
        &0x1234_5678_9abc_def0u64.to_be_bytes(),
    )?;
    w.add(ATTR_PRIORITY, &0x6e7f_00ffu32.to_be_bytes())?;
    if use_candidate {
        w.add(ATTR_USE_CANDIDATE, &[])?;
    }
    w.add_integrity(key)?;
    w.add_fingerprint()?;
    Ok(w.finish())
}

/// Writes a Binding Error Response with ERROR-CODE and FINGERPRINT (no MESSAGE-INTEGRITY: the request could not be
/// authenticated); returns its length.
pub fn write_binding_error(
    buf: &mut [u8],
    transaction_id: &[u8; 12],
    code: u16,
    reason: &str,
) -> Result<usize, BufferTooSmall> {
    let mut w = StunWriter::new(buf, BINDING_ERROR, transaction_id)?;
    w.add_error_code(code, reason)?;
    w.add_fingerprint()?;
    Ok(w.finish())
}

#[cfg(test)]
#[path = "stun_tests.rs"]
mod tests;
