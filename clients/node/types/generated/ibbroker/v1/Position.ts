// Original file: ibbroker/v1/trading.proto

import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from '../../ibbroker/v1/Contract';

/**
 * Position is a holding of one instrument in one account.
 */
export interface Position {
  /**
   * The account.
   */
  'account'?: (string);
  /**
   * The instrument.
   */
  'contract'?: (_ibbroker_v1_Contract | null);
  /**
   * Signed quantity (negative: short), a decimal string.
   */
  'quantity'?: (string);
  /**
   * Average cost per unit including commissions, a decimal string.
   */
  'average_cost'?: (string);
}

/**
 * Position is a holding of one instrument in one account.
 */
export interface Position__Output {
  /**
   * The account.
   */
  'account': (string);
  /**
   * The instrument.
   */
  'contract': (_ibbroker_v1_Contract__Output | null);
  /**
   * Signed quantity (negative: short), a decimal string.
   */
  'quantity': (string);
  /**
   * Average cost per unit including commissions, a decimal string.
   */
  'average_cost': (string);
}
