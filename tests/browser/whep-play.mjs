#!/usr/bin/env node
// Chromium plays a room through WHEP from a minimal page: no library, only an RTCPeerConnection with recvonly
// video and audio transceivers and `fetch` of `POST /rooms/{room}/whep` (the server is ICE-lite and lists its
// candidates, so the offer goes at once and the answer needs no trickle). The page then takes the WHEP
// server-sent-events extension from the answer's `Link` header (`POST` of the events it wants, an
// `EventSource` on the `Location` it gets) and records every event. Passes when it decodes at least --frames
// (90) video frames within --within (15) s of the offer and receives audio. Then it prints `PLAYING {session,
// received, events}` on stderr and, with --hold-file PATH, keeps playing until PATH exists; with
// --expect-inactive it then waits for the `inactive` event (the test stopped the publisher). Last it DELETEs
// the session (expects 200, then 404 for a second DELETE).
//
//   node tests/browser/whep-play.mjs http://127.0.0.1:3000 --room R [--frames 90] [--within 15] [--name N]
//        [--query 'producerId=…'] [--hold-file P] [--expect-inactive]
//
// Prints one JSON line on stdout.

import { handOff, seconds } from './interop-lib.mjs';
import { Run, minimalPage, parseArgs, waitFor } from './lib.mjs';

const args = parseArgs();
const FRAMES = Number(args.frames ?? 90);
const WITHIN = Number(args.within ?? 15) * 1000;
const SSE_REL = 'urn:ietf:params:whep:ext:core:server-sent-events';
const run = new Run('whep-play');
const consoleLines = [];
let page;

// In the page: offer, answer, subscribe to the events; keeps everything in `window.whep`.
async function play([room, name, query, rel]) {
  const pc = new RTCPeerConnection();
  const whep = { pc, states: [], events: [], sseErrors: 0, tracks: [] };
  window.whep = whep;
  pc.addEventListener('connectionstatechange', () => whep.states.push(pc.connectionState));
  const media = new MediaStream();
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.srcObject = media;
  document.body.append(video);
  pc.addEventListener('track', (e) => {
    whep.tracks.push(e.track.kind);
    media.addTrack(e.track);
    video.play().catch(() => {});
  });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());

  const params = new URLSearchParams(query);
  if (name) params.set('displayName', name);
  const url = `/rooms/${encodeURIComponent(room)}/whep${params.size ? `?${params}` : ''}`;
  whep.postedAt = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
    body: pc.localDescription.sdp });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`POST ${url}: ${response.status} ${body.slice(0, 500)}`);
  if (response.headers.get('Content-Type') !== 'application/sdp') {
    throw new Error(`POST ${url}: answer of type ${response.headers.get('Content-Type')}`);
  }
  whep.location = response.headers.get('Location');
  whep.etag = response.headers.get('ETag');
  whep.link = response.headers.get('Link');
  if (!whep.location) throw new Error(`POST ${url}: 201 without Location`);
  await pc.setRemoteDescription({ type: 'answer', sdp: body });

  // The first decoded frame's time, sampled every 20 ms.
  whep.firstFrameMs = null;
  const timer = setInterval(async () => {
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0 && whep.firstFrameMs === null) {
        whep.firstFrameMs = Math.round(performance.now() - whep.postedAt);
        clearInterval(timer);
      }
    }
  }, 20);

  // The server-sent-events extension: `<url>; rel="…"; events="…"` among the Link header's entries.
  const entry = (whep.link ?? '').split(/,(?=\s*<)/).find((l) => l.includes(`rel="${rel}"`));
  const sse = entry && /<([^>]+)>/.exec(entry)?.[1];
  if (!sse) throw new Error(`POST ${url}: no ${rel} in Link: ${whep.link}`);
  const subscribed = await fetch(sse, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(['active', 'inactive', 'viewercount']) });
  whep.sseStatus = subscribed.status;
  whep.sseLocation = subscribed.headers.get('Location');
  if (subscribed.status !== 201 || !whep.sseLocation) {
    throw new Error(`POST ${sse}: ${subscribed.status} Location ${whep.sseLocation}`);
  }
  const source = new EventSource(whep.sseLocation);
  whep.source = source;
  for (const name of ['active', 'inactive', 'viewercount']) {
    source.addEventListener(name, (e) => {
      let data = e.data;
      try {
        data = JSON.parse(e.data);
      } catch { /* kept as text */ }
      whep.events.push({ event: name, data, ms: Math.round(performance.now() - whep.postedAt) });
    });
  }
  source.addEventListener('error', () => { whep.sseErrors++; });
  return { location: whep.location, etag: whep.etag, link: whep.link, sse: whep.sseLocation };
}

