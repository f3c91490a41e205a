// One broadcaster's session in a room: joins, publishes camera and microphone on a send transport, and
// consumes every other broadcaster's producers on a receive transport. Both WebRTC transports carry an SCTP
// association for data channels too (see data.js: our chat on the send one, others' chat and the bot's on the
// receive one). Both are signalled with whole SDP documents over the REST API:
//   send: our offer  -> POST /transports/{id}/sdp {type: 'offer'}  -> the server's answer + producer ids;
//   recv: GET /transports/{id}/sdp (the server's offer: the data section, every consumer) -> our answer ->
//         POST {type: 'answer'}; negotiated once at join (for the data section) and whenever consumers change.
// The room stream (opened before joining, so no event is missed) drives tiles and consumers; our own stream
// reports the server's view of our transports (ICE/DTLS) and consumers closed under us.

import { ApiError, del, get, openEvents, post, receivableCapabilities } from './api.js';
import { CHAT, DataChannels, SCTP_OPTIONS } from './data.js';

const PC_CONFIG = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
const MEDIA = { audio: true, video: { width: 640, height: 360, frameRate: 30 } };

export class Session extends EventTarget {
  /** `options.maxSctpMessageSize`: what the transports ask for (default `SCTP_OPTIONS`'). */
  constructor(room, displayName, options = {}) {
    super();
    this.room = room;
    this.displayName = displayName;
    this.options = options;
    // A client-chosen id, so our own `broadcaster.joined` can be told apart even before the join returns.
    this.id = crypto.randomUUID();
    this.phase = 'idle'; // idle | joining | joined | left | failed
    this.step = null; // the step under way (or that failed)
    this.error = null;
    this.log = [];
    this.peers = new Map(); // broadcasterId -> {id, displayName}
    this.remoteProducers = new Map(); // producerId -> {id, broadcasterId, kind, paused}
    this.consumers = new Map(); // consumerId -> {id, producerId, broadcasterId, kind, mid, resumed, track}
    this.unconsumable = new Set(); // producer ids the server would not let us consume
    this.producers = {}; // kind -> {id, mid, paused, track}
    this.transports = { send: blankTransport(), recv: blankTransport() };
    this.negotiations = 0;
    this.queue = Promise.resolve();
    this.roomEvents = null;
    this.ownEvents = null;
    this.localStream = null;
    this.data = new DataChannels(this);
  }

  /** Joins the room, publishes camera and microphone, and starts consuming. Throws on failure. */
  async join() {
    this.phase = 'joining';
    try {
      const capabilities = await this.run('load room capabilities', () =>
        get(`/rooms/${this.room}/rtp-capabilities`));
      this.recvCapabilities = receivableCapabilities(capabilities);
      this.roomEvents = await this.run('open room events', () =>
        openEvents(`/rooms/${this.room}/events`, (name, data) => this.onRoomEvent(name, data)));
      const joined = await this.run('create broadcaster', () =>
        post(`/rooms/${this.room}/broadcasters`, {
          id: this.id,
          displayName: this.displayName,
          device: { name: browserName(), flag: 'browser' },
          rtpCapabilities: this.recvCapabilities,
        }));
      for (const peer of joined.peers) {
        this.addPeer(peer.id, peer.displayName);
        for (const p of peer.producers) this.addRemoteProducer({ ...p, broadcasterId: peer.id });
        // Data producers that existed before we joined (later ones come as dataProducer.added).
        for (const d of peer.dataProducers ?? []) {
          this.data.addRemote({ id: d.id, broadcasterId: peer.id, label: d.label, protocol: d.protocol });
        }
      }
      this.phase = 'joined';
      this.ownEvents = await this.run('open broadcaster events', () =>
        openEvents(`/rooms/${this.room}/broadcasters/${this.id}/events`, (n, d) => this.onOwnEvent(n, d)));
      await this.run('create send transport', () => this.createTransport('send'));
      await this.run('create recv transport', () => this.createTransport('recv'));
      // The server's first offer carries the data section even without consumers: its SCTP association
      // must exist before any data consumer's channel.
      await this.enqueue('negotiate recv', () => this.negotiateRecv());
      this.localStream = await this.run('getUserMedia', () => navigator.mediaDevices.getUserMedia(MEDIA));
      this.emit('local', this.localStream);
      await this.enqueue('publish', () => this.publish());
      this.sync();
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }

  /**
   * Relearns the room's data producers after a room stream reset: `GET /rooms/{id}` lists their ids, each
   * one's resource its label. Those known before and no longer listed are forgotten (one announced while the
   * list was on its way is kept).
   */
  async listDataProducers() {
    const known = [...this.data.remote.keys()];
    const room = await get(`/rooms/${this.room}`);
    const listed = new Set(room.dataProducerIds ?? []);
    for (const id of known) if (!listed.has(id)) this.data.removeRemote(id);
    for (const id of listed) {
      if (this.data.remote.has(id)) continue;
      try {
        const p = await get(`/data-producers/${id}`);
        this.data.addRemote({ id: p.id, broadcasterId: p.broadcasterId, label: p.label, protocol: p.protocol });
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404) throw e; // 404: closed meanwhile
      }
    }
  }

