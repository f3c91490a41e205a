//! [`NackGenerator`]: which packets of an incoming stream to ask the sender for again, and when
//! (RFC 4585 §6.2.1 generic NACK, receiver side; mediasoup's NackGenerator, libwebrtc's NackRequester).
//!
//! Owns: the sequence numbers found missing between received packets, each with its retry count and the
//! instant its next request is due; the recent keyframes' sequence numbers, used to give up on losses a
//! keyframe has made irrelevant when too many are pending. Must not: build RTCP, read the clock (time is
//! an argument), or allocate after construction (the pending list and the keyframe ring are sized once).
//!
//! Rules, on extended (wrap-free) sequence numbers:
//! - a packet ahead of the highest seen records every number in between as missing, due at once: the
//!   router runs timeouts after each receive batch, so a packet reordered within one batch is never asked
//!   for;
//! - a missing packet that arrives (late original or RTX) is no longer pending ([`NackVerdict::Recovered`]);
//! - a missing number is asked for again `rtt × 1.25^(n-1)` after its n-th request (at least
//!   [`MIN_RETRY_INTERVAL`]), at most [`MAX_RETRIES`] times, then given up;
//! - numbers more than [`MAX_PACKET_AGE`] behind the highest are forgotten;
//! - if more than [`MAX_NACK_PACKETS`] would be pending, losses older than the oldest recent keyframe are
//!   dropped first; if that is not enough, or a single gap is larger than that, everything is dropped and
//!   a keyframe is asked for instead ([`NackVerdict::KeyframeNeeded`]), as mediasoup does;
//! - a jump back of more than [`MAX_PACKET_AGE`] is a restarted source: the state starts again from it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Sequence numbers further behind the highest than this are not asked for (mediasoup: 10000).
pub const MAX_PACKET_AGE: i64 = 10_000;
/// Most sequence numbers pending at once (mediasoup: 1000).
pub const MAX_NACK_PACKETS: usize = 1000;
/// Most requests for one sequence number (mediasoup: 10).
pub const MAX_RETRIES: u8 = 10;
/// Round-trip time assumed until one is measured (mediasoup: 100 ms).
pub const DEFAULT_RTT: Duration = Duration::from_millis(100);
/// Shortest wait between two requests for the same number.
pub const MIN_RETRY_INTERVAL: Duration = Duration::from_millis(20);
/// Recent keyframes remembered for the overflow cleanup.
const KEYFRAMES: usize = 16;
/// `1.25^n` in thousandths, n = 0..MAX_RETRIES: the backoff of the n+1-th retry.
const BACKOFF_PER_MILLE: [u32; MAX_RETRIES as usize] =
    [1000, 1250, 1563, 1953, 2441, 3052, 3815, 4768, 5960, 7451];

/// What a received sequence number meant to the generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NackVerdict {
    /// Ahead of the highest seen (any gap before it is now pending), or the first packet.
    New,
    /// A pending (missing) number arrived: the gap is filled.
    Recovered,
    /// Not ahead and not pending: a duplicate, or older than anything tracked.
    Late,
    /// The gap was too large to repair by NACK: nothing is pending, ask the sender for a keyframe.
    KeyframeNeeded,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    ext: i64,
    retries: u8,
    due: Instant,
}

/// Missing sequence numbers of one stream and their request schedule.
#[derive(Debug)]
pub struct NackGenerator {
    /// Highest extended sequence number seen.
    highest: Option<i64>,
    /// Missing numbers, ascending; never longer than [`MAX_NACK_PACKETS`].
    pending: VecDeque<Pending>,
    /// Extended numbers of recent keyframes, ascending (oldest first).
    keyframes: [i64; KEYFRAMES],
    keyframe_count: usize,
    rtt: Duration,
    /// No request is due before this (may be early after a recovery; never late).
    next_due: Option<Instant>,
    gave_up: u64,
}

impl Default for NackGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl NackGenerator {
    /// A generator that has seen nothing, assuming [`DEFAULT_RTT`].
    pub fn new() -> Self {
        Self {
            highest: None,
            pending: VecDeque::with_capacity(MAX_NACK_PACKETS),
            keyframes: [0; KEYFRAMES],
            keyframe_count: 0,
            rtt: DEFAULT_RTT,
            next_due: None,
            gave_up: 0,
        }
    }

    /// Sets the round-trip time to the sender, which paces retries.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// Sequence numbers pending now.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Sequence numbers given up after [`MAX_RETRIES`] requests.
    pub fn gave_up(&self) -> u64 {
        self.gave_up
    }

