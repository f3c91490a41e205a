//! Transports, addressed flat by id, and the objects created on them: `/transports/{transportId}[/…]`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use mediagate_engine::ids::TransportId;
use mediagate_engine::router::{
    ConnectParameters, ConsumerInfo, ConsumerOptions, DataConsumerInfo, DataConsumerOptions,
    DataProducerInfo, DataProducerOptions, NegotiatedProducer, ProducerInfo, ProducerOptions,
    TransportInfo, TransportStats,
};
use mediagate_engine::transport_parameters::IceParameters;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path};

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/transports/{transportId}",
            get(get_transport).delete(delete_transport),
        )
        .route("/transports/{transportId}/connect", post(connect))
        .route("/transports/{transportId}/restart-ice", post(restart_ice))
        .route(
            "/transports/{transportId}/sdp",
            get(sdp_offer).post(sdp_description),
        )
        .route("/transports/{transportId}/stats", get(stats))
        .route("/transports/{transportId}/producers", post(produce))
        .route("/transports/{transportId}/consumers", post(consume))
        .route(
            "/transports/{transportId}/data-producers",
            post(produce_data),
        )
        .route(
            "/transports/{transportId}/data-consumers",
            post(consume_data),
        )
}

/// A transport.
#[utoipa::path(get, path = "/transports/{transportId}", tag = "transports",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    responses((status = 200, description = "The transport", body = TransportInfo)))]
async fn get_transport(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
) -> Result<axum::Json<TransportInfo>, ApiError> {
    Ok(axum::Json(control.transport(id).await?))
}

/// Closes a transport and everything on it; consumers' owners learn `consumer.closed`.
#[utoipa::path(delete, path = "/transports/{transportId}", tag = "transports",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    responses((status = 204, description = "Transport closed")))]
async fn delete_transport(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
) -> Result<StatusCode, ApiError> {
    control.close_transport(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Connects a transport to its remote side, once: `{dtlsParameters}` for WebRTC, `{ip, port, rtcpPort?,
/// srtpParameters?}` for plain (only `srtpParameters` with comedia).
#[utoipa::path(post, path = "/transports/{transportId}/connect", tag = "transports",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    request_body = ConnectParameters,
    responses((status = 200, description = "Connected", body = TransportInfo)))]
async fn connect(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
    Json(params): Json<ConnectParameters>,
) -> Result<axum::Json<TransportInfo>, ApiError> {
    Ok(axum::Json(control.connect_transport(id, params).await?))
}

/// New local ICE credentials for a WebRTC transport.
#[utoipa::path(post, path = "/transports/{transportId}/restart-ice", tag = "transports",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    responses((status = 200, description = "The new ICE parameters", body = IceParameters)))]
async fn restart_ice(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
) -> Result<axum::Json<IceParameters>, ApiError> {
    Ok(axum::Json(control.restart_ice(id).await?))
}

/// The type of a session description.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    /// An offer.
    Offer,
    /// An answer.
    Answer,
}

/// A session description, as `RTCSessionDescription` shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SessionDescriptionBody {
    /// `offer` or `answer`.
    #[serde(rename = "type")]
    pub r#type: SdpType,
    /// The SDP text.
    pub sdp: String,
}

/// The answer to a publish offer, with the producers of its sections.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct PublishAnswerBody {
    /// Always `answer`.
    #[serde(rename = "type")]
    pub r#type: SdpType,
    /// The SDP text.
    pub sdp: String,
    /// One producer per section taken, in offer order.
    pub producers: Vec<NegotiatedProducer>,
}