  /** Leaves: deletes the broadcaster (the server closes everything of ours) and closes both connections. */
  async leave() {
    if (this.phase === 'left') return;
    const wasJoined = this.phase === 'joined' || this.phase === 'failed';
    this.phase = 'left';
    this.roomEvents?.close();
    this.ownEvents?.close();
    for (const t of Object.values(this.transports)) t.pc?.close();
    this.localStream?.getTracks().forEach((t) => t.stop());
    for (const id of [...this.peers.keys()]) this.removePeer(id);
    if (wasJoined) {
      await del(`/rooms/${this.room}/broadcasters/${this.id}`).catch((e) => this.note(`leave: ${e.message}`));
    }
    this.emit('change');
  }

  /**
   * Leaves from `pagehide`: the page may be gone before a promise settles, so only a keep-alive DELETE is
   * sent (other pages then drop our tile on `broadcaster.left`).
   */
  leaveOnUnload() {
    if (this.phase !== 'joined' && this.phase !== 'failed') return;
    this.phase = 'left';
    fetch(`/rooms/${this.room}/broadcasters/${this.id}`, { method: 'DELETE', keepalive: true });
  }

  /** Pauses or resumes our producer of `kind` (and disables or enables its track). */
  async setSending(kind, on) {
    const producer = this.producers[kind];
    if (!producer) return;
    producer.track.enabled = on;
    producer.paused = !on;
    await this.run(`${on ? 'resume' : 'pause'} ${kind} producer`, () =>
      post(`/producers/${producer.id}/${on ? 'resume' : 'pause'}`)).catch((e) => this.note(e.message));
    this.emit('change');
  }

  // --- transports and negotiation -------------------------------------------------------------------------

  async createTransport(direction) {
    const maxSctpMessageSize = this.options.maxSctpMessageSize ?? SCTP_OPTIONS.maxSctpMessageSize;
    const info = await post(`/rooms/${this.room}/broadcasters/${this.id}/transports`,
      { type: 'webrtc', ...SCTP_OPTIONS, maxSctpMessageSize });
    const pc = new RTCPeerConnection(PC_CONFIG);
    const t = this.transports[direction];
    Object.assign(t, { id: info.id, pc, sctpParameters: info.sctpParameters ?? null,
      serverSctpState: info.sctpState ?? null });
    const changed = () => {
      t.connectionState = pc.connectionState;
      t.iceConnectionState = pc.iceConnectionState;
      t.signalingState = pc.signalingState;
      this.emit('change');
    };
    pc.onconnectionstatechange = changed;
    pc.oniceconnectionstatechange = changed;
    pc.onsignalingstatechange = changed;
    if (direction === 'recv') pc.ontrack = (e) => this.onTrack(e);
    changed();
  }

