// Original file: ibbroker/v1/connection.proto

/**
 * ConnectionState is where an IB session (or a gateway, taken over its sessions) stands.
 */
export const ConnectionState = {
  /**
   * Not set; never sent.
   */
  CONNECTION_STATE_UNSPECIFIED: 'CONNECTION_STATE_UNSPECIFIED',
  /**
   * No socket and no attempt under way.
   */
  CONNECTION_STATE_DISCONNECTED: 'CONNECTION_STATE_DISCONNECTED',
  /**
   * First connection attempt under way.
   */
  CONNECTION_STATE_CONNECTING: 'CONNECTION_STATE_CONNECTING',
  /**
   * Connected, synchronised and (after a reconnect) restored.
   */
  CONNECTION_STATE_CONNECTED: 'CONNECTION_STATE_CONNECTED',
  /**
   * The connection was lost; reconnecting with backoff.
   */
  CONNECTION_STATE_RECONNECTING: 'CONNECTION_STATE_RECONNECTING',
  /**
   * Gave up (max_retries, account mismatch, quarantined client ID); needs Reconnect.
   */
  CONNECTION_STATE_ERROR: 'CONNECTION_STATE_ERROR',
} as const;

/**
 * ConnectionState is where an IB session (or a gateway, taken over its sessions) stands.
 */
export type ConnectionState =
  /**
   * Not set; never sent.
   */
  | 'CONNECTION_STATE_UNSPECIFIED'
  | 0
  /**
   * No socket and no attempt under way.
   */
  | 'CONNECTION_STATE_DISCONNECTED'
  | 1
  /**
   * First connection attempt under way.
   */
  | 'CONNECTION_STATE_CONNECTING'
  | 2
  /**
   * Connected, synchronised and (after a reconnect) restored.
   */
  | 'CONNECTION_STATE_CONNECTED'
  | 3
  /**
   * The connection was lost; reconnecting with backoff.
   */
  | 'CONNECTION_STATE_RECONNECTING'
  | 4
  /**
   * Gave up (max_retries, account mismatch, quarantined client ID); needs Reconnect.
   */
  | 'CONNECTION_STATE_ERROR'
  | 5

/**
 * ConnectionState is where an IB session (or a gateway, taken over its sessions) stands.
 */
export type ConnectionState__Output = typeof ConnectionState[keyof typeof ConnectionState]
