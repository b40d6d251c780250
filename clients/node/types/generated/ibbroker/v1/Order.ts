// Original file: ibbroker/v1/trading.proto

import type { OrderSpec as _ibbroker_v1_OrderSpec, OrderSpec__Output as _ibbroker_v1_OrderSpec__Output } from '../../ibbroker/v1/OrderSpec';
import type { OrderState as _ibbroker_v1_OrderState, OrderState__Output as _ibbroker_v1_OrderState__Output } from '../../ibbroker/v1/OrderState';
import type { BracketRole as _ibbroker_v1_BracketRole, BracketRole__Output as _ibbroker_v1_BracketRole__Output } from '../../ibbroker/v1/BracketRole';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Long } from '@grpc/proto-loader';

/**
 * Order is one order as the broker knows it.
 */
export interface Order {
  /**
   * The idempotency key of the PlaceOrder that created it (shared by a bracket's orders).
   */
  'idempotency_key'?: (string);
  /**
   * Who placed it.
   */
  'owner'?: (string);
  /**
   * The gateway it was placed on.
   */
  'gateway'?: (string);
  /**
   * The IB client ID it was placed with: only that client ID may modify or cancel it.
   */
  'client_id'?: (number);
  /**
   * IB's order ID (per client ID), reserved before the order was sent.
   */
  'order_id'?: (number);
  /**
   * IB's permanent order ID, stable across sessions; 0 until IB assigned it.
   */
  'perm_id'?: (number | string | Long);
  /**
   * The orderRef the broker set, derived from the idempotency key: the reconciliation key.
   */
  'order_ref'?: (string);
  /**
   * The parameters (after a ModifyOrder: the current ones).
   */
  'spec'?: (_ibbroker_v1_OrderSpec | null);
  /**
   * Where it stands.
   */
  'state'?: (_ibbroker_v1_OrderState);
  /**
   * Quantity filled so far, a decimal string.
   */
  'filled_quantity'?: (string);
  /**
   * Quantity still working, a decimal string.
   */
  'remaining_quantity'?: (string);
  /**
   * Average fill price, a decimal string; empty before the first fill.
   */
  'average_fill_price'?: (string);
  /**
   * Its place in a bracket.
   */
  'bracket_role'?: (_ibbroker_v1_BracketRole);
  /**
   * For a bracket child: the parent's IB order ID.
   */
  'parent_order_id'?: (number);
  /**
   * When the broker journaled it.
   */
  'create_time'?: (_google_protobuf_Timestamp | null);
  /**
   * When its state last changed.
   */
  'update_time'?: (_google_protobuf_Timestamp | null);
  /**
   * The latest IB text about it (for example the rejection reason); empty when none.
   */
  'message'?: (string);
  /**
   * The IB error code behind `message`, or 0.
   */
  'ib_error_code'?: (number);
  /**
   * True when IB has it but the broker did not place it (another API client, or TWS itself).
   */
  'external'?: (boolean);
}

/**
 * Order is one order as the broker knows it.
 */
export interface Order__Output {
  /**
   * The idempotency key of the PlaceOrder that created it (shared by a bracket's orders).
   */
  'idempotency_key': (string);
  /**
   * Who placed it.
   */
  'owner': (string);
  /**
   * The gateway it was placed on.
   */
  'gateway': (string);
  /**
   * The IB client ID it was placed with: only that client ID may modify or cancel it.
   */
  'client_id': (number);
  /**
   * IB's order ID (per client ID), reserved before the order was sent.
   */
  'order_id': (number);
  /**
   * IB's permanent order ID, stable across sessions; 0 until IB assigned it.
   */
  'perm_id': (string);
  /**
   * The orderRef the broker set, derived from the idempotency key: the reconciliation key.
   */
  'order_ref': (string);
  /**
   * The parameters (after a ModifyOrder: the current ones).
   */
  'spec': (_ibbroker_v1_OrderSpec__Output | null);
  /**
   * Where it stands.
   */
  'state': (_ibbroker_v1_OrderState__Output);
  /**
   * Quantity filled so far, a decimal string.
   */
  'filled_quantity': (string);
  /**
   * Quantity still working, a decimal string.
   */
  'remaining_quantity': (string);
  /**
   * Average fill price, a decimal string; empty before the first fill.
   */
  'average_fill_price': (string);
  /**
   * Its place in a bracket.
   */
  'bracket_role': (_ibbroker_v1_BracketRole__Output);
  /**
   * For a bracket child: the parent's IB order ID.
   */
  'parent_order_id': (number);
  /**
   * When the broker journaled it.
   */
  'create_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * When its state last changed.
   */
  'update_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * The latest IB text about it (for example the rejection reason); empty when none.
   */
  'message': (string);
  /**
   * The IB error code behind `message`, or 0.
   */
  'ib_error_code': (number);
  /**
   * True when IB has it but the broker did not place it (another API client, or TWS itself).
   */
  'external': (boolean);
}
