// Original file: ibbroker/v1/connection_service.proto

import type { HealthEvent as _ibbroker_v1_HealthEvent, HealthEvent__Output as _ibbroker_v1_HealthEvent__Output } from '../../ibbroker/v1/HealthEvent';

/**
 * WatchHealthResponse carries one event.
 */
export interface WatchHealthResponse {
  /**
   * The event.
   */
  'event'?: (_ibbroker_v1_HealthEvent | null);
}

/**
 * WatchHealthResponse carries one event.
 */
export interface WatchHealthResponse__Output {
  /**
   * The event.
   */
  'event': (_ibbroker_v1_HealthEvent__Output | null);
}
