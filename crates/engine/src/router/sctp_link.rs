//! A transport's SCTP association as the room sees it, and the data path: SCTP packets in (over DTLS on a
//! WebRTC transport, straight over UDP on a plain one), messages routed from data producers to their data
//! consumers (another association's stream, or the owner's event stream on a direct transport), SCTP
//! packets out.
//!
//! Owns: the [`SctpAssociation`] of one transport (made on the first SCTP packet: the remote endpoint
//! starts the association) and the negotiated channels its data producers and consumers declared.
//! Must not: know DTLS or sockets beyond the [`Outbox`] (the WebRTC and plain paths wrap and send).
//!
//! Policies (mediasoup's where it has one):
//! - data consumers on SCTP transports use negotiated channels (no DCEP), as mediasoup-client expects;
//!   channels a browser opens with DCEP are acknowledged and feed the data producer on that stream id;
//! - a message that would push a consumer's stream above the transport's send buffer is dropped for that
//!   consumer only and counted (a slow reader never holds the others back);
//! - a message larger than the receiving side's maximum is dropped for that consumer and counted;
//! - a paused data producer drops what arrives (counted); a paused data consumer skips it.

use std::collections::BTreeMap;
use std::time::Instant;

use super::transport::{Transport, TransportKind};
use super::{Router, RouterEvent};
use crate::ids::{DataConsumerId, DataProducerId, TransportId};
use crate::net::Outbox;
use crate::sctp::{Reliability, SctpAssociation, SctpConfig, SctpEvent, SctpRole, SctpSendError};
use crate::sctp_parameters::{SctpParameters, SctpStreamParameters};
use crate::transport_parameters::SctpState;

/// Bytes a data consumer's stream may hold unacknowledged (mediasoup's `sctpSendBufferSize` default).
pub const DEFAULT_SEND_BUFFER_SIZE: usize = 262_144;

/// SCTP packets start with source and destination port; both are 5000 for data channels (RFC 8841).
const SCTP_PORTS: [u8; 4] = [0x13, 0x88, 0x13, 0x88];
/// An SCTP common header.
const SCTP_HEADER_LEN: usize = 12;

/// Whether a datagram on a plain transport is SCTP (ports 5000 → 5000) rather than RTP/RTCP.
pub(crate) fn looks_like_sctp(data: &[u8]) -> bool {
    data.len() >= SCTP_HEADER_LEN && data[..4] == SCTP_PORTS
}

/// The ordering and reliability of a stream, as the SCTP layer takes them.
pub(crate) fn channel_of(params: &SctpStreamParameters) -> (bool, Reliability) {
    let reliability = match (params.max_packet_life_time, params.max_retransmits) {
        (Some(ms), _) => Reliability::MaxPacketLifeTime(u32::from(ms)),
        (None, Some(n)) => Reliability::MaxRetransmits(u32::from(n)),
        (None, None) => Reliability::Reliable,
    };
    (params.ordered.unwrap_or(true), reliability)
}

/// One transport's SCTP association and the channels declared on it.
#[derive(Debug)]
pub(crate) struct SctpLink {
    /// What the transport announced.
    pub(crate) parameters: SctpParameters,
    /// The largest message the peer accepts (its `a=max-message-size`; ours when it did not say).
    pub(crate) remote_max_message_size: u32,
    /// Per-stream send buffer.
    pub(crate) send_buffer_size: usize,
    association: Option<SctpAssociation>,
    /// Negotiated channels: stream id → ordering and reliability (producers' and consumers' streams).
    channels: BTreeMap<u16, (bool, Reliability)>,
    /// The state last reported.
    reported: SctpState,
    /// Packets with something to send since the last flush.
    pub(crate) dirty: bool,
}

impl SctpLink {
    pub(crate) fn new(parameters: SctpParameters) -> Self {
        Self {
            parameters,
            remote_max_message_size: parameters.max_message_size,
            send_buffer_size: DEFAULT_SEND_BUFFER_SIZE,
            association: None,
            channels: BTreeMap::new(),
            reported: SctpState::New,
            dirty: false,
        }
    }

