//! One outgoing RTP stream of a consumer: sequence and timestamp rewriting, the map from sent sequence
//! numbers back to the producer's (for NACKs), sender reports, and what the receiver reports back
//! (mediasoup's RtpStreamSend with its SeqManager).
//!
//! Owns: the consumer's view of its stream. Must not: decide whether a packet is forwarded (the consumer
//! does: paused, waiting for a keyframe).

use std::time::{Duration, Instant};

use super::{RateCalculator, SeqRewriter};
use crate::rtcp::{ReportBlock, SenderInfo, ntp};

/// Sent sequence numbers remembered for NACKs (a power of two).
const SENT_MAP: usize = 1024;

/// State of one outgoing stream.
#[derive(Debug)]
pub struct RtpStreamSend {
    ssrc: u32,
    clock_rate: u32,
    rewriter: SeqRewriter,
    /// Output timestamp = input + offset.
    ts_offset: u32,
    last_ts_out: u32,
    last_sent_at: Option<Instant>,
    /// Output sequence → input sequence, for the last [`SENT_MAP`] outputs (`u32::MAX` = none).
    sent: Box<[u32; SENT_MAP]>,
    packets: u64,
    octets: u64,
    rate: RateCalculator,
    retransmitted: u64,
    rtx_seq: u16,
    nack_count: u64,
    pli_count: u64,
    fir_count: u64,
    /// The receiver's last report.
    fraction_lost: u8,
    packets_lost: i32,
    jitter: u32,
    round_trip_time: Option<Duration>,
    score: u8,
}

impl RtpStreamSend {
    /// A stream sent with `ssrc` at `clock_rate` Hz; sequence numbers start at `initial_seq`.
    pub fn new(ssrc: u32, clock_rate: u32, initial_seq: u16) -> Self {
        Self {
            ssrc,
            clock_rate: clock_rate.max(1),
            rewriter: SeqRewriter::new(initial_seq),
            ts_offset: 0,
            last_ts_out: 0,
            last_sent_at: None,
            sent: Box::new([u32::MAX; SENT_MAP]),
            packets: 0,
            octets: 0,
            rate: RateCalculator::new(),
            retransmitted: 0,
            rtx_seq: initial_seq.wrapping_add(0x4000),
            nack_count: 0,
            pli_count: 0,
            fir_count: 0,
            fraction_lost: 0,
            packets_lost: 0,
            jitter: 0,
            round_trip_time: None,
            score: 10,
        }
    }

    /// SSRC of the stream.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Whether packets are being forwarded (synced since the last pause or stream change).
    pub fn is_synced(&self) -> bool {
        self.rewriter.is_synced()
    }

    /// Stops forwarding until the next [`RtpStreamSend::sync`].
    pub fn unsync(&mut self) {
        self.rewriter.unsync();
    }

