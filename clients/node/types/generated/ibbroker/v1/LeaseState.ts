// Original file: ibbroker/v1/lease.proto

/**
 * LeaseState is the life-cycle stage of a lease.
 */
export const LeaseState = {
  /**
   * Not set; never sent.
   */
  LEASE_STATE_UNSPECIFIED: 'LEASE_STATE_UNSPECIFIED',
  /**
   * Held: the client ID belongs to the owner until expire_time.
   */
  LEASE_STATE_ACTIVE: 'LEASE_STATE_ACTIVE',
  /**
   * Given back by the owner.
   */
  LEASE_STATE_RELEASED: 'LEASE_STATE_RELEASED',
  /**
   * Not renewed before expire_time.
   */
  LEASE_STATE_EXPIRED: 'LEASE_STATE_EXPIRED',
} as const;

/**
 * LeaseState is the life-cycle stage of a lease.
 */
export type LeaseState =
  /**
   * Not set; never sent.
   */
  | 'LEASE_STATE_UNSPECIFIED'
  | 0
  /**
   * Held: the client ID belongs to the owner until expire_time.
   */
  | 'LEASE_STATE_ACTIVE'
  | 1
  /**
   * Given back by the owner.
   */
  | 'LEASE_STATE_RELEASED'
  | 2
  /**
   * Not renewed before expire_time.
   */
  | 'LEASE_STATE_EXPIRED'
  | 3

/**
 * LeaseState is the life-cycle stage of a lease.
 */
export type LeaseState__Output = typeof LeaseState[keyof typeof LeaseState]
