// Data channels of one session (RFC 8831 over the transports' SCTP associations), mediasoup-style: every
// channel is negotiated out of band (`negotiated: true`, no DCEP), its stream id agreed over the REST API.
//   send transport: our data producers. We pick the stream id, open the channel, then
//     POST /transports/{sendId}/data-producers {sctpStreamParameters: {streamId, ...}, label}.
//     The `chat` channel is created before the first offer, so that the offer carries the `m=application`
//     section (a negotiated channel needs the SCTP transport that section sets up).
//   recv transport: our data consumers. POST /transports/{recvId}/data-consumers {dataProducerId, paused}
//     answers with the stream id the server chose; we open the channel on it, then resume the consumer (so
//     nothing is sent on the stream before the channel exists to take it).
// We consume every other broadcaster's `chat` data producer and every `bot` data producer (and any other
// the page asks for with `consume`). Messages arrive in `messages` with the sender's display name.

import { ApiError, post } from './api.js';

export const CHAT = 'chat';
export const BOT = 'bot';

/** What the page asks for its WebRTC transports' SCTP (the server answers with its own maxMessageSize). */
export const SCTP_OPTIONS = { enableSctp: true, numSctpStreams: { OS: 1024, MIS: 1024 }, maxSctpMessageSize: 262144 };

/** Messages kept (oldest dropped first). */
const MAX_MESSAGES = 5000;

export class DataChannels {
  /** `session` gives the transports (`transports.send|recv.{id, pc}`), peers (display names) and events. */
  constructor(session) {
    this.session = session;
    this.producers = new Map(); // dataProducerId -> {id, label, streamId, channel, parameters, closed}
    this.pending = []; // channels opened before their data producer exists (the chat channel, pre-offer)
    this.remote = new Map(); // dataProducerId -> {id, broadcasterId, label, protocol}
    this.consumers = new Map(); // dataConsumerId -> {id, dataProducerId, broadcasterId, label, streamId, channel}
    this.wanted = new Set(); // ids of remote data producers asked for beyond chat and bot
    this.unconsumable = new Set(); // remote data producer ids the server would not let us consume
    this.messages = [];
    this.closedEvents = []; // `dataConsumer.closed` events of our stream, as received
    this.nextStreamId = 0;
    this.chatError = null;
  }

  // --- producing ------------------------------------------------------------------------------------------

  /**
   * Opens a negotiated channel on the send transport with the next free stream id. `parameters`: `ordered`,
   * and at most one of `maxRetransmits` / `maxPacketLifeTime` (omitted: reliable). The channel exists before
   * its data producer: `register` creates that.
   */
  openChannel(label, parameters = {}) {
    const { pc } = this.session.transports.send;
    const streamId = this.nextStreamId++;
    const init = { negotiated: true, id: streamId, ordered: parameters.ordered ?? true };
    if (parameters.maxRetransmits !== undefined) init.maxRetransmits = parameters.maxRetransmits;
    if (parameters.maxPacketLifeTime !== undefined) init.maxPacketLifeTime = parameters.maxPacketLifeTime;
    const channel = pc.createDataChannel(label, init);
    channel.binaryType = 'arraybuffer';
    const entry = { id: null, label, streamId, channel, parameters: init, closed: false };
    channel.onopen = () => this.session.emit('change');
    channel.onclose = () => {
      entry.closed = true;
      this.session.emit('change');
    };
    this.pending.push(entry);
    return entry;
  }

  /** Creates the data producer of a channel from `openChannel`; resolves to the entry (now with its `id`). */
  async register(entry) {
    const { ordered, maxRetransmits, maxPacketLifeTime } = entry.parameters;
    const info = await post(`/transports/${this.session.transports.send.id}/data-producers`, {
      sctpStreamParameters: { streamId: entry.streamId, ordered, maxRetransmits, maxPacketLifeTime },
      label: entry.label,
    });
    entry.id = info.id;
    this.pending = this.pending.filter((e) => e !== entry);
    this.producers.set(info.id, entry);
    this.session.note(`data producer ${entry.label} ${info.id} on stream ${entry.streamId}`);
    this.session.emit('change');
    return entry;
  }

