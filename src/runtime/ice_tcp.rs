//! The worker's ICE-TCP side (RFC 6544 passive candidates): accepting connections on the shared WebRTC
//! port's number, reading RFC 4571 frames into the packet path, and writing the engine's transmits that are
//! addressed to a connection.
//!
//! A new connection belongs to nobody until a STUN check on it names a transport's username fragment and that
//! transport's ICE server validates it; from then on every frame goes to that transport, whose ICE server knows
//! the connection as one more tuple. Closing the connection takes the tuple away (`handle_path_closed`).
//!
//! Must not: block the worker (everything is non-blocking and bounded), or keep connections of closed
//! transports.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mediagate_engine::ids::TransportId;
use mediagate_engine::net::{PacketKind, SocketRef, classify};
use mio::net::TcpListener;
use mio::{Interest, Token};

use super::tcp::{ReadOutcome, TcpConnection};
use super::worker::{TCP_LISTENER, Worker};

/// Tokens (and [`SocketRef`]s) of ICE-TCP connections start here; UDP sockets use the numbers below.
pub(crate) const TCP_BASE: usize = 1 << 30;
/// Connections kept at most; more are refused (each holds a 64 KiB frame buffer).
const MAX_CONNECTIONS: usize = 1024;
/// Frames longer than this are dropped (no RTP, RTCP, STUN or DTLS datagram of ours is larger).
const MAX_PACKET: usize = 2048;

/// The ICE-TCP state of a worker.
#[derive(Default)]
pub(crate) struct IceTcp {
    listener: Option<(TcpListener, SocketAddr)>,
    connections: Vec<Option<Box<TcpConnection>>>,
    free: Vec<usize>,
    frame: Vec<u8>,
}

impl IceTcp {
    fn connection(&mut self, socket: SocketRef) -> Option<&mut TcpConnection> {
        let slot = (socket.0 as usize).checked_sub(TCP_BASE)?;
        self.connections.get_mut(slot)?.as_deref_mut()
    }

    /// Open connections (for leak checks).
    pub(crate) fn connection_count(&self) -> usize {
        self.connections.iter().flatten().count()
    }
}

