//! Data producers and data consumers: SCTP streams carrying messages into and out of the room.

use super::{CloseReason, ConsumeDataError, NotFound, ProduceDataError, Router, RouterEvent};
use crate::ortc;
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
}

/// Creation input of a data producer (`POST /transports/{id}/data-producers`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataProducerOptions {
    /// The SCTP stream the endpoint sends on.
    pub sctp_stream_parameters: SctpStreamParameters,
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
    /// Its SCTP stream.
    pub sctp_stream_parameters: SctpStreamParameters,
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
    /// Its SCTP stream (id allocated by the transport).
    pub sctp_stream_parameters: SctpStreamParameters,
    /// Channel label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// Paused by its owner.
    pub paused: bool,
    /// Its data producer is paused.
    pub data_producer_paused: bool,
}

#[derive(Debug)]
pub(crate) struct DataProducer {
    pub(crate) id: DataProducerId,
    pub(crate) owner: BroadcasterId,
    pub(crate) transport: TransportId,
    pub(crate) options: DataProducerOptions,
    pub(crate) consumers: std::collections::BTreeSet<DataConsumerId>,
}

impl DataProducer {
    pub(crate) fn info(&self) -> DataProducerInfo {
        DataProducerInfo {
            id: self.id,
            broadcaster_id: self.owner.clone(),
            transport_id: self.transport,
            r#type: DataType::Sctp,
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
    pub(crate) sctp_stream_parameters: SctpStreamParameters,
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
            r#type: DataType::Sctp,
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
    /// Creates a data producer on a transport with SCTP.
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
        let sctp = transport
            .sctp_parameters()
            .ok_or(ProduceDataError::SctpNotEnabled(transport_id))?;
        ortc::validate_sctp_stream_parameters(&mut options.sctp_stream_parameters)
            .map_err(|e| e.prefixed("sctpStreamParameters"))?;
        let stream_id = options.sctp_stream_parameters.stream_id;
        if stream_id >= sctp.mis {
            return Err(ProduceDataError::StreamIdOutOfRange {
                stream_id,
                mis: sctp.mis,
            });
        }
        if !transport.sctp_in_streams.insert(stream_id) {
            return Err(ProduceDataError::DuplicateStreamId(stream_id));
        }
        transport.data_producers.insert(id);
        let data_producer = DataProducer {
            id,
            owner: transport.owner.clone(),
            transport: transport_id,
            options,
            consumers: Default::default(),
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
            transport
                .sctp_in_streams
                .remove(&data_producer.options.sctp_stream_parameters.stream_id);
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

    /// Creates a data consumer of a data producer on a transport with SCTP.
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
        let sctp = transport
            .sctp_parameters()
            .ok_or(ConsumeDataError::SctpNotEnabled(transport_id))?;
        let inherited = data_producer.options.sctp_stream_parameters;
        let overridden = options.ordered.is_some()
            || options.max_packet_life_time.is_some()
            || options.max_retransmits.is_some();
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
            .find(|s| !transport.sctp_out_streams.contains(s))
            .ok_or(ConsumeDataError::NoStreamAvailable(transport_id))?;
        ortc::validate_sctp_stream_parameters(&mut params)?;
        transport.sctp_out_streams.insert(params.stream_id);
        transport.data_consumers.insert(id);
        let data_consumer = DataConsumer {
            id,
            owner: transport.owner.clone(),
            transport: transport_id,
            data_producer: options.data_producer_id,
            sctp_stream_parameters: params,
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
            transport
                .sctp_out_streams
                .remove(&data_consumer.sctp_stream_parameters.stream_id);
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
