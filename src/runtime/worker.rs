//! One worker thread: it owns the routers of the rooms assigned to it and every socket of their
//! transports, runs their packet path, fires their timers, and runs commands from the control plane
//! between socket events.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mediagate_engine::ids::{RoomId, TransportId};
use mediagate_engine::net::{Outbox, SocketRef};
use mediagate_engine::router::{Router, RouterEvent};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

use super::Notifier;
use super::ports::PortRange;
use super::udp::UdpBatch;

/// A unit of work sent to a worker: runs on the worker thread with exclusive access to its state.
pub(crate) type Command = Box<dyn FnOnce(&mut Worker) + Send>;

const WAKER: Token = Token(usize::MAX);

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
    /// Sockets by [`SocketRef`] (the mio token), with a free list.
    sockets: Vec<Option<BoundSocket>>,
    free_sockets: Vec<usize>,
    transport_sockets: HashMap<TransportId, Vec<SocketRef>>,
    io: UdpBatch,
    outbox: Outbox,
    notifier: Notifier,
    /// Datagrams the kernel refused to send.
    send_failures: u64,
    stopping: bool,
}

impl Worker {
    pub(crate) fn new(index: usize, poll: Poll, ports: Arc<PortRange>, notifier: Notifier) -> Self {
        Self {
            index,
            poll,
            ports,
            rooms: HashMap::new(),
            sockets: Vec::new(),
            free_sockets: Vec::new(),
            transport_sockets: HashMap::new(),
            io: UdpBatch::new(),
            outbox: Outbox::new(),
            notifier,
            send_failures: 0,
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
    /// transports that closed are released, and anything the router wants sent is sent, before this
    /// returns.
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
    ) -> io::Result<(SocketAddr, SocketRef)> {
        let std_socket = self.ports.bind_udp(ip)?;
        std_socket.set_nonblocking(true)?;
        let local = std_socket.local_addr()?;
        let mut socket = UdpSocket::from_std(std_socket);
        let slot = self.free_sockets.pop().unwrap_or_else(|| {
            self.sockets.push(None);
            self.sockets.len() - 1
        });
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut socket, Token(slot), Interest::READABLE)
        {
            self.free_sockets.push(slot);
            return Err(e);
        }
        self.sockets[slot] = Some(BoundSocket {
            socket,
            room: room.clone(),
            transport,
        });
        let socket_ref = SocketRef(slot as u32);
        self.transport_sockets
            .entry(transport)
            .or_default()
            .push(socket_ref);
        Ok((local, socket_ref))
    }

    /// Closes every socket of a transport.
    pub fn release_transport(&mut self, transport: TransportId) {
        for socket_ref in self
            .transport_sockets
            .remove(&transport)
            .unwrap_or_default()
        {
            let slot = socket_ref.0 as usize;
            if let Some(mut bound) = self.sockets.get_mut(slot).and_then(Option::take) {
                // Deregistering a socket that is about to close cannot usefully fail.
                let _ = self.poll.registry().deregister(&mut bound.socket);
                self.free_sockets.push(slot);
            }
        }
    }

    /// Number of sockets this worker holds (for leak checks).
    pub fn socket_count(&self) -> usize {
        self.sockets.iter().flatten().count()
    }

    /// Datagrams the kernel refused to send since the start.
    pub fn send_failures(&self) -> u64 {
        self.send_failures
    }

    pub(crate) fn stop(&mut self) {
        self.stopping = true;
    }

    fn fd_of(sockets: &[Option<BoundSocket>], socket: SocketRef) -> Option<RawFd> {
        sockets
            .get(socket.0 as usize)?
            .as_ref()
            .map(|b| b.socket.as_raw_fd())
    }

    fn flush(&mut self) {
        if !self.outbox.is_empty() {
            let sockets = &self.sockets;
            self.send_failures += self.io.send(&mut self.outbox, |s| Self::fd_of(sockets, s));
        }
    }

    /// Hands the events the packet path caused in a room to the control plane.
    fn notify(&mut self, room: &RoomId) {
        let Some(router) = self.rooms.get_mut(room) else {
            return;
        };
        let mut events = Vec::new();
        while let Some(event) = router.poll_event() {
            events.push(event);
        }
        if !events.is_empty() {
            // The control plane is gone only at shutdown: nothing left to tell.
            let _ = self.notifier.send((room.clone(), events));
        }
    }

    /// Reads every pending datagram of a socket into its router's packet path, then sends what that
    /// produced.
    fn drain_socket(&mut self, token: Token) {
        let Some(Some(bound)) = self.sockets.get(token.0) else {
            return;
        };
        let fd = bound.socket.as_raw_fd();
        let (room, transport) = (bound.room.clone(), bound.transport);
        let socket_ref = SocketRef(token.0 as u32);
        loop {
            let count = match self.io.recv(fd) {
                Ok(0) => break,
                Ok(count) => count,
                Err(e) => {
                    // ICMP errors surface here (port unreachable); they never close the transport.
                    tracing::trace!(error = %e, "udp receive error");
                    break;
                }
            };
            let now = Instant::now();
            let Some(router) = self.rooms.get_mut(&room) else {
                break;
            };
            for i in 0..count {
                let (data, from, truncated) = self.io.datagram(i);
                match from {
                    // Its tail is gone: what is left could parse, and must not be forwarded.
                    Some(_) if truncated => router.handle_truncated_datagram(transport),
                    Some(from) => router.handle_datagram(
                        now,
                        transport,
                        socket_ref,
                        from,
                        data,
                        &mut self.outbox,
                    ),
                    None => {}
                }
            }
            self.flush();
        }
        self.notify(&room);
    }

    /// Fires the timers that are due; returns how long until the next one.
    fn handle_timeouts(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut next: Option<Instant> = None;
        let mut due = Vec::new();
        for (id, router) in &mut self.rooms {
            if router.poll_timeout().is_some_and(|t| t <= now) {
                router.handle_timeout(now, unix, &mut self.outbox);
                due.push(id.clone());
            }
            if let Some(t) = router.poll_timeout() {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        self.flush();
        for room in due {
            self.notify(&room);
        }
        next.map(|t| t.saturating_duration_since(now))
    }
}

/// Body of a worker thread: waits on its sockets, its timers and its command channel until told to
/// stop or until every sender is gone.
pub(crate) fn run(mut worker: Worker, commands: mpsc::Receiver<Command>) {
    let mut events = Events::with_capacity(256);
    let mut timeout = None;
    while !worker.stopping {
        if let Err(e) = worker.poll.poll(&mut events, timeout) {
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
                worker.drain_socket(event.token());
            }
        }
        timeout = worker.handle_timeouts();
    }
    tracing::debug!(worker = worker.index, "worker stopped");
}

/// Creates the poll and the waker that wakes it for commands.
pub(crate) fn poll_with_waker() -> io::Result<(Poll, Arc<Waker>)> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    Ok((poll, waker))
}
