// Original file: ibbroker/v1/trading_service.proto

import type { Long } from '@grpc/proto-loader';

/**
 * WatchOrderEventsRequest opens an order-event stream.
 */
export interface WatchOrderEventsRequest {
  /**
   * Only this gateway; empty means all.
   */
  'gateway'?: (string);
  /**
   * Who asks; only this owner's orders are streamed unless all_owners is set.
   */
  'owner'?: (string);
  /**
   * Stream every order of the gateway, also external ones (needs the admin token).
   */
  'all_owners'?: (boolean);
  /**
   * Resume: replay the retained events after this sequence number before going live (a GAP
   * event first when some of them are no longer retained).
   */
  'resume_after_sequence'?: (number | string | Long);
}

/**
 * WatchOrderEventsRequest opens an order-event stream.
 */
export interface WatchOrderEventsRequest__Output {
  /**
   * Only this gateway; empty means all.
   */
  'gateway': (string);
  /**
   * Who asks; only this owner's orders are streamed unless all_owners is set.
   */
  'owner': (string);
  /**
   * Stream every order of the gateway, also external ones (needs the admin token).
   */
  'all_owners': (boolean);
  /**
   * Resume: replay the retained events after this sequence number before going live (a GAP
   * event first when some of them are no longer retained).
   */
  'resume_after_sequence': (string);
}
