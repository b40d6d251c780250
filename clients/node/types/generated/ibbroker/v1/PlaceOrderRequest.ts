// Original file: ibbroker/v1/trading_service.proto

import type { OrderSpec as _ibbroker_v1_OrderSpec, OrderSpec__Output as _ibbroker_v1_OrderSpec__Output } from '../../ibbroker/v1/OrderSpec';
import type { BracketOrder as _ibbroker_v1_BracketOrder, BracketOrder__Output as _ibbroker_v1_BracketOrder__Output } from '../../ibbroker/v1/BracketOrder';
import type { Long } from '@grpc/proto-loader';

/**
 * PlaceOrderRequest places one order or one bracket through a PROXIED lease.
 */
export interface PlaceOrderRequest {
  /**
   * The caller's PROXIED lease: the order is placed with its client ID.
   */
  'lease_id'?: (string);
  /**
   * The lease's epoch; a stale one is refused with ABORTED.
   */
  'epoch'?: (number | string | Long);
  /**
   * Who asks; must be the lease's owner.
   */
  'owner'?: (string);
  /**
   * Required, 1 to 128 bytes of UTF-8, unique per owner: a retry must reuse it.
   */
  'idempotency_key'?: (string);
  /**
   * A single order.
   */
  'single'?: (_ibbroker_v1_OrderSpec | null);
  /**
   * A bracket: parent, take-profit and stop-loss as one unit.
   */
  'bracket'?: (_ibbroker_v1_BracketOrder | null);
  /**
   * What to place.
   */
  'order'?: "single"|"bracket";
}

/**
 * PlaceOrderRequest places one order or one bracket through a PROXIED lease.
 */
export interface PlaceOrderRequest__Output {
  /**
   * The caller's PROXIED lease: the order is placed with its client ID.
   */
  'lease_id': (string);
  /**
   * The lease's epoch; a stale one is refused with ABORTED.
   */
  'epoch': (string);
  /**
   * Who asks; must be the lease's owner.
   */
  'owner': (string);
  /**
   * Required, 1 to 128 bytes of UTF-8, unique per owner: a retry must reuse it.
   */
  'idempotency_key': (string);
  /**
   * A single order.
   */
  'single'?: (_ibbroker_v1_OrderSpec__Output | null);
  /**
   * A bracket: parent, take-profit and stop-loss as one unit.
   */
  'bracket'?: (_ibbroker_v1_BracketOrder__Output | null);
  /**
   * What to place.
   */
  'order'?: "single"|"bracket";
}
