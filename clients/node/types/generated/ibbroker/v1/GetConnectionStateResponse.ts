// Original file: ibbroker/v1/connection_service.proto

import type { GatewayStatus as _ibbroker_v1_GatewayStatus, GatewayStatus__Output as _ibbroker_v1_GatewayStatus__Output } from '../../ibbroker/v1/GatewayStatus';

/**
 * GetConnectionStateResponse carries the gateways' states.
 */
export interface GetConnectionStateResponse {
  /**
   * One entry per gateway.
   */
  'gateways'?: (_ibbroker_v1_GatewayStatus)[];
}

/**
 * GetConnectionStateResponse carries the gateways' states.
 */
export interface GetConnectionStateResponse__Output {
  /**
   * One entry per gateway.
   */
  'gateways': (_ibbroker_v1_GatewayStatus__Output)[];
}
