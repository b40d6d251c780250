// Original file: ibbroker/v1/lease.proto

/**
 * LeaseEventKind says what happened to a lease or a client ID.
 */
export const LeaseEventKind = {
  /**
   * Not set; never sent.
   */
  LEASE_EVENT_KIND_UNSPECIFIED: 'LEASE_EVENT_KIND_UNSPECIFIED',
  /**
   * The current active lease, sent first on every watch stream.
   */
  LEASE_EVENT_KIND_SNAPSHOT: 'LEASE_EVENT_KIND_SNAPSHOT',
  /**
   * A lease was granted.
   */
  LEASE_EVENT_KIND_ACQUIRED: 'LEASE_EVENT_KIND_ACQUIRED',
  /**
   * A lease was renewed.
   */
  LEASE_EVENT_KIND_RENEWED: 'LEASE_EVENT_KIND_RENEWED',
  /**
   * A lease was released by its owner.
   */
  LEASE_EVENT_KIND_RELEASED: 'LEASE_EVENT_KIND_RELEASED',
  /**
   * A lease was not renewed in time.
   */
  LEASE_EVENT_KIND_EXPIRED: 'LEASE_EVENT_KIND_EXPIRED',
  /**
   * A client ID was put to rest (after release or expiry, or found in use by a probe).
   */
  LEASE_EVENT_KIND_QUARANTINED: 'LEASE_EVENT_KIND_QUARANTINED',
  /**
   * A resting client ID was proven free and can be leased again.
   */
  LEASE_EVENT_KIND_FREED: 'LEASE_EVENT_KIND_FREED',
  /**
   * A lease was reloaded from the store after a broker restart.
   */
  LEASE_EVENT_KIND_RESTORED: 'LEASE_EVENT_KIND_RESTORED',
  /**
   * The broker is shutting down: the last event of the stream.
   */
  LEASE_EVENT_KIND_FINAL: 'LEASE_EVENT_KIND_FINAL',
  /**
   * Ends the snapshot (sent also when no lease is active): the events after it are live.
   */
  LEASE_EVENT_KIND_SNAPSHOT_END: 'LEASE_EVENT_KIND_SNAPSHOT_END',
} as const;

/**
 * LeaseEventKind says what happened to a lease or a client ID.
 */
export type LeaseEventKind =
  /**
   * Not set; never sent.
   */
  | 'LEASE_EVENT_KIND_UNSPECIFIED'
  | 0
  /**
   * The current active lease, sent first on every watch stream.
   */
  | 'LEASE_EVENT_KIND_SNAPSHOT'
  | 1
  /**
   * A lease was granted.
   */
  | 'LEASE_EVENT_KIND_ACQUIRED'
  | 2
  /**
   * A lease was renewed.
   */
  | 'LEASE_EVENT_KIND_RENEWED'
  | 3
  /**
   * A lease was released by its owner.
   */
  | 'LEASE_EVENT_KIND_RELEASED'
  | 4
  /**
   * A lease was not renewed in time.
   */
  | 'LEASE_EVENT_KIND_EXPIRED'
  | 5
  /**
   * A client ID was put to rest (after release or expiry, or found in use by a probe).
   */
  | 'LEASE_EVENT_KIND_QUARANTINED'
  | 6
  /**
   * A resting client ID was proven free and can be leased again.
   */
  | 'LEASE_EVENT_KIND_FREED'
  | 7
  /**
   * A lease was reloaded from the store after a broker restart.
   */
  | 'LEASE_EVENT_KIND_RESTORED'
  | 8
  /**
   * The broker is shutting down: the last event of the stream.
   */
  | 'LEASE_EVENT_KIND_FINAL'
  | 9
  /**
   * Ends the snapshot (sent also when no lease is active): the events after it are live.
   */
  | 'LEASE_EVENT_KIND_SNAPSHOT_END'
  | 10

/**
 * LeaseEventKind says what happened to a lease or a client ID.
 */
export type LeaseEventKind__Output = typeof LeaseEventKind[keyof typeof LeaseEventKind]
