//! whip-client (GStreamer webrtcbin + libnice, a WebRTC stack independent of Chromium's) publishes VP8 +
//! Opus through WHIP; FFmpeg records both producers through plain consumers.
//!
//! Two things of Debian 12's whip-client need a hand, both inside the test's own namespace:
//! - libnice never gathers candidates on a loopback interface, so the namespace gets a veth pair
//!   (10.99.0.1, no route out) and the server's RTC address is that one;
//! - whip-client links libsoup2 while libnice → gupnp-igd → gupnp pulls libsoup3, and libsoup3 aborts in a
//!   process holding libsoup2 ("libsoup2 symbols detected"): a stub gupnp-igd (UPnP port mapping, of no
//!   use here; `gupnp_igd_stub.c`) is put first on its library path.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::netns::isolated;
use super::peers::{decode_errors, probe, repo, scratch, start_example};
use super::support::{Server, report};

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
    add_interface();
    let dir = scratch("whip-client");
    build_stub(&dir);
    let server = Server::start("47900-47949", &["--rtc-ip", RTC_IP]);
    let url = server.base_url();
    let mut client = start_whip_client(&format!("{url}/rooms/media/whip?displayName=gst"), &dir);

    // The session's two producers appear in the room (bounded poll: whip-client prints nothing parseable).
    let mut http = server.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    let producers = loop {
        let room = http.get("/rooms/media");
        if room.status == 200 {
            let ids = room.json()["producerIds"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if ids.len() == 2 {
                break ids;
            }
        }
        if let Some(status) = client.try_wait().expect("try_wait") {
            panic!(
                "whip-client exited ({status}):\n{}\n{}",
                client_log(&dir),
                server.log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no producers within 20 s:\n{}\n{}",
            client_log(&dir),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let broadcasters = http.get("/rooms/media/broadcasters").expect(200).json();
    assert_eq!(broadcasters[0]["displayName"], "gst", "{broadcasters}");
    let producers: Vec<&str> = producers.iter().map(|p| p.as_str().unwrap()).collect();

    let output = dir.join("recording.mkv");
    let mut recorder = start_example(
        "ffmpeg-recorder.sh",
        &[
            ("SERVER_URL", &url),
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
