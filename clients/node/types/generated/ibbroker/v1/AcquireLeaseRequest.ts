// Original file: ibbroker/v1/lease_service.proto

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';
import type { LeaseMode as _ibbroker_v1_LeaseMode, LeaseMode__Output as _ibbroker_v1_LeaseMode__Output } from '../../ibbroker/v1/LeaseMode';

/**
 * AcquireLeaseRequest asks for a client ID.
 */
export interface AcquireLeaseRequest {
  /**
   * Who will hold the lease; required.
   */
  'owner'?: (string);
  /**
   * The gateway to lease on; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * Time-to-live, 5 s to 300 s; unset means the default (30 s).
   */
  'ttl'?: (_google_protobuf_Duration | null);
  /**
   * DIRECT (default) or PROXIED.
   */
  'mode'?: (_ibbroker_v1_LeaseMode);
  /**
   * A preferred client ID, honoured when free.
   */
  'client_id'?: (number);
  /**
   * Idempotency key: a repeated request_id returns the same lease.
   */
  'request_id'?: (string);
  '_client_id'?: "client_id";
}

/**
 * AcquireLeaseRequest asks for a client ID.
 */
export interface AcquireLeaseRequest__Output {
  /**
   * Who will hold the lease; required.
   */
  'owner': (string);
  /**
   * The gateway to lease on; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * Time-to-live, 5 s to 300 s; unset means the default (30 s).
   */
  'ttl': (_google_protobuf_Duration__Output | null);
  /**
   * DIRECT (default) or PROXIED.
   */
  'mode': (_ibbroker_v1_LeaseMode__Output);
  /**
   * A preferred client ID, honoured when free.
   */
  'client_id'?: (number);
  /**
   * Idempotency key: a repeated request_id returns the same lease.
   */
  'request_id': (string);
  '_client_id'?: "client_id";
}
