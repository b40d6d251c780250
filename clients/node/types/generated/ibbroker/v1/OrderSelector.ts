// Original file: ibbroker/v1/trading_service.proto

import type { BracketRole as _ibbroker_v1_BracketRole, BracketRole__Output as _ibbroker_v1_BracketRole__Output } from '../../ibbroker/v1/BracketRole';

/**
 * OrderSelector names one order placed through the broker.
 */
export interface OrderSelector {
  /**
   * The idempotency key it was placed with.
   */
  'idempotency_key'?: (string);
  /**
   * For a bracket: which of its orders; unset means the parent (or the single order).
   */
  'bracket_role'?: (_ibbroker_v1_BracketRole);
}

/**
 * OrderSelector names one order placed through the broker.
 */
export interface OrderSelector__Output {
  /**
   * The idempotency key it was placed with.
   */
  'idempotency_key': (string);
  /**
   * For a bracket: which of its orders; unset means the parent (or the single order).
   */
  'bracket_role': (_ibbroker_v1_BracketRole__Output);
}
