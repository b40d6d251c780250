// Original file: ibbroker/v1/trading.proto

/**
 * OrderType is the IB order type.
 */
export const OrderType = {
  /**
   * Not set; refused with INVALID_ARGUMENT.
   */
  ORDER_TYPE_UNSPECIFIED: 'ORDER_TYPE_UNSPECIFIED',
  /**
   * Market (IB "MKT"): no price.
   */
  ORDER_TYPE_MARKET: 'ORDER_TYPE_MARKET',
  /**
   * Limit (IB "LMT"): needs limit_price.
   */
  ORDER_TYPE_LIMIT: 'ORDER_TYPE_LIMIT',
  /**
   * Stop (IB "STP"): needs stop_price.
   */
  ORDER_TYPE_STOP: 'ORDER_TYPE_STOP',
  /**
   * Stop limit (IB "STP LMT"): needs stop_price and limit_price.
   */
  ORDER_TYPE_STOP_LIMIT: 'ORDER_TYPE_STOP_LIMIT',
} as const;

/**
 * OrderType is the IB order type.
 */
export type OrderType =
  /**
   * Not set; refused with INVALID_ARGUMENT.
   */
  | 'ORDER_TYPE_UNSPECIFIED'
  | 0
  /**
   * Market (IB "MKT"): no price.
   */
  | 'ORDER_TYPE_MARKET'
  | 1
  /**
   * Limit (IB "LMT"): needs limit_price.
   */
  | 'ORDER_TYPE_LIMIT'
  | 2
  /**
   * Stop (IB "STP"): needs stop_price.
   */
  | 'ORDER_TYPE_STOP'
  | 3
  /**
   * Stop limit (IB "STP LMT"): needs stop_price and limit_price.
   */
  | 'ORDER_TYPE_STOP_LIMIT'
  | 4

/**
 * OrderType is the IB order type.
 */
export type OrderType__Output = typeof OrderType[keyof typeof OrderType]
