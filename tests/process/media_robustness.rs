//! Robustness of the plain-transport packet path with real peers (issue 3's acceptance points): pause and
//! resume mid-stream, SRTP in and out, comedia latching against a second source, and hostile traffic
//! on the sending transport's ports. FFmpeg sends and records; raw UDP sockets in the test see what the
//! tools cannot show (sequence numbers, keyframe starts) and play the stranger.

use std::io::{BufReader, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::netns::isolated;
use super::peers::{decode_errors, probe, scratch, start_example};
use super::support::{Client, Server, read_chunk, read_head, report};

const VIDEO_SSRC: u32 = 2222;
const VIDEO_PT: u8 = 101;

// ---------------------------------------------------------------------------------------------------
// HTTP: the few calls these tests make.

struct Api {
    client: Client,
    room: String,
}

impl Api {
    fn new(server: &Server, room: &str) -> Api {
        let mut client = server.client();
        client.get(&format!("/rooms/{room}")).expect(200);
        Api {
            client,
            room: room.to_owned(),
        }
    }

    fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("json"));
        let response = self
            .client
            .request(method, path, bytes.as_deref())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(
            (200..300).contains(&response.status),
            "{method} {path}: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
        if response.body.is_empty() {
            Value::Null
        } else {
            response.json()
        }
    }

    fn get(&mut self, path: &str) -> Value {
        self.call("GET", path, None)
    }

    fn post(&mut self, path: &str, body: Value) -> Value {
        self.call("POST", path, Some(body))
    }

    /// A broadcaster; with the room's capabilities when it is to consume.
    fn broadcaster(&mut self, id: &str, consumes: bool) {
        let mut body = json!({"id": id, "displayName": id, "device": {"name": "test"}});
        if consumes {
            body["rtpCapabilities"] = self.get(&format!("/rooms/{}/rtp-capabilities", self.room));
        }
        let room = self.room.clone();
        self.post(&format!("/rooms/{room}/broadcasters"), body);
    }

    /// A plain transport with RTCP on its own port.
    fn transport(&mut self, broadcaster: &str, comedia: bool, srtp: bool) -> Value {
        let room = self.room.clone();
        self.post(
            &format!("/rooms/{room}/broadcasters/{broadcaster}/transports"),
            json!({"type": "plain", "comedia": comedia, "rtcpMux": false, "enableSrtp": srtp}),
        )
    }

    /// A VP8 producer (SSRC 2222, PT 101, no feedback: as FFmpeg sends).
    fn vp8_producer(&mut self, transport: &str) -> String {
        let producer = self.post(
            &format!("/transports/{transport}/producers"),
            json!({"kind": "video", "rtpParameters": {
                "codecs": [{"mimeType": "video/VP8", "payloadType": VIDEO_PT, "clockRate": 90000}],
                "encodings": [{"ssrc": VIDEO_SSRC}]}}),
        );
        id(&producer)
    }

    /// A receiving transport connected to `rtp`/`rtp + 1` on 127.0.0.1, and a paused consumer of
    /// `producer` on it. Returns (transport, consumer). With `srtp`, the transport encrypts with its own
    /// key and expects the receiver to use the same one for its RTCP (as FFmpeg does with one `a=crypto`).
    fn receiver(
        &mut self,
        broadcaster: &str,
        producer: &str,
        rtp: u16,
        srtp: bool,
    ) -> (String, String) {
        let transport = self.transport(broadcaster, false, srtp);
        let mut connect = json!({"ip": "127.0.0.1", "port": rtp, "rtcpPort": rtp + 1});
        if srtp {
            connect["srtpParameters"] = transport["srtpParameters"].clone();
        }
        let transport = id(&transport);
        self.post(&format!("/transports/{transport}/connect"), connect);
        let consumer = self.post(
            &format!("/transports/{transport}/consumers"),
            json!({"producerId": producer, "paused": true, "enableRtx": false}),
        );
        (transport, id(&consumer))
    }

    fn transport_stats(&mut self, transport: &str) -> Value {
        self.get(&format!("/transports/{transport}/stats"))[0].clone()
    }

    fn sdp(&mut self, consumer: &str) -> String {
        let response = self.client.get(&format!("/consumers/{consumer}/sdp"));
        String::from_utf8(response.expect(200).body).expect("utf-8 SDP")
    }
}

fn id(object: &Value) -> String {
    object["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {object}"))
        .to_owned()
}

