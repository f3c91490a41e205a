//! Data channels with real browsers (issue 5), each test inside its own network namespace: the server's page
//! (`static/`: its chat panel and the `window.mediagate` data hooks) in headless Chromium, driven by
//! `tests/browser/data-channels.mjs` and `data-loss.mjs`, with the real `curl` as the HTTP client.
//!
//! - two pages exchange 200 chat messages each way: all arrive, in order, complete;
//! - an unordered `maxRetransmits: 0` channel through 5 % loss both ways (the proxy of [`super::impair`])
//!   delivers what was not lost without stalling, while the ordered reliable chat on the same association
//!   delivers everything;
//! - curl ↔ page: `POST /data-producers/{id}/messages` of a direct transport's `chat` reaches the page, a line
//!   typed in the page reaches curl's event stream as `dataConsumer.message`;
//! - over the maximum: the browser refuses a message one byte over the negotiated maximum and the association
//!   stays up; the HTTP route answers 413 naming `body` past a direct transport's maxMessageSize;
//! - `DELETE /data-producers/{id}`: every consumer's owner gets `dataConsumer.closed`, the page drops the channel;
//! - the data-bot example (`examples/data-bot.rs`) answers every line typed in a page, shown in its panel.
//!
//! Prerequisites as for [`super::browser`], plus `curl`; cargo builds the data-bot example.

use std::process::Command;

use serde_json::{Value, json};

use super::browser::run_driver;
use super::browser_impairment::{proxies, stop};
use super::data_sctp::data_bot;
use super::impair::five_percent_loss_both_ways;
use super::netns::isolated;
use super::support::{Server, report};

/// Chat messages each page sends in the ordered, reliable test.
const CHAT_MESSAGES: u64 = 200;
/// The unreliable channel under loss: messages, their spacing, and the share that must arrive.
const LOSSY_MESSAGES: u64 = 500;
const LOSSY_INTERVAL_MS: u64 = 10;
const LOSSY_MIN_RATIO: f64 = 0.85;
/// Reliable chat messages sent on the same association meanwhile.
const LOSSY_CHATS: u64 = 100;
/// The longest silence allowed between two unreliable messages while they are sent every 10 ms: a stalled
/// association (waiting on a retransmission) would hold messages back for at least one retransmission
/// timeout (1 s at the least, RFC 9260 §16).
const LOSSY_MAX_GAP_MS: u64 = 500;

fn as_u64(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// `curl -sS -X POST -H 'Content-Type: TYPE' --data-binary @FILE URL`: status, content type and body.
fn curl_post_file(url: &str, content_type: &str, body: &[u8]) -> (u16, String, String) {
    let file = std::env::temp_dir().join(format!("mediagate-data-{}.bin", std::process::id()));
    std::fs::write(&file, body).expect("write the message body");
    let output = Command::new("curl")
        .args(["-sS", "-X", "POST", "-H"])
        .arg(format!("Content-Type: {content_type}"))
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .args(["--write-out", "\n%{http_code} %{content_type}", url])
        .output()
        .expect("run curl (install curl)");
    let _ = std::fs::remove_file(&file);
    assert!(output.status.success(), "curl: {output:?}");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, tail) = text.rsplit_once('\n').expect("curl's write-out line");
    let (status, content_type) = tail.split_once(' ').unwrap_or((tail, ""));
    (
        status.parse().expect("curl's status"),
        content_type.to_owned(),
        body.to_owned(),
    )
}

#[test]
fn two_pages_exchange_chat_messages_in_order() {
    if !isolated("browser_data::two_pages_exchange_chat_messages_in_order") {
        return;
    }
    let server = Server::start("46000-46099", &[]);
    let count = CHAT_MESSAGES.to_string();
    let result = run_driver(
        "data-chat",
        &server,
        "data-channels.mjs",
        &["--scenario", "chat", "--count", &count],
    );
    // b also got the line typed in a's form.
    assert_eq!(as_u64(&result["received"]["a"]), CHAT_MESSAGES, "{result}");
    assert_eq!(
        as_u64(&result["received"]["b"]),
        CHAT_MESSAGES + 1,
        "{result}"
    );
    let producer = &result["server"]["aProducer"];
    let consumer = &result["server"]["bConsumer"];
    assert_eq!(
        as_u64(&producer["messagesReceived"]),
        CHAT_MESSAGES + 1,
        "a's chat data producer: {producer}"
    );
    assert_eq!(
        as_u64(&consumer["messagesSent"]),
        CHAT_MESSAGES + 1,
        "b's data consumer of a's chat: {consumer}"
    );
    report(format_args!(
        "data-chat: {CHAT_MESSAGES} chat messages each way, all in order; sent in {} ms, delivered {} ms (to a) / \
         {} ms (to b) after the first send, latency per message {} (to b); a typed line arrived {} ms after its \
         send (shown {} ms after the click); server: {} messages / {} bytes in, {} out",
        result["sent_ms"],
        result["delivered_ms"]["toA"],
        result["delivered_ms"]["toB"],
        result["latency_ms"]["toB"],
        result["typed_latency_ms"],
        result["typed_ms"],
        producer["messagesReceived"],
        producer["bytesReceived"],
        consumer["messagesSent"],
    ));
    server.stop();
}

