// Original file: ibbroker/v1/connection_service.proto


/**
 * GetHealthRequest selects gateways.
 */
export interface GetHealthRequest {
  /**
   * Only this gateway; empty means all.
   */
  'gateway'?: (string);
}

/**
 * GetHealthRequest selects gateways.
 */
export interface GetHealthRequest__Output {
  /**
   * Only this gateway; empty means all.
   */
  'gateway': (string);
}
