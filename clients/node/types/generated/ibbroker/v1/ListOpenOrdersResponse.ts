// Original file: ibbroker/v1/trading_service.proto

import type { Order as _ibbroker_v1_Order, Order__Output as _ibbroker_v1_Order__Output } from '../../ibbroker/v1/Order';

/**
 * ListOpenOrdersResponse carries working orders.
 */
export interface ListOpenOrdersResponse {
  /**
   * The orders, oldest first.
   */
  'orders'?: (_ibbroker_v1_Order)[];
}

/**
 * ListOpenOrdersResponse carries working orders.
 */
export interface ListOpenOrdersResponse__Output {
  /**
   * The orders, oldest first.
   */
  'orders': (_ibbroker_v1_Order__Output)[];
}
