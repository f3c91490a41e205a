//! Bitrate over a sliding one-second window, in 100 ms buckets; time is an input.

use std::time::{Duration, Instant};

const BUCKETS: usize = 10;
const BUCKET: Duration = Duration::from_millis(100);

/// Bytes seen in the last second.
#[derive(Clone, Debug, Default)]
pub struct RateCalculator {
    buckets: [u64; BUCKETS],
    /// Start of the newest bucket.
    newest: Option<Instant>,
    head: usize,
}

impl RateCalculator {
    /// A calculator with nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    fn advance(&mut self, now: Instant) {
        let Some(newest) = self.newest else {
            self.newest = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(newest);
        let steps = (elapsed.as_millis() / BUCKET.as_millis()) as usize;
        if steps == 0 {
            return;
        }
        for _ in 0..steps.min(BUCKETS) {
            self.head = (self.head + 1) % BUCKETS;
            self.buckets[self.head] = 0;
        }
        self.newest = Some(newest + BUCKET * steps as u32);
    }

    /// Counts `bytes` at `now`.
    pub fn update(&mut self, bytes: usize, now: Instant) {
        self.advance(now);
        self.buckets[self.head] += bytes as u64;
    }

    /// Bits per second over the last second.
    pub fn rate(&mut self, now: Instant) -> u64 {
        self.advance(now);
        self.buckets.iter().sum::<u64>() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_steady_stream_and_decays() {
        let t0 = Instant::now();
        let mut r = RateCalculator::new();
        // 125 bytes every 10 ms = 100 kbit/s.
        for i in 0..300u64 {
            r.update(125, t0 + Duration::from_millis(i * 10));
        }
        let rate = r.rate(t0 + Duration::from_millis(2990));
        assert!((90_000..=110_000).contains(&rate), "{rate}");
        assert_eq!(r.rate(t0 + Duration::from_secs(10)), 0);
    }
}
