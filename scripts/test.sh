#!/usr/bin/env bash
# mediagate's whole test suite, the one command CI runs (.ci/run) and the README names.
#
#   1. installs what is missing: jq, curl, python3 with venv, and for the real-peer tests FFmpeg, GStreamer
#      (tools, base, good, ugly: rtpbin, vp8enc, x264enc, opusenc, the RTP payloaders), whip-client
#      (simple-whip-client) and a C compiler for the WHIP test, iproute2 and
#      util-linux (`ip`, `unshare`: the network namespaces), and for the browser tests Chromium,
#      fonts-liberation, Firefox ESR and Node.js (apt-get), rustfmt and clippy (rustup), the browser drivers'
#      npm packages (`npm ci --prefix tests/browser`, only when node_modules is absent or the lock changed),
#      schemathesis (pip, into a venv under ${XDG_CACHE_HOME:-$HOME/.cache}/mediagate/venv);
#   2. cargo fmt --check, cargo clippy -D warnings, a build check of the fuzz targets, cargo test --workspace
#      (unit, API and process tests);
#   3. schemathesis against the live debug binary's /openapi.json (no 5xx, every response as documented),
#      then SIGTERM and a check that the server exits 0 promptly.
#
# Exits non-zero when any step fails. The closing line counts cargo's tests plus one check per other step.
#
# Environment: CARGO_TARGET_DIR is respected. SCHEMATHESIS_MAX_EXAMPLES (default 20) and SCHEMATHESIS_SEED
# (default fixed, for repeatable runs) tune the API fuzzing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-20}
SCHEMATHESIS_SEED=${SCHEMATHESIS_SEED:-20240601}
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/mediagate/venv
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mediagate-test.XXXXXX")
export ROOT SCHEMATHESIS_VERSION SCHEMATHESIS_MAX_EXAMPLES SCHEMATHESIS_SEED VENV WORK
trap 'rm -rf "$WORK"' EXIT

STARTED=$SECONDS
declare -a STEP_NAMES=() STEP_RESULTS=() STEP_TIMES=()

log() { printf '\n==> %s\n' "$*"; }

# step NAME COMMAND...: runs a step, records its result and time, never aborts the script.
step() {
    local name=$1 start=$SECONDS status=0
    shift
    log "$name"
    # A child shell: errexit stays in force inside the step (bash ignores it in functions run under `||`).
    bash -euo pipefail -c '"$@"' "$name" "$@" || status=$?
    STEP_NAMES+=("$name")
    STEP_TIMES+=($((SECONDS - start)))
    if ((status == 0)); then
        STEP_RESULTS+=(ok)
    else
        STEP_RESULTS+=("FAILED (exit $status)")
    fi
    return 0
}

# --- 1. what the suite needs ------------------------------------------------------------------------------

