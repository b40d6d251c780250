// Original file: ibbroker/v1/connection.proto

/**
 * SessionRole says why the broker holds a session.
 */
export const SessionRole = {
  /**
   * Not set; never sent.
   */
  SESSION_ROLE_UNSPECIFIED: 'SESSION_ROLE_UNSPECIFIED',
  /**
   * The always-on monitor session of a gateway, on the monitor client ID.
   */
  SESSION_ROLE_MONITOR: 'SESSION_ROLE_MONITOR',
  /**
   * A session opened for a PROXIED lease.
   */
  SESSION_ROLE_PROXIED: 'SESSION_ROLE_PROXIED',
} as const;

/**
 * SessionRole says why the broker holds a session.
 */
export type SessionRole =
  /**
   * Not set; never sent.
   */
  | 'SESSION_ROLE_UNSPECIFIED'
  | 0
  /**
   * The always-on monitor session of a gateway, on the monitor client ID.
   */
  | 'SESSION_ROLE_MONITOR'
  | 1
  /**
   * A session opened for a PROXIED lease.
   */
  | 'SESSION_ROLE_PROXIED'
  | 2

/**
 * SessionRole says why the broker holds a session.
 */
export type SessionRole__Output = typeof SessionRole[keyof typeof SessionRole]
