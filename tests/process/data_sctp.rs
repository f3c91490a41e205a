//! Data channels with SCTP stacks that are not ours, each test inside its own network namespace:
//!
//! - mediasoup's node-sctp test: node-sctp 1.0.0 (pure JavaScript, `tests/browser/sctp-udp-client.mjs`)
//!   associates with a comedia plain transport over UDP (256/256 streams) and sends 200 ordered messages,
//!   strings and binaries alternating; a direct transport's data consumer must see every one, in order,
//!   with its PPID, on its owner's event stream, and the stats must count them.
//! - the data-bot example (`examples/data-bot.rs`, the engine's SCTP as a client over UDP) answers a direct
//!   data producer's chat messages; its answers come back on a direct data consumer of its `bot` producer.
//!
//! Prerequisites: Node and `npm ci --prefix tests/browser` (node-sctp); cargo builds the example.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::browser::browser_dir;
use super::netns::isolated;
use super::support::{Client, EventStream, Server, report};

/// Messages the node-sctp client sends.
const MESSAGES: u32 = 200;
/// The stream the node-sctp client sends on (and its data producer's `streamId`).
const STREAM_ID: u16 = 123;
/// Budget for a run of messages to arrive.
const ARRIVAL: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------------
// Helpers.

/// POSTs JSON, asserting `status`; returns the answer.
fn post(api: &mut Client, path: &str, body: Value, status: u16) -> Value {
    api.post(path, body.to_string().as_bytes())
        .expect(status)
        .json()
}

impl EventStream {
    /// The next `dataConsumer.message` of `data_consumer`: its PPID and decoded bytes.
    fn message(&mut self, data_consumer: &str, deadline: Instant) -> (u64, Vec<u8>) {
        let event = self.next("dataConsumer.message", deadline, |d| {
            d["dataConsumerId"] == data_consumer
        });
        let ppid = event["ppid"].as_u64().expect("ppid");
        let data = event["data"].as_str().expect("data");
        let bytes = match event["encoding"].as_str() {
            Some("text") => data.as_bytes().to_vec(),
            Some("base64") => base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap_or_else(|e| panic!("bad base64 ({e}): {event}")),
            _ => panic!("unknown encoding: {event}"),
        };
        (ppid, bytes)
    }
}

/// A child process killed on drop; its stdout lines arrive on a channel.
struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: PathBuf,
    name: &'static str,
}

impl Peer {
    fn spawn(name: &'static str, command: &mut Command) -> Peer {
        static SPAWNED: AtomicUsize = AtomicUsize::new(0);
        let stderr = std::env::temp_dir().join(format!(
            "mediagate-{name}-{}-{}.err",
            std::process::id(),
            SPAWNED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("run {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
            name,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits for a stdout line starting with `prefix`; returns the rest.
    fn wait_line(&mut self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_owned();
                    }
                }
                Err(e) => panic!(
                    "{}: no line {prefix:?} within {within:?} ({e}); stdout:\n{}\nstderr:\n{}",
                    self.name,
                    self.seen.join("\n"),
                    self.stderr()
                ),
            }
        }
    }

    /// Waits (bounded) for the process to exit; its status.
    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {within:?}; stderr:\n{}",
                self.name,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The rest of stdout once the process has exited.
    fn remaining_lines(&mut self) -> Vec<String> {
        self.seen.extend(self.lines.iter());
        self.seen.clone()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {}", self.name);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- {} stderr ---\n{}", self.name, self.stderr());
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.stderr);
    }
}

/// Panics with what to install when node-sctp or Node is missing.
fn require_node_sctp() {
    let manifest = browser_dir().join("node_modules/sctp/package.json");
    assert!(
        manifest.exists(),
        "{} missing: npm ci --prefix tests/browser (scripts/test.sh does it)",
        manifest.display()
    );
    assert!(
        Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "node: Node.js 20 or later is needed (scripts/test.sh installs it)"
    );
}

/// Builds the data-bot example (a no-op when it is fresh) and returns its path.
pub(super) fn data_bot() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--offline",
            "--example",
            "data-bot",
            "--message-format=json",
        ])
        .arg("--manifest-path")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .stderr(Stdio::inherit());
    // What cargo set for this test run: some build scripts (ring's) rerun when these change, which would
    // make this build and the next `cargo test` rebuild each other's dependencies every time.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    let output = command
        .output()
        .expect("run cargo build --example data-bot");
    assert!(
        output.status.success(),
        "cargo build --example data-bot failed"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "data-bot")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo named no data-bot executable")
}

