//! The gate in front of `rtc-sctp` 0.21.1: an inbound SCTP packet reaches the library only if every
//! chunk in it obeys the length rules of its RFC, in the narrower shape the library reads correctly,
//! and a FORWARD TSN does not jump far (see [`TsnGuard`]). [`super::SctpAssociation`] drops and counts
//! everything else.
//!
//! Owns: the length rules below, each with a test in `sctp::tests` built from a minimal reproducer.
//! Must not: allocate, or walk a packet twice (one walk over the chunk headers, and inside a chunk one
//! over its parameters or error causes); judge what the library judges by content (TSNs other than
//! FORWARD TSN's distance, stream ids, cookies, flags).
//!
//! Why lengths: the library frames a packet by the re-encoded size of each chunk it parsed
//! (`PartialDecode::finish` steps `4 + value_length() + padding`), not by the chunk's length field. A
//! chunk whose length covers more than the library reads (a SHUTDOWN ACK of length 8, a SACK longer
//! than its counts, a HEARTBEAT with a second parameter) makes it read the rest as further chunks —
//! an ABORT hidden there tears the association down, an error cause with an overlong length hidden
//! there panics (`ErrorCause::unmarshal` slices past its input). Rules, RFC 9260 unless named; "lib"
//! marks a shape the RFC allows but the library mis-reads (docs/decisions/0009, defect list):
//!
//! - Every chunk (§3.2): length ≥ 4; the chunk and its padding to a multiple of 4 end inside the
//!   packet; nothing after the last chunk; at least one chunk.
//! - Chunk types: only those the library parses (DATA, INIT, INIT ACK, SACK, HEARTBEAT, ABORT, SHUTDOWN,
//!   SHUTDOWN ACK, ERROR, COOKIE ECHO, COOKIE ACK, SHUTDOWN COMPLETE, RE-CONFIG, FORWARD TSN). It refuses
//!   a packet with any other (HEARTBEAT ACK, I-DATA, PAD…) whole, whatever §3.2's upper type bits ask.
//! - DATA (§3.3.1): length ≥ 17, at least one byte of user data.
//! - INIT, INIT ACK (§3.3.2, §3.3.3): length ≥ 20; after the fixed part, parameters (§3.2.1) of length
//!   ≥ 4 inside the chunk, each at the padded end of the previous one, the last ending at the chunk's
//!   end or in its own padding. Forward-TSN-Supported (RFC 3758 §3.1) has length 4; Requested HMAC
//!   Algorithm (RFC 4895 §3.3) an even length. lib: the last parameter must be longer than 4 bytes (the
//!   library stops reading parameters when 4 bytes or fewer remain, then reads them as a chunk).
//! - SACK (§3.3.4): length exactly 16 + 4 · gap blocks + 4 · duplicate TSNs.
//! - HEARTBEAT (§3.3.5): one Heartbeat Info parameter (type 1, length ≥ 4) filling the chunk.
//! - ABORT, ERROR (§3.3.7, §3.3.10): error causes of length ≥ 4 inside the chunk, each at the padded
//!   end of the previous one, as the chunk's parameters are. lib: only the last cause may have a length
//!   that is not a multiple of 4 (the library steps by the unpadded length).
//! - SHUTDOWN (§3.3.8): length 8. SHUTDOWN ACK, COOKIE ACK, SHUTDOWN COMPLETE (§3.3.9, §3.3.12,
//!   §3.3.13): length 4. COOKIE ECHO (§3.3.11): any length (the cookie is opaque).
//! - RE-CONFIG (RFC 6525 §3.1): one or two parameters, the second at the padded end of the first and
//!   filling the chunk, of the types and lengths of RFC 6525 §4.1–§4.6. lib: a Re-configuration
//!   Response has length 12 (the library reads 8 bytes of value whatever the length; §4.4 allows 20).
//! - FORWARD TSN (RFC 3758 §3.2): length 8 + 4 · streams; see [`TsnGuard`] for its value.

/// SCTP common header length (RFC 9260 §3.1).
const COMMON_HEADER_LEN: usize = 12;
/// Chunk and parameter header length (RFC 9260 §3.2, §3.2.1).
const HEADER_LEN: usize = 4;

