//! The OpenAPI document, generated from the handlers and the engine's parameter types. Every operation
//! also documents the problem+json errors it can answer with; `openapi/openapi.json` in the repository is
//! this document, and a test fails when the two drift apart.

use utoipa::OpenApi;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Content, OpenApi as Document, RefOr, Response, ResponseBuilder};

use super::error::Problem;
use super::{
    broadcasters, consumers, data, events, health, legacy, producers, rooms, transports, whep, whip,
};
use crate::events::{Event, StreamReset};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mediagate",
        description = "A selective forwarding unit driven over HTTP: rooms, broadcasters, transports, \
            producers and consumers as REST resources in mediasoup's JSON shapes, and Server-Sent Events.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        health::health,
        rooms::list_rooms, rooms::create_room, rooms::get_room, rooms::delete_room,
        rooms::rtp_capabilities,
        broadcasters::create_broadcaster, broadcasters::list_broadcasters,
        broadcasters::get_broadcaster, broadcasters::delete_broadcaster,
        broadcasters::create_transport,
        transports::get_transport, transports::delete_transport, transports::connect,
        transports::restart_ice, transports::sdp_offer, transports::sdp_description,
        transports::stats, transports::produce, transports::consume,
        transports::produce_data, transports::consume_data,
        producers::get_producer, producers::delete_producer, producers::pause, producers::resume,
        producers::stats,
        consumers::get_consumer, consumers::delete_consumer, consumers::pause, consumers::resume,
        consumers::request_key_frame, consumers::preferred_layers, consumers::priority,
        consumers::stats, consumers::sdp,
        data::get_data_producer, data::delete_data_producer, data::pause_data_producer,
        data::resume_data_producer, data::data_producer_stats, data::send_message,
        data::get_data_consumer, data::delete_data_consumer, data::pause_data_consumer,
        data::resume_data_consumer, data::data_consumer_stats,
        legacy::connect, legacy::produce, legacy::consume, legacy::consume_data,
        legacy::produce_data,
        events::room_events, events::broadcaster_events,
        whip::publish, whip::options, whip::patch_session, whip::delete_session,
        whep::play, whep::patch_session, whep::delete_session, whep::subscribe, whep::event_stream,
    ),
    components(schemas(Problem, Event, StreamReset)),
    tags(
        (name = "server", description = "Health"),
        (name = "rooms", description = "Rooms (mediasoup Routers)"),
        (name = "broadcasters", description = "Peers of a room"),
        (name = "transports", description = "WebRTC and plain RTP transports"),
        (name = "producers", description = "Media into a room"),
        (name = "consumers", description = "Media out of a room"),
        (name = "data", description = "Data producers and consumers (SCTP, or direct over HTTP)"),
        (name = "events", description = "Server-Sent Events"),
        (name = "mediasoup-demo", description = "mediasoup-demo's broadcaster routes"),
        (name = "whip", description = "WHIP ingest (RFC 9725): publish with one SDP offer"),
        (name = "whep", description = "WHEP playback (draft-ietf-wish-whep): play with one SDP offer"),
    )
)]
struct ApiDoc;

/// The OpenAPI document served at `/openapi.json`.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for item in doc.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_problem_responses(operation);
        }
    }
    doc
}

/// The errors every operation can answer with, and those of operations that take a body.
fn add_problem_responses(operation: &mut Operation) {
    let mut statuses = vec![
        (
            "400",
            "Malformed request: bad JSON, a field of the wrong shape, a bad path segment",
        ),
        ("404", "An id in the path or body names nothing"),
        ("500", "Internal error (details are logged, not sent)"),
        (
            "503",
            "No free port, or the worker owning the room is gone (see Retry-After)",
        ),
    ];
    let has_body = operation.request_body.is_some();
    if has_body {
        statuses.extend([
            (
                "409",
                "Wrong state or duplicate (already connected, MID/SSRC/stream id in use…)",
            ),
            ("415", "The body is not JSON"),
            (
                "422",
                "Parameters break a rule (unsupported codec, invalid RTP parameters…)",
            ),
        ]);
    }
    if operation.operation_id.as_deref() == Some("restart_ice") {
        statuses.push(("409", "The transport is not a WebRTC transport"));
    }
    for (status, description) in statuses {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem_response(status, description)));
    }
}

/// A problem+json response; a 503 also names its `Retry-After` header (RFC 9110 §10.2.3).
fn problem_response(status: &str, description: &str) -> Response {
    let response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            "Problem",
        )))),
    );
    if status == "503" {
        response.header("Retry-After", retry_after_header()).build()
    } else {
        response.build()
    }
}

fn retry_after_header() -> Header {
    HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                .minimum(Some(0)),
        ))
        .description(Some("Seconds to wait before retrying"))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_documents_problems() {
        let doc = document();
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.put, &item.post, &item.delete]
                .into_iter()
                .flatten()
            {
                assert!(op.responses.responses.contains_key("404"), "{path}");
            }
        }
    }

    #[test]
    fn every_503_names_retry_after_and_the_routes_that_open_transports_name_the_limit() {
        let doc = document();
        let mut checked = 0;
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.put, &item.post, &item.patch, &item.delete]
                .into_iter()
                .flatten()
            {
                let Some(RefOr::T(response)) = op.responses.responses.get("503") else {
                    panic!("{path}: no 503");
                };
                assert!(
                    response.headers.contains_key("Retry-After"),
                    "{path}: 503 without Retry-After"
                );
                checked += 1;
            }
        }
        assert!(checked > 40, "only {checked} operations");
        for path in [
            "/rooms/{roomId}/broadcasters/{broadcasterId}/transports",
            "/rooms/{roomId}/whip",
            "/rooms/{roomId}/whep",
        ] {
            let post = doc.paths.paths[path].post.as_ref().expect("a POST");
            let Some(RefOr::T(response)) = post.responses.responses.get("503") else {
                panic!("{path}: no 503");
            };
            assert!(
                response.description.contains("max_transports_per_worker"),
                "{path}: {}",
                response.description
            );
        }
    }
}