apt_install() {
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || {
            echo "need root (or sudo) to install: $*" >&2
            return 1
        }
        sudo=(sudo)
    fi
    if [[ ! -e $WORK/apt-updated ]]; then
        "${sudo[@]}" apt-get update -qq
        touch "$WORK/apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

install_prerequisites() {
    local missing=()
    command -v jq >/dev/null || missing+=(jq)
    command -v curl >/dev/null || missing+=(curl ca-certificates)
    command -v python3 >/dev/null || missing+=(python3)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v unshare >/dev/null || missing+=(util-linux)
    command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
    # GStreamer: one element per package the broadcaster example needs.
    command -v gst-inspect-1.0 >/dev/null || missing+=(gstreamer1.0-tools)
    local element package
    for element in opusenc:base rtpbin:good x264enc:ugly; do
        package=gstreamer1.0-plugins-${element#*:}
        gst-inspect-1.0 "${element%:*}" >/dev/null 2>&1 || missing+=("$package")
    done
    # WHIP: GStreamer's webrtcbin behind whip-client, and cc for the test's gupnp-igd stub (tests/process/media_whip.rs).
    command -v whip-client >/dev/null || missing+=(simple-whip-client)
    command -v cc >/dev/null || missing+=(gcc libc6-dev)
    # The browser tests (tests/browser): Debian's Chromium and Firefox ESR (never a downloaded build), and Node.
    [[ -x /usr/bin/chromium ]] || missing+=(chromium)
    dpkg-query -W -f='${Status}' fonts-liberation 2>/dev/null | grep -q 'ok installed' || missing+=(fonts-liberation)
    [[ -x /usr/bin/firefox-esr ]] || missing+=(firefox-esr)
    command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
    fi
    install_browser_test_packages

    command -v cargo >/dev/null || {
        echo "cargo is not installed (https://rustup.rs)" >&2
        return 1
    }
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        rustup component add rustfmt clippy
    fi

    if [[ ! -x $VENV/bin/schemathesis ]] ||
        [[ $("$VENV/bin/schemathesis" --version 2>/dev/null) != *"$SCHEMATHESIS_VERSION"* ]]; then
        rm -rf "$VENV"
        mkdir -p "$(dirname "$VENV")"
        if ! python3 -m venv "$VENV" 2>/dev/null; then
            # Debian's python3 ships venv and ensurepip separately.
            rm -rf "$VENV"
            local version
            version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
            apt_install python3-venv "python$version-venv" python3-pip
            python3 -m venv "$VENV"
        fi
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    fi
    echo "jq $(jq --version), $(curl --version | head -1 | cut -d' ' -f1-2), $(python3 --version)," \
        "$(ffmpeg -version | head -1 | cut -d' ' -f1-3), $(gst-launch-1.0 --version | sed -n 2p)," \
        "$(chromium --version 2>/dev/null), $(firefox-esr --version 2>/dev/null), node $(node --version)," \
        "$(cargo --version), schemathesis $SCHEMATHESIS_VERSION"
}

# The browser drivers' npm packages, pinned by tests/browser/package-lock.json: `npm ci` only when
# node_modules is absent or was installed from another lock (a stamp holds the lock's hash), so a machine that
# has them needs no registry.
install_browser_test_packages() {
    local dir=tests/browser sum
    local stamp=$dir/node_modules/.mediagate-lock.sha256
    local major
    major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
    if ((major < 20)); then
        echo "the browser drivers need Node.js 20 or later, found $(node --version)" >&2
        return 1
    fi
    sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [[ ! -d $dir/node_modules ]] || [[ $(cat "$stamp" 2>/dev/null) != "$sum" ]]; then
        npm ci --prefix "$dir" --no-audit --no-fund
        echo "$sum" >"$stamp"
    fi
}

# --- 2. cargo ----------------------------------------------------------------------------------------------

cargo_test() {
    local status=0
    cargo test --workspace 2>&1 | tee "$WORK/cargo-test.log" || status=$?
    # Count every test binary's "test result: ok. N passed; M failed; …" line.
    local passed failed
    passed=$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed; \([0-9][0-9]*\) failed.*/\1/p' \
        "$WORK/cargo-test.log" | awk '{s += $1} END {print s + 0}')
    failed=$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed; \([0-9][0-9]*\) failed.*/\2/p' \
        "$WORK/cargo-test.log" | awk '{s += $1} END {print s + 0}')
    echo "$passed $failed" >"$WORK/cargo-test.counts"
    return "$status"
}

# --- 3. the live server ------------------------------------------------------------------------------------

# Whether a child process is still running (a zombie, exited but not yet waited for, is not).
running() {
    [[ -r /proc/$1/stat ]] && [[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) != Z ]]
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# schemathesis_pass BASE DIR [ARGS...]: one bounded schemathesis run from DIR (where its config and
# .hypothesis/ live). The two event streams are left out: they never end by themselves (tests/api and
# tests/process cover them).
schemathesis_pass() {
    local base=$1 dir=$2 status=0
    shift 2
    local config=()
    [[ ! -e $dir/schemathesis.toml ]] || config=(--config-file "$dir/schemathesis.toml")
    (cd "$dir" && SCHEMATHESIS_HOOKS="$ROOT/scripts/schemathesis_hooks.py" timeout 600 "$VENV/bin/schemathesis" "${config[@]}" run "$base/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
        --exclude-path-regex '/events$' \
        --max-examples "$SCHEMATHESIS_MAX_EXAMPLES" \
        --seed "$SCHEMATHESIS_SEED" \
        --request-timeout 10 \
        --workers 1 \
        --no-color \
        "$@") 2>&1 | tee "$dir/schemathesis.log" || status=$?
    if ((status == 124)); then
        echo "schemathesis did not finish within 10 minutes" >&2
    fi
    return "$status"
}

# seed_objects BASE: creates a room, a broadcaster, a WebRTC transport with SCTP, a producer, a consumer,
# a data producer and a data consumer; prints a schemathesis config naming their ids.
seed_objects() {
    local base=$1
    post() { curl -sS --fail-with-body -H 'content-type: application/json' -X POST "$base$1" -d "$2"; }
    curl -sS --fail-with-body -X PUT "$base/rooms/fuzz" >/dev/null
    local caps transport producer consumer data_producer data_consumer
    caps=$(curl -sS --fail-with-body "$base/rooms/fuzz/rtp-capabilities")
    post /rooms/fuzz/broadcasters \
        "{\"id\": \"fuzz\", \"displayName\": \"fuzz\", \"device\": {\"name\": \"schemathesis\"}, \"rtpCapabilities\": $caps}" \
        >/dev/null
    transport=$(post /rooms/fuzz/broadcasters/fuzz/transports '{"type": "webrtc", "enableSctp": true}' | jq -r .id)
    producer=$(post "/transports/$transport/producers" '{"kind": "video", "rtpParameters": {"mid": "0",
        "codecs": [{"mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000}],
        "encodings": [{"ssrc": 2222}]}}' | jq -r .id)
    consumer=$(post "/transports/$transport/consumers" "{\"producerId\": \"$producer\"}" | jq -r .id)
    data_producer=$(post "/transports/$transport/data-producers" \
        '{"sctpStreamParameters": {"streamId": 1}, "label": "fuzz"}' | jq -r .id)
    data_consumer=$(post "/transports/$transport/data-consumers" \
        "{\"dataProducerId\": \"$data_producer\"}" | jq -r .id)
    cat <<EOF
[parameters]
roomId = "fuzz"
broadcasterId = "fuzz"
transportId = "$transport"
producerId = "$producer"
consumerId = "$consumer"
dataProducerId = "$data_producer"
dataConsumerId = "$data_consumer"
EOF
}

schemathesis_against_live_server() {
    cargo build --bin mediagate
    local target_dir
    target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
    local bin=$target_dir/debug/mediagate port
    port=$(free_port)
    local base=http://127.0.0.1:$port

    "$bin" --listen "127.0.0.1:$port" --rtc-ports 48000-48199 --log warn >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    # shellcheck disable=SC2064 # the pid is meant to be expanded now
    trap "kill -KILL $SERVER_PID 2>/dev/null || true" EXIT
    local tries=0
    until curl -fsS -o /dev/null "$base/health" 2>/dev/null; do
        tries=$((tries + 1))
        if ((tries > 300)) || ! running "$SERVER_PID"; then
            echo "mediagate did not answer $base/health within 30 s; its log:" >&2
            cat "$WORK/server.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "mediagate (pid $SERVER_PID) is up on $base"

    # Pass 1: every operation with generated ids (mostly 404s past the rooms), DELETE included.
    local status=0
    mkdir -p "$WORK/pass1"
    schemathesis_pass "$base" "$WORK/pass1" || status=$?

    # Pass 2: with one object of each kind in place and its id given for every path parameter, so the
    # operations under them are exercised; no DELETE, so the objects stay for the whole pass.
    mkdir -p "$WORK/pass2"
    seed_objects "$base" >"$WORK/pass2/schemathesis.toml"
    cat "$WORK/pass2/schemathesis.toml"
    schemathesis_pass "$base" "$WORK/pass2" --exclude-method DELETE || status=$?

    # A clean shutdown: SIGTERM, exit status 0 within 10 s (a watchdog kills it after that).
    local exit_status=0 signalled=$SECONDS
    kill -TERM "$SERVER_PID"
    (sleep 10 && kill -KILL "$SERVER_PID") >/dev/null 2>&1 &
    local watchdog=$!
    wait "$SERVER_PID" || exit_status=$?
    kill "$watchdog" 2>/dev/null || true
    if ((exit_status == 137)); then
        echo "mediagate still running 10 s after SIGTERM" >&2
    elif ((exit_status != 0)); then
        echo "mediagate exited with status $exit_status after SIGTERM; its log:" >&2
        tail -50 "$WORK/server.log" >&2
    else
        echo "mediagate exited 0 within $((SECONDS - signalled)) s of SIGTERM"
    fi
    ((status == 0 && exit_status == 0))
}

export -f log running apt_install install_prerequisites install_browser_test_packages cargo_test free_port schemathesis_pass seed_objects \
    schemathesis_against_live_server

step "install prerequisites" install_prerequisites
step "cargo fmt --all -- --check" cargo fmt --all -- --check
step "cargo clippy --workspace --all-targets -- -D warnings" \
    cargo clippy --workspace --all-targets -- -D warnings
step "fuzz targets build (cargo check, fuzz/)" cargo check --quiet --manifest-path fuzz/Cargo.toml
step "cargo test --workspace" cargo_test
step "schemathesis (2 passes) + SIGTERM, live binary" schemathesis_against_live_server

# --- summary -----------------------------------------------------------------------------------------------

log "summary ($((SECONDS - STARTED)) s)"
passed=0 failed=0 failed_steps=0
for i in "${!STEP_NAMES[@]}"; do
    printf '  %-55s %5ss  %s\n' "${STEP_NAMES[$i]}" "${STEP_TIMES[$i]}" "${STEP_RESULTS[$i]}"
    [[ ${STEP_RESULTS[$i]} == ok ]] || failed_steps=$((failed_steps + 1))
    if [[ ${STEP_NAMES[$i]} == "cargo test --workspace" ]]; then
        # cargo's tests count one by one; a build failure counts as one failure.
        read -r p f <"$WORK/cargo-test.counts" 2>/dev/null || p=0 f=0
        passed=$((passed + p))
        failed=$((failed + f))
        [[ ${STEP_RESULTS[$i]} == ok || $f -gt 0 ]] || failed=$((failed + 1))
    elif [[ ${STEP_RESULTS[$i]} == ok ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo
echo "$passed passed, $failed failed"
((failed_steps == 0))
