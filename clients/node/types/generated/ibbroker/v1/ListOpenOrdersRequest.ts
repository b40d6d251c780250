// Original file: ibbroker/v1/trading_service.proto


/**
 * ListOpenOrdersRequest selects working orders.
 */
export interface ListOpenOrdersRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * Who asks; only this owner's orders are returned unless all_owners is set.
   */
  'owner'?: (string);
  /**
   * Return every working order at the gateway, also external ones (needs the admin token).
   */
  'all_owners'?: (boolean);
  /**
   * Only this account; empty means all.
   */
  'account'?: (string);
}

/**
 * ListOpenOrdersRequest selects working orders.
 */
export interface ListOpenOrdersRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * Who asks; only this owner's orders are returned unless all_owners is set.
   */
  'owner': (string);
  /**
   * Return every working order at the gateway, also external ones (needs the admin token).
   */
  'all_owners': (boolean);
  /**
   * Only this account; empty means all.
   */
  'account': (string);
}
