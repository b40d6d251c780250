// Original file: ibbroker/v1/trading_service.proto

import type { Order as _ibbroker_v1_Order, Order__Output as _ibbroker_v1_Order__Output } from '../../ibbroker/v1/Order';

/**
 * ListCompletedOrdersResponse carries completed orders.
 */
export interface ListCompletedOrdersResponse {
  /**
   * The orders (states FILLED, CANCELLED, REJECTED), oldest first.
   */
  'orders'?: (_ibbroker_v1_Order)[];
}

/**
 * ListCompletedOrdersResponse carries completed orders.
 */
export interface ListCompletedOrdersResponse__Output {
  /**
   * The orders (states FILLED, CANCELLED, REJECTED), oldest first.
   */
  'orders': (_ibbroker_v1_Order__Output)[];
}
