// Original file: ibbroker/v1/trading_service.proto

import type { ContractDetails as _ibbroker_v1_ContractDetails, ContractDetails__Output as _ibbroker_v1_ContractDetails__Output } from '../../ibbroker/v1/ContractDetails';

/**
 * GetContractDetailsResponse carries the matches.
 */
export interface GetContractDetailsResponse {
  /**
   * One entry per matching contract (exactly one unless list_all).
   */
  'details'?: (_ibbroker_v1_ContractDetails)[];
}

/**
 * GetContractDetailsResponse carries the matches.
 */
export interface GetContractDetailsResponse__Output {
  /**
   * One entry per matching contract (exactly one unless list_all).
   */
  'details': (_ibbroker_v1_ContractDetails__Output)[];
}
