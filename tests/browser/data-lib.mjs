// Shared by the data channel drivers (data-*.mjs, run by tests/process/browser_data.rs): the server's page with
// its chat (`window.mediagate` data hooks), and an HTTP client that is the real `curl` binary — requests, and an
// event stream read with `curl -N`.

import { spawn } from 'node:child_process';

import { waitFor } from './lib.mjs';
import { StaticPage } from './static-page.mjs';

/** One tab of the server's page, with its chat and data channel hooks. */
export class DataPage extends StaticPage {
  /** Options for the page's next join (`{maxSctpMessageSize}`). */
  configure(options) {
    return this.page.evaluate((o) => window.mediagate.configure(o), options);
  }

  /** Waits for the join (media published) and the chat channel open with its data producer; the state. */
  async chatReady({ timeout = 15_000 } = {}) {
    await this.joined({ timeout });
    return waitFor(`${this.label}: chat channel open`, () => this.state(),
      (s) => s.phase === 'failed' || s.data?.chatReady || s.data?.chatError, { timeout, interval: 100 })
      .then((s) => {
        if (!s.data?.chatReady) throw new Error(`${this.label}: chat not ready: ${s.data?.chatError ?? s.error}`);
        return s;
      });
  }

  /** Waits until this page has an open data consumer of `dataProducerId`; that consumer. */
  async consumerOpen(dataProducerId, { timeout = 10_000 } = {}) {
    const s = await waitFor(`${this.label}: an open data consumer of ${dataProducerId}`, () => this.state(),
      (s) => s.data.consumers.some((c) => c.dataProducerId === dataProducerId && c.readyState === 'open'),
      { timeout, interval: 100 });
    return s.data.consumers.find((c) => c.dataProducerId === dataProducerId);
  }

  /** Sends `texts` on the chat channel in one go (one task: as fast as the page can). */
  sendChats(texts) {
    return this.page.evaluate((list) => {
      for (const t of list) window.mediagate.sendChat(t);
    }, texts);
  }

  /** Types `text` into the chat input and clicks Send, as a person would. */
  async typeChat(text) {
    await this.page.waitForFunction(() => !document.querySelector('#chat-send').disabled);
    await this.page.fill('#chat-input', text);
    await this.page.click('#chat-send');
  }

  chatMessages() {
    return this.page.evaluate(() => window.mediagate.chatMessages());
  }

  dataMessages(filter) {
    return this.page.evaluate((f) => window.mediagate.dataMessages(f), filter);
  }

  /** The chat panel as shown: one `{from, text, className}` per line. */
  chatLines() {
    return this.page.evaluate(() => [...document.querySelectorAll('#chat-log li')].map((li) => ({
      from: li.querySelector('.from')?.textContent ?? null,
      text: li.querySelector('.text')?.textContent ?? li.textContent,
      className: li.className,
    })));
  }

  /** Waits until the chat panel shows a line from `from` with `text`. */
  shows(from, text, { timeout = 10_000 } = {}) {
    return waitFor(`${this.label} shows "${from}: ${text}"`, () => this.chatLines(),
      (lines) => lines.some((l) => l.from === from && l.text === text), { timeout, interval: 50 });
  }
}

/** Received chat messages of `broadcasterId`, in arrival order. */
export function textsFrom(messages, broadcasterId) {
  return messages.filter((m) => !m.own && m.broadcasterId === broadcasterId).map((m) => m.text);
}

/** Where `got` first differs from `expected` (null when equal): for a readable failure. */
export function firstDifference(got, expected) {
  for (let i = 0; i < Math.max(got.length, expected.length); i++) {
    if (got[i] !== expected[i]) return { index: i, got: got[i] ?? null, expected: expected[i] ?? null };
  }
  return null;
}

// --- curl ---------------------------------------------------------------------------------------------------

const STATUS_MARK = '\n--curl-status--';

/**
 * Runs `curl -sS ARGS… URL` and resolves to `{status, contentType, body, json}` (json: the parsed body when it
 * is JSON). `command` is the shell-style line, for logs and results.
 */
