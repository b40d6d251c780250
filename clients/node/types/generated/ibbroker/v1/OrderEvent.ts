// Original file: ibbroker/v1/trading.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { OrderEventKind as _ibbroker_v1_OrderEventKind, OrderEventKind__Output as _ibbroker_v1_OrderEventKind__Output } from '../../ibbroker/v1/OrderEventKind';
import type { Order as _ibbroker_v1_Order, Order__Output as _ibbroker_v1_Order__Output } from '../../ibbroker/v1/Order';
import type { Execution as _ibbroker_v1_Execution, Execution__Output as _ibbroker_v1_Execution__Output } from '../../ibbroker/v1/Execution';
import type { OrderState as _ibbroker_v1_OrderState, OrderState__Output as _ibbroker_v1_OrderState__Output } from '../../ibbroker/v1/OrderState';
import type { Long } from '@grpc/proto-loader';

/**
 * OrderEvent is one event of WatchOrderEvents.
 */
export interface OrderEvent {
  /**
   * Strictly increasing per broker process; pass it back to resume.
   */
  'sequence'?: (number | string | Long);
  /**
   * When it happened.
   */
  'event_time'?: (_google_protobuf_Timestamp | null);
  /**
   * What happened.
   */
  'kind'?: (_ibbroker_v1_OrderEventKind);
  /**
   * The order after the event; unset for SNAPSHOT_END, GAP and FINAL.
   */
  'order'?: (_ibbroker_v1_Order | null);
  /**
   * The fill, for FILL and COMMISSION.
   */
  'execution'?: (_ibbroker_v1_Execution | null);
  /**
   * The state before the event, for STATE_CHANGED.
   */
  'previous_state'?: (_ibbroker_v1_OrderState);
  /**
   * Start of the window in which events may have been missed, for GAP.
   */
  'gap_start'?: (_google_protobuf_Timestamp | null);
  /**
   * End of that window, for GAP.
   */
  'gap_end'?: (_google_protobuf_Timestamp | null);
  /**
   * Why, for example "gateway reconnected" or the IB text of a rejection.
   */
  'reason'?: (string);
  /**
   * The gateway.
   */
  'gateway'?: (string);
}

/**
 * OrderEvent is one event of WatchOrderEvents.
 */
export interface OrderEvent__Output {
  /**
   * Strictly increasing per broker process; pass it back to resume.
   */
  'sequence': (string);
  /**
   * When it happened.
   */
  'event_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * What happened.
   */
  'kind': (_ibbroker_v1_OrderEventKind__Output);
  /**
   * The order after the event; unset for SNAPSHOT_END, GAP and FINAL.
   */
  'order': (_ibbroker_v1_Order__Output | null);
  /**
   * The fill, for FILL and COMMISSION.
   */
  'execution': (_ibbroker_v1_Execution__Output | null);
  /**
   * The state before the event, for STATE_CHANGED.
   */
  'previous_state': (_ibbroker_v1_OrderState__Output);
  /**
   * Start of the window in which events may have been missed, for GAP.
   */
  'gap_start': (_google_protobuf_Timestamp__Output | null);
  /**
   * End of that window, for GAP.
   */
  'gap_end': (_google_protobuf_Timestamp__Output | null);
  /**
   * Why, for example "gateway reconnected" or the IB text of a rejection.
   */
  'reason': (string);
  /**
   * The gateway.
   */
  'gateway': (string);
}