    pub(crate) fn state(&self) -> SctpState {
        self.association
            .as_ref()
            .map_or(SctpState::New, SctpAssociation::state)
    }

    /// Declares a negotiated channel (a data producer's or consumer's stream).
    pub(crate) fn add_channel(&mut self, params: &SctpStreamParameters) {
        let (ordered, reliability) = channel_of(params);
        self.channels
            .insert(params.stream_id, (ordered, reliability));
        if let Some(association) = &mut self.association {
            association.add_channel(params.stream_id, ordered, reliability);
        }
    }

    /// Forgets a channel and resets its stream toward the peer (RFC 8831 §6.7).
    pub(crate) fn remove_channel(&mut self, now: Option<Instant>, stream_id: u16) {
        self.channels.remove(&stream_id);
        if let (Some(association), Some(now)) = (&mut self.association, now) {
            association.close_stream(now, stream_id);
            self.dirty = true;
        }
    }

    /// Feeds one SCTP packet; returns whether the association dropped it.
    pub(crate) fn handle_packet(&mut self, now: Instant, packet: &[u8]) -> bool {
        let association = match &mut self.association {
            Some(a) => a,
            None => {
                let config = SctpConfig {
                    os: self.parameters.os,
                    mis: self.parameters.mis,
                    max_message_size: self.parameters.max_message_size,
                    remote_max_message_size: self.remote_max_message_size,
                    ..SctpConfig::default()
                };
                let Ok(mut association) = SctpAssociation::new(config, SctpRole::Server, now)
                else {
                    return true;
                };
                for (&stream_id, &(ordered, reliability)) in &self.channels {
                    association.add_channel(stream_id, ordered, reliability);
                }
                self.association.insert(association)
            }
        };
        let before = association.dropped_packets();
        association.handle_packet(now, packet);
        self.dirty = true;
        association.dropped_packets() > before
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.association
            .as_ref()
            .and_then(SctpAssociation::poll_timeout)
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if let Some(association) = &mut self.association {
            association.handle_timeout(now);
            self.dirty = true;
        }
    }

    pub(crate) fn poll_event(&mut self) -> Option<SctpEvent> {
        self.association.as_mut()?.poll_event()
    }

    /// Marks queued packets as due (after the remote end became known).
    pub(crate) fn wake(&mut self) {
        self.dirty = true;
    }

    pub(crate) fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.association.as_mut()?.poll_transmit(now)
    }

    /// Sends one message on a consumer's stream, unless its buffer is full.
    fn send(
        &mut self,
        now: Instant,
        stream_id: u16,
        ppid: u32,
        data: &[u8],
    ) -> Result<(), SendRefused> {
        let association = self.association.as_mut().ok_or(SendRefused::NotConnected)?;
        if association.buffered_amount(stream_id) + data.len() > self.send_buffer_size {
            return Err(SendRefused::BufferFull);
        }
        association
            .send(now, stream_id, ppid, data)
            .map_err(|e| match e {
                SctpSendError::TooLarge { .. } => SendRefused::TooLarge,
                SctpSendError::NotConnected => SendRefused::NotConnected,
                _ => SendRefused::Closed,
            })?;
        self.dirty = true;
        Ok(())
    }

    pub(crate) fn buffered_amount(&mut self, stream_id: u16) -> usize {
        self.association
            .as_mut()
            .map_or(0, |a| a.buffered_amount(stream_id))
    }
}

/// Why a message did not go to one consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SendRefused {
    NotConnected,
    BufferFull,
    TooLarge,
    Closed,
}

/// Counters of a data producer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DataProducerCounters {
    pub(crate) messages_received: u64,
    pub(crate) bytes_received: u64,
    pub(crate) messages_dropped: u64,
}

/// Counters of a data consumer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DataConsumerCounters {
    pub(crate) messages_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) messages_dropped: u64,
}

