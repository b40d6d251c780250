// Original file: ibbroker/v1/trading_service.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';

/**
 * GetCurrentTimeResponse carries TWS's time.
 */
export interface GetCurrentTimeResponse {
  /**
   * TWS's clock (whole seconds, as IB gives it).
   */
  'server_time'?: (_google_protobuf_Timestamp | null);
}

/**
 * GetCurrentTimeResponse carries TWS's time.
 */
export interface GetCurrentTimeResponse__Output {
  /**
   * TWS's clock (whole seconds, as IB gives it).
   */
  'server_time': (_google_protobuf_Timestamp__Output | null);
}
