// A mediasoup-client (3.24.1) peer using only mediagate's REST API, bundled by esbuild into one IIFE at test
// time (msc-page.mjs) and loaded into a page on the server's origin. It exposes `window.mscTest`:
//   join(room, name)       loads the room's capabilities into a Device, joins, opens a send and a recv transport
//                          (`connect` -> POST /transports/{id}/connect, `produce` -> POST /transports/{id}/producers),
//                          and produces camera and microphone;
//   consume(broadcasterId) waits for that broadcaster's audio and video producers (room events) and consumes
//                          them (POST /transports/{id}/consumers, created paused; resumed after transport.consume);
//   state(), stats()       plain JSON for the driver;
//   restartIce()           POST /transports/{id}/restart-ice for both transports, each applied with
//                          transport.restartIce({iceParameters}); resolves to the new usernameFragments.
//   produceChat()          a DataProducer labelled `chat` (ordered, reliable) on the send transport
//                          (`producedata` -> POST /transports/{id}/data-producers); resolves when its channel is open;
//   consumeChat(id)        waits for that broadcaster's `chat` data producer (room events) and consumes it
//                          (POST /transports/{id}/data-consumers, then transport.consumeData); resolves when open;
//   sendChat(n, prefix)    sends n string messages `${prefix}-${i}` on the chat DataProducer.
// join's third argument (interop tests) may set `video` (getUserMedia constraints), `audio: false`,
// `maxBitrate` (bps, on the video encoding), `corruptFingerprint` (connect sends a fingerprint that is not
// this browser's certificate's) and `data` (transports with SCTP, for the chat functions).

import { Device, version } from 'mediasoup-client';

const state = {
  phase: 'idle', step: null, error: null, handlerName: null, broadcasterId: null,
  producers: {}, consumers: {}, remoteProducers: {}, transports: {}, serverStates: {}, serverEvents: [],
  remoteDataProducers: {}, dataProducer: null, dataConsumers: {}, chatReceived: [], log: [],
};
let chatProducer;
let device;
let testOptions = {};
const transports = {};
const consumers = {};
const producerWaiters = [];

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const text = await response.text();
    throw new Error(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  }
  return response.status === 204 ? null : response.json();
}

async function step(name, fn) {
  state.step = name;
  note(name);
  try {
    return await fn();
  } catch (e) {
    state.phase = 'failed';
    state.error = `${name}: ${e.message}`;
    note(`failed: ${state.error}`);
    throw e;
  }
}

function note(line) {
  state.log.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
  if (state.log.length > 60) state.log.shift();
}

/** Resolves once `open` fired: the server holds the subscription, so later events are not missed. */
function events(path, handler) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(path);
    for (const name of ['producer.added', 'producer.closed', 'transport.iceStateChanged',
      'transport.dtlsStateChanged', 'transport.sctpStateChanged', 'transport.closed', 'consumer.closed',
      'dataProducer.added', 'dataConsumer.closed']) {
      source.addEventListener(name, (e) => handler(name, JSON.parse(e.data)));
    }
    source.onopen = () => resolve(source);
    source.onerror = () => source.readyState === EventSource.CLOSED && reject(new Error(`${path} failed`));
  });
}

function onEvent(name, data) {
  if (name === 'producer.added' && data.broadcasterId !== state.broadcasterId) {
    state.remoteProducers[data.producerId] = { id: data.producerId, kind: data.kind, broadcasterId: data.broadcasterId };
    producerWaiters.forEach((wake) => wake());
  } else if (name === 'dataProducer.added' && data.broadcasterId !== state.broadcasterId) {
    state.remoteDataProducers[data.dataProducerId] = { id: data.dataProducerId, label: data.label,
      broadcasterId: data.broadcasterId };
    producerWaiters.forEach((wake) => wake());
  } else if (name === 'dataConsumer.closed') {
    if (state.dataConsumers[data.dataConsumerId]) state.dataConsumers[data.dataConsumerId].closed = data.reason;
  } else if (name === 'producer.closed') {
    delete state.remoteProducers[data.producerId];
  } else if (name.startsWith('transport.')) {
    const which = Object.keys(transports).find((k) => transports[k].id === data.transportId);
    if (which) state.serverStates[which] = { ...state.serverStates[which], ...data };
    if (which && state.serverEvents.length < 40) state.serverEvents.push({ transport: which, event: name, ...data });
  } else if (name === 'consumer.closed') {
    if (state.consumers[data.consumerId]) state.consumers[data.consumerId].closed = data.reason;
  }
}