/// Chunk types (RFC 9260 §3.2, RFC 6525 §3.1, RFC 3758 §3.2).
const CHUNK_DATA: u8 = 0;
const CHUNK_INIT: u8 = 1;
const CHUNK_INIT_ACK: u8 = 2;
const CHUNK_SACK: u8 = 3;
const CHUNK_HEARTBEAT: u8 = 4;
const CHUNK_ABORT: u8 = 6;
const CHUNK_SHUTDOWN: u8 = 7;
const CHUNK_SHUTDOWN_ACK: u8 = 8;
const CHUNK_ERROR: u8 = 9;
const CHUNK_COOKIE_ECHO: u8 = 10;
const CHUNK_COOKIE_ACK: u8 = 11;
const CHUNK_SHUTDOWN_COMPLETE: u8 = 14;
const CHUNK_RECONFIG: u8 = 130;
const CHUNK_FORWARD_TSN: u8 = 192;

/// Heartbeat Info parameter (RFC 9260 §3.3.5).
const PARAM_HEARTBEAT_INFO: u16 = 1;
/// Forward-TSN-Supported parameter (RFC 3758 §3.1).
const PARAM_FORWARD_TSN_SUPPORTED: u16 = 0xc000;
/// Requested HMAC Algorithm parameter (RFC 4895 §3.3).
const PARAM_REQUESTED_HMAC_ALGORITHM: u16 = 0x8004;

/// Largest legitimate lead of a FORWARD TSN over our last acknowledged TSN: more TSNs than any sender
/// keeps outstanding, and a walk the library does in about a millisecond.
pub(super) const MAX_FORWARD_TSN_AHEAD: u32 = 1 << 16;

/// Why a packet was kept from the library: the rule it broke (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// No chunk after the common header.
    NoChunk,
    /// A chunk length below 4 or running (with its padding) past the packet, or stray bytes after the
    /// last chunk.
    ChunkLength,
    /// A chunk type the library does not parse.
    UnknownChunk,
    /// DATA shorter than 17 bytes.
    DataLength,
    /// INIT or INIT ACK shorter than its 20-byte fixed part.
    InitLength,
    /// INIT or INIT ACK parameters that do not tile the chunk, or that the library mis-reads.
    InitParameters,
    /// SACK length other than 16 + 4 · (gap blocks + duplicate TSNs).
    SackLength,
    /// HEARTBEAT that is not one Heartbeat Info parameter filling the chunk.
    HeartbeatLength,
    /// ABORT or ERROR causes that do not tile the chunk, or that the library mis-reads.
    ErrorCauses,
    /// SHUTDOWN length other than 8.
    ShutdownLength,
    /// SHUTDOWN ACK, COOKIE ACK or SHUTDOWN COMPLETE length other than 4.
    EmptyChunkLength,
    /// RE-CONFIG that is not one or two well-formed request or response parameters filling the chunk.
    ReconfigParameters,
    /// FORWARD TSN length other than 8 + 4 · streams.
    ForwardTsnLength,
    /// FORWARD TSN too far from our acknowledged TSN, or before we know the peer's TSNs.
    ForwardTsnFar,
}

/// Admits inbound packets (see the module docs), and bounds FORWARD TSN jumps.
///
/// RFC 3758 §3.6 FORWARD TSN: the library walks one TSN at a time from its cumulative TSN to the new
/// one, so a FORWARD TSN 2^31 ahead costs ~2^31 steps (seconds of CPU per packet); its step does not
/// wrap at 2^32 either (decision 0009, defect 7: we build the library without overflow checks). A
/// FORWARD TSN more than
/// [`MAX_FORWARD_TSN_AHEAD`] past the cumulative TSN we last acknowledged (read from our own outbound
/// SACKs) or, before our first SACK, past the peer's initial TSN — or as far behind it — is refused.
#[derive(Clone, Debug, Default)]
pub(super) struct TsnGuard {
    /// Our last acknowledged TSN of the peer (or its initial TSN - 1 before our first SACK).
    acked: Option<u32>,
    /// Tests only: admit everything, to show what the library does with what we refuse.
    #[cfg(test)]
    pub(super) bypass: bool,
}

impl TsnGuard {
    /// Tests only: the cumulative TSN ack of our last SACK.
    #[cfg(test)]
    pub(super) fn acked(&self) -> Option<u32> {
        self.acked
    }

    /// Reads the cumulative TSN ack of a SACK we send.
    pub(super) fn observe_outbound(&mut self, packet: &[u8]) {
        let mut offset = COMMON_HEADER_LEN;
        while let Some(header) = packet.get(offset..offset + HEADER_LEN) {
            let len = usize::from(be16(header, 2));
            // `None` for a length below 4 (an inverted range) or past the packet.
            let Some(value) = packet.get(offset + HEADER_LEN..offset + len) else {
                return;
            };
            if header[0] == CHUNK_SACK && value.len() >= 4 {
                self.acked = Some(be32(value, 0));
            }
            offset += len.next_multiple_of(4);
        }
    }

