//! A transport's room-side state: its kind-specific network parameters, the objects it carries, and the
//! per-transport rules (MID and SSRC uniqueness, CNAME, consumer MIDs, SCTP stream ids).

use super::webrtc::WebRtcState;
use super::{CloseReason, ConnectError, NotFound, RestartIceError, Router, RouterEvent};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{
    BroadcasterId, ConsumerId, DataConsumerId, DataProducerId, ProducerId, TransportId,
};
use crate::net::SocketRef;
use crate::sctp_parameters::{NumSctpStreams, SctpCapabilities, SctpParameters};
use crate::srtp::{SrtpSession, SrtpSessionOptions};
use crate::transport_parameters::{
    DtlsParameters, DtlsRole, DtlsState, IceCandidate, IceParameters, IceState, SctpState,
    SrtpCryptoSuite, SrtpParameters, TransportTuple,
};

/// Kind of transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransportType {
    /// Plain RTP/RTCP over UDP.
    Plain,
    /// WebRTC: ICE-lite, DTLS, SRTP, SCTP.
    Webrtc,
    /// No network: data messages in and out over HTTP (mediasoup's DirectTransport).
    Direct,
}

/// A plain transport's local endpoints and settings, bound by the runtime before creation.
#[derive(Clone, Debug)]
pub struct PlainTransportSetup {
    /// Local RTP (and, when muxed, RTCP) endpoint.
    pub tuple: TransportTuple,
    /// Local RTCP endpoint when RTCP is not muxed.
    pub rtcp_tuple: Option<TransportTuple>,
    /// RTP and RTCP share one port.
    pub rtcp_mux: bool,
    /// Latch the remote endpoint from the first packet.
    pub comedia: bool,
    /// SCTP over plain UDP, when enabled.
    pub sctp_parameters: Option<SctpParameters>,
    /// Local SRTP keying when SRTP is enabled.
    pub srtp_parameters: Option<SrtpParameters>,
    /// Socket bound for RTP (and RTCP when muxed).
    pub rtp_socket: SocketRef,
    /// Socket bound for RTCP when not muxed.
    pub rtcp_socket: Option<SocketRef>,
}

/// A WebRTC transport's local ICE and DTLS parameters, made by the control layer and runtime.
#[derive(Clone, Debug)]
pub struct WebRtcTransportSetup {
    /// Local ICE credentials.
    pub ice_parameters: IceParameters,
    /// Local host candidates.
    pub ice_candidates: Vec<IceCandidate>,
    /// Local DTLS parameters (role `auto`, the server certificate's fingerprints).
    pub dtls_parameters: DtlsParameters,
    /// SCTP parameters, when enabled.
    pub sctp_parameters: Option<SctpParameters>,
    /// Seconds without a valid ICE check before consent expires.
    pub ice_consent_timeout: u8,
    /// Socket bound for ICE, DTLS and media (the worker's shared port, or the transport's own).
    pub socket: SocketRef,
    /// The server's DTLS certificate and key.
    pub certificate: std::sync::Arc<crate::dtls::DtlsCertificate>,
}

/// A direct transport's settings.
#[derive(Clone, Copy, Debug)]
pub struct DirectTransportSetup {
    /// Largest message accepted from HTTP or delivered to its data consumers, in bytes.
    pub max_message_size: u32,
}

/// Kind-specific setup of a new transport.
#[derive(Clone, Debug)]
pub enum TransportSetup {
    /// A plain transport.
    Plain(PlainTransportSetup),
    /// A WebRTC transport.
    WebRtc(WebRtcTransportSetup),
    /// A direct transport.
    Direct(DirectTransportSetup),
}

