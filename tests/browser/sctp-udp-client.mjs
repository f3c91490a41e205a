// An external SCTP stack against a plain transport with SCTP (mediasoup's node-sctp test): node-sctp 1.0.0
// (pure JavaScript, RFC 4960) runs an association over a UDP socket connected to the transport's ip:port
// (the server latches it, comedia), with 256/256 streams, and sends COUNT ordered messages on one stream,
// alternating a string (PPID 51, "msg-<i>") and a binary message (PPID 53, <i> as 4 bytes big-endian).
//
// Usage: node sctp-udp-client.mjs --ip IP --port PORT [--stream 123] [--count 200] [--within 20]
//
// Prints `{"sent": N}` once every message was handed to the association, then waits for stdin to close (the
// test has checked what arrived) and ends the association with SHUTDOWN. The last line is the result:
// `{"ok": true|false, "step", "error"?, "os", "mis", "sent", "shutdown"}`; exit status 0 when ok.

import dgram from 'node:dgram';
import sctp from 'sctp';

import { parseArgs } from './lib.mjs';

const args = parseArgs();
const ip = args.ip;
const port = Number(args.port);
const streamId = Number(args.stream ?? 123);
const count = Number(args.count ?? 200);
const withinMs = Number(args.within ?? 20) * 1000;

const result = { ok: false, step: 'arguments', sent: 0 };

function finish(ok, error) {
  result.ok = ok;
  if (error) result.error = String(error?.stack ?? error);
  console.log(JSON.stringify(result));
  process.exit(ok ? 0 : 1);
}

if (!ip || !Number.isInteger(port) || !Number.isInteger(streamId) || !Number.isInteger(count)) {
  finish(false, 'usage: --ip IP --port PORT [--stream ID] [--count N]');
}

// Everything up to the last message handed over must happen within the budget.
const deadline = setTimeout(() => finish(false, `still at step ${result.step} after ${withinMs} ms`), withinMs);

/** Message i: a string for even i, 4 bytes for odd i. */
function message(i) {
  if (i % 2 === 0) {
    const buffer = Buffer.from(`msg-${i}`, 'utf8');
    buffer.ppid = sctp.PPID.WEBRTC_STRING;
    return buffer;
  }
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(i);
  buffer.ppid = sctp.PPID.WEBRTC_BINARY;
  return buffer;
}

let association = null;

result.step = 'udp';
const udp = dgram.createSocket('udp4');
udp.on('error', (error) => finish(false, error));
udp.bind(0, '127.0.0.1', () => {
  udp.connect(port, ip, () => {
    result.step = 'associate';
    association = sctp.connect({
      localPort: 5000,
      port: 5000,
      OS: 256,
      MIS: 256,
      udpTransport: udp,
    });
    association.on('error', (error) => finish(false, error ?? 'association error'));
    association.on('connect', () => {
      result.step = 'send';
      result.os = association.OS;
      result.mis = association.MIS;
      const stream = association.createStream(streamId);
      for (let i = 0; i < count; i++) {
        stream.write(message(i), (error) => {
          if (error) {
            finish(false, error);
            return;
          }
          result.sent += 1;
          if (result.sent === count) {
            clearTimeout(deadline);
            result.step = 'sent';
            console.log(JSON.stringify({ sent: result.sent }));
          }
        });
      }
    });
  });
});

// The test closes stdin once it has checked what arrived: end the association and report.
process.stdin.resume();
process.stdin.on('end', () => {
  if (result.sent !== count) {
    finish(false, `stdin closed after ${result.sent} of ${count} messages`);
    return;
  }
  result.step = 'shutdown';
  result.shutdown = 'no answer';
  // SHUTDOWN COMPLETE emits `end`; a peer that never answers must not hang the test.
  const giveUp = setTimeout(() => finish(true), 5000);
  association.once('end', () => {
    clearTimeout(giveUp);
    result.shutdown = 'complete';
    finish(true);
  });
  association.end();
});
