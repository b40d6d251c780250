// Original file: ibbroker/v1/trading.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from '../../ibbroker/v1/Contract';
import type { OrderSide as _ibbroker_v1_OrderSide, OrderSide__Output as _ibbroker_v1_OrderSide__Output } from '../../ibbroker/v1/OrderSide';
import type { Long } from '@grpc/proto-loader';

/**
 * Execution is one fill, with its commission when IB has reported it.
 */
export interface Execution {
  /**
   * IB's execution ID: unique; a correction carries a new one.
   */
  'exec_id'?: (string);
  /**
   * When it executed.
   */
  'time'?: (_google_protobuf_Timestamp | null);
  /**
   * The account.
   */
  'account'?: (string);
  /**
   * The instrument.
   */
  'contract'?: (_ibbroker_v1_Contract | null);
  /**
   * Bought or sold.
   */
  'side'?: (_ibbroker_v1_OrderSide);
  /**
   * Quantity of this fill, a decimal string.
   */
  'quantity'?: (string);
  /**
   * Price of this fill, a decimal string.
   */
  'price'?: (string);
  /**
   * The exchange it executed on.
   */
  'exchange'?: (string);
  /**
   * The order's IB order ID.
   */
  'order_id'?: (number);
  /**
   * The order's permanent ID.
   */
  'perm_id'?: (number | string | Long);
  /**
   * The client ID that placed the order.
   */
  'client_id'?: (number);
  /**
   * The order's orderRef.
   */
  'order_ref'?: (string);
  /**
   * The order's filled quantity after this fill, a decimal string.
   */
  'cumulative_quantity'?: (string);
  /**
   * The order's average fill price after this fill, a decimal string.
   */
  'average_price'?: (string);
  /**
   * Commission, a decimal string; empty until IB's commission report arrived.
   */
  'commission'?: (string);
  /**
   * Currency of the commission.
   */
  'commission_currency'?: (string);
  /**
   * Realized profit or loss of the fill, a decimal string; empty when IB does not give one.
   */
  'realized_pnl'?: (string);
  /**
   * The idempotency key of the broker order it belongs to; empty for external orders.
   */
  'idempotency_key'?: (string);
}

/**
 * Execution is one fill, with its commission when IB has reported it.
 */
export interface Execution__Output {
  /**
   * IB's execution ID: unique; a correction carries a new one.
   */
  'exec_id': (string);
  /**
   * When it executed.
   */
  'time': (_google_protobuf_Timestamp__Output | null);
  /**
   * The account.
   */
  'account': (string);
  /**
   * The instrument.
   */
  'contract': (_ibbroker_v1_Contract__Output | null);
  /**
   * Bought or sold.
   */
  'side': (_ibbroker_v1_OrderSide__Output);
  /**
   * Quantity of this fill, a decimal string.
   */
  'quantity': (string);
  /**
   * Price of this fill, a decimal string.
   */
  'price': (string);
  /**
   * The exchange it executed on.
   */
  'exchange': (string);
  /**
   * The order's IB order ID.
   */
  'order_id': (number);
  /**
   * The order's permanent ID.
   */
  'perm_id': (string);
  /**
   * The client ID that placed the order.
   */
  'client_id': (number);
  /**
   * The order's orderRef.
   */
  'order_ref': (string);
  /**
   * The order's filled quantity after this fill, a decimal string.
   */
  'cumulative_quantity': (string);
  /**
   * The order's average fill price after this fill, a decimal string.
   */
  'average_price': (string);
  /**
   * Commission, a decimal string; empty until IB's commission report arrived.
   */
  'commission': (string);
  /**
   * Currency of the commission.
   */
  'commission_currency': (string);
  /**
   * Realized profit or loss of the fill, a decimal string; empty when IB does not give one.
   */
  'realized_pnl': (string);
  /**
   * The idempotency key of the broker order it belongs to; empty for external orders.
   */
  'idempotency_key': (string);
}
