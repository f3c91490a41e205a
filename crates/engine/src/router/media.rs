//! The packet path of a room: a datagram in, its fan-out out (mediasoup's Transport → Producer →
//! Router → Consumer chain, in one place).
//!
//! receive → source check and comedia latching → SRTP unprotect → classify (RFC 7983) → RTP: producer
//! stream by SSRC (or MID/RID), normalised in place to the router's payload type, SSRC and extension ids,
//! kept for retransmission, then rewritten per consumer (sequence, timestamp, SSRC, extensions), SRTP
//! protected and written to the outbox; RTCP: SRs into producer streams, RRs/NACKs/PLIs/FIRs from
//! consumers' endpoints. Timers send RRs to senders, SRs to receivers, keyframe requests and scores.
//!
//! Feedback toward producers' endpoints, only what each negotiated (a plain FFmpeg or GStreamer source
//! with no `rtcp-fb` gets none of it): generic NACKs for lost packets (`nack`), answered by RTX that is
//! unwrapped here (RFC 4588) and takes the original's path; transport-cc feedback (transport-wide-cc-01
//! extension and `transport-cc`) or else REMB (abs-send-time and `goog-remb`) per transport, so the
//! sender's congestion controller can ramp up. Toward consumers, the transport-wide-cc extension and the
//! MID are stripped (zeroed into padding): the first numbers the producer's transport, not the
//! consumer's; the second names the producer's m-section, not the consumer's.
//!
//! Nothing here allocates per packet: the outbox owns the send buffers, lookups are map reads, and a
//! producer's consumer list is lent out during the fan-out rather than copied.

use crate::srtp::SrtpSession;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::consumer::Consumer;
use super::producer::Producer;
use super::transport::{Transport, TransportKind};
use super::{Router, RouterEvent};
use crate::bwe::{RembEstimator, TransportCcRecorder};
use crate::ids::{ConsumerId, ProducerId, TransportId};
use crate::net::{Outbox, PacketKind, SocketRef, classify};
use crate::rtcp::{self, Compound, RtcpPacket};
use crate::rtp::codec::{KeyframeCodec, is_keyframe};
use crate::rtp::{ExtensionIdMap, RtpPacket, RtpPacketMut, ext};
use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpParameters};
use crate::srtp::MAX_TRAILER_LEN;
use crate::stream::{RtpStreamRecv, RtpStreamSend, SequenceVerdict};

/// How often reports (RR to senders, SR to receivers) and scores go out.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Most sequence numbers one stream's NACK carries per timeout (a 268-byte packet at worst); the rest
/// stay due and go out at the next timeout.
const NACK_BATCH: usize = 64;
/// Most media SSRCs one REMB names.
const REMB_SSRCS: usize = 16;

/// Which receive-side bandwidth feedback a producer's endpoint negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BweFeedback {
    /// The transport-wide-cc-01 extension (under this id) and `transport-cc` feedback.
    TransportCc(u8),
    /// abs-send-time and `goog-remb`.
    Remb,
    /// Neither.
    None,
}

/// Receive-side bandwidth feedback state of a transport whose producers asked for it.
#[derive(Debug)]
pub(crate) enum IncomingBwe {
    TransportCc(Box<TransportCcRecorder>),
    Remb(RembEstimator),
}

impl IncomingBwe {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            IncomingBwe::TransportCc(r) => r.poll_timeout(),
            IncomingBwe::Remb(e) => e.poll_timeout(),
        }
    }
}
/// How a producer's endpoint is asked for a keyframe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyframeMethod {
    /// `nack pli` was negotiated.
    Pli,
    /// `ccm fir` was negotiated.
    Fir,
    /// Neither: the endpoint is never asked (FFmpeg, GStreamer without feedback).
    None,
}

/// Packet-path state of a producer.
#[derive(Debug)]
pub(crate) struct ProducerMedia {
    /// Producer payload type → router payload type (`NO_PT` when not negotiated).
    pt_map: [u8; 128],
    /// Producer extension id → router extension id (0 drops it).
    ext_map: ExtensionIdMap,
    /// The producer's MID and RID extension ids, to find streams without signalled SSRCs.
    pub(crate) mid_ext: Option<u8>,
    pub(crate) rid_ext: Option<u8>,
    rrid_ext: Option<u8>,
    /// Producer RTX payload type → the payload type it repairs (`apt`); `NO_PT` when not RTX.
    rtx_apt: [u8; 128],
    /// RTX SSRC of each encoding: signalled, or learnt from MID and repaired RID.
    rtx_ssrcs: Vec<Option<u32>>,
    /// Generic NACK was negotiated: lost packets are asked for.
    nack: bool,
    pub(crate) bwe: BweFeedback,
    codec: KeyframeCodec,
    pub(crate) keyframe_method: KeyframeMethod,
    clock_rate: u32,
    video: bool,
    key_frame_request_delay: Duration,
    /// SSRC inside the router of each encoding.
    mapped_ssrcs: Vec<u32>,
    /// RIDs of the encodings, when signalled.
    rids: Vec<Option<String>>,
    /// One stream per encoding, created on its first packet.
    pub(crate) streams: Vec<Option<RtpStreamRecv>>,
}

const NO_PT: u8 = 0xFF;

