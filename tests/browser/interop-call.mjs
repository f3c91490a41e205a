#!/usr/bin/env node
// A call between a mediasoup-client 3.24.1 tab (msc/page.js) and a tab of the server's own page (static/) in one
// room: each publishes camera and microphone and views the other. Passes when each decodes at least --frames
// (90) video frames of the other within --within (15) s of joining and receives its audio. Then, optionally:
//
//   --ice-restart        both tabs restart ICE on both their transports mid-call (the server's
//                        POST /transports/{id}/restart-ice, applied with transport.restartIce() by
//                        mediasoup-client and by an iceRestart re-offer / the server's next offer by the page);
//                        passes when each side decodes --after (60) more frames within 10 s, every server
//                        transport is back to ICE completed/connected, and each browser took new local ICE
//                        credentials and the server's new ones.
//   --hold-file PATH     prints `CALL_UP {transports, frames}` on stderr and waits for PATH to exist (the Rust
//                        test sprays the shared port meanwhile); passes when each side then decodes --after more
//                        frames within 10 s.
//
//   node tests/browser/interop-call.mjs http://127.0.0.1:3000 [--frames 90] [--within 15] [--after 60] …
//
// Prints one JSON line on stdout.

import { Run, allSettled, launchChromium, parseArgs, uniqueRoom, waitFor } from './lib.mjs';
import { MscPage, api, bundleMsc, handOff, seconds } from './interop-lib.mjs';
import { StaticPage, inbound } from './static-page.mjs';

const args = parseArgs();
const FRAMES = Number(args.frames ?? 90);
const WITHIN = Number(args.within ?? 15) * 1000;
const AFTER = Number(args.after ?? 60);
const run = new Run('interop-call');
const pages = {};

await run.main(async () => {
  const room = uniqueRoom('interop');
  run.set('server', args.server);
  run.set('room', room);
  run.step('bundle mediasoup-client');
  const code = await bundleMsc();
  run.step('launch chromium');
  const context = await launchChromium(run);
  run.step('open pages');
  pages.msc = await MscPage.open(context, args.server, code, 'msc');
  pages.page = new StaticPage(await context.newPage(), 'page');
  await pages.page.open(args.server);
  run.set('mediasoup_client', await pages.msc.version());

  run.step('join');
  const joinedAt = Date.now();
  await pages.page.join(room, 'Static page');
  const [mscId, pageState] = await allSettled([pages.msc.join(room, 'mediasoup-client'), pages.page.joined()]);
  const pageId = pageState.broadcasterId;
  run.set('ids', { msc: mscId, page: pageId });
  run.set('handler', (await pages.msc.state()).handlerName);

  run.step('mediasoup-client consumes the page');
  await pages.msc.consume(pageId);

  // Frames and audio packets each side has of the other.
  const sample = async () => {
    const [m, p] = [await pages.msc.stats(), await pages.page.stats()];
    return {
      msc: { framesDecoded: m.inbound.video?.framesDecoded ?? 0, audioPackets: m.inbound.audio?.packetsReceived ?? 0 },
      page: (({ framesDecoded, audioPackets }) => ({ framesDecoded, audioPackets }))(inbound(p, mscId)),
      raw: { msc: m, page: p },
    };
  };
  run.step(`decode ${FRAMES} frames each way`);
  const up = await waitFor(`each side decodes ${FRAMES} frames of the other and receives audio`, sample,
    (s) => ['msc', 'page'].every((k) => s[k].framesDecoded >= FRAMES && s[k].audioPackets > 0),
    { timeout: Math.max(0, WITHIN - (Date.now() - joinedAt)), interval: 500 });
  run.set('media_seconds', seconds(Date.now() - joinedAt));
  run.set('msc', { received: up.msc });
  run.set('page', { received: up.page });

  const transports = await transportIds();
  const more = async (what, from) => {
    const startedAt = Date.now();
    const s = await waitFor(`${what}: each side decodes ${AFTER} more frames`, sample,
      (x) => ['msc', 'page'].every((k) => x[k].framesDecoded - from[k].framesDecoded >= AFTER),
      { timeout: 10_000, interval: 250 });
    return { s, ms: Date.now() - startedAt };
  };

  if (args['ice-restart']) {
    run.step('restart ICE on both sides');
    const before = await sample();
    const localUfrags = ufragsOf(before.raw);
    const [mscUfrags, pageUfrags] = await allSettled([pages.msc.restartIce(), pages.page.page.evaluate(
      () => window.mediagate.restartIce())]);
    run.step('media after the ICE restart');
    const { s: after, ms } = await more('after the ICE restart', before);
    const server = await waitFor('every server transport back to ICE completed/connected', () => serverStates(transports),
      (x) => Object.values(x).every((t) => ['completed', 'connected'].includes(t.iceState)),
      { timeout: 5000, interval: 250 });
    const pairsBefore = pairsOf(before.raw);
    const switched = await waitFor('every browser transport selects a pair of the restarted ICE session', sample,
      (x) => Object.entries(pairsOf(x.raw)).every(([k, p]) => p?.id && p.id !== pairsBefore[k]?.id &&
        p.responsesReceived > 0), { timeout: 5000, interval: 250 });
    const newLocal = ufragsOf(switched.raw);
    const unchanged = Object.keys(newLocal).filter((k) => !newLocal[k] || newLocal[k] === localUfrags[k]);
    if (unchanged.length) {
      throw new Error(`browser transports kept their local ICE ufrag: ${unchanged} (${JSON.stringify(newLocal)})`);
    }
    const serverUfrags = await serverIceUfrags(transports);
    const expected = { 'msc.send': mscUfrags.send, 'msc.recv': mscUfrags.recv, 'page.send': pageUfrags.send,
      'page.recv': pageUfrags.recv };
    for (const [k, v] of Object.entries(expected)) {
      if (serverUfrags[k] !== v) throw new Error(`${k}: server ufrag ${serverUfrags[k]}, restart returned ${v}`);
    }
    run.set('restart', {
      before: { msc: before.msc, page: before.page },
      after: { msc: after.msc, page: after.page },
      more_frames_ms: ms,
      server_ice_states: Object.fromEntries(Object.entries(server).map(([k, t]) => [k, t.iceState])),
      server_ufrags: serverUfrags,
      browser_ufrags: { before: localUfrags, after: newLocal },
      pairs: { before: pairsBefore, after: pairsOf(switched.raw) },
    });
  }

  if (args['hold-file']) {
    run.step('hold the call (CALL_UP)');
    const atHandOff = await sample();
    await handOff('CALL_UP', { transports, frames: { msc: atHandOff.msc, page: atHandOff.page } },
      args['hold-file']);
    run.step('media after the hold');
    const atRelease = await sample();
    const { s: after, ms } = await more('after the hold', atRelease);
    run.set('hold', {
      at_hand_off: { msc: atHandOff.msc, page: atHandOff.page },
      at_release: { msc: atRelease.msc, page: atRelease.page },
      after: { msc: after.msc, page: after.page },
      more_frames_ms: ms,
    });
  }
}, async () => {
  const out = {};
  for (const [label, page] of Object.entries(pages)) out[label] = await page.diagnostics();
  return out;
});

