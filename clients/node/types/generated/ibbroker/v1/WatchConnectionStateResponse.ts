// Original file: ibbroker/v1/connection_service.proto

import type { ConnectionEvent as _ibbroker_v1_ConnectionEvent, ConnectionEvent__Output as _ibbroker_v1_ConnectionEvent__Output } from '../../ibbroker/v1/ConnectionEvent';

/**
 * WatchConnectionStateResponse carries one event.
 */
export interface WatchConnectionStateResponse {
  /**
   * The event.
   */
  'event'?: (_ibbroker_v1_ConnectionEvent | null);
}

/**
 * WatchConnectionStateResponse carries one event.
 */
export interface WatchConnectionStateResponse__Output {
  /**
   * The event.
   */
  'event': (_ibbroker_v1_ConnectionEvent__Output | null);
}
