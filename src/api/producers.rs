//! Producers: `/producers/{producerId}[/…]`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use mediagate_engine::ids::ProducerId;
use mediagate_engine::router::{ProducerInfo, ProducerStats};

use super::AppState;
use super::error::ApiError;
use super::extract::Path;

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/producers/{producerId}",
            get(get_producer).delete(delete_producer),
        )
        .route("/producers/{producerId}/pause", post(pause))
        .route("/producers/{producerId}/resume", post(resume))
        .route("/producers/{producerId}/stats", get(stats))
}

/// A producer.
#[utoipa::path(get, path = "/producers/{producerId}", tag = "producers",
    params(("producerId" = ProducerId, Path, description = "Producer id")),
    responses((status = 200, description = "The producer", body = ProducerInfo)))]
async fn get_producer(
    State(control): State<AppState>,
    Path(id): Path<ProducerId>,
) -> Result<axum::Json<ProducerInfo>, ApiError> {
    Ok(axum::Json(control.producer(id).await?))
}

/// Closes a producer; its consumers close and their owners learn `consumer.closed`.
#[utoipa::path(delete, path = "/producers/{producerId}", tag = "producers",
    params(("producerId" = ProducerId, Path, description = "Producer id")),
    responses((status = 204, description = "Producer closed")))]
async fn delete_producer(
    State(control): State<AppState>,
    Path(id): Path<ProducerId>,
) -> Result<StatusCode, ApiError> {
    control.close_producer(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pauses a producer; its consumers' owners learn `consumer.producerPaused`.
#[utoipa::path(post, path = "/producers/{producerId}/pause", tag = "producers",
    params(("producerId" = ProducerId, Path, description = "Producer id")),
    responses((status = 200, description = "The paused producer", body = ProducerInfo)))]
async fn pause(
    State(control): State<AppState>,
    Path(id): Path<ProducerId>,
) -> Result<axum::Json<ProducerInfo>, ApiError> {
    Ok(axum::Json(control.set_producer_paused(id, true).await?))
}

/// Resumes a producer; its consumers' owners learn `consumer.producerResumed`.
#[utoipa::path(post, path = "/producers/{producerId}/resume", tag = "producers",
    params(("producerId" = ProducerId, Path, description = "Producer id")),
    responses((status = 200, description = "The resumed producer", body = ProducerInfo)))]
async fn resume(
    State(control): State<AppState>,
    Path(id): Path<ProducerId>,
) -> Result<axum::Json<ProducerInfo>, ApiError> {
    Ok(axum::Json(control.set_producer_paused(id, false).await?))
}

/// A producer's counters, one entry per stream.
#[utoipa::path(get, path = "/producers/{producerId}/stats", tag = "producers",
    params(("producerId" = ProducerId, Path, description = "Producer id")),
    responses((status = 200, description = "Counters", body = [ProducerStats])))]
async fn stats(
    State(control): State<AppState>,
    Path(id): Path<ProducerId>,
) -> Result<axum::Json<Vec<ProducerStats>>, ApiError> {
    Ok(axum::Json(control.producer_stats(id).await?))
}
