// Original file: ibbroker/v1/connection_service.proto

import type { Long } from '@grpc/proto-loader';

/**
 * WatchHealthRequest opens a health stream.
 */
export interface WatchHealthRequest {
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
 * WatchHealthRequest opens a health stream.
 */
export interface WatchHealthRequest__Output {
  /**
   * Only this gateway; empty means all.
   */
  'gateway': (string);
  /**
   * Resume: replay the retained events after this sequence number before going live.
   */
  'resume_after_sequence': (string);
}
