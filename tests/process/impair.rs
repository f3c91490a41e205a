//! A user-space UDP impairment proxy for the real-peer tests (this kernel has no `tc netem`): a listening
//! socket on 127.0.0.1 that relays datagrams between peers and one upstream address (a mediagate worker's
//! shared WebRTC port), applying per-direction [`Rule`]s — random loss from a seeded generator, dropping one
//! flight of datagrams that match a predicate, or dropping every match — and counting what it did.
//!
//! Each peer tuple gets its own upstream socket (bound on 127.0.0.1, port 0), so the server sees one
//! distinct, stable tuple per peer tuple. Rule state (random sequence, "once" bookkeeping) is per flow, so a
//! rule applies to each flow on its own and its decisions depend only on that flow's datagram order.
//!
//! Must not: send anywhere but the peer tuples it heard from and its one upstream address, or alter bytes.
//! Datagrams are classified by their first byte (RFC 7983 §7: STUN 0..=3, DTLS 20..=63, RTP/RTCP 128..=191);
//! DTLS records are walked per RFC 6347 §4.1 (13-byte header, handshake header §4.2.2) and RFC 9147 §4
//! (the unified header of encrypted DTLS 1.3 records: `001CSLEE`).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which way a datagram travels through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From a peer (the browser) to the upstream server.
    ToServer,
    /// From the server back to a peer.
    ToClient,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
}

/// DTLS handshake message types (RFC 6347 §4.2.2, RFC 9147 §5).
pub mod handshake {
    /// ClientHello.
    pub const CLIENT_HELLO: u8 = 1;
    /// ServerHello.
    pub const SERVER_HELLO: u8 = 2;
    /// Certificate.
    pub const CERTIFICATE: u8 = 11;
    /// ClientKeyExchange (DTLS 1.2 only).
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
}

/// The DTLS records of one datagram, as far as they can be read without keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DtlsRecords {
    /// Plaintext (epoch 0) handshake fragments: message type and message_seq.
    pub handshakes: Vec<(u8, u16)>,
    /// A ChangeCipherSpec record (DTLS 1.2).
    pub change_cipher_spec: bool,
    /// Records under an epoch above 0 with the DTLS 1.2 header (encrypted handshake or application data).
    pub encrypted_12: usize,
    /// Records with the DTLS 1.3 unified header (always encrypted).
    pub unified: usize,
    /// Bytes after the last whole record (a truncated record).
    pub trailing: usize,
}

impl DtlsRecords {
    /// Whether a plaintext handshake fragment of `message_type` is in the datagram.
    pub fn carries(&self, message_type: u8) -> bool {
        self.handshakes.iter().any(|&(t, _)| t == message_type)
    }

    /// Walks the records of a DTLS datagram; `None` when the first byte is not DTLS (RFC 7983: 20..=63).
    pub fn parse(datagram: &[u8]) -> Option<DtlsRecords> {
        if !matches!(datagram.first(), Some(20..=63)) {
            return None;
        }
        let mut out = DtlsRecords::default();
        let mut rest = datagram;
        while let Some(&first) = rest.first() {
            if first & 0xe0 == 0x20 {
                // Unified header: C (connection id, not negotiated in WebRTC), S (16-bit sequence), L (length).
                let seq_len = if first & 0x08 != 0 { 2 } else { 1 };
                let header = 1 + seq_len;
                let (header, body) = if first & 0x04 != 0 {
                    let Some(len) = rest.get(header..header + 2) else {
                        break;
                    };
                    (
                        header + 2,
                        usize::from(u16::from_be_bytes([len[0], len[1]])),
                    )
                } else {
                    (header, rest.len().saturating_sub(header))
                };
                if first & 0x10 != 0 || rest.len() < header + body {
                    break;
                }
                out.unified += 1;
                rest = &rest[header + body..];
                continue;
            }
            // DTLSPlaintext / DTLSCiphertext (1.2): type, version(2), epoch(2), seq(6), length(2).
            let Some(head) = rest.get(..13) else {
                break;
            };
            let epoch = u16::from_be_bytes([head[3], head[4]]);
            let len = usize::from(u16::from_be_bytes([head[11], head[12]]));
            let Some(fragment) = rest.get(13..13 + len) else {
                break;
            };
            match (head[0], epoch) {
                (20, _) => out.change_cipher_spec = true,
                (22, 0) => {
                    // Handshake: msg_type, length(3), message_seq(2), fragment_offset(3), fragment_length(3).
                    if fragment.len() >= 12 {
                        out.handshakes
                            .push((fragment[0], u16::from_be_bytes([fragment[4], fragment[5]])));
                    }
                }
                (_, 0) => {}
                _ => out.encrypted_12 += 1,
            }
            rest = &rest[13 + len..];
        }
        out.trailing = rest.len();
        Some(out)
    }
}

