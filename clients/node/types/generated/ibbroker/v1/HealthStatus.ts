// Original file: ibbroker/v1/connection.proto

/**
 * HealthStatus is the second dimension of a session: how well a connected session works.
 */
export const HealthStatus = {
  /**
   * Not set; never sent.
   */
  HEALTH_STATUS_UNSPECIFIED: 'HEALTH_STATUS_UNSPECIFIED',
  /**
   * Socket, TWS-to-IB link and data farms all fine.
   */
  HEALTH_STATUS_HEALTHY: 'HEALTH_STATUS_HEALTHY',
  /**
   * Usable with limits: a data farm is broken, TWS lost IB (1100), or the heartbeat is slow.
   */
  HEALTH_STATUS_DEGRADED: 'HEALTH_STATUS_DEGRADED',
  /**
   * Not usable: no socket, or the heartbeat went unanswered.
   */
  HEALTH_STATUS_UNHEALTHY: 'HEALTH_STATUS_UNHEALTHY',
} as const;

/**
 * HealthStatus is the second dimension of a session: how well a connected session works.
 */
export type HealthStatus =
  /**
   * Not set; never sent.
   */
  | 'HEALTH_STATUS_UNSPECIFIED'
  | 0
  /**
   * Socket, TWS-to-IB link and data farms all fine.
   */
  | 'HEALTH_STATUS_HEALTHY'
  | 1
  /**
   * Usable with limits: a data farm is broken, TWS lost IB (1100), or the heartbeat is slow.
   */
  | 'HEALTH_STATUS_DEGRADED'
  | 2
  /**
   * Not usable: no socket, or the heartbeat went unanswered.
   */
  | 'HEALTH_STATUS_UNHEALTHY'
  | 3

/**
 * HealthStatus is the second dimension of a session: how well a connected session works.
 */
export type HealthStatus__Output = typeof HealthStatus[keyof typeof HealthStatus]
