//! One incoming RTP stream of a producer (an encoding): reception statistics, the sender's clock from its
//! SRs, the packets kept for retransmission, keyframe requests and NACKs toward the sender (RFC 4585
//! §6.2.1, when negotiated), retransmissions received from it (RFC 4588, unwrapped by the caller), and
//! its score (mediasoup's RtpStreamRecv).
//!
//! Owns: what the receiver knows of one source. Must not: forward packets or know consumers.

use std::time::{Duration, Instant};

use super::{
    JitterEstimator, KeyframeRequests, NackGenerator, NackVerdict, RateCalculator,
    RetransmissionBuffer, SequenceTracker, SequenceVerdict,
};
use crate::rtcp::ReportBlock;
use crate::rtcp::ntp;

/// Retransmission buffer sizes (mediasoup keeps 2 s of video and 1 s of audio).
const VIDEO_BUFFER: (usize, Duration) = (1024, Duration::from_secs(2));
const AUDIO_BUFFER: (usize, Duration) = (64, Duration::from_secs(1));

/// The last SR of the sender, for the LSR/DLSR fields of our reports.
#[derive(Clone, Copy, Debug)]
struct LastSenderReport {
    compact_ntp: u32,
    received_at: Instant,
    ntp: u64,
    rtp_timestamp: u32,
}

/// State of one incoming stream.
#[derive(Debug)]
pub struct RtpStreamRecv {
    ssrc: u32,
    clock_rate: u32,
    sequence: SequenceTracker,
    jitter: JitterEstimator,
    rate: RateCalculator,
    buffer: RetransmissionBuffer,
    keyframes: KeyframeRequests,
    /// Arrival-time origin for jitter (RTP units are counted from it).
    origin: Option<Instant>,
    last_sr: Option<LastSenderReport>,
    packets: u64,
    bytes: u64,
    keyframes_received: u64,
    last_packet_at: Option<Instant>,
    score: u8,
    /// Expected/received at the last score update.
    score_prior: (u64, u64),
    pli_sent: u64,
    fir_sent: u64,
    fir_seq: u8,
    /// Missing packets to ask for, when the sender negotiated generic NACK.
    nack: Option<NackGenerator>,
    /// The NACK generator gave up on a gap: the sender must be asked for a keyframe.
    keyframe_wanted: bool,
    nack_count: u64,
    nack_packet_count: u64,
    retransmitted: u64,
    repaired: u64,
    discarded: u64,
}

impl RtpStreamRecv {
    /// A stream of `ssrc` at `clock_rate` Hz; `video` sizes its retransmission buffer; `nack` when the
    /// sender negotiated generic NACK (lost packets are then asked for).
    pub fn new(
        ssrc: u32,
        clock_rate: u32,
        video: bool,
        key_frame_request_delay: Duration,
        nack: bool,
    ) -> Self {
        let (capacity, max_age) = if video { VIDEO_BUFFER } else { AUDIO_BUFFER };
        Self {
            ssrc,
            clock_rate: clock_rate.max(1),
            sequence: SequenceTracker::new(),
            jitter: JitterEstimator::new(),
            rate: RateCalculator::new(),
            buffer: RetransmissionBuffer::new(capacity, max_age),
            keyframes: KeyframeRequests::new(key_frame_request_delay),
            origin: None,
            last_sr: None,
            packets: 0,
            bytes: 0,
            keyframes_received: 0,
            last_packet_at: None,
            score: 0,
            score_prior: (0, 0),
            pli_sent: 0,
            fir_sent: 0,
            fir_seq: 0,
            nack: nack.then(NackGenerator::new),
            keyframe_wanted: false,
            nack_count: 0,
            nack_packet_count: 0,
            retransmitted: 0,
            repaired: 0,
            discarded: 0,
        }
    }

