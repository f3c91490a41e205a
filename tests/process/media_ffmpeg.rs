//! FFmpeg → mediagate → FFmpeg: the broadcaster example publishes Opus + VP8 from test sources over plain
//! transports; the recorder example records a consumer of each through its SDP.

use std::time::Duration;

use super::netns::isolated;
use super::peers::{decode_errors, probe, scratch, start_example};
use super::support::{Server, report};

#[test]
fn ffmpeg_to_ffmpeg_vp8_and_opus() {
    if !isolated("media_ffmpeg::ffmpeg_to_ffmpeg_vp8_and_opus") {
        return;
    }
    let server = Server::start("41000-41099", &[]);
    let url = server.base_url();
    let dir = scratch("ffmpeg-vp8");
    let mut broadcaster = start_example(
        "ffmpeg-broadcaster.sh",
        &[
            ("SERVER_URL", &url),
            ("ROOM_ID", "media"),
            ("DURATION", "14"),
        ],
        &dir,
    );
    let video = broadcaster.wait_for_value("VIDEO_PRODUCER_ID", Duration::from_secs(20));
    let audio = broadcaster.wait_for_value("AUDIO_PRODUCER_ID", Duration::from_secs(5));
    let output = dir.join("recording.mkv");
    let producers = format!("{video} {audio}");
    let mut recorder = start_example(
        "ffmpeg-recorder.sh",
        &[
            ("SERVER_URL", &url),
            ("ROOM_ID", "media"),
            ("PRODUCER_IDS", &producers),
            ("OUTPUT", output.to_str().unwrap()),
            ("DURATION", "7"),
        ],
        &dir,
    );
    recorder.wait_success(Duration::from_secs(30));
    broadcaster.wait_success(Duration::from_secs(30));

    let streams = probe(&output);
    report(format_args!("recording: {streams:?}"));
    let vp8 = streams
        .iter()
        .find(|s| s.kind == "video" && s.codec == "vp8")
        .expect("a VP8 stream");
    let opus = streams
        .iter()
        .find(|s| s.kind == "audio" && s.codec == "opus")
        .expect("an Opus stream");
    assert!(vp8.duration >= 5.0 && opus.duration >= 5.0, "{streams:?}");
    // 30 fps ± 10% over the recorded video.
    let fps = vp8.frames as f64 / vp8.duration;
    assert!(
        (27.0..=33.0).contains(&fps),
        "video at {fps:.1} fps: {streams:?}"
    );
    let errors = decode_errors(&output);
    assert!(errors.is_empty(), "decode errors: {errors}");
    server.stop();
}
