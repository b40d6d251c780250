// Original file: ibbroker/v1/trading.proto

import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from '../../ibbroker/v1/Contract';
import type { OrderSide as _ibbroker_v1_OrderSide, OrderSide__Output as _ibbroker_v1_OrderSide__Output } from '../../ibbroker/v1/OrderSide';
import type { OrderType as _ibbroker_v1_OrderType, OrderType__Output as _ibbroker_v1_OrderType__Output } from '../../ibbroker/v1/OrderType';
import type { TimeInForce as _ibbroker_v1_TimeInForce, TimeInForce__Output as _ibbroker_v1_TimeInForce__Output } from '../../ibbroker/v1/TimeInForce';

/**
 * OrderSpec is what a strategy asks IB to do: the parameters of one order.
 */
export interface OrderSpec {
  /**
   * The instrument; con_id, or enough fields to resolve to exactly one contract.
   */
  'contract'?: (_ibbroker_v1_Contract | null);
  /**
   * Buy or sell.
   */
  'side'?: (_ibbroker_v1_OrderSide);
  /**
   * How many, a positive decimal string.
   */
  'quantity'?: (string);
  /**
   * The order type.
   */
  'order_type'?: (_ibbroker_v1_OrderType);
  /**
   * The limit price, a decimal string: required for LIMIT and STOP_LIMIT, refused otherwise.
   */
  'limit_price'?: (string);
  /**
   * The stop (trigger) price, IB's auxPrice, a decimal string: required for STOP and STOP_LIMIT.
   */
  'stop_price'?: (string);
  /**
   * How long the order works; unset means DAY.
   */
  'time_in_force'?: (_ibbroker_v1_TimeInForce);
  /**
   * Allow the order to trigger or fill outside regular trading hours.
   */
  'outside_rth'?: (boolean);
  /**
   * The IB account; empty means the gateway's single managed account (an error if several).
   */
  'account'?: (string);
}

/**
 * OrderSpec is what a strategy asks IB to do: the parameters of one order.
 */
export interface OrderSpec__Output {
  /**
   * The instrument; con_id, or enough fields to resolve to exactly one contract.
   */
  'contract': (_ibbroker_v1_Contract__Output | null);
  /**
   * Buy or sell.
   */
  'side': (_ibbroker_v1_OrderSide__Output);
  /**
   * How many, a positive decimal string.
   */
  'quantity': (string);
  /**
   * The order type.
   */
  'order_type': (_ibbroker_v1_OrderType__Output);
  /**
   * The limit price, a decimal string: required for LIMIT and STOP_LIMIT, refused otherwise.
   */
  'limit_price': (string);
  /**
   * The stop (trigger) price, IB's auxPrice, a decimal string: required for STOP and STOP_LIMIT.
   */
  'stop_price': (string);
  /**
   * How long the order works; unset means DAY.
   */
  'time_in_force': (_ibbroker_v1_TimeInForce__Output);
  /**
   * Allow the order to trigger or fill outside regular trading hours.
   */
  'outside_rth': (boolean);
  /**
   * The IB account; empty means the gateway's single managed account (an error if several).
   */
  'account': (string);
}
