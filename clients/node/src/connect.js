// connect(): one channel to the broker shared by typed clients of every ibbroker service.
import * as grpc from '@grpc/grpc-js';
import { loadPackage } from './protos.js';

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

/**
 * Connect to a broker at `address` (host:port). Returns `{leases, connections, channel,
 * close()}`; the clients are @grpc/grpc-js clients sharing one channel.
 *
 * options.credentials: grpc.ChannelCredentials (default insecure: the broker listens on
 * loopback; grpc.credentials.createSsl(ca, key, cert) for TLS/mTLS); options.token: a bearer
 * token sent as `authorization: Bearer <token>` on every call (docs/security.md);
 * options.channelOptions: extra channel arguments, merged over CHANNEL_OPTIONS.
 */
export function connect(address, options = {}) {
  if (typeof address !== 'string' || !address) throw new TypeError('connect(address): host:port');
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  const channelOptions = { ...CHANNEL_OPTIONS, ...options.channelOptions };
  if (options.token) channelOptions.interceptors = [tokenInterceptor(options.token)];
  const root = loadPackage();
  const broker = { address };
  let channel;
  for (const [prop, name] of Object.entries(SERVICES)) {
    const Client = lookup(root, name);
    const client = channel
      ? new Client(address, credentials, { ...channelOptions, channelOverride: channel })
      : new Client(address, credentials, channelOptions);
    channel ??= client.getChannel();
    broker[prop] = client;
  }
  broker.channel = channel;
  broker.close = () => channel.close();
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
  const metadata = toMetadata(options.metadata);
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline }, (err, response) =>
      err ? reject(err) : resolve(response),
    );
  });
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
