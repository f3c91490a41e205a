//! Request extractors whose rejections are problem+json naming the offending field.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body. The content type may be `application/json` (or `+json`), absent, or what curl `-d` and
/// `fetch` send by default (`application/x-www-form-urlencoded`, `text/plain`);
/// an empty body is read as `{}` so that bodies whose fields are all optional may be left out. Shape
/// errors name the JSON path of the offending field.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
            let essence = content_type
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            // curl's `-d` labels a body form-urlencoded and `fetch` labels a string text/plain: both are
            // read as JSON, so a forgotten header does not turn a good request into an error.
            let accepted = essence == "application/json"
                || essence.ends_with("+json")
                || essence == "application/x-www-form-urlencoded"
                || essence == "text/plain";
            if !accepted {
                return Err(ApiError::new(
                    axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "expected a JSON body (Content-Type: application/json), got {essence:?}"
                    ),
                ));
            }
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(None, format!("cannot read the body: {e}")))?;
        parse_json(&body).map(Json)
    }
}

/// Parses a JSON body, naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(None, format!("malformed JSON: {inner}"))
        } else if path == "." {
            ApiError::bad_request(None, format!("invalid body: {inner}"))
        } else {
            ApiError::bad_request(Some(&path), format!("{path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(None, format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// Path parameters; a segment that does not parse (a bad uuid, a room name with forbidden characters) is a
/// 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let mut field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key } => Some(key.clone()),
                    _ => None,
                };
                if field.is_none()
                    && let Ok(raw) = RawPathParams::from_request_parts(parts, state).await
                {
                    // A single-segment path reports no key: it can only be that segment.
                    let keys: Vec<&str> = raw.iter().map(|(key, _)| key).collect();
                    if let [key] = keys.as_slice() {
                        field = Some((*key).to_owned());
                    }
                }
                let detail = match &field {
                    Some(key) => format!("{key}: {}", e.body_text()),
                    None => e.body_text(),
                };
                Err(ApiError::bad_request(field.as_deref(), detail))
            }
            Err(e) => Err(ApiError::bad_request(None, e.body_text())),
        }
    }
}
