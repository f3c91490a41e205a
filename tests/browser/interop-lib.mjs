// Shared by the interop drivers (interop-*.mjs, run by tests/process/browser_interop.rs): a mediasoup-client page
// (msc/page.js bundled with esbuild, loaded on the server's origin), the server's REST API from Node, and the
// hand-off with the Rust test while a call runs (a marker line on stderr, then waiting for a release file).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { log, watchConsole } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** msc/page.js and mediasoup-client 3.24.1 as one IIFE. */
export async function bundleMsc() {
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

/** One tab running the mediasoup-client bundle (`window.mscTest`, see msc/page.js). */
export class MscPage {
  constructor(page, label) {
    this.page = page;
    this.label = label;
    this.console = [];
    watchConsole(page, this.console);
  }

  static async open(context, server, code, label) {
    const msc = new MscPage(await context.newPage(), label);
    await msc.page.goto(`${server}/health`);
    await msc.page.setContent('<!doctype html><title>mediasoup-client test</title><link rel="icon" href="data:,">' +
      '<body></body>');
    await msc.page.addScriptTag({ content: code });
    return msc;
  }

  version() {
    return this.page.evaluate(() => window.mscTest.version);
  }

  join(room, name, options = {}) {
    return this.page.evaluate(([r, n, o]) => window.mscTest.join(r, n, o), [room, name, options]);
  }

  consume(broadcasterId) {
    return this.page.evaluate((id) => window.mscTest.consume(id), broadcasterId);
  }

  restartIce() {
    return this.page.evaluate(() => window.mscTest.restartIce());
  }

  state() {
    return this.page.evaluate(() => window.mscTest.state());
  }

  stats() {
    return this.page.evaluate(() => window.mscTest.stats());
  }

  async diagnostics() {
    const out = { console: this.console.slice(-20) };
    out.state = await this.state().catch((e) => e.message);
    out.stats = await this.stats().catch((e) => e.message);
    return out;
  }
}

/** A request to the server's REST API; resolves to `{status, body}` (body parsed as JSON when it is). */
export async function api(server, method, route, body) {
  const response = await fetch(`${server}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch { /* not JSON */ }
  return { status: response.status, body: parsed };
}

/** Like `api`, but throws unless the status is 2xx; resolves to the body. */
export async function apiOk(server, method, route, body) {
  const r = await api(server, method, route, body);
  if (r.status < 200 || r.status > 299) {
    throw new Error(`${method} ${route}: HTTP ${r.status}: ${JSON.stringify(r.body)?.slice(0, 300)}`);
  }
  return r.body;
}

/**
 * Tells the Rust test that the call is up (`NAME {json}` on stderr), then waits until it creates `file` (or
 * `timeout` ms pass: then throws). Without `file` it returns at once.
 */
export async function handOff(name, detail, file, timeout = 60_000) {
  log(`${name} ${JSON.stringify(detail)}`);
  if (!file) return;
  const deadline = Date.now() + timeout;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`the test did not release ${name} within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const seconds = (ms) => Math.round(ms / 100) / 10;