/** The four transports: `msc.send`, `msc.recv`, `page.send`, `page.recv` → id. */
async function transportIds() {
  const m = await pages.msc.state();
  const p = await pages.page.state();
  return {
    'msc.send': m.transports.send.id, 'msc.recv': m.transports.recv.id,
    'page.send': p.transports.send.id, 'page.recv': p.transports.recv.id,
  };
}

/** Each browser transport's local ICE ufrag (getStats `transport` report). */
function ufragsOf(raw) {
  return {
    'msc.send': raw.msc.transports.send?.iceLocalUsernameFragment,
    'msc.recv': raw.msc.transports.recv?.iceLocalUsernameFragment,
    'page.send': raw.page.transports.send?.iceLocalUsernameFragment,
    'page.recv': raw.page.transports.recv?.iceLocalUsernameFragment,
  };
}

/** Each browser transport's selected candidate pair (id, state, requests and responses). */
function pairsOf(raw) {
  const p = (x) => x && { id: x.id, state: x.state, requestsSent: x.requestsSent,
    responsesReceived: x.responsesReceived };
  return {
    'msc.send': p(raw.msc.transports.send?.pair), 'msc.recv': p(raw.msc.transports.recv?.pair),
    'page.send': p(raw.page.transports.send?.selectedCandidatePair),
    'page.recv': p(raw.page.transports.recv?.selectedCandidatePair),
  };
}

/** GET /transports/{id}/stats of each transport (its first entry when the route answers a list). */
async function serverStates(transports) {
  const out = {};
  for (const [k, id] of Object.entries(transports)) {
    const r = await api(args.server, 'GET', `/transports/${id}/stats`);
    out[k] = Array.isArray(r.body) ? r.body[0] : r.body;
  }
  return out;
}

async function serverIceUfrags(transports) {
  const out = {};
  for (const [k, id] of Object.entries(transports)) {
    const r = await api(args.server, 'GET', `/transports/${id}`);
    out[k] = r.body?.iceParameters?.usernameFragment ?? null;
  }
  return out;
}
