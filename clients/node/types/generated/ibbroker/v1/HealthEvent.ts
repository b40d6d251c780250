// Original file: ibbroker/v1/connection.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { HealthStatus as _ibbroker_v1_HealthStatus, HealthStatus__Output as _ibbroker_v1_HealthStatus__Output } from '../../ibbroker/v1/HealthStatus';
import type { HealthReason as _ibbroker_v1_HealthReason, HealthReason__Output as _ibbroker_v1_HealthReason__Output } from '../../ibbroker/v1/HealthReason';
import type { HealthMetrics as _ibbroker_v1_HealthMetrics, HealthMetrics__Output as _ibbroker_v1_HealthMetrics__Output } from '../../ibbroker/v1/HealthMetrics';
import type { EventKind as _ibbroker_v1_EventKind, EventKind__Output as _ibbroker_v1_EventKind__Output } from '../../ibbroker/v1/EventKind';
import type { BreakerState as _ibbroker_v1_BreakerState, BreakerState__Output as _ibbroker_v1_BreakerState__Output } from '../../ibbroker/v1/BreakerState';
import type { Long } from '@grpc/proto-loader';

/**
 * HealthEvent is one event of WatchHealth.
 */
export interface HealthEvent {
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
   * The session name.
   */
  'session'?: (string);
  /**
   * The IB client ID of the session.
   */
  'client_id'?: (number);
  /**
   * The health after the event.
   */
  'status'?: (_ibbroker_v1_HealthStatus);
  /**
   * The health before the event.
   */
  'previous_status'?: (_ibbroker_v1_HealthStatus);
  /**
   * Why the session is not HEALTHY (empty when it is).
   */
  'reasons'?: (_ibbroker_v1_HealthReason)[];
  /**
   * The session's metrics at the time of the event.
   */
  'metrics'?: (_ibbroker_v1_HealthMetrics | null);
  /**
   * What the event reports.
   */
  'kind'?: (_ibbroker_v1_EventKind);
  /**
   * The gateway's circuit breaker; a breaker change is published as a health event.
   */
  'breaker'?: (_ibbroker_v1_BreakerState);
}

/**
 * HealthEvent is one event of WatchHealth.
 */
export interface HealthEvent__Output {
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
   * The session name.
   */
  'session': (string);
  /**
   * The IB client ID of the session.
   */
  'client_id': (number);
  /**
   * The health after the event.
   */
  'status': (_ibbroker_v1_HealthStatus__Output);
  /**
   * The health before the event.
   */
  'previous_status': (_ibbroker_v1_HealthStatus__Output);
  /**
   * Why the session is not HEALTHY (empty when it is).
   */
  'reasons': (_ibbroker_v1_HealthReason__Output)[];
  /**
   * The session's metrics at the time of the event.
   */
  'metrics': (_ibbroker_v1_HealthMetrics__Output | null);
  /**
   * What the event reports.
   */
  'kind': (_ibbroker_v1_EventKind__Output);
  /**
   * The gateway's circuit breaker; a breaker change is published as a health event.
   */
  'breaker': (_ibbroker_v1_BreakerState__Output);
}
