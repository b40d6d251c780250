// Original file: ibbroker/v1/trading_service.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { SecurityType as _ibbroker_v1_SecurityType, SecurityType__Output as _ibbroker_v1_SecurityType__Output } from '../../ibbroker/v1/SecurityType';
import type { OrderSide as _ibbroker_v1_OrderSide, OrderSide__Output as _ibbroker_v1_OrderSide__Output } from '../../ibbroker/v1/OrderSide';

/**
 * ListExecutionsRequest filters executions (IB's ExecutionFilter, plus the owner).
 */
export interface ListExecutionsRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * Who asks; only fills of this owner's orders are returned unless all_owners is set.
   */
  'owner'?: (string);
  /**
   * Return fills of every order at the gateway (needs the admin token).
   */
  'all_owners'?: (boolean);
  /**
   * Only this account; empty means all.
   */
  'account'?: (string);
  /**
   * Only executions at or after this time; unset means the whole day IB keeps.
   */
  'start_time'?: (_google_protobuf_Timestamp | null);
  /**
   * Only this symbol; empty means all.
   */
  'symbol'?: (string);
  /**
   * Only this security type; unset means all.
   */
  'security_type'?: (_ibbroker_v1_SecurityType);
  /**
   * Only this side; unset means both.
   */
  'side'?: (_ibbroker_v1_OrderSide);
  /**
   * Only executions before this time; unset means up to now.
   */
  'end_time'?: (_google_protobuf_Timestamp | null);
}

/**
 * ListExecutionsRequest filters executions (IB's ExecutionFilter, plus the owner).
 */
export interface ListExecutionsRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * Who asks; only fills of this owner's orders are returned unless all_owners is set.
   */
  'owner': (string);
  /**
   * Return fills of every order at the gateway (needs the admin token).
   */
  'all_owners': (boolean);
  /**
   * Only this account; empty means all.
   */
  'account': (string);
  /**
   * Only executions at or after this time; unset means the whole day IB keeps.
   */
  'start_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * Only this symbol; empty means all.
   */
  'symbol': (string);
  /**
   * Only this security type; unset means all.
   */
  'security_type': (_ibbroker_v1_SecurityType__Output);
  /**
   * Only this side; unset means both.
   */
  'side': (_ibbroker_v1_OrderSide__Output);
  /**
   * Only executions before this time; unset means up to now.
   */
  'end_time': (_google_protobuf_Timestamp__Output | null);
}
