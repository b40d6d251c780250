// Original file: ibbroker/v1/market_data.proto

/**
 * MarketDataField is one value of a quote.
 */
export const MarketDataField = {
  /**
   * Not set; refused with INVALID_ARGUMENT.
   */
  MARKET_DATA_FIELD_UNSPECIFIED: 'MARKET_DATA_FIELD_UNSPECIFIED',
  /**
   * Best bid price.
   */
  MARKET_DATA_FIELD_BID: 'MARKET_DATA_FIELD_BID',
  /**
   * Best ask price.
   */
  MARKET_DATA_FIELD_ASK: 'MARKET_DATA_FIELD_ASK',
  /**
   * Last trade price.
   */
  MARKET_DATA_FIELD_LAST: 'MARKET_DATA_FIELD_LAST',
  /**
   * Size at the best bid.
   */
  MARKET_DATA_FIELD_BID_SIZE: 'MARKET_DATA_FIELD_BID_SIZE',
  /**
   * Size at the best ask.
   */
  MARKET_DATA_FIELD_ASK_SIZE: 'MARKET_DATA_FIELD_ASK_SIZE',
  /**
   * Size of the last trade.
   */
  MARKET_DATA_FIELD_LAST_SIZE: 'MARKET_DATA_FIELD_LAST_SIZE',
  /**
   * The day's volume.
   */
  MARKET_DATA_FIELD_VOLUME: 'MARKET_DATA_FIELD_VOLUME',
  /**
   * The day's open.
   */
  MARKET_DATA_FIELD_OPEN: 'MARKET_DATA_FIELD_OPEN',
  /**
   * The day's high.
   */
  MARKET_DATA_FIELD_HIGH: 'MARKET_DATA_FIELD_HIGH',
  /**
   * The day's low.
   */
  MARKET_DATA_FIELD_LOW: 'MARKET_DATA_FIELD_LOW',
  /**
   * The previous day's close.
   */
  MARKET_DATA_FIELD_CLOSE: 'MARKET_DATA_FIELD_CLOSE',
} as const;

/**
 * MarketDataField is one value of a quote.
 */
export type MarketDataField =
  /**
   * Not set; refused with INVALID_ARGUMENT.
   */
  | 'MARKET_DATA_FIELD_UNSPECIFIED'
  | 0
  /**
   * Best bid price.
   */
  | 'MARKET_DATA_FIELD_BID'
  | 1
  /**
   * Best ask price.
   */
  | 'MARKET_DATA_FIELD_ASK'
  | 2
  /**
   * Last trade price.
   */
  | 'MARKET_DATA_FIELD_LAST'
  | 3
  /**
   * Size at the best bid.
   */
  | 'MARKET_DATA_FIELD_BID_SIZE'
  | 4
  /**
   * Size at the best ask.
   */
  | 'MARKET_DATA_FIELD_ASK_SIZE'
  | 5
  /**
   * Size of the last trade.
   */
  | 'MARKET_DATA_FIELD_LAST_SIZE'
  | 6
  /**
   * The day's volume.
   */
  | 'MARKET_DATA_FIELD_VOLUME'
  | 7
  /**
   * The day's open.
   */
  | 'MARKET_DATA_FIELD_OPEN'
  | 8
  /**
   * The day's high.
   */
  | 'MARKET_DATA_FIELD_HIGH'
  | 9
  /**
   * The day's low.
   */
  | 'MARKET_DATA_FIELD_LOW'
  | 10
  /**
   * The previous day's close.
   */
  | 'MARKET_DATA_FIELD_CLOSE'
  | 11

/**
 * MarketDataField is one value of a quote.
 */
export type MarketDataField__Output = typeof MarketDataField[keyof typeof MarketDataField]
