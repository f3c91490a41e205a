//! [`Compound`]: the walk over the packets of one RTCP datagram (RFC 3550 §6.1), dispatching each to its
//! typed view. Reduced-size RTCP (RFC 5506 §3) is accepted: any packet may come first and a datagram may
//! hold a single feedback packet.

use super::bye::Bye;
use super::fir::{FMT_FIR, Fir};
use super::header::frame;
use super::nack::{FMT_NACK, Nack};
use super::pli::{FMT_PLI, Pli};
use super::receiver_report::ReceiverReport;
use super::remb::{FMT_AFB, Remb};
use super::sdes::Sdes;
use super::sender_report::SenderReport;
use super::transport_cc::{FMT_TRANSPORT_CC, TransportCc};
use super::{PT_BYE, PT_PSFB, PT_RR, PT_RTPFB, PT_SDES, PT_SR, RtcpError, RtcpPacket};

/// The packets of an RTCP datagram, in order. The first malformed packet is yielded as an error and ends
/// the walk: the rest of the datagram cannot be framed reliably.
#[derive(Debug, Clone)]
pub struct Compound<'a> {
    rest: &'a [u8],
}

impl<'a> Compound<'a> {
    /// The walk over `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        Self { rest: datagram }
    }
}

impl<'a> Iterator for Compound<'a> {
    type Item = Result<RtcpPacket<'a>, RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let result = frame(self.rest).and_then(|(f, rest)| {
            self.rest = rest;
            let (count, body) = (f.count, f.body);
            Ok(match (f.packet_type, count) {
                (PT_SR, _) => RtcpPacket::SenderReport(SenderReport::parse(count, body)?),
                (PT_RR, _) => RtcpPacket::ReceiverReport(ReceiverReport::parse(count, body)?),
                (PT_SDES, _) => RtcpPacket::Sdes(Sdes::parse(count, body)?),
                (PT_BYE, _) => RtcpPacket::Bye(Bye::parse(count, body)?),
                (PT_RTPFB, FMT_NACK) => RtcpPacket::Nack(Nack::parse(body)?),
                (PT_RTPFB, FMT_TRANSPORT_CC) => RtcpPacket::TransportCc(TransportCc::parse(body)?),
                (PT_PSFB, FMT_PLI) => RtcpPacket::Pli(Pli::parse(body)?),
                (PT_PSFB, FMT_FIR) => RtcpPacket::Fir(Fir::parse(body)?),
                (PT_PSFB, FMT_AFB) if Remb::is_remb(body) => RtcpPacket::Remb(Remb::parse(body)?),
                (packet_type, count) => RtcpPacket::Other {
                    packet_type,
                    count,
                    body,
                },
            })
        });
        if result.is_err() {
            self.rest = &[];
        }
        Some(result)
    }
}

