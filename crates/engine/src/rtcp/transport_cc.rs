//! Transport-wide congestion control feedback (PT 205, FMT 15,
//! draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): the [`TransportCc`] view and its
//! [`TransportCc::statuses`] walk, and the [`TransportCcFeedback`] builder.
//!
//! ```text
//! |V=2|P|  FMT=15 |    PT=205     |           length              |
//! |                     SSRC of packet sender                     |
//! |                      SSRC of media source                     |
//! |      base sequence number     |      packet status count      |
//! |                 reference time                | fb pkt. count |
//! |          packet chunk         |         packet chunk          |  …
//! |         recv delta            |  recv delta   | zero padding  |  …
//! ```
//! - The statuses of `packet status count` transport-wide sequence numbers from the base (§3.1.1):
//!   not received (`00`), received with a small delta (`01`, one byte, 0–63.75 ms) or with a large or
//!   negative delta (`10`, two bytes signed).
//! - Chunks (§3.1.3, §3.1.4): run length (`0 SS LLLLLLLLLLLLL`: one symbol repeated up to 8191 times), or
//!   status vector (`1 0` + fourteen 1-bit symbols, not received / small; `1 1` + seven 2-bit symbols).
//!   Symbols of the last vector past the status count are zero and ignored.
//! - Reference time: 24-bit signed, in 64 ms units. Receive deltas (§3.1.5), in 250 µs units: the first
//!   received packet's is relative to the reference time, each next one to the previous received packet.
//!
//! The builder writes zero padding up to the 32-bit boundary inside the packet, without the P bit (the
//! draft's figure; what libwebrtc and mediasoup read). Must not: allocate (the builder's state is a fixed
//! array) or panic on any input.

use super::header::{need, put_u32, start_packet, u32_at};
use super::{BuildError, PT_RTPFB, RtcpError};

/// The feedback message type of transport-wide congestion control feedback.
pub const FMT_TRANSPORT_CC: u8 = 15;
/// Most packet statuses one [`TransportCcFeedback`] carries (at most ~620 bytes once written).
pub const MAX_STATUSES: usize = 256;

const NOT_RECEIVED: u8 = 0;
const SMALL: u8 = 1;
const LARGE: u8 = 2;

/// A transport-wide congestion control feedback packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportCc<'a> {
    body: &'a [u8],
}

impl<'a> TransportCc<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<Self, RtcpError> {
        need(PT_RTPFB, body, 8)?;
        Ok(Self { body })
    }

    /// SSRC of the packet's sender.
    pub fn sender_ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// SSRC of the media source (unused by the format; usually the first media SSRC or 0).
    pub fn media_ssrc(&self) -> u32 {
        u32_at(self.body, 4)
    }

    /// The feedback control information: base sequence number, status count, chunks and deltas.
    pub fn fci(&self) -> &'a [u8] {
        &self.body[8..]
    }

    /// Validates the FCI (every chunk and receive delta present, no reserved symbol) and walks it.
    pub fn statuses(&self) -> Result<PacketStatuses<'a>, RtcpError> {
        PacketStatuses::new(self.fci())
    }
}

/// One transport-wide sequence number's status in a feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketStatus {
    /// The transport-wide sequence number.
    pub sequence_number: u16,
    /// Received: its receive delta in 250 µs units (from the previous received packet, or the reference
    /// time for the first); `None` when not received.
    pub delta: Option<i16>,
}

/// The statuses of a validated transport-cc feedback, in sequence order.
#[derive(Debug, Clone)]
pub struct PacketStatuses<'a> {
    fci: &'a [u8],
    /// Next chunk's offset.
    chunk_at: usize,
    /// Next delta's offset.
    delta_at: usize,
    /// The current chunk and how many of its symbols were read.
    chunk: u16,
    chunk_read: u16,
    next_seq: u16,
    left: u16,
}

/// Symbol `i` of a chunk, and how many symbols it holds.
fn chunk_symbol(chunk: u16, i: u16) -> u8 {
    if chunk & 0x8000 == 0 {
        ((chunk >> 13) & 3) as u8
    } else if chunk & 0x4000 == 0 {
        ((chunk >> (13 - i)) & 1) as u8
    } else {
        ((chunk >> (12 - 2 * i)) & 3) as u8
    }
}

fn chunk_len(chunk: u16) -> u16 {
    if chunk & 0x8000 == 0 {
        chunk & 0x1FFF
    } else if chunk & 0x4000 == 0 {
        14
    } else {
        7
    }
}

