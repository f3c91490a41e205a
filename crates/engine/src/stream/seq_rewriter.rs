//! Send-side sequence number rewriting of one consumer stream: gap-free output across pauses, stream
//! changes and dropped packets (mediasoup's SeqManager, livekit's munger).
//!
//! Owns: the input → output mapping. Must not: decide which packets to drop (the consumer does) or look at
//! payloads.

/// Drop points remembered for late packets that arrive after a drop (serial-number window).
const DROP_MEMORY: usize = 64;
/// How far behind the newest input a late packet may be. The refusal point (and the drops that count)
/// trail the newest input by at most this, so serial comparisons against them stay within half the
/// sequence space (RFC 1982) however long the stream runs.
const MAX_LATE: u16 = 0x4000;

/// Maps a source's sequence numbers onto a consumer's contiguous output sequence.
#[derive(Clone, Debug)]
pub struct SeqRewriter {
    /// Output = input + offset (wrapping), for inputs newer than every remembered drop.
    offset: u16,
    /// Oldest input accepted: the sync point, trailing the newest input by at most [`MAX_LATE`]; older
    /// inputs are refused.
    base_in: u16,
    highest_in: u16,
    last_out: u16,
    synced: bool,
    started: bool,
    drops: [u16; DROP_MEMORY],
    drop_count: usize,
    drop_head: usize,
}

impl SeqRewriter {
    /// A rewriter whose first output will be `initial_out`.
    pub fn new(initial_out: u16) -> Self {
        Self {
            offset: 0,
            base_in: 0,
            highest_in: 0,
            last_out: initial_out.wrapping_sub(1),
            synced: false,
            started: false,
            drops: [0; DROP_MEMORY],
            drop_count: 0,
            drop_head: 0,
        }
    }

    /// Makes `input` the next output after the last one emitted (or the initial one): call it on the first
    /// packet to forward after a pause, a resume or a change of source stream.
    pub fn sync(&mut self, input: u16) {
        self.offset = self.last_out.wrapping_add(1).wrapping_sub(input);
        self.base_in = input;
        self.highest_in = input.wrapping_sub(1);
        self.drop_count = 0;
        self.synced = true;
        self.started = true;
    }

    /// Whether [`SeqRewriter::sync`] was called since creation or [`SeqRewriter::unsync`].
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Forgets the mapping: nothing is forwarded until the next sync (pause, stream change).
    pub fn unsync(&mut self) {
        self.synced = false;
    }

    /// The last output sequence number emitted, if any.
    pub fn last_out(&self) -> Option<u16> {
        self.started.then_some(self.last_out)
    }

    /// The output sequence number for `input`, or `None` when it predates the last sync or was dropped.
    pub fn rewrite(&mut self, input: u16) -> Option<u16> {
        if !self.synced || is_older(input, self.base_in) {
            return None;
        }
        let newer = !is_older(input, self.highest_in) && input != self.highest_in;
        let later_drops = self.recent_drops().filter(|&d| is_older(input, d)).count() as u16;
        if self.recent_drops().any(|d| d == input) {
            return None;
        }
        let out = input.wrapping_add(self.offset).wrapping_add(later_drops);
        if newer {
            self.advance(input);
            self.last_out = out;
        }
        Some(out)
    }

    /// Makes `input` the newest input, pulling the refusal point along behind it and forgetting the drops
    /// it passed (no input older than it is accepted, so they no longer shift anything).
    fn advance(&mut self, input: u16) {
        self.highest_in = input;
        if input.wrapping_sub(self.base_in) > MAX_LATE {
            self.base_in = input.wrapping_sub(MAX_LATE);
            // Drops are recorded in input order: the oldest is `drop_count` slots behind the head.
            while self.drop_count > 0 {
                let oldest =
                    self.drops[(self.drop_head + DROP_MEMORY - self.drop_count) % DROP_MEMORY];
                if !is_older(oldest, self.base_in) {
                    break;
                }
                self.drop_count -= 1;
            }
        }
    }