  /**
   * Offers our camera, microphone and chat channel on the send transport; the answer names the producers,
   * then the chat channel gets its data producer.
   */
  async publish() {
    const { pc, id } = this.transports.send;
    for (const track of this.localStream.getTracks()) {
      pc.addTransceiver(track, { direction: 'sendonly', streams: [this.localStream] });
    }
    // Before the offer, so that it has the m=application section the channel needs.
    const chat = this.data.openChannel(CHAT);
    await pc.setLocalDescription(await pc.createOffer());
    this.step = 'POST send offer';
    const answer = await post(`/transports/${id}/sdp`, { type: 'offer', sdp: pc.localDescription.sdp });
    this.step = 'apply send answer';
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    this.negotiations++;
    for (const p of answer.producers ?? []) {
      const transceiver = pc.getTransceivers().find((tr) => tr.mid === p.mid);
      this.producers[p.kind] = { id: p.id, mid: p.mid, paused: false, track: transceiver?.sender.track };
    }
    this.note(`published ${(answer.producers ?? []).map((p) => `${p.kind} ${p.id}`).join(', ')}`);
    this.step = 'create chat data producer';
    try {
      await this.data.register(chat);
    } catch (e) {
      // Chat is an extra: media goes on without it.
      this.data.chatError = e.message;
      this.note(`no chat: ${e.message}`);
    }
  }

  /**
   * A further data producer of ours (label, `ordered`, `maxRetransmits` or `maxPacketLifeTime`) on the send
   * transport's association; resolves to `{dataProducerId, streamId}`.
   */
  openDataChannel({ label, ...parameters }) {
    return this.enqueue(`open data channel ${label}`, async () => {
      const entry = await this.data.register(this.data.openChannel(label, parameters));
      return { dataProducerId: entry.id, streamId: entry.streamId };
    });
  }

  /** Consumes the remote data producer `id` whatever its label; resolves once the sync ran. */
  consumeData(id) {
    this.data.consume(id);
    this.sync();
    return this.queue;
  }

  /**
   * ICE restart on both transports: the server takes new credentials (POST /transports/{id}/restart-ice);
   * the send transport re-offers with `iceRestart`, the receive transport answers the server's next offer
   * (which carries them). Resolves to the new server username fragments.
   */
  restartIce() {
    return this.enqueue('restart ICE', async () => {
      const ufrags = {};
      for (const direction of ['send', 'recv']) {
        const { id, pc } = this.transports[direction];
        this.step = `restart ICE of ${direction}`;
        const ice = await post(`/transports/${id}/restart-ice`);
        ufrags[direction] = ice.usernameFragment;
        if (direction === 'send') {
          await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
          this.step = 'POST send re-offer';
          const answer = await post(`/transports/${id}/sdp`, { type: 'offer', sdp: pc.localDescription.sdp });
          await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
          this.negotiations++;
        } else {
          await this.negotiateRecv();
        }
        if (!pc.remoteDescription.sdp.includes(`a=ice-ufrag:${ice.usernameFragment}`)) {
          throw new Error(`${direction}: the server's description lacks its new ufrag ${ice.usernameFragment}`);
        }
      }
      this.note(`ICE restarted: ${JSON.stringify(ufrags)}`);
      return ufrags;
    });
  }

  /** Schedules bringing our consumers in line with the remote producers. */
  sync() {
    if (this.phase !== 'joined' || !this.transports.recv.pc) return;
    this.enqueue('sync consumers', async () => {
      await this.syncConsumers();
      await this.data.sync();
    }).catch((e) => this.fail(e));
  }

  /** Runs `fn` after every negotiation queued before it: one offer/answer at a time. */
  enqueue(name, fn) {
    const next = this.queue.then(() => this.run(name, fn));
    this.queue = next.catch(() => {}); // the caller handles the failure; the queue goes on
    return next;
  }

