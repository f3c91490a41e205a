#!/usr/bin/env node
// A publisher and a viewer tab of the server's page in one room, the viewer's media through an impairment proxy
// (tests/process/impair.rs). The viewer's page gets an init script that rewrites every remote description it
// applies: mediagate's UDP candidates (and m= ports) point at the proxy, ICE-TCP candidates are removed, so all
// its media crosses the proxy. The page itself (static/) is unchanged.
//
//   node tests/browser/impair.mjs http://127.0.0.1:3000 --proxy 43000:51000,43001:51001 --mode loss
//
// --proxy: mediagate UDP port -> proxy port pairs (the proxy listens on 127.0.0.1).
// --mode loss: once the viewer decodes --frames (30) frames, samples its inbound video once a second for
//   --window (10) s (frames decoded, NACKs, losses, retransmissions, freezes), then reads the server's stats
//   of the viewer's consumers.
// --mode connect: the viewer's two transports reach DTLS `connected` (the server's events) and it decodes
//   --frames frames within --within (20) s of joining; records when each transport connected (epoch ms).
// --mode fail: every viewer transport ends `failed` or closed by the server within --within s; records when.
//
// --viewer chromium|firefox (with --dtls 1.3|1.3-no-pq|1.2, see lib.mjs): the viewer's browser; the publisher
//   is always a Chromium tab.
//
// Prints one JSON line on stdout: {ok, step, error, timeline, ...; diagnostics when it failed}.

import { Run, launchChromium, launchFirefox, parseArgs, proxyInit, uniqueRoom, waitFor } from './lib.mjs';
import { StaticPage, inbound, summary } from './static-page.mjs';

const args = parseArgs();
const MODE = args.mode ?? 'loss';
const VIEWER = String(args.viewer ?? 'chromium');
const DTLS = String(args.dtls ?? '1.3');
const FRAMES = Number(args.frames ?? 30);
const WINDOW = Number(args.window ?? 10);
const WITHIN = Number(args.within ?? 20) * 1000;
const PORTS = Object.fromEntries(String(args.proxy ?? '').split(',').filter(Boolean).map((pair) => {
  const [from, to] = pair.split(':').map(Number);
  return [from, to];
}));
const run = new Run(`impair-${MODE}`);
const pages = {};

/** The viewer's raw inbound-rtp video report (all of Chromium's counters). */
async function rawInboundVideo(page) {
  return page.evaluate(async () => {
    for (const pc of window.__impair.pcs) {
      for (const r of (await pc.getStats()).values()) {
        if (r.type === 'inbound-rtp' && r.kind === 'video') {
          const keys = ['framesDecoded', 'framesReceived', 'framesDropped', 'packetsReceived', 'packetsLost',
            'nackCount', 'pliCount', 'firCount', 'retransmittedPacketsReceived', 'freezeCount',
            'totalFreezesDuration', 'framesPerSecond', 'keyFramesDecoded', 'frameWidth', 'frameHeight'];
          return Object.fromEntries(keys.map((k) => [k, r[k] ?? null]));
        }
      }
    }
    return null;
  });
}

