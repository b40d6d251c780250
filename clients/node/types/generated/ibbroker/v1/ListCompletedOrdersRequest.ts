// Original file: ibbroker/v1/trading_service.proto


/**
 * ListCompletedOrdersRequest selects completed orders.
 */
export interface ListCompletedOrdersRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * Who asks; only this owner's orders are returned unless all_owners is set.
   */
  'owner'?: (string);
  /**
   * Return every API order completed at the gateway (needs the admin token).
   */
  'all_owners'?: (boolean);
  /**
   * Only this account; empty means all.
   */
  'account'?: (string);
}

/**
 * ListCompletedOrdersRequest selects completed orders.
 */
export interface ListCompletedOrdersRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * Who asks; only this owner's orders are returned unless all_owners is set.
   */
  'owner': (string);
  /**
   * Return every API order completed at the gateway (needs the admin token).
   */
  'all_owners': (boolean);
  /**
   * Only this account; empty means all.
   */
  'account': (string);
}
