#!/usr/bin/env node
// Two Chromium tabs running mediasoup-client 3.24.1 (msc/page.js, bundled here with esbuild) against the REST
// API only: each produces camera and microphone and consumes the other's producers. Passes when each decodes
// at least --frames (90) video frames of the other within --within (15) s of joining and receives its audio.
// With --data N, each then produces a `chat` DataProducer (SCTP over DTLS), consumes the other's, and sends N
// ordered string messages: passes when each receives the other's N, complete and in order.
//
//   node tests/browser/msc-page.mjs http://127.0.0.1:3000 [--frames 90] [--within 15] [--data 200]
//
// The bundle is loaded into a page opened on the server's origin (GET /health, then replaced), so its
// requests are same-origin. Prints one JSON line on stdout.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Run, allSettled, launchChromium, parseArgs, uniqueRoom, waitFor, watchConsole } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = parseArgs();
const FRAMES = Number(args.frames ?? 90);
const WITHIN = Number(args.within ?? 15) * 1000;
const DATA = Number(args.data ?? 0);
const run = new Run('msc-page');
const pages = {};

async function bundle() {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [path.join(here, 'msc', 'page.js')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

async function openPage(context, code, label) {
  const page = await context.newPage();
  const consoleLines = [];
  watchConsole(page, consoleLines);
  await page.goto(`${args.server}/health`);
  await page.setContent('<!doctype html><title>mediasoup-client test</title><link rel="icon" href="data:,"><body></body>');
  await page.addScriptTag({ content: code });
  pages[label] = { page, console: consoleLines };
  return page;
}

const state = (label) => pages[label].page.evaluate(() => window.mscTest.state());
const stats = (label) => pages[label].page.evaluate(() => window.mscTest.stats());

await run.main(async () => {
  const room = uniqueRoom('msc');
  run.set('server', args.server);
  run.set('room', room);
  run.step('bundle mediasoup-client');
  const code = await bundle();
  run.set('bundle_bytes', code.length);

  run.step('launch chromium');
  const context = await launchChromium(run);
  run.step('open pages');
  const a = await openPage(context, code, 'a');
  const b = await openPage(context, code, 'b');
  run.set('mediasoup_client', await a.evaluate(() => window.mscTest.version));

  run.step('join and produce');
  const joinedAt = Date.now();
  const [idA, idB] = await allSettled([
    a.evaluate(([room, data]) => window.mscTest.join(room, 'msc-a', { data }), [room, DATA > 0]),
    b.evaluate(([room, data]) => window.mscTest.join(room, 'msc-b', { data }), [room, DATA > 0]),
  ]);
  run.set('ids', { a: idA, b: idB });
  run.set('handler', (await state('a')).handlerName);

  run.step('consume each other');
  await allSettled([
    a.evaluate((id) => window.mscTest.consume(id), idB),
    b.evaluate((id) => window.mscTest.consume(id), idA),
  ]);

  run.step(`decode ${FRAMES} frames each way`);
  const enough = (s) => (s.inbound.video?.framesDecoded ?? 0) >= FRAMES && (s.inbound.audio?.packetsReceived ?? 0) > 0;
  const [sa, sb] = await waitFor(`each page decodes ${FRAMES} frames of the other and receives audio`,
    async () => [await stats('a'), await stats('b')], ([x, y]) => enough(x) && enough(y),
    { timeout: Math.max(0, WITHIN - (Date.now() - joinedAt)), interval: 500 });
  run.set('media_seconds', Math.round((Date.now() - joinedAt) / 100) / 10);
  run.set('a', sa);
  run.set('b', sb);

  if (DATA > 0) {
    run.step('chat data producers');
    await allSettled([a.evaluate(() => window.mscTest.produceChat()), b.evaluate(() => window.mscTest.produceChat())]);
    run.step('consume each other\'s chat');
    await allSettled([
      a.evaluate((id) => window.mscTest.consumeChat(id), idB),
      b.evaluate((id) => window.mscTest.consumeChat(id), idA),
    ]);
    run.step(`${DATA} messages each way`);
    const sentAt = Date.now();
    await allSettled([
      a.evaluate((n) => window.mscTest.sendChat(n, 'a'), DATA),
      b.evaluate((n) => window.mscTest.sendChat(n, 'b'), DATA),
    ]);
    const [ra, rb] = await waitFor(`each page receives the other's ${DATA} messages`,
      async () => [(await state('a')).chatReceived, (await state('b')).chatReceived],
      ([x, y]) => x.length >= DATA && y.length >= DATA, { timeout: 15_000, interval: 100 });
    const inOrder = (got, prefix) => got.length === DATA && got.every((m, i) => m === `${prefix}-${i}`);
    run.set('data', {
      ms: Date.now() - sentAt,
      a_received: ra.length, b_received: rb.length,
      a_in_order: inOrder(ra, 'b'), b_in_order: inOrder(rb, 'a'),
      a_stream_ids: (await state('a')).dataProducer, b_stream_ids: (await state('b')).dataProducer,
    });
    if (!inOrder(ra, 'b') || !inOrder(rb, 'a')) throw new Error('chat messages missing, extra or out of order');
  }
}, async () => {
  const out = {};
  for (const [label, { page, console: lines }] of Object.entries(pages)) {
    out[label] = { console: lines.slice(-20) };
    out[label].state = await page.evaluate(() => window.mscTest?.state()).catch((e) => e.message);
    out[label].stats = await page.evaluate(() => window.mscTest?.stats()).catch((e) => e.message);
  }
  return out;
});
