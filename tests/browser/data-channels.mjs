#!/usr/bin/env node
// Data channels of the server's page (static/: its chat panel and `window.mediagate` data hooks) in headless
// Chromium, with the real `curl` as the HTTP client where one is needed. One scenario per run:
//
//   node tests/browser/data-channels.mjs http://127.0.0.1:3000 --scenario chat [--count 200]
//
// chat:   two pages; one line typed in the form, then --count (200) chat messages each way (ordered, reliable):
//         all arrive, in order, complete, shown with the sender's name. Records how long delivery took.
// http:   one page and a curl "broadcaster" with a direct transport: curl POSTs text and binary messages to its
//         `chat` data producer (`/data-producers/{id}/messages`), the page shows them; a line typed in the page
//         reaches curl's event stream as `dataConsumer.message`.
// limits: the sending page asks for --max (16384) as maxSctpMessageSize: a message of exactly that size
//         arrives, one byte more is refused by the browser (send throws), and a normal message after it
//         arrives (the association stays up).
// close:  DELETE /data-producers/{id} of a page's chat: curl's direct consumer and the other page's consumer
//         both get `dataConsumer.closed`, the other page removes its channel, the owner's chat closes.
// bot:    the data-bot example (--bot EXECUTABLE, started here in the room before the page joins, so that the
//         page finds its `bot` data producer at join) and one page: --count (20) lines typed in the page, each
//         answered by the bot with `<name> said me: "<text>"`, shown in the page.
//
// Prints one JSON line on stdout: {ok, step, error, timeline, ...; diagnostics when it failed}.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Run, launchChromium, parseArgs, uniqueRoom, waitFor } from './lib.mjs';
import { CurlEvents, DataPage, LineProcess, curl, curlJson, firstDifference, textsFrom } from './data-lib.mjs';

const args = parseArgs();
const SCENARIO = String(args.scenario ?? 'chat');
const SERVER = args.server;
const run = new Run(`data-${SCENARIO}`);
const pages = {};
const streams = [];

/** Opens pages `names` (label -> display name), joins them in order, waits for their chat; their states. */
async function joinPages(context, room, names, configure = {}) {
  const states = {};
  for (const [label, name] of Object.entries(names)) {
    pages[label] = new DataPage(await context.newPage(), label);
    await pages[label].open(SERVER);
    if (configure[label]) await pages[label].configure(configure[label]);
  }
  for (const [label, name] of Object.entries(names)) await pages[label].join(room, name);
  for (const label of Object.keys(names)) states[label] = await pages[label].chatReady();
  return states;
}

const chatId = (state) => state.data.producers.find((p) => p.label === 'chat' && !p.closed)?.id;

/** A broadcaster driven by curl: joined, its event stream open, a direct transport. */
async function curlBroadcaster(room, id, displayName, maxMessageSize = 262144) {
  await curlJson(SERVER, 'POST', `/rooms/${room}/broadcasters`, { id, displayName, device: { name: 'curl' } });
  const events = new CurlEvents(`${SERVER}/rooms/${room}/broadcasters/${id}/events`);
  streams.push(events);
  await events.opened;
  const transport = await curlJson(SERVER, 'POST', `/rooms/${room}/broadcasters/${id}/transports`,
    { type: 'direct', maxMessageSize });
  return { id, events, transport };
}

/**
 * `curl -X POST -H 'Content-Type: TYPE' --data-binary DATA …/data-producers/{id}/messages` (bytes go through a
 * file: `--data-binary @FILE`): must be 204.
 */
