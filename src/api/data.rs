//! Data producers and data consumers: `/data-producers/{id}` and `/data-consumers/{id}`.

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use bytes::Bytes;
use mediagate_engine::ids::{DataConsumerId, DataProducerId};
use mediagate_engine::router::{
    DataConsumerInfo, DataConsumerStats, DataProducerInfo, DataProducerStats,
};
use mediagate_engine::sctp::{PPID_BINARY, PPID_STRING};
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::error::ApiError;
use super::extract::Path;

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/data-producers/{dataProducerId}",
            get(get_data_producer).delete(delete_data_producer),
        )
        .route(
            "/data-producers/{dataProducerId}/pause",
            post(pause_data_producer),
        )
        .route(
            "/data-producers/{dataProducerId}/resume",
            post(resume_data_producer),
        )
        .route(
            "/data-producers/{dataProducerId}/stats",
            get(data_producer_stats),
        )
        .route(
            "/data-producers/{dataProducerId}/messages",
            // The transport's maxMessageSize decides (413 naming `body`); this only bounds memory.
            post(send_message).layer(DefaultBodyLimit::max(MAX_HTTP_MESSAGE)),
        )
        .route(
            "/data-consumers/{dataConsumerId}",
            get(get_data_consumer).delete(delete_data_consumer),
        )
        .route(
            "/data-consumers/{dataConsumerId}/pause",
            post(pause_data_consumer),
        )
        .route(
            "/data-consumers/{dataConsumerId}/resume",
            post(resume_data_consumer),
        )
        .route(
            "/data-consumers/{dataConsumerId}/stats",
            get(data_consumer_stats),
        )
}

/// The largest body `POST /data-producers/{id}/messages` reads (16 MiB); a direct transport's
/// `maxMessageSize` is usually far smaller.
const MAX_HTTP_MESSAGE: usize = 16 << 20;

/// Pauses a data producer: what it receives is dropped; its consumers' owners learn
/// `dataConsumer.dataProducerPaused`.
#[utoipa::path(post, path = "/data-producers/{dataProducerId}/pause", tag = "data",
    params(("dataProducerId" = DataProducerId, Path, description = "Data producer id")),
    responses((status = 200, description = "The paused data producer", body = DataProducerInfo)))]
async fn pause_data_producer(
    State(control): State<AppState>,
    Path(id): Path<DataProducerId>,
) -> Result<axum::Json<DataProducerInfo>, ApiError> {
    Ok(axum::Json(
        control.set_data_producer_paused(id, true).await?,
    ))
}

/// Resumes a data producer; its consumers' owners learn `dataConsumer.dataProducerResumed`.
#[utoipa::path(post, path = "/data-producers/{dataProducerId}/resume", tag = "data",
    params(("dataProducerId" = DataProducerId, Path, description = "Data producer id")),
    responses((status = 200, description = "The resumed data producer", body = DataProducerInfo)))]
async fn resume_data_producer(
    State(control): State<AppState>,
    Path(id): Path<DataProducerId>,
) -> Result<axum::Json<DataProducerInfo>, ApiError> {
    Ok(axum::Json(
        control.set_data_producer_paused(id, false).await?,
    ))
}

/// A data producer's counters (one entry, as mediasoup).
#[utoipa::path(get, path = "/data-producers/{dataProducerId}/stats", tag = "data",
    params(("dataProducerId" = DataProducerId, Path, description = "Data producer id")),
    responses((status = 200, description = "Counters", body = [DataProducerStats])))]
async fn data_producer_stats(
    State(control): State<AppState>,
    Path(id): Path<DataProducerId>,
) -> Result<axum::Json<Vec<DataProducerStats>>, ApiError> {
    Ok(axum::Json(vec![control.data_producer_stats(id).await?]))
}

/// Query of `POST /data-producers/{id}/messages`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// WebRTC PPID: 51 (string) or 53 (binary); by default from the Content-Type (`text/*` is a string,
    /// anything else binary). An empty body goes out as 56 or 57.
    pub ppid: Option<u32>,
}

/// Sends one message into the room through a data producer of a direct transport: every data consumer
/// of it receives the body (over SCTP, or as `dataConsumer.message` on its owner's event stream).
#[utoipa::path(post, path = "/data-producers/{dataProducerId}/messages", tag = "data",
    params(("dataProducerId" = DataProducerId, Path, description = "Data producer id"), MessageQuery),
    request_body(content = String, description = "The message: text (`text/plain`) or binary \
        (`application/octet-stream`)", content_type = "application/octet-stream"),
    responses(
        (status = 204, description = "Sent to the data producer's consumers"),
        (status = 409, description = "Not a direct data producer", body = super::error::Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "Larger than the transport's maxMessageSize",
            body = super::error::Problem, content_type = "application/problem+json")))]
