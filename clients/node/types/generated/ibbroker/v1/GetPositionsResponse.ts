// Original file: ibbroker/v1/trading_service.proto

import type { Position as _ibbroker_v1_Position, Position__Output as _ibbroker_v1_Position__Output } from '../../ibbroker/v1/Position';

/**
 * GetPositionsResponse carries positions.
 */
export interface GetPositionsResponse {
  /**
   * The positions, ordered by account and contract.
   */
  'positions'?: (_ibbroker_v1_Position)[];
}

/**
 * GetPositionsResponse carries positions.
 */
export interface GetPositionsResponse__Output {
  /**
   * The positions, ordered by account and contract.
   */
  'positions': (_ibbroker_v1_Position__Output)[];
}
