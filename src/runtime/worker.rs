//! One worker thread: it owns the routers of the rooms assigned to it and every socket of their
//! transports, runs their packet path, fires their timers, and runs commands from the control plane
//! between socket events. It holds at most `max_transports` open transports over all its rooms (the
//! control plane asks [`Worker::has_transport_slot`] on this thread before creating one).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mediagate_engine::ids::{RoomId, TransportId};
use mediagate_engine::net::{DemuxIndex, Outbox, Route, SocketRef, Unrouted};
use mediagate_engine::router::{Router, RouterEvent};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

use super::Notifier;
use super::ports::PortRange;
use super::udp::UdpBatch;

/// A unit of work sent to a worker: runs on the worker thread with exclusive access to its state.
pub(crate) type Command = Box<dyn FnOnce(&mut Worker) + Send>;

const WAKER: Token = Token(usize::MAX);
/// The ICE-TCP listener's token; connections use tokens from [`super::ice_tcp::TCP_BASE`].
pub(super) const TCP_LISTENER: Token = Token(usize::MAX - 1);

pub(super) struct BoundSocket {
    pub(super) socket: UdpSocket,
    pub(super) owner: SocketOwner,
}

/// Who reads a socket: one transport, or every WebRTC transport of the worker (its shared port).
pub(super) enum SocketOwner {
    Transport {
        room: RoomId,
        transport: TransportId,
    },
    Shared(Box<SharedPort>),
}

/// The worker's shared WebRTC port (mediasoup's WebRtcServer): its demux index and what it could not route.
#[derive(Default)]
pub(super) struct SharedPort {
    pub(super) index: DemuxIndex<(RoomId, TransportId)>,
    pub(super) stats: SharedPortStats,
}

/// Counters of a worker's shared WebRTC port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SharedPortStats {
    /// Datagrams read.
    pub datagrams_received: u64,
    /// Dropped: STUN naming no local ICE username fragment.
    pub dropped_unknown_ufrag: u64,
    /// Dropped: not STUN, from a remote address no ICE check validated.
    pub dropped_unknown_tuple: u64,
    /// Dropped: longer than the receive buffer.
    pub dropped_truncated: u64,
}

/// The shared WebRTC port of a worker as its dump shows it.
#[derive(Clone, Debug)]
pub struct SharedPortInfo {
    /// Local address.
    pub local: SocketAddr,
    /// Counters.
    pub stats: SharedPortStats,
    /// Registered ICE username fragments and validated tuples.
    pub ufrags: usize,
    /// Validated remote tuples.
    pub tuples: usize,
}

/// The state a worker thread owns. Control-plane code reaches it only through commands.
pub struct Worker {
    pub(super) index: usize,
    pub(super) poll: Poll,
    pub(super) ports: Arc<PortRange>,
    pub(super) rooms: HashMap<RoomId, Router>,
    /// Open transports this worker holds at most (over all its rooms).
    pub(super) max_transports: NonZeroUsize,
    /// Sockets by [`SocketRef`] (the mio token), with a free list.
    pub(super) sockets: Vec<Option<BoundSocket>>,
    pub(super) free_sockets: Vec<usize>,
    pub(super) transport_sockets: HashMap<TransportId, Vec<SocketRef>>,
    /// The shared WebRTC port, once bound, and its local address.
    pub(super) shared: Option<(SocketRef, SocketAddr)>,
    /// Rooms whose packet path ran since their events were last handed on (reused, never shrunk).
    pub(super) touched: Vec<RoomId>,
    /// ICE-TCP: the passive listener on the shared port's number, and its accepted connections.
    pub(super) tcp: super::ice_tcp::IceTcp,
    pub(super) io: UdpBatch,
    pub(super) outbox: Outbox,
    pub(super) notifier: Notifier,
    /// Datagrams the kernel refused to send.
    pub(super) send_failures: u64,
    pub(super) stopping: bool,
}

