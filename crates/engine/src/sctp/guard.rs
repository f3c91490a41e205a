//! Pre-checks on inbound SCTP packets for inputs that make `rtc-sctp` 0.21.1 panic instead of returning
//! an error, so that [`super::SctpAssociation`] can drop them first.
//!
//! Owns: the list of such inputs, each with the test that found it. Must not: re-implement SCTP parsing;
//! anything the library rejects cleanly by itself is left to it.
//!
//! The library re-frames a packet by the re-encoded size of each chunk it parsed, not by the chunk's
//! length field, so a chunk whose length disagrees with its content makes it read the next "chunk" from
//! inside this one. We refuse the disagreement where it is cheap to see (SACK: 16 bytes plus 4 per gap
//! block and duplicate TSN).
//!
//! Known defects:
//! - RFC 9260 §3.3.10 error causes inside ABORT and ERROR chunks: a cause whose length runs past the
//!   end of its chunk makes the library slice out of range (panic).
//! - RFC 3758 §3.6 FORWARD TSN: the library walks one TSN at a time from its cumulative TSN to the new
//!   one, so a FORWARD TSN 2^31 ahead costs ~2^31 steps (seconds of CPU per packet), and overflows
//!   (panics with overflow checks) when the walk crosses 2^32. [`TsnGuard`] refuses a FORWARD TSN more
//!   than [`MAX_FORWARD_TSN_AHEAD`] past the cumulative TSN we last acknowledged (read from our own
//!   outbound SACKs) or, before our first SACK, past the peer's initial TSN — or as far behind it.

/// SCTP common header length (RFC 9260 §3.1).
const COMMON_HEADER_LEN: usize = 12;
/// Chunk header length (RFC 9260 §3.2).
const CHUNK_HEADER_LEN: usize = 4;
/// ABORT chunk type (RFC 9260 §3.3.7).
const CHUNK_ABORT: u8 = 6;
/// ERROR chunk type (RFC 9260 §3.3.10).
const CHUNK_ERROR: u8 = 9;

/// SACK chunk type (RFC 9260 §3.3.4).
const CHUNK_SACK: u8 = 3;
/// INIT chunk type (RFC 9260 §3.3.2).
const CHUNK_INIT: u8 = 1;
/// INIT ACK chunk type (RFC 9260 §3.3.3).
const CHUNK_INIT_ACK: u8 = 2;
/// FORWARD TSN chunk type (RFC 3758 §3.2).
const CHUNK_FORWARD_TSN: u8 = 192;
/// Largest legitimate lead of a FORWARD TSN over our last acknowledged TSN: more TSNs than any sender
/// keeps outstanding, and a walk the library does in about a millisecond.
pub(super) const MAX_FORWARD_TSN_AHEAD: u32 = 1 << 16;

/// Tracks the cumulative TSN we acknowledged, to bound FORWARD TSN jumps (see the module docs).
#[derive(Debug, Default)]
pub(super) struct TsnGuard {
    /// Our last acknowledged TSN of the peer (or its initial TSN - 1 before our first SACK).
    acked: Option<u32>,
}

impl TsnGuard {
    /// Reads the cumulative TSN ack of a SACK we send.
    pub(super) fn observe_outbound(&mut self, packet: &[u8]) {
        for (kind, value) in chunks(packet) {
            if kind == CHUNK_SACK && value.len() >= 4 {
                self.acked = Some(u32::from_be_bytes([value[0], value[1], value[2], value[3]]));
            }
        }
    }

    /// Whether an inbound packet may go to the library; learns the peer's initial TSN from its INIT or
    /// INIT ACK until we have sent a SACK.
    pub(super) fn admit(&mut self, packet: &[u8]) -> bool {
        if !is_safe_for_library(packet) {
            return false;
        }
        for (kind, value) in chunks(packet) {
            match kind {
                CHUNK_INIT | CHUNK_INIT_ACK if value.len() >= 16 => {
                    let initial = u32::from_be_bytes([value[12], value[13], value[14], value[15]]);
                    self.acked.get_or_insert(initial.wrapping_sub(1));
                }
                CHUNK_FORWARD_TSN if value.len() >= 4 => {
                    let new = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                    // Ahead or behind our acknowledged TSN by a bounded amount only: the library's own
                    // cumulative TSN is at or a little past ours (not yet acknowledged), so a value
                    // "far behind" ours may be far ahead of the library's.
                    let near = |acked: u32| {
                        new.wrapping_sub(acked) <= MAX_FORWARD_TSN_AHEAD
                            || acked.wrapping_sub(new) <= MAX_FORWARD_TSN_AHEAD
                    };
                    if !self.acked.is_some_and(near) {
                        return false;
                    }
                }
                _ => {}
            }
        }
        true
    }
}

