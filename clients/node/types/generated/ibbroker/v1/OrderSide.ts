// Original file: ibbroker/v1/trading.proto

/**
 * OrderSide says whether an order buys or sells.
 */
export const OrderSide = {
  /**
   * Not set; refused with INVALID_ARGUMENT.
   */
  ORDER_SIDE_UNSPECIFIED: 'ORDER_SIDE_UNSPECIFIED',
  /**
   * Buy (IB action "BUY").
   */
  ORDER_SIDE_BUY: 'ORDER_SIDE_BUY',
  /**
   * Sell (IB action "SELL").
   */
  ORDER_SIDE_SELL: 'ORDER_SIDE_SELL',
} as const;

/**
 * OrderSide says whether an order buys or sells.
 */
export type OrderSide =
  /**
   * Not set; refused with INVALID_ARGUMENT.
   */
  | 'ORDER_SIDE_UNSPECIFIED'
  | 0
  /**
   * Buy (IB action "BUY").
   */
  | 'ORDER_SIDE_BUY'
  | 1
  /**
   * Sell (IB action "SELL").
   */
  | 'ORDER_SIDE_SELL'
  | 2

/**
 * OrderSide says whether an order buys or sells.
 */
export type OrderSide__Output = typeof OrderSide[keyof typeof OrderSide]
