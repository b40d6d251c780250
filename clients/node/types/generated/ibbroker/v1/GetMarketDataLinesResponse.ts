// Original file: ibbroker/v1/trading_service.proto

import type { MarketDataLine as _ibbroker_v1_MarketDataLine, MarketDataLine__Output as _ibbroker_v1_MarketDataLine__Output } from '../../ibbroker/v1/MarketDataLine';

/**
 * GetMarketDataLinesResponse lists the lines.
 */
export interface GetMarketDataLinesResponse {
  /**
   * The lines in use (and lingering), ordered by contract.
   */
  'lines'?: (_ibbroker_v1_MarketDataLine)[];
  /**
   * Lines in use, lingering ones included.
   */
  'in_use'?: (number);
  /**
   * The gateway's line budget.
   */
  'budget'?: (number);
}

/**
 * GetMarketDataLinesResponse lists the lines.
 */
export interface GetMarketDataLinesResponse__Output {
  /**
   * The lines in use (and lingering), ordered by contract.
   */
  'lines': (_ibbroker_v1_MarketDataLine__Output)[];
  /**
   * Lines in use, lingering ones included.
   */
  'in_use': (number);
  /**
   * The gateway's line budget.
   */
  'budget': (number);
}