async function createTransport(direction) {
  const request = { type: 'webrtc' };
  if (testOptions.data) {
    // mediasoup-client 3.24 no longer exposes sctpCapabilities: its handlers use 1024/1024, our default.
    request.enableSctp = true;
  }
  const info = await api('POST', `/rooms/${state.room}/broadcasters/${state.broadcasterId}/transports`, request);
  const options = {
    id: info.id,
    iceParameters: info.iceParameters,
    iceCandidates: info.iceCandidates,
    dtlsParameters: info.dtlsParameters,
    sctpParameters: info.sctpParameters ?? undefined,
  };
  const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
  state.transports[direction] = { id: transport.id, connectionState: transport.connectionState };
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    note(`${direction}: connect`);
    if (testOptions.corruptFingerprint) dtlsParameters = corruptFingerprints(dtlsParameters);
    note(`${direction}: connect with role ${dtlsParameters.role}, ${dtlsParameters.fingerprints.map((f) =>
      `${f.algorithm} ${f.value.slice(0, 8)}…`).join(', ')}`);
    api('POST', `/transports/${transport.id}/connect`, { dtlsParameters }).then(() => callback(), (e) => {
      note(`${direction}: connect failed: ${e.message}`);
      errback(e);
    });
  });
  transport.on('connectionstatechange', (s) => {
    state.transports[direction].connectionState = s;
    note(`${direction}: ${s}`);
  });
  if (direction === 'send') {
    transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
      api('POST', `/transports/${transport.id}/producers`, { kind, rtpParameters })
        .then(({ id }) => callback({ id }), errback);
    });
    transport.on('producedata', ({ sctpStreamParameters, label, protocol }, callback, errback) => {
      api('POST', `/transports/${transport.id}/data-producers`, { sctpStreamParameters, label, protocol })
        .then(({ id }) => callback({ id }), errback);
    });
  }
  transports[direction] = transport;
}

/** The same parameters with every fingerprint's first byte flipped: no longer this browser's certificate. */
function corruptFingerprints(dtlsParameters) {
  const flip = (value) => {
    const bytes = value.split(':');
    bytes[0] = (parseInt(bytes[0], 16) ^ 0xff).toString(16).padStart(2, '0').toUpperCase();
    return bytes.join(':');
  };
  return {
    ...dtlsParameters,
    fingerprints: dtlsParameters.fingerprints.map((f) => ({ ...f, value: flip(f.value) })),
  };
}

