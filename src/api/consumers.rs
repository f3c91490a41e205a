//! Consumers: `/consumers/{consumerId}[/…]`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use mediagate_engine::ids::ConsumerId;
use mediagate_engine::router::{ConsumerInfo, ConsumerLayers, ConsumerStatsReport};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path};

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/consumers/{consumerId}",
            get(get_consumer).delete(delete_consumer),
        )
        .route("/consumers/{consumerId}/pause", post(pause))
        .route("/consumers/{consumerId}/resume", post(resume))
        .route(
            "/consumers/{consumerId}/request-key-frame",
            post(request_key_frame),
        )
        .route(
            "/consumers/{consumerId}/preferred-layers",
            put(preferred_layers),
        )
        .route("/consumers/{consumerId}/priority", put(priority))
        .route("/consumers/{consumerId}/stats", get(stats))
        .route("/consumers/{consumerId}/sdp", get(sdp))
}

/// Body of `PUT /consumers/{consumerId}/priority`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerPriority {
    /// Share of the available bitrate, 1 or more.
    #[schema(minimum = 1, maximum = 255)]
    pub priority: u8,
}

/// A consumer.
#[utoipa::path(get, path = "/consumers/{consumerId}", tag = "consumers",
    params(("consumerId" = ConsumerId, Path, description = "Consumer id")),
    responses((status = 200, description = "The consumer", body = ConsumerInfo)))]
async fn get_consumer(
    State(control): State<AppState>,
    Path(id): Path<ConsumerId>,
) -> Result<axum::Json<ConsumerInfo>, ApiError> {
    Ok(axum::Json(control.consumer(id).await?))
}

/// Closes a consumer.
#[utoipa::path(delete, path = "/consumers/{consumerId}", tag = "consumers",
    params(("consumerId" = ConsumerId, Path, description = "Consumer id")),
    responses((status = 204, description = "Consumer closed")))]
async fn delete_consumer(
    State(control): State<AppState>,
    Path(id): Path<ConsumerId>,
) -> Result<StatusCode, ApiError> {
    control.close_consumer(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pauses a consumer.
#[utoipa::path(post, path = "/consumers/{consumerId}/pause", tag = "consumers",
    params(("consumerId" = ConsumerId, Path, description = "Consumer id")),
    responses((status = 200, description = "The paused consumer", body = ConsumerInfo)))]
async fn pause(
    State(control): State<AppState>,
    Path(id): Path<ConsumerId>,
) -> Result<axum::Json<ConsumerInfo>, ApiError> {
    Ok(axum::Json(control.set_consumer_paused(id, true).await?))
}

/// Resumes a consumer (media starts at the next keyframe, which is requested).
#[utoipa::path(post, path = "/consumers/{consumerId}/resume", tag = "consumers",
    params(("consumerId" = ConsumerId, Path, description = "Consumer id")),
    responses((status = 200, description = "The resumed consumer", body = ConsumerInfo)))]
async fn resume(
    State(control): State<AppState>,
    Path(id): Path<ConsumerId>,
) -> Result<axum::Json<ConsumerInfo>, ApiError> {
    Ok(axum::Json(control.set_consumer_paused(id, false).await?))
}

/// Asks the consumer's producer for a keyframe.
#[utoipa::path(post, path = "/consumers/{consumerId}/request-key-frame", tag = "consumers",
    params(("consumerId" = ConsumerId, Path, description = "Consumer id")),
    responses((status = 204, description = "Requested")))]
async fn request_key_frame(
    State(control): State<AppState>,
    Path(id): Path<ConsumerId>,
) -> Result<StatusCode, ApiError> {
    control.request_key_frame(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the layers a simulcast or SVC consumer prefers (clamped to what the producer offers; a missing
/// temporal layer means the highest).
#[utoipa::path(put, path = "/consumers/{consumerId}/preferred-layers", tag = "consumers",
    params(("consumerId" = ConsumerId, Path, description = "Consumer id")),
    request_body = ConsumerLayers,
    responses((status = 200, description = "The consumer", body = ConsumerInfo)))]
async fn preferred_layers(
    State(control): State<AppState>,
    Path(id): Path<ConsumerId>,
    Json(layers): Json<ConsumerLayers>,
) -> Result<axum::Json<ConsumerInfo>, ApiError> {
    Ok(axum::Json(
        control.set_consumer_preferred_layers(id, layers).await?,
    ))
}

/// Sets a consumer's priority in the share of the available bitrate.
#[utoipa::path(put, path = "/consumers/{consumerId}/priority", tag = "consumers",
    params(("consumerId" = ConsumerId, Path, description = "Consumer id")),
    request_body = ConsumerPriority,
    responses((status = 200, description = "The consumer", body = ConsumerInfo)))]
async fn priority(
    State(control): State<AppState>,
    Path(id): Path<ConsumerId>,
    Json(body): Json<ConsumerPriority>,
) -> Result<axum::Json<ConsumerInfo>, ApiError> {
    if body.priority == 0 {
        return Err(ApiError::unprocessable(
            "priority",
            "priority: must be 1 or more",
        ));
    }
    Ok(axum::Json(
        control.set_consumer_priority(id, body.priority).await?,
    ))
}

/// A consumer's counters and its producer's.
#[utoipa::path(get, path = "/consumers/{consumerId}/stats", tag = "consumers",
    params(("consumerId" = ConsumerId, Path, description = "Consumer id")),
    responses((status = 200, description = "Counters", body = ConsumerStatsReport)))]
async fn stats(
    State(control): State<AppState>,
    Path(id): Path<ConsumerId>,
) -> Result<axum::Json<ConsumerStatsReport>, ApiError> {
    Ok(axum::Json(control.consumer_stats(id).await?))
}

/// An SDP that FFmpeg, ffplay or GStreamer opens to receive the consumer's stream on the address its plain
/// transport was connected to: `ffmpeg -protocol_whitelist file,udp,rtp -i consumer.sdp …`.
#[utoipa::path(get, path = "/consumers/{consumerId}/sdp", tag = "consumers",
    params(("consumerId" = ConsumerId, Path, description = "Consumer id")),
    responses(
        (status = 200, description = "The receiver's SDP", content_type = "application/sdp", body = String),
        (status = 409, description = "Not a plain transport, or not connected yet",
            content_type = "application/problem+json", body = super::Problem),
    ))]
async fn sdp(
    State(control): State<AppState>,
    Path(id): Path<ConsumerId>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let sdp = control.consumer_sdp(id).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/sdp")], sdp))
}
