//! Data producers and data consumers: SCTP streams carrying messages into and out of the room.

use std::time::Instant;

use super::sctp_link::{DataConsumerCounters, DataProducerCounters};
use super::{
    CloseReason, ConsumeDataError, NotFound, ProduceDataError, Router, RouterEvent, SendDataError,
};
use crate::ortc;
use crate::sctp::{PPID_BINARY, PPID_BINARY_EMPTY, PPID_STRING, PPID_STRING_EMPTY};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{BroadcasterId, DataConsumerId, DataProducerId, TransportId};
use crate::sctp_parameters::SctpStreamParameters;

/// How a data producer or consumer carries messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// An SCTP stream.
    Sctp,
    /// A direct transport: messages over HTTP in, over the event stream out.
    Direct,
}

/// Creation input of a data producer (`POST /transports/{id}/data-producers`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataProducerOptions {
    /// The SCTP stream the endpoint sends on (required on SCTP transports, absent on direct ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sctp_stream_parameters: Option<SctpStreamParameters>,
    /// Channel label.
    #[serde(default)]
    pub label: String,
    /// Sub-protocol.
    #[serde(default)]
    pub protocol: String,
    /// Start paused.
    #[serde(default)]
    pub paused: bool,
}

/// Creation input of a data consumer (`POST /transports/{id}/data-consumers`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataConsumerOptions {
    /// Data producer to consume.
    pub data_producer_id: DataProducerId,
    /// Override the producer's ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
    /// Override the producer's lifetime limit (milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_packet_life_time: Option<u16>,
    /// Override the producer's retransmission limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retransmits: Option<u16>,
    /// Start paused.
    #[serde(default)]
    pub paused: bool,
}

/// A data producer as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataProducerInfo {
    /// Data producer id.
    pub id: DataProducerId,
    /// Owner.
    pub broadcaster_id: BroadcasterId,
    /// Transport it arrives on.
    pub transport_id: TransportId,
    /// How it carries messages.
    #[serde(rename = "type")]
    pub r#type: DataType,
    /// Its SCTP stream (SCTP data producers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sctp_stream_parameters: Option<SctpStreamParameters>,
    /// Channel label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// Whether it is paused.
    pub paused: bool,
}

/// A data consumer as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataConsumerInfo {
    /// Data consumer id.
    pub id: DataConsumerId,
    /// Data producer it copies.
    pub data_producer_id: DataProducerId,
    /// Owner.
    pub broadcaster_id: BroadcasterId,
    /// Transport it leaves on.
    pub transport_id: TransportId,
    /// How it carries messages.
    #[serde(rename = "type")]
    pub r#type: DataType,
    /// Its SCTP stream, id allocated by the transport (SCTP data consumers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sctp_stream_parameters: Option<SctpStreamParameters>,
    /// Channel label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// Paused by its owner.
    pub paused: bool,
    /// Its data producer is paused.
    pub data_producer_paused: bool,
}

/// Counters of a data producer (`GET /data-producers/{id}/stats`), mediasoup's shape.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataProducerStats {
    /// Always `data-producer`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// Channel label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// Messages received from the endpoint (or the API).
    pub messages_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Messages dropped because the data producer was paused.
    pub messages_dropped: u64,
}

/// Counters of a data consumer (`GET /data-consumers/{id}/stats`), mediasoup's shape.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataConsumerStats {
    /// Always `data-consumer`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// Channel label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// Messages handed to the endpoint's stream (or event stream).
    pub messages_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Bytes queued on the SCTP stream and not yet acknowledged.
    pub buffered_amount: u64,
    /// Messages not sent: the stream's send buffer was full, the message exceeded the peer's maximum,
    /// or the association was not up.
    pub messages_dropped: u64,
}

#[derive(Debug)]
pub(crate) struct DataProducer {
    pub(crate) id: DataProducerId,
    pub(crate) owner: BroadcasterId,
    pub(crate) transport: TransportId,
    pub(crate) r#type: DataType,
    pub(crate) options: DataProducerOptions,
    pub(crate) consumers: std::collections::BTreeSet<DataConsumerId>,
    pub(crate) counters: DataProducerCounters,
}

impl DataProducer {
    pub(crate) fn info(&self) -> DataProducerInfo {
        DataProducerInfo {
            id: self.id,
            broadcaster_id: self.owner.clone(),
            transport_id: self.transport,
            r#type: self.r#type,
            sctp_stream_parameters: self.options.sctp_stream_parameters,
            label: self.options.label.clone(),
            protocol: self.options.protocol.clone(),
            paused: self.options.paused,
        }
    }
}

