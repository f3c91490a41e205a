//! [`TransportCcRecorder`]: the arrival times of one transport's packets by transport-wide sequence
//! number, turned into transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1;
//! libwebrtc's RemoteEstimatorProxy, mediasoup's TransportCongestionControlServer).
//!
//! Owns: a ring of the last [`WINDOW`] sequence numbers' arrival times (allocated once), the first
//! sequence number not yet reported, the feedback packet count and the feedback schedule. Must not: build
//! RTCP bytes (it fills a [`TransportCcFeedback`]), read the clock, or allocate after construction.
//!
//! Feedback is due [`FEEDBACK_INTERVAL`] after the previous one, or as soon as [`EARLY_FEEDBACK`]
//! statuses are waiting; once due, everything pending goes out (several packets if more than
//! [`crate::rtcp::TRANSPORT_CC_MAX_STATUSES`]). A packet that arrives after its sequence number was
//! reported lost moves the start of the next feedback back to it, so the sender learns it was received
//! (senders ignore statuses reported twice). Times are kept in the format's 250 µs units from the first
//! packet.

use std::time::{Duration, Instant};

use crate::rtcp::TransportCcFeedback;

/// How often feedback goes out while packets arrive (mediasoup, libwebrtc: 100 ms).
pub const FEEDBACK_INTERVAL: Duration = Duration::from_millis(100);
/// Statuses waiting that make feedback due at once.
pub const EARLY_FEEDBACK: usize = 100;
/// Sequence numbers remembered; older ones are neither recorded nor reported.
pub const WINDOW: usize = 2048;
const NOT_RECEIVED: i64 = i64::MIN;

/// Transport-wide arrival record of one transport.
pub struct TransportCcRecorder {
    origin: Option<Instant>,
    /// Arrival (250 µs units since `origin`) by extended sequence number modulo [`WINDOW`].
    arrivals: Box<[i64]>,
    highest: Option<i64>,
    /// First extended sequence number the next feedback reports.
    next_to_report: i64,
    feedback_count: u8,
    last_feedback_at: Option<Instant>,
    last_arrival_at: Option<Instant>,
    flushing: bool,
    media_ssrc: u32,
}

impl std::fmt::Debug for TransportCcRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportCcRecorder")
            .field("highest", &self.highest)
            .field("next_to_report", &self.next_to_report)
            .field("feedback_count", &self.feedback_count)
            .finish()
    }
}

impl Default for TransportCcRecorder {
    fn default() -> Self {
        Self::new()
    }
}

fn slot(ext: i64) -> usize {
    ext.rem_euclid(WINDOW as i64) as usize
}

impl TransportCcRecorder {
    /// A recorder that has seen nothing.
    pub fn new() -> Self {
        Self {
            origin: None,
            arrivals: vec![NOT_RECEIVED; WINDOW].into_boxed_slice(),
            highest: None,
            next_to_report: 0,
            feedback_count: 0,
            last_feedback_at: None,
            last_arrival_at: None,
            flushing: false,
            media_ssrc: 0,
        }
    }

    fn units(&self, now: Instant) -> i64 {
        self.origin.map_or(0, |origin| {
            (now.saturating_duration_since(origin).as_micros() / 250) as i64
        })
    }

    /// The SSRC feedback names as its media source: the first media packet's (the field is unused).
    pub fn media_ssrc(&self) -> u32 {
        self.media_ssrc
    }

    /// Statuses not reported yet.
    pub fn pending(&self) -> usize {
        self.highest
            .map_or(0, |h| (h - self.next_to_report + 1).max(0) as usize)
    }

