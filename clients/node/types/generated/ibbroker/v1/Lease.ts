// Original file: ibbroker/v1/lease.proto

import type { LeaseMode as _ibbroker_v1_LeaseMode, LeaseMode__Output as _ibbroker_v1_LeaseMode__Output } from '../../ibbroker/v1/LeaseMode';
import type { LeaseState as _ibbroker_v1_LeaseState, LeaseState__Output as _ibbroker_v1_LeaseState__Output } from '../../ibbroker/v1/LeaseState';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';
import type { Long } from '@grpc/proto-loader';

/**
 * Lease grants one IB API client ID on one gateway to one owner for a time.
 */
export interface Lease {
  /**
   * Opaque lease identifier (a UUID string).
   */
  'lease_id'?: (string);
  /**
   * The IB API client ID leased.
   */
  'client_id'?: (number);
  /**
   * Fencing token: strictly increasing per client ID, never reused, also across restarts.
   */
  'epoch'?: (number | string | Long);
  /**
   * Who holds the lease.
   */
  'owner'?: (string);
  /**
   * The gateway the client ID belongs to.
   */
  'gateway'?: (string);
  /**
   * Who opens the IB session on the client ID.
   */
  'mode'?: (_ibbroker_v1_LeaseMode);
  /**
   * Life-cycle stage.
   */
  'state'?: (_ibbroker_v1_LeaseState);
  /**
   * When the lease was acquired.
   */
  'acquire_time'?: (_google_protobuf_Timestamp | null);
  /**
   * When the lease expires unless renewed.
   */
  'expire_time'?: (_google_protobuf_Timestamp | null);
  /**
   * The time-to-live applied on acquire and on each renew.
   */
  'ttl'?: (_google_protobuf_Duration | null);
}

/**
 * Lease grants one IB API client ID on one gateway to one owner for a time.
 */
export interface Lease__Output {
  /**
   * Opaque lease identifier (a UUID string).
   */
  'lease_id': (string);
  /**
   * The IB API client ID leased.
   */
  'client_id': (number);
  /**
   * Fencing token: strictly increasing per client ID, never reused, also across restarts.
   */
  'epoch': (string);
  /**
   * Who holds the lease.
   */
  'owner': (string);
  /**
   * The gateway the client ID belongs to.
   */
  'gateway': (string);
  /**
   * Who opens the IB session on the client ID.
   */
  'mode': (_ibbroker_v1_LeaseMode__Output);
  /**
   * Life-cycle stage.
   */
  'state': (_ibbroker_v1_LeaseState__Output);
  /**
   * When the lease was acquired.
   */
  'acquire_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * When the lease expires unless renewed.
   */
  'expire_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * The time-to-live applied on acquire and on each renew.
   */
  'ttl': (_google_protobuf_Duration__Output | null);
}