    /// SSRC of the source as the sender sends it.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Takes one packet (already normalised to the router's payload type and extension ids): updates the
    /// statistics and keeps it for retransmission. Returns the sequence verdict; only `Advanced` and
    /// `Late` packets should be forwarded.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        seq: u16,
        rtp_timestamp: u32,
        keyframe: bool,
        packet: &[u8],
    ) -> SequenceVerdict {
        let verdict = self.sequence.handle(seq);
        self.packets += 1;
        self.bytes += packet.len() as u64;
        self.rate.update(packet.len(), now);
        self.last_packet_at = Some(now);
        if verdict == SequenceVerdict::Rejected {
            return verdict;
        }
        if verdict == SequenceVerdict::Advanced {
            let origin = *self.origin.get_or_insert(now);
            let units = now.saturating_duration_since(origin).as_nanos()
                * u128::from(self.clock_rate)
                / 1_000_000_000;
            self.jitter.handle(units as u64, rtp_timestamp);
        }
        if keyframe {
            self.keyframes_received += 1;
            self.keyframes.handle_keyframe();
        }
        if let Some(nack) = &mut self.nack
            && nack.handle_packet(now, seq, keyframe) == NackVerdict::KeyframeNeeded
        {
            self.keyframe_wanted = true;
        }
        self.buffer.insert(seq, packet, now);
        verdict
    }

    /// Takes a retransmission of one of this stream's packets, already unwrapped from RTX (RFC 4588) and
    /// normalised like [`RtpStreamRecv::handle_packet`]'s packets. Returns whether to forward it: a
    /// packet already received (kept in the buffer) is a duplicate, dropped and counted as discarded.
    pub fn handle_retransmission(
        &mut self,
        now: Instant,
        seq: u16,
        rtp_timestamp: u32,
        keyframe: bool,
        packet: &[u8],
    ) -> bool {
        self.retransmitted += 1;
        if self.buffer.get(seq, now).is_some() {
            self.discarded += 1;
            return false;
        }
        if let Some(nack) = &mut self.nack
            && nack.is_pending(seq)
        {
            self.repaired += 1;
        }
        match self.handle_packet(now, seq, rtp_timestamp, keyframe, packet) {
            SequenceVerdict::Rejected => {
                self.discarded += 1;
                false
            }
            _ => true,
        }
    }

    /// Counts a retransmission that could not be unwrapped (an RTX padding-only probe): discarded.
    pub fn count_discarded_retransmission(&mut self) {
        self.retransmitted += 1;
        self.discarded += 1;
    }

    /// True once after the NACK generator gave up on a gap too large to repair: the sender should be
    /// asked for a keyframe.
    pub fn take_keyframe_wanted(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_wanted)
    }

    /// Sets the round-trip time to the sender, which paces NACK retries.
    pub fn set_rtt(&mut self, rtt: Duration) {
        if let Some(nack) = &mut self.nack {
            nack.set_rtt(rtt);
        }
    }

    /// Writes the sequence numbers to NACK now into `out` and returns how many (counted as one NACK
    /// packet of that many items); 0 without NACK.
    pub fn poll_nack(&mut self, now: Instant, out: &mut [u16]) -> usize {
        let Some(nack) = &mut self.nack else {
            return 0;
        };
        let n = nack.handle_timeout(now, out);
        if n > 0 {
            self.nack_count += 1;
            self.nack_packet_count += n as u64;
        }
        n
    }

    /// A packet kept for retransmission.
    pub fn retransmission(&self, seq: u16, now: Instant) -> Option<&[u8]> {
        self.buffer.get(seq, now)
    }

    /// Takes the sender's SR.
    pub fn handle_sender_report(&mut self, now: Instant, ntp_timestamp: u64, rtp_timestamp: u32) {
        self.last_sr = Some(LastSenderReport {
            compact_ntp: ntp::ntp_to_compact(ntp_timestamp),
            received_at: now,
            ntp: ntp_timestamp,
            rtp_timestamp,
        });
    }

    /// The sender's clock mapping from its last SR: (NTP timestamp, RTP timestamp).
    pub fn sender_clock(&self) -> Option<(u64, u32)> {
        self.last_sr.map(|sr| (sr.ntp, sr.rtp_timestamp))
    }

    /// A consumer wants a keyframe: true when a request must go to the sender now.
    pub fn request_keyframe(&mut self, now: Instant) -> bool {
        self.keyframes.request(now)
    }

    /// Counts a PLI (`true`) or FIR sent to the sender; a FIR returns its sequence number.
    pub fn count_keyframe_request(&mut self, pli: bool) -> u8 {
        if pli {
            self.pli_sent += 1;
            0
        } else {
            self.fir_sent += 1;
            self.fir_seq = self.fir_seq.wrapping_add(1);
            self.fir_seq
        }
    }

    /// When [`RtpStreamRecv::handle_timeout`] (keyframe retries) or [`RtpStreamRecv::poll_nack`] must
    /// run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let nack = self.nack.as_ref().and_then(NackGenerator::poll_timeout);
        [self.keyframes.poll_timeout(), nack]
            .into_iter()
            .flatten()
            .min()
    }

    /// True when a keyframe request must be repeated now.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        self.keyframes.handle_timeout(now)
    }

    /// A reception report block for this source (RFC 3550 §6.4.1); starts a new loss interval.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        if !self.sequence.is_valid() {
            return None;
        }
        let (last_sr, delay) = match self.last_sr {
            Some(sr) => (
                sr.compact_ntp,
                ntp::duration_to_compact(now.saturating_duration_since(sr.received_at)),
            ),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost: self.sequence.take_fraction_lost(),
            cumulative_lost: self.sequence.cumulative_lost(),
            extended_highest_seq: self.sequence.extended_highest(),
            jitter: self.jitter.jitter(),
            last_sr,
            delay_since_last_sr: delay,
        })
    }

    /// Recomputes the score (0–10) from the packets delivered since the last update, as mediasoup does
    /// (`delivered⁴ × 10`, smoothed); a source silent for 2 s scores 0. Returns the new score if it
    /// changed.
    pub fn update_score(&mut self, now: Instant) -> Option<u8> {
        let silent = self
            .last_packet_at
            .is_none_or(|t| now.saturating_duration_since(t) > Duration::from_secs(2));
        let score = if silent {
            0
        } else {
            let expected = self.sequence.expected();
            let received = self.sequence.received();
            let expected_interval = expected.saturating_sub(self.score_prior.0);
            let received_interval = received.saturating_sub(self.score_prior.1);
            self.score_prior = (expected, received);
            if expected_interval == 0 {
                self.score
            } else {
                let delivered =
                    (received_interval as f64 / expected_interval as f64).clamp(0.0, 1.0);
                let instant = (delivered.powi(4) * 10.0).round() as u8;
                // Smooth: move halfway toward the instant score, rounding toward it.
                if self.score == 0 {
                    instant
                } else {
                    ((u16::from(self.score) + u16::from(instant)).div_ceil(2)) as u8
                }
            }
        };
        (score != self.score).then(|| {
            self.score = score;
            score
        })
    }

    /// Current score, 0–10.
    pub fn score(&self) -> u8 {
        self.score
    }

    /// Counters for stats.
    pub fn stats(&mut self, now: Option<Instant>) -> RecvStats {
        RecvStats {
            ssrc: self.ssrc,
            packet_count: self.packets,
            byte_count: self.bytes,
            packets_lost: self.sequence.cumulative_lost().max(0) as u64,
            jitter: self.jitter.jitter(),
            bitrate: now.map_or(0, |now| self.rate.rate(now)),
            score: self.score,
            keyframes: self.keyframes_received,
            pli_count: self.pli_sent,
            fir_count: self.fir_sent,
            nack_count: self.nack_count,
            nack_packet_count: self.nack_packet_count,
            packets_retransmitted: self.retransmitted,
            packets_repaired: self.repaired,
            packets_discarded: self.discarded,
        }
    }
}