#[test]
fn unreliable_channel_keeps_delivering_through_five_percent_loss() {
    if !isolated("browser_data::unreliable_channel_keeps_delivering_through_five_percent_loss") {
        return;
    }
    let server = Server::start("46100-46199", &[]);
    let rules = five_percent_loss_both_ways("loss to page", 0xda7a_0001);
    let (proxies, proxy_arg) = proxies(&server, &rules);
    let (count, interval, chats) = (
        LOSSY_MESSAGES.to_string(),
        LOSSY_INTERVAL_MS.to_string(),
        LOSSY_CHATS.to_string(),
    );
    let result = run_driver(
        "data-loss",
        &server,
        "data-loss.mjs",
        &[
            "--proxy",
            &proxy_arg,
            "--count",
            &count,
            "--interval",
            &interval,
            "--chat",
            &chats,
        ],
    );
    let (flows, _) = stop(proxies);
    let (forwarded, dropped) = flows.iter().fold((0, 0), |(f, d), flow| {
        (f + flow.forwarded[1], d + flow.dropped[1])
    });
    let loss = dropped as f64 / (forwarded + dropped).max(1) as f64;
    // The proxy's generator is seeded per flow, but how many datagrams each flow carries varies: 2–8 % only
    // checks that it dropped about what it was told to.
    assert!(
        (0.02..=0.08).contains(&loss),
        "the proxy dropped {:.1} % toward the page: {flows:?}",
        loss * 100.0
    );
    let u = &result["unreliable"];
    let ratio = u["ratio"].as_f64().unwrap_or(0.0);
    let distinct = as_u64(&u["distinct"]);
    assert!(
        ratio >= LOSSY_MIN_RATIO,
        "only {distinct} of {LOSSY_MESSAGES} unreliable messages arrived: {u}"
    );
    // With maxRetransmits 0 a lost chunk is abandoned: were all 500 to arrive through 5 % loss, the server
    // would be retransmitting them.
    assert!(
        distinct < LOSSY_MESSAGES,
        "every unreliable message arrived through 5 % loss (retransmitted?): {u}"
    );
    assert_eq!(as_u64(&u["duplicates"]), 0, "{u}");
    assert!(
        as_u64(&u["receivedOfLast10"]) >= 5,
        "the last messages did not arrive (stalled?): {u}"
    );
    let sending_ms = as_u64(&result["sending"]["ms"]);
    assert!(
        as_u64(&u["maxGapMs"]) <= LOSSY_MAX_GAP_MS
            && as_u64(&u["lastArrivalMs"]) <= sending_ms + LOSSY_MAX_GAP_MS,
        "the unreliable channel stalled (largest gap, last arrival vs {sending_ms} ms of sending): {u}"
    );
    let r = &result["reliable"];
    assert!(
        as_u64(&r["received"]) == LOSSY_CHATS && r["inOrder"] == true,
        "the reliable chat on the same association: {r}"
    );
    let consumer = &result["server"]["consumer"];
    report(format_args!(
        "data-loss: 5 % loss both ways ({:.1} % of {} datagrams toward the page dropped); unordered \
         maxRetransmits 0: {distinct}/{LOSSY_MESSAGES} delivered ({:.1} %) while sent over {sending_ms} ms, {} of \
         the last 10, largest gap {} ms, last arrival {} ms after the first send, {} arrived out of order, per \
         second {}; ordered reliable: {}/{LOSSY_CHATS} in order, last {} ms after the first send; server \
         consumer: {} sent, {} dropped",
        loss * 100.0,
        forwarded + dropped,
        ratio * 100.0,
        u["receivedOfLast10"],
        u["maxGapMs"],
        u["lastArrivalMs"],
        u["reordered"],
        u["perSecond"],
        r["received"],
        r["lastArrivalMs"],
        consumer["messagesSent"],
        consumer["messagesDropped"],
    ));
    server.stop();
}

#[test]
fn curl_and_a_page_exchange_chat_messages() {
    if !isolated("browser_data::curl_and_a_page_exchange_chat_messages") {
        return;
    }
    let server = Server::start("46200-46299", &[]);
    let result = run_driver(
        "data-http",
        &server,
        "data-channels.mjs",
        &["--scenario", "http"],
    );
    assert_eq!(as_u64(&result["received"]["page"]), 22, "{result}");
    assert_eq!(as_u64(&result["binary"]["size"]), 9, "{result}");
    let event = &result["curl_event"]["data"];
    assert_eq!(event["data"], "hello Carol, from the page", "{event}");
    assert_eq!(event["ppid"], 51, "{event}");
    report(format_args!(
        "data-http: 22 text messages POSTed by curl shown by the page in order ({} ms for all), binary as {} \
         bytes; a typed line on curl's stream {} ms after the click",
        result["curl_to_page_ms"], result["binary"]["size"], result["page_to_curl_ms"],
    ));
    server.stop();
}

