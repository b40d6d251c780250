// Original file: ibbroker/v1/lease_service.proto

import type { Long } from '@grpc/proto-loader';

/**
 * WatchLeasesRequest opens a lease-event stream.
 */
export interface WatchLeasesRequest {
  /**
   * Only this gateway; empty means all.
   */
  'gateway'?: (string);
  /**
   * Only leases of this owner; empty means all (ID-level events such as FREED always pass).
   */
  'owner'?: (string);
  /**
   * Resume: replay the retained events after this sequence number before going live.
   */
  'resume_after_sequence'?: (number | string | Long);
}

/**
 * WatchLeasesRequest opens a lease-event stream.
 */
export interface WatchLeasesRequest__Output {
  /**
   * Only this gateway; empty means all.
   */
  'gateway': (string);
  /**
   * Only leases of this owner; empty means all (ID-level events such as FREED always pass).
   */
  'owner': (string);
  /**
   * Resume: replay the retained events after this sequence number before going live.
   */
  'resume_after_sequence': (string);
}
