// Original file: ibbroker/v1/trading.proto

import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from '../../ibbroker/v1/Contract';

/**
 * ContractDetails is what IB knows about one instrument.
 */
export interface ContractDetails {
  /**
   * The fully specified contract (con_id set).
   */
  'contract'?: (_ibbroker_v1_Contract | null);
  /**
   * The market name, for example "NMS".
   */
  'market_name'?: (string);
  /**
   * The smallest price increment, a decimal string, for example "0.01".
   */
  'min_tick'?: (string);
  /**
   * The descriptive name, for example "APPLE INC".
   */
  'long_name'?: (string);
  /**
   * The order types IB accepts for it, for example "LMT", "MKT", "STP".
   */
  'order_types'?: (string)[];
  /**
   * The exchanges it can be routed to.
   */
  'valid_exchanges'?: (string)[];
  /**
   * The exchange's time zone, for example "US/Eastern".
   */
  'time_zone_id'?: (string);
  /**
   * Trading hours as IB reports them.
   */
  'trading_hours'?: (string);
  /**
   * Liquid (regular) hours as IB reports them.
   */
  'liquid_hours'?: (string);
  /**
   * The industry classification, when IB has one.
   */
  'industry'?: (string);
  /**
   * The category classification, when IB has one.
   */
  'category'?: (string);
  /**
   * The minimum order size, a decimal string; empty when IB does not say.
   */
  'min_size'?: (string);
  /**
   * The order size increment, a decimal string; empty when IB does not say.
   */
  'size_increment'?: (string);
}

/**
 * ContractDetails is what IB knows about one instrument.
 */
export interface ContractDetails__Output {
  /**
   * The fully specified contract (con_id set).
   */
  'contract': (_ibbroker_v1_Contract__Output | null);
  /**
   * The market name, for example "NMS".
   */
  'market_name': (string);
  /**
   * The smallest price increment, a decimal string, for example "0.01".
   */
  'min_tick': (string);
  /**
   * The descriptive name, for example "APPLE INC".
   */
  'long_name': (string);
  /**
   * The order types IB accepts for it, for example "LMT", "MKT", "STP".
   */
  'order_types': (string)[];
  /**
   * The exchanges it can be routed to.
   */
  'valid_exchanges': (string)[];
  /**
   * The exchange's time zone, for example "US/Eastern".
   */
  'time_zone_id': (string);
  /**
   * Trading hours as IB reports them.
   */
  'trading_hours': (string);
  /**
   * Liquid (regular) hours as IB reports them.
   */
  'liquid_hours': (string);
  /**
   * The industry classification, when IB has one.
   */
  'industry': (string);
  /**
   * The category classification, when IB has one.
   */
  'category': (string);
  /**
   * The minimum order size, a decimal string; empty when IB does not say.
   */
  'min_size': (string);
  /**
   * The order size increment, a decimal string; empty when IB does not say.
   */
  'size_increment': (string);
}