#[derive(Debug)]
pub(crate) struct DataConsumer {
    pub(crate) id: DataConsumerId,
    pub(crate) owner: BroadcasterId,
    pub(crate) transport: TransportId,
    pub(crate) data_producer: DataProducerId,
    pub(crate) r#type: DataType,
    pub(crate) sctp_stream_parameters: Option<SctpStreamParameters>,
    pub(crate) counters: DataConsumerCounters,
    pub(crate) label: String,
    pub(crate) protocol: String,
    pub(crate) paused: bool,
    pub(crate) data_producer_paused: bool,
}

impl DataConsumer {
    pub(crate) fn info(&self) -> DataConsumerInfo {
        DataConsumerInfo {
            id: self.id,
            data_producer_id: self.data_producer,
            broadcaster_id: self.owner.clone(),
            transport_id: self.transport,
            r#type: self.r#type,
            sctp_stream_parameters: self.sctp_stream_parameters,
            label: self.label.clone(),
            protocol: self.protocol.clone(),
            paused: self.paused,
            data_producer_paused: self.data_producer_paused,
        }
    }
}

// ---- the router's operations on these objects ----

impl Router {
    /// Creates a data producer on a transport with SCTP, or on a direct transport.
    pub fn produce_data(
        &mut self,
        transport_id: TransportId,
        id: DataProducerId,
        mut options: DataProducerOptions,
    ) -> Result<DataProducerInfo, ProduceDataError> {
        let transport = self
            .transports
            .get_mut(&transport_id)
            .ok_or(NotFound::Transport(transport_id))?;
        let r#type = if transport.is_direct() {
            if options.sctp_stream_parameters.is_some() {
                return Err(ProduceDataError::StreamParametersOnDirect);
            }
            DataType::Direct
        } else {
            let sctp = transport
                .sctp_parameters()
                .ok_or(ProduceDataError::SctpNotEnabled(transport_id))?;
            let params = options
                .sctp_stream_parameters
                .as_mut()
                .ok_or(ProduceDataError::StreamParametersRequired)?;
            ortc::validate_sctp_stream_parameters(params)
                .map_err(|e| e.prefixed("sctpStreamParameters"))?;
            let stream_id = params.stream_id;
            if stream_id >= sctp.mis {
                return Err(ProduceDataError::StreamIdOutOfRange {
                    stream_id,
                    mis: sctp.mis,
                });
            }
            if transport.sctp_in_streams.contains_key(&stream_id) {
                return Err(ProduceDataError::DuplicateStreamId(stream_id));
            }
            transport.sctp_in_streams.insert(stream_id, id);
            if let Some(link) = &mut transport.sctp {
                link.add_channel(params);
            }
            DataType::Sctp
        };
        transport.data_producers.insert(id);
        let data_producer = DataProducer {
            id,
            owner: transport.owner.clone(),
            transport: transport_id,
            r#type,
            options,
            consumers: Default::default(),
            counters: DataProducerCounters::default(),
        };
        let info = data_producer.info();
        self.events.push_back(RouterEvent::DataProducerAdded {
            broadcaster_id: info.broadcaster_id.clone(),
            data_producer_id: id,
            label: info.label.clone(),
            protocol: info.protocol.clone(),
        });
        self.data_producers.insert(id, data_producer);
        Ok(info)
    }

    /// Sends one message into the room through a data producer of a direct transport (the HTTP way in).
    /// An empty message goes out with the empty-string or empty-binary PPID.
    pub fn send_data_message(
        &mut self,
        now: Instant,
        id: DataProducerId,
        ppid: u32,
        data: &[u8],
    ) -> Result<(), SendDataError> {
        let producer = self
            .data_producers
            .get(&id)
            .ok_or(NotFound::DataProducer(id))?;
        let Some(super::transport::TransportKind::Direct(setup)) =
            self.transports.get(&producer.transport).map(|t| &t.kind)
        else {
            return Err(SendDataError::NotDirect(id));
        };
        if data.len() > setup.max_message_size as usize {
            return Err(SendDataError::TooLarge {
                size: data.len(),
                max: setup.max_message_size,
            });
        }
        let ppid = match (ppid, data.is_empty()) {
            (PPID_STRING | PPID_STRING_EMPTY, true) => PPID_STRING_EMPTY,
            (PPID_BINARY | PPID_BINARY_EMPTY, true) => PPID_BINARY_EMPTY,
            (PPID_STRING | PPID_BINARY, false) => ppid,
            _ => return Err(SendDataError::InvalidPpid(ppid)),
        };
        self.last_now = Some(self.last_now.map_or(now, |last| last.max(now)));
        self.deliver_data_message(now, id, ppid, data);
        Ok(())
    }

    /// Pauses or resumes a data producer; its data consumers' owners learn it.
    pub fn set_data_producer_paused(
        &mut self,
        id: DataProducerId,
        paused: bool,
    ) -> Result<DataProducerInfo, NotFound> {
        let producer = self
            .data_producers
            .get_mut(&id)
            .ok_or(NotFound::DataProducer(id))?;
        if producer.options.paused != paused {
            producer.options.paused = paused;
            self.events.push_back(if paused {
                RouterEvent::DataProducerPaused {
                    broadcaster_id: producer.owner.clone(),
                    data_producer_id: id,
                }
            } else {
                RouterEvent::DataProducerResumed {
                    broadcaster_id: producer.owner.clone(),
                    data_producer_id: id,
                }
            });
            for consumer_id in &producer.consumers {
                let Some(consumer) = self.data_consumers.get_mut(consumer_id) else {
                    continue;
                };
                consumer.data_producer_paused = paused;
                let (broadcaster_id, data_consumer_id) = (consumer.owner.clone(), *consumer_id);
                self.events.push_back(if paused {
                    RouterEvent::DataConsumerDataProducerPaused {
                        broadcaster_id,
                        data_consumer_id,
                        data_producer_id: id,
                    }
                } else {
                    RouterEvent::DataConsumerDataProducerResumed {
                        broadcaster_id,
                        data_consumer_id,
                        data_producer_id: id,
                    }
                });
            }
        }
        Ok(producer.info())
    }

    /// A data producer's counters.
    pub fn data_producer_stats(&self, id: DataProducerId) -> Result<DataProducerStats, NotFound> {
        let producer = self
            .data_producers
            .get(&id)
            .ok_or(NotFound::DataProducer(id))?;
        Ok(DataProducerStats {
            r#type: "data-producer".to_owned(),
            label: producer.options.label.clone(),
            protocol: producer.options.protocol.clone(),
            messages_received: producer.counters.messages_received,
            bytes_received: producer.counters.bytes_received,
            messages_dropped: producer.counters.messages_dropped,
        })
    }

    /// A data producer as the API shows it.
    pub fn data_producer(&self, id: DataProducerId) -> Result<DataProducerInfo, NotFound> {
        self.data_producers
            .get(&id)
            .map(DataProducer::info)
            .ok_or(NotFound::DataProducer(id))
    }

    /// Closes a data producer and its data consumers.
    pub fn close_data_producer(&mut self, id: DataProducerId) -> Result<(), NotFound> {
        if !self.data_producers.contains_key(&id) {
            return Err(NotFound::DataProducer(id));
        }
        self.close_data_producer_inner(id, CloseReason::Request);
        Ok(())
    }

    pub(super) fn close_data_producer_inner(&mut self, id: DataProducerId, reason: CloseReason) {
        let Some(data_producer) = self.data_producers.remove(&id) else {
            return;
        };
        if let Some(transport) = self.transports.get_mut(&data_producer.transport) {
            transport.data_producers.remove(&id);
            if let Some(params) = &data_producer.options.sctp_stream_parameters {
                transport.sctp_in_streams.remove(&params.stream_id);
                if let Some(link) = &mut transport.sctp {
                    link.remove_channel(self.last_now, params.stream_id);
                }
            }
        }
        for consumer in data_producer.consumers {
            self.close_data_consumer_inner(consumer, CloseReason::DataProducerClosed);
        }
        self.events.push_back(RouterEvent::DataProducerClosed {
            broadcaster_id: data_producer.owner,
            data_producer_id: id,
            transport_id: data_producer.transport,
            reason,
        });
    }

    /// Creates a data consumer of a data producer on a transport with SCTP (the transport allocates its
    /// stream id: the lowest free in both directions, so one channel id never means two things to a
    /// browser), or on a direct transport.
    pub fn consume_data(
        &mut self,
        transport_id: TransportId,
        id: DataConsumerId,
        options: DataConsumerOptions,
    ) -> Result<DataConsumerInfo, ConsumeDataError> {
        let data_producer = self
            .data_producers
            .get(&options.data_producer_id)
            .ok_or(NotFound::DataProducer(options.data_producer_id))?;
        let transport = self
            .transports
            .get_mut(&transport_id)
            .ok_or(NotFound::Transport(transport_id))?;
        let (r#type, sctp_stream_parameters) = if transport.is_direct() {
            (DataType::Direct, None)
        } else {
            let sctp = transport
                .sctp_parameters()
                .ok_or(ConsumeDataError::SctpNotEnabled(transport_id))?;
            let overridden = options.ordered.is_some()
                || options.max_packet_life_time.is_some()
                || options.max_retransmits.is_some();
            // A direct data producer has no stream: its consumers get an ordered, reliable one.
            let inherited = data_producer
                .options
                .sctp_stream_parameters
                .unwrap_or_default();
            let mut params = if overridden {
                SctpStreamParameters {
                    stream_id: 0,
                    ordered: options.ordered,
                    max_packet_life_time: options.max_packet_life_time,
                    max_retransmits: options.max_retransmits,
                }
            } else {
                inherited
            };
            params.stream_id = (0..sctp.os)
                .find(|s| {
                    !transport.sctp_out_streams.contains(s)
                        && !transport.sctp_in_streams.contains_key(s)
                })
                .ok_or(ConsumeDataError::NoStreamAvailable(transport_id))?;
            ortc::validate_sctp_stream_parameters(&mut params)?;
            transport.sctp_out_streams.insert(params.stream_id);
            if let Some(link) = &mut transport.sctp {
                link.add_channel(&params);
            }
            (DataType::Sctp, Some(params))
        };
        transport.data_consumers.insert(id);
        let data_consumer = DataConsumer {
            id,
            owner: transport.owner.clone(),
            transport: transport_id,
            data_producer: options.data_producer_id,
            r#type,
            sctp_stream_parameters,
            counters: DataConsumerCounters::default(),
            label: data_producer.options.label.clone(),
            protocol: data_producer.options.protocol.clone(),
            paused: options.paused,
            data_producer_paused: data_producer.options.paused,
        };
        let info = data_consumer.info();
        if let Some(p) = self.data_producers.get_mut(&options.data_producer_id) {
            p.consumers.insert(id);
        }
        self.data_consumers.insert(id, data_consumer);
        Ok(info)
    }

    /// Pauses or resumes a data consumer (by its owner: no event).
    pub fn set_data_consumer_paused(
        &mut self,
        id: DataConsumerId,
        paused: bool,
    ) -> Result<DataConsumerInfo, NotFound> {
        let consumer = self
            .data_consumers
            .get_mut(&id)
            .ok_or(NotFound::DataConsumer(id))?;
        consumer.paused = paused;
        Ok(consumer.info())
    }

    /// A data consumer's counters.
    pub fn data_consumer_stats(
        &mut self,
        id: DataConsumerId,
    ) -> Result<DataConsumerStats, NotFound> {
        let buffered_amount = self.data_consumer_buffered_amount(id) as u64;
        let consumer = self
            .data_consumers
            .get(&id)
            .ok_or(NotFound::DataConsumer(id))?;
        Ok(DataConsumerStats {
            r#type: "data-consumer".to_owned(),
            label: consumer.label.clone(),
            protocol: consumer.protocol.clone(),
            messages_sent: consumer.counters.messages_sent,
            bytes_sent: consumer.counters.bytes_sent,
            buffered_amount,
            messages_dropped: consumer.counters.messages_dropped,
        })
    }

    /// A data consumer as the API shows it.
    pub fn data_consumer(&self, id: DataConsumerId) -> Result<DataConsumerInfo, NotFound> {
        self.data_consumers
            .get(&id)
            .map(DataConsumer::info)
            .ok_or(NotFound::DataConsumer(id))
    }

    /// Closes a data consumer.
    pub fn close_data_consumer(&mut self, id: DataConsumerId) -> Result<(), NotFound> {
        if !self.data_consumers.contains_key(&id) {
            return Err(NotFound::DataConsumer(id));
        }
        self.close_data_consumer_inner(id, CloseReason::Request);
        Ok(())
    }

    pub(super) fn close_data_consumer_inner(&mut self, id: DataConsumerId, reason: CloseReason) {
        let Some(data_consumer) = self.data_consumers.remove(&id) else {
            return;
        };
        if let Some(transport) = self.transports.get_mut(&data_consumer.transport) {
            transport.data_consumers.remove(&id);
            if let Some(params) = &data_consumer.sctp_stream_parameters {
                transport.sctp_out_streams.remove(&params.stream_id);
                if let Some(link) = &mut transport.sctp {
                    link.remove_channel(self.last_now, params.stream_id);
                }
            }
        }
        if let Some(p) = self.data_producers.get_mut(&data_consumer.data_producer) {
            p.consumers.remove(&id);
        }
        self.events.push_back(RouterEvent::DataConsumerClosed {
            broadcaster_id: data_consumer.owner,
            data_consumer_id: id,
            data_producer_id: data_consumer.data_producer,
            transport_id: data_consumer.transport,
            reason,
        });
    }
}
