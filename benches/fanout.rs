//! Fan-out benchmark (issue 3, point 7): one plain VP8-like producer fanned out to N plain consumers by a
//! one-worker mediagate driven in-process through the control façade, against a raw relay (one thread,
//! one socket, recvmmsg → copy → sendmmsg, no RTP logic) delivering the same packets to the same
//! receivers. CPU is the forwarding thread's own run time (`/proc/self/task/<tid>/schedstat`, falling
//! back to `stat` ticks); latency is the receiver's clock minus the send time the sender wrote into each
//! payload; memory is VmRSS. Everything runs on 127.0.0.1.
//!
//! Run: `cargo bench --bench fanout` (about 1.5 minutes); `cargo bench --bench fanout -- --quick` for a
//! shorter run. Knobs (environment): `FANOUT_N` (comma-separated consumer counts), `FANOUT_SECS`
//! (measured seconds per run), `FANOUT_SAT_OUT_PPS` (saturation mode's offered output rate, packets per
//! second over all consumers), `FANOUT_SAT_MAX_IN_PPS` (cap on its input rate), `FANOUT_MODES`
//! (`realistic` or `saturation` for one mode only), `FANOUT_DEBUG` (print the ingest transport's and the
//! producer's stats after each mediagate run).

use std::io::IoSliceMut;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mediagate::Config;
use mediagate::control::{BroadcasterRequest, Certificate, Control};
use mediagate_engine::dtls::{DtlsConfig, DtlsEvent, DtlsTransport};
use mediagate_engine::ice::stun::{self, StunMessage};
use mediagate_engine::ids::{BroadcasterId, RoomId};
use mediagate_engine::net::{PacketKind, classify};
use mediagate_engine::router::{
    ConnectParameters, ConsumerOptions, TransportInfo, TransportOptions,
};
use mediagate_engine::srtp::{SrtpProfile, SrtpSession, split_dtls_srtp_keying_material};
use mediagate_engine::transport_parameters::{DtlsParameters, DtlsRole, IceParameters};
use nix::errno::Errno;
use nix::sys::socket::{
    MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg, setsockopt, sockopt,
};

/// Datagrams per recvmmsg/sendmmsg, as in the worker.
const BATCH: usize = 32;
/// RTP payload bytes of every packet (a 1 Mbps VP8 stream's typical packet).
const PAYLOAD: usize = 1150;
/// Marks a bench packet: the last 16 bytes are this magic and the send time (ns since [`epoch`]).
const MAGIC: u64 = 0x6d65_6469_6167_6174;
const SSRC: u32 = 2222;
const PT: u8 = 101;
/// Frames per second of the synthetic stream; a keyframe every `KEYFRAME_EVERY` frames.
const FPS: u64 = 30;
const KEYFRAME_EVERY: u64 = 60;
/// Packets of a keyframe, and of interframes (a pattern averaging 3.4: with the keyframes, ~110 pps).
const KEYFRAME_PACKETS: usize = 20;
const INTERFRAME_PACKETS: [usize; 5] = [4, 3, 4, 3, 3];
/// Latency histogram: 1 µs buckets up to this, then one overflow bucket.
const HISTOGRAM_US: usize = 200_000;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

// ---------------------------------------------------------------------------------------------------
// Settings

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The 1 Mbps stream at its real rate.
    Realistic,
    /// The same packets offered at a high rate, so per-packet cost dominates idle overhead.
    Saturation,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Realistic => "1 Mbps",
            Mode::Saturation => "saturation",
        }
    }
}

/// What the N consumers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Consumers {
    /// Plain transports (one socket each), RTP in the clear.
    Plain,
    /// WebRTC transports on the worker's shared UDP port, each with its own ICE tuple, DTLS handshake and
    /// SRTP keys; the receivers decrypt what they count.
    WebRtc,
}

impl Consumers {
    fn name(self) -> &'static str {
        match self {
            Consumers::Plain => "plain",
            Consumers::WebRtc => "webrtc",
        }
    }
}

struct Settings {
    ns: Vec<usize>,
    modes: Vec<Mode>,
    consumers: Vec<Consumers>,
    warmup: Duration,
    measure: Duration,
    sat_out_pps: u64,
    sat_max_in_pps: u64,
}

