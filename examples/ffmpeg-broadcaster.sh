#!/usr/bin/env bash
# Publishes Opus + VP8 (or H264) into a mediagate room with FFmpeg, the way mediasoup-demo's broadcasters/ffmpeg.sh
# does (two plain transports with comedia and RTCP on its own port, SSRC-routed producers), with curl.
#
#   SERVER_URL  mediagate's HTTP address         (default http://127.0.0.1:3000)
#   ROOM_ID     the room                         (default demo; created on first use)
#   MEDIA_FILE  a file with audio and video      (default: FFmpeg's lavfi test sources)
#   DURATION    stop after this many seconds     (default: run until interrupted)
#   VIDEO_CODEC vp8 or h264                      (default vp8; h264 is baseline, packetization-mode 1)
#
# It prints `AUDIO_PRODUCER_ID=…` and `VIDEO_PRODUCER_ID=…`, and deletes its broadcaster on exit.
set -euo pipefail

SERVER_URL=${SERVER_URL:-http://127.0.0.1:3000}
ROOM_ID=${ROOM_ID:-demo}
MEDIA_FILE=${MEDIA_FILE:-}
DURATION=${DURATION:-}
VIDEO_CODEC=${VIDEO_CODEC:-vp8}
BROADCASTER_ID=ffmpeg-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
AUDIO_SSRC=1111
AUDIO_PT=100
VIDEO_SSRC=2222
VIDEO_PT=101

case $VIDEO_CODEC in
  vp8)
    VIDEO_RTP_CODEC='{"mimeType": "video/vp8", "payloadType": '$VIDEO_PT', "clockRate": 90000}'
    VIDEO_ENCODE=(-c:v libvpx -b:v 1000k -deadline realtime -cpu-used 8 -g 30 -pix_fmt yuv420p)
    ;;
  h264)
    VIDEO_RTP_CODEC='{"mimeType": "video/h264", "payloadType": '$VIDEO_PT', "clockRate": 90000,
      "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1}}'
    VIDEO_ENCODE=(-c:v libx264 -profile:v baseline -tune zerolatency -preset ultrafast -b:v 1000k -g 30
                  -pix_fmt yuv420p)
    ;;
  *)
    echo "VIDEO_CODEC must be vp8 or h264, not $VIDEO_CODEC" >&2
    exit 2
    ;;
esac

DEVICE_NAME=FFmpeg
# shellcheck source=lib/plain-producers.sh
source "$(dirname "$0")/lib/plain-producers.sh"

if [ -n "$MEDIA_FILE" ]; then
  inputs=(-re -stream_loop -1 -i "$MEDIA_FILE")
  maps=(-map 0:a:0 -map 0:v:0)
else
  inputs=(-re -f lavfi -i "sine=frequency=440:sample_rate=48000"
          -re -f lavfi -i "testsrc2=size=640x360:rate=30")
  maps=(-map 0:a -map 1:v)
fi
limit=()
[ -n "$DURATION" ] && limit=(-t "$DURATION")

ffmpeg -hide_banner -loglevel error -nostdin "${inputs[@]}" "${maps[@]}" "${limit[@]}" \
  -c:a libopus -ab 128k -ac 2 -ar 48000 \
  "${VIDEO_ENCODE[@]}" \
  -f tee \
  "[select=a:f=rtp:ssrc=$AUDIO_SSRC:payload_type=$AUDIO_PT]rtp://$AUDIO_IP:$AUDIO_PORT?rtcpport=$AUDIO_RTCP_PORT&pkt_size=1200|[select=v:f=rtp:ssrc=$VIDEO_SSRC:payload_type=$VIDEO_PT]rtp://$VIDEO_IP:$VIDEO_PORT?rtcpport=$VIDEO_RTCP_PORT&pkt_size=1200" &
MEDIA_PID=$!
wait "$MEDIA_PID"
MEDIA_PID=
