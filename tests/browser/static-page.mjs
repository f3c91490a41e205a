// Drives one tab of the server's own page (static/): opens it, joins through the form (the click is the user
// gesture that lets remote audio autoplay), and reads `window.mediagate`. Works with playwright and
// puppeteer pages alike (both have goto, fill/type, click, evaluate, close).

import { waitFor, watchConsole } from './lib.mjs';

export class StaticPage {
  constructor(page, label) {
    this.page = page;
    this.label = label;
    this.console = [];
    watchConsole(page, this.console);
  }

  async open(server) {
    await this.page.goto(`${server}/`);
    await this.page.waitForFunction(() => typeof window.mediagate === 'object');
  }

  async join(room, name) {
    for (const [selector, value] of [['#room', room], ['#name', name]]) {
      await this.page.evaluate((s) => { document.querySelector(s).value = ''; }, selector);
      await this.page.type(selector, value);
    }
    await this.page.click('#join');
  }

  state() {
    return this.page.evaluate(() => window.mediagate.state());
  }

  stats() {
    return this.page.evaluate(() => window.mediagate.stats());
  }

  /**
   * Waits for the join to finish (phase `joined` with both producers); throws with the failing step. With
   * `signallingOnly`, a failure at the first SDP exchange counts as joined (both transports exist by then).
   */
  async joined({ timeout = 10_000, signallingOnly = false } = {}) {
    const s = await waitFor(`${this.label}: join and publish`, () => this.state(),
      (s) => s.phase === 'failed' || (s.phase === 'joined' && s.producers.audio && s.producers.video),
      { timeout });
    if (s.phase === 'failed' && !(signallingOnly && s.step === 'POST send offer')) {
      throw new Error(`${this.label}: ${s.error}`);
    }
    return s;
  }

  /** The tile of broadcaster `id` appeared (its name shown). */
  hasTile(state, id) {
    return state.tiles.some((t) => t.broadcasterId === id);
  }

  /** What went wrong, from the page's own view: state (step, error, transports, log), stats, console. */
  async diagnostics() {
    const out = { console: this.console.slice(-20) };
    try {
      const s = await this.state();
      out.state = { ...s, log: s.log?.slice(-15) };
    } catch (e) {
      out.state = `unavailable: ${e.message}`;
    }
    try {
      out.stats = await this.stats();
    } catch (e) {
      out.stats = `unavailable: ${e.message}`;
    }
    return out;
  }
}

/** The remote peer `id`'s inbound counters in a `stats()` result (zeros when absent). */
export function inbound(stats, id) {
  const peer = stats?.peers?.find((p) => p.broadcasterId === id);
  return {
    framesDecoded: peer?.video?.framesDecoded ?? 0,
    videoPackets: peer?.video?.packetsReceived ?? 0,
    audioPackets: peer?.audio?.packetsReceived ?? 0,
  };
}

/** The excerpt of a page's stats a result line carries: selected pairs, ciphers, bitrates. */
export function summary(stats) {
  const t = (x) => x && {
    pair: x.selectedCandidatePair, dtlsState: x.dtlsState, tlsVersion: x.tlsVersion,
    dtlsCipher: x.dtlsCipher, srtpCipher: x.srtpCipher, dtlsRole: x.dtlsRole,
  };
  return {
    send: t(stats?.transports?.send),
    recv: t(stats?.transports?.recv),
    outbound: stats?.outbound,
    bitrates: stats?.bitrates,
  };
}
