//! Other senders into the same path as [`super::media_ffmpeg`]: the GStreamer broadcaster example (rtpbin) with
//! VP8, and both broadcaster examples with H264 (constrained baseline, packetization-mode 1), each recorded by
//! the recorder example through its consumers' SDPs and checked with ffprobe and a full decode.

use super::netns::isolated;
use super::peers::{broadcast_and_record, check_recording, scratch};
use super::support::{Server, report};

/// Seconds the broadcaster sends, and seconds the recorder records (it starts within a second of the
/// broadcaster and ends on its own).
const BROADCAST: u32 = 12;
const RECORD: u32 = 7;

/// Runs `script` with `env`, records it and checks the recording; reports what was measured.
fn publish_and_check(test: &str, rtc_ports: &str, script: &str, env: &[(&str, &str)], codec: &str) {
    let server = Server::start(rtc_ports, &[]);
    let dir = scratch(test);
    let output = broadcast_and_record(&server.base_url(), script, env, BROADCAST, RECORD, &dir);
    let (video, audio) = check_recording(&output, codec, 30.0, 5.0);
    report(format_args!(
        "{test}: {} {} frames in {:.2} s ({:.2} fps), {} {} packets in {:.2} s",
        video.codec,
        video.frames,
        video.duration,
        video.frames as f64 / video.duration,
        audio.codec,
        audio.frames,
        audio.duration
    ));
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gstreamer_vp8_and_opus() {
    if !isolated("media_peers::gstreamer_vp8_and_opus") {
        return;
    }
    publish_and_check(
        "gstreamer-vp8",
        "41100-41199",
        "gstreamer-broadcaster.sh",
        &[],
        "vp8",
    );
}

#[test]
fn ffmpeg_h264_and_opus() {
    if !isolated("media_peers::ffmpeg_h264_and_opus") {
        return;
    }
    publish_and_check(
        "ffmpeg-h264",
        "41200-41299",
        "ffmpeg-broadcaster.sh",
        &[("VIDEO_CODEC", "h264")],
        "h264",
    );
}

#[test]
fn gstreamer_h264_and_opus() {
    if !isolated("media_peers::gstreamer_h264_and_opus") {
        return;
    }
    publish_and_check(
        "gstreamer-h264",
        "41300-41399",
        "gstreamer-broadcaster.sh",
        &[("VIDEO_CODEC", "h264")],
        "h264",
    );
}