    /// Whether an inbound packet may go to the library; see [`Self::check`].
    pub(super) fn admit(&mut self, packet: &[u8]) -> bool {
        #[cfg(test)]
        if self.bypass {
            return true;
        }
        self.check(packet).is_ok()
    }

    /// Checks every chunk of an inbound packet in one walk; learns the peer's initial TSN from an
    /// admitted INIT or INIT ACK until we have sent a SACK.
    pub(super) fn check(&mut self, packet: &[u8]) -> Result<(), Refusal> {
        if packet.len() <= COMMON_HEADER_LEN {
            return Err(Refusal::NoChunk);
        }
        let mut acked = self.acked;
        let mut offset = COMMON_HEADER_LEN;
        while offset < packet.len() {
            let rest = &packet[offset..];
            if rest.len() < HEADER_LEN {
                return Err(Refusal::ChunkLength);
            }
            let kind = rest[0];
            let len = usize::from(be16(rest, 2));
            if len < HEADER_LEN || len.next_multiple_of(4) > rest.len() {
                return Err(Refusal::ChunkLength);
            }
            let value = &rest[HEADER_LEN..len];
            check_chunk(kind, value)?;
            match kind {
                CHUNK_INIT | CHUNK_INIT_ACK => {
                    // The initial TSN follows the initiate tag, a_rwnd and the stream counts.
                    acked.get_or_insert(be32(value, 12).wrapping_sub(1));
                }
                CHUNK_FORWARD_TSN => {
                    let new = be32(value, 0);
                    // Ahead or behind our acknowledged TSN by a bounded amount only: the library's own
                    // cumulative TSN is at or a little past ours (not yet acknowledged), so a value
                    // "far behind" ours may be far ahead of the library's.
                    let near = |acked: u32| {
                        new.wrapping_sub(acked) <= MAX_FORWARD_TSN_AHEAD
                            || acked.wrapping_sub(new) <= MAX_FORWARD_TSN_AHEAD
                    };
                    if !acked.is_some_and(near) {
                        return Err(Refusal::ForwardTsnFar);
                    }
                }
                _ => {}
            }
            offset += len.next_multiple_of(4);
        }
        self.acked = acked;
        Ok(())
    }
}

/// The length rules of one chunk's value (the bytes after its 4-byte header, padding excluded).
fn check_chunk(kind: u8, value: &[u8]) -> Result<(), Refusal> {
    let (fits, refusal) = match kind {
        CHUNK_DATA => (value.len() >= 13, Refusal::DataLength),
        CHUNK_INIT | CHUNK_INIT_ACK if value.len() < 16 => (false, Refusal::InitLength),
        CHUNK_INIT | CHUNK_INIT_ACK => (init_parameters_fit(&value[16..]), Refusal::InitParameters),
        CHUNK_SACK => (sack_length_matches(value), Refusal::SackLength),
        CHUNK_HEARTBEAT => (heartbeat_fits(value), Refusal::HeartbeatLength),
        CHUNK_ABORT | CHUNK_ERROR => (error_causes_fit(value), Refusal::ErrorCauses),
        CHUNK_SHUTDOWN => (value.len() == 4, Refusal::ShutdownLength),
        CHUNK_SHUTDOWN_ACK | CHUNK_COOKIE_ACK | CHUNK_SHUTDOWN_COMPLETE => {
            (value.is_empty(), Refusal::EmptyChunkLength)
        }
        CHUNK_COOKIE_ECHO => return Ok(()),
        CHUNK_RECONFIG => (reconfig_fits(value), Refusal::ReconfigParameters),
        CHUNK_FORWARD_TSN => (
            value.len() >= 4 && value.len() % 4 == 0,
            Refusal::ForwardTsnLength,
        ),
        _ => (false, Refusal::UnknownChunk),
    };
    if fits { Ok(()) } else { Err(refusal) }
}

/// The length of the TLV (parameter or error cause) at the start of `rest`, if it has a header and
/// stays inside `rest`.
fn tlv_len(rest: &[u8]) -> Option<usize> {
    if rest.len() < HEADER_LEN {
        return None;
    }
    let len = usize::from(be16(rest, 2));
    (HEADER_LEN..=rest.len()).contains(&len).then_some(len)
}