fn counter(stats: &Value, name: &str) -> u64 {
    stats[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no {name} in {stats}"))
}

// ---------------------------------------------------------------------------------------------------
// Peers: FFmpeg processes and a raw RTP receiver.

/// A peer process, interrupted (SIGINT, so FFmpeg finishes its file) and reaped on drop.
struct Peer {
    child: Child,
    log: PathBuf,
}

impl Peer {
    fn ffmpeg(args: &[&str], log: PathBuf) -> Peer {
        let child = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-y", "-loglevel"])
            // MEDIAGATE_TEST_FFMPEG_LOGLEVEL=verbose shows what FFmpeg did (in the scratch directory).
            .arg(std::env::var("MEDIAGATE_TEST_FFMPEG_LOGLEVEL").unwrap_or_else(|_| "error".into()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("run ffmpeg");
        Peer { child, log }
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn interrupt(&self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
    }

    /// Waits (bounded, polling the external process) for it to exit.
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "ffmpeg still running after {limit:?}: {}",
                self.errors()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGINT, then a clean exit.
    fn finish(&mut self) {
        self.interrupt();
        let status = self.wait(Duration::from_secs(10));
        // FFmpeg exits 255 when interrupted; a crash or a refused input is something else.
        assert!(
            status.success() || status.code() == Some(255),
            "ffmpeg: {status}: {}",
            self.errors()
        );
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// FFmpeg's test pattern as VP8 (30 fps, a keyframe every second) for `seconds`, RTP out to `url`
/// with SSRC 2222 and PT 101; `extra` goes before the URL (SRTP options).
fn vp8_sender(seconds: u32, url: &str, extra: &[&str], log: PathBuf) -> Peer {
    let seconds = seconds.to_string();
    let ssrc = VIDEO_SSRC.to_string();
    let pt = VIDEO_PT.to_string();
    let mut args = vec![
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30",
        "-t",
        &seconds,
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "600k",
        "-g",
        "30",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "rtp",
        "-ssrc",
        &ssrc,
        "-payload_type",
        &pt,
    ];
    args.extend_from_slice(extra);
    args.push(url);
    Peer::ffmpeg(&args, log)
}

/// FFmpeg recording a consumer's stream through its SDP (written to `dir`) into `output`.
fn recorder(sdp: &str, dir: &Path, output: &Path) -> Peer {
    let sdp_file = dir.join(format!(
        "{}.sdp",
        output.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::write(&sdp_file, sdp).expect("write sdp");
    Peer::ffmpeg(
        &[
            "-protocol_whitelist",
            "file,udp,rtp,srtp,crypto",
            "-i",
            sdp_file.to_str().unwrap(),
            "-map",
            "0:v",
            "-c",
            "copy",
            output.to_str().unwrap(),
        ],
        dir.join(format!(
            "{}.log",
            output.file_stem().unwrap().to_string_lossy()
        )),
    )
}

/// Whether a UDP socket is bound to `port` in this network namespace.
fn udp_port_bound(port: u16) -> bool {
    let needle = format!(":{port:04X} ");
    ["/proc/net/udp", "/proc/net/udp6"].iter().any(|file| {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|a| format!("{a} ").ends_with(&needle))
            })
    })
}

/// Waits (bounded polling of an external process) until FFmpeg listens on `port`.
fn wait_listening(peer: &mut Peer, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !udp_port_bound(port) {
        if let Some(status) = peer.child.try_wait().expect("try_wait") {
            panic!("ffmpeg exited ({status}): {}", peer.errors());
        }
        assert!(
            Instant::now() < deadline,
            "ffmpeg does not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// UDP datagrams the kernel of this namespace dropped for a full receive buffer.
fn udp_receive_buffer_errors() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// One RTP packet as the raw receiver saw it.
#[derive(Clone, Copy, Debug)]
struct Seen {
    at: Instant,
    seq: u16,
    timestamp: u32,
    ssrc: u32,
    /// The first packet of a VP8 keyframe (RFC 7741: S=1, PID 0, P=0 in the payload header).
    keyframe_start: bool,
    /// The payload carries [`STRANGER_TAG`].
    tagged: bool,
}

/// Marks the payload of RTP the tests send from a second source.
const STRANGER_TAG: &[u8] = b"not-from-the-latched-source";

/// The RTP header fields and payload of a datagram (RFC 3550 §5.1, parsed here independently of the
/// engine).
fn rtp_fields(b: &[u8]) -> Option<(u16, u32, u32, &[u8])> {
    if b.len() < 12 || b[0] >> 6 != 2 {
        return None;
    }
    let mut start = 12 + 4 * usize::from(b[0] & 0x0f);
    if b[0] & 0x10 != 0 {
        let words = u16::from_be_bytes([*b.get(start + 2)?, *b.get(start + 3)?]);
        start += 4 + 4 * usize::from(words);
    }
    let mut end = b.len();
    if b[0] & 0x20 != 0 {
        end = end.checked_sub(usize::from(*b.last()?))?;
    }
    let seq = u16::from_be_bytes([b[2], b[3]]);
    let timestamp = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    let ssrc = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
    Some((seq, timestamp, ssrc, b.get(start..end)?))
}

/// RFC 7741 §4.2-4.3: a payload that starts a VP8 keyframe.
fn vp8_keyframe_start(p: &[u8]) -> bool {
    let Some(&first) = p.first() else {
        return false;
    };
    let mut at = 1;
    if first & 0x80 != 0 {
        let Some(&x) = p.get(1) else { return false };
        at = 2;
        if x & 0x80 != 0 {
            at += if p.get(at).is_some_and(|m| m & 0x80 != 0) {
                2
            } else {
                1
            };
        }
        if x & 0x40 != 0 {
            at += 1;
        }
        if x & 0x30 != 0 {
            at += 1;
        }
    }
    first & 0x10 != 0 && first & 0x07 == 0 && p.get(at).is_some_and(|h| h & 0x01 == 0)
}

/// A raw UDP receiver for a consumer: RTP on `port`, RTCP (ignored) on `port + 1`. A thread records
/// every RTP packet and hands it over a channel.
struct RawReceiver {
    port: u16,
    packets: mpsc::Receiver<Seen>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _rtcp: UdpSocket,
}

impl RawReceiver {
    fn bind(port: u16) -> RawReceiver {
        let socket = UdpSocket::bind(("127.0.0.1", port)).expect("bind the raw receiver");
        let rtcp = UdpSocket::bind(("127.0.0.1", port + 1)).expect("bind its RTCP port");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, packets) = mpsc::channel();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                let Ok(len) = socket.recv(&mut buf) else {
                    continue;
                };
                let at = Instant::now();
                let Some((seq, timestamp, ssrc, payload)) = rtp_fields(&buf[..len]) else {
                    continue;
                };
                let seen = Seen {
                    at,
                    seq,
                    timestamp,
                    ssrc,
                    keyframe_start: vp8_keyframe_start(payload),
                    tagged: payload
                        .windows(STRANGER_TAG.len())
                        .any(|w| w == STRANGER_TAG),
                };
                if tx.send(seen).is_err() {
                    break;
                }
            }
        });
        RawReceiver {
            port,
            packets,
            stop,
            thread: Some(thread),
            _rtcp: rtcp,
        }
    }

    /// Waits for `n` more packets (bounded), appending them to `log`.
    fn take(&self, n: usize, log: &mut Vec<Seen>) {
        for _ in 0..n {
            let seen = self
                .packets
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|_| {
                    panic!("no RTP on port {} after {} packets", self.port, log.len())
                });
            log.push(seen);
        }
    }

    /// Everything received so far.
    fn drain(&self, log: &mut Vec<Seen>) {
        log.extend(self.packets.try_iter());
    }

    fn stop(mut self, log: &mut Vec<Seen>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("receiver thread");
        }
        self.drain(log);
    }
}

/// Sequence numbers that do not follow their predecessor: (previous, next) pairs.
fn sequence_gaps(log: &[Seen]) -> Vec<(u16, u16)> {
    log.windows(2)
        .filter(|w| w[1].seq != w[0].seq.wrapping_add(1))
        .map(|w| (w[0].seq, w[1].seq))
        .collect()
}

/// A valid RTP packet carrying [`STRANGER_TAG`] (a VP8 keyframe start, so a consumer would take it).
fn stranger_rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut packet = vec![0x80, VIDEO_PT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    packet[2..4].copy_from_slice(&seq.to_be_bytes());
    packet[4..8].copy_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    packet[8..12].copy_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(&[0x10, 0x00, 0x9d, 0x01, 0x2a]);
    packet.extend_from_slice(STRANGER_TAG);
    packet
}

/// A 30-byte SRTP master key and salt, base64 (FFmpeg's `srtp_out_params`, mediasoup's `keyBase64`).
fn srtp_key(seed: u8) -> String {
    let bytes: Vec<u8> = (0..30u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(seed))
        .collect();
    base64(&bytes)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reads a broadcaster's event stream from the start until `name` arrives for `transport`; returns
/// its data.
fn await_event(
    server: &Server,
    room: &str,
    broadcaster: &str,
    name: &str,
    transport: &str,
) -> Value {
    let stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    write!(
        reader.get_mut(),
        "GET /rooms/{room}/broadcasters/{broadcaster}/events?lastEventId=0 HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\n\r\n",
        server.addr
    )
    .unwrap();
    let (status, _) = read_head(&mut reader).expect("events head");
    assert_eq!(status, 200);
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |f: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(f))
                    .map(|v| v.trim().to_owned())
            };
            if field("event:").as_deref() == Some(name) {
                let data: Value = serde_json::from_str(&field("data:").unwrap()).unwrap();
                if data["transportId"] == transport {
                    return data;
                }
            }
        }
        assert!(Instant::now() < deadline, "no {name} event");
        let chunk = read_chunk(&mut reader)
            .expect("read events")
            .expect("the event stream ended");
        text.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
    }
}

