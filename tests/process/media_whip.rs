//! whip-client (GStreamer webrtcbin + libnice, a WebRTC stack independent of Chromium's) publishes VP8 +
//! Opus through WHIP: FFmpeg records both producers through plain consumers, the server's page in headless
//! Chromium views them, and a killed client's session ends at ICE consent expiry. Chromium publishes through WHIP
//! too, from a minimal page (`tests/browser/whip-publish.mjs`), and FFmpeg records its video. Chromium plays
//! whip-client's session through WHEP from another minimal page (`tests/browser/whep-play.mjs`).
//!
//! Two things of Debian 12's whip-client need a hand, both inside the test's own namespace:
//! - libnice never gathers candidates on a loopback interface, so the namespace gets a veth pair
//!   (10.99.0.1, no route out) and the server's RTC address is that one;
//! - whip-client links libsoup2 while libnice → gupnp-igd → gupnp pulls libsoup3, and libsoup3 aborts in a
//!   process holding libsoup2 ("libsoup2 symbols detected"): a stub gupnp-igd (UPnP port mapping, of no
//!   use here; `gupnp_igd_stub.c`) is put first on its library path.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::browser::{FRAMES, media_args, run_driver};
use super::browser_interop::Driver;
use super::netns::isolated;
use super::peers::{decode_errors, probe, repo, scratch, start_example};
use super::support::{EventStream, Server, report};

const RTC_IP: &str = "10.99.0.1";

/// A veth pair with `RTC_IP` in this namespace, so libnice has a non-loopback interface to gather on.
fn add_interface() {
    for args in [
        &[
            "link", "add", "whip0", "type", "veth", "peer", "name", "whip1",
        ][..],
        &["addr", "add", "10.99.0.1/24", "dev", "whip0"],
        &["link", "set", "whip1", "up"],
        &["link", "set", "whip0", "up"],
    ] {
        let status = Command::new("ip").args(args).status().expect("run ip");
        assert!(status.success(), "ip {args:?} failed");
    }
}

/// Builds the gupnp-igd stub into `dir`.
fn build_stub(dir: &Path) {
    let status = Command::new("cc")
        .args([
            "-shared",
            "-fPIC",
            "-Wl,-soname,libgupnp-igd-1.0.so.4",
            "-o",
        ])
        .arg(dir.join("libgupnp-igd-1.0.so.4"))
        .arg(repo().join("tests/process/gupnp_igd_stub.c"))
        .status()
        .expect("run cc");
    assert!(status.success(), "building the gupnp-igd stub failed");
}

/// What every whip-client test starts from: the namespace's interface, the stub library in a scratch
/// directory named `name`, and a server whose RTC address is that interface.
fn whip_server(name: &str, rtc_ports: &str) -> (PathBuf, Server) {
    add_interface();
    let dir = scratch(name);
    build_stub(&dir);
    let server = Server::start(rtc_ports, &["--rtc-ip", RTC_IP]);
    (dir, server)
}

/// whip-client publishing into room `media` as `gst`.
fn start_gst(server: &Server, dir: &Path) -> Child {
    let url = server.base_url();
    start_whip_client(&format!("{url}/rooms/media/whip?displayName=gst"), dir)
}

fn start_whip_client(url: &str, dir: &Path) -> Child {
    Command::new("whip-client")
        .args(["-o", "-l", "4", "-u", url, "-t", "test-token", "-V"])
        .arg(
            "videotestsrc is-live=true pattern=ball ! video/x-raw,framerate=30/1 ! videoconvert ! queue ! \
             vp8enc deadline=1 ! rtpvp8pay pt=96 ssrc=2 ! queue ! \
             application/x-rtp,media=video,encoding-name=VP8,payload=96",
        )
        .arg("-A")
        .arg(
            "audiotestsrc is-live=true wave=red-noise ! audioconvert ! audioresample ! queue ! opusenc ! \
             rtpopuspay pt=100 ssrc=1 ! queue ! application/x-rtp,media=audio,encoding-name=OPUS,payload=100",
        )
        .env("LD_LIBRARY_PATH", dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("whip-client.out")).expect("log file"))
        .stderr(std::fs::File::create(dir.join("whip-client.err")).expect("log file"))
        .spawn()
        .expect("run whip-client (Debian package simple-whip-client)")
}

