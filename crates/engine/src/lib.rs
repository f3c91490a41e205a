//! mediagate's sans-IO media engine.
//!
//! Owns the rules and state machines of the media plane: ORTC capability logic, rooms' routing tables and
//! their objects' lifecycles, and (in later layers) the packet path. Must not: open sockets, spawn threads or
//! tasks, or read the clock. Time, randomness-derived values (SSRCs, ids) and received bytes are inputs;
//! state changes come out of `poll_*` methods.

#![warn(missing_docs)]

pub mod bwe;
pub mod dtls;
pub mod ice;
pub mod ids;
pub mod net;
pub mod ortc;
pub mod router;
pub mod rtcp;
pub mod rtp;
pub mod rtp_parameters;
pub mod sctp;
pub mod sctp_parameters;
pub mod sdp;
pub mod srtp;
pub mod stream;
pub mod transport_parameters;
