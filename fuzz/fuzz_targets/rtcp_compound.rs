//! The RTCP compound walk: never panics, stops after an error, and NACKs survive a rebuild.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediagate_engine::rtcp::{Compound, RtcpPacket, write_nack};

fuzz_target!(|data: &[u8]| {
    let mut walk = Compound::new(data);
    while let Some(packet) = walk.next() {
        match packet {
            Err(_) => {
                assert!(walk.next().is_none());
                break;
            }
            Ok(RtcpPacket::SenderReport(sr)) => {
                let _ = (sr.info(), sr.report_blocks().count());
            }
            Ok(RtcpPacket::ReceiverReport(rr)) => {
                let _ = (rr.ssrc(), rr.report_blocks().count());
            }
            Ok(RtcpPacket::Sdes(s)) => {
                for chunk in s.chunks() {
                    let _ = (chunk.cname_str(), chunk.items().count());
                }
            }
            Ok(RtcpPacket::Bye(b)) => {
                let _ = (b.ssrcs().count(), b.reason());
            }
            Ok(RtcpPacket::Nack(n)) => {
                let mut lost: Vec<u16> = n.lost().collect();
                let mut buf = vec![0u8; 12 + 4 * lost.len()];
                let len =
                    write_nack(&mut buf, n.sender_ssrc(), n.media_ssrc(), &lost).expect("fits");
                let Some(Ok(RtcpPacket::Nack(again))) = Compound::new(&buf[..len]).next() else {
                    panic!("a rebuilt NACK parses")
                };
                let mut got: Vec<u16> = again.lost().collect();
                lost.sort_unstable();
                lost.dedup();
                got.sort_unstable();
                got.dedup();
                assert_eq!(got, lost);
            }
            Ok(RtcpPacket::TransportCc(t)) => {
                let _ = (t.sender_ssrc(), t.media_ssrc(), t.fci().len());
                if let Ok(statuses) = t.statuses() {
                    let count = usize::from(statuses.status_count());
                    assert_eq!(statuses.count(), count);
                }
            }
            Ok(RtcpPacket::Pli(p)) => {
                let _ = p.media_ssrc;
            }
            Ok(RtcpPacket::Fir(f)) => {
                let _ = (f.sender_ssrc(), f.entries().count());
            }
            Ok(RtcpPacket::Remb(r)) => {
                let _ = (r.bitrate(), r.ssrcs().count());
            }
            Ok(RtcpPacket::Other { .. }) => {}
        }
    }
});
