//! SCTP associations for WebRTC data channels: one [`SctpAssociation`] per transport, fed with SCTP
//! packets (DTLS application data on a WebRTC transport, or UDP payloads on a plain one) and drained of
//! packets to send, state changes, opened channels and messages.
//!
//! Owns: the association (through `rtc-sctp`, kept behind our own types), the data channels negotiated
//! on it with DCEP ([`dcep`]), the mapping of WebRTC payload protocol identifiers, and the size limit on
//! what we send. Must not: read the clock (time is an argument), touch sockets or DTLS, or let bytes from
//! the network panic or tear the association down — malformed packets are dropped and counted in
//! [`SctpAssociation::dropped_packets`], malformed DCEP messages in [`SctpAssociation::dropped_messages`].
//!
//! Implements: RFC 8831 (data channels over SCTP: §6.1 one association per transport, §6.5 stream
//! reset closes a channel, §8 PPIDs 51/53/56/57 and the one-byte payload of empty messages), RFC 8832
//! (DCEP: OPEN answered by ACK, §6; DCEP messages, and the opener's messages until the ACK, are sent
//! ordered and reliable whatever the channel's type) and, through `rtc-sctp`, RFC 9260 (SCTP), RFC 3758 (partial reliability) and RFC 6525 (stream
//! reset). RFC 8841 §6 `max-message-size`: ours ([`SctpConfig::max_message_size`]) bounds what we
//! accept, the peer's ([`SctpConfig::remote_max_message_size`]) what we send.
//!
//! Ports: `rtc-sctp` always initiates from port 5000 to port 5000 (and answers on the ports it was
//! reached on), so [`SctpAssociation::new`] accepts 5000 only; packets to or from other ports are dropped.
//!
//! Stream ids (RFC 8832 §6): the DTLS client uses even ids, the DTLS server odd ones; the caller picks
//! them, [`SctpAssociation::open_stream`] only refuses ids already in use.

pub mod dcep;
mod guard;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rtc_sctp::{
    Association, AssociationHandle, ClientConfig, DatagramEvent, Endpoint, EndpointConfig, Event,
    Payload, PayloadProtocolIdentifier, ReliabilityType, ServerConfig, StreamEvent,
    TransportConfig,
};
use thiserror::Error;

pub use crate::transport_parameters::SctpState;
pub use dcep::{DataChannelOpen, DcepMessage, Reliability};

/// The SCTP port of WebRTC data channels (RFC 8841 §4, the only one `rtc-sctp` uses).
pub const DEFAULT_SCTP_PORT: u16 = 5000;
/// Default largest message we send or announce (mediasoup's default `maxMessageSize`).
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 262_144;
/// Default number of outgoing and incoming streams (mediasoup's `numSctpStreams` default is 1024/1024).
pub const DEFAULT_NUM_STREAMS: u16 = 1024;
/// Priority we put in DATA_CHANNEL_OPEN (RFC 8832 §5.1: 256 is "normal").
const DEFAULT_PRIORITY: u16 = 256;
/// Size of an SCTP common header (RFC 9260 §3.1).
const COMMON_HEADER_LEN: usize = 12;
/// `rtc-sctp` keys associations by address; one association per object, so one fixed placeholder.
const PLACEHOLDER_ADDR: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    DEFAULT_SCTP_PORT,
);

/// WebRTC String (RFC 8831 §8).
pub const PPID_STRING: u32 = 51;
/// WebRTC Binary (RFC 8831 §8).
pub const PPID_BINARY: u32 = 53;
/// WebRTC String Empty (RFC 8831 §8).
pub const PPID_STRING_EMPTY: u32 = 56;
/// WebRTC Binary Empty (RFC 8831 §8).
pub const PPID_BINARY_EMPTY: u32 = 57;
/// WebRTC DCEP (RFC 8832 §8.1); handled inside this module.
pub const PPID_DCEP: u32 = 50;

