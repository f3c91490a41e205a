//! mediasoup-demo's broadcaster routes (the legacy contract its bash scripts and libmediasoupclient
//! broadcaster apps target), mapped onto the same control operations as the flat routes:
//! `/rooms/{roomId}/broadcasters/{broadcasterId}/transports/{transportId}/…`.
//!
//! Differences from the flat routes, as in the demo: creations answer 200, a consumer is created resumed,
//! `consume` takes the producer id from the query, and a data consumer's `streamId` is repeated at top level.

use axum::extract::{Query, State};
use axum::routing::post;
use mediagate_engine::ids::{BroadcasterId, DataProducerId, ProducerId, RoomId, TransportId};
use mediagate_engine::router::{
    ConnectParameters, ConsumerInfo, ConsumerOptions, DataConsumerInfo, DataConsumerOptions,
    DataProducerInfo, DataProducerOptions, ProducerInfo, ProducerOptions, TransportInfo,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path};

pub(super) fn routes() -> axum::Router<AppState> {
    const BASE: &str = "/rooms/{roomId}/broadcasters/{broadcasterId}/transports/{transportId}";
    axum::Router::new()
        .route(&format!("{BASE}/connect"), post(connect))
        .route(&format!("{BASE}/producers"), post(produce))
        .route(&format!("{BASE}/consume"), post(consume))
        .route(&format!("{BASE}/consume/data"), post(consume_data))
        .route(&format!("{BASE}/produce/data"), post(produce_data))
}

type LegacyPath = Path<(RoomId, BroadcasterId, TransportId)>;

/// The transport of the path, if it belongs to that broadcaster of that room.
async fn owned_transport(
    control: &AppState,
    (room, broadcaster, transport): (RoomId, BroadcasterId, TransportId),
) -> Result<TransportId, ApiError> {
    Ok(control
        .broadcaster_transport(&room, &broadcaster, transport)
        .await?)
}

/// Query of the legacy `consume` route.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ConsumeQuery {
    /// Producer to consume.
    #[param(value_type = String, format = Uuid)]
    pub producer_id: ProducerId,
}

/// Body of the legacy `consume/data` route.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyConsumeDataRequest {
    /// Data producer to consume.
    pub data_producer_id: DataProducerId,
}

/// A data consumer with its stream id at top level, as the demo answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyDataConsumerInfo {
    /// The data consumer.
    #[serde(flatten)]
    pub data_consumer: DataConsumerInfo,
    /// Its SCTP stream id (absent on a direct transport).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<u16>,
}

/// Connects a broadcaster's transport (`{dtlsParameters}` for WebRTC).
#[utoipa::path(post, tag = "mediasoup-demo",
    path = "/rooms/{roomId}/broadcasters/{broadcasterId}/transports/{transportId}/connect",
    params(
        ("roomId" = RoomId, Path, description = "Room name"),
        ("broadcasterId" = BroadcasterId, Path, description = "Broadcaster id"),
        ("transportId" = TransportId, Path, description = "Transport id"),
    ),
    request_body = ConnectParameters,
    responses((status = 200, description = "Connected", body = TransportInfo)))]
async fn connect(
    State(control): State<AppState>,
    Path(path): LegacyPath,
    Json(params): Json<ConnectParameters>,
) -> Result<axum::Json<TransportInfo>, ApiError> {
    let transport = owned_transport(&control, path).await?;
    Ok(axum::Json(
        control.connect_transport(transport, params).await?,
    ))
}

/// Creates a producer on a broadcaster's transport.
#[utoipa::path(post, tag = "mediasoup-demo",
    path = "/rooms/{roomId}/broadcasters/{broadcasterId}/transports/{transportId}/producers",
    params(
        ("roomId" = RoomId, Path, description = "Room name"),
        ("broadcasterId" = BroadcasterId, Path, description = "Broadcaster id"),
        ("transportId" = TransportId, Path, description = "Transport id"),
    ),
    request_body = ProducerOptions,
    responses((status = 200, description = "Producer created", body = ProducerInfo)))]