/// Creation input of a plain transport (mediasoup's PlainTransportOptions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlainTransportOptions {
    /// RTP and RTCP share one port (default true, as in mediasoup).
    #[serde(default = "default_true")]
    pub rtcp_mux: bool,
    /// Latch the remote endpoint from the first valid packet (default false, as in mediasoup).
    #[serde(default)]
    pub comedia: bool,
    /// Run SCTP directly over UDP.
    #[serde(default)]
    pub enable_sctp: bool,
    /// SCTP stream counts.
    #[serde(default)]
    pub num_sctp_streams: NumSctpStreams,
    /// Largest SCTP message accepted, in bytes.
    #[serde(default = "default_max_sctp_message_size")]
    pub max_sctp_message_size: u32,
    /// Protect RTP and RTCP with SRTP (SDES-style keys exchanged over the API).
    #[serde(default)]
    pub enable_srtp: bool,
    /// SRTP crypto suite when `enableSrtp`.
    #[serde(default)]
    pub srtp_crypto_suite: SrtpCryptoSuite,
}

/// Creation input of a WebRTC transport (mediasoup's WebRtcTransportOptions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcTransportOptions {
    /// Offer a UDP candidate (default true).
    #[serde(default = "default_true")]
    pub enable_udp: bool,
    /// Offer an ICE-TCP passive candidate (RFC 6544) on the shared port's number.
    #[serde(default)]
    pub enable_tcp: bool,
    /// Open an SCTP association over DTLS.
    #[serde(default)]
    pub enable_sctp: bool,
    /// SCTP stream counts.
    #[serde(default)]
    pub num_sctp_streams: NumSctpStreams,
    /// Largest SCTP message accepted, in bytes.
    #[serde(default = "default_max_sctp_message_size")]
    pub max_sctp_message_size: u32,
    /// The client's SCTP capabilities (mediasoup-demo): enables SCTP with these stream counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sctp_capabilities: Option<SctpCapabilities>,
    /// Seconds without a valid ICE check before consent expires (RFC 7675).
    #[serde(default = "default_ice_consent_timeout")]
    #[schema(minimum = 1)]
    pub ice_consent_timeout: u8,
    /// Listen on a port of its own from the RTC range instead of the worker's shared WebRTC port.
    #[serde(default)]
    pub dedicated_port: bool,
}

/// Creation input of a direct transport: data producers fed by `POST /data-producers/{id}/messages`,
/// data consumers delivering over the owner's event stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectTransportOptions {
    /// Largest message, in bytes (default 262144, as mediasoup).
    #[serde(default = "default_max_sctp_message_size")]
    #[schema(minimum = 1)]
    pub max_message_size: u32,
}

/// Creation input of a transport, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TransportOptions {
    /// A plain RTP/RTCP transport.
    Plain(PlainTransportOptions),
    /// A WebRTC transport.
    Webrtc(WebRtcTransportOptions),
    /// A direct transport (no network).
    Direct(DirectTransportOptions),
}