  /**
   * Creates consumers for remote producers we do not consume yet, forgets those whose producer closed, then
   * (if anything changed) takes the server's offer, answers it, and resumes the new consumers.
   */
  async syncConsumers() {
    let changed = false;
    for (const [id, c] of this.consumers) {
      if (!this.remoteProducers.has(c.producerId) || c.closed) {
        this.consumers.delete(id);
        if (c.track) this.emit('track-removed', { broadcasterId: c.broadcasterId, track: c.track });
        changed = true;
      }
    }
    const consumed = new Set([...this.consumers.values()].map((c) => c.producerId));
    const fresh = [];
    for (const p of this.remoteProducers.values()) {
      if (consumed.has(p.id) || this.unconsumable.has(p.id)) continue;
      try {
        this.step = `create consumer for ${p.kind} producer ${p.id}`;
        const info = await post(`/transports/${this.transports.recv.id}/consumers`, {
          producerId: p.id,
          rtpCapabilities: this.recvCapabilities,
          paused: true,
        });
        const consumer = {
          id: info.id, producerId: p.id, broadcasterId: p.broadcasterId, kind: info.kind,
          mid: info.rtpParameters?.mid, resumed: false, closed: false, track: null,
        };
        this.consumers.set(info.id, consumer);
        fresh.push(consumer);
        changed = true;
      } catch (e) {
        // The producer closed meanwhile (404) or our capabilities cannot receive it (422): skip it.
        if (!(e instanceof ApiError) || e.status >= 500 || e.status === 0) throw e;
        this.unconsumable.add(p.id);
        this.note(`not consuming ${p.id}: ${e.message}`);
      }
    }
    if (!changed) return;
    await this.negotiateRecv();
    for (const c of fresh) {
      if (!this.consumers.has(c.id)) continue;
      this.step = `resume consumer ${c.id}`;
      try {
        await post(`/consumers/${c.id}/resume`);
        c.resumed = true;
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404) throw e; // 404: closed meanwhile
      }
    }
    this.emit('change');
  }

  /** The server offers every consumer of the recv transport; we answer (the first answer starts DTLS). */
  async negotiateRecv() {
    const { pc, id } = this.transports.recv;
    this.step = 'GET recv offer';
    const offer = await get(`/transports/${id}/sdp`);
    this.step = 'apply recv offer';
    await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.step = 'POST recv answer';
    await post(`/transports/${id}/sdp`, { type: 'answer', sdp: pc.localDescription.sdp });
    this.negotiations++;
  }

  onTrack(event) {
    const mid = event.transceiver.mid;
    const consumer = [...this.consumers.values()].find((c) => c.mid === mid);
    // The consumer's MID names its broadcaster; the stream id (the producing broadcaster's id) is a fallback.
    const broadcasterId = consumer?.broadcasterId ?? event.streams[0]?.id;
    if (consumer) consumer.track = event.track;
    this.emit('track', { broadcasterId, track: event.track, mid });
  }

  // --- events ---------------------------------------------------------------------------------------------

  onRoomEvent(name, data) {
    if (data.broadcasterId === this.id) {
      // About ourselves: we already know, except that the server closed a data producer of ours.
      if (name === 'dataProducer.closed') this.data.producerClosed(data.dataProducerId);
      return;
    }
    switch (name) {
      case 'broadcaster.joined':
        this.addPeer(data.broadcasterId, data.displayName);
        break;
      case 'broadcaster.left':
        for (const p of [...this.remoteProducers.values()]) {
          if (p.broadcasterId === data.broadcasterId) this.remoteProducers.delete(p.id);
        }
        for (const d of [...this.data.remote.values()]) {
          if (d.broadcasterId === data.broadcasterId) this.data.removeRemote(d.id);
        }
        this.removePeer(data.broadcasterId);
        this.sync();
        break;
      case 'producer.added':
        this.addRemoteProducer({ id: data.producerId, broadcasterId: data.broadcasterId, kind: data.kind,
          paused: data.paused });
        this.sync();
        break;
      case 'producer.closed':
        this.remoteProducers.delete(data.producerId);
        this.sync();
        break;
      case 'dataProducer.added':
        this.data.addRemote({ id: data.dataProducerId, broadcasterId: data.broadcasterId, label: data.label,
          protocol: data.protocol });
        this.sync();
        break;
      case 'dataProducer.closed':
        this.data.removeRemote(data.dataProducerId);
        this.sync();
        break;
      case 'producer.paused':
      case 'producer.resumed': {
        const p = this.remoteProducers.get(data.producerId);
        if (p) p.paused = name === 'producer.paused';
        break;
      }
      case 'room.closed':
        this.note('the room was closed');
        this.leave();
        break;
      case 'reset':
        // Events were lost: rebuild the peer list from the resource (producers follow from their events).
        this.note(`room events reset: ${data.reason}`);
        get(`/rooms/${this.room}/broadcasters`).then((list) => {
          const ids = new Set(list.map((b) => b.id));
          for (const id of this.peers.keys()) if (!ids.has(id)) this.removePeer(id);
          for (const b of list) if (b.id !== this.id) this.addPeer(b.id, b.displayName);
        }).catch((e) => this.note(e.message));
        // Data producers have no later event to catch up from: list them again.
        this.listDataProducers().then(() => this.sync()).catch((e) => this.note(e.message));
        break;
    }
    this.emit('change');
  }

  onOwnEvent(name, data) {
    const t = Object.values(this.transports).find((x) => x.id === data.transportId);
    switch (name) {
      case 'transport.iceStateChanged':
        if (t) t.serverIceState = data.iceState;
        break;
      case 'transport.dtlsStateChanged':
        if (t) t.serverDtlsState = data.dtlsState;
        break;
      case 'transport.sctpStateChanged':
        if (t) t.serverSctpState = data.sctpState;
        break;
      case 'transport.closed':
        if (t) t.serverClosed = data.reason;
        break;
      case 'consumer.closed': {
        const c = this.consumers.get(data.consumerId);
        if (c) c.closed = true;
        this.sync();
        break;
      }
      case 'dataConsumer.closed':
        // Closed under us (its data producer closed, or someone deleted it): not consumed again.
        this.data.unconsumable.add(data.dataProducerId);
        this.data.closedEvents.push({ ...data, at: Date.now() });
        this.data.consumerClosed(data.dataConsumerId, data.reason);
        break;
      case 'dataConsumer.dataProducerPaused':
      case 'dataConsumer.dataProducerResumed': {
        const c = this.data.consumers.get(data.dataConsumerId);
        if (c) c.dataProducerPaused = name === 'dataConsumer.dataProducerPaused';
        break;
      }
      default:
        return; // room events about others come from the room stream
    }
    this.emit('change');
  }

  /**
   * A peer became known. A producer event can come before its broadcaster's name does (it stands in as the
   * id): the name, once known, replaces it.
   */
  addPeer(id, displayName) {
    if (id === this.id) return;
    const known = this.peers.get(id);
    if (known) {
      if (displayName && known.displayName !== displayName) {
        known.displayName = displayName;
        this.emit('peer-renamed', { id, displayName });
      }
      return;
    }
    this.peers.set(id, { id, displayName });
    this.emit('peer-added', { id, displayName });
  }

  removePeer(id) {
    if (!this.peers.delete(id)) return;
    this.emit('peer-removed', { id });
  }

  addRemoteProducer(p) {
    if (!this.peers.has(p.broadcasterId)) this.addPeer(p.broadcasterId, p.broadcasterId);
    this.remoteProducers.set(p.id, { paused: false, ...p });
  }

  // --- diagnostics ----------------------------------------------------------------------------------------

  /** Runs one named step: on failure, `step` names it in the error (see `fail`). */
  run(step, fn) {
    this.step = step;
    return fn();
  }

  fail(e) {
    if (this.phase === 'left') return;
    this.error = `${this.step}: ${e.message}`;
    if (this.phase === 'joining' || this.phase === 'joined') this.phase = 'failed';
    this.note(`failed: ${this.error}`);
    this.emit('change');
  }

  note(line) {
    this.log.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (this.log.length > 100) this.log.shift();
    this.emit('log', line);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Plain data for the test hook: phase, ids, per-peer consumers, per-transport states, recent log. */
  snapshot() {
    const transports = {};
    for (const [k, t] of Object.entries(this.transports)) {
      const { pc, ...rest } = t;
      transports[k] = rest;
    }
    return {
      phase: this.phase,
      step: this.step,
      error: this.error,
      room: this.room,
      broadcasterId: this.id,
      displayName: this.displayName,
      producers: Object.fromEntries(Object.entries(this.producers).map(([k, p]) =>
        [k, { id: p.id, mid: p.mid, paused: p.paused }])),
      peers: [...this.peers.values()].map((peer) => ({
        ...peer,
        producers: [...this.remoteProducers.values()].filter((p) => p.broadcasterId === peer.id),
        consumers: [...this.consumers.values()].filter((c) => c.broadcasterId === peer.id)
          .map(({ track, ...c }) => ({ ...c, hasTrack: !!track })),
      })),
      transports,
      data: this.data.snapshot(),
      negotiations: this.negotiations,
      log: this.log.slice(-30),
    };
  }

  /** Counters from getStats: per peer (inbound), outbound, and both transports' selected pair and ciphers. */
  async stats() {
    const out = { peers: [], outbound: {}, transports: {} };
    for (const [name, t] of Object.entries(this.transports)) {
      out.transports[name] = t.pc ? transportStats(await t.pc.getStats()) : null;
    }
    const send = this.transports.send.pc;
    if (send) {
      for (const r of (await send.getStats()).values()) {
        if (r.type !== 'outbound-rtp') continue;
        out.outbound[r.kind] = pick(r, ['ssrc', 'bytesSent', 'packetsSent', 'framesEncoded', 'framesSent',
          'frameWidth', 'frameHeight', 'nackCount', 'pliCount', 'qualityLimitationReason', 'encoderImplementation']);
      }
    }
    const recv = this.transports.recv.pc;
    for (const peer of this.peers.values()) {
      const entry = { broadcasterId: peer.id, displayName: peer.displayName, audio: null, video: null };
      for (const c of this.consumers.values()) {
        if (c.broadcasterId !== peer.id || !recv) continue;
        const transceiver = recv.getTransceivers().find((tr) => tr.mid === c.mid);
        if (!transceiver) continue;
        for (const r of (await transceiver.receiver.getStats()).values()) {
          if (r.type !== 'inbound-rtp') continue;
          entry[r.kind] = pick(r, ['ssrc', 'packetsReceived', 'packetsLost', 'bytesReceived', 'framesDecoded',
            'framesReceived', 'frameWidth', 'frameHeight', 'keyFramesDecoded', 'jitter', 'nackCount',
            'pliCount', 'decoderImplementation', 'totalSamplesReceived']);
          entry[r.kind].mid = c.mid;
          entry[r.kind].consumerId = c.id;
        }
      }
      out.peers.push(entry);
    }
    return out;
  }
}

