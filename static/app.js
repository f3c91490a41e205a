// The page: the join form, one tile per remote broadcaster, connection states and bitrates, the chat panel,
// and the test hook `window.mediagate` (state() and stats() as plain JSON, so tests need not scrape the DOM).

import { BOT, CHAT } from './data.js';
import { Session } from './session.js';

const $ = (id) => document.getElementById(id);
let session = null;
const tiles = new Map(); // broadcasterId -> {figure, video, audio, videoStream, audioStream, stats}
// The last byte counters seen, to turn counters into bitrates between two samples.
let previous = null;
let latest = { bitrates: {}, stats: null };
// Session options for the next join (see `window.mediagate.configure`).
let options = {};
// Chat lines kept on the page (the session keeps more messages for the hook).
const CHAT_LINES = 500;
// Characters of a message shown (the rest is elided, with the message's size).
const CHAT_SHOWN = 1000;

$('join-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (session) return;
  $('status').textContent = '';
  start($('room').value.trim(), $('name').value.trim());
});

$('leave').addEventListener('click', () => stop());
$('camera').addEventListener('change', (e) => session?.setSending('video', e.target.checked));
$('microphone').addEventListener('change', (e) => session?.setSending('audio', e.target.checked));
$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('chat-input').value;
  if (!session || !text) return;
  try {
    session.data.sendChat(text);
    $('chat-input').value = '';
  } catch (err) {
    chatNotice(`not sent: ${err.message}`);
  }
});
// A closing page leaves, so the others drop its tile at once rather than when ICE consent expires.
addEventListener('pagehide', () => session?.leaveOnUnload());

async function start(room, name) {
  session = new Session(room, name, options);
  session.addEventListener('peer-added', (e) => addTile(e.detail.id, e.detail.displayName));
  session.addEventListener('peer-removed', (e) => removeTile(e.detail.id));
  session.addEventListener('peer-renamed', (e) => renameTile(e.detail.id, e.detail.displayName));
  session.addEventListener('track', (e) => attachTrack(e.detail.broadcasterId, e.detail.track));
  session.addEventListener('track-removed', (e) => detachTrack(e.detail.broadcasterId, e.detail.track));
  session.addEventListener('local', (e) => {
    $('local-video').srcObject = e.detail;
    $('local-tile').hidden = false;
  });
  session.addEventListener('change', render);
  session.addEventListener('message', (e) => showMessage(e.detail));
  session.addEventListener('data-consumer-removed', (e) => {
    if (e.detail.label === CHAT || e.detail.label === BOT) {
      chatNotice(`${session.data.displayName(e.detail.broadcasterId)}'s ${e.detail.label} channel closed`);
    }
  });
  for (const id of ['room', 'name', 'join']) $(id).disabled = true;
  $('leave').disabled = false;
  try {
    await session.join();
    $('camera').disabled = $('microphone').disabled = false;
  } catch (e) {
    $('status').textContent = session.error ?? e.message;
  }
  render();
}

async function stop() {
  const s = session;
  if (!s) return;
  await s.leave();
  session = null;
  for (const id of ['room', 'name', 'join']) $(id).disabled = false;
  $('leave').disabled = $('camera').disabled = $('microphone').disabled = true;
  $('local-tile').hidden = true;
  $('local-video').srcObject = null;
  $('chat-log').replaceChildren();
  render();
}

// --- chat -------------------------------------------------------------------------------------------------

function showMessage(m) {
  if (m.label !== CHAT && m.label !== BOT) return; // other channels are for the hook only
  const li = document.createElement('li');
  li.className = m.own ? 'own' : m.label;
  const from = Object.assign(document.createElement('span'),
    { className: 'from', textContent: m.own ? 'you' : m.displayName });
  let shown = m.binary ? `[${m.size} bytes of binary]` : m.text;
  if (!m.binary && shown.length > CHAT_SHOWN) shown = `${shown.slice(0, CHAT_SHOWN)}… (${m.size} bytes)`;
  const text = Object.assign(document.createElement('span'), { className: 'text', textContent: shown });
  li.append(from, text);
  appendChatLine(li);
}

function chatNotice(line) {
  appendChatLine(Object.assign(document.createElement('li'), { className: 'notice', textContent: line }));
}