impl Default for WebRtcTransportOptions {
    /// What an empty `{"type": "webrtc"}` body gives: UDP on the worker's shared port, no SCTP.
    fn default() -> Self {
        Self {
            enable_udp: default_true(),
            enable_tcp: false,
            enable_sctp: false,
            num_sctp_streams: NumSctpStreams::default(),
            max_sctp_message_size: default_max_sctp_message_size(),
            sctp_capabilities: None,
            ice_consent_timeout: default_ice_consent_timeout(),
            dedicated_port: false,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_max_sctp_message_size() -> u32 {
    262_144
}

fn default_ice_consent_timeout() -> u8 {
    30
}

/// The remote side of a transport (`POST /transports/{id}/connect`): `dtlsParameters` for a WebRTC
/// transport; `ip`, `port`, `rtcpPort` and `srtpParameters` for a plain one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectParameters {
    /// The remote DTLS role and certificate fingerprints (WebRTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtls_parameters: Option<DtlsParameters>,
    /// Remote IP address (required unless `comedia`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub ip: Option<IpAddr>,
    /// Remote RTP port (required unless `comedia`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Remote RTCP port (required when RTCP is not muxed, unless `comedia`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtcp_port: Option<u16>,
    /// The remote side's SRTP keying (required when SRTP is enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srtp_parameters: Option<SrtpParameters>,
}

/// A plain transport as the API shows it. `ip`, `port` and `rtcpPort` repeat the local tuples flat, as the
/// mediasoup-demo broadcaster scripts read them.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlainTransportInfo {
    /// Transport id.
    pub id: TransportId,
    /// Owner.
    pub broadcaster_id: BroadcasterId,
    /// Local address to send RTP (and RTCP when muxed) to.
    pub ip: String,
    /// Local RTP port.
    pub port: u16,
    /// Local RTCP port, when RTCP is not muxed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtcp_port: Option<u16>,
    /// RTP tuple.
    pub tuple: TransportTuple,
    /// RTCP tuple, when RTCP is not muxed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtcp_tuple: Option<TransportTuple>,
    /// RTP and RTCP share one port.
    pub rtcp_mux: bool,
    /// The remote endpoint is latched from the first packet.
    pub comedia: bool,
    /// Whether the remote endpoint is known (connected or latched).
    pub connected: bool,
    /// SCTP parameters, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sctp_parameters: Option<SctpParameters>,
    /// SCTP state, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sctp_state: Option<SctpState>,
    /// Local SRTP keying (what the remote side must use to send), when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtp_parameters: Option<SrtpParameters>,
}

/// A WebRTC transport as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcTransportInfo {
    /// Transport id.
    pub id: TransportId,
    /// Owner.
    pub broadcaster_id: BroadcasterId,
    /// Local ICE credentials.
    pub ice_parameters: IceParameters,
    /// Local candidates.
    pub ice_candidates: Vec<IceCandidate>,
    /// ICE state.
    pub ice_state: IceState,
    /// The tuple media flows on, once ICE selected one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_selected_tuple: Option<TransportTuple>,
    /// Local DTLS parameters.
    pub dtls_parameters: DtlsParameters,
    /// DTLS state.
    pub dtls_state: DtlsState,
    /// SCTP parameters, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sctp_parameters: Option<SctpParameters>,
    /// SCTP state, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sctp_state: Option<SctpState>,
}

/// A direct transport as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectTransportInfo {
    /// Transport id.
    pub id: TransportId,
    /// Owner.
    pub broadcaster_id: BroadcasterId,
    /// Largest message, in bytes.
    pub max_message_size: u32,
}

/// A transport as the API shows it, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TransportInfo {
    /// A plain transport.
    Plain(PlainTransportInfo),
    /// A WebRTC transport.
    Webrtc(WebRtcTransportInfo),
    /// A direct transport.
    Direct(DirectTransportInfo),
}

impl TransportInfo {
    /// Transport id.
    pub fn id(&self) -> TransportId {
        match self {
            TransportInfo::Plain(t) => t.id,
            TransportInfo::Webrtc(t) => t.id,
            TransportInfo::Direct(t) => t.id,
        }
    }
}

/// Counters of a transport (`GET /transports/{id}/stats`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransportStats {
    /// Kind of transport.
    #[serde(rename = "type")]
    pub r#type: String,
    /// Transport id.
    pub transport_id: String,
    /// Bytes received.
    pub bytes_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Datagrams received.
    pub packets_received: u64,
    /// Datagrams sent.
    pub packets_sent: u64,
    /// Datagrams dropped, for any of the reasons below.
    pub packets_dropped: u64,
    /// Dropped: not RTP/RTCP (or RTP on the RTCP port), or not supported on this transport yet.
    pub dropped_unsupported: u64,
    /// Dropped: from an address other than the connected or latched remote end, or before connect.
    pub dropped_unexpected_source: u64,
    /// Dropped: STUN that failed ICE checks (bad credentials or integrity, not a binding request) or came
    /// after ICE closed.
    pub dropped_ice_failure: u64,
    /// Dropped: SRTP/SRTCP authentication, replay or decryption failed (or no remote key yet).
    pub dropped_srtp_failure: u64,
    /// Dropped: malformed RTP or RTCP.
    pub dropped_malformed: u64,
    /// Dropped: RTP whose SSRC (MID, RID) matches no producer.
    pub dropped_unknown_ssrc: u64,
    /// Dropped: RTP with a payload type the producer did not declare.
    pub dropped_unknown_payload_type: u64,
    /// ICE state (WebRTC transports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_state: Option<IceState>,
    /// The selected tuple (WebRTC transports, once ICE selected one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_selected_tuple: Option<TransportTuple>,
    /// DTLS state (WebRTC transports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtls_state: Option<DtlsState>,
    /// The DTLS protocol version negotiated ("DTLS 1.2" or "DTLS 1.3").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtls_version: Option<String>,
    /// The SRTP crypto suite DTLS negotiated (WebRTC) or the transport was given (plain with SRTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtp_crypto_suite: Option<SrtpCryptoSuite>,
    /// SCTP state (transports with SCTP enabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sctp_state: Option<SctpState>,
    /// Dropped: SCTP packets the association refused (malformed, wrong ports, checksum), or SCTP on a
    /// transport without it.
    pub dropped_sctp: u64,
    /// SCTP messages on a stream no data producer of this transport declared (not datagrams).
    pub dropped_sctp_messages: u64,
}

