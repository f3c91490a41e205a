//! Why a router operation failed: one enum per operation, each variant carrying the ids involved.

use crate::ids::{
    BroadcasterId, ConsumerId, DataConsumerId, DataProducerId, ProducerId, TransportId,
};
use crate::ortc::OrtcError;

/// An object that does not exist (or no longer exists) in this room.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotFound {
    /// No such broadcaster.
    #[error("broadcaster {0} not found")]
    Broadcaster(BroadcasterId),
    /// No such transport.
    #[error("transport {0} not found")]
    Transport(TransportId),
    /// No such producer.
    #[error("producer {0} not found")]
    Producer(ProducerId),
    /// No such consumer.
    #[error("consumer {0} not found")]
    Consumer(ConsumerId),
    /// No such data producer.
    #[error("data producer {0} not found")]
    DataProducer(DataProducerId),
    /// No such data consumer.
    #[error("data consumer {0} not found")]
    DataConsumer(DataConsumerId),
}

/// Why a broadcaster could not join.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// A broadcaster with this id is already in the room.
    #[error("broadcaster {0} already exists in this room")]
    AlreadyJoined(BroadcasterId),
}

/// Why a transport could not be connected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// Unknown transport.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The transport was connected before.
    #[error("transport {0} is already connected")]
    AlreadyConnected(TransportId),
    /// The parameters do not fit this transport.
    #[error("{field}: {message}")]
    Invalid {
        /// Offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// Why ICE could not be restarted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestartIceError {
    /// Unknown transport.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// Only WebRTC transports have ICE.
    #[error("transport {0} is not a webrtc transport")]
    NotWebRtc(TransportId),
    /// ICE already closed (consent expired): the transport is closing.
    #[error("ice of transport {0} is closed")]
    IceClosed(TransportId),
}

/// Why a producer could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProduceError {
    /// Unknown transport.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The RTP parameters are invalid or cannot be routed (field paths start at `rtpParameters`).
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// Another producer on the transport uses this MID.
    #[error("rtpParameters.mid: mid {0:?} is already used by another producer on this transport")]
    DuplicateMid(String),
    /// Another producer on the transport uses this SSRC.
    #[error(
        "rtpParameters.encodings: ssrc {0} is already used by another producer on this transport"
    )]
    DuplicateSsrc(u32),
}

/// Why a consumer could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsumeError {
    /// Unknown transport or producer.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// Neither the request nor the broadcaster carries RTP capabilities.
    #[error("rtpCapabilities: required, since broadcaster {0} joined without rtpCapabilities")]
    NoRtpCapabilities(BroadcasterId),
    /// The capabilities are invalid or cannot receive the producer (field paths start at `rtpCapabilities`).
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// The requested MID is in use on the transport.
    #[error("mid: mid {0:?} is already used on this transport")]
    DuplicateMid(String),
}

/// Why a consumer's receiver SDP cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsumerSdpError {
    /// Unknown consumer.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// Only plain transports have a receiver SDP.
    #[error("consumer {0} is on a webrtc transport: its SDP comes from the WebRTC negotiation")]
    NotPlain(ConsumerId),
    /// The receiver's address is not known yet.
    #[error(
        "the transport of consumer {0} is not connected: connect it to the receiver's ip and port first"
    )]
    NotConnected(ConsumerId),
}

/// Why a data producer could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProduceDataError {
    /// Unknown transport.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The transport has no SCTP association.
    #[error("transport {0} has no SCTP (create it with enableSctp)")]
    SctpNotEnabled(TransportId),
    /// The stream parameters are invalid (field paths start at `sctpStreamParameters`).
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// Another data producer on the transport uses this stream.
    #[error("sctpStreamParameters.streamId: stream {0} is already used on this transport")]
    DuplicateStreamId(u16),
    /// The stream id is beyond the transport's incoming streams.
    #[error(
        "sctpStreamParameters.streamId: stream {stream_id} is beyond the transport's {mis} incoming streams"
    )]
    StreamIdOutOfRange {
        /// Requested stream.
        stream_id: u16,
        /// Incoming streams of the association.
        mis: u16,
    },
    /// An SCTP transport needs the stream the endpoint sends on.
    #[error("sctpStreamParameters: required on a transport with SCTP")]
    StreamParametersRequired,
    /// A direct transport has no SCTP streams.
    #[error("sctpStreamParameters: not allowed on a direct transport (it has no SCTP)")]
    StreamParametersOnDirect,
}

/// Why a message could not be sent into the room through a data producer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendDataError {
    /// Unknown data producer.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// Only data producers of direct transports take messages from the API.
    #[error("data producer {0} is not on a direct transport: its endpoint sends over SCTP")]
    NotDirect(DataProducerId),
    /// The message exceeds the transport's maximum.
    #[error("message of {size} bytes exceeds the transport's maxMessageSize of {max} bytes")]
    TooLarge {
        /// Message size.
        size: usize,
        /// The limit.
        max: u32,
    },
    /// Not a WebRTC data channel PPID.
    #[error("ppid {0} is not a WebRTC string or binary PPID (51, 53, 56, 57)")]
    InvalidPpid(u32),
}

/// Why a data consumer could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsumeDataError {
    /// Unknown transport or data producer.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The transport has no SCTP association.
    #[error("transport {0} has no SCTP (create it with enableSctp)")]
    SctpNotEnabled(TransportId),
    /// The overrides are invalid.
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// Every outgoing stream of the transport is taken.
    #[error("transport {0} has no free SCTP stream left")]
    NoStreamAvailable(TransportId),
}
