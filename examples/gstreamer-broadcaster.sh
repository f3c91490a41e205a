#!/usr/bin/env bash
# Publishes Opus + VP8 (or H264) into a mediagate room with GStreamer's rtpbin, the way mediasoup-demo's
# broadcasters/gstreamer.sh does (two plain transports with comedia and RTCP on its own port, SSRC-routed
# producers), with curl.
#
#   SERVER_URL  mediagate's HTTP address         (default http://127.0.0.1:3000)
#   ROOM_ID     the room                         (default demo; created on first use)
#   MEDIA_FILE  a file with audio and video      (default: videotestsrc 640x360@30 and audiotestsrc)
#   DURATION    stop after this many seconds     (default: run until interrupted)
#   VIDEO_CODEC vp8 or h264                      (default vp8; h264 is constrained baseline, packetization-mode 1)
#
# It prints `AUDIO_PRODUCER_ID=…` and `VIDEO_PRODUCER_ID=…`, and deletes its broadcaster on exit.
set -euo pipefail

SERVER_URL=${SERVER_URL:-http://127.0.0.1:3000}
ROOM_ID=${ROOM_ID:-demo}
MEDIA_FILE=${MEDIA_FILE:-}
DURATION=${DURATION:-}
VIDEO_CODEC=${VIDEO_CODEC:-vp8}
BROADCASTER_ID=gstreamer-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
AUDIO_SSRC=1111
AUDIO_PT=100
VIDEO_SSRC=2222
VIDEO_PT=101

case $VIDEO_CODEC in
  vp8)
    VIDEO_RTP_CODEC='{"mimeType": "video/vp8", "payloadType": '$VIDEO_PT', "clockRate": 90000}'
    VIDEO_ENCODE="vp8enc target-bitrate=1000000 deadline=1 cpu-used=4 keyframe-max-dist=30
      ! rtpvp8pay pt=$VIDEO_PT ssrc=$VIDEO_SSRC picture-id-mode=15-bit mtu=1200"
    ;;
  h264)
    VIDEO_RTP_CODEC='{"mimeType": "video/h264", "payloadType": '$VIDEO_PT', "clockRate": 90000,
      "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1}}'
    # One slice per frame: with sliced threads (zerolatency's default) rtph264pay puts SPS and PPS before every
    # IDR slice, which receivers such as FFmpeg read as an extra frame at each keyframe.
    VIDEO_ENCODE="x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=1000 sliced-threads=false
      ! video/x-h264,profile=constrained-baseline
      ! rtph264pay pt=$VIDEO_PT ssrc=$VIDEO_SSRC config-interval=-1 aggregate-mode=zero-latency mtu=1200"
    ;;
  *)
    echo "VIDEO_CODEC must be vp8 or h264, not $VIDEO_CODEC" >&2
    exit 2
    ;;
esac

DEVICE_NAME=GStreamer
# shellcheck source=lib/plain-producers.sh
source "$(dirname "$0")/lib/plain-producers.sh"

# Live test sources stop by themselves after DURATION (num-buffers: 30 video frames and 50 audio buffers of
# 20 ms a second); a file is stopped by a timeout (SIGINT, which `-e` turns into a clean end of stream). Either
# way the timeout kills the pipeline if its end of stream does not get through rtpbin within 3 s.
stop=()
if [ -n "$MEDIA_FILE" ]; then
  SOURCES="filesrc location=\"$MEDIA_FILE\" ! decodebin name=decoder
    decoder. ! queue ! videoconvert ! videoscale ! videorate ! video/x-raw,framerate=30/1 ! video.
    decoder. ! queue ! audioconvert ! audioresample ! audio."
  [ -n "$DURATION" ] && stop=(timeout --signal=INT --kill-after=3 "$DURATION")
else
  video_buffers=-1 audio_buffers=-1
  [ -n "$DURATION" ] && video_buffers=$((DURATION * 30)) audio_buffers=$((DURATION * 50)) \
    && stop=(timeout --signal=INT --kill-after=3 "$((DURATION + 2))")
  SOURCES="videotestsrc is-live=true num-buffers=$video_buffers
      ! video/x-raw,width=640,height=360,framerate=30/1 ! video.
    audiotestsrc is-live=true wave=sine freq=440 samplesperbuffer=960 num-buffers=$audio_buffers
      ! audio/x-raw,rate=48000,channels=2 ! audio."
fi

# shellcheck disable=SC2086 # the pipeline description is meant to be split into words
"${stop[@]}" gst-launch-1.0 -q -e \
  rtpbin name=rtpbin \
  $SOURCES \
  videoconvert name=video ! $VIDEO_ENCODE ! rtpbin.send_rtp_sink_0 \
  rtpbin.send_rtp_src_0 ! udpsink host="$VIDEO_IP" port="$VIDEO_PORT" \
  rtpbin.send_rtcp_src_0 ! udpsink host="$VIDEO_IP" port="$VIDEO_RTCP_PORT" sync=false async=false \
  audioconvert name=audio ! audioresample ! opusenc bitrate=128000 \
  ! rtpopuspay pt=$AUDIO_PT ssrc=$AUDIO_SSRC ! rtpbin.send_rtp_sink_1 \
  rtpbin.send_rtp_src_1 ! udpsink host="$AUDIO_IP" port="$AUDIO_PORT" \
  rtpbin.send_rtcp_src_1 ! udpsink host="$AUDIO_IP" port="$AUDIO_RTCP_PORT" sync=false async=false &
MEDIA_PID=$!
status=0
wait "$MEDIA_PID" || status=$?
MEDIA_PID=
# 124: the timeout stopped the pipeline, as asked; 137: it had to kill it after the end of stream stalled.
[ "$status" -eq 0 ] || [ "$status" -eq 124 ] || [ "$status" -eq 137 ] || exit "$status"
