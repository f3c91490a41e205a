//! Receive-side sequence tracking of one RTP source (RFC 3550 §6.4.1 and Appendix A.1, A.3).
//!
//! Owns: the extended highest sequence number, the counts behind cumulative loss and the per-report fraction
//! lost. Must not: look at payloads or time.
//!
//! Unlike RFC 3550 A.1, a new source is trusted from its first packet (no probation), as mediasoup does: an
//! SFU must not drop the first packets of a stream, which are usually a keyframe's.

/// Largest forward jump still taken as in order (mediasoup: 3000).
const MAX_DROPOUT: u16 = 3000;
/// Largest backward distance taken as a late (reordered or retransmitted) packet (mediasoup: 1500).
const MAX_MISORDER: u16 = 1500;
const SEQ_MOD: u32 = 1 << 16;

/// What became of a packet's sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceVerdict {
    /// In order (possibly after a gap): the packet advanced the highest sequence number.
    Advanced,
    /// Older than the highest sequence number but close enough: reordered, retransmitted or duplicate.
    Late,
    /// A jump too large to trust yet (the source may have restarted; the next packet decides): drop it.
    Rejected,
}

/// RFC 3550 A.1 source state plus the counters of a reception report.
#[derive(Clone, Debug, Default)]
pub struct SequenceTracker {
    started: bool,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
}

impl SequenceTracker {
    /// A tracker for a source not heard from yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn init(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.expected_prior = 0;
        self.received_prior = 0;
    }

    /// Takes one packet's sequence number.
    pub fn handle(&mut self, seq: u16) -> SequenceVerdict {
        if !self.started {
            self.started = true;
            self.init(seq);
            self.received = 1;
            return SequenceVerdict::Advanced;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if udelta != 0 && udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
        } else if udelta != 0 && udelta <= u16::MAX - MAX_MISORDER {
            // A very large jump: the source may have restarted. Trust it on the second packet in a row.
            if u32::from(seq) == self.bad_seq {
                self.init(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return SequenceVerdict::Rejected;
            }
        } else {
            self.received += 1;
            return SequenceVerdict::Late;
        }
        self.received += 1;
        SequenceVerdict::Advanced
    }

    /// Whether a packet was seen.
    pub fn is_valid(&self) -> bool {
        self.started
    }

    /// Highest sequence number with its wrap-around count in the upper 16 bits.
    pub fn extended_highest(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected since the first one (RFC 3550 A.3).
    pub fn expected(&self) -> u64 {
        if !self.is_valid() {
            return 0;
        }
        u64::from(self.extended_highest()) + 1 - u64::from(self.base_seq)
    }

    /// Packets received (duplicates included, as RFC 3550 counts them).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Cumulative packets lost, clamped to the 24-bit signed range of a report block.
    pub fn cumulative_lost(&self) -> i32 {
        let lost = self.expected() as i64 - self.received as i64;
        lost.clamp(-0x80_0000, 0x7F_FFFF) as i32
    }

    /// Fraction lost since the previous call, in 1/256 (RFC 3550 A.3); starts a new interval.
    pub fn take_fraction_lost(&mut self) -> u8 {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_from_the_first_packet() {
        let mut t = SequenceTracker::new();
        for seq in 100..200 {
            assert_eq!(t.handle(seq), SequenceVerdict::Advanced);
        }
        assert!(t.is_valid());
        assert_eq!(t.expected(), 100);
        assert_eq!(t.received(), 100);
        assert_eq!(t.cumulative_lost(), 0);
    }

    #[test]
    fn wraps_around() {
        let mut t = SequenceTracker::new();
        for seq in [65534, 65535, 0, 1] {
            assert_eq!(t.handle(seq), SequenceVerdict::Advanced);
        }
        assert_eq!(t.extended_highest(), 65536 + 1);
        assert_eq!(t.expected(), 4);
    }

    #[test]
    fn loss_and_fraction_lost() {
        let mut t = SequenceTracker::new();
        // 0..=99 but for every fourth packet.
        for seq in 0..100u16 {
            if seq % 4 != 3 {
                t.handle(seq);
            }
        }
        assert_eq!(t.expected(), 99, "the highest received is 98");
        assert_eq!(t.cumulative_lost(), 24);
        assert_eq!(t.take_fraction_lost(), (24 * 256 / 99) as u8);
        // A late arrival is counted as received; the next interval has no loss.
        assert_eq!(t.handle(3), SequenceVerdict::Late);
        assert_eq!(
            t.handle(3),
            SequenceVerdict::Late,
            "a duplicate is late too"
        );
        assert_eq!(t.take_fraction_lost(), 0);
    }

    #[test]
    fn a_restarted_source_is_trusted_on_its_second_packet() {
        let mut t = SequenceTracker::new();
        t.handle(1000);
        t.handle(1001);
        assert_eq!(t.handle(30000), SequenceVerdict::Rejected);
        assert_eq!(t.handle(30001), SequenceVerdict::Advanced);
        assert_eq!(t.handle(30002), SequenceVerdict::Advanced);
        assert_eq!(t.expected(), 2);
    }
}