/// Configuration of one association.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SctpConfig {
    /// Our SCTP port (must be 5000).
    pub local_port: u16,
    /// The peer's SCTP port (must be 5000).
    pub remote_port: u16,
    /// Outgoing streams we ask for (OS).
    pub os: u16,
    /// Incoming streams we allow (MIS).
    pub mis: u16,
    /// Largest message we accept (the `a=max-message-size` we announce); larger ones are dropped.
    pub max_message_size: u32,
    /// Largest message the peer accepts (its `a=max-message-size`; RFC 8841 §6 says 64 KiB when
    /// absent); larger sends are refused with [`SctpSendError::TooLarge`].
    pub remote_max_message_size: u32,
}

impl Default for SctpConfig {
    fn default() -> Self {
        SctpConfig {
            local_port: DEFAULT_SCTP_PORT,
            remote_port: DEFAULT_SCTP_PORT,
            os: DEFAULT_NUM_STREAMS,
            mis: DEFAULT_NUM_STREAMS,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            remote_max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// Which side starts the association.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SctpRole {
    /// We wait for the peer's INIT (the usual case: the browser or client initiates).
    Server,
    /// We send INIT in [`SctpAssociation::new`].
    Client,
}

/// Something that happened on the association.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SctpEvent {
    /// The association's state changed.
    StateChanged(SctpState),
    /// The peer opened a data channel with DATA_CHANNEL_OPEN, and we acknowledged it.
    ChannelOpened {
        /// The channel's stream.
        stream_id: u16,
        /// Channel label.
        label: String,
        /// Sub-protocol.
        protocol: String,
        /// Whether delivery is ordered.
        ordered: bool,
        /// Retransmission time limit in ms, for a timed partially reliable channel.
        max_packet_life_time: Option<u32>,
        /// Retransmission count limit, for a partially reliable rexmit channel.
        max_retransmits: Option<u32>,
    },
    /// The peer acknowledged a channel we opened with [`SctpAssociation::open_stream`].
    ChannelAcknowledged {
        /// The channel's stream.
        stream_id: u16,
    },
    /// A complete message arrived on a channel.
    Message {
        /// The channel's stream.
        stream_id: u16,
        /// Payload protocol identifier: 51, 53, 56 or 57 (RFC 8831 §8).
        ppid: u32,
        /// The message; empty for PPIDs 56 and 57.
        data: Vec<u8>,
    },
    /// A stream was reset (the channel closed) or went down with the association.
    StreamClosed {
        /// The closed stream.
        stream_id: u16,
    },
}

/// Why [`SctpAssociation::new`] failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SctpError {
    /// A port other than 5000 was configured.
    #[error("unsupported sctp port {port}: only 5000 is supported")]
    UnsupportedPort {
        /// The port asked for.
        port: u16,
    },
    /// OS, MIS or the maximum message size is zero.
    #[error("invalid sctp config: streams and max message size must be non-zero")]
    InvalidConfig,
    /// The library refused to start the association.
    #[error("cannot start sctp association: {0}")]
    Connect(String),
}

/// Why a message was not sent.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SctpSendError {
    /// The association is not connected.
    #[error("sctp association not connected")]
    NotConnected,
    /// No channel is open on this stream.
    #[error("unknown sctp stream {stream_id}")]
    UnknownStream {
        /// The stream asked for.
        stream_id: u16,
    },
    /// The message is larger than the configured maximum.
    #[error("message of {size} bytes exceeds max message size {max}")]
    TooLarge {
        /// Message size.
        size: usize,
        /// The limit.
        max: u32,
    },
    /// The PPID is not one of 51, 53, 56, 57.
    #[error("unsupported ppid {ppid}")]
    UnsupportedPpid {
        /// The PPID asked for.
        ppid: u32,
    },
    /// The stream is closing or closed.
    #[error("sctp stream {stream_id} closed")]
    StreamClosed {
        /// The stream.
        stream_id: u16,
    },
}

