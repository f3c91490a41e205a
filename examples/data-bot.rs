//! `data-bot`: mediasoup-demo's chat Bot as an outside client of mediagate, speaking SCTP itself.
//!
//! ```sh
//! cargo run --example data-bot -- --server http://127.0.0.1:3000 --room demo
//! # or: SERVER_URL=http://127.0.0.1:3000 ROOM_ID=demo cargo run --example data-bot
//! ```
//!
//! What it does, in order:
//! 1. joins the room as a broadcaster (display name `Bot`, `--display-name` to change it);
//! 2. opens a plain transport with SCTP (`comedia`, 1024/1024 streams) and runs an SCTP association to it
//!    from a UDP socket bound on 127.0.0.1 (`--bind`), with the engine's sans-IO
//!    [`SctpAssociation`](mediagate_engine::sctp::SctpAssociation) as the initiating side, driven by the
//!    socket's read timeout (the association's next timer) and `Instant::now()`;
//! 3. creates its own data producer `bot` on stream 0 (ordered, reliable), a negotiated channel: no DCEP;
//! 4. follows the room's event stream (`GET /rooms/{roomId}/events`) and consumes, on its plain transport,
//!    every data producer labelled `chat` — those already in the room at start (`GET /rooms/{roomId}`,
//!    `GET /data-producers/{id}`) and each later `dataProducer.added`. The server sends a consumer's messages
//!    on the stream id it allocated (`sctpStreamParameters.streamId`) without DCEP, so the bot registers that
//!    stream as a negotiated channel;
//! 5. answers each string message (PPID 51) with `<displayName> said me: "<text>"` on its `bot` stream, the
//!    display name being the chat producer's broadcaster's; other PPIDs are ignored.
//!
//! It leaves the room (`DELETE` its broadcaster) and exits 0 on SIGINT or SIGTERM, or when the room closes;
//! it exits 1 with one line on stderr when the server answers something it cannot use.
//!
//! Standard output carries `NAME=value` lines for scripts and tests: `BROADCASTER_ID`, `TRANSPORT_ID`,
//! `DATA_PRODUCER_ID` at start, `SCTP_STATE=connected` once the association is up, and
//! `CONSUMING=<dataProducerId>` once a chat producer's stream is registered (messages sent on it before that
//! line are lost: the bot cannot know the stream id earlier). Everything else goes to stderr.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use clap::Parser;
use mediagate_engine::sctp::{
    PPID_STRING, Reliability, SctpAssociation, SctpConfig, SctpEvent, SctpRole, SctpState,
};
use serde_json::{Value, json};

/// The bot's own data producer's stream and label.
const BOT_STREAM_ID: u16 = 0;
const BOT_LABEL: &str = "bot";
/// The label of the data producers the bot answers.
const CHAT_LABEL: &str = "chat";
/// SCTP streams asked for on the plain transport and by our association.
const NUM_STREAMS: u16 = 1024;
/// Budget of one HTTP request (the event stream has none).
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the association may take to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest UDP payload we read.
const MAX_DATAGRAM: usize = 65_536;

#[derive(Parser, Debug)]
#[command(
    name = "data-bot",
    about = "mediasoup-demo's chat Bot over a plain transport with SCTP: answers every `chat` data \
             producer's strings with `<name> said me: \"<text>\"`"
)]
struct Args {
    /// The server's base URL.
    #[arg(long, env = "SERVER_URL", default_value = "http://127.0.0.1:3000")]
    server: String,
    /// The room to join (created on first use unless the server forbids it).
    #[arg(long, env = "ROOM_ID", default_value = "demo")]
    room: String,
    /// The bot's display name.
    #[arg(long, env = "DISPLAY_NAME", default_value = "Bot")]
    display_name: String,
    /// Local address of the SCTP/UDP socket.
    #[arg(long, env = "BIND_ADDRESS", default_value = "127.0.0.1:0")]
    bind: SocketAddr,
}

