// Original file: ibbroker/v1/market_data.proto

/**
 * WhatToShow is the kind of historical data.
 */
export const WhatToShow = {
  /**
   * Not set: TRADES.
   */
  WHAT_TO_SHOW_UNSPECIFIED: 'WHAT_TO_SHOW_UNSPECIFIED',
  /**
   * Trades.
   */
  WHAT_TO_SHOW_TRADES: 'WHAT_TO_SHOW_TRADES',
  /**
   * Midpoint of bid and ask.
   */
  WHAT_TO_SHOW_MIDPOINT: 'WHAT_TO_SHOW_MIDPOINT',
  /**
   * Bid prices.
   */
  WHAT_TO_SHOW_BID: 'WHAT_TO_SHOW_BID',
  /**
   * Ask prices.
   */
  WHAT_TO_SHOW_ASK: 'WHAT_TO_SHOW_ASK',
  /**
   * Bid and ask (time-average bid as open, ask as close...; see IB's documentation).
   */
  WHAT_TO_SHOW_BID_ASK: 'WHAT_TO_SHOW_BID_ASK',
  /**
   * Trades adjusted for splits and dividends.
   */
  WHAT_TO_SHOW_ADJUSTED_LAST: 'WHAT_TO_SHOW_ADJUSTED_LAST',
  /**
   * Historical volatility.
   */
  WHAT_TO_SHOW_HISTORICAL_VOLATILITY: 'WHAT_TO_SHOW_HISTORICAL_VOLATILITY',
  /**
   * Implied volatility of the options.
   */
  WHAT_TO_SHOW_OPTION_IMPLIED_VOLATILITY: 'WHAT_TO_SHOW_OPTION_IMPLIED_VOLATILITY',
} as const;

/**
 * WhatToShow is the kind of historical data.
 */
export type WhatToShow =
  /**
   * Not set: TRADES.
   */
  | 'WHAT_TO_SHOW_UNSPECIFIED'
  | 0
  /**
   * Trades.
   */
  | 'WHAT_TO_SHOW_TRADES'
  | 1
  /**
   * Midpoint of bid and ask.
   */
  | 'WHAT_TO_SHOW_MIDPOINT'
  | 2
  /**
   * Bid prices.
   */
  | 'WHAT_TO_SHOW_BID'
  | 3
  /**
   * Ask prices.
   */
  | 'WHAT_TO_SHOW_ASK'
  | 4
  /**
   * Bid and ask (time-average bid as open, ask as close...; see IB's documentation).
   */
  | 'WHAT_TO_SHOW_BID_ASK'
  | 5
  /**
   * Trades adjusted for splits and dividends.
   */
  | 'WHAT_TO_SHOW_ADJUSTED_LAST'
  | 6
  /**
   * Historical volatility.
   */
  | 'WHAT_TO_SHOW_HISTORICAL_VOLATILITY'
  | 7
  /**
   * Implied volatility of the options.
   */
  | 'WHAT_TO_SHOW_OPTION_IMPLIED_VOLATILITY'
  | 8

/**
 * WhatToShow is the kind of historical data.
 */
export type WhatToShow__Output = typeof WhatToShow[keyof typeof WhatToShow]
