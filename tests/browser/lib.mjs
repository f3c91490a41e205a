// Shared by the drivers: arguments, launching the system's Chromium and Firefox with the flags and prefs
// that make WebRTC work on loopback in a network namespace, polling with deadlines, and the one JSON line
// every driver prints (the Rust tests in tests/process/browser.rs parse it).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';
export const FIREFOX = '/usr/bin/firefox-esr';

// Without --allow-loopback-in-peer-connection Chromium gathers no loopback candidates; without the fake UI
// (media permission granted) it gathers nothing at all in a loopback-only namespace.
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
];

// Fake devices, loopback candidates, and camera/microphone permission (without it Firefox gathers only on
// its default-route address, which a loopback-only namespace does not have).
export const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.peerconnection.ice.loopback': true,
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
};

// Firefox's DTLS variants: its default (DTLS 1.3 with an X25519MLKEM768 key share split over two
// ClientHello fragments), 1.3 without the post-quantum share, and 1.2 only.
export const FIREFOX_DTLS = {
  '1.3': {},
  '1.3-no-pq': { 'media.webrtc.enable_pq_hybrid_kex': false },
  '1.2': { 'media.peerconnection.dtls.version.max': 771 },
};

/** `--name value` and `--flag` arguments; the first bare argument is the server's base URL. */
export function parseArgs(argv = process.argv.slice(2)) {
  const args = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) args[k] = v;
      else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) args[k] = argv[++i];
      else args[k] = true;
    } else {
      args._.push(a);
    }
  }
  args.server = (args.server ?? args._[0] ?? process.env.MEDIAGATE ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  return args;
}

/**
 * A driver's run: `step(name)` marks progress, `set(k, v)` records a measurement; `finish()` prints the one
 * JSON result line (`ok`, the failing `step` and `error`, measurements, diagnostics) and exits 0 or 1.
 */
export class Run {
  constructor(driver) {
    this.driver = driver;
    this.started = Date.now();
    this.result = { driver, ok: false, step: null, error: null, timeline: {} };
    this.diagnostics = {};
    this.cleanups = [];
  }

  step(name) {
    this.result.step = name;
    this.result.timeline[name] = this.elapsed();
    log(`${this.elapsed()} s: ${name}`);
  }

  elapsed() {
    return Math.round((Date.now() - this.started) / 100) / 10;
  }

  set(key, value) {
    this.result[key] = value;
  }

  onCleanup(fn) {
    this.cleanups.unshift(fn);
  }

  /** Runs `body(run)`; on failure collects `diagnose()` (per page state and stats); always prints and exits. */
  async main(body, diagnose) {
    const watchdog = setTimeout(() => {
      this.result.error = 'driver watchdog: no result within 120 s';
      this.print();
      process.exit(1);
    }, 120_000);
    try {
      await body(this);
      this.result.ok = true;
      this.result.step = 'done';
    } catch (e) {
      this.result.error = e.message ?? String(e);
      log(e.stack ?? String(e));
      try {
        this.diagnostics = await withTimeout(diagnose?.() ?? {}, 10_000, 'diagnostics');
      } catch (d) {
        this.diagnostics = { error: `collecting diagnostics failed: ${d.message}` };
      }
    }
    for (const fn of this.cleanups) {
      await withTimeout(Promise.resolve().then(fn), 10_000, 'cleanup').catch((e) => log(`cleanup: ${e.message}`));
    }
    clearTimeout(watchdog);
    this.print();
    process.exit(this.result.ok ? 0 : 1);
  }

