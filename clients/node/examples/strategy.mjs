#!/usr/bin/env node
// A small complete strategy skeleton on @ibbroker/client:
//   - leases an IB API client ID (renewed in the background, released on exit);
//   - watches the broker's connection state and pauses on RECONNECTING, resumes on RESTORED;
//   - watches health and logs every change;
//   - stops cleanly on SIGINT / SIGTERM (or after STRATEGY_SECONDS), releasing the lease.
//
// Run: IBBROKER_ADDRESS=127.0.0.1:50051 node examples/strategy.mjs
// Environment: IBBROKER_ADDRESS (default 127.0.0.1:50051), STRATEGY_OWNER (default
// node-strategy-PID), STRATEGY_SECONDS (stop after this many seconds; default: run until a signal).
import { connect, decodeError, holdLease, watch } from '@ibbroker/client';

const address = process.env.IBBROKER_ADDRESS ?? '127.0.0.1:50051';
const owner = process.env.STRATEGY_OWNER ?? `node-strategy-${process.pid}`;
const seconds = Number(process.env.STRATEGY_SECONDS ?? 0);

const log = (event, fields = {}) =>
  console.log(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }));

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log('signal', { signal });
    stop.abort();
  });
}
if (seconds > 0) setTimeout(() => stop.abort(), seconds * 1000).unref();

const broker = connect(address);
let exitCode = 0;
let held;
try {
  held = await holdLease(
    broker,
    { owner, ttlMs: 30_000 },
    {
      onLost: (err) => {
        // The ID may now belong to someone else: stop using it at once.
        log('lease_lost', { error: err.message });
        exitCode = 1;
        stop.abort();
      },
    },
  );
  log('lease_acquired', { lease_id: held.lease_id, client_id: held.client_id, epoch: held.epoch });
  // A real strategy connects to TWS / IB Gateway here with clientId = held.client_id.

  let trading = true;
  const states = (async () => {
    const events = watch(broker.connections, 'WatchConnectionState', {}, {
      signal: stop.signal,
      stopOnFinal: false, // a broker restart is survived: the watch resumes when it is back
    });
    for await (const event of events) {
      if (event.kind === 'EVENT_KIND_SNAPSHOT') {
        log('state', { session: event.session, state: event.state });
      } else if (event.state === 'CONNECTION_STATE_RECONNECTING' && trading) {
        trading = false;
        log('paused', { session: event.session, reason: event.reason, why: 'RECONNECTING' });
      } else if (event.kind === 'EVENT_KIND_RESTORED') {
        trading = true;
        log('resumed', { session: event.session, why: 'RESTORED', restored: event.restored });
      } else if (event.kind === 'EVENT_KIND_GAP') {
        log('gap', { session: event.session, from: event.gap_start, to: event.gap_end });
      } else if (event.kind === 'EVENT_KIND_FINAL') {
        log('broker_stopping', { note: 'waiting for it to come back' });
      }
    }
  })();
  const health = (async () => {
    for await (const event of watch(broker.connections, 'WatchHealth', {}, { signal: stop.signal, stopOnFinal: false })) {
      log('health', {
        session: event.session,
        status: event.status,
        reasons: event.reasons.map((r) => r.code),
      });
    }
  })();

  await Promise.race([
    new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true })),
    // A watch that fails for good (unknown gateway, bad token) ends the strategy too.
    Promise.all([states, health]),
  ]);
  stop.abort();
  await Promise.allSettled([states, health]);
} catch (err) {
  const decoded = decodeError(err);
  log('error', { code: decoded.codeName, reason: decoded.reason, message: decoded.message });
  exitCode = 1;
} finally {
  if (held) log('released', { ok: await held.close() });
  broker.close();
}
process.exitCode = exitCode;
