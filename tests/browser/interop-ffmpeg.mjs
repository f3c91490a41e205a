#!/usr/bin/env node
// A tab of the server's page (static/) in a room where FFmpeg publishes (examples/ffmpeg-broadcaster.sh, a
// broadcaster named --peer-name, "FFmpeg"): the tab publishes its camera and microphone and views FFmpeg. Passes
// when it decodes at least --frames (90) of FFmpeg's video frames within --within (15) s of joining and receives
// its audio. Then it prints `PAGE_VIEWED {published: {broadcasterId, video, audio}, received}` on stderr (its
// producer ids, for the Rust test to record through plain consumers) and, with --hold-file PATH, keeps
// publishing until PATH exists (the recording is done). One direction after the other: two real-time encoders,
// a browser and a recorder at once are too much for two shared cores.
//
//   node tests/browser/interop-ffmpeg.mjs http://127.0.0.1:3000 --room media [--frames 90] [--within 15] …
//
// Prints one JSON line on stdout.

import { Run, launchChromium, parseArgs, waitFor } from './lib.mjs';
import { handOff, seconds } from './interop-lib.mjs';
import { StaticPage, inbound, summary } from './static-page.mjs';

const args = parseArgs();
const FRAMES = Number(args.frames ?? 90);
const WITHIN = Number(args.within ?? 15) * 1000;
const PEER = args['peer-name'] ?? 'FFmpeg';
const run = new Run('interop-ffmpeg');
const pages = {};

await run.main(async () => {
  if (!args.room) throw new Error('--room is required (the room FFmpeg publishes in)');
  run.set('server', args.server);
  run.set('room', args.room);
  run.step('launch chromium');
  const context = await launchChromium(run);
  run.step('open page');
  pages.page = new StaticPage(await context.newPage(), 'page');
  await pages.page.open(args.server);

  run.step('join and publish');
  const joinedAt = Date.now();
  await pages.page.join(args.room, 'Browser');
  const joined = await pages.page.joined();
  const published = { broadcasterId: joined.broadcasterId, video: joined.producers.video.id,
    audio: joined.producers.audio.id };
  run.set('published', published);

  run.step(`decode ${FRAMES} frames of ${PEER}`);
  const peerId = async () => (await pages.page.state()).peers.find((p) => p.displayName === PEER)?.id;
  const [id, stats] = await waitFor(`the page decodes ${FRAMES} frames of ${PEER} and receives its audio`,
    async () => { const i = await peerId(); return [i, await pages.page.stats()]; },
    ([i, s]) => i && inbound(s, i).framesDecoded >= FRAMES && inbound(s, i).audioPackets > 0,
    { timeout: Math.max(0, WITHIN - (Date.now() - joinedAt)), interval: 500 });
  run.set('media_seconds', seconds(Date.now() - joinedAt));
  run.set('received', inbound(stats, id));
  const peer = stats.peers.find((p) => p.broadcasterId === id);
  run.set('received_video', peer?.video);
  run.set('transports', summary(stats));

  run.step('keep publishing until the recording is done');
  await handOff('PAGE_VIEWED', { published, received: inbound(stats, id) }, args['hold-file']);
  run.set('outbound', (await pages.page.stats()).outbound);
}, async () => {
  const out = {};
  for (const [label, page] of Object.entries(pages)) out[label] = await page.diagnostics();
  return out;
});
