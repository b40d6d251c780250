// Original file: ibbroker/v1/trading_service.proto


/**
 * GetAccountSummaryRequest selects accounts and tags.
 */
export interface GetAccountSummaryRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * Only this account; empty means every managed account.
   */
  'account'?: (string);
  /**
   * IB account summary tags, for example "NetLiquidation"; empty means all tags.
   */
  'tags'?: (string)[];
}

/**
 * GetAccountSummaryRequest selects accounts and tags.
 */
export interface GetAccountSummaryRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * Only this account; empty means every managed account.
   */
  'account': (string);
  /**
   * IB account summary tags, for example "NetLiquidation"; empty means all tags.
   */
  'tags': (string)[];
}
