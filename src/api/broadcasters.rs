//! Broadcasters (peers) of a room and the transports they open:
//! `/rooms/{roomId}/broadcasters[/{broadcasterId}[/transports]]`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use mediagate_engine::ids::{BroadcasterId, RoomId};
use mediagate_engine::router::{BroadcasterInfo, TransportInfo, TransportOptions};

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path};
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
    responses((status = 201, description = "Transport created", body = TransportInfo)))]
async fn create_transport(
    State(control): State<AppState>,
    Path((room, broadcaster)): Path<(RoomId, BroadcasterId)>,
    Json(options): Json<TransportOptions>,
) -> Result<(StatusCode, axum::Json<TransportInfo>), ApiError> {
    let info = control
        .create_transport(&room, &broadcaster, options)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(info)))
}