  /** Our chat producer (null before it exists or once it closed). */
  get chat() {
    return [...this.producers.values()].find((p) => p.label === CHAT && !p.closed) ?? null;
  }

  /** Whether a message can be sent on the chat channel now. */
  get chatReady() {
    return this.chat?.channel.readyState === 'open';
  }

  /** The largest message the send transport's association takes (the smaller of both sides' maxima). */
  get maxMessageSize() {
    return this.session.transports.send.pc?.sctp?.maxMessageSize ?? null;
  }

  /** Sends `text` on the chat channel and shows it as ours. Throws when the channel is not open. */
  sendChat(text) {
    const chat = this.chat;
    if (!chat || chat.channel.readyState !== 'open') {
      throw new Error(`chat is not open (${chat ? chat.channel.readyState : this.chatError ?? 'no channel'})`);
    }
    const at = Date.now(); // when it left, for latency figures
    chat.channel.send(text);
    this.record({
      own: true, label: CHAT, dataProducerId: chat.id, broadcasterId: this.session.id,
      displayName: this.session.displayName, data: text, at,
    });
  }

  /**
   * Sends `data` (a string, or bytes) on our data producer `id`. Throws what the browser throws (e.g. a
   * message over the association's maximum) or when the producer is unknown or its channel is not open.
   */
  send(id, data) {
    const producer = this.producers.get(id);
    if (!producer) throw new Error(`no data producer ${id} of ours`);
    if (producer.channel.readyState !== 'open') {
      throw new Error(`data producer ${id}: channel ${producer.channel.readyState}`);
    }
    producer.channel.send(data);
  }

  /** Our data producer `id` was closed by the server (room event about ourselves): close its channel. */
  producerClosed(id) {
    const producer = this.producers.get(id);
    if (!producer || producer.closed) return;
    producer.closed = true;
    producer.channel.close();
    this.session.note(`our data producer ${producer.label} ${id} closed`);
  }

  // --- consuming ------------------------------------------------------------------------------------------

  /** A remote data producer became known (join response or `dataProducer.added`). */
  addRemote(p) {
    if (p.broadcasterId === this.session.id) return;
    this.remote.set(p.id,
      { id: p.id, broadcasterId: p.broadcasterId, label: p.label ?? '', protocol: p.protocol ?? '' });
  }

  /** A remote data producer closed, or its broadcaster left. */
  removeRemote(id) {
    this.remote.delete(id);
  }

  /** Asks for the remote data producer `id` whatever its label (resolves once synced). */
  consume(id) {
    this.wanted.add(id);
  }

  /** Our data consumer `id` was closed by the server (`dataConsumer.closed`): close and forget its channel. */
  consumerClosed(id, reason) {
    const consumer = this.consumers.get(id);
    if (!consumer) return;
    this.consumers.delete(id);
    consumer.channel.close();
    this.session.note(`data consumer ${consumer.label} ${id} closed: ${reason ?? 'closed'}`);
    this.session.emit('data-consumer-removed', { id, label: consumer.label, broadcasterId: consumer.broadcasterId });
  }

  wants(p) {
    return (p.label === CHAT && p.broadcasterId !== this.session.id) || p.label === BOT || this.wanted.has(p.id);
  }

