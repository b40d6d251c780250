// Original file: ibbroker/v1/trading_service.proto

import type { OrderSelector as _ibbroker_v1_OrderSelector, OrderSelector__Output as _ibbroker_v1_OrderSelector__Output } from '../../ibbroker/v1/OrderSelector';
import type { Long } from '@grpc/proto-loader';

/**
 * CancelOrderRequest cancels a working order.
 */
export interface CancelOrderRequest {
  /**
   * The caller's PROXIED lease; its client ID must be the order's.
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
   * The order. Cancelling a bracket's parent cancels its children too (as IB does).
   */
  'order'?: (_ibbroker_v1_OrderSelector | null);
}

/**
 * CancelOrderRequest cancels a working order.
 */
export interface CancelOrderRequest__Output {
  /**
   * The caller's PROXIED lease; its client ID must be the order's.
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
   * The order. Cancelling a bracket's parent cancels its children too (as IB does).
   */
  'order': (_ibbroker_v1_OrderSelector__Output | null);
}
