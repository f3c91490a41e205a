//! The runtime: the only place with sockets, threads and clocks.
//!
//! One worker thread per core. Each owns the routers of the rooms assigned to it and every socket of their
//! transports, and runs their packet path (batched receive → engine → batched send) and timers; nothing
//! in a worker is shared with another thread. The control plane reaches a worker by
//! sending it a command (a closure) over a channel and awaiting the reply; the worker runs commands between
//! socket events, so a command sees a consistent room.

mod ice_tcp;
mod ports;
mod tcp;
mod udp;
mod worker;

use std::io;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use mediagate_engine::ids::RoomId;
use mediagate_engine::router::RouterEvent;

pub use ports::PortRange;
pub use worker::Worker;

/// Where workers send the events their packet path caused (a tuple latched, a score changed), per room.
pub type Notifier = tokio::sync::mpsc::UnboundedSender<(RoomId, Vec<RouterEvent>)>;

/// The worker is gone (stopped or crashed).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("worker {0} is not running")]
pub struct WorkerGone(pub usize);

/// Runtime settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Number of worker threads.
    pub workers: usize,
    /// Address the RTC sockets bind to.
    pub rtc_ip: IpAddr,
    /// Port range of the RTC sockets.
    pub rtc_ports: RangeInclusive<u16>,
    /// First port of the shared WebRTC ports (worker N binds this + N); `None`: a port of the range each.
    pub webrtc_port: Option<u16>,
    /// Open transports a worker holds at most; creating one more fails until one closes.
    pub max_transports_per_worker: NonZeroUsize,
}

/// A handle on one worker thread.
#[derive(Debug)]
pub struct WorkerHandle {
    index: usize,
    commands: mpsc::Sender<worker::Command>,
    waker: Arc<mio::Waker>,
    load: Arc<AtomicUsize>,
}

impl WorkerHandle {
    /// Index of the worker.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Number of rooms assigned to the worker.
    pub fn load(&self) -> usize {
        self.load.load(Ordering::Relaxed)
    }

    /// Counts a room assigned to the worker.
    pub fn assign_room(&self) {
        self.load.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a room removed from the worker.
    pub fn unassign_room(&self) {
        self.load.fetch_sub(1, Ordering::Relaxed);
    }

    /// Runs `f` on the worker thread and returns its result.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Worker) -> R + Send + 'static,
    ) -> Result<R, WorkerGone> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Box::new(move |worker: &mut Worker| {
            // The caller may have gone away; the work is done either way.
            let _ = tx.send(f(worker));
        }))?;
        rx.await.map_err(|_| WorkerGone(self.index))
    }

    /// Queues `f` on the worker without waiting for it. Commands run in the order they were sent.
    pub fn send_detached(
        &self,
        f: impl FnOnce(&mut Worker) + Send + 'static,
    ) -> Result<(), WorkerGone> {
        self.send(Box::new(f))
    }

    fn send(&self, command: worker::Command) -> Result<(), WorkerGone> {
        self.commands
            .send(command)
            .map_err(|_| WorkerGone(self.index))?;
        self.waker.wake().map_err(|_| WorkerGone(self.index))
    }
}

/// The worker threads.
#[derive(Debug)]
pub struct Runtime {
    workers: Vec<WorkerHandle>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
    config: RuntimeConfig,
}

impl Runtime {
    /// Starts the worker threads.
    pub fn start(config: RuntimeConfig, notifier: Notifier) -> io::Result<Self> {
        let ports = Arc::new(PortRange::new(config.rtc_ports.clone()));
        let mut workers = Vec::new();
        let mut threads = Vec::new();
        for index in 0..config.workers.max(1) {
            let (poll, waker) = worker::poll_with_waker()?;
            let (tx, rx) = mpsc::channel();
            let load = Arc::new(AtomicUsize::new(0));
            let (ports, notifier) = (ports.clone(), notifier.clone());
            let max_transports = config.max_transports_per_worker;
            // Bound here so that a port in use fails the start, not the first WebRTC transport.
            let shared = match config.webrtc_port {
                Some(first) => {
                    let port = u16::try_from(usize::from(first) + index).map_err(|_| {
                        io::Error::new(io::ErrorKind::InvalidInput, "webrtc port out of range")
                    })?;
                    std::net::UdpSocket::bind((config.rtc_ip, port))?
                }
                None => ports.bind_udp(config.rtc_ip)?,
            };
            tracing::debug!(worker = index, shared = ?shared.local_addr(), "shared webrtc port bound");
            // ICE-TCP candidates use the same port number; without it a worker offers UDP only.
            let tcp = shared
                .local_addr()
                .and_then(std::net::TcpListener::bind)
                .inspect_err(|e| tracing::warn!(worker = index, error = %e, "no ice-tcp listener"))
                .ok();
            // The worker's I/O buffers hold raw message headers: they are made on its own thread.
            let thread = std::thread::Builder::new()
                .name(format!("mediagate-worker-{index}"))
                .spawn(move || {
                    let mut worker = Worker::new(index, poll, ports, notifier, max_transports);
                    if let Err(e) = worker.adopt_shared_udp(shared) {
                        tracing::error!(worker = index, error = %e, "cannot poll the shared webrtc port");
                    }
                    if let Some(listener) = tcp
                        && let Err(e) = worker.adopt_tcp_listener(listener)
                    {
                        tracing::error!(worker = index, error = %e, "cannot poll the ice-tcp listener");
                    }
                    worker::run(worker, rx);
                })?;
            threads.push(thread);
            workers.push(WorkerHandle {
                index,
                commands: tx,
                waker,
                load,
            });
        }
        Ok(Self {
            workers,
            threads: std::sync::Mutex::new(threads),
            config,
        })
    }

    /// Runtime settings.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Every worker.
    pub fn workers(&self) -> &[WorkerHandle] {
        &self.workers
    }

    /// A worker by index.
    pub fn worker(&self, index: usize) -> &WorkerHandle {
        &self.workers[index % self.workers.len()]
    }

    /// The worker with the fewest rooms.
    pub fn least_loaded(&self) -> &WorkerHandle {
        self.workers
            .iter()
            .min_by_key(|w| w.load())
            .unwrap_or(&self.workers[0])
    }

    /// Stops every worker (their sockets close) and waits for the threads to end.
    pub fn shutdown(&self) {
        for worker in &self.workers {
            // A worker that is already gone has nothing left to stop.
            let _ = worker.send(Box::new(Worker::stop));
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            if thread.join().is_err() {
                tracing::error!("a worker thread panicked");
            }
        }
    }
}
