// Types of @ibbroker/client. The message and service types come from types/generated, made by
// proto-loader-gen-types from the bundled protos (`npm run gen-types`; checked by `npm test`).
import type * as grpc from '@grpc/grpc-js';
import type { LeaseServiceClient } from './types/generated/ibbroker/v1/LeaseService.js';
import type { ConnectionServiceClient } from './types/generated/ibbroker/v1/ConnectionService.js';
import type { TradingServiceClient } from './types/generated/ibbroker/v1/TradingService.js';

export type { LeaseServiceClient, ConnectionServiceClient, TradingServiceClient };
export type { Lease__Output as Lease } from './types/generated/ibbroker/v1/Lease.js';
export type { LeaseEvent__Output as LeaseEvent } from './types/generated/ibbroker/v1/LeaseEvent.js';
export type { ConnectionEvent__Output as ConnectionEvent } from './types/generated/ibbroker/v1/ConnectionEvent.js';
export type { HealthEvent__Output as HealthEvent } from './types/generated/ibbroker/v1/HealthEvent.js';
export type { GatewayStatus__Output as GatewayStatus } from './types/generated/ibbroker/v1/GatewayStatus.js';
export type { SessionInfo__Output as SessionInfo } from './types/generated/ibbroker/v1/SessionInfo.js';
export type { AcquireLeaseRequest } from './types/generated/ibbroker/v1/AcquireLeaseRequest.js';
export type { ErrorReason } from './types/generated/ibbroker/v1/ErrorReason.js';
import type { Lease__Output } from './types/generated/ibbroker/v1/Lease.js';
import type { AcquireLeaseRequest } from './types/generated/ibbroker/v1/AcquireLeaseRequest.js';

/** The clients connect() returns; one property per entry of SERVICES. */
export interface Broker {
  /** The address calls go to now (with several addresses: where the router points). */
  readonly address: string;
  /** The addresses given, when there are several. */
  readonly addresses?: readonly string[];
  /** The leader-following router, when there are several addresses. */
  readonly router?: Router;
  readonly leases: LeaseServiceClient;
  readonly connections: ConnectionServiceClient;
  /** Orders, positions, account and market data (served once the broker implements it). */
  readonly trading: TradingServiceClient;
  readonly channel: grpc.Channel;
  /** Close the shared channel (every client of this Broker). */
  close(): void;
}

export interface ConnectOptions {
  /** Default: insecure (the broker listens on loopback). */
  credentials?: grpc.ChannelCredentials;
  /** Extra channel arguments, merged over CHANNEL_OPTIONS. */
  channelOptions?: grpc.ChannelOptions;
  /** Bearer token sent as `authorization: Bearer <token>` on every call (docs/security.md). */
  token?: string;
  /** Follow a `leader_address` that is not among the addresses (default false). */
  followUnlisted?: boolean;
}

/** One broker (`host:port`), or several sharing one store (`'a:1,b:2'` or an array): follows the leader. */
export function connect(address: string | readonly string[], options?: ConnectOptions): Broker;

export interface Switch {
  old: string;
  new: string;
  why: string;
}

/** Which address a failover client calls now, and when it moves (src/failover.js). */
export class Router {
  constructor(
    addresses: string | readonly string[],
    options?: { followUnlisted?: boolean; downForMs?: number; now?: () => number },
  );
  readonly addresses: string[];
  readonly current: string;
  followUnlisted: boolean;
  downForMs: number;
  switches: Switch[];
  onSwitch: ((change: Switch) => void) | null;
  answered(address: string): void;
  /** A call to `at` failed with `err`; returns the address to call next. */
  failed(err: unknown, at: string): string;
}
export function addressesOf(target: string | readonly string[]): string[];
/** Whether unary() re-sends `method` to another broker on its own. */
export function safeToRepeat(method: string, request?: unknown): boolean;
export const FAILOVER_CHANNEL_OPTIONS: Readonly<grpc.ChannelOptions>;
export const SERVICES: Readonly<Record<'leases' | 'connections' | 'trading', string>>;
export const CHANNEL_OPTIONS: Readonly<grpc.ChannelOptions>;
export const DEFAULT_TIMEOUT_MS: number;
export const PROTO_DIR: string;
export const LOADER_OPTIONS: Readonly<Record<string, unknown>>;
export function loadPackage(): grpc.GrpcObject;

