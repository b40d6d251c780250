// Original file: ibbroker/v1/trading.proto

/**
 * OrderState is where an order stands, as the broker knows it.
 */
export const OrderState = {
  /**
   * Not set; never sent.
   */
  ORDER_STATE_UNSPECIFIED: 'ORDER_STATE_UNSPECIFIED',
  /**
   * Journaled durably; not yet known to have reached IB.
   */
  ORDER_STATE_PENDING: 'ORDER_STATE_PENDING',
  /**
   * Sent to IB; no acknowledgement yet.
   */
  ORDER_STATE_SUBMITTED: 'ORDER_STATE_SUBMITTED',
  /**
   * IB acknowledged it (PreSubmitted or Submitted): working.
   */
  ORDER_STATE_ACKNOWLEDGED: 'ORDER_STATE_ACKNOWLEDGED',
  /**
   * Working, with part of the quantity filled.
   */
  ORDER_STATE_PARTIALLY_FILLED: 'ORDER_STATE_PARTIALLY_FILLED',
  /**
   * A cancel was sent; IB has not confirmed it yet.
   */
  ORDER_STATE_PENDING_CANCEL: 'ORDER_STATE_PENDING_CANCEL',
  /**
   * Terminal: the whole quantity filled.
   */
  ORDER_STATE_FILLED: 'ORDER_STATE_FILLED',
  /**
   * Terminal: cancelled (by the caller, by IB, or an IOC remainder); may have partial fills.
   */
  ORDER_STATE_CANCELLED: 'ORDER_STATE_CANCELLED',
  /**
   * Terminal: IB refused it (for example error 201); see `message` and `ib_error_code`.
   */
  ORDER_STATE_REJECTED: 'ORDER_STATE_REJECTED',
  /**
   * Reconciled as never having reached IB: PlaceOrder with the same key sends it again.
   */
  ORDER_STATE_NOT_SENT: 'ORDER_STATE_NOT_SENT',
  /**
   * Sent, but the outcome is not known yet (connection lost, broker restarted, timeout): the
   * broker reconciles it from IB's open orders, completed orders and executions by orderRef,
   * and never resends it blindly.
   */
  ORDER_STATE_UNKNOWN: 'ORDER_STATE_UNKNOWN',
} as const;

/**
 * OrderState is where an order stands, as the broker knows it.
 */
export type OrderState =
  /**
   * Not set; never sent.
   */
  | 'ORDER_STATE_UNSPECIFIED'
  | 0
  /**
   * Journaled durably; not yet known to have reached IB.
   */
  | 'ORDER_STATE_PENDING'
  | 1
  /**
   * Sent to IB; no acknowledgement yet.
   */
  | 'ORDER_STATE_SUBMITTED'
  | 2
  /**
   * IB acknowledged it (PreSubmitted or Submitted): working.
   */
  | 'ORDER_STATE_ACKNOWLEDGED'
  | 3
  /**
   * Working, with part of the quantity filled.
   */
  | 'ORDER_STATE_PARTIALLY_FILLED'
  | 4
  /**
   * A cancel was sent; IB has not confirmed it yet.
   */
  | 'ORDER_STATE_PENDING_CANCEL'
  | 5
  /**
   * Terminal: the whole quantity filled.
   */
  | 'ORDER_STATE_FILLED'
  | 6
  /**
   * Terminal: cancelled (by the caller, by IB, or an IOC remainder); may have partial fills.
   */
  | 'ORDER_STATE_CANCELLED'
  | 7
  /**
   * Terminal: IB refused it (for example error 201); see `message` and `ib_error_code`.
   */
  | 'ORDER_STATE_REJECTED'
  | 8
  /**
   * Reconciled as never having reached IB: PlaceOrder with the same key sends it again.
   */
  | 'ORDER_STATE_NOT_SENT'
  | 9
  /**
   * Sent, but the outcome is not known yet (connection lost, broker restarted, timeout): the
   * broker reconciles it from IB's open orders, completed orders and executions by orderRef,
   * and never resends it blindly.
   */
  | 'ORDER_STATE_UNKNOWN'
  | 10

/**
 * OrderState is where an order stands, as the broker knows it.
 */
export type OrderState__Output = typeof OrderState[keyof typeof OrderState]