/// What a flow saw so far: the handshake milestones rules and tests look at.
#[derive(Clone, Debug)]
pub struct FlowHistory {
    /// The peer's tuple.
    pub client: SocketAddr,
    /// The upstream socket's local address: the tuple the server sees.
    pub upstream: SocketAddr,
    /// When the first ClientHello passed or was dropped (wall clock, for comparing with a driver's times).
    pub first_client_hello: Option<SystemTime>,
    /// A ServerHello was forwarded to the peer.
    pub server_hello_forwarded: bool,
    /// A DTLS 1.3 unified-header record was seen (either way).
    pub dtls_1_3: bool,
    /// A DTLS 1.2 ChangeCipherSpec or ClientKeyExchange was seen (either way).
    pub dtls_1_2: bool,
    /// First RTP/RTCP datagram forwarded to the peer.
    pub first_media_to_client: Option<SystemTime>,
    /// Datagrams forwarded, per direction (to server, to client).
    pub forwarded: [u64; 2],
    /// Datagrams dropped, per direction.
    pub dropped: [u64; 2],
    /// DTLS datagrams dropped, per direction.
    pub dropped_dtls: [u64; 2],
    /// RTP/RTCP datagrams dropped, per direction.
    pub dropped_media: [u64; 2],
}

/// Which DTLS version a flow's handshake ran, as far as its records tell.
impl FlowHistory {
    /// `"DTLS 1.3"`, `"DTLS 1.2"` or `"unknown"`.
    pub fn dtls_version(&self) -> &'static str {
        match (self.dtls_1_3, self.dtls_1_2) {
            (true, _) => "DTLS 1.3",
            (false, true) => "DTLS 1.2",
            _ => "unknown",
        }
    }
}

/// A datagram as predicates see it: its bytes, its DTLS records (if DTLS) and its flow's history so far.
pub struct Seen<'a> {
    /// The datagram.
    pub bytes: &'a [u8],
    /// Its DTLS records, when its first byte says DTLS.
    pub dtls: Option<&'a DtlsRecords>,
    /// The flow's history before this datagram.
    pub flow: &'a FlowHistory,
}

/// A datagram predicate.
pub type Predicate = fn(&Seen<'_>) -> bool;

/// What a rule does to the datagrams of its direction.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    /// Drops each datagram with `probability`, from a generator seeded with `seed` (and the flow's index).
    Loss {
        /// 0.0..=1.0.
        probability: f64,
        /// Seed of the flow's generator.
        seed: u64,
    },
    /// Drops the first datagram matching the predicate, and the datagrams sent with it in the same flight: DTLS
    /// datagrams of the same direction read within [`FLIGHT_WINDOW`] of it, before any DTLS datagram comes
    /// the other way and without repeating a handshake message already dropped. Once per flow.
    DropFlightOnce(Predicate),
    /// Drops every datagram matching the predicate.
    DropAll(Predicate),
}

/// How far apart the datagrams of one flight may be read. Chromium retransmits a DTLS flight after 50 ms at
/// the earliest on loopback, the server after 1 s: a flight's datagrams leave back to back.
pub const FLIGHT_WINDOW: Duration = Duration::from_millis(20);

