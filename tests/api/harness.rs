//! An in-process server driven with `tower::ServiceExt::oneshot`: requests, problem+json checks and SSE
//! streams read frame by frame with a timeout (a missing event fails the test instead of hanging).

use std::net::{Ipv4Addr, UdpSocket};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use mediagate::Config;
use mediagate::control::Control;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The longest wait for a response frame. Events are published before the response of the action that
/// caused them, so this only bounds a failing test.
pub const WAIT: Duration = Duration::from_secs(5);

/// A started control plane (one worker) and its HTTP router. Dropping it stops the worker threads.
pub struct Server {
    control: Control,
    app: axum::Router,
    /// The RTC port range of this server (each server gets its own slice).
    pub ports: RangeInclusive<u16>,
}

impl Server {
    /// A server on the defaults, with one worker and a port range of its own.
    pub fn start() -> Self {
        Self::with(|_| {})
    }

    /// A server whose configuration `configure` adjusts.
    pub fn with(configure: impl FnOnce(&mut Config)) -> Self {
        static NEXT_SLICE: AtomicU16 = AtomicU16::new(0);
        let slice = NEXT_SLICE.fetch_add(1, Ordering::Relaxed) % 40;
        let first = 44_000 + slice * 100;
        let mut config = Config {
            workers: 1,
            rtc_ports: first..=first + 99,
            ..Config::default()
        };
        configure(&mut config);
        let control = mediagate::start(&config).expect("the server starts");
        let app = mediagate::api::router(control.clone());
        Self {
            control,
            app,
            ports: config.rtc_ports,
        }
    }

    /// Sends a request and returns the raw response (for streaming bodies).
    pub async fn send(&self, request: Request<Body>) -> axum::response::Response {
        match self.app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    /// Sends `body` (raw bytes) with an optional content type and reads the whole answer.
    pub async fn raw(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = self
            .send(request.body(body.into()).expect("a valid request"))
            .await;
        Reply::read(response).await
    }

    /// Sends a JSON body (or none) and reads the whole answer.
    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        match body {
            Some(body) => {
                self.raw(
                    method,
                    uri,
                    Some("application/json"),
                    serde_json::to_vec(&body).expect("json"),
                )
                .await
            }
            None => self.raw(method, uri, None, Body::empty()).await,
        }
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, None).await
    }

    /// `POST uri` with a JSON body.
    pub async fn post(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(body)).await
    }

    /// `POST uri` without a body.
    pub async fn post_empty(&self, uri: &str) -> Reply {
        self.call(Method::POST, uri, None).await
    }

    /// `PUT uri` with a JSON body.
    pub async fn put(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::PUT, uri, Some(body)).await
    }

    /// `DELETE uri`.
    pub async fn delete(&self, uri: &str) -> Reply {
        self.call(Method::DELETE, uri, None).await
    }

    /// Opens an event stream, resuming after `last_event_id` (sent as `Last-Event-ID`) when given.
    pub async fn events(&self, uri: &str, last_event_id: Option<u64>) -> Events {
        self.open_events(uri, last_event_id, true).await
    }

    /// Opens an event stream whose events carry no `id:` (state, not history: WHEP's extension).
    pub async fn unnumbered_events(&self, uri: &str) -> Events {
        self.open_events(uri, None, false).await
    }

    async fn open_events(&self, uri: &str, last_event_id: Option<u64>, numbered: bool) -> Events {
        let mut request = Request::get(uri).header(header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = self
            .send(request.body(Body::empty()).expect("a valid request"))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "GET {uri}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream",
            "GET {uri}"
        );
        Events {
            uri: uri.to_owned(),
            body: response.into_body(),
            buffer: String::new(),
            numbered,
        }
    }

    /// `GET /health`.
    pub async fn health(&self) -> Value {
        self.get("/health").await.ok()
    }

    // ---- scenario helpers ----

    /// Joins `id` to `room` with the room's own capabilities (so it can consume anything).
    pub async fn join(&self, room: &str, id: &str) -> Value {
        let caps = self
            .get(&format!("/rooms/{room}/rtp-capabilities"))
            .await
            .ok();
        self.post(
            &format!("/rooms/{room}/broadcasters"),
            json!({"id": id, "displayName": id, "device": {"name": "test"}, "rtpCapabilities": caps}),
        )
        .await
        .expect(201)
    }

    /// Opens a transport of `options` for `broadcaster` and returns its id.
    pub async fn transport(&self, room: &str, broadcaster: &str, options: Value) -> String {
        let info = self
            .post(
                &format!("/rooms/{room}/broadcasters/{broadcaster}/transports"),
                options,
            )
            .await
            .expect(201);
        id_of(&info)
    }

    /// A plain transport with RTCP muxed.
    pub async fn plain(&self, room: &str, broadcaster: &str) -> String {
        self.transport(room, broadcaster, json!({"type": "plain"}))
            .await
    }

    /// A VP8 producer sending `ssrc` on `transport`.
    pub async fn vp8(&self, transport: &str, ssrc: u32) -> String {
        let info = self
            .post(
                &format!("/transports/{transport}/producers"),
                json!({"kind": "video", "rtpParameters": vp8_parameters(ssrc)}),
            )
            .await
            .expect(201);
        id_of(&info)
    }

    /// A consumer of `producer` on `transport` (with the owner's capabilities), and its info.
    pub async fn consume(&self, transport: &str, producer: &str) -> Value {
        self.post(
            &format!("/transports/{transport}/consumers"),
            json!({"producerId": producer}),
        )
        .await
        .expect(201)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.control.shutdown();
    }
}