/// Why [`SctpAssociation::open_stream`] failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SctpOpenStreamError {
    /// The association is not connected.
    #[error("sctp association not connected")]
    NotConnected,
    /// A channel already uses this stream.
    #[error("sctp stream {stream_id} already in use")]
    StreamInUse {
        /// The stream asked for.
        stream_id: u16,
    },
    /// The label or protocol does not fit DATA_CHANNEL_OPEN.
    #[error("label or protocol longer than 65535 bytes")]
    LabelTooLong,
    /// The library refused the stream or the OPEN message.
    #[error("cannot open sctp stream {stream_id}: {reason}")]
    Refused {
        /// The stream asked for.
        stream_id: u16,
        /// The library's reason.
        reason: String,
    },
}

/// What became of a packet handed to the library.
enum Fed {
    Handled,
    NewAssociation,
    Dropped,
}

/// What we know about a channel.
#[derive(Clone, Copy, Debug)]
struct Channel {
    ordered: bool,
    reliability: Reliability,
}

/// One SCTP association and its data channels. See the module docs.
pub struct SctpAssociation {
    config: SctpConfig,
    endpoint: Endpoint,
    association: Option<(AssociationHandle, Association)>,
    state: SctpState,
    channels: HashMap<u16, Channel>,
    events: VecDeque<SctpEvent>,
    transmits: VecDeque<Vec<u8>>,
    dropped_packets: u64,
    dropped_messages: u64,
    guard: guard::TsnGuard,
    library_panics: u64,
}

impl std::fmt::Debug for SctpAssociation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SctpAssociation")
            .field("config", &self.config)
            .field("state", &self.state)
            .field("channels", &self.channels.len())
            .field("dropped_packets", &self.dropped_packets)
            .finish_non_exhaustive()
    }
}

impl SctpAssociation {
    /// Creates the association; as [`SctpRole::Client`] the INIT is ready in [`Self::poll_transmit`].
    pub fn new(config: SctpConfig, role: SctpRole, now: Instant) -> Result<Self, SctpError> {
        for port in [config.local_port, config.remote_port] {
            if port != DEFAULT_SCTP_PORT {
                return Err(SctpError::UnsupportedPort { port });
            }
        }
        if config.os == 0
            || config.mis == 0
            || config.max_message_size == 0
            || config.remote_max_message_size == 0
        {
            return Err(SctpError::InvalidConfig);
        }
        let transport = TransportConfig::default()
            .with_sctp_port(config.local_port)
            .with_max_message_size(config.remote_max_message_size)
            .with_max_num_outbound_streams(config.os)
            .with_max_num_inbound_streams(config.mis);
        let server = match role {
            SctpRole::Server => Some(Arc::new(ServerConfig::new(transport.clone()))),
            SctpRole::Client => None,
        };
        let mut endpoint = Endpoint::new(
            PLACEHOLDER_ADDR,
            rtc_shared::TransportProtocol::UDP,
            Arc::new(EndpointConfig::new()),
            server,
        );
        let association = match role {
            SctpRole::Server => None,
            SctpRole::Client => Some(
                endpoint
                    .connect(now, ClientConfig::new(transport), PLACEHOLDER_ADDR)
                    .map_err(|e| SctpError::Connect(e.to_string()))?,
            ),
        };
        let mut this = SctpAssociation {
            config,
            endpoint,
            association,
            state: SctpState::New,
            channels: HashMap::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            dropped_packets: 0,
            dropped_messages: 0,
            guard: guard::TsnGuard::default(),
            library_panics: 0,
        };
        if role == SctpRole::Client {
            this.set_state(SctpState::Connecting);
            this.drain(now);
        }
        Ok(this)
    }