impl Router {
    /// An SCTP packet that arrived on a transport (from DTLS application data or a plain UDP datagram);
    /// returns whether the association took it.
    pub(super) fn handle_sctp_packet(
        &mut self,
        now: Instant,
        transport_id: TransportId,
        packet: &[u8],
        out: &mut Outbox,
    ) -> bool {
        let Some(transport) = self.transports.get_mut(&transport_id) else {
            return false;
        };
        let dropped = match &mut transport.sctp {
            Some(link) => link.handle_packet(now, packet),
            None => true,
        };
        if dropped {
            transport.stats.dropped_sctp += 1;
            transport.stats.packets_dropped += 1;
        }
        self.drain_sctp(now, transport_id, out);
        !dropped
    }

    /// Acts on what an association reported and sends what it has queued.
    pub(super) fn drain_sctp(&mut self, now: Instant, transport_id: TransportId, out: &mut Outbox) {
        loop {
            let Some(transport) = self.transports.get_mut(&transport_id) else {
                return;
            };
            let owner = transport.owner.clone();
            let Some(link) = &mut transport.sctp else {
                return;
            };
            let Some(event) = link.poll_event() else {
                break;
            };
            match event {
                SctpEvent::StateChanged(state) => {
                    if state != link.reported {
                        link.reported = state;
                        self.events
                            .push_back(RouterEvent::TransportSctpStateChanged {
                                broadcaster_id: owner,
                                transport_id,
                                sctp_state: state,
                            });
                    }
                }
                SctpEvent::Message {
                    stream_id,
                    ppid,
                    data,
                } => match transport.sctp_in_streams.get(&stream_id) {
                    Some(&data_producer) => {
                        self.deliver_data_message(now, data_producer, ppid, &data);
                    }
                    None => transport.stats.dropped_sctp_messages += 1,
                },
                // A DCEP channel feeds the data producer declared (or to be declared) on its stream.
                SctpEvent::ChannelOpened { .. }
                | SctpEvent::ChannelAcknowledged { .. }
                | SctpEvent::StreamClosed { .. } => {}
            }
        }
        self.flush_sctp(now, transport_id, out);
    }

    /// Sends what one association queued: inside DTLS on a WebRTC transport, as UDP on a plain one.
    pub(super) fn flush_sctp(&mut self, now: Instant, transport_id: TransportId, out: &mut Outbox) {
        let Some(transport) = self.transports.get_mut(&transport_id) else {
            return;
        };
        let Transport {
            sctp: Some(link),
            kind,
            stats,
            ..
        } = transport
        else {
            return;
        };
        if !link.dirty {
            return;
        }
        link.dirty = false;
        match kind {
            TransportKind::Plain(plain) => {
                let socket = plain.setup.rtp_socket;
                let Some(remote) = plain.remote_rtp else {
                    // Nowhere to send yet (comedia, before the association took a packet): the packets stay
                    // queued in the association until the remote end is latched.
                    return;
                };
                while let Some(packet) = link.poll_transmit(now) {
                    let len = packet.len().min(crate::net::TRANSMIT_CAPACITY);
                    out.push(socket, remote, |buf| {
                        buf[..len].copy_from_slice(&packet[..len]);
                        len
                    });
                    stats.packets_sent += 1;
                    stats.bytes_sent += len as u64;
                }
            }
            TransportKind::WebRtc(state) => {
                let mut wrapped = false;
                while let Some(packet) = link.poll_transmit(now) {
                    if let Some(dtls) = &mut state.dtls {
                        wrapped |= dtls.send_application_data(now, &packet).is_ok();
                    }
                }
                if wrapped {
                    self.drive_dtls(now, transport_id, out);
                }
            }
            TransportKind::Direct(_) => {}
        }
    }