/// INIT or INIT ACK parameters after the fixed part: see the module docs.
fn init_parameters_fit(params: &[u8]) -> bool {
    let mut offset = 0;
    while offset < params.len() {
        let rest = &params[offset..];
        // The library reads a parameter only while more than 4 bytes remain.
        if rest.len() <= HEADER_LEN {
            return false;
        }
        let Some(len) = tlv_len(rest) else {
            return false;
        };
        let ok = match be16(rest, 0) {
            PARAM_FORWARD_TSN_SUPPORTED => len == HEADER_LEN,
            PARAM_REQUESTED_HMAC_ALGORITHM => len % 2 == 0,
            _ => true,
        };
        if !ok {
            return false;
        }
        offset += len.next_multiple_of(4);
    }
    true
}

/// Whether a SACK's value is exactly its fixed part plus its gap blocks and duplicate TSNs
/// (RFC 9260 §3.3.4).
fn sack_length_matches(value: &[u8]) -> bool {
    if value.len() < 12 {
        return false;
    }
    let gaps = usize::from(be16(value, 8));
    let dups = usize::from(be16(value, 10));
    value.len() == 12 + 4 * (gaps + dups)
}

/// Whether a HEARTBEAT's value is one Heartbeat Info parameter, its padding at most after it.
fn heartbeat_fits(value: &[u8]) -> bool {
    tlv_len(value).is_some_and(|len| {
        be16(value, 0) == PARAM_HEARTBEAT_INFO && value.len() <= len.next_multiple_of(4)
    })
}

/// Whether the error causes of an ABORT or ERROR chunk tile its value as the library reads them.
fn error_causes_fit(value: &[u8]) -> bool {
    let mut offset = 0;
    while offset < value.len() {
        let Some(len) = tlv_len(&value[offset..]) else {
            return false;
        };
        let padded = len.next_multiple_of(4);
        // The library steps by the unpadded length: the padding of a cause that is not the last
        // would be read as the next cause.
        if offset + padded < value.len() && len != padded {
            return false;
        }
        offset += padded;
    }
    true
}

/// Whether a RE-CONFIG's value is one or two request or response parameters (RFC 6525 §3.1).
fn reconfig_fits(value: &[u8]) -> bool {
    let Some(first) = reconfig_parameter_len(value) else {
        return false;
    };
    let Some(rest) = value
        .get(first.next_multiple_of(4)..)
        .filter(|r| !r.is_empty())
    else {
        return true;
    };
    reconfig_parameter_len(rest).is_some_and(|second| rest.len() <= second.next_multiple_of(4))
}

