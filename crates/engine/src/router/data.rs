//! Data producers and data consumers: SCTP streams carrying messages into and out of the room.

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
