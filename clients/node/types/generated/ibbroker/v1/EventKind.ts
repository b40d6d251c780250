// Original file: ibbroker/v1/connection.proto

/**
 * EventKind says what a stream event reports.
 */
export const EventKind = {
  /**
   * Not set; never sent.
   */
  EVENT_KIND_UNSPECIFIED: 'EVENT_KIND_UNSPECIFIED',
  /**
   * The current state, sent first on every watch stream.
   */
  EVENT_KIND_SNAPSHOT: 'EVENT_KIND_SNAPSHOT',
  /**
   * A state or health change.
   */
  EVENT_KIND_TRANSITION: 'EVENT_KIND_TRANSITION',
  /**
   * State was restored after a reconnect; see `restored`.
   */
  EVENT_KIND_RESTORED: 'EVENT_KIND_RESTORED',
  /**
   * Data may have been missed between gap_start and gap_end.
   */
  EVENT_KIND_GAP: 'EVENT_KIND_GAP',
  /**
   * The broker is shutting down: the last event of the stream.
   */
  EVENT_KIND_FINAL: 'EVENT_KIND_FINAL',
} as const;

/**
 * EventKind says what a stream event reports.
 */
export type EventKind =
  /**
   * Not set; never sent.
   */
  | 'EVENT_KIND_UNSPECIFIED'
  | 0
  /**
   * The current state, sent first on every watch stream.
   */
  | 'EVENT_KIND_SNAPSHOT'
  | 1
  /**
   * A state or health change.
   */
  | 'EVENT_KIND_TRANSITION'
  | 2
  /**
   * State was restored after a reconnect; see `restored`.
   */
  | 'EVENT_KIND_RESTORED'
  | 3
  /**
   * Data may have been missed between gap_start and gap_end.
   */
  | 'EVENT_KIND_GAP'
  | 4
  /**
   * The broker is shutting down: the last event of the stream.
   */
  | 'EVENT_KIND_FINAL'
  | 5

/**
 * EventKind says what a stream event reports.
 */
export type EventKind__Output = typeof EventKind[keyof typeof EventKind]