async function join(room, name, joinOptions = {}) {
  testOptions = joinOptions;
  state.room = room;
  state.phase = 'joining';
  state.broadcasterId = crypto.randomUUID();
  const caps = await step('load room capabilities', () => api('GET', `/rooms/${room}/rtp-capabilities`));
  device = await step('create device', () => Device.factory());
  state.handlerName = device.handlerName;
  await step('device.load', () => device.load({ routerRtpCapabilities: caps }));
  await step('open room events', () => events(`/rooms/${room}/events`, onEvent));
  const joined = await step('create broadcaster', () => api('POST', `/rooms/${room}/broadcasters`, {
    id: state.broadcasterId,
    displayName: name,
    device: { name: 'mediasoup-client', version },
    rtpCapabilities: device.rtpCapabilities,
  }));
  for (const peer of joined.peers) {
    for (const p of peer.producers) state.remoteProducers[p.id] = { ...p, broadcasterId: peer.id };
  }
  await step('open broadcaster events', () => events(`/rooms/${room}/broadcasters/${state.broadcasterId}/events`,
    onEvent));
  await step('create send transport', () => createTransport('send'));
  await step('create recv transport', () => createTransport('recv'));
  const stream = await step('getUserMedia', () => navigator.mediaDevices.getUserMedia({
    audio: testOptions.audio ?? true, video: testOptions.video ?? { width: 640, height: 360, frameRate: 30 },
  }));
  for (const track of stream.getTracks()) {
    const encodings = track.kind === 'video' && testOptions.maxBitrate ? [{ maxBitrate: testOptions.maxBitrate }] : undefined;
    const producer = await step(`produce ${track.kind}`, () => transports.send.produce({ track, encodings }));
    state.producers[track.kind] = { id: producer.id };
  }
  state.phase = 'joined';
  return state.broadcasterId;
}

async function consume(broadcasterId) {
  const wanted = () => Object.values(state.remoteProducers).filter((p) => p.broadcasterId === broadcasterId);
  await step(`wait for ${broadcasterId}'s producers`, () => new Promise((resolve, reject) => {
    const check = () => wanted().length >= 2 && resolve();
    producerWaiters.push(check);
    check();
    setTimeout(() => reject(new Error(`only ${wanted().length} producers of ${broadcasterId} after 10 s`)), 10_000);
  }));
  for (const p of wanted()) {
    const info = await step(`create consumer for ${p.kind}`, () => api('POST',
      `/transports/${transports.recv.id}/consumers`,
      { producerId: p.id, rtpCapabilities: device.rtpCapabilities, paused: true }));
    const consumer = await step(`transport.consume ${p.kind}`, () => transports.recv.consume({
      id: info.id, producerId: info.producerId, kind: info.kind, rtpParameters: info.rtpParameters,
    }));
    consumers[info.id] = consumer;
    // Give the track a sink, as an application would.
    const element = document.createElement(info.kind);
    Object.assign(element, { muted: true, autoplay: true, srcObject: new MediaStream([consumer.track]) });
    document.body.append(element);
    await step(`resume ${p.kind} consumer`, () => api('POST', `/consumers/${info.id}/resume`));
    state.consumers[info.id] = { id: info.id, kind: info.kind, producerId: p.id, broadcasterId };
  }
}

/** Resolves when a DataProducer's or DataConsumer's channel is open (at once if it already is). */
function opened(channel, what) {
  return new Promise((resolve, reject) => {
    if (channel.readyState === 'open') return resolve();
    channel.on('open', resolve);
    channel.on('error', (e) => reject(new Error(`${what}: ${e?.message ?? e}`)));
    setTimeout(() => reject(new Error(`${what} not open after 10 s (${channel.readyState})`)), 10_000);
  });
}

async function produceChat() {
  chatProducer = await step('produceData chat', () => transports.send.produceData({ ordered: true, label: 'chat' }));
  await step('chat DataProducer open', () => opened(chatProducer, 'chat DataProducer'));
  state.dataProducer = { id: chatProducer.id, streamId: chatProducer.sctpStreamParameters.streamId };
  return chatProducer.id;
}

async function consumeChat(broadcasterId) {
  const wanted = () => Object.values(state.remoteDataProducers)
    .find((p) => p.broadcasterId === broadcasterId && p.label === 'chat');
  await step(`wait for ${broadcasterId}'s chat data producer`, () => new Promise((resolve, reject) => {
    const check = () => wanted() && resolve();
    producerWaiters.push(check);
    check();
    setTimeout(() => reject(new Error(`no chat data producer of ${broadcasterId} after 10 s`)), 10_000);
  }));
  const info = await step('create data consumer', () => api('POST',
    `/transports/${transports.recv.id}/data-consumers`, { dataProducerId: wanted().id }));
  const dataConsumer = await step('transport.consumeData', () => transports.recv.consumeData({
    id: info.id, dataProducerId: info.dataProducerId, sctpStreamParameters: info.sctpStreamParameters,
    label: info.label, protocol: info.protocol,
  }));
  dataConsumer.on('message', (message) => {
    state.chatReceived.push(typeof message === 'string' ? message : `<binary ${message.byteLength}>`);
  });
  await step('chat DataConsumer open', () => opened(dataConsumer, 'chat DataConsumer'));
  state.dataConsumers[info.id] = { id: info.id, streamId: info.sctpStreamParameters.streamId, broadcasterId };
}