// ---------------------------------------------------------------------------------------------------
// 1. Pause and resume mid-stream.

/// While the broadcaster example publishes VP8, a consumer goes to a raw receiver and another to FFmpeg.
/// Both consumers are paused and resumed, then the producer: the raw receiver's sequence numbers have
/// no gap, each resume restarts on a keyframe, and the recording decodes across the resumes.
#[test]
fn pause_and_resume_mid_stream() {
    if !isolated("media_robustness::pause_and_resume_mid_stream") {
        return;
    }
    let server = Server::start("42000-42099", &[]);
    let url = server.base_url();
    let dir = scratch("robust-pause");
    let mut broadcaster = start_example(
        "ffmpeg-broadcaster.sh",
        &[
            ("SERVER_URL", &url),
            ("ROOM_ID", "pause"),
            ("DURATION", "12"),
        ],
        &dir,
    );
    let video = broadcaster.wait_for_value("VIDEO_PRODUCER_ID", Duration::from_secs(20));
    let mut api = Api::new(&server, "pause");
    api.broadcaster("watcher", true);
    let raw = RawReceiver::bind(5004);
    let (_, raw_consumer) = api.receiver("watcher", &video, 5004, false);
    let (_, ffmpeg_consumer) = api.receiver("watcher", &video, 5006, false);
    let sdp = api.sdp(&ffmpeg_consumer);
    let output = dir.join("paused.mkv");
    let mut recording = recorder(&sdp, &dir, &output);
    wait_listening(&mut recording, 5006);

    // A resumed consumer starts at the producer's next keyframe (FFmpeg's sender answers no keyframe
    // request), so a keyframe arriving between the two resume requests starts the consumer resumed first
    // on it and the other one a keyframe interval (1 s) later. The stream's first keyframe often lands
    // there, since the sender starts about when the test resumes; a segment being shorter than that
    // interval, the consumer resumed second then missed the whole first segment. The recorded consumer is
    // therefore resumed first and paused last: the recording holds at least what the raw receiver saw,
    // which its duration is checked against below.
    let consumers = [ffmpeg_consumer.as_str(), raw_consumer.as_str()];
    let mut log = Vec::new();
    let mut resumes = Vec::new();
    let mut pauses = Vec::new();
    let started = Instant::now();
    let set = |api: &mut Api, paths: &[String], verb: &str| {
        let mut paths: Vec<&String> = paths.iter().collect();
        if verb == "pause" {
            paths.reverse();
        }
        for path in paths {
            api.post(&format!("{path}/{verb}"), json!({}));
        }
    };
    let consumer_paths: Vec<String> = consumers
        .iter()
        .map(|c| format!("/consumers/{c}"))
        .collect();
    let producer_path = vec![format!("/producers/{video}")];
    resumes.push(Instant::now());
    set(&mut api, &consumer_paths, "resume");
    for paths in [&consumer_paths, &producer_path] {
        // About a second of media, a pause long enough to be seen, then a resume.
        raw.take(100, &mut log);
        set(&mut api, paths, "pause");
        let paused = Instant::now();
        pauses.push(paused);
        // Nothing may arrive once the pause has answered (packets already on their way get 50 ms).
        let quiet_until = paused + Duration::from_millis(700);
        while let Some(left) = quiet_until.checked_duration_since(Instant::now()) {
            if let Ok(seen) = raw.packets.recv_timeout(left) {
                assert!(
                    seen.at <= paused + Duration::from_millis(50),
                    "forwarded {:?} after the pause answered",
                    seen.at.duration_since(paused)
                );
                log.push(seen);
            }
        }
        resumes.push(Instant::now());
        set(&mut api, paths, "resume");
    }
    // At least 200 packets and two seconds of the stream after the last resume (at the example's
    // 1 Mbit/s, 200 packets alone are about 1.6 s, too close to the 1.5 s checked below).
    let resumed_at = log.len();
    raw.take(200, &mut log);
    while log[log.len() - 1]
        .timestamp
        .wrapping_sub(log[resumed_at].timestamp)
        < 2 * 90000
    {
        raw.take(1, &mut log);
    }
    let resumed_last = *resumes.last().unwrap();
    // The raw receiver stops first: what it saw while FFmpeg was shutting down would lengthen the
    // stream the recording is compared with.
    raw.stop(&mut log);
    recording.finish();
    let consumer_stats = api.get(&format!("/consumers/{raw_consumer}/stats"));
    broadcaster.wait_success(Duration::from_secs(30));

    let gaps = sequence_gaps(&log);
    let silences: Vec<String> = log
        .windows(2)
        .filter(|w| w[1].at.duration_since(w[0].at) > Duration::from_millis(150))
        .map(|w| format!("{:?}", w[1].at.duration_since(w[0].at)))
        .collect();
    report(format_args!(
        "pause/resume: {} packets to the raw receiver in {:.1} s, silences {silences:?}, sequence gaps {gaps:?}, consumer stats {consumer_stats}",
        log.len(),
        started.elapsed().as_secs_f64()
    ));
    assert!(log.iter().all(|s| s.ssrc == log[0].ssrc), "one SSRC");
    assert!(gaps.is_empty(), "sequence gaps: {gaps:?}");
    // Every resume's first packet starts a keyframe.
    for (i, resumed) in resumes.iter().enumerate() {
        let first = log
            .iter()
            .find(|s| s.at >= *resumed)
            .unwrap_or_else(|| panic!("nothing after resume {i}"));
        assert!(
            first.keyframe_start,
            "resume {i}: first packet {first:?} is no keyframe start"
        );
        if let Some(paused) = pauses.get(i) {
            let last = log.iter().rev().find(|s| s.at < *paused).unwrap();
            assert!(last.at < *paused);
        }
    }
    let after_last = log.iter().filter(|s| s.at >= resumed_last).count();
    assert!(
        after_last >= 200,
        "{after_last} packets after the last resume"
    );

    let streams = probe(&output);
    report(format_args!("pause/resume recording: {streams:?}"));
    let vp8 = streams
        .iter()
        .find(|s| s.kind == "video" && s.codec == "vp8")
        .expect("a VP8 stream");
    // The recording's timeline is the consumer's RTP timestamps, which bridge each pause with the time
    // it lasted: it spans what the raw receiver saw of the same timeline, up to the end (without the
    // part after the last resume, at least a second and a half, it would fall short).
    let last_part = log[log.len() - 1]
        .timestamp
        .wrapping_sub(log[log.len() - after_last].timestamp) as f64
        / 90000.0;
    let span = log[log.len() - 1].timestamp.wrapping_sub(log[0].timestamp) as f64 / 90000.0;
    assert!(last_part >= 1.5, "{last_part:.1} s after the last resume");
    assert!(
        vp8.duration >= span - 0.5,
        "recording covers {:.1} s of a {span:.1} s stream",
        vp8.duration
    );
    let errors = decode_errors(&output);
    assert!(errors.is_empty(), "decode errors: {errors}");
    server.stop();
}

