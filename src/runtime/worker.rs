//! One worker thread: it owns the routers of the rooms assigned to it and every socket of their
//! transports, and runs commands from the control plane between socket events.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc;

use mediagate_engine::ids::{RoomId, TransportId};
use mediagate_engine::router::{Router, RouterEvent};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

use super::ports::PortRange;

/// A unit of work sent to a worker: runs on the worker thread with exclusive access to its state.
pub(crate) type Command = Box<dyn FnOnce(&mut Worker) + Send>;

const WAKER: Token = Token(usize::MAX);
const RECV_BUFFER: usize = 65_536;

struct BoundSocket {
    socket: UdpSocket,
    room: RoomId,
    transport: TransportId,
}

/// The state a worker thread owns. Control-plane code reaches it only through commands.
pub struct Worker {
    index: usize,
    poll: Poll,
    ports: Arc<PortRange>,
    rooms: HashMap<RoomId, Router>,
    sockets: HashMap<Token, BoundSocket>,
    transport_sockets: HashMap<TransportId, Vec<Token>>,
    next_token: usize,
    stopping: bool,
}

impl Worker {
    pub(crate) fn new(index: usize, poll: Poll, ports: Arc<PortRange>) -> Self {
        Self {
            index,
            poll,
            ports,
            rooms: HashMap::new(),
            sockets: HashMap::new(),
            transport_sockets: HashMap::new(),
            next_token: 0,
            stopping: false,
        }
    }

    /// Index of this worker (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Adds a room's router to this worker.
    pub fn insert_room(&mut self, router: Router) {
        self.rooms.insert(router.id().clone(), router);
    }

    /// Runs `f` on a room's router and returns its result with the events it caused. Sockets of
    /// transports that closed are released before this returns.
    pub fn with_room<R>(
        &mut self,
        room: &RoomId,
        f: impl FnOnce(&mut Router) -> R,
    ) -> Option<(R, Vec<RouterEvent>)> {
        let router = self.rooms.get_mut(room)?;
        let result = f(router);
        let mut events = Vec::new();
        while let Some(event) = router.poll_event() {
            events.push(event);
        }
        for event in &events {
            if let RouterEvent::TransportClosed { transport_id, .. } = event {
                self.release_transport(*transport_id);
            }
        }
        Some((result, events))
    }

    /// Closes a room: every object closes, every socket is released; returns the events.
    pub fn remove_room(&mut self, room: &RoomId) -> Option<Vec<RouterEvent>> {
        let (_, events) = self.with_room(room, Router::close)?;
        self.rooms.remove(room);
        Some(events)
    }

    /// Read access to a room's router.
    pub fn room(&self, room: &RoomId) -> Option<&Router> {
        self.rooms.get(room)
    }

    /// Every router of this worker.
    pub fn rooms(&self) -> impl Iterator<Item = &Router> {
        self.rooms.values()
    }

    /// Binds a UDP socket in the RTC port range for a transport and starts reading it.
    pub fn bind_udp(
        &mut self,
        room: &RoomId,
        transport: TransportId,
        ip: IpAddr,
    ) -> io::Result<SocketAddr> {
        let std_socket = self.ports.bind_udp(ip)?;
        std_socket.set_nonblocking(true)?;
        let local = std_socket.local_addr()?;
        let mut socket = UdpSocket::from_std(std_socket);
        let token = Token(self.next_token);
        self.next_token += 1;
        self.poll
            .registry()
            .register(&mut socket, token, Interest::READABLE)?;
        self.sockets.insert(
            token,
            BoundSocket {
                socket,
                room: room.clone(),
                transport,
            },
        );
        self.transport_sockets
            .entry(transport)
            .or_default()
            .push(token);
        Ok(local)
    }

    /// Closes every socket of a transport.
    pub fn release_transport(&mut self, transport: TransportId) {
        for token in self
            .transport_sockets
            .remove(&transport)
            .unwrap_or_default()
        {
            if let Some(mut bound) = self.sockets.remove(&token) {
                // Deregistering a socket that is about to close cannot usefully fail.
                let _ = self.poll.registry().deregister(&mut bound.socket);
            }
        }
    }

    /// Number of sockets this worker holds (for leak checks).
    pub fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    pub(crate) fn stop(&mut self) {
        self.stopping = true;
    }

    /// Reads every pending datagram of a socket. Media processing arrives with the packet path; until
    /// then a datagram is counted on its transport and dropped.
    fn drain_socket(&mut self, token: Token, buf: &mut [u8]) {
        let Some(bound) = self.sockets.get(&token) else {
            return;
        };
        loop {
            match bound.socket.recv_from(buf) {
                Ok((len, _from)) => {
                    if let Some(router) = self.rooms.get_mut(&bound.room) {
                        router.handle_unrouted_datagram(bound.transport, len);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // ICMP errors surface here (port unreachable); they never close the transport.
                    tracing::trace!(error = %e, "udp receive error");
                    return;
                }
            }
        }
    }
}

/// Body of a worker thread: waits on its sockets and its command channel until told to stop or until
/// every sender is gone.
pub(crate) fn run(mut worker: Worker, commands: mpsc::Receiver<Command>) {
    let mut events = Events::with_capacity(256);
    let mut buf = vec![0u8; RECV_BUFFER];
    while !worker.stopping {
        if let Err(e) = worker.poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            tracing::error!(worker = worker.index, error = %e, "poll failed; worker stops");
            break;
        }
        for event in events.iter() {
            if event.token() == WAKER {
                loop {
                    match commands.try_recv() {
                        Ok(command) => command(&mut worker),
                        Err(mpsc::TryRecvError::Empty) => break,
                        Err(mpsc::TryRecvError::Disconnected) => {
                            worker.stopping = true;
                            break;
                        }
                    }
                }
            } else {
                worker.drain_socket(event.token(), &mut buf);
            }
        }
    }
    tracing::debug!(worker = worker.index, "worker stopped");
}

/// Creates the poll and the waker that wakes it for commands.
pub(crate) fn poll_with_waker() -> io::Result<(Poll, Arc<Waker>)> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    Ok((poll, waker))
}
