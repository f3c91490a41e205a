//! Errors as RFC 9457 `application/problem+json`: every failure of every handler, rejections included,
//! becomes one [`ApiError`], mapped here once.
//!
//! 400 malformed request (syntax, JSON shape, path segments); 404 unknown id; 409 wrong state or duplicate;
//! 422 semantically invalid parameters (ORTC rules); 503 no ports, the worker's transport limit reached, or
//! worker gone (with `Retry-After`, RFC 9110 §10.2.3; RFC 9725 §4.6 for WHIP); 500 with details logged and
//! never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mediagate_engine::ortc::OrtcError;
use mediagate_engine::router::{
    ConnectError, ConsumeDataError, ConsumeError, ConsumerSdpError, NegotiationError,
    ProduceDataError, ProduceError, RestartIceError, SendDataError,
};
use mediagate_engine::sdp::SdpError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::control::{
    AccessError, ConnectTransportError, ConsumerSdpAccessError, CreateConsumerError,
    CreateDataConsumerError, CreateDataProducerError, CreateProducerError, CreateRoomError,
    CreateTransportError, JoinError, NegotiateTransportError, RestartIceTransportError,
    SendDataMessageError, WhepPlayError, WhipEndError, WhipPatchError, WhipPublishError,
};

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Problem type URI (`about:blank`: the status explains it).
    #[serde(rename = "type")]
    pub r#type: String,
    /// Short summary of the status.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong, naming the offending field or id.
    pub detail: String,
    /// Path of the offending request field, when one is to blame (e.g. `rtpParameters.codecs[0].mimeType`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A failed request, ready to become a problem+json response.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    field: Option<String>,
    retry_after: Option<u32>,
}

impl ApiError {
    /// An error with a status and a detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(field: Option<&str>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail).with_field(field)
    }

    /// 404: nothing is at this path.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 422 naming a field.
    pub fn unprocessable(field: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail).with_field(Some(field))
    }

    /// 500: the detail is logged, not sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to handle the request; see its log",
        )
    }

    fn with_field(mut self, field: Option<&str>) -> Self {
        self.field = field.filter(|f| !f.is_empty()).map(str::to_owned);
        self
    }

    fn unavailable(detail: impl Into<String>) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            r#type: "about:blank".to_owned(),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            field: self.field,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<OrtcError> for ApiError {
    fn from(e: OrtcError) -> Self {
        Self::unprocessable(e.field(), e.to_string())
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::RoomNotFound(_) | AccessError::NotFound(_) => {
                Self::not_found(e.to_string())
            }
            AccessError::WorkerGone(_) => Self::unavailable(e.to_string()),
        }
    }
}

impl From<CreateRoomError> for ApiError {
    fn from(e: CreateRoomError) -> Self {
        match e {
            CreateRoomError::Rejected(e) => e.into(),
            CreateRoomError::Conflict(_) => {
                Self::new(StatusCode::CONFLICT, e.to_string()).with_field(Some("mediaCodecs"))
            }
            CreateRoomError::Access(e) => e.into(),
        }
    }
}

impl From<JoinError> for ApiError {
    fn from(e: JoinError) -> Self {
        match e {
            JoinError::Access(e) => e.into(),
            JoinError::Rejected(e) => e.into(),
            JoinError::AlreadyJoined(_) => {
                Self::new(StatusCode::CONFLICT, e.to_string()).with_field(Some("id"))
            }
        }
    }
}

impl From<CreateTransportError> for ApiError {
    fn from(e: CreateTransportError) -> Self {
        match e {
            CreateTransportError::Access(e) => e.into(),
            CreateTransportError::Invalid { field, .. } => {
                Self::unprocessable(field, e.to_string())
            }
            CreateTransportError::NoPorts | CreateTransportError::WorkerFull { .. } => {
                Self::unavailable(e.to_string())
            }
            CreateTransportError::Bind(_) => Self::internal(e),
        }
    }
}

impl From<ConnectTransportError> for ApiError {
    fn from(e: ConnectTransportError) -> Self {
        match e {
            ConnectTransportError::Access(e) => e.into(),
            ConnectTransportError::Refused(e) => match e {
                ConnectError::NotFound(_) => Self::not_found(e.to_string()),
                ConnectError::AlreadyConnected(_) => Self::new(StatusCode::CONFLICT, e.to_string()),
                ConnectError::Invalid { field, .. } => Self::unprocessable(field, e.to_string()),
            },
        }
    }
}