impl<'a> PacketStatuses<'a> {
    fn new(fci: &'a [u8]) -> Result<Self, RtcpError> {
        need(PT_RTPFB, fci, 8)?;
        let count = u16::from_be_bytes([fci[2], fci[3]]);
        // Walk the chunks once: they must cover the count, then the deltas must fit.
        let mut at = 8;
        let mut covered = 0u16;
        let mut delta_bytes = 0usize;
        while covered < count {
            need(PT_RTPFB, fci, at + 2)?;
            let chunk = u16::from_be_bytes([fci[at], fci[at + 1]]);
            let n = chunk_len(chunk).min(count - covered);
            for i in 0..n {
                delta_bytes += match chunk_symbol(chunk, i) {
                    NOT_RECEIVED => 0,
                    SMALL => 1,
                    LARGE => 2,
                    _ => return Err(RtcpError::MalformedTransportCc { offset: at + 8 }),
                };
            }
            covered += n;
            at += 2;
        }
        need(PT_RTPFB, fci, at + delta_bytes)?;
        Ok(Self {
            fci,
            chunk_at: 8,
            delta_at: at,
            chunk: 0,
            chunk_read: 0,
            next_seq: u16::from_be_bytes([fci[0], fci[1]]),
            left: count,
        })
    }

    /// The first transport-wide sequence number reported.
    pub fn base_sequence_number(&self) -> u16 {
        u16::from_be_bytes([self.fci[0], self.fci[1]])
    }

    /// How many sequence numbers are reported.
    pub fn status_count(&self) -> u16 {
        u16::from_be_bytes([self.fci[2], self.fci[3]])
    }

    /// The reference time, in 64 ms units (24-bit signed, sign-extended).
    pub fn reference_time(&self) -> i32 {
        i32::from_be_bytes([self.fci[4], self.fci[5], self.fci[6], 0]) >> 8
    }

    /// The feedback packet count (wraps at 256).
    pub fn feedback_count(&self) -> u8 {
        self.fci[7]
    }
}

impl Iterator for PacketStatuses<'_> {
    type Item = PacketStatus;

    fn next(&mut self) -> Option<PacketStatus> {
        if self.left == 0 {
            return None;
        }
        while self.chunk_read >= chunk_len(self.chunk) {
            // Validated: chunks cover the count.
            self.chunk = u16::from_be_bytes([self.fci[self.chunk_at], self.fci[self.chunk_at + 1]]);
            self.chunk_at += 2;
            self.chunk_read = 0;
        }
        let symbol = chunk_symbol(self.chunk, self.chunk_read);
        self.chunk_read += 1;
        self.left -= 1;
        let delta = match symbol {
            SMALL => {
                self.delta_at += 1;
                Some(i16::from(self.fci[self.delta_at - 1]))
            }
            LARGE => {
                self.delta_at += 2;
                Some(i16::from_be_bytes([
                    self.fci[self.delta_at - 2],
                    self.fci[self.delta_at - 1],
                ]))
            }
            _ => None,
        };
        let sequence_number = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        Some(PacketStatus {
            sequence_number,
            delta,
        })
    }
}

/// A transport-cc feedback being built: statuses are pushed in sequence order from the base, then
/// [`TransportCcFeedback::write`] encodes them. Arrival times are absolute, in 250 µs units from any
/// epoch the caller keeps for the whole session (the reference time is derived from them).
#[derive(Clone)]
pub struct TransportCcFeedback {
    base_sequence_number: u16,
    feedback_count: u8,
    /// In 64 ms units.
    reference_time: i64,
    /// Arrival of the last received packet, in 250 µs units.
    last_arrival: Option<i64>,
    count: usize,
    symbols: [u8; MAX_STATUSES],
    deltas: [i16; MAX_STATUSES],
}

impl std::fmt::Debug for TransportCcFeedback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportCcFeedback")
            .field("base_sequence_number", &self.base_sequence_number)
            .field("count", &self.count)
            .field("reference_time", &self.reference_time)
            .finish()
    }
}

impl TransportCcFeedback {
    /// An empty feedback starting at `base_sequence_number`. `now` (250 µs units) is its reference time
    /// until a received packet is pushed: a feedback reporting only losses still carries a plausible
    /// reference time, which senders use to follow the receiver's clock.
    pub fn new(base_sequence_number: u16, feedback_count: u8, now: i64) -> Self {
        Self {
            base_sequence_number,
            feedback_count,
            reference_time: now.div_euclid(256),
            last_arrival: None,
            count: 0,
            symbols: [NOT_RECEIVED; MAX_STATUSES],
            deltas: [0; MAX_STATUSES],
        }
    }

