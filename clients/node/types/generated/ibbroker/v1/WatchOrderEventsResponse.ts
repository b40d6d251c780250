// Original file: ibbroker/v1/trading_service.proto

import type { OrderEvent as _ibbroker_v1_OrderEvent, OrderEvent__Output as _ibbroker_v1_OrderEvent__Output } from '../../ibbroker/v1/OrderEvent';

/**
 * WatchOrderEventsResponse carries one event.
 */
export interface WatchOrderEventsResponse {
  /**
   * The event.
   */
  'event'?: (_ibbroker_v1_OrderEvent | null);
}

/**
 * WatchOrderEventsResponse carries one event.
 */
export interface WatchOrderEventsResponse__Output {
  /**
   * The event.
   */
  'event': (_ibbroker_v1_OrderEvent__Output | null);
}
