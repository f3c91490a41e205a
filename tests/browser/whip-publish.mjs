#!/usr/bin/env node
// Chromium publishes its (fake) camera and microphone through WHIP from a minimal page: no library, only
// getUserMedia, an RTCPeerConnection with sendonly audio and video transceivers, and `fetch` of
// `POST /rooms/{room}/whip` (the server is ICE-lite and lists its candidates, so the offer goes at once and the
// answer needs no trickle). Once the connection is up and the room lists the session's two producers, it
// prints `PUBLISHING {session, broadcasterId, producers: {audio, video}}` on stderr and keeps publishing until
// --hold-file PATH exists (the Rust test's recording is done) or, without it, for --seconds (5). Then it
// DELETEs the session (expects 200) and checks the room no longer lists the producers.
//
//   node tests/browser/whip-publish.mjs http://127.0.0.1:3000 [--room R] [--name N] [--seconds 5] [--hold-file P]
//
// Prints one JSON line on stdout.

import { handOff, sleep } from './interop-lib.mjs';
import { Run, minimalPage, parseArgs, uniqueRoom, waitFor } from './lib.mjs';

const args = parseArgs();
const ROOM = args.room ?? uniqueRoom('whip');
const NAME = args.name ?? 'Chromium WHIP';
const SECONDS = Number(args.seconds ?? 5);
const run = new Run('whip-publish');
const consoleLines = [];
let page;

// In the page: publish, and keep the connection in `window.whip` for the driver's later calls.
async function publish([room, name]) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  const pc = new RTCPeerConnection();
  const whip = { pc, stream, states: [] };
  window.whip = whip;
  pc.addEventListener('connectionstatechange', () => whip.states.push(pc.connectionState));
  for (const track of [...stream.getAudioTracks(), ...stream.getVideoTracks()]) {
    pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  }
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const url = `/rooms/${encodeURIComponent(room)}/whip?displayName=${encodeURIComponent(name)}`;
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
    body: pc.localDescription.sdp });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`POST ${url}: ${response.status} ${body.slice(0, 500)}`);
  if (response.headers.get('Content-Type') !== 'application/sdp') {
    throw new Error(`POST ${url}: answer of type ${response.headers.get('Content-Type')}`);
  }
  whip.location = response.headers.get('Location');
  whip.etag = response.headers.get('ETag');
  if (!whip.location) throw new Error(`POST ${url}: 201 without Location`);
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  return { location: whip.location, etag: whip.etag };
}

function connectionState() {
  const { pc, states } = window.whip;
  return { connection: pc.connectionState, ice: pc.iceConnectionState, states };
}

async function outbound() {
  const out = {};
  for (const s of (await window.whip.pc.getStats()).values()) {
    if (s.type === 'outbound-rtp') {
      out[s.kind] = { packetsSent: s.packetsSent, bytesSent: s.bytesSent, framesEncoded: s.framesEncoded,
        frameWidth: s.frameWidth, frameHeight: s.frameHeight, framesPerSecond: s.framesPerSecond };
    }
    if (s.type === 'transport') Object.assign(out, { dtlsCipher: s.dtlsCipher, srtpCipher: s.srtpCipher });
  }
  return out;
}

async function unpublish(location) {
  window.whip.stream.getTracks().forEach((t) => t.stop());
  const response = await fetch(location, { method: 'DELETE' });
  window.whip.pc.close();
  return { status: response.status, body: (await response.text()).slice(0, 500) };
}

async function get(path) {
  return page.evaluate(async (p) => {
    const r = await fetch(p);
    const json = r.headers.get('Content-Type')?.includes('json');
    return { status: r.status, body: json ? await r.json() : await r.text() };
  }, path);
}

await run.main(async () => {
  run.set('server', args.server);
  run.set('room', ROOM);
  page = await minimalPage(run, args.server, 'WHIP publisher', consoleLines);

  run.step('WHIP offer');
  const postedAt = Date.now();
  const { location, etag } = await page.evaluate(publish, [ROOM, NAME]);
  run.set('session', location);
  run.set('etag', etag);

  run.step('connect');
  await waitFor('the peer connection is connected', () => page.evaluate(connectionState),
    (s) => s.connection === 'connected' || s.connection === 'failed', { timeout: 10_000, interval: 100 })
    .then((s) => {
      if (s.connection !== 'connected') throw new Error(`the peer connection ${s.connection}: ${JSON.stringify(s)}`);
    });
  run.set('connected_ms', Date.now() - postedAt);

  run.step('producers in the room');
  const room = `/rooms/${encodeURIComponent(ROOM)}`;
  const [mine, producers] = await waitFor('the room lists the session\'s broadcaster with audio and video producers',
    async () => {
      const b = await get(`${room}/broadcasters`);
      const me = b.status === 200 ? b.body.find((x) => x.displayName === NAME) : undefined;
      if (!me) return [undefined, { broadcasters: b }];
      const r = await get(room);
      const mineById = {};
      for (const id of r.body.producerIds ?? []) {
        const p = await get(`/producers/${id}`);
        if (p.status === 200 && p.body.broadcasterId === me.id) mineById[p.body.kind] = id;
      }
      return [me, mineById];
    }, ([me, p]) => me && p.audio && p.video && Object.keys(p).length === 2, { timeout: 5000, interval: 100 });
  run.set('broadcasterId', mine.id);
  run.set('producers', producers);

  run.step('publish');
  const detail = { session: location, broadcasterId: mine.id, producers };
  if (args['hold-file']) await handOff('PUBLISHING', detail, args['hold-file']);
  else {
    await handOff('PUBLISHING', detail);
    await sleep(SECONDS * 1000);
  }
  run.set('outbound', await page.evaluate(outbound));
  const state = await page.evaluate(connectionState);
  if (state.connection !== 'connected') throw new Error(`the connection dropped: ${JSON.stringify(state)}`);
  run.set('published_seconds', Math.round((Date.now() - postedAt) / 100) / 10);

  run.step('DELETE the session');
  const deleted = await page.evaluate(unpublish, location);
  run.set('delete_status', deleted.status);
  if (deleted.status !== 200) throw new Error(`DELETE ${location}: ${deleted.status} ${deleted.body}`);
  const again = await page.evaluate(async (l) => (await fetch(l, { method: 'DELETE' })).status, location);
  run.set('delete_again_status', again);
  if (again !== 404) throw new Error(`DELETE ${location} again: ${again}, not 404`);
  const after = await get(room);
  const left = (after.body.producerIds ?? []).filter((id) => Object.values(producers).includes(id));
  if (after.status !== 200 || left.length) throw new Error(`after DELETE the room lists ${JSON.stringify(after)}`);
}, async () => ({
  console: consoleLines.slice(-20),
  state: await page?.evaluate(() => window.whip && {
    connection: window.whip.pc.connectionState, ice: window.whip.pc.iceConnectionState, states: window.whip.states,
    local: window.whip.pc.localDescription?.sdp, remote: window.whip.pc.remoteDescription?.sdp,
  }).catch((e) => e.message),
}));
