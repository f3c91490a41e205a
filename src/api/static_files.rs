//! The browser page: `GET /` (static/index.html) and `GET /static/{file}` (its scripts and stylesheet),
//! embedded in the binary at compile time so the server needs no files at run time.
//!
//! Must not: read the file system, or serve anything but the fixed list below (no path is ever joined).
//! The page talks to the REST API and event streams of the same origin; it is not part of the OpenAPI
//! document.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::ApiError;
use super::extract::Path;

/// The embedded files: name under `/static/`, content type, contents.
const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../static/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
    (
        "session.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/session.js"),
    ),
    (
        "data.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/data.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/api.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../static/style.css"),
    ),
];

pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new()
        .route("/", get(|| async { file("index.html") }))
        .route(
            "/static/{file}",
            get(|Path(name): Path<String>| async move { file(&name) }),
        )
}

/// The embedded file `name` with its content type, or a 404.
fn file(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                // The files change only with the binary: revalidate rather than keep a stale page.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::not_found(format!("no static file {name:?}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn fetch(path: &str) -> (StatusCode, String, String) {
        let response = routes::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn the_page_and_each_asset_are_served_with_their_content_type() {
        let (status, content_type, body) = fetch("/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "text/html; charset=utf-8");
        assert!(body.contains(r#"<script type="module" src="/static/app.js">"#));
        for (name, expected_type, contents) in FILES {
            let (status, content_type, body) = fetch(&format!("/static/{name}")).await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert_eq!(content_type, *expected_type, "{name}");
            assert_eq!(body, *contents, "{name}");
        }
    }

    #[tokio::test]
    async fn every_module_the_scripts_import_is_embedded() {
        for (name, _, contents) in FILES {
            for import in contents
                .lines()
                .filter_map(|line| line.split(" from './").nth(1))
            {
                let imported = import.split('\'').next().unwrap();
                assert!(
                    FILES.iter().any(|(n, _, _)| *n == imported),
                    "{name} imports {imported}, which is not embedded"
                );
            }
        }
    }

    #[tokio::test]
    async fn an_unknown_file_is_a_problem_404() {
        let (status, content_type, _) = fetch("/static/secret.txt").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(content_type, "application/problem+json");
        let (status, _, _) = fetch("/static/..%2FCargo.toml").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
