// Original file: ibbroker/v1/connection_service.proto

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';

/**
 * ReconnectResponse acknowledges a reconnect.
 */
export interface ReconnectResponse {
  /**
   * The sessions being reconnected.
   */
  'sessions'?: (string)[];
  /**
   * How long the caller may wait before the sessions are expected back (the backoff cap).
   */
  'expected_within'?: (_google_protobuf_Duration | null);
}

/**
 * ReconnectResponse acknowledges a reconnect.
 */
export interface ReconnectResponse__Output {
  /**
   * The sessions being reconnected.
   */
  'sessions': (string)[];
  /**
   * How long the caller may wait before the sessions are expected back (the backoff cap).
   */
  'expected_within': (_google_protobuf_Duration__Output | null);
}
