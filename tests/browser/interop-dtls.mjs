#!/usr/bin/env node
// A wrong DTLS fingerprint: a mediasoup-client 3.24.1 tab whose `connect` handler flips a byte of every
// fingerprint before POST /transports/{id}/connect publishes camera and microphone and consumes a tab of the
// server's page (static/), which publishes and views everything in the room. Passes when the server reports
// each of the bad tab's connected transports as DTLS `failed` (`transport.dtlsStateChanged` failed or
// `transport.closed` "dtls failed" on its own event stream) within --within (10) s, its producers never count a
// packet (GET /producers/{id}/stats, polled every 100 ms while they exist), and after --watch (5) s more neither
// tab has decoded a frame or received an audio packet of the other.
//
//   node tests/browser/interop-dtls.mjs http://127.0.0.1:3000 [--within 10] [--watch 5]
//
// Prints one JSON line on stdout.

import { Run, launchChromium, parseArgs, uniqueRoom, waitFor } from './lib.mjs';
import { MscPage, api, bundleMsc, seconds, sleep } from './interop-lib.mjs';
import { StaticPage, inbound } from './static-page.mjs';

const args = parseArgs();
const WITHIN = Number(args.within ?? 10) * 1000;
const WATCH = Number(args.watch ?? 5) * 1000;
const run = new Run('interop-dtls');
const pages = {};

await run.main(async () => {
  const room = uniqueRoom('dtls');
  run.set('server', args.server);
  run.set('room', room);
  run.step('bundle mediasoup-client');
  const code = await bundleMsc();
  run.step('launch chromium');
  const context = await launchChromium(run);
  run.step('open pages');
  pages.viewer = new StaticPage(await context.newPage(), 'viewer');
  await pages.viewer.open(args.server);
  pages.bad = await MscPage.open(context, args.server, code, 'bad');

  run.step('viewer joins');
  await pages.viewer.join(room, 'Viewer');
  const viewer = await pages.viewer.joined();

  // Producer stats of the bad tab, polled from the moment it has producers until they are gone.
  const producerPolls = { polls: 0, maxPacketCount: 0, maxByteCount: 0, statuses: {} };
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const s = await pages.bad.state().catch(() => null);
      for (const p of Object.values(s?.producers ?? {})) {
        const r = await api(args.server, 'GET', `/producers/${p.id}/stats`);
        producerPolls.polls++;
        producerPolls.statuses[r.status] = (producerPolls.statuses[r.status] ?? 0) + 1;
        for (const stream of Array.isArray(r.body) ? r.body : []) {
          producerPolls.maxPacketCount = Math.max(producerPolls.maxPacketCount, stream.packetCount ?? 0);
          producerPolls.maxByteCount = Math.max(producerPolls.maxByteCount, stream.byteCount ?? 0);
        }
      }
      await sleep(100);
    }
  })();

  run.step('bad tab joins with a wrong fingerprint');
  const startedAt = Date.now();
  const joinError = await pages.bad.join(room, 'Wrong fingerprint', { corruptFingerprint: true })
    .then(() => null, (e) => e.message);
  run.set('bad_join_error', joinError);
  const consumeError = await pages.bad.consume(viewer.broadcasterId).then(() => null, (e) => e.message);
  run.set('bad_consume_error', consumeError);

  run.step('the server fails DTLS on the bad tab\'s transports');
  const failed = (t) => t && (t.dtlsState === 'failed' || t.reason === 'dtls failed');
  const bad = await waitFor('the server reports DTLS failed on each connected transport of the bad tab',
    () => pages.bad.state(), (s) => {
      const connected = Object.keys(s.transports).filter((k) => s.log.some((l) => l.endsWith(`${k}: connect`)));
      return connected.length > 0 && connected.every((k) => failed(s.serverStates[k]));
    }, { timeout: WITHIN, interval: 200 });
  run.set('dtls_failed_seconds', seconds(Date.now() - startedAt));
  run.set('server_events', bad.serverEvents);
  run.set('connected_transports', Object.keys(bad.transports).filter((k) =>
    bad.log.some((l) => l.endsWith(`${k}: connect`))));

  run.step(`watch for ${WATCH} ms: no media either way`);
  await sleep(WATCH);
  polling = false;
  await poller;
  const [badStats, viewerStats] = [await pages.bad.stats(), await pages.viewer.stats()];
  const received = {
    bad: { framesDecoded: badStats.inbound.video?.framesDecoded ?? 0,
      audioPackets: badStats.inbound.audio?.packetsReceived ?? 0 },
    viewer: (({ framesDecoded, audioPackets }) => ({ framesDecoded, audioPackets }))(
      inbound(viewerStats, bad.broadcasterId)),
  };
  run.set('received', received);
  run.set('producer_polls', producerPolls);
  run.set('bad_browser_transports', Object.fromEntries(Object.entries(badStats.transports).map(([k, t]) =>
    [k, { dtlsState: t.dtlsState, iceState: t.iceState, bytesSent: t.bytesSent, bytesReceived: t.bytesReceived }])));
  run.set('bad_outbound', badStats.outbound);
  run.set('viewer_sees_bad', (await pages.viewer.state()).peers.find((p) => p.id === bad.broadcasterId) ?? null);
  if (received.bad.framesDecoded || received.bad.audioPackets || received.viewer.framesDecoded ||
    received.viewer.audioPackets) {
    throw new Error(`media crossed a failed DTLS transport: ${JSON.stringify(received)}`);
  }
  if (producerPolls.maxPacketCount || producerPolls.maxByteCount) {
    throw new Error(`the bad tab's producers counted packets: ${JSON.stringify(producerPolls)}`);
  }
}, async () => {
  const out = {};
  for (const [label, page] of Object.entries(pages)) out[label] = await page.diagnostics();
  return out;
});
