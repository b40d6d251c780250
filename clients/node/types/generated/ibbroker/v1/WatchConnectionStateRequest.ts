// Original file: ibbroker/v1/connection_service.proto

import type { Long } from '@grpc/proto-loader';

/**
 * WatchConnectionStateRequest opens a state stream.
 */
export interface WatchConnectionStateRequest {
  /**
   * Only this gateway; empty means all.
   */
  'gateway'?: (string);
  /**
   * Resume: replay the retained events after this sequence number before going live.
   */
  'resume_after_sequence'?: (number | string | Long);
}

/**
 * WatchConnectionStateRequest opens a state stream.
 */
export interface WatchConnectionStateRequest__Output {
  /**
   * Only this gateway; empty means all.
   */
  'gateway': (string);
  /**
   * Resume: replay the retained events after this sequence number before going live.
   */
  'resume_after_sequence': (string);
}