impl From<RestartIceTransportError> for ApiError {
    fn from(e: RestartIceTransportError) -> Self {
        match e {
            RestartIceTransportError::Access(e) => e.into(),
            RestartIceTransportError::Refused(e) => match e {
                RestartIceError::NotFound(_) => Self::not_found(e.to_string()),
                RestartIceError::NotWebRtc(_) | RestartIceError::IceClosed(_) => {
                    Self::new(StatusCode::CONFLICT, e.to_string())
                }
            },
        }
    }
}

impl From<CreateProducerError> for ApiError {
    fn from(e: CreateProducerError) -> Self {
        match e {
            CreateProducerError::Access(e) => e.into(),
            CreateProducerError::Refused(e) => match e {
                ProduceError::NotFound(_) => Self::not_found(e.to_string()),
                ProduceError::Rejected(e) => e.into(),
                ProduceError::DuplicateMid(_) => Self::new(StatusCode::CONFLICT, e.to_string())
                    .with_field(Some("rtpParameters.mid")),
                ProduceError::DuplicateSsrc(_) => Self::new(StatusCode::CONFLICT, e.to_string())
                    .with_field(Some("rtpParameters.encodings")),
            },
        }
    }
}

impl From<NegotiateTransportError> for ApiError {
    fn from(e: NegotiateTransportError) -> Self {
        match e {
            NegotiateTransportError::Access(e) => e.into(),
            NegotiateTransportError::Refused(e) => match &e {
                NegotiationError::NotFound(_) => Self::not_found(e.to_string()),
                NegotiationError::NotWebRtc(_) | NegotiationError::NoOffer(_) => {
                    Self::new(StatusCode::CONFLICT, e.to_string())
                }
                NegotiationError::Sdp(SdpError::Malformed { .. } | SdpError::MissingLine(_)) => {
                    Self::bad_request(Some("sdp"), e.to_string())
                }
                NegotiationError::Sdp(_)
                | NegotiationError::Produce { .. }
                | NegotiationError::Consume { .. }
                | NegotiationError::NothingToPlay
                | NegotiationError::TooManySections => Self::unprocessable("sdp", e.to_string()),
            },
        }
    }
}

impl From<CreateConsumerError> for ApiError {
    fn from(e: CreateConsumerError) -> Self {
        match e {
            CreateConsumerError::Access(e) => e.into(),
            CreateConsumerError::Refused(e) => match e {
                ConsumeError::NotFound(_) => Self::not_found(e.to_string()),
                ConsumeError::NoRtpCapabilities(_) => {
                    Self::unprocessable("rtpCapabilities", e.to_string())
                }
                ConsumeError::Rejected(e) => e.into(),
                ConsumeError::DuplicateMid(_) => {
                    Self::new(StatusCode::CONFLICT, e.to_string()).with_field(Some("mid"))
                }
            },
        }
    }
}

impl From<CreateDataProducerError> for ApiError {
    fn from(e: CreateDataProducerError) -> Self {
        match e {
            CreateDataProducerError::Access(e) => e.into(),
            CreateDataProducerError::Refused(e) => match e {
                ProduceDataError::NotFound(_) => Self::not_found(e.to_string()),
                ProduceDataError::SctpNotEnabled(_) => {
                    Self::new(StatusCode::CONFLICT, e.to_string())
                }
                ProduceDataError::Rejected(e) => e.into(),
                ProduceDataError::DuplicateStreamId(_) => {
                    Self::new(StatusCode::CONFLICT, e.to_string())
                        .with_field(Some("sctpStreamParameters.streamId"))
                }
                ProduceDataError::StreamIdOutOfRange { .. } => {
                    Self::unprocessable("sctpStreamParameters.streamId", e.to_string())
                }
                ProduceDataError::StreamParametersRequired
                | ProduceDataError::StreamParametersOnDirect => {
                    Self::unprocessable("sctpStreamParameters", e.to_string())
                }
            },
        }
    }
}

