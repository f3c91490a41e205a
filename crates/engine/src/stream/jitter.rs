//! Interarrival jitter of one RTP source (RFC 3550 §6.4.1, Appendix A.8), in RTP clock units.

/// Running jitter estimate.
#[derive(Clone, Copy, Debug, Default)]
pub struct JitterEstimator {
    /// Previous transit time (arrival − RTP timestamp), in clock units; `None` before the first packet.
    last_transit: Option<i64>,
    /// Jitter scaled by 16, as the RFC's integer arithmetic keeps it.
    jitter_q4: u64,
}

impl JitterEstimator {
    /// An estimator with no packet seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one packet: its arrival time converted to RTP clock units (any fixed origin) and its RTP
    /// timestamp. Only packets that advanced the sequence should be fed (retransmissions distort it).
    pub fn handle(&mut self, arrival_units: u64, rtp_timestamp: u32) {
        let transit = (arrival_units as i64).wrapping_sub(i64::from(rtp_timestamp));
        if let Some(last) = self.last_transit {
            // Timestamps wrap at 2^32: take the shortest distance.
            let d = (transit.wrapping_sub(last) as i32).unsigned_abs() as u64;
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Jitter in RTP clock units (the value of a reception report).
    pub fn jitter(&self) -> u32 {
        (self.jitter_q4 >> 4).min(u64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_stream_has_no_jitter() {
        let mut j = JitterEstimator::new();
        for i in 0..100u64 {
            j.handle(1_000_000 + i * 3000, (i * 3000) as u32);
        }
        assert_eq!(j.jitter(), 0);
    }

    #[test]
    fn alternating_delay_converges_to_its_amplitude() {
        let mut j = JitterEstimator::new();
        for i in 0..2000u64 {
            let delay = if i % 2 == 0 { 0 } else { 160 };
            j.handle(i * 960 + delay, (i * 960) as u32);
        }
        // |D| is 160 every packet: J converges to 160.
        assert!((150..=160).contains(&j.jitter()), "{}", j.jitter());
    }

    #[test]
    fn timestamp_wrap_is_not_a_jump() {
        let mut j = JitterEstimator::new();
        j.handle(10, u32::MAX - 5);
        j.handle(20, 4);
        assert_eq!(j.jitter(), 0);
    }
}