    /// Statuses pushed so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The sequence number the next push reports.
    pub fn next_sequence_number(&self) -> u16 {
        self.base_sequence_number.wrapping_add(self.count as u16)
    }

    /// Reports the next sequence number as not received; false when full.
    pub fn push_lost(&mut self) -> bool {
        if self.count == MAX_STATUSES {
            return false;
        }
        self.symbols[self.count] = NOT_RECEIVED;
        self.count += 1;
        true
    }

    /// Reports the next sequence number as received at `arrival` (250 µs units); false when full or when
    /// its delta from the previous received packet does not fit 16 bits (±8.19 s): the caller then
    /// writes this feedback and starts another.
    pub fn push_received(&mut self, arrival: i64) -> bool {
        if self.count == MAX_STATUSES {
            return false;
        }
        let previous = match self.last_arrival {
            Some(previous) => previous,
            None => {
                self.reference_time = arrival.div_euclid(256);
                self.reference_time * 256
            }
        };
        let Ok(delta) = i16::try_from(arrival - previous) else {
            return false;
        };
        self.symbols[self.count] = if (0..=255).contains(&delta) {
            SMALL
        } else {
            LARGE
        };
        self.deltas[self.count] = delta;
        self.last_arrival = Some(arrival);
        self.count += 1;
        true
    }

    /// Calls `chunk` with each encoded chunk, in order.
    fn chunks(&self, mut chunk: impl FnMut(u16)) {
        let symbols = &self.symbols[..self.count];
        let mut i = 0;
        while i < symbols.len() {
            let symbol = symbols[i];
            let run = symbols[i..]
                .iter()
                .take(0x1FFF)
                .take_while(|&&s| s == symbol)
                .count();
            let rest = &symbols[i..];
            if run >= 14 || run == rest.len() && run > 7 {
                chunk((u16::from(symbol) << 13) | run as u16);
                i += run;
            } else if rest.iter().take(14).all(|&s| s != LARGE) {
                let mut c = 0x8000u16;
                for (k, &s) in rest.iter().take(14).enumerate() {
                    c |= u16::from(s) << (13 - k);
                }
                chunk(c);
                i += rest.len().min(14);
            } else {
                let mut c = 0xC000u16;
                for (k, &s) in rest.iter().take(7).enumerate() {
                    c |= u16::from(s) << (12 - 2 * k);
                }
                chunk(c);
                i += rest.len().min(7);
            }
        }
    }

    fn unpadded_len(&self) -> usize {
        let mut chunks = 0;
        self.chunks(|_| chunks += 1);
        let deltas: usize = self.symbols[..self.count]
            .iter()
            .map(|&s| usize::from(s))
            .sum();
        20 + 2 * chunks + deltas
    }

    /// Writes the feedback packet; returns its length (a multiple of 4).
    pub fn write(
        &self,
        buf: &mut [u8],
        sender_ssrc: u32,
        media_ssrc: u32,
    ) -> Result<usize, BuildError> {
        if self.count == 0 {
            return Err(BuildError::Empty);
        }
        let unpadded = self.unpadded_len();
        let len = unpadded.next_multiple_of(4);
        let out = start_packet(buf, len, FMT_TRANSPORT_CC, PT_RTPFB)?;
        put_u32(out, 4, sender_ssrc);
        put_u32(out, 8, media_ssrc);
        out[12..14].copy_from_slice(&self.base_sequence_number.to_be_bytes());
        out[14..16].copy_from_slice(&(self.count as u16).to_be_bytes());
        let reference = (self.reference_time as u32) & 0x00FF_FFFF;
        put_u32(out, 16, (reference << 8) | u32::from(self.feedback_count));
        let mut at = 20;
        self.chunks(|c| {
            out[at..at + 2].copy_from_slice(&c.to_be_bytes());
            at += 2;
        });
        for (&symbol, &delta) in self.symbols[..self.count].iter().zip(&self.deltas) {
            match symbol {
                SMALL => {
                    out[at] = delta as u8;
                    at += 1;
                }
                LARGE => {
                    out[at..at + 2].copy_from_slice(&delta.to_be_bytes());
                    at += 2;
                }
                _ => {}
            }
        }
        out[at..len].fill(0);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::noise::XorShift;
    use crate::rtcp::{Compound, RtcpPacket};

    fn view(bytes: &[u8]) -> TransportCc<'_> {
        match Compound::new(bytes).next() {
            Some(Ok(RtcpPacket::TransportCc(t))) => t,
            other => panic!("not transport-cc: {other:?}"),
        }
    }

