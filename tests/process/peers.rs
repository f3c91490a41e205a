//! Real media peers for the tests: FFmpeg and GStreamer through the example scripts, ffprobe to check
//! recordings, and raw UDP endpoints for what the tools cannot show (sequence numbers, hostile traffic).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root (examples live there).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory for a test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mediagate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs an example script with the given environment; its stdout lines go to a file in `dir`.
pub fn start_example(script: &str, env: &[(&str, &str)], dir: &Path) -> Example {
    let out = dir.join(format!("{script}.out"));
    let err = dir.join(format!("{script}.err"));
    let child = Command::new("bash")
        .arg(repo().join("examples").join(script))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    Example { child, out, err }
}

/// A running example script.
pub struct Example {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Example {
    /// Waits (bounded) until its stdout has a `NAME=value` line; returns the value.
    pub fn wait_for_value(&mut self, name: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            if let Some(value) = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
            {
                return value.trim().to_owned();
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "example exited ({status}) before printing {name}:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {name} within {limit:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (bounded) for the script to end; panics with its stderr unless it succeeded.
    pub fn wait_success(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                assert!(
                    status.success(),
                    "example failed ({status}):\n{}",
                    self.stderr()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "example still running after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the script wrote to stderr.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // SIGTERM lets the script's trap delete its broadcaster.
            let _ = Command::new("kill")
                .arg(self.child.id().to_string())
                .status();
            let _ = self.child.wait();
        }
    }
}

/// One stream of a recording, as ffprobe sees it.
#[derive(Debug, Clone)]
pub struct ProbedStream {
    /// `vp8`, `h264`, `opus`…
    pub codec: String,
    /// `video` or `audio`.
    pub kind: String,
    /// Decoded frames (video) or packets (audio).
    pub frames: u64,
    /// Seconds covered.
    pub duration: f64,
}

/// Probes a recording: every stream with its decoded frame count and duration.
pub fn probe(file: &Path) -> Vec<ProbedStream> {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .arg("stream=codec_name,codec_type,nb_read_frames:stream_tags=DURATION:format=duration")
        .args(["-of", "json"])
        .arg(file)
        .output()
        .expect("run ffprobe");
    assert!(
        output.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("ffprobe json");
    let format_duration = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse::<f64>().ok())
        .unwrap_or(0.0);
    json["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| ProbedStream {
            codec: s["codec_name"].as_str().unwrap_or_default().to_owned(),
            kind: s["codec_type"].as_str().unwrap_or_default().to_owned(),
            frames: s["nb_read_frames"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            duration: s["tags"]["DURATION"]
                .as_str()
                .and_then(parse_hms)
                .unwrap_or(format_duration),
        })
        .collect()
}

/// `HH:MM:SS.fraction` → seconds.
fn parse_hms(text: &str) -> Option<f64> {
    let mut parts = text.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

/// Decodes a whole file; returns what FFmpeg reported as errors (empty when it decoded cleanly).
pub fn decode_errors(file: &Path) -> String {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-nostdin", "-i"])
        .arg(file)
        // Video frames keep the file's time base: in the default 1/frame-rate one, frames after a pause
        // bridged by wall-clock time (not on the frame grid) can round to the same timestamp, which the
        // null muxer reports as an error although every frame decoded.
        .args(["-enc_time_base:v", "-1", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        output.status.success(),
        "ffmpeg could not decode {}",
        file.display()
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A broadcaster example's producers, recorded by the recorder example into `dir/recording.mkv`.
///
/// Runs `script` (e.g. `gstreamer-broadcaster.sh`) for `broadcast` seconds with `env` added, records its video
/// and audio producers for `record` seconds, and returns the recording once both scripts ended cleanly.
pub fn broadcast_and_record(
    server_url: &str,
    script: &str,
    env: &[(&str, &str)],
    broadcast: u32,
    record: u32,
    dir: &Path,
) -> PathBuf {
    let broadcast = broadcast.to_string();
    let mut broadcaster_env = vec![
        ("SERVER_URL", server_url),
        ("ROOM_ID", "media"),
        ("DURATION", broadcast.as_str()),
    ];
    broadcaster_env.extend_from_slice(env);
    let mut broadcaster = start_example(script, &broadcaster_env, dir);
    let video = broadcaster.wait_for_value("VIDEO_PRODUCER_ID", Duration::from_secs(20));
    let audio = broadcaster.wait_for_value("AUDIO_PRODUCER_ID", Duration::from_secs(5));
    let output = dir.join("recording.mkv");
    let producers = format!("{video} {audio}");
    let record = record.to_string();
    let mut recorder = start_example(
        "ffmpeg-recorder.sh",
        &[
            ("SERVER_URL", server_url),
            ("ROOM_ID", "media"),
            ("PRODUCER_IDS", &producers),
            ("OUTPUT", output.to_str().expect("utf-8 path")),
            ("DURATION", &record),
        ],
        dir,
    );
    recorder.wait_success(Duration::from_secs(60));
    broadcaster.wait_success(Duration::from_secs(60));
    output
}

/// Checks a recording of one video and one Opus stream: at least `min_seconds` of each, video in `video_codec`
/// at `fps` ± 10%, and a decode without errors. Returns the video and the audio stream as probed.
pub fn check_recording(
    file: &Path,
    video_codec: &str,
    fps: f64,
    min_seconds: f64,
) -> (ProbedStream, ProbedStream) {
    let streams = probe(file);
    let video = streams
        .iter()
        .find(|s| s.kind == "video")
        .unwrap_or_else(|| panic!("no video stream: {streams:?}"));
    let audio = streams
        .iter()
        .find(|s| s.kind == "audio")
        .unwrap_or_else(|| panic!("no audio stream: {streams:?}"));
    assert_eq!(video.codec, video_codec, "{streams:?}");
    assert_eq!(audio.codec, "opus", "{streams:?}");
    assert!(
        video.duration >= min_seconds && audio.duration >= min_seconds,
        "less than {min_seconds} s recorded: {streams:?}"
    );
    let measured = video.frames as f64 / video.duration;
    assert!(
        (fps * 0.9..=fps * 1.1).contains(&measured),
        "video at {measured:.2} fps, not {fps} ± 10%: {streams:?}"
    );
    let errors = decode_errors(file);
    assert!(errors.is_empty(), "decode errors: {errors}");
    (video.clone(), audio.clone())
}
