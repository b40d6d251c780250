// Original file: ibbroker/v1/lease.proto

/**
 * LeaseMode says who opens the IB session on a leased client ID.
 */
export const LeaseMode = {
  /**
   * Not set: treated as LEASE_MODE_DIRECT.
   */
  LEASE_MODE_UNSPECIFIED: 'LEASE_MODE_UNSPECIFIED',
  /**
   * The strategy connects to TWS itself with the leased client ID.
   */
  LEASE_MODE_DIRECT: 'LEASE_MODE_DIRECT',
  /**
   * The broker opens a session with the leased client ID in its pool.
   */
  LEASE_MODE_PROXIED: 'LEASE_MODE_PROXIED',
} as const;

/**
 * LeaseMode says who opens the IB session on a leased client ID.
 */
export type LeaseMode =
  /**
   * Not set: treated as LEASE_MODE_DIRECT.
   */
  | 'LEASE_MODE_UNSPECIFIED'
  | 0
  /**
   * The strategy connects to TWS itself with the leased client ID.
   */
  | 'LEASE_MODE_DIRECT'
  | 1
  /**
   * The broker opens a session with the leased client ID in its pool.
   */
  | 'LEASE_MODE_PROXIED'
  | 2

/**
 * LeaseMode says who opens the IB session on a leased client ID.
 */
export type LeaseMode__Output = typeof LeaseMode[keyof typeof LeaseMode]
