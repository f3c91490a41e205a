//! In-process tests of the HTTP API: requests go through `mediagate::api::router` with
//! `tower::ServiceExt::oneshot` against a real control plane (one worker thread, real UDP sockets);
//! event streams are read frame by frame with a timeout. One module per behaviour.

mod data;
mod demo_compat;
mod errors;
mod events;
mod harness;
mod lifecycle;
mod ortc;
mod overload;
mod sdp;
mod webrtc_ice;
mod whep;
mod whip;
