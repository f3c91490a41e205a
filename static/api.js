// The server's REST API and event streams, as used by the page. Paths are relative to the page's origin.

/** A failed request: `status` is the HTTP status (0 for a network error), `detail` the problem+json detail. */
export class ApiError extends Error {
  constructor(method, path, status, detail) {
    super(`${method} ${path}: ${status ? `HTTP ${status}` : 'network error'}${detail ? `: ${detail}` : ''}`);
    this.status = status;
    this.detail = detail;
  }
}

/** Sends a request with an optional JSON body; resolves to the parsed JSON body (null for 204). */
export async function request(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(method, path, 0, e.message);
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const problem = await response.json();
      detail = problem.detail ?? problem.title ?? detail;
    } catch { /* not problem+json */ }
    throw new ApiError(method, path, response.status, detail);
  }
  return response.status === 204 ? null : response.json();
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);
export const del = (path) => request('DELETE', path);

/** Every event name either stream can carry (EventSource only dispatches named events to named listeners). */
const EVENT_NAMES = [
  'reset', 'room.closed',
  'broadcaster.joined', 'broadcaster.left',
  'producer.added', 'producer.closed', 'producer.paused', 'producer.resumed', 'producer.score',
  'dataProducer.added', 'dataProducer.closed',
  'transport.closed', 'transport.iceStateChanged', 'transport.dtlsStateChanged', 'transport.sctpStateChanged',
  'transport.tuple', 'transport.rtcpTuple',
  'consumer.closed', 'consumer.paused', 'consumer.resumed', 'consumer.producerPaused',
  'consumer.producerResumed', 'consumer.layersChanged', 'consumer.score',
  'dataConsumer.closed', 'dataConsumer.dataProducerPaused', 'dataConsumer.dataProducerResumed',
];

/**
 * Opens an event stream and resolves once the server has answered (from then on the subscription exists on
 * the server, so nothing published later is missed). `onEvent(name, data)` gets every event.
 */
export function openEvents(path, onEvent) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(path);
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => onEvent(name, JSON.parse(e.data)));
    }
    source.onopen = () => resolve(source);
    source.onerror = () => {
      // Before `open`, an error is final for us; after it, EventSource reconnects with Last-Event-ID itself.
      if (source.readyState === EventSource.CLOSED) reject(new Error(`event stream ${path} failed`));
    };
  });
}

/**
 * The part of the room's RTP capabilities this browser can receive: codecs that
 * `RTCRtpReceiver.getCapabilities` lists (same MIME type, clock rate, channels and, for H264 and VP9, the
 * parameters that select a different decoder), RTX for the kept codecs, and known header extensions.
 */
export function receivableCapabilities(room) {
  const local = {
    audio: RTCRtpReceiver.getCapabilities('audio') ?? { codecs: [], headerExtensions: [] },
    video: RTCRtpReceiver.getCapabilities('video') ?? { codecs: [], headerExtensions: [] },
  };
  const isRtx = (codec) => /\/rtx$/i.test(codec.mimeType);
  const codecs = room.codecs.filter(
    (codec) => !isRtx(codec) && local[codec.kind].codecs.some((l) => sameCodec(l, codec)),
  );
  const keptPayloadTypes = new Set(codecs.map((c) => c.preferredPayloadType));
  for (const codec of room.codecs) {
    if (isRtx(codec) && keptPayloadTypes.has(codec.parameters?.apt) && local[codec.kind].codecs.some(isRtx)) {
      codecs.push(codec);
    }
  }
  const headerExtensions = (room.headerExtensions ?? []).filter((ext) =>
    local[ext.kind]?.headerExtensions.some((l) => l.uri === ext.uri),
  );
  return { codecs, headerExtensions };
}

function fmtp(line) {
  return Object.fromEntries(
    (line ?? '').split(';').filter(Boolean).map((kv) => kv.trim().split('=')),
  );
}

function sameCodec(local, room) {
  if (local.mimeType.toLowerCase() !== room.mimeType.toLowerCase()) return false;
  if (local.clockRate !== room.clockRate) return false;
  if (room.kind === 'audio' && (local.channels ?? 1) !== (room.channels ?? 1)) return false;
  const l = fmtp(local.sdpFmtpLine);
  const r = room.parameters ?? {};
  switch (room.mimeType.toLowerCase()) {
    case 'video/h264':
      // Same packetization mode and profile (the first byte of profile-level-id); levels are negotiable.
      return String(l['packetization-mode'] ?? 0) === String(r['packetization-mode'] ?? 0) &&
        (l['profile-level-id'] ?? '42001f').slice(0, 2).toLowerCase() ===
        String(r['profile-level-id'] ?? '42001f').slice(0, 2).toLowerCase();
    case 'video/vp9':
      return String(l['profile-id'] ?? 0) === String(r['profile-id'] ?? 0);
    default:
      return true;
  }
}