impl Worker {
    pub(crate) fn new(
        index: usize,
        poll: Poll,
        ports: Arc<PortRange>,
        notifier: Notifier,
        max_transports: NonZeroUsize,
    ) -> Self {
        Self {
            index,
            poll,
            ports,
            rooms: HashMap::new(),
            max_transports,
            sockets: Vec::new(),
            free_sockets: Vec::new(),
            transport_sockets: HashMap::new(),
            shared: None,
            touched: Vec::new(),
            tcp: super::ice_tcp::IceTcp::default(),
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
        let owner = SocketOwner::Transport {
            room: room.clone(),
            transport,
        };
        let bound = self.register(std_socket, owner)?;
        self.transport_sockets
            .entry(transport)
            .or_default()
            .push(bound.1);
        Ok(bound)
    }

    /// Takes the worker's shared WebRTC port (bound by the runtime) and starts reading it.
    pub fn adopt_shared_udp(&mut self, socket: std::net::UdpSocket) -> io::Result<SocketAddr> {
        let owner = SocketOwner::Shared(Box::default());
        let (local, socket_ref) = self.register(socket, owner)?;
        self.shared = Some((socket_ref, local));
        Ok(local)
    }

    /// The shared WebRTC port, if bound.
    pub fn shared_udp(&self) -> Option<(SocketAddr, SocketRef)> {
        self.shared.map(|(socket, local)| (local, socket))
    }

    /// Routes STUN naming `ufrag` on the shared port to a WebRTC transport (again after each ICE restart;
    /// every fragment of the transport is forgotten when it is released).
    pub fn register_ice_ufrag(&mut self, room: &RoomId, transport: TransportId, ufrag: &str) {
        if let Some(port) = self.shared_port_mut() {
            port.index.insert_ufrag(ufrag, (room.clone(), transport));
        }
    }

    /// The shared port's address, counters and index size.
    pub fn shared_port_info(&self) -> Option<SharedPortInfo> {
        let (socket, local) = self.shared?;
        match &self.sockets.get(socket.0 as usize)?.as_ref()?.owner {
            SocketOwner::Shared(port) => {
                let (ufrags, tuples) = port.index.len();
                Some(SharedPortInfo {
                    local,
                    stats: port.stats,
                    ufrags,
                    tuples,
                })
            }
            SocketOwner::Transport { .. } => None,
        }
    }

    pub(super) fn shared_port_mut(&mut self) -> Option<&mut SharedPort> {
        let (socket, _) = self.shared?;
        match &mut self.sockets.get_mut(socket.0 as usize)?.as_mut()?.owner {
            SocketOwner::Shared(port) => Some(port),
            SocketOwner::Transport { .. } => None,
        }
    }

    /// Makes a bound socket non-blocking and starts reading it.
    fn register(
        &mut self,
        std_socket: std::net::UdpSocket,
        owner: SocketOwner,
    ) -> io::Result<(SocketAddr, SocketRef)> {
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
        self.sockets[slot] = Some(BoundSocket { socket, owner });
        Ok((local, SocketRef(slot as u32)))
    }

    /// Closes every socket of a transport and forgets its routes on the shared port.
    pub fn release_transport(&mut self, transport: TransportId) {
        if let Some(port) = self.shared_port_mut() {
            port.index.remove_if(|(_, t)| *t == transport);
        }
        self.close_tcp_of(transport);
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

    /// Number of transport sockets this worker holds (for leak checks; the shared port is not counted).
    pub fn socket_count(&self) -> usize {
        self.sockets
            .iter()
            .flatten()
            .filter(|b| matches!(b.owner, SocketOwner::Transport { .. }))
            .count()
    }

    /// Open transports over every room of this worker. Counted from the routers themselves, so a transport
    /// is counted exactly while its router holds it: closed by request, by its broadcaster leaving, by ICE
    /// consent expiry or DTLS failure on the packet path, or with its room, it is gone from the count.
    /// Costs one look per room; it is asked once per transport creation.
    pub fn transport_count(&self) -> usize {
        self.rooms.values().map(|r| r.counts().transports).sum()
    }

    /// Open transports this worker holds at most.
    pub fn max_transports(&self) -> NonZeroUsize {
        self.max_transports
    }

    /// Whether one more transport may be opened on this worker.
    pub fn has_transport_slot(&self) -> bool {
        self.transport_count() < self.max_transports.get()
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

    pub(super) fn flush(&mut self) {
        if !self.outbox.is_empty() {
            self.send_tcp_transmits();
            let sockets = &self.sockets;
            self.send_failures += self.io.send(&mut self.outbox, |s| Self::fd_of(sockets, s));
        }
    }

    /// Hands the events the packet path caused in a room to the control plane.
    pub(super) fn notify(&mut self, room: &RoomId) {
        let Some(router) = self.rooms.get_mut(room) else {
            return;
        };
        let mut events = Vec::new();
        while let Some(event) = router.poll_event() {
            events.push(event);
        }
        for event in &events {
            // The packet path closes transports too (ICE consent lost, DTLS failed).
            if let RouterEvent::TransportClosed { transport_id, .. } = event {
                self.release_transport(*transport_id);
            }
        }
        if !events.is_empty() {
            // The control plane is gone only at shutdown: nothing left to tell.
            let _ = self.notifier.send((room.clone(), events));
        }
    }

    /// Reads every pending datagram of a socket into its router's packet path (through the demux index on
    /// the shared port), then sends what that produced.
    fn drain_socket(&mut self, token: Token) {
        let Some(Some(bound)) = self.sockets.get(token.0) else {
            return;
        };
        let fd = bound.socket.as_raw_fd();
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
            let Some(Some(bound)) = self.sockets.get_mut(token.0) else {
                break;
            };
            match &mut bound.owner {
                SocketOwner::Transport { room, transport } => {
                    let Some(router) = self.rooms.get_mut(room) else {
                        break;
                    };
                    if !self.touched.contains(room) {
                        self.touched.push(room.clone());
                    }
                    for i in 0..count {
                        let (data, from, truncated) = self.io.datagram(i);
                        match from {
                            // Its tail is gone: what is left could parse, and must not be forwarded.
                            Some(_) if truncated => router.handle_truncated_datagram(*transport),
                            Some(from) => router.handle_datagram(
                                now,
                                *transport,
                                socket_ref,
                                from,
                                data,
                                &mut self.outbox,
                            ),
                            None => {}
                        }
                    }
                }
                SocketOwner::Shared(port) => {
                    for i in 0..count {
                        let (data, from, truncated) = self.io.datagram(i);
                        let Some(from) = from else { continue };
                        port.stats.datagrams_received += 1;
                        if truncated {
                            port.stats.dropped_truncated += 1;
                            continue;
                        }
                        let (room, transport, by_ufrag) = match port.index.route(from, data) {
                            Route::Tuple((room, transport)) => (room, *transport, false),
                            Route::Ufrag((room, transport)) => (room, *transport, true),
                            Route::Unknown(Unrouted::UnknownUfrag) => {
                                port.stats.dropped_unknown_ufrag += 1;
                                continue;
                            }
                            Route::Unknown(Unrouted::UnknownTuple) => {
                                port.stats.dropped_unknown_tuple += 1;
                                continue;
                            }
                        };
                        let Some(router) = self.rooms.get_mut(room) else {
                            continue;
                        };
                        if !self.touched.contains(room) {
                            self.touched.push(room.clone());
                        }
                        router.handle_datagram(
                            now,
                            transport,
                            socket_ref,
                            from,
                            data,
                            &mut self.outbox,
                        );
                        if by_ufrag && router.is_valid_ice_tuple(transport, from) {
                            let owner = (room.clone(), transport);
                            port.index.insert_tuple(from, owner);
                        }
                    }
                }
            }
            self.flush();
        }
        while let Some(room) = self.touched.pop() {
            self.notify(&room);
        }
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
            if event.token() == TCP_LISTENER {
                worker.accept_tcp();
            } else if event.token() != WAKER && event.token().0 >= super::ice_tcp::TCP_BASE {
                worker.drain_tcp(event.token());
            } else if event.token() == WAKER {
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