impl ProducerMedia {
    pub(crate) fn new(
        params: &RtpParameters,
        mapping: &crate::ortc::RtpMapping,
        router_caps: &RtpCapabilities,
        kind: MediaKind,
        key_frame_request_delay: Duration,
    ) -> Self {
        let mut pt_map = [NO_PT; 128];
        for c in &mapping.codecs {
            if let Some(slot) = pt_map.get_mut(usize::from(c.payload_type)) {
                *slot = c.mapped_payload_type;
            }
        }
        let mut ext_map = ExtensionIdMap::new();
        let (mut mid_ext, mut rid_ext, mut rrid_ext, mut tcc_ext, mut abs_send_time) =
            (None, None, None, None, false);
        for e in &params.header_extensions {
            match e.uri.as_str() {
                ext::uri::MID => mid_ext = Some(e.id),
                ext::uri::RTP_STREAM_ID => rid_ext = Some(e.id),
                ext::uri::REPAIRED_RTP_STREAM_ID => rrid_ext = Some(e.id),
                ext::uri::TRANSPORT_WIDE_CC => tcc_ext = Some(e.id),
                ext::uri::ABS_SEND_TIME => abs_send_time = true,
                _ => {}
            }
            if let Some(router) = router_caps
                .header_extensions
                .iter()
                .find(|h| h.kind == kind && h.uri == e.uri)
            {
                ext_map.set(e.id, router.preferred_id);
            }
        }
        let media = params
            .codecs
            .iter()
            .find(|c| !c.mime_type.to_ascii_lowercase().ends_with("/rtx"));
        let keyframe_method = media.map_or(KeyframeMethod::None, |c| {
            if c.rtcp_feedback
                .iter()
                .any(|f| f.r#type == "nack" && f.parameter == "pli")
            {
                KeyframeMethod::Pli
            } else if c
                .rtcp_feedback
                .iter()
                .any(|f| f.r#type == "ccm" && f.parameter == "fir")
            {
                KeyframeMethod::Fir
            } else {
                KeyframeMethod::None
            }
        });
        let has_fb = |t: &str| {
            media.is_some_and(|c| {
                c.rtcp_feedback
                    .iter()
                    .any(|f| f.r#type == t && f.parameter.is_empty())
            })
        };
        let bwe = match tcc_ext {
            Some(id) if has_fb("transport-cc") => BweFeedback::TransportCc(id),
            _ if abs_send_time && has_fb("goog-remb") => BweFeedback::Remb,
            _ => BweFeedback::None,
        };
        let mut rtx_apt = [NO_PT; 128];
        for c in &params.codecs {
            let apt = c.parameters.get("apt").and_then(|v| v.as_i64());
            if c.mime_type.to_ascii_lowercase().ends_with("/rtx")
                && let (Some(slot), Some(Ok(apt))) = (
                    rtx_apt.get_mut(usize::from(c.payload_type)),
                    apt.map(u8::try_from),
                )
            {
                *slot = apt & 0x7f;
            }
        }
        Self {
            rrid_ext,
            rtx_apt,
            rtx_ssrcs: params
                .encodings
                .iter()
                .map(|e| e.rtx.map(|r| r.ssrc))
                .collect(),
            nack: has_fb("nack"),
            bwe,
            pt_map,
            ext_map,
            mid_ext,
            rid_ext,
            codec: media.map_or(KeyframeCodec::Other, |c| {
                KeyframeCodec::from_mime(&c.mime_type)
            }),
            keyframe_method,
            clock_rate: media.map_or(90000, |c| c.clock_rate),
            video: kind == MediaKind::Video,
            key_frame_request_delay,
            mapped_ssrcs: mapping.encodings.iter().map(|e| e.mapped_ssrc).collect(),
            rids: params.encodings.iter().map(|e| e.rid.clone()).collect(),
            streams: params.encodings.iter().map(|_| None).collect(),
        }
    }

    /// The encoding a RID names.
    pub(crate) fn encoding_of_rid(&self, rid: &str) -> Option<usize> {
        self.rids.iter().position(|r| r.as_deref() == Some(rid))
    }

    fn stream(&mut self, encoding: usize, ssrc: u32) -> Option<&mut RtpStreamRecv> {
        let (clock_rate, video, delay, nack) = (
            self.clock_rate,
            self.video,
            self.key_frame_request_delay,
            self.nack,
        );
        let slot = self.streams.get_mut(encoding)?;
        if slot.as_ref().is_none_or(|s| s.ssrc() != ssrc) {
            *slot = Some(RtpStreamRecv::new(ssrc, clock_rate, video, delay, nack));
        }
        slot.as_mut()
    }

    /// The encoding an RTX packet repairs (RFC 4588 §4: RTX payload type; RTX SSRC signalled, or MID and
    /// repaired RID, RFC 8852 §3), learning its SSRC; `None` when it is not this producer's RTX.
    fn rtx_encoding(&mut self, packet: &RtpPacket<'_>, mid: Option<&str>) -> Option<usize> {
        if self.rtx_apt[usize::from(packet.payload_type())] == NO_PT {
            return None;
        }
        let ssrc = packet.ssrc();
        if let Some(i) = self.rtx_ssrcs.iter().position(|s| *s == Some(ssrc)) {
            return Some(i);
        }
        if let Some(mid) = mid
            && self.mid_ext.and_then(|id| packet.mid(id)) != Some(mid)
        {
            return None;
        }
        let encoding = match self.rrid_ext.and_then(|id| packet.repaired_rid(id)) {
            Some(rrid) => self.encoding_of_rid(rrid)?,
            None if mid.is_some() && self.rtx_ssrcs.len() == 1 => 0,
            None => return None,
        };
        let slot = self.rtx_ssrcs.get_mut(encoding)?;
        if slot.is_some() {
            // Another SSRC already repairs this encoding.
            return None;
        }
        *slot = Some(ssrc);
        Some(encoding)
    }
}

/// Packet-path state of a consumer.
#[derive(Debug)]
pub(crate) struct ConsumerMedia {
    pub(crate) stream: RtpStreamSend,
    /// Router extension id → the consumer's (0 removes extensions it did not negotiate).
    ext_map: ExtensionIdMap,
    /// Router payload type → the consumer's (the identity unless its endpoint chose its own numbering).
    payload_types: [u8; 128],
    /// RTX payload type and SSRC, when negotiated.
    rtx: Option<(u8, u32)>,
    video: bool,
}

impl ConsumerMedia {
    pub(crate) fn new(params: &RtpParameters, kind: MediaKind, initial_seq: u16) -> Self {
        let media = params.codecs.first();
        let encoding = params.encodings.first();
        let ssrc = encoding.and_then(|e| e.ssrc).unwrap_or_default();
        let rtx_pt = params.codecs.iter().find_map(|c| {
            (c.mime_type.eq_ignore_ascii_case("video/rtx")).then_some(c.payload_type)
        });
        let rtx_ssrc = encoding.and_then(|e| e.rtx).map(|r| r.ssrc);
        let mut ext_map = ExtensionIdMap::new();
        for e in &params.header_extensions {
            // Dropped: the producer's transport-wide sequence numbers and its MID mean nothing here.
            if e.uri != ext::uri::TRANSPORT_WIDE_CC && e.uri != ext::uri::MID {
                ext_map.set(e.id, e.id);
            }
        }
        let mut payload_types = [0; 128];
        for (pt, slot) in (0u8..).zip(payload_types.iter_mut()) {
            *slot = pt;
        }
        Self {
            stream: RtpStreamSend::new(ssrc, media.map_or(90000, |c| c.clock_rate), initial_seq),
            ext_map,
            payload_types,
            rtx: rtx_pt.zip(rtx_ssrc),
            video: kind == MediaKind::Video,
        }
    }

    /// Sends in the endpoint's numbering from now on: its payload types (RTX too) and header extension ids.
    /// Extensions the consumer did not forward stay dropped.
    pub(crate) fn renumber(&mut self, numbering: &crate::ortc::EndpointNumbering) {
        for &(router, endpoint) in &numbering.payload_types {
            if let Some(slot) = self.payload_types.get_mut(usize::from(router)) {
                *slot = endpoint & 0x7f;
            }
        }
        if let Some((pt, _)) = &mut self.rtx
            && let Some(endpoint) = numbering.payload_type(*pt)
        {
            *pt = endpoint;
        }
        let mut ext_map = ExtensionIdMap::new();
        for &(router, endpoint) in &numbering.header_extension_ids {
            if self.ext_map.get(router) != 0 {
                ext_map.set(router, endpoint);
            }
        }
        self.ext_map = ext_map;
    }

    /// SSRCs the consumer's endpoint reports on: the media one and the RTX one.
    pub(crate) fn ssrcs(&self) -> impl Iterator<Item = u32> {
        std::iter::once(self.stream.ssrc()).chain(self.rtx.map(|(_, s)| s))
    }
}

/// Where a transport sends media, and the SRTP session that protects it (if any).
fn media_path(
    transport: &mut Transport,
) -> Option<(SocketRef, SocketAddr, Option<&mut SrtpSession>)> {
    match &mut transport.kind {
        TransportKind::Plain(plain) => Some((
            plain.setup.rtp_socket,
            plain.remote_rtp?,
            plain.srtp_out.as_mut(),
        )),
        TransportKind::WebRtc(state) => {
            let (socket, destination, srtp) = state.media_path()?;
            Some((socket, destination, Some(srtp)))
        }
        TransportKind::Direct(_) => None,
    }
}

/// Where a transport sends RTCP, and the SRTP session that protects it (if any).
fn rtcp_path(
    transport: &mut Transport,
) -> Option<(SocketRef, SocketAddr, Option<&mut SrtpSession>)> {
    match &mut transport.kind {
        TransportKind::Plain(plain) => {
            let (socket, destination) = plain.rtcp_destination()?;
            Some((socket, destination, plain.srtp_out.as_mut()))
        }
        TransportKind::WebRtc(state) => {
            let (socket, destination, srtp) = state.media_path()?;
            Some((socket, destination, Some(srtp)))
        }
        TransportKind::Direct(_) => None,
    }
}

/// Sends one RTCP packet built by `write` on a transport (protected when it uses SRTP).
fn send_rtcp(
    transport: &mut Transport,
    out: &mut Outbox,
    write: impl FnOnce(&mut [u8]) -> Option<usize>,
) {
    let Some((socket, destination, mut srtp)) = rtcp_path(transport) else {
        return;
    };
    let mut sent = 0;
    out.push(socket, destination, |buf| {
        let limit = buf.len() - MAX_TRAILER_LEN;
        let Some(len) = write(&mut buf[..limit]) else {
            return 0;
        };
        sent = match &mut srtp {
            Some(srtp) => srtp.protect_rtcp(&mut buf[..], len).unwrap_or(0),
            None => len,
        };
        sent
    });
    if sent > 0 {
        transport.stats.packets_sent += 1;
        transport.stats.bytes_sent += sent as u64;
    }
}

/// What the transport-level checks decided about a datagram.
pub(super) enum Accepted {
    Rtp(usize),
    Rtcp(usize),
    /// An SCTP packet (the whole datagram) on a plain transport; `latch`: its source becomes the remote
    /// end (comedia) if the association takes it.
    Sctp {
        latch: bool,
    },
}

/// A plain transport's source check: `Some(false)` for the expected remote end, `Some(true)` for a source
/// comedia may latch (nothing latched yet), `None` for a datagram to drop.
fn source_check(expected: Option<SocketAddr>, from: SocketAddr, comedia: bool) -> Option<bool> {
    match expected {
        Some(remote) => (remote == from).then_some(false),
        None => comedia.then_some(true),
    }
}

/// Comedia: latches a plain transport's remote RTP (and muxed RTCP) or RTCP tuple to `from`; the event
/// that tells its owner.
fn latch(
    transport: &mut Transport,
    transport_id: TransportId,
    on_rtcp_socket: bool,
    from: SocketAddr,
) -> Option<RouterEvent> {
    let TransportKind::Plain(plain) = &mut transport.kind else {
        return None;
    };
    if on_rtcp_socket {
        plain.remote_rtcp = Some(from);
    } else {
        plain.remote_rtp = Some(from);
        if plain.setup.rtcp_mux {
            plain.remote_rtcp = Some(from);
        }
    }
    let super::TransportInfo::Plain(info) = transport.info() else {
        return None;
    };
    if on_rtcp_socket {
        info.rtcp_tuple
            .map(|tuple| RouterEvent::TransportRtcpTuple {
                broadcaster_id: transport.owner.clone(),
                transport_id,
                tuple,
            })
    } else {
        Some(RouterEvent::TransportTuple {
            broadcaster_id: transport.owner.clone(),
            transport_id,
            tuple: info.tuple,
        })
    }
}

impl Router {
    /// Takes one datagram received on a transport's socket. Anything that does not belong is dropped and
    /// counted on the transport; nothing here fails.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        transport_id: TransportId,
        socket: SocketRef,
        from: SocketAddr,
        data: &mut [u8],
        out: &mut Outbox,
    ) {
        self.last_now = Some(now);
        let webrtc = matches!(
            self.transports.get(&transport_id).map(|t| &t.kind),
            Some(TransportKind::WebRtc(_))
        );
        let accepted = if webrtc {
            self.accept_webrtc_datagram(now, transport_id, socket, from, data, out)
        } else {
            self.accept_datagram(transport_id, socket, from, data)
        };
        let Some(accepted) = accepted else {
            return;
        };
        match accepted {
            Accepted::Rtp(len) => self.handle_rtp(now, transport_id, &mut data[..len], out),
            Accepted::Rtcp(len) => self.handle_rtcp(now, transport_id, &data[..len], out),
            Accepted::Sctp {
                latch: latch_source,
            } => {
                let taken = self.handle_sctp_packet(now, transport_id, data, out);
                if taken && latch_source {
                    let event = self.transports.get_mut(&transport_id).and_then(|t| {
                        if let Some(link) = &mut t.sctp {
                            link.wake();
                        }
                        latch(t, transport_id, false, from)
                    });
                    self.events.extend(event);
                    // What the association answered before it knew where to send goes out now.
                    self.flush_sctp(now, transport_id, out);
                }
            }
        }
    }

    /// Counts a datagram the runtime could only read the beginning of (longer than its receive buffer):
    /// dropped as malformed, unparsed, since what is left of it could still parse.
    pub fn handle_truncated_datagram(&mut self, transport_id: TransportId) {
        if let Some(transport) = self.transports.get_mut(&transport_id) {
            transport.stats.packets_received += 1;
            transport.stats.dropped_malformed += 1;
            transport.stats.packets_dropped += 1;
        }
    }

    /// Source check, comedia latching and SRTP for a plain transport.
    fn accept_datagram(
        &mut self,
        transport_id: TransportId,
        socket: SocketRef,
        from: SocketAddr,
        data: &mut [u8],
    ) -> Option<Accepted> {
        let transport = self.transports.get_mut(&transport_id)?;
        let stats = &mut transport.stats;
        stats.packets_received += 1;
        stats.bytes_received += data.len() as u64;
        let TransportKind::Plain(plain) = &mut transport.kind else {
            stats.dropped_unsupported += 1;
            stats.packets_dropped += 1;
            return None;
        };
        let on_rtcp_socket = plain.setup.rtcp_socket == Some(socket);
        if transport.sctp.is_some() && !on_rtcp_socket && super::sctp_link::looks_like_sctp(data) {
            // SCTP over UDP (as mediasoup): from the RTP tuple, which comedia latches once the association
            // took the packet.
            let Some(latch) = source_check(plain.remote_rtp, from, plain.setup.comedia) else {
                stats.dropped_unexpected_source += 1;
                stats.packets_dropped += 1;
                return None;
            };
            return Some(Accepted::Sctp { latch });
        }
        let kind = classify(data);
        let is_rtp = match kind {
            PacketKind::Rtp if !on_rtcp_socket => true,
            PacketKind::Rtcp => false,
            _ => {
                stats.dropped_unsupported += 1;
                stats.packets_dropped += 1;
                return None;
            }
        };
        let expected = if on_rtcp_socket {
            plain.remote_rtcp
        } else {
            plain.remote_rtp
        };
        if source_check(expected, from, plain.setup.comedia).is_none() {
            stats.dropped_unexpected_source += 1;
            stats.packets_dropped += 1;
            return None;
        }
        let len = if plain.setup.srtp_parameters.is_some() {
            let unprotected = match &mut plain.srtp_in {
                Some(srtp) if is_rtp => srtp.unprotect_rtp(data),
                Some(srtp) => srtp.unprotect_rtcp(data),
                None => Err(crate::srtp::SrtpError::AuthenticationFailed),
            };
            match unprotected {
                Ok(len) => len,
                Err(_) => {
                    stats.dropped_srtp_failure += 1;
                    stats.packets_dropped += 1;
                    return None;
                }
            }
        } else {
            data.len()
        };
        let valid = if is_rtp {
            RtpPacket::parse(&data[..len]).is_ok()
        } else {
            Compound::new(&data[..len])
                .next()
                .is_some_and(|p| p.is_ok())
        };
        if !valid {
            stats.dropped_malformed += 1;
            stats.packets_dropped += 1;
            return None;
        }
        if expected.is_none() {
            // Comedia: the first valid packet names the remote end.
            let event = latch(transport, transport_id, on_rtcp_socket, from);
            self.events.extend(event);
        }
        Some(if is_rtp {
            Accepted::Rtp(len)
        } else {
            Accepted::Rtcp(len)
        })
    }

    fn drop_counted(&mut self, transport_id: TransportId, reason: fn(&mut super::TransportStats)) {
        if let Some(t) = self.transports.get_mut(&transport_id) {
            reason(&mut t.stats);
            t.stats.packets_dropped += 1;
        }
    }

    /// Finds the producer stream of an RTP packet on a transport: by SSRC, else by MID (and RID), learning
    /// the SSRC.
    fn producer_of(
        &mut self,
        transport_id: TransportId,
        packet: &RtpPacket<'_>,
    ) -> Option<(ProducerId, usize)> {
        let transport = self.transports.get_mut(&transport_id)?;
        if let Some(&found) = transport.rtp_ssrcs.get(&packet.ssrc()) {
            return Some(found);
        }
        // Unsignalled SSRC: find the producer by MID (when it has one), the encoding by RID.
        for producer_id in transport.producers.iter() {
            let Some(producer) = self.producers.get(producer_id) else {
                continue;
            };
            let media = &producer.media;
            let has_mid = match &producer.rtp_parameters.mid {
                Some(mid) => {
                    if media.mid_ext.and_then(|id| packet.mid(id)) != Some(mid.as_str()) {
                        continue;
                    }
                    true
                }
                None => false,
            };
            let encoding = match media.rid_ext.and_then(|id| packet.rid(id)) {
                Some(rid) => media.encoding_of_rid(rid),
                None if has_mid && media.streams.len() == 1 => Some(0),
                None => None,
            };
            if let Some(encoding) = encoding {
                let found = (*producer_id, encoding);
                transport.rtp_ssrcs.insert(packet.ssrc(), found);
                return Some(found);
            }
        }
        None
    }

    fn handle_rtp(
        &mut self,
        now: Instant,
        transport_id: TransportId,
        data: &mut [u8],
        out: &mut Outbox,
    ) {
        let Ok(packet) = RtpPacket::parse(data) else {
            return self.drop_counted(transport_id, |s| s.dropped_malformed += 1);
        };
        let Some((producer_id, encoding, rtx)) = self.stream_of(transport_id, &packet) else {
            return self.drop_counted(transport_id, |s| s.dropped_unknown_ssrc += 1);
        };
        self.record_incoming_bwe(now, transport_id, producer_id, &packet);
        let len = match rtx {
            true => match self.unwrap_rtx(producer_id, encoding, data) {
                Some(len) => len,
                None => return,
            },
            false => data.len(),
        };
        let data = &mut data[..len];
        let Ok(packet) = RtpPacket::parse(data) else {
            return;
        };
        let (ssrc, pt, seq, ts) = (
            packet.ssrc(),
            packet.payload_type(),
            packet.sequence_number(),
            packet.timestamp(),
        );
        let Some(producer) = self.producers.get_mut(&producer_id) else {
            return;
        };
        let media = &mut producer.media;
        let router_pt = media.pt_map.get(usize::from(pt)).copied().unwrap_or(NO_PT);
        if router_pt == NO_PT {
            return self.drop_counted(transport_id, |s| s.dropped_unknown_payload_type += 1);
        }
        let keyframe = media.video && is_keyframe(media.codec, packet.payload());
        let mapped_ssrc = media.mapped_ssrcs.get(encoding).copied().unwrap_or(ssrc);
        // Normalise in place: what consumers and the retransmission buffer see is the router's form.
        if let Ok(mut packet) = RtpPacketMut::parse(data) {
            packet.set_payload_type(router_pt);
            packet.set_ssrc(mapped_ssrc);
            packet.remap_extension_ids(&media.ext_map);
        }
        let Some(stream) = media.stream(encoding, ssrc) else {
            return;
        };
        let accepted = if rtx {
            stream.handle_retransmission(now, seq, ts, keyframe, data)
        } else {
            stream.handle_packet(now, seq, ts, keyframe, data) != SequenceVerdict::Rejected
        };
        let gave_up = stream.take_keyframe_wanted();
        if !accepted || producer.paused {
            if gave_up {
                self.request_keyframe(now, producer_id, out);
            }
            return;
        }
        let header_len = RtpPacket::parse(data).map_or(12, |p| p.header_len());
        // Fan out to every consumer of the producer, inside this thread, with no copy of the list.
        let consumers = std::mem::take(&mut producer.consumers);
        let mut want_keyframe = gave_up;
        for consumer_id in &consumers {
            let Some(consumer) = self.consumers.get_mut(consumer_id) else {
                continue;
            };
            let Some(transport) = self.transports.get_mut(&consumer.transport) else {
                continue;
            };
            want_keyframe |= forward(
                now, consumer, transport, data, header_len, seq, ts, keyframe, out,
            );
        }
        if let Some(producer) = self.producers.get_mut(&producer_id) {
            producer.consumers = consumers;
        }
        if want_keyframe {
            self.request_keyframe(now, producer_id, out);
        }
    }

    /// The producer stream of an RTP packet and whether the packet is its RTX: a signalled media SSRC,
    /// else a producer's RTX (by payload type, then RTX SSRC or MID and repaired RID), else MID/RID.
    fn stream_of(
        &mut self,
        transport_id: TransportId,
        packet: &RtpPacket<'_>,
    ) -> Option<(ProducerId, usize, bool)> {
        let transport = self.transports.get(&transport_id)?;
        if let Some(&(producer_id, encoding)) = transport.rtp_ssrcs.get(&packet.ssrc()) {
            return Some((producer_id, encoding, false));
        }
        for producer_id in &transport.producers {
            let Some(producer) = self.producers.get_mut(producer_id) else {
                continue;
            };
            let mid = producer.rtp_parameters.mid.as_deref();
            if let Some(encoding) = producer.media.rtx_encoding(packet, mid) {
                return Some((*producer_id, encoding, true));
            }
        }
        self.producer_of(transport_id, packet)
            .map(|(producer_id, encoding)| (producer_id, encoding, false))
    }

    /// Unwraps a producer's RTX packet in place (RFC 4588 §4) into the original: the repaired payload
    /// type and the SSRC of the encoding's stream. Returns the original's length; an RTX packet without
    /// an original sequence number (a padding-only probe), or for a stream not started, is dropped.
    fn unwrap_rtx(
        &mut self,
        producer_id: ProducerId,
        encoding: usize,
        data: &mut [u8],
    ) -> Option<usize> {
        let media = &mut self.producers.get_mut(&producer_id)?.media;
        let apt = media.rtx_apt[usize::from(data[1] & 0x7f)];
        let stream = media.streams.get_mut(encoding)?.as_mut()?;
        match crate::rtp::unwrap_rtx(data, apt, stream.ssrc()) {
            Ok(unwrapped) => Some(unwrapped.len),
            Err(_) => {
                stream.count_discarded_retransmission();
                None
            }
        }
    }

    /// Feeds the transport's receive-side bandwidth feedback with one packet, before anything can drop
    /// it: the sender's estimate accounts for every packet it sent, RTX and probes included.
    fn record_incoming_bwe(
        &mut self,
        now: Instant,
        transport_id: TransportId,
        producer_id: ProducerId,
        packet: &RtpPacket<'_>,
    ) {
        let Some(bwe) = self.producers.get(&producer_id).map(|p| p.media.bwe) else {
            return;
        };
        match bwe {
            BweFeedback::TransportCc(id) => {
                let Some(seq) = packet.transport_wide_seq(id) else {
                    return;
                };
                let state = self
                    .incoming_bwe
                    .entry(transport_id)
                    .or_insert_with(|| IncomingBwe::TransportCc(Box::default()));
                if let IncomingBwe::Remb(_) = state {
                    *state = IncomingBwe::TransportCc(Box::default());
                }
                if let IncomingBwe::TransportCc(recorder) = state {
                    recorder.record(now, seq, packet.ssrc());
                }
            }
            BweFeedback::Remb => {
                let state = self
                    .incoming_bwe
                    .entry(transport_id)
                    .or_insert_with(|| IncomingBwe::Remb(RembEstimator::new(None)));
                if let IncomingBwe::Remb(estimator) = state {
                    estimator.record(now, packet.as_bytes().len());
                }
            }
            BweFeedback::None => {}
        }
    }

    /// NACKs toward producers' endpoints: for each stream with sequence numbers due, one NACK with all
    /// of them (up to [`NACK_BATCH`]). The timeout runs after each receive batch, so the gaps one batch
    /// revealed go out together.
    fn send_nacks(&mut self, now: Instant, out: &mut Outbox) {
        let sender_ssrc = self.rtcp_ssrc;
        let mut lost = [0u16; NACK_BATCH];
        for producer in self.producers.values_mut() {
            let Some(transport) = self.transports.get_mut(&producer.transport) else {
                continue;
            };
            for stream in producer.media.streams.iter_mut().flatten() {
                let n = stream.poll_nack(now, &mut lost);
                if n > 0 {
                    let media_ssrc = stream.ssrc();
                    send_rtcp(transport, out, |buf| {
                        rtcp::write_nack(buf, sender_ssrc, media_ssrc, &lost[..n]).ok()
                    });
                }
            }
        }
    }

    /// Transport-cc feedback or REMB toward the endpoints of transports whose producers negotiated one.
    fn send_bwe_feedback(&mut self, now: Instant, out: &mut Outbox) {
        let sender_ssrc = self.rtcp_ssrc;
        self.incoming_bwe
            .retain(|id, _| self.transports.contains_key(id));
        for (transport_id, bwe) in self.incoming_bwe.iter_mut() {
            let Some(transport) = self.transports.get_mut(transport_id) else {
                continue;
            };
            match bwe {
                IncomingBwe::TransportCc(recorder) => {
                    let media_ssrc = recorder.media_ssrc();
                    while let Some(feedback) = recorder.poll_feedback(now) {
                        send_rtcp(transport, out, |buf| {
                            feedback.write(buf, sender_ssrc, media_ssrc).ok()
                        });
                    }
                }
                IncomingBwe::Remb(estimator) => {
                    let Some(bitrate) = estimator.handle_timeout(now) else {
                        continue;
                    };
                    let mut ssrcs = [0u32; REMB_SSRCS];
                    let mut n = 0;
                    let streams = transport
                        .producers
                        .iter()
                        .filter_map(|id| self.producers.get(id))
                        .flat_map(|p| p.media.streams.iter().flatten());
                    for (slot, stream) in ssrcs.iter_mut().zip(streams) {
                        *slot = stream.ssrc();
                        n += 1;
                    }
                    send_rtcp(transport, out, |buf| {
                        rtcp::write_remb(buf, sender_ssrc, bitrate, &ssrcs[..n]).ok()
                    });
                }
            }
        }
    }

    fn handle_rtcp(
        &mut self,
        now: Instant,
        transport_id: TransportId,
        data: &[u8],
        out: &mut Outbox,
    ) {
        let unix = self.unix_time(now);
        for packet in Compound::new(data) {
            let Ok(packet) = packet else {
                return self.drop_counted(transport_id, |s| s.dropped_malformed += 1);
            };
            match packet {
                RtcpPacket::SenderReport(sr) => {
                    let info = sr.info();
                    if let Some(stream) = self.producer_stream_by_ssrc(transport_id, info.ssrc) {
                        stream.handle_sender_report(now, info.ntp_timestamp, info.rtp_timestamp);
                    }
                    for block in sr.report_blocks() {
                        self.handle_report_block(transport_id, &block, unix);
                    }
                }
                RtcpPacket::ReceiverReport(rr) => {
                    for block in rr.report_blocks() {
                        self.handle_report_block(transport_id, &block, unix);
                    }
                }
                RtcpPacket::Nack(nack) => {
                    if let Some(consumer_id) =
                        self.consumer_by_ssrc(transport_id, nack.media_ssrc())
                    {
                        self.retransmit(now, consumer_id, nack.lost(), out);
                    }
                }
                RtcpPacket::Pli(pli) => {
                    if let Some(consumer_id) = self.consumer_by_ssrc(transport_id, pli.media_ssrc) {
                        self.keyframe_wanted_by(now, consumer_id, true, out);
                    }
                }
                RtcpPacket::Fir(fir) => {
                    for entry in fir.entries() {
                        if let Some(consumer_id) = self.consumer_by_ssrc(transport_id, entry.ssrc) {
                            self.keyframe_wanted_by(now, consumer_id, false, out);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn consumer_by_ssrc(&self, transport_id: TransportId, ssrc: u32) -> Option<ConsumerId> {
        self.transports
            .get(&transport_id)?
            .consumer_ssrcs
            .get(&ssrc)
            .copied()
    }

    fn producer_stream_by_ssrc(
        &mut self,
        transport_id: TransportId,
        ssrc: u32,
    ) -> Option<&mut RtpStreamRecv> {
        let &(producer_id, encoding) = self.transports.get(&transport_id)?.rtp_ssrcs.get(&ssrc)?;
        self.producers
            .get_mut(&producer_id)?
            .media
            .streams
            .get_mut(encoding)?
            .as_mut()
    }

    fn handle_report_block(
        &mut self,
        transport_id: TransportId,
        block: &rtcp::ReportBlock,
        unix: Duration,
    ) {
        let Some(consumer_id) = self.consumer_by_ssrc(transport_id, block.ssrc) else {
            return;
        };
        let Some(consumer) = self.consumers.get_mut(&consumer_id) else {
            return;
        };
        if block.ssrc != consumer.media.stream.ssrc() {
            return;
        }
        if consumer
            .media
            .stream
            .handle_report_block(block, unix)
            .is_some()
        {
            let event = RouterEvent::ConsumerScore {
                broadcaster_id: consumer.owner.clone(),
                consumer_id,
                score: consumer_score(consumer, &self.producers),
            };
            self.events.push_back(event);
        }
    }

    /// Answers a consumer's NACK from its producer's retransmission buffer (as RTX when negotiated).
    fn retransmit(
        &mut self,
        now: Instant,
        consumer_id: ConsumerId,
        lost: impl Iterator<Item = u16>,
        out: &mut Outbox,
    ) {
        let Some(consumer) = self.consumers.get_mut(&consumer_id) else {
            return;
        };
        consumer.media.stream.count_feedback(1, 0, 0);
        let Some(stream) = self
            .producers
            .get(&consumer.producer)
            .and_then(|p| p.media.streams.first())
            .and_then(Option::as_ref)
        else {
            return;
        };
        let Some(transport) = self.transports.get_mut(&consumer.transport) else {
            return;
        };
        let Some((socket, destination, mut srtp)) = media_path(transport) else {
            return;
        };
        let mut packets_sent = 0;
        let mut bytes_sent = 0;
        for out_seq in lost {
            let Some(in_seq) = consumer.media.stream.input_seq(out_seq) else {
                continue;
            };
            let Some(original) = stream.retransmission(in_seq, now) else {
                continue;
            };
            let Ok(original_packet) = RtpPacket::parse(original) else {
                continue;
            };
            let out_ts = consumer
                .media
                .stream
                .output_timestamp(original_packet.timestamp());
            let media = &mut consumer.media;
            let rtx = media.rtx;
            let rtx_seq = rtx.map(|_| media.stream.next_rtx_seq());
            if rtx.is_none() {
                media.stream.count_retransmission();
            }
            let mut sent = 0;
            out.push(socket, destination, |buf| {
                let header_len = original_packet.header_len();
                let payload = original_packet.payload();
                let (len, seq, ssrc, pt) = match (rtx, rtx_seq) {
                    (Some((pt, ssrc)), Some(rtx_seq)) => {
                        // RFC 4588 §4: the original sequence number, then the original payload.
                        let len = header_len + 2 + payload.len();
                        if len + MAX_TRAILER_LEN > buf.len() {
                            return 0;
                        }
                        buf[..header_len].copy_from_slice(&original[..header_len]);
                        buf[header_len..header_len + 2].copy_from_slice(&out_seq.to_be_bytes());
                        buf[header_len + 2..len].copy_from_slice(payload);
                        // Padding of the original is not carried: clear the P bit.
                        buf[0] &= !0x20;
                        (len, rtx_seq, ssrc, Some(pt))
                    }
                    _ => {
                        let len = original.len();
                        if len + MAX_TRAILER_LEN > buf.len() {
                            return 0;
                        }
                        buf[..len].copy_from_slice(original);
                        let pt =
                            media.payload_types[usize::from(original_packet.payload_type() & 0x7f)];
                        (len, out_seq, media.stream.ssrc(), Some(pt))
                    }
                };
                let Ok(mut packet) = RtpPacketMut::parse(&mut buf[..len]) else {
                    return 0;
                };
                packet.set_sequence_number(seq);
                packet.set_timestamp(out_ts);
                packet.set_ssrc(ssrc);
                if let Some(pt) = pt {
                    packet.set_payload_type(pt);
                }
                packet.remap_extension_ids(&media.ext_map);
                sent = match &mut srtp {
                    Some(srtp) => srtp.protect_rtp(&mut buf[..], len).unwrap_or(0),
                    None => len,
                };
                sent
            });
            if sent > 0 {
                packets_sent += 1;
                bytes_sent += sent as u64;
            }
        }
        transport.stats.packets_sent += packets_sent;
        transport.stats.bytes_sent += bytes_sent;
    }

    /// A consumer's endpoint asked for a keyframe (PLI or FIR): ask the producer's.
    fn keyframe_wanted_by(
        &mut self,
        now: Instant,
        consumer_id: ConsumerId,
        pli: bool,
        out: &mut Outbox,
    ) {
        let Some(consumer) = self.consumers.get_mut(&consumer_id) else {
            return;
        };
        consumer
            .media
            .stream
            .count_feedback(0, u64::from(pli), u64::from(!pli));
        let producer_id = consumer.producer;
        self.request_keyframe(now, producer_id, out);
    }

    /// Asks a producer's endpoint for a keyframe, coalesced per stream; nothing when it negotiated
    /// neither PLI nor FIR.
    pub(crate) fn request_keyframe(
        &mut self,
        now: Instant,
        producer_id: ProducerId,
        out: &mut Outbox,
    ) {
        let sender_ssrc = self.rtcp_ssrc;
        let Some(producer) = self.producers.get_mut(&producer_id) else {
            return;
        };
        let method = producer.media.keyframe_method;
        if method == KeyframeMethod::None {
            return;
        }
        let Some(transport) = self.transports.get_mut(&producer.transport) else {
            return;
        };
        for stream in producer.media.streams.iter_mut().flatten() {
            if stream.request_keyframe(now) {
                send_keyframe_request(transport, stream, method, sender_ssrc, out);
            }
        }
    }

    fn unix_time(&self, now: Instant) -> Duration {
        let Some((instant, unix)) = self.clock_anchor else {
            return Duration::ZERO;
        };
        if now >= instant {
            unix + (now - instant)
        } else {
            unix.saturating_sub(instant - now)
        }
    }

    /// When [`Router::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.pending_keyframe_requests.is_empty() {
            return self.last_now;
        }
        let keyframe_retry = self
            .producers
            .values()
            .flat_map(|p| p.media.streams.iter().flatten())
            .filter_map(RtpStreamRecv::poll_timeout)
            .min();
        let reports = if self.producers.is_empty() && self.consumers.is_empty() {
            None
        } else {
            self.next_report.or(self.last_now)
        };
        let bwe = self
            .incoming_bwe
            .values()
            .filter_map(IncomingBwe::poll_timeout)
            .min();
        [
            keyframe_retry,
            reports,
            bwe,
            self.webrtc_poll_timeout(),
            self.sctp_poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs what is due at `now` (`unix` is the same instant as time since the Unix epoch): keyframe
    /// requests and their retries, NACKs and bandwidth feedback toward senders, then every second
    /// reports to senders and receivers and scores.
    pub fn handle_timeout(&mut self, now: Instant, unix: Duration, out: &mut Outbox) {
        self.last_now = Some(now);
        self.clock_anchor = Some((now, unix));
        self.webrtc_handle_timeout(now, out);
        self.sctp_handle_timeout(now, out);
        for producer_id in std::mem::take(&mut self.pending_keyframe_requests) {
            self.request_keyframe(now, producer_id, out);
        }
        let sender_ssrc = self.rtcp_ssrc;
        for producer in self.producers.values_mut() {
            let method = producer.media.keyframe_method;
            let Some(transport) = self.transports.get_mut(&producer.transport) else {
                continue;
            };
            for stream in producer.media.streams.iter_mut().flatten() {
                if stream.handle_timeout(now) {
                    send_keyframe_request(transport, stream, method, sender_ssrc, out);
                }
            }
        }
        self.send_nacks(now, out);
        self.send_bwe_feedback(now, out);
        if self.next_report.is_some_and(|at| now < at) {
            return;
        }
        self.next_report = Some(now + REPORT_INTERVAL);
        // Receiver reports to every sender, and producer scores.
        for producer in self.producers.values_mut() {
            let Some(transport) = self.transports.get_mut(&producer.transport) else {
                continue;
            };
            let mut changed = false;
            for stream in producer.media.streams.iter_mut().flatten() {
                if let Some(block) = stream.report_block(now) {
                    send_rtcp(transport, out, |buf| {
                        rtcp::write_receiver_report(buf, sender_ssrc, &[block]).ok()
                    });
                }
                changed |= stream.update_score(now).is_some();
            }
            if changed {
                self.events.push_back(RouterEvent::ProducerScore {
                    broadcaster_id: producer.owner.clone(),
                    producer_id: producer.id,
                    score: producer.scores(),
                });
            }
        }
        // Sender reports (with the CNAME) to every receiver.
        for consumer in self.consumers.values_mut() {
            let Some(info) = consumer.media.stream.sender_info(now, unix) else {
                continue;
            };
            let Some(transport) = self.transports.get_mut(&consumer.transport) else {
                continue;
            };
            let cname = consumer
                .rtp_parameters
                .rtcp
                .cname
                .clone()
                .unwrap_or_default();
            send_rtcp(transport, out, |buf| {
                let sr = rtcp::write_sender_report(buf, &info, &[]).ok()?;
                let sdes =
                    rtcp::write_sdes_cname(&mut buf[sr..], info.ssrc, cname.as_bytes()).ok()?;
                Some(sr + sdes)
            });
        }
    }
}

/// Sends a PLI or FIR for one producer stream to its endpoint.
fn send_keyframe_request(
    transport: &mut Transport,
    stream: &mut RtpStreamRecv,
    method: KeyframeMethod,
    sender_ssrc: u32,
    out: &mut Outbox,
) {
    let media_ssrc = stream.ssrc();
    match method {
        KeyframeMethod::Pli => {
            stream.count_keyframe_request(true);
            send_rtcp(transport, out, |buf| {
                rtcp::write_pli(buf, sender_ssrc, media_ssrc).ok()
            });
        }
        KeyframeMethod::Fir => {
            let seq_nr = stream.count_keyframe_request(false);
            send_rtcp(transport, out, |buf| {
                rtcp::write_fir(
                    buf,
                    sender_ssrc,
                    &[rtcp::FirEntry {
                        ssrc: media_ssrc,
                        seq_nr,
                    }],
                )
                .ok()
            });
        }
        KeyframeMethod::None => {}
    }
}

/// Rewrites and sends one packet to one consumer. Returns true when the consumer waits for a keyframe.
#[allow(clippy::too_many_arguments)]
fn forward(
    now: Instant,
    consumer: &mut Consumer,
    transport: &mut Transport,
    packet: &[u8],
    header_len: usize,
    seq: u16,
    timestamp: u32,
    keyframe: bool,
    out: &mut Outbox,
) -> bool {
    if consumer.paused || consumer.producer_paused {
        return false;
    }
    let Some((socket, destination, mut srtp)) = media_path(transport) else {
        return false;
    };
    let media = &mut consumer.media;
    if !media.stream.is_synced() {
        if media.video && !keyframe {
            return true;
        }
        media.stream.sync(now, seq, timestamp);
    }
    let Some((out_seq, out_ts)) = media.stream.rewrite(now, seq, timestamp) else {
        return false;
    };
    let ssrc = media.stream.ssrc();
    let ext_map = &media.ext_map;
    let payload_types = &media.payload_types;
    let mut sent = 0;
    out.push(socket, destination, |buf| {
        let len = packet.len();
        if len + MAX_TRAILER_LEN > buf.len() {
            return 0;
        }
        buf[..len].copy_from_slice(packet);
        let Ok(mut rewritten) = RtpPacketMut::parse(&mut buf[..len]) else {
            return 0;
        };
        rewritten.set_sequence_number(out_seq);
        rewritten.set_timestamp(out_ts);
        rewritten.set_ssrc(ssrc);
        rewritten.set_payload_type(payload_types[usize::from(packet[1] & 0x7f)]);
        rewritten.remap_extension_ids(ext_map);
        sent = match &mut srtp {
            Some(srtp) => srtp.protect_rtp(&mut buf[..], len).unwrap_or(0),
            None => len,
        };
        sent
    });
    if sent > 0 {
        media
            .stream
            .count_sent(now, packet.len().saturating_sub(header_len), sent);
        transport.stats.packets_sent += 1;
        transport.stats.bytes_sent += sent as u64;
    }
    false
}

/// A consumer's score: its own stream's, and its producer's streams'.
pub(crate) fn consumer_score(
    consumer: &Consumer,
    producers: &crate::ids::IdMap<ProducerId, Producer>,
) -> super::ConsumerScore {
    let producer_scores: Vec<u8> = producers
        .get(&consumer.producer)
        .map(|p| {
            p.media
                .streams
                .iter()
                .map(|s| s.as_ref().map_or(0, RtpStreamRecv::score))
                .collect()
        })
        .unwrap_or_default();
    super::ConsumerScore {
        score: consumer.media.stream.score(),
        producer_score: producer_scores.first().copied().unwrap_or(0),
        producer_scores,
    }
}
