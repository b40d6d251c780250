// connect(): one channel to the broker shared by typed clients of every ibbroker service.
import * as grpc from '@grpc/grpc-js';
import { loadPackage } from './protos.js';
import { addressesOf, FAILOVER_CHANNEL_OPTIONS, MIN_RESEND_MS, Router, safeToRepeat } from './failover.js';

/** The property of a failover service client that leads unary() and watch() to its router. */
export const ROUTE = Symbol('ibbroker.route');

/**
 * The services connect() returns a client for: property name -> fully qualified service name.
 * A new service is one line here plus its line in index.d.ts's Broker.
 */
export const SERVICES = Object.freeze({
  leases: 'ibbroker.v1.LeaseService',
  connections: 'ibbroker.v1.ConnectionService',
  trading: 'ibbroker.v1.TradingService',
});

/**
 * Channel options matching the broker's keepalive policy (broker_server/server.py): the server
 * accepts client pings no more often than every 10 s (server.min_client_ping_interval) and
 * answers faster pings with GOAWAY "too many pings", so clients ping every 20 s, also with no
 * call open, and give up on a ping unanswered for 10 s. Message size limits match the server's
 * 4 MiB default (server.max_message_bytes).
 */
export const CHANNEL_OPTIONS = Object.freeze({
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  'grpc.max_send_message_length': 4 * 1024 * 1024,
});

/** Default deadline of unary calls made with unary(), in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

function lookup(root, name) {
  const ctor = name.split('.').reduce((node, part) => node?.[part], root);
  if (typeof ctor !== 'function') throw new Error(`service ${name} is not in the bundled protos`);
  return ctor;
}

function openClients(root, address, credentials, channelOptions) {
  const clients = {};
  let channel;
  for (const [prop, name] of Object.entries(SERVICES)) {
    const Client = lookup(root, name);
    const client = channel
      ? new Client(address, credentials, { ...channelOptions, channelOverride: channel })
      : new Client(address, credentials, channelOptions);
    channel ??= client.getChannel();
    clients[prop] = client;
  }
  return { clients, channel };
}

/**
 * Connect to a broker at `address` (host:port). Returns `{leases, connections, trading,
 * channel, address, close()}`; the clients are @grpc/grpc-js clients sharing one channel.
 *
 * Several brokers sharing one store (`['a:1', 'b:2']` or `'a:1,b:2'`): the clients follow the
 * leader. Each service property is then a stand-in for that service's client on the address
 * the router points at (`broker.address`, `broker.router`): unary() and watch() given it move
 * on NOT_LEADER to `leader_address` (when it is one of the addresses, or any with
 * options.followUnlisted) and on UNAVAILABLE or DEADLINE_EXCEEDED to the next address, and
 * unary() re-sends calls that are safe to repeat (reads, and writes with an idempotency key)
 * at once to an address it has not tried, within the call's deadline (src/failover.js).
 *
 * options.credentials: grpc.ChannelCredentials (default insecure: the broker listens on
 * loopback; grpc.credentials.createSsl(ca, key, cert) for TLS/mTLS); options.token: a bearer
 * token sent as `authorization: Bearer <token>` on every call (docs/security.md);
 * options.channelOptions: extra channel arguments, merged over CHANNEL_OPTIONS.
 */
export function connect(address, options = {}) {
  const addresses = addressesOf(address);
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  const channelOptions = {
    ...CHANNEL_OPTIONS,
    ...(addresses.length > 1 ? FAILOVER_CHANNEL_OPTIONS : {}),
    ...options.channelOptions,
  };
  if (options.token) channelOptions.interceptors = [tokenInterceptor(options.token)];
  const root = loadPackage();
  if (addresses.length === 1) {
    const { clients, channel } = openClients(root, addresses[0], credentials, channelOptions);
    return { address: addresses[0], ...clients, channel, close: () => channel.close() };
  }
  const router = new Router(addresses, { followUnlisted: options.followUnlisted ?? false });
  const opened = new Map();
  const at = (where) => {
    if (!opened.has(where)) opened.set(where, openClients(root, where, credentials, channelOptions));
    return opened.get(where);
  };
  const broker = {
    addresses,
    router,
    get address() {
      return router.current;
    },
    get channel() {
      return at(router.current).channel;
    },
    close() {
      for (const { channel } of opened.values()) channel.close();
      opened.clear();
    },
  };
  for (const prop of Object.keys(SERVICES)) {
    const route = { router, clientAt: (where) => at(where).clients[prop] };
    const standIn = new Proxy(
      {},
      {
        get(_target, key) {
          if (key === ROUTE) return route;
          const client = route.clientAt(router.current);
          const value = client[key];
          return typeof value === 'function' ? value.bind(client) : value;
        },
        has(_target, key) {
          return key === ROUTE || key in route.clientAt(router.current);
        },
      },
    );
    Object.defineProperty(broker, prop, { value: standIn, enumerable: true });
  }
  return broker;
}

/**
 * Call unary `method` of `client` and return a Promise of the response. options.timeoutMs sets
 * the deadline (default DEFAULT_TIMEOUT_MS), options.metadata adds metadata (an object of
 * strings or a grpc.Metadata). A failed call rejects with the grpc ServiceError: pass it to
 * decodeError() for its reason, retry delay and field violations.
 */
export function unary(client, method, request = {}, options = {}) {
  if (typeof client?.[method] !== 'function') {
    return Promise.reject(new TypeError(`no method ${method} on this client`));
  }
  const route = client[ROUTE];
  if (route) return routedUnary(route, method, request, options);
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  return send(client, method, request, toMetadata(options.metadata), deadline);
}

function send(client, method, request, metadata, deadline) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline }, (err, response) =>
      err ? reject(err) : resolve(response),
    );
  });
}

/**
 * unary() over several addresses: the router's address first; a failure that moves the router
 * is re-sent at once to the new address when the call is safe to repeat (options.repeatable
 * overrides the rule of safeToRepeat), that address was not tried by this call, and at least
 * MIN_RESEND_MS of the deadline is left. Otherwise the failure is thrown (the router has moved:
 * the next call goes to the new address). A CANCELLED answer (a server stopping: a standby's
 * stand-in giving way) to a call safe to repeat is re-sent once to the same address.
 */
async function routedUnary(route, method, request, options) {
  const { router } = route;
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const repeatable = options.repeatable ?? safeToRepeat(method, request);
  const tried = new Set();
  let address = router.current;
  let cancelledOnce = false;
  for (;;) {
    tried.add(address);
    try {
      const response = await send(route.clientAt(address), method, request, toMetadata(options.metadata), deadline);
      router.answered(address);
      return response;
    } catch (err) {
      if (err.code === grpc.status.CANCELLED && repeatable && !cancelledOnce && deadline - Date.now() >= MIN_RESEND_MS) {
        // A server that stops cancels the calls in flight (a standby's stand-in giving way to
        // the broker proper); this call has no signal of its own, so the cancel is the server's.
        // Re-sent once, as the Python client does (broker_client.plans.RETRY_CODES).
        cancelledOnce = true;
        continue;
      }
      const next = router.failed(err, address);
      if (!repeatable || tried.has(next) || deadline - Date.now() < MIN_RESEND_MS) throw err;
      address = next;
    }
  }
}

/**
 * A client interceptor adding `authorization: Bearer <token>` to every call (an interceptor,
 * not call credentials, so it also works on the insecure loopback channel).
 */
export function tokenInterceptor(token) {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

export function toMetadata(metadata) {
  if (metadata instanceof grpc.Metadata) return metadata;
  const out = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata ?? {})) out.set(key, String(value));
  return out;
}