    fn statuses(bytes: &[u8]) -> Vec<(u16, Option<i16>)> {
        view(bytes)
            .statuses()
            .unwrap()
            .map(|s| (s.sequence_number, s.delta))
            .collect()
    }

    /// Laid out by hand from §3.1: base 5, 3 statuses, reference 1 (64 ms), fb count 7; 5 received
    /// 1 ms after the reference, 6 lost, 7 received 1 ms before 5 (a negative, "large" delta). One
    /// two-bit status vector chunk `11 01 00 10 00 00 00 00`.
    #[test]
    fn hand_laid_two_bit_vector() {
        let bytes = [
            0x8F, 205, 0x00, 0x06, // FMT 15, 6 words
            0x00, 0x00, 0x00, 0x01, // sender
            0x00, 0x00, 0x00, 0x02, // media
            0x00, 0x05, 0x00, 0x03, // base 5, count 3
            0x00, 0x00, 0x01, 0x07, // reference 1, fb count 7
            0xD2, 0x00, // chunk
            0x04, 0xFF, 0xFC, // deltas +4, -4
            0x00, 0x00, 0x00, // padding
        ];
        let s = view(&bytes).statuses().unwrap();
        assert_eq!(
            (
                s.base_sequence_number(),
                s.status_count(),
                s.reference_time(),
                s.feedback_count()
            ),
            (5, 3, 1, 7)
        );
        assert_eq!(
            statuses(&bytes),
            vec![(5, Some(4)), (6, None), (7, Some(-4))]
        );
        // 64 ms = 256 units of 250 µs; 5 at 65 ms, 7 at 64 ms.
        let mut fb = TransportCcFeedback::new(5, 7, 0);
        assert!(fb.push_received(260));
        assert!(fb.push_lost());
        assert!(fb.push_received(256));
        let mut buf = [0u8; 64];
        assert_eq!(fb.write(&mut buf, 1, 2), Ok(28));
        assert_eq!(&buf[..28], &bytes);
    }

    /// §3.1.3: a run of 20 "received, small delta", then the one-bit vector for the tail.
    #[test]
    fn hand_laid_run_length_and_one_bit_vector() {
        let mut fb = TransportCcFeedback::new(65530, 0, 0);
        for i in 0..20 {
            assert!(fb.push_received(i * 4));
        }
        fb.push_lost();
        fb.push_received(100);
        let mut buf = [0u8; 128];
        let len = fb.write(&mut buf, 1, 2).unwrap();
        // Run chunk 0 01 0000000010100, then 1 0 01 followed by zeros: lost, received.
        assert_eq!(&buf[20..24], &[0x20, 0x14, 0x90, 0x00]);
        // Deltas: 0, then nineteen 4s, then 24.
        assert_eq!(buf[24], 0);
        assert!(buf[25..44].iter().all(|&d| d == 4));
        assert_eq!(buf[44], 24);
        assert_eq!(len, 48);
        let got = statuses(&buf[..len]);
        assert_eq!(got.len(), 22);
        assert_eq!(got[0], (65530, Some(0)));
        assert_eq!(got[6], (0, Some(4)), "wraps");
        assert_eq!(got[20], (14, None));
        assert_eq!(got[21], (15, Some(24)));
    }

    #[test]
    fn large_deltas_and_reference_time() {
        // Reference 1000 × 64 ms; a 2 s gap (8000 units) needs a large delta; so does going back.
        let t = 1000 * 256 + 10;
        let mut fb = TransportCcFeedback::new(1, 0, 0);
        assert!(fb.push_received(t));
        assert!(fb.push_received(t + 8000));
        assert!(fb.push_received(t + 8000 - 300));
        assert!(!fb.push_received(t + 8000 + 40_000), "over 8.19 s");
        let mut buf = [0u8; 64];
        let len = fb.write(&mut buf, 1, 2).unwrap();
        let s = view(&buf[..len]).statuses().unwrap();
        assert_eq!(s.reference_time(), 1000);
        assert_eq!(
            s.map(|s| s.delta).collect::<Vec<_>>(),
            vec![Some(10), Some(8000), Some(-300)]
        );
    }

    #[test]
    fn lost_only_feedback_carries_the_given_reference() {
        let mut fb = TransportCcFeedback::new(9, 3, 64 * 256 + 7);
        for _ in 0..30 {
            fb.push_lost();
        }
        let mut buf = [0u8; 64];
        let len = fb.write(&mut buf, 1, 2).unwrap();
        // One run-length chunk of 30 "not received".
        assert_eq!(len, 24);
        assert_eq!(&buf[20..22], &[0x00, 30]);
        let s = view(&buf[..len]).statuses().unwrap();
        assert_eq!(s.reference_time(), 64);
        assert!(s.clone().all(|s| s.delta.is_none()));
        assert_eq!(s.count(), 30);
    }