/// Network state of a plain transport.
#[derive(Debug)]
pub(crate) struct PlainState {
    pub(crate) setup: PlainTransportSetup,
    /// Where RTP (and RTCP when muxed) goes and must come from: connected or latched (comedia).
    pub(crate) remote_rtp: Option<SocketAddr>,
    /// Where RTCP goes and must come from when not muxed.
    pub(crate) remote_rtcp: Option<SocketAddr>,
    /// `connect` was called (it may be called once, even on a comedia transport).
    pub(crate) connect_called: bool,
    /// Decrypts what the remote side sends (its key, from `connect`).
    pub(crate) srtp_in: Option<SrtpSession>,
    /// Encrypts what we send (our key, `srtpParameters`).
    pub(crate) srtp_out: Option<SrtpSession>,
}

impl PlainState {
    /// Where RTCP is sent: the RTCP remote, or the RTP one when muxed.
    pub(crate) fn rtcp_destination(&self) -> Option<(SocketRef, SocketAddr)> {
        if self.setup.rtcp_mux {
            self.remote_rtp.map(|a| (self.setup.rtp_socket, a))
        } else {
            Some((self.setup.rtcp_socket?, self.remote_rtcp?))
        }
    }
}

/// An SRTP session from SDES keying (`keyBase64` = master key ‖ master salt).
pub(crate) fn srtp_session(params: &SrtpParameters) -> Option<SrtpSession> {
    let key = decode_base64(&params.key_base64)?;
    SrtpSession::from_key_and_salt(
        params.crypto_suite.into(),
        &key,
        SrtpSessionOptions::default(),
    )
    .ok()
}

#[derive(Debug)]
pub(crate) enum TransportKind {
    Plain(Box<PlainState>),
    WebRtc(Box<WebRtcState>),
    Direct(DirectTransportSetup),
}

#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) id: TransportId,
    pub(crate) owner: BroadcasterId,
    pub(crate) kind: TransportKind,
    pub(crate) producers: BTreeSet<ProducerId>,
    pub(crate) consumers: BTreeSet<ConsumerId>,
    pub(crate) data_producers: BTreeSet<DataProducerId>,
    pub(crate) data_consumers: BTreeSet<DataConsumerId>,
    /// CNAME forced onto every producer of this transport (the first producer's, or a random one).
    pub(crate) cname: Option<String>,
    /// MIDs and SSRCs of this transport's producers.
    pub(crate) producer_mids: HashSet<String>,
    pub(crate) producer_ssrcs: HashSet<u32>,
    pub(crate) next_consumer_mid: u32,
    /// SCTP stream ids in use by data producers (inbound, to the producer they feed) and data consumers
    /// (outbound).
    pub(crate) sctp_in_streams: HashMap<u16, DataProducerId>,
    pub(crate) sctp_out_streams: HashSet<u16>,
    /// The SCTP association and its channels, when SCTP is enabled (plain and WebRTC transports).
    pub(crate) sctp: Option<super::sctp_link::SctpLink>,
    /// Incoming SSRC → producer and encoding (signalled, or learnt from MID/RID).
    pub(crate) rtp_ssrcs: HashMap<u32, (ProducerId, usize)>,
    /// SSRCs this transport sends (consumers' media and RTX) → consumer, for RTCP feedback.
    pub(crate) consumer_ssrcs: HashMap<u32, ConsumerId>,
    pub(crate) stats: TransportStats,
    /// SDP offer/answer state (WebRTC transports negotiated by SDP).
    pub(crate) negotiation: super::negotiation::Negotiation,
}

