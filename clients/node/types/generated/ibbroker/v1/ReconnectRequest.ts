// Original file: ibbroker/v1/connection_service.proto


/**
 * ReconnectRequest asks for a reconnect.
 */
export interface ReconnectRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * Only this session; empty means every session of the gateway.
   */
  'session'?: (string);
  /**
   * Why (logged).
   */
  'reason'?: (string);
}

/**
 * ReconnectRequest asks for a reconnect.
 */
export interface ReconnectRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * Only this session; empty means every session of the gateway.
   */
  'session': (string);
  /**
   * Why (logged).
   */
  'reason': (string);
}
