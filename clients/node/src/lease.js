// holdLease(): acquire a client-ID lease, renew it in the background, know locally when it is
// lost, release it on close().
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { unary } from './connect.js';
import { decodeError } from './errors.js';

/** Codes after which a call may simply be repeated (the request carries its idempotency key). */
const TRANSIENT = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

/** The lease is gone: the broker refused a renew, or its TTL ran out without a renew. */
export class LeaseLostError extends Error {
  constructor(lease, cause) {
    const why = cause ? `: ${cause.message ?? cause}` : '';
    super(`lease ${lease.lease_id} (client ID ${lease.client_id}) lost${why}`, { cause });
    this.name = 'LeaseLostError';
    this.lease = lease;
  }
}

function ttlMs(lease) {
  return Number(lease.ttl?.seconds ?? 0) * 1000 + Number(lease.ttl?.nanos ?? 0) / 1e6;
}

function msToDuration(ms) {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/**
 * Acquire a lease and hold it until close().
 *
 * `client` is what connect() returned (or its `leases` client). `request` is an
 * AcquireLeaseRequest (`owner` required; `ttl` may also be given in ms as `ttlMs`); a
 * `request_id` is generated when missing, so a retried acquire never takes a second ID.
 *
 * The lease is renewed every `renewFraction` (default 1/3) of its TTL. It is lost locally at
 * (time the last successful renew or the acquire was SENT + TTL), whatever the RPC does: a renew
 * that hangs or fails with UNAVAILABLE is retried until then, and then the lease is declared
 * lost, because by then the broker may have expired it and leased the ID to someone else. A
 * renew refused by the broker (expired, released, stale epoch, not owner) loses it at once.
 * Losing it calls `onLost(error)`, sets `held.lost`, aborts `held.signal` and resolves
 * `held.whenLost`.
 *
 * Returns a Promise of the held lease: `{lease, lease_id, client_id, epoch, lost, error,
 * signal, whenLost, check(), close()}`.
 */
export async function holdLease(client, request, options = {}) {
  const leases = client?.leases ?? client;
  const { onLost, renewFraction = 1 / 3, timeoutMs = 10_000, acquireAttempts = 4 } = options;
  if (!(renewFraction > 0 && renewFraction < 1)) {
    throw new RangeError('renewFraction must be between 0 and 1');
  }
  const { ttlMs: wantedTtl, ...fields } = request ?? {};
  const acquire = { ...fields, request_id: fields.request_id || randomUUID() };
  if (wantedTtl !== undefined) acquire.ttl = msToDuration(wantedTtl);

  let response;
  let sentAt;
  for (let attempt = 1; ; attempt++) {
    sentAt = performance.now();
    try {
      response = await unary(leases, 'AcquireLease', acquire, { timeoutMs });
      break;
    } catch (err) {
      if (!TRANSIENT.has(err.code) || attempt >= acquireAttempts) throw err;
      const delay = decodeError(err).retryDelayMs ?? 200 * 2 ** (attempt - 1);
      await sleep(Math.min(delay, 5_000));
    }
  }
  return new HeldLease(leases, response.lease, sentAt, { onLost, renewFraction, timeoutMs });
}

class HeldLease {
  #client;
  #owner;
  #renewFraction;
  #timeoutMs;
  #onLost;
  #deadline;
  #lostTimer;
  #renewTimer;
  #closed = false;
  #abort = new AbortController();
  #resolveLost;

  constructor(client, lease, sentAt, { onLost, renewFraction, timeoutMs }) {
    this.#client = client;
    this.#owner = lease.owner;
    this.#renewFraction = renewFraction;
    this.#timeoutMs = timeoutMs;
    this.#onLost = onLost;
    /** The lease as last acquired or renewed. */
    this.lease = lease;
    /** Set once the lease is lost. */
    this.error = null;
    /** Aborted when the lease is lost: pass it to work that must stop with the lease. */
    this.signal = this.#abort.signal;
    /** Resolves with the LeaseLostError when the lease is lost. */
    this.whenLost = new Promise((resolve) => {
      this.#resolveLost = resolve;
    });
    this.#granted(lease, sentAt);
  }

  get lease_id() {
    return this.lease.lease_id;
  }

  get client_id() {
    return this.lease.client_id;
  }

  get epoch() {
    return this.lease.epoch;
  }

  get lost() {
    return this.error !== null;
  }

  /** Local performance.now() at which the lease is lost unless a renew succeeds before. */
  get deadline() {
    return this.#deadline;
  }

  /** Throw the LeaseLostError if the lease has been lost. */
  check() {
    if (this.error) throw this.error;
  }

  #granted(lease, sentAt) {
    this.lease = lease;
    const ttl = ttlMs(lease);
    this.#deadline = sentAt + ttl;
    clearTimeout(this.#lostTimer);
    this.#lostTimer = setTimeout(
      () => this.#lose(new Error(`no successful renew within the ${ttl} ms TTL`)),
      Math.max(0, this.#deadline - performance.now()),
    );
    this.#schedule(ttl * this.#renewFraction);
  }

  #schedule(delayMs) {
    clearTimeout(this.#renewTimer);
    this.#renewTimer = setTimeout(() => this.#renew(), delayMs);
  }

  async #renew() {
    if (this.#closed || this.lost) return;
    const sentAt = performance.now();
    // Never wait for an answer past the point where the lease is lost anyway.
    const timeoutMs = Math.max(1, Math.min(this.#timeoutMs, this.#deadline - sentAt));
    const lease = this.lease;
    try {
      const response = await unary(
        this.#client,
        'RenewLease',
        { lease_id: lease.lease_id, epoch: lease.epoch, owner: this.#owner },
        { timeoutMs },
      );
      if (!this.#closed && !this.lost) this.#granted(response.lease, sentAt);
    } catch (err) {
      if (this.#closed || this.lost) return;
      if (!TRANSIENT.has(err.code)) {
        this.#lose(err);
        return;
      }
      // Try again soon; the lost timer still fires at the deadline if nothing gets through.
      const retry = decodeError(err).retryDelayMs ?? 500;
      this.#schedule(Math.min(retry, ttlMs(lease) * this.#renewFraction));
    }
  }

  #lose(cause) {
    if (this.error) return;
    clearTimeout(this.#lostTimer);
    clearTimeout(this.#renewTimer);
    this.error = new LeaseLostError(this.lease, cause);
    this.#abort.abort(this.error);
    this.#resolveLost(this.error);
    if (this.#onLost) {
      try {
        this.#onLost(this.error);
      } catch (err) {
        queueMicrotask(() => {
          throw err; // a bug in the callback: surface it, do not swallow it
        });
      }
    }
  }

  /**
   * Stop renewing and release the lease (unless already lost). Idempotent. Resolves true when
   * the broker confirmed the release, false when the lease was already lost or the release
   * failed (the broker then expires it after its TTL).
   */
  async close() {
    if (this.#closed) return false;
    this.#closed = true;
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#lostTimer);
    if (this.lost) return false;
    try {
      await unary(
        this.#client,
        'ReleaseLease',
        { lease_id: this.lease.lease_id, epoch: this.lease.epoch, owner: this.#owner },
        { timeoutMs: this.#timeoutMs },
      );
      return true;
    } catch {
      return false;
    }
  }
}