/// Counters of an incoming stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvStats {
    /// SSRC as sent.
    pub ssrc: u32,
    /// Packets received.
    pub packet_count: u64,
    /// Bytes received.
    pub byte_count: u64,
    /// Packets lost (cumulative).
    pub packets_lost: u64,
    /// Jitter in RTP units.
    pub jitter: u32,
    /// Bits per second over the last second.
    pub bitrate: u64,
    /// Score 0–10.
    pub score: u8,
    /// Keyframes received.
    pub keyframes: u64,
    /// PLIs sent to the sender.
    pub pli_count: u64,
    /// FIRs sent to the sender.
    pub fir_count: u64,
    /// NACK packets sent to the sender.
    pub nack_count: u64,
    /// Sequence numbers those NACKs asked for (retries included).
    pub nack_packet_count: u64,
    /// Retransmissions (RTX) received.
    pub packets_retransmitted: u64,
    /// Retransmissions that filled a gap being NACKed.
    pub packets_repaired: u64,
    /// Retransmissions dropped: duplicates of packets already received, or without a payload.
    pub packets_discarded: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_keeps_and_reports() {
        let t0 = Instant::now();
        let mut s = RtpStreamRecv::new(1111, 90000, true, Duration::ZERO, false);
        for i in 0..10u16 {
            if i == 5 {
                continue;
            }
            let now = t0 + Duration::from_millis(u64::from(i) * 33);
            s.handle_packet(now, 100 + i, u32::from(i) * 3000, i == 0, &[i as u8; 50]);
        }
        assert_eq!(
            s.retransmission(104, t0 + Duration::from_millis(400)),
            Some(&[4u8; 50][..])
        );
        assert_eq!(s.retransmission(105, t0), None);
        let block = s.report_block(t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(block.ssrc, 1111);
        assert_eq!(block.extended_highest_seq, 109);
        assert_eq!(block.cumulative_lost, 1);
        assert_eq!(block.last_sr, 0);
        s.handle_sender_report(t0, 0x0001_0002_0003_0004, 1234);
        let block = s.report_block(t0 + Duration::from_millis(500)).unwrap();
        assert_eq!(block.last_sr, 0x0002_0003);
        assert_eq!(block.delay_since_last_sr, 0x8000);
        assert_eq!(s.sender_clock(), Some((0x0001_0002_0003_0004, 1234)));
    }

    #[test]
    fn score_follows_delivery_and_silence() {
        let t0 = Instant::now();
        let mut s = RtpStreamRecv::new(1, 48000, false, Duration::ZERO, false);
        for i in 0..50u16 {
            s.handle_packet(t0, i, u32::from(i) * 960, false, b"x");
        }
        assert_eq!(s.update_score(t0), Some(10));
        assert_eq!(s.update_score(t0 + Duration::from_secs(3)), Some(0));
    }

    #[test]
    fn nacks_retransmissions_and_duplicates() {
        let t0 = Instant::now();
        let ms = |ms| t0 + Duration::from_millis(ms);
        let mut s = RtpStreamRecv::new(1, 90000, true, Duration::ZERO, true);
        let mut out = [0u16; 64];
        s.handle_packet(ms(0), 10, 0, true, b"a");
        s.handle_packet(ms(10), 14, 0, false, b"e");
        assert_eq!(s.poll_timeout(), Some(ms(10)));
        assert_eq!(s.poll_nack(ms(10), &mut out), 3);
        assert_eq!(out[..3], [11, 12, 13]);
        assert_eq!(s.poll_nack(ms(10), &mut out), 0);
        // 12 comes back as RTX and fills its gap; a second copy is a duplicate.
        assert!(s.handle_retransmission(ms(30), 12, 0, false, b"c"));
        assert_eq!(s.retransmission(12, ms(30)), Some(&b"c"[..]));
        assert!(!s.handle_retransmission(ms(31), 12, 0, false, b"c"));
        // A retransmission of a packet that was never missing is a duplicate too.
        assert!(!s.handle_retransmission(ms(32), 10, 0, false, b"a"));
        s.count_discarded_retransmission();
        assert_eq!(s.poll_nack(ms(110), &mut out), 2);
        assert_eq!(out[..2], [11, 13]);
        let stats = s.stats(None);
        assert_eq!(
            (
                stats.nack_count,
                stats.nack_packet_count,
                stats.packets_retransmitted,
                stats.packets_repaired,
                stats.packets_discarded
            ),
            (2, 5, 4, 1, 3)
        );
        assert_eq!(
            stats.packets_lost, 2,
            "the repaired packet counts as received"
        );
    }

    #[test]
    fn a_gap_too_large_to_nack_wants_a_keyframe_and_no_nack_means_no_timer() {
        let t0 = Instant::now();
        let mut s = RtpStreamRecv::new(1, 90000, true, Duration::ZERO, true);
        s.handle_packet(t0, 0, 0, false, b"a");
        s.handle_packet(t0, 2000, 0, false, b"b");
        assert!(s.take_keyframe_wanted());
        assert!(!s.take_keyframe_wanted());
        let mut plain = RtpStreamRecv::new(1, 90000, true, Duration::ZERO, false);
        plain.handle_packet(t0, 0, 0, false, b"a");
        plain.handle_packet(t0, 5, 0, false, b"b");
        assert_eq!(plain.poll_timeout(), None);
        assert_eq!(plain.poll_nack(t0, &mut [0; 8]), 0);
    }
}