// ---------------------------------------------------------------------------------------------------
// 1. node-sctp over a comedia plain transport to a direct data consumer.

/// Message `i` as the node-sctp client sends it: `msg-<i>` (PPID 51) for even `i`, `i` as four
/// big-endian bytes (PPID 53) for odd `i`.
fn expected(i: u32) -> (u64, Vec<u8>) {
    if i % 2 == 0 {
        (51, format!("msg-{i}").into_bytes())
    } else {
        (53, i.to_be_bytes().to_vec())
    }
}

#[test]
fn node_sctp_messages_reach_a_direct_data_consumer_in_order() {
    if !isolated("data_sctp::node_sctp_messages_reach_a_direct_data_consumer_in_order") {
        return;
    }
    require_node_sctp();
    let server = Server::start("45000-45049", &[]);
    let mut api = server.client();

    // A: the SCTP endpoint, on a comedia plain transport, producing on stream 123.
    post(
        &mut api,
        "/rooms/sctp/broadcasters",
        json!({"id": "a", "displayName": "A", "device": {"name": "node-sctp"}}),
        201,
    );
    let transport = post(
        &mut api,
        "/rooms/sctp/broadcasters/a/transports",
        json!({"type": "plain", "comedia": true, "enableSctp": true, "numSctpStreams": {"OS": 256, "MIS": 256}}),
        201,
    );
    let transport_id = transport["id"].as_str().expect("transport id").to_owned();
    assert_eq!(transport["sctpParameters"]["MIS"], 256, "{transport}");
    assert_eq!(transport["sctpParameters"]["OS"], 256, "{transport}");
    let producer = post(
        &mut api,
        &format!("/transports/{transport_id}/data-producers"),
        json!({"sctpStreamParameters": {"streamId": STREAM_ID, "ordered": true}, "label": "node-sctp", "protocol": "foo"}),
        201,
    );
    let producer_id = producer["id"]
        .as_str()
        .expect("data producer id")
        .to_owned();
    assert_eq!(producer["type"], "sctp", "{producer}");

    // B: a direct transport consuming it.
    post(
        &mut api,
        "/rooms/sctp/broadcasters",
        json!({"id": "b", "displayName": "B", "device": {"name": "test"}}),
        201,
    );
    let direct = post(
        &mut api,
        "/rooms/sctp/broadcasters/b/transports",
        json!({"type": "direct"}),
        201,
    );
    let consumer = post(
        &mut api,
        &format!(
            "/transports/{}/data-consumers",
            direct["id"].as_str().expect("id")
        ),
        json!({"dataProducerId": producer_id}),
        201,
    );
    let consumer_id = consumer["id"]
        .as_str()
        .expect("data consumer id")
        .to_owned();
    assert_eq!(consumer["type"], "direct", "{consumer}");
    assert_eq!(consumer["label"], "node-sctp", "{consumer}");
    assert_eq!(consumer["protocol"], "foo", "{consumer}");
    let mut events = EventStream::open(&server, "/rooms/sctp/broadcasters/b/events?lastEventId=0");

    let started = Instant::now();
    let mut client = Peer::spawn(
        "sctp-udp-client.mjs",
        Command::new("node")
            .arg(browser_dir().join("sctp-udp-client.mjs"))
            .args(["--ip", transport["ip"].as_str().expect("ip")])
            .args(["--port", &transport["port"].to_string()])
            .args(["--stream", &STREAM_ID.to_string()])
            .args(["--count", &MESSAGES.to_string()]),
    );
    let deadline = started + ARRIVAL;
    let mut bytes = 0;
    for i in 0..MESSAGES {
        let (ppid, data) = events.message(&consumer_id, deadline);
        assert_eq!(
            (ppid, data.clone()),
            expected(i),
            "message {i} (ppid, bytes); got {:?}",
            String::from_utf8_lossy(&data)
        );
        bytes += data.len() as u64;
    }
    let elapsed = started.elapsed();
    client.wait_line("{\"sent\":", Duration::from_secs(5));

    // Every message counted once on each side, and the association is up.
    let info = api
        .get(&format!("/transports/{transport_id}"))
        .expect(200)
        .json();
    assert_eq!(info["sctpState"], "connected", "{info}");
    let stats = api
        .get(&format!("/data-producers/{producer_id}/stats"))
        .expect(200)
        .json();
    assert_eq!(stats[0]["type"], "data-producer", "{stats}");
    assert_eq!(stats[0]["label"], "node-sctp", "{stats}");
    assert_eq!(stats[0]["protocol"], "foo", "{stats}");
    assert_eq!(stats[0]["messagesReceived"], MESSAGES, "{stats}");
    assert_eq!(stats[0]["bytesReceived"], bytes, "{stats}");
    let stats = api
        .get(&format!("/data-consumers/{consumer_id}/stats"))
        .expect(200)
        .json();
    assert_eq!(stats[0]["type"], "data-consumer", "{stats}");
    assert_eq!(stats[0]["messagesSent"], MESSAGES, "{stats}");
    assert_eq!(stats[0]["bytesSent"], bytes, "{stats}");

    // The client ends its association (SHUTDOWN) and reports.
    drop(client.stdin.take());
    let status = client.wait_exit(Duration::from_secs(10));
    let lines = client.remaining_lines();
    let result: Value = lines
        .iter()
        .rev()
        .find_map(|l| {
            serde_json::from_str(l)
                .ok()
                .filter(|v: &Value| v.get("ok").is_some())
        })
        .unwrap_or_else(|| panic!("no result line: {lines:?}\n{}", client.stderr()));
    assert!(
        status.success() && result["ok"] == true,
        "node-sctp client: {result}\n{}",
        client.stderr()
    );
    assert_eq!(result["os"], 256, "{result}");
    assert_eq!(result["mis"], 256, "{result}");
    report(format_args!(
        "node-sctp: {MESSAGES} messages ({bytes} bytes) in order on stream {STREAM_ID} within {:.0} ms; shutdown {}",
        elapsed.as_secs_f64() * 1000.0,
        result["shutdown"]
    ));
    server.stop();
}