function sendChat(n, prefix) {
  for (let i = 0; i < n; i += 1) chatProducer.send(`${prefix}-${i}`);
}

async function restartIce() {
  const ufrags = {};
  for (const [name, transport] of Object.entries(transports)) {
    const iceParameters = await step(`restart ICE of ${name}`, () =>
      api('POST', `/transports/${transport.id}/restart-ice`));
    await step(`apply new ICE parameters to ${name}`, () => transport.restartIce({ iceParameters }));
    ufrags[name] = iceParameters.usernameFragment;
  }
  return ufrags;
}

function pick(r, keys) {
  return Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));
}

async function stats() {
  const out = { inbound: {}, outbound: {}, transports: {} };
  for (const c of Object.values(consumers)) {
    for (const r of (await c.getStats()).values()) {
      if (r.type === 'inbound-rtp') {
        out.inbound[c.kind] = pick(r, ['packetsReceived', 'packetsLost', 'bytesReceived', 'framesDecoded',
          'frameWidth', 'frameHeight', 'decoderImplementation']);
      }
    }
  }
  for (const [name, t] of Object.entries(transports)) {
    const report = await t.getStats();
    const transport = [...report.values()].find((r) => r.type === 'transport');
    const pair = transport?.selectedCandidatePairId && report.get(transport.selectedCandidatePairId);
    const cand = (id) => { const c = id && report.get(id); return c ? `${c.address}:${c.port}/${c.protocol}` : null; };
    out.transports[name] = {
      ...pick(transport ?? {}, ['dtlsState', 'iceState', 'tlsVersion', 'dtlsCipher', 'srtpCipher', 'dtlsRole',
        'bytesSent', 'bytesReceived', 'iceLocalUsernameFragment']),
      localFingerprint: report.get(transport?.localCertificateId)?.fingerprint,
      remoteFingerprint: report.get(transport?.remoteCertificateId)?.fingerprint,
      pair: pair ? { id: pair.id, state: pair.state, local: cand(pair.localCandidateId),
        remote: cand(pair.remoteCandidateId), requestsSent: pair.requestsSent,
        responsesReceived: pair.responsesReceived } : null,
      // Without a selected pair, what ICE is trying (for diagnostics).
      candidatePairs: pair ? undefined : [...report.values()].filter((r) => r.type === 'candidate-pair').slice(0, 4)
        .map((r) => ({ state: r.state, local: cand(r.localCandidateId), remote: cand(r.remoteCandidateId),
          requestsSent: r.requestsSent, responsesReceived: r.responsesReceived })),
    };
    if (name === 'send') {
      for (const r of report.values()) {
        if (r.type === 'outbound-rtp') {
          out.outbound[r.kind] = pick(r, ['packetsSent', 'bytesSent', 'framesEncoded', 'frameWidth', 'frameHeight',
            'framesPerSecond', 'targetBitrate', 'qualityLimitationReason', 'encoderImplementation', 'nackCount',
            'pliCount']);
        }
      }
      if (pair) out.transports[name].availableOutgoingBitrate = pair.availableOutgoingBitrate;
    }
  }
  return out;
}

window.mscTest = {
  version, join, consume, restartIce, stats, produceChat, consumeChat, sendChat,
  state: () => JSON.parse(JSON.stringify(state)),
};