/// The length of the RE-CONFIG parameter at the start of `rest`, if its type is one of RFC 6525 §4
/// with that type's length.
fn reconfig_parameter_len(rest: &[u8]) -> Option<usize> {
    let len = tlv_len(rest)?;
    let ok = match be16(rest, 0) {
        // Outgoing SSN Reset Request (§4.1): 16 + 2 · streams.
        13 => len >= 16 && len % 2 == 0,
        // Incoming SSN Reset Request (§4.2): 8 + 2 · streams.
        14 => len >= 8 && len % 2 == 0,
        // SSN/TSN Reset Request (§4.3).
        15 => len == 8,
        // Re-configuration Response (§4.4): 12, or 20 with the TSNs the library does not read.
        16 => len == 12,
        // Add Outgoing / Incoming Streams Request (§4.5, §4.6).
        17 | 18 => len == 12,
        _ => false,
    };
    ok.then_some(len)
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(chunk: &[u8]) -> Vec<u8> {
        let mut p = vec![0x13, 0x88, 0x13, 0x88, 1, 2, 3, 4, 0, 0, 0, 0];
        p.extend_from_slice(chunk);
        p
    }

    #[test]
    fn abort_with_well_formed_cause_passes() {
        // ABORT, length 8, cause 12 (User-Initiated Abort) of length 4.
        let mut guard = TsnGuard::default();
        assert_eq!(guard.check(&packet(&[6, 0, 0, 8, 0, 12, 0, 4])), Ok(()));
        assert_eq!(guard.check(&packet(&[6, 0, 0, 4])), Ok(()));
    }

    #[test]
    fn abort_or_error_with_overlong_cause_is_refused() {
        let mut guard = TsnGuard::default();
        for chunk in [
            &[6, 0, 0, 8, 0, 12, 0xed, 0xdd][..],
            &[9, 0, 0, 12, 0, 1, 0, 4, 0, 2, 0, 9],
            &[6, 0, 0, 8, 0, 12, 0, 0],
            // Behind a well-formed first chunk (a COOKIE ACK).
            &[11, 0, 0, 4, 6, 0, 0, 8, 0, 12, 0, 5],
        ] {
            assert_eq!(
                guard.check(&packet(chunk)),
                Err(Refusal::ErrorCauses),
                "{chunk:?}"
            );
        }
    }

    #[test]
    fn sack_whose_length_disagrees_with_its_counts_is_refused() {
        // SACK: cum TSN, a_rwnd, 1 gap block, 0 duplicates, then the gap block: length 20.
        let good = [3, 0, 0, 20, 0, 0, 0, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3];
        let mut guard = TsnGuard::default();
        assert_eq!(guard.check(&packet(&good)), Ok(()));
        // Same counts, 4 more bytes hiding an ABORT the library would land on.
        let mut hiding = good.to_vec();
        hiding[3] = 24;
        hiding.extend_from_slice(&[6, 0, 0, 8]);
        assert_eq!(guard.check(&packet(&hiding)), Err(Refusal::SackLength));
    }

    #[test]
    fn broken_framing_is_refused() {
        let mut guard = TsnGuard::default();
        assert_eq!(
            guard.check(&packet(&[6, 0, 0, 2])),
            Err(Refusal::ChunkLength)
        );
        assert_eq!(
            guard.check(&packet(&[6, 0, 0, 200, 0, 1])),
            Err(Refusal::ChunkLength)
        );
        assert_eq!(guard.check(&packet(&[])), Err(Refusal::NoChunk));
        assert_eq!(guard.check(&[0; 3]), Err(Refusal::NoChunk));
    }

    #[test]
    fn forward_tsn_far_ahead_of_our_last_sack_is_refused() {
        let forward = |tsn: u32| {
            let mut chunk = vec![192, 0, 0, 8];
            chunk.extend_from_slice(&tsn.to_be_bytes());
            packet(&chunk)
        };
        let mut guard = TsnGuard::default();
        assert_eq!(
            guard.check(&forward(10)),
            Err(Refusal::ForwardTsnFar),
            "no baseline yet"
        );
        // Peer's INIT with initial TSN 1000.
        let mut init = vec![1, 0, 0, 20, 0, 0, 0, 1, 0, 1, 0, 0, 0, 4, 0, 4];
        init.extend_from_slice(&1000u32.to_be_bytes());
        assert!(guard.admit(&packet(&init)));
        assert!(guard.admit(&forward(1000 + MAX_FORWARD_TSN_AHEAD - 1)));
        assert!(!guard.admit(&forward(1000 + MAX_FORWARD_TSN_AHEAD)));
        assert!(
            guard.admit(&forward(5)),
            "a little behind is the library's business"
        );
        assert!(
            !guard.admit(&forward(1000u32.wrapping_add(1 << 31))),
            "far behind may be far ahead"
        );
        // Our SACK acknowledging u32::MAX - 2 moves the window across the wrap.
        let mut sack = vec![3, 0, 0, 16];
        sack.extend_from_slice(&(u32::MAX - 2).to_be_bytes());
        sack.extend_from_slice(&[0; 8]);
        guard.observe_outbound(&packet(&sack));
        assert!(guard.admit(&forward(100)));
        assert!(!guard.admit(&forward(MAX_FORWARD_TSN_AHEAD)));
    }

    #[test]
    fn a_refused_init_teaches_nothing() {
        let mut guard = TsnGuard::default();
        // INIT with initial TSN 1000, then a stray byte: refused, so no baseline.
        let mut init = vec![1, 0, 0, 20, 0, 0, 0, 1, 0, 1, 0, 0, 0, 4, 0, 4];
        init.extend_from_slice(&1000u32.to_be_bytes());
        init.push(0);
        assert_eq!(guard.check(&packet(&init)), Err(Refusal::ChunkLength));
        assert_eq!(
            guard.check(&packet(&[192, 0, 0, 8, 0, 0, 3, 0xe8])),
            Err(Refusal::ForwardTsnFar)
        );
    }

    #[test]
    fn observe_outbound_stops_at_broken_framing() {
        let mut guard = TsnGuard::default();
        guard.observe_outbound(&packet(&[3, 0, 0, 2, 0, 0]));
        guard.observe_outbound(&packet(&[3, 0, 0, 40, 0, 0, 0, 9]));
        assert_eq!(guard.acked, None);
    }
}
