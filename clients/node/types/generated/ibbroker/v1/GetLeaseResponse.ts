// Original file: ibbroker/v1/lease_service.proto

import type { Lease as _ibbroker_v1_Lease, Lease__Output as _ibbroker_v1_Lease__Output } from '../../ibbroker/v1/Lease';

/**
 * GetLeaseResponse carries one lease.
 */
export interface GetLeaseResponse {
  /**
   * The lease.
   */
  'lease'?: (_ibbroker_v1_Lease | null);
}

/**
 * GetLeaseResponse carries one lease.
 */
export interface GetLeaseResponse__Output {
  /**
   * The lease.
   */
  'lease': (_ibbroker_v1_Lease__Output | null);
}
