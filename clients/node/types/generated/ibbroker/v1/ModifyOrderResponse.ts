// Original file: ibbroker/v1/trading_service.proto

import type { Order as _ibbroker_v1_Order, Order__Output as _ibbroker_v1_Order__Output } from '../../ibbroker/v1/Order';

/**
 * ModifyOrderResponse carries the order after the modification was acknowledged.
 */
export interface ModifyOrderResponse {
  /**
   * The order.
   */
  'order'?: (_ibbroker_v1_Order | null);
}

/**
 * ModifyOrderResponse carries the order after the modification was acknowledged.
 */
export interface ModifyOrderResponse__Output {
  /**
   * The order.
   */
  'order': (_ibbroker_v1_Order__Output | null);
}
