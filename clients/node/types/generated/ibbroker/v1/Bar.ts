// Original file: ibbroker/v1/market_data.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Long } from '@grpc/proto-loader';

/**
 * Bar is one OHLC bar (historical, or a 5-second real-time bar).
 */
export interface Bar {
  /**
   * The start of the bar.
   */
  'time'?: (_google_protobuf_Timestamp | null);
  /**
   * Open price.
   */
  'open'?: (string);
  /**
   * High price.
   */
  'high'?: (string);
  /**
   * Low price.
   */
  'low'?: (string);
  /**
   * Close price.
   */
  'close'?: (string);
  /**
   * Volume; empty where IB gives none (MIDPOINT, BID, ASK).
   */
  'volume'?: (string);
  /**
   * Volume-weighted average price; empty where IB gives none.
   */
  'wap'?: (string);
  /**
   * Number of trades; 0 where IB gives none.
   */
  'trade_count'?: (number | string | Long);
}

/**
 * Bar is one OHLC bar (historical, or a 5-second real-time bar).
 */
export interface Bar__Output {
  /**
   * The start of the bar.
   */
  'time': (_google_protobuf_Timestamp__Output | null);
  /**
   * Open price.
   */
  'open': (string);
  /**
   * High price.
   */
  'high': (string);
  /**
   * Low price.
   */
  'low': (string);
  /**
   * Close price.
   */
  'close': (string);
  /**
   * Volume; empty where IB gives none (MIDPOINT, BID, ASK).
   */
  'volume': (string);
  /**
   * Volume-weighted average price; empty where IB gives none.
   */
  'wap': (string);
  /**
   * Number of trades; 0 where IB gives none.
   */
  'trade_count': (string);
}