async fn produce(
    State(control): State<AppState>,
    Path(path): LegacyPath,
    Json(options): Json<ProducerOptions>,
) -> Result<axum::Json<ProducerInfo>, ApiError> {
    let transport = owned_transport(&control, path).await?;
    Ok(axum::Json(control.produce(transport, options).await?))
}

/// Creates a resumed consumer of `producerId` with the broadcaster's RTP capabilities.
#[utoipa::path(post, tag = "mediasoup-demo",
    path = "/rooms/{roomId}/broadcasters/{broadcasterId}/transports/{transportId}/consume",
    params(
        ("roomId" = RoomId, Path, description = "Room name"),
        ("broadcasterId" = BroadcasterId, Path, description = "Broadcaster id"),
        ("transportId" = TransportId, Path, description = "Transport id"),
        ConsumeQuery,
    ),
    responses((status = 200, description = "Consumer created", body = ConsumerInfo)))]
async fn consume(
    State(control): State<AppState>,
    Path(path): LegacyPath,
    query: Result<Query<ConsumeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<ConsumerInfo>, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(Some("producerId"), format!("producerId: {}", e.body_text()))
    })?;
    let transport = owned_transport(&control, path).await?;
    let options = ConsumerOptions {
        producer_id: query.producer_id,
        rtp_capabilities: None,
        paused: false,
        mid: None,
        preferred_layers: None,
        enable_rtx: None,
        ignore_dtx: false,
    };
    Ok(axum::Json(control.consume(transport, options).await?))
}

/// Creates a data consumer of `dataProducerId`.
#[utoipa::path(post, tag = "mediasoup-demo",
    path = "/rooms/{roomId}/broadcasters/{broadcasterId}/transports/{transportId}/consume/data",
    params(
        ("roomId" = RoomId, Path, description = "Room name"),
        ("broadcasterId" = BroadcasterId, Path, description = "Broadcaster id"),
        ("transportId" = TransportId, Path, description = "Transport id"),
    ),
    request_body = LegacyConsumeDataRequest,
    responses((status = 200, description = "Data consumer created", body = LegacyDataConsumerInfo)))]
async fn consume_data(
    State(control): State<AppState>,
    Path(path): LegacyPath,
    Json(request): Json<LegacyConsumeDataRequest>,
) -> Result<axum::Json<LegacyDataConsumerInfo>, ApiError> {
    let transport = owned_transport(&control, path).await?;
    let options = DataConsumerOptions {
        data_producer_id: request.data_producer_id,
        ordered: None,
        max_packet_life_time: None,
        max_retransmits: None,
        paused: false,
    };
    let data_consumer = control.consume_data(transport, options).await?;
    Ok(axum::Json(LegacyDataConsumerInfo {
        stream_id: data_consumer.sctp_stream_parameters.map(|p| p.stream_id),
        data_consumer,
    }))
}

/// Creates a data producer on a broadcaster's transport.
#[utoipa::path(post, tag = "mediasoup-demo",
    path = "/rooms/{roomId}/broadcasters/{broadcasterId}/transports/{transportId}/produce/data",
    params(
        ("roomId" = RoomId, Path, description = "Room name"),
        ("broadcasterId" = BroadcasterId, Path, description = "Broadcaster id"),
        ("transportId" = TransportId, Path, description = "Transport id"),
    ),
    request_body = DataProducerOptions,
    responses((status = 200, description = "Data producer created", body = DataProducerInfo)))]
async fn produce_data(
    State(control): State<AppState>,
    Path(path): LegacyPath,
    Json(options): Json<DataProducerOptions>,
) -> Result<axum::Json<DataProducerInfo>, ApiError> {
    let transport = owned_transport(&control, path).await?;
    Ok(axum::Json(control.produce_data(transport, options).await?))
}
