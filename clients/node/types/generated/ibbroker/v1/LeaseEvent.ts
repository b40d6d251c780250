// Original file: ibbroker/v1/lease.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { LeaseEventKind as _ibbroker_v1_LeaseEventKind, LeaseEventKind__Output as _ibbroker_v1_LeaseEventKind__Output } from '../../ibbroker/v1/LeaseEventKind';
import type { Lease as _ibbroker_v1_Lease, Lease__Output as _ibbroker_v1_Lease__Output } from '../../ibbroker/v1/Lease';
import type { Long } from '@grpc/proto-loader';

/**
 * LeaseEvent is one event of WatchLeases.
 */
export interface LeaseEvent {
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
  'kind'?: (_ibbroker_v1_LeaseEventKind);
  /**
   * The gateway.
   */
  'gateway'?: (string);
  /**
   * The client ID concerned.
   */
  'client_id'?: (number);
  /**
   * The lease after the event; unset for QUARANTINED and FREED without a lease, and FINAL.
   */
  'lease'?: (_ibbroker_v1_Lease | null);
  /**
   * For QUARANTINED: when the client ID may be probed and handed out again.
   */
  'rest_until'?: (_google_protobuf_Timestamp | null);
}

/**
 * LeaseEvent is one event of WatchLeases.
 */
export interface LeaseEvent__Output {
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
  'kind': (_ibbroker_v1_LeaseEventKind__Output);
  /**
   * The gateway.
   */
  'gateway': (string);
  /**
   * The client ID concerned.
   */
  'client_id': (number);
  /**
   * The lease after the event; unset for QUARANTINED and FREED without a lease, and FINAL.
   */
  'lease': (_ibbroker_v1_Lease__Output | null);
  /**
   * For QUARANTINED: when the client ID may be probed and handed out again.
   */
  'rest_until': (_google_protobuf_Timestamp__Output | null);
}