// ---------------------------------------------------------------------------------------------------
// 2. SRTP.

/// Polls (bounded, while an external sender runs) a transport's stats until `done` holds.
fn poll_stats(api: &mut Api, transport: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = api.transport_stats(transport);
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "stats never got there: {stats}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// FFmpeg's `srtp://` output into `enableSrtp` plain transports. With a wrong key nothing is forwarded,
/// every packet is a counted SRTP failure, and the transport stays up; with the right key on a new
/// transport the stream is decrypted and forwarded, to a raw receiver in clear and to FFmpeg through an
/// SRTP consumer whose SDP carries the key (`a=crypto`).
#[test]
fn srtp_in_and_out() {
    if !isolated("media_robustness::srtp_in_and_out") {
        return;
    }
    const SUITE: &str = "AES_CM_128_HMAC_SHA1_80";
    let server = Server::start("42100-42199", &[]);
    let dir = scratch("robust-srtp");
    let mut api = Api::new(&server, "srtp");
    api.broadcaster("sender", false);
    api.broadcaster("watcher", true);
    let key = srtp_key(1);
    let srtp_transport = |api: &mut Api, remote_key: &str| {
        let transport = api.transport("sender", true, true);
        let id = id(&transport);
        api.post(
            &format!("/transports/{id}/connect"),
            json!({"srtpParameters": {"cryptoSuite": SUITE, "keyBase64": remote_key}}),
        );
        let url = format!(
            "srtp://127.0.0.1:{}?rtcpport={}&pkt_size=1200",
            transport["port"], transport["rtcpPort"]
        );
        (id, url)
    };
    let srtp_out = ["-srtp_out_suite", SUITE, "-srtp_out_params", key.as_str()];

    // The wrong key.
    let (bad, url) = srtp_transport(&mut api, &srtp_key(2));
    let bad_producer = api.vp8_producer(&bad);
    let bad_raw = RawReceiver::bind(5010);
    let (_, bad_consumer) = api.receiver("watcher", &bad_producer, 5010, false);
    api.post(&format!("/consumers/{bad_consumer}/resume"), json!({}));
    let mut sender = vp8_sender(2, &url, &srtp_out, dir.join("bad-sender.log"));
    let status = sender.wait(Duration::from_secs(15));
    assert!(status.success(), "sender: {status}: {}", sender.errors());
    let stats = poll_stats(&mut api, &bad, |s| counter(s, "droppedSrtpFailure") >= 40);
    let info = api.get(&format!("/transports/{bad}"));
    let bad_consumer_stats = api.get(&format!("/consumers/{bad_consumer}/stats"));
    let mut bad_log = Vec::new();
    bad_raw.stop(&mut bad_log);
    report(format_args!("srtp, wrong key: {stats}"));
    assert_eq!(
        counter(&stats, "droppedSrtpFailure"),
        counter(&stats, "packetsReceived")
    );
    assert_eq!(
        counter(&stats, "packetsDropped"),
        counter(&stats, "packetsReceived")
    );
    assert!(
        info["tuple"]["remotePort"].is_null(),
        "latched by undecryptable packets: {info}"
    );
    assert_eq!(info["connected"], false, "no remote end latched: {info}");
    assert!(bad_log.is_empty(), "{} packets forwarded", bad_log.len());
    assert_eq!(
        bad_consumer_stats["consumer"]["packetCount"], 0,
        "{bad_consumer_stats}"
    );

    // The right key, on a new transport: decrypted, forwarded in clear and re-encrypted.
    let (good, url) = srtp_transport(&mut api, &key);
    let producer = api.vp8_producer(&good);
    let raw = RawReceiver::bind(5012);
    let (_, raw_consumer) = api.receiver("watcher", &producer, 5012, false);
    let (srtp_consumer_transport, srtp_consumer) = api.receiver("watcher", &producer, 5014, true);
    let sdp = api.sdp(&srtp_consumer);
    assert!(
        sdp.contains(&format!("a=crypto:1 {SUITE} inline:")),
        "{sdp}"
    );
    let output = dir.join("srtp.mkv");
    let mut recording = recorder(&sdp, &dir, &output);
    wait_listening(&mut recording, 5014);
    for consumer in [&raw_consumer, &srtp_consumer] {
        api.post(&format!("/consumers/{consumer}/resume"), json!({}));
    }
    let mut sender = vp8_sender(10, &url, &srtp_out, dir.join("good-sender.log"));
    // About three seconds of media, then the recording stops while the stream still flows.
    let mut log = Vec::new();
    raw.take(200, &mut log);
    let stats = api.transport_stats(&good);
    let sent = api.transport_stats(&srtp_consumer_transport);
    recording.finish();
    sender.finish();
    raw.stop(&mut log);
    let streams = probe(&output);
    report(format_args!(
        "srtp, right key: {} packets in clear to the raw receiver; in {stats}; out (SRTP) {sent}; recording {streams:?}",
        log.len()
    ));
    assert_eq!(counter(&stats, "packetsDropped"), 0, "{stats}");
    assert!(log.len() >= 100, "{} packets forwarded", log.len());
    assert!(sequence_gaps(&log).is_empty(), "{:?}", sequence_gaps(&log));
    assert!(log[0].keyframe_start);
    assert!(counter(&sent, "packetsSent") >= 100, "{sent}");
    let vp8 = streams
        .iter()
        .find(|s| s.kind == "video" && s.codec == "vp8")
        .expect("FFmpeg decrypted a VP8 stream");
    assert!(vp8.frames >= 60 && vp8.duration >= 2.0, "{vp8:?}");
    let errors = decode_errors(&output);
    assert!(errors.is_empty(), "decode errors: {errors}");
    assert!(
        recording.errors().is_empty(),
        "recorder: {}",
        recording.errors()
    );
    server.stop();
}

// ---------------------------------------------------------------------------------------------------
// 3. Comedia.

/// FFmpeg (from known local ports) latches a comedia transport's RTP and RTCP tuples, as the
/// broadcaster's event stream tells; then valid RTP with the producer's SSRC and valid RTCP from another
/// socket are dropped and counted, and never reach a consumer.
#[test]
fn comedia_ignores_a_second_source() {
    if !isolated("media_robustness::comedia_ignores_a_second_source") {
        return;
    }
    let server = Server::start("42200-42299", &[]);
    let dir = scratch("robust-comedia");
    let mut api = Api::new(&server, "comedia");
    api.broadcaster("sender", false);
    api.broadcaster("watcher", true);
    let transport = api.transport("sender", true, false);
    let transport_id = id(&transport);
    let producer = api.vp8_producer(&transport_id);
    let raw = RawReceiver::bind(5020);
    let (_, consumer) = api.receiver("watcher", &producer, 5020, false);
    api.post(&format!("/consumers/{consumer}/resume"), json!({}));
    let (rtp_port, rtcp_port) = (
        transport["port"].as_u64().unwrap() as u16,
        transport["rtcpPort"].as_u64().unwrap() as u16,
    );
    let url = format!(
        "rtp://127.0.0.1:{rtp_port}?rtcpport={rtcp_port}&pkt_size=1200&localrtpport=6000&localrtcpport=6001"
    );
    let mut sender = vp8_sender(8, &url, &[], dir.join("sender.log"));

    let tuple = await_event(
        &server,
        "comedia",
        "sender",
        "transport.tuple",
        &transport_id,
    );
    let rtcp_tuple = await_event(
        &server,
        "comedia",
        "sender",
        "transport.rtcpTuple",
        &transport_id,
    );
    report(format_args!("comedia: {tuple}, {rtcp_tuple}"));
    assert_eq!(tuple["tuple"]["remoteIp"], "127.0.0.1");
    assert_eq!(
        tuple["tuple"]["remotePort"], 6000,
        "FFmpeg's RTP source port"
    );
    assert_eq!(
        rtcp_tuple["rtcpTuple"]["remotePort"], 6001,
        "FFmpeg's RTCP source port"
    );
    let mut log = Vec::new();
    raw.take(30, &mut log);
    let before = api.transport_stats(&transport_id);

    // A stranger sends the producer's SSRC, next sequence numbers and a keyframe start, and SRs.
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let next = log.last().unwrap().seq;
    const RTP: u64 = 50;
    const RTCP: u64 = 20;
    for i in 0..RTP as u16 {
        stranger
            .send_to(
                &stranger_rtp(next.wrapping_add(i), VIDEO_SSRC),
                ("127.0.0.1", rtp_port),
            )
            .unwrap();
    }
    let mut sr = vec![0x80, 200, 0, 6];
    sr.extend_from_slice(&VIDEO_SSRC.to_be_bytes());
    sr.extend_from_slice(&[0; 20]);
    for _ in 0..RTCP {
        stranger.send_to(&sr, ("127.0.0.1", rtcp_port)).unwrap();
    }
    let unexpected = counter(&before, "droppedUnexpectedSource");
    poll_stats(&mut api, &transport_id, |s| {
        counter(s, "droppedUnexpectedSource") >= unexpected + RTP + RTCP
    });
    raw.take(60, &mut log);
    let after = api.transport_stats(&transport_id);
    let info = api.get(&format!("/transports/{transport_id}"));
    sender.finish();
    raw.stop(&mut log);
    report(format_args!("comedia: before {before}, after {after}"));
    assert_eq!(
        counter(&after, "droppedUnexpectedSource") - unexpected,
        RTP + RTCP
    );
    assert_eq!(
        counter(&after, "packetsDropped") - counter(&before, "packetsDropped"),
        RTP + RTCP
    );
    assert_eq!(info["tuple"]["remotePort"], 6000, "{info}");
    assert_eq!(info["rtcpTuple"]["remotePort"], 6001, "{info}");
    assert!(
        log.iter().all(|s| !s.tagged),
        "the stranger's RTP was forwarded"
    );
    assert!(sequence_gaps(&log).is_empty(), "{:?}", sequence_gaps(&log));
    server.stop();
}

// ---------------------------------------------------------------------------------------------------
// 4. Hostile traffic.

/// Deterministic bytes for the spray (xorshift64).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// The hostile datagrams: (what, datagram).
fn hostile_datagrams(noise: &mut Noise) -> Vec<(&'static str, Vec<u8>)> {
    let mut all = Vec::new();
    for _ in 0..100 {
        let len = 1 + noise.below(1400);
        all.push(("random", noise.bytes(len)));
    }
    for i in 0..100u16 {
        let mut rtp = stranger_rtp(i, VIDEO_SSRC);
        rtp.truncate(1 + noise.below(11));
        all.push(("truncated rtp", rtp));
    }
    for i in 0..100u16 {
        all.push(("unknown ssrc", stranger_rtp(i, 0xdead_beef)));
    }
    for i in 0..100u16 {
        all.push(("producer ssrc", stranger_rtp(i, VIDEO_SSRC)));
    }
    for _ in 0..100 {
        // A compound whose first header is plausible (V=2, PT 200-206) and whose lengths are not.
        let len = 4 + noise.below(60);
        let mut rtcp = noise.bytes(len);
        rtcp[0] = 0x80 | (rtcp[0] & 0x1f);
        rtcp[1] = 200 + noise.below(7) as u8;
        all.push(("malformed rtcp", rtcp));
    }
    for size in [4000, 65000] {
        for _ in 0..5 {
            let mut big = stranger_rtp(0, VIDEO_SSRC);
            big.resize(size, 0xab);
            all.push(("oversized", big));
        }
    }
    for _ in 0..50 {
        // A STUN binding request header (RFC 8489 §5) with a random transaction id.
        let mut stun = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        stun.extend(noise.bytes(12));
        all.push(("stun", stun));
    }
    for _ in 0..50 {
        // A DTLS 1.2 handshake record header and garbage.
        let mut dtls = vec![0x16, 0xfe, 0xfd, 0x00, 0x00];
        let len = 8 + noise.below(200);
        dtls.extend(noise.bytes(len));
        all.push(("dtls", dtls));
    }
    all
}

/// While the broadcaster example sends VP8 + Opus and FFmpeg records the video, both ports of the video
/// transport get a bounded spray of hostile datagrams from other sockets. The recording decodes at the
/// source frame rate, a raw receiver sees no sequence gap, the server stays up, and every datagram is
/// visible in the transport's drop counters.
#[test]
fn hostile_traffic_on_the_sending_ports() {
    if !isolated("media_robustness::hostile_traffic_on_the_sending_ports") {
        return;
    }
    let server = Server::start("42300-42399", &[]);
    let url = server.base_url();
    let dir = scratch("robust-hostile");
    let mut broadcaster = start_example(
        "ffmpeg-broadcaster.sh",
        &[
            ("SERVER_URL", &url),
            ("ROOM_ID", "hostile"),
            ("DURATION", "10"),
        ],
        &dir,
    );
    let video = broadcaster.wait_for_value("VIDEO_PRODUCER_ID", Duration::from_secs(20));
    let mut api = Api::new(&server, "hostile");
    let producer = api.get(&format!("/producers/{video}"));
    let transport_id = producer["transportId"].as_str().unwrap().to_owned();
    let owner = producer["broadcasterId"].as_str().unwrap().to_owned();
    let transport = api.get(&format!("/transports/{transport_id}"));
    let ports = [
        transport["port"].as_u64().unwrap() as u16,
        transport["rtcpPort"].as_u64().unwrap() as u16,
    ];
    api.broadcaster("watcher", true);
    let raw = RawReceiver::bind(5030);
    let (_, raw_consumer) = api.receiver("watcher", &video, 5030, false);
    let (_, ffmpeg_consumer) = api.receiver("watcher", &video, 5032, false);
    let output = dir.join("hostile.mkv");
    let sdp = api.sdp(&ffmpeg_consumer);
    let mut recording = recorder(&sdp, &dir, &output);
    wait_listening(&mut recording, 5032);
    for consumer in [&raw_consumer, &ffmpeg_consumer] {
        api.post(&format!("/consumers/{consumer}/resume"), json!({}));
    }
    // FFmpeg holds both tuples before the spray starts.
    let tuple = await_event(&server, "hostile", &owner, "transport.tuple", &transport_id);
    await_event(
        &server,
        "hostile",
        &owner,
        "transport.rtcpTuple",
        &transport_id,
    );
    let mut log = Vec::new();
    raw.take(60, &mut log);

    let before = api.transport_stats(&transport_id);
    let kernel_drops = udp_receive_buffer_errors();
    let mut noise = Noise(0x5eed_1e55_0bad_cafe);
    let strangers: Vec<UdpSocket> = (0..3)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut sent = 0u64;
    let spray_started = Instant::now();
    for port in ports {
        let mut datagrams = hostile_datagrams(&mut noise);
        // Interleave the kinds.
        for i in (1..datagrams.len()).rev() {
            datagrams.swap(i, noise.below(i + 1));
        }
        for (i, (_, datagram)) in datagrams.iter().enumerate() {
            strangers[i % strangers.len()]
                .send_to(datagram, ("127.0.0.1", port))
                .unwrap();
            sent += 1;
            // Paced (about 10,000 datagrams a second, one oversized one at a time) so that the
            // server's receive buffer is not what drops them; kernel drops are counted below anyway.
            if i % 10 == 9 || datagram.len() > 2000 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    let spray_time = spray_started.elapsed();
    let after = poll_stats(&mut api, &transport_id, |s| {
        counter(s, "packetsDropped") - counter(&before, "packetsDropped")
            + udp_receive_buffer_errors()
            - kernel_drops
            >= sent
    });
    let kernel_drops = udp_receive_buffer_errors() - kernel_drops;
    // Media goes on for about five seconds after the spray (1 Mbps: about 100 packets a second).
    raw.take(500, &mut log);
    api.get("/health");
    let info = api.get(&format!("/transports/{transport_id}"));
    recording.finish();
    raw.stop(&mut log);
    broadcaster.wait_success(Duration::from_secs(30));
    let delta = |name: &str| counter(&after, name) - counter(&before, name);
    report(format_args!(
        "hostile: {sent} datagrams in {spray_time:?} to ports {ports:?}; kernel drops {kernel_drops}; \
         dropped {} (unsupported {}, unexpected source {}, malformed {}, unknown ssrc {}); stats {after}",
        delta("packetsDropped"),
        delta("droppedUnsupported"),
        delta("droppedUnexpectedSource"),
        delta("droppedMalformed"),
        delta("droppedUnknownSsrc"),
    ));
    // Every datagram was dropped and counted (none of them came from the latched source), and each
    // drop has its reason.
    assert_eq!(delta("packetsDropped") + kernel_drops, sent);
    let reasons = [
        "droppedUnsupported",
        "droppedUnexpectedSource",
        "droppedSrtpFailure",
        "droppedMalformed",
        "droppedUnknownSsrc",
        "droppedUnknownPayloadType",
    ];
    assert_eq!(
        reasons.iter().map(|r| delta(r)).sum::<u64>(),
        delta("packetsDropped")
    );
    assert!(delta("droppedUnsupported") > 0 && delta("droppedUnexpectedSource") > 0);
    // The oversized ones (ten per port) are longer than the server's receive buffer: what it reads of
    // them is cut, so they are malformed, whoever sent them. (They were once read as 2048-byte RTP.)
    let oversized = 2 * hostile_datagrams(&mut Noise(1))
        .iter()
        .filter(|(what, _)| *what == "oversized")
        .count() as u64;
    assert_eq!(delta("droppedMalformed"), oversized);
    assert_eq!(info["tuple"], tuple["tuple"], "the latched tuple moved");
    assert!(
        log.iter().all(|s| !s.tagged),
        "a stranger's RTP was forwarded"
    );
    assert!(sequence_gaps(&log).is_empty(), "{:?}", sequence_gaps(&log));

    let streams = probe(&output);
    report(format_args!("hostile recording: {streams:?}"));
    let vp8 = streams
        .iter()
        .find(|s| s.kind == "video" && s.codec == "vp8")
        .expect("a VP8 stream");
    let fps = vp8.frames as f64 / vp8.duration;
    assert!(vp8.duration >= 4.0, "{vp8:?}");
    assert!(
        (27.0..=33.0).contains(&fps),
        "video at {fps:.1} fps: {vp8:?}"
    );
    let errors = decode_errors(&output);
    assert!(errors.is_empty(), "decode errors: {errors}");
    server.stop();
}
