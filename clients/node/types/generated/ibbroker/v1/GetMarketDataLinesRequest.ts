// Original file: ibbroker/v1/trading_service.proto


/**
 * GetMarketDataLinesRequest selects a gateway.
 */
export interface GetMarketDataLinesRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
}

/**
 * GetMarketDataLinesRequest selects a gateway.
 */
export interface GetMarketDataLinesRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
}
