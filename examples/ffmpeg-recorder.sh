#!/usr/bin/env bash
# Records producers of a mediagate room to a file with FFmpeg: one plain transport and consumer per producer,
# connected to local ports, opened by FFmpeg through each consumer's SDP (GET /consumers/{id}/sdp).
#
#   SERVER_URL    mediagate's HTTP address                   (default http://127.0.0.1:3000)
#   ROOM_ID       the room                                   (default demo)
#   PRODUCER_IDS  the producers to record, space-separated   (required)
#   OUTPUT        the file to write                          (default recording.mkv)
#   DURATION      stop after this many seconds               (default: run until interrupted)
#   PORT          first local port; each producer takes two  (default 5004)
set -euo pipefail

SERVER_URL=${SERVER_URL:-http://127.0.0.1:3000}
ROOM_ID=${ROOM_ID:-demo}
PRODUCER_IDS=${PRODUCER_IDS:?set PRODUCER_IDS to the producers to record}
OUTPUT=${OUTPUT:-recording.mkv}
DURATION=${DURATION:-}
PORT=${PORT:-5004}
BROADCASTER_ID=recorder-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
WORK=$(mktemp -d)

api() {
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body -X "$method" -H 'content-type: application/json' "$SERVER_URL$path" "$@"
}

CAPS=$(api GET "/rooms/$ROOM_ID/rtp-capabilities")
api POST "/rooms/$ROOM_ID/broadcasters" -d "{\"id\": \"$BROADCASTER_ID\", \"displayName\": \"Recorder\",
  \"device\": {\"name\": \"FFmpeg\"}, \"rtpCapabilities\": $CAPS}" > /dev/null
FFMPEG_PID=
cleanup() {
  [ -n "$FFMPEG_PID" ] && kill -INT "$FFMPEG_PID" 2> /dev/null && wait "$FFMPEG_PID" 2> /dev/null || true
  api DELETE "/rooms/$ROOM_ID/broadcasters/$BROADCASTER_ID" > /dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Whether something listens on local UDP port $1 (from /proc, so no extra tool is needed).
port_bound() {
  local hex
  hex=$(printf '%04X' "$1")
  grep -qE "^ *[0-9]+: [0-9A-F]+:$hex " /proc/net/udp /proc/net/udp6 2> /dev/null
}

inputs=()
consumers=()
ports=()
port=$PORT
for producer in $PRODUCER_IDS; do
  transport=$(api POST "/rooms/$ROOM_ID/broadcasters/$BROADCASTER_ID/transports" \
    -d '{"type": "plain", "rtcpMux": false}' | jq -r .id)
  api POST "/transports/$transport/connect" \
    -d "{\"ip\": \"127.0.0.1\", \"port\": $port, \"rtcpPort\": $((port + 1))}" > /dev/null
  consumer=$(api POST "/transports/$transport/consumers" \
    -d "{\"producerId\": \"$producer\", \"paused\": true, \"enableRtx\": false}" | jq -r .id)
  api GET "/consumers/$consumer/sdp" > "$WORK/$consumer.sdp"
  inputs+=(-protocol_whitelist file,udp,rtp -i "$WORK/$consumer.sdp")
  consumers+=("$consumer")
  ports+=("$port")
  port=$((port + 2))
done

maps=()
for i in "${!consumers[@]}"; do
  maps+=(-map "$i")
done
limit=()
[ -n "$DURATION" ] && limit=(-t "$DURATION")
ffmpeg -hide_banner -loglevel error -nostdin -y "${inputs[@]}" "${maps[@]}" -c copy "${limit[@]}" "$OUTPUT" &
FFMPEG_PID=$!

# Resume each consumer once FFmpeg listens on its port: it starts at a keyframe. FFmpeg opens its inputs one
# after the other, each once the previous one has shown its stream, so each is resumed as soon as it is open.
for i in "${!consumers[@]}"; do
  tries=0
  until port_bound "${ports[$i]}"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 600 ] || ! kill -0 "$FFMPEG_PID" 2> /dev/null; then
      echo "FFmpeg did not open port ${ports[$i]}" >&2
      exit 1
    fi
    sleep 0.05
  done
  api POST "/consumers/${consumers[$i]}/resume" > /dev/null
done
echo "recording ${#consumers[@]} stream(s) to $OUTPUT" >&2
wait "$FFMPEG_PID"
FFMPEG_PID=
