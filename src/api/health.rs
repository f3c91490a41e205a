//! `GET /health`: liveness and object counts.

use axum::extract::State;
use axum::routing::get;

use super::AppState;
use super::error::ApiError;
use crate::control::HealthInfo;

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/health", get(health))
}

/// Liveness and object counts.
#[utoipa::path(get, path = "/health", tag = "server",
    responses((status = 200, description = "The server and its workers are running", body = HealthInfo)))]
async fn health(State(control): State<AppState>) -> Result<axum::Json<HealthInfo>, ApiError> {
    Ok(axum::Json(control.health().await?))
}
