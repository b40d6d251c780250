// Original file: ibbroker/v1/connection.proto

/**
 * BreakerState is the state of a gateway's circuit breaker.
 */
export const BreakerState = {
  /**
   * Not set; never sent.
   */
  BREAKER_STATE_UNSPECIFIED: 'BREAKER_STATE_UNSPECIFIED',
  /**
   * Calls flow.
   */
  BREAKER_STATE_CLOSED: 'BREAKER_STATE_CLOSED',
  /**
   * Calls fail fast until the open interval has passed.
   */
  BREAKER_STATE_OPEN: 'BREAKER_STATE_OPEN',
  /**
   * Exactly one trial call is let through.
   */
  BREAKER_STATE_HALF_OPEN: 'BREAKER_STATE_HALF_OPEN',
} as const;

/**
 * BreakerState is the state of a gateway's circuit breaker.
 */
export type BreakerState =
  /**
   * Not set; never sent.
   */
  | 'BREAKER_STATE_UNSPECIFIED'
  | 0
  /**
   * Calls flow.
   */
  | 'BREAKER_STATE_CLOSED'
  | 1
  /**
   * Calls fail fast until the open interval has passed.
   */
  | 'BREAKER_STATE_OPEN'
  | 2
  /**
   * Exactly one trial call is let through.
   */
  | 'BREAKER_STATE_HALF_OPEN'
  | 3

/**
 * BreakerState is the state of a gateway's circuit breaker.
 */
export type BreakerState__Output = typeof BreakerState[keyof typeof BreakerState]
