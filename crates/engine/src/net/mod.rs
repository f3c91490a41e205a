//! The network edge of the packet path: what a received datagram is.
//!
//! Owns: RFC 7983 first-byte demultiplexing of datagrams arriving on one 5-tuple (STUN, DTLS, RTP, RTCP),
//! with the RTP/RTCP split of RFC 5761 §4, and the outbox of datagrams to send. Must not: parse beyond the bytes the decision needs, allocate,
//! or hold per-datagram state. The shared-port demux index (ICE ufrag, then 5-tuple) is in [`DemuxIndex`].

mod classify;
mod demux;
#[cfg(test)]
pub(crate) mod noise;
mod outbox;

pub use classify::{PacketKind, classify};
pub use demux::{DemuxIndex, Route, Unrouted};
pub use outbox::{Outbox, SocketRef, TRANSMIT_CAPACITY, Transmit};