/// A named rule on one direction.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Name in reports.
    pub name: &'static str,
    /// Which datagrams it sees.
    pub direction: Direction,
    /// What it does.
    pub action: Action,
}

/// Independent 5% loss each way (seeds `seed` and `seed + 1`), the rules of the loss tests; `client` is the
/// name of the rule toward the client in reports.
pub fn five_percent_loss_both_ways(client: &'static str, seed: u64) -> [Rule; 2] {
    let loss = |seed| Action::Loss {
        probability: 0.05,
        seed,
    };
    [
        Rule {
            name: "loss to server",
            direction: Direction::ToServer,
            action: loss(seed),
        },
        Rule {
            name: client,
            direction: Direction::ToClient,
            action: loss(seed + 1),
        },
    ]
}

/// What a rule did, over all flows.
#[derive(Clone, Debug, Default)]
pub struct RuleReport {
    /// The rule's name.
    pub name: &'static str,
    /// Datagrams it dropped.
    pub dropped: u64,
    /// Flights it dropped (`DropFlightOnce`: flows where it fired).
    pub flights: u64,
    /// Datagrams it saw.
    pub seen: u64,
}

/// Everything a proxy did.
#[derive(Clone, Debug)]
pub struct ProxyReport {
    /// Where it relays to.
    pub server: SocketAddr,
    /// One entry per peer tuple, in order of first datagram.
    pub flows: Vec<FlowHistory>,
    /// One entry per rule, in the order given.
    pub rules: Vec<RuleReport>,
}

/// A running proxy: relays until [`Proxy::stop`].
pub struct Proxy {
    listen: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    server: SocketAddr,
    rules: Vec<Rule>,
    stop: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    by_client: HashMap<SocketAddr, usize>,
    flows: Vec<Flow>,
    rules: Vec<RuleReport>,
}

struct Flow {
    history: FlowHistory,
    upstream: Arc<UdpSocket>,
    rules: Vec<RuleState>,
}

enum RuleState {
    Random(SplitMix64),
    Once(Once),
    Always,
}

enum Once {
    Waiting,
    Dropping {
        since: Instant,
        messages: Vec<(u8, u16)>,
    },
    Done,
}

/// SplitMix64: a small, seedable generator (the same sequence for the same seed on every run).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const READ_TIMEOUT: Duration = Duration::from_millis(50);

impl Proxy {
    /// Listens on 127.0.0.1 (a free port) and relays to `server` under `rules`.
    pub fn start(server: SocketAddr, rules: Vec<Rule>) -> Proxy {
        let listener = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the proxy's socket");
        listener
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("read timeout");
        let listen = listener.local_addr().expect("proxy address");
        let state = State {
            rules: rules
                .iter()
                .map(|r| RuleReport {
                    name: r.name,
                    ..RuleReport::default()
                })
                .collect(),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            server,
            rules,
            stop: AtomicBool::new(false),
            state: Mutex::new(state),
        });
        let listener = Arc::new(listener);
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("impair-{}", listen.port()))
                .spawn(move || relay_from_clients(&shared, &listener))
                .expect("spawn the proxy thread")
        };
        Proxy {
            listen,
            shared,
            threads: vec![thread],
        }
    }

    /// Where peers should send.
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// What it did so far.
    pub fn report(&self) -> ProxyReport {
        let state = lock(&self.shared.state);
        ProxyReport {
            server: self.shared.server,
            flows: state.flows.iter().map(|f| f.history.clone()).collect(),
            rules: state.rules.clone(),
        }
    }

    /// Stops relaying and returns what it did.
    pub fn stop(mut self) -> ProxyReport {
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            thread.join().expect("proxy thread panicked");
        }
        self.report()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The listener's thread: datagrams from peers go upstream through their flow's own socket; a new peer
