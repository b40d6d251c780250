// Original file: ibbroker/v1/trading_service.proto

import type { OrderSelector as _ibbroker_v1_OrderSelector, OrderSelector__Output as _ibbroker_v1_OrderSelector__Output } from '../../ibbroker/v1/OrderSelector';
import type { TimeInForce as _ibbroker_v1_TimeInForce, TimeInForce__Output as _ibbroker_v1_TimeInForce__Output } from '../../ibbroker/v1/TimeInForce';
import type { Long } from '@grpc/proto-loader';

/**
 * ModifyOrderRequest changes a working order. Unset fields keep their value.
 */
export interface ModifyOrderRequest {
  /**
   * The caller's PROXIED lease; its client ID must be the order's (else FAILED_PRECONDITION,
   * ORDER_OWNED_BY_OTHER_CLIENT_ID, naming the owning client ID).
   */
  'lease_id'?: (string);
  /**
   * The lease's epoch; a stale one is refused with ABORTED.
   */
  'epoch'?: (number | string | Long);
  /**
   * Who asks; must be the order's owner.
   */
  'owner'?: (string);
  /**
   * The order.
   */
  'order'?: (_ibbroker_v1_OrderSelector | null);
  /**
   * New total quantity, a positive decimal string.
   */
  'quantity'?: (string);
  /**
   * New limit price, a decimal string (LIMIT and STOP_LIMIT orders).
   */
  'limit_price'?: (string);
  /**
   * New stop price, a decimal string (STOP and STOP_LIMIT orders).
   */
  'stop_price'?: (string);
  /**
   * New time in force.
   */
  'time_in_force'?: (_ibbroker_v1_TimeInForce);
  /**
   * New outside-RTH flag.
   */
  'outside_rth'?: (boolean);
  '_quantity'?: "quantity";
  '_limit_price'?: "limit_price";
  '_stop_price'?: "stop_price";
  '_time_in_force'?: "time_in_force";
  '_outside_rth'?: "outside_rth";
}

/**
 * ModifyOrderRequest changes a working order. Unset fields keep their value.
 */
export interface ModifyOrderRequest__Output {
  /**
   * The caller's PROXIED lease; its client ID must be the order's (else FAILED_PRECONDITION,
   * ORDER_OWNED_BY_OTHER_CLIENT_ID, naming the owning client ID).
   */
  'lease_id': (string);
  /**
   * The lease's epoch; a stale one is refused with ABORTED.
   */
  'epoch': (string);
  /**
   * Who asks; must be the order's owner.
   */
  'owner': (string);
  /**
   * The order.
   */
  'order': (_ibbroker_v1_OrderSelector__Output | null);
  /**
   * New total quantity, a positive decimal string.
   */
  'quantity'?: (string);
  /**
   * New limit price, a decimal string (LIMIT and STOP_LIMIT orders).
   */
  'limit_price'?: (string);
  /**
   * New stop price, a decimal string (STOP and STOP_LIMIT orders).
   */
  'stop_price'?: (string);
  /**
   * New time in force.
   */
  'time_in_force'?: (_ibbroker_v1_TimeInForce__Output);
  /**
   * New outside-RTH flag.
   */
  'outside_rth'?: (boolean);
  '_quantity'?: "quantity";
  '_limit_price'?: "limit_price";
  '_stop_price'?: "stop_price";
  '_time_in_force'?: "time_in_force";
  '_outside_rth'?: "outside_rth";
}
