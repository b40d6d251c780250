// Original file: ibbroker/v1/trading_service.proto

import type { Order as _ibbroker_v1_Order, Order__Output as _ibbroker_v1_Order__Output } from '../../ibbroker/v1/Order';

/**
 * PlaceOrderResponse carries the order(s) as journaled and, when known, as acknowledged.
 */
export interface PlaceOrderResponse {
  /**
   * The order (for a bracket: the parent).
   */
  'order'?: (_ibbroker_v1_Order | null);
  /**
   * For a bracket: the take-profit and stop-loss children, in that order.
   */
  'children'?: (_ibbroker_v1_Order)[];
  /**
   * True when the key had been seen before and the stored order was returned.
   */
  'replayed'?: (boolean);
}

/**
 * PlaceOrderResponse carries the order(s) as journaled and, when known, as acknowledged.
 */
export interface PlaceOrderResponse__Output {
  /**
   * The order (for a bracket: the parent).
   */
  'order': (_ibbroker_v1_Order__Output | null);
  /**
   * For a bracket: the take-profit and stop-loss children, in that order.
   */
  'children': (_ibbroker_v1_Order__Output)[];
  /**
   * True when the key had been seen before and the stored order was returned.
   */
  'replayed': (boolean);
}