/// tuple gets a socket and a thread relaying the server's answers back to it.
fn relay_from_clients(shared: &Arc<Shared>, listener: &Arc<UdpSocket>) {
    let mut buf = vec![0u8; 65536];
    let mut upstream_threads = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let (len, client) = match listener.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if is_timeout(&e) => continue,
            Err(e) => panic!("proxy recv: {e}"),
        };
        let datagram = &buf[..len];
        let mut state = lock(&shared.state);
        let index = match state.by_client.get(&client) {
            Some(&index) => index,
            None => {
                let index = state.flows.len();
                let upstream = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind upstream");
                upstream
                    .set_read_timeout(Some(READ_TIMEOUT))
                    .expect("read timeout");
                let upstream = Arc::new(upstream);
                let rules = shared
                    .rules
                    .iter()
                    .map(|r| match r.action {
                        Action::Loss { seed, .. } => RuleState::Random(SplitMix64(
                            seed ^ (index as u64).wrapping_mul(0xa076_1d64_78bd_642f),
                        )),
                        Action::DropFlightOnce(_) => RuleState::Once(Once::Waiting),
                        Action::DropAll(_) => RuleState::Always,
                    })
                    .collect();
                state.flows.push(Flow {
                    history: FlowHistory {
                        client,
                        upstream: upstream.local_addr().expect("upstream address"),
                        first_client_hello: None,
                        server_hello_forwarded: false,
                        dtls_1_3: false,
                        dtls_1_2: false,
                        first_media_to_client: None,
                        forwarded: [0; 2],
                        dropped: [0; 2],
                        dropped_dtls: [0; 2],
                        dropped_media: [0; 2],
                    },
                    upstream: upstream.clone(),
                    rules,
                });
                state.by_client.insert(client, index);
                let (shared, listener) = (shared.clone(), listener.clone());
                upstream_threads.push(
                    std::thread::Builder::new()
                        .name(format!("impair-up-{index}"))
                        .spawn(move || relay_from_server(&shared, &listener, &upstream, index))
                        .expect("spawn an upstream thread"),
                );
                index
            }
        };
        if decide(shared, &mut state, index, Direction::ToServer, datagram) {
            let upstream = state.flows[index].upstream.clone();
            drop(state);
            // A send error (the server gone) is what the test will see anyway.
            let _ = upstream.send_to(datagram, shared.server);
        }
    }
    for thread in upstream_threads {
        thread.join().expect("upstream thread panicked");
    }
}

