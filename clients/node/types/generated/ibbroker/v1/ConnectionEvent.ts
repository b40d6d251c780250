// Original file: ibbroker/v1/connection.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { ConnectionState as _ibbroker_v1_ConnectionState, ConnectionState__Output as _ibbroker_v1_ConnectionState__Output } from '../../ibbroker/v1/ConnectionState';
import type { EventKind as _ibbroker_v1_EventKind, EventKind__Output as _ibbroker_v1_EventKind__Output } from '../../ibbroker/v1/EventKind';
import type { RestoredSummary as _ibbroker_v1_RestoredSummary, RestoredSummary__Output as _ibbroker_v1_RestoredSummary__Output } from '../../ibbroker/v1/RestoredSummary';
import type { Long } from '@grpc/proto-loader';

/**
 * ConnectionEvent is one event of WatchConnectionState.
 */
export interface ConnectionEvent {
  /**
   * Strictly increasing per broker process; pass it back to resume.
   */
  'sequence'?: (number | string | Long);
  /**
   * When the event happened.
   */
  'event_time'?: (_google_protobuf_Timestamp | null);
  /**
   * The gateway.
   */
  'gateway'?: (string);
  /**
   * The session name, for example "paper/monitor".
   */
  'session'?: (string);
  /**
   * The IB client ID of the session.
   */
  'client_id'?: (number);
  /**
   * The state after the event.
   */
  'state'?: (_ibbroker_v1_ConnectionState);
  /**
   * The state before the event.
   */
  'previous_state'?: (_ibbroker_v1_ConnectionState);
  /**
   * Why, for example "socket closed by peer" or "HEARTBEAT_TIMEOUT".
   */
  'reason'?: (string);
  /**
   * The reconnect attempt number, 0 outside reconnects.
   */
  'attempt'?: (number);
  /**
   * What the event reports.
   */
  'kind'?: (_ibbroker_v1_EventKind);
  /**
   * What was restored, for EVENT_KIND_RESTORED.
   */
  'restored'?: (_ibbroker_v1_RestoredSummary | null);
  /**
   * Start of the window in which data may have been missed, for EVENT_KIND_GAP.
   */
  'gap_start'?: (_google_protobuf_Timestamp | null);
  /**
   * End of that window, for EVENT_KIND_GAP.
   */
  'gap_end'?: (_google_protobuf_Timestamp | null);
}

/**
 * ConnectionEvent is one event of WatchConnectionState.
 */
export interface ConnectionEvent__Output {
  /**
   * Strictly increasing per broker process; pass it back to resume.
   */
  'sequence': (string);
  /**
   * When the event happened.
   */
  'event_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * The gateway.
   */
  'gateway': (string);
  /**
   * The session name, for example "paper/monitor".
   */
  'session': (string);
  /**
   * The IB client ID of the session.
   */
  'client_id': (number);
  /**
   * The state after the event.
   */
  'state': (_ibbroker_v1_ConnectionState__Output);
  /**
   * The state before the event.
   */
  'previous_state': (_ibbroker_v1_ConnectionState__Output);
  /**
   * Why, for example "socket closed by peer" or "HEARTBEAT_TIMEOUT".
   */
  'reason': (string);
  /**
   * The reconnect attempt number, 0 outside reconnects.
   */
  'attempt': (number);
  /**
   * What the event reports.
   */
  'kind': (_ibbroker_v1_EventKind__Output);
  /**
   * What was restored, for EVENT_KIND_RESTORED.
   */
  'restored': (_ibbroker_v1_RestoredSummary__Output | null);
  /**
   * Start of the window in which data may have been missed, for EVENT_KIND_GAP.
   */
  'gap_start': (_google_protobuf_Timestamp__Output | null);
  /**
   * End of that window, for EVENT_KIND_GAP.
   */
  'gap_end': (_google_protobuf_Timestamp__Output | null);
}