    /// Records a packet that carried transport-wide sequence number `seq`, received at `now`.
    pub fn record(&mut self, now: Instant, seq: u16, media_ssrc: u32) {
        self.origin.get_or_insert(now);
        let arrival = self.units(now);
        self.last_arrival_at = Some(now);
        let Some(highest) = self.highest else {
            let ext = i64::from(seq);
            self.highest = Some(ext);
            self.next_to_report = ext;
            self.arrivals[slot(ext)] = arrival;
            self.last_feedback_at = Some(now);
            self.media_ssrc = media_ssrc;
            return;
        };
        let ext = highest + i64::from(seq.wrapping_sub(highest as u16) as i16);
        if ext > highest {
            if ext - highest >= WINDOW as i64 {
                self.arrivals.fill(NOT_RECEIVED);
                self.next_to_report = ext;
            } else {
                for missing in highest + 1..ext {
                    self.arrivals[slot(missing)] = NOT_RECEIVED;
                }
            }
            self.arrivals[slot(ext)] = arrival;
            self.highest = Some(ext);
            self.next_to_report = self.next_to_report.max(ext - WINDOW as i64 + 1);
            return;
        }
        if highest - ext >= WINDOW as i64 || self.arrivals[slot(ext)] != NOT_RECEIVED {
            return;
        }
        self.arrivals[slot(ext)] = arrival;
        self.next_to_report = self.next_to_report.min(ext);
    }

    fn due(&self, now: Instant) -> bool {
        self.pending() >= EARLY_FEEDBACK
            || self
                .last_feedback_at
                .is_some_and(|at| now >= at + FEEDBACK_INTERVAL)
    }