async function postMessage(dataProducerId, data, type = 'text/plain') {
  let body = data;
  let file = null;
  if (typeof data !== 'string') {
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mediagate-data-')), 'message.bin');
    fs.writeFileSync(file, data);
    body = `@${file}`;
  }
  try {
    const r = await curl(`${SERVER}/data-producers/${dataProducerId}/messages`,
      ['-X', 'POST', '-H', `Content-Type: ${type}`, '--data-binary', body]);
    if (r.status !== 204) throw new Error(`POST message: HTTP ${r.status}: ${r.body}`);
  } finally {
    if (file) fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

/** Per received message, its arrival minus its sending time (ms), matched by text: {median, p95, max}. */
function latencies(sent, received) {
  const sentAt = new Map(sent.filter((m) => m.own).map((m) => [m.text, m.at]));
  const list = received.filter((m) => !m.own && sentAt.has(m.text)).map((m) => m.at - sentAt.get(m.text))
    .sort((x, y) => x - y);
  const at = (q) => list[Math.min(list.length - 1, Math.floor(q * list.length))] ?? null;
  return { count: list.length, median: at(0.5), p95: at(0.95), max: list[list.length - 1] ?? null };
}

async function stats(path) {
  const list = await curlJson(SERVER, 'GET', path);
  return Array.isArray(list) ? list[0] : list;
}

run.onCleanup(() => streams.forEach((s) => s.close()));

await run.main(async () => {
  const room = String(args.room ?? uniqueRoom(`data-${SCENARIO}`));
  run.set('room', room);
  run.step('launch chromium');
  const context = await launchChromium(run);
  const scenario = { chat, http, limits, close, bot }[SCENARIO];
  if (!scenario) throw new Error(`--scenario must be chat, http, limits, close or bot, not ${SCENARIO}`);
  await scenario(context, room);
}, async () => {
  const out = {};
  for (const [label, page] of Object.entries(pages)) {
    out[label] = await page.diagnostics();
    out[label].chat = (await page.chatLines().catch(() => [])).slice(-10);
  }
  out.curlEvents = streams.map((s) => s.events.slice(-10));
  return out;
});

async function chat(context, room) {
  const COUNT = Number(args.count ?? 200);
  run.step('join two pages');
  const s = await joinPages(context, room, { a: 'Alice', b: 'Bob' });
  const ids = { a: s.a.broadcasterId, b: s.b.broadcasterId };
  const chats = { a: chatId(s.a), b: chatId(s.b) };
  run.set('chat_producers', chats);
  run.step('each page consumes the other\'s chat');
  const consumers = { a: await pages.a.consumerOpen(chats.b), b: await pages.b.consumerOpen(chats.a) };
  run.set('consumers', consumers);

  run.step('a line typed in the form');
  const typed = 'Hello Bob, typed in the form';
  const typedAt = Date.now();
  await pages.a.typeChat(typed);
  await pages.b.shows('Alice', typed);
  run.set('typed_ms', Date.now() - typedAt);
  run.set('typed_latency_ms', latencies(await pages.a.chatMessages(), await pages.b.chatMessages()).max);

  run.step(`${COUNT} messages each way`);
  const texts = (who) => Array.from({ length: COUNT },
    (_, i) => `${who} #${String(i).padStart(4, '0')} ${'·'.repeat(i % 40)}`);
  const sent = { a: texts('Alice'), b: texts('Bob') };
  const started = Date.now();
  await Promise.all([pages.a.sendChats(sent.a), pages.b.sendChats(sent.b)]);
  const sentMs = Date.now() - started;
  const [ma, mb] = await waitFor(`each page receives ${COUNT} messages of the other`,
    async () => [await pages.a.chatMessages(), await pages.b.chatMessages()],
    ([xa, xb]) => textsFrom(xa, ids.b).length >= COUNT && textsFrom(xb, ids.a).length >= COUNT + 1,
    { timeout: 30_000, interval: 50 });
  const last = (list, from) => Math.max(...list.filter((m) => m.broadcasterId === from).map((m) => m.at));
  run.set('sent_ms', sentMs);
  run.set('delivered_ms', { toA: last(ma, ids.b) - started, toB: last(mb, ids.a) - started });
  run.set('latency_ms', { toA: latencies(mb, ma), toB: latencies(ma, mb) });

  run.step('check order and completeness');
  const gotA = textsFrom(ma, ids.b);
  const gotB = textsFrom(mb, ids.a);
  const diffA = firstDifference(gotA, sent.b);
  const diffB = firstDifference(gotB, [typed, ...sent.a]);
  run.set('received', { a: gotA.length, b: gotB.length });
  if (diffA || diffB) {
    throw new Error(`out of order or incomplete: a ${JSON.stringify(diffA)}, b ${JSON.stringify(diffB)}`);
  }
  const names = (list) => [...new Set(list.filter((m) => !m.own).map((m) => m.displayName))];
  run.set('display_names', { a: names(ma), b: names(mb) });
  if (names(ma).join() !== 'Bob' || names(mb).join() !== 'Alice') throw new Error('wrong sender names');
  // The panel draws once per frame: wait for it to catch up with the messages.
  await pages.b.shows('Alice', sent.a[COUNT - 1], { timeout: 5_000 });

  run.step('server stats');
  run.set('server', {
    aProducer: await stats(`/data-producers/${chats.a}/stats`),
    bConsumer: await stats(`/data-consumers/${consumers.b.id}/stats`),
  });
}

async function http(context, room) {
  run.step('join a page');
  const s = await joinPages(context, room, { a: 'Alice' });
  const pageChat = chatId(s.a);

  run.step('curl joins with a direct transport');
  const carol = await curlBroadcaster(room, 'carol-curl', 'Carol');
  const producer = await curlJson(SERVER, 'POST', `/transports/${carol.transport.id}/data-producers`,
    { label: 'chat' });
  const consumer = await curlJson(SERVER, 'POST', `/transports/${carol.transport.id}/data-consumers`,
    { dataProducerId: pageChat });
  run.set('curl', { transport: carol.transport, dataProducer: producer, dataConsumer: consumer });
  await pages.a.consumerOpen(producer.id);

  run.step('curl posts to the page');
  const texts = ['hello from curl', 'grüße aus der Shell ✓ — 日本語',
    ...Array.from({ length: 20 }, (_, i) => `curl line ${i + 1}`)];
  const started = Date.now();
  for (const text of texts) await postMessage(producer.id, text);
  await pages.a.shows('Carol', texts[texts.length - 1]);
  run.set('curl_to_page_ms', Date.now() - started);
  const got = textsFrom(await pages.a.chatMessages(), carol.id);
  const diff = firstDifference(got, texts);
  if (diff) throw new Error(`the page got curl's messages wrong: ${JSON.stringify(diff)}`);
  await pages.a.shows('Carol', 'hello from curl');

  run.step('curl posts binary');
  await postMessage(producer.id, Buffer.from('\x00\x01\x02binary', 'latin1'), 'application/octet-stream');
  const binary = await waitFor('the page receives the binary message', () => pages.a.chatMessages(),
    (list) => list.some((m) => m.binary), { timeout: 5000, interval: 50 });
  run.set('binary', binary.find((m) => m.binary));

  run.step('a line typed in the page reaches curl');
  const typed = 'hello Carol, from the page';
  const typedAt = Date.now();
  await pages.a.typeChat(typed);
  const [event] = await carol.events.wait('dataConsumer.message', (d) => d.dataConsumerId === consumer.id);
  run.set('page_to_curl_ms', Date.now() - typedAt);
  run.set('curl_event', event);
  if (event.data.data !== typed || event.data.ppid !== 51 || event.data.encoding !== 'text'
    || event.data.dataProducerId !== pageChat) {
    throw new Error(`curl's stream got ${JSON.stringify(event)}`);
  }
  run.set('received', { page: got.length, curl: carol.events.named('dataConsumer.message').length });
}

async function limits(context, room) {
  const MAX = Number(args.max ?? 16384);
  run.step('join two pages');
  const s = await joinPages(context, room, { a: 'Alice', b: 'Bob' }, { a: { maxSctpMessageSize: MAX } });
  run.set('max', { asked: MAX, server: s.a.transports.send.sctpParameters?.maxMessageSize,
    browser: s.a.data.maxMessageSize, bRecv: s.b.data.recvMaxMessageSize });
  if (s.a.data.maxMessageSize !== MAX) {
    throw new Error(`the browser's maxMessageSize is ${s.a.data.maxMessageSize}, not the ${MAX} asked for`);
  }
  const pageChat = chatId(s.a);
  await pages.b.consumerOpen(pageChat);

  run.step('a message of exactly the maximum');
  await pages.a.sendChats(['M'.repeat(MAX)]);
  await waitFor('b receives the maximum-size message', () => pages.b.chatMessages(),
    (list) => list.some((m) => m.size === MAX), { timeout: 10_000, interval: 50 });

  run.step('one byte more');
  const refused = await pages.a.page.evaluate((n) => {
    try {
      window.mediagate.sendChat('x'.repeat(n));
      return null;
    } catch (e) {
      return { name: e.name, message: e.message };
    }
  }, MAX + 1);
  run.set('refused', refused);
  if (!refused) throw new Error(`the browser sent ${MAX + 1} bytes over a ${MAX}-byte maximum`);

  run.step('the association stays up');
  const after = 'a normal message after the oversize one';
  await pages.a.sendChats([after]);
  await pages.b.shows('Alice', after);
  // Chromium updates RTCSctpTransport.state from its network thread, after the channels already carry data:
  // give both browser-side states a moment to say `connected` (the test still fails when they never do).
  const connected = (side) => (s) => s.data[side] === 'connected';
  const waitStarted = Date.now();
  const sa = await waitFor('a: the send transport\'s SCTP state', () => pages.a.state(), connected('sendSctpState'),
    { timeout: 5_000, interval: 50 }).catch(() => pages.a.state());
  const sb = await waitFor('b: the receive transport\'s SCTP state', () => pages.b.state(), connected('recvSctpState'),
    { timeout: 5_000, interval: 50 }).catch(() => pages.b.state());
  run.set('sctp_state_wait_ms', Date.now() - waitStarted);
  run.set('sctp_states', { aSend: sa.data.sendSctpState, bRecv: sb.data.recvSctpState,
    aServer: sa.transports.send.serverSctpState, bServer: sb.transports.recv.serverSctpState });
  const sizes = textsFrom(await pages.b.chatMessages(), s.a.broadcasterId).map((t) => t.length);
  run.set('b_received_sizes', sizes);
  if (sizes.some((n) => n > MAX)) throw new Error(`b received a message over ${MAX} bytes: ${sizes}`);
}

async function close(context, room) {
  run.step('join two pages');
  const s = await joinPages(context, room, { a: 'Alice', b: 'Bob' });
  const pageChat = chatId(s.a);
  const bConsumer = await pages.b.consumerOpen(pageChat);

  run.step('curl consumes a\'s chat on a direct transport');
  const dave = await curlBroadcaster(room, 'dave-curl', 'Dave');
  const consumer = await curlJson(SERVER, 'POST', `/transports/${dave.transport.id}/data-consumers`,
    { dataProducerId: pageChat });
  await pages.a.sendChats(['before the close']);
  await dave.events.wait('dataConsumer.message', (d) => d.data === 'before the close');
  await pages.b.shows('Alice', 'before the close');

  run.step('DELETE the data producer');
  const started = Date.now();
  await curlJson(SERVER, 'DELETE', `/data-producers/${pageChat}`, undefined, [204]);
  const [curlEvent] = await dave.events.wait('dataConsumer.closed', (d) => d.dataConsumerId === consumer.id);
  const curlMs = curlEvent.at - started;
  const sb = await waitFor('b gets dataConsumer.closed and removes the channel', () => pages.b.state(),
    (st) => st.data.closedEvents.some((e) => e.dataConsumerId === bConsumer.id)
      && !st.data.consumers.some((c) => c.dataProducerId === pageChat), { timeout: 5000, interval: 50 });
  const bEvent = sb.data.closedEvents.find((e) => e.dataConsumerId === bConsumer.id);
  const sa = await waitFor('a\'s chat closes', () => pages.a.state(),
    (st) => !st.data.chatReady && st.data.producers.some((p) => p.id === pageChat && p.closed),
    { timeout: 5000, interval: 50 });
  run.set('closed', {
    curl: { ...curlEvent.data, ms: curlMs },
    b: { ...bEvent, ms: bEvent.at - started },
    aChat: sa.data.producers.find((p) => p.id === pageChat),
  });
  for (const e of [curlEvent.data, bEvent]) {
    if (e.dataProducerId !== pageChat || e.reason !== 'data producer closed') {
      throw new Error(`dataConsumer.closed says ${JSON.stringify(e)}`);
    }
  }
  await pages.b.shows(null, 'Alice\'s chat channel closed');

  run.step('the consumers are gone from the API');
  const gone = {};
  for (const id of [consumer.id, bConsumer.id]) gone[id] = (await curl(`${SERVER}/data-consumers/${id}`)).status;
  run.set('gone', gone);
  if (Object.values(gone).some((status) => status !== 404)) {
    throw new Error(`consumers still there: ${JSON.stringify(gone)}`);
  }
}

async function bot(context, room) {
  const COUNT = Number(args.count ?? 20);
  if (!args.bot) throw new Error('--bot EXECUTABLE (the data-bot example) is required');
  run.step('start the data-bot');
  const botProcess = new LineProcess('data-bot', String(args.bot), ['--server', SERVER, '--room', room]);
  run.onCleanup(async () => run.set('bot_exit', await botProcess.stop()));
  const botProducerId = await botProcess.waitLine('DATA_PRODUCER_ID=');
  await botProcess.waitLine('SCTP_STATE=connected');

  run.step('join a page');
  const s0 = await joinPages(context, room, { a: 'Alice' });
  run.step('the bot consumes the page\'s chat');
  await botProcess.waitLine(`CONSUMING=${chatId(s0.a)}`);
  run.step('the page consumes the bot');
  const s = await waitFor('the page consumes a bot data producer', () => pages.a.state(),
    (st) => st.data.consumers.some((c) => c.label === 'bot' && c.readyState === 'open'),
    { timeout: 10_000, interval: 100 });
  const botConsumer = s.data.consumers.find((c) => c.label === 'bot');
  if (botConsumer.dataProducerId !== botProducerId) {
    throw new Error(`the page consumes ${botConsumer.dataProducerId}, not the bot's ${botProducerId}`);
  }
  const botProducer = s.data.remote.find((p) => p.id === botConsumer.dataProducerId);
  run.set('bot', { consumer: botConsumer, producer: botProducer });
  const botName = (await pages.a.state()).tiles.find((t) => t.broadcasterId === botProducer.broadcasterId)?.displayName;

  run.step(`${COUNT} lines typed, each answered`);
  const started = Date.now();
  const texts = Array.from({ length: COUNT }, (_, i) => `question ${i + 1}: how are you?`);
  for (const text of texts) await pages.a.typeChat(text);
  const expected = texts.map((t) => `Alice said me: "${t}"`);
  const answers = await waitFor(`${COUNT} answers of the bot`, async () =>
    (await pages.a.chatMessages()).filter((m) => m.label === 'bot').map((m) => m.text),
  (list) => list.length >= COUNT, { timeout: 15_000, interval: 50 });
  run.set('answered_ms', Date.now() - started);
  run.set('answers', answers.length);
  const diff = firstDifference(answers, expected);
  if (diff) throw new Error(`the bot's answers differ: ${JSON.stringify(diff)}`);
  // The panel draws once per frame: wait for it to catch up with the messages.
  const shown = await waitFor(`the panel shows ${COUNT} bot lines`, async () =>
    (await pages.a.chatLines()).filter((l) => l.className === 'bot'),
  (list) => list.length >= COUNT, { timeout: 5_000, interval: 50 });
  run.set('bot_name', botName ?? shown[0]?.from);
  if (shown[COUNT - 1].text !== expected[COUNT - 1]) {
    throw new Error(`the panel's last bot line is ${JSON.stringify(shown[COUNT - 1])}`);
  }
}
