// Original file: ibbroker/v1/lease_service.proto

import type { Long } from '@grpc/proto-loader';

/**
 * ReleaseLeaseRequest gives a lease back.
 */
export interface ReleaseLeaseRequest {
  /**
   * The lease to release.
   */
  'lease_id'?: (string);
  /**
   * The epoch the caller holds; a stale one is refused with ABORTED.
   */
  'epoch'?: (number | string | Long);
  /**
   * Who asks; must be the lease's owner.
   */
  'owner'?: (string);
}

/**
 * ReleaseLeaseRequest gives a lease back.
 */
export interface ReleaseLeaseRequest__Output {
  /**
   * The lease to release.
   */
  'lease_id': (string);
  /**
   * The epoch the caller holds; a stale one is refused with ABORTED.
   */
  'epoch': (string);
  /**
   * Who asks; must be the lease's owner.
   */
  'owner': (string);
}
