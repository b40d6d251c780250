// Original file: ibbroker/v1/connection.proto

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Long } from '@grpc/proto-loader';

/**
 * HealthMetrics are the measured figures of a session.
 */
export interface HealthMetrics {
  /**
   * Round trip of the last heartbeat.
   */
  'heartbeat_rtt_last'?: (_google_protobuf_Duration | null);
  /**
   * Median heartbeat round trip over the recent window.
   */
  'heartbeat_rtt_p50'?: (_google_protobuf_Duration | null);
  /**
   * 99th percentile heartbeat round trip over the recent window.
   */
  'heartbeat_rtt_p99'?: (_google_protobuf_Duration | null);
  /**
   * Messages received from IB per second (recent window).
   */
  'messages_in_per_second'?: (number | string);
  /**
   * Messages sent to IB per second (recent window).
   */
  'messages_out_per_second'?: (number | string);
  /**
   * Reconnects since the broker started.
   */
  'reconnect_count'?: (number | string | Long);
  /**
   * Time since the session last became CONNECTED; zero when not connected.
   */
  'uptime'?: (_google_protobuf_Duration | null);
  /**
   * The last error seen, empty when none.
   */
  'last_error'?: (string);
  /**
   * When the last error was seen.
   */
  'last_error_time'?: (_google_protobuf_Timestamp | null);
}

/**
 * HealthMetrics are the measured figures of a session.
 */
export interface HealthMetrics__Output {
  /**
   * Round trip of the last heartbeat.
   */
  'heartbeat_rtt_last': (_google_protobuf_Duration__Output | null);
  /**
   * Median heartbeat round trip over the recent window.
   */
  'heartbeat_rtt_p50': (_google_protobuf_Duration__Output | null);
  /**
   * 99th percentile heartbeat round trip over the recent window.
   */
  'heartbeat_rtt_p99': (_google_protobuf_Duration__Output | null);
  /**
   * Messages received from IB per second (recent window).
   */
  'messages_in_per_second': (number);
  /**
   * Messages sent to IB per second (recent window).
   */
  'messages_out_per_second': (number);
  /**
   * Reconnects since the broker started.
   */
  'reconnect_count': (string);
  /**
   * Time since the session last became CONNECTED; zero when not connected.
   */
  'uptime': (_google_protobuf_Duration__Output | null);
  /**
   * The last error seen, empty when none.
   */
  'last_error': (string);
  /**
   * When the last error was seen.
   */
  'last_error_time': (_google_protobuf_Timestamp__Output | null);
}
