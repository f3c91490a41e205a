//! When to ask a producer's endpoint for a keyframe (mediasoup's KeyFrameRequestManager): requests are
//! coalesced for a configurable delay, and repeated every second until a keyframe arrives.

use std::time::{Duration, Instant};

/// How long to wait for a keyframe before asking again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Keyframe request state of one producer stream.
#[derive(Clone, Debug, Default)]
pub struct KeyframeRequests {
    /// A keyframe is wanted and was asked for at this instant.
    pending_since: Option<Instant>,
    /// Coalescing: requests before this instant are absorbed.
    quiet_until: Option<Instant>,
    delay: Duration,
}

impl KeyframeRequests {
    /// Requests are coalesced over `delay` (mediasoup's `keyFrameRequestDelay`; zero sends each at once
    /// unless one is already pending).
    pub fn new(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    /// A consumer wants a keyframe; returns true when a request must be sent now.
    pub fn request(&mut self, now: Instant) -> bool {
        if self.pending_since.is_some() {
            return false;
        }
        if self.quiet_until.is_some_and(|t| now < t) {
            return false;
        }
        self.pending_since = Some(now);
        self.quiet_until = (!self.delay.is_zero()).then(|| now + self.delay);
        true
    }

    /// A keyframe arrived: nothing is pending any more.
    pub fn handle_keyframe(&mut self) {
        self.pending_since = None;
    }

    /// When [`KeyframeRequests::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending_since.map(|t| t + RETRY_INTERVAL)
    }

    /// Returns true when a request must be sent again (no keyframe within a second).
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.pending_since {
            Some(since) if now >= since + RETRY_INTERVAL => {
                self.pending_since = Some(now);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesces_and_retries_until_a_keyframe() {
        let t0 = Instant::now();
        let mut k = KeyframeRequests::new(Duration::ZERO);
        assert!(k.request(t0));
        assert!(
            !k.request(t0 + Duration::from_millis(10)),
            "already pending"
        );
        assert_eq!(k.poll_timeout(), Some(t0 + RETRY_INTERVAL));
        assert!(!k.handle_timeout(t0 + Duration::from_millis(999)));
        assert!(k.handle_timeout(t0 + RETRY_INTERVAL));
        k.handle_keyframe();
        assert_eq!(k.poll_timeout(), None);
        assert!(k.request(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn a_delay_absorbs_requests_after_a_keyframe() {
        let t0 = Instant::now();
        let mut k = KeyframeRequests::new(Duration::from_millis(500));
        assert!(k.request(t0));
        k.handle_keyframe();
        assert!(!k.request(t0 + Duration::from_millis(100)));
        assert!(k.request(t0 + Duration::from_millis(500)));
    }
}
