// Original file: ibbroker/v1/trading_service.proto

import type { AccountValue as _ibbroker_v1_AccountValue, AccountValue__Output as _ibbroker_v1_AccountValue__Output } from '../../ibbroker/v1/AccountValue';

/**
 * GetAccountSummaryResponse carries account values.
 */
export interface GetAccountSummaryResponse {
  /**
   * The values, ordered by account and tag.
   */
  'values'?: (_ibbroker_v1_AccountValue)[];
}

/**
 * GetAccountSummaryResponse carries account values.
 */
export interface GetAccountSummaryResponse__Output {
  /**
   * The values, ordered by account and tag.
   */
  'values': (_ibbroker_v1_AccountValue__Output)[];
}