export function curl(url, args = []) {
  const argv = ['-sS', ...args, '--write-out', `${STATUS_MARK}%{http_code} %{content_type}`, url];
  return new Promise((resolve, reject) => {
    const child = spawn('curl', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (e) => reject(new Error(`curl: ${e.message} (install curl)`)));
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8');
      const at = text.lastIndexOf(STATUS_MARK);
      if (code !== 0 || at < 0) {
        reject(new Error(`curl ${argv.join(' ')}: exit ${code}: ${Buffer.concat(err).toString('utf8')}`));
        return;
      }
      const [status, contentType = ''] = text.slice(at + STATUS_MARK.length).split(' ');
      const body = text.slice(0, at);
      let json = null;
      try {
        json = body ? JSON.parse(body) : null;
      } catch { /* not JSON */ }
      resolve({ status: Number(status), contentType, body, json });
    });
  });
}

/** `curl` with a JSON body (or none) that must answer `expect`; resolves to the parsed body. */
export async function curlJson(server, method, path, body, expect = [200, 201]) {
  const args = ['-X', method];
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body));
  const r = await curl(`${server}${path}`, args);
  if (!expect.includes(r.status)) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
  return r.json;
}

/**
 * A Server-Sent Events stream read by `curl -N` (no buffering): `events` is every `{id, event, data}` so far
 * (data parsed as JSON). `opened` resolves at the first bytes (the server's first keep-alive comment), from
 * when the subscription exists.
 */
export class CurlEvents {
  constructor(url) {
    this.url = url;
    this.events = [];
    this.child = spawn('curl', ['-sSN', '-H', 'Accept: text/event-stream', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.stderr = '';
    let buffer = '';
    this.opened = new Promise((resolve, reject) => {
      this.child.stdout.once('data', () => resolve());
      this.child.on('error', (e) => reject(new Error(`curl: ${e.message}`)));
      this.child.on('close',
        (code) => reject(new Error(`curl -N ${url} ended (${code}) before any byte: ${this.stderr}`)));
    });
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        this.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    });
  }

  parse(frame) {
    const event = { id: null, event: 'message', data: '' };
    let data = null;
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
      else if (field === 'data') data = data === null ? value : `${data}\n${value}`;
    }
    if (data === null) return; // a keep-alive
    try {
      event.data = JSON.parse(data);
    } catch {
      event.data = data;
    }
    event.at = Date.now();
    this.events.push(event);
  }

  /** The events named `name` (and matching `keep`). */
  named(name, keep = () => true) {
    return this.events.filter((e) => e.event === name && keep(e.data));
  }

  /** Waits until at least `count` events named `name` match `keep`; resolves to them. */
  wait(name, keep = () => true, { count = 1, timeout = 10_000 } = {}) {
    return waitFor(`curl's event stream gets ${count} ${name}`, () => this.named(name, keep),
      (list) => list.length >= count, { timeout, interval: 25 });
  }

  close() {
    this.child.kill();
  }
}

// --- a helper process ---------------------------------------------------------------------------------------

/** A process whose stdout lines are kept (e.g. the data-bot example's `NAME=value` lines); stderr is kept too. */
export class LineProcess {
  constructor(name, exe, argv) {
    this.name = name;
    this.lines = [];
    this.stderr = '';
    this.exit = null;
    this.child = spawn(exe, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.on('error', (e) => { this.exit = `spawn failed: ${e.message}`; });
    this.child.on('exit', (code, signal) => { this.exit = signal ?? code; });
    let buffer = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        this.lines.push(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
  }

  /** Waits for a stdout line `prefix…` (throws if the process exits first); resolves to the rest of it. */
  async waitLine(prefix, { timeout = 15_000 } = {}) {
    const found = await waitFor(`${this.name} prints ${prefix}`, () => ({
      line: this.lines.find((l) => l.startsWith(prefix)), exit: this.exit,
    }), (s) => s.line !== undefined || s.exit !== null, { timeout, interval: 50 }).catch((e) => {
      throw new Error(`${e.message}; stderr: ${this.stderr}`);
    });
    if (found.line === undefined) throw new Error(`${this.name} exited (${found.exit}): ${this.stderr}`);
    return found.line.slice(prefix.length);
  }

  /** SIGTERM, then waits (bounded) for the exit; resolves to the exit code or signal. */
  async stop(timeout = 5000) {
    if (this.exit === null) this.child.kill('SIGTERM');
    await waitFor(`${this.name} exits`, () => this.exit, (x) => x !== null, { timeout, interval: 50 });
    return this.exit;
  }
}
