// Original file: ibbroker/v1/connection.proto

import type { SessionRole as _ibbroker_v1_SessionRole, SessionRole__Output as _ibbroker_v1_SessionRole__Output } from '../../ibbroker/v1/SessionRole';
import type { ConnectionState as _ibbroker_v1_ConnectionState, ConnectionState__Output as _ibbroker_v1_ConnectionState__Output } from '../../ibbroker/v1/ConnectionState';
import type { HealthStatus as _ibbroker_v1_HealthStatus, HealthStatus__Output as _ibbroker_v1_HealthStatus__Output } from '../../ibbroker/v1/HealthStatus';
import type { HealthReason as _ibbroker_v1_HealthReason, HealthReason__Output as _ibbroker_v1_HealthReason__Output } from '../../ibbroker/v1/HealthReason';
import type { BreakerState as _ibbroker_v1_BreakerState, BreakerState__Output as _ibbroker_v1_BreakerState__Output } from '../../ibbroker/v1/BreakerState';
import type { HealthMetrics as _ibbroker_v1_HealthMetrics, HealthMetrics__Output as _ibbroker_v1_HealthMetrics__Output } from '../../ibbroker/v1/HealthMetrics';
import type { Long } from '@grpc/proto-loader';

/**
 * SessionInfo describes one IB session of the pool.
 */
export interface SessionInfo {
  /**
   * The gateway.
   */
  'gateway'?: (string);
  /**
   * The session name.
   */
  'session'?: (string);
  /**
   * The IB client ID.
   */
  'client_id'?: (number);
  /**
   * Why the broker holds the session.
   */
  'role'?: (_ibbroker_v1_SessionRole);
  /**
   * Connection state.
   */
  'state'?: (_ibbroker_v1_ConnectionState);
  /**
   * Health status.
   */
  'health'?: (_ibbroker_v1_HealthStatus);
  /**
   * Why the session is not HEALTHY.
   */
  'health_reasons'?: (_ibbroker_v1_HealthReason)[];
  /**
   * The gateway's circuit breaker.
   */
  'breaker'?: (_ibbroker_v1_BreakerState);
  /**
   * Measured figures.
   */
  'metrics'?: (_ibbroker_v1_HealthMetrics | null);
  /**
   * The lease the session serves (PROXIED), empty otherwise.
   */
  'lease_id'?: (string);
  /**
   * Incremented on every reconnect.
   */
  'generation'?: (number | string | Long);
  /**
   * The IB server version negotiated, 0 when not connected.
   */
  'server_version'?: (number);
  /**
   * The managed accounts reported by IB.
   */
  'accounts'?: (string)[];
}

/**
 * SessionInfo describes one IB session of the pool.
 */
export interface SessionInfo__Output {
  /**
   * The gateway.
   */
  'gateway': (string);
  /**
   * The session name.
   */
  'session': (string);
  /**
   * The IB client ID.
   */
  'client_id': (number);
  /**
   * Why the broker holds the session.
   */
  'role': (_ibbroker_v1_SessionRole__Output);
  /**
   * Connection state.
   */
  'state': (_ibbroker_v1_ConnectionState__Output);
  /**
   * Health status.
   */
  'health': (_ibbroker_v1_HealthStatus__Output);
  /**
   * Why the session is not HEALTHY.
   */
  'health_reasons': (_ibbroker_v1_HealthReason__Output)[];
  /**
   * The gateway's circuit breaker.
   */
  'breaker': (_ibbroker_v1_BreakerState__Output);
  /**
   * Measured figures.
   */
  'metrics': (_ibbroker_v1_HealthMetrics__Output | null);
  /**
   * The lease the session serves (PROXIED), empty otherwise.
   */
  'lease_id': (string);
  /**
   * Incremented on every reconnect.
   */
  'generation': (string);
  /**
   * The IB server version negotiated, 0 when not connected.
   */
  'server_version': (number);
  /**
   * The managed accounts reported by IB.
   */
  'accounts': (string)[];
}
