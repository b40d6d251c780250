// decodeError(): read the google.rpc.Status the broker puts in the grpc-status-details-bin
// trailer of every error (ErrorInfo, RetryInfo, BadRequest).
import * as grpc from '@grpc/grpc-js';
import { rpcTypes } from './protos.js';

const DETAILS_KEY = 'grpc-status-details-bin';
const TYPE_PREFIX = 'type.googleapis.com/';

function durationMs(duration) {
  if (!duration) return null;
  return Number(duration.seconds ?? 0) * 1000 + Number(duration.nanos ?? 0) / 1e6;
}

/**
 * Decode a gRPC error into
 * `{code, codeName, message, reason, domain, metadata, retryDelayMs, fieldViolations}`:
 * `reason` and `domain` from ErrorInfo ("" when absent, e.g. a connection failure that never
 * reached the broker), `metadata` its string map (the IB error code is `ib_error_code`),
 * `retryDelayMs` from RetryInfo (null when a retry would not help), `fieldViolations`
 * `[{field, description}]` from BadRequest.
 */
export function decodeError(err) {
  const code = typeof err?.code === 'number' ? err.code : grpc.status.UNKNOWN;
  const decoded = {
    code,
    codeName: grpc.status[code] ?? String(code),
    message: err?.details ?? err?.message ?? String(err),
    reason: '',
    domain: '',
    metadata: {},
    retryDelayMs: null,
    fieldViolations: [],
  };
  const raw = err?.metadata?.get?.(DETAILS_KEY)?.[0];
  if (!raw) return decoded;
  const root = rpcTypes();
  let status;
  try {
    status = root.lookupType('google.rpc.Status').decode(Buffer.from(raw));
  } catch {
    return decoded; // not a google.rpc.Status: keep what the plain status says
  }
  if (status.message) decoded.message = status.message;
  for (const any of status.details ?? []) {
    const name = any.type_url.startsWith(TYPE_PREFIX)
      ? any.type_url.slice(TYPE_PREFIX.length)
      : any.type_url;
    let type;
    try {
      type = root.lookupType(name);
    } catch {
      continue; // a detail type this client does not know: skip it
    }
    const detail = type.toObject(type.decode(any.value), { longs: String, defaults: true });
    if (name === 'google.rpc.ErrorInfo') {
      decoded.reason = detail.reason;
      decoded.domain = detail.domain;
      decoded.metadata = { ...detail.metadata };
    } else if (name === 'google.rpc.RetryInfo') {
      decoded.retryDelayMs = durationMs(detail.retry_delay);
    } else if (name === 'google.rpc.BadRequest') {
      decoded.fieldViolations = detail.field_violations.map((v) => ({
        field: v.field,
        description: v.description,
      }));
    }
  }
  return decoded;
}