/// The well-framed chunks of a packet, as (type, value); stops at the first framing error.
fn chunks(packet: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut offset = COMMON_HEADER_LEN;
    std::iter::from_fn(move || {
        if offset + CHUNK_HEADER_LEN > packet.len() {
            return None;
        }
        let kind = packet[offset];
        let len = usize::from(u16::from_be_bytes([packet[offset + 2], packet[offset + 3]]));
        if len < CHUNK_HEADER_LEN || offset + len > packet.len() {
            return None;
        }
        let value = &packet[offset + CHUNK_HEADER_LEN..offset + len];
        offset += len.next_multiple_of(4);
        Some((kind, value))
    })
}

/// Whether `packet` is free of the inputs known to panic the library. Framing errors the library
/// reports by itself (short chunks, lengths past the packet) pass: it drops those cleanly.
pub(super) fn is_safe_for_library(packet: &[u8]) -> bool {
    let mut offset = COMMON_HEADER_LEN;
    while offset + CHUNK_HEADER_LEN <= packet.len() {
        let kind = packet[offset];
        let len = usize::from(u16::from_be_bytes([packet[offset + 2], packet[offset + 3]]));
        if len < CHUNK_HEADER_LEN || offset + len > packet.len() {
            return true; // the library refuses this framing without panicking
        }
        let value = &packet[offset + CHUNK_HEADER_LEN..offset + len];
        if matches!(kind, CHUNK_ABORT | CHUNK_ERROR) && !error_causes_fit(value) {
            return false;
        }
        if kind == CHUNK_SACK && !sack_length_matches(value) {
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
        return true; // the library refuses it
    }
    let gaps = usize::from(u16::from_be_bytes([value[8], value[9]]));
    let dups = usize::from(u16::from_be_bytes([value[10], value[11]]));
    value.len() == 12 + 4 * (gaps + dups)
}

/// Whether every error cause in an ABORT or ERROR chunk's value stays inside it.
fn error_causes_fit(value: &[u8]) -> bool {
    let mut offset = 0;
    while offset + 4 <= value.len() {
        let len = usize::from(u16::from_be_bytes([value[offset + 2], value[offset + 3]]));
        if len < 4 || offset + len > value.len() {
            return false;
        }
        offset += len;
    }
    true
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
        assert!(is_safe_for_library(&packet(&[6, 0, 0, 8, 0, 12, 0, 4])));
        assert!(is_safe_for_library(&packet(&[6, 0, 0, 4])));
    }

    #[test]
    fn abort_or_error_with_overlong_cause_is_refused() {
        assert!(!is_safe_for_library(&packet(&[
            6, 0, 0, 8, 0, 12, 0xed, 0xdd
        ])));
        assert!(!is_safe_for_library(&packet(&[
            9, 0, 0, 12, 0, 1, 0, 4, 0, 2, 0, 9
        ])));
        assert!(!is_safe_for_library(&packet(&[6, 0, 0, 8, 0, 12, 0, 0])));
        // Behind a well-formed first chunk (a SACK header-only chunk of length 4).
        assert!(!is_safe_for_library(&packet(&[
            3, 0, 0, 4, 6, 0, 0, 8, 0, 12, 0, 5
        ])));
    }

    #[test]
    fn forward_tsn_far_ahead_of_our_last_sack_is_refused() {
        let forward = |tsn: u32| {
            let mut chunk = vec![192, 0, 0, 8];
            chunk.extend_from_slice(&tsn.to_be_bytes());
            packet(&chunk)
        };
        let mut guard = TsnGuard::default();
        assert!(!guard.admit(&forward(10)), "no baseline yet");
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
    fn sack_whose_length_disagrees_with_its_counts_is_refused() {
        // SACK: cum TSN, a_rwnd, 1 gap block, 0 duplicates, then the gap block: length 20.
        let good = [3, 0, 0, 20, 0, 0, 0, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3];
        assert!(is_safe_for_library(&packet(&good)));
        // Same counts, 4 more bytes hiding an ABORT the library would land on.
        let mut hiding = good.to_vec();
        hiding[3] = 24;
        hiding.extend_from_slice(&[6, 0, 0, 8]);
        assert!(!is_safe_for_library(&packet(&hiding)));
    }

    #[test]
    fn broken_framing_is_left_to_the_library() {
        assert!(is_safe_for_library(&packet(&[6, 0, 0, 2])));
        assert!(is_safe_for_library(&packet(&[6, 0, 0, 200, 0, 1])));
        assert!(is_safe_for_library(&[0; 3]));
    }
}