// ---------------------------------------------------------------------------------------------------
// 2. The data-bot example answers chat messages.

/// Texts Alice sends; quotes and non-ASCII go through unchanged.
fn chat_text(i: u32) -> String {
    format!("hello #{i}, \"quoted\" and ünïcödé")
}

/// Posts one message to a direct data producer.
fn send_message(api: &mut Client, producer: &str, content_type: &str, body: &[u8]) {
    api.post_typed(
        &format!("/data-producers/{producer}/messages"),
        content_type,
        body,
    )
    .expect(204);
}

/// Alice's direct data consumer of a bot's `bot` producer.
fn consume_bot(api: &mut Client, direct: &str, bot_producer: &str) -> String {
    let consumer = post(
        api,
        &format!("/transports/{direct}/data-consumers"),
        json!({"dataProducerId": bot_producer}),
        201,
    );
    assert_eq!(consumer["label"], "bot", "{consumer}");
    consumer["id"]
        .as_str()
        .expect("data consumer id")
        .to_owned()
}

fn start_bot(exe: &PathBuf, server: &Server) -> Peer {
    Peer::spawn(
        "data-bot",
        Command::new(exe)
            .args(["--server", &server.base_url(), "--room", "chat"])
            .env("RUST_BACKTRACE", "1"),
    )
}