/// Why the bot stopped or could not start.
#[derive(Debug, thiserror::Error)]
enum BotError {
    #[error("{method} {url}: {source}")]
    Http {
        method: &'static str,
        url: String,
        source: Box<ureq::Error>,
    },
    #[error("{method} {url}: status {status}: {detail}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{what}: the server's answer {problem}: {body}")]
    Answer {
        what: String,
        problem: String,
        body: String,
    },
    #[error("udp socket: {0}")]
    Socket(#[from] std::io::Error),
    #[error("sctp: {0}")]
    Sctp(String),
}

/// Why the bot stops.
#[derive(Debug)]
enum Stop {
    Signal(&'static str),
    RoomClosed,
    Left,
    Failed(BotError),
}

/// What the room watcher and the signal thread tell the SCTP loop.
#[derive(Debug)]
enum Command {
    /// A chat producer's consumer exists: register its stream.
    Consume {
        data_producer_id: String,
        stream_id: u16,
        ordered: bool,
        reliability: Reliability,
        display_name: String,
    },
    /// A chat producer closed (its consumer with it).
    Forget {
        data_producer_id: String,
    },
    Stop(Stop),
}

/// Sends commands to the SCTP loop and wakes it with an empty datagram (it sleeps in `recv_from`).
#[derive(Clone)]
struct Mailbox {
    tx: Sender<Command>,
    waker: std::sync::Arc<UdpSocket>,
    target: SocketAddr,
}

impl Mailbox {
    fn send(&self, command: Command) {
        // Both fail only once the loop is gone, when nobody listens any more.
        let _ = self.tx.send(command);
        let _ = self.waker.send_to(&[], self.target);
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(Stop::Signal(name)) => {
            eprintln!("data-bot: {name}: left the room");
            ExitCode::SUCCESS
        }
        Ok(Stop::RoomClosed) => {
            eprintln!("data-bot: the room closed");
            ExitCode::SUCCESS
        }
        Ok(Stop::Left) => {
            eprintln!("data-bot: removed from the room");
            ExitCode::SUCCESS
        }
        Ok(Stop::Failed(error)) | Err(error) => {
            eprintln!("data-bot: error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<Stop, BotError> {
    let api = Api::new(&args.server, &args.room);
    let socket = UdpSocket::bind(args.bind)?;
    let local = socket.local_addr()?;
    let waker = UdpSocket::bind(SocketAddr::new(local.ip(), 0))?;
    let (tx, rx) = mpsc::channel();
    let mailbox = Mailbox {
        tx,
        waker: std::sync::Arc::new(waker),
        target: local,
    };
    watch_signals(mailbox.clone())?;

    let joined = api.post(
        &format!("/rooms/{}/broadcasters", api.room),
        &json!({"displayName": args.display_name, "device": {"name": "data-bot"}}),
    )?;
    let me = string(&joined, "/id", "join")?;
    println!("BROADCASTER_ID={me}");
    let outcome = serve(&api, &me, socket, mailbox, &rx);
    // Leave whatever happened; a room that closed took the broadcaster with it (404).
    match api.delete(&format!("/rooms/{}/broadcasters/{}", api.room, encode(&me))) {
        Ok(()) | Err(BotError::Status { status: 404, .. }) => {}
        Err(e) => eprintln!("data-bot: leaving the room: {e}"),
    }
    outcome
}

/// Everything between joining and leaving.
fn serve(
    api: &Api,
    me: &str,
    socket: UdpSocket,
    mailbox: Mailbox,
    rx: &Receiver<Command>,
) -> Result<Stop, BotError> {
    let transport = api.post(
        &format!("/rooms/{}/broadcasters/{}/transports", api.room, encode(me)),
        &json!({
            "type": "plain",
            "comedia": true,
            "enableSctp": true,
            "numSctpStreams": {"OS": NUM_STREAMS, "MIS": NUM_STREAMS},
        }),
    )?;
    let transport_id = string(&transport, "/id", "create transport")?;
    println!("TRANSPORT_ID={transport_id}");
    let ip: IpAddr = string(&transport, "/ip", "create transport")?
        .parse()
        .map_err(|e| bad_answer("create transport", &transport, format!("has a bad ip: {e}")))?;
    let port = number(&transport, "/port", "create transport")?;
    let remote = SocketAddr::new(ip, u16::try_from(port).unwrap_or(0));
    if remote.port() == 0 {
        return Err(bad_answer("create transport", &transport, "has a bad port"));
    }
    // What the server accepts; what we accept stays the default.
    let remote_max_message_size = number(
        &transport,
        "/sctpParameters/maxMessageSize",
        "create transport",
    )
    .ok()
    .and_then(|n| u32::try_from(n).ok())
    .unwrap_or(mediagate_engine::sctp::DEFAULT_MAX_MESSAGE_SIZE);

    let producer = api.post(
        &format!("/transports/{}/data-producers", encode(&transport_id)),
        &json!({
            "sctpStreamParameters": {"streamId": BOT_STREAM_ID, "ordered": true},
            "label": BOT_LABEL,
        }),
    )?;
    println!(
        "DATA_PRODUCER_ID={}",
        string(&producer, "/id", "create data producer")?
    );

    let config = SctpConfig {
        os: NUM_STREAMS,
        mis: NUM_STREAMS,
        remote_max_message_size,
        ..SctpConfig::default()
    };
    let association = SctpAssociation::new(config, SctpRole::Client, Instant::now())
        .map_err(|e| BotError::Sctp(e.to_string()))?;
    let mut bot = Bot {
        association,
        socket,
        remote,
        streams: HashMap::new(),
        connect_deadline: Some(Instant::now() + CONNECT_TIMEOUT),
    };
    bot.association
        .add_channel(BOT_STREAM_ID, true, Reliability::Reliable);
    let mut watcher = Some(Watcher {
        api: api.clone(),
        me: me.to_owned(),
        transport_id,
        mailbox,
        consumed: HashSet::new(),
        names: HashMap::new(),
    });
    // The room's chat producers are consumed once the association is up.
    bot.run(rx, || {
        if let Some(mut watcher) = watcher.take() {
            std::thread::spawn(move || {
                let stop = watcher.run().unwrap_or_else(Stop::Failed);
                watcher.mailbox.send(Command::Stop(stop));
            });
        }
    })
}

/// The SCTP side: the association, its socket and which stream carries whose chat.
struct Bot {
    association: SctpAssociation,
    socket: UdpSocket,
    remote: SocketAddr,
    /// Consumed stream id → (data producer id, display name of its broadcaster).
    streams: HashMap<u16, (String, String)>,
    connect_deadline: Option<Instant>,
}

impl Bot {
    /// Drives the association until a stop command; `on_connected` runs once it is up.
    fn run(
        &mut self,
        rx: &Receiver<Command>,
        mut on_connected: impl FnMut(),
    ) -> Result<Stop, BotError> {
        let mut buf = vec![0; MAX_DATAGRAM];
        let stop = loop {
            if let Some(stop) = self.drain_events(&mut on_connected) {
                break stop;
            }
            if let Some(stop) = self.take_commands(rx) {
                break stop;
            }
            self.flush()?;
            let now = Instant::now();
            if let Some(deadline) = self.connect_deadline
                && now >= deadline
            {
                return Err(BotError::Sctp(format!(
                    "the association to {} did not come up within {CONNECT_TIMEOUT:?}",
                    self.remote
                )));
            }
            let wake = [self.association.poll_timeout(), self.connect_deadline]
                .into_iter()
                .flatten()
                .min();
            // A zero read timeout is an error: wait at least a millisecond.
            let wait = wake.map(|at| {
                at.saturating_duration_since(now)
                    .max(Duration::from_millis(1))
            });
            self.socket.set_read_timeout(wait)?;
            match self.socket.recv_from(&mut buf) {
                Ok((len, from)) if from == self.remote => {
                    self.association.handle_packet(Instant::now(), &buf[..len]);
                }
                // The mailbox's wake-up, or a stray datagram: either way, look again.
                Ok(_) => {}
                // A timer is due, or a signal arrived (a read with a timeout is not restarted).
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(BotError::Socket(e)),
            }
            let now = Instant::now();
            if self.association.poll_timeout().is_some_and(|at| at <= now) {
                self.association.handle_timeout(now);
            }
        };
        // Tell the server at once rather than leaving it to time the association out.
        self.association.close(Instant::now());
        let _ = self.flush();
        Ok(stop)
    }

    fn drain_events(&mut self, on_connected: &mut impl FnMut()) -> Option<Stop> {
        while let Some(event) = self.association.poll_event() {
            match event {
                SctpEvent::StateChanged(SctpState::Connected) => {
                    self.connect_deadline = None;
                    println!("SCTP_STATE=connected");
                    on_connected();
                }
                SctpEvent::StateChanged(state @ (SctpState::Failed | SctpState::Closed)) => {
                    return Some(Stop::Failed(BotError::Sctp(format!(
                        "the association is {}",
                        serde_json::to_string(&state).unwrap_or_default()
                    ))));
                }
                SctpEvent::Message {
                    stream_id,
                    ppid,
                    data,
                } => self.answer(stream_id, ppid, &data),
                _ => {}
            }
        }
        None
    }

    fn answer(&mut self, stream_id: u16, ppid: u32, data: &[u8]) {
        let Some((_, name)) = self.streams.get(&stream_id) else {
            return;
        };
        if ppid != PPID_STRING {
            return;
        }
        let text = String::from_utf8_lossy(data);
        let reply = format!("{name} said me: \"{text}\"");
        if let Err(e) =
            self.association
                .send(Instant::now(), BOT_STREAM_ID, PPID_STRING, reply.as_bytes())
        {
            eprintln!("data-bot: cannot answer on stream {BOT_STREAM_ID}: {e}");
        }
    }

    fn take_commands(&mut self, rx: &Receiver<Command>) -> Option<Stop> {
        while let Ok(command) = rx.try_recv() {
            match command {
                Command::Consume {
                    data_producer_id,
                    stream_id,
                    ordered,
                    reliability,
                    display_name,
                } => {
                    self.association
                        .add_channel(stream_id, ordered, reliability);
                    eprintln!(
                        "data-bot: consuming {data_producer_id} of {display_name:?} on stream {stream_id}"
                    );
                    println!("CONSUMING={data_producer_id}");
                    self.streams
                        .insert(stream_id, (data_producer_id, display_name));
                }
                Command::Forget { data_producer_id } => {
                    self.streams.retain(|_, (id, _)| *id != data_producer_id);
                }
                Command::Stop(stop) => return Some(stop),
            }
        }
        None
    }

    fn flush(&mut self) -> Result<(), BotError> {
        while let Some(packet) = self.association.poll_transmit(Instant::now()) {
            match self.socket.send_to(&packet, self.remote) {
                Ok(_) => {}
                // SCTP retransmits what a full socket buffer or a signal drops.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(BotError::Socket(e)),
            }
        }
        Ok(())
    }
}

/// Follows the room's event stream and consumes its chat producers on our transport.
struct Watcher {
    api: Api,
    me: String,
    transport_id: String,
    mailbox: Mailbox,
    /// Chat producers consumed (or being consumed).
    consumed: HashSet<String>,
    /// Display names by broadcaster id.
    names: HashMap<String, String>,
}

impl Watcher {
    /// Runs until the room closes, we are removed, or the server fails us.
    fn run(&mut self) -> Result<Stop, BotError> {
        // Subscribe first, then list: a producer added in between is seen twice, never missed.
        let mut events = self
            .api
            .events(&format!("/rooms/{}/events", self.api.room))?;
        self.consume_existing()?;
        while let Some((name, data)) = events.next_event()? {
            let what = format!("{name} event");
            match name.as_str() {
                "dataProducer.added" if string(&data, "/label", &what)? == CHAT_LABEL => {
                    let id = string(&data, "/dataProducerId", &what)?;
                    let owner = string(&data, "/broadcasterId", &what)?;
                    self.consume(&id, &owner)?;
                }
                "dataProducer.closed" => {
                    let id = string(&data, "/dataProducerId", &what)?;
                    if self.consumed.remove(&id) {
                        self.mailbox.send(Command::Forget {
                            data_producer_id: id,
                        });
                    }
                }
                // Closing a room makes every broadcaster leave first (reason `room closed`).
                "broadcaster.left" if string(&data, "/broadcasterId", &what)? == self.me => {
                    return Ok(match data["reason"].as_str() {
                        Some("room closed") => Stop::RoomClosed,
                        _ => Stop::Left,
                    });
                }
                "room.closed" => return Ok(Stop::RoomClosed),
                // Events were lost: what exists now is in the REST resources.
                "reset" => self.consume_existing()?,
                _ => {}
            }
        }
        // The server ends a room's stream only when the room closes.
        Ok(Stop::RoomClosed)
    }

    /// Consumes the room's chat producers not consumed yet.
    fn consume_existing(&mut self) -> Result<(), BotError> {
        let what = "GET /rooms/{roomId}";
        let room = self.api.get(&format!("/rooms/{}", self.api.room))?;
        let ids = room
            .pointer("/dataProducerIds")
            .and_then(Value::as_array)
            .ok_or_else(|| bad_answer(what, &room, "lacks the array /dataProducerIds"))?;
        for id in ids {
            let id = id.as_str().ok_or_else(|| {
                bad_answer(what, &room, "has a data producer id that is not a string")
            })?;
            if self.consumed.contains(id) {
                continue;
            }
            let producer = match self.api.get(&format!("/data-producers/{}", encode(id))) {
                Ok(producer) => producer,
                // Closed since the listing.
                Err(BotError::Status { status: 404, .. }) => continue,
                Err(e) => return Err(e),
            };
            let what = "GET /data-producers/{id}";
            if string(&producer, "/label", what)? == CHAT_LABEL {
                let owner = string(&producer, "/broadcasterId", what)?;
                self.consume(id, &owner)?;
            }
        }
        Ok(())
    }

    /// Creates a data consumer of a chat producer on our transport and hands its stream to the SCTP
    /// loop; does nothing for one consumed already.
    fn consume(&mut self, data_producer_id: &str, owner: &str) -> Result<(), BotError> {
        if self.consumed.contains(data_producer_id) {
            return Ok(());
        }
        let display_name = match self.names.get(owner) {
            Some(name) => name.clone(),
            None => {
                let path = format!("/rooms/{}/broadcasters/{}", self.api.room, encode(owner));
                let broadcaster = match self.api.get(&path) {
                    Ok(broadcaster) => broadcaster,
                    // Gone already, and its producers with it.
                    Err(BotError::Status { status: 404, .. }) => return Ok(()),
                    Err(e) => return Err(e),
                };
                let name = string(&broadcaster, "/displayName", "GET broadcaster")?;
                self.names.insert(owner.to_owned(), name.clone());
                name
            }
        };
        let consumer = match self.api.post(
            &format!("/transports/{}/data-consumers", encode(&self.transport_id)),
            &json!({"dataProducerId": data_producer_id}),
        ) {
            Ok(consumer) => consumer,
            // The producer closed in between.
            Err(BotError::Status { status: 404, .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.consumed.insert(data_producer_id.to_owned());
        let what = "POST /transports/{id}/data-consumers";
        let stream_id = number(&consumer, "/sctpStreamParameters/streamId", what)?;
        let stream_id = u16::try_from(stream_id)
            .map_err(|_| bad_answer(what, &consumer, "has a stream id above 65535"))?;
        let (ordered, reliability) = stream_rule(&consumer["sctpStreamParameters"]);
        self.mailbox.send(Command::Consume {
            data_producer_id: data_producer_id.to_owned(),
            stream_id,
            ordered,
            reliability,
            display_name,
        });
        Ok(())
    }
}

/// Ordering and reliability of `sctpStreamParameters` (mediasoup's defaults: ordered unless a limit is given).
fn stream_rule(params: &Value) -> (bool, Reliability) {
    let limit = |name: &str| {
        params
            .get(name)
            .and_then(Value::as_u64)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    let reliability = match (limit("maxRetransmits"), limit("maxPacketLifeTime")) {
        (Some(n), _) => Reliability::MaxRetransmits(n),
        (None, Some(ms)) => Reliability::MaxPacketLifeTime(ms),
        (None, None) => Reliability::Reliable,
    };
    let ordered = params
        .get("ordered")
        .and_then(Value::as_bool)
        .unwrap_or(reliability == Reliability::Reliable);
    (ordered, reliability)
}

/// SIGINT and SIGTERM become a stop command (tokio's signal handling, in a thread of its own).
fn watch_signals(mailbox: Mailbox) -> Result<(), BotError> {
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        let name = runtime.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let (mut interrupt, mut terminate) = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(i), Ok(t)) => (i, t),
                (Err(e), _) | (_, Err(e)) => {
                    let _ = ready_tx.send(Err(e));
                    return None;
                }
            };
            let _ = ready_tx.send(Ok(()));
            tokio::select! {
                _ = interrupt.recv() => Some("SIGINT"),
                _ = terminate.recv() => Some("SIGTERM"),
            }
        });
        if let Some(name) = name {
            mailbox.send(Command::Stop(Stop::Signal(name)));
        }
    });
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(BotError::Socket(e)),
        Err(_) => Err(BotError::Sctp("the signal thread died".into())),
    }
}

/// The few HTTP calls the bot makes: JSON in, JSON out, problem details turned into errors.
#[derive(Clone)]
struct Api {
    agent: ureq::Agent,
    events_agent: ureq::Agent,
    base: String,
    /// The room id, percent-encoded for paths.
    room: String,
}

impl Api {
    fn new(server: &str, room: &str) -> Api {
        let agent = |timeout| -> ureq::Agent {
            ureq::Agent::config_builder()
                .timeout_global(timeout)
                .http_status_as_error(false)
                .build()
                .into()
        };
        Api {
            agent: agent(Some(HTTP_TIMEOUT)),
            events_agent: agent(None),
            base: server.trim_end_matches('/').to_owned(),
            room: encode(room),
        }
    }

