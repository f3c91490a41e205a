//! Errors of the control façade: one enum per operation, each variant carrying the ids and values involved.

use mediagate_engine::ids::{BroadcasterId, RoomId};
use mediagate_engine::ortc::OrtcError;
use mediagate_engine::router::{
    ConnectError, ConsumeDataError, ConsumeError, ConsumerSdpError, JoinError as RouterJoinError,
    NegotiationError, NotFound, ProduceDataError, ProduceError, RestartIceError, SendDataError,
};

use crate::runtime::WorkerGone;

/// Reaching an object failed: it does not exist, or its worker is gone.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AccessError {
    /// No such room.
    #[error("room {0} not found")]
    RoomNotFound(RoomId),
    /// No such object in the room.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The worker that owns the room is gone.
    #[error(transparent)]
    WorkerGone(#[from] WorkerGone),
}

/// Why a room could not be created.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CreateRoomError {
    /// The media codecs are invalid or unsupported (field paths start at `mediaCodecs`).
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// The room exists with other media codecs.
    #[error("room {0} already exists with other mediaCodecs")]
    Conflict(RoomId),
    /// Rooms are not created implicitly and this one does not exist.
    #[error(transparent)]
    Access(#[from] AccessError),
}

/// Why a broadcaster could not join.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JoinError {
    /// No such room, or its worker is gone.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// Invalid capabilities (field paths start at `rtpCapabilities` or `sctpCapabilities`).
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// A broadcaster with this id is already in the room.
    #[error("id: broadcaster {0} already exists in this room")]
    AlreadyJoined(BroadcasterId),
}

impl From<RouterJoinError> for JoinError {
    fn from(e: RouterJoinError) -> Self {
        match e {
            RouterJoinError::AlreadyJoined(id) => JoinError::AlreadyJoined(id),
        }
    }
}

/// Why a transport could not be created.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CreateTransportError {
    /// No such room or broadcaster, or the worker is gone.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The options ask for something that cannot be served.
    #[error("{field}: {message}")]
    Invalid {
        /// Offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Every port of the RTC range is in use.
    #[error("no free port in the RTC port range")]
    NoPorts,
    /// The worker that owns the room already holds its limit of open transports; one closing frees a slot.
    #[error(
        "worker {worker} is full: it holds its limit of {limit} open transports \
         (max_transports_per_worker); retry when one closes"
    )]
    WorkerFull {
        /// The worker's index.
        worker: usize,
        /// Its limit (`max_transports_per_worker`).
        limit: usize,
    },
    /// The RTC address could not be bound.
    #[error("cannot bind a socket on the RTC address: {0}")]
    Bind(String),
}

macro_rules! engine_operation_error {
    ($(#[$doc:meta])* $name:ident wraps $engine:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, thiserror::Error)]
        pub enum $name {
            /// No such room or object, or the worker is gone.
            #[error(transparent)]
            Access(#[from] AccessError),
            /// The room refused the operation.
            #[error(transparent)]
            Refused(#[from] $engine),
        }
    };
}

engine_operation_error!(
    /// Why a transport could not be connected.
    ConnectTransportError wraps ConnectError
);
engine_operation_error!(
    /// Why ICE could not be restarted.
    RestartIceTransportError wraps RestartIceError
);
engine_operation_error!(
    /// Why an SDP could not be applied to a transport.
    NegotiateTransportError wraps NegotiationError
);
engine_operation_error!(
    /// Why a producer could not be created.
    CreateProducerError wraps ProduceError
);
engine_operation_error!(
    /// Why a consumer could not be created.
    CreateConsumerError wraps ConsumeError
);
engine_operation_error!(
    /// Why a data producer could not be created.
    CreateDataProducerError wraps ProduceDataError
);
engine_operation_error!(
    /// Why a data consumer could not be created.
    CreateDataConsumerError wraps ConsumeDataError
);
engine_operation_error!(
    /// Why a consumer's receiver SDP cannot be made.
    ConsumerSdpAccessError wraps ConsumerSdpError
);
engine_operation_error!(
    /// Why a message could not be sent through a data producer.
    SendDataMessageError wraps SendDataError
);
