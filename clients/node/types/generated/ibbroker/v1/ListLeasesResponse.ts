// Original file: ibbroker/v1/lease_service.proto

import type { Lease as _ibbroker_v1_Lease, Lease__Output as _ibbroker_v1_Lease__Output } from '../../ibbroker/v1/Lease';

/**
 * ListLeasesResponse carries the matching active leases.
 */
export interface ListLeasesResponse {
  /**
   * The leases, ordered by gateway and client ID.
   */
  'leases'?: (_ibbroker_v1_Lease)[];
}

/**
 * ListLeasesResponse carries the matching active leases.
 */
export interface ListLeasesResponse__Output {
  /**
   * The leases, ordered by gateway and client ID.
   */
  'leases': (_ibbroker_v1_Lease__Output)[];
}
