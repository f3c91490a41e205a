# Sourced by the broadcaster examples: joins a room as a broadcaster, opens two plain transports (comedia,
# RTCP on its own port, as mediasoup-demo's scripts do) and creates an Opus and a video producer on them.
#
# Expects SERVER_URL, ROOM_ID, BROADCASTER_ID, DEVICE_NAME, AUDIO_SSRC, AUDIO_PT, VIDEO_SSRC and
# VIDEO_RTP_CODEC (the video codec's rtpParameters entry, JSON). Sets AUDIO_IP, AUDIO_PORT, AUDIO_RTCP_PORT,
# VIDEO_IP, VIDEO_PORT, VIDEO_RTCP_PORT, prints AUDIO_PRODUCER_ID=… and VIDEO_PRODUCER_ID=…, and on exit kills
# MEDIA_PID (the media tool, once started) and deletes the broadcaster.

api() {
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body -X "$method" -H 'content-type: application/json' "$SERVER_URL$path" "$@"
}

api GET "/rooms/$ROOM_ID" > /dev/null
api POST "/rooms/$ROOM_ID/broadcasters" \
  -d "{\"id\": \"$BROADCASTER_ID\", \"displayName\": \"$DEVICE_NAME\", \"device\": {\"name\": \"$DEVICE_NAME\"}}" \
  > /dev/null
MEDIA_PID=
cleanup() {
  [ -n "$MEDIA_PID" ] && kill "$MEDIA_PID" 2> /dev/null || true
  api DELETE "/rooms/$ROOM_ID/broadcasters/$BROADCASTER_ID" > /dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

transport() {
  api POST "/rooms/$ROOM_ID/broadcasters/$BROADCASTER_ID/transports" \
    -d '{"type": "plain", "comedia": true, "rtcpMux": false}'
}
read -r AUDIO_TRANSPORT_ID AUDIO_IP AUDIO_PORT AUDIO_RTCP_PORT < <(transport | jq -r '"\(.id) \(.ip) \(.port) \(.rtcpPort)"')
read -r VIDEO_TRANSPORT_ID VIDEO_IP VIDEO_PORT VIDEO_RTCP_PORT < <(transport | jq -r '"\(.id) \(.ip) \(.port) \(.rtcpPort)"')

AUDIO_PRODUCER_ID=$(api POST "/transports/$AUDIO_TRANSPORT_ID/producers" -d "{
  \"kind\": \"audio\",
  \"rtpParameters\": {
    \"codecs\": [{\"mimeType\": \"audio/opus\", \"payloadType\": $AUDIO_PT, \"clockRate\": 48000, \"channels\": 2,
                  \"parameters\": {\"sprop-stereo\": 1}}],
    \"encodings\": [{\"ssrc\": $AUDIO_SSRC}]
  }}" | jq -r .id)
VIDEO_PRODUCER_ID=$(api POST "/transports/$VIDEO_TRANSPORT_ID/producers" -d "{
  \"kind\": \"video\",
  \"rtpParameters\": {
    \"codecs\": [$VIDEO_RTP_CODEC],
    \"encodings\": [{\"ssrc\": $VIDEO_SSRC}]
  }}" | jq -r .id)
echo "AUDIO_PRODUCER_ID=$AUDIO_PRODUCER_ID"
echo "VIDEO_PRODUCER_ID=$VIDEO_PRODUCER_ID"