#[test]
fn data_bot_answers_every_chat_message_in_order() {
    let exe = data_bot();
    if !isolated("data_sctp::data_bot_answers_every_chat_message_in_order") {
        return;
    }
    let server = Server::start("45050-45099", &[]);
    let mut api = server.client();

    // The first bot joins an empty room.
    let mut bot = start_bot(&exe, &server);
    let bot_id = bot.wait_line("BROADCASTER_ID=", Duration::from_secs(10));
    let bot_producer = bot.wait_line("DATA_PRODUCER_ID=", Duration::from_secs(10));
    bot.wait_line("SCTP_STATE=connected", Duration::from_secs(10));

    // Alice chats on a direct transport and listens to the bot there.
    post(
        &mut api,
        "/rooms/chat/broadcasters",
        json!({"id": "alice", "displayName": "Alice", "device": {"name": "test"}}),
        201,
    );
    let direct = post(
        &mut api,
        "/rooms/chat/broadcasters/alice/transports",
        json!({"type": "direct"}),
        201,
    )["id"]
        .as_str()
        .expect("transport id")
        .to_owned();
    let chat = post(
        &mut api,
        &format!("/transports/{direct}/data-producers"),
        json!({"label": "chat"}),
        201,
    )["id"]
        .as_str()
        .expect("data producer id")
        .to_owned();
    let from_bot = consume_bot(&mut api, &direct, &bot_producer);
    let mut events = EventStream::open(
        &server,
        "/rooms/chat/broadcasters/alice/events?lastEventId=0",
    );
    assert_eq!(bot.wait_line("CONSUMING=", Duration::from_secs(10)), chat);

    // 20 texts, a binary message (ignored) in the middle, then a last text: the answers are exactly the
    // texts', in order.
    let started = Instant::now();
    let mut texts: Vec<String> = (0..20).map(chat_text).collect();
    for (i, text) in texts.iter().enumerate() {
        send_message(
            &mut api,
            &chat,
            "text/plain; charset=utf-8",
            text.as_bytes(),
        );
        if i == 9 {
            send_message(
                &mut api,
                &chat,
                "application/octet-stream",
                b"\x00\x01binary",
            );
        }
    }
    texts.push("last".to_owned());
    send_message(&mut api, &chat, "text/plain", b"last");
    let deadline = started + ARRIVAL;
    for text in &texts {
        let (ppid, data) = events.message(&from_bot, deadline);
        assert_eq!(ppid, 51, "answer to {text:?}");
        assert_eq!(
            String::from_utf8_lossy(&data),
            format!("Alice said me: \"{text}\""),
        );
    }
    let elapsed = started.elapsed();
    let stats = api
        .get(&format!("/data-producers/{bot_producer}/stats"))
        .expect(200)
        .json();
    assert_eq!(stats[0]["messagesReceived"], texts.len(), "{stats}");

    // SIGTERM: the bot leaves the room and exits 0.
    bot.signal("-TERM");
    let status = bot.wait_exit(Duration::from_secs(5));
    assert!(
        status.success(),
        "data-bot after SIGTERM: {status}\n{}",
        bot.stderr()
    );
    // Alice learns both that the bot left and that her consumer of its producer closed (in either order).
    let deadline = Instant::now() + Duration::from_secs(5);
    let (mut left, mut closed) = (false, None);
    while !left || closed.is_none() {
        let (name, data) = events.next_event(deadline);
        match name.as_str() {
            "broadcaster.left" if data["broadcasterId"] == bot_id => left = true,
            "dataConsumer.closed" if data["dataConsumerId"] == from_bot => closed = Some(data),
            _ => {}
        }
    }
    let closed = closed.unwrap_or_default();
    assert_eq!(closed["reason"], "data producer closed", "{closed}");

    // A second bot finds Alice's chat producer already there, answers it, and leaves when the room closes.
    let mut bot = start_bot(&exe, &server);
    let bot_producer = bot.wait_line("DATA_PRODUCER_ID=", Duration::from_secs(10));
    assert_eq!(bot.wait_line("CONSUMING=", Duration::from_secs(10)), chat);
    let from_bot = consume_bot(&mut api, &direct, &bot_producer);
    send_message(&mut api, &chat, "text/plain", b"again");
    let (ppid, data) = events.message(&from_bot, Instant::now() + ARRIVAL);
    assert_eq!(
        (ppid, String::from_utf8_lossy(&data).into_owned()),
        (51, "Alice said me: \"again\"".to_owned())
    );
    api.delete("/rooms/chat").expect(204);
    let status = bot.wait_exit(Duration::from_secs(5));
    assert!(
        status.success(),
        "data-bot after the room closed: {status}\n{}",
        bot.stderr()
    );
    assert!(
        bot.stderr().contains("the room closed"),
        "data-bot stderr:\n{}",
        bot.stderr()
    );
    report(format_args!(
        "data-bot: {} answers in order within {:.0} ms; left on SIGTERM and on room close",
        texts.len(),
        elapsed.as_secs_f64() * 1000.0
    ));
    server.stop();
}
