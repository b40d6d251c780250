// Original file: ibbroker/v1/connection_service.proto


/**
 * ListSessionsRequest selects gateways.
 */
export interface ListSessionsRequest {
  /**
   * Only this gateway; empty means all.
   */
  'gateway'?: (string);
}

/**
 * ListSessionsRequest selects gateways.
 */
export interface ListSessionsRequest__Output {
  /**
   * Only this gateway; empty means all.
   */
  'gateway': (string);
}