impl Settings {
    fn from_env() -> Self {
        let quick = std::env::args().any(|a| a == "--quick");
        let env = |name: &str| std::env::var(name).ok();
        let ns = env("FANOUT_N")
            .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![1, 10, 100, 500]);
        let secs: f64 = env("FANOUT_SECS")
            .and_then(|s| s.parse().ok())
            .unwrap_or(if quick { 1.5 } else { 4.0 });
        let modes = match env("FANOUT_MODES").as_deref() {
            Some("realistic") => vec![Mode::Realistic],
            Some("saturation") => vec![Mode::Saturation],
            _ => vec![Mode::Realistic, Mode::Saturation],
        };
        let consumers = match env("FANOUT_TRANSPORT").as_deref() {
            Some("plain") => vec![Consumers::Plain],
            Some("webrtc") => vec![Consumers::WebRtc],
            _ => vec![Consumers::Plain, Consumers::WebRtc],
        };
        Self {
            ns,
            modes,
            consumers,
            warmup: Duration::from_millis(if quick { 300 } else { 600 }),
            measure: Duration::from_secs_f64(secs),
            sat_out_pps: env("FANOUT_SAT_OUT_PPS")
                .and_then(|s| s.parse().ok())
                .unwrap_or(100_000),
            sat_max_in_pps: env("FANOUT_SAT_MAX_IN_PPS")
                .and_then(|s| s.parse().ok())
                .unwrap_or(10_000),
        }
    }

    /// Input packets per second of a run.
    fn input_pps(&self, mode: Mode, n: usize) -> u64 {
        match mode {
            Mode::Realistic => 0,
            Mode::Saturation => (self.sat_out_pps / n as u64).clamp(110, self.sat_max_in_pps),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Process and thread measurements

/// A thread of this process by the start of its name (`comm` holds at most 15 bytes); a thread names
/// itself once it runs, so this waits up to a second for it.
fn find_tid(prefix: &str) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if let Some(tid) = find_tid_once(prefix) {
            return Some(tid);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn find_tid_once(prefix: &str) -> Option<u32> {
    let prefix = &prefix[..prefix.len().min(15)];
    std::fs::read_dir("/proc/self/task").ok()?.find_map(|e| {
        let e = e.ok()?;
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        comm.trim_end()
            .starts_with(prefix)
            .then(|| e.file_name().to_str()?.parse().ok())?
    })
}

/// CPU time a thread has run, in nanoseconds: all of it (`schedstat`, or `stat` ticks where schedstat
/// is missing) and the user-space part (`stat` ticks of 10 ms).
fn thread_cpu_ns(tid: u32) -> (u64, u64) {
    let base = format!("/proc/self/task/{tid}");
    // utime + stime in clock ticks (USER_HZ = 100 on Linux).
    let stat = std::fs::read_to_string(format!("{base}/stat")).unwrap_or_default();
    let after_comm = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields after the comm start at field 3 (state); utime is field 14, stime 15.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (user, system) = (ticks(11) * 10_000_000, ticks(12) * 10_000_000);
    let total = std::fs::read_to_string(format!("{base}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(user + system);
    (total, user)
}

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------------
// Packets

/// The synthetic stream: frames of packets with markers, a VP8 payload descriptor (a keyframe header on
/// a keyframe's first packet), and the magic and the send time at the end of each payload.
struct Stream {
    seq: u16,
    frame: u64,
    packet_in_frame: usize,
}

impl Stream {
    fn new() -> Self {
        Self {
            seq: 1000,
            frame: 0,
            packet_in_frame: 0,
        }
    }

    fn frame_packets(frame: u64) -> usize {
        if frame % KEYFRAME_EVERY == 0 {
            KEYFRAME_PACKETS
        } else {
            INTERFRAME_PACKETS[(frame % INTERFRAME_PACKETS.len() as u64) as usize]
        }
    }

    /// Writes the next packet into `buf`; returns its length.
    fn write_next(&mut self, buf: &mut [u8]) -> usize {
        use mediagate_engine::rtp::{RtpHeader, write_rtp};
        let frame_len = Self::frame_packets(self.frame);
        let first = self.packet_in_frame == 0;
        let last = self.packet_in_frame + 1 == frame_len;
        let keyframe = self.frame % KEYFRAME_EVERY == 0;
        let mut payload = [0u8; PAYLOAD];
        // VP8 payload descriptor (RFC 7741 §4.2): S on a frame's first packet, partition 0.
        payload[0] = if first { 0x10 } else { 0x00 };
        if first {
            // VP8 frame tag (RFC 6386 §9.1): P = 0 and the start code on keyframes, P = 1 otherwise.
            let tag: &[u8] = if keyframe {
                &[0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]
            } else {
                &[0x51, 0x42, 0x00]
            };
            payload[1..1 + tag.len()].copy_from_slice(tag);
        }
        payload[PAYLOAD - 16..PAYLOAD - 8].copy_from_slice(&MAGIC.to_be_bytes());
        payload[PAYLOAD - 8..].copy_from_slice(&now_ns().to_be_bytes());
        let header = RtpHeader {
            marker: last,
            payload_type: PT,
            sequence_number: self.seq,
            timestamp: (self.frame * 90_000 / FPS) as u32,
            ssrc: SSRC,
            ..RtpHeader::default()
        };
        let len = write_rtp(buf, &header, &payload).expect("the buffer holds a packet");
        self.seq = self.seq.wrapping_add(1);
        self.packet_in_frame += 1;
        if last {
            self.packet_in_frame = 0;
            self.frame += 1;
        }
        len
    }
}

/// Sends the stream to `target` until `stop`: at its real frame rate (a frame's packets back to back),
/// or at `pps` packets per second. The first packet starts a keyframe.
fn spawn_sender(
    target: SocketAddr,
    pps: u64,
    stop: Arc<AtomicBool>,
    counter: Arc<AtomicU64>,
) -> JoinHandle<u64> {
    std::thread::Builder::new()
        .name("bench-sender".into())
        .spawn(move || {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the sender");
            socket.connect(target).expect("connect the sender");
            let mut stream = Stream::new();
            let mut buf = [0u8; 1500];
            let start = Instant::now();
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let due = if pps == 0 {
                    // Frame f is due at f / FPS; send whole frames.
                    let frame_due =
                        start + Duration::from_nanos(stream.frame * 1_000_000_000 / FPS);
                    if Instant::now() < frame_due {
                        std::thread::sleep(frame_due - Instant::now());
                        continue;
                    }
                    Stream::frame_packets(stream.frame)
                } else {
                    let due = (start.elapsed().as_nanos() as u64 * pps / 1_000_000_000)
                        .saturating_sub(sent);
                    if due == 0 {
                        std::thread::sleep(Duration::from_micros(200));
                        continue;
                    }
                    due.min(256) as usize
                };
                for _ in 0..due {
                    let len = stream.write_next(&mut buf);
                    // A refused send (the server's buffer is full) is simply a lost packet.
                    if socket.send(&buf[..len]).is_ok() {
                        sent += 1;
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            sent
        })
        .expect("spawn the sender")
}

// ---------------------------------------------------------------------------------------------------
// Receivers

/// What the receivers counted in the measured window.
#[derive(Default)]
struct Received {
    packets: u64,
    /// SRTP packets (WebRTC consumers) that did not authenticate, whole run.
    srtp_failures: u64,
    latency_us: Vec<u64>,
}

impl Received {
    fn percentile(&self, p: f64) -> f64 {
        let total: u64 = self.latency_us.iter().sum();
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, &count) in self.latency_us.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return us as f64;
            }
        }
        HISTOGRAM_US as f64
    }
}

/// N receiver sockets drained by one thread with recvmmsg.
struct Receivers {
    addresses: Vec<SocketAddr>,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    counted: Arc<AtomicU64>,
    thread: Option<JoinHandle<Received>>,
}

impl Receivers {
    /// N receiver sockets on 127.0.0.1 (not yet read).
    fn bind(n: usize) -> Vec<UdpSocket> {
        (0..n)
            .map(|_| {
                let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a receiver");
                // Room for bursts while the receiving thread is descheduled (capped by rmem_max).
                let _ = setsockopt(&socket, sockopt::RcvBuf, &(4 << 20));
                socket
            })
            .collect()
    }

    /// Plain receivers: N fresh sockets counting RTP in the clear.
    fn start(n: usize) -> Self {
        Self::start_with(Self::bind(n), (0..n).map(|_| None).collect())
    }

    /// Receivers on `sockets`; a socket with an SRTP session unprotects every RTP packet first and counts
    /// only those that authenticate.
    fn start_with(sockets: Vec<UdpSocket>, srtp: Vec<Option<SrtpSession>>) -> Self {
        let mut addresses = Vec::with_capacity(sockets.len());
        for socket in &sockets {
            socket.set_nonblocking(true).expect("nonblocking receiver");
            addresses.push(socket.local_addr().expect("receiver address"));
        }
        let measuring = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let counted = Arc::new(AtomicU64::new(0));
        let thread = {
            let (measuring, stop, counted) = (measuring.clone(), stop.clone(), counted.clone());
            std::thread::Builder::new()
                .name("bench-receiver".into())
                .spawn(move || receive(sockets, srtp, &measuring, &stop, &counted))
                .expect("spawn the receiver")
        };
        Self {
            addresses,
            measuring,
            stop,
            counted,
            thread: Some(thread),
        }
    }

    fn set_measuring(&self, on: bool) {
        self.measuring.store(on, Ordering::SeqCst);
    }

    fn counted(&self) -> u64 {
        self.counted.load(Ordering::SeqCst)
    }

    fn finish(mut self) -> Received {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .map(|t| t.join().expect("receiver thread"))
            .unwrap_or_default()
    }
}

fn receive(
    sockets: Vec<UdpSocket>,
    mut srtp: Vec<Option<SrtpSession>>,
    measuring: &AtomicBool,
    stop: &AtomicBool,
    counted: &AtomicU64,
) -> Received {
    let mut poll = mio::Poll::new().expect("poll");
    let mut mio_sockets: Vec<mio::net::UdpSocket> = sockets
        .into_iter()
        .map(mio::net::UdpSocket::from_std)
        .collect();
    for (i, s) in mio_sockets.iter_mut().enumerate() {
        poll.registry()
            .register(s, mio::Token(i), mio::Interest::READABLE)
            .expect("register a receiver");
    }
    let mut events = mio::Events::with_capacity(1024);
    let mut buffers = Box::new([[0u8; 2048]; BATCH]);
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut received = Received {
        packets: 0,
        srtp_failures: 0,
        latency_us: vec![0; HISTOGRAM_US + 1],
    };
    let mut lengths = [0usize; BATCH];
    while !stop.load(Ordering::Relaxed) {
        if poll
            .poll(&mut events, Some(Duration::from_millis(20)))
            .is_err()
        {
            continue;
        }
        for event in events.iter() {
            let token = event.token().0;
            let fd = mio_sockets[token].as_raw_fd();
            loop {
                let count = recv_batch(fd, &mut headers, &mut buffers, &mut lengths);
                if count == 0 {
                    break;
                }
                let now = now_ns();
                let on = measuring.load(Ordering::Relaxed);
                for (buf, &len) in buffers.iter_mut().zip(&lengths[..count]) {
                    let len = match &mut srtp[token] {
                        None => len,
                        // SRTCP (sender reports), STUN and DTLS are not counted.
                        Some(_) if classify(&buf[..len]) != PacketKind::Rtp => continue,
                        Some(session) => match session.unprotect_rtp(&mut buf[..len]) {
                            Ok(len) => len,
                            Err(_) => {
                                received.srtp_failures += 1;
                                continue;
                            }
                        },
                    };
                    if len < 28
                        || u64::from_be_bytes(buf[len - 16..len - 8].try_into().unwrap()) != MAGIC
                    {
                        continue; // RTCP (sender reports) and anything else
                    }
                    if on {
                        let sent = u64::from_be_bytes(buf[len - 8..len].try_into().unwrap());
                        let us = (now.saturating_sub(sent) / 1000) as usize;
                        received.latency_us[us.min(HISTOGRAM_US)] += 1;
                        received.packets += 1;
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
    received
}

// ---------------------------------------------------------------------------------------------------
// The raw relay

/// One thread, one socket: recvmmsg a batch, copy each datagram once per destination into send buffers,
/// sendmmsg them in batches from the same socket. No RTP logic.
struct Relay {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl Relay {
    fn start(destinations: Vec<SocketAddr>) -> Self {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the relay");
        socket.set_nonblocking(true).expect("nonblocking relay");
        let _ = setsockopt(&socket, sockopt::RcvBuf, &(4 << 20));
        let address = socket.local_addr().expect("relay address");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("bench-relay".into())
                .spawn(move || relay(socket, &destinations, &stop))
                .expect("spawn the relay")
        };
        Self {
            address,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .map(|t| t.join().expect("relay thread"))
            .unwrap_or(0)
    }
}

fn relay(socket: UdpSocket, destinations: &[SocketAddr], stop: &AtomicBool) -> u64 {
    let mut poll = mio::Poll::new().expect("poll");
    let mut socket = mio::net::UdpSocket::from_std(socket);
    poll.registry()
        .register(&mut socket, mio::Token(0), mio::Interest::READABLE)
        .expect("register the relay");
    let fd = socket.as_raw_fd();
    let mut events = mio::Events::with_capacity(8);
    let mut in_buffers = Box::new([[0u8; 2048]; BATCH]);
    let mut in_lengths = [0usize; BATCH];
    let mut recv_headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut send = SendBatch::new();
    let addresses: Vec<SockaddrStorage> = destinations
        .iter()
        .map(|&a| SockaddrStorage::from(a))
        .collect();
    while !stop.load(Ordering::Relaxed) {
        if poll
            .poll(&mut events, Some(Duration::from_millis(20)))
            .is_err()
        {
            continue;
        }
        loop {
            let count = recv_batch(fd, &mut recv_headers, &mut in_buffers, &mut in_lengths);
            if count == 0 {
                break;
            }
            for (buf, &len) in in_buffers.iter().zip(&in_lengths[..count]) {
                for address in &addresses {
                    send.push(fd, &buf[..len], *address);
                }
            }
            send.flush(fd);
        }
    }
    send.sent
}

/// Send buffers of the relay: filled by copy, sent by sendmmsg when full or flushed.
struct SendBatch {
    buffers: Box<[[u8; 2048]; BATCH]>,
    lengths: [usize; BATCH],
    addresses: [Option<SockaddrStorage>; BATCH],
    headers: MultiHeaders<SockaddrStorage>,
    len: usize,
    sent: u64,
}

impl SendBatch {
    fn new() -> Self {
        Self {
            buffers: Box::new([[0u8; 2048]; BATCH]),
            lengths: [0; BATCH],
            addresses: [None; BATCH],
            headers: MultiHeaders::preallocate(BATCH, None),
            len: 0,
            sent: 0,
        }
    }

    fn push(&mut self, fd: RawFd, data: &[u8], to: SockaddrStorage) {
        if self.len == BATCH {
            self.flush(fd);
        }
        self.buffers[self.len][..data.len()].copy_from_slice(data);
        self.lengths[self.len] = data.len();
        self.addresses[self.len] = Some(to);
        self.len += 1;
    }

    fn flush(&mut self, fd: RawFd) {
        let mut start = 0;
        while start < self.len {
            let mut slices = [[std::io::IoSlice::new(&[])]; BATCH];
            for (slice, (buf, &len)) in slices
                .iter_mut()
                .zip(self.buffers.iter().zip(&self.lengths))
                .skip(start)
                .take(self.len - start)
            {
                *slice = [std::io::IoSlice::new(&buf[..len])];
            }
            match sendmmsg(
                fd,
                &mut self.headers,
                slices[start..self.len].iter(),
                &self.addresses[start..self.len],
                [],
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(results) => match results.count() {
                    0 => start += 1,
                    n => {
                        start += n;
                        self.sent += n as u64;
                    }
                },
                Err(Errno::EINTR) => {}
                Err(_) => start += 1,
            }
        }
        self.len = 0;
    }
}

// ---------------------------------------------------------------------------------------------------
// Runs

/// What one run measured.
struct Measured {
    delivered_pps: f64,
    cpu_ns_per_packet: f64,
    user_ns_per_packet: f64,
    cpu_share: f64,
    p50_us: f64,
    p99_us: f64,
    loss: f64,
    /// CPU share of the receivers' thread (100% = it could not keep up).
    rx_cpu_share: f64,
    srtp_failures: u64,
    rss_kib_per_consumer: Option<(f64, f64)>,
}

impl Measured {
    fn packets_per_cpu_second(&self) -> f64 {
        1e9 / self.cpu_ns_per_packet
    }
}

/// Warm up, then measure: packets the receivers counted, the forwarding thread's CPU, latency.
fn measure(
    settings: &Settings,
    receivers: Receivers,
    tid: u32,
    n: usize,
    input_pps: u64,
    sender_target: SocketAddr,
) -> (Measured, Arc<AtomicBool>, JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let sender = spawn_sender(sender_target, input_pps, stop.clone(), sent.clone());
    std::thread::sleep(settings.warmup);
    let rx_tid = find_tid("bench-receiver").expect("the receiver thread");
    let (rx_before, _) = thread_cpu_ns(rx_tid);
    let (cpu_before, user_before) = thread_cpu_ns(tid);
    let sent_before = sent.load(Ordering::SeqCst);
    let started = Instant::now();
    receivers.set_measuring(true);
    std::thread::sleep(settings.measure);
    receivers.set_measuring(false);
    let elapsed = started.elapsed();
    let sent_in_window = sent.load(Ordering::SeqCst) - sent_before;
    let (cpu_after, user_after) = thread_cpu_ns(tid);
    let (rx_after, _) = thread_cpu_ns(rx_tid);
    let cpu = cpu_after.saturating_sub(cpu_before);
    let user = user_after.saturating_sub(user_before);
    let counted = receivers.counted();
    let received = receivers.finish();
    let expected = (sent_in_window * n as u64).max(1) as f64;
    let measured = Measured {
        delivered_pps: counted as f64 / elapsed.as_secs_f64(),
        cpu_ns_per_packet: cpu as f64 / counted.max(1) as f64,
        user_ns_per_packet: user as f64 / counted.max(1) as f64,
        cpu_share: cpu as f64 / elapsed.as_nanos() as f64,
        p50_us: received.percentile(0.50),
        p99_us: received.percentile(0.99),
        loss: (1.0 - counted as f64 / expected).max(0.0),
        rx_cpu_share: rx_after.saturating_sub(rx_before) as f64 / elapsed.as_nanos() as f64,
        srtp_failures: received.srtp_failures,
        rss_kib_per_consumer: None,
    };
    (measured, stop, sender)
}

fn stop_sender(stop: Arc<AtomicBool>, sender: JoinHandle<u64>) {
    stop.store(true, Ordering::SeqCst);
    let _ = sender.join();
}

fn run_relay(settings: &Settings, n: usize, mode: Mode) -> Measured {
    let receivers = Receivers::start(n);
    let relay = Relay::start(receivers.addresses.clone());
    let tid = find_tid("bench-relay").expect("the relay thread");
    let input_pps = settings.input_pps(mode, n);
    let (measured, stop, sender) = measure(settings, receivers, tid, n, input_pps, relay.address);
    stop_sender(stop, sender);
    relay.finish();
    measured
}

#[allow(clippy::too_many_arguments)]
async fn run_mediagate(
    control: &Control,
    settings: &Settings,
    tid: u32,
    n: usize,
    mode: Mode,
    consumers: Consumers,
    client: &Certificate,
    round: usize,
) -> Measured {
    let room: RoomId = format!("fanout-{round}").parse().expect("room name");
    control.ensure_room(&room).await.expect("room");
    let caps = control.rtp_capabilities(&room).await.expect("capabilities");
    let broadcaster: BroadcasterId = "bench".parse().expect("broadcaster name");
    let request: BroadcasterRequest = serde_json::from_value(serde_json::json!({
        "id": broadcaster.as_str(), "displayName": "bench", "device": {"name": "bench"},
    }))
    .expect("broadcaster request");
    control.join(&room, request).await.expect("join");
    let plain = |comedia: bool| {
        serde_json::from_value(serde_json::json!({"type": "plain", "comedia": comedia}))
            .expect("plain transport options")
    };
    let TransportInfo::Plain(ingest) = control
        .create_transport(&room, &broadcaster, plain(true))
        .await
        .expect("producer transport")
    else {
        unreachable!("a plain transport")
    };
    let producer = control
        .produce(
            ingest.id,
            serde_json::from_value(serde_json::json!({
                "kind": "video",
                "rtpParameters": {
                    "codecs": [{"mimeType": "video/VP8", "payloadType": PT, "clockRate": 90000}],
                    "encodings": [{"ssrc": SSRC}],
                },
            }))
            .expect("producer options"),
        )
        .await
        .expect("produce");

    let consume = ConsumerOptions {
        producer_id: producer.id,
        rtp_capabilities: Some(caps.clone()),
        paused: false,
        mid: None,
        preferred_layers: None,
        enable_rtx: None,
        ignore_dtx: false,
    };
    let rss_before = vm_rss_kib();
    let receivers = match consumers {
        Consumers::Plain => {
            let receivers = Receivers::start(n);
            for &address in &receivers.addresses {
                let TransportInfo::Plain(t) = control
                    .create_transport(&room, &broadcaster, plain(false))
                    .await
                    .expect("consumer transport")
                else {
                    unreachable!("a plain transport")
                };
                control
                    .connect_transport(
                        t.id,
                        ConnectParameters {
                            ip: Some(address.ip()),
                            port: Some(address.port()),
                            ..ConnectParameters::default()
                        },
                    )
                    .await
                    .expect("connect");
                control
                    .consume(t.id, consume.clone())
                    .await
                    .expect("consume");
            }
            receivers
        }
        Consumers::WebRtc => {
            webrtc_consumers(control, &room, &broadcaster, &consume, n, client).await
        }
    };
    let rss_created = vm_rss_kib();
    let target = SocketAddr::new(ingest.ip.parse().expect("transport ip"), ingest.port);
    let input_pps = settings.input_pps(mode, n);
    let (mut measured, stop, sender) =
        tokio::task::block_in_place(|| measure(settings, receivers, tid, n, input_pps, target));
    let rss_after = vm_rss_kib();
    tokio::task::block_in_place(|| stop_sender(stop, sender));
    if std::env::var("FANOUT_DEBUG").is_ok() {
        eprintln!("ingest {:?}", control.transport_stats(ingest.id).await);
        eprintln!("producer {:?}", control.producer_stats(producer.id).await);
    }
    // Only the first pass over the Ns measures memory: later rooms reuse what earlier ones freed.
    if measured.srtp_failures > 0 {
        eprintln!(
            "warning: {} SRTP packets failed to authenticate at the receivers",
            measured.srtp_failures
        );
    }
    measured.rss_kib_per_consumer = (mode == settings.modes[0]).then_some((
        rss_created.saturating_sub(rss_before) as f64 / n as f64,
        rss_after.saturating_sub(rss_before) as f64 / n as f64,
    ));
    control.close_room(&room).await.expect("close the room");
    measured
}

// ---------------------------------------------------------------------------------------------------
// WebRTC consumers: an in-repo client plays the browser for each

/// N WebRTC consumer transports, each brought up as a browser would: an ICE check nominating the client's
/// socket (USE-CANDIDATE), `connect` with the client's fingerprint and role `client`, a DTLS client
/// handshake against the server's fingerprint, then `consume`. The receivers decrypt with the exported
/// keys. Consent checks are not repeated during a run: the transports get a 120 s consent timeout.
async fn webrtc_consumers(
    control: &Control,
    room: &RoomId,
    broadcaster: &BroadcasterId,
    consume: &ConsumerOptions,
    n: usize,
    client: &Certificate,
) -> Receivers {
    let sockets = Receivers::bind(n);
    let mut sessions = Vec::with_capacity(n);
    let options: TransportOptions = serde_json::from_value(serde_json::json!({
        "type": "webrtc", "iceConsentTimeout": 120,
    }))
    .expect("webrtc transport options");
    let mut profiles = Vec::new();
    for socket in &sockets {
        let TransportInfo::Webrtc(t) = control
            .create_transport(room, broadcaster, options.clone())
            .await
            .expect("consumer transport")
        else {
            unreachable!("a webrtc transport")
        };
        let candidate = &t.ice_candidates[0];
        let server = SocketAddr::new(candidate.ip.parse().expect("candidate ip"), candidate.port);
        tokio::task::block_in_place(|| ice_check(socket, server, &t.ice_parameters));
        control
            .connect_transport(
                t.id,
                ConnectParameters {
                    dtls_parameters: Some(DtlsParameters {
                        role: DtlsRole::Client,
                        fingerprints: vec![client.fingerprint.clone()],
                    }),
                    ..ConnectParameters::default()
                },
            )
            .await
            .expect("connect");
        let (profile, session) = tokio::task::block_in_place(|| {
            dtls_handshake(
                socket,
                server,
                client,
                t.dtls_parameters.fingerprints.clone(),
            )
        });
        if !profiles.contains(&profile) {
            profiles.push(profile);
        }
        control
            .consume(t.id, consume.clone())
            .await
            .expect("consume");
        sessions.push(Some(session));
    }
    if std::env::var("FANOUT_DEBUG").is_ok() {
        eprintln!("webrtc consumers: SRTP {profiles:?}");
    }
    Receivers::start_with(sockets, sessions)
}

/// A nominating ICE check from `socket` to the server (ICE-lite), repeated until answered.
fn ice_check(socket: &UdpSocket, server: SocketAddr, ice: &IceParameters) {
    let mut request = [0u8; 256];
    let key = stun::integrity_key(&ice.password);
    let username = format!("{}:bench", ice.username_fragment);
    let len = stun::write_binding_request(&mut request, &[7; 12], &username, &key, true)
        .expect("a binding request fits");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let mut buf = [0u8; 1500];
    for _ in 0..25 {
        socket
            .send_to(&request[..len], server)
            .expect("send a check");
        while let Ok((got, _)) = socket.recv_from(&mut buf) {
            if StunMessage::parse(&buf[..got]).is_ok_and(|m| m.msg_type() == stun::BINDING_SUCCESS)
            {
                return;
            }
        }
    }
    panic!("no answer to the ICE check from {server}");
}

/// A DTLS client handshake from `socket` (whose tuple ICE validated); returns the SRTP profile and the
/// session that decrypts what the server sends (the server's write keys, RFC 5764 §4.2).
fn dtls_handshake(
    socket: &UdpSocket,
    server: SocketAddr,
    client: &Certificate,
    server_fingerprints: Vec<mediagate_engine::transport_parameters::DtlsFingerprint>,
) -> (SrtpProfile, SrtpSession) {
    let config = DtlsConfig::new(client.dtls.clone(), server_fingerprints);
    let mut dtls = DtlsTransport::new(
        config,
        mediagate_engine::dtls::DtlsRole::Client,
        Instant::now(),
    )
    .expect("dtls client");
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .expect("read timeout");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut buf = [0u8; 2048];
    loop {
        while let Some(datagram) = dtls.poll_transmit() {
            socket.send_to(&datagram, server).expect("send dtls");
        }
        while let Some(event) = dtls.poll_event() {
            match event {
                DtlsEvent::Connected {
                    profile,
                    keying_material,
                    ..
                } => {
                    // A DTLS 1.3 client is done once it sent its last flight.
                    while let Some(datagram) = dtls.poll_transmit() {
                        socket.send_to(&datagram, server).expect("send dtls");
                    }
                    let (_, (server_key, server_salt)) =
                        split_dtls_srtp_keying_material(keying_material.as_bytes(), profile, true)
                            .expect("keying material of the profile's length");
                    let session =
                        SrtpSession::new(profile, server_key, server_salt).expect("srtp keys");
                    return (profile, session);
                }
                DtlsEvent::Failed(failure) => panic!("dtls client failed: {failure}"),
                _ => {}
            }
        }
        assert!(Instant::now() < deadline, "dtls handshake timed out");
        if let Ok((len, from)) = socket.recv_from(&mut buf)
            && from == server
        {
            dtls.handle_datagram(Instant::now(), &buf[..len]);
        }
        let now = Instant::now();
        if dtls.poll_timeout().is_some_and(|at| at <= now) {
            dtls.handle_timeout(now);
        }
    }
}

fn print_header() {
    println!(
        "{:>4} {:>10} {:>6} {:>9} | {:>10} {:>8} {:>7} {:>6} {:>8} {:>8} {:>6} {:>5} {:>11} | {:>10} {:>8} {:>7} {:>6} {:>8} {:>8} {:>6} | {:>6} | {:>13}",
        "N",
        "mode",
        "cons",
        "in pps",
        "mg pps",
        "ns/pkt",
        "usr ns",
        "cpu%",
        "p50 µs",
        "p99 µs",
        "loss%",
        "rx%",
        "pkt/cpu-s",
        "relay pps",
        "ns/pkt",
        "usr ns",
        "cpu%",
        "p50 µs",
        "p99 µs",
        "loss%",
        "ratio",
        "RSS KiB/cons",
    );
}

fn print_row(
    n: usize,
    mode: Mode,
    consumers: Consumers,
    input_pps: u64,
    mg: &Measured,
    relay: &Measured,
) {
    let rss = mg
        .rss_kib_per_consumer
        .map_or("-".to_owned(), |(c, a)| format!("{c:.1}/{a:.1}"));
    println!(
        "{:>4} {:>10} {:>6} {:>9} | {:>10.0} {:>8.0} {:>7.0} {:>6.1} {:>8.0} {:>8.0} {:>6.2} {:>5.0} {:>11.0} | {:>10.0} {:>8.0} {:>7.0} {:>6.1} {:>8.0} {:>8.0} {:>6.2} | {:>6.2} | {:>13}",
        n,
        mode.name(),
        consumers.name(),
        if input_pps == 0 {
            "~110".to_owned()
        } else {
            input_pps.to_string()
        },
        mg.delivered_pps,
        mg.cpu_ns_per_packet,
        mg.user_ns_per_packet,
        mg.cpu_share * 100.0,
        mg.p50_us,
        mg.p99_us,
        mg.loss * 100.0,
        mg.rx_cpu_share * 100.0,
        mg.packets_per_cpu_second(),
        relay.delivered_pps,
        relay.cpu_ns_per_packet,
        relay.user_ns_per_packet,
        relay.cpu_share * 100.0,
        relay.p50_us,
        relay.p99_us,
        relay.loss * 100.0,
        mg.packets_per_cpu_second() / relay.packets_per_cpu_second(),
        rss,
    );
}

fn main() {
    let settings = Settings::from_env();
    epoch();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let control = mediagate::start(&Config {
            workers: 1,
            rtc_ports: 55000..=56999,
            ..Config::default()
        })
        .expect("start mediagate");
        let tid = find_tid("mediagate-worker-0").expect("the worker thread");
        // The browsers' certificate (one for all WebRTC consumers).
        let client = Certificate::generate().expect("client certificate");
        println!(
            "fanout: 1 plain producer (VP8-like, {PAYLOAD} B payloads, keyframe burst of {KEYFRAME_PACKETS} every {} s) → N consumers (plain: own socket each; webrtc: shared port, DTLS-SRTP, decrypted by the receivers); {} s measured per run after {} ms warm-up; saturation offers {} pps out (input ≤ {} pps)",
            KEYFRAME_EVERY / FPS,
            settings.measure.as_secs_f64(),
            settings.warmup.as_millis(),
            settings.sat_out_pps,
            settings.sat_max_in_pps,
        );
        println!(
            "mg = mediagate worker thread; relay = raw recvmmsg→copy→sendmmsg thread; ns/pkt = thread CPU per delivered packet; rx% = the receivers' thread CPU; ratio = mediagate/relay packets per CPU-second"
        );
        print_header();
        let mut round = 0;
        for &mode in &settings.modes {
            for &n in &settings.ns {
                let mut rows = Vec::new();
                for &consumers in &settings.consumers {
                    round += 1;
                    let mg = run_mediagate(
                        &control, &settings, tid, n, mode, consumers, &client, round,
                    )
                    .await;
                    rows.push((consumers, mg));
                }
                let relay = tokio::task::block_in_place(|| run_relay(&settings, n, mode));
                for (consumers, mg) in &rows {
                    print_row(n, mode, *consumers, settings.input_pps(mode, n), mg, &relay);
                }
            }
        }
        tokio::task::block_in_place(|| control.shutdown());
    });
}

/// One non-blocking `recvmmsg` of up to [`BATCH`] datagrams; their lengths go to `lengths`. 0 when nothing
/// (or an error) was read.
fn recv_batch(
    fd: RawFd,
    headers: &mut MultiHeaders<SockaddrStorage>,
    buffers: &mut [[u8; 2048]; BATCH],
    lengths: &mut [usize; BATCH],
) -> usize {
    let mut slices = buffers.each_mut().map(|b| [IoSliceMut::new(&mut b[..])]);
    match recvmmsg(fd, headers, slices.iter_mut(), MsgFlags::MSG_DONTWAIT, None) {
        Ok(results) => {
            let mut count = 0;
            for (slot, r) in lengths.iter_mut().zip(results) {
                *slot = r.bytes;
                count += 1;
            }
            count
        }
        Err(_) => 0,
    }
}
