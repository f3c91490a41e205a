#!/usr/bin/env node
// Data channels through the impairment proxy (tests/process/impair.rs): page A sends directly, page B's
// transports cross the proxy (its remote descriptions rewritten by `proxyInit`, as in impair.mjs). A opens a
// second data producer, unordered with maxRetransmits 0, and paces --count (500) messages on it every
// --interval (10) ms while sending --chat (100) messages on its ordered, reliable chat channel; B consumes both
// on its receive transport's one association.
//
//   node tests/browser/data-loss.mjs http://127.0.0.1:3000 --proxy 43000:51000 [--count 500] [--interval 10]
//
// Records what B received of each channel and when (delivery ratio, gaps, the last messages), and the server's
// stats of the unreliable data producer and of B's consumer of it. Prints one JSON line on stdout.

import { Run, launchChromium, parseArgs, proxyInit, uniqueRoom, waitFor } from './lib.mjs';
import { DataPage, curlJson, firstDifference, textsFrom } from './data-lib.mjs';

const args = parseArgs();
const COUNT = Number(args.count ?? 500);
const INTERVAL = Number(args.interval ?? 10);
const CHATS = Number(args.chat ?? 100);
// After the last message was sent, how long B may stay silent before the unreliable channel counts as done.
const QUIET_MS = Number(args.quiet ?? 1000);
const PORTS = Object.fromEntries(String(args.proxy ?? '').split(',').filter(Boolean).map((pair) => {
  const [from, to] = pair.split(':').map(Number);
  return [from, to];
}));
const run = new Run('data-loss');
const pages = {};

