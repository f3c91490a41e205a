//! WHIP ingest (RFC 9725): `POST /rooms/{roomId}/whip` with an SDP offer, and the session resource
//! `/whip/sessions/{sessionId}` (`PATCH` trickle-ice-sdpfrag, `DELETE`). The session rules here serve WHEP
//! too ([`super::whep`]).
//!
//! `Authorization: Bearer …` is accepted and not checked yet (no access control exists).

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use mediagate_engine::ids::RoomId;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::Path;
use crate::control::{SessionKind, WhipPatched, WhipSessionId};

pub(super) const SDP: &str = "application/sdp";
const SDPFRAG: &str = "application/trickle-ice-sdpfrag";

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/rooms/{roomId}/whip", post(publish).options(options))
        .route(
            "/whip/sessions/{sessionId}",
            patch(patch_session).delete(delete_session),
        )
}

/// Query of a WHIP offer.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct WhipQuery {
    /// Name the session's broadcaster shows to the room (generated when absent).
    display_name: Option<String>,
}

/// WHIP (RFC 9725): publishes an SDP offer into a room (created on first use unless disabled). The session
/// joins as a broadcaster with a WebRTC transport; the offer's send sections become its producers, which
/// the room learns through `producer.added`. The answer is ICE-lite with every candidate; `Location` is the
/// session resource, `ETag` its ICE session. `Authorization: Bearer` is accepted and not checked yet.
#[utoipa::path(post, path = "/rooms/{roomId}/whip", tag = "whip",
    params(("roomId" = RoomId, Path, description = "Room name"), WhipQuery),
    request_body(content = String, content_type = "application/sdp", description = "The SDP offer"),
    responses(
        (status = 201, description = "The SDP answer", body = String, content_type = "application/sdp",
            headers(
                ("Location" = String, description = "The session resource, /whip/sessions/{sessionId}"),
                ("ETag" = String, description = "Entity-tag of the ICE session"))),
        (status = 400, description = "Malformed SDP (the detail names the line)", body = super::Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/sdp", body = super::Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Nothing in the offer can be accepted (no send section with a \
            supported codec)", body = super::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded (RFC 9725 §4.6): the room's worker holds its limit of open \
            transports (`max_transports_per_worker`, named in the detail), or the worker is gone; nothing is \
            left behind", body = super::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying")))))]
async fn publish(
    State(control): State<AppState>,
    Path(room): Path<RoomId>,
    Query(query): Query<WhipQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_content_type(&headers, SDP)?;
    let offer = String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::bad_request(Some("sdp"), format!("sdp: not UTF-8: {e}")))?;
    let published = control
        .whip_publish(&room, query.display_name, offer)
        .await?;
    let mut response = (StatusCode::CREATED, published.answer).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
    headers.insert(
        header::LOCATION,
        header_value(&format!("/whip/sessions/{}", published.session))?,
    );
    headers.insert(header::ETAG, header_value(&published.etag)?);
    Ok(response)
}

/// CORS preflight of the WHIP endpoint: `Accept-Post: application/sdp`.
#[utoipa::path(options, path = "/rooms/{roomId}/whip", tag = "whip",
    params(("roomId" = RoomId, Path, description = "Room name")),
    responses((status = 204, description = "What the endpoint accepts",
        headers(("Accept-Post" = String, description = "application/sdp")))))]
pub(super) async fn options() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert("accept-post", HeaderValue::from_static(SDP));
    response
}

/// Trickle ICE or ICE restart (RFC 9725 §4.3, RFC 8840). `If-Match` is required (428 without, 412 when
/// stale). Candidates need no action (the server is ICE-lite): 204. New `ice-ufrag`/`ice-pwd` restart
/// ICE: 200 with the server's new fragment and a new `ETag`.
#[utoipa::path(patch, path = "/whip/sessions/{sessionId}", tag = "whip",
    params(
        ("sessionId" = String, Path, description = "Session id (from Location)"),
        ("If-Match" = String, Header, description = "The session's ETag, or \"*\" for an ICE restart"),
    ),
    request_body(content = String, content_type = "application/trickle-ice-sdpfrag",
        description = "The SDP fragment"),
    responses(
        (status = 204, description = "Candidates taken"),
        (status = 200, description = "ICE restarted: the server's new fragment", body = String,
            content_type = "application/trickle-ice-sdpfrag",
            headers(("ETag" = String, description = "New entity-tag of the ICE session"))),
        (status = 412, description = "If-Match does not match the session's ETag", body = super::Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/trickle-ice-sdpfrag",
            body = super::Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = super::Problem,
            content_type = "application/problem+json")))]
async fn patch_session(
    State(control): State<AppState>,
    Path(session): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    patch_any(&control, SessionKind::Whip, &session, &headers, body).await
}

/// `PATCH` of a WHIP or WHEP session (the same rules for both).
pub(super) async fn patch_any(
    control: &AppState,
    kind: SessionKind,
    session: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let session = session_id(session)?;
    require_content_type(headers, SDPFRAG)?;
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request(None, "If-Match is not ASCII"))
        })
        .transpose()?;
    let fragment = String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::bad_request(Some("sdpfrag"), format!("sdpfrag: not UTF-8: {e}")))?;
    match control
        .whip_patch(kind, session, if_match, &fragment)
        .await?
    {
        WhipPatched::Trickled => Ok(StatusCode::NO_CONTENT.into_response()),
        WhipPatched::Restarted { fragment, etag } => {
            let mut response = (StatusCode::OK, fragment).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDPFRAG));
            headers.insert(header::ETAG, header_value(&etag)?);
            Ok(response)
        }
    }
}

/// Ends a WHIP session: its broadcaster leaves, its producers close (the room learns `producer.closed`
/// and `broadcaster.left`). A second `DELETE` is a 404.
#[utoipa::path(delete, path = "/whip/sessions/{sessionId}", tag = "whip",
    params(("sessionId" = String, Path, description = "Session id (from Location)")),
    responses((status = 200, description = "Session ended")))]
async fn delete_session(
    State(control): State<AppState>,
    Path(session): Path<String>,
) -> Result<StatusCode, ApiError> {
    control
        .whip_end(SessionKind::Whip, session_id(&session)?)
        .await?;
    Ok(StatusCode::OK)
}

/// A session id; anything else names no session.
pub(super) fn session_id(text: &str) -> Result<WhipSessionId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("session {text:?} not found")))
}

pub(super) fn require_content_type(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if essence.as_deref() == Some(expected) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "expected Content-Type: {expected}, got {}",
            essence.map_or_else(|| "none".to_owned(), |e| format!("{e:?}"))
        ),
    ))
}

pub(super) fn header_value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text).map_err(ApiError::internal)
}

/// Outside the CORS layer (which answers preflights itself): OPTIONS on a WHIP or WHEP endpoint always
/// carries `Accept-Post: application/sdp` and answers 204.
pub(super) async fn preflight(request: Request, next: Next) -> Response {
    let is_whip = request.method() == Method::OPTIONS && {
        let segments: Vec<&str> = request.uri().path().split('/').collect();
        matches!(segments.as_slice(), ["", "rooms", _, "whip" | "whep"])
    };
    let mut response = next.run(request).await;
    if is_whip && response.status().is_success() {
        *response.status_mut() = StatusCode::NO_CONTENT;
        response
            .headers_mut()
            .insert("accept-post", HeaderValue::from_static(SDP));
    }
    response
}