    /// Drops `input` (the newest input so far) without leaving a gap: later inputs shift down by one.
    pub fn drop_input(&mut self, input: u16) {
        if !self.synced || is_older(input, self.base_in) {
            return;
        }
        self.offset = self.offset.wrapping_sub(1);
        if !is_older(input, self.highest_in) {
            self.advance(input);
        }
        self.drops[self.drop_head] = input;
        self.drop_head = (self.drop_head + 1) % DROP_MEMORY;
        self.drop_count = (self.drop_count + 1).min(DROP_MEMORY);
    }

    fn recent_drops(&self) -> impl Iterator<Item = u16> + '_ {
        (0..self.drop_count)
            .map(move |i| self.drops[(self.drop_head + DROP_MEMORY - 1 - i) % DROP_MEMORY])
    }
}

/// Serial-number comparison (RFC 1982): whether `a` comes before `b`.
pub fn is_older(a: u16, b: u16) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_before_the_first_sync() {
        let mut r = SeqRewriter::new(1000);
        assert_eq!(r.rewrite(5), None);
        r.sync(5);
        assert_eq!(r.rewrite(5), Some(1000));
        assert_eq!(r.rewrite(6), Some(1001));
        assert_eq!(r.rewrite(4), None, "older than the sync point");
    }

    #[test]
    fn resync_after_a_pause_leaves_no_gap() {
        let mut r = SeqRewriter::new(0);
        r.sync(100);
        for seq in 100..110 {
            r.rewrite(seq);
        }
        assert_eq!(r.last_out(), Some(9));
        r.unsync();
        assert_eq!(r.rewrite(150), None, "paused");
        r.sync(200);
        assert_eq!(r.rewrite(200), Some(10));
        assert_eq!(r.rewrite(201), Some(11));
    }

    #[test]
    fn late_packets_keep_their_slot() {
        let mut r = SeqRewriter::new(0);
        r.sync(10);
        assert_eq!(r.rewrite(10), Some(0));
        assert_eq!(r.rewrite(12), Some(2));
        assert_eq!(r.rewrite(11), Some(1));
        assert_eq!(r.last_out(), Some(2));
    }

    #[test]
    fn drops_shift_later_packets_down() {
        let mut r = SeqRewriter::new(0);
        r.sync(10);
        assert_eq!(r.rewrite(10), Some(0));
        r.drop_input(11);
        assert_eq!(r.rewrite(12), Some(1));
        assert_eq!(r.rewrite(11), None, "a dropped packet stays dropped");
        // A packet from before the drop, arriving late, keeps its own slot.
        r.drop_input(13);
        assert_eq!(r.rewrite(14), Some(2));
    }

    #[test]
    fn long_streams_keep_flowing_past_half_the_sequence_space() {
        // Found by benches/fanout.rs: the sync point stayed fixed, so 32,768 packets after it every input
        // compared as older and the consumer went silent for the next 32,768 (5 minutes at 110 pps).
        let mut r = SeqRewriter::new(0);
        r.sync(1000);
        r.drop_input(1000);
        let mut expected = 0u16;
        for i in 1..200_000u32 {
            let seq = 1000u16.wrapping_add(i as u16);
            assert_eq!(r.rewrite(seq), Some(expected), "input {i}");
            expected = expected.wrapping_add(1);
        }
        let newest = 1000u16.wrapping_add(199_999u32 as u16);
        assert_eq!(
            r.rewrite(newest.wrapping_sub(100)),
            Some(expected.wrapping_sub(101))
        );
        assert_eq!(
            r.rewrite(newest.wrapping_sub(MAX_LATE + 1)),
            None,
            "too late"
        );
    }

    #[test]
    fn wraps_around() {
        let mut r = SeqRewriter::new(65535);
        r.sync(65534);
        assert_eq!(r.rewrite(65534), Some(65535));
        assert_eq!(r.rewrite(65535), Some(0));
        assert_eq!(r.rewrite(0), Some(1));
        assert!(is_older(65535, 0));
        assert!(!is_older(0, 65535));
    }
}
