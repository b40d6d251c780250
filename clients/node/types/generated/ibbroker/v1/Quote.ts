// Original file: ibbroker/v1/market_data.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';

/**
 * Quote is the latest value of every requested field of one instrument.
 */
export interface Quote {
  /**
   * Best bid price.
   */
  'bid'?: (string);
  /**
   * Best ask price.
   */
  'ask'?: (string);
  /**
   * Last trade price.
   */
  'last'?: (string);
  /**
   * Size at the best bid.
   */
  'bid_size'?: (string);
  /**
   * Size at the best ask.
   */
  'ask_size'?: (string);
  /**
   * Size of the last trade.
   */
  'last_size'?: (string);
  /**
   * The day's volume.
   */
  'volume'?: (string);
  /**
   * The day's open.
   */
  'open'?: (string);
  /**
   * The day's high.
   */
  'high'?: (string);
  /**
   * The day's low.
   */
  'low'?: (string);
  /**
   * The previous day's close.
   */
  'close'?: (string);
  /**
   * The exchange's time of the last trade, when IB gives one.
   */
  'last_trade_time'?: (_google_protobuf_Timestamp | null);
}

/**
 * Quote is the latest value of every requested field of one instrument.
 */
export interface Quote__Output {
  /**
   * Best bid price.
   */
  'bid': (string);
  /**
   * Best ask price.
   */
  'ask': (string);
  /**
   * Last trade price.
   */
  'last': (string);
  /**
   * Size at the best bid.
   */
  'bid_size': (string);
  /**
   * Size at the best ask.
   */
  'ask_size': (string);
  /**
   * Size of the last trade.
   */
  'last_size': (string);
  /**
   * The day's volume.
   */
  'volume': (string);
  /**
   * The day's open.
   */
  'open': (string);
  /**
   * The day's high.
   */
  'high': (string);
  /**
   * The day's low.
   */
  'low': (string);
  /**
   * The previous day's close.
   */
  'close': (string);
  /**
   * The exchange's time of the last trade, when IB gives one.
   */
  'last_trade_time': (_google_protobuf_Timestamp__Output | null);
}