// Typed method names and messages, derived from the generated client interfaces: the last
// overload of each unary method is (argument, callback), of each streaming one (argument, options?).
type UnaryRequest<F> = F extends (argument: infer A, callback: grpc.requestCallback<any>) => grpc.ClientUnaryCall ? A : never;
type UnaryResponse<F> = F extends (argument: any, callback: grpc.requestCallback<infer R>) => grpc.ClientUnaryCall ? R : never;
type StreamRequest<F> = F extends (argument: infer A, options?: grpc.CallOptions) => grpc.ClientReadableStream<any> ? A : never;
type StreamResponse<F> = F extends (argument: any, options?: grpc.CallOptions) => grpc.ClientReadableStream<infer R> ? R : never;
/** Names of the unary methods of client C. */
export type UnaryMethod<C> = { [K in keyof C & string]: [UnaryResponse<C[K]>] extends [never] ? never : K }[keyof C & string];
/** Names of the server-streaming methods of client C. */
export type StreamMethod<C> = { [K in keyof C & string]: [StreamResponse<C[K]>] extends [never] ? never : K }[keyof C & string];
/** The event type of a Watch* method: the `event` field of its responses. */
export type WatchEvent<C, M extends keyof C> = StreamResponse<C[M]> extends { event: infer E } ? NonNullable<E> : StreamResponse<C[M]>;

export interface CallOptions {
  /** Deadline in milliseconds (default DEFAULT_TIMEOUT_MS); with several addresses, for every re-send too. */
  timeoutMs?: number;
  metadata?: grpc.Metadata | Record<string, string>;
  /** Several addresses: re-send to another broker on NOT_LEADER/UNAVAILABLE (default: safeToRepeat). */
  repeatable?: boolean;
}

/** Promise-returning unary call; rejects with the grpc.ServiceError (see decodeError). */
export function unary<C, M extends UnaryMethod<C>>(
  client: C,
  method: M,
  request: UnaryRequest<C[M]>,
  options?: CallOptions,
): Promise<UnaryResponse<C[M]>>;

export interface FieldViolation {
  field: string;
  description: string;
}

export interface DecodedError {
  /** The gRPC status code (grpc.status). */
  code: number;
  /** Its name, e.g. "INVALID_ARGUMENT". */
  codeName: string;
  message: string;
  /** google.rpc.ErrorInfo reason: an ErrorReason without its ERROR_REASON_ prefix; "" when absent. */
  reason: string;
  /** "ibbroker.v1" for the broker's errors; "" when absent. */
  domain: string;
  /** ErrorInfo metadata (e.g. ib_error_code). */
  metadata: Record<string, string>;
  /** google.rpc.RetryInfo delay; null when a retry would not help. */
  retryDelayMs: number | null;
  /** google.rpc.BadRequest field violations. */
  fieldViolations: FieldViolation[];
}

export function decodeError(err: unknown): DecodedError;

export class LeaseLostError extends Error {
  readonly lease: Lease__Output;
}

export interface HoldLeaseRequest extends AcquireLeaseRequest {
  /** TTL in milliseconds (instead of `ttl`). */
  ttlMs?: number;
}

export interface HoldLeaseOptions {
  /** Called once when the lease is lost. */
  onLost?: (error: LeaseLostError) => void;
  /** Renew every this fraction of the TTL (default 1/3). */
  renewFraction?: number;
  /** Deadline of each call in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** Attempts of the acquire on UNAVAILABLE / DEADLINE_EXCEEDED (default 4). */
  acquireAttempts?: number;
}

export interface HeldLease {
  readonly lease: Lease__Output;
  readonly lease_id: string;
  readonly client_id: number;
  readonly epoch: string;
  readonly lost: boolean;
  readonly error: LeaseLostError | null;
  /** Aborted when the lease is lost. */
  readonly signal: AbortSignal;
  readonly whenLost: Promise<LeaseLostError>;
  /** performance.now() at which the lease is lost unless a renew succeeds first. */
  readonly deadline: number;
  /** Throws the LeaseLostError once the lease is lost. */
  check(): void;
  /** Stop renewing and release; true when the broker confirmed the release. */
  close(): Promise<boolean>;
}

export function holdLease(
  client: Broker | LeaseServiceClient,
  request: HoldLeaseRequest,
  options?: HoldLeaseOptions,
): Promise<HeldLease>;

export interface WatchOptions {
  /** End after the broker's FINAL event (default true). */
  stopOnFinal?: boolean;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Consecutive failed reopenings before giving up (default unlimited). */
  maxAttempts?: number;
  signal?: AbortSignal;
  metadata?: grpc.Metadata | Record<string, string>;
  onReconnect?: (attempt: number, lastSequence: string) => void;
  random?: () => number;
}

/** Events of a Watch* stream, reopened after the last sequence when it breaks. */
export function watch<C, M extends StreamMethod<C>>(
  client: C,
  method: M,
  request?: StreamRequest<C[M]>,
  options?: WatchOptions,
): AsyncGenerator<WatchEvent<C, M>, void, undefined>;

export function isFinal(event: { kind?: string } | null | undefined): boolean;