impl Transport {
    pub(crate) fn new(id: TransportId, owner: BroadcasterId, setup: TransportSetup) -> Self {
        let (kind, type_name) = match setup {
            TransportSetup::Plain(setup) => (
                TransportKind::Plain(Box::new(PlainState {
                    srtp_out: setup.srtp_parameters.as_ref().and_then(srtp_session),
                    setup,
                    remote_rtp: None,
                    remote_rtcp: None,
                    connect_called: false,
                    srtp_in: None,
                })),
                "plain-rtp-transport",
            ),
            TransportSetup::WebRtc(setup) => (
                TransportKind::WebRtc(Box::new(WebRtcState::new(setup))),
                "webrtc-transport",
            ),
            TransportSetup::Direct(setup) => (TransportKind::Direct(setup), "direct-transport"),
        };
        let sctp = match &kind {
            TransportKind::Plain(plain) => plain.setup.sctp_parameters,
            TransportKind::WebRtc(state) => state.setup.sctp_parameters,
            TransportKind::Direct(_) => None,
        }
        .map(super::sctp_link::SctpLink::new);
        Self {
            id,
            owner,
            kind,
            producers: BTreeSet::new(),
            consumers: BTreeSet::new(),
            data_producers: BTreeSet::new(),
            data_consumers: BTreeSet::new(),
            cname: None,
            producer_mids: HashSet::new(),
            producer_ssrcs: HashSet::new(),
            next_consumer_mid: 0,
            sctp_in_streams: HashMap::new(),
            sctp_out_streams: HashSet::new(),
            sctp,
            rtp_ssrcs: HashMap::new(),
            consumer_ssrcs: HashMap::new(),
            negotiation: Default::default(),
            stats: TransportStats {
                r#type: type_name.to_owned(),
                transport_id: id.to_string(),
                ..TransportStats::default()
            },
        }
    }

    pub(crate) fn sctp_parameters(&self) -> Option<SctpParameters> {
        self.sctp.as_ref().map(|link| link.parameters)
    }

    /// Whether data producers and consumers on this transport are direct (HTTP) rather than SCTP.
    pub(crate) fn is_direct(&self) -> bool {
        matches!(self.kind, TransportKind::Direct(_))
    }

    pub(crate) fn info(&self) -> TransportInfo {
        let sctp_parameters = self.sctp_parameters();
        let sctp_state = self.sctp.as_ref().map(|link| link.state());
        match &self.kind {
            TransportKind::Plain(plain) => {
                let setup = &plain.setup;
                let with_remote = |tuple: &TransportTuple, remote: Option<SocketAddr>| {
                    let mut tuple = tuple.clone();
                    tuple.remote_ip = remote.map(|r| r.ip());
                    tuple.remote_port = remote.map(|r| r.port());
                    tuple
                };
                TransportInfo::Plain(PlainTransportInfo {
                    id: self.id,
                    broadcaster_id: self.owner.clone(),
                    ip: setup.tuple.local_address.clone(),
                    port: setup.tuple.local_port,
                    rtcp_port: setup.rtcp_tuple.as_ref().map(|t| t.local_port),
                    tuple: with_remote(&setup.tuple, plain.remote_rtp),
                    rtcp_tuple: setup
                        .rtcp_tuple
                        .as_ref()
                        .map(|t| with_remote(t, plain.remote_rtcp)),
                    rtcp_mux: setup.rtcp_mux,
                    comedia: setup.comedia,
                    connected: plain.remote_rtp.is_some(),
                    sctp_parameters,
                    sctp_state,
                    srtp_parameters: setup.srtp_parameters.clone(),
                })
            }
            TransportKind::WebRtc(state) => TransportInfo::Webrtc(WebRtcTransportInfo {
                id: self.id,
                broadcaster_id: self.owner.clone(),
                ice_parameters: state.setup.ice_parameters.clone(),
                ice_candidates: state.setup.ice_candidates.clone(),
                ice_state: state.ice.state(),
                ice_selected_tuple: state.selected_tuple(),
                dtls_parameters: state.setup.dtls_parameters.clone(),
                dtls_state: state.dtls_state,
                sctp_parameters,
                sctp_state,
            }),
            TransportKind::Direct(setup) => TransportInfo::Direct(DirectTransportInfo {
                id: self.id,
                broadcaster_id: self.owner.clone(),
                max_message_size: setup.max_message_size,
            }),
        }
    }

