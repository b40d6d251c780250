// watch() against a real broker: the snapshot, live events, FINAL on SIGTERM, and resuming
// across a broker restart on the same address.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connect, decodeError, isFinal, unary, watch } from '@ibbroker/client';
import { freePort, startBroker } from './broker.mjs';

/** Take events from `iterator` (without ending it) until `stop(event)` is true, within `ms`. */
async function collect(iterator, stop, ms, what) {
  const events = [];
  const end = Date.now() + ms;
  for (;;) {
    let timer;
    const timeout = new Promise((_, fail) => {
      timer = setTimeout(
        () => fail(new Error(`${what}: not seen within ${ms} ms; got ${events.map((e) => e.kind).join(', ')}`)),
        Math.max(0, end - Date.now()),
      );
    });
    const next = await Promise.race([iterator.next(), timeout]).finally(() => clearTimeout(timer));
    if (next.done) throw new Error(`${what}: the watch ended; got ${events.map((e) => e.kind).join(', ')}`);
    events.push(next.value);
    if (stop(next.value)) return events;
  }
}

/** Every remaining event of `iterator`, which must end within `ms`. */
async function drain(iterator, ms) {
  const events = [];
  const end = Date.now() + ms;
  for (;;) {
    let timer;
    const timeout = new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`the watch did not end within ${ms} ms`)), Math.max(0, end - Date.now()));
    });
    const next = await Promise.race([iterator.next(), timeout]).finally(() => clearTimeout(timer));
    if (next.done) return events;
    events.push(next.value);
  }
}

describe('watch', () => {
  const cleanup = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  async function broker(options) {
    const b = await startBroker(options);
    const client = connect(b.address);
    cleanup.push(async () => {
      client.close();
      await b.dispose();
    });
    return { b, client };
  }

  it('gets the snapshot, live lease events, and ends after FINAL when the broker stops', async () => {
    const { b, client } = await broker();
    const events = watch(client.leases, 'WatchLeases', { owner: 'node-watch' });
    const snapshot = await collect(
      events,
      (e) => e.kind === 'LEASE_EVENT_KIND_SNAPSHOT_END',
      10_000,
      'the end of the snapshot',
    );
    assert.equal(snapshot.length, 1, 'no lease yet: the snapshot is only its end marker');

    const { lease } = await unary(client.leases, 'AcquireLease', { owner: 'node-watch' });
    const live = await collect(events, (e) => e.kind === 'LEASE_EVENT_KIND_ACQUIRED', 10_000, 'ACQUIRED');
    assert.equal(live.at(-1).lease.lease_id, lease.lease_id);
    assert.ok(BigInt(live.at(-1).sequence) > BigInt(snapshot[0].sequence), 'sequences increase');

    const stopped = b.stop('SIGTERM');
    const rest = await drain(events, 15_000);
    assert.ok(rest.length > 0 && isFinal(rest.at(-1)), `ended with ${rest.at(-1)?.kind}`);
    assert.equal(rest.at(-1).kind, 'LEASE_EVENT_KIND_FINAL');
    assert.equal((await stopped).code, 0, 'the broker drained and exited 0');
  });

  it('resumes after the last sequence when the broker comes back on the same address', async () => {
    const port = await freePort();
    const first = await broker({ port });
    const reconnects = [];
    const events = watch(
      first.client.connections,
      'WatchConnectionState',
      {},
      {
        stopOnFinal: false,
        initialBackoffMs: 100,
        maxBackoffMs: 500,
        onReconnect: (attempt, last) => reconnects.push({ attempt, last }),
      },
    );
    const snapshot = await collect(events, (e) => e.kind === 'EVENT_KIND_SNAPSHOT', 10_000, 'the snapshot');
    const lastBefore = snapshot.at(-1).sequence;

    await first.b.stop('SIGTERM');
    const final = await collect(events, (e) => e.kind === 'EVENT_KIND_FINAL', 15_000, 'FINAL');
    assert.ok(final.length >= 1);

    // The same address, the same store: the watch reopens on its own and resumes.
    const second = await startBroker({ port, store: first.b.store });
    cleanup.push(() => second.dispose());
    const resumed = await collect(events, (e) => e.kind === 'EVENT_KIND_SNAPSHOT', 20_000, 'a new snapshot');
    await events.return();
    assert.ok(reconnects.length >= 1, 'the watch reconnected');
    assert.ok(
      BigInt(reconnects[0].last) >= BigInt(final.at(-1).sequence),
      'it resumed after the last sequence it saw',
    );
    assert.ok(BigInt(reconnects[0].last) > BigInt(lastBefore));
    // Sequences keep increasing across the restart (they start from the wall clock).
    assert.ok(BigInt(resumed.at(-1).sequence) > BigInt(final.at(-1).sequence));
  });

  it('throws what a retry cannot fix', async () => {
    const { client } = await broker();
    await assert.rejects(
      (async () => {
        for await (const _ of watch(client.connections, 'WatchHealth', { gateway: 'nope' })) {
          // no event expected
        }
      })(),
      (err) => decodeError(err).reason === 'GATEWAY_UNKNOWN',
    );
  });

  it('gives up after maxAttempts against a dead address', async () => {
    const dead = connect(`127.0.0.1:${await freePort()}`);
    try {
      await assert.rejects(
        (async () => {
          for await (const _ of watch(dead.connections, 'WatchHealth', {}, { maxAttempts: 2, initialBackoffMs: 10 })) {
            // no event expected
          }
        })(),
        /gave up after 2 reconnect attempts/,
      );
    } finally {
      dead.close();
    }
  });
});
