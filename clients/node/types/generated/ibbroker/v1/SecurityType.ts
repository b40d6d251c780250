// Original file: ibbroker/v1/trading.proto

/**
 * SecurityType is the kind of instrument (IB's secType).
 */
export const SecurityType = {
  /**
   * Not set: in a contract query, any type; never sent by the broker.
   */
  SECURITY_TYPE_UNSPECIFIED: 'SECURITY_TYPE_UNSPECIFIED',
  /**
   * A stock or ETF (IB "STK").
   */
  SECURITY_TYPE_STOCK: 'SECURITY_TYPE_STOCK',
  /**
   * An option (IB "OPT").
   */
  SECURITY_TYPE_OPTION: 'SECURITY_TYPE_OPTION',
  /**
   * A future (IB "FUT").
   */
  SECURITY_TYPE_FUTURE: 'SECURITY_TYPE_FUTURE',
  /**
   * An option on a future (IB "FOP").
   */
  SECURITY_TYPE_FUTURE_OPTION: 'SECURITY_TYPE_FUTURE_OPTION',
  /**
   * A currency pair (IB "CASH").
   */
  SECURITY_TYPE_FOREX: 'SECURITY_TYPE_FOREX',
  /**
   * An index (IB "IND"); not tradable, but has data and contract details.
   */
  SECURITY_TYPE_INDEX: 'SECURITY_TYPE_INDEX',
  /**
   * A contract for difference (IB "CFD").
   */
  SECURITY_TYPE_CFD: 'SECURITY_TYPE_CFD',
  /**
   * A bond (IB "BOND").
   */
  SECURITY_TYPE_BOND: 'SECURITY_TYPE_BOND',
  /**
   * A crypto currency (IB "CRYPTO").
   */
  SECURITY_TYPE_CRYPTO: 'SECURITY_TYPE_CRYPTO',
} as const;

/**
 * SecurityType is the kind of instrument (IB's secType).
 */
export type SecurityType =
  /**
   * Not set: in a contract query, any type; never sent by the broker.
   */
  | 'SECURITY_TYPE_UNSPECIFIED'
  | 0
  /**
   * A stock or ETF (IB "STK").
   */
  | 'SECURITY_TYPE_STOCK'
  | 1
  /**
   * An option (IB "OPT").
   */
  | 'SECURITY_TYPE_OPTION'
  | 2
  /**
   * A future (IB "FUT").
   */
  | 'SECURITY_TYPE_FUTURE'
  | 3
  /**
   * An option on a future (IB "FOP").
   */
  | 'SECURITY_TYPE_FUTURE_OPTION'
  | 4
  /**
   * A currency pair (IB "CASH").
   */
  | 'SECURITY_TYPE_FOREX'
  | 5
  /**
   * An index (IB "IND"); not tradable, but has data and contract details.
   */
  | 'SECURITY_TYPE_INDEX'
  | 6
  /**
   * A contract for difference (IB "CFD").
   */
  | 'SECURITY_TYPE_CFD'
  | 7
  /**
   * A bond (IB "BOND").
   */
  | 'SECURITY_TYPE_BOND'
  | 8
  /**
   * A crypto currency (IB "CRYPTO").
   */
  | 'SECURITY_TYPE_CRYPTO'
  | 9

/**
 * SecurityType is the kind of instrument (IB's secType).
 */
export type SecurityType__Output = typeof SecurityType[keyof typeof SecurityType]
