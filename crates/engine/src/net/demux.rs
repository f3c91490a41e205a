//! [`DemuxIndex`]: which transport a datagram arriving on a shared port belongs to (mediasoup's
//! WebRtcServer demultiplexing).
//!
//! A datagram from a remote address that a transport's ICE server has validated goes to that transport
//! (5-tuple lookup: the local end is the shared socket itself, so the remote address is the key). From an
//! unknown address only a STUN Binding Request can open a path: its USERNAME starts with the local ICE
//! username fragment of the transport it is meant for (RFC 8445 §7.2.2), which routes it to that transport's
//! ICE server; once that server has answered a valid check, the caller records the tuple here.
//!
//! Owns: the ufrag → owner and remote address → owner maps. Must not: validate STUN (the ICE server does),
//! allocate per datagram (lookups borrow the datagram), or know rooms or sockets (the owner is generic).

use std::collections::HashMap;
use std::net::SocketAddr;

use super::{PacketKind, classify};
use crate::ice::stun::local_ufrag_of;

/// Where a datagram should go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a, T> {
    /// From a tuple an ICE server validated: to its transport.
    Tuple(&'a T),
    /// A STUN request naming a known local username fragment: to that transport's ICE server, which decides
    /// whether the tuple becomes valid.
    Ufrag(&'a T),
    /// Nobody's: drop and count.
    Unknown(Unrouted),
}

/// Why a datagram on a shared port has no owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unrouted {
    /// STUN whose USERNAME names no local username fragment (or has none).
    UnknownUfrag,
    /// Anything else from an address no ICE server has validated.
    UnknownTuple,
}

/// The demultiplexing index of one shared socket; `T` identifies a transport.
#[derive(Debug)]
pub struct DemuxIndex<T> {
    by_ufrag: HashMap<Box<str>, T>,
    by_tuple: HashMap<SocketAddr, T>,
}

impl<T> Default for DemuxIndex<T> {
    fn default() -> Self {
        Self {
            by_ufrag: HashMap::new(),
            by_tuple: HashMap::new(),
        }
    }
}

impl<T: Clone + PartialEq> DemuxIndex<T> {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes one datagram from `from`.
    pub fn route(&self, from: SocketAddr, datagram: &[u8]) -> Route<'_, T> {
        if let Some(owner) = self.by_tuple.get(&from) {
            return Route::Tuple(owner);
        }
        if classify(datagram) != PacketKind::Stun {
            return Route::Unknown(Unrouted::UnknownTuple);
        }
        match self.route_ufrag(datagram) {
            Some(owner) => Route::Ufrag(owner),
            None => Route::Unknown(Unrouted::UnknownUfrag),
        }
    }

    /// The owner of the local username fragment a STUN request names (for paths without a tuple index, such
    /// as a new ICE-TCP connection).
    pub fn route_ufrag(&self, datagram: &[u8]) -> Option<&T> {
        let ufrag = std::str::from_utf8(local_ufrag_of(datagram)?).ok()?;
        self.by_ufrag.get(ufrag)
    }

    /// Registers a local username fragment (a transport's, or its new one after an ICE restart; the old one
    /// stays until the transport is removed, so checks in flight still arrive).
    pub fn insert_ufrag(&mut self, ufrag: &str, owner: T) {
        self.by_ufrag.insert(ufrag.into(), owner);
    }

    /// Records a tuple an ICE server validated. A tuple belongs to one transport: a newer owner replaces an
    /// older one (the remote side reused its port for another peer connection).
    pub fn insert_tuple(&mut self, remote: SocketAddr, owner: T) {
        self.by_tuple.insert(remote, owner);
    }

    /// Whether `remote` is routed to `owner` by tuple.
    pub fn has_tuple(&self, remote: SocketAddr, owner: &T) -> bool {
        self.by_tuple.get(&remote) == Some(owner)
    }

    /// Forgets everything that routes to `owner`.
    pub fn remove(&mut self, owner: &T) {
        self.remove_if(|o| o == owner);
    }

    /// Forgets everything that routes to an owner `f` picks.
    pub fn remove_if(&mut self, f: impl Fn(&T) -> bool) {
        self.by_ufrag.retain(|_, o| !f(o));
        self.by_tuple.retain(|_, o| !f(o));
    }

    /// Registered username fragments and tuples (for leak checks and stats).
    pub fn len(&self) -> (usize, usize) {
        (self.by_ufrag.len(), self.by_tuple.len())
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.by_ufrag.is_empty() && self.by_tuple.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ice::stun;

    fn request(username: &str) -> Vec<u8> {
        let mut buf = vec![0u8; 200];
        let key = stun::integrity_key("pwd");
        let len = stun::write_binding_request(&mut buf, &[7; 12], username, &key, false)
            .expect("request fits");
        buf.truncate(len);
        buf
    }

    #[test]
    fn stun_routes_by_ufrag_then_by_tuple() {
        let mut index = DemuxIndex::new();
        index.insert_ufrag("aaaa", 1);
        index.insert_ufrag("bbbb", 2);
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(index.route(from, &request("bbbb:remote")), Route::Ufrag(&2));
        assert_eq!(
            index.route(from, &request("cccc:remote")),
            Route::Unknown(Unrouted::UnknownUfrag)
        );
        // Not STUN and not validated.
        let dtls = [22u8, 0xfe, 0xfd, 0, 0];
        assert_eq!(
            index.route(from, &dtls),
            Route::Unknown(Unrouted::UnknownTuple)
        );
        index.insert_tuple(from, 2);
        assert_eq!(index.route(from, &dtls), Route::Tuple(&2));
        // A validated tuple wins even for STUN naming another transport: its ICE server rejects it.
        assert_eq!(index.route(from, &request("aaaa:remote")), Route::Tuple(&2));
        assert!(index.has_tuple(from, &2));
    }

    #[test]
    fn removing_an_owner_forgets_its_ufrags_and_tuples() {
        let mut index = DemuxIndex::new();
        index.insert_ufrag("aaaa", 1);
        index.insert_ufrag("aaab", 1);
        index.insert_ufrag("bbbb", 2);
        index.insert_tuple("127.0.0.1:1".parse().unwrap(), 1);
        index.insert_tuple("127.0.0.1:2".parse().unwrap(), 2);
        index.remove(&1);
        assert_eq!(index.len(), (1, 1));
        index.remove(&2);
        assert!(index.is_empty());
    }

    #[test]
    fn garbage_is_unknown() {
        let index: DemuxIndex<u8> = DemuxIndex::new();
        let from: SocketAddr = "[::1]:9".parse().unwrap();
        for datagram in [&[][..], &[0, 1][..], &[0x80; 40][..], &[1; 20][..]] {
            assert!(matches!(index.route(from, datagram), Route::Unknown(_)));
        }
    }
}
