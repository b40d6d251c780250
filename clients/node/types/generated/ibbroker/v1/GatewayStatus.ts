// Original file: ibbroker/v1/connection.proto

import type { ConnectionState as _ibbroker_v1_ConnectionState, ConnectionState__Output as _ibbroker_v1_ConnectionState__Output } from '../../ibbroker/v1/ConnectionState';
import type { HealthStatus as _ibbroker_v1_HealthStatus, HealthStatus__Output as _ibbroker_v1_HealthStatus__Output } from '../../ibbroker/v1/HealthStatus';
import type { BreakerState as _ibbroker_v1_BreakerState, BreakerState__Output as _ibbroker_v1_BreakerState__Output } from '../../ibbroker/v1/BreakerState';
import type { SessionInfo as _ibbroker_v1_SessionInfo, SessionInfo__Output as _ibbroker_v1_SessionInfo__Output } from '../../ibbroker/v1/SessionInfo';

/**
 * GatewayStatus is the state of one gateway, taken over its sessions.
 */
export interface GatewayStatus {
  /**
   * The gateway.
   */
  'gateway'?: (string);
  /**
   * The monitor session's state.
   */
  'state'?: (_ibbroker_v1_ConnectionState);
  /**
   * The worst health of the gateway's sessions.
   */
  'health'?: (_ibbroker_v1_HealthStatus);
  /**
   * The circuit breaker.
   */
  'breaker'?: (_ibbroker_v1_BreakerState);
  /**
   * Why, when not CONNECTED and HEALTHY.
   */
  'reason'?: (string);
  /**
   * host:port of the gateway.
   */
  'address'?: (string);
  /**
   * True for a paper-trading gateway.
   */
  'paper_trading'?: (boolean);
  /**
   * The sessions of the gateway.
   */
  'sessions'?: (_ibbroker_v1_SessionInfo)[];
}

/**
 * GatewayStatus is the state of one gateway, taken over its sessions.
 */
export interface GatewayStatus__Output {
  /**
   * The gateway.
   */
  'gateway': (string);
  /**
   * The monitor session's state.
   */
  'state': (_ibbroker_v1_ConnectionState__Output);
  /**
   * The worst health of the gateway's sessions.
   */
  'health': (_ibbroker_v1_HealthStatus__Output);
  /**
   * The circuit breaker.
   */
  'breaker': (_ibbroker_v1_BreakerState__Output);
  /**
   * Why, when not CONNECTED and HEALTHY.
   */
  'reason': (string);
  /**
   * host:port of the gateway.
   */
  'address': (string);
  /**
   * True for a paper-trading gateway.
   */
  'paper_trading': (boolean);
  /**
   * The sessions of the gateway.
   */
  'sessions': (_ibbroker_v1_SessionInfo__Output)[];
}