/// The `id` of an info object.
#[track_caller]
pub fn id_of(info: &Value) -> String {
    info["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {info}"))
        .to_owned()
}

/// VP8 parameters sending one stream with `ssrc` on PT 101.
pub fn vp8_parameters(ssrc: u32) -> Value {
    json!({
        "codecs": [{"mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000}],
        "encodings": [{"ssrc": ssrc}]
    })
}

/// Opus parameters sending one stream with `ssrc` on PT 100.
pub fn opus_parameters(ssrc: u32) -> Value {
    json!({
        "codecs": [{"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000, "channels": 2}],
        "encodings": [{"ssrc": ssrc}]
    })
}

/// A client's DTLS parameters.
pub fn dtls_parameters() -> Value {
    json!({
        "role": "client",
        "fingerprints": [{"algorithm": "sha-256", "value": fingerprint()}]
    })
}

fn fingerprint() -> String {
    vec!["AB"; 32].join(":")
}

/// Whether a UDP port on the loopback address is held by someone (the server's socket).
pub fn udp_port_is_bound(port: u16) -> bool {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_err()
}

/// A response with its headers and its body as text (SDP answers, fragments, problems).
pub struct Raw {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: String,
}

impl Raw {
    /// The body's (an SDP or sdpfrag) `a=ice-ufrag` value.
    pub fn ice_ufrag(&self) -> String {
        self.body
            .lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .unwrap_or_else(|| panic!("no a=ice-ufrag in {}", self.body))
            .trim()
            .to_owned()
    }

    /// A header's value, when present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii"))
    }

    /// Checks an RFC 9457 problem with `status` and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let problem: Value = serde_json::from_str(&self.body).expect("problem json");
        assert_eq!(problem["status"], status, "{problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
        problem
    }
}

/// Sends `body` with `headers` and reads the whole answer as text.
pub async fn request(
    server: &Server,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Raw {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = server
        .send(builder.body(Body::from(body.to_owned())).expect("request"))
        .await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = tokio::time::timeout(WAIT, response.into_body().collect())
        .await
        .expect("body in time")
        .expect("readable body")
        .to_bytes();
    Raw {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
    }
}

/// POSTs an SDP offer (WHIP or WHEP) with a bearer token.
pub async fn post_sdp(server: &Server, uri: &str, offer: &str) -> Raw {
    request(
        server,
        Method::POST,
        uri,
        &[
            ("content-type", "application/sdp"),
            ("authorization", "Bearer any-token"),
        ],
        offer,
    )
    .await
}

/// The next event named `name`, skipping others.
pub async fn until(events: &mut Events, name: &str) -> Value {
    loop {
        let event = events.next().await;
        if event.event == name {
            return event.data;
        }
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// `Content-Type`, when present.
    pub content_type: Option<String>,
    /// The body as JSON (`Null` when empty, a string when not JSON).
    pub body: Value,
}

impl Reply {
    async fn read(response: axum::response::Response) -> Self {
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().expect("ascii content type").to_owned());
        let bytes = tokio::time::timeout(WAIT, response.into_body().collect())
            .await
            .expect("the body arrives in time")
            .expect("the body is readable")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Self {
            status,
            content_type,
            body,
        }
    }

    /// The body of a 2xx answer.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected 2xx, got {}: {}",
            self.status,
            self.body
        );
        self.body
    }

    /// The body of an answer with exactly `status`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Checks an RFC 9457 problem with `status` whose `field` is `field` and whose `detail` names it;
    /// returns the problem.
    #[track_caller]
    pub fn problem(self, status: u16, field: Option<&str>) -> Value {
        let body = self.problem_any_field(status);
        assert_eq!(body["field"].as_str(), field, "field of the problem {body}");
        if let Some(field) = field {
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains(field),
                "detail {detail:?} does not name {field:?}"
            );
        }
        body
    }

    /// Checks an RFC 9457 problem with `status`, whatever its field; returns the problem.
    #[track_caller]
    pub fn problem_any_field(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json"),
            "content type of {}",
            self.body
        );
        let body = self.body;
        assert_eq!(body["status"], status, "status member of {body}");
        assert_eq!(body["type"], "about:blank", "type member of {body}");
        assert!(body["title"].is_string(), "title member of {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(!detail.is_empty(), "detail member of {body}");
        body
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct Sse {
    /// `id:` (0 on an unnumbered stream, [`Server::unnumbered_events`]).
    pub id: u64,
    /// `event:`.
    pub event: String,
    /// `data:` as JSON.
    pub data: Value,
}

/// An open event stream.
pub struct Events {
    uri: String,
    body: Body,
    buffer: String,
    /// Whether every event must carry an `id:` (none may on an unnumbered stream).
    numbered: bool,
}

impl Events {
    /// The next event (keep-alive comments skipped); panics when none comes within [`WAIT`] or the stream
    /// ends.
    pub async fn next(&mut self) -> Sse {
        match self.next_or_end().await {
            Some(event) => event,
            None => panic!("{}: the stream ended", self.uri),
        }
    }

    /// The next event, which must be named `name`; returns its data.
    pub async fn expect(&mut self, name: &str) -> Value {
        let event = self.next().await;
        assert_eq!(
            event.event, name,
            "{}: unexpected event {event:?}",
            self.uri
        );
        event.data
    }

    /// Asserts the stream ends (after no further event) within [`WAIT`].
    pub async fn expect_end(&mut self) {
        if let Some(event) = self.next_or_end().await {
            panic!("{}: expected the end, got {event:?}", self.uri);
        }
    }

    /// The next event, or `None` when the stream ended.
    pub async fn next_or_end(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = self.parse(&block) {
                    return Some(event);
                }
                continue;
            }
            let frame = tokio::time::timeout(WAIT, self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("{}: no event within {WAIT:?}", self.uri));
            let Some(frame) = frame else {
                assert!(
                    self.buffer.trim().is_empty(),
                    "{}: stream ended inside an event: {:?}",
                    self.uri,
                    self.buffer
                );
                return None;
            };
            let frame = frame.expect("a readable frame");
            if let Ok(data) = frame.into_data() {
                self.buffer
                    .push_str(std::str::from_utf8(&data).expect("utf-8 events"));
            }
        }
    }

    /// An event block, or `None` for a comment-only block.
    fn parse(&self, block: &str) -> Option<Sse> {
        let (mut id, mut event, mut data) = (None, None, None);
        for line in block
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with(':'))
        {
            let (key, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match key {
                "id" => id = Some(value.parse().expect("a numeric event id")),
                "event" => event = Some(value.to_owned()),
                "data" => {
                    assert!(data.is_none(), "{}: multi-line data: {block:?}", self.uri);
                    data = Some(serde_json::from_str(value).expect("JSON event data"));
                }
                other => panic!("{}: unexpected field {other:?} in {block:?}", self.uri),
            }
        }
        if id.is_none() && event.is_none() && data.is_none() {
            return None;
        }
        let id = if self.numbered {
            id.unwrap_or_else(|| panic!("{}: event without id: {block:?}", self.uri))
        } else {
            assert_eq!(id, None, "{}: an id on an unnumbered stream", self.uri);
            0
        };
        Some(Sse {
            id,
            event: event.unwrap_or_else(|| panic!("{}: event without name: {block:?}", self.uri)),
            data: data.unwrap_or_else(|| panic!("{}: event without data: {block:?}", self.uri)),
        })
    }
}
