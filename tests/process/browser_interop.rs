//! Interop acceptance tests with real peers, each inside its own network namespace: mediasoup-client 3.24.1 with
//! the server's own page (`static/`), FFmpeg with a browser both ways, an ICE restart mid-call, a wrong DTLS
//! fingerprint, the send bitrate ramp of a Chrome publisher against the server's feedback, and hostile datagrams
//! sprayed at the shared WebRTC port during a call.
//!
//! The drivers are `tests/browser/interop-*.mjs` (see [`super::browser`] for the prerequisites). Where the test
//! must act while a call runs (record it, spray at it), the driver runs in the background: it prints a marker
//! line (`NAME {json}`) on stderr when the call is up and waits for a release file the test creates.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mediagate_engine::ice::stun::{integrity_key, write_binding_request};
use mediagate_engine::net::{PacketKind, classify};
use serde_json::Value;

use super::browser::{
    FRAMES, browser_dir, driver_result, media_args, require_prerequisites, run_driver,
};
use super::netns::isolated;
use super::peers::{decode_errors, probe, scratch, start_example};
use super::support::{Client, Server, report};

/// A driver running in the background while the test acts on the call.
pub(super) struct Driver {
    child: Child,
    script: String,
    out: PathBuf,
    err: PathBuf,
}