impl std::iter::FusedIterator for Compound<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::noise::XorShift;
    use crate::rtcp::{
        FirEntry, ReportBlock, SenderInfo, write_bye, write_fir, write_nack, write_pli,
        write_receiver_report, write_remb, write_sdes_cname, write_sender_report,
    };

    /// A compound as a browser sends it: SR + SDES, then feedback (reduced-size packets may follow).
    fn sample(buf: &mut [u8]) -> usize {
        let mut n = 0;
        let info = SenderInfo {
            ssrc: 1,
            ntp_timestamp: 0xE000_0000_8000_0000,
            ..Default::default()
        };
        let blocks = [ReportBlock {
            ssrc: 2,
            ..Default::default()
        }];
        n += write_sender_report(&mut buf[n..], &info, &blocks).unwrap();
        n += write_sdes_cname(&mut buf[n..], 1, b"user@host").unwrap();
        n += write_receiver_report(&mut buf[n..], 1, &[]).unwrap();
        n += write_nack(&mut buf[n..], 1, 2, &[10, 12]).unwrap();
        n += write_pli(&mut buf[n..], 1, 2).unwrap();
        n += write_fir(&mut buf[n..], 1, &[FirEntry { ssrc: 2, seq_nr: 3 }]).unwrap();
        n += write_remb(&mut buf[n..], 1, 1_000_000, &[2]).unwrap();
        n += write_bye(&mut buf[n..], &[1], Some(b"done")).unwrap();
        n
    }

    #[test]
    fn walks_a_compound() {
        let mut buf = [0u8; 512];
        let n = sample(&mut buf);
        let kinds: Vec<&str> = Compound::new(&buf[..n])
            .map(|p| match p.unwrap() {
                RtcpPacket::SenderReport(_) => "sr",
                RtcpPacket::ReceiverReport(_) => "rr",
                RtcpPacket::Sdes(s) => {
                    assert_eq!(s.chunks().next().unwrap().cname_str(), Some("user@host"));
                    "sdes"
                }
                RtcpPacket::Bye(_) => "bye",
                RtcpPacket::Nack(n) => {
                    assert_eq!(n.lost().collect::<Vec<_>>(), vec![10, 12]);
                    "nack"
                }
                RtcpPacket::TransportCc(_) => "twcc",
                RtcpPacket::Pli(_) => "pli",
                RtcpPacket::Fir(_) => "fir",
                RtcpPacket::Remb(r) => {
                    assert_eq!(r.bitrate(), 1_000_000);
                    "remb"
                }
                RtcpPacket::Other { .. } => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            ["sr", "sdes", "rr", "nack", "pli", "fir", "remb", "bye"]
        );
    }

    #[test]
    fn transport_cc_and_unknown_types_are_framed() {
        let twcc = [
            0x8F, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 5, 0, 1, 0x20, 0x01, 0x94, 0x00,
        ];
        let app = [0x80, 204, 0, 2, 0, 0, 0, 1, b'n', b'a', b'm', b'e'];
        let mut bytes = twcc.to_vec();
        bytes.extend_from_slice(&app);
        let mut c = Compound::new(&bytes);
        let Some(Ok(RtcpPacket::TransportCc(t))) = c.next() else {
            panic!("not transport-cc")
        };
        assert_eq!((t.sender_ssrc(), t.media_ssrc()), (1, 2));
        assert_eq!(t.fci(), &twcc[12..]);
        assert_eq!(
            c.next(),
            Some(Ok(RtcpPacket::Other {
                packet_type: 204,
                count: 0,
                body: &app[4..]
            }))
        );
        assert_eq!(c.next(), None);
    }

    #[test]
    fn an_error_ends_the_walk() {
        let mut buf = [0u8; 512];
        let n = sample(&mut buf);
        // Corrupt the third packet's (RR's) version.
        let sr_len = 28 + 24;
        let sdes_len = 4 + 16;
        buf[sr_len + sdes_len] = 0x40;
        let results: Vec<_> = Compound::new(&buf[..n]).collect();
        assert_eq!(results.len(), 3);
        assert!(results[0].is_ok() && results[1].is_ok());
        assert_eq!(results[2], Err(RtcpError::Version(1)));
        // Trailing bytes that cannot be a header are an error too.
        let results: Vec<_> = Compound::new(&buf[..sr_len + 2]).collect();
        assert_eq!(results[1], Err(RtcpError::TooShort { len: 2 }));
    }

    #[test]
    fn noise_never_panics() {
        let mut rng = XorShift::new(5506);
        let mut seed = [0u8; 512];
        let n = sample(&mut seed);
        let mut buf = [0u8; 512];
        for i in 0..30_000 {
            let bytes: &[u8] = if i % 3 == 0 {
                let len = rng.below(128);
                rng.fill(&mut buf[..len]);
                if len > 0 {
                    buf[0] = 0x80 | (buf[0] & 0x3f);
                }
                if len > 1 {
                    buf[1] = 200 + rng.below(8) as u8;
                }
                &buf[..len]
            } else {
                buf[..n].copy_from_slice(&seed[..n]);
                rng.mutate(&mut buf[..n]);
                &buf[..n - rng.below(n / 2)]
            };
            for packet in Compound::new(bytes) {
                match packet {
                    Ok(RtcpPacket::SenderReport(sr)) => {
                        let _ = (sr.info(), sr.report_blocks().count());
                    }
                    Ok(RtcpPacket::ReceiverReport(rr)) => {
                        let _ = rr.report_blocks().count();
                    }
                    Ok(RtcpPacket::Sdes(s)) => {
                        for c in s.chunks() {
                            let _ = (c.cname(), c.items().count());
                        }
                    }
                    Ok(RtcpPacket::Bye(b)) => {
                        let _ = (b.ssrcs().count(), b.reason());
                    }
                    Ok(RtcpPacket::Nack(nack)) => {
                        let _ = nack.lost().count();
                    }
                    Ok(RtcpPacket::Fir(f)) => {
                        let _ = f.entries().count();
                    }
                    Ok(RtcpPacket::Remb(r)) => {
                        let _ = (r.bitrate(), r.ssrcs().count());
                    }
                    Ok(_) | Err(_) => {}
                }
            }
        }
    }
}