/// The server's offer of every consumer of a WebRTC transport (for browsers without an SDK). Each consumer is
/// a `sendonly` section whose mid is the consumer's `rtpParameters.mid`; a closed consumer's section stays,
/// rejected; the msid stream id is the producing broadcaster's id. Answer it with `POST` of the same path.
#[utoipa::path(get, path = "/transports/{transportId}/sdp", tag = "transports",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    responses((status = 200, description = "The server's offer", body = SessionDescriptionBody)))]
async fn sdp_offer(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
) -> Result<axum::Json<SessionDescriptionBody>, ApiError> {
    let sdp = control.transport_sdp_offer(id).await?;
    Ok(axum::Json(SessionDescriptionBody {
        r#type: SdpType::Offer,
        sdp,
    }))
}

/// Applies a browser's session description to a WebRTC transport. An `offer` publishes: its send sections
/// become producers (a later offer renegotiates: new sections add producers, stopped ones close theirs) and
/// the response is the answer. An `answer` answers the last `GET` offer (204). The first description of
/// either kind also connects DTLS with its fingerprints: no separate `connect`.
#[utoipa::path(post, path = "/transports/{transportId}/sdp", tag = "transports",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    request_body = SessionDescriptionBody,
    responses(
        (status = 200, description = "The answer to a publish offer", body = PublishAnswerBody),
        (status = 204, description = "The answer was applied")))]
async fn sdp_description(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
    Json(body): Json<SessionDescriptionBody>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match body.r#type {
        SdpType::Offer => {
            let outcome = control.transport_sdp_publish(id, body.sdp).await?;
            Ok(axum::Json(PublishAnswerBody {
                r#type: SdpType::Answer,
                sdp: outcome.answer,
                producers: outcome.producers,
            })
            .into_response())
        }
        SdpType::Answer => {
            control.transport_sdp_answer(id, body.sdp).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// A transport's counters.
#[utoipa::path(get, path = "/transports/{transportId}/stats", tag = "transports",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    responses((status = 200, description = "Counters", body = [TransportStats])))]
async fn stats(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
) -> Result<axum::Json<Vec<TransportStats>>, ApiError> {
    Ok(axum::Json(vec![control.transport_stats(id).await?]))
}

/// Creates a producer: media the endpoint sends into the room.
#[utoipa::path(post, path = "/transports/{transportId}/producers", tag = "producers",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    request_body = ProducerOptions,
    responses((status = 201, description = "Producer created", body = ProducerInfo)))]
async fn produce(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
    Json(options): Json<ProducerOptions>,
) -> Result<(StatusCode, axum::Json<ProducerInfo>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(control.produce(id, options).await?),
    ))
}

/// Creates a consumer of a producer, paused unless `paused: false`: resume it once the endpoint is ready.
#[utoipa::path(post, path = "/transports/{transportId}/consumers", tag = "consumers",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    request_body = ConsumerOptions,
    responses((status = 201, description = "Consumer created", body = ConsumerInfo)))]
async fn consume(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
    Json(options): Json<ConsumerOptions>,
) -> Result<(StatusCode, axum::Json<ConsumerInfo>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(control.consume(id, options).await?),
    ))
}

/// Creates a data producer on a transport with SCTP.
#[utoipa::path(post, path = "/transports/{transportId}/data-producers", tag = "data",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    request_body = DataProducerOptions,
    responses((status = 201, description = "Data producer created", body = DataProducerInfo)))]
async fn produce_data(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
    Json(options): Json<DataProducerOptions>,
) -> Result<(StatusCode, axum::Json<DataProducerInfo>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(control.produce_data(id, options).await?),
    ))
}

/// Creates a data consumer of a data producer on a transport with SCTP; the stream id is allocated.
#[utoipa::path(post, path = "/transports/{transportId}/data-consumers", tag = "data",
    params(("transportId" = TransportId, Path, description = "Transport id")),
    request_body = DataConsumerOptions,
    responses((status = 201, description = "Data consumer created", body = DataConsumerInfo)))]
async fn consume_data(
    State(control): State<AppState>,
    Path(id): Path<TransportId>,
    Json(options): Json<DataConsumerOptions>,
) -> Result<(StatusCode, axum::Json<DataConsumerInfo>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(control.consume_data(id, options).await?),
    ))
}