function blankTransport() {
  return {
    id: null, pc: null, connectionState: null, iceConnectionState: null, signalingState: null,
    serverIceState: null, serverDtlsState: null, serverSctpState: null, serverClosed: null, sctpParameters: null,
  };
}

function pick(report, keys) {
  const o = {};
  for (const k of keys) if (report[k] !== undefined) o[k] = report[k];
  return o;
}

/** The `transport` report with its selected candidate pair (and that pair's two candidates). */
function transportStats(report) {
  const all = [...report.values()];
  const transport = all.find((r) => r.type === 'transport');
  // Firefox has no `transport` report: its selected pair is the nominated, succeeded one.
  const pair = transport?.selectedCandidatePairId
    ? report.get(transport.selectedCandidatePairId)
    : all.find((r) => r.type === 'candidate-pair' && (r.selected || (r.nominated && r.state === 'succeeded')));
  const candidate = (id) => {
    const c = id && report.get(id);
    return c ? `${c.address ?? c.ip}:${c.port}/${c.protocol} ${c.candidateType}` : null;
  };
  return {
    dtlsState: transport?.dtlsState ?? null,
    iceState: transport?.iceState ?? null,
    tlsVersion: transport?.tlsVersion ?? null,
    dtlsCipher: transport?.dtlsCipher ?? null,
    srtpCipher: transport?.srtpCipher ?? null,
    dtlsRole: transport?.dtlsRole ?? null,
    iceLocalUsernameFragment: transport?.iceLocalUsernameFragment ?? null,
    bytesSent: transport?.bytesSent ?? pair?.bytesSent ?? 0,
    bytesReceived: transport?.bytesReceived ?? pair?.bytesReceived ?? 0,
    selectedCandidatePair: pair ? {
      id: pair.id,
      state: pair.state,
      local: candidate(pair.localCandidateId),
      remote: candidate(pair.remoteCandidateId),
      currentRoundTripTime: pair.currentRoundTripTime,
      availableOutgoingBitrate: pair.availableOutgoingBitrate,
      requestsSent: pair.requestsSent,
      responsesReceived: pair.responsesReceived,
    } : null,
    // Without a selected pair, what ICE is trying (for diagnostics).
    candidatePairs: pair ? undefined : all.filter((r) => r.type === 'candidate-pair').slice(0, 4).map((r) => ({
      state: r.state, local: candidate(r.localCandidateId), remote: candidate(r.remoteCandidateId),
      requestsSent: r.requestsSent, responsesReceived: r.responsesReceived,
    })),
  };
}

function browserName() {
  const ua = navigator.userAgent;
  if (/Firefox\//.test(ua)) return 'Firefox';
  if (/Chrom(e|ium)\//.test(ua)) return 'Chromium';
  return 'browser';
}