    /// Whether `seq` is pending.
    pub fn is_pending(&self, seq: u16) -> bool {
        self.highest
            .is_some_and(|h| self.find(extend(h, seq)).is_ok())
    }

    fn find(&self, ext: i64) -> Result<usize, usize> {
        self.pending.binary_search_by_key(&ext, |p| p.ext)
    }

    /// Forgets everything (the sender restarted its stream).
    pub fn reset(&mut self) {
        self.highest = None;
        self.pending.clear();
        self.keyframe_count = 0;
        self.next_due = None;
    }

    /// Takes a received sequence number (from the original stream or unwrapped from RTX).
    pub fn handle_packet(&mut self, now: Instant, seq: u16, keyframe: bool) -> NackVerdict {
        let Some(highest) = self.highest else {
            self.restart(seq, keyframe);
            return NackVerdict::New;
        };
        let ext = extend(highest, seq);
        if ext <= highest {
            if let Ok(i) = self.find(ext) {
                self.pending.remove(i);
                return NackVerdict::Recovered;
            }
            if highest - ext > MAX_PACKET_AGE {
                self.restart(seq, keyframe);
                return NackVerdict::New;
            }
            return NackVerdict::Late;
        }
        self.highest = Some(ext);
        if keyframe {
            self.push_keyframe(ext);
        }
        let missing = (ext - highest - 1) as usize;
        if missing == 0 {
            return NackVerdict::New;
        }
        self.add_missing(now, highest + 1, ext, keyframe)
    }

    fn restart(&mut self, seq: u16, keyframe: bool) {
        self.reset();
        let ext = i64::from(seq);
        self.highest = Some(ext);
        if keyframe {
            self.push_keyframe(ext);
        }
    }

    fn push_keyframe(&mut self, ext: i64) {
        if self.keyframe_count == KEYFRAMES {
            self.keyframes.copy_within(1.., 0);
            self.keyframe_count -= 1;
        }
        self.keyframes[self.keyframe_count] = ext;
        self.keyframe_count += 1;
    }

    /// Drops pending numbers older than the oldest remembered keyframe; false when there is none.
    fn drop_until_keyframe(&mut self) -> bool {
        let Some(front) = self.pending.front().map(|p| p.ext) else {
            return false;
        };
        let Some(k) = self.keyframes[..self.keyframe_count]
            .iter()
            .position(|&k| k > front)
        else {
            return false;
        };
        let keyframe = self.keyframes[k];
        self.keyframes.copy_within(k + 1..self.keyframe_count, 0);
        self.keyframe_count -= k + 1;
        while self.pending.front().is_some_and(|p| p.ext < keyframe) {
            self.pending.pop_front();
        }
        true
    }

    /// Records `from..to` (extended, `to` excluded) as missing.
    fn add_missing(&mut self, now: Instant, from: i64, to: i64, keyframe: bool) -> NackVerdict {
        let oldest_kept = to - MAX_PACKET_AGE;
        while self.pending.front().is_some_and(|p| p.ext < oldest_kept) {
            self.pending.pop_front();
        }
        let from = from.max(oldest_kept);
        let missing = (to - from) as usize;
        while self.pending.len() + missing > MAX_NACK_PACKETS {
            if !self.drop_until_keyframe() {
                break;
            }
        }
        if self.pending.len() + missing > MAX_NACK_PACKETS {
            self.pending.clear();
            self.next_due = None;
            // The packet that revealed the gap is a keyframe: the decoder restarts from it anyway.
            return if keyframe {
                NackVerdict::New
            } else {
                NackVerdict::KeyframeNeeded
            };
        }
        for ext in from..to {
            self.pending.push_back(Pending {
                ext,
                retries: 0,
                due: now,
            });
        }
        self.next_due = Some(self.next_due.map_or(now, |t| t.min(now)));
        NackVerdict::New
    }

    /// When [`NackGenerator::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_due
    }

    fn retry_interval(&self, retries: u8) -> Duration {
        let step = usize::from(retries.max(1) - 1).min(BACKOFF_PER_MILLE.len() - 1);
        (self.rtt * BACKOFF_PER_MILLE[step] / 1000).max(MIN_RETRY_INTERVAL)
    }

    /// Writes the sequence numbers to ask for now into `out` (ascending) and returns how many; numbers
    /// asked for [`MAX_RETRIES`] times are given up instead. If `out` fills up, the rest stay due.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut [u16]) -> usize {
        if self.next_due.is_none_or(|t| t > now) {
            return 0;
        }
        let mut written = 0;
        let mut next_due: Option<Instant> = None;
        let mut i = 0;
        while i < self.pending.len() {
            let item = self.pending[i];
            if item.due <= now && written < out.len() {
                if item.retries >= MAX_RETRIES {
                    self.pending.remove(i);
                    self.gave_up += 1;
                    continue;
                }
                out[written] = item.ext as u16;
                written += 1;
                let retries = item.retries + 1;
                let due = now + self.retry_interval(retries);
                self.pending[i].retries = retries;
                self.pending[i].due = due;
            }
            let due = self.pending[i].due;
            next_due = Some(next_due.map_or(due, |t| t.min(due)));
            i += 1;
        }
        self.next_due = next_due;
        written
    }
}

