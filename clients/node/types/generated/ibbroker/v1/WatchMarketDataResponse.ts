// Original file: ibbroker/v1/trading_service.proto

import type { MarketDataEvent as _ibbroker_v1_MarketDataEvent, MarketDataEvent__Output as _ibbroker_v1_MarketDataEvent__Output } from '../../ibbroker/v1/MarketDataEvent';

/**
 * WatchMarketDataResponse carries one event.
 */
export interface WatchMarketDataResponse {
  /**
   * The event.
   */
  'event'?: (_ibbroker_v1_MarketDataEvent | null);
}

/**
 * WatchMarketDataResponse carries one event.
 */
export interface WatchMarketDataResponse__Output {
  /**
   * The event.
   */
  'event': (_ibbroker_v1_MarketDataEvent__Output | null);
}
