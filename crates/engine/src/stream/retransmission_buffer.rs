//! The recent packets of one producer stream, kept to answer consumers' NACKs (RFC 4585 §6.2.1).
//!
//! Owns: a fixed ring of packet slots allocated once, indexed by sequence number. Storing and looking up
//! never allocate. Must not: know consumers' sequence numbers (they map theirs back to the producer's).

use std::time::{Duration, Instant};

/// Largest packet kept (an MTU-sized datagram).
pub const MAX_PACKET: usize = 1500;

#[derive(Clone)]
struct Slot {
    seq: u16,
    len: usize,
    stored_at: Option<Instant>,
    bytes: [u8; MAX_PACKET],
}

/// A ring of recent packets keyed by sequence number.
pub struct RetransmissionBuffer {
    slots: Box<[Slot]>,
    max_age: Duration,
}

impl std::fmt::Debug for RetransmissionBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetransmissionBuffer")
            .field("capacity", &self.slots.len())
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl RetransmissionBuffer {
    /// A buffer of `capacity` packets (at least 1) that forgets packets older than `max_age`.
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        let empty = Slot {
            seq: 0,
            len: 0,
            stored_at: None,
            bytes: [0; MAX_PACKET],
        };
        Self {
            slots: vec![empty; capacity.max(1)].into_boxed_slice(),
            max_age,
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn index(&self, seq: u16) -> usize {
        usize::from(seq) % self.slots.len()
    }

    /// Keeps a packet (a copy of its bytes); packets larger than [`MAX_PACKET`] are not kept.
    pub fn insert(&mut self, seq: u16, packet: &[u8], now: Instant) {
        if packet.len() > MAX_PACKET {
            return;
        }
        let i = self.index(seq);
        let slot = &mut self.slots[i];
        slot.seq = seq;
        slot.len = packet.len();
        slot.stored_at = Some(now);
        slot.bytes[..packet.len()].copy_from_slice(packet);
    }

    /// The packet with this sequence number, if still kept and not older than the maximum age.
    pub fn get(&self, seq: u16, now: Instant) -> Option<&[u8]> {
        let slot = &self.slots[self.index(seq)];
        let stored_at = slot.stored_at?;
        (slot.seq == seq && now.saturating_duration_since(stored_at) <= self.max_age)
            .then(|| &slot.bytes[..slot.len])
    }

    /// Forgets every packet (the source restarted).
    pub fn clear(&mut self) {
        for slot in self.slots.iter_mut() {
            slot.stored_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_recent_packets_by_sequence() {
        let now = Instant::now();
        let mut b = RetransmissionBuffer::new(4, Duration::from_secs(1));
        for seq in 10..16u16 {
            b.insert(seq, &[seq as u8; 3], now);
        }
        assert_eq!(b.get(15, now), Some(&[15u8; 3][..]));
        assert_eq!(b.get(12, now), Some(&[12u8; 3][..]));
        assert_eq!(b.get(11, now), None, "overwritten by 15");
        assert_eq!(b.get(99, now), None);
    }

    #[test]
    fn forgets_old_and_oversized_packets() {
        let now = Instant::now();
        let mut b = RetransmissionBuffer::new(8, Duration::from_millis(100));
        b.insert(1, b"x", now);
        assert!(b.get(1, now + Duration::from_millis(100)).is_some());
        assert!(b.get(1, now + Duration::from_millis(101)).is_none());
        b.insert(2, &[0; MAX_PACKET + 1], now);
        assert!(b.get(2, now).is_none());
        b.clear();
        assert!(b.get(1, now).is_none());
    }
}