impl Worker {
    /// Takes the passive ICE-TCP listener (bound by the runtime on the shared port's number).
    pub fn adopt_tcp_listener(&mut self, listener: std::net::TcpListener) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let mut listener = TcpListener::from_std(listener);
        self.poll
            .registry()
            .register(&mut listener, TCP_LISTENER, Interest::READABLE)?;
        self.tcp.listener = Some((listener, local));
        self.tcp.frame = vec![0; MAX_PACKET];
        Ok(())
    }

    /// The ICE-TCP listener's address, if the worker has one.
    pub fn shared_tcp(&self) -> Option<SocketAddr> {
        self.tcp.listener.as_ref().map(|(_, local)| *local)
    }

    /// Accepts every pending connection.
    pub(super) fn accept_tcp(&mut self) {
        loop {
            let Some((listener, _)) = &self.tcp.listener else {
                return;
            };
            let (mut stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!(error = %e, "ice-tcp accept failed");
                    return;
                }
            };
            if self.tcp.connection_count() >= MAX_CONNECTIONS {
                tracing::debug!(%peer, "ice-tcp connection refused: too many");
                continue;
            }
            let _ = stream.set_nodelay(true);
            let slot = self.tcp.free.pop().unwrap_or_else(|| {
                self.tcp.connections.push(None);
                self.tcp.connections.len() - 1
            });
            let token = Token(TCP_BASE + slot);
            let interest = Interest::READABLE | Interest::WRITABLE;
            if self
                .poll
                .registry()
                .register(&mut stream, token, interest)
                .is_err()
            {
                self.tcp.free.push(slot);
                continue;
            }
            self.tcp.connections[slot] = Some(Box::new(TcpConnection::new(stream, peer)));
        }
    }

    /// Reads a connection's frames into the packet path (or flushes it when it became writable).
    pub(super) fn drain_tcp(&mut self, token: Token) {
        let socket = SocketRef(token.0 as u32);
        let mut closed = false;
        loop {
            let Some(conn) = self.tcp.connection(socket) else {
                return;
            };
            if !conn.flush() {
                closed = true;
                break;
            }
            match conn.read() {
                ReadOutcome::Data => {}
                ReadOutcome::WouldBlock => break,
                ReadOutcome::Closed => {
                    closed = true;
                    break;
                }
            }
            self.handle_tcp_frames(socket);
        }
        self.handle_tcp_frames(socket);
        self.flush();
        if closed {
            self.close_tcp(socket);
        }
        while let Some(room) = self.touched.pop() {
            self.notify(&room);
        }
    }

    /// Feeds every complete frame of a connection to the transport it belongs to (or, for a STUN check on an
    /// unowned connection, to the transport its username fragment names).
    fn handle_tcp_frames(&mut self, socket: SocketRef) {
        let now = Instant::now();
        let mut frame = std::mem::take(&mut self.tcp.frame);
        while let Some(conn) = self.tcp.connection(socket) {
            let Some(len) = conn.next_frame(&mut frame) else {
                break;
            };
            let peer = conn.peer;
            let owner = conn.owner.clone();
            let Some(port) = self.shared_port_mut() else {
                break;
            };
            port.stats.datagrams_received += 1;
            if len > frame.len() {
                port.stats.dropped_truncated += 1;
                continue;
            }
            let data = &mut frame[..len];
            let (room, transport) = match owner {
                Some(owner) => owner,
                None if classify(data) == PacketKind::Stun => match port.index.route_ufrag(data) {
                    Some(owner) => owner.clone(),
                    None => {
                        port.stats.dropped_unknown_ufrag += 1;
                        continue;
                    }
                },
                None => {
                    port.stats.dropped_unknown_tuple += 1;
                    continue;
                }
            };
            let Some(router) = self.rooms.get_mut(&room) else {
                continue;
            };
            router.handle_datagram(now, transport, socket, peer, data, &mut self.outbox);
            let valid = router.is_valid_ice_tuple(transport, peer);
            if !self.touched.contains(&room) {
                self.touched.push(room.clone());
            }
            if let Some(conn) = self.tcp.connection(socket)
                && conn.owner.is_none()
                && valid
            {
                conn.owner = Some((room, transport));
            }
        }
        self.tcp.frame = frame;
    }

    /// Writes the outbox's transmits that go to ICE-TCP connections (the UDP batch skips them).
    pub(super) fn send_tcp_transmits(&mut self) {
        if self.tcp.connections.is_empty() {
            return;
        }
        for transmit in self.outbox.transmits() {
            if (transmit.socket.0 as usize) < TCP_BASE {
                continue;
            }
            if let Some(conn) = self.tcp.connection(transmit.socket) {
                conn.send(transmit.bytes());
            }
        }
    }

    /// Closes a connection; its transport's ICE server forgets the tuple.
    fn close_tcp(&mut self, socket: SocketRef) {
        let Some(slot) = (socket.0 as usize).checked_sub(TCP_BASE) else {
            return;
        };
        let Some(mut conn) = self.tcp.connections.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.tcp.free.push(slot);
        if let Some((room, transport)) = conn.owner.take()
            && let Some(router) = self.rooms.get_mut(&room)
        {
            router.handle_path_closed(Instant::now(), transport, socket);
            self.flush();
            self.notify(&room);
        }
    }

    /// Closes the connections of a transport that closed.
    pub(super) fn close_tcp_of(&mut self, transport: TransportId) {
        for slot in 0..self.tcp.connections.len() {
            let owned = self.tcp.connections[slot]
                .as_ref()
                .is_some_and(|c| c.owner.as_ref().is_some_and(|(_, t)| *t == transport));
            if owned && let Some(mut conn) = self.tcp.connections[slot].take() {
                let _ = self.poll.registry().deregister(&mut conn.stream);
                self.tcp.free.push(slot);
            }
        }
    }
}
