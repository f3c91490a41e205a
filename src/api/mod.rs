//! The HTTP API: one module per resource, each returning its own router; one error type
//! ([`error::ApiError`], RFC 9457 problem+json) for every failure, rejections included; the OpenAPI
//! document generated from the handlers' own types ([`openapi`]).
//!
//! Must not: hold state or business rules. Handlers parse, call the control façade, and shape the answer.

pub mod broadcasters;
pub mod consumers;
pub mod data;
pub mod error;
pub mod events;
pub mod extract;
pub mod health;
pub mod legacy;
pub mod openapi;
pub mod producers;
pub mod rooms;
pub mod static_files;
pub mod transports;
pub mod whep;
pub mod whip;

use axum::http::StatusCode;
use tower_http::cors::CorsLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::control::Control;
pub use error::{ApiError, Problem};
pub use extract::Json;

/// What every handler receives: the control façade.
pub type AppState = Control;

/// The whole HTTP surface: resources, events, `/openapi.json` and `/docs`.
pub fn router(control: Control) -> axum::Router {
    axum::Router::new()
        .merge(health::routes())
        .merge(rooms::routes())
        .merge(broadcasters::routes())
        .merge(transports::routes())
        .merge(producers::routes())
        .merge(consumers::routes())
        .merge(data::routes())
        .merge(whip::routes())
        .merge(whep::routes())
        .merge(legacy::routes())
        .merge(events::routes())
        .merge(static_files::routes())
        .fallback(|| async { ApiError::not_found("no resource at this path") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this resource does not support that method",
            )
        })
        .with_state(control)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi::document()))
        .layer(CorsLayer::permissive())
        .layer(axum::middleware::from_fn(whip::preflight))
}
