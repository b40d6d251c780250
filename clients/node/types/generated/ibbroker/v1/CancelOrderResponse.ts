// Original file: ibbroker/v1/trading_service.proto

import type { Order as _ibbroker_v1_Order, Order__Output as _ibbroker_v1_Order__Output } from '../../ibbroker/v1/Order';

/**
 * CancelOrderResponse carries the order after the cancel.
 */
export interface CancelOrderResponse {
  /**
   * The order, CANCELLED or PENDING_CANCEL (or FILLED if the fill won the race).
   */
  'order'?: (_ibbroker_v1_Order | null);
}

/**
 * CancelOrderResponse carries the order after the cancel.
 */
export interface CancelOrderResponse__Output {
  /**
   * The order, CANCELLED or PENDING_CANCEL (or FILLED if the fill won the race).
   */
  'order': (_ibbroker_v1_Order__Output | null);
}
