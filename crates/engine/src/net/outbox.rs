//! Datagrams the engine wants sent: written by the packet path into buffers the outbox owns, drained by
//! the runtime into batched sends.
//!
//! Owns: a pool of MTU-sized buffers that grows to the largest burst seen (the widest fan-out) and is then
//! reused, so steady-state forwarding allocates nothing. Must not: send anything.

use std::net::SocketAddr;

/// Room for one datagram: an MTU plus the largest SRTP trailer.
pub const TRANSMIT_CAPACITY: usize = 1500 + 32;

/// Which local socket a datagram leaves from: an opaque handle the runtime gave the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketRef(pub u32);

/// One datagram to send.
pub struct Transmit {
    /// Local socket.
    pub socket: SocketRef,
    /// Destination.
    pub destination: SocketAddr,
    len: usize,
    buf: Box<[u8; TRANSMIT_CAPACITY]>,
}

impl Transmit {
    /// The datagram.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Debug for Transmit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transmit")
            .field("socket", &self.socket)
            .field("destination", &self.destination)
            .field("len", &self.len)
            .finish()
    }
}

/// Pending datagrams, in the order they were produced.
#[derive(Debug, Default)]
pub struct Outbox {
    slots: Vec<Transmit>,
    len: usize,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of pending datagrams.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes one datagram: `write` fills the buffer and returns the length used (0 discards the slot).
    pub fn push(
        &mut self,
        socket: SocketRef,
        destination: SocketAddr,
        write: impl FnOnce(&mut [u8; TRANSMIT_CAPACITY]) -> usize,
    ) {
        if self.len == self.slots.len() {
            self.slots.push(Transmit {
                socket,
                destination,
                len: 0,
                buf: Box::new([0; TRANSMIT_CAPACITY]),
            });
        }
        let slot = &mut self.slots[self.len];
        slot.socket = socket;
        slot.destination = destination;
        slot.len = write(&mut slot.buf).min(TRANSMIT_CAPACITY);
        if slot.len > 0 {
            self.len += 1;
        }
    }

    /// The pending datagrams.
    pub fn transmits(&self) -> &[Transmit] {
        &self.slots[..self.len]
    }

    /// Forgets the pending datagrams (after they were sent); the buffers stay for reuse.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_its_buffers() {
        let to: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut out = Outbox::new();
        out.push(SocketRef(1), to, |b| {
            b[..3].copy_from_slice(b"abc");
            3
        });
        out.push(SocketRef(2), to, |_| 0);
        assert_eq!(out.len(), 1);
        assert_eq!(out.transmits()[0].bytes(), b"abc");
        out.clear();
        out.push(SocketRef(3), to, |b| {
            b[0] = 9;
            1
        });
        assert_eq!(out.transmits()[0].bytes(), &[9]);
        assert_eq!(out.transmits()[0].socket, SocketRef(3));
        assert_eq!(
            out.slots.len(),
            2,
            "the discarded slot was reused, nothing new allocated"
        );
    }
}
