// Original file: ibbroker/v1/lease_service.proto

import type { Lease as _ibbroker_v1_Lease, Lease__Output as _ibbroker_v1_Lease__Output } from '../../ibbroker/v1/Lease';

/**
 * AcquireLeaseResponse carries the new (or, for a repeated request_id, the same) lease.
 */
export interface AcquireLeaseResponse {
  /**
   * The lease.
   */
  'lease'?: (_ibbroker_v1_Lease | null);
}

/**
 * AcquireLeaseResponse carries the new (or, for a repeated request_id, the same) lease.
 */
export interface AcquireLeaseResponse__Output {
  /**
   * The lease.
   */
  'lease': (_ibbroker_v1_Lease__Output | null);
}