// Lines wait for the next frame, so that a burst of messages (one task each) costs one layout, not one per
// message. A hidden page gets no frames: it flushes on a timer instead.
let pendingLines = [];

function appendChatLine(li) {
  if (pendingLines.push(li) > 1) return;
  if (document.hidden) setTimeout(flushChatLines, 0);
  else requestAnimationFrame(flushChatLines);
}

function flushChatLines() {
  const log = $('chat-log');
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(...pendingLines);
  pendingLines = [];
  while (log.childElementCount > CHAT_LINES) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// --- tiles ------------------------------------------------------------------------------------------------

function addTile(id, displayName) {
  if (tiles.has(id)) return;
  const figure = document.createElement('figure');
  figure.className = 'tile remote';
  figure.dataset.broadcasterId = id;
  // Video plays muted (autoplay needs no gesture then); audio has its own element, allowed by the Join click.
  const video = Object.assign(document.createElement('video'), { muted: true, autoplay: true, playsInline: true });
  const audio = Object.assign(document.createElement('audio'), { autoplay: true });
  const caption = document.createElement('figcaption');
  const name = Object.assign(document.createElement('span'), { className: 'name', textContent: displayName });
  const stats = Object.assign(document.createElement('span'), { className: 'stats' });
  caption.append(name, stats);
  figure.append(video, audio, caption);
  $('tiles').append(figure);
  tiles.set(id, { figure, video, audio, videoStream: new MediaStream(), audioStream: new MediaStream(), stats });
}

function renameTile(id, displayName) {
  const name = tiles.get(id)?.figure.querySelector('.name');
  if (name) name.textContent = displayName;
}

function removeTile(id) {
  const tile = tiles.get(id);
  if (!tile) return;
  tile.figure.remove();
  tiles.delete(id);
}

function attachTrack(id, track) {
  const tile = tiles.get(id);
  if (!tile) return;
  const [stream, element] = track.kind === 'video' ? [tile.videoStream, tile.video] : [tile.audioStream, tile.audio];
  stream.addTrack(track);
  // Re-assigning srcObject makes the element pick up a track added after it started playing.
  element.srcObject = stream;
}

function detachTrack(id, track) {
  const tile = tiles.get(id);
  if (!tile) return;
  (track.kind === 'video' ? tile.videoStream : tile.audioStream).removeTrack(track);
}

// --- rendering and stats ----------------------------------------------------------------------------------

function render() {
  for (const name of ['send', 'recv']) {
    const t = session?.transports[name];
    const el = $(`conn-${name}`).querySelector('.state');
    el.textContent = t?.id
      ? `pc ${t.connectionState ?? '–'} / ice ${t.iceConnectionState ?? '–'} · server ice ${t.serverIceState ?? '–'}` +
        ` dtls ${t.serverDtlsState ?? '–'}`
      : '–';
  }
  if (session?.error) $('status').textContent = session.error;
  const ready = !!session?.data.chatReady;
  $('chat-input').disabled = $('chat-send').disabled = !ready;
  $('chat-state').textContent = !session ? '' : ready ? `· ${session.data.consumers.size} incoming` :
    session.data.chatError ? `· unavailable: ${session.data.chatError}` : '· connecting';
  for (const [id, tile] of tiles) {
    const paused = [...(session?.remoteProducers.values() ?? [])].some(
      (p) => p.broadcasterId === id && p.kind === 'video' && p.paused);
    tile.figure.classList.toggle('video-paused', paused);
  }
}

function kbps(bytes, before, seconds) {
  return before === undefined || seconds <= 0 ? null : Math.round(((bytes - before) * 8) / seconds / 1000);
}

/** Every second: counters from getStats, turned into bitrates shown on the page and kept for the hook. */
async function sample() {
  if (!session || session.phase === 'left') return;
  const stats = await session.stats();
  const now = performance.now();
  const bytes = {
    send: stats.transports.send?.bytesSent,
    recv: stats.transports.recv?.bytesReceived,
    outbound: Object.values(stats.outbound).reduce((s, r) => s + (r.bytesSent ?? 0), 0),
  };
  for (const p of stats.peers) bytes[p.broadcasterId] = (p.audio?.bytesReceived ?? 0) + (p.video?.bytesReceived ?? 0);
  const seconds = previous ? (now - previous.at) / 1000 : 0;
  const bitrates = {};
  for (const [k, v] of Object.entries(bytes)) bitrates[k] = kbps(v ?? 0, previous?.bytes[k], seconds);
  previous = { at: now, bytes };
  latest = { bitrates, stats };
  $('conn-send').querySelector('.bitrate').textContent = bitrates.send === null ? '' : `${bitrates.send} kbps out`;
  $('conn-recv').querySelector('.bitrate').textContent = bitrates.recv === null ? '' : `${bitrates.recv} kbps in`;
  for (const p of stats.peers) {
    const tile = tiles.get(p.broadcasterId);
    if (!tile) continue;
    const rate = bitrates[p.broadcasterId];
    tile.stats.textContent = `${p.video?.framesDecoded ?? 0} frames · ${p.audio?.packetsReceived ?? 0} audio pkts` +
      (rate === null ? '' : ` · ${rate} kbps`);
  }
}

setInterval(() => sample().catch(() => {}), 1000);

// --- test hook --------------------------------------------------------------------------------------------

window.mediagate = {
  /** The session's plain state (phase, failing step, peers and consumers, transport states, log) and tiles. */
  state() {
    const s = session?.snapshot() ?? { phase: 'idle' };
    s.tiles = [...tiles.entries()].map(([id, t]) => ({
      broadcasterId: id,
      displayName: t.figure.querySelector('.name').textContent,
      videoTracks: t.videoStream.getVideoTracks().length,
      audioTracks: t.audioStream.getAudioTracks().length,
    }));
    return s;
  },
  /**
   * Fresh getStats counters: per remote tile (frames decoded, packets received), outbound per kind, per
   * transport (selected candidate pair, DTLS state, TLS version, DTLS and SRTP ciphers), plus the bitrates
   * (kbps) of the last one-second sample.
   */
  async stats() {
    if (!session) return null;
    return { ...(await session.stats()), bitrates: latest.bitrates };
  },
  /** The form's actions, for drivers that cannot click (the Join click is what allows audio to autoplay). */
  join: (room, name) => start(room, name),
  leave: () => stop(),
  setSending: (kind, on) => session?.setSending(kind, on),
  /** ICE restart on both transports (see Session.restartIce); resolves to the new server ufrags. */
  restartIce: () => session?.restartIce(),
  /** Options for the next join: `{maxSctpMessageSize}` asked for both transports. */
  configure(next) {
    options = { ...next };
  },
  /** Our chat data producer's id (null before it exists). */
  get dataProducerId() {
    return session?.data.chat?.id ?? null;
  },
  /** Sends on our chat channel as the form does; throws when it is not open or the browser refuses. */
  sendChat: (text) => {
    if (!session) throw new Error('not joined');
    session.data.sendChat(text);
  },
  /** Chat and bot messages, ours included: `{own, label, broadcasterId, displayName, text, size, at}`. */
  chatMessages: () => messages((m) => m.label === CHAT || m.label === BOT),
  /** Messages received on any channel, optionally only those of `label` or of data producer `dataProducerId`. */
  dataMessages: ({ label, dataProducerId } = {}) => messages((m) => !m.own
    && (label === undefined || m.label === label)
    && (dataProducerId === undefined || m.dataProducerId === dataProducerId)),
  /**
   * Another data producer of ours on the send transport: `{label, ordered, maxRetransmits|maxPacketLifeTime}`;
   * resolves to `{dataProducerId, streamId}`.
   */
  openDataChannel: (opts) => session.openDataChannel(opts),
  /** Sends a string on our data producer `dataProducerId`; throws what the browser throws. */
  sendData: (dataProducerId, data) => session.data.send(dataProducerId, data),
  /** Consumes a remote data producer whatever its label (its messages then show in `dataMessages`). */
  consumeData: (dataProducerId) => session.consumeData(dataProducerId),
};

function messages(keep) {
  return (session?.data.messages ?? []).filter(keep).map((m) => ({
    own: m.own, label: m.label, dataProducerId: m.dataProducerId, broadcasterId: m.broadcasterId,
    displayName: m.displayName, text: m.text, size: m.size, binary: m.binary, at: m.at,
  }));
}
