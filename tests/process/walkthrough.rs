//! The README's curl walkthrough runs verbatim against the real binary.

use std::path::PathBuf;
use std::process::Command;

use crate::support::Server;

/// The first ```bash block after `<!-- walkthrough -->` in README.md.
fn walkthrough() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let (_, after) = readme
        .split_once("<!-- walkthrough -->")
        .expect("README.md has a <!-- walkthrough --> marker");
    let (_, block) = after
        .split_once("```bash\n")
        .expect("a ```bash block follows the walkthrough marker");
    let (block, _) = block
        .split_once("\n```")
        .expect("the walkthrough block is closed");
    block.to_owned()
}

#[test]
fn readme_walkthrough_runs_verbatim() {
    let script = walkthrough();
    let server = Server::start("47010-47029", &[]);
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("MEDIAGATE", server.base_url())
        .output()
        .expect("run bash (the walkthrough needs bash, curl and jq)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "walkthrough failed with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    for expected in [
        r#""mimeType": "video/VP8""#,
        r#""rtcpPort": "#,
        r#""paused": false"#,
        r#""kind": "video""#,
        r#""status": 404"#,
    ] {
        assert!(
            stdout.contains(expected),
            "walkthrough output lacks {expected}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    }
    // Everything the walkthrough made is gone with its room.
    let health = server.client().get("/health").expect(200).json();
    assert_eq!(health["rooms"], 0, "{health}");
    assert_eq!(health["sockets"], 0, "{health}");
    server.stop();
}