    /// Routes one message of a data producer to its data consumers.
    pub(super) fn deliver_data_message(
        &mut self,
        now: Instant,
        data_producer_id: DataProducerId,
        ppid: u32,
        data: &[u8],
    ) {
        let Router {
            data_producers,
            data_consumers,
            transports,
            events,
            ..
        } = self;
        let Some(producer) = data_producers.get_mut(&data_producer_id) else {
            return;
        };
        producer.counters.messages_received += 1;
        producer.counters.bytes_received += data.len() as u64;
        if producer.options.paused {
            producer.counters.messages_dropped += 1;
            return;
        }
        for consumer_id in &producer.consumers {
            let Some(consumer) = data_consumers.get_mut(consumer_id) else {
                continue;
            };
            if consumer.paused {
                continue;
            }
            let Some(transport) = transports.get_mut(&consumer.transport) else {
                continue;
            };
            let sent = match (&mut transport.kind, &mut transport.sctp) {
                (TransportKind::Direct(setup), _) => {
                    if data.len() > setup.max_message_size as usize {
                        false
                    } else {
                        events.push_back(RouterEvent::DataConsumerMessage {
                            broadcaster_id: consumer.owner.clone(),
                            data_consumer_id: *consumer_id,
                            data_producer_id,
                            ppid,
                            data: data.to_vec(),
                        });
                        true
                    }
                }
                (_, Some(link)) => match consumer.sctp_stream_parameters {
                    Some(params) => link.send(now, params.stream_id, ppid, data).is_ok(),
                    None => false,
                },
                _ => false,
            };
            if sent {
                consumer.counters.messages_sent += 1;
                consumer.counters.bytes_sent += data.len() as u64;
            } else {
                consumer.counters.messages_dropped += 1;
            }
        }
    }

    /// The earliest SCTP timer, or now when an association has something to send.
    pub(super) fn sctp_poll_timeout(&self) -> Option<Instant> {
        self.transports
            .values()
            .filter_map(|t| t.sctp.as_ref())
            .filter_map(|link| {
                if link.dirty {
                    self.last_now
                } else {
                    link.poll_timeout()
                }
            })
            .min()
    }

    /// Runs the SCTP timers that are due and sends what is queued.
    pub(super) fn sctp_handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        let due: Vec<TransportId> = self
            .transports
            .iter()
            .filter_map(|(id, t)| {
                let link = t.sctp.as_ref()?;
                (link.dirty || link.poll_timeout().is_some_and(|at| at <= now)).then_some(*id)
            })
            .collect();
        for id in due {
            if let Some(link) = self.transports.get_mut(&id).and_then(|t| t.sctp.as_mut())
                && link.poll_timeout().is_some_and(|at| at <= now)
            {
                link.handle_timeout(now);
            }
            self.drain_sctp(now, id, out);
        }
    }

    /// Bytes waiting on a data consumer's stream.
    pub(super) fn data_consumer_buffered_amount(&mut self, id: DataConsumerId) -> usize {
        let Some(consumer) = self.data_consumers.get(&id) else {
            return 0;
        };
        let Some(params) = consumer.sctp_stream_parameters else {
            return 0;
        };
        self.transports
            .get_mut(&consumer.transport)
            .and_then(|t| t.sctp.as_mut())
            .map_or(0, |link| link.buffered_amount(params.stream_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sctp_is_told_from_rtp_by_its_ports() {
        let mut packet = [0u8; 28];
        packet[..4].copy_from_slice(&SCTP_PORTS);
        assert!(looks_like_sctp(&packet));
        assert!(!looks_like_sctp(&packet[..11]));
        packet[3] = 0x89;
        assert!(!looks_like_sctp(&packet));
        let mut rtp = [0u8; 12];
        rtp[0] = 0x80;
        assert!(!looks_like_sctp(&rtp));
    }

    #[test]
    fn stream_parameters_map_to_channel_types() {
        let reliable = SctpStreamParameters {
            stream_id: 1,
            ordered: Some(true),
            ..Default::default()
        };
        assert_eq!(channel_of(&reliable), (true, Reliability::Reliable));
        let rexmit = SctpStreamParameters {
            stream_id: 1,
            ordered: Some(false),
            max_retransmits: Some(0),
            ..Default::default()
        };
        assert_eq!(channel_of(&rexmit), (false, Reliability::MaxRetransmits(0)));
        let timed = SctpStreamParameters {
            stream_id: 1,
            ordered: Some(false),
            max_packet_life_time: Some(2000),
            ..Default::default()
        };
        assert_eq!(
            channel_of(&timed),
            (false, Reliability::MaxPacketLifeTime(2000))
        );
    }
}