    /// Feeds one SCTP packet. Malformed packets, packets for other ports and packets for no
    /// association are dropped and counted.
    pub fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        if packet.len() < COMMON_HEADER_LEN
            || matches!(self.state, SctpState::Closed | SctpState::Failed)
        {
            self.dropped_packets += 1;
            return;
        }
        let src_port = u16::from_be_bytes([packet[0], packet[1]]);
        let dst_port = u16::from_be_bytes([packet[2], packet[3]]);
        if src_port != self.config.remote_port || dst_port != self.config.local_port {
            self.dropped_packets += 1;
            return;
        }
        if !self.guard.admit(packet) {
            self.dropped_packets += 1;
            return;
        }
        let bytes = Bytes::copy_from_slice(packet);
        // Last line of defence: a panic inside the library on a packet `guard` did not foresee fails
        // this association (its state is unknown) instead of the worker thread.
        let endpoint = &mut self.endpoint;
        let current = &mut self.association;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            match endpoint.handle(now, PLACEHOLDER_ADDR, None, bytes) {
                Some((handle, DatagramEvent::NewAssociation(association))) => {
                    if current.is_some() {
                        // A second INIT that the library took for a new association: one per transport.
                        return Fed::Dropped;
                    }
                    *current = Some((handle, association));
                    Fed::NewAssociation
                }
                Some((handle, DatagramEvent::AssociationEvent(event))) => match current {
                    Some((ours, association)) if *ours == handle => {
                        association.handle_event(event);
                        Fed::Handled
                    }
                    _ => Fed::Dropped,
                },
                _ => Fed::Dropped,
            }
        }));
        match outcome {
            Ok(Fed::Handled) => {}
            Ok(Fed::NewAssociation) => self.set_state(SctpState::Connecting),
            Ok(Fed::Dropped) => {
                self.dropped_packets += 1;
                return;
            }
            Err(_) => {
                self.dropped_packets += 1;
                self.library_panics += 1;
                self.association = None;
                self.close_channels();
                self.set_state(SctpState::Failed);
                return;
            }
        }
        self.drain(now);
    }

    /// Next SCTP packet to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.transmits.is_empty() {
            self.collect_transmits(now);
        }
        self.transmits.pop_front()
    }

    /// When [`Self::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.association
            .as_ref()
            .and_then(|(_, a)| a.poll_timeout())
    }

    /// Runs the retransmission, acknowledgement and heartbeat timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some((_, association)) = &mut self.association {
            association.handle_timeout(now);
            self.drain(now);
        }
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        self.events.pop_front()
    }

    /// The association's state.
    pub fn state(&self) -> SctpState {
        self.state
    }

    /// The configuration given to [`Self::new`].
    pub fn config(&self) -> &SctpConfig {
        &self.config
    }

    /// Packets dropped without reaching the association (malformed, wrong ports, no association).
    /// Packets the library itself rejects are not counted (it does not say).
    pub fn dropped_packets(&self) -> u64 {
        self.dropped_packets
    }

    /// Packets on which `rtc-sctp` panicked (each failed the association); should stay 0 — a non-zero
    /// value is a library defect for `guard` to learn.
    pub fn library_panics(&self) -> u64 {
        self.library_panics
    }

    /// Messages dropped after reassembly: larger than [`SctpConfig::max_message_size`] (what we
    /// announce, RFC 8841 §6), malformed DCEP, unknown PPIDs, data before a channel's OPEN.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages
    }

    /// Sends one message on an open channel with a WebRTC PPID (51, 53, 56, 57). An empty message with
    /// PPID 51 or 53 goes out as 56 or 57 with the one-byte payload RFC 8831 §8 asks for.
    pub fn send(
        &mut self,
        now: Instant,
        stream_id: u16,
        ppid: u32,
        data: &[u8],
    ) -> Result<(), SctpSendError> {
        let ppi = match (ppid, data.is_empty()) {
            (PPID_STRING, false) => PayloadProtocolIdentifier::String,
            (PPID_BINARY, false) => PayloadProtocolIdentifier::Binary,
            (PPID_STRING | PPID_STRING_EMPTY, true) | (PPID_STRING_EMPTY, false) => {
                PayloadProtocolIdentifier::StringEmpty
            }
            (PPID_BINARY | PPID_BINARY_EMPTY, true) | (PPID_BINARY_EMPTY, false) => {
                PayloadProtocolIdentifier::BinaryEmpty
            }
            _ => return Err(SctpSendError::UnsupportedPpid { ppid }),
        };
        let payload: &[u8] = match ppi {
            PayloadProtocolIdentifier::StringEmpty | PayloadProtocolIdentifier::BinaryEmpty => &[0],
            _ => data,
        };
        if data.len() > self.config.remote_max_message_size as usize {
            return Err(SctpSendError::TooLarge {
                size: data.len(),
                max: self.config.remote_max_message_size,
            });
        }
        if self.state != SctpState::Connected {
            return Err(SctpSendError::NotConnected);
        }
        let Some(&channel) = self.channels.get(&stream_id) else {
            return Err(SctpSendError::UnknownStream { stream_id });
        };
        let Some((_, association)) = &mut self.association else {
            return Err(SctpSendError::NotConnected);
        };
        let closed = |_| SctpSendError::StreamClosed { stream_id };
        // A negotiated channel's stream exists in the library once either side used it.
        let mut stream = if association.stream(stream_id).is_ok() {
            association.stream(stream_id).map_err(closed)?
        } else {
            let mut stream = association.open_stream(stream_id, ppi).map_err(closed)?;
            apply_reliability(&mut stream, channel).map_err(closed)?;
            stream
        };
        stream.write_with_ppi(now, payload, ppi).map_err(closed)?;
        self.collect_transmits(now);
        Ok(())
    }

    /// Declares a negotiated data channel (RFC 8831 §6.5: both sides agreed on it out of band, no DCEP):
    /// messages on `stream_id` are accepted and may be sent with the given ordering and reliability.
    /// Replaces what an earlier declaration or DCEP said of that stream.
    pub fn add_channel(&mut self, stream_id: u16, ordered: bool, reliability: Reliability) {
        let channel = Channel {
            ordered,
            reliability,
        };
        self.channels.insert(stream_id, channel);
        if let Some((_, association)) = &mut self.association
            && let Ok(mut stream) = association.stream(stream_id)
        {
            let _ = apply_reliability(&mut stream, channel);
        }
    }

    /// Bytes queued on a stream and not yet acknowledged by the peer (0 for an unknown stream).
    pub fn buffered_amount(&mut self, stream_id: u16) -> usize {
        self.association
            .as_mut()
            .and_then(|(_, a)| a.stream(stream_id).ok()?.buffered_amount().ok())
            .unwrap_or(0)
    }

    /// Opens a data channel on `stream_id` by sending DATA_CHANNEL_OPEN (RFC 8832 §6). The channel can
    /// carry messages at once, sent ordered and reliable until the peer's ACK
    /// ([`SctpEvent::ChannelAcknowledged`]) and by the channel's own rule after.
    pub fn open_stream(
        &mut self,
        now: Instant,
        stream_id: u16,
        ordered: bool,
        reliability: Reliability,
        label: &str,
        protocol: &str,
    ) -> Result<(), SctpOpenStreamError> {
        if self.state != SctpState::Connected {
            return Err(SctpOpenStreamError::NotConnected);
        }
        if self.channels.contains_key(&stream_id) {
            return Err(SctpOpenStreamError::StreamInUse { stream_id });
        }
        let open = DataChannelOpen {
            ordered,
            reliability,
            priority: DEFAULT_PRIORITY,
            label: label.to_owned(),
            protocol: protocol.to_owned(),
        };
        let bytes = open
            .to_bytes()
            .map_err(|_| SctpOpenStreamError::LabelTooLong)?;
        let Some((_, association)) = &mut self.association else {
            return Err(SctpOpenStreamError::NotConnected);
        };
        let refused = |e: rtc_shared::error::Error| SctpOpenStreamError::Refused {
            stream_id,
            reason: e.to_string(),
        };
        let mut stream = association
            .open_stream(stream_id, PayloadProtocolIdentifier::Dcep)
            .map_err(refused)?;
        // The OPEN, and every message until the ACK, goes ordered and reliable (RFC 8832 §6); the
        // channel's own rule is applied when the ACK arrives.
        stream
            .set_reliability_params(false, ReliabilityType::Reliable, 0)
            .map_err(refused)?;
        stream
            .write_with_ppi(now, &bytes, PayloadProtocolIdentifier::Dcep)
            .map_err(refused)?;
        let channel = Channel {
            ordered,
            reliability,
        };
        self.channels.insert(stream_id, channel);
        self.collect_transmits(now);
        Ok(())
    }

    /// Closes one data channel by resetting its outgoing stream (RFC 8831 §6.7, RFC 6525); the peer
    /// resets its side in turn. [`SctpEvent::StreamClosed`] follows at once; unknown ids are ignored.
    pub fn close_stream(&mut self, now: Instant, stream_id: u16) {
        if self.channels.remove(&stream_id).is_none() {
            return;
        }
        if let Some((_, association)) = &mut self.association
            && let Ok(mut stream) = association.stream(stream_id)
        {
            let _ = stream.close(now);
        }
        self.events.push_back(SctpEvent::StreamClosed { stream_id });
        self.collect_transmits(now);
    }

    /// Closes the association with an ABORT (what closing a peer connection does, W3C WebRTC §4.4.1.6).
    /// The ABORT is in [`Self::poll_transmit`]; the state becomes `Closed`.
    pub fn close(&mut self, now: Instant) {
        if let Some((_, association)) = &mut self.association {
            let _ = association.abort();
            self.collect_transmits(now);
        }
        self.association = None;
        self.close_channels();
        self.set_state(SctpState::Closed);
    }

    fn set_state(&mut self, state: SctpState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(SctpEvent::StateChanged(state));
        }
    }

    fn close_channels(&mut self) {
        let mut ids: Vec<u16> = self.channels.drain().map(|(id, _)| id).collect();
        ids.sort_unstable();
        self.events.extend(
            ids.into_iter()
                .map(|stream_id| SctpEvent::StreamClosed { stream_id }),
        );
    }

    /// Moves the library's events, readable messages and endpoint events into ours.
    fn drain(&mut self, now: Instant) {
        let Some((handle, association)) = &mut self.association else {
            return;
        };
        let handle = *handle;
        while let Some(event) = association.poll() {
            match event {
                Event::Connected if self.state != SctpState::Connected => {
                    self.state = SctpState::Connected;
                    self.events
                        .push_back(SctpEvent::StateChanged(SctpState::Connected));
                }
                Event::HandshakeFailed { .. } if self.state != SctpState::Failed => {
                    self.state = SctpState::Failed;
                    self.events
                        .push_back(SctpEvent::StateChanged(SctpState::Failed));
                }
                Event::AssociationLost { id, .. } if self.channels.remove(&id).is_some() => {
                    self.events
                        .push_back(SctpEvent::StreamClosed { stream_id: id });
                }
                Event::Stream(StreamEvent::Opened { .. }) => {
                    while association.accept_stream().is_some() {}
                }
                Event::Stream(StreamEvent::Readable { id }) => {
                    Self::read_stream(
                        association,
                        now,
                        id,
                        &mut self.channels,
                        &mut self.events,
                        &mut self.dropped_messages,
                        self.config.max_message_size as usize,
                    );
                }
                _ => {}
            }
        }
        while let Some(event) = association.poll_endpoint_event() {
            self.endpoint.handle_event(handle, event);
        }
        // The library reports a server association as closed until the handshake starts; only a
        // handshake that completed can be closed.
        if association.is_closed()
            && !association.is_handshaking()
            && self.state != SctpState::Failed
        {
            self.association = None;
            self.close_channels();
            self.set_state(SctpState::Closed);
            return;
        }
        self.collect_transmits(now);
    }

    fn read_stream(
        association: &mut Association,
        now: Instant,
        id: u16,
        channels: &mut HashMap<u16, Channel>,
        events: &mut VecDeque<SctpEvent>,
        dropped: &mut u64,
        max_message_size: usize,
    ) {
        loop {
            let Ok(mut stream) = association.stream(id) else {
                return;
            };
            let Ok(Some(chunks)) = stream.read_sctp() else {
                return;
            };
            let Ok(data) = chunks.to_payload(max_message_size) else {
                *dropped += 1;
                continue;
            };
            match chunks.ppi {
                PayloadProtocolIdentifier::Dcep => match DcepMessage::parse(&data) {
                    Ok(DcepMessage::Open(open)) => {
                        if channels.contains_key(&id) {
                            *dropped += 1;
                            continue;
                        }
                        let channel = Channel {
                            ordered: open.ordered,
                            reliability: open.reliability,
                        };
                        let acked = stream
                            .set_reliability_params(false, ReliabilityType::Reliable, 0)
                            .and_then(|()| {
                                stream.write_with_ppi(
                                    now,
                                    &DcepMessage::ack_bytes(),
                                    PayloadProtocolIdentifier::Dcep,
                                )
                            })
                            .and_then(|_| apply_reliability(&mut stream, channel));
                        if acked.is_err() {
                            *dropped += 1;
                            continue;
                        }
                        channels.insert(id, channel);
                        let (max_retransmits, max_packet_life_time) = match open.reliability {
                            Reliability::Reliable => (None, None),
                            Reliability::MaxRetransmits(n) => (Some(n), None),
                            Reliability::MaxPacketLifeTime(ms) => (None, Some(ms)),
                        };
                        events.push_back(SctpEvent::ChannelOpened {
                            stream_id: id,
                            label: open.label,
                            protocol: open.protocol,
                            ordered: open.ordered,
                            max_packet_life_time,
                            max_retransmits,
                        });
                    }
                    Ok(DcepMessage::Ack) if channels.contains_key(&id) => {
                        if let Some(&channel) = channels.get(&id) {
                            let _ = apply_reliability(&mut stream, channel);
                        }
                        events.push_back(SctpEvent::ChannelAcknowledged { stream_id: id });
                    }
                    Ok(DcepMessage::Ack) | Err(_) => *dropped += 1,
                },
                _ if !channels.contains_key(&id) => *dropped += 1,
                PayloadProtocolIdentifier::String => {
                    events.push_back(SctpEvent::Message {
                        stream_id: id,
                        ppid: PPID_STRING,
                        data: data.to_vec(),
                    });
                }
                PayloadProtocolIdentifier::Binary => {
                    events.push_back(SctpEvent::Message {
                        stream_id: id,
                        ppid: PPID_BINARY,
                        data: data.to_vec(),
                    });
                }
                PayloadProtocolIdentifier::StringEmpty => {
                    events.push_back(SctpEvent::Message {
                        stream_id: id,
                        ppid: PPID_STRING_EMPTY,
                        data: Vec::new(),
                    });
                }
                PayloadProtocolIdentifier::BinaryEmpty => {
                    events.push_back(SctpEvent::Message {
                        stream_id: id,
                        ppid: PPID_BINARY_EMPTY,
                        data: Vec::new(),
                    });
                }
                _ => *dropped += 1,
            }
        }
    }

    fn collect_transmits(&mut self, now: Instant) {
        let Some((_, association)) = &mut self.association else {
            return;
        };
        while let Some(transmit) = association.poll_transmit(now) {
            if let Payload::RawEncode(packets) = transmit.message {
                for packet in packets {
                    self.guard.observe_outbound(&packet);
                    self.transmits.push_back(packet.to_vec());
                }
            }
        }
    }
}

fn apply_reliability(
    stream: &mut rtc_sctp::Stream<'_>,
    channel: Channel,
) -> Result<(), rtc_shared::error::Error> {
    let (kind, value) = match channel.reliability {
        Reliability::Reliable => (ReliabilityType::Reliable, 0),
        Reliability::MaxRetransmits(n) => (ReliabilityType::Rexmit, n),
        Reliability::MaxPacketLifeTime(ms) => (ReliabilityType::Timed, ms),
    };
    stream.set_reliability_params(!channel.ordered, kind, value)
}
