// watch(): an async iterator over the events of any Watch* stream that survives broker
// restarts by resuming after the last sequence seen.
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { ROUTE, toMetadata } from './connect.js';

/** Codes after which the watch reopens the stream instead of throwing. */
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.CANCELLED]);

/** A snapshot event: the current state, re-sent on every (re)opened stream. */
function isSnapshot(event) {
  return typeof event?.kind === 'string' && /_SNAPSHOT(_END)?$/.test(event.kind);
}

/** True for the broker's last event before shutdown (EVENT_KIND_FINAL, LEASE_EVENT_KIND_FINAL). */
export function isFinal(event) {
  return typeof event?.kind === 'string' && event.kind.endsWith('_FINAL');
}

/**
 * Iterate the events (the `event` field of each response) of server-streaming `method` of
 * `client`, e.g. `watch(broker.connections, 'WatchHealth', {gateway: 'paper'})`.
 *
 * When the stream breaks (UNAVAILABLE: the broker went away) or ends, it is reopened after a
 * backoff with full jitter (initialBackoffMs doubling up to maxBackoffMs) with
 * `resume_after_sequence` set to the last sequence seen: the broker replays what was missed, or
 * sends a fresh snapshot when it no longer holds those events (always after a restart); a
 * replayed change at or below the last sequence seen is dropped, so none is yielded twice.
 * With stopOnFinal (default true) the iteration ends after the broker's FINAL event. Other
 * errors (unknown gateway, bad token) are thrown. maxAttempts bounds consecutive failed
 * reopenings (default unlimited); `signal` (an AbortSignal) ends the iteration; breaking out of
 * `for await` cancels the call. onReconnect(attempt, lastSequence) is called before each reopen.
 *
 * On a client of connect() with several addresses the stream is reopened wherever the router
 * points after a break (NOT_LEADER: at the leader it names; UNAVAILABLE: the next address):
 * at once, without counting a failure, on an address not tried since the last event. A
 * snapshot sets the last sequence seen, so a new leader's events (its own numbering) pass.
 */
export async function* watch(client, method, request = {}, options = {}) {
  const {
    stopOnFinal = true,
    initialBackoffMs = 200,
    maxBackoffMs = 5_000,
    maxAttempts = Infinity,
    signal,
    metadata,
    onReconnect,
    random = Math.random,
  } = options;
  if (typeof client?.[method] !== 'function') throw new TypeError(`no method ${method} on this client`);
  let last = BigInt(request.resume_after_sequence ?? 0);
  let failures = 0;
  const route = client[ROUTE];
  const tried = new Set();
  while (!signal?.aborted) {
    const openedAt = route?.router.current;
    if (route) tried.add(openedAt);
    const call = client[method](
      { ...request, resume_after_sequence: last.toString() },
      toMetadata(metadata),
    );
    const cancel = () => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    let lastError;
    try {
      for await (const response of call) {
        const event = response.event ?? response;
        failures = 0;
        tried.clear();
        const sequence = BigInt(event.sequence ?? 0);
        // A replayed change already seen (sequences only grow) is dropped; snapshots always pass
        // and set where this broker's numbering stands.
        if (sequence <= last && sequence > 0n && !isSnapshot(event)) continue;
        if (sequence > last || (isSnapshot(event) && sequence > 0n)) last = sequence;
        yield event;
        if (stopOnFinal && isFinal(event)) return;
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (!RETRYABLE.has(err.code)) throw err;
      lastError = err;
    } finally {
      signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
    if (route && lastError) {
      const next = route.router.failed(lastError, openedAt);
      if (!tried.has(next)) continue; // the leader is elsewhere: reopen there now
    }
    failures += 1;
    if (failures > maxAttempts) {
      const err = new Error(
        `${method}: stream lost; gave up after ${maxAttempts} reconnect attempts` +
          (lastError ? `: ${lastError.details ?? lastError.message}` : ''),
        { cause: lastError },
      );
      err.code = grpc.status.UNAVAILABLE;
      throw err;
    }
    const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (failures - 1));
    try {
      await sleep(random() * ceiling, undefined, { signal });
    } catch {
      return; // aborted while waiting
    }
    onReconnect?.(failures, last.toString());
  }
}
