//! Real browsers against the real binary, each test inside its own network namespace: the drivers in
//! `tests/browser/` (Node, playwright-core for Chromium, puppeteer-core over WebDriver BiDi for Firefox) open the
//! server's own page (`static/`) or a mediasoup-client 3.24.1 page, and print one JSON result line that the
//! test asserts on.
//!
//! Prerequisites (`scripts/test.sh` installs them): Debian's `chromium`, `fonts-liberation` and `firefox-esr`,
//! Node, and `npm ci --prefix tests/browser`. A missing one fails the test: it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::netns::isolated;
use super::support::{Server, report};

/// Frames of the other peer's video each page must decode, and within how many seconds of joining.
pub(super) const FRAMES: u32 = 90;
pub(super) const WITHIN_SECONDS: u32 = 15;

pub(super) fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Panics with what to install when a prerequisite is missing.
pub(super) fn require_prerequisites() {
    let dir = browser_dir();
    let mut missing = Vec::new();
    for (path, package) in [
        (
            "/usr/bin/chromium",
            "the Debian package chromium (and fonts-liberation)",
        ),
        ("/usr/bin/firefox-esr", "the Debian package firefox-esr"),
    ] {
        if !Path::new(path).exists() {
            missing.push(format!("{path}: {package}"));
        }
    }
    if !Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        missing.push("node: Node.js 20 or later".to_owned());
    }
    for module in [
        "playwright-core",
        "puppeteer-core",
        "mediasoup-client",
        "esbuild",
    ] {
        let manifest = dir.join("node_modules").join(module).join("package.json");
        if !manifest.exists() {
            missing.push(format!(
                "{}: npm ci --prefix tests/browser",
                manifest.display()
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "browser test prerequisites missing (scripts/test.sh installs them):\n  {}",
        missing.join("\n  ")
    );
}

/// Runs `tests/browser/{script}` against `server` with `args`; returns its result line, asserting `ok`.
pub(super) fn run_driver(test: &str, server: &Server, script: &str, args: &[&str]) -> Value {
    require_prerequisites();
    let output = Command::new("node")
        .arg(browser_dir().join(script))
        .arg(server.base_url())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run node {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    driver_result(
        &format!("{test}: {script}"),
        &stdout,
        &stderr,
        output.status,
    )
}

/// A driver's result: its last JSON line on stdout, which must say `ok` (as must its exit status).
pub(super) fn driver_result(
    what: &str,
    stdout: &str,
    stderr: &str,
    status: std::process::ExitStatus,
) -> Value {
    let result: Value = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("{what} printed no result line ({status}):\n{stdout}\n{stderr}"));
    assert!(
        result["ok"] == true && status.success(),
        "{what} failed at step {} ({status}): {}\nresult: {}\ndriver log:\n{stderr}",
        result["step"],
        result["error"],
        serde_json::to_string_pretty(&result).unwrap_or_default(),
    );
    result
}

/// Frames decoded and audio packets received by one page, from a result's `received` object.
fn received(result: &Value, side: &str) -> (u64, u64) {
    let received = &result[side]["received"];
    (
        received["framesDecoded"].as_u64().unwrap_or(0),
        received["audioPackets"].as_u64().unwrap_or(0),
    )
}

/// The drivers' media thresholds: `--frames FRAMES --within WITHIN_SECONDS`.
pub(super) fn media_args() -> Vec<String> {
    vec![
        "--frames".to_owned(),
        FRAMES.to_string(),
        "--within".to_owned(),
        WITHIN_SECONDS.to_string(),
    ]
}

#[test]
fn two_chromium_pages_see_and_hear_each_other() {
    if !isolated("browser::two_chromium_pages_see_and_hear_each_other") {
        return;
    }
    let server = Server::start("43000-43099", &[]);
    let args = media_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = run_driver("two-pages", &server, "two-pages.mjs", &args);
    for side in ["a", "b"] {
        let (frames, audio) = received(&result, side);
        assert!(frames >= u64::from(FRAMES) && audio > 0, "{side}: {result}");
    }
    let removed = result["tile_removed_ms"].as_u64().expect("tile_removed_ms");
    assert!(removed <= 2000, "tile removed after {removed} ms");
    // The server's preference decides the SRTP profile: Chrome lists AES_CM first and still ends on GCM
    // (Chrome's own `transport` stats).
    for side in ["a", "b"] {
        for direction in ["send", "recv"] {
            assert_eq!(
                result[side][direction]["srtpCipher"], "SRTP_AEAD_AES_128_GCM",
                "{side} {direction}: {result}"
            );
        }
    }
    report(format_args!(
        "two-pages: {FRAMES}+ frames each way after {} s (a {:?}, b {:?}), {} / {}, tile gone {removed} ms after \
         its page closed",
        result["media_seconds"],
        received(&result, "a"),
        received(&result, "b"),
        result["a"]["recv"]["dtlsCipher"],
        result["a"]["recv"]["srtpCipher"],
    ));
    server.stop();
}

#[test]
fn mediasoup_client_pages_produce_and_consume() {
    if !isolated("browser::mediasoup_client_pages_produce_and_consume") {
        return;
    }
    let server = Server::start("43100-43199", &[]);
    let args = media_args();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Then data channels: each page's `chat` DataProducer, 200 ordered messages each way over SCTP/DTLS.
    args.extend(["--data", "200"]);
    let result = run_driver("msc-page", &server, "msc-page.mjs", &args);
    assert_eq!(result["mediasoup_client"], "3.24.1", "{result}");
    let data = &result["data"];
    assert_eq!(data["a_received"], 200, "{result}");
    assert_eq!(data["b_received"], 200, "{result}");
    assert_eq!(data["a_in_order"], true, "{result}");
    assert_eq!(data["b_in_order"], true, "{result}");
    for side in ["a", "b"] {
        let frames = result[side]["inbound"]["video"]["framesDecoded"]
            .as_u64()
            .unwrap_or(0);
        let audio = result[side]["inbound"]["audio"]["packetsReceived"]
            .as_u64()
            .unwrap_or(0);
        assert!(frames >= u64::from(FRAMES) && audio > 0, "{side}: {result}");
    }
    report(format_args!(
        "msc-page: mediasoup-client {} ({}), {FRAMES}+ frames each way after {} s; 200 chat messages each \
         way in order over SCTP in {} ms",
        result["mediasoup_client"], result["handler"], result["media_seconds"], data["ms"]
    ));
    server.stop();
}

/// Firefox publishes to and views from a Chromium page, with DTLS `variant` (see `tests/browser/firefox.mjs`).
fn firefox_with_chromium(test: &str, rtc_ports: &str, variant: &str) {
    let server = Server::start(rtc_ports, &[]);
    let args = media_args();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--dtls", variant]);
    let result = run_driver(test, &server, "firefox.mjs", &args);
    for side in ["firefox", "chromium"] {
        let (frames, audio) = received(&result, side);
        assert!(frames >= u64::from(FRAMES) && audio > 0, "{side}: {result}");
    }
    report(format_args!(
        "{test}: {} DTLS {} ({} / {}), {FRAMES}+ frames each way after {} s",
        result["firefox_version"],
        result["firefox"]["recv"]["tlsVersion"],
        result["firefox"]["recv"]["dtlsCipher"],
        result["firefox"]["recv"]["srtpCipher"],
        result["media_seconds"],
    ));
    server.stop();
}

#[test]
fn firefox_and_chromium_with_dtls_1_3() {
    if !isolated("browser::firefox_and_chromium_with_dtls_1_3") {
        return;
    }
    firefox_with_chromium("firefox-dtls-1.3", "43200-43299", "1.3");
}

#[test]
fn firefox_and_chromium_with_dtls_1_3_without_post_quantum_key_share() {
    if !isolated("browser::firefox_and_chromium_with_dtls_1_3_without_post_quantum_key_share") {
        return;
    }
    firefox_with_chromium("firefox-dtls-1.3-no-pq", "43300-43399", "1.3-no-pq");
}

#[test]
fn firefox_and_chromium_with_dtls_1_2() {
    if !isolated("browser::firefox_and_chromium_with_dtls_1_2") {
        return;
    }
    firefox_with_chromium("firefox-dtls-1.2", "43400-43499", "1.2");
}
