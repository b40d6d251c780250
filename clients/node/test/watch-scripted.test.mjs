// watch() against a scripted in-process gRPC server (real grpc-js server on loopback): what it
// asks for when it resumes, duplicates dropped, FINAL, and errors that must not be retried.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connect, loadPackage, watch } from '@ibbroker/client';

const ev = (sequence, kind = 'EVENT_KIND_TRANSITION') => ({
  event: { sequence: String(sequence), kind, session: 'paper/monitor', state: 'CONNECTION_STATE_CONNECTED' },
});

describe('watch against a scripted server', () => {
  let server;
  let client;
  const requests = [];
  let script = []; // one function per opened stream: (call) => void

  before(async () => {
    server = new grpc.Server();
    const service = loadPackage().ibbroker.v1.ConnectionService.service;
    server.addService(service, {
      WatchConnectionState(call) {
        requests.push(call.request);
        const step = script.shift();
        if (step) step(call);
        else call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'script ended' });
      },
    });
    const port = await new Promise((ok, fail) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? fail(err) : ok(p),
      ),
    );
    client = connect(`127.0.0.1:${port}`);
  });

  after(() => {
    client?.close();
    server?.forceShutdown();
  });

  it('resumes after the last sequence, drops replayed duplicates and stops at FINAL', async () => {
    requests.length = 0;
    script = [
      (call) => {
        for (const e of [ev(10, 'EVENT_KIND_SNAPSHOT'), ev(11), ev(12)]) call.write(e);
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'broker restarting' });
      },
      (call) => {
        for (const e of [ev(11), ev(12), ev(13), ev(14, 'EVENT_KIND_FINAL')]) call.write(e);
        call.end();
      },
    ];
    const reconnects = [];
    const seen = [];
    for await (const event of watch(client.connections, 'WatchConnectionState', { gateway: 'paper' }, {
      initialBackoffMs: 1,
      onReconnect: (attempt, last) => reconnects.push([attempt, last]),
    })) {
      seen.push(`${event.sequence}:${event.kind}`);
    }
    assert.deepEqual(seen, [
      '10:EVENT_KIND_SNAPSHOT',
      '11:EVENT_KIND_TRANSITION',
      '12:EVENT_KIND_TRANSITION',
      '13:EVENT_KIND_TRANSITION',
      '14:EVENT_KIND_FINAL',
    ]);
    assert.deepEqual(
      requests.map((r) => [r.gateway, r.resume_after_sequence]),
      [['paper', '0'], ['paper', '12']],
    );
    assert.deepEqual(reconnects, [[1, '12']]);
  });

  it('passes a fresh snapshot even when its sequences are not above the last one', async () => {
    requests.length = 0;
    script = [
      (call) => {
        call.write(ev(50));
        call.end(); // ended without FINAL: reopen
      },
      (call) => {
        call.write(ev(7, 'EVENT_KIND_SNAPSHOT'));
        call.write(ev(51, 'EVENT_KIND_FINAL'));
        call.end();
      },
    ];
    const seen = [];
    for await (const event of watch(client.connections, 'WatchConnectionState', {}, { initialBackoffMs: 1 })) {
      seen.push(event.sequence);
    }
    assert.deepEqual(seen, ['50', '7', '51']);
    assert.equal(requests[1].resume_after_sequence, '50');
  });

  it('keeps going after FINAL with stopOnFinal false, and throws a non-retryable error', async () => {
    script = [
      (call) => {
        call.write(ev(1, 'EVENT_KIND_FINAL'));
        call.end();
      },
      (call) => call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'admin token' }),
    ];
    const seen = [];
    await assert.rejects(
      (async () => {
        for await (const event of watch(client.connections, 'WatchConnectionState', {}, { stopOnFinal: false, initialBackoffMs: 1 })) {
          seen.push(event.kind);
        }
      })(),
      (err) => err.code === grpc.status.PERMISSION_DENIED,
    );
    assert.deepEqual(seen, ['EVENT_KIND_FINAL']);
  });

  it('ends when its signal is aborted while a stream is open', async () => {
    script = [(call) => call.write(ev(1, 'EVENT_KIND_SNAPSHOT'))]; // then stays open
    const abort = new AbortController();
    const seen = [];
    for await (const event of watch(client.connections, 'WatchConnectionState', {}, { signal: abort.signal })) {
      seen.push(event.sequence);
      abort.abort();
    }
    assert.deepEqual(seen, ['1']);
  });
});