impl From<CreateDataConsumerError> for ApiError {
    fn from(e: CreateDataConsumerError) -> Self {
        match e {
            CreateDataConsumerError::Access(e) => e.into(),
            CreateDataConsumerError::Refused(e) => match e {
                ConsumeDataError::NotFound(_) => Self::not_found(e.to_string()),
                ConsumeDataError::SctpNotEnabled(_) => {
                    Self::new(StatusCode::CONFLICT, e.to_string())
                }
                ConsumeDataError::Rejected(e) => e.into(),
                ConsumeDataError::NoStreamAvailable(_) => Self::unavailable(e.to_string()),
            },
        }
    }
}

impl From<SendDataMessageError> for ApiError {
    fn from(e: SendDataMessageError) -> Self {
        match e {
            SendDataMessageError::Access(e) => e.into(),
            SendDataMessageError::Refused(e) => match e {
                SendDataError::NotFound(_) => Self::not_found(e.to_string()),
                SendDataError::NotDirect(_) => Self::new(StatusCode::CONFLICT, e.to_string()),
                SendDataError::TooLarge { .. } => {
                    Self::new(StatusCode::PAYLOAD_TOO_LARGE, format!("body: {e}"))
                        .with_field(Some("body"))
                }
                SendDataError::InvalidPpid(_) => {
                    Self::bad_request(Some("ppid"), format!("ppid: {e}"))
                }
            },
        }
    }
}

impl From<ConsumerSdpAccessError> for ApiError {
    fn from(e: ConsumerSdpAccessError) -> Self {
        match e {
            ConsumerSdpAccessError::Access(e) => e.into(),
            ConsumerSdpAccessError::Refused(e) => match e {
                ConsumerSdpError::NotFound(_) => Self::not_found(e.to_string()),
                ConsumerSdpError::NotPlain(_) | ConsumerSdpError::NotConnected(_) => {
                    Self::new(StatusCode::CONFLICT, e.to_string())
                }
            },
        }
    }
}

impl From<WhipPublishError> for ApiError {
    fn from(e: WhipPublishError) -> Self {
        match e {
            WhipPublishError::Access(e) => e.into(),
            WhipPublishError::Join(e) => e.into(),
            WhipPublishError::Transport(e) => e.into(),
            WhipPublishError::Negotiate(e) => e.into(),
        }
    }
}

impl From<WhepPlayError> for ApiError {
    fn from(e: WhepPlayError) -> Self {
        match e {
            // draft-ietf-wish-whep §4.1: not live yet is a 409 the client may retry.
            WhepPlayError::NotLive { .. } => Self {
                retry_after: Some(WHEP_RETRY_AFTER_SECONDS),
                ..Self::new(StatusCode::CONFLICT, e.to_string())
            },
            WhepPlayError::UnknownProducer(_) => {
                Self::new(StatusCode::NOT_FOUND, e.to_string()).with_field(Some("producerId"))
            }
            WhepPlayError::Access(e) => e.into(),
            WhepPlayError::Join(e) => e.into(),
            WhepPlayError::Transport(e) => e.into(),
            WhepPlayError::Negotiate(e) => e.into(),
        }
    }
}

/// The `Retry-After` of a WHEP offer that found nothing live.
pub const WHEP_RETRY_AFTER_SECONDS: u32 = 2;

impl From<WhipPatchError> for ApiError {
    fn from(e: WhipPatchError) -> Self {
        match e {
            WhipPatchError::NotFound(_) => Self::not_found(e.to_string()),
            WhipPatchError::PreconditionRequired => {
                Self::new(StatusCode::PRECONDITION_REQUIRED, e.to_string())
            }
            WhipPatchError::PreconditionFailed { .. } => {
                Self::new(StatusCode::PRECONDITION_FAILED, e.to_string())
            }
            WhipPatchError::Malformed { .. } => Self::bad_request(Some("sdpfrag"), e.to_string()),
            WhipPatchError::RestartIce(e) => e.into(),
            WhipPatchError::Access(e) => e.into(),
        }
    }
}

impl From<WhipEndError> for ApiError {
    fn from(e: WhipEndError) -> Self {
        match e {
            WhipEndError::NotFound(_) => Self::not_found(e.to_string()),
            WhipEndError::Access(e) => e.into(),
        }
    }
}
