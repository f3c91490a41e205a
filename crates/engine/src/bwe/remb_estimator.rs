//! [`RembEstimator`]: a receive-side bandwidth estimate for a sender that negotiated only `goog-remb`
//! (REMB, draft-alvestrand-rmcat-remb-03), sent once a second.
//!
//! Owns: the transport's incoming rate over the last second and the REMB schedule. Must not: read the
//! clock, build RTCP, or allocate.
//!
//! The estimate is the measured incoming bitrate × [`HEADROOM`] (in tenths), at least [`MIN_BITRATE`] and
//! at most the transport's maximum incoming bitrate when one is set. It is a ceiling that lets the
//! sender's own controller climb (about 50 % a second at most), not a congestion detector: it does not
//! look at the abs-send-time deltas (no delay-gradient filter, unlike libwebrtc's
//! RemoteBitrateEstimatorAbsSendTime), so it never lowers the ceiling below what already arrives — the
//! sender's loss-based control (from our receiver reports) is what backs it off under congestion. Nor does
//! it probe: a sender whose source needs less than the floor never learns the link can carry more.

use std::time::{Duration, Instant};

use crate::stream::RateCalculator;

/// How often REMB goes out while packets arrive.
pub const REMB_INTERVAL: Duration = Duration::from_secs(1);
/// The lowest estimate sent, in bits per second.
pub const MIN_BITRATE: u64 = 300_000;
/// The estimate over the measured rate, in tenths (15 = 1.5×).
pub const HEADROOM: u64 = 15;

/// The receive-side estimate of one transport.
#[derive(Debug, Clone, Default)]
pub struct RembEstimator {
    rate: RateCalculator,
    next_at: Option<Instant>,
    max_bitrate: Option<u64>,
}

impl RembEstimator {
    /// An estimator capped at `max_bitrate` bits per second when given.
    pub fn new(max_bitrate: Option<u64>) -> Self {
        Self {
            max_bitrate,
            ..Self::default()
        }
    }

    /// Caps the estimate (the transport's maximum incoming bitrate), or lifts the cap.
    pub fn set_max_bitrate(&mut self, max_bitrate: Option<u64>) {
        self.max_bitrate = max_bitrate;
    }

    /// Counts a received packet of `bytes` (the whole datagram as received).
    pub fn record(&mut self, now: Instant, bytes: usize) {
        self.rate.update(bytes, now);
        self.next_at.get_or_insert(now + REMB_INTERVAL);
    }

    /// When [`RembEstimator::handle_timeout`] has an estimate to give.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_at
    }

    /// The estimate to send now, in bits per second, if one is due; nothing once the transport has been
    /// silent for a second (the schedule restarts with the next packet).
    pub fn handle_timeout(&mut self, now: Instant) -> Option<u64> {
        if self.next_at.is_none_or(|at| now < at) {
            return None;
        }
        let rate = self.rate.rate(now);
        if rate == 0 {
            self.next_at = None;
            return None;
        }
        self.next_at = Some(now + REMB_INTERVAL);
        let estimate = (rate * HEADROOM / 10).max(MIN_BITRATE);
        Some(self.max_bitrate.map_or(estimate, |max| estimate.min(max)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(e: &mut RembEstimator, t0: Instant, from_ms: u64, to_ms: u64, bytes: usize) {
        for ms in (from_ms..to_ms).step_by(10) {
            e.record(t0 + Duration::from_millis(ms), bytes);
        }
    }

    #[test]
    fn once_a_second_with_headroom_and_floor() {
        let t0 = Instant::now();
        let mut e = RembEstimator::new(None);
        assert_eq!(e.poll_timeout(), None);
        // 1250 bytes every 10 ms = 1 Mbit/s.
        feed(&mut e, t0, 0, 1000, 1250);
        assert_eq!(e.poll_timeout(), Some(t0 + REMB_INTERVAL));
        assert_eq!(e.handle_timeout(t0 + Duration::from_millis(999)), None);
        let estimate = e.handle_timeout(t0 + REMB_INTERVAL).unwrap();
        assert!((1_350_000..=1_500_000).contains(&estimate), "{estimate}");
        assert_eq!(e.poll_timeout(), Some(t0 + 2 * REMB_INTERVAL));
        // 125 bytes every 10 ms = 100 kbit/s: the floor.
        feed(&mut e, t0, 1000, 2000, 125);
        assert_eq!(e.handle_timeout(t0 + 2 * REMB_INTERVAL), Some(MIN_BITRATE));
    }

    #[test]
    fn capped_and_silent() {
        let t0 = Instant::now();
        let mut e = RembEstimator::new(Some(800_000));
        feed(&mut e, t0, 0, 1000, 1250);
        assert_eq!(e.handle_timeout(t0 + REMB_INTERVAL), Some(800_000));
        // Silence: nothing sent, no timer until the next packet.
        assert_eq!(e.handle_timeout(t0 + Duration::from_secs(3)), None);
        assert_eq!(e.poll_timeout(), None);
        e.set_max_bitrate(None);
        feed(&mut e, t0, 3000, 3100, 1250);
        assert_eq!(e.poll_timeout(), Some(t0 + Duration::from_secs(4)));
    }
}