// Video and audio as received, with the codecs getStats reports for them (payload type, MIME type, and the
// payload type the offer gave that codec).
async function received() {
  const { pc, events, firstFrameMs, states, tracks } = window.whep;
  const offered = (kind, codec) => {
    const section = pc.localDescription.sdp.split('\r\nm=').find((m) => m.startsWith(`${kind} `));
    return Number(new RegExp(`^a=rtpmap:(\\d+) ${codec}/`, 'im').exec(section ?? '')?.[1] ?? NaN);
  };
  const stats = await pc.getStats();
  const out = { connection: pc.connectionState, states, tracks, firstFrameMs, events, codecs: {} };
  for (const s of stats.values()) {
    if (s.type === 'inbound-rtp') {
      const codec = stats.get(s.codecId);
      out.codecs[s.kind] = codec && { payloadType: codec.payloadType, mimeType: codec.mimeType,
        clockRate: codec.clockRate, channels: codec.channels,
        offeredPayloadType: offered(s.kind, codec.mimeType.split('/')[1]) };
      if (s.kind === 'video') {
        Object.assign(out, { framesDecoded: s.framesDecoded ?? 0, videoPackets: s.packetsReceived ?? 0,
          frameWidth: s.frameWidth, frameHeight: s.frameHeight, keyFramesDecoded: s.keyFramesDecoded,
          videoPacketsLost: s.packetsLost });
      } else {
        Object.assign(out, { audioPackets: s.packetsReceived ?? 0, totalSamplesReceived: s.totalSamplesReceived ?? 0,
          audioPacketsLost: s.packetsLost });
      }
    }
    if (s.type === 'transport') Object.assign(out, { dtlsCipher: s.dtlsCipher, srtpCipher: s.srtpCipher });
  }
  return out;
}

async function stop(location) {
  window.whep.source.close();
  const first = await fetch(location, { method: 'DELETE' });
  const second = await fetch(location, { method: 'DELETE' });
  window.whep.pc.close();
  return { status: first.status, body: (await first.text()).slice(0, 500), again: second.status };
}

await run.main(async () => {
  if (!args.room) throw new Error('--room is required (the room to play)');
  run.set('server', args.server);
  run.set('room', args.room);
  page = await minimalPage(run, args.server, 'WHEP viewer', consoleLines);

  run.step('WHEP offer');
  const postedAt = Date.now();
  const session = await page.evaluate(play, [args.room, args.name ?? null, args.query ?? '', SSE_REL]);
  run.set('session', session);

  run.step(`decode ${FRAMES} frames`);
  const playing = await waitFor(`the page decodes ${FRAMES} frames and receives audio`,
    () => page.evaluate(received),
    (r) => r.connection === 'failed' || (r.framesDecoded >= FRAMES && r.audioPackets > 0
      && r.totalSamplesReceived > 0),
    { timeout: Math.max(0, WITHIN - (Date.now() - postedAt)), interval: 250 });
  if (playing.connection !== 'connected') throw new Error(`the peer connection ${playing.connection}`);
  run.set('media_seconds', seconds(Date.now() - postedAt));
  run.set('received', playing);
  run.set('first_frame_ms', playing.firstFrameMs);
  run.set('codecs', playing.codecs);

  run.step('play');
  await handOff('PLAYING', { session: session.location, received: playing }, args['hold-file']);
  if (args['expect-inactive']) {
    run.step('inactive');
    const releasedAt = Date.now();
    await waitFor('the event stream says inactive', () => page.evaluate(() => window.whep.events),
      (events) => events.some((e) => e.event === 'inactive'), { timeout: 10_000, interval: 100 });
    run.set('inactive_after_release_ms', Date.now() - releasedAt);
  }
  const last = await page.evaluate(received);
  run.set('events', last.events);
  run.set('sse_errors', await page.evaluate(() => window.whep.sseErrors));

  run.step('DELETE the session');
  const deleted = await page.evaluate(stop, session.location);
  run.set('delete_status', deleted.status);
  run.set('delete_again_status', deleted.again);
  if (deleted.status !== 200) throw new Error(`DELETE ${session.location}: ${deleted.status} ${deleted.body}`);
  if (deleted.again !== 404) throw new Error(`DELETE ${session.location} again: ${deleted.again}, not 404`);
}, async () => ({
  console: consoleLines.slice(-20),
  state: await page?.evaluate(async () => window.whep && {
    connection: window.whep.pc.connectionState, ice: window.whep.pc.iceConnectionState, states: window.whep.states,
    events: window.whep.events, local: window.whep.pc.localDescription?.sdp,
    remote: window.whep.pc.remoteDescription?.sdp,
  }).catch((e) => e.message),
  received: await page?.evaluate(received).catch((e) => e.message),
}));