    fn get(&self, path: &str) -> Result<Value, BotError> {
        let url = format!("{}{path}", self.base);
        let response = self.agent.get(&url).call();
        Self::json("GET", url, response)
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value, BotError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .send(body.to_string());
        Self::json("POST", url, response)
    }

    fn delete(&self, path: &str) -> Result<(), BotError> {
        let url = format!("{}{path}", self.base);
        let response = self.agent.delete(&url).call();
        Self::checked("DELETE", url, response).map(drop)
    }

    /// Opens an event stream.
    fn events(&self, path: &str) -> Result<Events, BotError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .events_agent
            .get(&url)
            .header("accept", "text/event-stream")
            .call();
        let response = Self::checked("GET", url, response)?;
        Ok(Events {
            reader: BufReader::new(response.into_body().into_reader()),
        })
    }

    fn json(
        method: &'static str,
        url: String,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, BotError> {
        let mut response = Self::checked(method, url.clone(), response)?;
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|source| BotError::Http {
                method,
                url: url.clone(),
                source: Box::new(source),
            })?;
        serde_json::from_str(&body).map_err(|e| BotError::Answer {
            what: format!("{method} {url}"),
            problem: format!("is not JSON ({e})"),
            body,
        })
    }

    /// The response when its status is 2xx; otherwise an error with the problem's `detail` (or the body).
    fn checked(
        method: &'static str,
        url: String,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<ureq::http::Response<ureq::Body>, BotError> {
        let mut response = response.map_err(|source| BotError::Http {
            method,
            url: url.clone(),
            source: Box::new(source),
        })?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(response);
        }
        let body = response.body_mut().read_to_string().unwrap_or_default();
        let detail = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|problem| {
                problem
                    .get("detail")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or(body);
        Err(BotError::Status {
            method,
            url,
            status,
            detail,
        })
    }
}

/// The string at `pointer` in an answer of the server.
fn string(value: &Value, pointer: &str, what: &str) -> Result<String, BotError> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| bad_answer(what, value, format!("lacks the string {pointer}")))
}

