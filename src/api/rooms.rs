//! Rooms (mediasoup Routers): `/rooms` and `/rooms/{roomId}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use mediagate_engine::ids::RoomId;
use mediagate_engine::rtp_parameters::RtpCapabilities;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::control::{RoomInfo, RoomOptions};

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/rooms", get(list_rooms))
        .route(
            "/rooms/{roomId}",
            get(get_room).put(create_room).delete(delete_room),
        )
        .route("/rooms/{roomId}/rtp-capabilities", get(rtp_capabilities))
}

/// Every room.
#[utoipa::path(get, path = "/rooms", tag = "rooms",
    responses((status = 200, description = "Rooms, ordered by id", body = [RoomInfo])))]
async fn list_rooms(
    State(control): State<AppState>,
) -> Result<axum::Json<Vec<RoomInfo>>, ApiError> {
    Ok(axum::Json(control.rooms().await?))
}

/// Creates a room (idempotent). Without `mediaCodecs` the room gets the server's default codecs.
#[utoipa::path(put, path = "/rooms/{roomId}", tag = "rooms",
    params(("roomId" = RoomId, Path, description = "Room name")),
    request_body(content = Option<RoomOptions>, description = "Optional media codecs"),
    responses(
        (status = 201, description = "Room created", body = RoomInfo),
        (status = 200, description = "The room already existed with these codecs", body = RoomInfo),
    ))]
async fn create_room(
    State(control): State<AppState>,
    Path(room): Path<RoomId>,
    Json(options): Json<RoomOptions>,
) -> Result<(StatusCode, axum::Json<RoomInfo>), ApiError> {
    let (info, created) = control.create_room(&room, options).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(info)))
}

/// A room. Its body carries the router's `codecs` and `headerExtensions` at top level, so it can be given
/// to mediasoup-client's `Device.load`. Creates the room on first use unless the server runs with
/// `--no-auto-create-rooms`.
#[utoipa::path(get, path = "/rooms/{roomId}", tag = "rooms",
    params(("roomId" = RoomId, Path, description = "Room name")),
    responses((status = 200, description = "The room", body = RoomInfo)))]
async fn get_room(
    State(control): State<AppState>,
    Path(room): Path<RoomId>,
) -> Result<axum::Json<RoomInfo>, ApiError> {
    control.ensure_room(&room).await?;
    Ok(axum::Json(control.room(&room).await?))
}

/// The room's RTP capabilities, exactly `{codecs, headerExtensions}`.
#[utoipa::path(get, path = "/rooms/{roomId}/rtp-capabilities", tag = "rooms",
    params(("roomId" = RoomId, Path, description = "Room name")),
    responses((status = 200, description = "Router RTP capabilities", body = RtpCapabilities)))]
async fn rtp_capabilities(
    State(control): State<AppState>,
    Path(room): Path<RoomId>,
) -> Result<axum::Json<RtpCapabilities>, ApiError> {
    control.ensure_room(&room).await?;
    Ok(axum::Json(control.rtp_capabilities(&room).await?))
}

/// Closes a room: every broadcaster leaves, every object closes, its event streams end.
#[utoipa::path(delete, path = "/rooms/{roomId}", tag = "rooms",
    params(("roomId" = RoomId, Path, description = "Room name")),
    responses((status = 204, description = "Room closed")))]
async fn delete_room(
    State(control): State<AppState>,
    Path(room): Path<RoomId>,
) -> Result<StatusCode, ApiError> {
    control.close_room(&room).await?;
    Ok(StatusCode::NO_CONTENT)
}
