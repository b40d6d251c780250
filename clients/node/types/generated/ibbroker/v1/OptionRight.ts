// Original file: ibbroker/v1/trading.proto

/**
 * OptionRight says whether an option is a call or a put.
 */
export const OptionRight = {
  /**
   * Not set: not an option, or any right in a query.
   */
  OPTION_RIGHT_UNSPECIFIED: 'OPTION_RIGHT_UNSPECIFIED',
  /**
   * A call.
   */
  OPTION_RIGHT_CALL: 'OPTION_RIGHT_CALL',
  /**
   * A put.
   */
  OPTION_RIGHT_PUT: 'OPTION_RIGHT_PUT',
} as const;

/**
 * OptionRight says whether an option is a call or a put.
 */
export type OptionRight =
  /**
   * Not set: not an option, or any right in a query.
   */
  | 'OPTION_RIGHT_UNSPECIFIED'
  | 0
  /**
   * A call.
   */
  | 'OPTION_RIGHT_CALL'
  | 1
  /**
   * A put.
   */
  | 'OPTION_RIGHT_PUT'
  | 2

/**
 * OptionRight says whether an option is a call or a put.
 */
export type OptionRight__Output = typeof OptionRight[keyof typeof OptionRight]