async fn send_message(
    State(control): State<AppState>,
    Path(id): Path<DataProducerId>,
    query: Result<Query<MessageQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(Some("ppid"), e.body_text()))?;
    let ppid = match query.ppid {
        Some(ppid) => ppid,
        None => {
            let text = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/"));
            if text { PPID_STRING } else { PPID_BINARY }
        }
    };
    control.send_data_message(id, ppid, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A data producer.
#[utoipa::path(get, path = "/data-producers/{dataProducerId}", tag = "data",
    params(("dataProducerId" = DataProducerId, Path, description = "Data producer id")),
    responses((status = 200, description = "The data producer", body = DataProducerInfo)))]
async fn get_data_producer(
    State(control): State<AppState>,
    Path(id): Path<DataProducerId>,
) -> Result<axum::Json<DataProducerInfo>, ApiError> {
    Ok(axum::Json(control.data_producer(id).await?))
}

/// Closes a data producer; its data consumers close and their owners learn `dataConsumer.closed`.
#[utoipa::path(delete, path = "/data-producers/{dataProducerId}", tag = "data",
    params(("dataProducerId" = DataProducerId, Path, description = "Data producer id")),
    responses((status = 204, description = "Data producer closed")))]
async fn delete_data_producer(
    State(control): State<AppState>,
    Path(id): Path<DataProducerId>,
) -> Result<StatusCode, ApiError> {
    control.close_data_producer(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A data consumer.
#[utoipa::path(get, path = "/data-consumers/{dataConsumerId}", tag = "data",
    params(("dataConsumerId" = DataConsumerId, Path, description = "Data consumer id")),
    responses((status = 200, description = "The data consumer", body = DataConsumerInfo)))]
async fn get_data_consumer(
    State(control): State<AppState>,
    Path(id): Path<DataConsumerId>,
) -> Result<axum::Json<DataConsumerInfo>, ApiError> {
    Ok(axum::Json(control.data_consumer(id).await?))
}

/// Pauses a data consumer (its messages are skipped until resumed).
#[utoipa::path(post, path = "/data-consumers/{dataConsumerId}/pause", tag = "data",
    params(("dataConsumerId" = DataConsumerId, Path, description = "Data consumer id")),
    responses((status = 200, description = "The paused data consumer", body = DataConsumerInfo)))]
async fn pause_data_consumer(
    State(control): State<AppState>,
    Path(id): Path<DataConsumerId>,
) -> Result<axum::Json<DataConsumerInfo>, ApiError> {
    Ok(axum::Json(
        control.set_data_consumer_paused(id, true).await?,
    ))
}

/// Resumes a data consumer.
#[utoipa::path(post, path = "/data-consumers/{dataConsumerId}/resume", tag = "data",
    params(("dataConsumerId" = DataConsumerId, Path, description = "Data consumer id")),
    responses((status = 200, description = "The resumed data consumer", body = DataConsumerInfo)))]
async fn resume_data_consumer(
    State(control): State<AppState>,
    Path(id): Path<DataConsumerId>,
) -> Result<axum::Json<DataConsumerInfo>, ApiError> {
    Ok(axum::Json(
        control.set_data_consumer_paused(id, false).await?,
    ))
}

/// A data consumer's counters (one entry, as mediasoup).
#[utoipa::path(get, path = "/data-consumers/{dataConsumerId}/stats", tag = "data",
    params(("dataConsumerId" = DataConsumerId, Path, description = "Data consumer id")),
    responses((status = 200, description = "Counters", body = [DataConsumerStats])))]
async fn data_consumer_stats(
    State(control): State<AppState>,
    Path(id): Path<DataConsumerId>,
) -> Result<axum::Json<Vec<DataConsumerStats>>, ApiError> {
    Ok(axum::Json(vec![control.data_consumer_stats(id).await?]))
}

/// Closes a data consumer.
#[utoipa::path(delete, path = "/data-consumers/{dataConsumerId}", tag = "data",
    params(("dataConsumerId" = DataConsumerId, Path, description = "Data consumer id")),
    responses((status = 204, description = "Data consumer closed")))]
async fn delete_data_consumer(
    State(control): State<AppState>,
    Path(id): Path<DataConsumerId>,
) -> Result<StatusCode, ApiError> {
    control.close_data_consumer(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
