// Original file: ibbroker/v1/market_data.proto

/**
 * MarketDataType is IB's market data type.
 */
export const MarketDataType = {
  /**
   * Not set: LIVE.
   */
  MARKET_DATA_TYPE_UNSPECIFIED: 'MARKET_DATA_TYPE_UNSPECIFIED',
  /**
   * Real-time data (needs a subscription at IB).
   */
  MARKET_DATA_TYPE_LIVE: 'MARKET_DATA_TYPE_LIVE',
  /**
   * The last data recorded at the close, outside trading hours.
   */
  MARKET_DATA_TYPE_FROZEN: 'MARKET_DATA_TYPE_FROZEN',
  /**
   * Delayed data (free, 15-20 minutes late).
   */
  MARKET_DATA_TYPE_DELAYED: 'MARKET_DATA_TYPE_DELAYED',
  /**
   * Delayed data, frozen outside trading hours.
   */
  MARKET_DATA_TYPE_DELAYED_FROZEN: 'MARKET_DATA_TYPE_DELAYED_FROZEN',
} as const;

/**
 * MarketDataType is IB's market data type.
 */
export type MarketDataType =
  /**
   * Not set: LIVE.
   */
  | 'MARKET_DATA_TYPE_UNSPECIFIED'
  | 0
  /**
   * Real-time data (needs a subscription at IB).
   */
  | 'MARKET_DATA_TYPE_LIVE'
  | 1
  /**
   * The last data recorded at the close, outside trading hours.
   */
  | 'MARKET_DATA_TYPE_FROZEN'
  | 2
  /**
   * Delayed data (free, 15-20 minutes late).
   */
  | 'MARKET_DATA_TYPE_DELAYED'
  | 3
  /**
   * Delayed data, frozen outside trading hours.
   */
  | 'MARKET_DATA_TYPE_DELAYED_FROZEN'
  | 4

/**
 * MarketDataType is IB's market data type.
 */
export type MarketDataType__Output = typeof MarketDataType[keyof typeof MarketDataType]
