// Original file: ibbroker/v1/connection.proto


/**
 * RestoredSummary says what was restored after a reconnect.
 */
export interface RestoredSummary {
  /**
   * Positions re-read.
   */
  'positions'?: (number);
  /**
   * Open orders re-read.
   */
  'open_orders'?: (number);
  /**
   * Executions received since the disconnect.
   */
  'executions'?: (number);
  /**
   * Market-data subscriptions re-issued.
   */
  'market_data_subscriptions'?: (number);
}

/**
 * RestoredSummary says what was restored after a reconnect.
 */
export interface RestoredSummary__Output {
  /**
   * Positions re-read.
   */
  'positions': (number);
  /**
   * Open orders re-read.
   */
  'open_orders': (number);
  /**
   * Executions received since the disconnect.
   */
  'executions': (number);
  /**
   * Market-data subscriptions re-issued.
   */
  'market_data_subscriptions': (number);
}
