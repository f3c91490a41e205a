//! Broadcasters (peers) of a room and the transports they open:
//! `/rooms/{roomId}/broadcasters[/{broadcasterId}[/transports]]`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use mediagate_engine::ids::{BroadcasterId, RoomId};
use mediagate_engine::router::{BroadcasterInfo, TransportInfo, TransportOptions};
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path, parse_json};
use crate::control::{BroadcasterRequest, JoinInfo};

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/rooms/{roomId}/broadcasters",
            get(list_broadcasters).post(create_broadcaster),
        )
        .route(
            "/rooms/{roomId}/broadcasters/{broadcasterId}",
            get(get_broadcaster).delete(delete_broadcaster),
        )
        .route(
            "/rooms/{roomId}/broadcasters/{broadcasterId}/transports",
            post(create_transport),
        )
}

/// Adds a broadcaster to a room (creating the room on first use unless disabled). The response lists
/// the peers already there with the producers the broadcaster can consume (mediasoup-demo's `peers`).
#[utoipa::path(post, path = "/rooms/{roomId}/broadcasters", tag = "broadcasters",
    params(("roomId" = RoomId, Path, description = "Room name")),
    request_body = BroadcasterRequest,
    responses((status = 201, description = "Broadcaster joined", body = JoinInfo)))]
async fn create_broadcaster(
    State(control): State<AppState>,
    Path(room): Path<RoomId>,
    Json(request): Json<BroadcasterRequest>,
) -> Result<(StatusCode, axum::Json<JoinInfo>), ApiError> {
    control.ensure_room(&room).await?;
    let info = control.join(&room, request).await?;
    Ok((StatusCode::CREATED, axum::Json(info)))
}

/// A room's broadcasters.
#[utoipa::path(get, path = "/rooms/{roomId}/broadcasters", tag = "broadcasters",
    params(("roomId" = RoomId, Path, description = "Room name")),
    responses((status = 200, description = "Broadcasters, ordered by id", body = [BroadcasterInfo])))]
async fn list_broadcasters(
    State(control): State<AppState>,
    Path(room): Path<RoomId>,
) -> Result<axum::Json<Vec<BroadcasterInfo>>, ApiError> {
    Ok(axum::Json(control.broadcasters(&room).await?))
}

/// A broadcaster.
#[utoipa::path(get, path = "/rooms/{roomId}/broadcasters/{broadcasterId}", tag = "broadcasters",
    params(
        ("roomId" = RoomId, Path, description = "Room name"),
        ("broadcasterId" = BroadcasterId, Path, description = "Broadcaster id"),
    ),
    responses((status = 200, description = "The broadcaster", body = BroadcasterInfo)))]
async fn get_broadcaster(
    State(control): State<AppState>,
    Path((room, broadcaster)): Path<(RoomId, BroadcasterId)>,
) -> Result<axum::Json<BroadcasterInfo>, ApiError> {
    Ok(axum::Json(control.broadcaster(&room, &broadcaster).await?))
}

/// Removes a broadcaster: its transports and everything on them close; the room learns
/// `broadcaster.left`.
#[utoipa::path(delete, path = "/rooms/{roomId}/broadcasters/{broadcasterId}", tag = "broadcasters",
    params(
        ("roomId" = RoomId, Path, description = "Room name"),
        ("broadcasterId" = BroadcasterId, Path, description = "Broadcaster id"),
    ),
    responses((status = 204, description = "Broadcaster removed")))]
async fn delete_broadcaster(
    State(control): State<AppState>,
    Path((room, broadcaster)): Path<(RoomId, BroadcasterId)>,
) -> Result<StatusCode, ApiError> {
    control.leave(&room, &broadcaster).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Opens a transport (`type` `plain` or `webrtc`) with real sockets from the RTC port range.
#[utoipa::path(post, path = "/rooms/{roomId}/broadcasters/{broadcasterId}/transports", tag = "transports",
    params(
        ("roomId" = RoomId, Path, description = "Room name"),
        ("broadcasterId" = BroadcasterId, Path, description = "Broadcaster id"),
    ),
    request_body = TransportOptions,
    responses(
        (status = 201, description = "Transport created", body = TransportInfo),
        (status = 503, description = "The room's worker holds its limit of open transports \
            (`max_transports_per_worker`, named in the detail), no port of the RTC range is free, or the worker \
            is gone: retry after the given delay", body = super::Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying")))))]
async fn create_transport(
    State(control): State<AppState>,
    Path((room, broadcaster)): Path<(RoomId, BroadcasterId)>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, axum::Json<TransportInfo>), ApiError> {
    let options = transport_options(&body)?;
    let info = control
        .create_transport(&room, &broadcaster, options)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(info)))
}

/// Parses transport options by their `type`. Serde buffers an internally tagged enum's body, which loses
/// the path of a bad field; parsing the variant's options directly keeps it (`rtcpMux: invalid type…`).
fn transport_options(body: &Value) -> Result<TransportOptions, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    match body.get("type").and_then(Value::as_str) {
        Some("plain") => parse_json(&bytes).map(TransportOptions::Plain),
        Some("webrtc") => parse_json(&bytes).map(TransportOptions::Webrtc),
        Some("direct") => parse_json(&bytes).map(TransportOptions::Direct),
        // A missing or unknown `type`: the enum's own error names it.
        _ => parse_json(&bytes),
    }
}
