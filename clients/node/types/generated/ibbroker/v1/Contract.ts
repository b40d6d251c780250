// Original file: ibbroker/v1/trading.proto

import type { SecurityType as _ibbroker_v1_SecurityType, SecurityType__Output as _ibbroker_v1_SecurityType__Output } from '../../ibbroker/v1/SecurityType';
import type { OptionRight as _ibbroker_v1_OptionRight, OptionRight__Output as _ibbroker_v1_OptionRight__Output } from '../../ibbroker/v1/OptionRight';
import type { Long } from '@grpc/proto-loader';

/**
 * Contract names an instrument. In a query, unset fields match anything; con_id alone is enough.
 */
export interface Contract {
  /**
   * IB's contract ID; 0 when unknown (a query by symbol).
   */
  'con_id'?: (number | string | Long);
  /**
   * The underlying symbol, for example "AAPL" or "EUR".
   */
  'symbol'?: (string);
  /**
   * The kind of instrument.
   */
  'security_type'?: (_ibbroker_v1_SecurityType);
  /**
   * The routing exchange, for example "SMART".
   */
  'exchange'?: (string);
  /**
   * The listing exchange, for example "NASDAQ"; disambiguates SMART-routed stocks.
   */
  'primary_exchange'?: (string);
  /**
   * The currency, for example "USD".
   */
  'currency'?: (string);
  /**
   * The exchange's symbol, for example "ESZ6" or "EUR.USD".
   */
  'local_symbol'?: (string);
  /**
   * The trading class, for example "ES".
   */
  'trading_class'?: (string);
  /**
   * For derivatives: expiry as YYYYMMDD or contract month as YYYYMM.
   */
  'last_trade_date_or_contract_month'?: (string);
  /**
   * For options: the strike price, a decimal string.
   */
  'strike'?: (string);
  /**
   * For options: call or put.
   */
  'right'?: (_ibbroker_v1_OptionRight);
  /**
   * For derivatives: the multiplier, a decimal string, for example "100".
   */
  'multiplier'?: (string);
}

/**
 * Contract names an instrument. In a query, unset fields match anything; con_id alone is enough.
 */
export interface Contract__Output {
  /**
   * IB's contract ID; 0 when unknown (a query by symbol).
   */
  'con_id': (string);
  /**
   * The underlying symbol, for example "AAPL" or "EUR".
   */
  'symbol': (string);
  /**
   * The kind of instrument.
   */
  'security_type': (_ibbroker_v1_SecurityType__Output);
  /**
   * The routing exchange, for example "SMART".
   */
  'exchange': (string);
  /**
   * The listing exchange, for example "NASDAQ"; disambiguates SMART-routed stocks.
   */
  'primary_exchange': (string);
  /**
   * The currency, for example "USD".
   */
  'currency': (string);
  /**
   * The exchange's symbol, for example "ESZ6" or "EUR.USD".
   */
  'local_symbol': (string);
  /**
   * The trading class, for example "ES".
   */
  'trading_class': (string);
  /**
   * For derivatives: expiry as YYYYMMDD or contract month as YYYYMM.
   */
  'last_trade_date_or_contract_month': (string);
  /**
   * For options: the strike price, a decimal string.
   */
  'strike': (string);
  /**
   * For options: call or put.
   */
  'right': (_ibbroker_v1_OptionRight__Output);
  /**
   * For derivatives: the multiplier, a decimal string, for example "100".
   */
  'multiplier': (string);
}