/// The session's two producers, once they are in room `media` (a bounded poll: whip-client prints nothing
/// parseable).
fn wait_for_producers(server: &Server, client: &mut Child, dir: &Path) -> Vec<String> {
    let mut http = server.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let room = http.get("/rooms/media");
        if room.status == 200 {
            let ids = room.json()["producerIds"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if ids.len() == 2 {
                return ids
                    .iter()
                    .map(|p| p.as_str().expect("a producer id").to_owned())
                    .collect();
            }
        }
        if let Some(status) = client.try_wait().expect("try_wait") {
            panic!(
                "whip-client exited ({status}):\n{}\n{}",
                client_log(dir),
                server.log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no producers within 20 s:\n{}\n{}",
            client_log(dir),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client_log(dir: &Path) -> String {
    let out = std::fs::read_to_string(dir.join("whip-client.out")).unwrap_or_default();
    let err = std::fs::read_to_string(dir.join("whip-client.err")).unwrap_or_default();
    format!("{out}\n{err}")
}

#[test]
fn whip_client_publishes_vp8_and_opus_that_ffmpeg_records() {
    if !isolated("media_whip::whip_client_publishes_vp8_and_opus_that_ffmpeg_records") {
        return;
    }
    let (dir, server) = whip_server("whip-client", "47900-47949");
    let mut client = start_gst(&server, &dir);

    let mut http = server.client();
    let producers = wait_for_producers(&server, &mut client, &dir);
    let broadcasters = http.get("/rooms/media/broadcasters").expect(200).json();
    assert_eq!(broadcasters[0]["displayName"], "gst", "{broadcasters}");

    let output = dir.join("recording.mkv");
    let mut recorder = start_example(
        "ffmpeg-recorder.sh",
        &[
            ("SERVER_URL", &server.base_url()),
            ("ROOM_ID", "media"),
            ("PRODUCER_IDS", &producers.join(" ")),
            ("OUTPUT", output.to_str().unwrap()),
            ("DURATION", "6"),
        ],
        &dir,
    );
    recorder.wait_success(Duration::from_secs(40));

    // SIGINT: whip-client DELETEs its session on the way out; the broadcaster leaves.
    let pid = client.id().to_string();
    Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    let status = client.wait().expect("wait whip-client");
    let log = client_log(&dir);
    assert!(status.success(), "whip-client exited {status}:\n{log}");
    let left = http.get("/rooms/media/broadcasters").expect(200).json();
    assert!(
        left.as_array()
            .unwrap()
            .iter()
            .all(|b| b["displayName"] != "gst"),
        "the WHIP broadcaster is still there: {left}\n{log}"
    );

    let streams = probe(&output);
    report(format_args!("whip-client → FFmpeg recording: {streams:?}"));
    let vp8 = streams
        .iter()
        .find(|s| s.kind == "video" && s.codec == "vp8")
        .unwrap_or_else(|| panic!("no VP8 stream: {streams:?}\n{log}"));
    assert!(
        streams
            .iter()
            .any(|s| s.kind == "audio" && s.codec == "opus" && s.frames > 0),
        "no Opus stream: {streams:?}"
    );
    assert!(
        vp8.frames >= 90,
        "only {} VP8 frames: {streams:?}",
        vp8.frames
    );
    let errors = decode_errors(&output);
    assert!(errors.is_empty(), "decode errors: {errors}");
    server.stop();
}

/// whip-client killed without its DELETE: ICE consent expires (30 s, then 30 s of grace), the transport
/// closes, and the session ends with it: the room's stream reports the producers closed and the broadcaster
/// gone, and the session resource is 404.
#[test]
fn a_killed_whip_client_is_closed_after_consent_expiry() {
    if !isolated("media_whip::a_killed_whip_client_is_closed_after_consent_expiry") {
        return;
    }
    let (dir, server) = whip_server("whip-consent", "47950-47999");
    let mut events = EventStream::open(&server, "/rooms/media/events");
    let mut client = start_gst(&server, &dir);
    let producers = wait_for_producers(&server, &mut client, &dir);
    let deadline = Instant::now() + Duration::from_secs(10);
    let joined = events.next("broadcaster.joined", deadline, |_| true);
    let broadcaster = joined["broadcasterId"].as_str().unwrap().to_owned();
    // Media flows before the kill.
    let mut http = server.client();
    let transport = http.get("/rooms/media/broadcasters").expect(200).json()[0]["transportIds"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = http
            .get(&format!("/transports/{transport}/stats"))
            .expect(200)
            .json();
        if stats[0]["dtlsState"] == "connected" && stats[0]["packetsReceived"].as_u64() > Some(50) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no media: {stats}\n{}",
            client_log(&dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    client.kill().expect("SIGKILL whip-client");
    client.wait().expect("reap whip-client");
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(75);
    let mut closed = Vec::new();
    let left = loop {
        let (name, data) = events.next_event(deadline);
        match name.as_str() {
            "producer.closed" => closed.push(data["producerId"].as_str().unwrap().to_owned()),
            "broadcaster.left" if data["broadcasterId"] == broadcaster.as_str() => break data,
            _ => {}
        }
    };
    let after = killed.elapsed();
    report(format_args!(
        "whip-client killed: broadcaster.left after {after:.1?} ({left})"
    ));
    assert!(
        after >= Duration::from_secs(55),
        "closed too early: {after:?}"
    );
    let room = http.get("/rooms/media").expect(200).json();
    assert_eq!(
        room["producerIds"],
        serde_json::json!([]),
        "{room} (had {producers:?})"
    );
    let session = http.get("/rooms/media/broadcasters").expect(200).json();
    assert_eq!(session, serde_json::json!([]));
    server.stop();
}

/// whip-client publishes; the server's page (static/) in headless Chromium, in the same room, decodes at least
/// 90 of its video frames and receives its audio.
#[test]
fn the_static_page_views_a_whip_client() {
    if !isolated("media_whip::the_static_page_views_a_whip_client") {
        return;
    }
    let (dir, server) = whip_server("whip-page", "47850-47899");
    let mut client = start_gst(&server, &dir);
    wait_for_producers(&server, &mut client, &dir);

    let mut args = media_args();
    args.extend(["--room", "media", "--peer-name", "gst"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = run_driver(
        "media_whip::the_static_page_views_a_whip_client",
        &server,
        "interop-ffmpeg.mjs",
        &args,
    );
    let received = &result["received"];
    report(format_args!("static page ← whip-client: {received}"));
    let frames = received["framesDecoded"].as_u64().unwrap_or(0);
    let audio = received["audioPackets"].as_u64().unwrap_or(0);
    assert!(frames >= u64::from(FRAMES) && audio > 0, "{result}");

    let _ = client.kill();
    let _ = client.wait();
    server.stop();
}

/// Chromium publishes through WHIP from a minimal page (`tests/browser/whip-publish.mjs`: getUserMedia, an
/// RTCPeerConnection with sendonly transceivers, `fetch` of the offer): FFmpeg records its VP8 through a plain
/// consumer, and the page's `DELETE` of its session (200) closes both producers and the broadcaster leaves.
#[test]
fn a_browser_publishes_through_whip_and_ffmpeg_records_it() {
    if !isolated("media_whip::a_browser_publishes_through_whip_and_ffmpeg_records_it") {
        return;
    }
    let started = Instant::now();
    let dir = scratch("whip-browser");
    let room = "whip-browser";
    let server = Server::start("47800-47849", &[]);
    let url = server.base_url();
    let mut events = EventStream::open(&server, &format!("/rooms/{room}/events"));

    let release = dir.join("release");
    let release_arg = release.to_str().expect("utf-8 path");
    let args = [
        "--room",
        room,
        "--name",
        "Chromium",
        "--hold-file",
        release_arg,
    ];
    let mut driver = Driver::spawn(&server, "whip-publish.mjs", &args, &dir);
    let publishing = driver.wait_for_marker("PUBLISHING", Duration::from_secs(30));
    let broadcaster = publishing["broadcasterId"]
        .as_str()
        .expect("broadcasterId")
        .to_owned();
    let video = publishing["producers"]["video"]
        .as_str()
        .expect("video producer");
    let audio = publishing["producers"]["audio"]
        .as_str()
        .expect("audio producer");
    let mut http = server.client();
    let producer = http.get(&format!("/producers/{video}")).expect(200).json();
    assert_eq!(producer["kind"], "video", "{producer}");

    let output = dir.join("browser-whip.mkv");
    let mut recorder = start_example(
        "ffmpeg-recorder.sh",
        &[
            ("SERVER_URL", &url),
            ("ROOM_ID", room),
            ("PRODUCER_IDS", video),
            ("OUTPUT", output.to_str().expect("utf-8 path")),
            ("DURATION", "6"),
        ],
        &dir,
    );
    recorder.wait_success(Duration::from_secs(40));
    std::fs::write(&release, b"").expect("release the driver");
    let result = driver.finish(Duration::from_secs(30));
    assert_eq!(result["delete_status"], 200, "{result}");

    // The room saw the session join, and leave after its DELETE with both producers closed.
    let deadline = Instant::now() + Duration::from_secs(5);
    let joined = events.next("broadcaster.joined", deadline, |d| {
        d["broadcasterId"] == broadcaster.as_str()
    });
    assert_eq!(joined["displayName"], "Chromium", "{joined}");
    let mut closed = Vec::new();
    let left = loop {
        let (name, data) = events.next_event(deadline);
        match name.as_str() {
            "producer.closed" => closed.push(data["producerId"].as_str().unwrap_or("").to_owned()),
            "broadcaster.left" if data["broadcasterId"] == broadcaster.as_str() => break data,
            _ => {}
        }
    };
    // The DELETE's doing, not the transport's (ICE or DTLS closing would say so).
    assert_eq!(left["reason"], "closed by request", "{left}");
    for id in [video, audio] {
        assert!(
            closed.iter().any(|c| c == id),
            "producer {id} not closed before broadcaster.left: {closed:?}"
        );
    }
    let broadcasters = http
        .get(&format!("/rooms/{room}/broadcasters"))
        .expect(200)
        .json();
    assert!(
        broadcasters
            .as_array()
            .expect("an array")
            .iter()
            .all(|b| b["id"] != broadcaster.as_str()),
        "the WHIP broadcaster is still there: {broadcasters}"
    );
    http.get(&format!("/producers/{video}")).expect(404);

    let streams = probe(&output);
    let vp8 = streams
        .iter()
        .find(|s| s.kind == "video")
        .unwrap_or_else(|| panic!("no video in the recording: {streams:?}"));
    assert_eq!(vp8.codec, "vp8", "{streams:?}");
    assert!(
        vp8.frames >= 90,
        "only {} VP8 frames: {streams:?}",
        vp8.frames
    );
    let errors = decode_errors(&output);
    assert!(errors.is_empty(), "decode errors: {errors}");
    report(format_args!(
        "Chromium → WHIP → FFmpeg: {} VP8 frames in {:.2} s decoded without errors; connected {} ms after the \
         offer, {} s published, DELETE {} then {}, broadcaster.left ({}); {:.1?} in all",
        vp8.frames,
        vp8.duration,
        result["connected_ms"],
        result["published_seconds"],
        result["delete_status"],
        result["delete_again_status"],
        left["reason"],
        started.elapsed(),
    ));
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The acceptance point of WHEP: whip-client publishes VP8 + Opus through WHIP and Chromium plays the room
/// through WHEP from a minimal page (`tests/browser/whep-play.mjs`: recvonly transceivers, `fetch` of the
/// offer, the server-sent-events extension from the answer's `Link`), with the default selection. The page
/// decodes at least 90 frames and receives audio; its event stream starts with `active` and `viewercount` 1;
/// the room's stream says `room.viewers` 1. Then whip-client ends its session (SIGINT: its `DELETE`) and the
/// page's event stream says `inactive`; the page's `DELETE` is 200, a second one 404, and `room.viewers` 0.
#[test]
fn a_browser_plays_a_whip_client_through_whep() {
    if !isolated("media_whip::a_browser_plays_a_whip_client_through_whep") {
        return;
    }
    let started = Instant::now();
    let (dir, server) = whip_server("whep-browser", "47750-47799");
    let mut events = EventStream::open(&server, "/rooms/media/events");
    let mut client = start_gst(&server, &dir);
    let producers = wait_for_producers(&server, &mut client, &dir);

    let release = dir.join("release");
    let mut args = media_args();
    args.extend(
        [
            "--room",
            "media",
            "--name",
            "Chromium WHEP",
            "--hold-file",
            release.to_str().expect("utf-8 path"),
            "--expect-inactive",
        ]
        .map(str::to_owned),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut driver = Driver::spawn(&server, "whep-play.mjs", &args, &dir);
    let playing = driver.wait_for_marker("PLAYING", Duration::from_secs(40));
    let received = &playing["received"];
    let frames = received["framesDecoded"].as_u64().unwrap_or(0);
    let audio = received["audioPackets"].as_u64().unwrap_or(0);
    assert!(
        frames >= u64::from(FRAMES)
            && audio > 0
            && received["totalSamplesReceived"].as_u64() > Some(0),
        "{playing}"
    );
    assert_eq!(
        received["codecs"]["video"]["mimeType"], "video/VP8",
        "{playing}"
    );
    assert_eq!(
        received["codecs"]["audio"]["mimeType"], "audio/opus",
        "{playing}"
    );
    // In the viewer's own payload types (whip-client sends Opus as 100; Chromium offers it as another).
    for kind in ["video", "audio"] {
        let codec = &received["codecs"][kind];
        assert!(
            codec["payloadType"].is_u64() && codec["payloadType"] == codec["offeredPayloadType"],
            "{kind}: {playing}"
        );
    }
    // The viewer's event stream starts with the current state.
    let names = event_names(received);
    assert_eq!(names.first(), Some(&"active"), "{playing}");
    assert!(
        received["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["event"] == "viewercount" && e["data"]["viewercount"] == 1),
        "{playing}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let viewers = events.next("room.viewers", deadline, |_| true);
    assert_eq!(viewers["viewerCount"], 1, "{viewers}");

    // The publisher leaves (whip-client DELETEs its session on SIGINT): the viewer's media is inactive.
    let pid = client.id().to_string();
    Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    let status = client.wait().expect("wait whip-client");
    assert!(
        status.success(),
        "whip-client exited {status}:\n{}",
        client_log(&dir)
    );
    std::fs::write(&release, b"").expect("release the driver");
    let result = driver.finish(Duration::from_secs(30));
    assert_eq!(result["delete_status"], 200, "{result}");
    assert_eq!(result["delete_again_status"], 404, "{result}");
    let names = event_names(&result);
    assert_eq!(names.first(), Some(&"active"), "{result}");
    assert!(names.contains(&"inactive"), "{result}");

    let deadline = Instant::now() + Duration::from_secs(5);
    let mut closed = Vec::new();
    let viewers = loop {
        let (name, data) = events.next_event(deadline);
        match name.as_str() {
            "producer.closed" => closed.push(data["producerId"].as_str().unwrap_or("").to_owned()),
            "room.viewers" => break data,
            _ => {}
        }
    };
    assert_eq!(viewers["viewerCount"], 0, "{viewers}");
    assert!(
        producers.iter().all(|p| closed.contains(p)),
        "producers {producers:?} not closed before the viewer left: {closed:?}"
    );
    report(format_args!(
        "whip-client → WHEP → Chromium: {frames} VP8 frames decoded ({}x{}), {audio} Opus packets, codecs {}, \
         first frame {} ms after the offer, {} s to {FRAMES} frames; SSE events {} (`inactive` seen {} ms after \
         whip-client had exited); DELETE {} then {}; room.viewers 1 then 0; {:.1?} in all",
        received["frameWidth"],
        received["frameHeight"],
        received["codecs"],
        playing["received"]["firstFrameMs"],
        result["media_seconds"],
        result["events"],
        result["inactive_after_release_ms"],
        result["delete_status"],
        result["delete_again_status"],
        started.elapsed(),
    ));
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The names of the WHEP events a driver recorded, in order.
fn event_names(result: &serde_json::Value) -> Vec<&str> {
    result["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["event"].as_str().unwrap_or(""))
        .collect()
}
