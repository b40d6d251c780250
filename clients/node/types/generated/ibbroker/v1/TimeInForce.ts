// Original file: ibbroker/v1/trading.proto

/**
 * TimeInForce says how long an order works.
 */
export const TimeInForce = {
  /**
   * Not set: DAY.
   */
  TIME_IN_FORCE_UNSPECIFIED: 'TIME_IN_FORCE_UNSPECIFIED',
  /**
   * Until the end of the trading day.
   */
  TIME_IN_FORCE_DAY: 'TIME_IN_FORCE_DAY',
  /**
   * Good till cancelled.
   */
  TIME_IN_FORCE_GTC: 'TIME_IN_FORCE_GTC',
  /**
   * Immediate or cancel: what cannot fill at once is cancelled.
   */
  TIME_IN_FORCE_IOC: 'TIME_IN_FORCE_IOC',
} as const;

/**
 * TimeInForce says how long an order works.
 */
export type TimeInForce =
  /**
   * Not set: DAY.
   */
  | 'TIME_IN_FORCE_UNSPECIFIED'
  | 0
  /**
   * Until the end of the trading day.
   */
  | 'TIME_IN_FORCE_DAY'
  | 1
  /**
   * Good till cancelled.
   */
  | 'TIME_IN_FORCE_GTC'
  | 2
  /**
   * Immediate or cancel: what cannot fill at once is cancelled.
   */
  | 'TIME_IN_FORCE_IOC'
  | 3

/**
 * TimeInForce says how long an order works.
 */
export type TimeInForce__Output = typeof TimeInForce[keyof typeof TimeInForce]