    #[test]
    fn capacity_and_errors() {
        let mut fb = TransportCcFeedback::new(0, 0, 0);
        let mut buf = [0u8; 2048];
        assert_eq!(fb.write(&mut buf, 1, 2), Err(BuildError::Empty));
        for i in 0..MAX_STATUSES as i64 {
            // Alternating large steps: every delta large, the worst case.
            assert!(fb.push_received(i * 300));
        }
        assert!(!fb.push_lost() && !fb.push_received(0));
        let len = fb.write(&mut buf, 1, 2).unwrap();
        assert!(len <= 20 + 2 * 37 + 2 * MAX_STATUSES + 3, "{len}");
        assert!(matches!(
            fb.write(&mut buf[..100], 1, 2),
            Err(BuildError::BufferTooSmall { .. })
        ));
        // Truncated deltas and a reserved symbol are refused.
        let mut small = TransportCcFeedback::new(0, 0, 0);
        small.push_received(5);
        let n = small.write(&mut buf, 1, 2).unwrap();
        let mut bytes = buf[..n].to_vec();
        bytes[14..16].copy_from_slice(&2u16.to_be_bytes());
        bytes[20..22].copy_from_slice(&0x2002u16.to_be_bytes()); // run of 2 small: 2 delta bytes, 1 there + padding
        assert!(
            view(&bytes).statuses().is_ok(),
            "padding byte read as delta"
        );
        bytes[20..22].copy_from_slice(&0x6002u16.to_be_bytes()); // reserved symbol 11
        assert_eq!(
            view(&bytes).statuses().err(),
            Some(RtcpError::MalformedTransportCc { offset: 16 })
        );
        bytes[20..22].copy_from_slice(&0x4002u16.to_be_bytes()); // 2 large: 4 bytes, 3 there
        assert!(matches!(
            view(&bytes).statuses(),
            Err(RtcpError::Truncated { .. })
        ));
    }

    #[test]
    fn random_round_trips() {
        let mut rng = XorShift::new(0x7cc);
        let mut buf = [0u8; 2048];
        for _ in 0..2000 {
            let base = rng.next_u64() as u16;
            let mut fb = TransportCcFeedback::new(base, rng.next_u64() as u8, 0);
            let mut arrival = (rng.next_u64() % 1_000_000) as i64;
            let mut expected = Vec::new();
            let mut previous: Option<i64> = None;
            let n = 1 + rng.below(MAX_STATUSES);
            for _ in 0..n {
                if rng.below(4) == 0 {
                    fb.push_lost();
                    expected.push(None);
                    continue;
                }
                // Mostly small steps, some reordering and some long pauses.
                arrival += match rng.below(10) {
                    0 => -(rng.below(400) as i64),
                    1 => rng.below(30_000) as i64,
                    _ => rng.below(40) as i64,
                };
                if !fb.push_received(arrival) {
                    break;
                }
                let from = previous.unwrap_or(arrival.div_euclid(256) * 256);
                expected.push(Some((arrival - from) as i16));
                previous = Some(arrival);
            }
            let len = fb.write(&mut buf, 1, 2).unwrap();
            assert_eq!(len % 4, 0);
            let got: Vec<_> = view(&buf[..len])
                .statuses()
                .unwrap()
                .enumerate()
                .map(|(i, s)| {
                    assert_eq!(s.sequence_number, base.wrapping_add(i as u16));
                    s.delta
                })
                .collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn noise_never_panics() {
        let mut rng = XorShift::new(15);
        let mut fb = TransportCcFeedback::new(0, 0, 0);
        for i in 0..40 {
            if i % 3 == 0 {
                fb.push_lost();
            } else {
                fb.push_received(i * 900);
            }
        }
        let mut buf = [0u8; 512];
        let len = fb.write(&mut buf, 1, 2).unwrap();
        for _ in 0..20_000 {
            let mut bytes = buf[..len].to_vec();
            rng.mutate(&mut bytes[12..]);
            if let Some(Ok(RtcpPacket::TransportCc(t))) = Compound::new(&bytes).next()
                && let Ok(s) = t.statuses()
            {
                let count = usize::from(s.status_count());
                assert_eq!(s.count(), count);
            }
        }
    }
}