    /// Counters plus the link state they depend on.
    pub(crate) fn stats(&self) -> TransportStats {
        let mut stats = self.stats.clone();
        match &self.kind {
            TransportKind::Plain(plain) => {
                stats.srtp_crypto_suite =
                    plain.setup.srtp_parameters.as_ref().map(|p| p.crypto_suite);
            }
            TransportKind::WebRtc(state) => {
                stats.ice_state = Some(state.ice.state());
                stats.ice_selected_tuple = state.selected_tuple();
                stats.dtls_state = Some(state.dtls_state);
                stats.dtls_version = state.dtls_version.map(str::to_owned);
                stats.srtp_crypto_suite = state.srtp_profile.map(SrtpCryptoSuite::from);
            }
            TransportKind::Direct(_) => {}
        }
        if let Some(link) = &self.sctp {
            stats.sctp_state = Some(link.state());
        }
        stats
    }

    /// The next free MID for a consumer ("0", "1", …), skipping MIDs already taken.
    pub(crate) fn next_consumer_mid(&mut self) -> String {
        loop {
            let mid = self.next_consumer_mid.to_string();
            self.next_consumer_mid += 1;
            if !self.producer_mids.contains(&mid) {
                return mid;
            }
        }
    }
}

/// Whether an SRTP suite's base64 key has the right length.
pub(crate) fn srtp_key_is_valid(suite: SrtpCryptoSuite, key_base64: &str) -> bool {
    decode_base64(key_base64).is_some_and(|k| k.len() == suite.key_length())
}

/// Decodes standard base64 (RFC 4648 §4, padded).
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() % 4 != 0 {
        return None;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i == bytes.len() / 4 - 1;
        let pad = if last { padding } else { 0 };
        let mut n = 0u32;
        for (j, &c) in chunk.iter().enumerate() {
            let v = if j >= 4 - pad { 0 } else { value(c)? };
            n = n << 6 | v;
        }
        let [_, a, b, c] = n.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..3 - pad]);
    }
    Some(out)
}

// ---- the router's operations on these objects ----

impl Router {
    /// Adds a transport owned by `owner`, with network endpoints the runtime has already bound.
    pub fn create_transport(
        &mut self,
        owner: &BroadcasterId,
        id: TransportId,
        setup: TransportSetup,
    ) -> Result<TransportInfo, NotFound> {
        let broadcaster = self
            .broadcasters
            .get_mut(owner)
            .ok_or_else(|| NotFound::Broadcaster(owner.clone()))?;
        broadcaster.transports.insert(id);
        let transport = Transport::new(id, owner.clone(), setup);
        let info = transport.info();
        self.transports.insert(id, transport);
        Ok(info)
    }

    /// A transport as the API shows it.
    pub fn transport(&self, id: TransportId) -> Result<TransportInfo, NotFound> {
        self.transports
            .get(&id)
            .map(Transport::info)
            .ok_or(NotFound::Transport(id))
    }

    /// A transport's counters.
    pub fn transport_stats(&self, id: TransportId) -> Result<TransportStats, NotFound> {
        self.transports
            .get(&id)
            .map(Transport::stats)
            .ok_or(NotFound::Transport(id))
    }