    /// When [`TransportCcRecorder::poll_feedback`] has something to give.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.pending() == 0 {
            return None;
        }
        if self.flushing || self.pending() >= EARLY_FEEDBACK {
            return self.last_arrival_at;
        }
        self.last_feedback_at.map(|at| at + FEEDBACK_INTERVAL)
    }

    /// The next feedback packet when feedback is due; call until `None`.
    pub fn poll_feedback(&mut self, now: Instant) -> Option<TransportCcFeedback> {
        let highest = self.highest?;
        if self.pending() == 0 {
            return None;
        }
        if !self.flushing {
            if !self.due(now) {
                return None;
            }
            self.flushing = true;
            self.last_feedback_at = Some(now);
        }
        let mut fb = TransportCcFeedback::new(
            self.next_to_report as u16,
            self.feedback_count,
            self.units(now),
        );
        let mut ext = self.next_to_report;
        while ext <= highest {
            let arrival = self.arrivals[slot(ext)];
            let pushed = if arrival == NOT_RECEIVED {
                fb.push_lost()
            } else {
                fb.push_received(arrival)
            };
            if !pushed {
                break;
            }
            ext += 1;
        }
        self.next_to_report = ext;
        self.feedback_count = self.feedback_count.wrapping_add(1);
        if self.pending() == 0 {
            self.flushing = false;
        }
        Some(fb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{Compound, RtcpPacket};

    fn at(t0: Instant, us: u64) -> Instant {
        t0 + Duration::from_micros(us)
    }

    /// Writes and reads back a feedback: (base, reference time, [(seq, delta)]).
    fn decode(fb: &TransportCcFeedback) -> (u16, i32, u8, Vec<(u16, Option<i16>)>) {
        let mut buf = [0u8; 1500];
        let len = fb.write(&mut buf, 1, 2).unwrap();
        let Some(Ok(RtcpPacket::TransportCc(t))) = Compound::new(&buf[..len]).next() else {
            panic!("not transport-cc");
        };
        let s = t.statuses().unwrap();
        let head = (
            s.base_sequence_number(),
            s.reference_time(),
            s.feedback_count(),
        );
        (
            head.0,
            head.1,
            head.2,
            s.map(|p| (p.sequence_number, p.delta)).collect(),
        )
    }

    #[test]
    fn feedback_every_interval_covers_what_arrived() {
        let t0 = Instant::now();
        let mut r = TransportCcRecorder::new();
        // 10 packets 5 ms apart, seq 100..110, 104 lost.
        for i in 0..10u16 {
            if i != 4 {
                r.record(at(t0, u64::from(i) * 5000), 100 + i, 7);
            }
        }
        assert_eq!(r.pending(), 10);
        assert_eq!(r.poll_timeout(), Some(at(t0, 100_000)));
        assert!(r.poll_feedback(at(t0, 99_000)).is_none());
        let fb = r.poll_feedback(at(t0, 100_000)).unwrap();
        assert!(r.poll_feedback(at(t0, 100_000)).is_none());
        assert_eq!(r.poll_timeout(), None);
        let (base, reference, count, statuses) = decode(&fb);
        assert_eq!((base, reference, count), (100, 0, 0));
        let mut expected = vec![(100, Some(0))];
        for i in 1..10u16 {
            expected.push((
                100 + i,
                match i {
                    4 => None,
                    5 => Some(40), // 10 ms after 103
                    _ => Some(20),
                },
            ));
        }
        assert_eq!(statuses, expected);
        // The next interval: only new packets, count 1.
        r.record(at(t0, 150_000), 110, 7);
        assert_eq!(r.poll_timeout(), Some(at(t0, 200_000)));
        let (base, reference, count, statuses) = decode(&r.poll_feedback(at(t0, 200_000)).unwrap());
        // 150 ms = 600 units = reference 2 (128 ms) + 88.
        assert_eq!((base, reference, count), (110, 2, 1));
        assert_eq!(statuses, vec![(110, Some(88))]);
    }

    #[test]
    fn many_pending_packets_make_feedback_due_early_and_all_go_out() {
        let t0 = Instant::now();
        let mut r = TransportCcRecorder::new();
        for i in 0..(EARLY_FEEDBACK as u16 - 1) {
            r.record(at(t0, u64::from(i) * 100), i, 7);
        }
        assert_eq!(r.poll_timeout(), Some(t0 + FEEDBACK_INTERVAL));
        r.record(at(t0, 20_000), EARLY_FEEDBACK as u16 - 1, 7);
        assert_eq!(r.poll_timeout(), Some(at(t0, 20_000)));
        // Jump ahead: 400 pending (300 of them lost) go out in two packets.
        r.record(at(t0, 20_100), 399, 7);
        let now = at(t0, 20_100);
        let first = decode(&r.poll_feedback(now).unwrap());
        let second = decode(&r.poll_feedback(now).unwrap());
        assert!(r.poll_feedback(now).is_none());
        assert_eq!(first.3.len() + second.3.len(), 400);
        assert_eq!(second.0, first.3.len() as u16);
        assert_eq!(second.2, first.2.wrapping_add(1));
        assert_eq!(
            second.3.last(),
            Some(&(399, Some(second.3.last().unwrap().1.unwrap())))
        );
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn wraparound_reordering_and_late_arrivals() {
        let t0 = Instant::now();
        let mut r = TransportCcRecorder::new();
        r.record(at(t0, 0), 65534, 7);
        r.record(at(t0, 1000), 0, 7); // 65535 not yet
        r.record(at(t0, 1500), 65535, 7); // reordered
        r.record(at(t0, 2000), 2, 7); // 1 lost
        let (base, _, _, statuses) = decode(&r.poll_feedback(at(t0, 100_000)).unwrap());
        assert_eq!(base, 65534);
        assert_eq!(
            statuses,
            vec![
                (65534, Some(0)),
                (65535, Some(6)),
                (0, Some(-2)),
                (1, None),
                (2, Some(4))
            ]
        );
        // 1 arrives after it was reported lost: the next feedback starts again from it.
        r.record(at(t0, 120_000), 1, 7);
        r.record(at(t0, 121_000), 3, 7);
        let (base, _, _, statuses) = decode(&r.poll_feedback(at(t0, 200_000)).unwrap());
        assert_eq!(base, 1);
        assert_eq!(
            statuses.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert!(statuses.iter().all(|s| s.1.is_some()));
        // Duplicates keep the first arrival; far-behind packets are ignored.
        r.record(at(t0, 300_000), 3, 7);
        r.record(at(t0, 300_000), 3u16.wrapping_sub(WINDOW as u16), 7);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn a_jump_beyond_the_window_starts_over() {
        let t0 = Instant::now();
        let mut r = TransportCcRecorder::new();
        r.record(t0, 10, 7);
        r.record(t0, 10 + WINDOW as u16 + 5, 7);
        assert_eq!(r.pending(), 1);
        let (base, _, _, statuses) = decode(&r.poll_feedback(t0 + FEEDBACK_INTERVAL).unwrap());
        assert_eq!((base, statuses.len()), (10 + WINDOW as u16 + 5, 1));
    }
}
