// Original file: ibbroker/v1/trading.proto


/**
 * AccountValue is one tag of IB's account summary.
 */
export interface AccountValue {
  /**
   * The account.
   */
  'account'?: (string);
  /**
   * The tag, for example "NetLiquidation" or "BuyingPower".
   */
  'tag'?: (string);
  /**
   * The value as IB gives it (usually a decimal string).
   */
  'value'?: (string);
  /**
   * The currency of the value; empty for tags without one.
   */
  'currency'?: (string);
}

/**
 * AccountValue is one tag of IB's account summary.
 */
export interface AccountValue__Output {
  /**
   * The account.
   */
  'account': (string);
  /**
   * The tag, for example "NetLiquidation" or "BuyingPower".
   */
  'tag': (string);
  /**
   * The value as IB gives it (usually a decimal string).
   */
  'value': (string);
  /**
   * The currency of the value; empty for tags without one.
   */
  'currency': (string);
}
