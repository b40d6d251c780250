// Original file: ibbroker/v1/trading_service.proto

import type { Execution as _ibbroker_v1_Execution, Execution__Output as _ibbroker_v1_Execution__Output } from '../../ibbroker/v1/Execution';

/**
 * ListExecutionsResponse carries executions.
 */
export interface ListExecutionsResponse {
  /**
   * The executions in time order, each exec_id once.
   */
  'executions'?: (_ibbroker_v1_Execution)[];
}

/**
 * ListExecutionsResponse carries executions.
 */
export interface ListExecutionsResponse__Output {
  /**
   * The executions in time order, each exec_id once.
   */
  'executions': (_ibbroker_v1_Execution__Output)[];
}
