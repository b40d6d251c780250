// Original file: ibbroker/v1/trading.proto

/**
 * OrderEventKind says what an order event reports.
 */
export const OrderEventKind = {
  /**
   * Not set; never sent.
   */
  ORDER_EVENT_KIND_UNSPECIFIED: 'ORDER_EVENT_KIND_UNSPECIFIED',
  /**
   * The current state of one order, sent first on every watch stream.
   */
  ORDER_EVENT_KIND_SNAPSHOT: 'ORDER_EVENT_KIND_SNAPSHOT',
  /**
   * Ends the snapshot (sent also when there is no order): the events after it are live.
   */
  ORDER_EVENT_KIND_SNAPSHOT_END: 'ORDER_EVENT_KIND_SNAPSHOT_END',
  /**
   * The order's state changed; `order` is the order after the change.
   */
  ORDER_EVENT_KIND_STATE_CHANGED: 'ORDER_EVENT_KIND_STATE_CHANGED',
  /**
   * The order's parameters changed (ModifyOrder acknowledged).
   */
  ORDER_EVENT_KIND_MODIFIED: 'ORDER_EVENT_KIND_MODIFIED',
  /**
   * A fill; see `execution`. Each exec_id is reported once.
   */
  ORDER_EVENT_KIND_FILL: 'ORDER_EVENT_KIND_FILL',
  /**
   * A fill's commission arrived; `execution` carries the exec_id and the commission.
   */
  ORDER_EVENT_KIND_COMMISSION: 'ORDER_EVENT_KIND_COMMISSION',
  /**
   * Events may have been missed between gap_start and gap_end (broker restart, gateway drop,
   * resume point no longer retained); the next events restate every order that may have
   * changed, and fills found on reconnect follow once, in time order.
   */
  ORDER_EVENT_KIND_GAP: 'ORDER_EVENT_KIND_GAP',
  /**
   * The broker is shutting down: the last event of the stream.
   */
  ORDER_EVENT_KIND_FINAL: 'ORDER_EVENT_KIND_FINAL',
} as const;

/**
 * OrderEventKind says what an order event reports.
 */
export type OrderEventKind =
  /**
   * Not set; never sent.
   */
  | 'ORDER_EVENT_KIND_UNSPECIFIED'
  | 0
  /**
   * The current state of one order, sent first on every watch stream.
   */
  | 'ORDER_EVENT_KIND_SNAPSHOT'
  | 1
  /**
   * Ends the snapshot (sent also when there is no order): the events after it are live.
   */
  | 'ORDER_EVENT_KIND_SNAPSHOT_END'
  | 2
  /**
   * The order's state changed; `order` is the order after the change.
   */
  | 'ORDER_EVENT_KIND_STATE_CHANGED'
  | 3
  /**
   * The order's parameters changed (ModifyOrder acknowledged).
   */
  | 'ORDER_EVENT_KIND_MODIFIED'
  | 4
  /**
   * A fill; see `execution`. Each exec_id is reported once.
   */
  | 'ORDER_EVENT_KIND_FILL'
  | 5
  /**
   * A fill's commission arrived; `execution` carries the exec_id and the commission.
   */
  | 'ORDER_EVENT_KIND_COMMISSION'
  | 6
  /**
   * Events may have been missed between gap_start and gap_end (broker restart, gateway drop,
   * resume point no longer retained); the next events restate every order that may have
   * changed, and fills found on reconnect follow once, in time order.
   */
  | 'ORDER_EVENT_KIND_GAP'
  | 7
  /**
   * The broker is shutting down: the last event of the stream.
   */
  | 'ORDER_EVENT_KIND_FINAL'
  | 8

/**
 * OrderEventKind says what an order event reports.
 */
export type OrderEventKind__Output = typeof OrderEventKind[keyof typeof OrderEventKind]
