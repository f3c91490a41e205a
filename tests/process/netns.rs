//! Real-peer tests run inside their own network namespace holding only a loopback interface
//! (`unshare --net` + `ip link set lo up`), so no peer can gather or use another interface.
//!
//! A test calls [`isolated`] first: outside a namespace it re-runs itself (this test binary, this test
//! only) under `unshare --net` and returns `false` after asserting the child passed; inside, it returns
//! `true` and the test body runs. Where namespaces cannot be made (not root), the body runs directly on
//! 127.0.0.1 and says so.

use std::process::Command;
use std::sync::Mutex;

const INSIDE: &str = "MEDIAGATE_TEST_NETNS";

/// Real-peer tests run one at a time, and not beside other heavy tests (the leak check): real-time encoders
/// fall behind on two busy cores.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Whether the caller should run its body now (see the module docs). `test` is the test's path as the
/// harness names it, e.g. `media::ffmpeg_to_ffmpeg`.
pub fn isolated(test: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let probe = Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !probe {
        super::support::report(format_args!(
            "{test}: network namespaces unavailable (not root?): running on the host's 127.0.0.1"
        ));
        // Run the body in a child too, so that it is serialised the same way.
        return run_child(
            test,
            &mut Command::new(std::env::current_exe().expect("exe")),
        );
    }
    let exe = std::env::current_exe().expect("current test binary");
    let mut command = Command::new("unshare");
    command
        .args([
            "--net",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(exe);
    run_child(test, &mut command)
}

/// Runs the test in the child and relays its output: on success only its own report lines (not the inner
/// harness' summary, which would count the test twice), on failure everything.
fn run_child(test: &str, command: &mut Command) -> bool {
    let output = command
        .args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .output()
        .expect("run the test in a network namespace");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test} failed inside its network namespace ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for line in stderr.lines() {
        super::support::report(format_args!("  {line}"));
    }
    false
}