await run.main(async () => {
  if (!Object.keys(PORTS).length) throw new Error('--proxy PORT:PROXYPORT[,...] is required');
  const room = uniqueRoom('data-loss');
  run.set('room', room);
  run.set('proxy', PORTS);
  run.step('launch chromium');
  const context = await launchChromium(run);
  pages.a = new DataPage(await context.newPage(), 'a');
  const bPage = await context.newPage();
  await bPage.addInitScript(proxyInit, PORTS);
  pages.b = new DataPage(bPage, 'b');

  run.step('join (b through the proxy)');
  for (const p of Object.values(pages)) await p.open(args.server);
  await pages.a.join(room, 'Alice');
  await pages.b.join(room, 'Bob');
  const sa = await pages.a.chatReady({ timeout: 20_000 });
  await pages.b.chatReady({ timeout: 20_000 });
  const chatId = sa.data.producers.find((p) => p.label === 'chat').id;
  await pages.b.consumerOpen(chatId, { timeout: 20_000 });
  const rewrite = await bPage.evaluate(() => ({ rewritten: window.__impair.rewritten,
    removedTcp: window.__impair.removedTcp, pcs: window.__impair.pcs.length }));
  run.set('rewrite', rewrite);
  if (rewrite.rewritten === 0) throw new Error('no candidate of b pointed at the proxy');

  run.step('a opens an unordered channel without retransmissions; b consumes it');
  const lossy = await pages.a.page.evaluate(() =>
    window.mediagate.openDataChannel({ label: 'lossy', ordered: false, maxRetransmits: 0 }));
  await pages.b.page.evaluate((id) => window.mediagate.consumeData(id), lossy.dataProducerId);
  const consumer = await pages.b.consumerOpen(lossy.dataProducerId, { timeout: 20_000 });
  run.set('lossy', { ...lossy, consumer });
  if (consumer.ordered !== false || consumer.maxRetransmits !== 0) {
    throw new Error(`b's consumer is not unordered with maxRetransmits 0: ${JSON.stringify(consumer)}`);
  }

  run.step(`a sends ${COUNT} unreliable messages every ${INTERVAL} ms and ${CHATS} chat messages`);
  await pages.a.page.bringToFront();
  const sending = await pages.a.page.evaluate(async ({ id, count, interval, chats }) => {
    const pad = '.'.repeat(100);
    const started = Date.now();
    const chatEvery = Math.max(1, Math.floor(count / chats));
    let chat = 0;
    for (let i = 0; i < count; i++) {
      window.mediagate.sendData(id, `lossy ${i} ${pad}`);
      if (i % chatEvery === 0 && chat < chats) window.mediagate.sendChat(`chat ${chat++}`);
      // Paced against the start, so that timer slack does not add up.
      const due = started + (i + 1) * interval;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
    while (chat < chats) window.mediagate.sendChat(`chat ${chat++}`);
    return { started, ended: Date.now() };
  }, { id: lossy.dataProducerId, count: COUNT, interval: INTERVAL, chats: CHATS });
  run.set('sending', { ms: sending.ended - sending.started });

  run.step('b receives');
  const ids = { a: sa.broadcasterId };
  const [lossyGot, chatGot] = await waitFor(`b receives every chat message, and the unreliable channel goes quiet`,
    async () => [await pages.b.dataMessages({ dataProducerId: lossy.dataProducerId }), await pages.b.chatMessages()],
    ([l, c]) => {
      const chats = textsFrom(c, ids.a).length;
      const lastAt = Math.max(sending.ended, ...l.map((m) => m.at));
      return chats >= CHATS && (l.length >= COUNT || Date.now() - lastAt >= QUIET_MS);
    }, { timeout: 30_000, interval: 100 });

  const indices = lossyGot.map((m) => Number(/^lossy (\d+) /.exec(m.text)?.[1]));
  const distinct = new Set(indices);
  const arrivals = lossyGot.map((m) => m.at);
  let maxGap = 0;
  for (let i = 1; i < arrivals.length; i++) maxGap = Math.max(maxGap, arrivals[i] - arrivals[i - 1]);
  let reordered = 0;
  for (let i = 1; i < indices.length; i++) if (indices[i] < indices[i - 1]) reordered++;
  const perSecond = [];
  for (const at of arrivals) {
    const s = Math.floor((at - sending.started) / 1000);
    perSecond[s] = (perSecond[s] ?? 0) + 1;
  }
  const missing = [];
  for (let i = 0; i < COUNT; i++) if (!distinct.has(i)) missing.push(i);
  run.set('unreliable', {
    sent: COUNT,
    received: lossyGot.length,
    distinct: distinct.size,
    ratio: Math.round((distinct.size / COUNT) * 1000) / 1000,
    duplicates: lossyGot.length - distinct.size,
    lastIndex: Math.max(...indices),
    receivedOfLast10: [...distinct].filter((i) => i >= COUNT - 10).length,
    firstArrivalMs: arrivals[0] - sending.started,
    lastArrivalMs: arrivals[arrivals.length - 1] - sending.started,
    maxGapMs: maxGap,
    reordered,
    perSecond: perSecond.map((n) => n ?? 0),
    missing: missing.slice(0, 60),
  });

  const chats = textsFrom(chatGot, ids.a);
  const expected = Array.from({ length: CHATS }, (_, i) => `chat ${i}`);
  const chatArrivals = chatGot.filter((m) => m.broadcasterId === ids.a).map((m) => m.at);
  run.set('reliable', {
    sent: CHATS,
    received: chats.length,
    inOrder: firstDifference(chats, expected) === null,
    firstDifference: firstDifference(chats, expected),
    lastArrivalMs: Math.max(...chatArrivals) - sending.started,
  });

  run.step('server stats');
  const stat = async (path) => (await curlJson(args.server, 'GET', path))[0];
  run.set('server', {
    producer: await stat(`/data-producers/${lossy.dataProducerId}/stats`),
    consumer: await stat(`/data-consumers/${consumer.id}/stats`),
  });
  const [fa, fb] = [await pages.a.state(), await pages.b.state()];
  run.set('sctp_states', { aSend: fa.data.sendSctpState, bRecv: fb.data.recvSctpState });
}, async () => {
  const out = {};
  for (const [label, page] of Object.entries(pages)) out[label] = await page.diagnostics();
  return out;
});
