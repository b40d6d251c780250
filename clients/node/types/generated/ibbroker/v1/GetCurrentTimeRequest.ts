// Original file: ibbroker/v1/trading_service.proto


/**
 * GetCurrentTimeRequest names a gateway.
 */
export interface GetCurrentTimeRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
}

/**
 * GetCurrentTimeRequest names a gateway.
 */
export interface GetCurrentTimeRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
}
