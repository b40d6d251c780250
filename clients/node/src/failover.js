// Following the leading broker among several addresses (brokers sharing one PostgreSQL store:
// docs/store.md). The same rule as the Python client's broker_client/failover.py:
//
// - UNAVAILABLE + NOT_LEADER naming a `leader_address` that is one of the addresses (or any,
//   with followUnlisted): move there, unless that address failed to answer in the last
//   downForMs (a standby names the dead leader until it takes over);
// - otherwise UNAVAILABLE (no reason: connect failure; SHUTTING_DOWN; NOT_LEADER without a usable
//   address) or DEADLINE_EXCEEDED (a stopped broker holds calls): move to the next address in
//   order that has not failed lately; when all have, stay on one that answered NOT_LEADER
//   (alive, may take over), else take the next one anyway;
// - any other error moves nothing.
import * as grpc from '@grpc/grpc-js';
import { decodeError } from './errors.js';

/** Milliseconds a re-sent call needs at least; with less of its deadline left it is not re-sent. */
export const MIN_RESEND_MS = 50;

/** Channel arguments of a client with several addresses: reconnect every 250 ms at most while a broker is away (a standby's port is closed while it takes over). */
export const FAILOVER_CHANNEL_OPTIONS = Object.freeze({
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 250,
});

const MOVE_REASONS = new Set(['', 'SHUTTING_DOWN', 'NOT_LEADER']);

/** `'a:1,b:2'` or `['a:1', 'b:2']` -> unique trimmed addresses in order. */
export function addressesOf(target) {
  const parts = typeof target === 'string' ? target.split(',') : Array.isArray(target) ? target : null;
  if (!parts) throw new TypeError('broker address: "host:port", "a:1,b:2" or an array of them');
  const out = [];
  for (const part of parts) {
    if (typeof part !== 'string') throw new TypeError(`a broker address is a "host:port" string, not ${part}`);
    const address = part.trim();
    if (address && !out.includes(address)) out.push(address);
  }
  if (!out.length) throw new TypeError('at least one broker address (host:port) is needed');
  return out;
}

export class Router {
  #addresses;
  #current;
  #down = new Map();
  #now;

  constructor(addresses, { followUnlisted = false, downForMs = 2_000, now = () => performance.now() } = {}) {
    this.#addresses = addressesOf(addresses);
    this.#current = this.#addresses[0];
    this.followUnlisted = followUnlisted;
    this.downForMs = downForMs;
    this.#now = now;
    /** Every move: {old, new, why} (the last 100). */
    this.switches = [];
    /** Called with each move. */
    this.onSwitch = null;
  }

  get addresses() {
    return [...this.#addresses];
  }

  /** The address calls go to now. */
  get current() {
    return this.#current;
  }

  /** `address` answered (anything but a failure to reach it). */
  answered(address) {
    this.#down.delete(address);
  }

  /**
   * A call to `at` failed with `err` (a grpc error); returns the address to call next (the
   * current one when the error says nothing about where the leader is).
   */
  failed(err, at) {
    const decoded = decodeError(err);
    const { reason } = decoded;
    const moves =
      decoded.code === grpc.status.DEADLINE_EXCEEDED ||
      (decoded.code === grpc.status.UNAVAILABLE && MOVE_REASONS.has(reason));
    if (!moves || at !== this.#current) return this.#current;
    const now = this.#now();
    if (reason !== 'NOT_LEADER') this.#down.set(at, now);
    const hint = reason === 'NOT_LEADER' ? decoded.metadata.leader_address ?? '' : '';
    if (hint && hint !== at && this.#usable(hint, now)) {
      if (this.#addresses.includes(hint)) return this.#move(hint, `${at} is not the leader; it names ${hint}`);
      if (this.followUnlisted) {
        this.#addresses.push(hint);
        return this.#move(hint, `${at} is not the leader; it names ${hint}`);
      }
    }
    const why =
      decoded.code === grpc.status.DEADLINE_EXCEEDED ? 'deadline exceeded' : reason ? reason.toLowerCase() : 'no answer';
    return this.#rotate(at, now, why);
  }

  #usable(address, now) {
    const down = this.#down.get(address);
    return down === undefined || now - down >= this.downForMs;
  }

  #rotate(at, now, why) {
    const n = this.#addresses.length;
    const start = this.#addresses.indexOf(at);
    const order = Array.from({ length: n }, (_, i) => this.#addresses[(start + 1 + i) % n]);
    const usable = order.filter((a) => a !== at && this.#usable(a, now));
    const target = usable[0] ?? (this.#usable(at, now) ? at : order[0]);
    return target === at ? at : this.#move(target, `${at}: ${why}`);
  }

  #move(address, why) {
    const change = { old: this.#current, new: address, why };
    this.#current = address;
    this.switches = [...this.switches.slice(-99), change];
    try {
      this.onSwitch?.(change);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
    return address;
  }
}

/** Methods a client re-sends to another broker on its own: reads, and writes with a key. */
export function safeToRepeat(method, request) {
  if (/^(Get|List)/.test(method)) return true;
  if (['RenewLease', 'ReleaseLease', 'CancelOrder'].includes(method)) return true;
  if (method === 'AcquireLease') return Boolean(request?.request_id);
  if (method === 'PlaceOrder') return Boolean(request?.idempotency_key);
  return false;
}
