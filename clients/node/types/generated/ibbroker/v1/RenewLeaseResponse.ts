// Original file: ibbroker/v1/lease_service.proto

import type { Lease as _ibbroker_v1_Lease, Lease__Output as _ibbroker_v1_Lease__Output } from '../../ibbroker/v1/Lease';

/**
 * RenewLeaseResponse carries the renewed lease.
 */
export interface RenewLeaseResponse {
  /**
   * The lease with its new expire_time.
   */
  'lease'?: (_ibbroker_v1_Lease | null);
}

/**
 * RenewLeaseResponse carries the renewed lease.
 */
export interface RenewLeaseResponse__Output {
  /**
   * The lease with its new expire_time.
   */
  'lease': (_ibbroker_v1_Lease__Output | null);
}