fn relay_from_server(shared: &Shared, listener: &UdpSocket, upstream: &UdpSocket, index: usize) {
    let mut buf = vec![0u8; 65536];
    while !shared.stop.load(Ordering::Relaxed) {
        let (len, from) = match upstream.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if is_timeout(&e) => continue,
            // ICMP port unreachable from an earlier send surfaces here on Linux: not ours to judge.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
            Err(e) => panic!("proxy upstream recv: {e}"),
        };
        if from != shared.server {
            continue;
        }
        let datagram = &buf[..len];
        let mut state = lock(&shared.state);
        if decide(shared, &mut state, index, Direction::ToClient, datagram) {
            let client = state.flows[index].history.client;
            drop(state);
            let _ = listener.send_to(datagram, client);
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Applies the rules to one datagram of flow `index`; true to forward it. Updates counters and history.
fn decide(
    shared: &Shared,
    state: &mut State,
    index: usize,
    direction: Direction,
    datagram: &[u8],
) -> bool {
    let now = Instant::now();
    let dtls = DtlsRecords::parse(datagram);
    let State { flows, rules, .. } = state;
    let flow = &mut flows[index];
    let mut drop_it = false;
    for (i, rule) in shared.rules.iter().enumerate() {
        // A DTLS datagram the other way ends a flight being dropped.
        if rule.direction != direction {
            if dtls.is_some() {
                if let RuleState::Once(once @ Once::Dropping { .. }) = &mut flow.rules[i] {
                    *once = Once::Done;
                }
            }
            continue;
        }
        rules[i].seen += 1;
        let seen = Seen {
            bytes: datagram,
            dtls: dtls.as_ref(),
            flow: &flow.history,
        };
        let hit = match (&rule.action, &mut flow.rules[i]) {
            (Action::Loss { probability, .. }, RuleState::Random(rng)) => rng.unit() < *probability,
            (Action::DropAll(predicate), RuleState::Always) => predicate(&seen),
            (Action::DropFlightOnce(predicate), RuleState::Once(once)) => match once {
                Once::Waiting => {
                    let hit = predicate(&seen);
                    if hit {
                        *once = Once::Dropping {
                            since: now,
                            messages: dtls
                                .as_ref()
                                .map(|d| d.handshakes.clone())
                                .unwrap_or_default(),
                        };
                        rules[i].flights += 1;
                    }
                    hit
                }
                Once::Dropping { since, messages } => {
                    let repeats = dtls
                        .as_ref()
                        .is_some_and(|d| d.handshakes.iter().any(|m| messages.contains(m)));
                    if dtls.is_some() && now.duration_since(*since) < FLIGHT_WINDOW && !repeats {
                        messages.extend(dtls.iter().flat_map(|d| d.handshakes.iter().copied()));
                        true
                    } else if dtls.is_some() {
                        *once = Once::Done;
                        false
                    } else {
                        false
                    }
                }
                Once::Done => false,
            },
            _ => unreachable!("rule state made from its action"),
        };
        if hit {
            rules[i].dropped += 1;
            drop_it = true;
        }
    }
    let history = &mut flow.history;
    let d = direction.index();
    if let Some(records) = &dtls {
        if records.carries(handshake::CLIENT_HELLO) && history.first_client_hello.is_none() {
            history.first_client_hello = Some(SystemTime::now());
        }
        history.dtls_1_3 |= records.unified > 0;
        history.dtls_1_2 |=
            records.change_cipher_spec || records.carries(handshake::CLIENT_KEY_EXCHANGE);
    }
    let media = matches!(datagram.first(), Some(128..=191));
    if drop_it {
        history.dropped[d] += 1;
        history.dropped_dtls[d] += u64::from(dtls.is_some());
        history.dropped_media[d] += u64::from(media);
    } else {
        history.forwarded[d] += 1;
        if direction == Direction::ToClient {
            if dtls
                .as_ref()
                .is_some_and(|r| r.carries(handshake::SERVER_HELLO))
            {
                history.server_hello_forwarded = true;
            }
            if media && history.first_media_to_client.is_none() {
                history.first_media_to_client = Some(SystemTime::now());
            }
        }
    }
    !drop_it
}

/// Milliseconds since the Unix epoch (what a driver's `Date.now()` gives).
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Predicates for the DTLS handshake's flights, for DTLS 1.2 and 1.3 alike.
pub mod flights {
    use super::{Seen, handshake};

    /// The server's first flight: the datagram carrying its ServerHello (the rest of the flight follows it).
    pub fn server_hello(seen: &Seen<'_>) -> bool {
        seen.dtls
            .is_some_and(|d| d.carries(handshake::SERVER_HELLO))
    }

    /// The client's final flight: its first DTLS datagram after a ServerHello reached it that is not a
    /// ClientHello — DTLS 1.2: Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec,
    /// Finished; DTLS 1.3: the encrypted Certificate, CertificateVerify and Finished.
    pub fn client_final(seen: &Seen<'_>) -> bool {
        seen.flow.server_hello_forwarded
            && seen.dtls.is_some_and(|d| {
                !d.carries(handshake::CLIENT_HELLO)
                    && (d.carries(handshake::CLIENT_KEY_EXCHANGE)
                        || d.carries(handshake::CERTIFICATE)
                        || d.unified > 0
                        || d.change_cipher_spec)
            })
    }

    /// Any DTLS datagram (RFC 7983 §7: first byte 20..=63).
    pub fn any_dtls(seen: &Seen<'_>) -> bool {
        matches!(seen.bytes.first(), Some(20..=63))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(content_type: u8, epoch: u16, body: &[u8]) -> Vec<u8> {
        let mut r = vec![content_type, 0xfe, 0xfd];
        r.extend_from_slice(&epoch.to_be_bytes());
        r.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn handshake_fragment(message_type: u8, message_seq: u16) -> Vec<u8> {
        let mut h = vec![message_type, 0, 0, 4];
        h.extend_from_slice(&message_seq.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
        h
    }

    #[test]
    fn reads_a_dtls_1_2_client_final_flight() {
        let mut datagram = record(22, 0, &handshake_fragment(11, 2));
        datagram.extend(record(22, 0, &handshake_fragment(16, 3)));
        datagram.extend(record(20, 0, &[1]));
        datagram.extend(record(22, 1, &[9; 40]));
        let d = DtlsRecords::parse(&datagram).expect("dtls");
        assert_eq!(d.handshakes, vec![(11, 2), (16, 3)]);
        assert!(d.change_cipher_spec && d.carries(handshake::CLIENT_KEY_EXCHANGE));
        assert_eq!((d.encrypted_12, d.unified, d.trailing), (1, 0, 0));
    }

    #[test]
    fn reads_a_dtls_1_3_server_flight() {
        let mut datagram = record(22, 0, &handshake_fragment(2, 0));
        // Unified header with S and L set: 0b0010_1110 (epoch 2), 16-bit seq, 16-bit length.
        datagram.extend([0x2e, 0, 0, 0, 5, 1, 2, 3, 4, 5]);
        // Without L: the record runs to the end of the datagram.
        datagram.extend([0x22, 7, 9, 9, 9]);
        let d = DtlsRecords::parse(&datagram).expect("dtls");
        assert!(d.carries(handshake::SERVER_HELLO));
        assert_eq!((d.unified, d.trailing), (2, 0));
        assert_eq!(DtlsRecords::parse(&[0x80, 0x60]), None, "rtp");
        assert_eq!(DtlsRecords::parse(&[0, 1, 0, 0]), None, "stun");
        let truncated = DtlsRecords::parse(&record(22, 0, &[1, 2])[..10]).expect("dtls");
        assert_eq!(truncated.trailing, 10);
    }

    #[test]
    fn the_generator_repeats_with_its_seed() {
        let draws = |seed| {
            let mut g = SplitMix64(seed);
            (0..1000).filter(|_| g.unit() < 0.05).count()
        };
        assert_eq!(draws(7), draws(7));
        assert!((30..=70).contains(&draws(7)), "{}", draws(7));
    }

    /// A proxy relays both ways through one upstream socket per peer tuple, dropping one flight once.
    #[test]
    fn relays_and_drops_a_flight_once() {
        let server = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let proxy = Proxy::start(
            server.local_addr().expect("addr"),
            vec![Rule {
                name: "server hello",
                direction: Direction::ToClient,
                action: Action::DropFlightOnce(flights::server_hello),
            }],
        );
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        client
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let hello = record(22, 0, &handshake_fragment(1, 0));
        let flight = record(22, 0, &handshake_fragment(2, 0));
        let mut buf = [0u8; 2048];
        let mut tuples = Vec::new();
        for _ in 0..2 {
            client.send_to(&hello, proxy.listen()).expect("send");
            let (n, from) = server.recv_from(&mut buf).expect("relayed hello");
            assert_eq!(&buf[..n], &hello[..]);
            tuples.push(from);
            server.send_to(&flight, from).expect("send");
        }
        // The first flight was dropped; the second (after the client spoke again) arrives.
        let (n, _) = client
            .recv_from(&mut buf)
            .expect("the retransmitted flight");
        assert_eq!(&buf[..n], &flight[..]);
        assert!(client.recv_from(&mut buf).is_err(), "only one copy arrives");
        assert_eq!(
            tuples[0], tuples[1],
            "one stable upstream tuple per peer tuple"
        );
        let report = proxy.stop();
        assert_eq!(report.flows.len(), 1);
        assert_eq!((report.rules[0].dropped, report.rules[0].flights), (1, 1));
        assert_eq!(report.flows[0].forwarded, [2, 1]);
        assert!(report.flows[0].first_client_hello.is_some());
    }
}
