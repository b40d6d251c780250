// Original file: ibbroker/v1/lease_service.proto

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';
import type { Long } from '@grpc/proto-loader';

/**
 * RenewLeaseRequest extends a lease.
 */
export interface RenewLeaseRequest {
  /**
   * The lease to renew.
   */
  'lease_id'?: (string);
  /**
   * The epoch the caller holds; a stale one is refused with ABORTED.
   */
  'epoch'?: (number | string | Long);
  /**
   * New time-to-live; unset keeps the lease's TTL.
   */
  'ttl'?: (_google_protobuf_Duration | null);
  /**
   * Who asks; must be the lease's owner.
   */
  'owner'?: (string);
}

/**
 * RenewLeaseRequest extends a lease.
 */
export interface RenewLeaseRequest__Output {
  /**
   * The lease to renew.
   */
  'lease_id': (string);
  /**
   * The epoch the caller holds; a stale one is refused with ABORTED.
   */
  'epoch': (string);
  /**
   * New time-to-live; unset keeps the lease's TTL.
   */
  'ttl': (_google_protobuf_Duration__Output | null);
  /**
   * Who asks; must be the lease's owner.
   */
  'owner': (string);
}
