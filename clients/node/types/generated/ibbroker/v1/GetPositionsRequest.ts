// Original file: ibbroker/v1/trading_service.proto


/**
 * GetPositionsRequest selects accounts.
 */
export interface GetPositionsRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * Only this account; empty means every managed account.
   */
  'account'?: (string);
}

/**
 * GetPositionsRequest selects accounts.
 */
export interface GetPositionsRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * Only this account; empty means every managed account.
   */
  'account': (string);
}