    /// Gives a transport its remote side (once): DTLS parameters for WebRTC, the remote endpoint and SRTP
    /// keying for plain.
    pub fn connect_transport(
        &mut self,
        id: TransportId,
        params: ConnectParameters,
    ) -> Result<TransportInfo, ConnectError> {
        let transport = self.transports.get(&id).ok_or(NotFound::Transport(id))?;
        match (&transport.kind, params.dtls_parameters.clone()) {
            (TransportKind::WebRtc { .. }, Some(dtls)) => self.connect_webrtc(id, dtls),
            (TransportKind::WebRtc { .. }, None) => Err(ConnectError::Invalid {
                field: "dtlsParameters",
                message: "required to connect a webrtc transport".to_owned(),
            }),
            (TransportKind::Plain { .. }, _) => self.connect_plain(id, params),
            // mediasoup: connecting a direct transport does nothing.
            (TransportKind::Direct(_), _) => Ok(transport.info()),
        }
    }

    pub(super) fn connect_plain(
        &mut self,
        id: TransportId,
        params: ConnectParameters,
    ) -> Result<TransportInfo, ConnectError> {
        let transport = self
            .transports
            .get_mut(&id)
            .ok_or(NotFound::Transport(id))?;
        let TransportKind::Plain(plain) = &mut transport.kind else {
            return Err(NotFound::Transport(id).into());
        };
        if params.dtls_parameters.is_some() {
            return Err(ConnectError::Invalid {
                field: "dtlsParameters",
                message:
                    "a plain transport is connected with ip, port, rtcpPort and srtpParameters"
                        .to_owned(),
            });
        }
        if plain.connect_called {
            return Err(ConnectError::AlreadyConnected(id));
        }
        let setup = &plain.setup;
        let invalid = |field, message: &str| ConnectError::Invalid {
            field,
            message: message.to_owned(),
        };
        match (&setup.srtp_parameters, &params.srtp_parameters) {
            (None, Some(_)) => {
                return Err(invalid(
                    "srtpParameters",
                    "the transport was created without enableSrtp",
                ));
            }
            (Some(_), None) => {
                return Err(invalid(
                    "srtpParameters",
                    "required: the transport was created with enableSrtp",
                ));
            }
            (Some(_), Some(remote))
                if !srtp_key_is_valid(remote.crypto_suite, &remote.key_base64) =>
            {
                return Err(ConnectError::Invalid {
                    field: "srtpParameters.keyBase64",
                    message: format!(
                        "must be base64 of {} bytes for {:?}",
                        remote.crypto_suite.key_length(),
                        remote.crypto_suite
                    ),
                });
            }
            _ => {}
        }
        if !setup.comedia {
            let Some(ip) = params.ip else {
                return Err(invalid("ip", "required unless the transport uses comedia"));
            };
            if ip.is_unspecified() || ip.is_multicast() {
                return Err(ConnectError::Invalid {
                    field: "ip",
                    message: format!("{ip} is not a unicast address"),
                });
            }
            if params.port.is_none_or(|p| p == 0) {
                return Err(invalid(
                    "port",
                    "required (1-65535) unless the transport uses comedia",
                ));
            }
            if !setup.rtcp_mux && params.rtcp_port.is_none_or(|p| p == 0) {
                return Err(invalid(
                    "rtcpPort",
                    "required (1-65535) when the transport does not multiplex RTCP",
                ));
            }
            let port = params.port.unwrap_or_default();
            plain.remote_rtp = Some(SocketAddr::new(ip, port));
            plain.remote_rtcp = if plain.setup.rtcp_mux {
                plain.remote_rtp
            } else {
                params.rtcp_port.map(|p| SocketAddr::new(ip, p))
            };
        }
        if let Some(remote) = &params.srtp_parameters {
            plain.srtp_in = srtp_session(remote);
        }
        plain.connect_called = true;
        Ok(transport.info())
    }

