// Original file: ibbroker/v1/trading_service.proto

import type { Bar as _ibbroker_v1_Bar, Bar__Output as _ibbroker_v1_Bar__Output } from '../../ibbroker/v1/Bar';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';

/**
 * GetHistoricalBarsResponse carries the bars.
 */
export interface GetHistoricalBarsResponse {
  /**
   * The bars, oldest first.
   */
  'bars'?: (_ibbroker_v1_Bar)[];
  /**
   * The start of the period IB returned.
   */
  'start_time'?: (_google_protobuf_Timestamp | null);
  /**
   * The end of the period IB returned.
   */
  'end_time'?: (_google_protobuf_Timestamp | null);
}

/**
 * GetHistoricalBarsResponse carries the bars.
 */
export interface GetHistoricalBarsResponse__Output {
  /**
   * The bars, oldest first.
   */
  'bars': (_ibbroker_v1_Bar__Output)[];
  /**
   * The start of the period IB returned.
   */
  'start_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * The end of the period IB returned.
   */
  'end_time': (_google_protobuf_Timestamp__Output | null);
}