#[test]
fn messages_over_the_maximum_are_refused_and_the_association_stays_up() {
    if !isolated("browser_data::messages_over_the_maximum_are_refused_and_the_association_stays_up")
    {
        return;
    }
    let server = Server::start("46300-46399", &[]);
    let result = run_driver(
        "data-limits",
        &server,
        "data-channels.mjs",
        &["--scenario", "limits", "--max", "16384"],
    );
    let refused = &result["refused"];
    assert!(refused["message"].is_string(), "{result}");
    for (side, state) in [("aSend", "connected"), ("bRecv", "connected")] {
        assert_eq!(result["sctp_states"][side], state, "{result}");
    }

    // The HTTP route: a direct transport with a 1024-byte maximum takes 1024 bytes and refuses 1025.
    let mut client = server.client();
    client
        .post(
            "/rooms/limits/broadcasters",
            json!({"id": "erin", "displayName": "Erin", "device": {"name": "curl"}})
                .to_string()
                .as_bytes(),
        )
        .expect(201);
    let transport = client
        .post(
            "/rooms/limits/broadcasters/erin/transports",
            br#"{"type": "direct", "maxMessageSize": 1024}"#,
        )
        .expect(201)
        .json();
    let producer = client
        .post(
            &format!(
                "/transports/{}/data-producers",
                transport["id"].as_str().unwrap()
            ),
            br#"{"label": "chat"}"#,
        )
        .expect(201)
        .json();
    let url = format!(
        "{}/data-producers/{}/messages",
        server.base_url(),
        producer["id"].as_str().unwrap()
    );
    let (status, _, body) = curl_post_file(&url, "text/plain", &[b'x'; 1024]);
    assert_eq!(status, 204, "1024 bytes: {body}");
    let (status, content_type, body) = curl_post_file(&url, "text/plain", &[b'x'; 1025]);
    assert_eq!(status, 413, "1025 bytes: {body}");
    assert_eq!(content_type, "application/problem+json");
    let problem: Value = serde_json::from_str(&body).expect("problem+json");
    assert_eq!(problem["field"], "body", "{problem}");
    report(format_args!(
        "data-limits: maxSctpMessageSize {} (server {}, browser {}): {} bytes arrive, {} refused by Chromium \
         ({}: {}), the association stays {}; HTTP 1025 bytes over 1024: 413 {}",
        result["max"]["asked"],
        result["max"]["server"],
        result["max"]["browser"],
        result["max"]["asked"],
        as_u64(&result["max"]["asked"]) + 1,
        refused["name"],
        refused["message"],
        result["sctp_states"]["aSend"],
        problem["detail"],
    ));
    server.stop();
}

#[test]
fn closing_a_data_producer_closes_its_consumers() {
    if !isolated("browser_data::closing_a_data_producer_closes_its_consumers") {
        return;
    }
    let server = Server::start("46400-46499", &[]);
    let result = run_driver(
        "data-close",
        &server,
        "data-channels.mjs",
        &["--scenario", "close"],
    );
    let closed = &result["closed"];
    assert_eq!(closed["curl"]["reason"], "data producer closed", "{result}");
    assert_eq!(closed["b"]["reason"], "data producer closed", "{result}");
    assert_eq!(closed["aChat"]["closed"], true, "{result}");
    report(format_args!(
        "data-close: DELETE /data-producers/{{id}}: curl's stream got dataConsumer.closed after {} ms, the other \
         page after {} ms (channel removed); the owner's chat channel {}",
        closed["curl"]["ms"], closed["b"]["ms"], closed["aChat"]["readyState"],
    ));
    server.stop();
}

#[test]
fn the_data_bot_answers_every_line_typed_in_a_page() {
    if !isolated("browser_data::the_data_bot_answers_every_line_typed_in_a_page") {
        return;
    }
    let bot = data_bot();
    let server = Server::start("46500-46599", &[]);
    let bot = bot.to_string_lossy();
    let result = run_driver(
        "data-bot",
        &server,
        "data-channels.mjs",
        &["--scenario", "bot", "--count", "20", "--bot", &bot],
    );
    assert_eq!(as_u64(&result["answers"]), 20, "{result}");
    assert_eq!(result["bot_name"], "Bot", "{result}");
    assert_eq!(
        result["bot_exit"], 0,
        "the bot's exit after SIGTERM: {result}"
    );
    report(format_args!(
        "data-bot: 20 lines typed in the page, 20 answers `Alice said me: \"…\"` from {} shown in order, the last \
         {} ms after the first line was typed",
        result["bot_name"], result["answered_ms"],
    ));
    server.stop();
}