async function fetchJson(path) {
  const response = await fetch(`${args.server}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
  return response.json();
}

/** Per viewer transport: the server's DTLS state and close reason seen over the page's event stream. */
function serverStates(state) {
  return Object.fromEntries(Object.entries(state.transports ?? {}).map(([k, t]) =>
    [k, { id: t.id, dtls: t.serverDtlsState, ice: t.serverIceState, closed: t.serverClosed }]));
}

await run.main(async () => {
  if (!Object.keys(PORTS).length) throw new Error('--proxy PORT:PROXYPORT[,...] is required');
  const room = uniqueRoom(`impair-${MODE}`);
  run.set('room', room);
  run.set('proxy', PORTS);
  run.step('launch browsers');
  const context = await launchChromium(run);
  let viewerPage;
  if (VIEWER === 'firefox') {
    const firefox = await launchFirefox(run, DTLS);
    run.set('viewer_browser', `${await firefox.version()} (DTLS variant ${DTLS})`);
    viewerPage = await firefox.newPage();
    await viewerPage.evaluateOnNewDocument(proxyInit, PORTS);
  } else if (VIEWER === 'chromium') {
    run.set('viewer_browser', 'chromium');
    viewerPage = await context.newPage();
    await viewerPage.addInitScript(proxyInit, PORTS);
  } else {
    throw new Error(`--viewer must be chromium or firefox, not ${VIEWER}`);
  }

  run.step('open pages');
  pages.publisher = new StaticPage(await context.newPage(), 'publisher');
  await pages.publisher.open(args.server);
  pages.viewer = new StaticPage(viewerPage, 'viewer');
  await pages.viewer.open(args.server);

  run.step('publisher joins');
  await pages.publisher.join(room, 'Publisher');
  const publisher = await pages.publisher.joined();
  run.step('viewer joins');
  const joinedAt = Date.now();
  run.set('viewer_join_ms', joinedAt);
  await pages.viewer.join(room, 'Viewer');
  if (MODE === 'fail') return fail(joinedAt);
  await pages.viewer.joined();

  run.step(`viewer decodes ${FRAMES} frames`);
  const connectedAt = {};
  await waitFor(`the viewer's transports connect and it decodes ${FRAMES} frames of the publisher`, async () => {
    const state = await pages.viewer.state();
    const states = serverStates(state);
    for (const [k, t] of Object.entries(states)) if (t.dtls === 'connected') connectedAt[k] ??= Date.now();
    return { states, received: inbound(await pages.viewer.stats(), publisher.broadcasterId) };
  }, (s) => s.received.framesDecoded >= FRAMES && Object.values(s.states).every((t) => t.dtls === 'connected'),
  { timeout: Math.max(0, WITHIN - (Date.now() - joinedAt)), interval: 100 });
  run.set('media_seconds', Math.round((Date.now() - joinedAt) / 100) / 10);
  run.set('connected_ms', connectedAt);
  const hook = await viewerPage.evaluate(() => ({ rewritten: window.__impair.rewritten,
    removedTcp: window.__impair.removedTcp, pcs: window.__impair.pcs.length }));
  run.set('rewrite', hook);
  if (hook.rewritten === 0) throw new Error('no candidate of the viewer pointed at the proxy');

  if (MODE === 'loss') await lossWindow(publisher);
  const stats = await pages.viewer.stats();
  run.set('viewer', { received: inbound(stats, publisher.broadcasterId), ...summary(stats) });
  run.set('server_states', serverStates(await pages.viewer.state()));
}, async () => {
  const out = {};
  for (const [label, page] of Object.entries(pages)) out[label] = await page.diagnostics();
  return out;
});

async function lossWindow(publisher) {
  run.step(`sample the viewer's video for ${WINDOW} s`);
  const samples = [];
  for (let i = 0; i <= WINDOW; i++) {
    const started = Date.now();
    samples.push({ t: started, ...(await rawInboundVideo(pages.viewer.page)) });
    if (i < WINDOW) await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
  }
  const first = samples[0];
  const last = samples[samples.length - 1];
  const perSecond = samples.slice(1).map((s, i) =>
    Math.round(((s.framesDecoded - samples[i].framesDecoded) * 1000) / (s.t - samples[i].t)));
  const delta = (k) => (last[k] ?? 0) - (first[k] ?? 0);
  run.set('window', {
    seconds: Math.round((last.t - first.t) / 100) / 10,
    frames: delta('framesDecoded'),
    fpsPerSecond: perSecond,
    minFps: Math.min(...perSecond),
    nackDelta: delta('nackCount'),
    packetsLostDelta: delta('packetsLost'),
    packetsReceivedDelta: delta('packetsReceived'),
    retransmittedReceivedDelta: delta('retransmittedPacketsReceived'),
    freezeDelta: delta('freezeCount'),
    pliDelta: delta('pliCount'),
    first,
    last,
  });

  run.step('read the server\'s consumer stats');
  const state = await pages.viewer.state();
  const peer = state.peers.find((p) => p.id === publisher.broadcasterId);
  const consumers = {};
  for (const c of peer?.consumers ?? []) {
    const report = await fetchJson(`/consumers/${c.id}/stats`);
    consumers[c.kind] = { id: c.id, consumer: report.consumer, producer: report.producer };
  }
  run.set('consumers', consumers);
  if (!consumers.video) throw new Error('the viewer has no video consumer');
}

async function fail(joinedAt) {
  run.step('viewer transports fail');
  const failedAt = {};
  const last = await waitFor('every viewer transport fails (dtlsState failed or closed by the server)', async () => {
    const state = await pages.viewer.state();
    const states = serverStates(state);
    for (const [k, t] of Object.entries(states)) {
      if (t.dtls === 'failed' || t.closed) failedAt[k] ??= Date.now();
    }
    return { phase: state.phase, states, frames: inbound(await pages.viewer.stats(),
      state.peers?.[0]?.id).framesDecoded };
  }, (s) => Object.keys(s.states).length === 2 && Object.entries(s.states).every(([k, t]) => t.id && failedAt[k]),
  { timeout: WITHIN, interval: 100 });
  run.set('failed_ms', failedAt);
  run.set('server_states', last.states);
  run.set('viewer_frames', last.frames);
  run.set('fail_seconds', Math.round((Math.max(...Object.values(failedAt)) - joinedAt) / 100) / 10);
  const hook = await pages.viewer.page.evaluate(() => ({ rewritten: window.__impair.rewritten,
    removedTcp: window.__impair.removedTcp, pcs: window.__impair.pcs.length }));
  run.set('rewrite', hook);
  const stats = await pages.viewer.stats();
  run.set('viewer', summary(stats));
}
