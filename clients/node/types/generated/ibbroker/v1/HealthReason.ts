// Original file: ibbroker/v1/connection.proto


/**
 * HealthReason explains a health status.
 */
export interface HealthReason {
  /**
   * What failed: "socket", "heartbeat", "ib_link" or "data_farm".
   */
  'component'?: (string);
  /**
   * A short UPPER_SNAKE code, for example FARM_BROKEN or HEARTBEAT_SLOW.
   */
  'code'?: (string);
  /**
   * The human-readable detail (the IB message where there is one).
   */
  'message'?: (string);
  /**
   * The IB error code behind the reason, or 0.
   */
  'ib_error_code'?: (number);
}

/**
 * HealthReason explains a health status.
 */
export interface HealthReason__Output {
  /**
   * What failed: "socket", "heartbeat", "ib_link" or "data_farm".
   */
  'component': (string);
  /**
   * A short UPPER_SNAKE code, for example FARM_BROKEN or HEARTBEAT_SLOW.
   */
  'code': (string);
  /**
   * The human-readable detail (the IB message where there is one).
   */
  'message': (string);
  /**
   * The IB error code behind the reason, or 0.
   */
  'ib_error_code': (number);
}
