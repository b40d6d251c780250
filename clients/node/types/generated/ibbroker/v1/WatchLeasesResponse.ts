// Original file: ibbroker/v1/lease_service.proto

import type { LeaseEvent as _ibbroker_v1_LeaseEvent, LeaseEvent__Output as _ibbroker_v1_LeaseEvent__Output } from '../../ibbroker/v1/LeaseEvent';

/**
 * WatchLeasesResponse carries one event.
 */
export interface WatchLeasesResponse {
  /**
   * The event.
   */
  'event'?: (_ibbroker_v1_LeaseEvent | null);
}

/**
 * WatchLeasesResponse carries one event.
 */
export interface WatchLeasesResponse__Output {
  /**
   * The event.
   */
  'event': (_ibbroker_v1_LeaseEvent__Output | null);
}
