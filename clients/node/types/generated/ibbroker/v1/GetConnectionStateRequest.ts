// Original file: ibbroker/v1/connection_service.proto


/**
 * GetConnectionStateRequest selects gateways.
 */
export interface GetConnectionStateRequest {
  /**
   * Only this gateway; empty means all.
   */
  'gateway'?: (string);
}

/**
 * GetConnectionStateRequest selects gateways.
 */
export interface GetConnectionStateRequest__Output {
  /**
   * Only this gateway; empty means all.
   */
  'gateway': (string);
}