/// The unsigned number at `pointer` in an answer of the server.
fn number(value: &Value, pointer: &str, what: &str) -> Result<u64, BotError> {
    value
        .pointer(pointer)
        .and_then(Value::as_u64)
        .ok_or_else(|| bad_answer(what, value, format!("lacks the number {pointer}")))
}

/// An answer of the server the bot cannot use.
fn bad_answer(what: &str, value: &Value, problem: impl Into<String>) -> BotError {
    BotError::Answer {
        what: what.to_owned(),
        problem: problem.into(),
        body: value.to_string(),
    }
}

/// An event stream being read: `event:` / `data:` blocks (WHATWG "Server-sent events"), comments skipped.
struct Events {
    reader: BufReader<ureq::BodyReader<'static>>,
}

impl Events {
    /// The next event's name and JSON data; `None` when the server ended the stream.
    fn next_event(&mut self) -> Result<Option<(String, Value)>, BotError> {
        let mut name = String::new();
        let mut data = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            let read = self.reader.read_line(&mut line).map_err(BotError::Socket)?;
            if read == 0 {
                return Ok(None);
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if name.is_empty() && data.is_empty() {
                    continue;
                }
                let value = serde_json::from_str(&data).map_err(|e| BotError::Answer {
                    what: format!("event {name:?}"),
                    problem: format!("has data that is not JSON ({e})"),
                    body: data.clone(),
                })?;
                return Ok(Some((std::mem::take(&mut name), value)));
            }
            if let Some(value) = line.strip_prefix("event:") {
                name = value.trim_start().to_owned();
            } else if let Some(value) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