  /**
   * Creates a data consumer (paused) for every wanted remote data producer not consumed yet, opens its
   * channel on the stream id the server chose, then resumes it; forgets consumers whose producer is gone.
   * Needs the recv transport's SCTP section negotiated (the session does that first).
   */
  async sync() {
    for (const [id, c] of this.consumers) {
      if (!this.remote.has(c.dataProducerId)) this.consumerClosed(id, 'data producer gone');
    }
    const consumed = new Set([...this.consumers.values()].map((c) => c.dataProducerId));
    const { id: transportId, pc } = this.session.transports.recv;
    for (const p of [...this.remote.values()]) {
      if (consumed.has(p.id) || this.unconsumable.has(p.id) || !this.wants(p)) continue;
      let info;
      try {
        this.session.step = `create data consumer for ${p.label} data producer ${p.id}`;
        info = await post(`/transports/${transportId}/data-consumers`, { dataProducerId: p.id, paused: true });
      } catch (e) {
        // The data producer closed meanwhile (404) or cannot be consumed here (4xx): skip it.
        if (!(e instanceof ApiError) || e.status >= 500 || e.status === 0) throw e;
        this.unconsumable.add(p.id);
        this.session.note(`not consuming data producer ${p.id}: ${e.message}`);
        continue;
      }
      const stream = info.sctpStreamParameters;
      const init = { negotiated: true, id: stream.streamId, ordered: stream.ordered ?? true };
      if (stream.maxRetransmits != null) init.maxRetransmits = stream.maxRetransmits;
      if (stream.maxPacketLifeTime != null) init.maxPacketLifeTime = stream.maxPacketLifeTime;
      const channel = pc.createDataChannel(info.label, init);
      channel.binaryType = 'arraybuffer';
      const consumer = {
        id: info.id, dataProducerId: p.id, broadcasterId: p.broadcasterId, label: info.label,
        streamId: stream.streamId, ordered: init.ordered, maxRetransmits: init.maxRetransmits ?? null,
        maxPacketLifeTime: init.maxPacketLifeTime ?? null, channel, received: 0,
      };
      channel.onmessage = (e) => {
        consumer.received++;
        this.record({
          own: false, label: consumer.label, dataProducerId: p.id, dataConsumerId: consumer.id,
          broadcasterId: p.broadcasterId, displayName: this.displayName(p.broadcasterId), data: e.data,
        });
      };
      channel.onopen = () => this.session.emit('change');
      // The server resets the stream when it closes the consumer; the event usually says so first.
      channel.onclose = () => this.consumerClosed(consumer.id, 'channel closed');
      this.consumers.set(info.id, consumer);
      try {
        this.session.step = `resume data consumer ${info.id}`;
        await post(`/data-consumers/${info.id}/resume`);
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404) throw e; // 404: closed meanwhile
      }
      this.session.emit('change');
    }
  }

  displayName(broadcasterId) {
    return this.session.peers.get(broadcasterId)?.displayName ?? broadcasterId;
  }

  // --- messages -------------------------------------------------------------------------------------------

  record(m) {
    const binary = typeof m.data !== 'string';
    const message = {
      at: Date.now(),
      ...m,
      binary,
      size: binary ? m.data.byteLength : new TextEncoder().encode(m.data).length,
      text: binary ? null : m.data,
    };
    delete message.data;
    this.messages.push(message);
    if (this.messages.length > MAX_MESSAGES) this.messages.shift();
    this.session.emit('message', message);
  }

  /** Plain data for the test hook. */
  snapshot() {
    const producer = ({ channel, parameters, ...p }) => ({
      ...p, ordered: parameters.ordered, maxRetransmits: parameters.maxRetransmits ?? null,
      maxPacketLifeTime: parameters.maxPacketLifeTime ?? null, readyState: channel.readyState,
    });
    return {
      chatReady: this.chatReady,
      chatError: this.chatError,
      maxMessageSize: this.maxMessageSize,
      recvMaxMessageSize: this.session.transports.recv.pc?.sctp?.maxMessageSize ?? null,
      sendSctpState: this.session.transports.send.pc?.sctp?.state ?? null,
      recvSctpState: this.session.transports.recv.pc?.sctp?.state ?? null,
      producers: [...this.producers.values()].map(producer),
      pending: this.pending.map(producer),
      remote: [...this.remote.values()],
      consumers: [...this.consumers.values()].map(({ channel, ...c }) => ({ ...c, readyState: channel.readyState })),
      messages: this.messages.length,
      closedEvents: this.closedEvents.slice(-20),
    };
  }
}
