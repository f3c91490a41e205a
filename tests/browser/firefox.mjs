#!/usr/bin/env node
// Firefox and Chromium on the server's page (static/) in one room: Firefox (puppeteer-core over WebDriver BiDi)
// publishes to and views from a Chromium tab (playwright-core). Passes when each decodes at least --frames (90)
// video frames of the other within --within (15) s of joining, receives its audio, and Firefox's transports
// negotiated the DTLS version asked for.
//
//   node tests/browser/firefox.mjs http://127.0.0.1:3000 [--dtls 1.3|1.3-no-pq|1.2] [--frames 90] [--within 15]
//
// --dtls picks Firefox's prefs: 1.3 is its default (an X25519MLKEM768 key share, a ClientHello in two
// fragments), 1.3-no-pq drops the post-quantum share, 1.2 caps it at DTLS 1.2. Prints one JSON line on stdout.

import { FIREFOX_DTLS, Run, allSettled, launchChromium, launchFirefox, parseArgs, uniqueRoom, waitFor } from './lib.mjs';
import { StaticPage, inbound, summary } from './static-page.mjs';

const args = parseArgs();
const DTLS = String(args.dtls ?? '1.3');
const FRAMES = Number(args.frames ?? 90);
const WITHIN = Number(args.within ?? 15) * 1000;
// getStats `transport.tlsVersion`: the DTLS wire version in hex.
const TLS_VERSION = { '1.3': 'FEFC', '1.3-no-pq': 'FEFC', '1.2': 'FEFD' };
const run = new Run(`firefox-dtls-${DTLS}`);
const pages = {};

await run.main(async () => {
  if (!(DTLS in FIREFOX_DTLS)) throw new Error(`--dtls must be one of ${Object.keys(FIREFOX_DTLS).join(', ')}`);
  const room = uniqueRoom('firefox');
  run.set('server', args.server);
  run.set('room', room);
  run.set('dtls', DTLS);

  run.step('launch browsers');
  const [firefox, chromium] = await Promise.all([launchFirefox(run, DTLS), launchChromium(run)]);
  run.set('firefox_version', await firefox.version());

  run.step('open pages');
  pages.firefox = new StaticPage(await firefox.newPage(), 'firefox');
  pages.chromium = new StaticPage(await chromium.newPage(), 'chromium');
  await Promise.all([pages.firefox.open(args.server), pages.chromium.open(args.server)]);

  run.step('join');
  const joinedAt = Date.now();
  await pages.chromium.join(room, 'Chromium');
  await pages.firefox.join(room, 'Firefox');
  const [f, c] = await allSettled([pages.firefox.joined(), pages.chromium.joined()]);
  run.set('ids', { firefox: f.broadcasterId, chromium: c.broadcasterId });

  run.step(`decode ${FRAMES} frames each way`);
  const [sf, sc] = await waitFor(`each browser decodes ${FRAMES} frames of the other and receives audio`,
    async () => [await pages.firefox.stats(), await pages.chromium.stats()],
    ([x, y]) => {
      const fi = inbound(x, c.broadcasterId);
      const ci = inbound(y, f.broadcasterId);
      return fi.framesDecoded >= FRAMES && ci.framesDecoded >= FRAMES && fi.audioPackets > 0 && ci.audioPackets > 0;
    }, { timeout: Math.max(0, WITHIN - (Date.now() - joinedAt)), interval: 500 });
  run.set('media_seconds', Math.round((Date.now() - joinedAt) / 100) / 10);
  run.set('firefox', { received: inbound(sf, c.broadcasterId), ...summary(sf) });
  run.set('chromium', { received: inbound(sc, f.broadcasterId), ...summary(sc) });

  run.step('check DTLS version');
  for (const name of ['send', 'recv']) {
    const version = sf.transports[name]?.tlsVersion;
    if (version !== TLS_VERSION[DTLS]) {
      throw new Error(`firefox ${name} transport: tlsVersion ${version}, expected ${TLS_VERSION[DTLS]} (DTLS ${DTLS})`);
    }
  }
}, async () => {
  const out = {};
  for (const [label, page] of Object.entries(pages)) out[label] = await page.diagnostics();
  return out;
});
