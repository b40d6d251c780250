// Original file: ibbroker/v1/trading_service.proto

import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from '../../ibbroker/v1/Contract';

/**
 * GetContractDetailsRequest is a contract query.
 */
export interface GetContractDetailsRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * The query: con_id alone, or symbol with enough fields to narrow it down.
   */
  'contract'?: (_ibbroker_v1_Contract | null);
  /**
   * Return every match instead of refusing an ambiguous query.
   */
  'list_all'?: (boolean);
}

/**
 * GetContractDetailsRequest is a contract query.
 */
export interface GetContractDetailsRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * The query: con_id alone, or symbol with enough fields to narrow it down.
   */
  'contract': (_ibbroker_v1_Contract__Output | null);
  /**
   * Return every match instead of refusing an ambiguous query.
   */
  'list_all': (boolean);
}