    pub(super) fn connect_webrtc(
        &mut self,
        id: TransportId,
        params: DtlsParameters,
    ) -> Result<TransportInfo, ConnectError> {
        let transport = self
            .transports
            .get_mut(&id)
            .ok_or(NotFound::Transport(id))?;
        let TransportKind::WebRtc(state) = &mut transport.kind else {
            return Err(NotFound::Transport(id).into());
        };
        if state.remote_dtls.is_some() {
            return Err(ConnectError::AlreadyConnected(id));
        }
        if params.fingerprints.is_empty() {
            return Err(ConnectError::Invalid {
                field: "dtlsParameters.fingerprints",
                message: "at least one fingerprint is required".to_owned(),
            });
        }
        if let Some(bad) = params
            .fingerprints
            .iter()
            .position(|f| !is_fingerprint_hex(&f.value))
        {
            return Err(ConnectError::Invalid {
                field: "dtlsParameters.fingerprints",
                message: format!("fingerprints[{bad}].value is not colon-separated hex"),
            });
        }
        // The remote side leaves us the server role unless it insists on being the server.
        state.dtls_role = match params.role {
            DtlsRole::Server => DtlsRole::Client,
            DtlsRole::Client | DtlsRole::Auto => DtlsRole::Server,
        };
        state.dtls_state = DtlsState::Connecting;
        state.remote_dtls = Some(params);
        Ok(transport.info())
    }

    /// Replaces a WebRTC transport's local ICE credentials.
    pub fn restart_ice(
        &mut self,
        id: TransportId,
        ice_parameters: IceParameters,
    ) -> Result<IceParameters, RestartIceError> {
        let transport = self
            .transports
            .get_mut(&id)
            .ok_or(NotFound::Transport(id))?;
        let TransportKind::WebRtc(state) = &mut transport.kind else {
            return Err(RestartIceError::NotWebRtc(id));
        };
        state
            .ice
            .restart(
                ice_parameters.username_fragment.clone(),
                ice_parameters.password.clone(),
            )
            .map_err(|_| RestartIceError::IceClosed(id))?;
        state.setup.ice_parameters = ice_parameters.clone();
        Ok(ice_parameters)
    }

    /// Closes a transport and everything on it.
    pub fn close_transport(&mut self, id: TransportId) -> Result<(), NotFound> {
        let owner = self
            .transports
            .get(&id)
            .map(|t| t.owner.clone())
            .ok_or(NotFound::Transport(id))?;
        if let Some(b) = self.broadcasters.get_mut(&owner) {
            b.transports.remove(&id);
        }
        self.close_transport_inner(id, CloseReason::Request);
        Ok(())
    }

    pub(super) fn close_transport_inner(&mut self, id: TransportId, reason: CloseReason) {
        let Some(transport) = self.transports.remove(&id) else {
            return;
        };
        for producer in transport.producers {
            self.close_producer_inner(producer, CloseReason::TransportClosed);
        }
        for consumer in transport.consumers {
            self.close_consumer_inner(consumer, CloseReason::TransportClosed);
        }
        for data_producer in transport.data_producers {
            self.close_data_producer_inner(data_producer, CloseReason::TransportClosed);
        }
        for data_consumer in transport.data_consumers {
            self.close_data_consumer_inner(data_consumer, CloseReason::TransportClosed);
        }
        self.events.push_back(RouterEvent::TransportClosed {
            broadcaster_id: transport.owner,
            transport_id: id,
            reason,
        });
    }
}

fn is_fingerprint_hex(value: &str) -> bool {
    !value.is_empty()
        && value
            .split(':')
            .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_webrtc_options_are_those_of_an_empty_body() {
        let parsed: WebRtcTransportOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(WebRtcTransportOptions::default(), parsed);
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(decode_base64("TWFu").unwrap(), b"Man");
        assert_eq!(decode_base64("TWE=").unwrap(), b"Ma");
        assert_eq!(decode_base64("TQ==").unwrap(), b"M");
        assert!(decode_base64("TQ=").is_none());
        assert!(decode_base64("T!==").is_none());
    }

    #[test]
    fn srtp_key_lengths() {
        // 30 bytes of key and salt for AES-CM: 40 base64 characters.
        let key = "YTdjNjNlNmFkYzFkNGQ2YjhmNzMzZmNlYzYwMzM5";
        assert!(srtp_key_is_valid(
            SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80,
            key
        ));
        assert!(!srtp_key_is_valid(SrtpCryptoSuite::AEAD_AES_256_GCM, key));
        assert!(!srtp_key_is_valid(
            SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80,
            "not base64!"
        ));
    }
}