    /// Starts (again) at the input packet `seq`/`timestamp`: its output continues the stream without a
    /// sequence gap, and its timestamp advances by the wall-clock time since the last packet sent.
    pub fn sync(&mut self, now: Instant, seq: u16, timestamp: u32) {
        self.rewriter.sync(seq);
        let desired = match self.last_sent_at {
            None => timestamp,
            Some(at) => {
                let elapsed = now.saturating_duration_since(at);
                let units =
                    (elapsed.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u32;
                self.last_ts_out.wrapping_add(units.max(1))
            }
        };
        self.ts_offset = desired.wrapping_sub(timestamp);
    }

    /// The output sequence number and timestamp for an input packet, or `None` when it must not be sent
    /// (before the sync point). Records the mapping for NACKs.
    pub fn rewrite(&mut self, now: Instant, seq: u16, timestamp: u32) -> Option<(u16, u32)> {
        let out_seq = self.rewriter.rewrite(seq)?;
        let out_ts = timestamp.wrapping_add(self.ts_offset);
        self.sent[usize::from(out_seq) % SENT_MAP] = u32::from(out_seq) << 16 | u32::from(seq);
        if self.rewriter.last_out() == Some(out_seq) {
            self.last_ts_out = out_ts;
            self.last_sent_at = Some(now);
        }
        Some((out_seq, out_ts))
    }

    /// The output timestamp of an input timestamp under the current offset.
    pub fn output_timestamp(&self, timestamp: u32) -> u32 {
        timestamp.wrapping_add(self.ts_offset)
    }

    /// Counts a packet put on the wire.
    pub fn count_sent(&mut self, now: Instant, payload_len: usize, packet_len: usize) {
        self.packets += 1;
        self.octets += payload_len as u64;
        self.rate.update(packet_len, now);
    }

    /// The producer's sequence number of a packet this stream sent as `out_seq`, if still remembered.
    pub fn input_seq(&self, out_seq: u16) -> Option<u16> {
        let entry = self.sent[usize::from(out_seq) % SENT_MAP];
        (entry != u32::MAX && (entry >> 16) as u16 == out_seq).then_some(entry as u16)
    }

    /// The next RTX sequence number, counting the retransmission.
    pub fn next_rtx_seq(&mut self) -> u16 {
        self.retransmitted += 1;
        self.rtx_seq = self.rtx_seq.wrapping_add(1);
        self.rtx_seq
    }

    /// Counts a retransmission sent without RTX.
    pub fn count_retransmission(&mut self) {
        self.retransmitted += 1;
    }

    /// Counts feedback received from the endpoint.
    pub fn count_feedback(&mut self, nack: u64, pli: u64, fir: u64) {
        self.nack_count += nack;
        self.pli_count += pli;
        self.fir_count += fir;
    }

    /// The sender information of an SR for this stream at `now` (`unix` is the same instant as time since
    /// the Unix epoch), or `None` before anything was sent.
    pub fn sender_info(&self, now: Instant, unix: Duration) -> Option<SenderInfo> {
        let sent_at = self.last_sent_at?;
        let elapsed = now.saturating_duration_since(sent_at);
        let units = (elapsed.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u32;
        Some(SenderInfo {
            ssrc: self.ssrc,
            ntp_timestamp: ntp::ntp_from_unix(unix),
            rtp_timestamp: self.last_ts_out.wrapping_add(units),
            packet_count: self.packets as u32,
            octet_count: self.octets as u32,
        })
    }

    /// Takes the endpoint's report on this stream; `unix` is the arrival time since the Unix epoch.
    /// Returns the new score if it changed.
    pub fn handle_report_block(&mut self, block: &ReportBlock, unix: Duration) -> Option<u8> {
        self.fraction_lost = block.fraction_lost;
        self.packets_lost = block.cumulative_lost;
        self.jitter = block.jitter;
        if block.last_sr != 0 {
            let arrival = ntp::ntp_to_compact(ntp::ntp_from_unix(unix));
            self.round_trip_time =
                ntp::round_trip_time(arrival, block.last_sr, block.delay_since_last_sr);
        }
        let delivered = 1.0 - f64::from(block.fraction_lost) / 256.0;
        let score = (delivered.powi(4) * 10.0).round() as u8;
        (score != self.score).then(|| {
            self.score = score;
            score
        })
    }

    /// Score from the receiver's reports, 0–10.
    pub fn score(&self) -> u8 {
        self.score
    }

    /// Counters for stats.
    pub fn stats(&mut self, now: Option<Instant>) -> SendStats {
        SendStats {
            ssrc: self.ssrc,
            packet_count: self.packets,
            byte_count: self.octets,
            bitrate: now.map_or(0, |now| self.rate.rate(now)),
            packets_retransmitted: self.retransmitted,
            packets_lost: self.packets_lost.max(0) as u64,
            fraction_lost: self.fraction_lost,
            jitter: self.jitter,
            round_trip_time: self.round_trip_time.map(|d| d.as_secs_f64() * 1000.0),
            nack_count: self.nack_count,
            pli_count: self.pli_count,
            fir_count: self.fir_count,
            score: self.score,
        }
    }
}

/// Counters of an outgoing stream.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SendStats {
    /// SSRC.
    pub ssrc: u32,
    /// Packets sent.
    pub packet_count: u64,
    /// Payload bytes sent.
    pub byte_count: u64,
    /// Bits per second over the last second.
    pub bitrate: u64,
    /// Retransmissions sent.
    pub packets_retransmitted: u64,
    /// Packets the receiver reported lost.
    pub packets_lost: u64,
    /// Fraction lost in the receiver's last report, in 1/256.
    pub fraction_lost: u8,
    /// Jitter the receiver reported, in RTP units.
    pub jitter: u32,
    /// Round-trip time in milliseconds, once the receiver echoed an SR.
    pub round_trip_time: Option<f64>,
    /// NACKs received.
    pub nack_count: u64,
    /// PLIs received.
    pub pli_count: u64,
    /// FIRs received.
    pub fir_count: u64,
    /// Score 0–10.
    pub score: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_continuously_across_a_resync() {
        let t0 = Instant::now();
        let mut s = RtpStreamSend::new(5555, 90000, 1000);
        assert_eq!(s.rewrite(t0, 10, 500), None, "not synced");
        s.sync(t0, 10, 500);
        assert_eq!(s.rewrite(t0, 10, 500), Some((1000, 500)));
        assert_eq!(s.rewrite(t0, 11, 3500), Some((1001, 3500)));
        assert_eq!(s.input_seq(1001), Some(11));
        s.unsync();
        assert_eq!(s.rewrite(t0, 12, 6500), None);
        // One second later the source jumped far ahead.
        let t1 = t0 + Duration::from_secs(1);
        s.sync(t1, 40_000, 9_000_000);
        assert_eq!(
            s.rewrite(t1, 40_000, 9_000_000),
            Some((1002, 3500 + 90_000))
        );
        assert_eq!(s.input_seq(1002), Some(40_000));
        assert_eq!(s.input_seq(999), None);
    }

    #[test]
    fn sender_info_extrapolates_the_timestamp() {
        let t0 = Instant::now();
        let mut s = RtpStreamSend::new(1, 48000, 0);
        assert!(s.sender_info(t0, Duration::from_secs(1)).is_none());
        s.sync(t0, 0, 1000);
        s.rewrite(t0, 0, 1000);
        s.count_sent(t0, 100, 112);
        let info = s
            .sender_info(
                t0 + Duration::from_millis(500),
                Duration::from_secs(1_700_000_000),
            )
            .unwrap();
        assert_eq!(info.rtp_timestamp, 1000 + 24000);
        assert_eq!((info.packet_count, info.octet_count), (1, 100));
    }

    #[test]
    fn receiver_reports_set_loss_and_score() {
        let mut s = RtpStreamSend::new(1, 90000, 0);
        let block = ReportBlock {
            ssrc: 1,
            fraction_lost: 64,
            cumulative_lost: 10,
            ..ReportBlock::default()
        };
        assert_eq!(
            s.handle_report_block(&block, Duration::from_secs(1)),
            Some(3)
        );
        let stats = s.stats(Some(Instant::now()));
        assert_eq!((stats.packets_lost, stats.fraction_lost), (10, 64));
    }
}
