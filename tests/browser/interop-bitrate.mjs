#!/usr/bin/env node
// Send-side bandwidth estimation against the server's feedback: a mediasoup-client 3.24.1 tab publishes a fake
// camera at --width x --height (1280x720) @ 30 fps with the encoding's maxBitrate at --max-kbps (5000). Every
// half second the driver turns the publisher's `outbound-rtp` bytesSent into a bitrate and records the send pair's
// availableOutgoingBitrate (Chrome's estimate), the encoder's target and the server's view of the producer.
// Passes when two consecutive half-second samples exceed --target-kbps (1000) within --within (10) s of the call to
// join (getUserMedia, transports, produce). (Without delay-based feedback Chrome's loss-based estimate grows ~8% a second from 300 kbps:
// about 15 s to 1 Mbps.)
//
// The camera is a Y4M file Chromium loops (--use-file-for-fake-video-capture): one second of FFmpeg's testsrc2
// with temporal noise, made here with ffmpeg. Chromium's built-in fake camera is too easy to compress: at
// 1280x720 and 20 fps (its maximum rate) libvpx sends ~650 kbps with a 5 Mbps target and a 5.4 Mbps estimate.
// --builtin-camera uses it anyway (to see that).
//
//   node tests/browser/interop-bitrate.mjs http://127.0.0.1:3000 [--target-kbps 1000] [--within 10]
//
// Prints one JSON line on stdout with the per-second samples.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Run, launchChromium, parseArgs, uniqueRoom } from './lib.mjs';
import { MscPage, api, bundleMsc, seconds, sleep } from './interop-lib.mjs';

const args = parseArgs();
const TARGET = Number(args['target-kbps'] ?? 1000);
const WITHIN = Number(args.within ?? 10) * 1000;
const WIDTH = Number(args.width ?? 1280);
const HEIGHT = Number(args.height ?? 720);
const MAX_KBPS = Number(args['max-kbps'] ?? 5000);
const run = new Run('interop-bitrate');
const pages = {};

await run.main(async () => {
  const room = uniqueRoom('bitrate');
  run.set('server', args.server);
  run.set('room', room);
  run.step('bundle mediasoup-client');
  const code = await bundleMsc();
  const extraArgs = [];
  if (!args['builtin-camera']) {
    run.step('make the camera file');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediagate-camera-'));
    run.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'camera.y4m');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i',
      `testsrc2=size=${WIDTH}x${HEIGHT}:rate=30`, '-vf', 'noise=alls=20:allf=t', '-t', '1', '-pix_fmt', 'yuv420p',
      file]);
    extraArgs.push(`--use-file-for-fake-video-capture=${file}`);
  }
  run.set('camera', args['builtin-camera'] ? 'chromium fake device' : 'testsrc2 + noise (y4m)');
  run.step('launch chromium');
  const context = await launchChromium(run, extraArgs);
  run.step('open page');
  pages.publisher = await MscPage.open(context, args.server, code, 'publisher');

  run.step('publisher joins');
  const publishedAt = Date.now();
  await pages.publisher.join(room, 'Publisher', {
    audio: false,
    video: { width: { min: WIDTH }, height: { min: HEIGHT } },
    maxBitrate: MAX_KBPS * 1000,
  });
  const producerId = (await pages.publisher.state()).producers.video.id;

  run.step(`send bitrate above ${TARGET} kbps`);
  const samples = [];
  let previous = null;
  let reached = null;
  while (Date.now() - publishedAt <= WITHIN && reached === null) {
    if (previous !== null) await sleep(500);
    const s = await pages.publisher.stats();
    const now = Date.now();
    const video = s.outbound.video ?? {};
    const bytes = video.bytesSent ?? 0;
    const kbps = previous ? Math.round(((bytes - previous.bytes) * 8) / (now - previous.at)) : null;
    previous = { at: now, bytes };
    if (kbps === null) continue;
    const producer = await api(args.server, 'GET', `/producers/${producerId}/stats`);
    const sample = {
      t: seconds(now - publishedAt),
      kbps,
      availableOutgoingKbps: Math.round((s.transports.send?.availableOutgoingBitrate ?? 0) / 1000),
      targetKbps: Math.round((video.targetBitrate ?? 0) / 1000),
      size: `${video.frameWidth}x${video.frameHeight}`,
      fps: video.framesPerSecond,
      limitation: video.qualityLimitationReason,
      serverKbps: Math.round((Array.isArray(producer.body) ? producer.body[0]?.bitrate ?? 0 : 0) / 1000),
    };
    samples.push(sample);
    const n = samples.length;
    if (n >= 2 && samples[n - 1].kbps > TARGET && samples[n - 2].kbps > TARGET) reached = samples[n - 2].t;
  }
  run.set('samples', samples);
  run.set('reached_seconds', reached);
  run.set('max_kbps', Math.max(...samples.map((x) => x.kbps)));
  run.set('max_available_outgoing_kbps', Math.max(...samples.map((x) => x.availableOutgoingKbps)));
  run.set('encoder', (await pages.publisher.stats()).outbound.video?.encoderImplementation);
  if (reached === null) {
    throw new Error(`the send bitrate stayed under ${TARGET} kbps for ${WITHIN} ms: ${JSON.stringify(samples)}`);
  }
}, async () => {
  const out = {};
  for (const [label, page] of Object.entries(pages)) out[label] = await page.diagnostics();
  return out;
});