impl Driver {
    /// Starts `tests/browser/{script}` against `server` with `args`; its output goes to files in `dir`.
    pub(super) fn spawn(server: &Server, script: &str, args: &[&str], dir: &Path) -> Driver {
        require_prerequisites();
        let out = dir.join(format!("{script}.out"));
        let err = dir.join(format!("{script}.err"));
        let child = Command::new("node")
            .arg(browser_dir().join(script))
            .arg(server.base_url())
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("driver stdout file"))
            .stderr(std::fs::File::create(&err).expect("driver stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("run node {script}: {e}"));
        Driver {
            child,
            script: script.to_owned(),
            out,
            err,
        }
    }

    fn output(&self) -> (String, String) {
        (
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default(),
        )
    }

    /// Waits (bounded) for the driver's `NAME {json}` line on stderr; returns the JSON.
    pub(super) fn wait_for_marker(&mut self, name: &str, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        let prefix = format!("{name} ");
        loop {
            let (out, err) = self.output();
            if let Some(json) = err.lines().find_map(|l| l.strip_prefix(&prefix)) {
                return serde_json::from_str(json)
                    .unwrap_or_else(|e| panic!("{name}: {e}: {json}"));
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "{} exited ({status}) before {name}:\n{out}\n{err}",
                    self.script
                );
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {name} within {limit:?}:\n{err}",
                self.script
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (bounded) for the driver to end; returns its result line, asserting `ok`.
    pub(super) fn finish(mut self, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {limit:?}",
                self.script
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let (out, err) = self.output();
        driver_result(&self.script, &out, &err, status)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `(framesDecoded, audioPackets)` of a `{framesDecoded, audioPackets}` object.
fn frames_audio(v: &Value) -> (u64, u64) {
    (
        v["framesDecoded"].as_u64().unwrap_or(0),
        v["audioPackets"].as_u64().unwrap_or(0),
    )
}

#[test]
fn mediasoup_client_and_static_page_see_each_other() {
    if !isolated("browser_interop::mediasoup_client_and_static_page_see_each_other") {
        return;
    }
    let server = Server::start("44000-44099", &[]);
    let args = media_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = run_driver("interop-call", &server, "interop-call.mjs", &args);
    assert_eq!(result["mediasoup_client"], "3.24.1", "{result}");
    for side in ["msc", "page"] {
        let (frames, audio) = frames_audio(&result[side]["received"]);
        assert!(frames >= u64::from(FRAMES) && audio > 0, "{side}: {result}");
    }
    report(format_args!(
        "msc<->static: mediasoup-client {} ({}) and static/, {FRAMES}+ frames each way after {} s (msc got {:?}, \
         page got {:?} frames/audio packets)",
        result["mediasoup_client"],
        result["handler"],
        result["media_seconds"],
        frames_audio(&result["msc"]["received"]),
        frames_audio(&result["page"]["received"]),
    ));
    server.stop();
}

#[test]
fn ffmpeg_and_browser_both_ways() {
    if !isolated("browser_interop::ffmpeg_and_browser_both_ways") {
        return;
    }
    let server = Server::start("44100-44199", &[]);
    let url = server.base_url();
    let dir = scratch("interop-ffmpeg");
    let room = "interop-ffmpeg";
    // Runs until the page has viewed it (dropped: SIGTERM, its trap deletes the broadcaster).
    let mut broadcaster = start_example(
        "ffmpeg-broadcaster.sh",
        &[("SERVER_URL", &url), ("ROOM_ID", room), ("DURATION", "60")],
        &dir,
    );
    broadcaster.wait_for_value("VIDEO_PRODUCER_ID", Duration::from_secs(20));
    broadcaster.wait_for_value("AUDIO_PRODUCER_ID", Duration::from_secs(5));

    let release = dir.join("release");
    let mut args = media_args();
    args.extend([
        "--room".to_owned(),
        room.to_owned(),
        "--hold-file".to_owned(),
        release.to_str().expect("utf-8 path").to_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut driver = Driver::spawn(&server, "interop-ffmpeg.mjs", &args, &dir);
    let viewed = driver.wait_for_marker("PAGE_VIEWED", Duration::from_secs(60));
    // One direction after the other (see the driver): FFmpeg's part is done.
    drop(broadcaster);
    let published = &viewed["published"];
    let producers = format!(
        "{} {}",
        published["video"].as_str().expect("video producer"),
        published["audio"].as_str().expect("audio producer")
    );
    // The browser's producers, recorded through plain consumers and their SDPs.
    let output = dir.join("browser.mkv");
    let mut recorder = start_example(
        "ffmpeg-recorder.sh",
        &[
            ("SERVER_URL", &url),
            ("ROOM_ID", room),
            ("PRODUCER_IDS", &producers),
            ("OUTPUT", output.to_str().expect("utf-8 path")),
            ("DURATION", "5"),
        ],
        &dir,
    );
    recorder.wait_success(Duration::from_secs(60));
    std::fs::write(&release, b"").expect("release the driver");
    let result = driver.finish(Duration::from_secs(60));

    let (frames, audio) = frames_audio(&result["received"]);
    assert!(frames >= u64::from(FRAMES) && audio > 0, "{result}");
    let streams = probe(&output);
    let video = streams
        .iter()
        .find(|s| s.kind == "video")
        .unwrap_or_else(|| panic!("no video in the recording: {streams:?}"));
    let opus = streams
        .iter()
        .find(|s| s.kind == "audio")
        .unwrap_or_else(|| panic!("no audio in the recording: {streams:?}"));
    assert_eq!(video.codec, "vp8", "{streams:?}");
    assert_eq!(opus.codec, "opus", "{streams:?}");
    // Chromium's fake camera runs at 20 fps at most.
    let fps = video.frames as f64 / video.duration;
    assert!(
        video.duration >= 3.0 && video.frames >= 60 && (15.0..=33.0).contains(&fps),
        "less than 3 s of the browser's video at 15+ fps: {streams:?}"
    );
    assert!(opus.duration >= 3.0 && opus.frames > 100, "{streams:?}");
    let errors = decode_errors(&output);
    assert!(errors.is_empty(), "decode errors: {errors}");
    report(format_args!(
        "ffmpeg->browser: {frames} frames, {audio} audio packets of FFmpeg after {} s; browser->ffmpeg: recorded \
         vp8 {} frames in {:.2} s ({fps:.1} fps, {}), opus {} packets in {:.2} s, decoded without errors; driver \
         timeline {}",
        result["media_seconds"],
        video.frames,
        video.duration,
        result["outbound"]["video"]["frameWidth"]
            .as_u64()
            .map_or_else(
                || "?".to_owned(),
                |w| format!("{w}x{}", result["outbound"]["video"]["frameHeight"])
            ),
        opus.frames,
        opus.duration,
        result["timeline"],
    ));
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ice_restart_mid_call_keeps_media_flowing() {
    if !isolated("browser_interop::ice_restart_mid_call_keeps_media_flowing") {
        return;
    }
    let server = Server::start("44200-44299", &[]);
    let mut args = media_args();
    args.extend([
        "--ice-restart".to_owned(),
        "--after".to_owned(),
        "60".to_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = run_driver("interop-ice-restart", &server, "interop-call.mjs", &args);
    let restart = &result["restart"];
    for side in ["msc", "page"] {
        let (before, _) = frames_audio(&restart["before"][side]);
        let (after, audio_after) = frames_audio(&restart["after"][side]);
        let (_, audio_before) = frames_audio(&restart["before"][side]);
        assert!(
            after >= before + 60 && audio_after > audio_before,
            "{side}: {restart}"
        );
    }
    let states = restart["server_ice_states"]
        .as_object()
        .expect("server ICE states");
    assert_eq!(states.len(), 4, "{restart}");
    for (transport, state) in states {
        assert!(
            state == "completed" || state == "connected",
            "{transport}: {state}"
        );
    }
    for (transport, pair) in restart["pairs"]["after"].as_object().expect("pairs after") {
        assert_ne!(
            pair["id"], restart["pairs"]["before"][transport]["id"],
            "{transport}: {restart}"
        );
        assert!(
            pair["responsesReceived"].as_u64().unwrap_or(0) > 0,
            "{transport}: {restart}"
        );
    }
    report(format_args!(
        "ice-restart: both sides restarted both transports; frames msc {} -> {}, page {} -> {} ({} ms for 60 more \
         each); server ICE {}; every browser transport on a new pair of the new credentials",
        restart["before"]["msc"]["framesDecoded"],
        restart["after"]["msc"]["framesDecoded"],
        restart["before"]["page"]["framesDecoded"],
        restart["after"]["page"]["framesDecoded"],
        restart["more_frames_ms"],
        restart["server_ice_states"],
    ));
    server.stop();
}

#[test]
fn wrong_dtls_fingerprint_fails_the_transport() {
    if !isolated("browser_interop::wrong_dtls_fingerprint_fails_the_transport") {
        return;
    }
    let server = Server::start("44300-44399", &[]);
    let result = run_driver(
        "interop-dtls",
        &server,
        "interop-dtls.mjs",
        &["--within", "10", "--watch", "5"],
    );
    let connected: Vec<&str> = result["connected_transports"]
        .as_array()
        .expect("connected transports")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(connected.contains(&"send"), "{result}");
    let events = result["server_events"].as_array().expect("server events");
    for transport in &connected {
        let failed = events.iter().any(|e| {
            e["transport"] == *transport
                && (e["dtlsState"] == "failed" || e["reason"] == "dtls failed")
        });
        assert!(failed, "{transport}: no DTLS failure event: {result}");
    }
    for side in ["bad", "viewer"] {
        assert_eq!(
            frames_audio(&result["received"][side]),
            (0, 0),
            "{side}: {result}"
        );
    }
    let polls = &result["producer_polls"];
    assert_eq!(polls["maxPacketCount"], 0, "{result}");
    assert_eq!(polls["maxByteCount"], 0, "{result}");
    let health = server.client().get("/health").json();
    report(format_args!(
        "wrong-fingerprint: DTLS failed after {} s on {connected:?} (events {}), frames/audio bad {:?} viewer {:?}, \
         producer stats polled {} times ({}) max packets {}; health rooms {}",
        result["dtls_failed_seconds"],
        events
            .iter()
            .filter_map(|e| e["dtlsState"]
                .as_str()
                .or(e["reason"].as_str())
                .map(|s| format!("{}:{s}", e["transport"].as_str().unwrap_or("?"))))
            .collect::<Vec<_>>()
            .join(","),
        frames_audio(&result["received"]["bad"]),
        frames_audio(&result["received"]["viewer"]),
        polls["polls"],
        polls["statuses"],
        polls["maxPacketCount"],
        health["rooms"],
    ));
    server.stop();
}

#[test]
fn chrome_send_bitrate_ramps_up() {
    if !isolated("browser_interop::chrome_send_bitrate_ramps_up") {
        return;
    }
    let server = Server::start("44400-44499", &[]);
    let result = run_driver(
        "interop-bitrate",
        &server,
        "interop-bitrate.mjs",
        &["--target-kbps", "1000", "--within", "10"],
    );
    let samples = result["samples"].as_array().expect("samples");
    let over = samples
        .windows(2)
        .position(|w| w.iter().all(|s| s["kbps"].as_u64().unwrap_or(0) > 1000));
    assert!(over.is_some(), "{result}");
    let trace: Vec<String> = samples
        .iter()
        .map(|s| {
            format!(
                "{}s {}kbps (est {}, target {}, server {})",
                s["t"], s["kbps"], s["availableOutgoingKbps"], s["targetKbps"], s["serverKbps"]
            )
        })
        .collect();
    report(format_args!(
        "bitrate: Chrome {} 1280x720 noisy camera above 1 Mbps {} s after join; {}",
        result["encoder"],
        result["reached_seconds"],
        trace.join("; ")
    ));
    server.stop();
}

/// A tiny deterministic generator for the spray (xorshift64).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
}

/// The shared port entry of `/health` listening on `port`.
fn shared_port(client: &mut Client, port: u64) -> Value {
    let health = client.get("/health").json();
    health["webrtcPorts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"].as_u64() == Some(port))
        .cloned()
        .unwrap_or_else(|| panic!("no shared port {port} in {health}"))
}

fn counter(v: &Value, name: &str) -> u64 {
    v[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name} in {v}"))
}

#[test]
fn spray_at_the_shared_port_during_a_call() {
    if !isolated("browser_interop::spray_at_the_shared_port_during_a_call") {
        return;
    }
    const BAD_STUN: usize = 100;
    const DTLS: usize = 100;
    const RANDOM: usize = 300;
    let server = Server::start("44500-44599", &[]);
    let dir = scratch("interop-spray");
    let release = dir.join("release");
    let mut args = media_args();
    args.extend([
        "--hold-file".to_owned(),
        release.to_str().expect("utf-8 path").to_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut driver = Driver::spawn(&server, "interop-call.mjs", &args, &dir);
    let up = driver.wait_for_marker("CALL_UP", Duration::from_secs(60));
    let target = up["transports"]["page.send"]
        .as_str()
        .expect("page.send transport");

    let mut client = server.client();
    let info = client
        .get(&format!("/transports/{target}"))
        .expect(200)
        .json();
    let ufrag = info["iceParameters"]["usernameFragment"]
        .as_str()
        .expect("ufrag")
        .to_owned();
    let candidate = info["iceCandidates"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["protocol"] == "udp")
        .unwrap_or_else(|| panic!("no udp candidate: {info}"));
    let port = candidate["port"].as_u64().expect("candidate port");
    let shared: SocketAddr = format!("{}:{port}", candidate["ip"].as_str().expect("candidate ip"))
        .parse()
        .expect("candidate address");
    let stats_path = format!("/transports/{target}/stats");
    let ice_failures =
        |client: &mut Client| counter(&client.get(&stats_path).json()[0], "droppedIceFailure");
    let port_before = shared_port(&mut client, port);
    let ice_before = ice_failures(&mut client);

    // Interleaved: random bytes, checks for the real ufrag signed with a wrong password, and DTLS records, all
    // from a tuple no ICE check validated.
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the spray socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(1)))
        .expect("read timeout");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let wrong = integrity_key("not-the-password-of-this-transport");
    let username = format!("{ufrag}:spray");
    let (mut expect_tuple, mut expect_ufrag) = (0u64, 0u64);
    let mut error_responses = 0u64;
    let mut reply = [0u8; 1500];
    let started = Instant::now();
    for i in 0..RANDOM + BAD_STUN + DTLS {
        let mut buf = [0u8; 1200];
        // Of every five: one bad STUN check, one DTLS record, three random datagrams.
        let len = match i % 5 {
            0 => {
                let mut transaction = [0u8; 12];
                rng.fill(&mut transaction);
                write_binding_request(&mut buf, &transaction, &username, &wrong, true)
                    .expect("binding request")
            }
            1 => {
                // A handshake record (ContentType 22, DTLS 1.2, epoch 0) around random bytes.
                let body = 60 + (rng.next() % 300) as usize;
                rng.fill(&mut buf[..13 + body]);
                buf[..5].copy_from_slice(&[22, 0xfe, 0xfd, 0, 0]);
                buf[11..13].copy_from_slice(&(body as u16).to_be_bytes());
                expect_tuple += 1;
                13 + body
            }
            _ => {
                let len = 1 + (rng.next() % 1200) as usize;
                rng.fill(&mut buf[..len]);
                // Random bytes that look like STUN name no known ufrag; the rest are from an unknown tuple.
                match classify(&buf[..len]) {
                    PacketKind::Stun => expect_ufrag += 1,
                    _ => expect_tuple += 1,
                }
                len
            }
        };
        socket.send_to(&buf[..len], shared).expect("spray");
        if let Ok((n, _)) = socket.recv_from(&mut reply) {
            // Binding Error Response (0x0111): the lite agent's 401 to a check it could not authenticate.
            error_responses += u64::from(n >= 20 && reply[..2] == [0x01, 0x11]);
        }
        std::thread::sleep(Duration::from_millis(3));
    }
    let spray_ms = started.elapsed().as_millis();
    let sprayed = (RANDOM + BAD_STUN + DTLS) as u64;
    assert_eq!(expect_tuple + expect_ufrag + BAD_STUN as u64, sprayed);

    // Every datagram is counted once the worker has read it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (port_after, ice_after) = loop {
        while let Ok((n, _)) = socket.recv_from(&mut reply) {
            error_responses += u64::from(n >= 20 && reply[..2] == [0x01, 0x11]);
        }
        let port_after = shared_port(&mut client, port);
        let ice_after = ice_failures(&mut client);
        let counted = counter(&port_after, "droppedUnknownTuple")
            - counter(&port_before, "droppedUnknownTuple")
            + counter(&port_after, "droppedUnknownUfrag")
            - counter(&port_before, "droppedUnknownUfrag")
            + ice_after
            - ice_before;
        if counted >= sprayed || Instant::now() > deadline {
            break (port_after, ice_after);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    std::fs::write(&release, b"").expect("release the driver");
    let result = driver.finish(Duration::from_secs(60));

    let delta = |name: &str| counter(&port_after, name) - counter(&port_before, name);
    let hold = &result["hold"];
    report(format_args!(
        "spray: {sprayed} datagrams in {spray_ms} ms at {shared} ({RANDOM} random, {BAD_STUN} STUN for ufrag {ufrag} \
         with a wrong password, {DTLS} DTLS records): droppedUnknownTuple +{} (expected {expect_tuple}), \
         droppedUnknownUfrag +{} (expected {expect_ufrag}), droppedIceFailure +{} (expected {BAD_STUN}), {} 401 \
         responses, datagramsReceived +{}; frames msc {} -> {} -> {}, page {} -> {} -> {} (hand-off, release, end)",
        delta("droppedUnknownTuple"),
        delta("droppedUnknownUfrag"),
        ice_after - ice_before,
        error_responses,
        delta("datagramsReceived"),
        hold["at_hand_off"]["msc"]["framesDecoded"],
        hold["at_release"]["msc"]["framesDecoded"],
        hold["after"]["msc"]["framesDecoded"],
        hold["at_hand_off"]["page"]["framesDecoded"],
        hold["at_release"]["page"]["framesDecoded"],
        hold["after"]["page"]["framesDecoded"],
    ));
    assert_eq!(delta("droppedUnknownTuple"), expect_tuple, "{port_after}");
    assert_eq!(delta("droppedUnknownUfrag"), expect_ufrag, "{port_after}");
    assert_eq!(ice_after - ice_before, BAD_STUN as u64);
    assert!(delta("datagramsReceived") >= sprayed, "{port_after}");
    for side in ["msc", "page"] {
        let (at_hand_off, _) = frames_audio(&hold["at_hand_off"][side]);
        let (at_release, _) = frames_audio(&hold["at_release"][side]);
        let (after, _) = frames_audio(&hold["after"][side]);
        // Frames went on during the spray (≥ 1 s of it at 20 fps) and after it.
        assert!(
            at_release >= at_hand_off + 20 && after >= at_release + 60,
            "{side}: {hold}"
        );
    }
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