/// The extended sequence number of `seq` nearest to `highest`.
fn extend(highest: i64, seq: u16) -> i64 {
    highest + i64::from(seq.wrapping_sub(highest as u16) as i16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn due(g: &mut NackGenerator, now: Instant) -> Vec<u16> {
        let mut out = [0u16; 2048];
        let n = g.handle_timeout(now, &mut out);
        out[..n].to_vec()
    }

    #[test]
    fn in_order_packets_leave_nothing_pending() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        for seq in 0..100 {
            assert_eq!(g.handle_packet(t0, seq, false), NackVerdict::New);
        }
        assert_eq!(g.pending(), 0);
        assert_eq!(g.poll_timeout(), None);
        assert!(due(&mut g, ms(t0, 1000)).is_empty());
    }

    #[test]
    fn a_gap_is_asked_for_at_once_then_after_the_rtt_with_backoff() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        g.handle_packet(t0, 10, false);
        g.handle_packet(ms(t0, 10), 14, false);
        assert_eq!(g.pending(), 3);
        assert_eq!(g.poll_timeout(), Some(ms(t0, 10)));
        assert_eq!(due(&mut g, ms(t0, 10)), vec![11, 12, 13]);
        // Next after one RTT (100 ms), then 125 ms, then 156.3 ms.
        assert_eq!(g.poll_timeout(), Some(ms(t0, 110)));
        assert!(due(&mut g, ms(t0, 109)).is_empty());
        assert_eq!(due(&mut g, ms(t0, 110)), vec![11, 12, 13]);
        assert_eq!(g.poll_timeout(), Some(ms(t0, 235)));
        assert_eq!(due(&mut g, ms(t0, 235)), vec![11, 12, 13]);
        assert_eq!(
            g.poll_timeout(),
            Some(ms(t0, 235) + Duration::from_micros(156_300))
        );
    }

    #[test]
    fn recovery_and_reordering_remove_pending_numbers() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        g.handle_packet(t0, 100, false);
        g.handle_packet(t0, 105, false);
        assert!(g.is_pending(102));
        assert_eq!(g.handle_packet(t0, 102, false), NackVerdict::Recovered);
        assert!(!g.is_pending(102));
        assert_eq!(
            g.handle_packet(t0, 102, false),
            NackVerdict::Late,
            "duplicate"
        );
        assert_eq!(g.handle_packet(t0, 100, false), NackVerdict::Late);
        assert_eq!(due(&mut g, t0), vec![101, 103, 104]);
        for seq in [101, 103, 104] {
            assert_eq!(
                g.handle_packet(ms(t0, 50), seq, false),
                NackVerdict::Recovered
            );
        }
        assert_eq!(g.pending(), 0);
        assert!(due(&mut g, ms(t0, 500)).is_empty());
    }

    #[test]
    fn retries_are_capped_then_given_up() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        g.handle_packet(t0, 1, false);
        g.handle_packet(t0, 3, false);
        let mut now = t0;
        let mut asked = 0;
        while let Some(at) = g.poll_timeout() {
            now = at;
            asked += due(&mut g, now).len();
        }
        assert_eq!(asked, usize::from(MAX_RETRIES));
        assert_eq!(g.gave_up(), 1);
        assert_eq!(g.pending(), 0);
        // 1 + 1.25 + … + 1.25^9 RTTs between the first request and the give-up.
        let total: u32 = BACKOFF_PER_MILLE.iter().sum();
        assert_eq!(now - t0, DEFAULT_RTT * total / 1000);
    }

    #[test]
    fn the_rtt_paces_retries_with_a_floor() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        g.set_rtt(Duration::from_millis(5));
        g.handle_packet(t0, 1, false);
        g.handle_packet(t0, 3, false);
        assert_eq!(due(&mut g, t0), vec![2]);
        assert_eq!(g.poll_timeout(), Some(t0 + MIN_RETRY_INTERVAL));
    }

    #[test]
    fn bursts_and_wraparound() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        g.handle_packet(t0, 65530, false);
        g.handle_packet(t0, 65533, false);
        g.handle_packet(t0, 3, false);
        assert_eq!(due(&mut g, t0), vec![65531, 65532, 65534, 65535, 0, 1, 2]);
        assert_eq!(g.handle_packet(t0, 65535, false), NackVerdict::Recovered);
        assert_eq!(g.handle_packet(t0, 1, false), NackVerdict::Recovered);
        assert_eq!(due(&mut g, ms(t0, 100)), vec![65531, 65532, 65534, 0, 2]);
    }

    #[test]
    fn a_small_output_keeps_the_rest_due() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        g.handle_packet(t0, 0, false);
        g.handle_packet(t0, 11, false);
        let mut out = [0u16; 4];
        assert_eq!(g.handle_timeout(t0, &mut out), 4);
        assert_eq!(out, [1, 2, 3, 4]);
        assert_eq!(g.poll_timeout(), Some(t0));
        assert_eq!(g.handle_timeout(t0, &mut out), 4);
        assert_eq!(out, [5, 6, 7, 8]);
        assert_eq!(g.handle_timeout(t0, &mut out), 2);
        assert_eq!(out[..2], [9, 10]);
        assert_eq!(g.poll_timeout(), Some(ms(t0, 100)));
    }

    #[test]
    fn a_gap_too_large_asks_for_a_keyframe() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        g.handle_packet(t0, 0, false);
        g.handle_packet(t0, 5, false);
        let jump = MAX_NACK_PACKETS as u16 + 10;
        assert_eq!(
            g.handle_packet(t0, jump, false),
            NackVerdict::KeyframeNeeded
        );
        assert_eq!(g.pending(), 0);
        assert_eq!(g.poll_timeout(), None);
        // Tracking goes on from there.
        g.handle_packet(t0, jump + 2, false);
        assert_eq!(due(&mut g, t0), vec![jump + 1]);
        // The same jump onto a keyframe needs no request.
        assert_eq!(g.handle_packet(t0, jump + 3000, true), NackVerdict::New);
        assert_eq!(g.pending(), 0);
    }

    #[test]
    fn overflow_drops_losses_before_a_keyframe_first() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        g.handle_packet(t0, 0, false);
        // 600 lost, then a keyframe at 601.
        g.handle_packet(t0, 601, true);
        assert_eq!(g.pending(), 600);
        // 500 more lost: 1100 > 1000, the 600 before the keyframe go.
        assert_eq!(g.handle_packet(t0, 1102, false), NackVerdict::New);
        assert_eq!(g.pending(), 500);
        assert!(!g.is_pending(1) && g.is_pending(602) && g.is_pending(1101));
        // Without another keyframe, overflowing again clears everything and asks for one.
        assert_eq!(
            g.handle_packet(t0, 1102 + 600, false),
            NackVerdict::KeyframeNeeded
        );
        assert_eq!(g.pending(), 0);
    }

    #[test]
    fn old_losses_are_forgotten_and_a_restart_starts_over() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        g.handle_packet(t0, 0, false);
        g.handle_packet(t0, 2, false);
        assert!(g.is_pending(1));
        // Advance more than MAX_PACKET_AGE in small steps (no gaps).
        let mut seq = 2u16;
        for _ in 0..(MAX_PACKET_AGE as u16 + 10) {
            seq = seq.wrapping_add(1);
            g.handle_packet(t0, seq, false);
        }
        g.handle_packet(t0, seq.wrapping_add(2), false);
        assert_eq!(g.pending(), 1, "only the new loss is left");
        // A jump far back is a restarted source.
        assert_eq!(g.handle_packet(t0, 5, false), NackVerdict::New);
        assert_eq!(g.pending(), 0);
        g.handle_packet(t0, 7, false);
        assert_eq!(due(&mut g, t0), vec![6]);
    }

    #[test]
    fn pending_never_exceeds_its_capacity() {
        let t0 = Instant::now();
        let mut g = NackGenerator::new();
        let capacity = g.pending.capacity();
        let mut rng = crate::net::noise::XorShift::new(4585);
        let mut seq = 0u16;
        for i in 0..50_000u32 {
            seq = seq.wrapping_add(1 + rng.below(40) as u16);
            g.handle_packet(t0, seq, i % 300 == 0);
            if rng.below(3) == 0 {
                g.handle_packet(t0, seq.wrapping_sub(rng.below(50) as u16), false);
            }
            assert!(g.pending() <= MAX_NACK_PACKETS);
        }
        assert_eq!(g.pending.capacity(), capacity, "never grew");
    }
}
