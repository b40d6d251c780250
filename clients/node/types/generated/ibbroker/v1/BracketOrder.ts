// Original file: ibbroker/v1/trading.proto

import type { OrderSpec as _ibbroker_v1_OrderSpec, OrderSpec__Output as _ibbroker_v1_OrderSpec__Output } from '../../ibbroker/v1/OrderSpec';
import type { TimeInForce as _ibbroker_v1_TimeInForce, TimeInForce__Output as _ibbroker_v1_TimeInForce__Output } from '../../ibbroker/v1/TimeInForce';

/**
 * BracketOrder is an entry order with a take-profit and a stop-loss child, placed as one unit:
 * the children are sent after the parent with `transmit` set on the last one only, so IB
 * activates all three together or none. The children have the parent's contract, quantity and
 * account and the opposite side; each cancels the other when it fills (an OCA group).
 */
export interface BracketOrder {
  /**
   * The entry order (LIMIT, MARKET, STOP or STOP_LIMIT).
   */
  'parent'?: (_ibbroker_v1_OrderSpec | null);
  /**
   * The take-profit LIMIT price: above the entry for a BUY, below it for a SELL.
   */
  'take_profit_limit_price'?: (string);
  /**
   * The stop-loss STOP price: below the entry for a BUY, above it for a SELL.
   */
  'stop_loss_stop_price'?: (string);
  /**
   * Optional: makes the stop-loss a STOP_LIMIT with this limit price.
   */
  'stop_loss_limit_price'?: (string);
  /**
   * How long the children work; unset means the parent's time in force.
   */
  'children_time_in_force'?: (_ibbroker_v1_TimeInForce);
}

/**
 * BracketOrder is an entry order with a take-profit and a stop-loss child, placed as one unit:
 * the children are sent after the parent with `transmit` set on the last one only, so IB
 * activates all three together or none. The children have the parent's contract, quantity and
 * account and the opposite side; each cancels the other when it fills (an OCA group).
 */
export interface BracketOrder__Output {
  /**
   * The entry order (LIMIT, MARKET, STOP or STOP_LIMIT).
   */
  'parent': (_ibbroker_v1_OrderSpec__Output | null);
  /**
   * The take-profit LIMIT price: above the entry for a BUY, below it for a SELL.
   */
  'take_profit_limit_price': (string);
  /**
   * The stop-loss STOP price: below the entry for a BUY, above it for a SELL.
   */
  'stop_loss_stop_price': (string);
  /**
   * Optional: makes the stop-loss a STOP_LIMIT with this limit price.
   */
  'stop_loss_limit_price': (string);
  /**
   * How long the children work; unset means the parent's time in force.
   */
  'children_time_in_force': (_ibbroker_v1_TimeInForce__Output);
}
