// Original file: ibbroker/v1/connection_service.proto

import type { GatewayStatus as _ibbroker_v1_GatewayStatus, GatewayStatus__Output as _ibbroker_v1_GatewayStatus__Output } from '../../ibbroker/v1/GatewayStatus';

/**
 * GetHealthResponse carries health per gateway and session.
 */
export interface GetHealthResponse {
  /**
   * One entry per gateway, with its sessions' health and metrics.
   */
  'gateways'?: (_ibbroker_v1_GatewayStatus)[];
}

/**
 * GetHealthResponse carries health per gateway and session.
 */
export interface GetHealthResponse__Output {
  /**
   * One entry per gateway, with its sessions' health and metrics.
   */
  'gateways': (_ibbroker_v1_GatewayStatus__Output)[];
}