  print() {
    const out = { ...this.result, elapsed: this.elapsed() };
    if (!this.result.ok) out.diagnostics = this.diagnostics;
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
}

/** Progress on stderr (stdout carries only the result line). */
export function log(line) {
  process.stderr.write(`${line}\n`);
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Polls `probe()` every `interval` ms until `done(value)` holds; throws after `timeout` ms with `what` and
 * the last value seen. Resolves to the satisfying value.
 */
export async function waitFor(what, probe, done, { timeout = 15_000, interval = 250 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (done(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeout} ms; last seen ${JSON.stringify(last)?.slice(0, 1500)}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

function requireExecutable(file, install) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new Error(`${file} is missing: install ${install} (scripts/test.sh does)`);
  }
}

/**
 * A fresh headless Chromium (its own profile directory, removed at cleanup), with `extraArgs` after the usual
 * flags (e.g. `--use-file-for-fake-video-capture=FILE.y4m` for a camera with other content).
 */
export async function launchChromium(run, extraArgs = []) {
  requireExecutable(CHROMIUM, 'the Debian packages chromium and fonts-liberation');
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mediagate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
  });
  run.onCleanup(async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/** A headless Firefox over WebDriver BiDi with the loopback prefs and one of `FIREFOX_DTLS`'s variants. */
export async function launchFirefox(run, dtls = '1.3') {
  requireExecutable(FIREFOX, 'the Debian package firefox-esr');
  if (!(dtls in FIREFOX_DTLS)) throw new Error(`unknown DTLS variant ${dtls}: one of ${Object.keys(FIREFOX_DTLS)}`);
  const puppeteer = (await import('puppeteer-core')).default;
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: { ...FIREFOX_PREFS, ...FIREFOX_DTLS[dtls] },
  });
  run.onCleanup(() => browser.close());
  return browser;
}

/** Like Promise.all, but waits for every promise to settle (so each page's state is final) before throwing. */
export async function allSettled(promises) {
  const results = await Promise.allSettled(promises);
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message ?? String(r.reason));
  if (failed.length) throw new Error(failed.join('; '));
  return results.map((r) => r.value);
}

/** Collects a page's console errors and uncaught exceptions (playwright and puppeteer pages alike). */
export function watchConsole(page, sink) {
  page.on('console', (m) => {
    const type = typeof m.type === 'function' ? m.type() : m.type;
    if (type === 'error' || type === 'warning' || type === 'warn') sink.push(`${type}: ${m.text()}`.slice(0, 500));
  });
  page.on('pageerror', (e) => sink.push(`pageerror: ${e.message ?? e}`.slice(0, 500)));
}

/**
 * A blank page titled `title` on the server's origin (so its `fetch`es are same-origin), in a fresh Chromium
 * context, its console errors collected into `consoleLines`: what the minimal WHIP/WHEP pages start from.
 */
export async function minimalPage(run, server, title, consoleLines) {
  run.step('launch chromium');
  const context = await launchChromium(run);
  run.step('open page');
  const page = await context.newPage();
  watchConsole(page, consoleLines);
  await page.goto(`${server}/health`);
  await page.setContent(`<!doctype html><title>${title}</title><link rel="icon" href="data:,"><body></body>`);
  return page;
}

/** A room name no other run uses. */
export function uniqueRoom(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Runs in a page before its scripts (playwright `addInitScript`, puppeteer `evaluateOnNewDocument`), to put
 * the impairment proxy (tests/process/impair.rs) between the page and the server: rewrites every remote
 * description it applies so that the server's UDP candidates (and m= ports) in `ports` (server port -> proxy
 * port) point at the proxy on 127.0.0.1, and drops ICE-TCP candidates. Keeps every RTCPeerConnection it sees
 * and counts what it rewrote in `window.__impair` ({pcs, rewritten, removedTcp}).
 */
export function proxyInit(ports) {
  const hook = { pcs: [], rewritten: 0, removedTcp: 0 };
  window.__impair = hook;
  const rewrite = (sdp) => sdp.split('\r\n').flatMap((line) => {
    if (line.startsWith('a=candidate:')) {
      const f = line.split(' ');
      if (f[2]?.toLowerCase() === 'tcp') {
        hook.removedTcp++;
        return [];
      }
      if (f[2]?.toLowerCase() === 'udp' && ports[f[5]]) {
        f[4] = '127.0.0.1';
        f[5] = String(ports[f[5]]);
        hook.rewritten++;
        return [f.join(' ')];
      }
    }
    const m = /^m=(\S+) (\d+) (.*)$/.exec(line);
    if (m && ports[m[2]]) return [`m=${m[1]} ${ports[m[2]]} ${m[3]}`];
    return [line];
  }).join('\r\n');
  const native = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (description, ...rest) {
    if (!hook.pcs.includes(this)) hook.pcs.push(this);
    const d = description?.sdp ? { type: description.type, sdp: rewrite(description.sdp) } : description;
    return native.call(this, d, ...rest);
  };
}
