// Original file: ibbroker/v1/trading.proto

/**
 * BracketRole is an order's place in a bracket.
 */
export const BracketRole = {
  /**
   * Not part of a bracket (or, in a selector, the parent / the single order).
   */
  BRACKET_ROLE_UNSPECIFIED: 'BRACKET_ROLE_UNSPECIFIED',
  /**
   * The entry order of a bracket.
   */
  BRACKET_ROLE_PARENT: 'BRACKET_ROLE_PARENT',
  /**
   * The take-profit child of a bracket.
   */
  BRACKET_ROLE_TAKE_PROFIT: 'BRACKET_ROLE_TAKE_PROFIT',
  /**
   * The stop-loss child of a bracket.
   */
  BRACKET_ROLE_STOP_LOSS: 'BRACKET_ROLE_STOP_LOSS',
} as const;

/**
 * BracketRole is an order's place in a bracket.
 */
export type BracketRole =
  /**
   * Not part of a bracket (or, in a selector, the parent / the single order).
   */
  | 'BRACKET_ROLE_UNSPECIFIED'
  | 0
  /**
   * The entry order of a bracket.
   */
  | 'BRACKET_ROLE_PARENT'
  | 1
  /**
   * The take-profit child of a bracket.
   */
  | 'BRACKET_ROLE_TAKE_PROFIT'
  | 2
  /**
   * The stop-loss child of a bracket.
   */
  | 'BRACKET_ROLE_STOP_LOSS'
  | 3

/**
 * BracketRole is an order's place in a bracket.
 */
export type BracketRole__Output = typeof BracketRole[keyof typeof BracketRole]
