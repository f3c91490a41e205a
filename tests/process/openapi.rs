//! `openapi/openapi.json` is the document the server serves at `/openapi.json`.
//!
//! Regenerate the committed file with `MEDIAGATE_UPDATE_OPENAPI=1 cargo test --test process openapi`.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::support::Server;

/// `value` with every object's keys sorted, pretty-printed with two-space indents and a final newline.
fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for key in keys {
                    out.insert(key.clone(), sorted(&map[key]));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut text = serde_json::to_string_pretty(&sorted(value)).expect("serialize");
    text.push('\n');
    text
}

#[test]
fn committed_openapi_matches_the_served_document() {
    let server = Server::start("47040-47049", &[]);
    let response = server.client().get("/openapi.json").expect(200);
    assert!(
        response
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{:?}",
        response.header("content-type")
    );
    let served = canonical(&response.json());
    server.stop();

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    if std::env::var_os("MEDIAGATE_UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).expect("create openapi/");
        std::fs::write(&path, &served).expect("write openapi/openapi.json");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); regenerate it with \
             MEDIAGATE_UPDATE_OPENAPI=1 cargo test --test process openapi",
            path.display()
        )
    });
    let committed_value: Value = serde_json::from_str(&committed).expect("openapi.json is JSON");
    if canonical(&committed_value) != served {
        let first_difference = canonical(&committed_value)
            .lines()
            .zip(served.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}: committed {a:?}, served {b:?}", i + 1));
        panic!(
            "openapi/openapi.json differs from the served /openapi.json ({}); regenerate it with \
             MEDIAGATE_UPDATE_OPENAPI=1 cargo test --test process openapi",
            first_difference.unwrap_or_else(|| "one is a prefix of the other".to_owned())
        );
    }
    assert_eq!(
        committed, served,
        "openapi/openapi.json is not in canonical form (sorted keys, 2-space indent, final newline); \
         regenerate it with MEDIAGATE_UPDATE_OPENAPI=1 cargo test --test process openapi"
    );
}
