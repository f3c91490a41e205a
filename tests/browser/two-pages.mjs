#!/usr/bin/env node
// Two Chromium tabs of the server's page in one room. Passes when each shows the other's tile, decodes at
// least --frames (90) video frames of the other within --within (15) s of joining and receives its audio,
// and, once one tab closes, the other drops its tile within --leave-within (2) s.
//
//   node tests/browser/two-pages.mjs http://127.0.0.1:3000 [--frames 90] [--within 15] [--leave-within 2]
//
// --signalling-only stops short of media: it accepts a join that fails at the SDP exchange and checks only the
// tiles (both transports created, tiles from room events, a closed tab's tile gone within 2 s).
//
// Prints one JSON line on stdout: {ok, step, error, timeline, a, b, ...; diagnostics when it failed}.

import { Run, allSettled, launchChromium, parseArgs, uniqueRoom, waitFor } from './lib.mjs';
import { StaticPage, inbound, summary } from './static-page.mjs';

const args = parseArgs();
const FRAMES = Number(args.frames ?? 90);
const WITHIN = Number(args.within ?? 15) * 1000;
const LEAVE_WITHIN = Number(args['leave-within'] ?? 2) * 1000;
const SIGNALLING_ONLY = Boolean(args['signalling-only']);
const run = new Run('two-pages');
const pages = {};

await run.main(async () => {
  const room = uniqueRoom('two-pages');
  run.set('server', args.server);
  run.set('room', room);
  run.step('launch chromium');
  const context = await launchChromium(run);

  run.step('open pages');
  for (const label of ['a', 'b']) {
    pages[label] = new StaticPage(await context.newPage(), label);
    await pages[label].open(args.server);
  }
  run.step('join');
  const joinedAt = Date.now();
  await pages.a.join(room, 'Alice');
  await pages.b.join(room, 'Bob');
  const [a, b] = await allSettled([pages.a, pages.b].map((p) => p.joined({ signallingOnly: SIGNALLING_ONLY })));
  run.set('ids', { a: a.broadcasterId, b: b.broadcasterId });

  run.step('tiles appear');
  await waitFor('a shows b\'s tile and b shows a\'s', async () => [await pages.a.state(), await pages.b.state()],
    ([sa, sb]) => pages.a.hasTile(sa, b.broadcasterId) && pages.b.hasTile(sb, a.broadcasterId), { timeout: 5000 });

  if (!SIGNALLING_ONLY) await media(a, b, joinedAt);

  run.step('close a');
  const closedAt = Date.now();
  await pages.a.page.close();
  delete pages.a;
  await waitFor(`b drops a's tile within ${LEAVE_WITHIN} ms`, () => pages.b.state(),
    (s) => !pages.b.hasTile(s, a.broadcasterId), { timeout: LEAVE_WITHIN, interval: 100 });
  run.set('tile_removed_ms', Date.now() - closedAt);
}, async () => {
  const out = {};
  for (const [label, page] of Object.entries(pages)) out[label] = await page.diagnostics();
  return out;
});

async function media(a, b, joinedAt) {
  run.step(`decode ${FRAMES} frames each way`);
  const remaining = Math.max(0, WITHIN - (Date.now() - joinedAt));
  const [statsA, statsB] = await waitFor(`each page decodes ${FRAMES} frames of the other and receives audio`,
    async () => [await pages.a.stats(), await pages.b.stats()],
    ([sa, sb]) => {
      const ia = inbound(sa, b.broadcasterId);
      const ib = inbound(sb, a.broadcasterId);
      return ia.framesDecoded >= FRAMES && ib.framesDecoded >= FRAMES && ia.audioPackets > 0 && ib.audioPackets > 0;
    }, { timeout: remaining, interval: 500 });
  run.set('media_seconds', Math.round((Date.now() - joinedAt) / 100) / 10);
  run.set('a', { received: inbound(statsA, b.broadcasterId), ...summary(statsA) });
  run.set('b', { received: inbound(statsB, a.broadcasterId), ...summary(statsB) });
}
